//! Replays every committed fuzz corpus file (and every crash reproducer kept in
//! `fuzz/regressions/`) through the fuzz targets' entry points, on stable: what
//! fuzzing found stays fixed in CI. The targets themselves run under
//! `cargo +nightly fuzz run TARGET` (see `fuzz/README.md`).

use std::path::Path;

use leakmatch::fuzzing;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut seen = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
            seen += 1;
        }
    }
    assert!(seen > 0, "{target}: no corpus");
}

#[test]
fn lines_corpus() {
    replay("lines", fuzzing::lines);
}

#[test]
fn csv_records_corpus() {
    replay("csv_records", fuzzing::csv_records);
}

#[test]
fn customers_corpus() {
    replay("customers", fuzzing::customers);
}

#[test]
fn lmx_corpus() {
    replay("lmx", fuzzing::lmx);
}

#[test]
fn containers_corpus() {
    replay("containers", fuzzing::containers);
}
