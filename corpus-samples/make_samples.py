#!/usr/bin/env python3
"""Regenerate the leakmatch test corpus in corpus-samples/.

Run from the repository root:

    python3 corpus-samples/make_samples.py

Writes customers.csv, dumps/**, and expected/scan.{ndjson,csv,ids}.
Every salt is fixed, so the output is byte-for-byte reproducible (given the
same library versions). The expected output is computed by an independent
oracle: the dump files are re-read from disk, parsed with the documented
rules, and every credential is verified against every customer hash with
hashlib / passlib / bcrypt / argon2-cffi.
"""
import base64
import csv
import gzip
import hashlib
import io
import json
import random
import re
import shutil
import sys
from pathlib import Path

import bcrypt
from argon2 import low_level as argon2_ll
from passlib.hash import (
    nthash,
    pbkdf2_sha1 as passlib_pbkdf2_sha1,
    pbkdf2_sha256 as passlib_pbkdf2_sha256,
    pbkdf2_sha512 as passlib_pbkdf2_sha512,
    sha256_crypt,
    sha512_crypt,
)

HERE = Path(__file__).resolve().parent          # .../corpus-samples
PREFIX = "corpus-samples/dumps"                 # path prefix as printed by leakmatch
RNG = random.Random(20240601)                   # only used to pick fixed salts

SLOW_SCHEMES = {
    "bcrypt", "argon2id", "argon2i", "argon2d", "django_pbkdf2_sha256",
    "django_pbkdf2_sha1", "pbkdf2_sha256", "pbkdf2_sha512", "pbkdf2_sha1",
    "sha256crypt", "sha512crypt",
}
SLOW_BUDGET = 4

# --------------------------------------------------------------------------
# Hash builders (all with fixed salts)
# --------------------------------------------------------------------------
BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
CRYPT_B64 = BCRYPT_B64
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def u8(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def fixed_bytes(n):
    return bytes(RNG.randrange(256) for _ in range(n))


def fixed_chars(n, alphabet):
    return "".join(RNG.choice(alphabet) for _ in range(n))


def h_sha1(pw, upper=False):
    h = hashlib.sha1(u8(pw)).hexdigest()
    return h.upper() if upper else h


def h_ldap_sha1(pw):
    return "{SHA}" + base64.b64encode(hashlib.sha1(u8(pw)).digest()).decode()


def h_ldap_ssha1(pw, salt_len):
    salt = fixed_bytes(salt_len)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(u8(pw) + salt).digest() + salt).decode()


def h_django_sha1(pw):
    salt = fixed_chars(12, ALNUM)
    return "sha1$%s$%s" % (salt, hashlib.sha1(salt.encode() + u8(pw)).hexdigest())


def h_nt(pw):
    return "$NT$" + nthash.hash(pw)


def h_bcrypt(pw, ident, cost):
    # 22 salt chars; the last one only carries 2 bits -> pick a canonical char.
    salt = fixed_chars(21, BCRYPT_B64) + RNG.choice(".Oeu")
    setting = ("$%s$%02d$%s" % (ident, cost, salt)).encode()
    # bcrypt>=5 refuses >72-byte input; bcrypt itself only uses the first 72 bytes.
    h = bcrypt.hashpw(u8(pw)[:72], setting).decode()
    assert h.startswith("$%s$%02d$" % (ident, cost)), h
    return h


ARGON2_TYPES = {"argon2id": argon2_ll.Type.ID, "argon2i": argon2_ll.Type.I, "argon2d": argon2_ll.Type.D}


def h_argon2(pw, kind, version, memory_cost):
    return argon2_ll.hash_secret(
        u8(pw), fixed_bytes(16), time_cost=1, memory_cost=memory_cost, parallelism=1,
        hash_len=32, type=ARGON2_TYPES[kind], version=version,
    ).decode()


def h_django_pbkdf2(pw, alg, iters=1000):
    salt = fixed_chars(12, ALNUM)
    dk = hashlib.pbkdf2_hmac(alg, u8(pw), salt.encode(), iters)
    return "pbkdf2_%s$%d$%s$%s" % (alg, iters, salt, base64.b64encode(dk).decode())


