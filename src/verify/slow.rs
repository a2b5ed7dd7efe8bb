//! Slow schemes: bcrypt, argon2, PBKDF2 (Django and passlib forms), sha256crypt and
//! sha512crypt.
//!
//! Each check costs milliseconds by design, so [`crate::confirm`] runs them in parallel
//! under a per-account budget. The index stores the validated hash string itself
//! (`StoredHash::data`); it is parsed again at check time, which costs nothing next to
//! the hash. The work is done by the well-kept crates (`bcrypt`, `argon2`, `pbkdf2`,
//! `sha-crypt`); digests are compared in constant time.

use argon2::password_hash::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use subtle::ConstantTimeEq;

/// passlib's "adapted base64": standard alphabet with `.` for `+`, no padding.
const NO_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What is wrong with a value, for [`super::HashFormatError::Malformed`].
type Malformed = &'static str;

/// The validated value itself is what the index stores: it is parsed again at
/// check time, which costs nothing next to the hash.
fn stored(v: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(v.as_bytes());
}

/// `bcrypt`: `$2a$`, `$2b$`, `$2x$`, `$2y$`.
pub(super) fn parse_bcrypt_value(v: &str, out: &mut Vec<u8>) -> Result<(), Malformed> {
    parse_bcrypt(v).map(|_| stored(v, out))
}

/// `argon2id`, `argon2i`, `argon2d`: PHC strings.
pub(super) fn parse_argon2(v: &str, out: &mut Vec<u8>) -> Result<(), Malformed> {
    let hash = PasswordHash::new(v).map_err(|_| "bad PHC string")?;
    argon2::Params::try_from(&hash).map_err(|_| "bad argon2 parameters")?;
    if hash.hash.is_none() || hash.salt.is_none() {
        return Err("missing salt or hash");
    }
    stored(v, out);
    Ok(())
}

/// Django `pbkdf2_sha256$...`, `pbkdf2_sha1$...`.
pub(super) fn parse_django_pbkdf2_value(v: &str, out: &mut Vec<u8>) -> Result<(), Malformed> {
    parse_django_pbkdf2(v).map(|_| stored(v, out))
}

/// passlib `$pbkdf2$...`, `$pbkdf2-sha256$...`, `$pbkdf2-sha512$...`.
pub(super) fn parse_passlib_pbkdf2_value(v: &str, out: &mut Vec<u8>) -> Result<(), Malformed> {
    parse_passlib_pbkdf2(v).map(|_| stored(v, out))
}

/// glibc `$5$`, `$6$`.
pub(super) fn parse_sha_crypt_value(v: &str, out: &mut Vec<u8>) -> Result<(), Malformed> {
    parse_sha_crypt(v).map(|_| stored(v, out))
}

/// `$2?$CC$` + 22 salt chars + 31 hash chars, bcrypt's base64 alphabet.
fn parse_bcrypt(v: &str) -> Result<u32, Malformed> {
    let parts: Vec<&str> = v.split('$').collect();
    if parts.len() != 4 || !parts[0].is_empty() {
        return Err("expected $2b$COST$SALTHASH");
    }
    let cost: u32 = parts[2].parse().map_err(|_| "cost is not a number")?;
    if !(4..=31).contains(&cost) {
        return Err("cost outside 4..=31");
    }
    let body = parts[3].as_bytes();
    if body.len() != 53
        || !body
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/'))
    {
        return Err("salt and hash are not 53 bcrypt-base64 characters");
    }
    Ok(cost)
}

struct Pbkdf2Params {
    rounds: u32,
    salt: Vec<u8>,
    digest: Vec<u8>,
}

/// Django: `pbkdf2_sha256$ITER$SALT$B64` (salt used as its UTF-8 bytes).
fn parse_django_pbkdf2(v: &str) -> Result<Pbkdf2Params, Malformed> {
    let parts: Vec<&str> = v.split('$').collect();
    if parts.len() != 4 {
        return Err("expected NAME$ITER$SALT$HASH");
    }
    let rounds = parse_rounds(parts[1])?;
    let digest = STANDARD.decode(parts[3]).map_err(|_| "bad base64 hash")?;
    check_digest(&digest)?;
    Ok(Pbkdf2Params {
        rounds,
        salt: parts[2].as_bytes().to_vec(),
        digest,
    })
}

