//! Memory: how the engine asks the kernel and the CPU for it.
//!
//! Owns the three low-level memory tools the pipeline shares, so no stage reaches
//! into another for them:
//!
//! * huge pages (`MADV_HUGEPAGE`): [`HugeBuf`], the regions of an index built in
//!   memory, and [`with_capacity`], the big, short-lived vectors of verification and
//!   the reports (the candidates' sort keys, the findings, the reset list's sort
//!   keys). Their memory is fresh: in 4 KiB pages every page costs a fault and a
//!   zeroing, in 2 MiB pages one fault does 512 pages' work. On kernels or machines
//!   without transparent huge pages (or off Linux) they are plain memory;
//! * giving a file mapping's pages back (`release_file_pages`, `MADV_DONTNEED`):
//!   scanned chunks of a dump, the pieces of an index whose checksum was verified,
//!   and index records read by verification. The pages stay in the page cache; the
//!   process just stops counting them as resident;
//! * `prefetch`: a cache-line prefetch hint, for the loops that know what they
//!   will read a few steps ahead.

use std::ops::Range;

use memmap2::Mmap;

/// The huge page size of x86_64 and most aarch64 kernels.
pub(crate) const HUGE: usize = 2 << 20;

/// The base page size assumed by [`release_file_pages`] (x86_64 and most aarch64).
pub(crate) const PAGE: usize = 4096;

/// Asks the CPU to start loading the cache line of `x`.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline; a prefetch of a valid reference's
    // address has no architectural effect beyond the cache and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(x as *const T as *const i8, _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Drops this process's page-table entries for the whole pages inside `range` of
/// `map` (partial pages at either end are kept: a neighbouring range may still be
/// reading them). A no-op off Unix.
///
/// # Safety
///
/// `map` must be a read-only, shared mapping of a file. There, `MADV_DONTNEED`
/// only removes page-table entries: a later read faults the same bytes back in from
/// the file, so every slice borrowed from the map stays valid. On an anonymous or
/// private mapping it would replace the contents with zeros under live borrows.
pub(crate) unsafe fn release_file_pages(map: &Mmap, range: Range<usize>) {
    let start = range.start.div_ceil(PAGE) * PAGE;
    let end = range.end.min(map.len()) / PAGE * PAGE;
    if end <= start {
        return;
    }
    #[cfg(unix)]
    // SAFETY: the caller guarantees a shared file mapping (see above), and
    // `start..end` lies inside it in whole pages.
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
    };
}

/// Zeroed anonymous memory advised for transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`), for the big regions of an index built in memory.
///
/// Why: every dump line probes a random slot, and with 4 KiB pages most of those
/// probes would also miss the TLB; and filling hundreds of MB of fresh memory one
/// 4 KiB page fault at a time was a quarter of loading a customers file (profiled),
/// against one fault per 2 MiB here.
pub struct HugeBuf {
    map: memmap2::MmapMut,
    len: usize,
}

impl HugeBuf {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> std::io::Result<HugeBuf> {
        let bytes = len.div_ceil(HUGE).max(1) * HUGE;
        let map = memmap2::MmapOptions::new().len(bytes).map_anon()?;
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(HugeBuf { map, len })
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }

    /// The bytes, to fill.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map[..self.len]
    }

    /// The bytes as `u64` words (the map is page-aligned, so the cast cannot fail;
    /// a trailing partial word is left out).
    pub fn words(&self) -> &[u64] {
        bytemuck::cast_slice(&self.map[..self.len / 8 * 8])
    }

    /// The words, to fill.
    pub fn words_mut(&mut self) -> &mut [u64] {
        bytemuck::cast_slice_mut(&mut self.map[..self.len / 8 * 8])
    }
}

/// A vector with room for `n` elements; if that is a few huge pages or more, the
/// whole huge pages inside it are advised as such before anything is written.
pub fn with_capacity<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
    if bytes >= 2 * HUGE {
        advise_huge(v.as_ptr() as usize, bytes);
    }
    v
}

/// Advises the whole huge pages of the `bytes` at `start` (an allocation nothing
/// has written to yet).
#[cfg(target_os = "linux")]
fn advise_huge(start: usize, bytes: usize) {
    let lo = start.next_multiple_of(HUGE);
    let hi = (start + bytes) / HUGE * HUGE;
    if hi > lo {
        // SAFETY: `lo..hi` lies inside the caller's allocation, in whole pages as
        // madvise requires. MADV_HUGEPAGE changes only how the kernel backs those
        // pages, never their contents, and nothing refers into them yet; a failure
        // (no THP support) leaves them as they were.
        unsafe {
            libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_start: usize, _bytes: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn small_and_large_vectors_work_alike() {
        for n in [0usize, 10, 1 << 20, 3 << 20] {
            let mut v: Vec<u64> = super::with_capacity(n);
            assert!(v.capacity() >= n);
            v.extend((0..n as u64).map(|i| i * 3));
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 3));
        }
    }
}
