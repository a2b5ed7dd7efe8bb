//! Incremental runs (`--state`, issue 5): what is skipped, what is rescanned, and
//! that a failed or killed run never advances the state.

use std::path::Path;

use crate::containers::{corrupt_zip_setup, CORRUPT_ZIP_RESULT};
use crate::util::*;

#[test]
fn state_zip_with_corrupt_member_is_not_recorded() {
    let dir = tmp();
    let d = dir.path();
    corrupt_zip_setup(d);
    let (run, _) = state_run(d, &[]);
    run.expect_code(1);
    assert_eq!(briefs(&run), CORRUPT_ZIP_RESULT);
    // The archive is read again (its reset, acknowledged, is not listed twice);
    // the clean file is skipped.
    let (run, stats) = state_run(d, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("arch.zip"), "{}", run.stderr);
    assert_eq!(briefs(&run), "");
    assert_eq!(stat(&stats, "accounts_delivered_before"), 1);
    assert_eq!(stat(&stats, "files_skipped_seen"), 1);
}

#[test]
fn state_archive_counts_as_one_file() {
    // A copy of the container fixtures: the archive (3 members) and the three
    // compressed files are recorded; the two damaged inputs are not.
    let dir = tmp();
    let d = dir.path();
    std::fs::copy(
        root().join("corpus-samples/customers.csv"),
        d.join("customers.csv"),
    )
    .unwrap();
    std::fs::create_dir_all(d.join("dumps")).unwrap();
    for e in std::fs::read_dir(root().join("corpus-samples/containers")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, d.join("dumps").join(p.file_name().unwrap())).unwrap();
    }
    let (run, stats) = state_run(d, &[]);
    run.expect_code(1);
    assert_eq!(run.resets().len(), 2);
    assert_eq!(stat(&stats, "files_skipped_seen"), 0);
    let (run, stats) = state_run(d, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("damaged-notzip.zip"), "{}", run.stderr);
    assert!(
        run.stderr.contains("damaged-truncated.txt.gz"),
        "{}",
        run.stderr
    );
    assert_eq!(stat(&stats, "files_skipped_seen"), 4);
    assert_eq!(
        stat(&stats, "files"),
        1,
        "only the truncated gzip is read again"
    );
    assert_eq!(
        briefs(&run),
        "acct-0002 sha1 1 dumps/damaged-truncated.txt.gz:1\n"
    );
}

// ---------------------------------------------------------------------------------
// 4. Incremental runs (--state)
// ---------------------------------------------------------------------------------

const STATE_PASSWORDS: &[&str] = &["pw-one", "pw-two", "pw-three", "wrong-pw-1", "wrong-pw-2"];

/// Customers c-1..c-3 and three dump files (one gzip), each holding matches.
fn state_setup() -> tempfile::TempDir {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("c-1", "one@x.example", &sha1_hex("pw-one")),
            ("c-2", "two@x.example", &sha1_hex("pw-two")),
            ("c-3", "three@x.example", &sha1_hex("pw-three")),
        ],
    );
    write(
        d,
        "dumps/a.txt",
        "one@x.example:wrong-pw-1\none@x.example:pw-one\n",
    );
    write(d, "dumps/b.txt", "two@x.example:pw-two\n");
    write(
        d,
        "dumps/sub/c.txt.gz",
        gzip(b"two@x.example:wrong-pw-2\ntwo@x.example:pw-two\n"),
    );
    dir
}

/// `scan --customers customers.csv --state state --stats stats.json EXTRA... dumps`,
/// its list then acknowledged as delivered (`leakmatch ack`); returns the run and
/// its stats.
fn state_run(d: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    state_run_from(d, ["--customers", "customers.csv"], extra)
}

/// [`state_run`] with the customers given by `source` (`--customers F` or
/// `--index F`).
fn state_run_from(d: &Path, source: [&str; 2], extra: &[&str]) -> (Run, serde_json::Value) {
    let (run, stats) = state_run_unacked(d, source, extra);
    if let Some(n) = stats.get("run").and_then(|n| n.as_u64()) {
        ack(d, n).expect_code(0);
    }
    (run, stats)
}

/// `leakmatch ack --state state RUN`.
fn ack(d: &Path, run: u64) -> Run {
    run_in(d, &["ack", "--state", "state", &run.to_string()], None)
}

