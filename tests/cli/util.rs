//! Shared helpers for the CLI tests.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use sha1::{Digest, Sha1};

/// The crate root (where `corpus-samples/` lives).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary directory.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path; no memory is shared.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A temporary directory with one SHA-1 customer (`ok-1`, `ok@x.example`) and a
/// dump that leaks its password (`dumps/ok.txt`).
pub fn one_customer_one_dump() -> tempfile::TempDir {
    let dir = tmp();
    let d = dir.path();
    write_customers(d, &[("ok-1", "ok@x.example", &sha1_hex("pw-ok"))]);
    write(d, "dumps/ok.txt", "ok@x.example:pw-ok\n");
    dir
}

// ---------------------------------------------------------------------------------
// Hash builders
// ---------------------------------------------------------------------------------

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 40 lowercase hex digits of SHA-1(password).
pub fn sha1_hex(password: impl AsRef<[u8]>) -> String {
    hex(&Sha1::digest(password.as_ref()))
}

/// `{SHA}` + base64(SHA-1(password)).
pub fn ldap_sha1(password: &str) -> String {
    format!("{{SHA}}{}", B64.encode(Sha1::digest(password.as_bytes())))
}

/// `{SSHA}` + base64(SHA-1(password ‖ salt) ‖ salt).
pub fn ldap_ssha1(password: &str, salt: &[u8]) -> String {
    let mut d = Sha1::new()
        .chain_update(password.as_bytes())
        .chain_update(salt)
        .finalize()
        .to_vec();
    d.extend_from_slice(salt);
    format!("{{SSHA}}{}", B64.encode(d))
}

/// Django `sha1$SALT$hex(SHA-1(salt ‖ password))`.
pub fn django_sha1(password: &str, salt: &str) -> String {
    let d = Sha1::new()
        .chain_update(salt.as_bytes())
        .chain_update(password.as_bytes())
        .finalize();
    format!("sha1${salt}${}", hex(&d))
}

/// `$NT$` + hex(MD4(UTF-16LE(password))).
pub fn nt(password: &str) -> String {
    use md4::Md4;
    let mut h = Md4::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    format!("$NT${}", hex(&h.finalize()))
}

/// bcrypt `$2b$` with the given cost and a fixed salt.
pub fn bcrypt_hash(password: &str, cost: u32) -> String {
    bcrypt::hash_with_salt(password, cost, [7u8; 16])
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoB)
}

// ---------------------------------------------------------------------------------
// Fixture files
// ---------------------------------------------------------------------------------

/// Quotes a CSV field (always, RFC 4180), so logins with spaces or commas survive.
pub fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Writes `dir/customers.csv` with header `account_id,login,password_hash` and one
/// row per `(account_id, login, password_hash)`; returns its path.
pub fn write_customers(dir: &Path, rows: &[(&str, &str, &str)]) -> PathBuf {
    let mut s = String::from("account_id,login,password_hash\n");
    for (id, login, hash) in rows {
        s.push_str(&format!(
            "{},{},{}\n",
            csv_field(id),
            csv_field(login),
            csv_field(hash)
        ));
    }
    write(dir, "customers.csv", s)
}

/// [`write_customers`] for rows built at run time.
pub fn write_customers_owned(dir: &Path, rows: &[(String, String, String)]) -> PathBuf {
    let refs: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    write_customers(dir, &refs)
}

/// Writes `dir/rel` (creating parent directories); returns its path.
pub fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, content).expect("write fixture");
    p
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// `n` pseudo-random bytes from a fixed-seed 64-bit LCG (Knuth's MMIX constants).
pub fn lcg_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    /// Panics with the whole run shown unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The reset list, parsed (stdout must be NDJSON).
    #[track_caller]
    pub fn resets(&self) -> Vec<Reset> {
        parse_resets(&self.stdout)
    }
}

/// A `leakmatch` command.
pub fn leakmatch() -> Command {
    Command::cargo_bin("leakmatch").expect("binary built")
}

/// Runs `leakmatch ARGS` in `cwd`, with `stdin` if given.
pub fn run_in(cwd: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = leakmatch();
    cmd.current_dir(cwd).args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let out = cmd.output().expect("run leakmatch");
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().expect("exited, not killed by a signal"),
    }
}

/// `leakmatch scan ARGS` in `cwd`.
pub fn scan(cwd: &Path, args: &[&str]) -> Run {
    let mut full = vec!["scan"];
    full.extend_from_slice(args);
    run_in(cwd, &full, None)
}

