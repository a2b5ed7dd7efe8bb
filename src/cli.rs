//! Command-line flags (clap derive) and their translation into engine types.
//!
//! Owns the contract of the command line: flag names, defaults, help text. The engine
//! never sees these types: [`ScanArgs::to_job`] turns them into a
//! [`leakmatch::job::ScanJob`].

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use leakmatch::confirm::{Budget, DEFAULT_MAX_CHECKS};
use leakmatch::control::RunControl;
use leakmatch::index::BuildOptions;
use leakmatch::job::ScanJob;
use leakmatch::parse::url::UrlFilter;
use leakmatch::plan::{Customers, Join, PlanOptions};
use leakmatch::report::OutputFormat;
use leakmatch::scan::ScanOptions;
use leakmatch::verify::limits::CostLimits;

/// Find registered customers whose working password appears in credential dumps.
#[derive(Debug, Parser)]
#[command(
    name = "leakmatch",
    version,
    about,
    long_about = None,
    after_help = "Input shapes, hash schemes, exit status and examples: leakmatch scan --help; \
                  everything in one page: leakmatch man | man -l -"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan dumps and list the accounts that need a forced password reset.
    #[command(
        after_help = "Input shapes, hash schemes, exit status and examples: leakmatch scan --help",
        after_long_help = crate::help::scan_long_help()
    )]
    Scan(ScanArgs),
    /// Build a memory-mappable customer index (.lmx) from a customers CSV.
    Index(IndexArgs),
    /// Acknowledge a `--state` run's reset list as delivered: its resets are no
    /// longer reported again.
    ///
    /// A scan with `--state DIR` numbers its run (in the summary and `--stats`
    /// as `run`) and keeps every reset it listed pending in DIR: each later run
    /// lists them again (`pending_since`) until `leakmatch ack --state DIR RUN`
    /// says the list of run RUN was acted on. Acknowledging run RUN also
    /// acknowledges the runs before it (its list held their pending resets);
    /// acknowledging twice is harmless.
    Ack(AckArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these same definitions.
    Man,
}

/// `leakmatch ack`.
#[derive(Debug, Args)]
pub struct AckArgs {
    /// The state directory the scan used.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,

    /// If a run holds the state directory, wait for it instead of failing.
    #[arg(long)]
    pub wait: bool,

    /// The run whose reset list was delivered (`run` in the scan's `--stats`).
    #[arg(value_name = "RUN")]
    pub run: u64,
}

/// `leakmatch scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Customers CSV (columns account_id, login, password_hash).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "index",
        conflicts_with = "index"
    )]
    pub customers: Option<PathBuf>,

    /// Customer index built by `leakmatch index` (instead of --customers).
    #[arg(long, value_name = "FILE.lmx")]
    pub index: Option<PathBuf>,

    /// Output format of the reset list.
    #[arg(long, value_enum, default_value_t = OutputFormat::Ndjson)]
    pub format: OutputFormat,

    /// Write the reset list to FILE instead of standard output (`-`). A regular
    /// file (or a symlink's target) is replaced atomically; a device or FIFO is
    /// written in place. Every output path is checked before the run starts.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the run's statistics to FILE as one JSON object (`-`: standard
    /// output, with -o naming a file).
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,

    /// Write accounts whose candidates were not all checked to FILE (NDJSON).
    #[arg(long, value_name = "FILE")]
    pub review: Option<PathBuf>,

    /// Distinct candidate passwords verified per account for slow schemes
    /// (bcrypt, argon2, PBKDF2, sha-crypt).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CHECKS as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_checks: u32,

    /// For an account whose login is in a dump but none of whose leaked passwords
    /// verify, also try the small changes users make when they reuse a password
    /// (first letter's case, a trailing symbol, number or year, leet, and pairs of
    /// these). A variant that verifies is listed with reason `password_variant`
    /// and the rules in `variant`. Fast schemes try every variant; slow ones the
    /// most likely first, within --max-checks.
    #[arg(long)]
    pub tweaks: bool,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,

    /// Print only errors on stderr (no summary, no progress bar).
    #[arg(short, long)]
    pub quiet: bool,

    /// No progress bar (it is only ever drawn when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Remember scanned dump files in DIR and skip those already scanned against
    /// the same customers on later runs.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// With --state: scan every file again (the state is still updated).
    #[arg(long, requires = "state")]
    pub rescan: bool,

    /// With --state: if another run holds the state directory, wait for it to end
    /// (without it, exit 2 at once naming the other run's pid).
    #[arg(long, requires = "state")]
    pub wait: bool,

    #[command(flatten)]
    pub build: BuildArgs,

    /// With --customers: which side the run's index is built from. `customers`:
    /// the whole customers file; `dumps`: only the customers the dumps' logins
    /// name (the dumps are read twice); `auto`: dumps when they are at most half
    /// the customers file's size and can be read twice, and no --state is kept.
    /// The output is the same either way.
    #[arg(long, value_enum, value_name = "SIDE", default_value_t = Join::Auto)]
    pub join: Join,

    /// Keep only the credentials a stealer log saved for HOST or its subdomains
    /// (repeatable): a `URL:login:password` line's URL, a block's `URL:` or
    /// `Host:`. Others are skipped as `url_filtered`; credentials that name no
    /// URL (combolists, JSON, CSV) are kept.
    #[arg(long = "url-filter", value_name = "HOST")]
    pub url_filter: Vec<String>,

    /// Follow symbolic links found while walking directories (a path named here
    /// is always followed). Without it they are passed over, as rg and fd do.
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Print what the scan would read, and what it would pass over and why, one
    /// input per line (`scan`, `skip`, `unsupported` or `error`, the name, the
    /// reason; TAB-separated), without scanning or writing anything. With
    /// --state, files scanned before are `skip` (the customers are loaded to know
    /// that: instant with --index).
    #[arg(long, conflicts_with_all = ["output", "stats", "review"])]
    pub list: bool,

    /// Dump files or directories (walked recursively); `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Memory and temporary files of an index build.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Memory an index build may hold, e.g. 512M or 4G (default: a quarter of RAM,
    /// at most 2G). Beyond it the build spills to temporary files; peak memory is
    /// set by this, not by the number of customers.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<u64>,

    /// Directory for the build's temporary files (default: next to the index for
    /// `index`, the system's temporary directory for `scan`). They are unlinked as
    /// they are created: nothing is left behind, however the run ends.
    #[arg(long, value_name = "DIR")]
    pub tmp_dir: Option<PathBuf>,

    /// Raise (or lower) the most one check of a slow hash may cost; repeatable.
    /// KEY is bcrypt-cost (default 15), pbkdf2-iterations (5000000),
    /// sha-crypt-rounds (1000000), argon2-memory-kib (1048576), argon2-time (16)
    /// or argon2-lanes (16). A customer whose hash asks for more is set aside,
    /// named by line, and never checked; the run exits 1.
    #[arg(long = "hash-limit", value_name = "KEY=N", value_parser = parse_hash_limit)]
    pub hash_limits: Vec<String>,
}

