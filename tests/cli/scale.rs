//! Customers at scale (issue 14): the index built in bounded memory gives the same
//! bytes however much it spills, a scan gives the same output whichever side it
//! builds its index from, temporary files never stay behind, and the duplicate-id
//! and row checks hold across the parallel reader's chunks.

use std::path::Path;

use crate::util::*;

/// `scan ARGS... --format F` in `dir` with each way of loading the customers:
/// `--join customers`, `--join dumps`, and a prebuilt index; every output (list in
/// each format, review list) must be byte-identical. The index and the review
/// lists go to a temporary directory: `dir` may be the checkout.
fn assert_strategies_agree(dir: &Path, customers: &str, dumps: &[&str], extra: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let index = out.path().join("strategies.lmx");
    leakmatch()
        .current_dir(dir)
        .args(["index", "--quiet", "--customers", customers, "-o"])
        .arg(&index)
        .assert()
        .code(0);
    let index = index.to_string_lossy().into_owned();
    for format in ["ndjson", "csv", "ids"] {
        let mut seen: Option<(String, String)> = None;
        for source in [
            ["--customers", customers, "--join", "customers"],
            ["--customers", customers, "--join", "dumps"],
            ["--index", &index, "--join", "auto"],
        ] {
            let review = out.path().join("review.ndjson");
            let mut args = source.to_vec();
            args.extend_from_slice(&["--format", format, "--review"]);
            let review_arg = review.to_string_lossy().into_owned();
            args.push(&review_arg);
            args.extend_from_slice(extra);
            args.extend_from_slice(dumps);
            let run = scan(dir, &args);
            assert!(run.code <= 1, "{source:?}: {}", run.stderr);
            let reviewed = std::fs::read_to_string(&review).unwrap();
            match &seen {
                None => seen = Some((run.stdout, reviewed)),
                Some((list, rev)) => {
                    assert_eq!(&run.stdout, list, "{source:?} --format {format}");
                    assert_eq!(&reviewed, rev, "{source:?} review list");
                }
            }
        }
    }
}

#[test]
fn strategies_agree_on_the_samples() {
    let root = root();
    assert_strategies_agree(
        root,
        "corpus-samples/customers.csv",
        &["corpus-samples/dumps"],
        &[],
    );
    assert_strategies_agree(
        root,
        "corpus-samples/slow-schemes/customers.csv",
        &["corpus-samples/slow-schemes/dump.txt"],
        &["--max-checks", "2"],
    );
}

/// Many accounts a login (in several case forms), logins seen with several
/// passwords, fast and slow schemes, a customers file bigger than one chunk of the
/// reader: every strategy finds the same accounts.
#[test]
fn strategies_agree_with_shared_logins_and_every_scheme_family() {
    let d = tmp();
    let dir = d.path();
    let mut csv = String::from("account_id,login,password_hash\n");
    let mut dump = String::new();
    for i in 0..60_000u32 {
        let login = format!("User{}@Shared.example", i % 40_000);
        let pw = format!("pw-{i}");
        let hash = match i % 50 {
            0 => bcrypt_hash(&pw, 4),
            1 => nt(&pw),
            2 => ldap_ssha1(&pw, &i.to_le_bytes()),
            _ => sha1_hex(&pw),
        };
        csv.push_str(&format!("id-{i:06},{login},{hash}\n"));
        if i % 97 == 0 {
            dump.push_str(&format!("{}:{pw}\n", login.to_lowercase()));
            dump.push_str(&format!("{login}:wrong-{i}\n"));
        }
    }
    assert!(csv.len() > 4 << 20, "more than one chunk of the reader");
    write(dir, "customers.csv", csv);
    write(dir, "dumps/a.txt", dump);
    write(dir, "dumps/b.txt", "nobody@x.example:pw\n");
    assert_strategies_agree(dir, "customers.csv", &["dumps"], &[]);
}

