//! No password from a dump — nor a stored hash from the customers file — ever reaches
//! stdout, stderr or any output file, whatever happens to the line it was on.

use std::path::Path;

use crate::util::*;

/// Every dump password of the fixture. All contain `SECRET`.
const PASSWORDS: &[&str] = &[
    "Zq9-SECRET-pw-1",  // matches match@x.example
    "Zq9-SECRET-pw-2",  // wrong password for match@x.example
    "Zq9-SECRET-pw-3",  // login not a customer
    "Zq9-SECRET-pw-4",  // JSON line, wrong password
    "Zq9-SECRET-pw-5",  // JSON line, matches json@x.example (escaped)
    "Zq9-SECRET-pw-6",  // CSV dump, matches csv@x.example
    "Zq9-SECRET-pw-7",  // CSV dump, wrong password
    "Zq9-SECRET-pw-8",  // no separator
    "Zq9-SECRET-pw-9",  // broken JSON
    "Zq9-SECRET-pw-10", // NUL byte in the line
    "Zq9-SECRET-pw-11", // bcrypt account, one of many candidates (review)
    "Zq9-SECRET-pw-12", // bcrypt account, another candidate
    "Zq9-SECRET-pw-13", // stdin
    "Zq9-SECRET-pw-14", // gzip
];

/// All 6-character windows of every password (and `SECRET` itself).
fn forbidden() -> Vec<String> {
    let mut v = vec!["SECRET".to_string()];
    for p in PASSWORDS {
        let chars: Vec<char> = p.chars().collect();
        for w in chars.windows(6) {
            v.push(w.iter().collect());
        }
    }
    v.sort();
    v.dedup();
    v
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for f in forbidden() {
        assert!(
            !text.contains(&f),
            "{what} contains password fragment {f:?}:\n{text}"
        );
    }
}

fn setup(d: &Path) {
    write_customers(
        d,
        &[
            ("sec-1", "match@x.example", &sha1_hex("Zq9-SECRET-pw-1")),
            ("sec-2", "json@x.example", &sha1_hex("Zq9-SECRET-pw-5\"")),
            ("sec-3", "csv@x.example", &nt("Zq9-SECRET-pw-6")),
            (
                "sec-4",
                "slow@x.example",
                &bcrypt_hash("never-in-the-dump", 4),
            ),
            (
                "sec-5",
                "stdin@x.example",
                &ldap_ssha1("Zq9-SECRET-pw-13", b"salt"),
            ),
            (
                "sec-6",
                "gz@x.example",
                &django_sha1("Zq9-SECRET-pw-14", "s"),
            ),
        ],
    );
    write(
        d,
        "dumps/combo.txt",
        "match@x.example:Zq9-SECRET-pw-1\n\
         match@x.example:Zq9-SECRET-pw-2\n\
         nobody@x.example:Zq9-SECRET-pw-3\n\
         Zq9-SECRET-pw-8\n\
         match@x.example:Zq9-SECRET-pw\0-10\n\
         slow@x.example:Zq9-SECRET-pw-11\n\
         slow@x.example:Zq9-SECRET-pw-12\n\
         slow@x.example:Zq9-SECRET-pw-12\n",
    );
    write(
        d,
        "dumps/leak.jsonl",
        "{\"email\":\"json@x.example\",\"password\":\"Zq9-SECRET-pw-4\"}\n\
         {\"email\":\"json@x.example\",\"password\":\"Zq9-SECRET-pw-5\\\"\"}\n\
         {\"email\":\"match@x.example\",\"password\":\"Zq9-SECRET-pw-9\n",
    );
    write(
        d,
        "dumps/export.csv",
        "email,password\ncsv@x.example,Zq9-SECRET-pw-6\ncsv@x.example,\"Zq9-SECRET-pw-7\"\n",
    );
    write(
        d,
        "dumps/packed.txt.gz",
        gzip(b"gz@x.example:Zq9-SECRET-pw-14\n"),
    );
}

const STDIN: &str = "stdin@x.example:Zq9-SECRET-pw-13\nZq9-SECRET-pw-13\n";