/// passlib: `$pbkdf2-sha256$ITER$SALT$HASH`, salt and hash in adapted base64.
fn parse_passlib_pbkdf2(v: &str) -> Result<Pbkdf2Params, Malformed> {
    let parts: Vec<&str> = v.split('$').collect();
    if parts.len() != 5 || !parts[0].is_empty() {
        return Err("expected $NAME$ITER$SALT$HASH");
    }
    let rounds = parse_rounds(parts[2])?;
    let ab64 = |s: &str| NO_PAD.decode(s.replace('.', "+"));
    let salt = ab64(parts[3]).map_err(|_| "bad adapted-base64 salt")?;
    let digest = ab64(parts[4]).map_err(|_| "bad adapted-base64 hash")?;
    check_digest(&digest)?;
    Ok(Pbkdf2Params {
        rounds,
        salt,
        digest,
    })
}

fn parse_rounds(s: &str) -> Result<u32, Malformed> {
    match s.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("iteration count is not a positive number"),
    }
}

fn check_digest(digest: &[u8]) -> Result<(), Malformed> {
    if digest.is_empty() || digest.len() > 64 {
        return Err("hash length is not 1..=64 bytes");
    }
    Ok(())
}

struct ShaCryptParams<'a> {
    rounds: usize,
    salt: &'a str,
    hash: &'a str,
}

/// glibc `$5$[rounds=N$]SALT$HASH` / `$6$...`. Rounds are clamped to
/// 1000..=999999999 and the salt to 16 characters, as glibc does.
fn parse_sha_crypt(v: &str) -> Result<ShaCryptParams<'_>, Malformed> {
    let parts: Vec<&str> = v.split('$').collect();
    let (rounds, salt, hash) = match parts.as_slice() {
        ["", _, r, salt, hash] if r.starts_with("rounds=") => {
            let n: usize = r["rounds=".len()..]
                .parse()
                .map_err(|_| "rounds= is not a number")?;
            (n.clamp(1_000, 999_999_999), *salt, *hash)
        }
        ["", _, salt, hash] => (5_000, *salt, *hash),
        _ => return Err("expected $5$[rounds=N$]SALT$HASH"),
    };
    // `$5$` (SHA-256) hashes are 43 characters, `$6$` (SHA-512) ones 86.
    let want = if v.starts_with("$5$") { 43 } else { 86 };
    let crypt64 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/'))
    };
    if hash.len() != want || !crypt64(hash) {
        return Err("hash part has the wrong length or alphabet");
    }
    let salt = match salt.char_indices().nth(16) {
        Some((i, _)) => &salt[..i],
        None => salt,
    };
    Ok(ShaCryptParams { rounds, salt, hash })
}

/// What one check of a slow value costs: the parameters a
/// [`super::limits::CostLimits`] bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Work {
    /// bcrypt's cost (2^cost rounds).
    Bcrypt(u32),
    /// PBKDF2 iterations.
    Pbkdf2(u32),
    /// sha-crypt rounds (as glibc clamps them).
    ShaCrypt(usize),
    /// argon2 memory (KiB), passes and lanes.
    Argon2 {
        /// Memory in KiB.
        m: u32,
        /// Passes.
        t: u32,
        /// Lanes.
        p: u32,
    },
}

/// The work of checking a password against `data` (a slow scheme's stored value);
/// `None` for a fast scheme or a value that does not parse.
pub(super) fn work(scheme: super::Scheme, data: &[u8]) -> Option<Work> {
    use super::Scheme::*;
    let v = text(data)?;
    Some(match scheme {
        Bcrypt => Work::Bcrypt(parse_bcrypt(v).ok()?),
        Argon2id | Argon2i | Argon2d => {
            let hash = PasswordHash::new(v).ok()?;
            let params = argon2::Params::try_from(&hash).ok()?;
            Work::Argon2 {
                m: params.m_cost(),
                t: params.t_cost(),
                p: params.p_cost(),
            }
        }
        DjangoPbkdf2Sha256 | DjangoPbkdf2Sha1 => Work::Pbkdf2(parse_django_pbkdf2(v).ok()?.rounds),
        Pbkdf2Sha1 | Pbkdf2Sha256 | Pbkdf2Sha512 => {
            Work::Pbkdf2(parse_passlib_pbkdf2(v).ok()?.rounds)
        }
        Sha256Crypt | Sha512Crypt => Work::ShaCrypt(parse_sha_crypt(v).ok()?.rounds),
        _ => return None,
    })
}

