//! Seeded benchmark corpus generator.
//!
//! Writes, into `--out DIR`:
//! * `customers.csv` — `account_id,login,password_hash`, N customers (SHA-1 by
//!   default; `--mix` spreads them over the fast schemes and a little bcrypt);
//! * `dump.txt` — M lines of realistic shapes and lengths: mostly `login:password`,
//!   with `;` `|` TAB separators, stealer-log URL lines, JSON lines, comments and junk;
//!   a share `--hit-rate` of lines carries a customer's login (in random case), and a
//!   share `--match-rate` of those carries that customer's current password;
//! * `expected_ids.txt` — the sorted account_ids that must be in the reset list.
//!
//! `--skip-customers-file` generates the same customers without writing them (for a
//! second dump against a `customers.csv` already written with the same count and
//! seed). Customer logins only ever appear as plain `login:password` lines, so a SQL or awk
//! join that splits at the first `:` finds exactly the same accounts.
//!
//! ```sh
//! cargo run --release --example gencorpus -- --customers 1000000 --lines 20000000 --out bench-data/1m
//! ```
//! Same arguments and seed, same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use sha1::{Digest, Sha1};

#[path = "../benches/support/splitmix.rs"]
mod splitmix;
use splitmix::Rng;

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const NAMES: &[&str] = &[
    "alex", "maria", "john", "li", "fatima", "olga", "pedro", "yuki", "sam", "nina", "omar", "eva",
    "raj", "chen", "lucas", "emma",
];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "mail.ru",
    "web.de",
    "qq.com",
];

fn push_password(rng: &mut Rng, out: &mut Vec<u8>) {
    let len = 6 + rng.below(9) as usize;
    for _ in 0..len {
        out.push(ALNUM[rng.below(ALNUM.len() as u64) as usize]);
    }
}

