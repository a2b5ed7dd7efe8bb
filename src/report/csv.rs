//! CSV reset list: a header, then the NDJSON fields flattened (`first_seen` becomes
//! `first_seen_file` and `first_seen_line`), RFC 4180 quoting where needed.

use std::io::{self, Write};

use super::{Format, ResetRecord};

/// `--format csv`.
pub struct Csv;

const HEADER: [&str; 7] = [
    "account_id",
    "login",
    "reason",
    "scheme",
    "sightings",
    "first_seen_file",
    "first_seen_line",
];

fn write_row(w: &mut dyn Write, fields: &[&str]) -> io::Result<()> {
    let mut cw = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(w);
    cw.write_record(fields)?;
    cw.flush()
}

impl Format for Csv {
    fn header(&mut self, w: &mut dyn Write) -> io::Result<()> {
        write_row(w, &HEADER)
    }

    fn record(&mut self, w: &mut dyn Write, rec: &ResetRecord<'_>) -> io::Result<()> {
        write_row(
            w,
            &[
                &rec.account_id,
                &rec.login,
                rec.reason,
                rec.scheme,
                &rec.sightings.to_string(),
                rec.first_seen.file,
                &rec.first_seen.line.to_string(),
            ],
        )
    }
}
