#!/usr/bin/env python3
"""Regenerate corpus-samples/tweaks/: customers whose password is a small change
of the one leaked, for `scan --tweaks` (issue 17).

Run from the repository root:

    python3 corpus-samples/make_tweaks.py

Writes tweaks/customers.csv, tweaks/dump.txt, tweaks/expected.ndjson (with
--tweaks, default --max-checks 8) and tweaks/expected-plain.ndjson (without).
bcrypt salts are fixed, so the output is byte-for-byte reproducible.

Hashes come from hashlib (SHA-1) and pyca bcrypt. The expected lists are worked
out here with this script's own implementation of the rules as the README
documents them (names, order, pairs of different families), verifying each
variant with hashlib or bcrypt.checkpw, and for bcrypt counting checks against
the budget of 8 as documented: each leaked password once, then variants in order.
"""
import csv
import hashlib
import json
from pathlib import Path

import bcrypt

OUT = Path(__file__).resolve().parent / "tweaks"
SALT = b"$2b$04$abcdefghijklmnopqrstuu"
SYMBOLS = "!@#$%*.?"
BUDGET = 8

# (account, registered password, scheme, leaked passwords in dump order)
CASES = [
    ("t01", "Password1", "sha1", ["password1"]),
    ("t02", "hello", "sha1", ["Hello"]),
    ("t03", "summer", "sha1", ["summer!"]),
    ("t04", "winter?", "sha1", ["winter"]),
    ("t05", "spring2024", "sha1", ["spring2023"]),
    ("t06", "autumn1999", "sha1", ["autumn2000"]),
    ("t07", "monkey08", "sha1", ["monkey07"]),
    ("t08", "dragon09", "sha1", ["dragon10"]),
    ("t09", "SECRETIVE", "sha1", ["secretive"]),
    ("t10", "loud", "sha1", ["LOUD"]),
    ("t11", "p@$$w0rd", "sha1", ["password"]),
    ("t12", "letmein", "sha1", ["l3tm31n"]),
    ("t13", "Football!", "sha1", ["football"]),
    ("t14", "Charlie2", "sha1", ["charlie1"]),
    ("t15", "Shadow1", "bcrypt", ["shadow1"]),  # slow: found within the budget
    ("t16", "Mustang.", "bcrypt", ["mustang"]),  # slow: beyond the budget
    ("t17", "exact1", "sha1", ["Exact1", "exact1"]),  # verifies as found: no tweak
    ("t18", "zzzzzz", "sha1", ["qwerty"]),  # no variant verifies
]

RULES = ["upper_first", "lower_first", "drop_symbol", "add_symbol", "year_up",
         "year_down", "number_up", "number_down", "upper_all", "lower_all",
         "leet", "unleet"]
FAMILY = {"upper_first": 0, "lower_first": 0, "drop_symbol": 1, "add_symbol": 1,
          "year_up": 2, "year_down": 2, "number_up": 2, "number_down": 2,
          "upper_all": 3, "lower_all": 3, "leet": 4, "unleet": 4}
LEET = str.maketrans({"a": "@", "A": "@", "e": "3", "E": "3", "i": "1", "I": "1",
                      "o": "0", "O": "0", "s": "$", "S": "$"})
UNLEET = str.maketrans({"@": "a", "3": "e", "1": "i", "0": "o", "$": "s"})


def trailing(pw, delta, year):
    n = len(pw) - len(pw.rstrip("0123456789"))
    if n == 0 or n > 18:
        return []
    head, run = pw[:-n], pw[-n:]
    value = int(run)
    if (n == 4 and 1900 <= value <= 2099) != year:
        return []
    new = value + delta
    return [head + str(new).zfill(n)] if new >= 0 else []


def apply(rule, pw):
    if rule == "upper_first":
        return [pw[0].upper() + pw[1:]] if pw and pw[0].upper() != pw[0] else []
    if rule == "lower_first":
        return [pw[0].lower() + pw[1:]] if pw and pw[0].lower() != pw[0] else []
    if rule == "drop_symbol":
        return [pw[:-1]] if pw and pw[-1] in SYMBOLS else []
    if rule == "add_symbol":
        return [pw + s for s in SYMBOLS]
    if rule in ("year_up", "year_down", "number_up", "number_down"):
        return trailing(pw, 1 if rule.endswith("up") else -1, rule.startswith("year"))
    if rule == "upper_all":
        return [pw.upper()] if pw.upper() != pw else []
    if rule == "lower_all":
        return [pw.lower()] if pw.lower() != pw else []
    if rule == "leet":
        return [pw.translate(LEET)]
    return [pw.translate(UNLEET)]


def variants(pw):
    out, seen = [], {pw}

    def add(name, v):
        if v and v not in seen:
            seen.add(v)
            out.append((name, v))

    made = {r: apply(r, pw) for r in RULES}
    for r in RULES:
        for v in made[r]:
            add(r, v)
    for i, first in enumerate(RULES):
        for then in RULES[i + 1:]:
            if FAMILY[then] == FAMILY[first]:
                continue
            for v in made[first]:
                for w in apply(then, v):
                    add(first + "+" + then, w)
    return out


def stored_hash(pw, scheme):
    if scheme == "sha1":
        return hashlib.sha1(pw.encode()).hexdigest()
    return bcrypt.hashpw(pw.encode(), SALT).decode()


def verifies(pw, stored, scheme):
    if scheme == "sha1":
        return hashlib.sha1(pw.encode()).hexdigest() == stored
    return bcrypt.checkpw(pw.encode(), stored.encode())


def main():
    OUT.mkdir(exist_ok=True)
    with open(OUT / "customers.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_id", "login", "password_hash"])
        for acct, pw, scheme, _ in CASES:
            w.writerow([acct, f"{acct}@tweaks.test", stored_hash(pw, scheme)])
    lines = [(acct, leaked) for acct, _, _, dumped in CASES for leaked in dumped]
    with open(OUT / "dump.txt", "w") as f:
        for acct, leaked in lines:
            f.write(f"{acct}@tweaks.test:{leaked}\n")

    def expected(tweaks):
        records = []
        for acct, pw, scheme, _ in CASES:
            stored = stored_hash(pw, scheme)
            # Each leaked password once here (every one is seen once, in line order).
            leaked = [(n, p) for n, (who, p) in enumerate(lines, 1) if who == acct]
            budget = BUDGET if scheme == "bcrypt" else float("inf")
            checks, hit = 0, None
            for n, p in leaked:
                if checks >= budget:
                    break
                checks += 1
                if verifies(p, stored, scheme):
                    hit = (n, None)
                    break
            if hit is None and tweaks:
                tried = {p for _, p in leaked}
                for n, p in leaked:
                    for name, v in variants(p):
                        if v in tried:
                            continue
                        if checks >= budget:
                            break
                        checks += 1
                        if verifies(v, stored, scheme):
                            hit = (n, name)
                            break
                    if hit or checks >= budget:
                        break
            if hit is None:
                continue
            n, name = hit
            rec = {"account_id": acct, "login": f"{acct}@tweaks.test",
                   "reason": "password_variant" if name else "password_match",
                   "scheme": scheme, "sightings": 1,
                   "first_seen": {"file": "corpus-samples/tweaks/dump.txt", "line": n}}
            if name:
                rec["variant"] = name
            records.append(rec)
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)

    (OUT / "expected.ndjson").write_text(expected(True))
    (OUT / "expected-plain.ndjson").write_text(expected(False))


if __name__ == "__main__":
    main()
