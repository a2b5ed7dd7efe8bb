//! JSON lines: an object with the login and password under known keys.
//!
//! Owns the JSON rules: a flat fast path for the common shape
//! (`parse_flat_json`), serde_json for everything else, and the key priority
//! rule both share (`JsonFields`). String values only; escapes decoded.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::keys::{word_priority, LOGIN_WORDS, PASSWORD_WORDS};
use super::swar;
use super::{pair, pair_cow, Parsed, SkipReason};

/// A JSON string of [`parse_flat_json`] at `i` (just past its opening quote): no `\`
/// and no control character, valid UTF-8. Returns it and the index past its closing
/// quote.
///
/// One pass over the bytes (strings here are short: a search call, a control
/// character pass and a UTF-8 validation each cost more than the loop), eight at a
/// time while they are plain ASCII, UTF-8 validated only when a byte is not ASCII.
fn json_string(line: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let rest = &line[i..];
    // Eight bytes at a time past plain ASCII (no `"`, `\\`, control character or
    // byte >= 0x80); the byte loop takes over at the first other byte.
    let mut at = 0;
    while let Some(w) = rest.get(at..at + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap());
        let special = swar::eq(w, b'"') | swar::eq(w, b'\\') | swar::below(w, 0x20) | w & swar::HI;
        if special != 0 {
            at += swar::first(special);
            break;
        }
        at += 8;
    }
    let mut ascii = true;
    for (n, &b) in rest.iter().enumerate().skip(at) {
        if b == b'"' {
            let s = &rest[..n];
            if !ascii {
                std::str::from_utf8(s).ok()?;
            }
            return Some((s, i + n + 1));
        }
        if b == b'\\' || b < 0x20 {
            return None;
        }
        ascii &= b < 0x80;
    }
    None
}

/// Parses a JSON object line.
pub(super) fn parse_json(line: &[u8]) -> Parsed<'_> {
    if let Some(parsed) = parse_flat_json(line) {
        return parsed;
    }
    parse_json_serde(line)
}

/// The full JSON rules (serde_json).
fn parse_json_serde(line: &[u8]) -> Parsed<'_> {
    match serde_json::from_slice::<JsonCred<'_>>(line) {
        Ok(JsonCred {
            login: Some((_, login)),
            password: Some((_, password)),
        }) => pair_cow(cow_str_bytes(login), cow_str_bytes(password)),
        Ok(_) => Parsed::Skip(SkipReason::JsonMissingField),
        Err(_) => Parsed::Skip(SkipReason::BadJson),
    }
}

/// The fast path of [`parse_json`] for the common shape of a JSON dump line: one
/// flat object whose keys and values are all strings without escapes or control
/// characters. Returns `None` for anything else (escapes, numbers, `null`, nesting,
/// malformed input), which then goes through serde_json; when it answers, it answers
/// exactly as serde_json would (a property test holds it to that). Profiling showed
/// serde_json at about 1 µs a line, a third of the parse time on 3% of the lines.
fn parse_flat_json(line: &[u8]) -> Option<Parsed<'_>> {
    fn ws(line: &[u8], mut i: usize) -> usize {
        while i < line.len() && matches!(line[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }
    let mut i = ws(line, 0);
    if line.get(i) != Some(&b'{') {
        return None;
    }
    let mut fields: JsonFields<&[u8]> = JsonFields::new();
    i = ws(line, i + 1);
    if line.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if line.get(i) != Some(&b'"') {
                return None;
            }
            let (key, next) = json_string(line, i + 1)?;
            i = ws(line, next);
            if line.get(i) != Some(&b':') {
                return None;
            }
            i = ws(line, i + 1);
            if line.get(i) != Some(&b'"') {
                return None; // not a string value: serde decides
            }
            let (value, next) = json_string(line, i + 1)?;
            if let Some(slot) = fields.slot(key) {
                slot.offer(value);
            }
            i = ws(line, next);
            match line.get(i) {
                Some(b',') => i = ws(line, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if ws(line, i) != line.len() {
        return None;
    }
    Some(match (fields.login, fields.password) {
        (Some((_, l)), Some((_, p))) => pair(l, p),
        _ => Parsed::Skip(SkipReason::JsonMissingField),
    })
}

fn cow_str_bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
        Cow::Owned(o) => Cow::Owned(o.into_bytes()),
    }
}

/// The two fields we want from a JSON line, with the priority of the key they came
/// from; every other field is skipped without allocating.
type JsonCred<'a> = JsonFields<Cow<'a, str>>;

/// The login and password found so far in a JSON object, each with the priority of
/// the key it came from: the one place the key rules ([`super::LOGIN_KEYS`],
/// [`super::PASSWORD_KEYS`], case-insensitive, the best key wins and the first of equal
/// keys) live, for the flat fast path and for serde_json alike.
struct JsonFields<V> {
    login: Option<(usize, V)>,
    password: Option<(usize, V)>,
}

/// Where a value under one wanted key goes.
struct KeySlot<'s, V> {
    prio: usize,
    field: &'s mut Option<(usize, V)>,
}

