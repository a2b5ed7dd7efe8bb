//! What leakmatch is for: find the customers whose working password is in a dump.

use crate::util::*;

// ---------------------------------------------------------------------------------
// 1. The synthetic corpus, byte for byte
// ---------------------------------------------------------------------------------

const SAMPLE_ARGS: [&str; 4] = [
    "--customers",
    "corpus-samples/customers.csv",
    "corpus-samples/dumps",
    "--quiet",
];

fn expected(name: &str) -> String {
    std::fs::read_to_string(root().join("corpus-samples/expected").join(name))
        .expect("expected output present")
}

fn sample_run(extra: &[&str]) -> Run {
    let mut args = SAMPLE_ARGS.to_vec();
    args.extend_from_slice(extra);
    let run = scan(root(), &args);
    run.expect_code(0);
    run
}

#[test]
fn samples_ndjson_matches_expected_and_schema() {
    let run = sample_run(&[]);
    assert_eq!(run.stdout, expected("scan.ndjson"));
    // Every line parses into the pinned schema (unknown fields rejected).
    let records = run.resets();
    assert!(!records.is_empty());
    for r in &records {
        assert_eq!(r.reason, "password_match");
        assert!(r.sightings >= 1);
        assert!(r.first_seen.line >= 1);
        assert!(r.first_seen.file.starts_with("corpus-samples/dumps/"));
    }
    let ids: Vec<&str> = records.iter().map(|r| r.account_id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "records are sorted by account_id");
    // `--format ndjson` is the default.
    assert_eq!(sample_run(&["--format", "ndjson"]).stdout, run.stdout);
}

#[test]
fn samples_csv_matches_expected() {
    let run = sample_run(&["--format", "csv"]);
    assert_eq!(run.stdout, expected("scan.csv"));
    assert_eq!(
        run.stdout.lines().next(),
        Some(
            "account_id,login,reason,scheme,sightings,first_seen_file,first_seen_line,via,variant"
        )
    );
}

#[test]
fn samples_ids_matches_expected() {
    let run = sample_run(&["--format", "ids"]);
    assert_eq!(run.stdout, expected("scan.ids"));
    // Same accounts, same order, as the NDJSON list.
    let ndjson_ids: String = parse_resets(&expected("scan.ndjson"))
        .iter()
        .map(|r| r.account_id.clone() + "\n")
        .collect();
    assert_eq!(run.stdout, ndjson_ids);
}

// ---------------------------------------------------------------------------------
// 2. Determinism
// ---------------------------------------------------------------------------------

#[test]
fn samples_identical_at_any_thread_count() {
    for format in ["ndjson", "csv", "ids"] {
        let reference = sample_run(&["--format", format, "-j", "1"]).stdout;
        for j in ["2", "7"] {
            assert_eq!(
                sample_run(&["--format", format, "-j", j]).stdout,
                reference,
                "--format {format} -j {j} differs from -j 1"
            );
        }
    }
    // The same through -o.
    let dir = tmp();
    let mut outputs = Vec::new();
    for j in ["1", "2", "7"] {
        let out = dir.path().join(format!("out-{j}.ndjson"));
        let run = sample_run(&["-j", j, "-o", out.to_str().unwrap()]);
        assert_eq!(run.stdout, "", "-o leaves stdout empty");
        outputs.push(std::fs::read_to_string(&out).unwrap());
    }
    assert_eq!(outputs[0], expected("scan.ndjson"));
    assert_eq!(outputs[1], outputs[0]);
    assert_eq!(outputs[2], outputs[0]);
}

/// A file bigger than one 4 MiB chunk is scanned in parallel pieces; line numbers and
/// sightings must come out as if it were read in one go, at any thread count.
#[test]
fn big_file_line_numbers_across_chunks() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("big-1", "target@big.example", &sha1_hex("right-one")),
            ("big-2", "late@big.example", &sha1_hex("late-pw")),
        ],
    );
    let total = 400_000usize;
    let mut s = String::with_capacity(total * 32);
    for n in 1..=total {
        let line = match n {
            10 => "target@big.example:wrong-one".to_string(),
            200_000 | 300_123 => "target@big.example:right-one".to_string(),
            399_999 => "LATE@big.example:late-pw".to_string(),
            _ => format!("filler{n:07}@f.example:pw{n}"),
        };
        s.push_str(&line);
        s.push('\n');
    }
    assert!(s.len() > 9 << 20, "spans at least three chunks");
    write(d, "dumps/big.txt", &s);
    write(d, "dumps/big.txt.gz", gzip(s.as_bytes()));
    let want = "big-1 sha1 4 dumps/big.txt:200000\nbig-2 sha1 2 dumps/big.txt:399999\n";
    for j in ["1", "4"] {
        let run = scan_paths(d, &["-j", j, "--quiet", "dumps"]);
        run.expect_code(0);
        assert_eq!(briefs(&run), want, "-j {j}");
    }
    // The streamed (gzip) copy alone gives the same lines.
    let run = scan_paths(d, &["--quiet", "dumps/big.txt.gz"]);
    assert_eq!(
        briefs(&run),
        "big-1 sha1 2 dumps/big.txt.gz:200000\nbig-2 sha1 1 dumps/big.txt.gz:399999\n"
    );
}

