//! CSV dumps: the header names the columns, then one record at a time (RFC 4180
//! quoting, multi-line fields included, each record capped like a line).

use std::io::Read;

use super::lines::LineScanner;
use super::probe::Probe;
use super::{ScanOptions, UnitOut};
use crate::parse::{CsvColumns, CsvRecord, CsvRecords, Parsed, SkipReason};

/// Scans a CSV dump: header first, then one record at a time.
pub(super) fn scan_csv<R: Read, P: Probe>(
    reader: R,
    lines: &mut LineScanner<P>,
    opts: &ScanOptions,
    out: &mut UnitOut,
) {
    let mut records = CsvRecords::new(reader);
    let mut columns: Option<Option<CsvColumns>> = None;
    loop {
        let (record, line) = match records.next_record() {
            Ok(None) => break,
            Ok(Some(CsvRecord::Fields(f, line))) => (Some(f), line),
            Ok(Some(CsvRecord::TooLong(line))) => (None, line),
            Err(e) => {
                out.error = Some(format!("read error: {e}"));
                break;
            }
        };
        out.counters.lines += 1;
        if out.counters.lines.is_multiple_of(4096) && opts.cancelled() {
            break;
        }
        let reason = match (record, columns) {
            (None, _) => SkipReason::TooLong,
            (Some(header), None) => {
                columns = Some(CsvColumns::from_header(&header));
                SkipReason::CsvHeader
            }
            (Some(_), Some(None)) => SkipReason::CsvNoColumns,
            (Some(record), Some(Some(cols))) => match cols.parse(&record) {
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
