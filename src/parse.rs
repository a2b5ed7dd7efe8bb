//! Dump line parsing: bytes in, a credential or a counted reason out.
//!
//! Owns the rules that turn one line of a dump into a `(login, password)` pair:
//! combolist lines (`login SEP password`, SEP the first of `:` `;` `|` TAB), stealer-log
//! lines (`URL:login:password`), JSON lines, and CSV records once the caller has read
//! them. Every line that is not a pair gets a [`SkipReason`], so no line is ever lost
//! silently. Nothing here allocates on the common path, and nothing here may panic on
//! any input (a property test feeds it arbitrary bytes).
//!
//! It also finds the lines of a buffer ([`Lines`]), with the separator and NUL bytes
//! the fast path needs. It does not cut files into chunks, normalise logins or look
//! anything up: that is [`crate::scan`] and [`crate::login`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// Lines longer than this (in bytes, without the line end) are skipped as
/// [`SkipReason::TooLong`]: no real credential line is that long, and it bounds the
/// work done per line.
pub const MAX_LINE: usize = 64 * 1024;

/// Key names that hold the login, in priority order (JSON keys and CSV headers,
/// compared ASCII case-insensitively).
pub const LOGIN_KEYS: [&str; 5] = ["email", "login", "username", "user", "mail"];
/// Key names that hold the password, in priority order.
pub const PASSWORD_KEYS: [&str; 4] = ["password", "pass", "passwd", "pwd"];

/// Why a line was not turned into a credential pair. Counted per reason in the stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Empty or whitespace-only line.
    Blank,
    /// A line starting with `#`.
    Comment,
    /// The line contains a NUL byte (binary garbage).
    Binary,
    /// The line is longer than [`MAX_LINE`].
    TooLong,
    /// No separator (`:` `;` `|` TAB) after the login.
    NoSeparator,
    /// The login is empty after trimming.
    EmptyLogin,
    /// The password is empty.
    EmptyPassword,
    /// A line starting with `{` that is not a valid JSON object.
    BadJson,
    /// A JSON object without a string login or password field.
    JsonMissingField,
    /// The header record of a CSV dump.
    CsvHeader,
    /// A CSV dump whose header names no login or no password column.
    CsvNoColumns,
    /// A CSV record too short to hold the login and password columns, or unreadable.
    CsvBadRecord,
}

impl SkipReason {
    /// Every reason, in the order reports list them.
    pub const ALL: [SkipReason; 12] = [
        SkipReason::Blank,
        SkipReason::Comment,
        SkipReason::Binary,
        SkipReason::TooLong,
        SkipReason::NoSeparator,
        SkipReason::EmptyLogin,
        SkipReason::EmptyPassword,
        SkipReason::BadJson,
        SkipReason::JsonMissingField,
        SkipReason::CsvHeader,
        SkipReason::CsvNoColumns,
        SkipReason::CsvBadRecord,
    ];

    /// Number of reasons (size of a counter array).
    pub const COUNT: usize = Self::ALL.len();

    /// Stable snake_case name used in the summary and `--stats` JSON.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::Blank => "blank",
            SkipReason::Comment => "comment",
            SkipReason::Binary => "binary",
            SkipReason::TooLong => "too_long",
            SkipReason::NoSeparator => "no_separator",
            SkipReason::EmptyLogin => "empty_login",
            SkipReason::EmptyPassword => "empty_password",
            SkipReason::BadJson => "bad_json",
            SkipReason::JsonMissingField => "json_missing_field",
            SkipReason::CsvHeader => "csv_header",
            SkipReason::CsvNoColumns => "csv_no_columns",
            SkipReason::CsvBadRecord => "csv_bad_record",
        }
    }

    /// Index into a `[u64; SkipReason::COUNT]` counter array.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

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

/// Bytes that separate login from password, as a lookup table.
static IS_SEP: [bool; 256] = {
    let mut t = [false; 256];
    t[b':' as usize] = true;
    t[b';' as usize] = true;
    t[b'|' as usize] = true;
    t[b'\t' as usize] = true;
    t
};

/// The first separator of `bytes`, eight bytes at a time (the searches of the slow
/// paths run over short strings, where a call to a vector search costs more).
#[inline]
fn first_sep(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(w) = bytes.get(at..at + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap());
        let m = swar::eq(w, b':') | swar::eq(w, b';') | swar::eq(w, b'|') | swar::eq(w, b'\t');
        if m != 0 {
            return Some(at + swar::first(m));
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| IS_SEP[b as usize])
        .map(|i| at + i)
}

