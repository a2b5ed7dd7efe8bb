//! Where a login hash lands: its Bloom word and bits, its home slot, its fingerprint.
//!
//! The 64-bit login hash ([`crate::login::hash_normalized`]) is split once:
//!
//! * its top 32 bits pick a position by *fastrange* (`(top × n) >> 32`, a multiply
//!   instead of a power-of-two mask): the Bloom word among `words`, and the home
//!   slot among `n_home`. Both are monotonic in the hash, which is what lets the
//!   builder write the filter and the slot table front to back from logins sorted by
//!   hash, and which lets their sizes follow the customer count exactly instead of
//!   the next power of two;
//! * bits 0–17 are the three bit positions within the Bloom word (8 bits a login,
//!   3 set: about 4–5% false positives);
//! * bits 8–31, independent of the top bits, are the slot's 24-bit fingerprint.
//!
//! The Bloom filter answers most dump lines (nearly all are not customers) from
//! cache, so only the few percent it lets through pay for a probe of the much larger
//! slot table.

/// `(top × n) >> 32` for the top 32 bits of `hash`: a position in `0..n`.
#[inline(always)]
pub(super) fn fastrange(hash: u64, n: usize) -> usize {
    // In 128 bits: `n` is a count read from a file, which may be damaged.
    ((u128::from(hash >> 32) * n as u128) >> 32) as usize
}

/// The Bloom word of a login hash in a filter of `words` words.
#[inline(always)]
pub(super) fn bloom_word(hash: u64, words: usize) -> usize {
    fastrange(hash, words)
}

/// The Bloom bits of a login hash within its word.
#[inline(always)]
pub(super) fn bloom_mask(hash: u64) -> u64 {
    1u64 << (hash & 63) | 1u64 << ((hash >> 6) & 63) | 1u64 << ((hash >> 12) & 63)
}

/// The fingerprint a slot keeps of a login hash.
#[inline(always)]
pub(super) fn fingerprint(hash: u64) -> u64 {
    (hash >> 8) & 0xFF_FFFF
}

/// Number of Bloom words for `logins` logins: 8 bits a login, at least one word.
pub(super) fn bloom_words(logins: u64) -> usize {
    logins.div_ceil(8).max(1) as usize
}

/// Number of home slots for `logins` logins: load at most 0.8.
pub(super) fn home_slots(logins: u64) -> usize {
    (logins + logins / 4 + 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_in_range_and_monotonic() {
        let hashes = [0u64, 1, 1 << 32, u64::MAX / 3, u64::MAX - 1, u64::MAX];
        for n in [1usize, 7, 1000, 1 << 30] {
            let mut last = 0;
            for &h in &hashes {
                let p = fastrange(h, n);
                assert!(p < n);
                assert!(p >= last);
                last = p;
            }
        }
        assert_eq!(fastrange(u64::MAX, 0), 0);
    }
}
