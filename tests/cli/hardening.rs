//! Issue 15: output paths, signals in every phase. Each test is named for the row
//! of the table it guards.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const OK_IDS: &str = "ok-1\n";

fn kill(child: &Child, signal: i32) {
    // SAFETY: kill(2) with a child's pid; no memory is involved.
    let ok = unsafe { libc::kill(child.id() as libc::pid_t, signal) } == 0;
    assert!(ok, "kill({signal}) failed");
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("leakmatch"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `limit`; kills it and fails if it is still running.
fn wait_at_most(mut child: Child, limit: Duration) -> (i32, String) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().expect("exited, not killed"), stderr)
}

fn leftovers(dir: &Path) -> Vec<String> {
    dir_entries(dir)
        .into_iter()
        .filter(|n| n.starts_with(".leakmatch-"))
        .collect()
}

// Row 1: outputs are written into what they name, never renamed over it.

#[test]
fn output_to_a_fifo_is_written_in_place() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let fifo = d.join("resets.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--format",
            "ids",
            "-o",
            "resets.fifo",
            "dumps",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        reader.join().unwrap(),
        OK_IDS,
        "the FIFO's reader got the list"
    );
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "still a FIFO"
    );
}

#[test]
fn output_through_a_symlink_replaces_its_target_not_the_link() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    std::fs::create_dir(d.join("real")).unwrap();
    write(d, "real/resets.txt", "old\n");
    std::os::unix::fs::symlink("real/resets.txt", d.join("link.txt")).unwrap();
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--format",
            "ids",
            "-o",
            "link.txt",
            "dumps",
        ],
    );
    run.expect_code(0);
    assert!(std::fs::symlink_metadata(d.join("link.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(d.join("real/resets.txt")).unwrap(),
        OK_IDS
    );
    assert!(leftovers(d).is_empty() && leftovers(&d.join("real")).is_empty());
}

#[test]
fn dash_is_standard_output_for_o_and_stats() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--format",
            "ids",
            "-o",
            "-",
            "-q",
            "dumps",
        ],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, OK_IDS);
    // The statistics alone on stdout, the reset list in a file.
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--format",
            "ids",
            "-o",
            "r.txt",
            "--stats",
            "-",
            "-q",
            "dumps",
        ],
    );
    run.expect_code(0);
    let stats: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(stats["accounts_to_reset"], 1);
    assert_eq!(std::fs::read_to_string(d.join("r.txt")).unwrap(), OK_IDS);
    // Both on stdout would interleave: refused.
    let run = scan(
        d,
        &["--customers", "customers.csv", "--stats", "-", "dumps"],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("--stats"), "{}", run.stderr);
}

// Row 11: every output path is checked before any work, collisions refused, one
// cause printed once.

#[test]
fn a_bad_output_path_fails_before_reading_any_input() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    // The dump is a stdin that never ends: only a check made before reading it
    // lets the run exit.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("leakmatch"))
        .current_dir(d)
        .args([
            "scan",
            "--customers",
            "customers.csv",
            "-o",
            "nope/resets.txt",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let (code, stderr) = wait_at_most(child, Duration::from_secs(20));
    drop(stdin);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("nope/resets.txt") && stderr.contains("does not exist"),
        "{stderr}"
    );
    // One cause, said once.
    assert_eq!(stderr.matches("does not exist").count(), 1, "{stderr}");
    assert!(
        !stderr.contains(".tmp"),
        "no temporary name in the message: {stderr}"
    );
}

#[test]
fn one_file_for_two_roles_is_refused_at_start() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "-o",
            "out.txt",
            "--stats",
            "./out.txt",
            "dumps",
        ],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("-o and --stats name the same file"),
        "{}",
        run.stderr
    );
    assert!(!d.join("out.txt").exists());
}

#[test]
fn an_output_that_is_an_input_is_refused_at_start() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let before = std::fs::read(d.join("customers.csv")).unwrap();
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "-o",
            "customers.csv",
            "dumps",
        ],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("is an input"), "{}", run.stderr);
    assert_eq!(std::fs::read(d.join("customers.csv")).unwrap(), before);
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--review",
            "dumps/ok.txt",
            "dumps",
        ],
    );
    run.expect_code(2);
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "-o",
            "dumps/resets.txt",
            "dumps",
        ],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("inside the input directory"),
        "{}",
        run.stderr
    );
    let run = run_in(
        d,
        &[
            "index",
            "--customers",
            "customers.csv",
            "-o",
            "customers.csv",
        ],
        None,
    );
    run.expect_code(2);
    assert_eq!(std::fs::read(d.join("customers.csv")).unwrap(), before);
}

