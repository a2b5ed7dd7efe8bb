//! Finding the lines of a buffer, with what the fast path needs to know of each.
//!
//! Owns [`Lines`]: one pass over a buffer, 64 bytes at a time, that gives every
//! line with its first separator and whether it holds a NUL byte. The block
//! classifier is SSE2 on every x86_64 CPU and AVX2 where the CPU has it.

use std::fmt;

/// A line of a buffer and what the scanner needs to know about it, from [`Lines`].
/// `Debug` shows the line's length, never its bytes (they hold a password).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line, without its `\n`.
    pub bytes: &'a [u8],
    /// Position of its first separator, if any.
    pub sep: Option<usize>,
    /// Whether it holds a NUL byte (then only the full rules apply).
    pub nul: bool,
}

impl fmt::Debug for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Line")
            .field("len", &self.bytes.len())
            .field("sep", &self.sep)
            .field("nul", &self.nul)
            .finish()
    }
}

/// The lines of a buffer, each with its first separator and whether it holds a NUL
/// byte: the scanner's way through a buffer.
///
/// The buffer is classified 64 bytes at a time into three bitmasks (newlines,
/// separators, NULs; SIMD compares), and each line is then found with a few bit
/// operations on them, simdjson-style, instead of searching from every line's start:
/// one pass answers all three questions for every line, with no per-line loop whose
/// exit the branch predictor keeps missing. A final line without `\n` runs to the end
/// of the buffer.
pub struct Lines<'a, C = Sse2> {
    classify: C,
    hay: &'a [u8],
    /// Start of the block the masks describe; `pos - base < 64` between lines.
    base: usize,
    nl: u64,
    sep: u64,
    nul: u64,
    /// Start of the next line.
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The lines of `hay`, with the baseline (SSE2) classifier.
    pub fn new(hay: &'a [u8]) -> Self {
        Lines::with(Sse2, hay)
    }
}

impl<'a, C: Classify> Lines<'a, C> {
    /// The lines of `hay`, blocks classified by `classify`.
    #[inline(always)]
    pub fn with(classify: C, hay: &'a [u8]) -> Self {
        let mut lines = Lines {
            classify,
            hay,
            base: 0,
            nl: 0,
            sep: 0,
            nul: 0,
            pos: 0,
        };
        lines.load(0);
        lines
    }

    /// Computes the masks of the block at `base` (zero past the end of the buffer).
    #[inline(always)]
    fn load(&mut self, base: usize) {
        self.base = base;
        (self.nl, self.sep, self.nul) =
            match self.hay.get(base..).and_then(|r| r.first_chunk::<64>()) {
                Some(block) => self.classify.masks(block),
                None => self.last_masks(base),
            };
    }

    /// The masks of the last, partial block.
    #[cold]
    fn last_masks(&self, base: usize) -> (u64, u64, u64) {
        let rest = self.hay.get(base..).unwrap_or_default();
        let mut block = [0u8; 64];
        block[..rest.len()].copy_from_slice(rest);
        let (nl, sep, nul) = self.classify.masks(&block);
        let valid = (1u64 << rest.len()) - 1; // rest.len() < 64
        (nl & valid, sep & valid, nul & valid)
    }
}

impl<'a, C: Classify> Iterator for Lines<'a, C> {
    type Item = Line<'a>;

    // Always inlined: in the scan's AVX2 build the block classifier's intrinsics
    // are inlined only into code compiled with AVX2, which this must become part of
    // (as a call of its own it ran the compares as function calls: 5x slower).
    #[inline(always)]
    fn next(&mut self) -> Option<Line<'a>> {
        let start = self.pos;
        if start >= self.hay.len() {
            return None;
        }
        let mut sep: Option<usize> = None;
        let mut nul = false;
        // Bits of the current block at or after the line's start.
        let mut live = !0u64 << (start - self.base);
        loop {
            let nl = self.nl & live;
            // Bits of the line in this block: from its start to its newline.
            let inside = live & nl.wrapping_sub(1) & !nl;
            let s = self.sep & inside;
            if sep.is_none() && s != 0 {
                sep = Some(self.base + s.trailing_zeros() as usize - start);
            }
            nul |= self.nul & inside != 0;
            if nl != 0 {
                let end = self.base + nl.trailing_zeros() as usize;
                self.pos = end + 1;
                if self.pos - self.base == 64 {
                    self.load(self.pos);
                }
                return Some(Line {
                    bytes: &self.hay[start..end],
                    sep,
                    nul,
                });
            }
            if self.base + 64 >= self.hay.len() {
                self.pos = self.hay.len();
                return Some(Line {
                    bytes: &self.hay[start..],
                    sep,
                    nul,
                });
            }
            self.load(self.base + 64);
            live = !0;
        }
    }
}

/// How [`Lines`] classifies a 64-byte block: the bitmasks of its newlines,
/// separators (`:` `;` `|` tab, as `IS_SEP`) and NUL bytes, bit `i` for byte `i`.
pub trait Classify: Copy {
    /// The (newline, separator, NUL) masks of `block`.
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64);
}

