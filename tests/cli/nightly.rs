//! Nightly batch runs (issue 5): compressed containers and archives, damaged inputs,
//! incremental `--state`, progress on a non-terminal, completions and man page,
//! closed stdout pipes, thread-count independence.

use std::path::Path;

use crate::util::*;

// ---------------------------------------------------------------------------------
// 1. The committed container fixtures (corpus-samples/make_containers.sh)
// ---------------------------------------------------------------------------------

/// `scan --customers corpus-samples/customers.csv corpus-samples/containers EXTRA...`
/// from the crate root.
fn scan_containers(extra: &[&str]) -> Run {
    let mut args = vec!["--customers", "corpus-samples/customers.csv"];
    args.extend_from_slice(extra);
    args.push("corpus-samples/containers");
    scan(root(), &args)
}

#[test]
fn containers_fixture_dir() {
    // Sorted: damaged-notzip.zip (unreadable), damaged-truncated.txt.gz (bob on line 1;
    // alice on line 2002 lies after the cut at 2000 compressed bytes),
    // dump-archive.zip (inner/a.txt: alice line 3; inner/b.csv: bob line 2;
    // c.txt.gz: bob line 2), dump-bzip2.txt.bz2 (bob line 4, in the second stream),
    // dump-xz.csv.xz (alice line 2), dump-zstd.txt.zst (alice line 2).
    let run = scan_containers(&[]);
    run.expect_code(1);
    assert!(run.stderr.contains("damaged-notzip.zip"), "{}", run.stderr);
    assert!(
        run.stderr.contains("damaged-truncated.txt.gz"),
        "{}",
        run.stderr
    );
    let resets = run.resets();
    assert_eq!(
        briefs(&run),
        "acct-0001 sha1 3 corpus-samples/containers/dump-archive.zip!inner/a.txt:3\n\
         acct-0002 sha1 4 corpus-samples/containers/damaged-truncated.txt.gz:1\n"
    );
    assert_eq!(resets[0].login, "alice@example.com");
    assert_eq!(resets[1].login, "Bob.Smith@Example.com");
}

#[test]
fn containers_fixture_damaged_files_are_the_only_errors() {
    let run = scan_containers(&["--quiet"]);
    run.expect_code(1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one line per damaged input: {:?}",
        run.stderr
    );
    assert!(lines.iter().any(|l| l.contains("damaged-notzip.zip")));
    assert!(lines.iter().any(|l| l.contains("damaged-truncated.txt.gz")));
}

// ---------------------------------------------------------------------------------
// 2. Containers made here with the command-line tools
// ---------------------------------------------------------------------------------

/// Customers `c-1` (`one@x.example` / `pw-one`) and `c-2` (`two@x.example` / `pw-two`).
fn two_customers(d: &Path) {
    write_customers(
        d,
        &[
            ("c-1", "one@x.example", &sha1_hex("pw-one")),
            ("c-2", "two@x.example", &sha1_hex("pw-two")),
        ],
    );
}

#[test]
fn zstd_file() {
    let dir = tmp();
    let d = dir.path();
    two_customers(d);
    let plain = "nobody@x.example:a\nnobody@x.example:b\none@x.example:pw-one\n";
    write(
        d,
        "dumps/d.txt.zst",
        compress_with("zstd", &["-q", "-c"], plain.as_bytes()),
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), "c-1 sha1 1 dumps/d.txt.zst:3\n");
}

/// A file made of two compressed streams (`cat a.zst b.zst`, multi-member bzip2 and
/// xz) is read to the end: the match is in the second stream, at its line in the
/// whole file.
#[test]
fn multi_stream_files_are_read_to_the_end() {
    for (tool, args, ext) in [
        ("zstd", &["-q", "-c"][..], "zst"),
        ("bzip2", &["-c"][..], "bz2"),
        ("xz", &["-c"][..], "xz"),
    ] {
        let dir = tmp();
        let d = dir.path();
        two_customers(d);
        let mut bytes = compress_with(tool, args, b"filler1@x.example:f1\nfiller2@x.example:f2\n");
        bytes.extend(compress_with(
            tool,
            args,
            b"filler3@x.example:f3\ntwo@x.example:pw-two\n",
        ));
        write(d, &format!("dumps/d.txt.{ext}"), bytes);
        let run = scan_paths(d, &["dumps"]);
        run.expect_code(0);
        assert_eq!(
            briefs(&run),
            format!("c-2 sha1 1 dumps/d.txt.{ext}:4\n"),
            "{tool}"
        );
    }
}