#[test]
fn an_index_is_never_written_to_a_fifo() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    mkfifo(&d.join("x.lmx"));
    let run = run_in(
        d,
        &["index", "--customers", "customers.csv", "-o", "x.lmx"],
        None,
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("must be a regular file"),
        "{}",
        run.stderr
    );
}

// Row 12: the state is checked before the run and staged with the outputs.

#[test]
fn an_unusable_state_directory_fails_before_any_output() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "state-is-a-file", "x");
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--state",
            "state-is-a-file",
            "-o",
            "out.txt",
            "dumps",
        ],
    );
    run.expect_code(2);
    assert!(
        !d.join("out.txt").exists(),
        "no output when the state cannot be kept"
    );
}

// Rows 2 and 3: SIGINT, SIGTERM and SIGHUP stop every phase, leaving nothing.

/// Customers from a FIFO we hold open: the run is loading them when the signal
/// comes.
#[test]
fn a_signal_during_the_customer_load_stops_scan_and_index() {
    for (signal, code, cmd) in [
        (libc::SIGTERM, 143, "scan"),
        (libc::SIGHUP, 129, "scan"),
        (libc::SIGINT, 130, "index"),
        (libc::SIGTERM, 143, "index"),
    ] {
        let dir = one_customer_one_dump();
        let d = dir.path();
        mkfifo(&d.join("customers.fifo"));
        let args: Vec<&str> = match cmd {
            "scan" => vec![
                "scan",
                "--customers",
                "customers.fifo",
                "-o",
                "out.txt",
                "dumps",
            ],
            _ => vec!["index", "--customers", "customers.fifo", "-o", "out.lmx"],
        };
        let child = spawn(d, &args);
        let mut writer = std::fs::OpenOptions::new()
            .write(true)
            .open(d.join("customers.fifo"))
            .unwrap();
        writer
            .write_all(b"account_id,login,password_hash\nok-1,ok@x.example,")
            .unwrap();
        writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        kill(&child, signal);
        std::thread::sleep(Duration::from_millis(300));
        drop(writer);
        let (got, stderr) = wait_at_most(child, Duration::from_secs(20));
        assert_eq!(got, code, "{cmd} {signal}: {stderr}");
        assert!(stderr.contains("stopped by"), "{stderr}");
        assert!(!d.join("out.txt").exists() && !d.join("out.lmx").exists());
        assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
    }
}

