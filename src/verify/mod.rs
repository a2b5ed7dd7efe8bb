//! Password verification: stored hash formats, parsed once, checked many times.
//!
//! Owns the customers file's `password_hash` column: recognising a value's scheme,
//! validating it (a malformed or unsupported value is a [`HashFormatError`] that says
//! what the value looks like, never the value), storing it compactly in the customer
//! index, and checking a leaked password against it in constant time.
//!
//! One file per scheme family: [`fast`] (the SHA-1 family and NT hashes, checked
//! without a budget) and [`slow`] (bcrypt, argon2, PBKDF2, sha-crypt, checked under the
//! per-account budget of [`crate::confirm`]).

pub mod fast;
pub mod slow;

use thiserror::Error;

/// A password hashing scheme the engine can verify. The discriminant is stored in the
/// on-disk index, so values never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Scheme {
    /// 40 hex digits: SHA-1 of the UTF-8 password.
    Sha1 = 1,
    /// `{SHA}` + base64: RFC 2307 SHA-1.
    LdapSha1 = 2,
    /// `{SSHA}` + base64(sha1(password‖salt)‖salt).
    LdapSsha1 = 3,
    /// `sha1$SALT$HEX`: Django salted SHA-1, sha1(salt‖password).
    DjangoSha1 = 4,
    /// `$NT$` + 32 hex: MD4 of the UTF-16LE password.
    Nt = 5,
    /// `$2a$` `$2b$` `$2x$` `$2y$` bcrypt.
    Bcrypt = 16,
    /// `$argon2id$` PHC string.
    Argon2id = 17,
    /// `$argon2i$` PHC string.
    Argon2i = 18,
    /// `$argon2d$` PHC string.
    Argon2d = 19,
    /// Django `pbkdf2_sha256$ITER$SALT$B64`.
    DjangoPbkdf2Sha256 = 20,
    /// Django `pbkdf2_sha1$ITER$SALT$B64`.
    DjangoPbkdf2Sha1 = 21,
    /// passlib `$pbkdf2$ITER$SALT$HASH` (SHA-1).
    Pbkdf2Sha1 = 22,
    /// passlib `$pbkdf2-sha256$ITER$SALT$HASH`.
    Pbkdf2Sha256 = 23,
    /// passlib `$pbkdf2-sha512$ITER$SALT$HASH`.
    Pbkdf2Sha512 = 24,
    /// glibc `$5$` sha256crypt.
    Sha256Crypt = 25,
    /// glibc `$6$` sha512crypt.
    Sha512Crypt = 26,
}

impl Scheme {
    /// Every scheme, in discriminant order.
    pub const ALL: [Scheme; 16] = [
        Scheme::Sha1,
        Scheme::LdapSha1,
        Scheme::LdapSsha1,
        Scheme::DjangoSha1,
        Scheme::Nt,
        Scheme::Bcrypt,
        Scheme::Argon2id,
        Scheme::Argon2i,
        Scheme::Argon2d,
        Scheme::DjangoPbkdf2Sha256,
        Scheme::DjangoPbkdf2Sha1,
        Scheme::Pbkdf2Sha1,
        Scheme::Pbkdf2Sha256,
        Scheme::Pbkdf2Sha512,
        Scheme::Sha256Crypt,
        Scheme::Sha512Crypt,
    ];

    /// The name used in reports (`scheme` field).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Sha1 => "sha1",
            Scheme::LdapSha1 => "ldap_sha1",
            Scheme::LdapSsha1 => "ldap_ssha1",
            Scheme::DjangoSha1 => "django_sha1",
            Scheme::Nt => "nt",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Argon2id => "argon2id",
            Scheme::Argon2i => "argon2i",
            Scheme::Argon2d => "argon2d",
            Scheme::DjangoPbkdf2Sha256 => "django_pbkdf2_sha256",
            Scheme::DjangoPbkdf2Sha1 => "django_pbkdf2_sha1",
            Scheme::Pbkdf2Sha1 => "pbkdf2_sha1",
            Scheme::Pbkdf2Sha256 => "pbkdf2_sha256",
            Scheme::Pbkdf2Sha512 => "pbkdf2_sha512",
            Scheme::Sha256Crypt => "sha256crypt",
            Scheme::Sha512Crypt => "sha512crypt",
        }
    }

    /// Slow (deliberately expensive) schemes are verified under the per-account
    /// budget; fast ones are always verified.
    pub fn is_slow(self) -> bool {
        (self as u8) >= 16
    }

    /// The scheme for a stored discriminant, if it is one.
    pub fn from_u8(v: u8) -> Option<Scheme> {
        Scheme::ALL.iter().copied().find(|s| *s as u8 == v)
    }
}

