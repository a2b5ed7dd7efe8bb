//! Byte searches shared by the line rules: the separator table, and searches within
//! one 64-bit word (SWAR).
//!
//! A SWAR result flags bytes by their high bit; the lowest flagged byte is exact,
//! and bytes above it may be flagged falsely (a borrow runs upwards only), so only
//! [`first`] of a result is meaningful.

/// Bytes that separate login from password, as a lookup table.
pub(super) static IS_SEP: [bool; 256] = {
    let mut t = [false; 256];
    t[b':' as usize] = true;
    t[b';' as usize] = true;
    t[b'|' as usize] = true;
    t[b'\t' as usize] = true;
    t
};

/// The first separator of `bytes`, eight bytes at a time (the searches of the slow
/// paths run over short strings, where a call to a vector search costs more).
#[inline]
pub(super) fn first_sep(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(w) = bytes.get(at..at + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap());
        let m = eq(w, b':') | eq(w, b';') | eq(w, b'|') | eq(w, b'\t');
        if m != 0 {
            return Some(at + first(m));
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| IS_SEP[b as usize])
        .map(|i| at + i)
}

const ONES: u64 = 0x0101_0101_0101_0101;
pub(super) const HI: u64 = 0x8080_8080_8080_8080;

/// Bytes of `w` equal to `b`.
#[inline(always)]
pub(super) fn eq(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HI
}

/// Bytes of `w` below `b` (for `b` <= 0x80).
#[inline(always)]
pub(super) fn below(w: u64, b: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(b)) & !w & HI
}

/// The position of the lowest flagged byte of a non-zero result.
#[inline(always)]
pub(super) fn first(m: u64) -> usize {
    m.trailing_zeros() as usize / 8
}
