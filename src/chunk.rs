//! Cutting a byte buffer into line-aligned chunks for parallel work.
//!
//! Owns the one rule every parallel reader of line-based bytes shares (the dump
//! scan's mapped files, the customers loader): where chunk `k` of a buffer starts
//! and ends. Each chunk is found on its own, from its own span, so workers cut their
//! chunks as they run instead of a serial pass finding every boundary first.

use std::ops::Range;

/// Chunk `k` of `bytes` cut every `target` bytes: from just past the first `\n` at or
/// after `k * target` (chunk 0: from the start) to just past the first `\n` at or
/// after `(k + 1) * target` (or the end). Empty inside a line longer than `target`.
/// The chunks `0..chunk_count(bytes.len(), target)` cover `bytes` exactly, each ends at a
/// line boundary, and each is found on its own, reading only from the start of its
/// own span and of the next.
///
/// Never reading before its span matters: where the page cache holds 2 MiB folios,
/// one byte read maps a whole folio, and reading the byte before the span (to ask
/// whether a line starts exactly there) mapped the previous chunk's last 2 MiB again
/// after that chunk had released it: half the dump stayed resident.
pub fn chunk_range(bytes: &[u8], k: usize, target: usize) -> Range<usize> {
    let target = target.max(1);
    // Just past the first `\n` at or after `at`.
    let line_start = |at: usize| {
        if at == 0 {
            0
        } else if at >= bytes.len() {
            bytes.len()
        } else {
            memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1)
        }
    };
    let start = line_start(k.saturating_mul(target));
    let end = line_start(k.saturating_add(1).saturating_mul(target));
    start..end.max(start)
}

/// How many [`chunk_range`]s cover `len` bytes cut every `target` bytes.
pub fn chunk_count(len: usize, target: usize) -> usize {
    len.div_ceil(target.max(1))
}

/// Cuts `bytes` into ranges of about `target` bytes, each ending just after a `\n`
/// (or at the end): the non-empty [`chunk_range`]s.
pub fn split_chunks(bytes: &[u8], target: usize) -> Vec<Range<usize>> {
    (0..chunk_count(bytes.len(), target))
        .map(|k| chunk_range(bytes, k, target))
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_line_boundaries_and_cover_everything() {
        let data = b"aaa\nbb\ncccccc\nd\n\nlast";
        for target in 1..data.len() + 2 {
            let chunks = split_chunks(data, target);
            assert_eq!(chunks.first().unwrap().start, 0);
            assert_eq!(chunks.last().unwrap().end, data.len());
            for w in chunks.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[0].end - 1], b'\n');
            }
        }
        assert!(split_chunks(b"", 4).is_empty());
    }

    #[test]
    fn each_chunk_is_found_on_its_own() {
        // A line longer than several chunks leaves those chunks empty.
        let data = b"ab\ncdefghijklmnop\nq\n\nrs";
        let past_newline_from = |at: usize| {
            (at..data.len())
                .find(|&i| data[i] == b'\n')
                .map_or(data.len(), |i| i + 1)
        };
        for target in 1..data.len() + 2 {
            let mut at = 0;
            for k in 0..chunk_count(data.len(), target) {
                let r = chunk_range(data, k, target);
                assert_eq!(r.start, at, "chunk {k} of {target}");
                assert_eq!(r.end, past_newline_from((k + 1) * target).max(r.start));
                at = r.end;
            }
            assert_eq!(at, data.len());
        }
    }
}