// ---------------------------------------------------------------------------------
// 3. Line shapes
// ---------------------------------------------------------------------------------

/// Customers used by the line-shape tests: `acct-<name>`, login `<name>@x.example`,
/// password `pw-<name>`.
fn shape_customers(d: &std::path::Path, names: &[&str]) {
    let rows: Vec<(String, String, String)> = names
        .iter()
        .map(|n| {
            (
                format!("acct-{n}"),
                format!("{n}@x.example"),
                sha1_hex(format!("pw-{n}")),
            )
        })
        .collect();
    write_customers_owned(d, &rows);
}

#[test]
fn combolist_separators() {
    let dir = tmp();
    let d = dir.path();
    shape_customers(d, &["colon", "semi", "pipe", "tab", "miss"]);
    write(
        d,
        "dumps/combo.txt",
        "colon@x.example:pw-colon\n\
         semi@x.example;pw-semi\n\
         pipe@x.example|pw-pipe\n\
         tab@x.example\tpw-tab\n\
         miss@x.example:pw-wrong\n",
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "acct-colon sha1 1 dumps/combo.txt:1\n\
         acct-pipe sha1 1 dumps/combo.txt:3\n\
         acct-semi sha1 1 dumps/combo.txt:2\n\
         acct-tab sha1 1 dumps/combo.txt:4\n"
    );
}

#[test]
fn crlf_and_bom() {
    let dir = tmp();
    let d = dir.path();
    shape_customers(d, &["bom", "crlf", "last"]);
    let content = "\u{feff}bom@x.example:pw-bom\r\n\
                   # comment\r\n\
                   crlf@x.example:pw-crlf\r\n\
                   last@x.example:pw-last";
    write(d, "dumps/plain.txt", content);
    write(d, "gz/packed.txt.gz", gzip(content.as_bytes()));
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "acct-bom sha1 1 dumps/plain.txt:1\n\
         acct-crlf sha1 1 dumps/plain.txt:3\n\
         acct-last sha1 1 dumps/plain.txt:4\n"
    );
    let run = scan_paths(d, &["gz"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "acct-bom sha1 1 gz/packed.txt.gz:1\n\
         acct-crlf sha1 1 gz/packed.txt.gz:3\n\
         acct-last sha1 1 gz/packed.txt.gz:4\n"
    );
}

#[test]
fn stealer_log_url_lines() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("s-1", "bob@y.z", &sha1_hex("pw")),
            ("s-2", "bob", &sha1_hex("pw")),
            ("s-3", "carl@y.z", &sha1_hex("c:pw")),
        ],
    );
    write(
        d,
        "dumps/stealer.txt",
        "https://x.example:8443/login:bob@y.z:pw\n\
         android://abc==@com.app/:bob:pw\n\
         http://site.example/path:carl@y.z:c:pw\n",
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "s-1 sha1 1 dumps/stealer.txt:1\n\
         s-2 sha1 1 dumps/stealer.txt:2\n\
         s-3 sha1 1 dumps/stealer.txt:3\n"
    );
}

#[test]
fn password_keeps_separators() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("p-1", "a@b.c", &sha1_hex("pa:ss")),
            ("p-2", "d@e.f", &sha1_hex("x;y|z\tw ")),
        ],
    );
    write(d, "dumps/d.txt", "a@b.c:pa:ss\nd@e.f|x;y|z\tw \n");
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "p-1 sha1 1 dumps/d.txt:1\np-2 sha1 1 dumps/d.txt:2\n"
    );
}

#[test]
fn json_lines_with_escapes() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("j-1", "json@x.example", &sha1_hex("p\"w\\d\u{e9}")),
            ("j-2", "user2", &sha1_hex("plain")),
        ],
    );
    write(
        d,
        "dumps/leak.jsonl",
        r#"{"email":"other@x.example","password":"nope"}
{"ip":"1.2.3.4","email":"json@x.example","password":"p\"w\\d\u00e9"}
  {"username":"user2","pwd":"plain","extra":[1,{"a":null}]}
"#,
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "j-1 sha1 1 dumps/leak.jsonl:2\nj-2 sha1 1 dumps/leak.jsonl:3\n"
    );
}

const CSV_DUMP: &str = "id,Email,Password,ip\n\
                        1,other@x.example,nope,1.1.1.1\n\
                        2,quoted@x.example,\"pa,ss\nword\",2.2.2.2\n\
                        3,after@x.example,\"say \"\"hi\"\"\",3.3.3.3\n";

fn csv_customers(d: &std::path::Path) {
    write_customers(
        d,
        &[
            ("c-1", "quoted@x.example", &sha1_hex("pa,ss\nword")),
            ("c-2", "after@x.example", &sha1_hex("say \"hi\"")),
        ],
    );
}

#[test]
fn csv_dump_with_quoted_multiline_password() {
    let dir = tmp();
    let d = dir.path();
    csv_customers(d);
    write(d, "dumps/export.csv", CSV_DUMP);
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "c-1 sha1 1 dumps/export.csv:3\nc-2 sha1 1 dumps/export.csv:5\n"
    );
}

