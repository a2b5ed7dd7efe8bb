#!/usr/bin/env python3
"""Regenerate corpus-samples/stealer/: stealer-log blocks as RedLine, Raccoon,
Vidar and Lumma write them, mixed with plain combolist lines (issue 17).

Run from the repository root:

    python3 corpus-samples/make_stealer.py

Writes stealer/customers.csv, the logs under stealer/logs/,
stealer/expected.ndjson and stealer/expected-url-filter.ndjson (with
`--url-filter shop.example --url-filter cloud.example`). The expected lists are
worked out here by this script's own reader of the block rules as the README
states them (labels, at most 4 lines from login to password and from a URL to
its credential, blank lines and rules end a block; stealer URL lines; a filter
keeps a host and its subdomains, and credentials naming no URL), with hashlib.
"""
import csv
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "stealer"
PREFIX = "corpus-samples/stealer/logs"

URL_LABELS = {"url", "host", "hostname", "site"}
LOGIN_LABELS = {"username", "user", "login", "email", "mail"}
PASSWORD_LABELS = {"password", "pass", "passwd", "pwd"}
RULE = "==============="

# Each log: its path under logs/ and its lines. sNN@stealer.test has password
# pw-sNN; `miss` lines are blocks whose pair must not be formed.
LOGS = {
    "redline/Passwords.txt": [
        "URL: https://shop.example/login",
        "Username: s01@stealer.test",
        "Password: pw-s01",
        "Application: Google_[Chrome]_Default",
        RULE,
        "URL: https://mail.example/",
        "Username: S02@Stealer.test",
        "Password: pw-s02",
        "Application: Edge_Default",
        RULE,
    ],
    "raccoon/passwords.txt": [
        "URL:https://bank.example/",
        "USER:s03@stealer.test",
        "PASS:pw-s03",
        "",
        "URL:https://forum.example/",
        "USER:s04@stealer.test",
        "",  # a blank line ends the block: no pair
        "PASS:pw-s04",
        "",
    ],
    "vidar/passwords.txt": [
        "Soft: Chrome (Profile 1)",
        "Host: https://games.example",
        "Login: s05@stealer.test",
        "Password: pw-s05",
        "",
        "Soft: Firefox",
        "Host: https://cloud.example",
        "Login: s06@stealer.test",
        "Password:   pw-s06",  # leading blanks of the value dropped
        "",
    ],
    "lumma/Passwords.txt": [
        "url: https://travel.example",
        "username: s07@stealer.test",
        "password: pw-s07",
        "=====",
        "URL: https://late.example",
        "Username: s08@stealer.test",
        "Application: a",
        "Profile: b",
        "Browser: c",
        "Version: d",
        "Password: pw-s08",  # five lines after its login: no pair
        "=====",
    ],
    "mixed/combo.txt": [
        "s09@stealer.test:pw-s09",
        "login: s10@stealer.test",
        "pwd: pw-s10",
        "s11@stealer.test:pw-s11",
        "Password: pw-s01",  # a password with no login open: no pair
        "EMAIL : s12@stealer.test",
        "URL: https://new.example",  # a new block drops the open login
        "PASS: pw-s12",
        "mail: s13@stealer.test",
        "s14@stealer.test:pw-s14",
        "pass: pw-s13",  # three lines after its login; four after new.example's URL
        "https://Shop.Example/login:s12@stealer.test:pw-s12",  # a stealer URL line
        "https://other.example/:s04@stealer.test:pw-s04",
    ],
}


def first_sep(line):
    positions = [line.find(c) for c in ":;|\t" if c in line]
    return min(positions) if positions else None


def label_of(line):
    sep = first_sep(line)
    if sep is None or sep > 9 or line[sep] != ":":
        return None
    label = line[:sep].strip().lower()
    value = line[sep + 1:].lstrip(" \t")
    for kind, labels in (("url", URL_LABELS), ("login", LOGIN_LABELS), ("password", PASSWORD_LABELS)):
        if label in labels:
            return kind, value
    return None


def is_break(line):
    t = line.strip()
    return not t or (len(t) >= 3 and t[0] in "=-*_" and set(t) == {t[0]})


def pairs_of(lines):
    """(login, password, line number, URL or None) of every pair, blocks and
    plain lines."""
    out, login, age, url, url_line = [], None, 0, None, 0
    for n, line in enumerate(lines, start=1):
        if login is not None:
            age += 1
        if url is not None and n - url_line > 4:
            url = None
        field = label_of(line)
        if field is None:
            if is_break(line):
                login, url = None, None
            elif login is not None and age > 4:
                login = None
            sep = first_sep(line)
            if sep is not None and line[sep] == ":" and line[sep + 1:].startswith("//"):
                rest = line[sep + 3:]
                cred = rest[rest.index(":") + 1:]
                user, pw = cred.split(":", 1)
                out.append((user, pw, n, line[:sep + 3 + rest.index(":")]))
            elif sep is not None and line[sep] == ":" and line[:sep] and line[sep + 1:]:
                out.append((line[:sep], line[sep + 1:], n, None))
            continue
        if login is not None and age > 4:
            login = None
        kind, value = field
        if kind == "url":
            login, url, url_line = None, value.rstrip() or None, n
        elif kind == "login" and value.strip():
            login, age = value, 0
        elif kind == "password" and login is not None and value:
            out.append((login, value, n, url))
            login = None
        else:
            login = None
    return out


def host_of(url):
    rest = url.split("://", 1)[1] if "://" in url else url
    for stop in "/?# \t":
        rest = rest.split(stop, 1)[0]
    host = rest.rsplit("@", 1)[-1]
    if ":" in host and host.rsplit(":", 1)[1].isdigit():
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".").lower()


def kept(url, hosts):
    if url is None:
        return True
    h = host_of(url)
    return any(h == k or h.endswith("." + k) for k in hosts)


def main():
    accounts = sorted({f"s{i:02d}" for i in range(1, 15)})
    (HERE / "logs").mkdir(parents=True, exist_ok=True)
    with open(HERE / "customers.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "login", "password_hash"])
        for a in accounts:
            w.writerow([a, f"{a}@stealer.test", hashlib.sha1(f"pw-{a}".encode()).hexdigest()])
    for rel in sorted(LOGS, key=lambda p: p.split("/")):
        path = HERE / "logs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(LOGS[rel]) + "\n")
    write_expected(accounts, HERE / "expected.ndjson", None)
    write_expected(accounts, HERE / "expected-url-filter.ndjson", ["shop.example", "cloud.example"])


def write_expected(accounts, out, hosts):
    """The reset list of a scan of every log (with `--url-filter` HOSTS)."""
    found = {}
    for rel in sorted(LOGS, key=lambda p: p.split("/")):
        for login, pw, n, url in pairs_of(LOGS[rel]):
            if hosts is not None and not kept(url, hosts):
                continue
            a = login.strip().lower().split("@")[0]
            if a in accounts and login.strip().lower() == f"{a}@stealer.test" and pw == f"pw-{a}":
                count, first = found.get(a, (0, (f"{PREFIX}/{rel}", n)))
                found[a] = (count + 1, first)
    with open(out, "w") as f:
        for a in sorted(found):
            count, (file, line) = found[a]
            rec = {"account_id": a, "login": f"{a}@stealer.test", "reason": "password_match",
                   "scheme": "sha1", "sightings": count,
                   "first_seen": {"file": file, "line": line}}
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")

if __name__ == "__main__":
    main()