/// The baseline classifier: four 16-byte SSE2 compares a block (a byte loop off
/// x86_64).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sse2;

impl Classify for Sse2 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64) {
        use std::arch::x86_64::*;
        let (mut nl, mut sep, mut nul) = (0u64, 0u64, 0u64);
        for k in 0..4 {
            // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are
            // always available; the unaligned load reads `block[16 * k..16 * k + 16]`,
            // inside the 64-byte block.
            let (n, s, z) = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
                let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
                let seps = _mm_or_si128(
                    _mm_or_si128(eq(b':'), eq(b';')),
                    _mm_or_si128(eq(b'|'), eq(b'\t')),
                );
                (
                    _mm_movemask_epi8(eq(b'\n')) as u16,
                    _mm_movemask_epi8(seps) as u16,
                    _mm_movemask_epi8(eq(0)) as u16,
                )
            };
            nl |= u64::from(n) << (16 * k);
            sep |= u64::from(s) << (16 * k);
            nul |= u64::from(z) << (16 * k);
        }
        (nl, sep, nul)
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline]
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64) {
        let (mut nl, mut sep, mut nul) = (0u64, 0u64, 0u64);
        for (i, &b) in block.iter().enumerate() {
            nl |= u64::from(b == b'\n') << i;
            sep |= u64::from(super::swar::IS_SEP[b as usize]) << i;
            nul |= u64::from(b == 0) << i;
        }
        (nl, sep, nul)
    }
}

/// The AVX2 classifier: two 32-byte compares a block. Only [`Avx2::detect`] makes
/// one, on a CPU that has AVX2, BMI1 and BMI2; code using it should itself be
/// compiled with AVX2 enabled, or the intrinsics are calls.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _detected: (),
}

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// The classifier, if this CPU has AVX2, BMI1 and BMI2 (the scan's AVX2 build
    /// uses all three).
    pub fn detect() -> Option<Avx2> {
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("bmi1")
            && std::arch::is_x86_feature_detected!("bmi2");
        has.then_some(Avx2 { _detected: () })
    }
}

#[cfg(target_arch = "x86_64")]
impl Classify for Avx2 {
    #[inline(always)]
    fn masks(&self, block: &[u8; 64]) -> (u64, u64, u64) {
        use std::arch::x86_64::*;
        let (mut nl, mut sep, mut nul) = (0u64, 0u64, 0u64);
        for k in 0..2 {
            // SAFETY: an `Avx2` exists only on a CPU with AVX2 (`Avx2::detect`); the
            // unaligned load reads `block[32 * k..32 * k + 32]`, inside the block.
            let (n, s, z) = unsafe {
                let v = _mm256_loadu_si256(block.as_ptr().add(32 * k) as *const __m256i);
                let eq = |b: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8));
                let seps = _mm256_or_si256(
                    _mm256_or_si256(eq(b':'), eq(b';')),
                    _mm256_or_si256(eq(b'|'), eq(b'\t')),
                );
                (
                    _mm256_movemask_epi8(eq(b'\n')) as u32,
                    _mm256_movemask_epi8(seps) as u32,
                    _mm256_movemask_epi8(eq(0)) as u32,
                )
            };
            nl |= u64::from(n) << (32 * k);
            sep |= u64::from(s) << (32 * k);
            nul |= u64::from(z) << (32 * k);
        }
        (nl, sep, nul)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::swar::first_sep;

    #[test]
    fn line_debug_never_shows_the_bytes() {
        let line = Lines::new(b"alice@x.io:hunter2secret\n").next().unwrap();
        let shown = format!("{line:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("104"),
            "{shown}"
        );
        assert_eq!(shown, "Line { len: 24, sep: Some(10), nul: false }");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// `Lines` agrees with a plain split on any bytes, with lines short and long
            /// (across any number of 64-byte blocks).
            #[test]
            fn lines_match_a_plain_split(hay in prop_oneof![
                proptest::collection::vec(
                    prop_oneof![Just(b'\n'), Just(b':'), Just(b'\t'), Just(0u8), any::<u8>()],
                    0..300,
                ),
                proptest::collection::vec(
                    prop_oneof![1 => Just(b'\n'), 1 => Just(b'|'), 40 => any::<u8>()],
                    0..600,
                ),
            ]) {
                let mut want: Vec<&[u8]> = hay.split(|&b| b == b'\n').collect();
                if hay.is_empty() || hay.ends_with(b"\n") {
                    want.pop();
                }
                let want: Vec<Line<'_>> = want
                    .into_iter()
                    .map(|l| Line { bytes: l, sep: first_sep(l), nul: l.contains(&0) })
                    .collect();
                let got: Vec<Line<'_>> = Lines::new(&hay).collect();
                prop_assert_eq!(&got, &want);
                #[cfg(target_arch = "x86_64")]
                if let Some(avx2) = Avx2::detect() {
                    let got: Vec<Line<'_>> = Lines::with(avx2, &hay).collect();
                    prop_assert_eq!(got, want);
                }
            }
        }
    }
}