#[test]
fn no_password_in_any_output() {
    let dir = tmp();
    let d = dir.path();
    setup(d);
    for format in ["ndjson", "csv", "ids"] {
        for to_file in [false, true] {
            let mut args = vec![
                "--customers",
                "customers.csv",
                "--format",
                format,
                "--stats",
                "stats.json",
                "--review",
                "review.ndjson",
                "--max-checks",
                "1",
            ];
            if to_file {
                args.extend(["-o", "out.txt"]);
            }
            args.extend(["dumps", "-"]);
            let run = scan_stdin(d, &args, STDIN);
            run.expect_code(0);
            let label = format!("--format {format} (to_file={to_file})");
            assert_clean(&format!("stdout {label}"), &run.stdout);
            assert_clean(&format!("stderr {label}"), &run.stderr);
            let stats = std::fs::read_to_string(d.join("stats.json")).unwrap();
            assert_clean("stats", &stats);
            let review = std::fs::read_to_string(d.join("review.ndjson")).unwrap();
            assert_clean("review", &review);
            // The run did what the fixture intends, so the checks above saw real
            // output.
            assert_eq!(parse_reviews(&review).len(), 1, "{review}");
            let results = if to_file {
                assert_eq!(run.stdout, "");
                std::fs::read_to_string(d.join("out.txt")).unwrap()
            } else {
                run.stdout.clone()
            };
            assert_clean(&format!("-o file {label}"), &results);
            for id in ["sec-1", "sec-2", "sec-3", "sec-5", "sec-6"] {
                assert!(
                    results.contains(id),
                    "{label}: {id} missing from\n{results}"
                );
            }
        }
    }
    // The summary mentions review and skips, but no passwords.
    let run = scan_stdin(d, &["--customers", "customers.csv", "dumps", "-"], STDIN);
    assert_clean("summary", &run.stderr);
}

#[test]
fn no_password_or_hash_in_failing_runs() {
    let dir = tmp();
    let d = dir.path();
    setup(d);
    // An unreadable input next to the real dumps: exit 1.
    write(
        d,
        "dumps/broken.txt.gz",
        "Zq9-SECRET-pw-3 not gzip at all\n",
    );
    let run = scan_stdin(
        d,
        &[
            "--customers",
            "customers.csv",
            "--stats",
            "stats.json",
            "--review",
            "r.ndjson",
            "dumps",
            "-",
        ],
        STDIN,
    );
    run.expect_code(1);
    assert_clean("stdout (exit 1)", &run.stdout);
    assert_clean("stderr (exit 1)", &run.stderr);
    assert_clean(
        "stats (exit 1)",
        &std::fs::read_to_string(d.join("stats.json")).unwrap(),
    );

    // A bad customers file: exit 2, and the bad hash value is not echoed either.
    let hashes = [
        "5f4dcc3b5aa765d61d8327deb882cf99",
        "$1$Zq9salt$SECRETxHashVALUExxxx/",
        "{SSHA}SECRET###notbase64",
        "sha1$SECRETsalt$nothex",
        "$NT$SECRETSECRETSECRETSECRETSECRET1",
        "$2b$04$SECRETtooshort",
        "$argon2id$v=19$m=SECRET",
        "plainSECRETtext",
    ];
    for hash in hashes {
        let mut csv = std::fs::read_to_string(d.join("customers.csv")).unwrap();
        csv.push_str(&format!("bad-1,bad@x.example,{}\n", csv_field(hash)));
        write(d, "bad-customers.csv", csv);
        let run = scan_stdin(
            d,
            &[
                "--customers",
                "bad-customers.csv",
                "--stats",
                "s.json",
                "dumps",
                "-",
            ],
            STDIN,
        );
        run.expect_code(2);
        assert_clean("stdout (exit 2)", &run.stdout);
        assert_clean("stderr (exit 2)", &run.stderr);
        assert!(
            run.stderr.contains("bad-customers.csv:8:"),
            "{hash}: {}",
            run.stderr
        );
        let chars: Vec<char> = hash.chars().collect();
        for w in chars.windows(8) {
            let w: String = w.iter().collect();
            if "$argon2id$v=19$".contains(&w) {
                continue; // the scheme's own name may be named
            }
            assert!(
                !run.stderr.contains(&w),
                "stderr echoes part {w:?} of hash {hash:?}: {}",
                run.stderr
            );
        }
    }
}

