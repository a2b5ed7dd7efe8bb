//! Combolist and stealer-log lines: `login SEP password` and `URL:login:password`.
//!
//! Owns the separator rule (the first of `:` `;` `|` TAB; the password is
//! everything after it) and the URL rule of stealer logs, in two forms that agree:
//! [`parse_common`], the scanner's fast path for the overwhelmingly common lines,
//! and `parse_pair_line`, the full rules the fast path hands everything else to.

use super::swar::{first_sep, IS_SEP};
use super::{pair, Parsed, SkipReason, MAX_LINE};

/// Bytes a common line may start with: not whitespace (blank or trimmed login), not
/// `#` (comment), not `{` (JSON), not a separator (empty login).
static COMMON_START: [bool; 256] = {
    let mut t = [true; 256];
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_whitespace() || IS_SEP[b] {
            t[b] = false;
        }
        b += 1;
    }
    t[b'#' as usize] = false;
    t[b'{' as usize] = false;
    t
};

/// The fast path of [`super::parse_line`] for the overwhelmingly common shapes,
/// `login SEP password` with nothing unusual about it, and stealer-log URL lines.
///
/// `line` excludes its `\n`, and `sep` is its first separator as found by
/// [`super::Lines`]. The caller guarantees the line has no NUL byte ([`super::Lines`] says).
/// Returns `None` whenever the line needs the full rules (blank, comment, JSON, a URL
/// line that is not a pair, empty password, too long, no separator); when it returns
/// a pair, [`super::parse_line`] returns the same pair (property tests hold it to that).
#[inline]
pub fn parse_common(line: &[u8], sep: Option<usize>) -> Option<(&[u8], &[u8])> {
    let line = match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    };
    let sep = sep?;
    if !COMMON_START[*line.first()? as usize] || line.len() > MAX_LINE || sep >= line.len() {
        return None;
    }
    let password = &line[sep + 1..];
    if password.is_empty() {
        return None;
    }
    if line[sep] == b':' && password.first() == Some(&b'/') {
        return url_common(line, sep);
    }
    Some((&line[..sep], password))
}

/// The fast path of a line whose first separator is a `:` followed by `/`: a
/// stealer-log `scheme://host[:port][/path]:login:password` line, or else a plain pair
/// whose password starts with `/`. The rules are [`super::parse_line`]'s, without the checks
/// [`parse_common`] has already made; `None` leaves a line that is not a pair to the
/// full rules, which say why.
fn url_common(line: &[u8], sep: usize) -> Option<(&[u8], &[u8])> {
    let after = &line[sep + 1..];
    if !(after.starts_with(b"//") && is_url_scheme(&line[..sep])) {
        return Some((&line[..sep], after));
    }
    let cred = strip_url(&after[2..])?;
    let at = first_sep(cred)?;
    let (login, password) = (&cred[..at], &cred[at + 1..]);
    if login.trim_ascii().is_empty() || password.is_empty() {
        return None;
    }
    Some((login, password))
}

/// The rules of a line that is not blank, a comment or JSON: `line` (its `\r`
/// already stripped) whose first non-whitespace byte is at `start`.
pub(super) fn parse_pair_line(line: &[u8], start: usize) -> Parsed<'_> {
    let Some(sep) = first_sep(line) else {
        return Parsed::Skip(SkipReason::NoSeparator);
    };
    if line[sep] == b':' && line[sep + 1..].starts_with(b"//") && is_url_scheme(&line[start..sep]) {
        return match strip_url(&line[sep + 3..]) {
            Some(rest) => split_pair(rest),
            None => Parsed::Skip(SkipReason::NoSeparator),
        };
    }
    pair(&line[..sep], &line[sep + 1..])
}

/// Splits `login SEP password` at the first separator.
fn split_pair(cred: &[u8]) -> Parsed<'_> {
    let Some(sep) = first_sep(cred) else {
        return Parsed::Skip(SkipReason::NoSeparator);
    };
    pair(&cred[..sep], &cred[sep + 1..])
}

/// `[A-Za-z][A-Za-z0-9+.-]*`, the RFC 3986 scheme grammar.
pub(super) fn is_url_scheme(s: &[u8]) -> bool {
    match s.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphabetic()
                && rest
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
        }
        None => false,
    }
}

/// Given the text after `scheme://`, skips the host, an optional `:port` and an
/// optional path, and returns what follows the `:` that ends the URL.
fn strip_url(after_scheme: &[u8]) -> Option<&[u8]> {
    let colon = memchr::memchr(b':', after_scheme)?;
    let after = &after_scheme[colon + 1..];
    let digits = after
        .iter()
        .take(6)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if (1..=5).contains(&digits) {
        match after.get(digits) {
            Some(b'/') => {
                let path = &after[digits..];
                let end = memchr::memchr(b':', path)?;
                return Some(&path[end + 1..]);
            }
            Some(b':') => {
                let rest = &after[digits + 1..];
                // `https://host:12345:pw` has no credential after a port: the digits
                // are the login.
                if first_sep(rest).is_some() {
                    return Some(rest);
                }
            }
            _ => {}
        }
    }
    Some(after)
}
