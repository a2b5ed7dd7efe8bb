//! Password verification: stored hash formats, parsed once, checked many times.
//!
//! Owns the customers file's `password_hash` column: recognising a value's scheme,
//! validating it (a malformed or unsupported value is a [`HashFormatError`] that says
//! what the value looks like, never the value), storing it compactly in the customer
//! index, and checking a leaked password against it in constant time.
//!
//! Every scheme is one row of [`SCHEMES`]: its name, whether it is slow, the syntax
//! that recognises a value, how a value is parsed into the index's stored bytes, and
//! how a password is checked against them. The code of each row lives in one file
//! per scheme family: [`fast`] (the SHA-1 family and NT hashes, checked without a
//! budget) and [`slow`] (bcrypt, argon2, PBKDF2, sha-crypt, checked under the
//! per-account budget of [`crate::confirm`]). A new scheme is a variant of
//! [`Scheme`], its functions in its family's file, and one row.

pub mod fast;
pub mod limits;
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
    /// `{SSHA256}` + base64(sha256(password‖salt)‖salt): OpenLDAP salted SHA-256.
    LdapSsha256 = 6,
    /// `{SSHA512}` + base64(sha512(password‖salt)‖salt).
    LdapSsha512 = 7,
    /// `{SMD5}` + base64(md5(password‖salt)‖salt).
    LdapSmd5 = 8,
    /// `{MD5}` + base64(md5(password)).
    LdapMd5 = 9,
    /// `*` + 40 hex: MySQL 4.1+ `PASSWORD()`, sha1(sha1(password)).
    Mysql41 = 10,
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

/// How a `password_hash` value of a scheme is recognised.
#[derive(Clone, Copy, Debug)]
pub enum Syntax {
    /// Starts with one of these, byte for byte.
    Prefix(&'static [&'static str]),
    /// Starts with one of these, ASCII case-insensitively (LDAP schemes, `$NT$`).
    PrefixNoCase(&'static [&'static str]),
    /// Exactly this many hex digits, any case.
    Hex(usize),
}

impl Syntax {
    /// Whether `v` has this syntax.
    pub fn matches(&self, v: &str) -> bool {
        match *self {
            Syntax::Prefix(ps) => ps.iter().any(|p| v.starts_with(p)),
            Syntax::PrefixNoCase(ps) => ps.iter().any(|p| {
                v.get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
            }),
            Syntax::Hex(n) => v.len() == n && fast::all_hex(v.as_bytes()),
        }
    }
}

/// What a value looks like, for `--help` and the man page: `40 hex digits`,
/// `$2a$, $2b$, $2x$ or $2y$ ...`.
impl std::fmt::Display for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (prefixes, case) = match *self {
            Syntax::Hex(n) => return write!(f, "{n} hex digits"),
            Syntax::Prefix(ps) => (ps, ""),
            Syntax::PrefixNoCase(ps) => (ps, " (prefix in any case)"),
        };
        for (i, p) in prefixes.iter().enumerate() {
            let sep = match i {
                0 => "",
                _ if i + 1 == prefixes.len() => " or ",
                _ => ", ",
            };
            write!(f, "{sep}{p}")?;
        }
        write!(f, "...{case}")
    }
}

/// One row of the scheme table.
pub struct SchemeDef {
    /// The scheme.
    pub scheme: Scheme,
    /// The name used in reports (`scheme` field).
    pub name: &'static str,
    /// Slow (deliberately expensive) schemes are verified under the per-account
    /// budget; fast ones are always verified.
    pub slow: bool,
    /// What a value of this scheme looks like.
    pub syntax: Syntax,
    /// A value with this syntax, validated into the bytes the index stores
    /// (appended to the buffer, which the caller clears); or what is wrong with it
    /// (never the value).
    pub parse: fn(&str, &mut Vec<u8>) -> Result<(), &'static str>,
    /// Whether a password matches the stored bytes (constant time in the digest).
    pub verify: fn(&[u8], &[u8]) -> bool,
}

