//! The Bloom filter in front of the slot table.
//!
//! A register-blocked Bloom filter over the login hashes, 8 bits a login (one `u64`
//! word per probe, 3 bits set in it). Nearly every dump line is a miss; the filter
//! (1 MiB for 1M customers) answers most of them from cache, so only the few percent
//! it lets through pay for a probe of the much larger slot table.

/// The Bloom word and bit mask for a login hash: three bit positions from its bits
/// 0–17, the word from the bits above. The hash's bits are well mixed, so these are
/// independent of each other and of the slot table's fingerprint (the top 24
/// bits); no remix on the scan's per-line path.
#[inline]
pub(super) fn bloom_key(hash: u64, words: usize) -> (usize, u64) {
    // Wrapping: no overflow for a filter of no words (the word is then out of range,
    // which callers check).
    let word = (hash >> 18) as usize & words.wrapping_sub(1);
    let mask = 1u64 << (hash & 63) | 1u64 << ((hash >> 6) & 63) | 1u64 << ((hash >> 12) & 63);
    (word, mask)
}

/// Number of Bloom words for `groups` logins: 8 bits a login, a power of two.
pub(super) fn bloom_words(groups: usize) -> usize {
    groups.div_ceil(8).next_power_of_two().max(1)
}
