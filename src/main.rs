//! The `leakmatch` binary: parse flags, run the engine, report, set the exit status.
//!
//! Exit statuses are in [`exit`]: 0 done; 1 done, but some input could not be read
//! (each named on stderr); 2 nothing trustworthy produced (bad arguments, bad
//! customers file or index, unwritable output), with a one-line reason; 128 + N
//! stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), with no output
//! written.

mod cli;
mod exit;
mod help;
mod progress;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use leakmatch::control::RunControl;
use leakmatch::input::printable;
use leakmatch::job::{self, JobError};

use cli::{AckArgs, Cli, Command, IndexArgs, ScanArgs};
use exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Scan(args) => scan(args),
        Command::Index(args) => index(args),
        Command::Ack(args) => ack(args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "leakmatch", &mut out);
            print_quietly(&out).context("cannot write the completion script")
        }
        Command::Man => {
            let mut out = Vec::new();
            help::render_man(&mut out, Cli::command())
                .and_then(|()| print_quietly(&out))
                .context("cannot write the man page")
        }
    };
    match result {
        Ok(exit) => exit.into(),
        Err(err) => {
            // Names inside an error may come from the dumps (a walked file).
            eprintln!("leakmatch: {}", printable(&format!("{err:#}")));
            Exit::Failed.into()
        }
    }
}

/// Writes `bytes` to stdout; a reader that closed the pipe early is not an error.
fn print_quietly(bytes: &[u8]) -> io::Result<Exit> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(Exit::Done),
    }
}

/// Sizes the worker pool when `-j` says.
fn set_threads(threads: Option<u32>) -> anyhow::Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .context("cannot start the thread pool")?;
    }
    Ok(())
}

fn scan(args: &ScanArgs) -> anyhow::Result<Exit> {
    set_threads(args.threads)?;
    let control = on_signals();
    let job = args.to_job(Arc::clone(&control));
    if args.list {
        return list(&job, &control, args.quiet);
    }
    let bar = (!args.quiet && !args.no_progress && io::stderr().is_terminal())
        .then(|| progress::Bar::start(Arc::clone(&control)));
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = job::run_scan(&job, &mut out);
    if let Some(bar) = bar {
        bar.finish();
    }
    let outcome = match result {
        Ok(o) => o,
        Err(JobError::Interrupted) => return Ok(stopped(&control, "no output was written")),
        // A closed pipe (`leakmatch scan ... | head`) is the reader's choice, not an
        // error.
        Err(JobError::Stdout(e)) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Exit::Done),
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = out.flush() {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(Exit::Done);
        }
        return Err(e).context("cannot write to standard output");
    }
    for e in &outcome.input_errors {
        eprintln!("leakmatch: cannot read {e}");
    }
    for at in &outcome.loops {
        eprintln!(
            "leakmatch: note: {}: a link back to a directory already walked (a loop), not walked again",
            printable(at)
        );
    }
    if let Some(csv) = &args.customers {
        name_set_aside(csv, &outcome.set_aside);
    }
    if outcome.summary.customers == 0 {
        eprintln!("leakmatch: warning: no customers (the customers file has a header and no rows?): nothing can match");
    }
    if !args.quiet {
        eprint!("{}", outcome.summary.render_text());
    }
    Ok(if outcome.incomplete() {
        Exit::InputErrors
    } else {
        Exit::Done
    })
}

/// `scan --list`: one TAB-separated line per input on stdout, a count on stderr.
fn list(job: &job::ScanJob, control: &RunControl, quiet: bool) -> anyhow::Result<Exit> {
    let listing = match job::list_inputs(job) {
        Err(JobError::Interrupted) => return Ok(stopped(control, "nothing was listed")),
        other => other?,
    };
    let mut text = String::new();
    for e in &listing.entries {
        let (file, why) = (printable(&e.file), printable(&e.why));
        text.push_str(&format!("{}\t{file}\t{why}\n", e.action.name()));
    }
    let exit = print_quietly(text.as_bytes()).context("cannot write to standard output")?;
    if !quiet {
        use job::list::Action;
        let n = |a| listing.count(a);
        eprintln!(
            "leakmatch: would scan {} of {} inputs ({} skipped, {} unsupported, {} unreadable)",
            listing.scanned(),
            listing.entries.len(),
            n(Action::Skip),
            n(Action::Unsupported),
            n(Action::Error),
        );
    }
    Ok(match listing.problems() {
        0 => exit,
        _ if listing.scanned() == 0 && listing.count(job::list::Action::Skip) == 0 => Exit::Failed,
        _ => Exit::InputErrors,
    })
}

