//! The reference that the long `--help` of `scan` and the man page share: input
//! shapes, the customers file, hash schemes (from the engine's scheme table, so the
//! list cannot drift), exit statuses (from [`crate::exit`]) and examples; and the
//! man page itself, rendered from the clap definitions (`crate::cli`) plus these
//! sections.

use std::io::{self, Write};

use leakmatch::verify::SCHEMES;

/// One reference section: a title and preformatted lines (at most 80 columns).
pub struct Section {
    /// `INPUT SHAPES`, `EXIT STATUS`, ...
    pub title: &'static str,
    /// The lines, indented by the renderer.
    pub body: String,
}

const INPUTS: &str = "\
Dump lines; shapes mix freely within a file; bytes, no encoding required:
  login:password     SEP is the first of : ; | TAB on the line; the password
                     is everything after it (a@b.c:pa:ss gives pa:ss)
  URL:login:password stealer-log lines: scheme://host[:port][/path]:login:pw
  URL: / Username: / Password: lines (any case; Host:, USER:, Login:, PASS:)
                     stealer-log blocks, up to a blank line or a ==== rule;
                     --url-filter HOST keeps those saved for HOST
  JSON lines         login under email, login, username, user or mail;
                     password under password, pass, passwd or pwd
  FILE.csv           a header names the same columns; RFC 4180 quoting
Compressed: .gz .zst .bz2 .xz, then read by the inner name (x.csv.gz is CSV).
Archives: .zip; .tar .tar.gz/.tgz .tar.zst .tar.xz .tar.bz2; archives inside
archives to 4 levels, named outer.tgz!dir/inner.zip!file.txt in reports.
7z, RAR, CAB and compressed data its name does not announce are named on stderr,
counted and not scanned (exit 1). Directories are walked recursively, in sorted
order; symbolic links under them are followed only with -L; a file reached by
two names is read once; `-` is standard input. Other lines are skipped and
counted by reason (--stats).";

const CUSTOMERS: &str = "\
--customers FILE: a CSV file with a header naming account_id, login and
password_hash (any order; other columns ignored; RFC 4180 quoting). A bad row
stops the run (exit 2) with one line naming the file, the line and what is
wrong, never the hash. --index FILE.lmx: the same customers, indexed once by
`leakmatch index` and memory-mapped. Logins are compared trimmed and
case-insensitively on both sides.";

const REASONS: &str = "\
password_match    a leaked password verifies (`via` names a repair it needed):
                  the account is exposed; force a reset
password_variant  with --tweaks, a small change of a leaked password verifies
                  (`variant` names the rules): step up (notify, second factor,
                  reset at next login)";

const EXAMPLES: &str = "\
Scan a directory of dumps; the reset list goes to stdout as NDJSON:
  leakmatch scan --customers customers.csv dumps/
Index the customers once, then scan against the index:
  leakmatch index --customers customers.csv -o customers.lmx
  leakmatch scan --index customers.lmx --format csv -o resets.csv \\
      --stats stats.json --review review.ndjson inbox/
Every night: only new files are read; resets stay pending until acknowledged:
  leakmatch scan --index customers.lmx --state /var/lib/leakmatch \\
      -o resets.ndjson --stats stats.json inbox/
  force-resets < resets.ndjson && \\
      leakmatch ack --state /var/lib/leakmatch \"$(jq .run stats.json)\"
What would tonight's run read, and why not the rest?
  leakmatch scan --list --index customers.lmx --state /var/lib/leakmatch inbox/";