/// Byte searches within one 64-bit word (SWAR). A result flags bytes by their high
/// bit; the lowest flagged byte is exact, and bytes above it may be flagged falsely
/// (a borrow runs upwards only), so only [`swar::first`] of a result is meaningful.
mod swar {
    const ONES: u64 = 0x0101_0101_0101_0101;
    pub(super) const HI: u64 = 0x8080_8080_8080_8080;

    /// Bytes of `w` equal to `b`.
    #[inline(always)]
    pub(super) fn eq(w: u64, b: u8) -> u64 {
        let x = w ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HI
    }

    /// Bytes of `w` below `b` (for `b` <= 0x80).
    #[inline(always)]
    pub(super) fn below(w: u64, b: u8) -> u64 {
        w.wrapping_sub(ONES * u64::from(b)) & !w & HI
    }

    /// The position of the lowest flagged byte of a non-zero result.
    #[inline(always)]
    pub(super) fn first(m: u64) -> usize {
        m.trailing_zeros() as usize / 8
    }
}

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

/// A line of a buffer and what the scanner needs to know about it, from [`Lines`].
/// `Debug` shows the line's length, never its bytes (they hold a password).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line, without its `\n`.
    pub bytes: &'a [u8],
    /// Position of its first separator, if any.
    pub sep: Option<usize>,
    /// Whether it holds a NUL byte (then only the full rules apply).
    pub nul: bool,
}

impl fmt::Debug for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Line")
            .field("len", &self.bytes.len())
            .field("sep", &self.sep)
            .field("nul", &self.nul)
            .finish()
    }
}

/// The lines of a buffer, each with its first separator and whether it holds a NUL
/// byte: the scanner's way through a buffer.
///
/// The buffer is classified 64 bytes at a time into three bitmasks (newlines,
/// separators, NULs; SIMD compares), and each line is then found with a few bit
/// operations on them, simdjson-style, instead of searching from every line's start:
/// one pass answers all three questions for every line, with no per-line loop whose
/// exit the branch predictor keeps missing. A final line without `\n` runs to the end
/// of the buffer.
pub struct Lines<'a, C = Sse2> {
    classify: C,
    hay: &'a [u8],
    /// Start of the block the masks describe; `pos - base < 64` between lines.
    base: usize,
    nl: u64,
    sep: u64,
    nul: u64,
    /// Start of the next line.
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The lines of `hay`, with the baseline (SSE2) classifier.
    pub fn new(hay: &'a [u8]) -> Self {
        Lines::with(Sse2, hay)
    }
}

impl<'a, C: Classify> Lines<'a, C> {
    /// The lines of `hay`, blocks classified by `classify`.
    #[inline(always)]
    pub fn with(classify: C, hay: &'a [u8]) -> Self {
        let mut lines = Lines {
            classify,
            hay,
            base: 0,
            nl: 0,
            sep: 0,
            nul: 0,
            pos: 0,
        };
        lines.load(0);
        lines
    }

    /// Computes the masks of the block at `base` (zero past the end of the buffer).
    #[inline(always)]
    fn load(&mut self, base: usize) {
        self.base = base;
        (self.nl, self.sep, self.nul) =
            match self.hay.get(base..).and_then(|r| r.first_chunk::<64>()) {
                Some(block) => self.classify.masks(block),
                None => self.last_masks(base),
            };
    }

    /// The masks of the last, partial block.
    #[cold]
    fn last_masks(&self, base: usize) -> (u64, u64, u64) {
        let rest = self.hay.get(base..).unwrap_or_default();
        let mut block = [0u8; 64];
        block[..rest.len()].copy_from_slice(rest);
        let (nl, sep, nul) = self.classify.masks(&block);
        let valid = (1u64 << rest.len()) - 1; // rest.len() < 64
        (nl & valid, sep & valid, nul & valid)
    }
}

impl<'a, C: Classify> Iterator for Lines<'a, C> {
    type Item = Line<'a>;

    #[inline]
    fn next(&mut self) -> Option<Line<'a>> {
        let start = self.pos;
        if start >= self.hay.len() {
            return None;
        }
        let mut sep: Option<usize> = None;
        let mut nul = false;
        // Bits of the current block at or after the line's start.
        let mut live = !0u64 << (start - self.base);
        loop {
            let nl = self.nl & live;
            // Bits of the line in this block: from its start to its newline.
            let inside = live & nl.wrapping_sub(1) & !nl;
            let s = self.sep & inside;
            if sep.is_none() && s != 0 {
                sep = Some(self.base + s.trailing_zeros() as usize - start);
            }
            nul |= self.nul & inside != 0;
            if nl != 0 {
                let end = self.base + nl.trailing_zeros() as usize;
                self.pos = end + 1;
                if self.pos - self.base == 64 {
                    self.load(self.pos);
                }
                return Some(Line {
                    bytes: &self.hay[start..end],
                    sep,
                    nul,
                });
            }
            if self.base + 64 >= self.hay.len() {
                self.pos = self.hay.len();
                return Some(Line {
                    bytes: &self.hay[start..],
                    sep,
                    nul,
                });
            }
            self.load(self.base + 64);
            live = !0;
        }
    }
}

