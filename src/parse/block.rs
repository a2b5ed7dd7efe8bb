//! Stealer-log blocks: one credential written over several lines (issue 17).
//!
//! Owns the block rules. RedLine, Raccoon, Vidar and Lumma logs (files usually
//! named `Passwords.txt`) write a credential as labelled lines, any case:
//!
//! ```text
//! URL: https://shop.example/login       Host: ...        URL: ...
//! Username: bob@example.com             Login: ...       USER: ...
//! Password: hunter2                     Password: ...    PASS: ...
//! ===============                       (blank line)
//! ```
//!
//! A *field line* is a label, optional blanks, `:` and a value (leading blanks
//! dropped). Labels: `url` `host` `hostname` `site` (a new block: an open login is
//! dropped), `username` `user` `login` `email` `mail` (the login), `password`
//! `pass` `passwd` `pwd` (the password). A password pairs with the last login
//! seen at most [`MAX_GAP`] lines before it, with no break between: a blank line,
//! a rule (three or more of one of `=` `-` `*` `_`), or a line over
//! [`super::MAX_LINE`]. Field lines are counted as `block_field`; the pair is
//! the password's line (its `first_seen`). Blocks are read wherever they appear,
//! in any line-shaped dump.
//!
//! The state is the open login and its age, so it is decided by the last
//! [`MAX_GAP`] lines: a scan unit that starts inside a file replays those lines
//! first ([`Block::prime`]), and any cut of a file gives the same pairs.

use super::MAX_LINE;

/// Lines a password may come after its login (`Username:` on line n pairs with a
/// `Password:` on lines n+1 to n+4).
pub const MAX_GAP: u64 = 4;

/// What a field line labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `URL:`, `Host:`: a new block starts.
    Url,
    /// `Username:`, `USER:`, `Login:`.
    Login,
    /// `Password:`, `PASS:`.
    Password,
}

/// What one line does to a block.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A field line that gives no pair (counted as `block_field`).
    Field,
    /// A password line with its block's login: the pair (the login is moved out of
    /// the block, which closes).
    Pair(Vec<u8>, &'a [u8]),
    /// Not a field line: read by the other rules.
    Other,
}

/// Where a line's label ends, if it may be a field line: its first separator (as
/// [`super::Lines`] finds it) is a `:` within the first ten bytes. The hot loop's
/// only cost for the ordinary line.
#[inline(always)]
pub fn may_be_field(line: &[u8], sep: Option<usize>) -> Option<usize> {
    sep.filter(|&i| (3..=9).contains(&i) && line.get(i) == Some(&b':'))
}

/// Up to 8 bytes, ASCII letters lowercased (`| 0x20` maps no other byte to a
/// letter), packed little-endian: one compare per label.
const fn pack(label: &[u8]) -> u64 {
    let mut key = 0u64;
    let mut i = 0;
    while i < label.len() {
        key |= ((label[i] | 0x20) as u64) << (8 * i);
        i += 1;
    }
    key
}

