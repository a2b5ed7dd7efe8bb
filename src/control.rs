//! Run control shared between the engine and whoever watches it.
//!
//! Owns [`RunControl`]: the progress counters a terminal can display and the flag
//! that asks a run to stop (a signal: Ctrl-C, SIGTERM, SIGHUP). Every stage that
//! loops over input or work reads the flag; none of them knows who set it.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

/// Progress counters and the cancel flag of one run.
#[derive(Debug, Default)]
pub struct RunControl {
    /// On-disk bytes of input read so far.
    pub done: Arc<AtomicU64>,
    /// On-disk bytes of input in the run, set once the files are known.
    pub total: AtomicU64,
    /// Set to stop the run at the next chunk or block; the run then reports that it
    /// was interrupted instead of producing results.
    pub cancel: AtomicBool,
    /// Candidates verification will check, set when it starts (0 before).
    pub verify_total: AtomicU64,
    /// Candidates verification has checked so far.
    pub verify_done: AtomicU64,
    /// The signal that asked the run to stop (0: none, or not a signal).
    signal: AtomicI32,
}

/// Test hook: when the environment variable `LEAKMATCH_STOP_AT` names `point`,
/// sends this process SIGTERM and waits (up to 10 s) until `stopped` says the
/// request arrived, so that a test can land a stop in a phase too short to hit
/// from outside (the report, an index's sort and write). Does nothing otherwise.
pub fn stop_point(point: &str, stopped: &dyn Fn() -> bool) {
    if std::env::var_os("LEAKMATCH_STOP_AT").is_none_or(|v| v != point) {
        return;
    }
    #[cfg(unix)]
    // SAFETY: raise(3) sends a signal to this process; its handler only sets a
    // flag.
    unsafe {
        libc::raise(libc::SIGTERM);
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !stopped() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Test hook: when the environment variable `LEAKMATCH_CRASH_AT` names `point`,
/// the process is killed there (SIGKILL: no handler, no cleanup), as a power cut
/// or the OOM killer would, so a test can check what every crash point leaves.
/// Does nothing otherwise.
pub fn crash_point(point: &str) {
    if std::env::var_os("LEAKMATCH_CRASH_AT").is_some_and(|v| v == point) {
        #[cfg(unix)]
        // SAFETY: raise(3) with SIGKILL ends this process; nothing runs after it.
        unsafe {
            libc::raise(libc::SIGKILL);
        }
        std::process::abort();
    }
}

impl RunControl {
    /// Whether the run was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Asks the run to stop; says whether it had been asked already.
    pub fn request_cancel(&self) -> bool {
        self.cancel.swap(true, Ordering::Relaxed)
    }

    /// Asks the run to stop because of `signal`; says whether it had been asked
    /// already. The first signal is the one remembered.
    pub fn request_stop(&self, signal: i32) -> bool {
        let _ = self
            .signal
            .compare_exchange(0, signal, Ordering::Relaxed, Ordering::Relaxed);
        self.request_cancel()
    }

    /// The signal that stopped the run, if one did.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s),
        }
    }
}