fn ack(args: &AckArgs) -> anyhow::Result<Exit> {
    let acked = job::run_ack(&args.state, args.run, args.wait)?;
    eprintln!(
        "leakmatch: run {} acknowledged: {} resets delivered, {} still pending",
        args.run, acked.delivered, acked.pending
    );
    Ok(Exit::Done)
}

/// The run's control, and a handler for SIGINT (Ctrl-C), SIGTERM (how service
/// managers stop a job) and SIGHUP that asks it to stop: every phase then returns
/// within a moment without writing anything (staged output files are removed), and
/// we exit 128 + the signal. A second signal (say, while blocked reading a quiet
/// stdin) exits at once: targets are still never partly written (spill files are
/// unlinked from the start; a staged output file may stay behind).
fn on_signals() -> Arc<RunControl> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let control = Arc::new(RunControl::default());
    let handler = Arc::clone(&control);
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            for signal in signals.forever() {
                if handler.request_stop(signal) {
                    eprintln!("leakmatch: stopped by {}", signal_name(signal));
                    std::process::exit(Exit::Signal(signal).code().into());
                }
            }
        });
    }
    control
}

/// The exit of a run a signal stopped, said on stderr.
fn stopped(control: &RunControl, what: &str) -> Exit {
    let signal = control.signal().unwrap_or(signal_hook::consts::SIGINT);
    eprintln!("leakmatch: stopped by {}; {what}", signal_name(signal));
    Exit::Signal(signal)
}

fn signal_name(signal: i32) -> &'static str {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    match signal {
        SIGINT => "SIGINT (interrupted)",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

fn index(args: &IndexArgs) -> anyhow::Result<Exit> {
    set_threads(args.threads)?;
    let started = std::time::Instant::now();
    let control = on_signals();
    let opts = args.build.options(Some(&args.output));
    let report = match job::build_index(&args.customers, &args.output, &opts, Some(&control)) {
        Err(JobError::Interrupted) => return Ok(stopped(&control, "no index was written")),
        r => r?,
    };
    name_set_aside(&args.customers, &report.set_aside);
    if !args.quiet {
        let csv = std::fs::metadata(&args.customers).map_or(0, |m| m.len());
        let per = |bytes: u64| bytes as f64 / report.rows.max(1) as f64;
        eprintln!(
            "leakmatch: indexed {} customers ({} distinct logins) into {} in {:.3} s",
            report.rows,
            report.groups,
            args.output.display(),
            started.elapsed().as_secs_f64()
        );
        eprintln!(
            "  index {} bytes, {:.1} bytes a customer (the CSV: {:.1}); spilled {} bytes",
            report.index_bytes,
            per(report.index_bytes),
            per(csv),
            report.spilled
        );
        eprintln!(
            "  time                   read and check {:.3} s, sort and write {:.3} s",
            report.read_seconds, report.write_seconds
        );
    }
    Ok(if report.set_aside.count > 0 {
        Exit::InputErrors
    } else {
        Exit::Done
    })
}

/// Names the customer rows set aside for their hash's cost, by line (never by
/// hash), the first few of them.
fn name_set_aside(customers: &std::path::Path, set_aside: &leakmatch::index::SetAside) {
    for (line, over) in &set_aside.first {
        eprintln!(
            "leakmatch: {}:{line}: {over}; this customer is set aside, never checked",
            customers.display()
        );
    }
    let more = set_aside.count.saturating_sub(set_aside.first.len() as u64);
    if more > 0 {
        eprintln!("leakmatch: ... and {more} more customer rows set aside");
    }
}