#[test]
fn xz_text_and_csv() {
    let dir = tmp();
    let d = dir.path();
    two_customers(d);
    write(
        d,
        "dumps/a.txt.xz",
        compress_with("xz", &["-c"], b"z@x.example:z\none@x.example:pw-one\n"),
    );
    // Inner name `.csv`: read as CSV by its header (`password` first, extra column).
    write(
        d,
        "dumps/b.csv.xz",
        compress_with(
            "xz",
            &["-c"],
            b"password,site,email\nnope,s,one@x.example\npw-two,s,two@x.example\n",
        ),
    );
    let stats = d.join("stats.json");
    let run = scan_paths(d, &["--stats", "stats.json", "dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "c-1 sha1 1 dumps/a.txt.xz:2\nc-2 sha1 1 dumps/b.csv.xz:3\n"
    );
    let s = read_stats(&stats);
    assert_eq!(skipped(&s, "csv_header"), 1);
    assert_eq!(skipped(&s, "no_separator"), 0, "CSV lines read as CSV");
}

#[test]
fn zip_nested_dirs_and_compressed_member() {
    let dir = tmp();
    let d = dir.path();
    two_customers(d);
    let src = d.join("src");
    write(
        &src,
        "top/mid/deep/a.txt",
        "q@x.example:q\none@x.example:pw-one\n",
    );
    write(
        &src,
        "top/x.txt.gz",
        gzip(b"r@x.example:r\ns@x.example:s\ntwo@x.example:pw-two\n"),
    );
    write(&src, "top/mid/c.csv", "user,pass\ntwo@x.example,pw-two\n");
    zip_in(
        &src,
        &d.join("dumps/arch.zip"),
        &["-q", "-X", "-r"],
        &["top"],
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "c-1 sha1 1 dumps/arch.zip!top/mid/deep/a.txt:2\n\
         c-2 sha1 2 dumps/arch.zip!top/mid/c.csv:2\n"
    );
}

#[test]
fn zip_compressed_member_alone_names_member() {
    let dir = tmp();
    let d = dir.path();
    two_customers(d);
    let src = d.join("src");
    write(
        &src,
        "in/x.txt.gz",
        gzip(b"r@x.example:r\ns@x.example:s\ntwo@x.example:pw-two\n"),
    );
    // -0: stored, so the member's own gzip is what must be decoded.
    zip_in(
        &src,
        &d.join("dumps/arch.zip"),
        &["-q", "-X", "-0", "-r"],
        &["in"],
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), "c-2 sha1 1 dumps/arch.zip!in/x.txt.gz:3\n");
}

// ---------------------------------------------------------------------------------
// 3. An archive damaged mid-way
// ---------------------------------------------------------------------------------

/// Writes `dumps/arch.zip` (stored members `a-good.txt`, matching c-1, and
/// `b-bad.txt`, whose data is damaged so its CRC fails) and `dumps/z-other.txt`
/// (matching c-2).
fn corrupt_zip_setup(d: &Path) {
    two_customers(d);
    let src = d.join("src");
    let mut bad = String::new();
    for i in 0..200 {
        bad.push_str(&format!("filler{i:04}@x.example:MARKERMARKER{i:04}\n"));
    }
    write(&src, "a-good.txt", "one@x.example:pw-one\n");
    write(&src, "b-bad.txt", &bad);
    zip_in(
        &src,
        &d.join("dumps/arch.zip"),
        &["-q", "-X", "-0"],
        &["a-good.txt", "b-bad.txt"],
    );
    // Flip bytes inside the stored data of b-bad.txt: its CRC no longer matches.
    let zpath = d.join("dumps/arch.zip");
    let mut z = std::fs::read(&zpath).unwrap();
    let pos = z
        .windows(12)
        .position(|w| w == b"MARKERMARKER")
        .expect("stored member data");
    for b in &mut z[pos + 2000..pos + 2010] {
        *b ^= 0x55;
    }
    std::fs::write(&zpath, &z).unwrap();
    write(d, "dumps/z-other.txt", "two@x.example:pw-two\n");
}

const CORRUPT_ZIP_RESULT: &str =
    "c-1 sha1 1 dumps/arch.zip!a-good.txt:1\nc-2 sha1 1 dumps/z-other.txt:1\n";

#[test]
fn zip_with_corrupt_member_data_exits_1_and_scans_the_rest() {
    let dir = tmp();
    let d = dir.path();
    corrupt_zip_setup(d);
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(1);
    assert!(run.stderr.contains("arch.zip"), "{}", run.stderr);
    assert!(run.stderr.contains("b-bad.txt"), "{}", run.stderr);
    assert_eq!(briefs(&run), CORRUPT_ZIP_RESULT);
}