/// [`state_run_from`] without the acknowledgement.
fn state_run_unacked(d: &Path, source: [&str; 2], extra: &[&str]) -> (Run, serde_json::Value) {
    let _ = std::fs::remove_file(d.join("stats.json"));
    let mut args = source.to_vec();
    args.extend_from_slice(&["--state", "state", "--stats", "stats.json"]);
    args.extend_from_slice(extra);
    args.push("dumps");
    let run = scan(d, &args);
    let stats = if d.join("stats.json").exists() {
        read_stats(&d.join("stats.json"))
    } else {
        serde_json::Value::Null
    };
    (run, stats)
}

const STATE_FULL: &str = "c-1 sha1 1 dumps/a.txt:2\nc-2 sha1 2 dumps/b.txt:1\n";

#[track_caller]
fn assert_full_scan(run: &Run, stats: &serde_json::Value) {
    run.expect_code(0);
    assert_eq!(briefs(run), STATE_FULL);
    assert_eq!(stat(stats, "files"), 3);
    assert_eq!(stat(stats, "files_skipped_seen"), 0);
}

#[track_caller]
fn assert_all_skipped(run: &Run, stats: &serde_json::Value) {
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(stat(stats, "files"), 0);
    assert_eq!(stat(stats, "files_skipped_seen"), 3);
}

#[test]
fn state_second_run_skips_every_file() {
    let dir = state_setup();
    let d = dir.path();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    assert!(d.join("state/scanned.json").is_file());
    let (run, stats) = state_run(d, &[]);
    assert_all_skipped(&run, &stats);
    assert!(run.stderr.contains("skipped"), "{}", run.stderr);
    assert!(run.stderr.contains('3'), "{}", run.stderr);
}

#[test]
fn state_changed_file_alone_is_rescanned() {
    let dir = state_setup();
    let d = dir.path();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    // Append a matching line for c-3 to b.txt.
    let b = d.join("dumps/b.txt");
    let mut content = std::fs::read(&b).unwrap();
    content.extend_from_slice(b"three@x.example:pw-three\n");
    std::fs::write(&b, content).unwrap();
    let (run, stats) = state_run(d, &[]);
    run.expect_code(0);
    assert_eq!(stat(&stats, "files"), 1);
    assert_eq!(stat(&stats, "files_skipped_seen"), 2);
    assert_eq!(
        briefs(&run),
        "c-2 sha1 1 dumps/b.txt:1\nc-3 sha1 1 dumps/b.txt:2\n"
    );
    // And now nothing is left to scan.
    let (run, stats) = state_run(d, &[]);
    assert_all_skipped(&run, &stats);
}

#[test]
fn state_new_file_alone_is_scanned() {
    let dir = state_setup();
    let d = dir.path();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    write(d, "dumps/new.txt", "three@x.example:pw-three\n");
    let (run, stats) = state_run(d, &[]);
    run.expect_code(0);
    assert_eq!(stat(&stats, "files"), 1);
    assert_eq!(stat(&stats, "files_skipped_seen"), 3);
    assert_eq!(briefs(&run), "c-3 sha1 1 dumps/new.txt:1\n");
}

#[test]
fn state_changed_customers_rescan_everything() {
    let dir = state_setup();
    let d = dir.path();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    // A new account.
    let mut csv = std::fs::read_to_string(d.join("customers.csv")).unwrap();
    csv.push_str(&format!("c-4,four@x.example,{}\n", sha1_hex("pw-four")));
    std::fs::write(d.join("customers.csv"), csv).unwrap();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    let (run, stats) = state_run(d, &[]);
    assert_all_skipped(&run, &stats);
    // A changed hash (c-3's password changed).
    let csv = std::fs::read_to_string(d.join("customers.csv"))
        .unwrap()
        .replace(&sha1_hex("pw-three"), &sha1_hex("pw-three-new"));
    std::fs::write(d.join("customers.csv"), csv).unwrap();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
}

#[test]
fn state_rescan_scans_everything() {
    let dir = state_setup();
    let d = dir.path();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    let (run, stats) = state_run(d, &["--rescan"]);
    assert_full_scan(&run, &stats);
    // The state still holds the files afterwards.
    let (run, stats) = state_run(d, &[]);
    assert_all_skipped(&run, &stats);
}

