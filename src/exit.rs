//! The exit statuses of `leakmatch`, in one place.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | done, but an input could not be read or a customer row was set aside for its hash's cost (each named on stderr) |
//! | 2 | nothing trustworthy produced: bad arguments, customers file, index, state or output, or no input readable |
//! | 128 + N | stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP); nothing was written |

use std::process::ExitCode;

/// Each status and what it means, for `--help` and the man page.
pub const MEANINGS: [(&str, &str); 4] = [
    ("0", "done: every input was read"),
    (
        "1",
        "done, but an input could not be read or is not text (7z, RAR, ...), a \
         customer row was set aside for its hash's cost, or an account could not be \
         verified; each is named on stderr and the rest was scanned",
    ),
    (
        "2",
        "nothing trustworthy produced, nothing written: bad arguments, customers \
         file, index, state or output path, another run holds --state, or not one \
         input could be read",
    ),
    (
        "128+N",
        "stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP); no output was \
         written and --state did not advance",
    ),
];

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Done,
    /// Done, but some input could not be read (the rest was scanned), or a
    /// customer row was set aside for its hash's cost.
    InputErrors,
    /// Nothing trustworthy was produced (also clap's status for bad arguments).
    Failed,
    /// Stopped by this signal (SIGINT, SIGTERM, SIGHUP); nothing was written.
    Signal(i32),
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::InputErrors => 1,
            Exit::Failed => 2,
            Exit::Signal(n) => (128 + n).clamp(0, 255) as u8,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_the_documented_ones() {
        let all = [
            Exit::Done,
            Exit::InputErrors,
            Exit::Failed,
            Exit::Signal(libc::SIGINT),
            Exit::Signal(libc::SIGTERM),
            Exit::Signal(libc::SIGHUP),
        ];
        assert_eq!(all.map(Exit::code), [0, 1, 2, 130, 143, 129]);
        // clap exits 2 on a usage error: the same status as any other failure.
        assert_eq!(
            Exit::Failed.code(),
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, "x").exit_code() as u8
        );
    }
}
