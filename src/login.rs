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
    let mut ascii = true;
    buf.extend(trimmed.iter().map(|&b| {
        ascii &= b < 0x80;
        b.to_ascii_lowercase()
    }));
    if !ascii {
        if let Ok(s) = std::str::from_utf8(trimmed) {
            let lowered = s.trim().to_lowercase();
            buf.clear();
            buf.extend_from_slice(lowered.as_bytes());
        }
    }
    buf
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
