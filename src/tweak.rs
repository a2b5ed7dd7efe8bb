//! Tweaked passwords (`--tweaks`, issue 17): the small changes users make to a
//! password they reuse, tried against the customer's own stored hash.
//!
//! Owns the rules, their names and their order. Password-reuse studies (Das et
//! al., NDSS 2014; Pal et al., IEEE S&P 2019; Wang et al., CCS 2016) find that a
//! large share of users re-use a small modification of a leaked password, the
//! most common being a change of case of the first letter and adding or removing
//! characters at the end; credential-tweaking attacks try exactly these. A
//! variant counts only if it verifies against the customer's stored hash, and
//! only for a customer none of whose leaked passwords verified as found.
//!
//! The rules, in the order they are tried (the order of [`Rule::ALL`]): the
//! studies' most frequent changes first (case of the first letter, a trailing
//! symbol, a trailing number or year), then whole-password case and leet, then
//! every pair of two rules of different families in the same order. A slow
//! scheme tries them in that order within `--max-checks`; a fast one tries all.
//!
//! | rule | change |
//! |---|---|
//! | `upper_first`, `lower_first` | the first letter's case |
//! | `drop_symbol` | a trailing `!@#$%*.?` removed |
//! | `add_symbol` | one of `!@#$%*.?` appended (each, in that order) |
//! | `year_up`, `year_down` | a trailing year 1900–2099 plus or minus one |
//! | `number_up`, `number_down` | a trailing number plus or minus one (width kept: `07` → `08`) |
//! | `upper_all`, `lower_all` | the whole password's case |
//! | `leet` | `a`→`@` `e`→`3` `i`→`1` `o`→`0` `s`→`$` (either case), all at once |
//! | `unleet` | the reverse, all at once |
//!
//! A pair is named `first+second` (`upper_first+add_symbol`: `password` →
//! `Password!`). A variant is never the password itself, nor bytes an earlier
//! rule already gave. Variants are only ever verified: never printed, logged or
//! stored.

/// Symbols `add_symbol` appends and `drop_symbol` removes, in the order tried.
pub const SYMBOLS: &[u8] = b"!@#$%*.?";

/// One rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Rule {
    /// The first letter uppercased.
    UpperFirst,
    /// The first letter lowercased.
    LowerFirst,
    /// A trailing symbol removed.
    DropSymbol,
    /// A symbol appended.
    AddSymbol,
    /// A trailing year plus one.
    YearUp,
    /// A trailing year minus one.
    YearDown,
    /// A trailing number plus one.
    NumberUp,
    /// A trailing number minus one.
    NumberDown,
    /// All uppercase.
    UpperAll,
    /// All lowercase.
    LowerAll,
    /// Leet substitutions.
    Leet,
    /// Leet substitutions undone.
    Unleet,
}

impl Rule {
    /// Every rule, in the order tried.
    pub const ALL: [Rule; 12] = [
        Rule::UpperFirst,
        Rule::LowerFirst,
        Rule::DropSymbol,
        Rule::AddSymbol,
        Rule::YearUp,
        Rule::YearDown,
        Rule::NumberUp,
        Rule::NumberDown,
        Rule::UpperAll,
        Rule::LowerAll,
        Rule::Leet,
        Rule::Unleet,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::UpperFirst => "upper_first",
            Rule::LowerFirst => "lower_first",
            Rule::DropSymbol => "drop_symbol",
            Rule::AddSymbol => "add_symbol",
            Rule::YearUp => "year_up",
            Rule::YearDown => "year_down",
            Rule::NumberUp => "number_up",
            Rule::NumberDown => "number_down",
            Rule::UpperAll => "upper_all",
            Rule::LowerAll => "lower_all",
            Rule::Leet => "leet",
            Rule::Unleet => "unleet",
        }
    }

    /// Rules of one family are not paired with each other.
    fn family(self) -> u8 {
        match self {
            Rule::UpperFirst | Rule::LowerFirst => 0,
            Rule::DropSymbol | Rule::AddSymbol => 1,
            Rule::YearUp | Rule::YearDown | Rule::NumberUp | Rule::NumberDown => 2,
            Rule::UpperAll | Rule::LowerAll => 3,
            Rule::Leet | Rule::Unleet => 4,
        }
    }

    /// Appends what this rule makes of `pw` to `out` (none, one, or one per
    /// symbol).
    fn apply(self, pw: &[u8], out: &mut Vec<Vec<u8>>) {
        match self {
            Rule::UpperFirst => out.extend(first_case(pw, true)),
            Rule::LowerFirst => out.extend(first_case(pw, false)),
            Rule::DropSymbol => {
                if let Some((last, rest)) = pw.split_last() {
                    if SYMBOLS.contains(last) {
                        out.push(rest.to_vec());
                    }
                }
            }
            Rule::AddSymbol => out.extend(SYMBOLS.iter().map(|&s| [pw, &[s]].concat())),
            Rule::YearUp => out.extend(trailing_number(pw, 1, true)),
            Rule::YearDown => out.extend(trailing_number(pw, -1, true)),
            Rule::NumberUp => out.extend(trailing_number(pw, 1, false)),
            Rule::NumberDown => out.extend(trailing_number(pw, -1, false)),
            Rule::UpperAll => out.extend(all_case(pw, true)),
            Rule::LowerAll => out.extend(all_case(pw, false)),
            Rule::Leet => out.push(substitute(pw, b"aeios", b"@310$")),
            Rule::Unleet => out.push(substitute(pw, b"@310$", b"aeios")),
        }
    }
}

