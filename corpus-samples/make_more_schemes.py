#!/usr/bin/env python3
"""Regenerate corpus-samples/more-schemes/: passlib's own known-correct vectors of
the LDAP MD5 / salted MD5 / salted SHA-256 / salted SHA-512 and MySQL 4.1
schemes, one customer each, with the password in the dump (issue 21).

Run from the repository root:

    python3 corpus-samples/make_more_schemes.py

Writes more-schemes/customers.csv, more-schemes/dump.txt and
more-schemes/expected.ndjson. The vectors are passlib's test suite's
`known_correct_hashes` (passlib.tests.test_handlers); the expected list is what
passlib's own `verify` says about each dump line.
"""
import csv
import json
from pathlib import Path

from passlib.tests import test_handlers

OUT = Path(__file__).resolve().parent / "more-schemes"
# passlib's handler name -> leakmatch's scheme name
SCHEMES = {
    "ldap_md5": "ldap_md5",
    "ldap_salted_md5": "ldap_smd5",
    "ldap_salted_sha256": "ldap_ssha256",
    "ldap_salted_sha512": "ldap_ssha512",
    "mysql41": "mysql41",
}


def vectors():
    """(password, hash, passlib handler) of every known-correct vector, in the
    order of SCHEMES, then the suite's order."""
    found = {}
    for name in dir(test_handlers):
        case = getattr(test_handlers, name)
        handler = getattr(case, "handler", None)
        if isinstance(case, type) and handler is not None and handler.name in SCHEMES:
            found[handler.name] = [(pw, h, handler) for pw, h in case.known_correct_hashes]
    return [v for name in SCHEMES for v in found[name]]


def main():
    OUT.mkdir(exist_ok=True)
    rows = vectors()
    with open(OUT / "customers.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "login", "password_hash"])
        for i, (_, h, _) in enumerate(rows, 1):
            w.writerow([f"m{i:02d}", f"m{i:02d}@schemes.test", h])
    with open(OUT / "dump.txt", "w") as f:
        for i, (pw, _, _) in enumerate(rows, 1):
            f.write(f"m{i:02d}@schemes.test:{pw}\n")
    with open(OUT / "expected.ndjson", "w") as f:
        for i, (pw, h, handler) in enumerate(rows, 1):
            if not handler.verify(pw, h):
                continue
            rec = {"account_id": f"m{i:02d}", "login": f"m{i:02d}@schemes.test",
                   "reason": "password_match", "scheme": SCHEMES[handler.name],
                   "sightings": 1,
                   "first_seen": {"file": "corpus-samples/more-schemes/dump.txt", "line": i}}
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
