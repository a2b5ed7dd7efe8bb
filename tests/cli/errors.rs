//! Exit statuses, error messages and atomic outputs.

use std::path::Path;

use crate::util::*;

/// What [`one_customer_one_dump`] scans to.
const OK_RESULT: &str = "ok-1 sha1 1 dumps/ok.txt:1\n";

/// Asserts a fatal run: exit 2, nothing on stdout, exactly one stderr line that
/// contains every `needle`.
#[track_caller]
fn assert_fatal(run: &Run, needles: &[&str]) {
    run.expect_code(2);
    assert_eq!(run.stdout, "", "a fatal run prints no results");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one-line reason expected, got {:?}",
        run.stderr
    );
    for n in needles {
        assert!(
            lines[0].contains(n),
            "stderr {:?} should contain {n:?}",
            lines[0]
        );
    }
}

// ---------------------------------------------------------------------------------
// Exit 1: some input unreadable, the rest scanned
// ---------------------------------------------------------------------------------

#[test]
fn missing_dump_path_exits_1_and_scans_the_rest() {
    let dir = one_customer_one_dump();
    let run = scan_paths(dir.path(), &["no-such-dump.txt", "dumps"]);
    run.expect_code(1);
    assert_eq!(briefs(&run), OK_RESULT);
    assert!(run.stderr.contains("no-such-dump.txt"), "{}", run.stderr);
}

/// A mistyped inbox is not a quiet night: when no input at all could be read the
/// run exits 2 (as rg does), names each, and writes no (empty) list.
#[test]
fn every_input_unreadable_exits_2_and_writes_nothing() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "out.ndjson", "old\n");
    let run = scan_paths(d, &["-o", "out.ndjson", "no-such-inbox", "nor-this.txt"]);
    assert_fatal(
        &run,
        &["no input could be read", "no-such-inbox", "nor-this.txt"],
    );
    assert_eq!(
        std::fs::read_to_string(d.join("out.ndjson")).unwrap(),
        "old\n"
    );
}

/// A customers file with a header and no rows is almost certainly a failed
/// export: the run says so.
#[test]
fn header_only_customers_file_warns() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "customers.csv", "account_id,login,password_hash\n");
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("warning: no customers"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("against 0 customers"), "{}", run.stderr);
    assert!(run.stderr.contains("leakmatch: 1 file,"), "{}", run.stderr);
}

/// A dangling link under a directory is passed over (links are not followed
/// without -L, as rg and fd do); with -L it is named and the run exits 1.
#[cfg(unix)]
#[test]
fn broken_symlink_in_scanned_dir_is_passed_over_unless_followed() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    std::os::unix::fs::symlink(d.join("nowhere/at/all.txt"), d.join("dumps/dangling.txt")).unwrap();
    let stats = d.join("stats.json");
    let run = scan_paths(d, &["--stats", "stats.json", "dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), OK_RESULT);
    let run = scan_paths(d, &["-L", "--stats", "stats.json", "dumps"]);
    run.expect_code(1);
    assert_eq!(briefs(&run), OK_RESULT);
    assert!(run.stderr.contains("dangling.txt"), "{}", run.stderr);
    assert_eq!(stat(&read_stats(&stats), "unreadable_inputs"), 1);
}

/// Links under a directory: not followed by default; with -L followed, and a file
/// reached by two names (a link and its target, `./d/x` and `d/x`) read once,
/// under the first name in sorted order; a loop is said once and is not an error.
#[cfg(unix)]
#[test]
fn links_duplicates_and_loops_under_directories() {
    use std::os::unix::fs::symlink;
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("ok-1", "ok@x.example", &sha1_hex("pw-ok")),
            ("out-1", "out@x.example", &sha1_hex("pw-out")),
        ],
    );
    write(d, "dumps/ok.txt", "ok@x.example:pw-ok\n");
    write(d, "outside/x.txt", "out@x.example:pw-out\n");
    symlink(d.join("outside"), d.join("dumps/link")).unwrap();
    symlink(d.join("outside/x.txt"), d.join("dumps/f.txt")).unwrap();
    symlink(d.join("dumps"), d.join("dumps/back")).unwrap();
    let run = scan_paths(d, &["dumps", "./dumps/ok.txt", "dumps/ok.txt"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), "ok-1 sha1 1 ./dumps/ok.txt:1\n");
    let run = scan_paths(d, &["-L", "dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "ok-1 sha1 1 dumps/ok.txt:1\nout-1 sha1 1 dumps/f.txt:1\n"
    );
    assert_eq!(run.stderr.matches("a loop").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("dumps/back"), "{}", run.stderr);
}

