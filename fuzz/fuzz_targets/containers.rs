//! `cargo +nightly fuzz run containers`: see `leakmatch::fuzzing::containers`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| leakmatch::fuzzing::containers(data));
