//! The terminal and the process (issue 5): the progress bar, completions and the
//! man page, a closed stdout pipe, Ctrl-C.

use std::path::Path;

use crate::containers::scan_containers;
use crate::util::*;

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

/// One page: the commands are its sections, so it points to no `leakmatch-scan(1)`
/// page that does not exist; it ends with the reference (every hash scheme), EXIT
/// STATUS and EXAMPLES.
#[test]
fn man_page_is_one_page_with_exit_status_and_examples() {
    let out = leakmatch().arg("man").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("(1)"), "a reference to another page");
    for section in [
        ".SH COMMANDS",
        ".SH \"LEAKMATCH SCAN\"",
        ".SH \"LEAKMATCH ACK\"",
        ".SH \"INPUT SHAPES\"",
        ".SH \"HASH SCHEMES\"",
        ".SH \"EXIT STATUS\"",
        ".SH \"EXAMPLES\"",
    ] {
        assert!(text.contains(section), "no {section}");
    }
    for scheme in ["sha512crypt", "argon2id", "ldap_ssha1"] {
        assert!(text.contains(scheme), "no {scheme}");
    }
}

/// `scan --help` is the reference a new user reads: the flags, then the input
/// shapes, the hash schemes, the exit statuses and examples. `-h` stays short and
/// says where the rest is.
#[test]
fn scan_help_has_shapes_schemes_exit_statuses_and_examples() {
    let run = run_in(root(), &["scan", "--help"], None);
    run.expect_code(0);
    for needle in [
        "--list",
        "INPUT SHAPES:",
        "URL:login:password",
        ".tar.zst",
        "HASH SCHEMES:",
        "bcrypt",
        "EXIT STATUS:",
        "128+N",
        "EXAMPLES:",
        "leakmatch ack --state",
    ] {
        assert!(run.stdout.contains(needle), "no {needle}:\n{}", run.stdout);
    }
    let short = run_in(root(), &["scan", "-h"], None);
    assert!(!short.stdout.contains("HASH SCHEMES"));
    assert!(short.stdout.contains("leakmatch scan --help"));
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

    let d = tmp();
    let dir = d.path();
    write_customers(dir, &[("a1", "alice@example.com", &sha1_hex("pw"))]);
    let sigint = |pid: u32| {
        // SAFETY: kill(2) with a child's pid and SIGINT; no memory is involved.
        let ok = unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) } == 0;
        assert!(ok, "kill(SIGINT) failed");
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

/// On a terminal (faked with util-linux `script`, from Debian's essential bsdutils
/// package; `.ci/run` installs it where it is missing), the bar is drawn on stderr;
/// with `--no-progress` it is not.
#[test]
fn progress_bar_drawn_only_on_a_terminal() {
    use std::process::Command;
    assert!(
        Command::new("script").arg("--version").output().is_ok(),
        "this test needs util-linux `script` (Debian package bsdutils)"
    );
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