#[test]
fn gzip_text_and_csv() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("c-1", "quoted@x.example", &sha1_hex("pa,ss\nword")),
            ("c-2", "after@x.example", &sha1_hex("say \"hi\"")),
            ("g-1", "gz@x.example", &sha1_hex("pw-gz")),
        ],
    );
    write(d, "dumps/export.csv.gz", gzip(CSV_DUMP.as_bytes()));
    write(
        d,
        "dumps/lines.txt.gz",
        gzip(b"\n# header\ngz@x.example:wrong\ngz@x.example:pw-gz\n"),
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "c-1 sha1 1 dumps/export.csv.gz:3\n\
         c-2 sha1 1 dumps/export.csv.gz:5\n\
         g-1 sha1 1 dumps/lines.txt.gz:4\n"
    );
}

#[test]
fn stdin_dash_is_read_last() {
    let dir = tmp();
    let d = dir.path();
    shape_customers(d, &["in", "both"]);
    write(d, "dumps/a.txt", "both@x.example:pw-both\n");
    let run = scan_stdin(
        d,
        &["--customers", "customers.csv", "-", "dumps"],
        "\u{feff}junk\nboth@x.example:pw-both\nin@x.example:pw-in\n",
    );
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "acct-both sha1 2 dumps/a.txt:1\nacct-in sha1 1 -:3\n"
    );
}

// ---------------------------------------------------------------------------------
// 4. Schemes
// ---------------------------------------------------------------------------------

#[test]
fn every_fast_scheme_matches_and_mismatches() {
    let dir = tmp();
    let d = dir.path();
    let cases: Vec<(&str, String, &str)> = vec![
        ("sha1-lower", sha1_hex("pw-sha1-lower"), "sha1"),
        (
            "sha1-upper",
            sha1_hex("pw-sha1-upper").to_uppercase(),
            "sha1",
        ),
        ("ldap-sha", ldap_sha1("pw-ldap-sha"), "ldap_sha1"),
        ("ssha-1", ldap_ssha1("pw-ssha-1", b"\x00"), "ldap_ssha1"),
        (
            "ssha-4",
            ldap_ssha1("pw-ssha-4", b"\xff\x00ab"),
            "ldap_ssha1",
        ),
        (
            "ssha-16",
            ldap_ssha1("pw-ssha-16", &[0xA5; 16]),
            "ldap_ssha1",
        ),
        ("django", django_sha1("pw-django", "s4lt"), "django_sha1"),
        ("nt", nt("pw-nt"), "nt"),
    ];
    let mut rows = Vec::new();
    let mut dump = String::new();
    for (name, hash, _) in &cases {
        // A matching account and a twin whose dump password is wrong.
        rows.push((
            format!("{name}-yes"),
            format!("{name}-yes@x.example"),
            hash.clone(),
        ));
        rows.push((
            format!("{name}-no"),
            format!("{name}-no@x.example"),
            hash.clone(),
        ));
        dump.push_str(&format!("{name}-no@x.example:pw-{name}X\n"));
        dump.push_str(&format!("{name}-no@x.example:PW-{}\n", name));
        dump.push_str(&format!("{name}-yes@x.example:pw-{name}\n"));
    }
    write_customers_owned(d, &rows);
    write(d, "dumps/d.txt", &dump);
    let stats = d.join("stats.json");
    let run = scan_paths(d, &["--stats", stats.to_str().unwrap(), "dumps"]);
    run.expect_code(0);
    let mut want: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, (name, _, scheme))| format!("{name}-yes {scheme} 1 dumps/d.txt:{}\n", 3 * i + 3))
        .collect();
    want.sort();
    assert_eq!(briefs(&run), want.concat());
    let st = read_stats(&stats);
    assert_eq!(stat(&st, "candidates"), 3 * cases.len() as u64);
    assert_eq!(stat(&st, "verifications"), 3 * cases.len() as u64);
    assert_eq!(stat(&st, "accounts_to_reset"), cases.len() as u64);
}

#[test]
fn unicode_passwords() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("u-sha1", "u1@x.example", &sha1_hex("pässwörd€")),
            ("u-nt", "u2@x.example", &nt("密码123")),
            ("u-ssha", "u3@x.example", &ldap_ssha1("ünï", b"salt")),
        ],
    );
    write(
        d,
        "dumps/u.txt",
        "u1@x.example:passwörd€\nu1@x.example:pässwörd€\nu2@x.example:密码124\nu2@x.example:密码123\nu3@x.example:ünï\n",
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "u-nt nt 1 dumps/u.txt:4\nu-sha1 sha1 1 dumps/u.txt:2\nu-ssha ldap_ssha1 1 dumps/u.txt:5\n"
    );
}

// ---------------------------------------------------------------------------------
// 5. Logins
// ---------------------------------------------------------------------------------

#[test]
fn logins_case_insensitive_and_trimmed_both_sides() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("l-1", "  Alice@Example.COM ", &sha1_hex("pw-alice")),
            ("l-2", "bob@example.com", &sha1_hex("pw-bob")),
        ],
    );
    write(
        d,
        "dumps/d.txt",
        "  ALICE@example.com :pw-alice\n\
         \u{20}BoB@ExAmPlE.CoM;pw-bob\n",
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    let resets = run.resets();
    assert_eq!(
        briefs(&run),
        "l-1 sha1 1 dumps/d.txt:1\nl-2 sha1 1 dumps/d.txt:2\n"
    );
    // The login is reported as registered, spaces and case included.
    assert_eq!(resets[0].login, "  Alice@Example.COM ");
    assert_eq!(resets[1].login, "bob@example.com");
}

