//! `cargo +nightly fuzz run lmx`: see `leakmatch::fuzzing::lmx`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| leakmatch::fuzzing::lmx(data));