/// Why a `password_hash` value was refused. Messages describe the value's shape and
/// never contain the value itself.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HashFormatError {
    /// The cell is empty.
    #[error("password_hash is empty")]
    Empty,
    /// A recognisable format this build does not verify.
    #[error("password_hash looks like {0}, not supported")]
    Unsupported(&'static str),
    /// Not any known format.
    #[error("password_hash is not a recognised format ({0})")]
    Unrecognised(&'static str),
    /// A supported scheme, but the value is broken.
    #[error("malformed {scheme} password_hash: {what}")]
    Malformed {
        /// Scheme name.
        scheme: &'static str,
        /// What is wrong, e.g. "bad hex digits".
        what: &'static str,
    },
}

/// A stored hash in the index's compact form: the scheme and its bytes (a raw digest
/// and salt for the fast schemes, the validated hash string for the slow ones).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash {
    /// Which scheme.
    pub scheme: Scheme,
    /// Scheme-specific bytes; see [`fast`] and [`slow`].
    pub data: Vec<u8>,
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StoredHash({}, {} bytes)",
            self.scheme.name(),
            self.data.len()
        )
    }
}

/// Recognises and validates a `password_hash` value.
pub fn parse_stored(value: &str) -> Result<StoredHash, HashFormatError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(HashFormatError::Empty);
    }
    if let Some(h) = fast::parse(v)? {
        return Ok(h);
    }
    if let Some(h) = slow::parse(v)? {
        return Ok(h);
    }
    Err(describe_unknown(v))
}

/// Names what an unsupported value looks like, without echoing it.
fn describe_unknown(v: &str) -> HashFormatError {
    let hex = v.bytes().all(|b| b.is_ascii_hexdigit());
    let lower = v.to_ascii_lowercase();
    let starts = |p: &str| lower.starts_with(p);
    if hex {
        return match v.len() {
            32 => HashFormatError::Unsupported(
                "32 hex digits (unsalted MD5, or an NT hash missing its $NT$ prefix)",
            ),
            64 => HashFormatError::Unsupported("64 hex digits (unsalted SHA-256)"),
            128 => HashFormatError::Unsupported("128 hex digits (unsalted SHA-512)"),
            _ => HashFormatError::Unrecognised("hex digits of an unexpected length"),
        };
    }
    let known: &[(&str, &'static str)] = &[
        ("$1$", "md5crypt ($1$)"),
        ("$apr1$", "Apache md5crypt ($apr1$)"),
        ("$y$", "yescrypt ($y$)"),
        ("$7$", "scrypt ($7$)"),
        ("$scrypt$", "scrypt"),
        ("$p$", "phpass ($P$)"),
        ("$h$", "phpass ($H$)"),
        ("{md5}", "LDAP MD5 ({MD5})"),
        ("{smd5}", "LDAP salted MD5 ({SMD5})"),
        ("{crypt}", "LDAP {CRYPT}"),
        ("{ssha256}", "LDAP salted SHA-256 ({SSHA256})"),
        ("{ssha512}", "LDAP salted SHA-512 ({SSHA512})"),
        ("md5$", "Django salted MD5"),
        ("bcrypt_sha256$", "Django bcrypt_sha256"),
        ("scrypt$", "Django scrypt"),
    ];
    for (prefix, what) in known {
        if starts(prefix) {
            return HashFormatError::Unsupported(what);
        }
    }
    if v.starts_with('$') {
        HashFormatError::Unrecognised("an unknown $...$ crypt identifier")
    } else if v.starts_with('{') {
        HashFormatError::Unrecognised("an unknown {...} LDAP scheme")
    } else {
        HashFormatError::Unrecognised("not hex, crypt or LDAP syntax")
    }
}

/// Checks `password` against a stored hash. `false` on mismatch; a stored value that
/// was validated at load time cannot fail to parse here, and if it somehow does the
/// answer is `false`, never a panic.
pub fn verify(scheme: Scheme, data: &[u8], password: &[u8]) -> bool {
    if scheme.is_slow() {
        slow::verify(scheme, data, password)
    } else {
        fast::verify(scheme, data, password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_discriminants_roundtrip() {
        for s in Scheme::ALL {
            assert_eq!(Scheme::from_u8(s as u8), Some(s));
        }
        assert_eq!(Scheme::from_u8(0), None);
    }

    #[test]
    fn unknown_values_are_described_not_echoed() {
        let secretish = "5f4dcc3b5aa765d61d8327deb882cf99";
        let err = parse_stored(secretish).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("MD5"), "{msg}");
        assert!(!msg.contains(secretish));
        let err = parse_stored("$1$saltsalt$abcdefghijklmnopqrstuv").unwrap_err();
        assert!(err.to_string().contains("md5crypt"), "{err}");
        assert_eq!(parse_stored("  ").unwrap_err(), HashFormatError::Empty);
        assert!(matches!(
            parse_stored("hello").unwrap_err(),
            HashFormatError::Unrecognised(_)
        ));
    }
}