/// `leakmatch scan --customers customers.csv PATHS...` in `cwd` (the usual shape).
pub fn scan_paths(cwd: &Path, paths: &[&str]) -> Run {
    let mut args = vec!["--customers", "customers.csv"];
    args.extend_from_slice(paths);
    scan(cwd, &args)
}

/// `leakmatch scan ARGS` in `cwd` with `stdin` piped in.
pub fn scan_stdin(cwd: &Path, args: &[&str], stdin: impl Into<Vec<u8>>) -> Run {
    let mut full = vec!["scan"];
    full.extend_from_slice(args);
    run_in(cwd, &full, Some(stdin.into()))
}

// ---------------------------------------------------------------------------------
// Output schemas (pinned: unknown fields are an error)
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstSeen {
    pub file: String,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    pub account_id: String,
    pub login: String,
    pub reason: String,
    pub scheme: String,
    pub sightings: u64,
    pub first_seen: FirstSeen,
    /// The repairs the password needed (issue 17); absent for the exact bytes.
    #[serde(default)]
    pub via: Vec<String>,
    /// With `--tweaks`, the rules of the variant that verified (issue 17).
    #[serde(default)]
    pub variant: Option<String>,
    /// Only in a `--state` run's list, for a reset reported before and not
    /// acknowledged.
    #[serde(default)]
    pub pending_since: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub account_id: String,
    pub login: String,
    pub scheme: String,
    pub candidates: u64,
    pub checked: u64,
    pub sightings: u64,
    pub reason: String,
}

/// Parses NDJSON reset records, each line strictly.
#[track_caller]
pub fn parse_resets(ndjson: &str) -> Vec<Reset> {
    ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad record {l:?}: {e}")))
        .collect()
}

/// Parses NDJSON review records, each line strictly.
#[track_caller]
pub fn parse_reviews(ndjson: &str) -> Vec<Review> {
    ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad review {l:?}: {e}")))
        .collect()
}

/// A compact view of a reset record for readable assertions:
/// `"id scheme sightings file:line"`.
pub fn brief(r: &Reset) -> String {
    let pending = r.pending_since.map(|n| format!(" pending-since-{n}"));
    format!(
        "{} {} {} {}:{}{}",
        r.account_id,
        r.scheme,
        r.sightings,
        r.first_seen.file,
        r.first_seen.line,
        pending.unwrap_or_default()
    )
}

/// [`brief`] of every record, one per line.
#[track_caller]
pub fn briefs(run: &Run) -> String {
    run.resets().iter().map(|r| brief(r) + "\n").collect()
}

/// Reads a `--stats` file.
#[track_caller]
pub fn read_stats(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("stats file written");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("stats is not JSON ({e}): {text}"))
}

/// A numeric stat.
#[track_caller]
pub fn stat(stats: &serde_json::Value, key: &str) -> u64 {
    stats[key]
        .as_u64()
        .unwrap_or_else(|| panic!("stats.{key} missing or not an integer: {stats:#}"))
}

/// A `skipped.REASON` count.
#[track_caller]
pub fn skipped(stats: &serde_json::Value, reason: &str) -> u64 {
    stats["skipped"][reason]
        .as_u64()
        .unwrap_or_else(|| panic!("stats.skipped.{reason} missing: {stats:#}"))
}

/// Names of the entries of `dir`, sorted.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------
// Command-line compressors (gzip, bzip2, xz, zstd, zip are assumed installed)
// ---------------------------------------------------------------------------------

/// Runs `tool ARGS` with `input` on stdin and returns its stdout (the compressed
/// bytes), panicking if the tool fails: `compress_with("zstd", &["-q", "-c"], b"...")`.
#[track_caller]
pub fn compress_with(tool: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("compressor output");
    writer.join().unwrap().expect("write to compressor");
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `zip OPTS OUT MEMBERS...` in `cwd` (e.g. opts `["-q", "-r"]`), creating
/// `out`'s directory first; panics if zip fails.
#[track_caller]
pub fn zip_in(cwd: &Path, out: &Path, opts: &[&str], members: &[&str]) {
    std::fs::create_dir_all(out.parent().unwrap()).expect("mkdir");
    let out_status = std::process::Command::new("zip")
        .current_dir(cwd)
        .args(opts)
        .arg(out)
        .args(members)
        .output()
        .expect("cannot run zip");
    assert!(
        out_status.status.success(),
        "zip {opts:?} {members:?} failed: {}{}",
        String::from_utf8_lossy(&out_status.stdout),
        String::from_utf8_lossy(&out_status.stderr)
    );
}

/// Every file under `dir` (recursively), as bytes.
pub fn all_file_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(all_file_bytes(&p));
        } else {
            v.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    v
}

/// Whether `needle` occurs in `hay`.
pub fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