/// A variant's rules: one, or a pair applied in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tweak(pub Rule, pub Option<Rule>);

impl Tweak {
    /// `upper_first`, `upper_first+add_symbol`.
    pub fn name(self) -> String {
        match self.1 {
            None => self.0.name().to_string(),
            Some(second) => format!("{}+{}", self.0.name(), second.name()),
        }
    }
}

impl Tweak {
    /// The tweak named `name` (as [`Tweak::name`] writes it).
    pub fn from_name(name: &str) -> Option<Tweak> {
        let rule = |n: &str| Rule::ALL.into_iter().find(|r| r.name() == n);
        match name.split_once('+') {
            None => Some(Tweak(rule(name)?, None)),
            Some((a, b)) => Some(Tweak(rule(a)?, Some(rule(b)?))),
        }
    }
}

impl serde::Serialize for Tweak {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// Appends every variant of `pw` to `out` in the order tried (see the module
/// docs), each with its rules; never `pw` itself, never the same bytes twice.
pub fn variants(pw: &[u8], out: &mut Vec<(Tweak, Vec<u8>)>) {
    let start = out.len();
    let push = |out: &mut Vec<(Tweak, Vec<u8>)>, tweak: Tweak, bytes: Vec<u8>| {
        if !bytes.is_empty() && bytes != pw && !out[start..].iter().any(|(_, b)| *b == bytes) {
            out.push((tweak, bytes));
        }
    };
    // Singles, each remembered for the pairs.
    let mut singles: Vec<(Rule, Vec<Vec<u8>>)> = Vec::with_capacity(Rule::ALL.len());
    for rule in Rule::ALL {
        let mut made = Vec::new();
        rule.apply(pw, &mut made);
        for v in &made {
            push(out, Tweak(rule, None), v.clone());
        }
        singles.push((rule, made));
    }
    let mut second = Vec::new();
    for (first, made) in &singles {
        for then in Rule::ALL {
            if then <= *first || then.family() == first.family() {
                continue;
            }
            for v in made {
                second.clear();
                then.apply(v, &mut second);
                for w in second.drain(..) {
                    push(out, Tweak(*first, Some(then)), w);
                }
            }
        }
    }
}

/// The first character's case changed (`upper`), if it is a letter of the other
/// case: Unicode for UTF-8, ASCII for other bytes.
fn first_case(pw: &[u8], upper: bool) -> Option<Vec<u8>> {
    match std::str::from_utf8(pw) {
        Ok(text) => {
            let first = text.chars().next()?;
            let changed: String = if upper {
                first.to_uppercase().collect()
            } else {
                first.to_lowercase().collect()
            };
            let rest = &text[first.len_utf8()..];
            (changed != first.to_string()).then(|| [changed.as_bytes(), rest.as_bytes()].concat())
        }
        Err(_) => {
            let (&b, rest) = pw.split_first()?;
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            (c != b).then(|| [&[c], rest].concat())
        }
    }
}

/// The whole password's case changed, if that changes it.
fn all_case(pw: &[u8], upper: bool) -> Option<Vec<u8>> {
    let changed = match std::str::from_utf8(pw) {
        Ok(text) if upper => text.to_uppercase().into_bytes(),
        Ok(text) => text.to_lowercase().into_bytes(),
        Err(_) if upper => pw.to_ascii_uppercase(),
        Err(_) => pw.to_ascii_lowercase(),
    };
    (changed != pw).then_some(changed)
}

/// Each byte of `from` (either ASCII case) replaced by the byte at the same
/// place in `to`.
fn substitute(pw: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    pw.iter()
        .map(|&b| {
            from.iter()
                .position(|&f| f == b.to_ascii_lowercase())
                .map_or(b, |i| to[i])
        })
        .collect()
}

/// The trailing run of digits as a number plus `delta`, zero-padded to the run's
/// width. `year`: only a run of exactly four digits from 1900 to 2099; otherwise
/// any run of 1 to 18 digits that is not such a year (the year rules name it).
fn trailing_number(pw: &[u8], delta: i64, year: bool) -> Option<Vec<u8>> {
    let digits = pw.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 18 {
        return None;
    }
    let (head, run) = pw.split_at(pw.len() - digits);
    let value: i64 = std::str::from_utf8(run).ok()?.parse().ok()?;
    let is_year = digits == 4 && (1900..=2099).contains(&value);
    if is_year != year {
        return None;
    }
    let next = value.checked_add(delta).filter(|v| *v >= 0)?;
    let formatted = format!("{next:0digits$}");
    Some([head, formatted.as_bytes()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(pw: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        variants(pw.as_bytes(), &mut out);
        out.into_iter()
            .map(|(t, b)| (t.name(), String::from_utf8(b).unwrap()))
            .collect()
    }

    fn find<'a>(v: &'a [(String, String)], bytes: &str) -> Option<&'a str> {
        v.iter().find(|(_, b)| b == bytes).map(|(n, _)| n.as_str())
    }

    #[test]
    fn single_rules() {
        let v = all("password1");
        assert_eq!(find(&v, "Password1"), Some("upper_first"));
        assert_eq!(find(&v, "password1!"), Some("add_symbol"));
        assert_eq!(find(&v, "password1?"), Some("add_symbol"));
        assert_eq!(find(&v, "password2"), Some("number_up"));
        assert_eq!(find(&v, "password0"), Some("number_down"));
        assert_eq!(find(&v, "PASSWORD1"), Some("upper_all"));
        assert_eq!(find(&v, "p@$$w0rd1"), Some("leet"));
        assert_eq!(find(&v, "passwordi"), Some("unleet"));
        assert_eq!(find(&all("Summer2023!"), "Summer2023"), Some("drop_symbol"));
        assert_eq!(find(&all("summer2023"), "summer2024"), Some("year_up"));
        assert_eq!(find(&all("summer2023"), "summer2022"), Some("year_down"));
        assert_eq!(find(&all("Hello"), "hello"), Some("lower_first"));
        assert_eq!(find(&all("HELLO"), "hello"), Some("lower_all"));
        assert_eq!(find(&all("ünter"), "Ünter"), Some("upper_first"));
    }

    #[test]
    fn numbers_keep_their_width_and_never_go_negative() {
        assert_eq!(find(&all("pw07"), "pw08"), Some("number_up"));
        assert_eq!(find(&all("pw10"), "pw09"), Some("number_down"));
        assert_eq!(find(&all("pw99"), "pw100"), Some("number_up"));
        assert!(all("pw0").iter().all(|(n, _)| n != "number_down"));
        // A year is named as a year, never also as a number.
        assert!(all("x1999").iter().all(|(n, _)| !n.starts_with("number")));
    }

    #[test]
    fn pairs_join_two_families_in_order() {
        let v = all("password");
        assert_eq!(find(&v, "Password!"), Some("upper_first+add_symbol"));
        assert_eq!(find(&v, "P@$$w0rd"), Some("upper_first+leet"));
        assert_eq!(
            find(&all("monkey12"), "Monkey13"),
            Some("upper_first+number_up")
        );
        // Never two rules of one family, never the password, never a repeat.
        for (name, bytes) in &v {
            assert_ne!(bytes, "password");
            assert_eq!(v.iter().filter(|(_, b)| b == bytes).count(), 1, "{name}");
        }
        assert!(v.iter().all(|(n, _)| n != "upper_first+lower_first"));
    }

    #[test]
    fn names_round_trip() {
        for t in [
            Tweak(Rule::Leet, None),
            Tweak(Rule::UpperFirst, Some(Rule::AddSymbol)),
        ] {
            assert_eq!(Tweak::from_name(&t.name()), Some(t));
        }
        assert_eq!(Tweak::from_name("later_rule"), None);
    }

    #[test]
    fn singles_come_before_pairs_in_rule_order() {
        let v = all("abc1");
        let first_pair = v.iter().position(|(n, _)| n.contains('+')).unwrap();
        assert!(v[..first_pair].iter().all(|(n, _)| !n.contains('+')));
        assert!(v[first_pair..].iter().all(|(n, _)| n.contains('+')));
        assert_eq!(v[0].0, "upper_first");
    }

    proptest::proptest! {
        /// Any bytes (digits, symbols and letters likely): no panic, never the
        /// password, never the same bytes twice.
        #[test]
        fn variants_are_new_and_distinct(pw in "[a-zA-Z0-9!@#$%*.? ]{0,12}|\\PC{0,6}") {
            let mut out = Vec::new();
            variants(pw.as_bytes(), &mut out);
            for (i, (_, v)) in out.iter().enumerate() {
                proptest::prop_assert!(v.as_slice() != pw.as_bytes());
                proptest::prop_assert!(out[..i].iter().all(|(_, w)| w != v));
            }
        }
    }
}
