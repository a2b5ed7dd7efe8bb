//! Run control shared between the engine and whoever watches it.
//!
//! Owns [`RunControl`]: the progress counters a terminal can display and the flag
//! that asks a run to stop (Ctrl-C). Every stage that loops over input reads the
//! flag; none of them knows who set it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
}