/// `index --memory 1M` spills and splits its partitions; the index it writes is
/// the same, byte for byte, as the one built with room to spare (or on one
/// thread), and a scan that builds in a tight budget gives the same list.
#[test]
fn a_tight_memory_budget_spills_and_changes_nothing() {
    let d = tmp();
    let dir = d.path();
    let mut csv = String::from("account_id,login,password_hash\n");
    for i in 0..80_000u32 {
        csv.push_str(&format!(
            "acct-{:06},user{}@x.example,{}\n",
            (i * 7919) % 80_000,
            i,
            sha1_hex(format!("pw{i}"))
        ));
    }
    write(dir, "customers.csv", csv);
    write(
        dir,
        "dump.txt",
        (0..80_000)
            .step_by(13)
            .map(|i| format!("user{i}@x.example:pw{i}\n"))
            .collect::<String>(),
    );
    let build = |out: &str, extra: &[&str]| {
        let mut args = vec!["index", "--customers", "customers.csv", "-o", out];
        args.extend_from_slice(extra);
        let run = run_in(dir, &args, None);
        run.expect_code(0);
        run.stderr
    };
    let roomy = build("roomy.lmx", &[]);
    let tight = build("tight.lmx", &["--memory", "1M", "--tmp-dir", "tmp-spill"]);
    build("single.lmx", &["-j", "1"]);
    assert!(roomy.contains("spilled 0 bytes"), "{roomy}");
    assert!(!tight.contains("spilled 0 bytes"), "{tight}");
    let roomy = std::fs::read(dir.join("roomy.lmx")).unwrap();
    assert_eq!(
        roomy,
        std::fs::read(dir.join("tight.lmx")).unwrap(),
        "the spilled build wrote other bytes"
    );
    assert_eq!(
        roomy,
        std::fs::read(dir.join("single.lmx")).unwrap(),
        "the one-thread build wrote other bytes"
    );
    let list = |args: &[&str]| {
        let mut all = vec!["--format", "ids", "--stats", "stats.json"];
        all.extend_from_slice(args);
        all.push("dump.txt");
        let run = scan(dir, &all);
        run.expect_code(0);
        (run.stdout, read_stats(&dir.join("stats.json")))
    };
    let (want, _) = list(&["--index", "roomy.lmx"]);
    assert_eq!(want.lines().count(), 80_000 / 13 + 1);
    let (got, stats) = list(&[
        "--customers",
        "customers.csv",
        "--join",
        "customers",
        "--memory",
        "1M",
        "--tmp-dir",
        "tmp-spill",
    ]);
    assert_eq!(got, want);
    assert!(stat(&stats, "spilled_bytes") > 0);
    assert_eq!(stats["customers_from"], "customers");
    assert_eq!(stat(&stats, "customers"), 80_000);
    // Spill files are unlinked from the start: the directory stayed empty.
    assert!(dir_entries(&dir.join("tmp-spill")).is_empty());
}

/// Rows far larger than the memory budget's blocks: the build still finishes,
/// with the same index.
#[test]
fn rows_larger_than_the_budget_allows_still_finish() {
    let d = tmp();
    let dir = d.path();
    let mut csv = String::from("account_id,login,password_hash\n");
    let pad = "x".repeat(20_000);
    for i in 0..300 {
        csv.push_str(&format!(
            "id-{pad}-{i},{pad}{i}@x.example,{}\n",
            sha1_hex("pw")
        ));
    }
    write(dir, "customers.csv", csv);
    write(dir, "dump.txt", format!("{pad}7@x.example:pw\n"));
    for memory in ["1M", "64M"] {
        let run = scan(
            dir,
            &[
                "--customers",
                "customers.csv",
                "--memory",
                memory,
                "--format",
                "ids",
                "dump.txt",
            ],
        );
        run.expect_code(0);
        assert_eq!(run.stdout, format!("id-{pad}-7\n"));
    }
}

/// A repeated account_id is found wherever it is: in the same chunk of the
/// reader or far apart, in ids that are otherwise in order (the fast path that
/// skips the sort) or not, with every strategy and by `index`.
#[test]
fn a_repeated_id_is_found_across_chunks() {
    let d = tmp();
    let dir = d.path();
    let hash = sha1_hex("pw");
    let rows = |repeat_at: Option<usize>, shuffled: bool| {
        let mut csv = String::from("account_id,login,password_hash\n");
        for i in 0..120_000usize {
            let n = if shuffled { (i * 7919) % 120_000 } else { i };
            let id = match repeat_at {
                Some(at) if i == at => "id-000005".to_string(),
                _ => format!("id-{n:06}"),
            };
            csv.push_str(&format!("{id},u{i}@x.example,{hash}\n"));
        }
        csv
    };
    write(dir, "dump.txt", "u1@x.example:pw\n");
    for shuffled in [false, true] {
        // The line of the first use of id-000005 (line 1 is the header).
        let first = if shuffled {
            (0..120_000).find(|i| (i * 7919) % 120_000 == 5).unwrap() + 2
        } else {
            7
        };
        for at in [100_000, 12] {
            if shuffled && at == 12 {
                continue;
            }
            write(dir, "customers.csv", rows(Some(at), shuffled));
            let want = [
                format!("customers.csv:{}:", at + 2),
                format!("first used on line {first}"),
            ];
            let want: Vec<&str> = want.iter().map(String::as_str).collect();
            for join in ["customers", "dumps"] {
                let run = scan(
                    dir,
                    &["--customers", "customers.csv", "--join", join, "dump.txt"],
                );
                assert_fatal(&run, &want);
            }
            let run = run_in(
                dir,
                &["index", "--customers", "customers.csv", "-o", "x.lmx"],
                None,
            );
            assert_fatal(&run, &want);
        }
        write(dir, "customers.csv", rows(None, shuffled));
        scan(dir, &["--customers", "customers.csv", "dump.txt"]).expect_code(0);
    }
}

