//! NDJSON reset list: one compact JSON object per account, keys in schema order.

use std::io::{self, Write};

use super::{Format, ResetRecord};

/// `--format ndjson` (the default).
pub struct Ndjson;

impl Format for Ndjson {
    fn record(&mut self, w: &mut dyn Write, rec: &ResetRecord<'_>) -> io::Result<()> {
        serde_json::to_writer(&mut *w, rec)?;
        w.write_all(b"\n")
    }
}