def h_passlib_pbkdf2(pw, alg):
    salt = fixed_bytes(16)
    handler = {"sha1": passlib_pbkdf2_sha1, "sha256": passlib_pbkdf2_sha256,
               "sha512": passlib_pbkdf2_sha512}[alg]
    h = handler.using(rounds=1000, salt=salt).hash(pw)
    if alg == "sha1":
        # passlib's pbkdf2_sha1 emits the legacy "$pbkdf2$" ident; the corpus
        # wants the explicit "$pbkdf2-sha1$" ident (same ab64 salt/checksum).
        assert h.startswith("$pbkdf2$1000$"), h
        h = "$pbkdf2-sha1$" + h[len("$pbkdf2$"):]
    return h


def h_sha256crypt(pw):
    h = sha256_crypt.using(rounds=1000, salt=fixed_chars(16, CRYPT_B64)).hash(pw)
    assert h.startswith("$5$rounds=1000$"), h
    return h


def h_sha512crypt(pw):
    h = sha512_crypt.using(rounds=5000, salt=fixed_chars(16, CRYPT_B64)).hash(pw)
    assert h.startswith("$6$") and "rounds=" not in h, h
    return h


LONG_BCRYPT_PW = "correct horse battery staple, " * 3   # 90 bytes
LONG_BCRYPT_DUMP_PW = LONG_BCRYPT_PW[:72] + "<-- the tail differs after byte 72"
assert len(LONG_BCRYPT_PW.encode()) > 72 and LONG_BCRYPT_DUMP_PW != LONG_BCRYPT_PW

# --------------------------------------------------------------------------
# Customers: (login as registered, created_at, scheme, password, hash-maker,
#             force-quote login, force-quote created_at)
# --------------------------------------------------------------------------
CUSTOMER_SPECS = [
    ("alice@example.com", "2019-01-04", "sha1", "secret", lambda p: h_sha1(p)),
    ("Bob.Smith@Example.com", "2019-02-11", "sha1", "hunter2", lambda p: h_sha1(p, upper=True)),
    ("ÉLODIE@exemple.fr", "2019-03-15", "sha1", "pässwörd€", lambda p: h_sha1(p)),
    ("carol@example.org", "Mar 3, 2020", "ldap_sha1", "carol-pass!", h_ldap_sha1),
    ("dave", "2020-04-01", "ldap_ssha1", "d4ve", lambda p: h_ldap_ssha1(p, 4)),
    ("Eve@Example.net", "2020-05-05", "ldap_ssha1", "eve;semi|pipe", lambda p: h_ldap_ssha1(p, 8)),
    ("frank@example.com", "2020-06-06", "ldap_ssha1", "Fr@nk:2020", lambda p: h_ldap_ssha1(p, 16)),
    ("gina@example.com", "2020-07-07", "django_sha1", "gina1234", h_django_sha1),
    ("wang.wei@example.cn", "2020-08-08", "nt", "密码123", h_nt),
    ("Henry@Example.com", "2020-09-09", "nt", "Password1", h_nt),
    ("ivan@example.com", "2021-01-10", "bcrypt", "ivanpass", lambda p: h_bcrypt(p, "2b", 4)),
    ("Julia@Example.com", "2021-01-11", "bcrypt", "julia!2a", lambda p: h_bcrypt(p, "2a", 4)),
    ("kate@example.com", "2021-01-12", "bcrypt", "kate-2y-pw", lambda p: h_bcrypt(p, "2y", 5)),
    ("LongPW@example.com", "2021-01-13", "bcrypt", LONG_BCRYPT_PW, lambda p: h_bcrypt(p, "2b", 4)),
    ("liam@example.com", "2021-02-14", "argon2id", "liam-argon2id", lambda p: h_argon2(p, "argon2id", 19, 64)),
    ("mia@example.com", "2021-02-15", "argon2i", "mia-argon2i", lambda p: h_argon2(p, "argon2i", 19, 128)),
    ("noah@example.com", "2021-02-16", "argon2d", "noah-argon2d", lambda p: h_argon2(p, "argon2d", 19, 256)),
    ("olivia@example.com", "2021-02-17", "argon2i", "olivia-v16", lambda p: h_argon2(p, "argon2i", 16, 64)),
    ("paul@example.com", "Jul 4, 2021", "django_pbkdf2_sha256", "paul,comma", lambda p: h_django_pbkdf2(p, "sha256")),
    ("Quinn@Example.com", "2021-03-19", "django_pbkdf2_sha1", 'p"q\\r', lambda p: h_django_pbkdf2(p, "sha1")),
    ("rachel@example.com", "2021-03-20", "pbkdf2_sha256", "rachel-pbkdf2", lambda p: h_passlib_pbkdf2(p, "sha256")),
    ("sam@example.com", "2021-03-21", "pbkdf2_sha512", "sam512", lambda p: h_passlib_pbkdf2(p, "sha512")),
    ("tina@example.com", "2021-03-22", "pbkdf2_sha1", "été", lambda p: h_passlib_pbkdf2(p, "sha1")),
    ("uma@example.com", "2021-04-23", "sha256crypt", 'uma-"256"', h_sha256crypt),
    ("victor@example.com", "2021-04-24", "sha512crypt", "victor-sha512", h_sha512crypt),
    ("  Spacey@Example.com ", "2021-05-25", "sha1", "spacey pw ", lambda p: h_sha1(p)),
    ("dup@example.com", "2021-06-01", "sha1", "dup-first", lambda p: h_sha1(p)),
    ("Dup@Example.com", "Dec 24, 2021", "bcrypt", "dup-second", lambda p: h_bcrypt(p, "2b", 4)),
    ("wrongonly@example.com", "2022-01-01", "sha1", "the-right-one", lambda p: h_sha1(p)),
    ("xavier@example.com", "2022-01-02", "bcrypt", "xavier-right", lambda p: h_bcrypt(p, "2b", 4)),
    ("yara@example.com", "2022-01-03", "argon2id", "yara-right", lambda p: h_argon2(p, "argon2id", 19, 64)),
    ("zoe@example.com", "2022-01-04", "ldap_sha1", "zoe-never", h_ldap_sha1),
    ("neverseen", "2022-01-05", "pbkdf2_sha256", "never-in-a-dump", lambda p: h_passlib_pbkdf2(p, "sha256")),
    ("ghost@example.com", "2022-01-06", "nt", "boo!", h_nt),
    ("mallory@example.com", "2022-02-07", "sha1", "123456", lambda p: h_sha1(p)),
    ("emoji@example.com", "2022-02-08", "django_sha1", "😀smile", h_django_sha1),
    ("multi@example.com", "2022-02-09", "sha1", "line1\nline2", lambda p: h_sha1(p)),
    ("csvuser", "2022-02-10", "ldap_sha1", "csv-pw", h_ldap_sha1),
    ("gzuser@example.com", "2022-02-11", "sha256crypt", "gz-pass", h_sha256crypt),
    ("Bob", "2022-02-12", "sha1", "droidpw", lambda p: h_sha1(p)),
]
FORCE_QUOTE_LOGIN = {"  Spacey@Example.com "}


