//! Dump line parsing: bytes in, a credential or a counted reason out.
//!
//! Owns the rules that turn one line of a dump into a `(login, password)` pair,
//! one file per shape, and the dispatch between them ([`parse_line`]):
//!
//! | file | what |
//! |---|---|
//! | [`lines`] | finding lines, their first separator and NUL bytes (SIMD) |
//! | [`combo`] | `login SEP password` and stealer-log `URL:login:password` lines |
//! | [`block`] | stealer-log blocks (`URL:` / `Username:` / `Password:` lines) |
//! | [`url`] | `--url-filter`: the host a credential's URL names |
//! | [`json`] | JSON object lines |
//! | [`csv`] | CSV records (columns from the header) and their line numbers |
//! | [`keys`] | the key names of a login or a password (JSON and CSV) |
//! | [`skip`] | why a line gave no pair |
//!
//! Every line that is not a pair gets a [`SkipReason`], so no line is ever lost
//! silently. Nothing here allocates on the common path, and nothing here may panic on
//! any input (property tests feed it arbitrary bytes). A new line shape is one new
//! file here and one arm in [`parse_line_known`].
//!
//! It does not cut files into chunks, normalise logins or look anything up: that is
//! [`crate::scan`] and [`crate::login`].

pub mod block;
pub mod combo;
pub mod csv;
pub mod json;
pub mod keys;
pub mod lines;
pub mod skip;
mod swar;
pub mod url;

use std::borrow::Cow;
use std::fmt;

pub use combo::parse_common;
pub use csv::{CsvColumns, CsvFields, CsvRecord, CsvRecords, LineTracker};
pub use keys::{LOGIN_KEYS, PASSWORD_KEYS};
#[cfg(target_arch = "x86_64")]
pub use lines::Avx2;
pub use lines::{Classify, Line, Lines, Sse2};
pub use skip::SkipReason;

/// Lines longer than this (in bytes, without the line end) are skipped as
/// [`SkipReason::TooLong`]: no real credential line is that long, and it bounds the
/// work done per line.
pub const MAX_LINE: usize = 64 * 1024;

/// A login and password taken from a dump. Borrowed from the dump bytes except where
/// JSON escapes had to be decoded.
///
/// `Debug` never shows the password.
pub struct Credential<'a> {
    /// The login as it appears in the dump (not yet normalised).
    pub login: Cow<'a, [u8]>,
    /// The password, byte for byte.
    pub password: Cow<'a, [u8]>,
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("login", &String::from_utf8_lossy(&self.login))
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The outcome of parsing one line.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A credential pair.
    Pair(Credential<'a>),
    /// Not a pair, and why.
    Skip(SkipReason),
}

/// Parses one line of a text dump. `line` excludes the `\n`; a trailing `\r` is
/// stripped here.
pub fn parse_line(line: &[u8]) -> Parsed<'_> {
    parse_line_known(line, memchr::memchr(0, line).is_some())
}

/// [`parse_line`] for a caller that already knows whether `line` holds a NUL byte
/// ([`Lines`] says, for the scanner): the same rules without searching for one
/// again (that search was 14% of the full rules' time in the scan's profile).
pub fn parse_line_known(line: &[u8], nul: bool) -> Parsed<'_> {
    let line = match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    };
    if line.len() > MAX_LINE {
        return Parsed::Skip(SkipReason::TooLong);
    }
    if nul {
        return Parsed::Skip(SkipReason::Binary);
    }
    let Some(start) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Parsed::Skip(SkipReason::Blank);
    };
    match line[start] {
        b'#' => Parsed::Skip(SkipReason::Comment),
        b'{' => json::parse_json(&line[start..]),
        _ => combo::parse_pair_line(line, start),
    }
}

/// Builds a pair from raw login and password, checking neither is empty.
pub(super) fn pair<'a>(login: &'a [u8], password: &'a [u8]) -> Parsed<'a> {
    pair_cow(Cow::Borrowed(login), Cow::Borrowed(password))
}