impl<V> JsonFields<V> {
    fn new() -> Self {
        JsonFields {
            login: None,
            password: None,
        }
    }

    /// The slot for a value under `key`, or `None` if the key is not one we want.
    fn slot(&mut self, key: &[u8]) -> Option<KeySlot<'_, V>> {
        if let Some(prio) = word_priority(&LOGIN_WORDS, key) {
            Some(KeySlot {
                prio,
                field: &mut self.login,
            })
        } else {
            word_priority(&PASSWORD_WORDS, key).map(|prio| KeySlot {
                prio,
                field: &mut self.password,
            })
        }
    }
}

impl<V> KeySlot<'_, V> {
    /// Keeps `value` unless a key of higher or equal priority already gave one.
    fn offer(self, value: V) {
        if self
            .field
            .as_ref()
            .is_none_or(|(have, _)| self.prio < *have)
        {
            *self.field = Some((self.prio, value));
        }
    }
}

impl<'de> Deserialize<'de> for JsonCred<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(JsonCredVisitor)
    }
}

struct JsonCredVisitor;

impl<'de> Visitor<'de> for JsonCredVisitor {
    type Value = JsonCred<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = JsonCred::new();
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            match out.slot(key.0.as_bytes()) {
                Some(slot) => {
                    if let Some(v) = map.next_value::<MaybeStr<'de>>()?.0 {
                        slot.offer(v);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A string that stays borrowed from the input unless it had escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(CowStrVisitor).map(CowStr)
    }
}

struct CowStrVisitor;

impl<'de> Visitor<'de> for CowStrVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A field value that counts only when it is a string; anything else (numbers,
/// null, nested values) is skipped as if the key were absent.
struct MaybeStr<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MaybeStrVisitor).map(MaybeStr)
    }
}

struct MaybeStrVisitor;