#[test]
fn state_with_index_and_new_index_rescans() {
    let dir = state_setup();
    let d = dir.path();
    leakmatch()
        .current_dir(d)
        .args([
            "index",
            "--quiet",
            "--customers",
            "customers.csv",
            "-o",
            "one.lmx",
        ])
        .assert()
        .code(0);
    let idx_run = |idx: &str| state_run_from(d, ["--index", idx], &[]);
    let (run, stats) = idx_run("one.lmx");
    assert_full_scan(&run, &stats);
    let (run, stats) = idx_run("one.lmx");
    assert_all_skipped(&run, &stats);
    // Different customers: one more account.
    let mut csv = std::fs::read_to_string(d.join("customers.csv")).unwrap();
    csv.push_str(&format!("c-4,four@x.example,{}\n", sha1_hex("pw-four")));
    write(d, "customers2.csv", csv);
    leakmatch()
        .current_dir(d)
        .args([
            "index",
            "--quiet",
            "--customers",
            "customers2.csv",
            "-o",
            "two.lmx",
        ])
        .assert()
        .code(0);
    let (run, stats) = idx_run("two.lmx");
    assert_full_scan(&run, &stats);
    let (run, stats) = idx_run("two.lmx");
    assert_all_skipped(&run, &stats);
}

#[test]
fn state_renamed_copy_is_skipped() {
    let dir = state_setup();
    let d = dir.path();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    // Same content under another name, in another directory, and an extra copy.
    std::fs::create_dir_all(d.join("dumps/redelivered")).unwrap();
    std::fs::rename(
        d.join("dumps/a.txt"),
        d.join("dumps/redelivered/A-copy.txt"),
    )
    .unwrap();
    std::fs::copy(d.join("dumps/b.txt"), d.join("dumps/b-again.txt")).unwrap();
    let (run, stats) = state_run(d, &[]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(stat(&stats, "files"), 0);
    assert_eq!(stat(&stats, "files_skipped_seen"), 4);
}

#[test]
fn state_never_holds_a_dump_password_or_login() {
    let dir = state_setup();
    let d = dir.path();
    let (run, _) = state_run(d, &[]);
    run.expect_code(0);
    // Change a file so the state is rewritten once more.
    write(d, "dumps/new.txt", "three@x.example:pw-three\n");
    let (run, _) = state_run(d, &[]);
    run.expect_code(0);
    let files = all_file_bytes(&d.join("state"));
    assert!(!files.is_empty());
    for (path, bytes) in &files {
        for pw in STATE_PASSWORDS {
            assert!(
                !contains_bytes(bytes, pw.as_bytes()),
                "{} contains password {pw:?}",
                path.display()
            );
        }
        for login in ["one@x.example", "two@x.example", "three@x.example"] {
            assert!(
                !contains_bytes(bytes, login.as_bytes()),
                "{} contains dump login {login:?}",
                path.display()
            );
        }
    }
}

#[test]
fn state_not_advanced_by_a_failed_run() {
    let dir = state_setup();
    let d = dir.path();
    let (run, _) = state_run(d, &["-o", "missing-dir/out.ndjson"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert!(!d.join("state/scanned.json").exists());
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    // After a good run, a failing one leaves the state as it was.
    write(d, "dumps/new.txt", "three@x.example:pw-three\n");
    let before = std::fs::read(d.join("state/scanned.json")).unwrap();
    let (run, _) = state_run(d, &["-o", "missing-dir/out.ndjson"]);
    run.expect_code(2);
    assert_eq!(std::fs::read(d.join("state/scanned.json")).unwrap(), before);
    let (run, stats) = state_run(d, &[]);
    run.expect_code(0);
    assert_eq!(stat(&stats, "files"), 1);
    assert_eq!(briefs(&run), "c-3 sha1 1 dumps/new.txt:1\n");
}

#[test]
fn state_damaged_input_is_not_recorded() {
    let dir = state_setup();
    let d = dir.path();
    let mut t = gzip(&b"two@x.example:pw-two\n".repeat(20_000));
    t.truncate(t.len() / 2);
    write(d, "dumps/t.txt.gz", t);
    let (run, stats) = state_run(d, &[]);
    run.expect_code(1);
    assert_eq!(stat(&stats, "files"), 4);
    // The damaged file is read again (and reported again); the others are skipped.
    let (run, stats) = state_run(d, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("t.txt.gz"), "{}", run.stderr);
    assert_eq!(stat(&stats, "files_skipped_seen"), 3);
    assert_eq!(stat(&stats, "files"), 1);
}

#[test]
fn state_survives_a_kill_during_state_write() {
    let dir = state_setup();
    let d = dir.path();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    let good = std::fs::read(d.join("state/scanned.json")).unwrap();
    // Leftovers of a killed writer: its temp file, and a truncated copy.
    write(d, "state/.leakmatch-Ab12Cd.tmp", &good[..good.len() / 2]);
    write(d, "state/scanned.json.tmp", &good[..good.len() / 3]);
    let (run, stats) = state_run(d, &[]);
    assert_all_skipped(&run, &stats);
    // A state directory holding only leftovers (killed before the first commit).
    std::fs::remove_file(d.join("state/scanned.json")).unwrap();
    let (run, stats) = state_run(d, &[]);
    assert_full_scan(&run, &stats);
    let (run, stats) = state_run(d, &[]);
    assert_all_skipped(&run, &stats);
}

#[test]
fn state_garbage_file_exits_2_naming_it() {
    let dir = state_setup();
    let d = dir.path();
    write(
        d,
        "state/scanned.json",
        "{\"version\": 1, \"files\": [garbage\n",
    );
    let (run, _) = state_run(d, &[]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one-line reason: {:?}", run.stderr);
    assert!(lines[0].contains("scanned.json"), "{}", lines[0]);
    assert!(!d.join("stats.json").exists(), "nothing written");
    // Not JSON at all, and an other version: refused the same way.
    for bad in ["\u{0}\u{1}binary", "{\"version\": 99, \"files\": {}}\n"] {
        write(d, "state/scanned.json", bad);
        let (run, _) = state_run(d, &[]);
        run.expect_code(2);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("scanned.json"), "{}", run.stderr);
    }
}

/// Two runs on one `--state`: the second exits 2 at once naming the first's pid,
/// or with `--wait` runs once the first ends; a killed holder's lock never blocks
/// (issue 16).
#[test]
fn one_run_at_a_time_on_a_state_directory() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let dir = one_customer_one_dump();
    let d = dir.path();
    let bin = assert_cmd::cargo::cargo_bin("leakmatch");
    // The holder reads a stdin we keep open, so it keeps the lock.
    let holder = || {
        let mut c = Command::new(&bin)
            .current_dir(d)
            .args([
                "scan",
                "--customers",
                "customers.csv",
                "--state",
                "st",
                "-q",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        c.stdin.as_mut().unwrap().write_all(b"x:y\n").unwrap();
        std::thread::sleep(Duration::from_millis(700));
        c
    };
    let second = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--customers",
            "customers.csv",
            "--state",
            "st",
            "-q",
        ];
        args.extend_from_slice(extra);
        args.push("dumps");
        Command::new(&bin)
            .current_dir(d)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = holder();
    let refused = second(&[]).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "in use by another leakmatch run (pid {})",
            first.id()
        )),
        "{stderr}"
    );
    // --wait: blocked while the first holds the lock, done once it ends.
    let mut waiting = second(&["--wait"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(waiting.try_wait().unwrap().is_none(), "--wait waits");
    drop(first.stdin.take());
    assert!(first.wait().unwrap().success());
    let waited = waiting.wait_with_output().unwrap();
    assert_eq!(
        waited.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&waited.stdout).lines().count(), 1);
    // A holder killed outright leaves no lock behind.
    let mut killed = holder();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let after = second(&["--rescan"]).wait_with_output().unwrap();
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
}

/// A second night over an unchanged inbox reads none of it: files the state
/// knows by device, inode, size and times are skipped without being hashed; a
/// renamed file is hashed again (its ctime changed) and still recognised by its
/// content (issue 16).
#[test]
fn an_unchanged_inbox_is_not_read_again() {
    let dir = tmp();
    let d = dir.path();
    write_customers(d, &[("ok-1", "ok@x.example", &sha1_hex("pw-ok"))]);
    write(d, "inbox/a.txt", "ok@x.example:pw-ok\n");
    write(d, "inbox/b.txt", "x@y.z:nope\n".repeat(1000));
    let night = |stats: &str| {
        let run = scan(
            d,
            &[
                "--customers",
                "customers.csv",
                "--state",
                "st",
                "--stats",
                stats,
                "-q",
                "inbox",
            ],
        );
        run.expect_code(0);
        read_stats(&d.join(stats))
    };
    let first = night("s1.json");
    assert_eq!(stat(&first, "state_bytes_hashed"), 19 + 11_000);
    let second = night("s2.json");
    assert_eq!(stat(&second, "state_bytes_hashed"), 0, "nothing read");
    assert_eq!(stat(&second, "files_skipped_seen"), 2);
    std::fs::rename(d.join("inbox/b.txt"), d.join("inbox/c.txt")).unwrap();
    let third = night("s3.json");
    assert_eq!(
        stat(&third, "files_skipped_seen"),
        2,
        "recognised by content"
    );
}

/// A FIFO among the inputs is scanned, never hashed for the state (the hashing
/// consumed it and the scan then blocked for ever), and opened once: a look at it
/// that opened and closed it took the writer's lines with it, and the scan waited
/// for another writer for ever (a hang in 2 of 3 CI-like runs).
#[test]
fn a_fifo_input_is_scanned_not_hashed() {
    use std::io::Write as _;
    let dir = tmp();
    let d = dir.path();
    write_customers(d, &[("ok-1", "ok@x.example", &sha1_hex("pw-ok"))]);
    let fifo = d.join("dump.fifo");
    mkfifo(&fifo);
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
        f.write_all(b"ok@x.example:pw-ok\n").unwrap();
    });
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--state",
            "st",
            "--format",
            "ids",
            "-q",
            "dump.fifo",
        ],
    );
    writer.join().unwrap();
    run.expect_code(0);
    assert_eq!(run.stdout, "ok-1\n");
}

