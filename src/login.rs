//! Login normalisation and hashing.
//!
//! Owns the one function that both sides of the match go through: logins from the
//! customers file and logins parsed from dumps are normalised the same way (surrounding
//! whitespace trimmed, compared case-insensitively: an ASCII fast path, Unicode
//! lowercase for the rest) and then hashed with xxh3 for the customer index.
//! It does not decide what a login *is* in a dump line; that is [`crate::parse`].

use xxhash_rust::xxh3::xxh3_64;

/// Normalises `raw` into `buf` (cleared first) and returns the normalised bytes.
///
/// * Surrounding ASCII whitespace is trimmed; for valid UTF-8 with non-ASCII bytes,
///   surrounding Unicode whitespace too.
/// * ASCII letters are lowercased in place (the fast path, no allocation once `buf`
///   has grown). Valid non-ASCII UTF-8 is lowercased with Unicode rules
///   ([`str::to_lowercase`]); bytes that are not valid UTF-8 keep their value and only
///   their ASCII letters are lowercased.
///
/// Callers reuse `buf` across lines so the hot loop does not allocate.
pub fn normalize<'b>(raw: &[u8], buf: &'b mut Vec<u8>) -> &'b [u8] {
    buf.clear();
    let trimmed = raw.trim_ascii();
    if lower_ascii_into(trimmed, buf) {
        return buf;
    }
    buf.clear();
    buf.extend_from_slice(trimmed);
    if let Ok(s) = std::str::from_utf8(trimmed) {
        let lowered = s.trim().to_lowercase();
        buf.clear();
        buf.extend_from_slice(lowered.as_bytes());
    } else {
        buf.make_ascii_lowercase();
    }
    buf
}

/// Appends `src` lowercased to `buf` if it is all ASCII (8 bytes at a time), and says
/// whether it was; `buf` holds garbage when it was not.
#[inline]
fn lower_ascii_into(src: &[u8], buf: &mut Vec<u8>) -> bool {
    const HI: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    /// Lowercases 8 ASCII bytes: a byte gets 0x20 where `'A' <= b <= 'Z'`.
    #[inline]
    fn lower8(w: u64) -> u64 {
        let ge_a = w + ONES * (0x80 - b'A' as u64);
        let gt_z = w + ONES * (0x80 - b'Z' as u64 - 1);
        w | ((ge_a & !gt_z & HI) >> 2)
    }
    let mut chunks = src.chunks_exact(8);
    let mut seen = 0u64;
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap());
        seen |= w;
        // Bytes >= 0x80 would carry into their neighbours; checked below.
        buf.extend_from_slice(&lower8(w & !HI).to_le_bytes());
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let w = u64::from_le_bytes(tail);
    seen |= w;
    buf.extend_from_slice(&lower8(w & !HI).to_le_bytes()[..rest.len()]);
    seen & HI == 0
}

/// Hashes an already normalised login for the customer index.
#[inline]
pub fn hash_normalized(normalized: &[u8]) -> u64 {
    xxh3_64(normalized)
}

/// Normalises and hashes in one call, for code off the hot path.
pub fn normalize_and_hash(raw: &[u8]) -> (Vec<u8>, u64) {
    let mut buf = Vec::with_capacity(raw.len());
    normalize(raw, &mut buf);
    let h = hash_normalized(&buf);
    (buf, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        normalize(s, &mut b).to_vec()
    }

    #[test]
    fn ascii_trim_and_lowercase() {
        assert_eq!(norm(b"  Alice@Example.COM \t"), b"alice@example.com");
    }

    #[test]
    fn unicode_lowercase() {
        assert_eq!(
            norm("ÉLODIE@Exemple.fr".as_bytes()),
            "élodie@exemple.fr".as_bytes()
        );
        // Unicode whitespace around a non-ASCII login is trimmed too.
        assert_eq!(norm("\u{3000}ÄBC\u{3000}".as_bytes()), "äbc".as_bytes());
    }

    #[test]
    fn swar_lowercase_matches_std_on_every_ascii_byte() {
        let all: Vec<u8> = (0u8..0x80).collect();
        for start in 0..all.len() {
            for len in [1, 7, 8, 9, 17] {
                let s = &all[start..(start + len).min(all.len())];
                let mut want = s.trim_ascii().to_vec();
                want.make_ascii_lowercase();
                assert_eq!(norm(s), want);
            }
        }
    }

    #[test]
    fn invalid_utf8_keeps_bytes_lowercases_ascii() {
        assert_eq!(norm(b"AB\xff\xfeC"), b"ab\xff\xfec");
    }

    #[test]
    fn empty_and_whitespace() {
        assert_eq!(norm(b""), b"");
        assert_eq!(norm(b"   "), b"");
    }

    #[test]
    fn hash_is_of_normalized_form() {
        let (a, ha) = normalize_and_hash(b"Bob@X.io");
        let (b, hb) = normalize_and_hash(b" bob@x.io");
        assert_eq!(a, b);
        assert_eq!(ha, hb);
    }
}