/// The stored value as text (always, for a value validated at load).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// `bcrypt`: `bcrypt::verify` truncates to 72 bytes as the original
/// implementations do, and compares in constant time.
pub(super) fn verify_bcrypt(data: &[u8], password: &[u8]) -> bool {
    text(data).is_some_and(|v| bcrypt::verify(password, v).unwrap_or(false))
}

/// argon2: the hash's own algorithm, version and parameters are used; the output
/// comparison is constant time. A hash without `v=` is argon2 1.0 (version 0x10,
/// what libraries wrote before 2016, and how libargon2 and passlib read it): the
/// crate would take it as 0x13, and such a customer never matched.
pub(super) fn verify_argon2(data: &[u8], password: &[u8]) -> bool {
    text(data)
        .and_then(|v| PasswordHash::new(v).ok())
        .is_some_and(|mut hash| {
            hash.version = hash.version.or(Some(ARGON2_V10));
            Argon2::default().verify_password(password, &hash).is_ok()
        })
}

/// argon2's version 1.0, as `v=` writes it.
const ARGON2_V10: u32 = 0x10;

/// The PRF of a PBKDF2 scheme.
#[derive(Clone, Copy)]
enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

/// PBKDF2-HMAC-`prf`, compared in constant time.
fn pbkdf2_check(prf: Prf, p: &Pbkdf2Params, password: &[u8]) -> bool {
    let mut out = vec![0u8; p.digest.len()];
    match prf {
        Prf::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, &p.salt, p.rounds, &mut out),
        Prf::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &p.salt, p.rounds, &mut out),
        Prf::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, &p.salt, p.rounds, &mut out),
    }
    out.ct_eq(&p.digest).into()
}

fn django_pbkdf2(prf: Prf, data: &[u8], password: &[u8]) -> bool {
    text(data)
        .and_then(|v| parse_django_pbkdf2(v).ok())
        .is_some_and(|p| pbkdf2_check(prf, &p, password))
}

fn passlib_pbkdf2(prf: Prf, data: &[u8], password: &[u8]) -> bool {
    text(data)
        .and_then(|v| parse_passlib_pbkdf2(v).ok())
        .is_some_and(|p| pbkdf2_check(prf, &p, password))
}

/// `django_pbkdf2_sha256`.
pub(super) fn verify_django_pbkdf2_sha256(data: &[u8], password: &[u8]) -> bool {
    django_pbkdf2(Prf::Sha256, data, password)
}

/// `django_pbkdf2_sha1`.
pub(super) fn verify_django_pbkdf2_sha1(data: &[u8], password: &[u8]) -> bool {
    django_pbkdf2(Prf::Sha1, data, password)
}

/// `pbkdf2_sha1` (passlib).
pub(super) fn verify_pbkdf2_sha1(data: &[u8], password: &[u8]) -> bool {
    passlib_pbkdf2(Prf::Sha1, data, password)
}

/// `pbkdf2_sha256` (passlib).
pub(super) fn verify_pbkdf2_sha256(data: &[u8], password: &[u8]) -> bool {
    passlib_pbkdf2(Prf::Sha256, data, password)
}

/// `pbkdf2_sha512` (passlib).
pub(super) fn verify_pbkdf2_sha512(data: &[u8], password: &[u8]) -> bool {
    passlib_pbkdf2(Prf::Sha512, data, password)
}

/// `sha256crypt`.
pub(super) fn verify_sha256_crypt(data: &[u8], password: &[u8]) -> bool {
    text(data)
        .and_then(|v| parse_sha_crypt(v).ok())
        .is_some_and(|p| {
            sha_crypt::Sha256Params::new(p.rounds)
                .ok()
                .and_then(|params| {
                    sha_crypt::sha256_crypt_b64(password, p.salt.as_bytes(), &params).ok()
                })
                .is_some_and(|out| out.as_bytes().ct_eq(p.hash.as_bytes()).into())
        })
}

/// `sha512crypt`.
pub(super) fn verify_sha512_crypt(data: &[u8], password: &[u8]) -> bool {
    text(data)
        .and_then(|v| parse_sha_crypt(v).ok())
        .is_some_and(|p| {
            sha_crypt::Sha512Params::new(p.rounds)
                .ok()
                .and_then(|params| {
                    sha_crypt::sha512_crypt_b64(password, p.salt.as_bytes(), &params).ok()
                })
                .is_some_and(|out| out.as_bytes().ct_eq(p.hash.as_bytes()).into())
        })
}

