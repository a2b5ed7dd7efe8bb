#!/usr/bin/env python3
"""Regenerate corpus-samples/recovery/: passwords a dump damaged, and the repairs
that recover them (issue 17).

Run from the repository root:

    python3 corpus-samples/make_recovery.py

Writes recovery/customers.csv, recovery/dump.txt and recovery/expected.ndjson.
bcrypt salts are fixed, so the output is byte-for-byte reproducible.

Hashes come from hashlib (SHA-1) and pyca bcrypt; the dump's damage is made
with Python's own codecs (Latin-1, cp1252, UTF-8 read as cp1252, hashcat's
$HEX[] notation, trailing blanks). The expected list is worked out here, by a
repair routine of this script's own (Python codecs, not leakmatch's code): for
each customer, every dump line with its login is verified as found and, failing
that, in each repaired form, by hashlib or bcrypt.checkpw.
"""
import csv
import hashlib
import json
from pathlib import Path

import bcrypt

OUT = Path(__file__).resolve().parent / "recovery"
SALT = b"$2b$04$abcdefghijklmnopqrstuu"  # fixed: reproducible bcrypt hashes

# (account, registered password, scheme, dump lines' passwords as bytes)
CASES = [
    ("r01", "pässwort", "sha1", [b"p\xe4sswort"]),  # Latin-1 dump
    ("r02", "€uro2024", "sha1", [b"\x80uro2024"]),  # cp1252's euro sign
    ("r03", "Müller!", "sha1", ["Müller!".encode().decode("cp1252").encode()]),
    ("r04", "hunter2", "sha1", [b"hunter2  \t"]),  # scraper's trailing blanks
    ("r05", "pa:ss", "sha1", [b"$HEX[70613a7373]"]),  # hashcat notation
    ("r06", "café", "sha1", [b"$HEX[636166e9]"]),  # $HEX[] of Latin-1
    ("r07", "plain", "sha1", [b"plain"]),  # exact: no repair
    ("r08", "señor", "bcrypt", [b"se\xf1or"]),  # slow scheme, Latin-1
    ("r09", "right", "sha1", [b"wr\xf6ng", b"wrong  "]),  # never matches
    ("r10", "zürich", "sha1", [b"z\xfcrich", "zürich".encode()]),  # both
    ("r11", "space ", "sha1", [b"space "]),  # a real trailing space: exact
    ("r12", "$HEX[41]", "sha1", [b"$HEX[41]"]),  # literally registered so
    ("r13", "dona", "sha1", ["don’t".encode()]),  # looks damaged, is not
]


def stored_hash(password: str, scheme: str) -> str:
    raw = password.encode()
    if scheme == "sha1":
        return hashlib.sha1(raw).hexdigest()
    return bcrypt.hashpw(raw, SALT).decode()


def verifies(password: bytes, stored: str, scheme: str) -> bool:
    if scheme == "sha1":
        return hashlib.sha1(password).hexdigest() == stored
    return bcrypt.checkpw(password, stored.encode())


def repairs(pw: bytes):
    """(repairs, bytes) forms of a damaged password, in the order tried."""
    bases = [((), pw)]
    if pw.startswith(b"$HEX[") and pw.endswith(b"]"):
        digits = pw[5:-1]
        if digits and len(digits) % 2 == 0:
            try:
                bases.append((("hex",), bytes.fromhex(digits.decode("ascii"))))
            except ValueError:
                pass
    out = []
    for via, base in bases:
        if via:
            out.append((via, base))
        forms = [(via, base)]
        try:
            text = base.decode("utf-8")
            if not text.isascii():
                try:
                    raw = text.encode("cp1252")
                    raw.decode("utf-8")
                    if not raw.isascii():
                        forms.append((via + ("mojibake",), raw))
                except (UnicodeEncodeError, UnicodeDecodeError):
                    pass
        except UnicodeDecodeError:
            forms.append((via + ("cp1252",), base.decode("cp1252").encode()))
        out.extend(f for f in forms[1:])
        for v, f in forms:
            trimmed = f.rstrip(b" \t")
            if trimmed and trimmed != f:
                out.append((v + ("trailing_space",), trimmed))
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with open(OUT / "customers.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "login", "password_hash"])
        for acct, pw, scheme, _ in CASES:
            w.writerow([acct, f"{acct}@recovery.test", stored_hash(pw, scheme)])
    lines = []
    for acct, _, _, dumped in CASES:
        for pw in dumped:
            lines.append((acct, pw))
    with open(OUT / "dump.txt", "wb") as f:
        for acct, pw in lines:
            f.write(f"{acct}@recovery.test:".encode() + pw + b"\n")

    expected = []
    for acct, pw, scheme, _ in CASES:
        stored = stored_hash(pw, scheme)
        found = []  # (line, via) of each line whose password verified
        for n, (who, leaked) in enumerate(lines, start=1):
            if who != acct:
                continue
            if verifies(leaked, stored, scheme):
                found.append((n, ()))
                continue
            for via, form in repairs(leaked):
                if verifies(form, stored, scheme):
                    found.append((n, via))
                    break
        if not found:
            continue
        line, via = found[0]
        record = {
            "account_id": acct,
            "login": f"{acct}@recovery.test",
            "reason": "password_match",
            "scheme": scheme,
            "sightings": len(found),
            "first_seen": {"file": "corpus-samples/recovery/dump.txt", "line": line},
        }
        if via:
            order = ["hex", "cp1252", "mojibake", "trailing_space"]
            record["via"] = sorted(via, key=order.index)
        expected.append(record)
    with open(OUT / "expected.ndjson", "w") as f:
        for record in sorted(expected, key=lambda r: r["account_id"]):
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