/// The fast path of [`parse_line`] for the overwhelmingly common shapes,
/// `login SEP password` with nothing unusual about it, and stealer-log URL lines.
///
/// `line` excludes its `\n`, and `sep` is its first separator as found by
/// [`Lines`]. The caller guarantees the line has no NUL byte ([`Lines`] says).
/// Returns `None` whenever the line needs the full rules (blank, comment, JSON, a URL
/// line that is not a pair, empty password, too long, no separator); when it returns
/// a pair, [`parse_line`] returns the same pair (property tests hold it to that).
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
/// whose password starts with `/`. The rules are [`parse_line`]'s, without the checks
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

/// How [`Lines`] classifies a 64-byte block: the bitmasks of its newlines,
/// separators (`:` `;` `|` tab, as `IS_SEP`) and NUL bytes, bit `i` for byte `i`.
pub trait Classify: Copy {
    /// The (newline, separator, NUL) masks of `block`.
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64);
}

/// The baseline classifier: four 16-byte SSE2 compares a block (a byte loop off
/// x86_64).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sse2;

impl Classify for Sse2 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64) {
        use std::arch::x86_64::*;
        let (mut nl, mut sep, mut nul) = (0u64, 0u64, 0u64);
        for k in 0..4 {
            // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are
            // always available; the unaligned load reads `block[16 * k..16 * k + 16]`,
            // inside the 64-byte block.
            let (n, s, z) = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
                let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
                let seps = _mm_or_si128(
                    _mm_or_si128(eq(b':'), eq(b';')),
                    _mm_or_si128(eq(b'|'), eq(b'\t')),
                );
                (
                    _mm_movemask_epi8(eq(b'\n')) as u16,
                    _mm_movemask_epi8(seps) as u16,
                    _mm_movemask_epi8(eq(0)) as u16,
                )
            };
            nl |= u64::from(n) << (16 * k);
            sep |= u64::from(s) << (16 * k);
            nul |= u64::from(z) << (16 * k);
        }
        (nl, sep, nul)
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline]
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64) {
        let (mut nl, mut sep, mut nul) = (0u64, 0u64, 0u64);
        for (i, &b) in block.iter().enumerate() {
            nl |= u64::from(b == b'\n') << i;
            sep |= u64::from(IS_SEP[b as usize]) << i;
            nul |= u64::from(b == 0) << i;
        }
        (nl, sep, nul)
    }
}

/// The AVX2 classifier: two 32-byte compares a block. Only [`Avx2::detect`] makes
/// one, on a CPU that has AVX2, BMI1 and BMI2; code using it should itself be
/// compiled with AVX2 enabled, or the intrinsics are calls.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _detected: (),
}

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// The classifier, if this CPU has AVX2, BMI1 and BMI2 (the scan's AVX2 build
    /// uses all three).
    pub fn detect() -> Option<Avx2> {
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("bmi1")
            && std::arch::is_x86_feature_detected!("bmi2");
        has.then_some(Avx2 { _detected: () })
    }
}

#[cfg(target_arch = "x86_64")]
impl Classify for Avx2 {
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64) {
        use std::arch::x86_64::*;
        let (mut nl, mut sep, mut nul) = (0u64, 0u64, 0u64);
        for k in 0..2 {
            // SAFETY: an `Avx2` exists only on a CPU with AVX2 (`Avx2::detect`); the
            // unaligned load reads `block[32 * k..32 * k + 32]`, inside the block.
            let (n, s, z) = unsafe {
                let v = _mm256_loadu_si256(block.as_ptr().add(32 * k) as *const __m256i);
                let eq = |b: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8));
                let seps = _mm256_or_si256(
                    _mm256_or_si256(eq(b':'), eq(b';')),
                    _mm256_or_si256(eq(b'|'), eq(b'\t')),
                );
                (
                    _mm256_movemask_epi8(eq(b'\n')) as u32,
                    _mm256_movemask_epi8(seps) as u32,
                    _mm256_movemask_epi8(eq(0)) as u32,
                )
            };
            nl |= u64::from(n) << (32 * k);
            sep |= u64::from(s) << (32 * k);
            nul |= u64::from(z) << (32 * k);
        }
        (nl, sep, nul)
    }
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
        b'#' => return Parsed::Skip(SkipReason::Comment),
        b'{' => return parse_json(&line[start..]),
        _ => {}
    }
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

