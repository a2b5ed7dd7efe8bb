//! `--url-filter`: keeping only the credentials a stealer log saved for given
//! hosts (issue 17).
//!
//! Owns reading the host out of the URL a credential came with (a stealer-log
//! `URL:login:password` line's URL, a block's `URL:` or `Host:` value) and the
//! match: a host is kept when it is one of the filter's hosts or a subdomain of
//! one (`www.shop.example` for `shop.example`), ASCII case-insensitively.
//! Credentials that name no URL (combolist lines, JSON, CSV) are not filtered:
//! the filter is about which site a stealer saw a login on, and a combolist
//! names none.

/// The hosts a run keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlFilter {
    /// Lowercased, without a leading dot.
    hosts: Vec<Vec<u8>>,
}

impl UrlFilter {
    /// A filter keeping `hosts` and their subdomains.
    pub fn new<'a>(hosts: impl IntoIterator<Item = &'a str>) -> UrlFilter {
        UrlFilter {
            hosts: hosts
                .into_iter()
                .map(|h| {
                    h.trim()
                        .trim_start_matches('.')
                        .to_ascii_lowercase()
                        .into_bytes()
                })
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether a credential saved for `url` is kept (a URL without a readable host
    /// is not).
    pub fn allows(&self, url: &[u8]) -> bool {
        let Some(host) = host_of(url) else {
            return false;
        };
        self.hosts.iter().any(|h| {
            host.len() >= h.len()
                && host[host.len() - h.len()..].eq_ignore_ascii_case(h)
                && (host.len() == h.len() || host[host.len() - h.len() - 1] == b'.')
        })
    }
}

/// The host a URL names: after `scheme://` (if any), before the path, query or
/// fragment, without user info or port. `None` when that leaves nothing.
pub fn host_of(url: &[u8]) -> Option<&[u8]> {
    let url = url.trim_ascii();
    let rest = match memchr::memmem::find(url, b"://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#' | b' ' | b'\t'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = match memchr::memrchr(b'@', authority) {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let host = match memchr::memrchr(b':', host) {
        Some(colon) if host[colon + 1..].iter().all(u8::is_ascii_digit) => &host[..colon],
        _ => host,
    };
    let host = host.strip_suffix(b".").unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

/// The URL before a credential on its line, if the line is a stealer-log
/// `URL:login:password` line: `login` is a part of `line` that starts after a
/// `scheme://...:` prefix.
pub fn url_before<'a>(line: &'a [u8], login: &[u8]) -> Option<&'a [u8]> {
    let offset = (login.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    if offset < 4 || offset > line.len() {
        return None;
    }
    let prefix = line[..offset - 1].trim_ascii_start();
    let colon = memchr::memchr(b':', prefix)?;
    let url =
        super::combo::is_url_scheme(&prefix[..colon]) && prefix[colon + 1..].starts_with(b"//");
    url.then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls_and_bare_hosts() {
        assert_eq!(
            host_of(b"https://Shop.Example/login?x"),
            Some(&b"Shop.Example"[..])
        );
        assert_eq!(
            host_of(b"https://u:p@shop.example:8443/"),
            Some(&b"shop.example"[..])
        );
        assert_eq!(host_of(b"android://abc==@com.app/"), Some(&b"com.app"[..]));
        assert_eq!(host_of(b"games.example"), Some(&b"games.example"[..]));
        assert_eq!(host_of(b"https:///x"), None);
        assert_eq!(host_of(b""), None);
    }

    #[test]
    fn a_host_or_its_subdomains_are_kept() {
        let f = UrlFilter::new(["shop.example", ".Bank.example"]);
        assert!(f.allows(b"https://shop.example/login"));
        assert!(f.allows(b"https://WWW.shop.example/"));
        assert!(f.allows(b"https://online.bank.example:443/"));
        assert!(!f.allows(b"https://evilshop.example/"));
        assert!(!f.allows(b"https://shop.example.evil.test/"));
        assert!(!f.allows(b"not a url at all/"));
    }

    #[test]
    fn the_url_before_a_login_on_its_line() {
        let line = b"https://x.example:8443/login:bob@y.z:pw";
        let login = &line[29..36];
        assert_eq!(login, b"bob@y.z");
        assert_eq!(url_before(line, login), Some(&line[..28]));
        let plain = b"bob@y.z:pw";
        assert_eq!(url_before(plain, &plain[..7]), None);
        let json = br#"{"url":"https://x","email":"a@b"}"#;
        let at = json.windows(3).position(|w| w == b"a@b").unwrap();
        assert_eq!(url_before(json, &json[at..at + 3]), None);
        assert_eq!(url_before(b"x", b"elsewhere"), None);
    }
}