#[test]
fn corrupt_gzip_exits_1_and_scans_the_rest() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "dumps/not-really.txt.gz", "ok@x.example:pw-ok\n");
    let mut truncated = gzip(&b"ok@x.example:pw-ok\n".repeat(10_000));
    truncated.truncate(truncated.len() / 2);
    write(d, "dumps/truncated.txt.gz", truncated);
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(1);
    let resets = run.resets();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].account_id, "ok-1");
    // Sorted order is not-really.txt.gz, ok.txt, truncated.txt.gz: the unreadable
    // first file contributes nothing.
    assert_eq!(resets[0].first_seen.file, "dumps/ok.txt");
    assert_eq!(resets[0].first_seen.line, 1);
    assert!(run.stderr.contains("not-really.txt.gz"), "{}", run.stderr);
    assert!(run.stderr.contains("truncated.txt.gz"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------
// Exit 2: bad customers file
// ---------------------------------------------------------------------------------

/// Writes `customers.csv` verbatim and runs a scan over `dumps`.
fn scan_with_customers(csv: &str) -> Run {
    let dir = one_customer_one_dump();
    write(dir.path(), "customers.csv", csv);
    scan_paths(dir.path(), &["dumps"])
}

const HEADER: &str = "account_id,login,password_hash\n";

#[test]
fn customers_missing_column() {
    let run = scan_with_customers("account_id,login,hash\n1,a@b.c,abc\n");
    assert_fatal(&run, &["customers.csv:1:", "password_hash"]);
}

#[test]
fn customers_missing_column_named_on_the_header_line_after_blank_lines() {
    let run = scan_with_customers("\n\r\naccount_id,login,hash\n1,a@b.c,abc\n");
    assert_fatal(&run, &["customers.csv:3:", "password_hash"]);
}

#[test]
fn customers_empty_file() {
    let run = scan_with_customers("");
    assert_fatal(&run, &["customers.csv"]);
}

#[test]
fn customers_row_with_too_few_fields() {
    let good = sha1_hex("x");
    let run = scan_with_customers(&format!("{HEADER}1,a@b.c,{good}\n2,b@b.c\n"));
    assert_fatal(&run, &["customers.csv:3:", "password_hash"]);
}

#[test]
fn customers_40_chars_not_hex() {
    let bad = format!("{}z", &sha1_hex("x")[..39]);
    let run = scan_with_customers(&format!(
        "{HEADER}1,a@b.c,{}\n2,b@b.c,{bad}\n",
        sha1_hex("y")
    ));
    assert_fatal(&run, &["customers.csv:3:"]);
    assert!(!run.stderr.contains(&bad));
}

#[test]
fn customers_bad_base64_in_ssha() {
    let bad = "{SSHA}!!!not*base64!!!";
    let run = scan_with_customers(&format!("{HEADER}1,a@b.c,{bad}\n"));
    assert_fatal(&run, &["customers.csv:2:", "base64"]);
    assert!(!run.stderr.contains("not*base64"));
}

#[test]
fn customers_unsupported_md5() {
    let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
    let run = scan_with_customers(&format!(
        "{HEADER}1,a@b.c,{}\n2,b@b.c,{md5}\n",
        sha1_hex("y")
    ));
    assert_fatal(&run, &["customers.csv:3:", "MD5"]);
    assert!(!run.stderr.contains(md5));
    assert!(!run.stderr.contains(&md5[..8]));
}

#[test]
fn customers_unsupported_md5crypt() {
    let h = "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/";
    let run = scan_with_customers(&format!("{HEADER}1,a@b.c,{h}\n"));
    assert_fatal(&run, &["customers.csv:2:", "md5crypt"]);
    assert!(!run.stderr.contains("saltsalt"));
    assert!(!run.stderr.contains("qjXMvbEw"));
}

#[test]
fn customers_malformed_nt() {
    let run = scan_with_customers(&format!(
        "{HEADER}1,a@b.c,$NT$zz46f7eaee8fb117ad06bdd830b7586c\n"
    ));
    assert_fatal(&run, &["customers.csv:2:"]);
    assert!(!run.stderr.contains("ad06bdd8"));
}

#[test]
fn customers_empty_hash() {
    let run = scan_with_customers(&format!("{HEADER}1,a@b.c,\n"));
    assert_fatal(&run, &["customers.csv:2:", "empty"]);
}

#[test]
fn customers_duplicate_account_id() {
    let run = scan_with_customers(&format!(
        "{HEADER}acct-1,a@b.c,{}\nacct-2,b@b.c,{}\nacct-1,c@b.c,{}\n",
        sha1_hex("a"),
        sha1_hex("b"),
        sha1_hex("c")
    ));
    assert_fatal(&run, &["customers.csv:4:", "duplicate account_id"]);
}

#[test]
fn customers_columns_in_any_order_extra_ignored() {
    let dir = one_customer_one_dump();
    write(
        dir.path(),
        "customers.csv",
        format!(
            "created,password_hash,notes,login,account_id\n\"Jan 1, 2020\",{},\"x, y\",ok@x.example,ok-1\n",
            sha1_hex("pw-ok")
        ),
    );
    let run = scan_paths(dir.path(), &["dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), OK_RESULT);
}

#[test]
fn customers_file_missing() {
    let dir = one_customer_one_dump();
    let run = scan(dir.path(), &["--customers", "nope.csv", "dumps"]);
    assert_fatal(&run, &["nope.csv"]);
}

#[test]
fn index_subcommand_rejects_bad_customers() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(
        d,
        "customers.csv",
        format!("{HEADER}1,a@b.c,5f4dcc3b5aa765d61d8327deb882cf99\n"),
    );
    let run = run_in(
        d,
        &["index", "--customers", "customers.csv", "-o", "c.lmx"],
        None,
    );
    assert_fatal(&run, &["customers.csv:2:", "MD5"]);
    assert!(!d.join("c.lmx").exists());
}

// ---------------------------------------------------------------------------------
// Exit 2: outputs and arguments
// ---------------------------------------------------------------------------------

#[test]
fn output_into_missing_directory() {
    let dir = one_customer_one_dump();
    let run = scan_paths(dir.path(), &["-o", "no/such/dir/out.ndjson", "dumps"]);
    assert_fatal(&run, &["no/such/dir/out.ndjson"]);
}

#[test]
fn review_into_missing_directory() {
    let dir = one_customer_one_dump();
    let run = scan_paths(dir.path(), &["--review", "nodir/review.ndjson", "dumps"]);
    assert_fatal(&run, &["nodir/review.ndjson"]);
}

#[test]
fn bad_arguments_exit_2() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let cases: &[&[&str]] = &[
        &["scan", "--customers", "customers.csv"],
        &[
            "scan",
            "--customers",
            "customers.csv",
            "--format",
            "xml",
            "dumps",
        ],
        &["scan", "dumps"],
        &[
            "scan",
            "--customers",
            "customers.csv",
            "--index",
            "c.lmx",
            "dumps",
        ],
        &["scan", "--customers", "customers.csv", "-j", "0", "dumps"],
        &[
            "scan",
            "--customers",
            "customers.csv",
            "--max-checks",
            "0",
            "dumps",
        ],
        &["scan", "--customers", "customers.csv", "--bogus", "dumps"],
        &["index", "--customers", "customers.csv"],
        &["frobnicate"],
    ];
    for args in cases {
        let run = run_in(d, args, None);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
}

// ---------------------------------------------------------------------------------
// 12. Damaged index files
// ---------------------------------------------------------------------------------

fn build_index(d: &Path) -> Vec<u8> {
    run_in(
        d,
        &["index", "--customers", "customers.csv", "-o", "good.lmx"],
        None,
    )
    .expect_code(0);
    std::fs::read(d.join("good.lmx")).unwrap()
}

#[test]
fn damaged_index_files_exit_2() {
    let dir = tmp();
    let d = dir.path();
    // Enough customers that the body is more than a few bytes.
    let rows: Vec<(String, String, String)> = (0..50)
        .map(|i| {
            (
                format!("id-{i}"),
                format!("user{i}@x.example"),
                sha1_hex(format!("pw-{i}")),
            )
        })
        .collect();
    write_customers_owned(d, &rows);
    write(d, "dumps/d.txt", "user7@x.example:pw-7\n");
    let good = build_index(d);

    let ok = scan(d, &["--index", "good.lmx", "--quiet", "dumps"]);
    ok.expect_code(0);
    assert_eq!(briefs(&ok), "id-7 sha1 1 dumps/d.txt:1\n");

    let mut truncated = good.clone();
    truncated.truncate(good.len() - 10);
    let mut flipped = good.clone();
    let mid = 64 + (good.len() - 64) / 2;
    flipped[mid] ^= 0xFF;
    let mut version = good.clone();
    version[8..12].copy_from_slice(&99u32.to_le_bytes());
    let random = lcg_bytes(7, 4096);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated.lmx", truncated, "truncated"),
        ("flipped.lmx", flipped, "checksum"),
        ("version.lmx", version, "99"),
        ("random.lmx", random, "not a leakmatch index"),
        (
            "customers-as-index.lmx",
            std::fs::read(d.join("customers.csv")).unwrap(),
            "not a leakmatch index",
        ),
    ];
    for (name, bytes, what) in cases {
        write(d, name, bytes);
        let run = scan(d, &["--index", name, "--format", "ids", "dumps"]);
        assert_fatal(&run, &[name, what]);
        // Nor through -o: the old file stays.
        write(d, "out.txt", "OLD\n");
        let run = scan(d, &["--index", name, "-o", "out.txt", "dumps"]);
        run.expect_code(2);
        assert_eq!(
            std::fs::read_to_string(d.join("out.txt")).unwrap(),
            "OLD\n",
            "{name}"
        );
    }
    let run = scan(d, &["--index", "missing.lmx", "dumps"]);
    assert_fatal(&run, &["missing.lmx"]);
}

// ---------------------------------------------------------------------------------
// 9. Atomic outputs
// ---------------------------------------------------------------------------------

#[test]
fn failed_run_leaves_existing_outputs_untouched() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "out.ndjson", "OLD RESULTS\n");
    write(d, "stats.json", "OLD STATS\n");
    write(d, "review.ndjson", "OLD REVIEW\n");
    write(d, "customers.csv", format!("{HEADER}1,a@b.c,$1$x$y\n"));
    let run = scan_paths(
        d,
        &[
            "-o",
            "out.ndjson",
            "--stats",
            "stats.json",
            "--review",
            "review.ndjson",
            "dumps",
        ],
    );
    run.expect_code(2);
    assert_eq!(
        std::fs::read_to_string(d.join("out.ndjson")).unwrap(),
        "OLD RESULTS\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("stats.json")).unwrap(),
        "OLD STATS\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("review.ndjson")).unwrap(),
        "OLD REVIEW\n"
    );
    let mut names = dir_entries(d);
    names.retain(|n| n.starts_with(".leakmatch-"));
    assert_eq!(names, Vec::<String>::new(), "no temp files left behind");
}