#[test]
fn non_ascii_login_lowercased() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("n-1", "ÉLODIE@x.fr", &sha1_hex("pw-é")),
            ("n-2", "straße@x.de", &sha1_hex("pw-ß")),
        ],
    );
    write(d, "dumps/d.txt", "élodie@x.fr:pw-é\nSTRAßE@X.DE:pw-ß\n");
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "n-1 sha1 1 dumps/d.txt:1\nn-2 sha1 1 dumps/d.txt:2\n"
    );
    assert_eq!(run.resets()[0].login, "ÉLODIE@x.fr");
}

#[test]
fn accounts_sharing_a_login_each_checked_with_own_password() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("sh-a", "shared@x.example", &sha1_hex("pw-a")),
            ("sh-b", "Shared@X.example", &nt("pw-b")),
            ("sh-c", "SHARED@x.example", &sha1_hex("pw-c")),
        ],
    );
    write(
        d,
        "dumps/d.txt",
        "shared@x.example:pw-b\nshared@x.example:pw-a\nSHARED@X.EXAMPLE:pw-b\n",
    );
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    // sh-c's password never appears: not reset.
    assert_eq!(
        briefs(&run),
        "sh-a sha1 1 dumps/d.txt:2\nsh-b nt 2 dumps/d.txt:1\n"
    );
    assert_eq!(run.resets()[1].login, "Shared@X.example");
}

// ---------------------------------------------------------------------------------
// 6. Sightings and first_seen across files
// ---------------------------------------------------------------------------------

#[test]
fn sightings_and_first_seen_across_sorted_files() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("acct-s", "s@x.example", &sha1_hex("pw-s")),
            ("acct-t", "t@x.example", &sha1_hex("pw-t")),
        ],
    );
    // Component-wise order: dumps/a/1.txt, dumps/a/2.txt, dumps/a.txt, dumps/b.txt
    // (byte-wise, "a.txt" would sort before "a/...").
    write(d, "dumps/a/1.txt", "s@x.example:wrong\nt@x.example:pw-t\n");
    write(d, "dumps/a/2.txt", "x:y\nx:y\ns@x.example:pw-s\n");
    write(d, "dumps/a.txt", "s@x.example:pw-s\n");
    write(d, "dumps/b.txt", "t@x.example:pw-t\ns@x.example:pw-s\n");
    let want = "acct-s sha1 3 dumps/a/2.txt:3\nacct-t sha1 2 dumps/a/1.txt:2\n";
    let run = scan_paths(d, &["dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), want);
    // Paths given in another order, one twice: same files, same order, no double count.
    let run = scan_paths(d, &["dumps/b.txt", "dumps/a.txt", "dumps/a", "dumps/b.txt"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), want);
}

// ---------------------------------------------------------------------------------
// 11. --quiet
// ---------------------------------------------------------------------------------

#[test]
fn quiet_silences_summary_only() {
    let dir = tmp();
    let d = dir.path();
    shape_customers(d, &["q"]);
    write(d, "dumps/d.txt", "q@x.example:pw-q\n");
    let loud = scan_paths(d, &["dumps"]);
    loud.expect_code(0);
    assert!(
        loud.stderr.contains("leakmatch:"),
        "summary: {}",
        loud.stderr
    );
    let quiet = scan_paths(d, &["--quiet", "dumps"]);
    quiet.expect_code(0);
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.stdout, loud.stdout);
    let short = scan_paths(d, &["-q", "dumps"]);
    assert_eq!(short.stderr, "");

    let run = scan_paths(d, &["--quiet", "dumps", "missing.txt", "gone/"]);
    run.expect_code(1);
    assert_eq!(
        run.stdout, loud.stdout,
        "the readable input is still scanned"
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "only the error lines: {:?}", run.stderr);
    assert!(lines.iter().any(|l| l.contains("missing.txt")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("gone")), "{lines:?}");
    for l in lines {
        assert!(l.starts_with("leakmatch: "), "{l:?}");
    }
}

// ---------------------------------------------------------------------------------
// Stats
// ---------------------------------------------------------------------------------

