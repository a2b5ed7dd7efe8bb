//! Streamed inputs (stdin, compressed files, archive members): read block by
//! block, the complete lines of each block scanned by [`super::lines`].

use std::io::{self, Read};

use super::lines::LineScanner;
use super::probe::Probe;
use super::{ScanOptions, UnitOut, BOM};
use crate::input::Counted;
use crate::parse::{self, SkipReason};

/// Reads a stream block by block, scanning the complete lines of each block. A line
/// longer than [`parse::MAX_LINE`] is dropped as it streams past (counted as
/// too long) so no input can make the buffer grow without bound.
pub(super) fn scan_stream<R: Read, P: Probe>(
    reader: &mut Counted<R>,
    lines: &mut LineScanner<P>,
    opts: &ScanOptions,
    out: &mut UnitOut,
) {
    let block = opts.stream_block.max(parse::MAX_LINE + 2);
    let mut buf: Vec<u8> = vec![0; block * 2];
    // A BOM is dropped only at the very start of the stream.
    let mut filled = read_full(reader, &mut buf[..BOM.len()], out);
    if buf[..filled] == *BOM {
        filled = 0;
    }
    let mut discarding = false;
    while out.error.is_none() && !opts.cancelled() {
        let n = read_full(reader, &mut buf[filled..], out);
        if n == 0 {
            break;
        }
        filled += n;
        let mut start = 0;
        if discarding {
            // An overlong line is being dropped: it ends at the first newline.
            let Some(nl) = memchr::memchr(b'\n', &buf[..filled]) else {
                filled = 0;
                continue;
            };
            lines.count_skip(SkipReason::TooLong, &mut out.counters);
            discarding = false;
            start = nl + 1;
        }
        match memchr::memrchr(b'\n', &buf[start..filled]) {
            Some(i) => {
                let end = start + i + 1;
                lines.scan(&buf[start..end], out);
                buf.copy_within(end..filled, 0);
                filled -= end;
            }
            None => {
                buf.copy_within(start..filled, 0);
                filled -= start;
            }
        }
        // A partial line may be MAX_LINE bytes plus the `\r` of its `\r\n`.
        if filled > parse::MAX_LINE + 1 {
            discarding = true;
            filled = 0;
        }
    }
    if discarding {
        lines.count_skip(SkipReason::TooLong, &mut out.counters);
    } else if filled > 0 {
        lines.scan(&buf[..filled], out);
    }
}

/// Reads until `buf` is full or the stream ends; a read error is recorded in `out`
/// (what was read before it is kept).
fn read_full<R: Read>(reader: &mut Counted<R>, buf: &mut [u8], out: &mut UnitOut) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.error = Some(format!("read error after {} bytes: {e}", reader.count()));
                break;
            }
        }
    }
    n
}