/// A bad row near the end of a big file is named by its line, whichever strategy
/// reads it, and no index or temporary file is left behind by the failed build.
#[test]
fn a_bad_row_far_into_a_big_file_fails_cleanly() {
    let d = tmp();
    let dir = d.path();
    let mut csv = String::from("account_id,login,password_hash\n");
    for i in 0..100_000 {
        let hash = if i == 99_990 {
            "not-a-hash".to_string()
        } else {
            sha1_hex("pw")
        };
        csv.push_str(&format!("id-{i},u{i}@x.example,{hash}\n"));
    }
    write(dir, "customers.csv", csv);
    write(dir, "dump.txt", "u1@x.example:pw\n");
    std::fs::create_dir(dir.join("spill")).unwrap();
    std::fs::create_dir(dir.join("out")).unwrap();
    for join in ["customers", "dumps"] {
        let run = scan(
            dir,
            &["--customers", "customers.csv", "--join", join, "dump.txt"],
        );
        assert_fatal(&run, &["customers.csv:99992:", "password_hash"]);
    }
    let run = run_in(
        dir,
        &[
            "index",
            "--customers",
            "customers.csv",
            "-o",
            "out/x.lmx",
            "--tmp-dir",
            "spill",
        ],
        None,
    );
    assert_fatal(&run, &["customers.csv:99992:"]);
    assert!(dir_entries(&dir.join("spill")).is_empty());
    assert!(dir_entries(&dir.join("out")).is_empty());
}

/// Ctrl-C during `index`: exit 130, no index, no temporary file anywhere.
#[test]
fn an_interrupted_index_build_leaves_nothing() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let d = tmp();
    let dir = d.path();
    let mut csv = String::from("account_id,login,password_hash\n");
    let hash = sha1_hex("pw");
    for i in 0..1_500_000 {
        csv.push_str(&format!("id-{i},user{i}@x.example,{hash}\n"));
    }
    write(dir, "customers.csv", csv);
    std::fs::create_dir(dir.join("spill")).unwrap();
    std::fs::create_dir(dir.join("out")).unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("leakmatch"))
        .current_dir(dir)
        .args([
            "index",
            "--customers",
            "customers.csv",
            "-o",
            "out/x.lmx",
            "--tmp-dir",
            "spill",
            "--memory",
            "4M",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) with a child's pid and SIGINT; no memory is involved.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) } == 0;
    assert!(sent);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) {
        // The build beat the signal (a fast machine): nothing to check but that
        // no temporary file stayed.
        assert!(dir.join("out/x.lmx").exists());
    } else {
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(dir_entries(&dir.join("out")).is_empty());
    }
    assert!(dir_entries(&dir.join("spill")).is_empty());
}

/// Exit 2 with every fragment in one line of stderr.
#[track_caller]
fn assert_fatal(run: &Run, fragments: &[&str]) {
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| fragments.iter().all(|f| l.contains(f)));
    assert!(
        line.is_some(),
        "no line with {fragments:?} in:\n{}",
        run.stderr
    );
}

/// `--join auto` builds from the dumps when they are at most half the size of the
/// customers file, and from the customers otherwise, or when a state is kept (its
/// snapshot is needed first) or a dump comes from stdin (it cannot be read twice).
#[test]
fn auto_join_builds_from_the_smaller_side() {
    let d = tmp();
    let dir = d.path();
    let rows: Vec<(String, String, String)> = (0..2_000)
        .map(|i| {
            (
                format!("{i}"),
                format!("user{i}@x.example"),
                sha1_hex(format!("pw{i}")),
            )
        })
        .collect();
    let csv = write_customers_owned(dir, &rows);
    let csv_len = std::fs::metadata(&csv).unwrap().len() as usize;
    let dump = |n: usize| -> String {
        (0..n)
            .map(|i| format!("user{i}@x.example:pw{i}\n"))
            .collect()
    };
    let small = dump(100);
    assert!(small.len() * 2 <= csv_len);
    write(dir, "small.txt", &small);
    let mut big = dump(2_000);
    while big.len() * 2 <= csv_len {
        big.push_str(&big.clone());
    }
    write(dir, "big.txt", &big);
    let from = |args: &[&str], stdin: Option<&str>| -> String {
        let mut all = vec![
            "scan",
            "--quiet",
            "--customers",
            "customers.csv",
            "--stats",
            "stats.json",
        ];
        all.extend_from_slice(args);
        let run = run_in(dir, &all, stdin.map(|s| s.as_bytes().to_vec()));
        assert!(run.code <= 1, "{args:?}: {}", run.stderr);
        let stats = read_stats(&dir.join("stats.json"));
        stats["customers_from"].as_str().unwrap().to_string()
    };
    assert_eq!(from(&["small.txt"], None), "dumps");
    assert_eq!(from(&["big.txt"], None), "customers");
    assert_eq!(from(&["--state", "state", "small.txt"], None), "customers");
    assert_eq!(from(&["-"], Some(&small)), "customers");
}