/// The field a line labels and its value, if it is a field line (`colon`: its
/// first `:`, as [`may_be_field`] gives it).
#[inline]
pub fn field_at(line: &[u8], colon: usize) -> Option<(Field, &[u8])> {
    const URL: u64 = pack(b"url");
    const HOST: u64 = pack(b"host");
    const HOSTNAME: u64 = pack(b"hostname");
    const SITE: u64 = pack(b"site");
    const USERNAME: u64 = pack(b"username");
    const USER: u64 = pack(b"user");
    const LOGIN: u64 = pack(b"login");
    const EMAIL: u64 = pack(b"email");
    const MAIL: u64 = pack(b"mail");
    const PASSWORD: u64 = pack(b"password");
    const PASS: u64 = pack(b"pass");
    const PASSWD: u64 = pack(b"passwd");
    const PWD: u64 = pack(b"pwd");
    let label = line[..colon].trim_ascii();
    if !(3..=8).contains(&label.len()) {
        return None;
    }
    let field = match pack(label) {
        URL | HOST | HOSTNAME | SITE => Field::Url,
        USERNAME | USER | LOGIN | EMAIL | MAIL => Field::Login,
        PASSWORD | PASS | PASSWD | PWD => Field::Password,
        _ => return None,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let value = line.get(colon + 1..).unwrap_or_default();
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    Some((field, &value[start..]))
}

/// [`field_at`] for a line whose first `:` is not known yet.
pub fn field(line: &[u8]) -> Option<(Field, &[u8])> {
    field_at(line, memchr::memchr(b':', line)?)
}

/// Whether a line ends any open block: blank, a rule, or too long to be a line.
pub fn is_break(line: &[u8]) -> bool {
    if line.len() > MAX_LINE {
        return true;
    }
    let t = line.trim_ascii();
    match t.first() {
        None => true,
        Some(&c) => t.len() >= 3 && b"=-*_".contains(&c) && t.iter().all(|&b| b == c),
    }
}

/// An open block: the last login and how many lines ago it was, and the last
/// `URL:` (or `Host:`) value and how many lines ago it was.
#[derive(Debug, Default)]
pub struct Block {
    login: Vec<u8>,
    age: u64,
    open: bool,
    url: Vec<u8>,
    url_age: u64,
}

impl Block {
    /// Whether a login waits for its password, or a URL for its credential
    /// (every line must then be stepped).
    #[inline(always)]
    pub fn is_open(&self) -> bool {
        self.open || !self.url.is_empty()
    }

    /// The URL the block named at most [`MAX_GAP`] lines ago, if any: after a
    /// [`Step::Pair`], the site the credential was saved for.
    pub fn url(&self) -> Option<&[u8]> {
        (!self.url.is_empty()).then_some(&self.url[..])
    }

    /// Takes one line (without its `\n`; `colon` is [`may_be_field`]'s answer):
    /// what it is, and the block's new state.
    pub fn step<'a>(&mut self, line: &'a [u8], colon: Option<usize>) -> Step<'a> {
        if self.open {
            self.age += 1;
        }
        if !self.url.is_empty() {
            self.url_age += 1;
            if self.url_age > MAX_GAP {
                self.url.clear();
            }
        }
        let Some((field, value)) = colon.and_then(|c| field_at(line, c)) else {
            if self.is_open() && is_break(line) {
                self.close();
                self.url.clear();
            } else if self.open && self.age > MAX_GAP {
                self.close();
            }
            return Step::Other;
        };
        if self.open && self.age > MAX_GAP {
            self.close();
        }
        match field {
            Field::Url => {
                self.close();
                self.url.clear();
                self.url.extend_from_slice(value.trim_ascii_end());
                self.url_age = 0;
            }
            Field::Login if value.trim_ascii().is_empty() => self.close(),
            Field::Login => {
                self.login.clear();
                self.login.extend_from_slice(value);
                self.open = true;
                self.age = 0;
            }
            Field::Password if self.open && !value.is_empty() => {
                let login = std::mem::take(&mut self.login);
                self.close();
                return Step::Pair(login, value);
            }
            Field::Password => self.close(),
        }
        Step::Field
    }

    /// Replays the lines just before a unit's start (at most [`MAX_GAP`] of them,
    /// see [`lookback`]) so the unit starts in the state a scan from the file's
    /// start would be in.
    pub fn prime(&mut self, before: &[u8]) {
        for line in before.split(|&b| b == b'\n') {
            // As the scan: a line with a NUL byte is binary, never a field.
            let colon = if memchr::memchr(0, line).is_some() {
                None
            } else {
                may_be_field(line, super::swar::first_sep(line))
            };
            let _ = self.step(line, colon);
        }
    }

    fn close(&mut self) {
        self.open = false;
        self.login.clear();
        self.age = 0;
    }
}

