//! A hostile flood of wrong passwords against slow-hash (bcrypt) accounts (issue 3):
//! the `--max-checks` budget bounds the work, the most-sighted candidate is tried
//! first, and accounts whose candidates were not all checked go to review, never to
//! the reset list.

use std::collections::BTreeSet;

use crate::util::*;

const ACCOUNTS: usize = 40;
const LEAKED: usize = 30;
const WRONG_PER_ACCOUNT: usize = 200;
const DEFAULT_MAX_CHECKS: u64 = 8;

fn id(i: usize) -> String {
    format!("flood-{i:02}")
}

fn login(i: usize) -> String {
    format!("victim{i:02}@flood.example")
}

fn real_password(i: usize) -> String {
    format!("Real-Pass-{i:02}!")
}

/// bcrypt cost 4, one fixed salt per account.
fn bcrypt_cost4(password: &str, i: usize) -> String {
    let mut salt = [0u8; 16];
    for (k, b) in salt.iter_mut().enumerate() {
        *b = (i * 31 + k * 7 + 1) as u8;
    }
    bcrypt::hash_with_salt(password, 4, salt)
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoB)
}

/// Writes customers.csv and dumps/flood.txt; accounts `0..LEAKED` have their real
/// password three times near the end of the dump, the others never.
fn setup() -> tempfile::TempDir {
    let dir = tmp();
    let d = dir.path();
    let rows: Vec<(String, String, String)> = (0..ACCOUNTS)
        .map(|i| (id(i), login(i), bcrypt_cost4(&real_password(i), i)))
        .collect();
    write_customers_owned(d, &rows);

    let mut dump = String::new();
    for round in 0..WRONG_PER_ACCOUNT {
        for i in 0..ACCOUNTS {
            dump.push_str(&format!("{}:wrong-{i:02}-{round:03}\n", login(i)));
        }
    }
    for _ in 0..3 {
        for i in 0..LEAKED {
            dump.push_str(&format!("{}:{}\n", login(i), real_password(i)));
        }
    }
    write(d, "dumps/flood.txt", dump);
    dir
}

/// Scans the flood for ids, with `--review review.ndjson --stats stats.json` and
/// `extra` flags.
fn scan_flood(d: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec!["--customers", "customers.csv", "--format", "ids"];
    args.extend_from_slice(extra);
    args.extend([
        "--review",
        "review.ndjson",
        "--stats",
        "stats.json",
        "dumps",
    ]);
    scan(d, &args)
}

#[test]
fn flood_is_bounded_by_the_budget_and_reviewed() {
    let dir = setup();
    let d = dir.path();
    let run = scan_flood(d, &[]);
    run.expect_code(0);

    // Every leaked account is found, and only those.
    let found: Vec<&str> = run.stdout.lines().collect();
    let want: Vec<String> = (0..LEAKED).map(id).collect();
    assert_eq!(found, want);
    let never: BTreeSet<String> = (LEAKED..ACCOUNTS).map(id).collect();
    assert!(found.iter().all(|f| !never.contains(*f)));

    // The ten others are under review, with the budget spent on each.
    let reviews = parse_reviews(&std::fs::read_to_string(d.join("review.ndjson")).unwrap());
    let reviewed: BTreeSet<String> = reviews.iter().map(|r| r.account_id.clone()).collect();
    assert_eq!(reviewed, never);
    for r in &reviews {
        let i: usize = r.account_id["flood-".len()..].parse().unwrap();
        assert_eq!(r.login, login(i));
        assert_eq!(r.scheme, "bcrypt");
        assert_eq!(r.candidates, WRONG_PER_ACCOUNT as u64, "{r:?}");
        assert_eq!(r.checked, DEFAULT_MAX_CHECKS, "{r:?}");
        assert_eq!(r.sightings, WRONG_PER_ACCOUNT as u64, "{r:?}");
    }
    // Sorted by account_id like the reset list.
    let order: Vec<&str> = reviews.iter().map(|r| r.account_id.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);

    let stats = read_stats(&d.join("stats.json"));
    assert_eq!(stat(&stats, "accounts_to_reset"), LEAKED as u64);
    assert_eq!(
        stat(&stats, "accounts_for_review"),
        (ACCOUNTS - LEAKED) as u64
    );
    let verifications = stat(&stats, "verifications");
    assert!(
        verifications <= ACCOUNTS as u64 * DEFAULT_MAX_CHECKS,
        "verifications {verifications} exceed the budget"
    );
    // The thrice-sighted real password is tried first: one check per leaked account.
    assert_eq!(
        verifications,
        LEAKED as u64 + (ACCOUNTS - LEAKED) as u64 * DEFAULT_MAX_CHECKS
    );
    assert_eq!(
        stat(&stats, "candidates"),
        (LEAKED * (WRONG_PER_ACCOUNT + 1) + (ACCOUNTS - LEAKED) * WRONG_PER_ACCOUNT) as u64
    );
}

#[test]
fn flood_ndjson_reset_list_has_sightings_and_first_seen_of_real_password() {
    let dir = setup();
    let d = dir.path();
    let run = scan(d, &["--customers", "customers.csv", "--quiet", "dumps"]);
    run.expect_code(0);
    let resets = run.resets();
    assert_eq!(resets.len(), LEAKED);
    let first_real_line = (ACCOUNTS * WRONG_PER_ACCOUNT) as u64 + 1;
    for (i, r) in resets.iter().enumerate() {
        assert_eq!(r.account_id, id(i));
        assert_eq!(r.scheme, "bcrypt");
        assert_eq!(r.sightings, 3, "{r:?}");
        assert_eq!(r.first_seen.file, "dumps/flood.txt");
        assert_eq!(r.first_seen.line, first_real_line + i as u64);
    }
    for i in LEAKED..ACCOUNTS {
        assert!(!run.stdout.contains(&id(i)), "{} must not be reset", id(i));
    }
}

#[test]
fn flood_larger_budget_checks_everything_and_clears_review() {
    let dir = setup();
    let d = dir.path();
    let run = scan_flood(d, &["--max-checks", "1000"]);
    run.expect_code(0);
    assert_eq!(run.stdout.lines().count(), LEAKED);
    assert_eq!(
        std::fs::read_to_string(d.join("review.ndjson")).unwrap(),
        ""
    );
    let stats = read_stats(&d.join("stats.json"));
    assert_eq!(stat(&stats, "accounts_for_review"), 0);
    assert_eq!(
        stat(&stats, "verifications"),
        LEAKED as u64 + ((ACCOUNTS - LEAKED) * WRONG_PER_ACCOUNT) as u64
    );
}
