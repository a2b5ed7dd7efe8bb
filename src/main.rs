//! The `leakmatch` binary: parse flags, run the engine, report, set the exit status.
//!
//! Exit status: 0 done; 1 done, but some input could not be read (each named on
//! stderr); 2 nothing trustworthy produced (bad arguments, bad customers file or
//! index, unwritable output), with a one-line reason.

mod cli;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use leakmatch::job::{self, JobError};

use cli::{Cli, Command, IndexArgs, ScanArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Scan(args) => scan(args),
        Command::Index(args) => index(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("leakmatch: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn scan(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .context("cannot start the thread pool")?;
    }
    let job = args.to_job();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let outcome = match job::run_scan(&job, &mut out) {
        Ok(o) => o,
        // A closed pipe (`leakmatch scan ... | head`) is the reader's choice, not an
        // error.
        Err(JobError::Stdout(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS)
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = out.flush() {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e).context("cannot write to standard output");
    }
    for e in &outcome.input_errors {
        eprintln!("leakmatch: cannot read {e}");
    }
    if !args.quiet {
        eprint!("{}", outcome.summary.render_text());
    }
    Ok(if outcome.input_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn index(args: &IndexArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let n = job::build_index(&args.customers, &args.output)?;
    if !args.quiet {
        eprintln!(
            "leakmatch: indexed {n} customers into {} in {:.3} s",
            args.output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