def build_customers():
    out = []
    for i, (login, created, scheme, pw, maker) in enumerate(CUSTOMER_SPECS, 1):
        out.append({"id": "acct-%04d" % i, "login": login, "created_at": created,
                    "scheme": scheme, "password": pw, "hash": maker(pw)})
    return out


def csv_field(value, force=False):
    if force or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_customers(customers):
    lines = ["login,account_id,created_at,password_hash"]
    for c in customers:
        lines.append(",".join([
            csv_field(c["login"], force=c["login"] in FORCE_QUOTE_LOGIN),
            csv_field(c["id"]),
            csv_field(c["created_at"]),
            csv_field(c["hash"]),
        ]))
    (HERE / "customers.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


# --------------------------------------------------------------------------
# Dump construction. Each builder records what it *intends* each line to be;
# the oracle later re-parses the bytes and the two must agree.
# --------------------------------------------------------------------------
class LineFile:
    """A non-CSV dump: list of (content bytes, terminator, intent)."""

    def __init__(self, bom=False):
        self.bom = bom
        self.lines = []

    def cred(self, content, login, pw, end=b"\n"):
        self.lines.append((u8(content), end, ("cred", u8(login), u8(pw))))

    def c(self, login, pw, sep=":", end=b"\n"):
        self.cred(u8(login) + u8(sep) + u8(pw), login, pw, end)

    def skip(self, content, why, end=b"\n"):
        self.lines.append((u8(content), end, ("skip", why)))

    def data(self):
        body = b"".join(content + end for content, end, _ in self.lines)
        return (b"\xef\xbb\xbf" if self.bom else b"") + body

    def intents(self):
        return [(n, intent) for n, (_, _, intent) in enumerate(self.lines, 1)]


class CsvFile:
    """A CSV dump: header + rows of fields; intent per record."""

    def __init__(self, header, login_col, pw_col):
        self.header = header
        self.login_col, self.pw_col = login_col, pw_col
        self.rows = []  # (fields, force_quote_set)

    def row(self, fields, force=()):
        self.rows.append((fields, set(force)))

    def data(self):
        out = [",".join(csv_field(h) for h in self.header)]
        for fields, force in self.rows:
            out.append(",".join(csv_field(f, i in force) for i, f in enumerate(fields)))
        return ("\n".join(out) + "\n").encode("utf-8")

    def intents(self):
        res, line = [], 2
        for fields, _ in self.rows:
            login, pw = fields[self.login_col], fields[self.pw_col]
            if login.strip() and pw:
                res.append((line, ("cred", u8(login), u8(pw))))
            else:
                res.append((line, ("skip", "empty")))
            line += 1 + sum(f.count("\n") for f in fields)
        return res


def build_dumps():
    files = {}

    # ---- combo.txt -------------------------------------------------------
    f = LineFile(bom=True)
    f.c("alice@example.com", "secret")                                # 1 (after BOM)
    f.c("Bob.Smith@example.com", "hunter2", "|", b"\r\n")             # 2
    f.skip("", "blank")                                                # 3
    f.skip("# mallory@example.com:123456", "comment")                  # 4
    f.skip("   \t  ", "blank")                                         # 5
    f.c("dave", "d4ve", ";", b"\r\n")                                  # 6
    f.c("élodie@exemple.fr", "pässwörd€")                              # 7
    f.c("gina@example.com", "gina1234", "\t")                          # 8
    f.cred("a@b.c:pa:ss", "a@b.c", "pa:ss")                            # 9
    f.c("eve@example.net", "eve;semi|pipe")                            # 10
    f.skip("no separator on this line at all", "no_sep")               # 11
    f.skip(b"mallory@example.com:123456\x00", "binary")                # 12
    f.skip(b"\xff\xfe\x80garbage\xc3\x28bytes \xe2\x82", "no_sep")     # 13
    f.cred(b"alice@example.com:sec\xffret", "alice@example.com", b"sec\xffret")  # 14
    f.cred("  ALICE@Example.COM :secret", "  ALICE@Example.COM ", "secret")     # 15
    f.c("wang.wei@example.cn", "密码123", ":", b"\r\n")                # 16
    f.c("WANG.WEI@example.cn", "密码1234")                             # 17 wrong
    f.c("spacey@example.com", "spacey pw ")                            # 18 (trailing space is part of pw)
    f.c("Spacey@Example.com", "spacey pw")                             # 19 wrong
    f.c("wrongonly@example.com", "nope1")                              # 20
    f.c("wrongonly@example.com", "nope2", ";", b"\r\n")                # 21
    f.cred("alice@example.com:secret\r", "alice@example.com", "secret\r", b"\r\n")  # 22 only one \r stripped
    f.skip("alice@example.com:", "empty_password")                     # 23
    f.skip("   :secret", "empty_login")                                # 24
    f.c("dup@example.com", "dup-first")                                # 25
    f.c("xavier@example.com", "xavier1")                               # 26 wrong
    f.c("Henry@Example.com", "Password1")                              # 27
    f.cred(b"BAD\xffUSER@example.com:pw", b"BAD\xffUSER@example.com", "pw")  # 28 invalid UTF-8 login
    f.c("ivan@example.com", "wrong-ivan")                              # 29 wrong
    f.skip("   #alice@example.com:secret", "comment")                  # 30
    f.skip("#", "comment")                                             # 31
    f.c("kate@example.com", "kate-2y-pw", "|")                         # 32
    f.c("longpw@example.com", LONG_BCRYPT_DUMP_PW)                     # 33 bcrypt 72-byte truncation
    f.c("yara@example.com", "yara-wrong1")                             # 34 wrong
    f.c("mia@example.com", "mia-argon2i")                              # 35
    f.c("olivia@example.com", "olivia-v16", ":", b"\r\n")              # 36
    f.c("rachel@example.com", "rachel-pbkdf2", "\t")                   # 37
    f.skip(" ", "blank", b"\r\n")                                      # 38
    f.c("ivan@example.com", "ivanpass", ":", b"")                      # 39 no trailing newline
    files["combo.txt"] = f

    # ---- export.csv --------------------------------------------------------
    f = CsvFile(["id", "Email", "Password", "ip"], 1, 2)
    f.row(["1", "paul@example.com", "paul,comma", "10.0.0.1"])           # 2
    f.row(["2", "Quinn@Example.com", 'wrong"pw', "10.0.0.2"])            # 3 wrong
    f.row(["3", "multi@example.com", "line1\nline2", "10.0.0.3"])        # 4-5
    f.row(["4", "Kate@Example.com", "kate-2y-pw", "10.0.0.4"])           # 6
    f.row(["5", "", "orphan-password", "10.0.0.5"])                      # 7 empty login
    f.row(["6", "victor@example.com", "", "10.0.0.6"])                   # 8 empty password
    f.row(["7", "uma@example.com", 'uma-"256"', "10.0.0.7"])             # 9
    f.row(["8", " Alice@Example.com ", "secret", "10.0.0.8"], force=[1])  # 10
    f.row(["9", "sam@example.com", "sam512", "10.0.0.9"], force=[3])     # 11
    f.row(["10", "dup@example.com", "dup-second", "10.0.0.10"])          # 12
    f.row(["11", "paul@example.com", "paul-wrong", "10.0.0.11"])         # 13 wrong
    files["export.csv"] = f

    # ---- leak.jsonl ---------------------------------------------------------
    f = LineFile()
    f.cred(r'{"email":"tina@example.com","username":"ignored","pass":"\u00e9t\u00e9","ip":"1.2.3.4"}',
           "tina@example.com", "été")                                                      # 1
    f.cred(r'{"login":"  Quinn@Example.com ","password":"p\"q\\r","meta":{"src":"x","n":[1,2]}}',
           "  Quinn@Example.com ", 'p"q\\r')                                               # 2
    f.cred('{"username": "noah@example.com", "passwd": "noah-argon2d"}', "noah@example.com", "noah-argon2d")  # 3
    f.cred('{"user":"liam@example.com","pwd":"liam-argon2id"}', "liam@example.com", "liam-argon2id")       # 4
    f.cred('{"mail":"victor@example.com","password":"victor-sha512"}', "victor@example.com", "victor-sha512")  # 5
    f.cred(r'{"email":"emoji@example.com","password":"\ud83d\ude00smile"}', "emoji@example.com", "😀smile")  # 6
    f.skip('{"email":"alice@example.com","password":"secret"', "invalid_json")             # 7
    f.skip('{"email":"sam@example.com","note":"no password here"}', "json_missing")         # 8
    f.skip('{"email":"mallory@example.com","password":123456}', "json_missing")     # 9
    f.cred('  {"email":"sam@example.com","password":"sam512"}', "sam@example.com", "sam512", b"\r\n")  # 10
    f.cred('{"email":"rachel@example.com","password":"rachel-wrong","pass":"rachel-pbkdf2"}',
           "rachel@example.com", "rachel-wrong")                                           # 11 key priority
    f.cred('{"login":"mia@example.com","email":"alice@example.com","password":"secret"}',
           "alice@example.com", "secret")                                                  # 12 key priority
    f.c("olivia@example.com", "olivia-wrong")                                              # 13 plain combo line
    f.skip("{}", "json_missing")                                                               # 14
    f.cred(r'{"email":"ÉLODIE@EXEMPLE.FR","password":"p\u00e4ssw\u00f6rd\u20ac"}',
           "ÉLODIE@EXEMPLE.FR", "pässwörd€")                                               # 15
    files["leak.jsonl"] = f

    # ---- nested/export2.csv.gz ---------------------------------------------
    f = CsvFile(["username", "pwd"], 0, 1)
    f.row(["csvuser", "csv-pw"])                 # 2
    f.row(["Dup@Example.com", "dup-second"])     # 3
    f.row(["Dup@Example.com", "dup-first"])      # 4
    f.row(["xavier@example.com", "xavier2"])     # 5 wrong
    f.row(["noah@example.com", "noah-argon2d"])  # 6
    files["nested/export2.csv.gz"] = f

    # ---- nested/more.txt.gz ------------------------------------------------
    f = LineFile()
    f.skip("# gzipped combo list", "comment")                          # 1
    f.c("gzuser@example.com", "gz-pass")                               # 2
    f.c("alice@example.com", "secret", ";")                            # 3
    tail = b"gzuser@example.com:gz-pass"
    pad = b" " * (65536 - len(tail))
    f.cred(pad + tail, pad + b"gzuser@example.com", "gz-pass")  # 4: exactly 65536 bytes -> kept
    tail = b"mallory@example.com:123456"
    f.skip(b" " * (65537 - len(tail)) + tail, "too_long")              # 5: 65537 bytes -> skipped
    f.c("yara@example.com", "yara-wrong2")                             # 6 wrong
    f.c("henry@example.com", "Password1", "|")                         # 7
    f.c("julia@example.com", "julia!2a")                               # 8
    f.c("ivan@example.com", "IVANPASS")                                # 9 wrong
    files["nested/more.txt.gz"] = f

    # ---- stealer.txt -------------------------------------------------------
    f = LineFile()
    f.cred("https://x.example:8443/login:frank@example.com:Fr@nk:2020", "frank@example.com", "Fr@nk:2020")  # 1
    f.cred("https://site.com/path/to:alice@example.com:secret", "alice@example.com", "secret")   # 2
    f.cred("http://host.tld:carol@example.org:carol-pass!", "carol@example.org", "carol-pass!")  # 3
    f.cred("android://abc==@com.app/:bob:droidpw", "bob", "droidpw")                            # 4
    f.cred("https://x.example:8443:gzuser@example.com:gz-pass", "gzuser@example.com", "gz-pass")  # 5 port then ':'
    f.c("eve@example.net", "eve;semi|pipe", "|")                                                # 6
    f.skip("https://nocolon.example/path/only", "url_nothing_left")                             # 7
    f.skip("https://x.example:8443/nothing-after-port", "url_nothing_left")                     # 8
    f.cred("ftp://files.example.com:21/pub:dave:d4ve", "dave", "d4ve", b"\r\n")                 # 9
    f.cred('HTTPS://Site.Example/:Uma@Example.com:uma-"256"', "Uma@Example.com", 'uma-"256"')   # 10
    f.cred("https://site.com/login:liam@example.com:liam-wrong", "liam@example.com", "liam-wrong")  # 11
    f.cred("x-app+v1.2://host:kate@example.com:kate-2y-pw", "kate@example.com", "kate-2y-pw")   # 12
    # 6 digits is not a port: the text after the first ':' is "123456/login:ivan@..."
    f.cred("https://host.example:123456/login:ivan@example.com:ivanpass",
           "123456/login", "ivan@example.com:ivanpass")                                        # 13
    f.skip("https://x.example:80:pw", "no_sep")                                                 # 14
    f.c("Bob.Smith@Example.com", "hunter2")                                                     # 15
    f.c("frank@example.com", "Fr@nk:2020", "\t")                                                # 16
    files["stealer.txt"] = f
    return files


def write_dumps(files):
    root = HERE / "dumps"
    if root.exists():
        shutil.rmtree(root)
    for rel, f in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = f.data()
        if rel.endswith(".gz"):
            data = gzip.compress(data, compresslevel=9, mtime=0)
        p.write_bytes(data)


# --------------------------------------------------------------------------
# Oracle: parse the files back from disk with the documented rules
# --------------------------------------------------------------------------
WS = b" \t\r\n\x0c"
URL_RE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://")
LOGIN_KEYS = ("email", "login", "username", "user", "mail")
PW_KEYS = ("password", "pass", "passwd", "pwd")


def normalise_login(raw):
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.strip(WS).lower()          # ASCII-only lowercase
    return s.strip(WS.decode()).lower().encode("utf-8")


def split_pair(rest):
    for i, b in enumerate(rest):
        if b in b":;|\t":
            return rest[:i], rest[i + 1:]
    return None


def parse_text_line(line):
    """Returns ('cred', login_raw, pw) or ('skip', reason)."""
    if not line.strip(WS):
        return ("skip", "blank")
    if b"\x00" in line:
        return ("skip", "binary")
    if len(line) > 65536:
        return ("skip", "too_long")
    first = line.lstrip(WS)[:1]
    if first == b"#":
        return ("skip", "comment")
    if first == b"{":
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return ("skip", "invalid_json")
        if not isinstance(obj, dict):
            return ("skip", "invalid_json")
        login = next((obj[k] for k in LOGIN_KEYS if isinstance(obj.get(k), str)), None)
        pw = next((obj[k] for k in PW_KEYS if isinstance(obj.get(k), str)), None)
        if login is None or pw is None:
            return ("skip", "json_missing")
        login, pw = login.encode("utf-8"), pw.encode("utf-8")
    else:
        rest = line
        m = URL_RE.match(line)
        if m:
            pos = line.find(b":", m.end())
            if pos < 0:
                return ("skip", "url_nothing_left")
            d = re.match(rb"[0-9]{1,5}(?=[/:])", line[pos + 1:])
            if d:
                pos = pos + 1 + d.end()
                if line[pos:pos + 1] == b"/":
                    pos = line.find(b":", pos)
                    if pos < 0:
                        return ("skip", "url_nothing_left")
            rest = line[pos + 1:]
        pair = split_pair(rest)
        if pair is None:
            return ("skip", "no_sep")
        login, pw = pair
    if not normalise_login(login):
        return ("skip", "empty_login")
    if not pw:
        return ("skip", "empty_password")
    return ("cred", login, pw)


def parse_text_file(data):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    out = []
    for n, line in enumerate(parts, 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        out.append((n, parse_text_line(line)))
    return out


def parse_csv_file(data):
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = [h.strip().lower() for h in next(reader)]
    li = next(header.index(k) for k in LOGIN_KEYS if k in header)
    pi = next(header.index(k) for k in PW_KEYS if k in header)
    out = []
    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        assert len(rec) == len(header), rec
        login, pw = rec[li].encode("utf-8"), rec[pi].encode("utf-8")
        if not normalise_login(login) or not pw:
            out.append((start, ("skip", "empty")))
        else:
            out.append((start, ("cred", login, pw)))
    return out


def walk_dumps():
    root = HERE / "dumps"
    paths = [p for p in root.rglob("*") if p.is_file()]
    paths.sort(key=lambda p: p.relative_to(root).parts)     # component-wise, like Rust Path ordering
    assert [p.relative_to(root).as_posix() for p in paths] == sorted(
        p.relative_to(root).as_posix() for p in paths), "component order differs from plain order"
    for p in paths:
        rel = p.relative_to(root).as_posix()
        data = p.read_bytes()
        inner = rel
        if rel.endswith(".gz"):
            data = gzip.decompress(data)
            inner = rel[:-3]
        parsed = parse_csv_file(data) if inner.endswith(".csv") else parse_text_file(data)
        yield rel, parsed


# --------------------------------------------------------------------------
# Oracle: verification
# --------------------------------------------------------------------------
def verify(scheme, h, pw):
    """pw: bytes from the dump."""
    if scheme == "sha1":
        return hashlib.sha1(pw).hexdigest() == h.lower()
    if scheme == "ldap_sha1":
        return base64.b64decode(h[5:]) == hashlib.sha1(pw).digest()
    if scheme == "ldap_ssha1":
        raw = base64.b64decode(h[6:])
        return hashlib.sha1(pw + raw[20:]).digest() == raw[:20]
    if scheme == "django_sha1":
        _, salt, hexd = h.split("$")
        return hashlib.sha1(salt.encode() + pw).hexdigest() == hexd
    if scheme == "nt":
        s = pw.decode("utf-8")   # main() asserts nt candidates are valid UTF-8
        ok = nthash.verify(s, h[4:])
        if "md4" in hashlib.algorithms_available:
            assert ok == (hashlib.new("md4", s.encode("utf-16-le")).hexdigest() == h[4:].lower())
        return ok
    if scheme == "bcrypt":
        return bcrypt.checkpw(pw[:72], h.encode())
    if scheme in ARGON2_TYPES:
        try:
            return argon2_ll.verify_secret(h.encode(), pw, ARGON2_TYPES[scheme])
        except Exception as e:   # argon2.exceptions.VerifyMismatchError
            if type(e).__name__ == "VerifyMismatchError":
                return False
            raise
    if scheme.startswith("django_pbkdf2_"):
        alg, iters, salt, b64 = h.split("$")
        dk = hashlib.pbkdf2_hmac(alg[len("pbkdf2_"):], pw, salt.encode(), int(iters))
        return base64.b64encode(dk).decode() == b64
    if scheme in ("pbkdf2_sha1", "pbkdf2_sha256", "pbkdf2_sha512"):
        alg = scheme[len("pbkdf2_"):]
        _, ident, iters, salt, chk = h.split("$")
        assert ident == "pbkdf2-" + alg
        ab64 = lambda s: base64.b64decode(s.replace(".", "+") + "=" * (-len(s) % 4))
        ok = hashlib.pbkdf2_hmac(alg, pw, ab64(salt), int(iters)) == ab64(chk)
        plh = h if alg != "sha1" else "$pbkdf2$" + h[len("$pbkdf2-sha1$"):]
        handler = {"sha1": passlib_pbkdf2_sha1, "sha256": passlib_pbkdf2_sha256,
                   "sha512": passlib_pbkdf2_sha512}[alg]
        assert handler.verify(pw, plh) == ok
        return ok
    if scheme == "sha256crypt":
        return sha256_crypt.verify(pw, h)
    if scheme == "sha512crypt":
        return sha512_crypt.verify(pw, h)
    raise ValueError(scheme)


def read_customers():
    with open(HERE / "customers.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows


def main():
    customers = build_customers()
    write_customers(customers)
    files = build_dumps()
    write_dumps(files)
    scheme_of = {c["id"]: c["scheme"] for c in customers}
    pw_of = {c["id"]: c["password"] for c in customers}

    # ---- re-read everything from disk ----
    cust_rows = read_customers()
    assert [r["account_id"] for r in cust_rows] == [c["id"] for c in customers]
    assert len({r["account_id"] for r in cust_rows}) == len(cust_rows)
    by_login = {}
    for r in cust_rows:
        by_login.setdefault(normalise_login(r["login"].encode("utf-8")), []).append(r)

    hits = {}         # account_id -> [sightings, (file_index, line, file)]
    candidates = {}   # account_id -> set of passwords
    total_creds = 0
    for file_index, (rel, parsed) in enumerate(walk_dumps()):
        intents = files[rel].intents()
        assert len(intents) == len(parsed), (rel, len(intents), len(parsed))
        for (n, res), (m, intent) in zip(parsed, intents):
            assert n == m and res == intent, ("oracle disagrees with intent", rel, n, repr(res)[-200:], repr(intent)[-200:])
        for (n, res), (_, intent) in zip(parsed, intents):
            if res[0] != "cred":
                continue
            total_creds += 1
            _, login, pw = res
            for r in by_login.get(normalise_login(login), []):
                aid = r["account_id"]
                candidates.setdefault(aid, set()).add(pw)
                if scheme_of[aid] == "nt":
                    pw.decode("utf-8")   # keep nt candidates unambiguous
                if verify(scheme_of[aid], r["password_hash"], pw):
                    e = hits.setdefault(aid, [0, (file_index, n, rel)])
                    e[0] += 1
                    e[1] = min(e[1], (file_index, n, rel))

    # sanity: every account's own password verifies; slow budgets respected
    for c in customers:
        assert verify(c["scheme"], c["hash"], u8(c["password"])), c["id"]
    for aid, pws in candidates.items():
        if scheme_of[aid] in SLOW_SCHEMES:
            assert len(pws) <= SLOW_BUDGET, (aid, len(pws))
    assert verify("bcrypt", next(c["hash"] for c in customers if c["password"] == LONG_BCRYPT_PW),
                  u8(LONG_BCRYPT_DUMP_PW))

    # ---- expected output ----
    exp = HERE / "expected"
    exp.mkdir(exist_ok=True)
    login_of = {r["account_id"]: r["login"] for r in cust_rows}
    nd, cs, ids = [], ["account_id,login,reason,scheme,sightings,first_seen_file,first_seen_line,via,variant"], []
    for aid in sorted(hits, key=lambda a: a.encode()):
        count, (_, line, rel) = hits[aid]
        rec = {"account_id": aid, "login": login_of[aid], "reason": "password_match",
               "scheme": scheme_of[aid], "sightings": count,
               "first_seen": {"file": "%s/%s" % (PREFIX, rel), "line": line}}
        nd.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
        cs.append(",".join(csv_field(str(v)) for v in (
            aid, login_of[aid], "password_match", scheme_of[aid], count, rec["first_seen"]["file"], line,
            "", "")))
        ids.append(aid)
    (exp / "scan.ndjson").write_bytes(("\n".join(nd) + "\n").encode("utf-8"))
    (exp / "scan.csv").write_bytes(("\n".join(cs) + "\n").encode("utf-8"))
    (exp / "scan.ids").write_bytes(("\n".join(ids) + "\n").encode("utf-8"))

    per_scheme = {}
    for c in customers:
        per_scheme.setdefault(c["scheme"], [0, 0])[0] += 1
        if c["id"] in hits:
            per_scheme[c["scheme"]][1] += 1
    print("customers: %d, matched accounts: %d, credential lines parsed: %d"
          % (len(customers), len(hits), total_creds))
    for s, (n, m) in sorted(per_scheme.items()):
        print("  %-22s accounts=%d matched=%d" % (s, n, m))
    print("unmatched:", ", ".join(c["id"] for c in customers if c["id"] not in hits))


if __name__ == "__main__":
    sys.exit(main())
