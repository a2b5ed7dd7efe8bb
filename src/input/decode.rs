//! Compressed inputs: which decoder a name asks for, and the decoders.
//!
//! Owns the name rules (a compression suffix is stripped first and the name inside
//! decides the shape: `x.csv.gz` is a gzipped CSV) and wrapping a byte stream in its
//! decoder: `.gz` (multi-member), `.zst`, `.bz2` (multi-stream), `.xz`
//! (multi-stream).

use std::io::{self, BufReader, Read};

use super::Shape;

/// The compression a file's bytes come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (multi-member streams included).
    Gzip,
    /// Zstandard.
    Zstd,
    /// bzip2 (multi-stream files included).
    Bzip2,
    /// xz (multi-stream files included).
    Xz,
}

/// Decides shape and compression from a file name (case-insensitive).
pub fn classify(name: &str) -> (Shape, Compression) {
    let lower = name.to_ascii_lowercase();
    let mut inner = lower.as_str();
    let mut compression = Compression::None;
    for (suffix, c) in [
        (".gz", Compression::Gzip),
        (".zst", Compression::Zstd),
        (".bz2", Compression::Bzip2),
        (".xz", Compression::Xz),
    ] {
        if let Some(stripped) = lower.strip_suffix(suffix) {
            inner = stripped;
            compression = c;
            break;
        }
    }
    let shape = if inner.ends_with(".csv") {
        Shape::Csv
    } else {
        Shape::Lines
    };
    (shape, compression)
}

/// The most memory one decoder may hold for its window (xz's dictionary, zstd's
/// window): 256 MiB, above `xz -9e` (64 MiB) and zstd's own default (128 MiB). A
/// stream that declares more is refused (an unreadable input, exit 1) instead of
/// allocated: four small `.xz` files declaring 1.5 GiB dictionaries took 6.3 GB at
/// `-j4`. With it, decoders hold at most this much per worker thread.
pub const DECODER_MEMORY: u64 = 256 << 20;

/// Wraps `raw` in the decoder for `compression`.
pub fn decoder<'r>(
    raw: impl Read + 'r,
    compression: Compression,
) -> io::Result<Box<dyn Read + 'r>> {
    let buffered = BufReader::with_capacity(1 << 20, raw);
    Ok(match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(buffered)?;
            d.window_log_max(DECODER_MEMORY.ilog2())?;
            Box::new(d)
        }
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
        Compression::Xz => Box::new(Limited(lzma_rust2::XzReader::new_mem_limit(
            buffered,
            true,
            (DECODER_MEMORY >> 10) as u32,
        ))),
    })
}

/// An xz decoder whose refusal of a large dictionary says so plainly.
struct Limited<R>(R);

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.to_string().contains("mem_limit") {
                io::Error::other(format!(
                    "the xz stream needs more than {} MiB to decode (the decoder memory limit)",
                    DECODER_MEMORY >> 20
                ))
            } else {
                e
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_name() {
        assert_eq!(classify("a.txt"), (Shape::Lines, Compression::None));
        assert_eq!(classify("A.CSV"), (Shape::Csv, Compression::None));
        assert_eq!(classify("a.csv.gz"), (Shape::Csv, Compression::Gzip));
        assert_eq!(classify("a.txt.gz"), (Shape::Lines, Compression::Gzip));
        assert_eq!(classify("a.csv.zst"), (Shape::Csv, Compression::Zstd));
        assert_eq!(classify("a.bz2"), (Shape::Lines, Compression::Bzip2));
        assert_eq!(classify("a.txt.XZ"), (Shape::Lines, Compression::Xz));
        assert_eq!(classify("gz"), (Shape::Lines, Compression::None));
        assert!(super::super::zip::is_zip("dump.ZIP"));
    }
}
