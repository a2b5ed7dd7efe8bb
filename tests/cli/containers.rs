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
