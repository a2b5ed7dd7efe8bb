//! Micro and end-to-end benchmarks of the scan, in bytes per second.
//!
//! `cargo bench --bench scan` — every group reports `Throughput::Bytes` of dump text.
//! Set `LEAKMATCH_BENCH_BIG=1` to add the 50M-customer index probe (builds a ~4 GB
//! index in memory first).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use leakmatch::index::{CustomerIndex, IndexBuilder};
use leakmatch::{confirm, input, login, parse, scan};

#[path = "support/splitmix.rs"]
mod splitmix;
use splitmix::Rng;

fn customer_login(i: u64) -> String {
    format!("user.{i}@example{}.com", i % 7)
}

/// A dump of `lines` lines: 2% carry a customer login (`customers` of them), the rest
/// a stranger's; 90% `login:password`, the rest stealer URLs, `;` and JSON lines.
fn dump(lines: usize, customers: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(lines * 44);
    for _ in 0..lines {
        let r = rng.next();
        let login = if r.is_multiple_of(50) && customers > 0 {
            customer_login(rng.next() % customers)
        } else {
            format!(
                "someone{}@leakmail{}.test",
                rng.next() % 100_000_000,
                r % 40
            )
        };
        let pw = format!("pw{:x}", rng.next() & 0xFFFF_FFFF);
        let line = match (r >> 8) % 100 {
            0..=89 => format!("{login}:{pw}\n"),
            90..=94 => format!("https://site{}.example/login:{login}:{pw}\n", r % 1000),
            95..=97 => format!("{login};{pw}\n"),
            _ => format!("{{\"email\":\"{login}\",\"password\":\"{pw}\"}}\n"),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn index_of(customers: u64) -> CustomerIndex {
    let hash = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";
    let mut b = IndexBuilder::new();
    for i in 0..customers {
        b.add(&format!("c{i}"), &customer_login(i), hash);
    }
    b.build().unwrap()
}

/// Pairs in `data` as the scanner finds them: block bitmasks for line ends,
/// separators and NULs, the fast path for the common shape, the full rules for the
/// rest (the baseline SSE2 build; where the CPU has AVX2 the scan uses its AVX2
/// build, which `scan/` measures).
fn pairs_as_scanned(data: &[u8]) -> u64 {
    let mut pairs = 0u64;
    for parse::Line {
        bytes: line,
        sep,
        nul,
    } in parse::Lines::new(data)
    {
        let common = if nul {
            None
        } else {
            parse::parse_common(line, sep)
        };
        let ok = match common {
            Some(_) => true,
            None => matches!(parse::parse_line_known(line, nul), parse::Parsed::Pair(_)),
        };
        pairs += ok as u64;
    }
    pairs
}

fn bench_parse(c: &mut Criterion) {
    let data = dump(200_000, 1000, 1);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    // The full rules on every line.
    g.bench_function("parse_line", |b| {
        b.iter(|| {
            let mut pairs = 0u64;
            for line in data.split(|&x| x == b'\n') {
                if let parse::Parsed::Pair(_) = parse::parse_line(line) {
                    pairs += 1;
                }
            }
            black_box(pairs)
        })
    });
    // What the scanner does.
    g.bench_function("lines+parse_common", |b| {
        b.iter(|| black_box(pairs_as_scanned(&data)))
    });
    g.finish();

    // The shapes off the fast path, each on its own: JSON objects and stealer URLs.
    for (name, keep) in [("json_lines", b'{'), ("url_lines", b'h')] {
        let lines: Vec<u8> = data
            .split_inclusive(|&x| x == b'\n')
            .filter(|l| l.first() == Some(&keep))
            .flatten()
            .copied()
            .collect();
        let mut g = c.benchmark_group("parse");
        g.throughput(Throughput::Bytes(lines.len() as u64));
        g.sample_size(30);
        g.bench_function(name, |b| b.iter(|| black_box(pairs_as_scanned(&lines))));
        g.finish();
    }
}

fn bench_normalize(c: &mut Criterion) {
    let logins: Vec<String> = (0..100_000u64)
        .map(|i| {
            if i % 4 == 0 {
                customer_login(i).to_uppercase()
            } else {
                customer_login(i)
            }
        })
        .collect();
    let bytes: usize = logins.iter().map(String::len).sum();
    let mut g = c.benchmark_group("login");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("normalize+hash", |b| {
        let mut buf = Vec::with_capacity(128);
        b.iter(|| {
            let mut acc = 0u64;
            for l in &logins {
                acc ^= login::hash_normalized(login::normalize(l.as_bytes(), &mut buf));
            }
            black_box(acc)
        })
    });
    // What the scan does per dump line: lowercase in registers while hashing.
    g.bench_function("hash_login", |b| {
        let mut buf = Vec::with_capacity(128);
        b.iter(|| {
            let mut acc = 0u64;
            for l in &logins {
                acc ^= login::hash_login(l.as_bytes(), &mut buf);
            }
            black_box(acc)
        })
    });
    // The approach it replaced: lowercase into a stack buffer, then xxh3.
    g.bench_function("lowercase copy+xxh3", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            let mut buf = [0u8; 128];
            for l in &logins {
                let raw = l.as_bytes().trim_ascii();
                let n = raw.len().min(128);
                for (d, s) in buf[..n].iter_mut().zip(raw) {
                    *d = s.to_ascii_lowercase();
                }
                acc ^= xxhash_rust::xxh3::xxh3_64(&buf[..n]);
            }
            black_box(acc)
        })
    });
    g.finish();
}

fn bench_probe(c: &mut Criterion) {
    let mut sizes = vec![1_000_000u64];
    if std::env::var_os("LEAKMATCH_BENCH_BIG").is_some() {
        sizes.push(50_000_000);
    }
    let mut g = c.benchmark_group("index_probe");
    g.sample_size(20);
    for customers in sizes {
        let index = index_of(customers);
        let view = index.view();
        let mut rng = Rng(7);
        for (name, hit) in [("hit", true), ("miss", false)] {
            let keys: Vec<(Vec<u8>, u64)> = (0..100_000)
                .map(|_| {
                    let l = if hit {
                        customer_login(rng.next() % customers)
                    } else {
                        format!("nobody{}@x.test", rng.next())
                    };
                    let (n, h) = login::normalize_and_hash(l.as_bytes());
                    (n, h)
                })
                .collect();
            let bytes: usize = keys.iter().map(|k| k.0.len()).sum();
            g.throughput(Throughput::Bytes(bytes as u64));
            g.bench_with_input(BenchmarkId::new(name, customers), &keys, |b, keys| {
                let mut scratch = Vec::new();
                b.iter(|| {
                    let mut found = 0u64;
                    for (n, h) in keys {
                        found += view.lookup(*h, n, &mut scratch).is_some() as u64;
                    }
                    black_box(found)
                })
            });
        }
    }
    g.finish();
}

fn bench_scan(c: &mut Criterion) {
    let customers = 1_000_000;
    let index = index_of(customers);
    let data = dump(2_000_000, customers, 3);
    // tmpfs when there is one: the scan maps the file, and memory is what we measure.
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let path = dir.path().join("dump.txt");
    std::fs::write(&path, &data).unwrap();
    let (files, _) = input::discover(&[path]);
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("scan+confirm 2M lines, 1M customers", |b| {
        b.iter(|| {
            let out = scan::scan(&files, index.view(), &scan::ScanOptions::default());
            let checked =
                confirm::confirm(index.view(), &out.candidates, &confirm::Budget::default());
            black_box((out.counters.lines, checked.verifications))
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_parse,
    bench_normalize,
    bench_probe,
    bench_scan
);
criterion_main!(benches);
