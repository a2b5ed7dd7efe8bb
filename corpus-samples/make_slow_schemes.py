#!/usr/bin/env python3
"""Regenerate corpus-samples/slow-schemes/: one account per slow-hash edge case.

Run from the repository root:

    python3 corpus-samples/make_slow_schemes.py

Writes slow-schemes/customers.csv, slow-schemes/dump.txt and
slow-schemes/expected.ndjson. Every salt is fixed, so the output is
byte-for-byte reproducible (given the same library versions).

The hashes are made by reference implementations that owe nothing to
leakmatch: bcrypt (pyca), argon2-cffi (libargon2), passlib, hashlib and
`openssl passwd -5/-6`. Where two of them can make or check the same hash,
both are used and must agree. The expected output is worked out by reading
the dump back from disk and running each reference library's own verify
function on every (account, dump line) pair.

Each account has one login (`sNN@schemes.test`) and, in the dump, either
  * a wrong password and then the right one ("wrong first"),
  * the right password and then a wrong one ("right first"), or
  * only a wrong password ("wrong only").
Every candidate is seen once, so leakmatch tries them in first-seen order:
with `--max-checks 1` exactly the "wrong first" accounts are left for review.
"""
import base64
import csv
import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import bcrypt
from argon2 import low_level as argon2_ll
from argon2.exceptions import VerifyMismatchError
from passlib.hash import (
    django_pbkdf2_sha1,
    django_pbkdf2_sha256,
    pbkdf2_sha1 as passlib_pbkdf2_sha1,
    pbkdf2_sha256 as passlib_pbkdf2_sha256,
    pbkdf2_sha512 as passlib_pbkdf2_sha512,
    sha256_crypt,
    sha512_crypt,
)

HERE = Path(__file__).resolve().parent / "slow-schemes"
PREFIX = "corpus-samples/slow-schemes"          # path prefix as printed by leakmatch
DOMAIN = "schemes.test"


