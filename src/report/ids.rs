//! Bare id list: one `account_id` per line, for piping into a reset job.

use std::io::{self, Write};

use super::{Format, ResetRecord};

/// `--format ids`.
pub struct Ids;

impl Format for Ids {
    fn record(&mut self, w: &mut dyn Write, rec: &ResetRecord<'_>) -> io::Result<()> {
        w.write_all(rec.account_id.as_bytes())?;
        w.write_all(b"\n")
    }
}
