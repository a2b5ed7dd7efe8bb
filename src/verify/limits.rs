//! The most one check of a stored hash may cost.
//!
//! A slow hash's cost is written in the hash itself (bcrypt's cost, PBKDF2's
//! iterations, sha-crypt's rounds, argon2's memory, passes and lanes), so one
//! poisoned customer row could ask for years of work (`rounds=999999999`) or
//! terabytes of memory (argon2 `m=4294967295`) on every check. [`CostLimits`] caps
//! each parameter; a value beyond a cap is never checked: the load names its row
//! and sets it aside, verification lists the account for review as
//! `unverifiable`. The defaults cover every deployment we know of while keeping
//! one check near a second on one core (bcrypt 15: ~2.6 s), which is also how long
//! a stop request may wait, and argon2's memory per worker thread at 1 GiB.

use std::fmt;

use super::slow::{self, Work};
use super::Scheme;

/// Caps on the work of one check, per parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostLimits {
    /// bcrypt cost (default 15: ~2.6 s a check; deployments use 10–14).
    pub bcrypt_cost: u32,
    /// PBKDF2 iterations (default 5,000,000; Django 6 uses 1,200,000).
    pub pbkdf2_iterations: u32,
    /// sha256crypt / sha512crypt rounds (default 1,000,000; glibc's default 5,000).
    pub sha_crypt_rounds: u32,
    /// argon2 memory in KiB (default 1 GiB; RFC 9106's second option uses 64 MiB).
    pub argon2_memory_kib: u32,
    /// argon2 passes (default 16).
    pub argon2_time: u32,
    /// argon2 lanes (default 16).
    pub argon2_lanes: u32,
}

impl Default for CostLimits {
    fn default() -> Self {
        CostLimits {
            bcrypt_cost: 15,
            pbkdf2_iterations: 5_000_000,
            sha_crypt_rounds: 1_000_000,
            argon2_memory_kib: 1 << 20,
            argon2_time: 16,
            argon2_lanes: 16,
        }
    }
}

/// The names [`CostLimits::set`] takes, each with its field.
const KEYS: [&str; 6] = [
    "bcrypt-cost",
    "pbkdf2-iterations",
    "sha-crypt-rounds",
    "argon2-memory-kib",
    "argon2-time",
    "argon2-lanes",
];

/// A stored hash whose check would cost more than a limit allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverLimit {
    /// The limit's name (one of [`CostLimits::set`]'s keys).
    pub key: &'static str,
    /// The value in the hash.
    pub value: u64,
    /// The limit.
    pub limit: u64,
}

impl fmt::Display for OverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} is above the limit {} (--hash-limit {}={} checks it)",
            self.key, self.value, self.limit, self.key, self.value
        )
    }
}

impl CostLimits {
    /// Sets one limit from `KEY=N` (keys: `bcrypt-cost`, `pbkdf2-iterations`,
    /// `sha-crypt-rounds`, `argon2-memory-kib`, `argon2-time`, `argon2-lanes`).
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected KEY=N, KEY one of {}", KEYS.join(", ")))?;
        let n: u32 = value
            .trim()
            .parse()
            .map_err(|_| format!("{spec:?}: {value:?} is not a whole number"))?;
        let field = match key.trim() {
            "bcrypt-cost" => &mut self.bcrypt_cost,
            "pbkdf2-iterations" => &mut self.pbkdf2_iterations,
            "sha-crypt-rounds" => &mut self.sha_crypt_rounds,
            "argon2-memory-kib" => &mut self.argon2_memory_kib,
            "argon2-time" => &mut self.argon2_time,
            "argon2-lanes" => &mut self.argon2_lanes,
            other => {
                return Err(format!(
                    "{other:?} is not a hash limit; one of {}",
                    KEYS.join(", ")
                ))
            }
        };
        *field = n;
        Ok(())
    }

    /// The first limit a check of `data` (stored as `scheme`) would exceed, or
    /// `None` if it may be checked (every fast scheme may).
    pub fn exceeded(&self, scheme: Scheme, data: &[u8]) -> Option<OverLimit> {
        let over = |key, value: u64, limit: u32| {
            (value > u64::from(limit)).then_some(OverLimit {
                key,
                value,
                limit: limit.into(),
            })
        };
        if !scheme.is_slow() {
            return None;
        }
        match slow::work(scheme, data)? {
            Work::Bcrypt(cost) => over(KEYS[0], cost.into(), self.bcrypt_cost),
            Work::Pbkdf2(n) => over(KEYS[1], n.into(), self.pbkdf2_iterations),
            Work::ShaCrypt(n) => over(KEYS[2], n as u64, self.sha_crypt_rounds),
            Work::Argon2 { m, t, p } => over(KEYS[3], m.into(), self.argon2_memory_kib)
                .or_else(|| over(KEYS[4], t.into(), self.argon2_time))
                .or_else(|| over(KEYS[5], p.into(), self.argon2_lanes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over(v: &str) -> Option<OverLimit> {
        let mut data = Vec::new();
        let scheme = super::super::parse_stored_into(v, &mut data).unwrap();
        CostLimits::default().exceeded(scheme, &data)
    }

    #[test]
    fn poisoned_costs_are_over_the_default_limits() {
        let bcrypt = "$2b$31$".to_string() + &"a".repeat(53);
        assert_eq!(over(&bcrypt).unwrap().key, "bcrypt-cost");
        assert!(over(&("$2b$12$".to_string() + &"a".repeat(53))).is_none());
        let argon = "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        assert_eq!(over(argon).unwrap().key, "argon2-memory-kib");
        let argon_ok = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        assert!(over(argon_ok).is_none());
        let pbkdf2 = format!("pbkdf2_sha256$4294967295$salt${}=", "A".repeat(43));
        assert_eq!(over(&pbkdf2).unwrap().key, "pbkdf2-iterations");
        let django = format!("pbkdf2_sha256$1200000$salt${}=", "A".repeat(43));
        assert!(over(&django).is_none());
        let crypt = format!("$6$rounds=999999999$salt${}", "a".repeat(86));
        let o = over(&crypt).unwrap();
        assert_eq!(
            (o.key, o.value, o.limit),
            ("sha-crypt-rounds", 999_999_999, 1_000_000)
        );
        assert!(over(&sha1_hex()).is_none(), "fast schemes have no limit");
    }

    fn sha1_hex() -> String {
        "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8".into()
    }

    #[test]
    fn limits_are_set_by_name() {
        let mut l = CostLimits::default();
        l.set("bcrypt-cost=18").unwrap();
        assert_eq!(l.bcrypt_cost, 18);
        assert!(l.set("bcrypt=18").unwrap_err().contains("bcrypt-cost"));
        assert!(l.set("bcrypt-cost").is_err());
        assert!(l.set("bcrypt-cost=x").is_err());
        let bcrypt = "$2b$17$".to_string() + &"a".repeat(53);
        let mut data = Vec::new();
        let scheme = super::super::parse_stored_into(&bcrypt, &mut data).unwrap();
        assert!(l.exceeded(scheme, &data).is_none());
        let msg = CostLimits::default()
            .exceeded(scheme, &data)
            .unwrap()
            .to_string();
        assert_eq!(
            msg,
            "bcrypt-cost 17 is above the limit 15 (--hash-limit bcrypt-cost=17 checks it)"
        );
    }
}