def u8(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def fixed_salt(tag, n):
    """n salt bytes derived from a fixed tag (no RNG state to keep in order)."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"leakmatch-slow-schemes:%s:%d" % (tag.encode(), i)).digest()
        i += 1
    return out[:n]


CRYPT64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def fixed_chars(tag, n, alphabet):
    return "".join(alphabet[b % len(alphabet)] for b in fixed_salt(tag, n))


# --------------------------------------------------------------------------
# Hash builders (reference implementations, fixed salts)
# --------------------------------------------------------------------------
def h_bcrypt(tag, pw, ident, cost):
    # 22 salt chars; the last carries only 2 bits, so pick a canonical one.
    salt = fixed_chars(tag, 21, CRYPT64) + ".Oeu"[fixed_salt(tag + "/last", 1)[0] % 4]
    pw = u8(pw)
    # bcrypt (pyca) >= 5 refuses input over 72 bytes; bcrypt only ever uses
    # the first 72 bytes, so cut it here (cross-checked below with passlib's
    # pure-Python backend, which does the truncation itself).
    h = bcrypt.hashpw(pw[:72], ("$%s$%02d$%s" % (ident, cost, salt)).encode()).decode()
    assert h.startswith("$%s$%02d$%s" % (ident, cost, salt[:21])), h
    return h


ARGON2_TYPES = {"argon2id": argon2_ll.Type.ID, "argon2i": argon2_ll.Type.I,
                "argon2d": argon2_ll.Type.D}


def h_argon2(tag, pw, kind, *, m=8, t=1, p=1, salt_len=16, hash_len=32, version=19):
    h = argon2_ll.hash_secret(
        u8(pw), fixed_salt(tag, salt_len), time_cost=t, memory_cost=m, parallelism=p,
        hash_len=hash_len, type=ARGON2_TYPES[kind], version=version,
    ).decode()
    assert h.startswith("$%s$v=%d$m=%d,t=%d,p=%d$" % (kind, version, m, t, p)), h
    return h


def h_django_pbkdf2(tag, pw, alg, iters):
    """Django's format, made with hashlib and checked against passlib's handler."""
    salt = fixed_chars(tag, 12, ALNUM)
    dk = hashlib.pbkdf2_hmac(alg, u8(pw), salt.encode(), iters)
    h = "pbkdf2_%s$%d$%s$%s" % (alg, iters, salt, base64.b64encode(dk).decode())
    handler = {"sha256": django_pbkdf2_sha256, "sha1": django_pbkdf2_sha1}[alg]
    assert handler.using(rounds=iters, salt=salt).hash(pw) == h, h
    return h


PASSLIB_PBKDF2 = {"sha1": passlib_pbkdf2_sha1, "sha256": passlib_pbkdf2_sha256,
                  "sha512": passlib_pbkdf2_sha512}


def h_passlib_pbkdf2(tag, pw, alg, rounds):
    h = PASSLIB_PBKDF2[alg].using(rounds=rounds, salt=fixed_salt(tag, 16)).hash(pw)
    ident = "$pbkdf2$" if alg == "sha1" else "$pbkdf2-%s$" % alg   # passlib's own idents
    assert h.startswith("%s%d$" % (ident, rounds)), h
    return h


def openssl_passwd(variant, salt, pw):
    """`openssl passwd -5|-6 -salt SALT -stdin` (the password on stdin, no newline)."""
    out = subprocess.run(["openssl", "passwd", variant, "-salt", salt, "-stdin"],
                         input=u8(pw), capture_output=True, check=True)
    return out.stdout.decode().rstrip("\n")


def h_sha_crypt(tag, pw, variant, rounds=None, salt_len=16):
    """sha256crypt/sha512crypt by `openssl passwd`, cross-checked with passlib.

    `rounds=None` leaves the rounds= field out (5000, the default). A salt longer
    than 16 characters is given to openssl as is: openssl (like glibc) uses and
    writes only its first 16 characters, and so does passlib."""
    salt = fixed_chars(tag, salt_len, CRYPT64)
    setting = salt if rounds is None else "rounds=%d$%s" % (rounds, salt)
    h = openssl_passwd(variant, setting, pw)
    handler = {"-5": sha256_crypt, "-6": sha512_crypt}[variant]
    plh = handler.using(rounds=5000 if rounds is None else rounds, salt=salt[:16]).hash(pw)
    assert plh == h, (plh, h)
    want = "$%s$%s%s$" % (variant[1], "" if rounds is None else "rounds=%d$" % rounds, salt[:16])
    assert h.startswith(want), (h, want)
    return h


# --------------------------------------------------------------------------
# Accounts: (scheme, what, password, dump order, hash-maker)
#   order: "wrong_first" | "right_first" | "wrong_only"
# --------------------------------------------------------------------------
PW72 = "seventy-two bytes exactly: " + "x" * 44 + "!"
PW73 = "seventy-three bytes, one past bcrypt's limit: " + "y" * 26 + "#"
PW71 = "seventy-one bytes, one short of bcrypt's limit: " + "z" * 22 + "%"
assert (len(u8(PW72)), len(u8(PW73)), len(u8(PW71))) == (72, 73, 71)

WF, RF, WO = "wrong_first", "right_first", "wrong_only"

ACCOUNTS = [
    # bcrypt
    ("bcrypt", "$2b$ cost 4, unicode password", "pässwörd€", WF,
     lambda t, p: h_bcrypt(t, p, "2b", 4)),
    ("bcrypt", "$2a$ cost 4", "bcrypt-2a", RF, lambda t, p: h_bcrypt(t, p, "2a", 4)),
    ("bcrypt", "$2y$ cost 5", "bcrypt-2y", WF, lambda t, p: h_bcrypt(t, p, "2y", 5)),
    ("bcrypt", "$2b$ cost 4, password of exactly 72 bytes", PW72, RF,
     lambda t, p: h_bcrypt(t, p, "2b", 4)),
    ("bcrypt", "$2b$ cost 4, 73-byte password; dump has its first 72 bytes", PW73, WF,
     lambda t, p: h_bcrypt(t, p, "2b", 4)),
    ("bcrypt", "$2b$ cost 4, 71-byte password; dump has it plus one byte", PW71, WO,
     lambda t, p: h_bcrypt(t, p, "2b", 4)),
    # argon2
    ("argon2id", "m=8 t=1 p=1", "argon2id-pw", WF, lambda t, p: h_argon2(t, p, "argon2id")),
    ("argon2i", "m=8 t=1 p=1", "argon2i-pw", RF, lambda t, p: h_argon2(t, p, "argon2i")),
    ("argon2d", "m=8 t=1 p=1", "argon2d-pw", WF, lambda t, p: h_argon2(t, p, "argon2d")),
    ("argon2id", "m=16 p=2", "argon2id-p2", RF, lambda t, p: h_argon2(t, p, "argon2id", m=16, p=2)),
    ("argon2i", "v=16 (0x10)", "argon2i-v16", WF, lambda t, p: h_argon2(t, p, "argon2i", version=16)),
    ("argon2id", "unicode password", "密码123", RF, lambda t, p: h_argon2(t, p, "argon2id")),
    ("argon2id", "8-byte salt", "argon2id-salt8", WF, lambda t, p: h_argon2(t, p, "argon2id", salt_len=8)),
    ("argon2id", "32-byte salt", "argon2id-salt32", RF, lambda t, p: h_argon2(t, p, "argon2id", salt_len=32)),
    ("argon2d", "16-byte hash", "argon2d-hash16", WF, lambda t, p: h_argon2(t, p, "argon2d", hash_len=16)),
    ("argon2i", "64-byte hash", "argon2i-hash64", RF, lambda t, p: h_argon2(t, p, "argon2i", hash_len=64)),
    ("argon2id", "m=8 t=1 p=1, wrong password only", "argon2id-never", WO,
     lambda t, p: h_argon2(t, p, "argon2id")),
    # Django PBKDF2
    ("django_pbkdf2_sha256", "1 iteration", "django-1", WF,
     lambda t, p: h_django_pbkdf2(t, p, "sha256", 1)),
    ("django_pbkdf2_sha256", "20000 iterations", "django-20000", RF,
     lambda t, p: h_django_pbkdf2(t, p, "sha256", 20000)),
    ("django_pbkdf2_sha1", "1000 iterations, unicode password", "пароль-ß", WF,
     lambda t, p: h_django_pbkdf2(t, p, "sha1", 1000)),
    ("django_pbkdf2_sha1", "1 iteration, wrong password only", "django-never", WO,
     lambda t, p: h_django_pbkdf2(t, p, "sha1", 1)),
    # passlib PBKDF2
    ("pbkdf2_sha256", "$pbkdf2-sha256$ rounds=1", "pl-sha256-1", RF,
     lambda t, p: h_passlib_pbkdf2(t, p, "sha256", 1)),
    ("pbkdf2_sha256", "$pbkdf2-sha256$ rounds=1000, unicode password", "pässwörd€-256", WF,
     lambda t, p: h_passlib_pbkdf2(t, p, "sha256", 1000)),
    ("pbkdf2_sha512", "$pbkdf2-sha512$ rounds=1", "pl-sha512-1", WF,
     lambda t, p: h_passlib_pbkdf2(t, p, "sha512", 1)),
    ("pbkdf2_sha512", "$pbkdf2-sha512$ rounds=1000", "pl-sha512-1000", RF,
     lambda t, p: h_passlib_pbkdf2(t, p, "sha512", 1000)),
    ("pbkdf2_sha1", "$pbkdf2$ rounds=1", "pl-sha1-1", RF,
     lambda t, p: h_passlib_pbkdf2(t, p, "sha1", 1)),
    ("pbkdf2_sha1", "$pbkdf2$ rounds=1000", "pl-sha1-1000", WF,
     lambda t, p: h_passlib_pbkdf2(t, p, "sha1", 1000)),
    # sha-crypt
    ("sha256crypt", "$5$rounds=1000$", "sha256-r1000", WF,
     lambda t, p: h_sha_crypt(t, p, "-5", 1000)),
    ("sha256crypt", "$5$ default rounds (no rounds= field)", "sha256-default", RF,
     lambda t, p: h_sha_crypt(t, p, "-5")),
    ("sha256crypt", "$5$ made with a 20-char salt (stored as the 16 used)", "sha256-longsalt", WF,
     lambda t, p: h_sha_crypt(t, p, "-5", salt_len=20)),
    ("sha512crypt", "$6$rounds=1000$", "sha512-r1000", RF,
     lambda t, p: h_sha_crypt(t, p, "-6", 1000)),
    ("sha512crypt", "$6$ default rounds (no rounds= field)", "sha512-default", WF,
     lambda t, p: h_sha_crypt(t, p, "-6")),
    ("sha512crypt", "$6$ default rounds, unicode password", "密码-ünïcødé", RF,
     lambda t, p: h_sha_crypt(t, p, "-6")),
    ("sha256crypt", "$5$rounds=1000$, wrong password only", "sha256-never", WO,
     lambda t, p: h_sha_crypt(t, p, "-5", 1000)),
]


def build_accounts():
    out = []
    for i, (scheme, what, pw, order, maker) in enumerate(ACCOUNTS, 1):
        aid = "s%02d" % i
        out.append({"id": aid, "login": "%s@%s" % (aid, DOMAIN), "scheme": scheme,
                    "what": what, "password": pw, "order": order, "hash": maker(aid, pw)})
    return out


def dump_passwords(a):
    """(right, wrong) bytes as they appear in the dump; right is None for wrong only."""
    pw = u8(a["password"])
    if a["password"] == PW73:
        return pw[:72], b"wrong-" + a["id"].encode()          # bcrypt truncates: must match
    if a["password"] == PW71:
        return None, pw + b"!"                                # 72 bytes: must not match
    wrong = b"wrong-" + a["id"].encode()
    return (None if a["order"] == WO else pw), wrong


def csv_field(value):
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_files(accounts):
    HERE.mkdir(exist_ok=True)
    rows = ["account_id,login,password_hash"]
    rows += [",".join(csv_field(v) for v in (a["id"], a["login"], a["hash"])) for a in accounts]
    (HERE / "customers.csv").write_bytes(("\n".join(rows) + "\n").encode("utf-8"))

    lines = [b"# synthetic dump for corpus-samples/slow-schemes (make_slow_schemes.py)"]
    for a in accounts:
        right, wrong = dump_passwords(a)
        login = a["login"].encode()
        for pw in ({WF: [wrong, right], RF: [right, wrong], WO: [wrong]}[a["order"]]):
            assert not any(c in pw for c in b"\r\n\x00"), a["id"]
            lines.append(login + b":" + pw)
    (HERE / "dump.txt").write_bytes(b"\n".join(lines) + b"\n")


# --------------------------------------------------------------------------
# Oracle: read the files back and verify with the reference libraries
# --------------------------------------------------------------------------
def verify(scheme, h, pw):
    """pw: bytes from the dump; each scheme's reference verify function."""
    if scheme == "bcrypt":
        assert len(pw) <= 72, "pyca bcrypt refuses longer input; keep dump lines <= 72 bytes"
        return bcrypt.checkpw(pw, h.encode())
    if scheme in ARGON2_TYPES:
        try:
            return argon2_ll.verify_secret(h.encode(), pw, ARGON2_TYPES[scheme])
        except VerifyMismatchError:
            return False
    if scheme.startswith("django_pbkdf2_"):
        handler = {"django_pbkdf2_sha256": django_pbkdf2_sha256,
                   "django_pbkdf2_sha1": django_pbkdf2_sha1}[scheme]
        ok = handler.verify(pw, h)
        alg, iters, salt, b64 = h.split("$")
        dk = hashlib.pbkdf2_hmac(alg[len("pbkdf2_"):], pw, salt.encode(), int(iters))
        assert ok == (base64.b64encode(dk).decode() == b64)
        return ok
    if scheme in ("pbkdf2_sha1", "pbkdf2_sha256", "pbkdf2_sha512"):
        alg = scheme[len("pbkdf2_"):]
        ok = PASSLIB_PBKDF2[alg].verify(pw, h)
        _, _, iters, salt, chk = h.split("$")
        ab64 = lambda s: base64.b64decode(s.replace(".", "+") + "=" * (-len(s) % 4))
        assert ok == (hashlib.pbkdf2_hmac(alg, pw, ab64(salt), int(iters)) == ab64(chk))
        return ok
    if scheme in ("sha256crypt", "sha512crypt"):
        ok = {"sha256crypt": sha256_crypt, "sha512crypt": sha512_crypt}[scheme].verify(pw, h)
        # openssl recomputes the same string from the stored setting (salt, rounds).
        setting = h[3:h.rindex("$")]
        assert ok == (openssl_passwd("-5" if scheme == "sha256crypt" else "-6", setting, pw) == h)
        return ok
    raise ValueError(scheme)


def passlib_builtin_bcrypt_verify(pw, h):
    """passlib's pure-Python bcrypt, which truncates at 72 bytes by itself."""
    os.environ["PASSLIB_BUILTIN_BCRYPT"] = "enabled"
    from passlib.hash import bcrypt as passlib_bcrypt
    passlib_bcrypt.set_backend("builtin")
    return passlib_bcrypt.verify(pw, h)


def main():
    warnings.simplefilter("ignore")          # passlib's deprecation noise
    accounts = build_accounts()
    write_files(accounts)
    by_id = {a["id"]: a for a in accounts}

    # ---- read everything back from disk ----
    with open(HERE / "customers.csv", newline="", encoding="utf-8") as fh:
        cust = list(csv.DictReader(fh))
    assert [r["account_id"] for r in cust] == [a["id"] for a in accounts]
    assert [r["password_hash"] for r in cust] == [a["hash"] for a in accounts]
    by_login = {r["login"].lower(): r for r in cust}
    assert len(by_login) == len(cust)

    hits = {}          # account_id -> [sightings, first line]
    seen = {}          # account_id -> [(line, matched)] in dump order
    for n, line in enumerate((HERE / "dump.txt").read_bytes().split(b"\n")[:-1], 1):
        if line.startswith(b"#"):
            continue
        login, pw = line.split(b":", 1)
        r = by_login[login.decode().lower()]
        ok = verify(by_id[r["account_id"]]["scheme"], r["password_hash"], pw)
        seen.setdefault(r["account_id"], []).append((n, ok))
        if ok:
            e = hits.setdefault(r["account_id"], [0, n])
            e[0] += 1
            e[1] = min(e[1], n)

    # ---- the dump says what each account meant it to ----
    for a in accounts:
        got = [ok for _, ok in seen[a["id"]]]
        want = {WF: [False, True], RF: [True, False], WO: [False]}[a["order"]]
        assert got == want, (a["id"], a["what"], got, want)
        # every account's own password verifies with the reference library
        if a["password"] not in (PW73,):
            assert verify(a["scheme"], a["hash"], u8(a["password"])), a["id"]
    # bcrypt's 72-byte rule, checked by a second implementation that truncates itself
    h73 = next(a["hash"] for a in accounts if a["password"] == PW73)
    h71 = next(a["hash"] for a in accounts if a["password"] == PW71)
    assert passlib_builtin_bcrypt_verify(u8(PW73), h73)
    assert passlib_builtin_bcrypt_verify(u8(PW73)[:72], h73)
    assert passlib_builtin_bcrypt_verify(u8(PW71), h71)
    assert not passlib_builtin_bcrypt_verify(u8(PW71) + b"!", h71)

    # ---- expected output ----
    nd = []
    for aid in sorted(hits, key=lambda s: s.encode()):
        count, line = hits[aid]
        a = by_id[aid]
        rec = {"account_id": aid, "login": a["login"], "reason": "password_match",
               "scheme": a["scheme"], "sightings": count,
               "first_seen": {"file": "%s/dump.txt" % PREFIX, "line": line}}
        nd.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    (HERE / "expected.ndjson").write_bytes(("\n".join(nd) + "\n").encode("utf-8"))

    per_scheme = {}
    for a in accounts:
        e = per_scheme.setdefault(a["scheme"], [0, 0])
        e[0] += 1
        e[1] += a["id"] in hits
    print("accounts: %d, matched: %d" % (len(accounts), len(hits)))
    for s, (n, m) in sorted(per_scheme.items()):
        print("  %-22s accounts=%d matched=%d" % (s, n, m))
    print("wrong first (review with --max-checks 1):",
          " ".join(a["id"] for a in accounts if a["order"] == WF))
    print("wrong only:", " ".join(a["id"] for a in accounts if a["order"] == WO))


if __name__ == "__main__":
    sys.exit(main())