/// A slow-hash customer with many leaked candidates: verification takes many
/// seconds, and a SIGTERM sent during it ends the run before the next check, with
/// no output replaced and the state untouched.
#[test]
fn a_signal_during_verification_stops_between_slow_checks() {
    let dir = tmp();
    let d = dir.path();
    // A valid PBKDF2 row whose checks are slow in a debug build; the hash need
    // not match anything: every check costs the same.
    let hash = format!("pbkdf2_sha256$100000$salt${}", "A".repeat(43) + "=");
    write_customers(d, &[("slow-1", "slow@x.example", &hash)]);
    let dump: String = (0..8)
        .map(|i| format!("slow@x.example:guess-{i}\n"))
        .collect();
    write(d, "dumps/d.txt", dump);
    write(d, "out.txt", "old\n");
    let started = Instant::now();
    let child = spawn(
        d,
        &[
            "scan",
            "--customers",
            "customers.csv",
            "-o",
            "out.txt",
            "--state",
            "state",
            "dumps",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    kill(&child, libc::SIGTERM);
    let signalled = started.elapsed();
    let (code, stderr) = wait_at_most(child, Duration::from_secs(60));
    assert_eq!(code, 143, "{stderr}");
    assert!(
        started.elapsed() < signalled + Duration::from_secs(10),
        "stopped {:?} after the signal",
        started.elapsed() - signalled
    );
    assert_eq!(std::fs::read_to_string(d.join("out.txt")).unwrap(), "old\n");
    assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
    let state = d.join("state");
    assert!(
        !state.exists() || dir_entries(&state).iter().all(|n| !n.ends_with(".json")),
        "the state did not advance: {:?}",
        dir_entries(&state)
    );
}

// Row 4: a poisoned customer row is set aside, never run.

fn poisoned_customers(d: &Path) -> [String; 3] {
    let poisoned = [
        format!("$2b$31${}", "a".repeat(53)),
        "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".to_string(),
        format!("$6$rounds=999999999$salt${}", "b".repeat(86)),
    ];
    write_customers(
        d,
        &[
            ("ok-1", "ok@x.example", &sha1_hex("pw-ok")),
            ("bc-1", "bc@x.example", &poisoned[0]),
            ("ar-1", "ar@x.example", &poisoned[1]),
            ("sc-1", "sc@x.example", &poisoned[2]),
        ],
    );
    write(
        d,
        "dumps/d.txt",
        "ok@x.example:pw-ok\nbc@x.example:pw\nar@x.example:pw\nsc@x.example:pw\n",
    );
    poisoned
}

#[test]
fn a_poisoned_customer_row_is_set_aside_never_run() {
    let dir = tmp();
    let d = dir.path();
    let poisoned = poisoned_customers(d);
    for join in ["customers", "dumps"] {
        let run = scan(
            d,
            &[
                "--customers",
                "customers.csv",
                "--join",
                join,
                "--format",
                "ids",
                "--review",
                "review.ndjson",
                "--stats",
                "stats.json",
                "dumps",
            ],
        );
        // Exit 1: the run is complete but for the accounts it could not check.
        run.expect_code(1);
        assert_eq!(run.stdout, "ok-1\n");
        for (line, key) in [
            (3, "bcrypt-cost 31"),
            (4, "argon2-memory-kib"),
            (5, "sha-crypt-rounds"),
        ] {
            let named = format!("customers.csv:{line}: {key}");
            assert!(
                run.stderr.contains(&named),
                "{join}: {named} in {}",
                run.stderr
            );
        }
        for p in &poisoned {
            assert!(
                !run.stderr.contains(p.as_str()),
                "a hash on stderr: {}",
                run.stderr
            );
        }
        let reviews = parse_reviews(&std::fs::read_to_string(d.join("review.ndjson")).unwrap());
        let listed: Vec<(&str, &str, u64)> = reviews
            .iter()
            .map(|r| (r.account_id.as_str(), r.reason.as_str(), r.checked))
            .collect();
        assert_eq!(
            listed,
            [
                ("ar-1", "unverifiable", 0),
                ("bc-1", "unverifiable", 0),
                ("sc-1", "unverifiable", 0)
            ]
        );
        let stats = read_stats(&d.join("stats.json"));
        assert_eq!(stat(&stats, "customers_set_aside"), 3);
        assert_eq!(stat(&stats, "accounts_unverifiable"), 3);
    }
    // `index` names them too, and the scan from the index lists them for review.
    let run = run_in(
        d,
        &["index", "--customers", "customers.csv", "-o", "c.lmx"],
        None,
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("customers.csv:3: bcrypt-cost 31"),
        "{}",
        run.stderr
    );
    let run = scan(d, &["--index", "c.lmx", "--format", "ids", "-q", "dumps"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "ok-1\n");
}

#[test]
fn hash_limits_are_set_by_flag() {
    let dir = tmp();
    let d = dir.path();
    write_customers(d, &[("b-1", "b@x.example", &bcrypt_hash("pw-b", 5))]);
    write(d, "dumps/d.txt", "b@x.example:pw-b\n");
    let args = [
        "--customers",
        "customers.csv",
        "--format",
        "ids",
        "-q",
        "dumps",
    ];
    let run = scan(d, &args);
    run.expect_code(0);
    assert_eq!(run.stdout, "b-1\n");
    let mut lowered = args.to_vec();
    lowered.extend(["--hash-limit", "bcrypt-cost=4"]);
    let run = scan(d, &lowered);
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("customers.csv:2: bcrypt-cost 5 is above the limit 4"),
        "{}",
        run.stderr
    );
    let run = scan(
        d,
        &[
            "--hash-limit",
            "bcrypt=4",
            "--customers",
            "customers.csv",
            "dumps",
        ],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("bcrypt-cost"), "{}", run.stderr);
}

// Row 10: names and ids.

#[test]
fn control_characters_in_file_names_are_escaped_on_stderr() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    // A damaged gzip whose name would clear the screen if printed raw.
    write(
        d,
        "dumps/x\u{1b}[2Jy.txt.gz",
        b"\x1f\x8b\x08\x00not gzip at all",
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(1);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "raw ESC on stderr: {:?}",
        run.stderr
    );
    assert!(run.stderr.contains("x\\x1b[2Jy.txt.gz"), "{:?}", run.stderr);
}

#[test]
fn an_account_id_with_a_line_break_is_refused_at_load() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(
        d,
        "customers.csv",
        format!(
            "account_id,login,password_hash\nok-1,ok@x.example,{}\n\"two\nids\",b@x.example,{}\n",
            sha1_hex("pw-ok"),
            sha1_hex("pw-b")
        ),
    );
    let run = scan_paths(d, &["--format", "ids", "dumps"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("customers.csv:3: account_id contains a control character"),
        "{}",
        run.stderr
    );
}

// Row 9: zip archives.

#[test]
fn zip_members_with_the_same_name_are_all_scanned() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("ok-1", "ok@x.example", &sha1_hex("pw-ok")),
            ("two-1", "two@x.example", &sha1_hex("pw-two")),
        ],
    );
    write(d, "x.txt", "ok@x.example:pw-ok\n");
    write(d, "y.txt", "two@x.example:pw-two\n");
    let zip = |args: &[&str]| {
        let ok = Command::new("zip")
            .current_dir(d)
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "zip {args:?}");
    };
    zip(&["-q", "dup.zip", "x.txt", "y.txt"]);
    // zipnote renames y.txt to x.txt: two members named x.txt.
    let mut note = Command::new("zipnote")
        .current_dir(d)
        .args(["-w", "dup.zip"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    note.stdin
        .take()
        .unwrap()
        .write_all(b"@ y.txt\n@=x.txt\n@ (comment above this line)\n")
        .unwrap();
    assert!(note.wait().unwrap().success());
    let run = scan(
        d,
        &[
            "--customers",
            "customers.csv",
            "--format",
            "csv",
            "-q",
            "dup.zip",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "account_id,login,reason,scheme,sightings,first_seen_file,first_seen_line,via,variant\n\
         ok-1,ok@x.example,password_match,sha1,1,dup.zip!x.txt,1,,\n\
         two-1,two@x.example,password_match,sha1,1,dup.zip!x.txt#2,1,,\n"
    );
}

/// 32,000 members took 13 minutes when each re-read the central directory: a run
/// still going after two minutes (a debug build, a busy machine) is that bug.
#[test]
fn a_zip_of_many_members_reads_its_directory_once() {
    use std::io::Write as _;
    let dir = tmp();
    let d = dir.path();
    write_customers(d, &[("ok-1", "ok@x.example", &sha1_hex("pw-ok"))]);
    let file = std::fs::File::create(d.join("many.zip")).unwrap();
    let mut w = zip::ZipWriter::new(file);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..32_000 {
        w.start_file(format!("m{i:05}.txt"), stored).unwrap();
        w.write_all(if i == 31_999 {
            b"ok@x.example:pw-ok\n"
        } else {
            b"x@y.z:nope\n"
        })
        .unwrap();
    }
    w.finish().unwrap();
    let child = spawn(
        d,
        &[
            "scan",
            "--customers",
            "customers.csv",
            "--format",
            "ids",
            "many.zip",
        ],
    );
    let (code, stderr) = wait_at_most(child, Duration::from_secs(120));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("32000 files"), "{stderr}");
}

// Rows 5-7: bounded memory on any dump.

/// Runs `leakmatch ARGS` in `dir` and returns its exit code, stderr and peak RSS
/// in MiB.
///
/// The peak is measured by a small `python3` parent: a child forked from this test
/// process starts with this process's resident pages counted in its high-water
/// mark (a child that only printed its version measured 504 MiB beside a test
/// holding 500 MiB), so under `cargo test`'s parallel tests a direct child's
/// `ru_maxrss` measured its siblings' buffers too.
fn run_measured(dir: &Path, args: &[&str]) -> (i32, String, u64) {
    const SCRIPT: &str = "import resource, subprocess, sys\n\
        r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)\n\
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n\
        sys.stderr.write('\\nmaxrss-kib=%d\\n' % peak)\n\
        sys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)\n";
    let out = Command::new("python3")
        .current_dir(dir)
        .arg("-c")
        .arg(SCRIPT)
        .arg(assert_cmd::cargo::cargo_bin("leakmatch"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let (stderr, peak) = stderr
        .trim_end()
        .rsplit_once("\nmaxrss-kib=")
        .unwrap_or_else(|| panic!("no peak measured: {stderr}"));
    let code = out.status.code().expect("python3 exited");
    assert!(code < 128, "killed by signal {}: {stderr}", code - 128);
    (
        code,
        stderr.to_string(),
        peak.parse::<u64>().unwrap() / 1024,
    )
}

/// Regression: the memory tests failed under the full suite (207 and 281 MiB
/// against 14 MiB alone) because the peak counted this process's memory.
#[test]
fn peak_rss_is_the_childs_own_not_the_test_process() {
    let held = vec![1u8; 256 << 20];
    let dir = tmp();
    let (code, _, rss) = run_measured(dir.path(), &["--version"]);
    assert_eq!(code, 0);
    assert!(
        rss < 64,
        "peak RSS {rss} MiB beside {} MiB held here",
        held.len() >> 20
    );
    std::hint::black_box(&held);
}

#[test]
fn xz_dictionaries_beyond_the_decoder_limit_are_refused_not_allocated() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    // Four tiny .xz files declaring 1.5 GiB dictionaries, made by Python's lzma
    // (liblzma): 6.3 GB of RSS at -j4 before the limit.
    let made = Command::new("python3")
        .current_dir(d)
        .args([
            "-c",
            "import lzma\n\
             f=[{'id': lzma.FILTER_LZMA2, 'dict_size': 1536 << 20}]\n\
             x=lzma.compress(b'ok@x.example:pw-ok\\n', format=lzma.FORMAT_XZ, filters=f)\n\
             for i in range(4):\n\
             \x20   open(f'dumps/big{i}.txt.xz','wb').write(x)\n",
        ])
        .status()
        .expect("python3");
    assert!(made.success());
    let (code, stderr, rss) = run_measured(
        d,
        &[
            "scan",
            "--customers",
            "customers.csv",
            "-j4",
            "--format",
            "ids",
            "dumps",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr.matches("the decoder memory limit").count(),
        4,
        "{stderr}"
    );
    assert!(rss < 300, "peak RSS {rss} MiB");
}

/// An unclosed quote makes the rest of a CSV dump one record, and a line of commas
/// one record of millions of fields: each is skipped as `too_long`, in bounded
/// memory (1.06 GB for 4.6 MB gzipped, and an 8 GiB allocation, before the cap).
#[test]
fn csv_records_are_capped_like_lines() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let mut open = b"login,password\nok@x.example,pw-ok\n\"never closed,".to_vec();
    open.extend(std::iter::repeat_n(b'a', 60 << 20));
    write(d, "dumps/open.csv.gz", gzip(&open));
    let mut commas = b"login,password\n".to_vec();
    commas.extend(std::iter::repeat_n(b',', 60 << 20));
    commas.extend(b"\nok@x.example,pw-ok\n");
    write(d, "dumps/commas.csv.gz", gzip(&commas));
    let (code, stderr, rss) = run_measured(
        d,
        &[
            "scan",
            "--customers",
            "customers.csv",
            "--stats",
            "s.json",
            "-o",
            "r.txt",
            "dumps",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let stats = read_stats(&d.join("s.json"));
    assert_eq!(skipped(&stats, "too_long"), 2);
    assert_eq!(stat(&stats, "accounts_to_reset"), 1);
    assert!(rss < 200, "peak RSS {rss} MiB");
}

/// One customer's login with a million distinct passwords: 1024 are kept (with
/// their sightings), the rest counted, and the account goes to review unless a kept
/// one verifies. 10M of them took 1.67 GB before the cap. Kept are the most-sighted
/// (the rule of `--max-checks`): a real password repeated through a flood is kept
/// and verified wherever it first appears.
#[test]
fn candidates_per_login_are_capped_and_the_rest_counted() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("ok-1", "ok@x.example", &sha1_hex("pw-ok")),
            ("late-1", "late@x.example", &sha1_hex("pw-late")),
            ("loud-1", "loud@x.example", &sha1_hex("pw-loud")),
        ],
    );
    let mut dump = String::from("ok@x.example:pw-ok\n");
    for i in 0..5000 {
        dump.push_str(&format!("loud@x.example:guess-{i}\n"));
        if i >= 3000 && i % 300 == 0 {
            dump.push_str("loud@x.example:pw-loud\n");
        }
    }
    for i in 0..1_000_000 {
        dump.push_str(&format!("late@x.example:guess-{i}\n"));
    }
    // The right password comes after the cap: it is not kept.
    dump.push_str("late@x.example:pw-late\n");
    write(d, "dumps/flood.txt.gz", gzip(dump.as_bytes()));
    let (code, stderr, rss) = run_measured(
        d,
        &[
            "scan",
            "--customers",
            "customers.csv",
            "--format",
            "ids",
            "-o",
            "r.txt",
            "--review",
            "review.ndjson",
            "--stats",
            "s.json",
            "dumps",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(d.join("r.txt")).unwrap(),
        "loud-1\nok-1\n"
    );
    let reviews = parse_reviews(&std::fs::read_to_string(d.join("review.ndjson")).unwrap());
    assert_eq!(reviews.len(), 1);
    assert_eq!(
        (reviews[0].account_id.as_str(), reviews[0].reason.as_str()),
        ("late-1", "too_many_candidates")
    );
    assert_eq!(reviews[0].checked, 1024);
    let stats = read_stats(&d.join("s.json"));
    // Not kept: late's lines beyond the cap, and loud's beyond the cap bar the
    // password it repeated.
    let not_kept = stat(&stats, "candidates_not_kept");
    let loud_lines = 5000 + 7;
    assert!(
        not_kept > 1_000_001 - 1024 + loud_lines - 1024 - 7
            && not_kept <= 1_000_001 - 1024 + loud_lines - 1024,
        "{not_kept}"
    );
    assert!(rss < 150, "peak RSS {rss} MiB");
}

// Row 8: a mapped dump truncated during the scan.

/// The dump shrinks to a page while the scan reads it: the run must not die of
/// SIGBUS (exit 135, 3 tries in 4 before); the file is reported unreadable.
#[test]
fn a_dump_truncated_during_the_scan_is_reported_not_a_sigbus() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    let line = b"someone@x.example:not-the-password\n";
    let big: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(line.len() * 2_000_000)
        .collect();
    write(d, "dumps/big.txt", &big);
    let child = spawn(
        d,
        &["scan", "--customers", "customers.csv", "-j1", "-q", "dumps"],
    );
    std::thread::sleep(Duration::from_millis(300));
    std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("dumps/big.txt"))
        .unwrap()
        .set_len(4096)
        .unwrap();
    let (code, stderr) = wait_at_most(child, Duration::from_secs(120));
    // Exit 0 only if the scan was done before the truncation.
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    if code == 1 {
        assert!(
            stderr.contains("big.txt: the file shrank while it was read"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "said once: {stderr}");
    }
    eprintln!("truncation test: exit {code}");
}

/// On a terminal the bar shows verification as its own counted step (faked with
/// util-linux `script`): with slow hashes it can be the longest.
#[test]
fn the_progress_bar_counts_the_verify_step() {
    let dir = tmp();
    let d = dir.path();
    let hash = format!("pbkdf2_sha256$30000$salt${}", "A".repeat(43) + "=");
    write_customers(d, &[("slow-1", "slow@x.example", &hash)]);
    let dump: String = (0..8)
        .map(|i| format!("slow@x.example:guess-{i}\n"))
        .collect();
    write(d, "dumps/d.txt", dump);
    let cmd = format!(
        "{} scan --customers customers.csv -o out.txt dumps",
        assert_cmd::cargo::cargo_bin("leakmatch").display()
    );
    let log = d.join("typescript.log");
    let status = Command::new("script")
        .current_dir(d)
        .args(["-qec", &cmd])
        .arg(&log)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let drawn = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(drawn.contains("verifying"), "{drawn}");
    assert!(drawn.contains("candidates"), "{drawn}");
}

/// The phases too short to signal from outside — writing the reports, an index's
/// sort and write — take a SIGTERM the binary sends itself there
/// (`LEAKMATCH_STOP_AT`): exit 143, every old output as it was, no temp file, the
/// state not advanced.
#[test]
fn a_signal_while_writing_reports_or_an_index_leaves_everything_as_it_was() {
    let dir = one_customer_one_dump();
    let d = dir.path();
    write(d, "out.txt", "old\n");
    write(d, "c.lmx", "old index\n");
    let run = |args: &[&str], point: &str| {
        let out = Command::new(assert_cmd::cargo::cargo_bin("leakmatch"))
            .current_dir(d)
            .args(args)
            .env("LEAKMATCH_STOP_AT", point)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(
        &[
            "scan",
            "--customers",
            "customers.csv",
            "-o",
            "out.txt",
            "--stats",
            "s.json",
            "--state",
            "state",
            "dumps",
        ],
        "report",
    );
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(std::fs::read_to_string(d.join("out.txt")).unwrap(), "old\n");
    assert!(!d.join("s.json").exists());
    assert!(
        dir_entries(&d.join("state"))
            .iter()
            .all(|n| !n.ends_with(".json")),
        "the state did not advance"
    );
    let (code, stderr) = run(
        &["index", "--customers", "customers.csv", "-o", "c.lmx"],
        "index-write",
    );
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(d.join("c.lmx")).unwrap(),
        "old index\n"
    );
    assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
}