#[test]
fn stats_file_has_every_documented_key() {
    let dir = tmp();
    let d = dir.path();
    shape_customers(d, &["a"]);
    write(d, "dumps/d.txt", "a@x.example:pw-a\n# c\n\nnosep\n");
    let stats = d.join("stats.json");
    let run = scan_paths(d, &["--quiet", "--stats", "stats.json", "dumps"]);
    run.expect_code(0);
    let st = read_stats(&stats);
    for key in [
        "files",
        "bytes",
        "lines",
        "pairs",
        "skipped",
        "skipped_total",
        "login_hits",
        "candidates",
        "verifications",
        "accounts_to_reset",
        "accounts_for_review",
        "unreadable_inputs",
        "customers",
        "threads",
        "elapsed_seconds",
        "mb_per_s",
    ] {
        assert!(st.get(key).is_some(), "stats lacks {key}: {st:#}");
    }
    let reasons: Vec<&String> = st["skipped"].as_object().unwrap().keys().collect();
    let mut want = vec![
        "bad_json",
        "binary",
        "blank",
        "block_field",
        "comment",
        "csv_bad_record",
        "csv_header",
        "csv_no_columns",
        "empty_login",
        "empty_password",
        "json_missing_field",
        "no_separator",
        "too_long",
        "url_filtered",
    ];
    want.sort();
    assert_eq!(reasons, want);
    assert_eq!(stat(&st, "files"), 1);
    assert_eq!(stat(&st, "lines"), 4);
    assert_eq!(stat(&st, "pairs"), 1);
    assert_eq!(stat(&st, "skipped_total"), 3);
    assert_eq!(skipped(&st, "comment"), 1);
    assert_eq!(skipped(&st, "blank"), 1);
    assert_eq!(skipped(&st, "no_separator"), 1);
    assert_eq!(stat(&st, "login_hits"), 1);
    assert_eq!(stat(&st, "accounts_to_reset"), 1);
    assert_eq!(stat(&st, "customers"), 1);
    assert_eq!(stat(&st, "unreadable_inputs"), 0);
    assert_eq!(
        stat(&st, "bytes"),
        std::fs::metadata(d.join("dumps/d.txt")).unwrap().len()
    );
}

// ---------------------------------------------------------------------------------
// 12. The .lmx index
// ---------------------------------------------------------------------------------

#[test]
fn index_gives_same_results_as_customers_csv() {
    let dir = tmp();
    let lmx = dir.path().join("c.lmx");
    let built = run_in(
        root(),
        &[
            "index",
            "--customers",
            "corpus-samples/customers.csv",
            "-o",
            lmx.to_str().unwrap(),
        ],
        None,
    );
    built.expect_code(0);
    assert_eq!(built.stdout, "");
    assert!(built.stderr.contains("40"), "{}", built.stderr);
    assert_eq!(dir_entries(dir.path()), ["c.lmx"], "no temp files left");
    for format in ["ndjson", "csv", "ids"] {
        let via_index = scan(
            root(),
            &[
                "--index",
                lmx.to_str().unwrap(),
                "--format",
                format,
                "--quiet",
                "corpus-samples/dumps",
            ],
        );
        via_index.expect_code(0);
        let via_csv = sample_run(&["--format", format]);
        assert_eq!(via_index.stdout, via_csv.stdout, "--format {format}");
    }
}

#[test]
fn logins_sharing_a_login_hash_are_told_apart_with_and_without_index() {
    // The login hash folds case by setting bit 5 of every byte, so `@` and `` ` ``
    // hash alike: each account must still get only its own login's passwords.
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("at", "Ann@X.io", &sha1_hex("one")),
            ("tick", "ann`x.io", &sha1_hex("two")),
        ],
    );
    write(
        d,
        "dumps/d.txt",
        "ann`x.io:one\nANN@x.io:two\nann@x.io:one\nANN`X.IO:two\n",
    );
    let lmx = d.join("c.lmx");
    run_in(
        d,
        &[
            "index",
            "--customers",
            "customers.csv",
            "-o",
            lmx.to_str().unwrap(),
        ],
        None,
    )
    .expect_code(0);
    let via_csv = scan_paths(d, &["--format", "ids", "dumps"]);
    via_csv.expect_code(0);
    assert_eq!(via_csv.stdout, "at\ntick\n");
    let via_index = scan(
        d,
        &[
            "--index",
            lmx.to_str().unwrap(),
            "--format",
            "ndjson",
            "dumps",
        ],
    );
    via_index.expect_code(0);
    let firsts: Vec<(String, u64)> = via_index
        .resets()
        .iter()
        .map(|r| (r.account_id.clone(), r.first_seen.line))
        .collect();
    assert_eq!(firsts, [("at".to_string(), 3), ("tick".to_string(), 4)]);
}

// ---------------------------------------------------------------------------------
// 13. Slow-hash budget and the review list
// ---------------------------------------------------------------------------------

#[test]
fn bcrypt_most_sighted_candidate_checked_first() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[("b-1", "Slow@X.example", &bcrypt_hash("the-real-one", 4))],
    );
    let mut dump = String::new();
    for i in 0..100 {
        dump.push_str(&format!("slow@x.example:wrong-{i:03}\n"));
    }
    // Lines 101..=106: the real password three times, interleaved.
    dump.push_str("slow@x.example:the-real-one\nfiller:x\n");
    dump.push_str("slow@x.example:the-real-one\nfiller:x\n");
    dump.push_str("SLOW@x.example:the-real-one\nslow@x.example:wrong-last\n");
    write(d, "dumps/d.txt", &dump);
    let stats = d.join("stats.json");
    let review = d.join("review.ndjson");
    let run = scan_paths(
        d,
        &[
            "--stats",
            stats.to_str().unwrap(),
            "--review",
            review.to_str().unwrap(),
            "dumps",
        ],
    );
    run.expect_code(0);
    assert_eq!(briefs(&run), "b-1 bcrypt 3 dumps/d.txt:101\n");
    assert_eq!(run.resets()[0].login, "Slow@X.example");
    let st = read_stats(&stats);
    assert_eq!(stat(&st, "candidates"), 102);
    assert_eq!(
        stat(&st, "verifications"),
        1,
        "the most-sighted candidate is checked first and ends the account"
    );
    assert_eq!(stat(&st, "accounts_for_review"), 0);
    assert_eq!(std::fs::read_to_string(&review).unwrap(), "");
}