pub(super) fn pair_cow<'a>(login: Cow<'a, [u8]>, password: Cow<'a, [u8]>) -> Parsed<'a> {
    if login.trim_ascii().is_empty() {
        Parsed::Skip(SkipReason::EmptyLogin)
    } else if password.is_empty() {
        Parsed::Skip(SkipReason::EmptyPassword)
    } else {
        Parsed::Pair(Credential { login, password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::swar::first_sep;

    fn pair_of(line: &[u8]) -> (Vec<u8>, Vec<u8>) {
        match parse_line(line) {
            Parsed::Pair(c) => (c.login.into_owned(), c.password.into_owned()),
            Parsed::Skip(r) => panic!("skipped {:?}", r),
        }
    }

    fn skip_of(line: &[u8]) -> SkipReason {
        match parse_line(line) {
            Parsed::Pair(_) => panic!("parsed"),
            Parsed::Skip(r) => r,
        }
    }

    #[test]
    fn combolist_separators() {
        assert_eq!(pair_of(b"a@b.c:pw"), (b"a@b.c".to_vec(), b"pw".to_vec()));
        assert_eq!(pair_of(b"a@b.c;pw"), (b"a@b.c".to_vec(), b"pw".to_vec()));
        assert_eq!(pair_of(b"a@b.c|pw"), (b"a@b.c".to_vec(), b"pw".to_vec()));
        assert_eq!(pair_of(b"a@b.c\tpw"), (b"a@b.c".to_vec(), b"pw".to_vec()));
        assert_eq!(pair_of(b"a@b.c:pw\r"), (b"a@b.c".to_vec(), b"pw".to_vec()));
    }

    #[test]
    fn password_keeps_separators_and_spaces() {
        assert_eq!(
            pair_of(b"a@b.c:pa:ss"),
            (b"a@b.c".to_vec(), b"pa:ss".to_vec())
        );
        assert_eq!(
            pair_of(b"a@b.c;p|a s "),
            (b"a@b.c".to_vec(), b"p|a s ".to_vec())
        );
    }

    #[test]
    fn stealer_log_urls() {
        assert_eq!(
            pair_of(b"https://x.example:8443/login:bob@y.z:pw"),
            (b"bob@y.z".to_vec(), b"pw".to_vec())
        );
        assert_eq!(
            pair_of(b"android://abc==@com.app/:bob:pw"),
            (b"bob".to_vec(), b"pw".to_vec())
        );
        assert_eq!(
            pair_of(b"https://site.com/path/to:alice@example.com:secret"),
            (b"alice@example.com".to_vec(), b"secret".to_vec())
        );
        assert_eq!(
            pair_of(b"http://host.tld:user@x.com:pw:x"),
            (b"user@x.com".to_vec(), b"pw:x".to_vec())
        );
        assert_eq!(
            pair_of(b"https://x.example:8443:bob:pw"),
            (b"bob".to_vec(), b"pw".to_vec())
        );
        // Digits after the host with nothing left are the login, not a port.
        assert_eq!(
            pair_of(b"https://x.example:12345:pw"),
            (b"12345".to_vec(), b"pw".to_vec())
        );
        assert_eq!(
            skip_of(b"https://x.example/nothing"),
            SkipReason::NoSeparator
        );
    }

    #[test]
    fn skips() {
        assert_eq!(skip_of(b""), SkipReason::Blank);
        assert_eq!(skip_of(b" \t \r"), SkipReason::Blank);
        assert_eq!(skip_of(b"# a:b"), SkipReason::Comment);
        assert_eq!(skip_of(b"a\0b:c"), SkipReason::Binary);
        assert_eq!(skip_of(b"no separator here"), SkipReason::NoSeparator);
        assert_eq!(skip_of(b" :pw"), SkipReason::EmptyLogin);
        assert_eq!(skip_of(b"login:"), SkipReason::EmptyPassword);
        assert_eq!(skip_of(&vec![b'a'; MAX_LINE + 1]), SkipReason::TooLong);
    }

    #[test]
    fn debug_redacts_password() {
        let Parsed::Pair(c) = parse_line(b"user:hunter2") else {
            panic!()
        };
        let dbg = format!("{:?}", c);
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Bytes that look like dump lines often enough to reach every branch.
        fn dumpish() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b":".to_vec()),
                Just(b";".to_vec()),
                Just(b"|".to_vec()),
                Just(b"\t".to_vec()),
                Just(b"://".to_vec()),
                Just(b"https".to_vec()),
                Just(b"{".to_vec()),
                Just(b"}".to_vec()),
                Just(b"\"email\"".to_vec()),
                Just(b"\"password\"".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"\\u00e9".to_vec()),
                Just(b"8443".to_vec()),
                Just(b"/".to_vec()),
                Just(b"#".to_vec()),
                Just(b" ".to_vec()),
                Just(b"\r".to_vec()),
                Just(b"\0".to_vec()),
                Just("É".as_bytes().to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ];
            proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn never_panics_and_pairs_are_nonempty(line in dumpish()) {
                match parse_line(&line) {
                    Parsed::Pair(c) => {
                        prop_assert!(!c.login.trim_ascii().is_empty());
                        prop_assert!(!c.password.is_empty());
                        prop_assert!(line.len() <= MAX_LINE);
                    }
                    Parsed::Skip(_) => {}
                }
            }

            /// Whenever the fast path answers, the full rules give the same pair; the
            /// line is embedded in a larger buffer as the scanner does.
            #[test]
            fn fast_path_agrees_with_full_rules(
                line in dumpish(),
                after in proptest::collection::vec(any::<u8>(), 0..40),
            ) {
                // The caller guarantees no NUL, and a line holds no newline.
                let line: Vec<u8> = line
                    .into_iter()
                    .map(|b| if b == 0 || b == b'\n' { b'x' } else { b })
                    .collect();
                let mut hay = line.clone();
                hay.push(b'\n');
                hay.extend_from_slice(&after);
                let first = Lines::new(&hay).next().unwrap();
                prop_assert_eq!(first.bytes, &line[..]);
                prop_assert_eq!(first.sep, first_sep(&line));
                prop_assert!(!first.nul);
                if let Some((login, password)) = parse_common(first.bytes, first.sep) {
                    match parse_line(&line) {
                        Parsed::Pair(c) => {
                            prop_assert_eq!(&*c.login, login);
                            prop_assert_eq!(&*c.password, password);
                        }
                        Parsed::Skip(r) => prop_assert!(false, "fast path paired, full rules skipped as {:?}", r),
                    }
                }
            }

            /// The same for URL-shaped lines, which random pieces rarely build.
            #[test]
            fn url_fast_path_agrees_with_full_rules(
                line in (
                    prop_oneof![Just("https"), Just("android"), Just("h-t.t+p"), Just("1x"), Just("")],
                    prop_oneof![Just("://"), Just(":/"), Just(":")],
                    "[a-z0-9.:/@ -]{0,12}",
                    prop_oneof![Just(String::new()), "[:][0-9]{0,7}"],
                    "[a-z/:]{0,6}",
                    "[ a-zA-Z0-9@:;|]{0,10}",
                    "[ -~]{0,8}",
                ).prop_map(|(a, b, c, d, e, f, g)| format!("{a}{b}{c}{d}{e}{f}{g}")),
            ) {
                let line = line.as_bytes();
                let sep = first_sep(line);
                if let Some((login, password)) = parse_common(line, sep) {
                    match parse_line(line) {
                        Parsed::Pair(c) => {
                            prop_assert_eq!(&*c.login, login);
                            prop_assert_eq!(&*c.password, password);
                        }
                        Parsed::Skip(r) => prop_assert!(false, "fast path paired, full rules skipped as {:?}", r),
                    }
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse_line(&line);
            }

            #[test]
            fn plain_pairs_roundtrip(
                login in "[a-zA-Z0-9._%+-]{1,20}@[a-z0-9.-]{1,12}",
                sep in prop_oneof![Just(':'), Just(';'), Just('|'), Just('\t')],
                password in "[ -~]{1,30}",
            ) {
                let line = format!("{login}{sep}{password}");
                match parse_line(line.as_bytes()) {
                    Parsed::Pair(c) => {
                        prop_assert_eq!(&*c.login, login.as_bytes());
                        prop_assert_eq!(&*c.password, password.as_bytes());
                    }
                    Parsed::Skip(r) => prop_assert!(false, "skipped as {:?}", r),
                }
            }
        }
    }
}