/// Every scheme, in discriminant order; a value is tried against the rows in this
/// order and the first whose syntax matches decides.
const TABLE: [SchemeDef; 21] = [
    SchemeDef {
        scheme: Scheme::Sha1,
        name: "sha1",
        slow: false,
        syntax: Syntax::Hex(40),
        parse: fast::parse_sha1,
        verify: fast::verify_sha1,
    },
    SchemeDef {
        scheme: Scheme::LdapSha1,
        name: "ldap_sha1",
        slow: false,
        syntax: Syntax::PrefixNoCase(&["{SHA}"]),
        parse: fast::parse_ldap_sha1,
        verify: fast::verify_sha1,
    },
    SchemeDef {
        scheme: Scheme::LdapSsha1,
        name: "ldap_ssha1",
        slow: false,
        syntax: Syntax::PrefixNoCase(&["{SSHA}"]),
        parse: fast::parse_ldap_ssha1,
        verify: fast::verify_ldap_ssha1,
    },
    SchemeDef {
        scheme: Scheme::DjangoSha1,
        name: "django_sha1",
        slow: false,
        syntax: Syntax::Prefix(&["sha1$"]),
        parse: fast::parse_django_sha1,
        verify: fast::verify_django_sha1,
    },
    SchemeDef {
        scheme: Scheme::Nt,
        name: "nt",
        slow: false,
        syntax: Syntax::PrefixNoCase(&["$NT$"]),
        parse: fast::parse_nt,
        verify: fast::verify_nt,
    },
    SchemeDef {
        scheme: Scheme::LdapSsha256,
        name: "ldap_ssha256",
        slow: false,
        syntax: Syntax::PrefixNoCase(&["{SSHA256}"]),
        parse: fast::parse_ldap_ssha256,
        verify: fast::verify_ldap_ssha256,
    },
    SchemeDef {
        scheme: Scheme::LdapSsha512,
        name: "ldap_ssha512",
        slow: false,
        syntax: Syntax::PrefixNoCase(&["{SSHA512}"]),
        parse: fast::parse_ldap_ssha512,
        verify: fast::verify_ldap_ssha512,
    },
    SchemeDef {
        scheme: Scheme::LdapSmd5,
        name: "ldap_smd5",
        slow: false,
        syntax: Syntax::PrefixNoCase(&["{SMD5}"]),
        parse: fast::parse_ldap_smd5,
        verify: fast::verify_ldap_smd5,
    },
    SchemeDef {
        scheme: Scheme::LdapMd5,
        name: "ldap_md5",
        slow: false,
        syntax: Syntax::PrefixNoCase(&["{MD5}"]),
        parse: fast::parse_ldap_md5,
        verify: fast::verify_ldap_md5,
    },
    SchemeDef {
        scheme: Scheme::Mysql41,
        name: "mysql41",
        slow: false,
        syntax: Syntax::Prefix(&["*"]),
        parse: fast::parse_mysql41,
        verify: fast::verify_mysql41,
    },
    SchemeDef {
        scheme: Scheme::Bcrypt,
        name: "bcrypt",
        slow: true,
        syntax: Syntax::Prefix(&["$2a$", "$2b$", "$2x$", "$2y$"]),
        parse: slow::parse_bcrypt_value,
        verify: slow::verify_bcrypt,
    },
    SchemeDef {
        scheme: Scheme::Argon2id,
        name: "argon2id",
        slow: true,
        syntax: Syntax::Prefix(&["$argon2id$"]),
        parse: slow::parse_argon2,
        verify: slow::verify_argon2,
    },
    SchemeDef {
        scheme: Scheme::Argon2i,
        name: "argon2i",
        slow: true,
        syntax: Syntax::Prefix(&["$argon2i$"]),
        parse: slow::parse_argon2,
        verify: slow::verify_argon2,
    },
    SchemeDef {
        scheme: Scheme::Argon2d,
        name: "argon2d",
        slow: true,
        syntax: Syntax::Prefix(&["$argon2d$"]),
        parse: slow::parse_argon2,
        verify: slow::verify_argon2,
    },
    SchemeDef {
        scheme: Scheme::DjangoPbkdf2Sha256,
        name: "django_pbkdf2_sha256",
        slow: true,
        syntax: Syntax::Prefix(&["pbkdf2_sha256$"]),
        parse: slow::parse_django_pbkdf2_value,
        verify: slow::verify_django_pbkdf2_sha256,
    },
    SchemeDef {
        scheme: Scheme::DjangoPbkdf2Sha1,
        name: "django_pbkdf2_sha1",
        slow: true,
        syntax: Syntax::Prefix(&["pbkdf2_sha1$"]),
        parse: slow::parse_django_pbkdf2_value,
        verify: slow::verify_django_pbkdf2_sha1,
    },
    SchemeDef {
        scheme: Scheme::Pbkdf2Sha1,
        name: "pbkdf2_sha1",
        slow: true,
        syntax: Syntax::Prefix(&["$pbkdf2$", "$pbkdf2-sha1$"]),
        parse: slow::parse_passlib_pbkdf2_value,
        verify: slow::verify_pbkdf2_sha1,
    },
    SchemeDef {
        scheme: Scheme::Pbkdf2Sha256,
        name: "pbkdf2_sha256",
        slow: true,
        syntax: Syntax::Prefix(&["$pbkdf2-sha256$"]),
        parse: slow::parse_passlib_pbkdf2_value,
        verify: slow::verify_pbkdf2_sha256,
    },
    SchemeDef {
        scheme: Scheme::Pbkdf2Sha512,
        name: "pbkdf2_sha512",
        slow: true,
        syntax: Syntax::Prefix(&["$pbkdf2-sha512$"]),
        parse: slow::parse_passlib_pbkdf2_value,
        verify: slow::verify_pbkdf2_sha512,
    },
    SchemeDef {
        scheme: Scheme::Sha256Crypt,
        name: "sha256crypt",
        slow: true,
        syntax: Syntax::Prefix(&["$5$"]),
        parse: slow::parse_sha_crypt_value,
        verify: slow::verify_sha256_crypt,
    },
    SchemeDef {
        scheme: Scheme::Sha512Crypt,
        name: "sha512crypt",
        slow: true,
        syntax: Syntax::Prefix(&["$6$"]),
        parse: slow::parse_sha_crypt_value,
        verify: slow::verify_sha512_crypt,
    },
];