/// Builds a pair from raw login and password, checking neither is empty.
fn pair<'a>(login: &'a [u8], password: &'a [u8]) -> Parsed<'a> {
    pair_cow(Cow::Borrowed(login), Cow::Borrowed(password))
}

fn pair_cow<'a>(login: Cow<'a, [u8]>, password: Cow<'a, [u8]>) -> Parsed<'a> {
    if login.trim_ascii().is_empty() {
        Parsed::Skip(SkipReason::EmptyLogin)
    } else if password.is_empty() {
        Parsed::Skip(SkipReason::EmptyPassword)
    } else {
        Parsed::Pair(Credential { login, password })
    }
}

/// `[A-Za-z][A-Za-z0-9+.-]*`, the RFC 3986 scheme grammar.
fn is_url_scheme(s: &[u8]) -> bool {
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
fn parse_json(line: &[u8]) -> Parsed<'_> {
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

/// A key of at most 8 bytes as one word: its bytes little-endian, zero-padded,
/// ASCII letters lowercased. `(len, word)` identifies a key case-insensitively.
const fn key_word(key: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < key.len() {
        w |= (key[i].to_ascii_lowercase() as u64) << (8 * i);
        i += 1;
    }
    w
}

/// [`key_word`] of each key, with its length. Every key is at most 8 bytes (checked
/// at compile time).
const fn key_words<const N: usize>(keys: [&str; N]) -> [(usize, u64); N] {
    let mut out = [(0, 0); N];
    let mut i = 0;
    while i < N {
        let k = keys[i].as_bytes();
        assert!(k.len() <= 8);
        out[i] = (k.len(), key_word(k));
        i += 1;
    }
    out
}

const LOGIN_WORDS: [(usize, u64); LOGIN_KEYS.len()] = key_words(LOGIN_KEYS);
const PASSWORD_WORDS: [(usize, u64); PASSWORD_KEYS.len()] = key_words(PASSWORD_KEYS);

/// The position of `key` among `words` (from [`key_words`]), ASCII
/// case-insensitively, with one compare a key: the key rule of JSON lines and CSV
/// headers (profiled: byte-by-byte compares were a tenth of a JSON line's cost).
#[inline]
fn word_priority(words: &[(usize, u64)], key: &[u8]) -> Option<usize> {
    let len = key.len();
    let w = match len {
        0 => 0,
        1..=3 => {
            u64::from(key[0])
                | u64::from(key[len / 2]) << (8 * (len / 2))
                | u64::from(key[len - 1]) << (8 * (len - 1))
        }
        4..=8 => {
            // Two overlapping 4-byte loads: the overlap holds the same bytes twice.
            let half =
                |at: usize| u64::from(u32::from_le_bytes(key[at..at + 4].try_into().unwrap()));
            half(0) | half(len - 4) << (8 * (len - 4))
        }
        _ => return None,
    };
    let w = crate::login::lower8(w);
    words.iter().position(|&(l, k)| l == len && k == w)
}

/// The two fields we want from a JSON line, with the priority of the key they came
/// from; every other field is skipped without allocating.
type JsonCred<'a> = JsonFields<Cow<'a, str>>;

/// The login and password found so far in a JSON object, each with the priority of
/// the key it came from: the one place the key rules ([`LOGIN_KEYS`],
/// [`PASSWORD_KEYS`], case-insensitive, the best key wins and the first of equal
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

/// Column positions of login and password in a CSV dump, found from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvColumns {
    /// Index of the login column.
    pub login: usize,
    /// Index of the password column.
    pub password: usize,
}

