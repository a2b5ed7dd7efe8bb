//! The terminal progress bar: bytes done of total, rate, ETA, then candidates
//! verified of total (indicatif).
//!
//! Drawn on stderr only when stderr is a terminal and neither `--quiet` nor
//! `--no-progress` was given; it reads the engine's [`RunControl`] counters from a
//! thread of its own and never touches the scan.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use leakmatch::control::RunControl;

/// A running progress bar.
pub struct Bar {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Bar {
    /// Starts drawing `control`'s counters on stderr.
    pub fn start(control: Arc<RunControl>) -> Bar {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            // Until the engine knows how many bytes it will read (customers load,
            // file discovery), a spinner; then the byte bar, its clock restarted so
            // the rate and ETA are of the scan alone.
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message("loading customers and finding dump files");
            let mut started = false;
            let mut verifying = false;
            while !stopped.load(Ordering::Relaxed) {
                // Verification, a step of its own once the scan is over: slow
                // hashes can make it the longest.
                let checks = control.verify_total.load(Ordering::Relaxed);
                if checks > 0 {
                    if !verifying {
                        verifying = true;
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{spinner} [{elapsed_precise}] verifying {wide_bar} {pos}/{len} candidates ETA {eta}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                        bar.set_length(checks);
                        bar.reset_eta();
                    }
                    bar.set_position(control.verify_done.load(Ordering::Relaxed));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                let total = control.total.load(Ordering::Relaxed);
                if !started && total > 0 {
                    started = true;
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_length(total);
                    bar.reset_elapsed();
                    bar.reset_eta();
                }
                if started {
                    bar.set_position(control.done.load(Ordering::Relaxed));
                } else {
                    bar.tick();
                }
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
