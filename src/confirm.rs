//! Confirming the scan's candidates: login against the index, password against the
//! stored hash, in parallel and under a budget.
//!
//! Owns confirming the scan's candidate logins against the index's records (the
//! scan reads only its filter and slot table) and deciding which candidates get
//! verified and in what order. Every distinct
//! (account, password) is verified at most once per run. Fast schemes (the SHA-1
//! family, NT) are verified for every candidate. Slow schemes (bcrypt, argon2, PBKDF2,
//! sha-crypt) get at most [`Budget::max_checks`] distinct passwords per account,
//! most-sighted first, then in first-seen order; the first verified match ends that
//! account's checks. An account whose candidates were not all checked and that was not
//! confirmed goes to the review list, never dropped silently. A candidate that does
//! not verify as found is tried next in the forms the dump may have damaged it from
//! ([`crate::recover`]: `$HEX[...]`, Windows-1252, mojibake, trailing blanks), only
//! when their trigger is present; each such check counts against the same budget.
//! Accounts are checked in parallel across all cores with rayon.

use compact_str::CompactString;
use rayon::prelude::*;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::candidates::{Candidate, Candidates, PerLogin, Sighting};
use crate::control::RunControl;
use crate::index::{AccountId, IndexView};
use crate::recover::{self, Via};
use crate::tweak::{self, Tweak};
use crate::verify::limits::CostLimits;
use crate::verify::{self, Scheme};

/// Candidate entries verified between two releases of a mapped index's resident
/// records.
const CONFIRM_BATCH: usize = 16 * 1024;

/// Most bytes of records one batch of [`confirm_by_entry`] may span. Its pages are
/// released behind it, so this bounds what verification keeps mapped: the kernel
/// maps a whole page-cache folio (up to 2 MiB) on each fault, and 20k hits spread
/// over a 100M-customer index's 5.6 GB of records mapped 3.5 GB in one batch.
const CONFIRM_SPAN: AccountId = 64 << 20;

/// Default per-account budget of slow checks (see the README for why 8).
pub const DEFAULT_MAX_CHECKS: usize = 8;

/// Verification settings.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Distinct candidate passwords verified per account for slow schemes.
    pub max_checks: usize,
    /// The most one check may cost: an account whose hash asks for more is listed
    /// for review, unchecked.
    pub limits: CostLimits,
    /// The run's control: a stop request ends verification before the next
    /// account, and between one slow check and the next.
    pub control: Option<Arc<RunControl>>,
    /// `--tweaks`: for an account none of whose candidates verified, try their
    /// variants ([`crate::tweak`]) within the same budget.
    pub tweaks: bool,
}

impl Budget {
    fn stopped(&self) -> bool {
        self.control.as_ref().is_some_and(|c| c.cancelled())
    }

    /// Progress: `n` more of the candidates (or probes) checked.
    fn checked(&self, n: usize) {
        if let Some(c) = &self.control {
            c.verify_done.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// Progress: verification starts on `n` candidates (or probes).
    fn starting(&self, n: usize) {
        if let Some(c) = &self.control {
            c.verify_done.store(0, Ordering::Relaxed);
            c.verify_total.store(n.max(1) as u64, Ordering::Relaxed);
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_checks: DEFAULT_MAX_CHECKS,
            limits: CostLimits::default(),
            control: None,
            tweaks: false,
        }
    }
}

/// What reports say of an account, copied out of the index when it is checked, so
/// that reports never read the index again (at 50M customers, re-reading 180k
/// records cost as many page faults). Strings of up to 24 bytes are held inline:
/// no allocation per finding, and a report reads its ids in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountName {
    /// `account_id`.
    pub id: CompactString,
    /// Login as registered.
    pub login: CompactString,
    /// Scheme of the stored hash.
    pub scheme: Scheme,
}

/// An account whose password was confirmed in the dumps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The account.
    pub account: AccountId,
    /// Its id, login and scheme.
    pub name: AccountName,
    /// Lines whose password verified.
    pub sightings: u64,
    /// The earliest of those lines.
    pub first_seen: Sighting,
    /// The repairs the password of that line needed to verify
    /// ([`crate::recover`]); empty for the exact bytes.
    pub via: Via,
    /// With `--tweaks`, when no leaked password verified but a variant of the one
    /// on that line did: its rules ([`crate::tweak`]).
    pub variant: Option<Tweak>,
}

