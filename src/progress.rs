//! The terminal progress bar: bytes done of total, rate, ETA (indicatif).
//!
//! Drawn on stderr only when stderr is a terminal and neither `--quiet` nor
//! `--no-progress` was given; it reads the engine's [`Progress`] counters from a
//! thread of its own and never touches the scan.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use leakmatch::scan::Progress;

/// A running progress bar.
pub struct Bar {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Bar {
    /// Starts drawing `control`'s counters on stderr.
    pub fn start(control: Arc<Progress>) -> Bar {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            while !stopped.load(Ordering::Relaxed) {
                bar.set_length(control.total.load(Ordering::Relaxed));
                bar.set_position(control.done.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Bar { stop, thread }
    }

    /// Removes the bar (before the summary is printed).
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