#[test]
fn successful_run_replaces_output_and_leaves_no_temp_files() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    std::fs::create_dir(d.join("out")).unwrap();
    write(d, "out/result.ndjson", "OLD\n".repeat(1000));
    let run = scan_paths(d, &["-o", "out/result.ndjson", "dumps"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(dir_entries(&d.join("out")), ["result.ndjson"]);
    let content = std::fs::read_to_string(d.join("out/result.ndjson")).unwrap();
    assert_eq!(
        parse_resets(&content).iter().map(brief).collect::<String>(),
        OK_RESULT.trim_end()
    );

    let run = scan_paths(
        d,
        &[
            "-o",
            "out/result.csv",
            "--format",
            "csv",
            "--stats",
            "out/stats.json",
            "--review",
            "out/review.ndjson",
            "dumps",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        dir_entries(&d.join("out")),
        ["result.csv", "result.ndjson", "review.ndjson", "stats.json"]
    );
}

#[test]
fn unwritable_review_leaves_output_untouched() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "out.ndjson", "OLD\n");
    let run = scan_paths(
        d,
        &["-o", "out.ndjson", "--review", "nodir/r.ndjson", "dumps"],
    );
    run.expect_code(2);
    assert_eq!(
        std::fs::read_to_string(d.join("out.ndjson")).unwrap(),
        "OLD\n"
    );
}

