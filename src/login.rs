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
    normalize_append(raw, buf);
    buf
}

/// Like [`normalize`], but appends to `buf` and returns where the normalised login
/// starts in it.
#[inline]
fn normalize_append(raw: &[u8], buf: &mut Vec<u8>) -> usize {
    let start = buf.len();
    let trimmed = raw.trim_ascii();
    buf.resize(start + trimmed.len(), 0);
    if lower_ascii_into(trimmed, &mut buf[start..]) {
        return start;
    }
    // Not ASCII: Unicode rules if it is UTF-8; otherwise the ASCII lowercasing
    // already written stands (other bytes kept their value).
    if let Ok(s) = std::str::from_utf8(trimmed) {
        let lowered = s.trim().to_lowercase();
        buf.truncate(start);
        buf.extend_from_slice(lowered.as_bytes());
    }
    start
}

/// Writes `src` with its ASCII letters lowercased into `dst` (same length), 8 bytes
/// at a time (SWAR), and says whether every byte was ASCII.
///
/// It reads the source and writes the destination, never reading back what it just
/// wrote: reading words over a fresh `memcpy` stalls on store forwarding, which
/// profiling showed costing a fifth of the scan.
#[inline]
fn lower_ascii_into(src: &[u8], dst: &mut [u8]) -> bool {
    const HI: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    /// Lowercases 8 bytes: 0x20 is added where `'A' <= b <= 'Z'`. Bytes with the high
    /// bit set are masked out of the test so they cannot carry into neighbours.
    #[inline]
    fn lower8(w: u64) -> u64 {
        let low = w & !HI;
        let ge_a = low + ONES * (0x80 - b'A' as u64);
        let gt_z = low + ONES * (0x80 - b'Z' as u64 - 1);
        w | ((ge_a & !gt_z & !w & HI) >> 2)
    }
    let mut seen = 0u64;
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dc, sc) in (&mut d).zip(&mut s) {
        let w = u64::from_le_bytes(sc.try_into().unwrap());
        seen |= w;
        dc.copy_from_slice(&lower8(w).to_le_bytes());
    }
    for (db, &sb) in d.into_remainder().iter_mut().zip(s.remainder()) {
        seen |= u64::from(sb);
        *db = sb.to_ascii_lowercase();
    }
    seen & HI == 0
}

/// Hashes an already normalised login for the customer index.
#[inline]
pub fn hash_normalized(normalized: &[u8]) -> u64 {
    xxh3_64(normalized)
}

/// The hash of `raw`'s normalised form, without keeping the normalised bytes: a
/// short ASCII login (nearly all of them) is normalised in a stack buffer; anything
/// else goes through [`normalize`] with `scratch`.
#[inline]
pub fn hash_login(raw: &[u8], scratch: &mut Vec<u8>) -> u64 {
    const STACK: usize = 128;
    let trimmed = raw.trim_ascii();
    if trimmed.len() <= STACK {
        let mut buf = [0u8; STACK];
        let buf = &mut buf[..trimmed.len()];
        if lower_ascii_into(trimmed, buf) {
            return hash_normalized(buf);
        }
    }
    hash_normalized(normalize(raw, scratch))
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
    fn hash_login_equals_hash_of_normalize() {
        let long = "X".repeat(300);
        for raw in [
            &b" Bob@X.io "[..],
            "ÉLODIE@x.fr".as_bytes(),
            b"AB\xff\xfeC",
            long.as_bytes(),
            b"",
        ] {
            let (_, h) = normalize_and_hash(raw);
            assert_eq!(hash_login(raw, &mut Vec::new()), h);
        }
    }

    #[test]
    fn hash_is_of_normalized_form() {
        let (a, ha) = normalize_and_hash(b"Bob@X.io");
        let (b, hb) = normalize_and_hash(b" bob@x.io");
        assert_eq!(a, b);
        assert_eq!(ha, hb);
    }
}