/// An account left unconfirmed with candidates unchecked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// The account.
    pub account: AccountId,
    /// Its id, login and scheme.
    pub name: AccountName,
    /// Distinct candidate passwords.
    pub candidates: u64,
    /// How many were verified.
    pub checked: u64,
    /// Lines carrying any candidate.
    pub sightings: u64,
    /// Its stored hash costs more to check than the limits allow: nothing was
    /// checked (see [`crate::verify::limits`]).
    pub unverifiable: bool,
    /// Lines of its login whose password was not kept (see
    /// [`crate::candidates::MAX_CANDIDATES_PER_LOGIN`]).
    pub not_kept: u64,
}

/// The result of checking all candidates.
#[derive(Clone, Debug, Default)]
pub struct Confirmed {
    /// Confirmed accounts, in index order.
    pub findings: Vec<Finding>,
    /// Accounts to review, in index order.
    pub reviews: Vec<Review>,
    /// Password verifications performed.
    pub verifications: u64,
    /// Accounts with at least one candidate.
    pub accounts_with_candidates: u64,
    /// Distinct (account, password) candidates.
    pub candidates: u64,
    /// Dump pairs whose login belongs to a customer (confirmed against the index).
    pub login_hits: u64,
    /// Accounts whose index entry could not be read (a damaged index: the run must
    /// not report results).
    pub damaged_accounts: u64,
    /// Dump lines whose password was not kept as a candidate, its login having
    /// too many already.
    pub candidates_not_kept: u64,
}

impl Confirmed {
    fn absorb(&mut self, mut o: Confirmed) {
        self.findings.append(&mut o.findings);
        self.reviews.append(&mut o.reviews);
        self.verifications += o.verifications;
        self.accounts_with_candidates += o.accounts_with_candidates;
        self.candidates += o.candidates;
        self.login_hits += o.login_hits;
        self.damaged_accounts += o.damaged_accounts;
    }
}

/// One candidate login: its candidates (a range of the flat list, most-sighted
/// first) and its hash.
struct LoginCands {
    hash: u64,
    range: std::ops::Range<usize>,
}

/// Confirms each candidate login against the index, then verifies the candidates of
/// every account it names.
///
/// The index's records are in the customers file's order, and hits land at random
/// in them. Records in memory (or a small file) are read as the logins come
/// (`confirm_by_login`); those of a large mapped index, where each random read
/// is a page fault (1.5 s for 400k hits against 100M customers), are read front to
/// back (`confirm_by_entry`). Both give the same outcome (a test holds them to
/// it).
pub fn confirm(index: IndexView<'_>, candidates: &Candidates, opts: &Budget) -> Confirmed {
    let overflow = candidates.overflow();
    let mut out =
        if index.backing.is_some() && index.records.len() >= crate::index::RELEASE_MIN_RECORDS {
            confirm_by_entry(index, candidates, opts, &overflow)
        } else {
            confirm_by_login(index, candidates, opts, &overflow)
        };
    out.candidates_not_kept = overflow.values().sum();
    out
}

