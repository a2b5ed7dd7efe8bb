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

/// What the first bytes of an input say it is when it is not text: an archive or
/// compressed data reaching the scan under a name that did not say so, or a format
/// leakmatch does not read. Such an input is reported (unreadable, named on
/// stderr), never scanned as text.
pub fn foreign_format(head: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (
            b"7z\xBC\xAF\x27\x1C",
            "a 7z archive: not supported, extract it first",
        ),
        (
            b"Rar!\x1A\x07",
            "a RAR archive: not supported, extract it first",
        ),
        (
            b"MSCF\0\0\0\0",
            "a CAB archive: not supported, extract it first",
        ),
        (
            b"PK\x03\x04",
            "a zip archive not named .zip: rename it to scan its members",
        ),
        (b"PK\x05\x06", "an empty zip archive not named .zip"),
        (
            b"\x1F\x8B\x08",
            "gzip data not named .gz: rename it to scan it",
        ),
        (
            b"\x28\xB5\x2F\xFD",
            "zstd data not named .zst: rename it to scan it",
        ),
        (b"\xFD7zXZ\0", "xz data not named .xz: rename it to scan it"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(what);
    }
    // bzip2: "BZh", a block size digit, then the block magic (pi).
    if head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && head[4..10] == *b"\x31\x41\x59\x26\x53\x59"
    {
        return Some("bzip2 data not named .bz2: rename it to scan it");
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Some("a tar archive not named .tar: rename it to scan its members");
    }
    None
}

/// Bytes [`foreign_format`] looks at.
pub const SNIFF_BYTES: usize = 262;

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

    #[test]
    fn foreign_formats_by_their_first_bytes() {
        assert!(foreign_format(b"7z\xBC\xAF\x27\x1C\0\x04")
            .unwrap()
            .contains("7z"));
        assert!(foreign_format(b"Rar!\x1A\x07\x01\0")
            .unwrap()
            .contains("RAR"));
        assert!(foreign_format(b"BZh91AY&SY....").unwrap().contains("bzip2"));
        let mut tar = vec![b'a'; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert!(foreign_format(&tar).unwrap().contains("tar"));
        // Text that starts like a magic number is still text.
        assert_eq!(foreign_format(b"BZh9 user@x.io:pw\n"), None);
        assert_eq!(foreign_format(b"PK user@x.io:pw\n"), None);
        assert_eq!(foreign_format(b"user@x.io:pw\n"), None);
        assert_eq!(foreign_format(b""), None);
    }
}