#[cfg(test)]
mod tests {
    use super::super::{parse_stored, HashFormatError, Scheme};

    /// Regression (issue 21): argon2 hashes without `v=` are version 1.0 (0x10).
    /// Vectors made by argon2-cffi (libargon2) at `version=0x10` with `v=16$`
    /// removed, as pre-2016 libraries wrote them; passlib verifies them too.
    #[test]
    fn argon2_without_a_version_is_version_1_0() {
        use super::verify_argon2;
        for (hash, with_v) in [
            (
                "$argon2i$m=256,t=2,p=1$c29tZXNhbHQtZml4ZWQxNg$P5P6uVmRv+hAey2zcu9kJE++8lEkO2brTRFD/pM0Hus",
                "$argon2i$v=16$m=256,t=2,p=1$c29tZXNhbHQtZml4ZWQxNg$P5P6uVmRv+hAey2zcu9kJE++8lEkO2brTRFD/pM0Hus",
            ),
            (
                "$argon2d$m=256,t=2,p=1$c29tZXNhbHQtZml4ZWQxNg$so2iXAxl++eF8LMdvtg87s47Gf0u1b4z0/RP7N9Fa6o",
                "$argon2d$v=16$m=256,t=2,p=1$c29tZXNhbHQtZml4ZWQxNg$so2iXAxl++eF8LMdvtg87s47Gf0u1b4z0/RP7N9Fa6o",
            ),
            (
                "$argon2id$m=256,t=2,p=1$c29tZXNhbHQtZml4ZWQxNg$pj8drtTucYV0wqaUZWyfCsbOgmCQ7LiM+OQoK1n7yyw",
                "$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQtZml4ZWQxNg$pj8drtTucYV0wqaUZWyfCsbOgmCQ7LiM+OQoK1n7yyw",
            ),
        ] {
            for h in [hash, with_v] {
                assert!(verify_argon2(h.as_bytes(), b"pw-argon2-v10"), "{h}");
                assert!(!verify_argon2(h.as_bytes(), b"pw-argon2-v13"), "{h}");
            }
        }
    }

    fn check(v: &str, good: &[u8], bad: &[u8], scheme: Scheme) {
        let h = parse_stored(v).unwrap();
        assert_eq!(h.scheme, scheme);
        assert!(super::super::verify(h.scheme, &h.data, good), "{v}");
        assert!(!super::super::verify(h.scheme, &h.data, bad), "{v}");
    }

    #[test]
    fn bcrypt_variants() {
        // passlib.hash.bcrypt.using(rounds=4).hash("password")
        let h = bcrypt::hash_with_salt(b"password", 4, [7u8; 16]).unwrap();
        for version in [
            bcrypt::Version::TwoA,
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoY,
        ] {
            check(
                &h.format_for_version(version),
                b"password",
                b"passworD",
                Scheme::Bcrypt,
            );
        }
    }

    #[test]
    fn bcrypt_truncates_at_72() {
        let long = [b'x'; 80];
        let h = bcrypt::hash_with_salt(&long[..], 4, [1u8; 16])
            .unwrap()
            .to_string();
        let mut other = [b'x'; 90];
        other[85] = b'y';
        check(&h, &other, &long[..71], Scheme::Bcrypt);
    }

    #[test]
    fn sha_crypt_reference_vectors() {
        // Drepper's SHA-crypt test vectors, as produced by passlib 1.7.4.
        check(
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            b"Hello world!",
            b"Hello world",
            Scheme::Sha256Crypt,
        );
        check(
            "$6$rounds=10000$saltstringsaltstring$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
            b"Hello world!",
            b"Hello world?",
            Scheme::Sha512Crypt,
        );
    }

    #[test]
    fn malformed_slow_values() {
        for v in [
            "$2b$04$short",
            "$2b$99$abcdefghijklmnopqrstuvabcdefghijklmnopqrstuvwxyz01234",
            "$argon2id$v=19$m=oops",
            "pbkdf2_sha256$x$salt$AAAA",
            "$pbkdf2-sha256$1000$!!$AAAA",
            "$6$salt$tooshort",
        ] {
            assert!(
                matches!(parse_stored(v), Err(HashFormatError::Malformed { .. })),
                "{v}"
            );
        }
    }
}