/// The scheme table (see [`SchemeDef`]).
pub static SCHEMES: &[SchemeDef] = &TABLE;

/// Row of [`TABLE`] for each discriminant; `u8::MAX` for none.
static ROW: [u8; 256] = {
    let mut t = [u8::MAX; 256];
    let mut i = 0;
    while i < TABLE.len() {
        t[TABLE[i].scheme as usize] = i as u8;
        i += 1;
    }
    t
};

impl Scheme {
    /// Every scheme, in discriminant order.
    pub fn all() -> impl Iterator<Item = Scheme> {
        SCHEMES.iter().map(|d| d.scheme)
    }

    /// The scheme's row of the table.
    #[inline]
    pub fn def(self) -> &'static SchemeDef {
        &TABLE[ROW[self as usize] as usize]
    }

    /// The name used in reports (`scheme` field).
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Slow (deliberately expensive) schemes are verified under the per-account
    /// budget; fast ones are always verified.
    pub fn is_slow(self) -> bool {
        self.def().slow
    }

    /// The scheme for a stored discriminant, if it is one.
    pub fn from_u8(v: u8) -> Option<Scheme> {
        TABLE.get(ROW[v as usize] as usize).map(|d| d.scheme)
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

/// Recognises and validates a `password_hash` value: the first row of
/// [`SCHEMES`] whose syntax matches parses it.
pub fn parse_stored(value: &str) -> Result<StoredHash, HashFormatError> {
    let mut data = Vec::new();
    let scheme = parse_stored_into(value, &mut data)?;
    Ok(StoredHash { scheme, data })
}

/// `s` without surrounding whitespace (Unicode's, as `str::trim`), without looking
/// inside when it starts and ends with a visible ASCII character (nearly always).
#[inline]
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if a > b' ' && a < 0x80 && z > b' ' && z < 0x80 => s,
        _ => s.trim(),
    }
}

