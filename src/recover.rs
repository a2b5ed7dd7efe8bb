//! The same password, recovered from the damage a dump did to it (issue 17).
//!
//! Owns what a leaked password may have been before the dump mangled it, and the
//! names ([`Via`]) reports give those repairs. A dump's bytes are what its
//! scraper or cracker wrote, not what the user typed:
//!
//! | repair | trigger | tried |
//! |---|---|---|
//! | `hex` | hashcat's `$HEX[70c3a4]` notation | the bytes it spells |
//! | `cp1252` | not valid UTF-8 (an old forum's Latin-1 or Windows-1252 dump) | decoded as Windows-1252, as UTF-8 |
//! | `mojibake` | valid UTF-8 whose characters all exist in Windows-1252, spelling UTF-8 bytes (`pÃ¤ss`) | those bytes (`päss`) |
//! | `trailing_space` | ends in spaces or tabs | without them |
//!
//! Each repair is tried only when its trigger is present, so a clean password
//! costs one scan of its bytes here and nothing more; the scan itself is not
//! touched (repairs are tried at verification, on the few candidates whose login
//! is a customer's). `hex` comes first and the others apply to what it spells;
//! `trailing_space` applies to the password as found and to each repair.
//! A repaired password is only ever verified against the stored hash: it is never
//! printed, logged or stored.

use encoding_rs::WINDOWS_1252;

/// How a match was reached beyond the exact bytes: a set of named repairs
/// (`via` in the reset list). Empty for an exact match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Via(u16);

impl Via {
    /// `$HEX[...]` decoded.
    pub const HEX: Via = Via(1 << 0);
    /// Decoded as Windows-1252 (or Latin-1), re-encoded as UTF-8.
    pub const CP1252: Via = Via(1 << 1);
    /// UTF-8 mojibake (UTF-8 read as Windows-1252 and re-encoded) undone.
    pub const MOJIBAKE: Via = Via(1 << 2);
    /// Trailing spaces and tabs removed.
    pub const TRAILING_SPACE: Via = Via(1 << 3);

    /// Every repair with its name, in the order reports list them.
    pub const ALL: [(Via, &'static str); 4] = [
        (Via::HEX, "hex"),
        (Via::CP1252, "cp1252"),
        (Via::MOJIBAKE, "mojibake"),
        (Via::TRAILING_SPACE, "trailing_space"),
    ];

    /// No repair: the exact bytes.
    pub const NONE: Via = Via(0);

    /// Whether no repair was needed.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Both sets.
    pub fn with(self, other: Via) -> Via {
        Via(self.0 | other.0)
    }

    /// Whether every repair of `other` is in this set.
    pub fn contains(self, other: Via) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of its repairs, in [`Via::ALL`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Via::ALL
            .into_iter()
            .filter(move |&(v, _)| self.contains(v))
            .map(|(_, name)| name)
    }

    /// The set named by `names` (unknown names are ignored: a state file written
    /// by a later version).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Via {
        names.into_iter().fold(Via::NONE, |via, name| {
            Via::ALL
                .iter()
                .find(|(_, n)| *n == name)
                .map_or(via, |&(v, _)| via.with(v))
        })
    }
}

impl serde::Serialize for Via {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// Appends to `out` each repaired form of `password` (never `password` itself,
/// never twice the same bytes) with the repairs that made it. Nothing is appended
/// for a password none of the triggers fits.
pub fn repairs(password: &[u8], out: &mut Vec<(Via, Vec<u8>)>) {
    // The common case, without a single allocation: plain ASCII, no trigger.
    let blank_end = matches!(password.last(), Some(b' ' | b'\t'));
    if password.is_ascii() && !blank_end && !password.starts_with(b"$HEX[") {
        return;
    }
    let start = out.len();
    let push = |out: &mut Vec<(Via, Vec<u8>)>, via: Via, bytes: Vec<u8>| {
        if !bytes.is_empty() && bytes != password && !out[start..].iter().any(|(_, b)| *b == bytes)
        {
            out.push((via, bytes));
        }
    };
    // The password as found, and what `$HEX[...]` spells.
    let mut bases: Vec<(Via, &[u8])> = vec![(Via::NONE, password)];
    let hex = unhex(password);
    if let Some(bytes) = &hex {
        bases.push((Via::HEX, bytes));
    }
    for (via, base) in bases {
        if !via.is_empty() {
            push(out, via, base.to_vec());
        }
        let decoded = charset(base);
        if let Some((how, bytes)) = &decoded {
            push(out, via.with(*how), bytes.clone());
        }
        // Trailing blanks off each of them.
        let mut trims: Vec<(Via, &[u8])> = vec![(via, base)];
        if let Some((how, bytes)) = &decoded {
            trims.push((via.with(*how), bytes));
        }
        for (via, bytes) in trims {
            let trimmed = trim_blanks_end(bytes);
            if trimmed.len() < bytes.len() {
                push(out, via.with(Via::TRAILING_SPACE), trimmed.to_vec());
            }
        }
    }
}

/// `$HEX[...]` (hashcat's notation for a password it cannot print): the bytes of
/// an even number of hex digits, any case.
fn unhex(password: &[u8]) -> Option<Vec<u8>> {
    let inner = password.strip_prefix(b"$HEX[")?.strip_suffix(b"]")?;
    if inner.is_empty() || inner.len() % 2 != 0 {
        return None;
    }
    let mut out = vec![0; inner.len() / 2];
    faster_hex::hex_decode(inner, &mut out).ok()?;
    Some(out)
}

/// The password in another character set: Windows-1252 bytes as UTF-8 when the
/// bytes are not UTF-8; the UTF-8 that mojibake spells when they are.
fn charset(bytes: &[u8]) -> Option<(Via, Vec<u8>)> {
    match std::str::from_utf8(bytes) {
        Err(_) => {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
            Some((Via::CP1252, text.into_owned().into_bytes()))
        }
        Ok(text) if !text.is_ascii() => {
            let (raw, _, unmappable) = WINDOWS_1252.encode(text);
            // Mojibake only if every character maps back and the bytes it gives
            // are UTF-8 themselves (and not plain ASCII, which they were already).
            if unmappable || raw.is_ascii() || std::str::from_utf8(&raw).is_err() {
                return None;
            }
            Some((Via::MOJIBAKE, raw.into_owned()))
        }
        Ok(_) => None,
    }
}

/// `bytes` without trailing spaces and tabs.
fn trim_blanks_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(password: &[u8]) -> Vec<(Vec<&'static str>, Vec<u8>)> {
        let mut out = Vec::new();
        repairs(password, &mut out);
        out.into_iter()
            .map(|(via, b)| (via.names().collect(), b))
            .collect()
    }

