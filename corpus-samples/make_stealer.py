#!/usr/bin/env python3
"""Regenerate corpus-samples/stealer/: stealer-log blocks as RedLine, Raccoon,
Vidar and Lumma write them, mixed with plain combolist lines (issue 17).

Run from the repository root:

    python3 corpus-samples/make_stealer.py

Writes stealer/customers.csv, the logs under stealer/logs/ and
stealer/expected.ndjson. The expected list is worked out here by this script's
own reader of the block rules as the README states them (labels, at most 4
lines from login to password, blank lines and rules end a block), with hashlib.
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
        "pass: pw-s13",  # three lines after its login, a plain line between
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
    """(login, password, line number) of every pair, blocks and plain lines."""
    out, login, age = [], None, 0
    for n, line in enumerate(lines, start=1):
        if login is not None:
            age += 1
        field = label_of(line)
        if field is None:
            if login is not None and (age > 4 or is_break(line)):
                login = None
            sep = first_sep(line)
            if sep is not None and line[sep] == ":" and line[:sep] and line[sep + 1:]:
                out.append((line[:sep], line[sep + 1:], n))
            continue
        if login is not None and age > 4:
            login = None
        kind, value = field
        if kind == "login" and value.strip():
            login, age = value, 0
        elif kind == "password" and login is not None and value:
            out.append((login, value, n))
            login = None
        else:
            login = None
    return out


def main():
    accounts = sorted({f"s{i:02d}" for i in range(1, 15)})
    (HERE / "logs").mkdir(parents=True, exist_ok=True)
    with open(HERE / "customers.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "login", "password_hash"])
        for a in accounts:
            w.writerow([a, f"{a}@stealer.test", hashlib.sha1(f"pw-{a}".encode()).hexdigest()])
    found = {}
    for rel in sorted(LOGS, key=lambda p: p.split("/")):
        path = HERE / "logs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(LOGS[rel]) + "\n")
        for login, pw, n in pairs_of(LOGS[rel]):
            a = login.strip().lower().split("@")[0]
            if a in accounts and login.strip().lower() == f"{a}@stealer.test" and pw == f"pw-{a}":
                count, first = found.get(a, (0, (f"{PREFIX}/{rel}", n)))
                found[a] = (count + 1, first)
    with open(HERE / "expected.ndjson", "w") as f:
        for a in sorted(found):
            count, (file, line) = found[a]
            rec = {"account_id": a, "login": f"{a}@stealer.test", "reason": "password_match",
                   "scheme": "sha1", "sightings": count,
                   "first_seen": {"file": file, "line": line}}
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