// ---------------------------------------------------------------------------------
// Delivery: pending resets until `leakmatch ack`
// ---------------------------------------------------------------------------------

/// The state's reset list, unacknowledged: run 1's resets come again in run 2
/// (marked with run 1, in NDJSON and CSV) with run 2's new ones; acknowledging run
/// 2 clears both, and nothing comes twice after it.
#[test]
fn unacknowledged_resets_are_reported_again_until_acked() {
    let dir = state_setup();
    let d = dir.path();
    let customers = ["--customers", "customers.csv"];
    let (run, stats) = state_run_unacked(d, customers, &[]);
    assert_full_scan(&run, &stats);
    assert_eq!(stat(&stats, "run"), 1);
    assert!(
        run.stderr.contains("run                    1"),
        "{}",
        run.stderr
    );
    write(d, "dumps/new.txt", "three@x.example:pw-three\n");
    let (run, stats) = state_run_unacked(d, customers, &[]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "c-1 sha1 1 dumps/a.txt:2 pending-since-1\n\
         c-2 sha1 2 dumps/b.txt:1 pending-since-1\n\
         c-3 sha1 1 dumps/new.txt:1\n"
    );
    assert_eq!(stat(&stats, "accounts_to_reset"), 3);
    assert_eq!(stat(&stats, "accounts_unacknowledged"), 2);
    assert_eq!(stat(&stats, "run"), 2);
    // CSV carries the mark in its own column.
    let (run, _) = state_run_unacked(d, customers, &["--format", "csv"]);
    assert_eq!(
        run.stdout,
        "account_id,login,reason,scheme,sightings,first_seen_file,first_seen_line,via,variant,pending_since\n\
         c-1,one@x.example,password_match,sha1,1,dumps/a.txt,2,,,1\n\
         c-2,two@x.example,password_match,sha1,2,dumps/b.txt,1,,,1\n\
         c-3,three@x.example,password_match,sha1,1,dumps/new.txt,1,,,2\n"
    );
    // Acknowledging run 2 clears what runs 1 and 2 first reported (run 3 only
    // repeated them).
    let acked = ack(d, 2);
    acked.expect_code(0);
    assert!(
        acked.stderr.contains("3 resets delivered, 0 still pending"),
        "{}",
        acked.stderr
    );
    let (run, stats) = state_run_unacked(d, customers, &[]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(stat(&stats, "files"), 0);
    assert_eq!(stat(&stats, "run"), 4);
    // Twice is harmless; a run that never was is an error naming the last one.
    ack(d, 2).expect_code(0);
    let bad = ack(d, 9);
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("no run 9 (the last run recorded is 4)"),
        "{}",
        bad.stderr
    );
    let none = run_in(d, &["ack", "--state", "nowhere", "1"], None);
    none.expect_code(2);
    assert!(none.stderr.contains("nowhere"), "{}", none.stderr);
}

