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

/// Wraps `raw` in the decoder for `compression`.
pub fn decoder<'r>(
    raw: impl Read + 'r,
    compression: Compression,
) -> io::Result<Box<dyn Read + 'r>> {
    let buffered = BufReader::with_capacity(1 << 20, raw);
    Ok(match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
        Compression::Xz => Box::new(lzma_rust2::XzReader::new(buffered, true)),
    })
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
