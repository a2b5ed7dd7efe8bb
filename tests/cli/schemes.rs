//! The slow schemes' edge cases, against hashes made by the reference libraries.
//!
//! `corpus-samples/slow-schemes/` is written by `corpus-samples/make_slow_schemes.py`
//! (bcrypt, argon2-cffi, passlib, hashlib, `openssl passwd`): one account per edge case
//! (bcrypt idents and its 72-byte rule, argon2 types/versions/odd parameters, PBKDF2 at
//! 1 iteration, sha-crypt with and without `rounds=`, unicode passwords). In the dump
//! every account has two distinct candidates seen once each (the wrong one first or the
//! right one first), or a wrong one only. `expected.ndjson` is what the reference
//! libraries' own verify functions say about those dump lines.

use crate::util::*;

const CUSTOMERS: &str = "corpus-samples/slow-schemes/customers.csv";
const DUMP: &str = "corpus-samples/slow-schemes/dump.txt";

/// Accounts whose wrong password comes before the right one in the dump
/// (printed by `make_slow_schemes.py` as "wrong first").
const WRONG_FIRST: [&str; 16] = [
    "s01", "s03", "s05", "s07", "s09", "s11", "s13", "s15", "s18", "s20", "s23", "s24", "s27",
    "s28", "s30", "s32",
];

/// Accounts with only a wrong password in the dump (printed as "wrong only").
const WRONG_ONLY: [&str; 4] = ["s06", "s17", "s21", "s34"];

/// Every slow scheme name in the README's table.
const SLOW_SCHEMES: [&str; 11] = [
    "bcrypt",
    "argon2id",
    "argon2i",
    "argon2d",
    "django_pbkdf2_sha256",
    "django_pbkdf2_sha1",
    "pbkdf2_sha256",
    "pbkdf2_sha512",
    "pbkdf2_sha1",
    "sha256crypt",
    "sha512crypt",
];

fn expected() -> String {
    std::fs::read_to_string(root().join("corpus-samples/slow-schemes/expected.ndjson"))
        .expect("expected output present")
}

fn customer_count() -> usize {
    let text = std::fs::read_to_string(root().join(CUSTOMERS)).expect("customers present");
    text.lines().count() - 1
}

/// The dump's lines, 1-based (index 0 is unused).
fn dump_lines() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(DUMP)).expect("dump present");
    std::iter::once(String::new())
        .chain(text.lines().map(str::to_owned))
        .collect()
}

fn scan_schemes(extra: &[&str]) -> Run {
    let mut args = vec!["--customers", CUSTOMERS, "--quiet"];
    args.extend_from_slice(extra);
    args.push(DUMP);
    let run = scan(root(), &args);
    run.expect_code(0);
    run
}

/// The fixtures say what this module assumes about them.
#[test]
fn slow_scheme_fixtures_are_consistent() {
    let records = parse_resets(&expected());
    let lines = dump_lines();
    let n = customer_count();
    assert_eq!(records.len() + WRONG_ONLY.len(), n);
    for r in &records {
        assert!(
            !WRONG_ONLY.contains(&r.account_id.as_str()),
            "{}",
            r.account_id
        );
        let line = r.first_seen.line as usize;
        let login_of = |i: usize| lines[i].split(':').next().unwrap().to_owned();
        assert_eq!(login_of(line), r.login);
        // The other candidate is on the neighbouring line: before it for
        // "wrong first" accounts, after it for the others.
        let other = if WRONG_FIRST.contains(&r.account_id.as_str()) {
            line - 1
        } else {
            line + 1
        };
        assert_eq!(login_of(other), r.login, "{}", r.account_id);
    }
    for scheme in SLOW_SCHEMES {
        assert!(
            records.iter().any(|r| r.scheme == scheme),
            "no matching {scheme} account in the fixtures"
        );
    }
}

