//! leakmatch: find registered customers whose working password appears in a dump.
//!
//! Big sites watch paste sites and combolists for their own customers. When a dump
//! holds a customer's login *with the password that still works*, the account gets a
//! forced reset. The site only has password hashes, so matching means: find the dump's
//! logins among the customers, then verify the leaked password against that
//! customer's stored hash.
//!
//! The library is the pipeline, one module per stage:
//!
//! | stage | module |
//! |---|---|
//! | login normalisation | [`login`] |
//! | customers file → index | [`customers`], [`index`], on disk: [`lmx`] |
//! | dump sources (mmap, stream, stdin, gzip/zstd/bzip2/xz, zip) | [`source`] |
//! | incremental runs (`--state`) | [`state`] |
//! | line parsing | [`parse`] |
//! | the parallel scan | [`scan`], its findings: [`candidates`] |
//! | password verification | [`verify`] (schemes), [`check`] (budget, parallel) |
//! | reports and statistics | [`report`], [`stats`] |
//! | a whole run | [`job`] |
//! | memory: mapped files' pages given back, huge pages for big buffers | [`mapped`], [`mem`] |
//!
//! ```
//! use leakmatch::{customers, scan, check, source, report};
//! use std::path::Path;
//!
//! // sha1("hunter2")
//! let csv = "account_id,login,password_hash\n\
//!            42,Alice@Example.com,f3bbbd66a63d4bf1747940578ec3d0103530e21d\n";
//! let index = customers::load_from(Path::new("customers.csv"), csv.as_bytes()).unwrap();
//!
//! let dir = tempfile::tempdir().unwrap();
//! let dump = dir.path().join("dump.txt");
//! std::fs::write(&dump, "bob@example.com:x\nalice@example.com:hunter2\n").unwrap();
//!
//! let (files, _errors) = source::discover(&[dump]);
//! let scanned = scan::scan(&files, index.view(), &scan::ScanOptions::default());
//! let checked = check::check(index.view(), &scanned.candidates, check::CheckOptions::default());
//! let resets = report::reset_records(&scanned.files, &checked.findings);
//! let first = resets.iter().next().unwrap();
//! assert_eq!(first.account_id, "42");
//! assert_eq!(first.first_seen.line, 2);
//! ```

#![deny(missing_docs)]

pub mod candidates;
pub mod check;
pub mod customers;
pub mod index;
pub mod job;
pub mod lmx;
pub mod login;
pub mod mapped;
pub mod mem;
pub mod parse;
pub mod report;
pub mod scan;
pub mod source;
pub mod state;
pub mod stats;
pub mod verify;