/// A reset found once is never lost, whatever point a run is killed at (SIGKILL,
/// no cleanup: before the outputs, between the outputs and the state, after the
/// state but before the list was acted on, during the ack): the next run lists it;
/// and once acknowledged it never comes again.
#[test]
fn a_crash_at_any_step_never_loses_a_reset() {
    for point in ["outputs", "state", "none", "ack"] {
        let dir = state_setup();
        let d = dir.path();
        let mut cmd = leakmatch();
        cmd.current_dir(d).env("LEAKMATCH_CRASH_AT", point).args([
            "scan",
            "--customers",
            "customers.csv",
            "--state",
            "state",
            "-o",
            "out.ndjson",
            "dumps",
        ]);
        let status = cmd.output().unwrap().status;
        if point == "none" || point == "ack" {
            assert_eq!(status.code(), Some(0), "{point}");
        } else {
            assert_eq!(status.code(), None, "{point}: killed");
        }
        if point == "ack" {
            let mut cmd = leakmatch();
            cmd.current_dir(d).env("LEAKMATCH_CRASH_AT", "ack");
            cmd.args(["ack", "--state", "state", "1"]);
            assert_eq!(cmd.output().unwrap().status.code(), None, "ack killed");
        }
        let (run, stats) = state_run_unacked(d, ["--customers", "customers.csv"], &[]);
        run.expect_code(0);
        let ids: Vec<String> = run.resets().into_iter().map(|r| r.account_id).collect();
        assert_eq!(ids, ["c-1", "c-2"], "{point}");
        ack(d, stat(&stats, "run")).expect_code(0);
        let (run, _) = state_run_unacked(d, ["--customers", "customers.csv"], &[]);
        assert_eq!(run.stdout, "", "{point}: nothing twice after the ack");
    }
}