/// [`parse_stored`] into a reused buffer (cleared first): the customers loaders
/// validate hundreds of millions of rows without an allocation each.
pub fn parse_stored_into(value: &str, data: &mut Vec<u8>) -> Result<Scheme, HashFormatError> {
    stored(value, data, true)
}

/// Whether `value` is a stored hash [`parse_stored_into`] accepts, and of which
/// scheme, without decoding a hex digest (its digits are checked): what a customer
/// row that is validated but not kept needs. `scratch` holds what other schemes
/// parse into.
pub fn check_stored(value: &str, scratch: &mut Vec<u8>) -> Result<Scheme, HashFormatError> {
    stored(value, scratch, false)
}

/// [`parse_stored_into`], decoding hex digests or only checking them.
#[inline]
fn stored(value: &str, data: &mut Vec<u8>, decode: bool) -> Result<Scheme, HashFormatError> {
    data.clear();
    let v = trim(value);
    if v.is_empty() {
        return Err(HashFormatError::Empty);
    }
    for def in SCHEMES {
        // A hex syntax is checked by its parse, which decodes the digits anyway: a
        // value of the right length that is not all hex digits is not this scheme's
        // (the next rows, then the description of unknown values, decide).
        let hex = matches!(def.syntax, Syntax::Hex(_));
        let matches = match def.syntax {
            Syntax::Hex(n) => v.len() == n,
            _ => def.syntax.matches(v),
        };
        if !matches {
            continue;
        }
        if hex && !decode {
            // The parse of a hex scheme accepts exactly its number of hex digits.
            if fast::all_hex(v.as_bytes()) {
                return Ok(def.scheme);
            }
            continue;
        }
        match (def.parse)(v, data) {
            Ok(()) => return Ok(def.scheme),
            Err(_) if hex => data.clear(),
            Err(what) => {
                return Err(HashFormatError::Malformed {
                    scheme: def.name,
                    what,
                })
            }
        }
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
        ("{crypt}", "LDAP {CRYPT}"),
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
#[inline]
pub fn verify(scheme: Scheme, data: &[u8], password: &[u8]) -> bool {
    (scheme.def().verify)(data, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_is_described_for_help() {
        assert_eq!(Syntax::Hex(40).to_string(), "40 hex digits");
        assert_eq!(
            Syntax::Prefix(&["$2a$", "$2b$", "$2y$"]).to_string(),
            "$2a$, $2b$ or $2y$..."
        );
        assert_eq!(
            Syntax::PrefixNoCase(&["{SHA}"]).to_string(),
            "{SHA}... (prefix in any case)"
        );
    }

    #[test]
    fn scheme_discriminants_roundtrip() {
        for (row, s) in Scheme::all().enumerate() {
            assert_eq!(s.def().scheme, s);
            assert_eq!(SCHEMES[row].scheme, s);
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

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Checking a value (the rows a scan does not keep) accepts and rejects
            /// exactly what parsing it does, with the same scheme or error.
            #[test]
            fn check_stored_agrees_with_parse(v in prop_oneof![
                "[0-9a-fA-F]{40}",
                "[0-9a-fA-Fg ]{38,42}",
                " ?[0-9a-f]{32}[0-9a-fxX:]{0,40} ?",
                "\\$2[aby]\\$[0-9]{2}\\$[./A-Za-z0-9]{50,56}",
                "\\{S?SHA\\}[A-Za-z0-9+/=]{20,40}",
                "\\PC{0,60}",
            ]) {
                let parsed = parse_stored_into(&v, &mut Vec::new());
                prop_assert_eq!(check_stored(&v, &mut Vec::new()), parsed);
            }
        }
    }
}