/// The reference sections, in the order both renderings give them.
pub fn sections() -> Vec<Section> {
    let mut schemes = String::from(
        "A password_hash value is recognised by its form; slow schemes are checked\n\
         under --max-checks and --hash-limit. The `scheme` field of a reset names it.\n\
         A leaked password that does not verify is tried repaired: $HEX[...] decoded,\n\
         Latin-1/Windows-1252 bytes as UTF-8, mojibake undone, trailing blanks\n\
         trimmed (`via` in the reset list names the repair).\n",
    );
    for s in SCHEMES {
        let speed = if s.slow { "slow" } else { "fast" };
        schemes.push_str(&format!("  {:<22}{speed}  {}\n", s.name, s.syntax));
    }
    let mut exits = String::new();
    for (status, meaning) in crate::exit::MEANINGS {
        exits.push_str(&format!("  {status:<6}"));
        exits.push_str(&wrap(meaning, 72).join("\n        "));
        exits.push('\n');
    }
    vec![
        Section {
            title: "INPUT SHAPES",
            body: INPUTS.to_string(),
        },
        Section {
            title: "CUSTOMERS",
            body: CUSTOMERS.to_string(),
        },
        Section {
            title: "HASH SCHEMES",
            body: schemes.trim_end().to_string(),
        },
        Section {
            title: "REASONS",
            body: REASONS.to_string(),
        },
        Section {
            title: "EXIT STATUS",
            body: exits.trim_end().to_string(),
        },
        Section {
            title: "EXAMPLES",
            body: EXAMPLES.to_string(),
        },
    ]
}

/// Words of `text` in lines of at most `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// What `leakmatch scan --help` adds after the flags.
pub fn scan_long_help() -> String {
    let mut out = String::new();
    for s in sections() {
        out.push_str(&format!("{}:\n", s.title));
        for line in s.body.lines() {
            out.push_str(&format!("  {line}\n"));
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// `text` escaped for roff: backslashes, and a leading `.` or `'` that would
/// read as a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Renders the man page: the top-level page (name, synopsis, description), the
/// commands, one section per command with its synopsis and every flag, all from
/// the clap definitions; then the reference [`sections`]. Commands are sections
/// of this one page (there are no `leakmatch-scan(1)` pages to point to).
pub fn render_man(w: &mut dyn Write, cmd: clap::Command) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    let commands: Vec<_> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    writeln!(w, ".SH COMMANDS")?;
    for sub in &commands {
        writeln!(w, ".TP\n\\fBleakmatch {}\\fR", sub.get_name())?;
        if let Some(about) = sub.get_about() {
            writeln!(w, "{}", roff(&about.to_string()))?;
        }
        writeln!(
            w,
            "(section LEAKMATCH {} below)",
            sub.get_name().to_uppercase()
        )?;
    }
    for sub in &commands {
        writeln!(w, ".SH \"LEAKMATCH {}\"", sub.get_name().to_uppercase())?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            for para in about.to_string().split("\n\n") {
                writeln!(w, ".PP\n{}", roff(&para.replace('\n', " ")))?;
            }
        }
        let mut body = Vec::new();
        let page = clap_mangen::Man::new(
            (*sub)
                .clone()
                .bin_name(format!("leakmatch {}", sub.get_name())),
        );
        page.render_synopsis_section(&mut body)?;
        page.render_options_section(&mut body)?;
        // The command's own sections become subsections of its section here.
        for line in String::from_utf8_lossy(&body).lines() {
            match line.strip_prefix(".SH ") {
                Some(title) => writeln!(w, ".SS {title}")?,
                None => writeln!(w, "{line}")?,
            }
        }
    }
    for s in sections() {
        writeln!(w, ".SH \"{}\"\n.nf", s.title)?;
        for line in s.body.lines() {
            writeln!(w, "{}", roff(line))?;
        }
        writeln!(w, ".fi")?;
    }
    man.render_version_section(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_and_exit_status_is_in_the_reference() {
        let text = scan_long_help();
        for s in SCHEMES {
            assert!(text.contains(s.name), "{} missing", s.name);
        }
        for (status, _) in crate::exit::MEANINGS {
            assert!(text.contains(&format!("  {status} ")), "{status} missing");
        }
        for line in text.lines() {
            assert!(line.chars().count() <= 82, "too wide: {line}");
        }
    }

    #[test]
    fn roff_escapes_requests_and_backslashes() {
        assert_eq!(roff(".x"), "\\&.x");
        assert_eq!(roff("a\\b-c"), "a\\eb\\-c");
    }
}
