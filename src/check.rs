//! Password verification of the scan's candidates, in parallel and under a budget.
//!
//! Owns deciding which candidates get verified and in what order. Every distinct
//! (account, password) is verified at most once per run. Fast schemes (the SHA-1
//! family, NT) are verified for every candidate. Slow schemes (bcrypt, argon2, PBKDF2,
//! sha-crypt) get at most [`CheckOptions::max_checks`] distinct passwords per account,
//! most-sighted first, then in first-seen order; the first verified match ends that
//! account's checks. An account whose candidates were not all checked and that was not
//! confirmed goes to the review list, never dropped silently. Accounts are checked in
//! parallel across all cores with rayon.

use rayon::prelude::*;

use crate::index::{AccountId, IndexView};
use crate::scan::{CandInfo, Candidates, Sighting};
use crate::verify;

/// Accounts verified between two releases of a mapped index's resident records.
const CHECK_BATCH: usize = 16 * 1024;

/// Default per-account budget of slow checks (see the README for why 8).
pub const DEFAULT_MAX_CHECKS: usize = 8;

/// Verification settings.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Distinct candidate passwords verified per account for slow schemes.
    pub max_checks: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_checks: DEFAULT_MAX_CHECKS,
        }
    }
}

/// An account whose password was confirmed in the dumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The account.
    pub account: AccountId,
    /// Lines whose password verified.
    pub sightings: u64,
    /// The earliest of those lines.
    pub first_seen: Sighting,
}

/// An account left unconfirmed with candidates unchecked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Review {
    /// The account.
    pub account: AccountId,
    /// Distinct candidate passwords.
    pub candidates: u64,
    /// How many were verified.
    pub checked: u64,
    /// Lines carrying any candidate.
    pub sightings: u64,
}

/// The result of checking all candidates.
#[derive(Clone, Debug, Default)]
pub struct CheckOutcome {
    /// Confirmed accounts, in index order.
    pub findings: Vec<Finding>,
    /// Accounts to review, in index order.
    pub reviews: Vec<Review>,
    /// Password verifications performed.
    pub verifications: u64,
    /// Accounts with at least one candidate.
    pub accounts_with_candidates: u64,
}

enum Verdict {
    Found(Finding),
    Review(Review),
    Clear,
}

/// Verifies the candidates of every account.
pub fn check(index: IndexView<'_>, candidates: &Candidates, opts: CheckOptions) -> CheckOutcome {
    let mut all: Vec<(AccountId, &[u8], CandInfo)> = candidates.iter().collect();
    // Per account: most-sighted first, then first seen; the password bytes only break
    // exact ties so the order (and the result) is the same on every run.
    all.par_sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| b.2.sightings.cmp(&a.2.sightings))
            .then_with(|| a.2.first.cmp(&b.2.first))
            .then_with(|| a.1.cmp(b.1))
    });
    let groups: Vec<&[(AccountId, &[u8], CandInfo)]> = all.chunk_by(|a, b| a.0 == b.0).collect();
    // In batches, releasing the records a mapped index faulted in after each one (see
    // `IndexView::release_records`).
    let mut results: Vec<(Verdict, u64)> = Vec::with_capacity(groups.len());
    for batch in groups.chunks(CHECK_BATCH) {
        results.par_extend(
            batch
                .par_iter()
                .map(|cands| check_account(index, cands, opts)),
        );
        index.release_records();
    }
    let mut out = CheckOutcome {
        accounts_with_candidates: groups.len() as u64,
        ..CheckOutcome::default()
    };
    for (verdict, verifications) in results {
        out.verifications += verifications;
        match verdict {
            Verdict::Found(f) => out.findings.push(f),
            Verdict::Review(r) => out.reviews.push(r),
            Verdict::Clear => {}
        }
    }
    out
}

fn check_account(
    index: IndexView<'_>,
    cands: &[(AccountId, &[u8], CandInfo)],
    opts: CheckOptions,
) -> (Verdict, u64) {
    let account = cands[0].0;
    let Some(acct) = index.account(account) else {
        return (Verdict::Clear, 0);
    };
    let slow = acct.scheme.is_slow();
    let budget = if slow { opts.max_checks } else { usize::MAX };
    let mut checked = 0u64;
    let mut found: Option<Finding> = None;
    for (_, password, info) in cands.iter().take(budget) {
        checked += 1;
        if verify::verify(acct.scheme, acct.hash, password) {
            let f = found.get_or_insert(Finding {
                account,
                sightings: 0,
                first_seen: info.first,
            });
            f.sightings += info.sightings;
            f.first_seen = f.first_seen.min(info.first);
            if slow {
                break;
            }
        }
    }
    let verdict = match found {
        Some(f) => Verdict::Found(f),
        None if (checked as usize) < cands.len() => Verdict::Review(Review {
            account,
            candidates: cands.len() as u64,
            checked,
            sightings: cands.iter().map(|c| c.2.sightings).sum(),
        }),
        None => Verdict::Clear,
    };
    (verdict, checked)
}
