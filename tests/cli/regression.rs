//! Hostile and edge-case input: nothing in a dump may stop a run or skew its results.

use crate::util::*;

fn victim_customers(d: &std::path::Path) {
    write_customers(
        d,
        &[
            ("v-1", "victim@x.example", &sha1_hex("pw-victim")),
            ("v-2", "after-nul@x.example", &sha1_hex("pw-nul")),
        ],
    );
}

#[track_caller]
fn assert_lines_add_up(st: &serde_json::Value) {
    assert_eq!(
        stat(st, "lines"),
        stat(st, "pairs") + stat(st, "skipped_total"),
        "every line is a pair or a counted skip: {st:#}"
    );
    let by_reason: u64 = st["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, stat(st, "skipped_total"), "{st:#}");
}

#[test]
fn nasty_input_never_stops_the_run() {
    let dir = tmp();
    let d = dir.path();
    victim_customers(d);
    let random = lcg_bytes(0x5eed, 64 * 1024);
    assert!(random.contains(&0) && std::str::from_utf8(&random).is_err());
    write(d, "dumps/random.bin", &random);
    write(d, "dumps/random.csv", &random);
    write(d, "dumps/random.jsonl", [b"{".as_slice(), &random].concat());
    let mut long = vec![b'A'; 1 << 20];
    long.extend_from_slice(b"\nvictim@x.example:pw-victim\n");
    write(d, "dumps/long.txt", &long);
    write(
        d,
        "dumps/nul.txt",
        b"x@y\0:z\nafter-nul@x.example:pw\0nul\nafter-nul@x.example:pw-nul\n",
    );
    write(d, "dumps/empty.txt", b"");
    write(d, "dumps/blank.txt", b"\n\n");
    write(d, "dumps/only-bom.txt", b"\xEF\xBB\xBF");
    write(
        d,
        "dumps/unterminated-json.jsonl",
        b"{\"email\":\"victim@x.example\",\"password\":\"pw-victim",
    );
    write(d, "dumps/z-empty.csv", b"");
    write(d, "dumps/z-header-only.csv", b"email,password\n");
    write(
        d,
        "dumps/z-short-rows.csv",
        b"email,password\nvictim@x.example\n\"unterminated,quote\n",
    );
    let stats = d.join("stats.json");
    let run = scan_paths(d, &["--stats", "stats.json", "dumps"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        "v-1 sha1 1 dumps/long.txt:2\nv-2 sha1 1 dumps/nul.txt:3\n"
    );
    let st = read_stats(&stats);
    assert_lines_add_up(&st);
    assert!(skipped(&st, "too_long") >= 1, "{st:#}");
    assert!(skipped(&st, "binary") >= 2, "{st:#}");
    assert!(skipped(&st, "blank") >= 2, "{st:#}");
    assert_eq!(stat(&st, "unreadable_inputs"), 0);
    assert_eq!(stat(&st, "files"), 12);
}

#[test]
fn megabyte_line_then_match_in_gzip_and_stdin() {
    let dir = tmp();
    let d = dir.path();
    victim_customers(d);
    for size in [1 << 20, 3 << 20] {
        let mut long = b"victim@x.example:".to_vec();
        long.resize(size, b'p');
        long.extend_from_slice(b"\n#\nvictim@x.example:pw-victim\n");
        let name = format!("dumps/long-{size}.txt.gz");
        write(d, &name, gzip(&long));
        let run = scan_paths(d, &["--stats", "stats.json", &name]);
        run.expect_code(0);
        assert_eq!(briefs(&run), format!("v-1 sha1 1 {name}:3\n"));
        let st = read_stats(&d.join("stats.json"));
        assert_lines_add_up(&st);
        assert_eq!(stat(&st, "lines"), 3);
        assert_eq!(skipped(&st, "too_long"), 1);

        let run = scan_stdin(
            d,
            &["--customers", "customers.csv", "--stats", "stats.json", "-"],
            long.clone(),
        );
        run.expect_code(0);
        assert_eq!(briefs(&run), "v-1 sha1 1 -:3\n");
        let st = read_stats(&d.join("stats.json"));
        assert_lines_add_up(&st);
        assert_eq!(skipped(&st, "too_long"), 1);
    }
}

#[test]
fn line_of_exactly_max_length_is_kept_everywhere() {
    // 65536 bytes (the limit) is a line; 65537 is too long. Same in mapped, gzip and
    // stdin input.
    let dir = tmp();
    let d = dir.path();
    let at_limit = format!("max@x.example:{}", "m".repeat(65536 - 14));
    assert_eq!(at_limit.len(), 65536);
    let over = format!("over@x.example:{}", "o".repeat(65537 - 15));
    assert_eq!(over.len(), 65537);
    write_customers(
        d,
        &[
            ("max", "max@x.example", &sha1_hex(&at_limit[14..])),
            ("over", "over@x.example", &sha1_hex(&over[15..])),
        ],
    );
    let content = format!("{at_limit}\r\n{over}\n");
    write(d, "plain/d.txt", &content);
    write(d, "gz/d.txt.gz", gzip(content.as_bytes()));
    assert_eq!(
        briefs(&scan_paths(d, &["plain"])),
        "max sha1 1 plain/d.txt:1\n"
    );
    assert_eq!(
        briefs(&scan_paths(d, &["gz"])),
        "max sha1 1 gz/d.txt.gz:1\n"
    );
    let run = scan_stdin(d, &["--customers", "customers.csv", "-"], content);
    assert_eq!(briefs(&run), "max sha1 1 -:1\n");
}

/// Streams are read in 1 MiB blocks into a 2 MiB buffer. A CRLF line of exactly the
/// maximum length (65536 bytes + `\r`) whose `\n` falls just past the first full
/// buffer must be treated like the same line in a mapped file: `\r` is not part of
/// the line.
#[test]

fn crlf_max_length_line_at_stream_buffer_boundary() {
    let dir = tmp();
    let d = dir.path();
    let long = format!("edge@x.example:{}", "e".repeat(65536 - 15));
    assert_eq!(long.len(), 65536);
    write_customers(d, &[("edge", "edge@x.example", &sha1_hex(&long[15..]))]);
    let buffer = 2 << 20; // 2 * stream block of 1 MiB
    let prefix_len = buffer - (long.len() + 1);
    let mut content = String::new();
    let mut lines = 0;
    while content.len() < prefix_len {
        let room = prefix_len - content.len();
        let n = room.min(1000);
        content.push('#');
        content.push_str(&"x".repeat(n - 2));
        content.push('\n');
        lines += 1;
    }
    assert_eq!(content.len(), prefix_len);
    content.push_str(&long);
    content.push_str("\r\n");
    assert_eq!(content.as_bytes()[buffer], b'\n');
    content.push_str("# trailer\n");
    let want_line = lines + 1;

    write(d, "plain/d.txt", &content);
    let run = scan_paths(d, &["plain"]);
    run.expect_code(0);
    assert_eq!(
        briefs(&run),
        format!("edge sha1 1 plain/d.txt:{want_line}\n")
    );

    // Both streamed paths, reported together.
    let stdin = scan_stdin(d, &["--customers", "customers.csv", "-"], content.clone());
    stdin.expect_code(0);
    write(d, "gz/d.txt.gz", gzip(content.as_bytes()));
    let gz = scan_paths(d, &["gz"]);
    gz.expect_code(0);
    assert_eq!(
        format!("stdin: {}gzip: {}", briefs(&stdin), briefs(&gz)),
        format!("stdin: edge sha1 1 -:{want_line}\ngzip: edge sha1 1 gz/d.txt.gz:{want_line}\n"),
    );
}

/// The same content plain, gzipped and on stdin gives the same matches, sightings
/// and line numbers (only the file name differs).
#[test]
fn plain_gzip_and_stdin_agree() {
    let dir = tmp();
    let d = dir.path();
    victim_customers(d);
    let mut content = b"\xEF\xBB\xBFvictim@x.example:pw-victim\r\n".to_vec();
    content.extend(lcg_bytes(99, 10_000));
    content.extend_from_slice(b"\nvictim@x.example:pw-victim\n\n\r\nafter-nul@x.example:pw-nul");
    write(d, "a/d.txt", &content);
    write(d, "b/d.txt.gz", gzip(&content));
    let brief_of = |run: &Run| -> Vec<(u64, u64)> {
        run.resets()
            .iter()
            .map(|r| (r.sightings, r.first_seen.line))
            .collect()
    };
    let plain = scan_paths(d, &["--stats", "s1.json", "a"]);
    let gz = scan_paths(d, &["--stats", "s2.json", "b"]);
    let stdin = scan_stdin(
        d,
        &["--customers", "customers.csv", "--stats", "s3.json", "-"],
        content,
    );
    plain.expect_code(0);
    assert_eq!(plain.resets().len(), 2);
    assert_eq!(brief_of(&gz), brief_of(&plain));
    assert_eq!(brief_of(&stdin), brief_of(&plain));
    let counters = |f: &str| {
        let st = read_stats(&d.join(f));
        (
            stat(&st, "lines"),
            stat(&st, "pairs"),
            stat(&st, "skipped_total"),
            st["skipped"].clone(),
        )
    };
    assert_eq!(counters("s2.json"), counters("s1.json"));
    assert_eq!(counters("s3.json"), counters("s1.json"));
}

/// The `csv` reader's own line numbers name the line above a record after a CRLF or
/// a blank line; lines of CSV dumps (mapped or streamed) and of customers files are
/// counted on the bytes instead.
#[test]
fn csv_lines_after_crlf_and_blank_lines() {
    let dir = tmp();
    let d = dir.path();
    victim_customers(d);
    let crlf = "email,password\r\nx@y.z,q\r\nvictim@x.example,pw-victim\r\n";
    let blanks = "email,password\n\nx@y.z,q\n\n\"victim@x.example\",\"pw-\nvictim\"\nvictim@x.example,pw-victim\n";
    write(d, "a/crlf.csv", crlf);
    write(d, "b/blanks.csv.gz", gzip(blanks.as_bytes()));
    assert_eq!(briefs(&scan_paths(d, &["a"])), "v-1 sha1 1 a/crlf.csv:3\n");
    assert_eq!(
        briefs(&scan_paths(d, &["b"])),
        "v-1 sha1 1 b/blanks.csv.gz:7\n"
    );
}