impl<'de> Visitor<'de> for MaybeStrVisitor {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_line;

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
    fn json_lines() {
        assert_eq!(
            pair_of(br#"{"email":"a@b.c","password":"p\"q\\r","ip":[1,2]}"#),
            (b"a@b.c".to_vec(), b"p\"q\\r".to_vec())
        );
        assert_eq!(
            pair_of(br#"  {"user":"u","username":"name","pwd":"\u00e9t\u00e9"}"#),
            (b"name".to_vec(), "été".as_bytes().to_vec())
        );
        assert_eq!(
            pair_of(br#"{"Login":"L","PASS":"x","pwd":12345}"#),
            (b"L".to_vec(), b"x".to_vec())
        );
        assert_eq!(
            skip_of(br#"{"email":"a","password":12345}"#),
            SkipReason::JsonMissingField
        );
        assert_eq!(
            skip_of(br#"{"email":"a@b.c"}"#),
            SkipReason::JsonMissingField
        );
        assert_eq!(
            skip_of(br#"{"email":"a@b.c","password":"#),
            SkipReason::BadJson
        );
        assert_eq!(
            skip_of(br#"{"email":"a","password":""}"#),
            SkipReason::EmptyPassword
        );
    }

    #[test]
    fn flat_json_fast_path_takes_the_common_shape_only() {
        let plain = |p: Option<Parsed<'_>>| match p {
            Some(Parsed::Pair(c)) => Some(Ok((c.login.to_vec(), c.password.to_vec()))),
            Some(Parsed::Skip(r)) => Some(Err(r)),
            None => None,
        };
        let pair = |l: &str, p: &str| Some(Ok((l.as_bytes().to_vec(), p.as_bytes().to_vec())));
        assert_eq!(
            plain(parse_flat_json(br#"{"email":"a@b.c","password":"x y"}"#)),
            pair("a@b.c", "x y")
        );
        assert_eq!(
            plain(parse_flat_json(
                br#" { "user" : "u", "EMAIL":"e", "pwd":"1", "pass":"2" } "#
            )),
            pair("e", "2")
        );
        assert_eq!(
            plain(parse_flat_json(br#"{"email":"a@b.c"}"#)),
            Some(Err(SkipReason::JsonMissingField))
        );
        assert_eq!(
            plain(parse_flat_json(b"{}")),
            Some(Err(SkipReason::JsonMissingField))
        );
        for other in [
            &br#"{"email":"a\u0040b","password":"x"}"#[..],
            br#"{"email":"a@b","password":12}"#,
            br#"{"email":"a@b","password":"x"} trailing"#,
            br#"{"email":"a@b","password":"x""#,
            br#"{"email":"a@b","n":{"password":"x"}}"#,
        ] {
            assert!(
                parse_flat_json(other).is_none(),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// JSON-ish objects: flat string fields most of the time, with every kind of
        /// deviation the fast path must hand over to serde.
        fn jsonish() -> impl Strategy<Value = Vec<u8>> {
            let key = prop_oneof![
                Just("\"email\"".to_string()),
                Just("\"EMAIL\"".to_string()),
                Just("\"user\"".to_string()),
                Just("\"login\"".to_string()),
                Just("\"password\"".to_string()),
                Just("\"Pass\"".to_string()),
                Just("\"pwd\"".to_string()),
                Just("\"other\"".to_string()),
                Just("\"e\\u006dail\"".to_string()),
                Just("email".to_string()),
            ];
            let value = prop_oneof![
                4 => "[a-zA-Z0-9@. ]{0,6}".prop_map(|s| format!("\"{s}\"")),
                // Long enough for the eight-bytes-at-a-time scan, a special byte
                // anywhere (a quote, a backslash, control characters, non-ASCII).
                3 => "[a-z0-9@.\"\\\\\t\u{1f}\u{7f}é ]{0,30}".prop_map(|s| format!("\"{s}\"")),
                1 => "[a-z0-9]{7,20}".prop_map(|s| format!("\"{s}")),
                1 => Just("\"a\\\"b\"".to_string()),
                1 => Just("\"tab\there\"".to_string()),
                1 => Just("\"é\"".to_string()),
                1 => Just("12".to_string()),
                1 => Just("null".to_string()),
                1 => Just("{\"x\":1}".to_string()),
                1 => Just("[\"a\"]".to_string()),
                1 => Just("\"unterminated".to_string()),
            ];
            let ws = prop_oneof![Just(""), Just(" "), Just("\t"), Just("  ")];
            let field = (key, ws.clone(), value, ws.clone())
                .prop_map(|(k, w1, v, w2)| format!("{k}{w1}:{w2}{v}"));
            let sep = prop_oneof![8 => Just(","), 1 => Just(",,"), 1 => Just(" , ")];
            (
                ws.clone(),
                proptest::collection::vec((field, sep), 0..5),
                ws,
                prop_oneof![8 => Just("}"), 1 => Just(""), 1 => Just("} x"), 1 => Just("}}")],
                proptest::collection::vec(any::<u8>(), 0..2),
            )
                .prop_map(|(w, fields, w2, close, noise)| {
                    let n = fields.len();
                    let mut body = String::new();
                    for (i, (f, s)) in fields.into_iter().enumerate() {
                        body.push_str(&f);
                        if i + 1 < n {
                            body.push_str(s);
                        }
                    }
                    let mut line = format!("{w}{{{body}{w2}{close}").into_bytes();
                    if noise.len() == 1 {
                        let at = noise[0] as usize % (line.len() + 1);
                        line.insert(at, noise[0]);
                    }
                    line
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// The eight-bytes-at-a-time string scan finds what a byte loop finds.
            #[test]
            fn json_string_matches_a_byte_loop(
                line in proptest::collection::vec(
                    prop_oneof![
                        6 => proptest::char::range('a', 'z').prop_map(|c| c as u8),
                        1 => Just(b'"'), 1 => Just(b'\\'), 1 => Just(0x1f_u8),
                        1 => Just(0x7f_u8), 1 => Just(0xc3_u8), 1 => Just(0xa9_u8),
                        1 => any::<u8>(),
                    ],
                    0..40,
                ),
                at in 0usize..8,
            ) {
                let at = at.min(line.len());
                let reference = line[at..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                    .filter(|&n| line[at + n] == b'"')
                    .filter(|&n| std::str::from_utf8(&line[at..at + n]).is_ok())
                    .map(|n| (&line[at..at + n], at + n + 1));
                prop_assert_eq!(json_string(&line, at), reference);
            }

            /// Whenever the flat-JSON fast path answers, serde_json gives the same.
            #[test]
            fn flat_json_agrees_with_serde(line in jsonish()) {
                let plain = |p: Parsed<'_>| match p {
                    Parsed::Pair(c) => Ok((c.login.to_vec(), c.password.to_vec())),
                    Parsed::Skip(r) => Err(r),
                };
                if let Some(fast) = parse_flat_json(&line) {
                    prop_assert_eq!(plain(fast), plain(parse_json_serde(&line)));
                }
            }
        }
    }
}