#[test]
fn slow_schemes_match_the_reference_libraries() {
    let dir = tmp();
    let stats = dir.path().join("stats.json");
    let run = scan_schemes(&["--stats", stats.to_str().unwrap()]);
    assert_eq!(run.stdout, expected());

    // Each account's candidates are tried in first-seen order and a match ends it:
    // two checks for "wrong first", one for "right first" and "wrong only".
    let st = read_stats(&stats);
    let matched = parse_resets(&expected()).len() as u64;
    let wrong_first = WRONG_FIRST.len() as u64;
    let wrong_only = WRONG_ONLY.len() as u64;
    assert_eq!(stat(&st, "customers"), customer_count() as u64);
    assert_eq!(stat(&st, "candidates"), 2 * matched + wrong_only);
    assert_eq!(
        stat(&st, "verifications"),
        matched + wrong_first + wrong_only
    );
    assert_eq!(stat(&st, "accounts_to_reset"), matched);
    assert_eq!(stat(&st, "accounts_for_review"), 0);

    // The same through a customer index, at one thread.
    let lmx = dir.path().join("customers.lmx");
    run_in(
        root(),
        &[
            "index",
            "--quiet",
            "--customers",
            CUSTOMERS,
            "-o",
            lmx.to_str().unwrap(),
        ],
        None,
    )
    .expect_code(0);
    let run = scan(
        root(),
        &["--index", lmx.to_str().unwrap(), "--quiet", "-j", "1", DUMP],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, expected());
}

#[test]
fn slow_schemes_one_check_leaves_wrong_first_for_review() {
    let dir = tmp();
    let review = dir.path().join("review.ndjson");
    let run = scan_schemes(&["--max-checks", "1", "--review", review.to_str().unwrap()]);

    // Confirmed: exactly the matching accounts whose right password came first.
    let want: Vec<Reset> = parse_resets(&expected())
        .into_iter()
        .filter(|r| !WRONG_FIRST.contains(&r.account_id.as_str()))
        .collect();
    assert_eq!(run.resets(), want);

    // For review: exactly the "wrong first" accounts, one of two candidates checked.
    // ("wrong only" accounts had their single candidate checked: not for review.)
    let all = parse_resets(&expected());
    let want: Vec<Review> = WRONG_FIRST
        .iter()
        .map(|id| {
            let r = all
                .iter()
                .find(|r| r.account_id == *id)
                .expect("a wrong-first account matches");
            Review {
                account_id: r.account_id.clone(),
                login: r.login.clone(),
                scheme: r.scheme.clone(),
                candidates: 2,
                checked: 1,
                sightings: 2,
                reason: "budget".into(),
            }
        })
        .collect();
    let got = parse_reviews(&std::fs::read_to_string(&review).expect("review written"));
    assert_eq!(got, want);
}

/// Regression (issue 21): an argon2 hash without `v=` (argon2 1.0, written by
/// libraries before 2016) never verified: the crate read it as version 0x13. The
/// hash is argon2-cffi's at `version=0x10` with `v=16$` removed, as those libraries
/// wrote it; passlib verifies it too. Found from the CSV and from an index.
#[test]
fn argon2_without_a_version_is_found() {
    let dir = tmp();
    let d = dir.path();
    let no_v =
        "$argon2i$m=256,t=2,p=1$c29tZXNhbHQtZml4ZWQxNg$P5P6uVmRv+hAey2zcu9kJE++8lEkO2brTRFD/pM0Hus";
    write_customers(d, &[("old-1", "old@x.example", no_v)]);
    write(
        d,
        "dumps/d.txt",
        "old@x.example:wrong\nold@x.example:pw-argon2-v10\n",
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), "old-1 argon2i 1 dumps/d.txt:2\n");
    run_in(
        d,
        &["index", "--customers", "customers.csv", "-o", "c.lmx"],
        None,
    )
    .expect_code(0);
    let run = scan(d, &["--index", "c.lmx", "dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), "old-1 argon2i 1 dumps/d.txt:2\n");
}

/// passlib's own known-correct vectors of the LDAP MD5, salted MD5, salted
/// SHA-256, salted SHA-512 and MySQL 4.1 schemes (`corpus-samples/more-schemes/`,
/// made by `make_more_schemes.py`; the expected list is what passlib's `verify`
/// says): every account is found, under its scheme's name (issue 21).
#[test]
fn ldap_and_mysql_schemes_match_passlib() {
    let run = scan(
        root(),
        &[
            "--customers",
            "corpus-samples/more-schemes/customers.csv",
            "corpus-samples/more-schemes/dump.txt",
        ],
    );
    run.expect_code(0);
    let expected =
        std::fs::read_to_string(root().join("corpus-samples/more-schemes/expected.ndjson"))
            .unwrap();
    assert_eq!(run.stdout, expected);
    assert_eq!(run.resets().len(), 26);
}
