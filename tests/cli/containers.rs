//! Containers and archives (issue 5): the committed fixtures, compressed files and
//! zips made here with the standard tools, damaged archives, and output that does
//! not depend on the thread count.

use std::path::Path;

use crate::util::*;

// ---------------------------------------------------------------------------------
// 1. The committed container fixtures (corpus-samples/make_containers.sh)
// ---------------------------------------------------------------------------------

/// `scan --customers corpus-samples/customers.csv corpus-samples/containers EXTRA...`
/// from the crate root.
pub(crate) fn scan_containers(extra: &[&str]) -> Run {
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
pub(crate) fn two_customers(d: &Path) {
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
pub(crate) fn corrupt_zip_setup(d: &Path) {
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

pub(crate) const CORRUPT_ZIP_RESULT: &str =
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
// 3. Tar archives and nested archives (issue 16; corpus-samples/make_archives.sh)
// ---------------------------------------------------------------------------------

/// Customers c-01..c-11: `aN@x.example` with password `pw-aN` (SHA-1 from the
/// test's own hasher), the accounts of corpus-samples/archives.
fn archive_customers(d: &Path) {
    let rows: Vec<(String, String, String)> = (1..=11)
        .map(|i| {
            (
                format!("c-{i:02}"),
                format!("a{i}@x.example"),
                sha1_hex(format!("pw-a{i}")),
            )
        })
        .collect();
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    write_customers(d, &rows);
}

/// Every account of corpus-samples/archives, by the leaf that holds it.
const ARCHIVES_RESULT: &str = "\
c-01 sha1 1 corpus-samples/archives/pack.tar!dir/a1.txt:1
c-02 sha1 1 corpus-samples/archives/pack.tgz!logs/Passwords.txt:2
c-03 sha1 1 corpus-samples/archives/pack.tgz!logs/inner.zip!z.txt:1
c-04 sha1 1 corpus-samples/archives/pack.tar.zst!c.txt.gz:1
c-05 sha1 1 corpus-samples/archives/pack.tar.xz!x.csv:2
c-06 sha1 1 corpus-samples/archives/pack.tar.bz2!b.txt:1
c-07 sha1 1 corpus-samples/archives/outer.zip!inner.zip!deep/y.txt:1
c-08 sha1 1 corpus-samples/archives/outer.zip!t.tar!w.txt:1
c-10 sha1 1 corpus-samples/archives/deep.tar!2.tar!3.tar!4.tar!f.txt:1
";

fn scan_archives(d: &Path, extra: &[&str]) -> Run {
    let customers = d.join("customers.csv");
    let mut args = vec!["--customers", customers.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push("corpus-samples/archives");
    scan(root(), &args)
}

/// Tar in every compression, a zip and a tar inside a zip, a zip inside a tgz, a
/// gz inside a tar.zst, four tars deep: every leaf is scanned under its
/// `outer!inner!leaf` name. The fifth tar down, a 7z, a RAR and gzip data named
/// `.txt` are each named on stderr (exit 1), never scanned as text, and counted.
#[test]
fn tar_and_nested_archives_are_scanned_leaf_by_leaf() {
    let dir = tmp();
    let d = dir.path();
    archive_customers(d);
    let stats = d.join("stats.json");
    let run = scan_archives(d, &["--stats", stats.to_str().unwrap()]);
    run.expect_code(1);
    assert_eq!(briefs(&run), ARCHIVES_RESULT);
    for (name, why) in [
        (
            "deep.tar!2.tar!3.tar!4.tar!5.tar",
            "nested more than 4 deep",
        ),
        ("old.7z", "a 7z archive: not supported"),
        ("old.rar", "a RAR archive: not supported"),
        ("misnamed.txt", "gzip data not named .gz"),
    ] {
        let line = run.stderr.lines().find(|l| l.contains(name));
        assert!(
            line.is_some_and(|l| l.contains(why)),
            "{name}: {}",
            run.stderr
        );
    }
    let stats = read_stats(&stats);
    assert_eq!(stat(&stats, "unreadable_inputs"), 4);
    assert_eq!(stat(&stats, "unsupported_inputs"), 3);
    // Files read: the unsupported ones are not.
    assert_eq!(stat(&stats, "files"), 9);
}

/// The same bytes at any thread count, and an archive counts as one file for
/// `--state` (skipped whole the second time).
#[test]
fn archives_are_thread_independent_and_one_file_for_the_state() {
    let dir = tmp();
    let d = dir.path();
    archive_customers(d);
    let one = scan_archives(d, &["-j", "1"]);
    let two = scan_archives(d, &["-j", "3"]);
    assert_eq!(one.stdout, two.stdout);
    let state = d.join("state");
    let state = state.to_str().unwrap();
    let first = scan_archives(d, &["--state", state]);
    assert_eq!(briefs(&first), ARCHIVES_RESULT);
    let run = run_in(root(), &["ack", "--state", state, "1"], None);
    run.expect_code(0);
    let stats = d.join("s.json");
    let again = scan_archives(d, &["--state", state, "--stats", stats.to_str().unwrap()]);
    // Recorded: the six archives read cleanly. deep.tar's refused member keeps it
    // out, as a damaged file is kept out: it is read again, and its reset, found
    // again exactly as run 1 delivered it, is not listed twice.
    let st = read_stats(&stats);
    assert_eq!(stat(&st, "files_skipped_seen"), 6);
    assert_eq!(stat(&st, "accounts_delivered_before"), 1);
    assert_eq!(briefs(&again), "");
}

/// A tgz cut short: the leaves before the cut are scanned, the archive is named
/// (exit 1), and `--state` does not record it.
#[test]
fn a_truncated_tar_gz_scans_what_it_holds_and_is_not_recorded() {
    let dir = tmp();
    let d = dir.path();
    archive_customers(d);
    let status = std::process::Command::new("sh")
        .current_dir(d)
        .arg("-c")
        .arg(
            "mkdir -p t && printf 'a1@x.example:pw-a1\\n' > t/1.txt && \
             head -c 300000 /dev/urandom | base64 > t/2.txt && \
             tar -cf - t | gzip -n > full.tgz && head -c 20000 full.tgz > dumps.tgz && \
             mkdir dumps && mv dumps.tgz dumps/",
        )
        .status()
        .unwrap();
    assert!(status.success());
    let args = [
        "--customers",
        "customers.csv",
        "--state",
        "st",
        "--format",
        "ids",
        "dumps",
    ];
    let run = scan(d, &args);
    run.expect_code(1);
    assert_eq!(run.stdout, "c-01\n");
    assert!(run.stderr.contains("dumps/dumps.tgz"), "{}", run.stderr);
    let again = scan(d, &args);
    again.expect_code(1);
    assert!(again.stderr.contains("dumps/dumps.tgz"), "{}", again.stderr);
}
