//! `scan --list`, the dry run: what a scan would read, what it would pass over and
//! why, without scanning or writing anything (issue 16).

use std::time::Duration;

use crate::util::*;

/// `leakmatch scan --list ARGS` in `cwd`, given a minute at most (a FIFO read by
/// mistake would block it).
fn list(cwd: &std::path::Path, args: &[&str]) -> Run {
    let out = leakmatch()
        .current_dir(cwd)
        .arg("scan")
        .arg("--list")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().expect("exited in time"),
    }
}

/// Every kind of input and its line: scanned (mapped, streamed, in an archive,
/// a FIFO named on the command line, which is not opened), passed over (a link
/// under a directory, a second name of a file, a FIFO under a directory), not text
/// (a 7z, gzip data named .txt) and unreadable (a missing path, an archive nested
/// too deep). Exit 1, as the scan would; nothing is written and no dump is read.
#[cfg(unix)]
#[test]
fn list_says_what_would_be_scanned_or_skipped_and_why() {
    use std::os::unix::fs::symlink;
    let dir = tmp();
    let d = dir.path();
    write_customers(d, &[("ok-1", "ok@x.example", &sha1_hex("pw-ok"))]);
    write(d, "dumps/a.txt", "ok@x.example:pw-ok\n");
    write(
        d,
        "dumps/b.csv.gz",
        gzip(b"email,password\nok@x.example,pw-ok\n"),
    );
    write(d, "dumps/c.txt", gzip(b"ok@x.example:pw-ok\n"));
    write(d, "outside.txt", "ok@x.example:pw-ok\n");
    symlink(d.join("outside.txt"), d.join("dumps/d-link.txt")).unwrap();
    std::fs::hard_link(d.join("dumps/a.txt"), d.join("dumps/e-same.txt")).unwrap();
    mkfifo(&d.join("dumps/f-fifo"));
    mkfifo(&d.join("named-fifo"));
    let archives = root().join("corpus-samples/archives");
    for name in ["old.7z", "deep.tar"] {
        std::fs::copy(archives.join(name), d.join("dumps").join(name)).unwrap();
    }
    let before = dir_entries(d);
    let run = list(
        d,
        &[
            "--customers",
            "customers.csv",
            "dumps",
            "missing",
            "named-fifo",
        ],
    );
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        "scan\tdumps/a.txt\tlines, 19 bytes\n\
         scan\tdumps/b.csv.gz\tCSV, decompressed as it is read\n\
         unsupported\tdumps/c.txt\tgzip data not named .gz: rename it to scan it\n\
         scan\tdumps/deep.tar!2.tar!3.tar!4.tar!f.txt\tlines, in an archive\n\
         unsupported\tdumps/old.7z\ta 7z archive: not supported, extract it first\n\
         scan\tnamed-fifo\tlines, not a regular file: read as a stream\n\
         skip\tdumps/d-link.txt\ta symbolic link under a directory (-L follows it)\n\
         skip\tdumps/f-fifo\tnot a regular file (only a FIFO or device named on the command line is read)\n\
         skip\tdumps/e-same.txt\tthe same file as dumps/a.txt\n\
         error\tmissing\tNo such file or directory (os error 2)\n\
         error\tdumps/deep.tar!2.tar!3.tar!4.tar!5.tar\tan archive nested more than 4 deep is not opened\n"
    );
    assert!(
        run.stderr
            .contains("would scan 4 of 11 inputs (3 skipped, 2 unsupported, 2 unreadable)"),
        "{}",
        run.stderr
    );
    assert_eq!(dir_entries(d), before);
    // Nothing left to scan and something wrong: exit 2, as the scan would.
    list(d, &["--customers", "customers.csv", "missing"]).expect_code(2);
    // All clear: exit 0.
    list(d, &["--customers", "customers.csv", "dumps/a.txt"]).expect_code(0);
}

/// With `--state`: the files scanned before are `skip`, the new one `scan`; the
/// list works while a run holds the state (it reads, never locks) and leaves the
/// state as it was, byte for byte.
#[test]
fn list_with_state_skips_what_was_scanned_and_changes_nothing() {
    let dir = tmp();
    let d = dir.path();
    write_customers(d, &[("ok-1", "ok@x.example", &sha1_hex("pw-ok"))]);
    write(d, "dumps/a.txt", "ok@x.example:pw-ok\n");
    scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--state",
            "state",
            "-o",
            "out.ndjson",
            "dumps",
        ],
    )
    .expect_code(0);
    write(d, "dumps/b.txt", "ok@x.example:pw-new\n");
    let state = all_file_bytes(&d.join("state"));
    let holder = std::fs::File::open(d.join("state/lock")).unwrap();
    holder.lock().unwrap();
    let run = list(
        d,
        &["--customers", "customers.csv", "--state", "state", "dumps"],
    );
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "skip\tdumps/a.txt\tscanned before against these customers (--state; --rescan reads it again)\n\
         scan\tdumps/b.txt\tlines, 20 bytes\n"
    );
    drop(holder);
    assert_eq!(all_file_bytes(&d.join("state")), state);
    // With --rescan, everything would be read again.
    let run = list(
        d,
        &[
            "--customers",
            "customers.csv",
            "--state",
            "state",
            "--rescan",
            "dumps",
        ],
    );
    assert_eq!(run.stdout.matches("scan\t").count(), 2, "{}", run.stdout);
}

/// `--list` writes nothing, so it refuses the output flags rather than ignore them.
#[test]
fn list_refuses_output_flags() {
    let dir = one_customer_one_dump();
    for flag in ["-o", "--stats", "--review"] {
        let run = list(
            dir.path(),
            &["--customers", "customers.csv", flag, "x", "dumps"],
        );
        run.expect_code(2);
        assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    }
}