    #[test]
    fn a_clean_password_has_no_repairs() {
        assert!(all(b"hunter2").is_empty());
        assert!(all("pässwort".as_bytes()).is_empty());
        assert!(all("пароль".as_bytes()).is_empty());
        assert!(all(b"$HEX[zz]").is_empty());
        assert!(all(b"$HEX[616]").is_empty());
    }

    #[test]
    fn latin1_and_cp1252_bytes_are_read_as_windows_1252() {
        assert_eq!(
            all(b"p\xe4sswort"),
            [(vec!["cp1252"], "pässwort".as_bytes().to_vec())]
        );
        // 0x80 is the euro sign in Windows-1252 (a C1 control in Latin-1).
        assert_eq!(
            all(b"\x80uro"),
            [(vec!["cp1252"], "€uro".as_bytes().to_vec())]
        );
    }

    #[test]
    fn mojibake_is_undone() {
        assert_eq!(
            all("pÃ¤sswort".as_bytes()),
            [(vec!["mojibake"], "pässwort".as_bytes().to_vec())]
        );
        // A right single quote, as Windows-1252 renders its UTF-8 bytes.
        assert_eq!(
            all("donâ€™t".as_bytes()),
            [(vec!["mojibake"], "don’t".as_bytes().to_vec())]
        );
    }

    #[test]
    fn hex_notation_is_decoded_and_repaired_further() {
        assert_eq!(all(b"$HEX[70617373]"), [(vec!["hex"], b"pass".to_vec())]);
        assert_eq!(
            all(b"$HEX[70E4737320]"),
            [
                (vec!["hex"], b"p\xe4ss ".to_vec()),
                (vec!["hex", "cp1252"], "päss ".as_bytes().to_vec()),
                (vec!["hex", "trailing_space"], b"p\xe4ss".to_vec()),
                (
                    vec!["hex", "cp1252", "trailing_space"],
                    "päss".as_bytes().to_vec()
                ),
            ]
        );
    }

    #[test]
    fn trailing_blanks_are_trimmed_but_never_to_nothing() {
        assert_eq!(all(b"pw \t "), [(vec!["trailing_space"], b"pw".to_vec())]);
        assert!(all(b"   ").is_empty());
        assert!(all(b" pw").is_empty());
    }

    #[test]
    fn via_names_round_trip() {
        let via = Via::HEX.with(Via::TRAILING_SPACE);
        let names: Vec<_> = via.names().collect();
        assert_eq!(names, ["hex", "trailing_space"]);
        assert_eq!(Via::from_names(names), via);
        assert_eq!(Via::from_names(["later_version"]), Via::NONE);
        assert_eq!(
            serde_json::to_string(&Via::CP1252).unwrap(),
            r#"["cp1252"]"#
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Bytes with the triggers in them: `$HEX[`, high bytes, mojibake lead
        /// bytes, blanks.
        fn damaged() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b"$HEX[".to_vec()),
                Just(b"]".to_vec()),
                Just(b" ".to_vec()),
                Just(b"\t".to_vec()),
                Just("Ã".as_bytes().to_vec()),
                Just("â€".as_bytes().to_vec()),
                proptest::collection::vec(any::<u8>(), 0..6),
                "[0-9a-fA-F]{0,6}".prop_map(String::into_bytes),
            ];
            proptest::collection::vec(piece, 0..10).prop_map(|v| v.concat())
        }

        proptest! {
            /// Any bytes: no panic; each form non-empty, not the password, not
            /// repeated, and named by at least one repair.
            #[test]
            fn repairs_are_new_distinct_and_named(pw in damaged()) {
                let mut out = Vec::new();
                repairs(&pw, &mut out);
                for (i, (via, form)) in out.iter().enumerate() {
                    prop_assert!(!form.is_empty());
                    prop_assert!(*form != pw);
                    prop_assert!(!via.is_empty());
                    prop_assert!(out[..i].iter().all(|(_, f)| f != form));
                }
            }
        }
    }
}