#[test]
fn state_zip_with_corrupt_member_is_not_recorded() {
    let dir = tmp();
    let d = dir.path();
    corrupt_zip_setup(d);
    let (run, _) = state_run(d, &[]);
    run.expect_code(1);
    assert_eq!(briefs(&run), CORRUPT_ZIP_RESULT);
    // The archive is read again (and reported again); the clean file is skipped.
    let (run, stats) = state_run(d, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("arch.zip"), "{}", run.stderr);
    assert_eq!(briefs(&run), "c-1 sha1 1 dumps/arch.zip!a-good.txt:1\n");
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

#[test]
fn truncated_zip_exits_1_and_scans_the_rest() {
    let dir = tmp();
    let d = dir.path();
    two_customers(d);
    let src = d.join("src");
    write(&src, "a.txt", "one@x.example:pw-one\n");
    write(&src, "b.txt", "x@x.example:y\n".repeat(500));
    zip_in(
        &src,
        &d.join("dumps/arch.zip"),
        &["-q", "-X"],
        &["a.txt", "b.txt"],
    );
    let zpath = d.join("dumps/arch.zip");
    let mut z = std::fs::read(&zpath).unwrap();
    z.truncate(z.len() * 2 / 3);
    std::fs::write(&zpath, &z).unwrap();
    write(d, "dumps/other.txt", "two@x.example:pw-two\n");
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(1);
    assert!(run.stderr.contains("arch.zip"), "{}", run.stderr);
    assert_eq!(briefs(&run), "c-2 sha1 1 dumps/other.txt:1\n");
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

/// `scan --customers customers.csv --state state --stats stats.json EXTRA... dumps`;
/// returns the run and its stats.
fn state_run(d: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    state_run_from(d, ["--customers", "customers.csv"], extra)
}

/// [`state_run`] with the customers given by `source` (`--customers F` or
/// `--index F`).
fn state_run_from(d: &Path, source: [&str; 2], extra: &[&str]) -> (Run, serde_json::Value) {
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

// ---------------------------------------------------------------------------------
// 5. Progress on a non-terminal
// ---------------------------------------------------------------------------------

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    for extra in [
        &[][..],
        &["--quiet"],
        &["--no-progress"],
        &["--quiet", "--no-progress"],
    ] {
        let run = scan_containers(extra);
        run.expect_code(1);
        assert!(!run.stderr.contains('\x1b'), "{extra:?}: {:?}", run.stderr);
        assert!(!run.stderr.contains("ETA"), "{extra:?}: {:?}", run.stderr);
        assert!(!run.stderr.contains('\r'), "{extra:?}: {:?}", run.stderr);
    }
    let run = scan_containers(&["--no-progress"]);
    assert!(run.stderr.contains("accounts to reset"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------
// 6. Completions and man page
// ---------------------------------------------------------------------------------

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = leakmatch().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("scan"), "{shell}");
        assert!(text.contains("--customers"), "{shell}: {text}");
    }
}

#[test]
fn completions_unknown_shell_exits_2() {
    let out = leakmatch().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn man_page_is_roff() {
    let out = leakmatch().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(".TH leakmatch"), "{text}");
}

/// Regression: the page once rendered only the top-level command (-h/-V and a list
/// of subcommands), without a single scan flag.
#[test]
fn man_page_documents_scan_flags() {
    let out = leakmatch().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in ["state", "customers", "max\\-checks"] {
        assert!(
            text.contains(&format!("\\-\\-{flag}")) || text.contains(&format!("--{flag}")),
            "man page lacks --{flag}"
        );
    }
}

/// `leakmatch man | head -c1` and the same for completions exit 0 quietly.
#[test]
fn man_and_completions_into_a_closed_pipe_exit_0() {
    for args in [&["man"][..], &["completions", "bash"][..]] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakmatch"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

// ---------------------------------------------------------------------------------
// 7. Closed stdout pipe
// ---------------------------------------------------------------------------------

/// 20,000 matching accounts: several MB of NDJSON, far more than any pipe buffer.
fn many_matches(d: &Path) {
    let mut csv = String::from("account_id,login,password_hash\n");
    let mut dump = String::new();
    for i in 0..20_000 {
        csv.push_str(&format!(
            "acct-{i:06},user{i:06}@x.example,{}\n",
            sha1_hex(format!("pw{i}"))
        ));
        dump.push_str(&format!("user{i:06}@x.example:pw{i}\n"));
    }
    write(d, "customers.csv", csv);
    write(d, "dumps/many.txt", dump);
}

#[track_caller]
fn closed_pipe_run(d: &Path, read_first: usize) {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("leakmatch"))
        .current_dir(d)
        .args(["scan", "--customers", "customers.csv", "dumps"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    if read_first > 0 {
        let mut buf = vec![0u8; read_first];
        stdout.read_exact(&mut buf).unwrap();
    }
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn closed_stdout_pipe_exits_0_quietly() {
    let dir = tmp();
    let d = dir.path();
    many_matches(d);
    closed_pipe_run(d, 0);
    closed_pipe_run(d, 1);
    closed_pipe_run(d, 100_000);
}

// ---------------------------------------------------------------------------------
// 8. Thread count
// ---------------------------------------------------------------------------------

#[test]
fn thread_count_does_not_change_output_on_containers() {
    let one = scan_containers(&["-j", "1", "--quiet"]);
    let three = scan_containers(&["-j", "3", "--quiet"]);
    one.expect_code(1);
    three.expect_code(1);
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, three.stdout);
    assert_eq!(one.stderr, three.stderr);
}

// ---------------------------------------------------------------------------------
// Ctrl-C
// ---------------------------------------------------------------------------------

/// Sends SIGINT to a running scan that reads a stdin we hold open: the run stops
/// once the read returns, writes nothing (no `-o` file, no temp file left), and exits
/// 130. A second SIGINT exits at once even while the read is still blocked.
#[test]
fn ctrl_c_stops_without_writing_anything() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    if Command::new("kill").arg("-l").output().is_err() {
        eprintln!("skipped: no kill(1) to send SIGINT with");
        return;
    }
    let d = tmp();
    let dir = d.path();
    write_customers(dir, &[("a1", "alice@example.com", &sha1_hex("pw"))]);
    let sigint = |pid: u32| {
        let ok = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -INT failed");
    };
    for presses in [1, 2] {
        let out = dir.join(format!("out{presses}.ndjson"));
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("leakmatch"))
            .current_dir(dir)
            .args(["scan", "--customers", "customers.csv", "-o"])
            .arg(&out)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"alice@example.com:pw\n").unwrap();
        stdin.flush().unwrap();
        // Give the process time to install its handler and block on stdin.
        std::thread::sleep(Duration::from_millis(500));
        sigint(child.id());
        // ctrlc runs the handler on a thread of its own: let it set the flag before
        // the input ends (a busy CI machine can take a while to schedule it).
        std::thread::sleep(Duration::from_millis(500));
        if presses == 2 {
            std::thread::sleep(Duration::from_millis(200));
            sigint(child.id());
            std::thread::sleep(Duration::from_millis(200));
        }
        drop(stdin);
        let result = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(
            result.status.code(),
            Some(130),
            "presses={presses}: {stderr}"
        );
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(!out.exists(), "no -o file after Ctrl-C");
        assert_eq!(String::from_utf8_lossy(&result.stdout), "");
        if presses == 1 {
            // The staged temporary file was removed too.
            let leftovers: Vec<String> = dir_entries(dir)
                .into_iter()
                .filter(|n| n.starts_with(".leakmatch-"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
        }
    }
}

/// On a terminal (faked with util-linux `script`), the bar is drawn on stderr; with
/// `--no-progress` it is not. Skipped where `script` is missing.
#[test]
fn progress_bar_drawn_only_on_a_terminal() {
    use std::process::Command;
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let d = tmp();
    let dir = d.path();
    write_customers(dir, &[("a1", "alice@example.com", &sha1_hex("pw"))]);
    let mut dump = String::new();
    // Large enough that the run outlasts the bar's first ticks.
    for i in 0..1_000_000 {
        dump.push_str(&format!("user{i}@example.net:password{i}\n"));
    }
    write(dir, "dumps/d.txt", dump);
    let bin = assert_cmd::cargo::cargo_bin("leakmatch");
    let typescript = |extra: &str| {
        let log = dir.join("typescript.log");
        let cmd = format!(
            "{} scan --customers customers.csv -o out.ndjson {extra} dumps",
            bin.display()
        );
        let status = Command::new("script")
            .current_dir(dir)
            .args(["-qec", &cmd])
            .arg(&log)
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned()
    };
    let drawn = typescript("");
    assert!(
        drawn.contains("MiB") || drawn.contains("KiB") || drawn.contains("loading"),
        "{drawn}"
    );
    let quiet = typescript("--no-progress");
    assert!(
        !quiet.contains("ETA") && !quiet.contains("loading"),
        "{quiet}"
    );
}
