//! End-to-end tests of the `leakmatch` binary.
//!
//! Every test makes its own temporary directory, writes its fixtures there and runs
//! the real binary (built by cargo) on them. Layout after ripgrep's `tests/`:
//!
//! * `util`: fixture builders (hashes, customers CSV, gzip, random bytes) and runners.
//! * `feature`: what the tool is for — formats, line shapes, schemes, logins,
//!   sightings, determinism, the `.lmx` index, the slow-hash budget, `--quiet`.
//! * `regression`: hostile or edge-case input that must never stop or skew a run.
//! * `errors`: exit statuses, error messages, atomic outputs.
//! * `secrecy`: no password ever reaches any output.
//! * `containers`: compressed files, zip, tar and nested archives, damaged ones, thread-count
//!   independence (issues 5, 16).
//! * `state`: incremental runs with `--state` (issue 5).
//! * `terminal`: progress bar, completions and man page, closed pipes, Ctrl-C.
//! * `scale`: the bounded-memory index build and the scan strategies (issue 14).
//! * `hardening`: output paths and signals in every phase (issue 15).
//! * `nightly`: the shipped nightly script and systemd units, end to end (issue 16).
//! * `list`: `scan --list`, the dry run (issue 16).
//! * `flood`: the slow-hash budget under a flood of wrong passwords (issue 3).
//! * `schemes`: slow-scheme edge cases against the reference libraries' hashes
//!   (`corpus-samples/slow-schemes/`).

mod util;

mod containers;
mod errors;
mod feature;
mod flood;
mod hardening;
mod list;
mod nightly;
mod regression;
mod scale;
mod schemes;
mod secrecy;
mod state;
mod terminal;
