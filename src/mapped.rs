//! Memory-mapped files: giving their pages back.
//!
//! Owns the one place where the engine drops page-table entries of a read-only file
//! mapping (`MADV_DONTNEED`): scanned chunks of a dump, the pieces of an index whose
//! checksum was verified, and index records read by verification and reports. The
//! pages stay in the page cache; the process just stops counting them as resident.

use std::ops::Range;

use memmap2::Mmap;

const PAGE: usize = 4096;

/// Unmaps the whole pages inside `range` of `map` (partial pages at either end are
/// kept, a neighbouring range may still be reading them). A no-op off Unix.
pub fn release(map: &Mmap, range: Range<usize>) {
    let start = range.start.div_ceil(PAGE) * PAGE;
    let end = range.end.min(map.len()) / PAGE * PAGE;
    if end <= start {
        return;
    }
    #[cfg(unix)]
    // SAFETY: every map passed here is a read-only, shared mapping of a file.
    // MADV_DONTNEED on it only removes page-table entries: a later read faults the same
    // bytes back in from the file, so no data can be lost or changed and every slice
    // borrowed from the map stays valid.
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
    };
}
