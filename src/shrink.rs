//! Mapped files that shrink while they are read.
//!
//! Owns surviving a dump file truncated (or rewritten shorter) by another process
//! while the scan reads it through a memory map. The kernel then raises SIGBUS on
//! the first read past the new end, which kills the process by default (exit 135).
//! Here a [`ShrinkGuard`] registers a mapping; a SIGBUS handler that finds the
//! faulting address inside a registered mapping maps zero pages over the rest of
//! it and notes that the file shrank, and the read goes on, seeing zeros (which the
//! parser skips as binary). The scan then reports the file as unreadable (exit 1).
//! A SIGBUS anywhere else gets the default action, as before.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use memmap2::Mmap;

/// Mappings that can be guarded at once (more are read unguarded, as before).
const SLOTS: usize = 512;

struct Slot {
    /// First byte of the mapping (0: free).
    start: AtomicUsize,
    /// One past its last page (0 while being set up or torn down).
    end: AtomicUsize,
    shrank: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    shrank: AtomicBool::new(false),
};

static REGISTRY: [Slot; SLOTS] = [FREE; SLOTS];
static INSTALL: Once = Once::new();

/// A file mapping whose shrinking is survived while this lives (see the module
/// docs). Drop it before the mapping is unmapped.
pub struct ShrinkGuard {
    slot: Option<usize>,
}

impl ShrinkGuard {
    /// Guards `map`.
    pub fn new(map: &Mmap) -> ShrinkGuard {
        INSTALL.call_once(install);
        let start = map.as_ptr() as usize;
        let end = (start + map.len()).div_ceil(crate::mem::PAGE) * crate::mem::PAGE;
        if map.is_empty() || start == 0 {
            return ShrinkGuard { slot: None };
        }
        let slot = REGISTRY.iter().position(|s| {
            s.start
                .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        if let Some(i) = slot {
            REGISTRY[i].shrank.store(false, Ordering::Release);
            REGISTRY[i].end.store(end, Ordering::Release);
        }
        ShrinkGuard { slot }
    }

    /// Whether the file shrank under the mapping (some of what was read past its
    /// new end was zeros, not the file).
    pub fn shrank(&self) -> bool {
        self.slot
            .is_some_and(|i| REGISTRY[i].shrank.load(Ordering::Acquire))
    }
}

impl Drop for ShrinkGuard {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            REGISTRY[i].end.store(0, Ordering::Release);
            REGISTRY[i].start.store(0, Ordering::Release);
        }
    }
}

#[cfg(unix)]
fn install() {
    // SAFETY: a zeroed sigaction is a valid value; the handler has the
    // three-argument form SA_SIGINFO requires, and does only what a signal
    // handler may: atomic loads and stores, and mmap(2).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
fn install() {}

#[cfg(unix)]
extern "C" fn on_sigbus(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for a SIGBUS delivered with
    // SA_SIGINFO; si_addr is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    for slot in &REGISTRY {
        let (start, end) = (
            slot.start.load(Ordering::Acquire),
            slot.end.load(Ordering::Acquire),
        );
        if start == 0 || addr < start || addr >= end {
            continue;
        }
        let page = addr / crate::mem::PAGE * crate::mem::PAGE;
        // SAFETY: `page..end` lies inside a live mapping of ours (registered, not
        // yet unregistered: the guard is dropped before the map), read-only. Zero
        // pages replace the part of it past the file's new end, so the faulting
        // read and every later one see zeros instead of a SIGBUS.
        let mapped = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                end - page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if mapped != libc::MAP_FAILED {
            slot.shrank.store(true, Ordering::Release);
            return;
        }
    }
    // Not a guarded mapping: the default action (the fault repeats and kills).
    // SAFETY: signal(2) with SIG_DFL is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_truncated_under_its_map_reads_zeros_and_says_so() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![b'x'; 1 << 20]).unwrap();
        // SAFETY: a private temporary file; its shrinking is what is tested.
        let map = unsafe { Mmap::map(&f).unwrap() };
        let guard = ShrinkGuard::new(&map);
        assert_eq!(map[0], b'x');
        f.set_len(4096).unwrap();
        assert!(!guard.shrank());
        // Past the new end: a SIGBUS without the guard.
        let tail: u64 = map[8192..].iter().map(|&b| u64::from(b)).sum();
        assert_eq!(tail, 0);
        assert!(guard.shrank());
        assert_eq!(map[100], b'x', "what is still in the file reads as before");
        drop(guard);
        drop(map);
    }
}
