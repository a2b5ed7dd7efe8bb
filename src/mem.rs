//! Large buffers backed by transparent huge pages where the kernel offers them.
//!
//! Owns every request for 2 MiB pages (`MADV_HUGEPAGE`): [`HugeBuf`], the regions of
//! an index built in memory, and [`with_capacity`], the big, short-lived vectors of
//! verification and the reports (the candidates' sort keys, the findings, the reset
//! list's sort keys). Their memory is fresh: in 4 KiB pages every page costs a fault
//! and a zeroing, in 2 MiB pages one fault does 512 pages' work. On kernels or
//! machines without transparent huge pages (or off Linux) they are plain memory.

/// The huge page size of x86_64 and most aarch64 kernels.
const HUGE: usize = 2 << 20;

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