/// Labelled outputs of one run.
type Outputs = Vec<(&'static str, Vec<u8>)>;

/// Scans `dumps` in `d` in every format with `--stats` and `--review` (and
/// `extra`), each run exiting 0; returns, per format, its stdout and every output
/// labelled (`stdout`, `stderr`, `stats`, `review`).
fn outputs_in_every_format(d: &Path, extra: &[&str]) -> Vec<(String, Outputs)> {
    let mut all = Vec::new();
    for format in ["ndjson", "csv", "ids"] {
        let mut args = vec![
            "--customers",
            "customers.csv",
            "--format",
            format,
            "--stats",
            "stats.json",
            "--review",
            "review.ndjson",
        ];
        args.extend_from_slice(extra);
        args.push("dumps");
        let run = scan(d, &args);
        run.expect_code(0);
        let outputs = vec![
            ("stdout", run.stdout.clone().into_bytes()),
            ("stderr", run.stderr.into_bytes()),
            ("stats", std::fs::read(d.join("stats.json")).unwrap()),
            ("review", std::fs::read(d.join("review.ndjson")).unwrap()),
        ];
        all.push((run.stdout, outputs));
    }
    all
}

/// A repaired password (issue 17) is a password too: neither the dump's damaged
/// form nor what it was repaired to reaches any output, in any format, whether
/// the repair verified or not. Only the repairs' names do.
#[test]
fn no_repaired_password_in_any_output() {
    let dir = tmp();
    let d = dir.path();
    let secret = "Zq9-SECRET-ä";
    let hex = |b: &[u8]| format!("$HEX[{}]", hex(b));
    let latin1 = b"Zq9-SECRET-\xe4".to_vec();
    write_customers(
        d,
        &[
            ("rep-1", "one@x.example", &sha1_hex(secret)),
            ("rep-2", "two@x.example", &bcrypt_hash(secret, 4)),
            ("rep-3", "three@x.example", &sha1_hex("something else")),
        ],
    );
    let mojibake = "Zq9-SECRET-Ã¤";
    let mut dump = Vec::new();
    for (login, pw) in [
        ("one", latin1.clone()),
        ("two", hex(secret.as_bytes()).into_bytes()),
        ("three", latin1.clone()),
        ("three", mojibake.as_bytes().to_vec()),
        ("three", b"Zq9-SECRET-x \t".to_vec()),
        ("three", hex(&latin1).into_bytes()),
    ] {
        dump.extend_from_slice(format!("{login}@x.example:").as_bytes());
        dump.extend_from_slice(&pw);
        dump.push(b'\n');
    }
    write(d, "dumps/d.txt", &dump);
    // Every form a password took, raw and repaired, and each 6-byte piece.
    let mut forms: Vec<Vec<u8>> = vec![
        latin1.clone(),
        secret.as_bytes().to_vec(),
        mojibake.as_bytes().to_vec(),
        hex(secret.as_bytes()).into_bytes(),
        hex(&latin1).into_bytes(),
    ];
    forms.push(b"SECRET".to_vec());
    let pieces: Vec<Vec<u8>> = forms
        .iter()
        .flat_map(|f| f.windows(6).map(<[u8]>::to_vec).collect::<Vec<_>>())
        .collect();
    for (stdout, outputs) in outputs_in_every_format(d, &[]) {
        for (what, bytes) in &outputs {
            for p in &pieces {
                assert!(
                    !contains_bytes(bytes, p),
                    "{what} holds {:?}",
                    String::from_utf8_lossy(p)
                );
            }
        }
        assert!(stdout.contains("rep-1") && stdout.contains("rep-2"));
        assert!(!stdout.contains("rep-3"));
    }
}

/// A variant (`--tweaks`) is a password too: neither the leaked password nor the
/// variant that verified, nor those that did not, reach any output.
#[test]
fn no_variant_in_any_output() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("tw-1", "one@x.example", &sha1_hex("Zq9-SECRET-pw!")),
            ("tw-2", "two@x.example", &bcrypt_hash("Zq9-SECRET-pw2", 4)),
            ("tw-3", "three@x.example", &sha1_hex("unrelated")),
        ],
    );
    write(
        d,
        "dumps/d.txt",
        "one@x.example:zq9-SECRET-pw\ntwo@x.example:zq9-SECRET-pw2\nthree@x.example:Zq9-SECRET-x\n",
    );
    for (stdout, outputs) in outputs_in_every_format(d, &["--tweaks"]) {
        for (what, bytes) in &outputs {
            assert_clean(what, &String::from_utf8_lossy(bytes));
        }
        assert!(stdout.contains("tw-1") && stdout.contains("tw-2"));
        assert!(!stdout.contains("tw-3"));
    }
}