/// [`confirm`] for an index whose records are in memory or small: logins taken in
/// hash order, each one's accounts confirmed and verified as it comes.
fn confirm_by_login(
    index: IndexView<'_>,
    candidates: &Candidates,
    opts: &Budget,
    overflow: &PerLogin<u64>,
) -> Confirmed {
    let sorted = candidates.sorted();
    opts.starting(candidates.len());
    // In batches, releasing the records a mapped index faulted in after each one (see
    // `IndexView::release_records`).
    let mut out = Confirmed {
        // Room for a finding per candidate: usually more than enough, never touched
        // beyond what is written.
        findings: crate::mem::with_capacity(candidates.len()),
        ..Confirmed::default()
    };
    for batch in sorted.logins().cut(CONFIRM_BATCH) {
        // Each task's results are kept apart and appended once, in order (a fold and
        // reduce appended them pairwise, copying every finding several times).
        let parts: Vec<Confirmed> = batch
            .cut(256)
            .into_par_iter()
            .map(|logins| {
                let mut acc = Confirmed::default();
                let (mut scratch, mut buf, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
                logins.for_each(&mut buf, |login| {
                    confirm_login(
                        index,
                        login,
                        opts,
                        overflow,
                        &mut scratch,
                        &mut accounts,
                        &mut acc,
                    )
                });
                opts.checked(logins.entries());
                acc
            })
            .collect();
        out.findings
            .reserve(parts.iter().map(|p| p.findings.len()).sum());
        for part in parts {
            out.absorb(part);
        }
    }
    out.findings.par_sort_unstable_by_key(|f| f.account);
    out.reviews.par_sort_unstable_by_key(|r| r.account);
    out
}

/// Looks one login up and checks each of its accounts. A login the index does not
/// hold after all (a fingerprint collision in the scan) is dropped here.
fn confirm_login(
    index: IndexView<'_>,
    cands: &mut [Candidate<'_>],
    opts: &Budget,
    overflow: &PerLogin<u64>,
    scratch: &mut Vec<u8>,
    accounts: &mut Vec<AccountId>,
    out: &mut Confirmed,
) {
    let (hash, login) = (cands[0].hash, cands[0].login);
    // Per login: most-sighted first, then first seen; the password bytes only break
    // exact ties so the order (and the result) is the same on every run.
    cands.sort_unstable_by(|a, b| {
        b.info
            .sightings
            .cmp(&a.info.sightings)
            .then_with(|| a.info.first.cmp(&b.info.first))
            .then_with(|| a.password.cmp(b.password))
    });
    let cands = &*cands;
    index.accounts_of(hash, login, scratch, accounts);
    if accounts.is_empty() {
        return;
    }
    out.login_hits += cands.iter().map(|c| c.info.sightings).sum::<u64>();
    for &account in accounts.iter() {
        out.accounts_with_candidates += 1;
        out.candidates += cands.len() as u64;
        let dropped = not_kept(overflow, hash);
        let (verdict, verifications) = confirm_account(index, account, cands, opts, dropped);
        out.verifications += verifications;
        match verdict {
            Verdict::Found(f) => out.findings.push(f),
            Verdict::Review(r) => out.reviews.push(r),
            Verdict::Clear => {}
            Verdict::Damaged => out.damaged_accounts += 1,
        }
    }
}

/// A login's candidates within a flat list: its hash and their range.
type Span = (u64, std::ops::Range<usize>);

/// `probes` (sorted by entry) cut into batches of at most [`CONFIRM_BATCH`]
/// entries spanning at most [`CONFIRM_SPAN`] bytes of records (a single entry
/// farther away than that makes a batch of its own).
fn span_batches<T>(probes: &[(AccountId, T)]) -> impl Iterator<Item = &[(AccountId, T)]> {
    let mut rest = probes;
    std::iter::from_fn(move || {
        let first = rest.first()?.0;
        let n = rest
            .iter()
            .take(CONFIRM_BATCH)
            .position(|p| p.0 - first > CONFIRM_SPAN)
            .unwrap_or(rest.len().min(CONFIRM_BATCH))
            .max(1);
        let (batch, tail) = rest.split_at(n);
        rest = tail;
        Some(batch)
    })
}

/// [`confirm`] in three steps, for locality: the logins are walked in hash order
/// (the slot table's order) and each fingerprint match on its probe chain becomes
/// an (entry, login) pair; the pairs are sorted by entry, so the records are read
/// front to back; then each entry's login is compared and its candidates verified,
/// in batches whose pages of a mapped index are released behind them.
fn confirm_by_entry(
    index: IndexView<'_>,
    candidates: &Candidates,
    opts: &Budget,
    overflow: &PerLogin<u64>,
) -> Confirmed {
    let sorted = candidates.sorted();
    // 1. Each login's distinct candidates, in the order they will be tried.
    let pieces: Vec<(Vec<Candidate<'_>>, Vec<Span>)> = sorted
        .logins()
        .cut(4096)
        .into_par_iter()
        .map(|logins| {
            let (mut flat, mut spans, mut buf) = (Vec::new(), Vec::new(), Vec::new());
            logins.for_each(&mut buf, |login| {
                // Most-sighted first, then first seen; the password bytes only
                // break exact ties so the order (and the result) is the same on
                // every run.
                login.sort_unstable_by(|a, b| {
                    b.info
                        .sightings
                        .cmp(&a.info.sightings)
                        .then_with(|| a.info.first.cmp(&b.info.first))
                        .then_with(|| a.password.cmp(b.password))
                });
                let start = flat.len();
                flat.extend_from_slice(login);
                spans.push((login[0].hash, start..flat.len()));
            });
            (flat, spans)
        })
        .collect();
    let mut flat: Vec<Candidate<'_>> = Vec::with_capacity(candidates.len());
    let mut logins: Vec<LoginCands> = Vec::new();
    for (part, spans) in pieces {
        let base = flat.len();
        flat.extend(part);
        logins.extend(spans.into_iter().map(|(hash, r)| LoginCands {
            hash,
            range: r.start + base..r.end + base,
        }));
    }
    // 2. The entries each login's fingerprint leads to, sorted by entry.
    let mut probes: Vec<(AccountId, u32)> = logins
        .par_iter()
        .enumerate()
        .fold(Vec::new, |mut v, (i, l)| {
            v.extend(index.candidate_accounts(l.hash).map(|a| (a, i as u32)));
            v
        })
        .reduce(Vec::new, |mut a, mut b| {
            a.append(&mut b);
            a
        });
    probes.par_sort_unstable();
    opts.starting(probes.len());
    // 3. Each entry's login compared, its candidates verified.
    let mut out = Confirmed {
        // Room for a finding per candidate: usually more than enough, never touched
        // beyond what is written.
        findings: crate::mem::with_capacity(candidates.len()),
        ..Confirmed::default()
    };
    let mut confirmed = vec![false; logins.len()];
    let threads = rayon::current_num_threads().max(1);
    for batch in span_batches(&probes) {
        // Small batches (sparse hits) still spread over every thread: a slow
        // scheme's verifications are the cost.
        let per_task = (batch.len() / (4 * threads)).clamp(1, 256);
        let parts: Vec<(Confirmed, Vec<u32>)> = batch
            .par_chunks(per_task)
            .map(|probes| {
                let mut acc = Confirmed::default();
                let mut hits = Vec::new();
                let mut scratch = Vec::new();
                for &(account, l) in probes {
                    let login = &logins[l as usize];
                    let cands = &flat[login.range.clone()];
                    let Some(registered) = index.account_login(account) else {
                        continue;
                    };
                    if crate::login::normalize(registered, &mut scratch) != cands[0].login {
                        continue; // another login sharing the fingerprint
                    }
                    hits.push(l);
                    acc.accounts_with_candidates += 1;
                    acc.candidates += cands.len() as u64;
                    let dropped = not_kept(overflow, cands[0].hash);
                    let (verdict, verifications) =
                        confirm_account(index, account, cands, opts, dropped);
                    acc.verifications += verifications;
                    match verdict {
                        Verdict::Found(f) => acc.findings.push(f),
                        Verdict::Review(r) => acc.reviews.push(r),
                        Verdict::Clear => {}
                        Verdict::Damaged => acc.damaged_accounts += 1,
                    }
                }
                opts.checked(probes.len());
                (acc, hits)
            })
            .collect();
        out.findings
            .reserve(parts.iter().map(|p| p.0.findings.len()).sum());
        for (part, hits) in parts {
            out.absorb(part);
            for l in hits {
                confirmed[l as usize] = true;
            }
        }
        if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
            index.release_records(first.0..last.0);
        }
    }
    // A pair whose login belongs to a customer: counted once, whatever the number
    // of accounts.
    out.login_hits = logins
        .iter()
        .zip(&confirmed)
        .filter(|(_, c)| **c)
        .map(|(l, _)| {
            flat[l.range.clone()]
                .iter()
                .map(|c| c.info.sightings)
                .sum::<u64>()
        })
        .sum();
    // Entries were read in offset order, batch by batch: this makes it exact.
    out.findings.par_sort_unstable_by_key(|f| f.account);
    out.reviews.par_sort_unstable_by_key(|r| r.account);
    out
}

enum Verdict {
    Found(Finding),
    Review(Review),
    Clear,
    /// The account's entry could not be read: the index is damaged.
    Damaged,
}

/// Lines of the login with this hash whose password was not kept.
fn not_kept(overflow: &PerLogin<u64>, hash: u64) -> u64 {
    if overflow.is_empty() {
        0
    } else {
        overflow.get(&hash).copied().unwrap_or(0)
    }
}

/// One account's verifications under its budget.
struct Checks<'a> {
    scheme: Scheme,
    hash: &'a [u8],
    slow: bool,
    /// Verifications allowed.
    budget: usize,
    opts: &'a Budget,
    /// Verifications made.
    made: usize,
    /// A stop request was seen between two slow checks.
    stopped: bool,
}

impl Checks<'_> {
    /// Whether `password` verifies; `None` once the budget is spent or the run
    /// is stopping (every later call says `None` too).
    fn verify(&mut self, password: &[u8]) -> Option<bool> {
        if self.made >= self.budget || self.stopped {
            return None;
        }
        if self.slow && self.opts.stopped() {
            self.stopped = true;
            return None;
        }
        self.made += 1;
        Some(verify::verify(self.scheme, self.hash, password))
    }
}