/// Regression: a file read with an error is never recorded, so every night reads
/// it again; its resets came back after they were acknowledged, every night.
/// Now a reset found again exactly as delivered (same first sighting, same
/// number of sightings, same customers) is not listed again; a new sighting of
/// it, or new customers, lists it.
#[test]
fn an_acknowledged_reset_in_a_damaged_file_is_not_listed_again() {
    let dir = state_setup();
    let d = dir.path();
    // A gzip cut short after a whole line: c-3's line is read, then the error.
    let mut cut =
        gzip(format!("three@x.example:pw-three\n{}", "filler:x\n".repeat(50_000)).as_bytes());
    cut.truncate(cut.len() - 20);
    write(d, "dumps/damaged.txt.gz", cut);
    let (first, stats) = state_run_unacked(d, ["--customers", "customers.csv"], &[]);
    first.expect_code(1);
    assert!(
        briefs(&first).contains("c-3 sha1 1 dumps/damaged.txt.gz:1"),
        "{}",
        first.stdout
    );
    ack(d, stat(&stats, "run")).expect_code(0);
    let (second, stats) = state_run_unacked(d, ["--customers", "customers.csv"], &[]);
    second.expect_code(1);
    assert!(!briefs(&second).contains("c-3 "), "{}", second.stdout);
    assert_eq!(stat(&stats, "accounts_delivered_before"), 1);
    ack(d, stat(&stats, "run")).expect_code(0);
    // A new sighting lists it again.
    write(d, "dumps/zz-new.txt", "three@x.example:pw-three\n");
    let (third, _) = state_run_unacked(d, ["--customers", "customers.csv"], &[]);
    assert!(
        briefs(&third).contains("c-3 sha1 2 dumps/damaged.txt.gz:1"),
        "{}",
        third.stdout
    );
}
