//! `cargo +nightly fuzz run csv_records`: see `leakmatch::fuzzing::csv_records`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| leakmatch::fuzzing::csv_records(data));
