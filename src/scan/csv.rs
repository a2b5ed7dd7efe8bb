//! CSV dumps: the header names the columns, then one record at a time (the `csv`
//! crate reads RFC 4180 quoting, multi-line fields included).

use std::io::Read;

use super::lines::LineScanner;
use super::probe::Probe;
use super::{ScanOptions, UnitOut};
use crate::parse::{CsvColumns, LineTracker, Parsed, SkipReason};

/// Scans a CSV dump: header first, then one record at a time.
pub(super) fn scan_csv<R: Read, P: Probe>(
    reader: R,
    lines: &mut LineScanner<P>,
    opts: &ScanOptions,
    out: &mut UnitOut,
) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineTracker::new(reader));
    let mut record = csv::ByteRecord::new();
    let mut columns: Option<Option<CsvColumns>> = None;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.error = Some(match e.position() {
                    Some(p) => format!("CSV error on line {}", p.line()),
                    None => "CSV read error".to_string(),
                });
                break;
            }
        }
        let line = rdr
            .get_ref()
            .line_of(record.position().map_or(0, |p| p.byte()));
        out.counters.lines += 1;
        if out.counters.lines.is_multiple_of(4096) && opts.cancelled() {
            break;
        }
        let reason = match columns {
            None => {
                columns = Some(CsvColumns::from_header(&record));
                SkipReason::CsvHeader
            }
            Some(None) => SkipReason::CsvNoColumns,
            Some(Some(cols)) => match cols.parse(&record) {
                Parsed::Pair(cred) => {
                    out.counters.pairs += 1;
                    lines.lookup_now(&cred.login, &cred.password, line, out);
                    continue;
                }
                Parsed::Skip(r) => r,
            },
        };
        out.counters.skipped[reason.index()] += 1;
    }
}