/// Checks one account's candidates (`dropped`: its login's lines whose password
/// was not kept, which leave it for review unless a kept one verifies).
fn confirm_account(
    index: IndexView<'_>,
    account: AccountId,
    cands: &[Candidate<'_>],
    opts: &Budget,
    dropped: u64,
) -> (Verdict, u64) {
    // An entry the index cannot read (an unknown scheme byte, fields out of bounds,
    // a piece that failed its checksum) is damage, never a quiet "no match".
    // Stopped: the run's results are discarded, so any verdict will do.
    if opts.stopped() {
        return (Verdict::Clear, 0);
    }
    let Some(acct) = index.raw_account(account) else {
        return (Verdict::Damaged, 0);
    };
    let slow = acct.scheme.is_slow();
    let unverifiable = slow && opts.limits.exceeded(acct.scheme, acct.hash).is_some();
    let budget = match (unverifiable, slow) {
        (true, _) => 0,
        (false, true) => opts.max_checks,
        (false, false) => usize::MAX,
    };
    let mut check = Checks {
        scheme: acct.scheme,
        hash: acct.hash,
        slow,
        budget,
        opts,
        made: 0,
        stopped: false,
    };
    // Candidates fully tried.
    let mut checked = 0u64;
    // (sightings, first seen, repairs of the first seen) of the passwords that
    // verified.
    let mut found: Option<(u64, Sighting, Via)> = None;
    // Every distinct password is verified at most once. A repaired form may be
    // another candidate's bytes: its result is kept by candidate (`known`), or,
    // for a form that is no candidate, in `forms_seen`; both only once a repair
    // happens.
    let mut known: Vec<Option<bool>> = Vec::new();
    let mut forms_seen: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut repaired = Vec::new();
    for (i, c) in cands.iter().enumerate() {
        let mut hit = match known.get(i).copied().flatten() {
            Some(ok) => ok.then_some(Via::NONE),
            None => match check.verify(c.password) {
                Some(ok) => ok.then_some(Via::NONE),
                None => break,
            },
        };
        if hit.is_none() {
            // The same password, as the dump may have damaged it: each repair
            // only when its trigger is present (none for a clean password).
            repaired.clear();
            recover::repairs(c.password, &mut repaired);
            for (via, bytes) in &repaired {
                let twin = cands.iter().position(|o| o.password == &bytes[..]);
                let earlier = match twin {
                    // Verified as found already: a slow scheme stops at a match,
                    // so it did not; a fast one is checked again (cheaply) rather
                    // than remember every result.
                    Some(j) if j < i => slow.then_some(false),
                    Some(j) => known.get(j).copied().flatten(),
                    None => forms_seen.iter().find(|f| f.0 == *bytes).map(|f| f.1),
                };
                let ok = match earlier {
                    Some(ok) => ok,
                    None => {
                        let Some(ok) = check.verify(bytes) else {
                            break;
                        };
                        match twin {
                            Some(j) => {
                                known.resize(cands.len(), None);
                                known[j] = Some(ok);
                            }
                            None => forms_seen.push((bytes.clone(), ok)),
                        }
                        ok
                    }
                };
                if ok {
                    hit = Some(*via);
                    break;
                }
            }
        }
        checked += 1;
        if let Some(via) = hit {
            let info = c.info;
            match &mut found {
                None => found = Some((info.sightings, info.first, via)),
                Some(f) => {
                    f.0 += info.sightings;
                    if info.first < f.1 {
                        (f.1, f.2) = (info.first, via);
                    }
                }
            }
            if slow {
                break;
            }
        }
    }
    // Tweaks: only when no leaked password verified, as found or repaired.
    let mut variant = None;
    if found.is_none() && opts.tweaks && !unverifiable && !check.stopped {
        let mut made = Vec::new();
        'candidates: for c in cands {
            made.clear();
            tweak::variants(c.password, &mut made);
            for (t, bytes) in &made {
                // Bytes that are a candidate, or a repair tried above, were
                // verified already, in vain.
                if cands.iter().any(|o| o.password == &bytes[..])
                    || forms_seen.iter().any(|f| f.0 == *bytes)
                {
                    continue;
                }
                match check.verify(bytes) {
                    None => break 'candidates,
                    Some(false) => {}
                    Some(true) => {
                        found = Some((c.info.sightings, c.info.first, Via::NONE));
                        variant = Some(*t);
                        break 'candidates;
                    }
                }
            }
        }
    }
    let verifications = check.made as u64;
    if check.stopped {
        return (Verdict::Clear, verifications);
    }
    if found.is_none() && checked as usize >= cands.len() && dropped == 0 {
        return (Verdict::Clear, verifications);
    }
    // The account is reported (found, or left for review): only now are its id and
    // login checked as text (an index whose checked pieces hold anything else is
    // damaged).
    let Some(text) = acct.text() else {
        return (Verdict::Damaged, verifications);
    };
    let name = AccountName {
        id: text.id.into(),
        login: text.login.into(),
        scheme: text.scheme,
    };
    let verdict = match found {
        Some((sightings, first_seen, via)) => Verdict::Found(Finding {
            account,
            name,
            sightings,
            first_seen,
            via,
            variant,
        }),
        None => Verdict::Review(Review {
            account,
            name,
            candidates: cands.len() as u64 + dropped,
            checked,
            sightings: cands.iter().map(|c| c.info.sightings).sum::<u64>() + dropped,
            unverifiable,
            not_kept: dropped,
        }),
    };
    (verdict, verifications)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_by_count_and_by_records_span() {
        let lens = |probes: &[(AccountId, ())]| -> Vec<usize> {
            span_batches(probes).map(<[_]>::len).collect()
        };
        let span = CONFIRM_SPAN;
        let far: Vec<(AccountId, ())> = [0, 10, span + 11, span + 12, 5 * span]
            .iter()
            .map(|&a| (a, ()))
            .collect();
        assert_eq!(lens(&far), [2, 2, 1]);
        let dense: Vec<(AccountId, ())> = (0..40_000).map(|a| (a, ())).collect();
        assert_eq!(
            lens(&dense),
            [CONFIRM_BATCH, CONFIRM_BATCH, 40_000 - 2 * CONFIRM_BATCH]
        );
        assert!(lens(&[]).is_empty());
    }
    use crate::candidates::Sighting;
    use crate::index::{IndexBuilder, IndexView};
    use crate::login;
    use crate::verify::fast;

    fn sha1_hex(pw: &str) -> String {
        fast::sha1(pw.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_candidate_whose_login_the_index_lacks_is_dropped_uncounted() {
        let mut b = IndexBuilder::new();
        b.add("a1", "alice@x.io", &sha1_hex("pw"));
        let index = b.build().unwrap();
        let (_, alice) = login::normalize_and_hash(b"alice@x.io");
        let seen = Sighting { file: 0, line: 1 };
        assert!(index.view().may_hold(alice).is_some());
        let mut c = Candidates::default();
        // What a fingerprint collision in the scan would record: alice's hash with
        // another login's bytes, and the right password.
        c.add(alice, b"mallory@x.io", b"pw", 3, seen);
        let out = confirm(index.view(), &c, &Budget::default());
        assert!(out.findings.is_empty());
        assert_eq!(
            (out.login_hits, out.candidates, out.verifications),
            (0, 0, 0)
        );

        c.add(alice, b"alice@x.io", b"pw", 2, seen);
        let out = confirm(index.view(), &c, &Budget::default());
        assert_eq!(out.findings.len(), 1);
        assert_eq!(
            (out.login_hits, out.candidates, out.verifications),
            (2, 1, 1)
        );
    }

    /// Regression (issue #13): an account entry with a scheme byte no scheme has
    /// was silently treated as "no match"; it is damage the run must report.
    #[test]
    fn an_unknown_scheme_byte_is_damage_not_a_miss() {
        let mut b = IndexBuilder::new();
        b.add("a1", "alice@x.io", &sha1_hex("pw"));
        let index = b.build().unwrap();
        let v = index.view();
        let (norm, alice) = login::normalize_and_hash(b"alice@x.io");
        let account = v
            .lookup(alice, &norm, &mut Vec::new())
            .and_then(|g| g.accounts().next())
            .unwrap();
        let mut records = v.records.to_vec();
        records[account as usize] = 0xEE; // the entry's scheme byte
        let damaged = IndexView {
            records: &records,
            ..v
        };
        let mut c = Candidates::default();
        c.add(
            alice,
            b"alice@x.io",
            b"pw",
            1,
            Sighting { file: 0, line: 1 },
        );
        let out = confirm(damaged, &c, &Budget::default());
        assert_eq!(out.damaged_accounts, 1);
        assert!(out.findings.is_empty());
        assert_eq!(confirm(v, &c, &Budget::default()).damaged_accounts, 0);
    }

    /// Both ways of reading the records give the same outcome: findings, reviews
    /// and every counter, with logins shared by several accounts, fast and slow
    /// schemes, wrong passwords, and a budget that leaves accounts for review.
    #[test]
    fn by_login_and_by_entry_agree() {
        let mut b = IndexBuilder::new();
        let bcrypt = bcrypt::hash_with_salt("pw-3", 4, [7u8; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        for i in 0..3000u32 {
            let login = format!("User{}@x.io", i % 1700);
            let hash = if i % 400 == 3 {
                bcrypt.clone()
            } else {
                sha1_hex(&format!("pw-{}", i % 11))
            };
            b.add(&format!("id-{i}"), &login, &hash);
        }
        let index = b.build().unwrap();
        let mut c = Candidates::default();
        for i in 0..2500u64 {
            let login = format!("user{}@x.io", i % 1900);
            let (norm, hash) = login::normalize_and_hash(login.as_bytes());
            for pw in [format!("pw-{}", i % 13), format!("nope-{i}")] {
                let seen = Sighting {
                    file: (i % 3) as u32,
                    line: i,
                };
                c.add(hash, &norm, pw.as_bytes(), 1 + i % 2, seen);
            }
        }
        // The same index mapped from a file: entries read through its pieces.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.lmx");
        crate::index::file::write(&index, &path).unwrap();
        let mapped = crate::index::file::open(&path).unwrap();
        for (budget, view) in [(1, index.view()), (8, index.view()), (8, mapped.view())] {
            let opts = Budget {
                max_checks: budget,
                ..Budget::default()
            };
            let none = PerLogin::default();
            let a = confirm_by_login(index.view(), &c, &opts, &none);
            let e = confirm_by_entry(view, &c, &opts, &none);
            assert!(!a.findings.is_empty() && !a.reviews.is_empty() || budget == 8);
            assert_eq!(a.findings, e.findings);
            assert_eq!(a.reviews, e.reviews);
            assert_eq!(
                (
                    a.verifications,
                    a.accounts_with_candidates,
                    a.candidates,
                    a.login_hits
                ),
                (
                    e.verifications,
                    e.accounts_with_candidates,
                    e.candidates,
                    e.login_hits
                )
            );
        }
    }

    /// A password the dump damaged verifies repaired (`via`), each distinct form
    /// verified once per account: here the repair of the most-sighted candidate
    /// is the other candidate's bytes, verified once for both. The repairs count
    /// against the slow-hash budget.
    #[test]
    fn repaired_passwords_verify_once_within_the_budget() {
        let mut b = IndexBuilder::new();
        let stored = bcrypt::hash_with_salt("päss", 4, [7u8; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        b.add("a1", "a@x.io", &stored);
        let index = b.build().unwrap();
        let (norm, hash) = login::normalize_and_hash(b"a@x.io");
        let mut c = Candidates::default();
        c.add(hash, &norm, b"p\xe4ss", 3, Sighting { file: 0, line: 1 });
        c.add(
            hash,
            &norm,
            "päss".as_bytes(),
            1,
            Sighting { file: 0, line: 9 },
        );
        let out = confirm(index.view(), &c, &Budget::default());
        assert_eq!(out.verifications, 2);
        assert_eq!(out.findings.len(), 1);
        let f = &out.findings[0];
        assert_eq!((f.sightings, f.first_seen.line, f.via), (3, 1, Via::CP1252));

        let one = Budget {
            max_checks: 1,
            ..Budget::default()
        };
        let out = confirm(index.view(), &c, &one);
        assert_eq!(out.verifications, 1);
        assert!(out.findings.is_empty());
        assert_eq!(out.reviews.len(), 1);
    }
}
