//! Login normalisation and hashing.
//!
//! Owns the one function that both sides of the match go through: logins from the
//! customers file and logins parsed from dumps are normalised the same way (surrounding
//! whitespace trimmed, compared case-insensitively: an ASCII fast path, Unicode
//! lowercase for the rest) and then hashed for the customer index
//! with a fixed word-at-a-time hash that folds ASCII case as it reads.
//! It does not decide what a login *is* in a dump line; that is [`crate::parse`].

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
///
/// The hash is part of the `.lmx` format ([`crate::index::file`]): changing it changes the
/// format version.
#[inline]
pub fn hash_normalized(normalized: &[u8]) -> u64 {
    word_hash(normalized).0
}

/// The hash of `raw`'s normalised form, without keeping the normalised bytes.
///
/// A login that is ASCII after trimming (nearly all of them) is hashed straight from
/// the dump's bytes, case folded word by word in registers: no copy, no buffer.
/// Anything else goes through [`normalize`] with `scratch`.
#[inline(always)]
pub fn hash_login(raw: &[u8], scratch: &mut Vec<u8>) -> u64 {
    // ASCII whitespace is at most b' ': a login that starts and ends above it (nearly
    // all) needs no trim, and two compares cost less than the trim's two loops.
    let clean = matches!((raw.first(), raw.last()), (Some(&a), Some(&z)) if a > b' ' && z > b' ');
    let trimmed = if clean { raw } else { raw.trim_ascii() };
    let (hash, ascii) = word_hash(trimmed);
    if ascii {
        return hash;
    }
    hash_unicode(raw, scratch)
}

/// The rare non-ASCII path of [`hash_login`], kept out of line so the inlined ASCII
/// path stays small.
#[inline(never)]
fn hash_unicode(raw: &[u8], scratch: &mut Vec<u8>) -> u64 {
    hash_normalized(normalize(raw, scratch))
}

/// The login hash: a 16-bytes-a-round folded-multiply hash in the style of wyhash
/// and foldhash, with fixed constants (it is stored on disk). The second result says
/// whether `s` was all ASCII.
///
/// Case is folded by setting bit 5 of every byte (`| 0x20`) before mixing: one OR
/// a word. That maps `A` and `a` (and every other ASCII letter pair) to one value,
/// so `word_hash(s) == word_hash(lowercase(s))` for every byte string `s` under
/// ASCII lowercasing. It also maps some pairs of other bytes onto each other (`@`
/// and `` ` ``, `.` and 0x0E, ...): logins that differ only there share a hash,
/// which costs at most a rare extra candidate, because every hit is confirmed
/// against the login's bytes ([`crate::index::IndexView::accounts_of`]). Lowercasing
/// exactly (seven operations a word) cost 7% of the scan (BENCHMARKS.md).
///
/// Hand-written because it is the scan's per-line cost: hashing the dump's bytes
/// in place, without first copying them lowercased, is what pays.
#[inline(always)]
fn word_hash(s: &[u8]) -> (u64, bool) {
    const K: [u64; 4] = [
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    ];
    #[inline(always)]
    fn mix(a: u64, b: u64) -> u64 {
        let r = u128::from(a) * u128::from(b);
        (r as u64) ^ ((r >> 64) as u64)
    }
    #[inline(always)]
    fn word(s: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(s[at..at + 8].try_into().unwrap())
    }
    #[inline(always)]
    fn half(s: &[u8], at: usize) -> u64 {
        u64::from(u32::from_le_bytes(s[at..at + 4].try_into().unwrap()))
    }
    let fold = |w: u64| w | 0x2020_2020_2020_2020;
    let len = s.len();
    let mut h = K[0] ^ (len as u64).wrapping_mul(K[1]);
    let mut seen = 0u64;
    let (a, b) = if len <= 16 {
        if len >= 8 {
            (word(s, 0), word(s, len - 8))
        } else if len >= 4 {
            (half(s, 0), half(s, len - 4))
        } else if len > 0 {
            let w = u64::from(s[0]) | u64::from(s[len / 2]) << 8 | u64::from(s[len - 1]) << 16;
            (w, 0)
        } else {
            (0, 0)
        }
    } else {
        let mut i = 0;
        while i + 16 < len {
            let (a, b) = (word(s, i), word(s, i + 8));
            seen |= a | b;
            h = mix(fold(a) ^ K[2], fold(b) ^ h);
            i += 16;
        }
        (word(s, len - 16), word(s, len - 8))
    };
    seen |= a | b;
    h = mix(fold(a) ^ K[3], fold(b) ^ h);
    (mix(h ^ K[1], K[2] ^ len as u64), seen & HI == 0)
}

const HI: u64 = 0x8080_8080_8080_8080;

/// Lowercases the ASCII letters of 8 bytes: 0x20 is added where `'A' <= b <= 'Z'`.
/// Bytes with the high bit set are masked out of the test so they cannot carry into
/// neighbours (and are left as they are).
#[inline(always)]
pub(crate) fn lower8(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low = w & !HI;
    let ge_a = low + ONES * (0x80 - b'A' as u64);
    let gt_z = low + ONES * (0x80 - b'Z' as u64 - 1);
    w | ((ge_a & !gt_z & !w & HI) >> 2)
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
    fn hash_covers_every_byte_and_the_length() {
        // Each length class of `word_hash` (0, 1-3, 4-7, 8-16, and the 16-byte rounds)
        // must see every byte: changing any one byte changes the hash.
        for len in 0..70usize {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let h = hash_normalized(&base);
            let longer = [&base[..], b"a"].concat();
            assert_ne!(h, hash_normalized(&longer), "len {len}");
            for i in 0..len {
                let mut other = base.clone();
                other[i] = b'0';
                assert_ne!(h, hash_normalized(&other), "len {len}, byte {i}");
            }
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// The in-register path (`hash_login` on raw dump bytes) agrees with the
            /// customers' side (normalise, then hash) on any input.
            #[test]
            fn hash_login_agrees_with_normalize_then_hash(raw in proptest::collection::vec(
                prop_oneof![
                    8 => proptest::sample::select(b"aZ@._- \t09Mx".to_vec()),
                    1 => any::<u8>(),
                ],
                0..80,
            )) {
                let (_, h) = normalize_and_hash(&raw);
                prop_assert_eq!(hash_login(&raw, &mut Vec::new()), h);
            }
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