impl CsvColumns {
    /// Finds the columns by name (trimmed, ASCII case-insensitive), using the same key
    /// names and priorities as JSON lines. `None` if either is missing.
    pub fn from_header(header: &csv::ByteRecord) -> Option<CsvColumns> {
        let find = |keys: &[(usize, u64)]| {
            let mut best: Option<(usize, usize)> = None;
            for (col, name) in header.iter().enumerate() {
                let name = name.trim_ascii();
                let name = name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name);
                if let Some(p) = word_priority(keys, name) {
                    if best.is_none_or(|(bp, _)| p < bp) {
                        best = Some((p, col));
                    }
                }
            }
            best.map(|(_, col)| col)
        };
        Some(CsvColumns {
            login: find(&LOGIN_WORDS)?,
            password: find(&PASSWORD_WORDS)?,
        })
    }

    /// Takes the pair out of one CSV record.
    pub fn parse<'r>(&self, record: &'r csv::ByteRecord) -> Parsed<'r> {
        match (record.get(self.login), record.get(self.password)) {
            (Some(login), Some(password)) => {
                if memchr::memchr(0, login).is_some() || memchr::memchr(0, password).is_some() {
                    Parsed::Skip(SkipReason::Binary)
                } else {
                    pair(login, password)
                }
            }
            _ => Parsed::Skip(SkipReason::CsvBadRecord),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn line_debug_never_shows_the_bytes() {
        let line = Lines::new(b"alice@x.io:hunter2secret\n").next().unwrap();
        let shown = format!("{line:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("104"),
            "{shown}"
        );
        assert_eq!(shown, "Line { len: 24, sep: Some(10), nul: false }");
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

    #[test]
    fn csv_columns_by_name() {
        let header = csv::ByteRecord::from(vec!["id", " Email ", "Password", "username"]);
        let cols = CsvColumns::from_header(&header).unwrap();
        assert_eq!(
            cols,
            CsvColumns {
                login: 1,
                password: 2
            }
        );
        let rec = csv::ByteRecord::from(vec!["1", "x@y.z", "p,w", "u"]);
        match cols.parse(&rec) {
            Parsed::Pair(c) => assert_eq!(&*c.password, b"p,w"),
            other => panic!("{other:?}"),
        }
        let short = csv::ByteRecord::from(vec!["1"]);
        assert!(matches!(
            cols.parse(&short),
            Parsed::Skip(SkipReason::CsvBadRecord)
        ));
        let none = csv::ByteRecord::from(vec!["a", "b"]);
        assert_eq!(CsvColumns::from_header(&none), None);
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

            /// The keys' one-word compare is the case-insensitive byte compare.
            #[test]
            fn key_words_match_keys_case_insensitively(
                key in prop_oneof![
                    prop_oneof![
                        Just("email"), Just("login"), Just("username"), Just("user"),
                        Just("mail"), Just("password"), Just("pass"), Just("passwd"),
                        Just("pwd"),
                    ]
                    .prop_flat_map(|k| proptest::collection::vec(
                        (any::<bool>(), 0u8..8), k.len()..=k.len()
                    ).prop_map(move |m| {
                        // Random case, the odd byte changed (to NUL, 0xC9, '@'...).
                        k.bytes().zip(m).map(|(b, (up, change))| match change {
                            0 => 0,
                            1 => b | 0x80,
                            2 => b ^ 0x20,
                            _ if up => b.to_ascii_uppercase(),
                            _ => b,
                        }).collect::<Vec<u8>>()
                    })),
                    proptest::collection::vec(any::<u8>(), 0..10),
                ],
            ) {
                // The rule, byte by byte.
                let key_priority = |keys: &[&str], key: &[u8]| {
                    keys.iter().position(|k| k.as_bytes().eq_ignore_ascii_case(key))
                };
                prop_assert_eq!(word_priority(&LOGIN_WORDS, &key), key_priority(&LOGIN_KEYS, &key));
                prop_assert_eq!(word_priority(&PASSWORD_WORDS, &key), key_priority(&PASSWORD_KEYS, &key));
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

            /// `Lines` agrees with a plain split on any bytes, with lines short and long
            /// (across any number of 64-byte blocks).
            #[test]
            fn lines_match_a_plain_split(hay in prop_oneof![
                proptest::collection::vec(
                    prop_oneof![Just(b'\n'), Just(b':'), Just(b'\t'), Just(0u8), any::<u8>()],
                    0..300,
                ),
                proptest::collection::vec(
                    prop_oneof![1 => Just(b'\n'), 1 => Just(b'|'), 40 => any::<u8>()],
                    0..600,
                ),
            ]) {
                let mut want: Vec<&[u8]> = hay.split(|&b| b == b'\n').collect();
                if hay.is_empty() || hay.ends_with(b"\n") {
                    want.pop();
                }
                let want: Vec<Line<'_>> = want
                    .into_iter()
                    .map(|l| Line { bytes: l, sep: first_sep(l), nul: l.contains(&0) })
                    .collect();
                let got: Vec<Line<'_>> = Lines::new(&hay).collect();
                prop_assert_eq!(&got, &want);
                #[cfg(target_arch = "x86_64")]
                if let Some(avx2) = Avx2::detect() {
                    let got: Vec<Line<'_>> = Lines::with(avx2, &hay).collect();
                    prop_assert_eq!(got, want);
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
