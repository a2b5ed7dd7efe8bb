//! leakmatch: find registered customers whose working password appears in a dump.
//!
//! Big sites watch paste sites and combolists for their own customers. When a dump
//! holds a customer's login *with the password that still works*, the account gets a
//! forced reset. The site only has password hashes, so matching means: find the dump's
//! logins among the customers, then verify the leaked password against that
//! customer's stored hash.
//!
//! The library is the pipeline, one module per stage, each depending only on the
//! stages before it (a test keeps the module graph free of cycles):
//!
//! | stage | module |
//! |---|---|
//! | login normalisation | [`login`] |
//! | password hash schemes | [`verify`] |
//! | customers: reading and checking rows | [`customers`] |
//! | the customer index, built in bounded memory, in memory or on disk (`.lmx`) | [`index`], [`spill`] |
//! | how a scan gets its customers (prebuilt index, or built from either side) | [`plan`] |
//! | dump inputs (mmap, stream, stdin, gzip/zstd/bzip2/xz, zip, tar, nested archives) | [`input`] |
//! | line parsing, one file per dump shape | [`parse`] |
//! | the parallel scan | [`scan`], its findings: [`candidates`] |
//! | the same password, repaired from a dump's damage (`$HEX[]`, Windows-1252, ...) | [`recover`] |
//! | variants of a leaked password users reuse (`--tweaks`) | [`tweak`] |
//! | confirming candidates (login, then password, under a budget) | [`confirm`] |
//! | reports and statistics | [`report`], [`stats`] |
//! | incremental runs (`--state`) | [`state`] |
//! | a whole run | [`job`] |
//!
//! Shared by the stages: [`mem`] (huge pages, giving mapped pages back, prefetch),
//! [`shrink`] (surviving a mapped file truncated under us), [`chunk`] (line-aligned
//! chunks), [`atomic`] (all-or-nothing output files) and [`control`] (progress and
//! cancellation).
//!
//! ```
//! use leakmatch::customers::CsvFile;
//! use leakmatch::index::{build, BuildOptions, Target};
//! use leakmatch::{confirm, input, report, scan};
//!
//! let dir = tempfile::tempdir().unwrap();
//! // sha1("hunter2")
//! let customers = dir.path().join("customers.csv");
//! std::fs::write(&customers, "account_id,login,password_hash\n\
//!     42,Alice@Example.com,f3bbbd66a63d4bf1747940578ec3d0103530e21d\n").unwrap();
//! let source = CsvFile::new(&customers);
//! let (index, _) = build(&source, &BuildOptions::default(), None, Target::Memory, &|| false).unwrap();
//!
//! let dump = dir.path().join("dump.txt");
//! std::fs::write(&dump, "bob@example.com:x\nalice@example.com:hunter2\n").unwrap();
//!
//! let (files, _errors) = input::discover(&[dump]);
//! let scanned = scan::scan(&files, index.view(), &scan::ScanOptions::default());
//! let confirmed = confirm::confirm(index.view(), &scanned.candidates, &confirm::Budget::default());
//! let resets = report::reset_records(&scanned.files, &confirmed.findings);
//! let first = resets.iter().next().unwrap();
//! assert_eq!(first.account_id, "42");
//! assert_eq!(first.first_seen.line, 2);
//! ```

#![deny(missing_docs)]

pub mod atomic;
pub mod candidates;
pub mod chunk;
pub mod confirm;
pub mod control;
pub mod customers;
#[doc(hidden)]
pub mod fuzzing;
pub mod index;
pub mod input;
pub mod job;
pub mod login;
pub mod mem;
pub mod parse;
pub mod plan;
pub mod recover;
pub mod report;
pub mod scan;
pub mod shrink;
pub mod sort;
pub mod spill;
pub mod state;
pub mod stats;
pub mod tweak;
pub mod verify;
