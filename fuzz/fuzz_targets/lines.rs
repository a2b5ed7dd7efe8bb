//! `cargo +nightly fuzz run lines`: see `leakmatch::fuzzing::lines`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| leakmatch::fuzzing::lines(data));