/// Appends a number's decimal digits (`write!` costs more than everything else here).
fn push_num(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A customer login: unique by construction (the number), realistic in shape.
fn customer_login(i: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(NAMES[(i % NAMES.len() as u64) as usize].as_bytes());
    out.push(b'.');
    push_num(out, i);
    out.push(b'@');
    out.extend_from_slice(DOMAINS[((i / 7) % DOMAINS.len() as u64) as usize].as_bytes());
}

/// A dump-only login: a domain no customer uses.
fn stranger_login(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(NAMES[rng.below(NAMES.len() as u64) as usize].as_bytes());
    push_num(out, rng.below(100_000_000));
    out.extend_from_slice(b"@leakmail");
    push_num(out, rng.below(50));
    out.extend_from_slice(b".test");
}

struct Args {
    customers: u64,
    lines: u64,
    hit_rate: f64,
    match_rate: f64,
    seed: u64,
    mix: bool,
    /// Generate the customers (their passwords are needed for the dump) but do not
    /// write `customers.csv`: for a second dump against customers already written.
    skip_customers_file: bool,
    out: PathBuf,
}

fn parse_args() -> Args {
    let mut a = Args {
        customers: 1_000_000,
        lines: 20_000_000,
        hit_rate: 0.02,
        match_rate: 0.5,
        seed: 42,
        mix: false,
        skip_customers_file: false,
        out: PathBuf::from("bench-data"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--customers" => a.customers = val().parse().expect("--customers N"),
            "--lines" => a.lines = val().parse().expect("--lines M"),
            "--hit-rate" => a.hit_rate = val().parse().expect("--hit-rate F"),
            "--match-rate" => a.match_rate = val().parse().expect("--match-rate F"),
            "--seed" => a.seed = val().parse().expect("--seed S"),
            "--out" => a.out = PathBuf::from(val()),
            "--mix" => a.mix = true,
            "--skip-customers-file" => a.skip_customers_file = true,
            other => panic!("unknown flag {other}; see the source for usage"),
        }
    }
    a
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn stored_hash(rng: &mut Rng, password: &[u8], mix: bool) -> String {
    if !mix {
        return hex(&Sha1::digest(password));
    }
    match rng.below(100) {
        0..=59 => hex(&Sha1::digest(password)),
        60..=74 => {
            let salt = rng.next().to_le_bytes();
            let mut d = Sha1::new()
                .chain_update(password)
                .chain_update(salt)
                .finalize()
                .to_vec();
            d.extend_from_slice(&salt);
            use base64::Engine;
            format!(
                "{{SSHA}}{}",
                base64::engine::general_purpose::STANDARD.encode(d)
            )
        }
        75..=89 => {
            let salt = format!("{:x}", rng.next() & 0xFFFF_FFFF);
            let d = Sha1::new()
                .chain_update(salt.as_bytes())
                .chain_update(password)
                .finalize();
            format!("sha1${salt}${}", hex(&d))
        }
        90..=98 => {
            use md4::Md4;
            let mut h = Md4::new();
            for unit in String::from_utf8_lossy(password).encode_utf16() {
                h.update(unit.to_le_bytes());
            }
            format!("$NT${}", hex(&h.finalize()))
        }
        _ => bcrypt::hash_with_salt(
            password,
            4,
            rng.next().to_le_bytes().repeat(2).try_into().unwrap(),
        )
        .unwrap()
        .to_string(),
    }
}

fn main() -> std::io::Result<()> {
    let a = parse_args();
    std::fs::create_dir_all(&a.out)?;
    let started = Instant::now();
    let mut rng = Rng(a.seed);

    // Customers: keep each one's password to plant matches.
    let mut passwords: Vec<u8> = Vec::with_capacity(a.customers as usize * 11);
    let mut pw_ends: Vec<u32> = Vec::with_capacity(a.customers as usize);
    let sink: Box<dyn Write> = if a.skip_customers_file {
        Box::new(std::io::sink())
    } else {
        Box::new(File::create(a.out.join("customers.csv"))?)
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    writeln!(w, "account_id,login,password_hash")?;
    let mut login = Vec::with_capacity(64);
    for i in 0..a.customers {
        let start = passwords.len();
        push_password(&mut rng, &mut passwords);
        pw_ends.push(passwords.len() as u32);
        let hash = stored_hash(&mut rng, &passwords[start..], a.mix);
        login.clear();
        customer_login(i, &mut login);
        let digits = itoa::Buffer::new().format(i).len();
        w.write_all(b"c")?;
        w.write_all(&b"000000000"[..9usize.saturating_sub(digits)])?;
        w.write_all(itoa::Buffer::new().format(i).as_bytes())?;
        w.write_all(b",")?;
        w.write_all(&login)?;
        writeln!(w, ",{hash}")?;
    }
    w.flush()?;
    let password_of = |i: usize| {
        let start = if i == 0 { 0 } else { pw_ends[i - 1] as usize };
        &passwords[start..pw_ends[i] as usize]
    };

    let mut matched = vec![false; a.customers as usize];
    let mut w = BufWriter::with_capacity(4 << 20, File::create(a.out.join("dump.txt"))?);
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut bytes = 0u64;
    for _ in 0..a.lines {
        line.clear();
        if a.customers > 0 && rng.chance(a.hit_rate) {
            let c = rng.below(a.customers) as usize;
            customer_login(c as u64, &mut line);
            // Some case noise: normalisation must undo it.
            if rng.below(4) == 0 {
                line.make_ascii_uppercase();
            }
            line.push(b':');
            if rng.chance(a.match_rate) {
                line.extend_from_slice(password_of(c));
                matched[c] = true;
            } else {
                push_password(&mut rng, &mut line);
                line.push(b'!');
            }
        } else {
            let shape = rng.below(100);
            let mut user = Vec::with_capacity(48);
            stranger_login(&mut rng, &mut user);
            let mut pw = Vec::with_capacity(16);
            push_password(&mut rng, &mut pw);
            match shape {
                0..=79 => {
                    line.extend_from_slice(&user);
                    line.push(b':');
                    line.extend_from_slice(&pw);
                }
                80..=84 => {
                    line.extend_from_slice(&user);
                    line.push(b';');
                    line.extend_from_slice(&pw);
                }
                85..=87 => {
                    line.extend_from_slice(&user);
                    line.push(b'|');
                    line.extend_from_slice(&pw);
                }
                88..=93 => {
                    line.extend_from_slice(b"https://www.site");
                    push_num(&mut line, rng.below(10_000));
                    line.extend_from_slice(b".example/login:");
                    line.extend_from_slice(&user);
                    line.push(b':');
                    line.extend_from_slice(&pw);
                }
                94..=96 => {
                    line.extend_from_slice(b"{\"email\":\"");
                    line.extend_from_slice(&user);
                    line.extend_from_slice(b"\",\"password\":\"");
                    line.extend_from_slice(&pw);
                    line.extend_from_slice(b"\"}");
                }
                97 => line.extend_from_slice(b"# ===== dumped by someone ====="),
                98 => {}
                _ => {
                    for _ in 0..20 {
                        line.push(b'!' + rng.below(90) as u8);
                    }
                    line.retain(|&b| !matches!(b, b':' | b';' | b'|'));
                }
            }
        }
        if rng.below(20) == 0 {
            line.push(b'\r');
        }
        line.push(b'\n');
        bytes += line.len() as u64;
        w.write_all(&line)?;
    }
    w.flush()?;

    let mut w = BufWriter::new(File::create(a.out.join("expected_ids.txt"))?);
    for (i, m) in matched.iter().enumerate() {
        if *m {
            writeln!(w, "c{i:09}")?;
        }
    }
    w.flush()?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "gencorpus: {} customers, {} lines, {:.0} MB dump, {} expected resets in {:.1} s ({:.0} MB/s)",
        a.customers,
        a.lines,
        bytes as f64 / 1e6,
        matched.iter().filter(|m| **m).count(),
        secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}