/// An unwritable `--stats` path is a fatal error (exit 2, "nothing trustworthy
/// produced"), so the reset list must not have been emitted: not on stdout, and an
/// existing `-o` file keeps its old content.
#[test]

fn unwritable_stats_fails_before_any_result_is_written() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let run = scan_paths(d, &["--stats", "nodir/stats.json", "dumps"]);
    assert_fatal(&run, &["nodir/stats.json"]);

    write(d, "out.ndjson", "OLD\n");
    let run = scan_paths(d, &["-o", "out.ndjson", "--stats", "nodir/s.json", "dumps"]);
    assert_fatal(&run, &["nodir/s.json"]);
    assert_eq!(
        std::fs::read_to_string(d.join("out.ndjson")).unwrap(),
        "OLD\n",
        "exit 2 promises nothing was produced, yet the reset list was replaced"
    );
}

/// Big unquoted customers files (over 1 MiB) take the parallel, memory-mapped path:
/// its line numbers, blank lines, CRLF and field splitting must agree with the
/// streaming `csv` path, which a quote anywhere in the file selects.
#[test]
fn big_customers_file_parallel_path_agrees_with_the_csv_reader() {
    let good = sha1_hex("pw-7");
    // Empty lines before the header are skipped, as the csv reader skips them.
    let mut rows = String::from("\n\r\naccount_id,login,password_hash,extra\r\n");
    for i in 0..40_000 {
        rows.push_str(&format!("id{i},User{i}@Example.com,{good},x\r\n"));
        if i % 1000 == 0 {
            rows.push('\n'); // a blank line still counts as a line
        }
    }
    assert!(rows.len() > 2 << 20);
    let lines_before_bad = rows.lines().count();
    let quoted = rows.replacen("extra", "\"extra\"", 1);
    for csv in [&rows, &quoted] {
        let dir = one_customer_one_dump();
        let d = dir.path();
        write(d, "customers.csv", csv);
        write(
            d,
            "dumps/x.txt",
            "user39999@example.com:pw-7\nUSER7@example.com:nope\n",
        );
        let run = scan_paths(d, &["dumps/x.txt"]);
        run.expect_code(0);
        assert_eq!(briefs(&run), "id39999 sha1 1 dumps/x.txt:1\n");

        // A short row deep in the file is named by its line.
        write(d, "customers.csv", format!("{csv}idX,short@x.io\r\n{csv}"));
        let run = scan_paths(d, &["dumps/x.txt"]);
        assert_fatal(
            &run,
            &[
                &format!("customers.csv:{}:", lines_before_bad + 1),
                "password_hash",
            ],
        );

        // A header without a column is named by its own line.
        write(d, "customers.csv", csv.replacen("password_hash", "pw", 1));
        let run = scan_paths(d, &["dumps/x.txt"]);
        assert_fatal(&run, &["customers.csv:3:", "password_hash"]);
    }
}