#[test]
fn bcrypt_budget_exhausted_goes_to_review() {
    let dir = tmp();
    let d = dir.path();
    write_customers(
        d,
        &[
            ("b-1", "Slow@X.example", &bcrypt_hash("the-real-one", 4)),
            ("b-2", "ok@x.example", &bcrypt_hash("ok-pw", 4)),
        ],
    );
    let mut dump = String::from("slow@x.example:the-real-one\nok@x.example:ok-pw\n");
    // 20 wrong passwords, each seen twice: all outrank the real one (seen once).
    for _round in 0..2 {
        for i in 0..20 {
            dump.push_str(&format!("slow@x.example:wrong-{i:02}\n"));
        }
    }
    write(d, "dumps/d.txt", &dump);
    let stats = d.join("stats.json");
    let review = d.join("review.ndjson");
    let args = [
        "--max-checks",
        "4",
        "--stats",
        stats.to_str().unwrap(),
        "--review",
        review.to_str().unwrap(),
        "dumps",
    ];
    let run = scan_paths(d, &args);
    run.expect_code(0);
    assert_eq!(briefs(&run), "b-2 bcrypt 1 dumps/d.txt:2\n");
    let reviews = parse_reviews(&std::fs::read_to_string(&review).unwrap());
    assert_eq!(
        reviews,
        [Review {
            account_id: "b-1".into(),
            login: "Slow@X.example".into(),
            scheme: "bcrypt".into(),
            candidates: 21,
            checked: 4,
            sightings: 41,
            reason: "budget".into(),
        }]
    );
    let st = read_stats(&stats);
    assert_eq!(stat(&st, "accounts_for_review"), 1);
    assert_eq!(stat(&st, "accounts_to_reset"), 1);
    assert_eq!(stat(&st, "verifications"), 5);
    assert!(
        run.stderr.contains("review"),
        "the summary mentions the review count: {}",
        run.stderr
    );

    // The default budget (8) does not reach it either; a budget of 21 does.
    let run = scan_paths(d, &["--quiet", "dumps"]);
    run.expect_code(0);
    assert_eq!(briefs(&run), "b-2 bcrypt 1 dumps/d.txt:2\n");
    let run = scan_paths(d, &["--max-checks", "21", "dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "b-1 bcrypt 1 dumps/d.txt:1\nb-2 bcrypt 1 dumps/d.txt:2\n"
    );
}

// ---------------------------------------------------------------------------------
// 14. --stats per file (issue 16)
// ---------------------------------------------------------------------------------

/// `--stats` has one `per_file` entry per input: its lines (counted here from the
/// bytes), pairs, skips by reason and the resets first seen in it (counted from the
/// Python-made expected list); the entries add up to the run's totals. A file not
/// text and a missing path are entries too, with their status.
#[test]
fn stats_per_file_counts_lines_pairs_skips_and_resets() {
    let dir = tmp();
    let stats_path = dir.path().join("stats.json");
    let mut args = SAMPLE_ARGS.to_vec();
    args.extend_from_slice(&[
        "corpus-samples/archives/old.7z",
        "corpus-samples/no-such-dump",
        "--stats",
        stats_path.to_str().unwrap(),
    ]);
    let run = scan(root(), &args);
    run.expect_code(1);
    let stats = read_stats(&stats_path);
    let per_file = stats["per_file"].as_array().unwrap();
    let entry = |name: &str| {
        per_file
            .iter()
            .find(|e| e["file"] == name)
            .unwrap_or_else(|| panic!("{name} not in per_file"))
    };
    let mut first_seen = std::collections::BTreeMap::<String, u64>::new();
    for r in parse_resets(&expected("scan.ndjson")) {
        *first_seen.entry(r.first_seen.file).or_default() += 1;
    }
    let mut totals = [0u64; 4];
    for e in per_file.iter().filter(|e| e["status"] == "scanned") {
        let file = e["file"].as_str().unwrap();
        let n = |k: &str| e[k].as_u64().unwrap();
        let skips: u64 = (e["skipped"].as_object().unwrap().values())
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(n("lines"), n("pairs") + skips, "{file}");
        assert_eq!(
            n("resets"),
            first_seen.get(file).copied().unwrap_or(0),
            "{file}"
        );
        assert!(n("candidate_pairs") <= n("pairs"), "{file}");
        if file.ends_with(".txt") || file.ends_with(".jsonl") {
            let bytes = std::fs::read(root().join(file)).unwrap();
            let lines = bytes.split(|&b| b == b'\n').count() as u64
                - u64::from(bytes.last() == Some(&b'\n'));
            assert_eq!(n("lines"), lines, "{file}");
            assert_eq!(n("bytes"), bytes.len() as u64, "{file}");
        }
        for (t, k) in totals.iter_mut().zip(["lines", "pairs", "bytes", "resets"]) {
            *t += n(k);
        }
    }
    assert_eq!(
        totals,
        [
            stat(&stats, "lines"),
            stat(&stats, "pairs"),
            stat(&stats, "bytes"),
            stat(&stats, "accounts_to_reset")
        ]
    );
    assert_eq!(
        per_file.iter().filter(|e| e["status"] == "scanned").count() as u64,
        stat(&stats, "files")
    );
    let combo = entry("corpus-samples/dumps/combo.txt");
    let text = std::fs::read(root().join("corpus-samples/dumps/combo.txt")).unwrap();
    let comments = text
        .split(|&b| b == b'\n')
        .filter(|l| l.trim_ascii_start().starts_with(b"#"))
        .count();
    assert_eq!(combo["skipped"]["comment"], comments, "{combo}");
    let sevenz = entry("corpus-samples/archives/old.7z");
    assert_eq!(sevenz["status"], "unsupported");
    assert!(sevenz["error"].as_str().unwrap().contains("7z"));
    let missing = entry("corpus-samples/no-such-dump");
    assert_eq!(missing["status"], "error");
}

// ---------------------------------------------------------------------------------
// 15. The same password, repaired from a dump's damage (issue 17)
// ---------------------------------------------------------------------------------

const RECOVERY: &str = "corpus-samples/recovery";

/// `corpus-samples/recovery/`: Latin-1 and Windows-1252 bytes, mojibake, trailing
/// blanks, `$HEX[]` (also of Latin-1), a slow scheme, a password both damaged and
/// intact, and passwords that only look damaged. The list matches the one
/// `make_recovery.py` worked out with Python's codecs, hashlib and bcrypt, `via`
/// included; CSV has the repairs in its `via` column and `--stats` counts them.
#[test]
fn recovery_corpus_matches_expected() {
    let dir = tmp();
    let stats_path = dir.path().join("stats.json");
    let customers = format!("{RECOVERY}/customers.csv");
    let dump = format!("{RECOVERY}/dump.txt");
    let run = scan(
        root(),
        &[
            "--customers",
            &customers,
            "--stats",
            stats_path.to_str().unwrap(),
            &dump,
        ],
    );
    run.expect_code(0);
    let expected = std::fs::read_to_string(root().join(RECOVERY).join("expected.ndjson")).unwrap();
    assert_eq!(run.stdout, expected);
    let stats = read_stats(&stats_path);
    let resets = parse_resets(&expected);
    for name in ["hex", "cp1252", "mojibake", "trailing_space"] {
        let n = resets
            .iter()
            .filter(|r| r.via.iter().any(|v| v == name))
            .count();
        assert_eq!(stats["accounts_via"][name], n, "{name}");
    }
    let csv = scan(
        root(),
        &["--customers", &customers, "--format", "csv", &dump],
    );
    let r06 = csv.stdout.lines().find(|l| l.starts_with("r06,")).unwrap();
    assert!(r06.ends_with(",hex;cp1252,"), "{r06}");
    let r07 = csv.stdout.lines().find(|l| l.starts_with("r07,")).unwrap();
    assert!(r07.ends_with(",7,,"), "{r07}");
}

// ---------------------------------------------------------------------------------
// 16. --tweaks: variants users make of a reused password (issue 17)
// ---------------------------------------------------------------------------------

const TWEAKS: &str = "corpus-samples/tweaks";

fn tweaks_run(extra: &[&str]) -> Run {
    let customers = format!("{TWEAKS}/customers.csv");
    let dump = format!("{TWEAKS}/dump.txt");
    let mut args = vec!["--customers", customers.as_str()];
    args.extend_from_slice(extra);
    args.push(&dump);
    let run = scan(root(), &args);
    run.expect_code(0);
    run
}

/// `corpus-samples/tweaks/`: one account per rule, two pairs, a bcrypt account
/// found within the budget and one beyond it, an account whose leaked password
/// verifies as found (never a variant then) and one no variant fits. With
/// `--tweaks` the list is the one `make_tweaks.py` worked out with its own rules,
/// hashlib and bcrypt (reason `password_variant`, `variant` the rules); without
/// it, only the exact match. `--stats` counts the variants.
#[test]
fn tweaks_corpus_matches_expected() {
    let expected = |name: &str| std::fs::read_to_string(root().join(TWEAKS).join(name)).unwrap();
    let dir = tmp();
    let stats = dir.path().join("stats.json");
    let run = tweaks_run(&["--tweaks", "--stats", stats.to_str().unwrap()]);
    assert_eq!(run.stdout, expected("expected.ndjson"));
    assert_eq!(tweaks_run(&[]).stdout, expected("expected-plain.ndjson"));
    let variants = read_stats(&stats)["accounts_variant"].clone();
    let listed = parse_resets(&run.stdout);
    let mut counted = 0;
    for (name, n) in variants.as_object().unwrap() {
        let found = listed
            .iter()
            .filter(|r| r.variant.as_deref() == Some(name.as_str()));
        assert_eq!(found.count() as u64, n.as_u64().unwrap(), "{name}");
        counted += n.as_u64().unwrap();
    }
    let by_reason = listed
        .iter()
        .filter(|r| r.reason == "password_variant")
        .count();
    assert_eq!(counted, by_reason as u64);
    // A budget large enough reaches t16's pair (`Mustang.` from `mustang`).
    let wide = tweaks_run(&["--tweaks", "--max-checks", "1000"]);
    let t16 = parse_resets(&wide.stdout)
        .into_iter()
        .find(|r| r.account_id == "t16")
        .expect("t16 found with a wide budget");
    assert_eq!(t16.variant.as_deref(), Some("upper_first+add_symbol"));
    // CSV: reason and variant columns.
    let csv = tweaks_run(&["--tweaks", "--format", "csv"]);
    let t13 = csv.stdout.lines().find(|l| l.starts_with("t13,")).unwrap();
    assert!(
        t13.contains(",password_variant,") && t13.ends_with(",upper_first+add_symbol"),
        "{t13}"
    );
}

// ---------------------------------------------------------------------------------
// 17. Stealer-log blocks (issue 17)
// ---------------------------------------------------------------------------------

/// `corpus-samples/stealer/`: RedLine, Raccoon, Vidar and Lumma layouts and a
/// combolist mixing blocks and lines, with the blocks that must not pair (a blank
/// line, a new URL, a password five lines on, a password with no login). The list
/// matches the one `make_stealer.py`'s own reader of the rules worked out, at any
/// thread count, with and without `--url-filter`; every label line is counted as
/// `block_field`.
#[test]
fn stealer_blocks_match_expected() {
    let expected =
        std::fs::read_to_string(root().join("corpus-samples/stealer/expected.ndjson")).unwrap();
    let dir = tmp();
    let stats = dir.path().join("stats.json");
    for threads in ["1", "3"] {
        let run = scan(
            root(),
            &[
                "--customers",
                "corpus-samples/stealer/customers.csv",
                "-j",
                threads,
                "--stats",
                stats.to_str().unwrap(),
                "corpus-samples/stealer/logs",
            ],
        );
        run.expect_code(0);
        assert_eq!(run.stdout, expected, "-j{threads}");
    }
    let st = read_stats(&stats);
    assert_eq!(
        stat(&st, "lines"),
        stat(&st, "pairs") + stat(&st, "skipped_total")
    );
    assert!(skipped(&st, "block_field") > 20, "{st}");
    // --url-filter: the credentials saved for other sites are skipped (a
    // subdomain and any case kept), those naming no URL kept.
    let filtered =
        std::fs::read_to_string(root().join("corpus-samples/stealer/expected-url-filter.ndjson"))
            .unwrap();
    let run = scan(
        root(),
        &[
            "--customers",
            "corpus-samples/stealer/customers.csv",
            "--url-filter",
            "shop.example",
            "--url-filter",
            "cloud.example",
            "--stats",
            stats.to_str().unwrap(),
            "corpus-samples/stealer/logs",
        ],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, filtered);
    let st = read_stats(&stats);
    assert_eq!(
        stat(&st, "lines"),
        stat(&st, "pairs") + stat(&st, "skipped_total")
    );
    // s02 mail., s03 bank., s05 games., s07 travel., s13 new. and s04 other.example.
    assert_eq!(skipped(&st, "url_filtered"), 6, "{st}");
}

/// Blocks around the 4 MiB cut between two pieces of a mapped file, one account
/// each, the first cut between its `Username:` and its `Password:`: every one is
/// found, with the password's line number, at any thread count.
#[test]
fn stealer_blocks_across_a_chunk_cut_are_found() {
    let dir = tmp();
    let d = dir.path();
    let mut text = String::new();
    let mut line = 0u64;
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    // The first block's `Username:` line holds the file's 4 MiB-th byte: the cut
    // falls right after it, before its `Password:`.
    let target = (4 << 20) - "URL: https://s0.example/\n".len() - 5;
    while text.len() + 64 < target {
        text.push_str("filler@x.example:not-a-customer\n");
        line += 1;
    }
    let pad = target - text.len() - "pad@x.example:\n".len();
    text.push_str(&format!("pad@x.example:{}\n", "p".repeat(pad)));
    line += 1;
    assert_eq!(text.len(), target);
    for i in 0..60 {
        let login = format!("b{i:02}@x.example");
        text.push_str(&format!(
            "URL: https://s{i}.example/\nUsername: {login}\nPassword: pw-{i}\n"
        ));
        line += 3;
        expected.push(format!("b{i:02} sha1 1 dumps/big.txt:{line}"));
        rows.push((format!("b{i:02}"), login, sha1_hex(format!("pw-{i}"))));
        text.push_str(if i % 2 == 0 {
            "\n"
        } else {
            "===============\n"
        });
        line += 1;
    }
    while text.len() < (9 << 20) {
        text.push_str("filler@x.example:not-a-customer\n");
    }
    write_customers_owned(d, &rows);
    write(d, "dumps/big.txt", &text);
    let want = expected.join("\n") + "\n";
    for threads in ["1", "2"] {
        let run = scan(d, &["--customers", "customers.csv", "-j", threads, "dumps"]);
        run.expect_code(0);
        assert_eq!(briefs(&run), want, "-j{threads}");
    }
}