/// Checks one `--hash-limit KEY=N`.
fn parse_hash_limit(s: &str) -> Result<String, String> {
    CostLimits::default().set(s).map(|()| s.to_string())
}

impl BuildArgs {
    /// The build options, temporary files next to `near` unless `--tmp-dir` says.
    pub fn options(&self, near: Option<&std::path::Path>) -> BuildOptions {
        let default = BuildOptions::default();
        let dir = near.and_then(|p| p.parent()).map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d.to_path_buf()
            }
        });
        let mut limits = CostLimits::default();
        for spec in &self.hash_limits {
            // Checked by clap already (`parse_hash_limit`).
            let _ = limits.set(spec);
        }
        BuildOptions {
            memory: self.memory.map_or(default.memory, |m| m as usize),
            tmp_dir: self.tmp_dir.clone().or(dir).unwrap_or(default.tmp_dir),
            limits,
            ..default
        }
    }
}

/// A size with an optional binary suffix: `4096`, `512K`, `64M`, `2G`, `1.5G`, `1T`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => return Err(format!("unknown size suffix {c:?} (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 512M, 2G)"))?;
    let bytes = n * mult as f64;
    if !(bytes.is_finite() && bytes >= (1 << 20) as f64) {
        return Err(format!("{s:?}: the smallest memory budget is 1M"));
    }
    Ok(bytes as u64)
}

/// `leakmatch index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Customers CSV (columns account_id, login, password_hash).
    #[arg(long, value_name = "FILE")]
    pub customers: PathBuf,

    /// Index file to write (atomically).
    #[arg(short = 'o', long, value_name = "FILE.lmx")]
    pub output: PathBuf,

    #[command(flatten)]
    pub build: BuildArgs,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

impl ScanArgs {
    /// The engine's view of these flags; `control` is shared with the progress bar
    /// and the Ctrl-C handler.
    pub fn to_job(&self, control: Arc<RunControl>) -> ScanJob {
        let customers = match (&self.customers, &self.index) {
            (_, Some(index)) => Customers::Index(index.clone()),
            (Some(csv), None) => Customers::Csv(csv.clone()),
            (None, None) => unreachable!("clap requires --customers or --index"),
        };
        let build = self.build.options(None);
        ScanJob {
            customers,
            budget: Budget {
                max_checks: self.max_checks as usize,
                limits: build.limits,
                control: Some(Arc::clone(&control)),
                tweaks: self.tweaks,
            },
            plan: PlanOptions {
                join: self.join,
                build,
                incremental: self.state.is_some(),
            },
            inputs: self.paths.clone(),
            follow: self.follow,
            format: self.format,
            // `-o -` is standard output, as without -o.
            output: self.output.clone().filter(|p| p.as_os_str() != "-"),
            stats: self.stats.clone(),
            review: self.review.clone(),
            scan: ScanOptions {
                control: Some(control),
                url_filter: (!self.url_filter.is_empty())
                    .then(|| Arc::new(UrlFilter::new(self.url_filter.iter().map(String::as_str)))),
                ..ScanOptions::default()
            },
            state: self.state.clone(),
            rescan: self.rescan,
            wait: self.wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("1K").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("2X").is_err());
    }
}