/// A big customers file with bare `\r` line ends (old Mac) loads like a small one:
/// the parallel path splits at `\n` only, so such a file goes to the `csv` reader
/// (it loaded as a header and no customers before).
#[test]
fn big_customers_file_with_bare_cr_line_ends() {
    let good = sha1_hex("pw-7");
    let mut rows = String::from("account_id,login,password_hash\r");
    for i in 0..30_000 {
        rows.push_str(&format!("id{i},user{i}@example.com,{good}\r"));
    }
    assert!(rows.len() > 1 << 20);
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "customers.csv", &rows);
    write(d, "dumps/x.txt", "user29999@example.com:pw-7\n");
    let run = scan_paths(d, &["dumps/x.txt"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), "id29999 sha1 1 dumps/x.txt:1\n");
}

/// A big index is checked piece by piece as the run reads it: damage in a piece of
/// records that no dump line leads to does not stop a run that never reads it, and
/// stops (exit 2, nothing written) a run that does. Damage in the slot table or the
/// Bloom filter, which every run reads, always stops it.
#[test]
fn damaged_index_piece_is_refused_when_read() {
    let dir = tmp();
    let d = dir.path();
    let hash = sha1_hex("pw");
    let mut csv = String::from("account_id,login,password_hash\n");
    let mut hits = String::new();
    for i in 0..80_000 {
        csv.push_str(&format!("id{i},user{i}@x.example,{hash}\n"));
        hits.push_str(&format!("user{i}@x.example:pw\n"));
    }
    write(d, "customers.csv", csv);
    write(d, "none/d.txt", "nobody@x.example:pw\n");
    write(d, "all/d.txt", hits);
    let good = build_index(d);
    // Format 6: a 128-byte header, then the records (their length at offset 32),
    // then the slot table from the next multiple of 8.
    let records_len = u64::from_le_bytes(good[32..40].try_into().unwrap()) as usize;
    let records_end = 128 + records_len;
    assert!(records_len > 3 << 20, "several 1 MiB pieces of records");

    // Damage the last piece of the records.
    let mut records = good.clone();
    records[records_end - 100] ^= 0x55;
    write(d, "records.lmx", &records);
    let run = scan(d, &["--index", "records.lmx", "--format", "ids", "none"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    let run = scan(d, &["--index", "records.lmx", "--format", "ids", "all"]);
    assert_fatal(&run, &["records.lmx", "checksum"]);

    // The first byte of the slot table, after the Bloom filter (its word count at
    // offset 56).
    let words = u64::from_le_bytes(good[56..64].try_into().unwrap()) as usize;
    let mut slots = good.clone();
    slots[records_end.next_multiple_of(8) + 8 * words] ^= 0x55;
    write(d, "slots.lmx", &slots);
    let run = scan(d, &["--index", "slots.lmx", "--format", "ids", "none"]);
    assert_fatal(&run, &["slots.lmx", "checksum"]);
}
