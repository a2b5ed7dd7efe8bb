//! `cargo +nightly fuzz run customers`: see `leakmatch::fuzzing::customers`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| leakmatch::fuzzing::customers(data));
