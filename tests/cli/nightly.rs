//! The nightly script (`contrib/leakmatch-nightly`) and systemd units
//! (`contrib/systemd/`) as shipped, driven end to end (issue 16): a failed delivery
//! is a failed night, and its resets come again until a delivery succeeds.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

fn contrib(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(rel)
}

/// A night: the script with `d/customers.csv`, inbox `d/inbox`, working dir
/// `d/var`, and a delivery command that appends each list it gets to
/// `d/delivered` and fails while `d/deliver-fails` exists. Returns the exit
/// status and stderr.
fn night(d: &Path) -> (i32, String) {
    let deliver = d.join("deliver.sh");
    if !deliver.exists() {
        write(
            d,
            "deliver.sh",
            "#!/bin/sh\n\
             [ -e \"$(dirname \"$0\")/deliver-fails\" ] && exit 1\n\
             cat \"$1\" >> \"$(dirname \"$0\")/delivered\"\n",
        );
        Command::new("chmod")
            .arg("+x")
            .arg(&deliver)
            .status()
            .unwrap();
    }
    let out = Command::new(contrib("leakmatch-nightly"))
        .current_dir(d)
        // cron's PATH: no leakmatch on it, so the script is told where it is.
        .env("PATH", "/usr/bin:/bin")
        .env("LEAKMATCH", assert_cmd::cargo::cargo_bin("leakmatch"))
        .env("LEAKMATCH_CUSTOMERS", d.join("customers.csv"))
        .env("LEAKMATCH_INBOX", d.join("inbox"))
        .env("LEAKMATCH_VAR", d.join("var"))
        .env("LEAKMATCH_DELIVER", &deliver)
        .output()
        .unwrap();
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn delivered(d: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(d.join("delivered")).unwrap_or_default();
    parse_resets(&text)
        .into_iter()
        .map(|r| r.account_id)
        .collect()
}

/// Night 1 finds a reset and its delivery fails: exit 3, nothing acknowledged.
/// Night 2 lists it again (with a new one) and delivers both. Night 3 has nothing
/// new and delivers nothing twice. A mistyped inbox fails the night (exit 2) and
/// delivers nothing.
#[test]
fn the_nightly_script_never_loses_a_reset_to_a_failed_delivery() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("c-1", "one@x.example", &sha1_hex("pw-one")),
            ("c-2", "two@x.example", &sha1_hex("pw-two")),
        ],
    );
    write(d, "inbox/a.txt", "one@x.example:pw-one\n");
    write(d, "deliver-fails", "");
    let (code, stderr) = night(d);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("delivery failed; run 1 is not acknowledged"),
        "{stderr}"
    );
    assert!(delivered(d).is_empty());

    std::fs::remove_file(d.join("deliver-fails")).unwrap();
    write(d, "inbox/b.txt", "two@x.example:pw-two\n");
    let (code, stderr) = night(d);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(delivered(d), ["c-1", "c-2"]);

    let (code, stderr) = night(d);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(delivered(d), ["c-1", "c-2"], "nothing twice");

    std::fs::rename(d.join("inbox"), d.join("inbox-moved")).unwrap();
    let (code, stderr) = night(d);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no input could be read"), "{stderr}");
    assert_eq!(delivered(d), ["c-1", "c-2"]);
}

/// The shipped units pass `systemd-analyze verify` (where systemd is installed),
/// with ExecStart pointed at the script in this checkout.
#[test]
fn the_systemd_units_verify() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze not installed: skipped");
        return;
    };
    assert!(probe.status.success());
    let dir = tmp();
    let d = dir.path();
    let service = std::fs::read_to_string(contrib("systemd/leakmatch-nightly.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/local/bin/leakmatch-nightly"));
    let script = contrib("leakmatch-nightly");
    write(
        d,
        "leakmatch-nightly.service",
        service.replace("/usr/local/bin/leakmatch-nightly", script.to_str().unwrap()),
    );
    std::fs::copy(
        contrib("systemd/leakmatch-nightly.timer"),
        d.join("leakmatch-nightly.timer"),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .current_dir(d)
        .args([
            "verify",
            "leakmatch-nightly.service",
            "leakmatch-nightly.timer",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