/// The last [`MAX_GAP`] whole lines of `head` (`head` ends where a unit starts,
/// just after a `\n`), stopping early at a line too long to be one (a break).
pub fn lookback(head: &[u8]) -> &[u8] {
    let Some(body) = head.strip_suffix(b"\n") else {
        return &[];
    };
    let mut start = body.len();
    for _ in 0..MAX_GAP {
        let floor = start.saturating_sub(MAX_LINE + 1);
        match memchr::memrchr(b'\n', &body[floor..start]) {
            Some(i) => start = floor + i,
            None if floor == 0 => {
                start = 0;
                break;
            }
            // Longer than a line may be: a break, nothing before it matters.
            None => break,
        }
    }
    let from = if start == 0 && body.first() != Some(&b'\n') {
        0
    } else {
        start + 1
    };
    &body[from.min(body.len())..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs (login, password, 1-based line) of `text` stepped line by line.
    fn pairs(text: &str) -> Vec<(String, String, usize)> {
        let mut block = Block::default();
        let mut out = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let sep = line.find([':', ';', '|', '\t']);
            if let Step::Pair(l, p) =
                block.step(line.as_bytes(), may_be_field(line.as_bytes(), sep))
            {
                out.push((
                    String::from_utf8(l).unwrap(),
                    String::from_utf8(p.to_vec()).unwrap(),
                    n + 1,
                ));
            }
        }
        out
    }

    #[test]
    fn the_families_layouts() {
        let redline =
            "URL: https://a.example/\nUsername: bob@a.example\nPassword: pw 1\n===============\n";
        assert_eq!(pairs(redline), [("bob@a.example".into(), "pw 1".into(), 3)]);
        let raccoon = "URL:https://b.example\r\nUSER:eve\r\nPASS:s3cret\r\n\r\n";
        assert_eq!(pairs(raccoon), [("eve".into(), "s3cret".into(), 3)]);
        let vidar = "Soft: Chrome\nHost: c.example\nLogin: al@c.example\nPassword: x:y\n\n";
        assert_eq!(pairs(vidar), [("al@c.example".into(), "x:y".into(), 4)]);
    }

    #[test]
    fn a_block_ends_at_a_break_a_new_url_or_after_the_gap() {
        assert!(pairs("user: a\n\npass: b").is_empty());
        assert!(pairs("user: a\n-----\npass: b").is_empty());
        assert!(pairs("user: a\nurl: x\npass: b").is_empty());
        assert!(pairs("user: a\n1\n2\n3\n4\npass: b").is_empty());
        assert_eq!(pairs("user: a\n1\n2\n3\npass: b").len(), 1);
        // A password without a login, a login without a value.
        assert!(pairs("pass: b\nuser:\npass: c").is_empty());
        // One login, one password: a second password line is a field.
        assert_eq!(pairs("user: a\npass: b\npass: c").len(), 1);
    }

    #[test]
    fn field_lines_need_a_label_and_a_colon_early() {
        assert_eq!(field(b"Password:  pw"), Some((Field::Password, &b"pw"[..])));
        assert_eq!(field(b"EMAIL : e@x"), Some((Field::Login, &b"e@x"[..])));
        assert_eq!(field(b"bob@x.example:pw"), None);
        assert_eq!(field(b"Passwords: pw"), None);
        assert_eq!(field(b"PWD\t: x"), Some((Field::Password, &b"x"[..])));
        assert_eq!(field(b"ur:x"), None);
        assert_eq!(field(b"U\x12L: x"), None);
        assert_eq!(may_be_field(b"alice@example.com:pw", Some(17)), None);
        assert_eq!(may_be_field(b"USER: x", Some(4)), Some(4));
        assert_eq!(may_be_field(b"USER| x", Some(4)), None);
    }

    /// Regression (found by fuzzing): priming opened a block on a `mail:` line
    /// holding a NUL byte, which the scan reads as binary: the piece after the
    /// cut paired a password the whole file did not.
    #[test]
    fn priming_ignores_a_field_line_with_a_nul_byte() {
        let mut primed = Block::default();
        primed.prime(b"mail: a\0b");
        assert!(!primed.is_open());
        primed.prime(b"mail: ab");
        assert!(primed.is_open());
    }

    #[test]
    fn lookback_is_the_last_lines_before_a_cut() {
        assert_eq!(lookback(b"a\nb\nc\nd\ne\nf\n"), b"c\nd\ne\nf");
        assert_eq!(lookback(b"a\nb\n"), b"a\nb");
        assert_eq!(lookback(b""), b"");
        let long = [b"x".repeat(MAX_LINE + 5), b"\nuser: a\n".to_vec()].concat();
        assert_eq!(lookback(&long), b"user: a");
    }
}
