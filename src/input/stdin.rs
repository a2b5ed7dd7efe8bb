//! Standard input (`-`): streamed, read last.

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::decode::{decoder, Compression};
use super::{Counted, DumpFile, Input, Shape};

/// Standard input.
#[derive(Debug)]
pub struct StdinInput;

/// The dump file `-`: line-based, uncompressed.
pub fn dump_file() -> DumpFile {
    DumpFile {
        display: "-".to_string(),
        shape: Shape::Lines,
        input: Arc::new(StdinInput),
    }
}

impl Input for StdinInput {
    fn stream(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: &mut dyn FnMut(&mut dyn Read),
    ) -> io::Result<()> {
        let raw = Counted::new(io::stdin().lock(), counter);
        f(&mut decoder(raw, Compression::None)?);
        Ok(())
    }

    fn on_disk(&self) -> Option<&Path> {
        None
    }
}
