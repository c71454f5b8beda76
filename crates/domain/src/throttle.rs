//! Login throttling: which counters a login attempt counts against, when a counter locks, and
//! the port that keeps the counters where every server instance sees them.
//!
//! An attempt is counted as a failure *before* its password is checked and refunded when it
//! succeeds. Counting first is what makes a burst of concurrent guesses useless: of N
//! simultaneous attempts on a fresh key, only `max_failures` are let through to the password
//! check, the rest find the key locked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Fault;
use crate::values::Email;

/// A failure counter. Its [`ThrottleKey::storage_key`] is what the store indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThrottleKey {
    /// The normalised email, whether or not an account has it (so a lock reveals nothing).
    Account(String),
    /// The client address (an IPv6 client's /64 network, which one subscriber usually holds
    /// whole).
    Address(String),
}

impl ThrottleKey {
    pub fn account(email: &Email) -> Self {
        Self::Account(email.as_str().to_owned())
    }

    pub fn address(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self::Address(v4.to_string()),
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                Self::Address(format!("{}/64", std::net::Ipv6Addr::from(segments)))
            }
        }
    }

    /// `account:<email>` or `address:<ip>`; the prefixes keep the two kinds apart.
    pub fn storage_key(&self) -> String {
        match self {
            Self::Account(email) => format!("account:{email}"),
            Self::Address(address) => format!("address:{address}"),
        }
    }

    pub fn is_account(&self) -> bool {
        matches!(self, Self::Account(_))
    }
}

/// When a key locks and for how long. Pure arithmetic: the store applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures that lock a key (`LOGIN_MAX_FAILURES`).
    pub max_failures: u32,
    /// The first lock (`LOGIN_LOCKOUT`); each further failure doubles it…
    pub lockout: TimeDelta,
    /// …up to this (`LOGIN_LOCKOUT_MAX`).
    pub lockout_max: TimeDelta,
    /// A key with no attempt for this long after its last attempt and its last lock starts
    /// again from zero (otherwise a shared address would stay locked for ever).
    pub forget_after: TimeDelta,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lockout: TimeDelta::minutes(1),
            lockout_max: TimeDelta::minutes(15),
            forget_after: TimeDelta::hours(24),
        }
    }
}

impl ThrottlePolicy {
    /// How long a key is locked once it has `failures` consecutive failures: nothing below
    /// `max_failures`, then `lockout`, doubling with each further failure, at most
    /// `lockout_max`.
    pub fn lock_for(&self, failures: u32) -> Option<TimeDelta> {
        let beyond = failures.checked_sub(self.max_failures.max(1))?;
        let doubled = 1_i32
            .checked_shl(beyond)
            .filter(|factor| *factor > 0)
            .and_then(|factor| self.lockout.checked_mul(factor))
            .unwrap_or(self.lockout_max);
        Some(doubled.min(self.lockout_max))
    }

    /// The end of the lock that `failures` failures at `now` impose, rounded up to the
    /// millisecond (both stores keep it exactly, so it can be compared for equality).
    pub fn lock_until(&self, failures: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.lock_for(failures)
            .map(|lock| round_up_to_millis(now + lock))
    }

    /// Whether a key whose last attempt was `last_attempt` and whose last lock ended at
    /// `locked_until` has been quiet long enough at `now` to start again from zero.
    pub fn is_forgotten(
        &self,
        last_attempt: DateTime<Utc>,
        locked_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        let quiet_since = locked_until.map_or(last_attempt, |until| until.max(last_attempt));
        now >= quiet_since + self.forget_after
    }
}

fn round_up_to_millis(time: DateTime<Utc>) -> DateTime<Utc> {
    let millis = time.timestamp_millis();
    let exact = DateTime::from_timestamp_millis(millis).unwrap_or(time);
    if exact < time {
        DateTime::from_timestamp_millis(millis + 1).unwrap_or(time)
    } else {
        exact
    }
}

/// Whole seconds until `until`, rounded up and at least 1: the `Retry-After` value.
pub fn retry_after_secs(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = (until - now).num_milliseconds().max(1);
    u64::try_from(millis).map_or(1, |ms| ms.div_ceil(1000))
}

/// What [`LoginThrottle::admit`] counted on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedKey {
    pub key: ThrottleKey,
    /// The key's lock before this attempt (expired, or none).
    pub lock_before: Option<DateTime<Utc>>,
    /// The lock this attempt set, should it fail; `None` below the threshold.
    pub lock_set: Option<DateTime<Utc>>,
}

/// An attempt let through to the password check, already counted as a failure on each key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmittedAttempt {
    pub keys: Vec<CountedKey>,
}

/// The verdict on a login attempt, before its password is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Admitted(AdmittedAttempt),
    /// A key is locked until then; nothing was counted.
    Locked {
        until: DateTime<Utc>,
    },
}

/// The failure counters of login attempts, shared by every server instance.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Decides whether an attempt on `keys` may have its password checked, counting it.
    ///
    /// Atomically with respect to every other call on the same keys, from any instance:
    /// - when any key's lock lasts beyond `now`, MUST return `Locked` with the latest such
    ///   lock and change nothing;
    /// - otherwise MUST add one failure to every key (restarting from one when
    ///   [`ThrottlePolicy::is_forgotten`] says so), set each key's lock to
    ///   [`ThrottlePolicy::lock_until`] of its new count (none below the threshold), and return
    ///   `Admitted` with, per key, the lock it had before and the lock it got.
    ///
    /// So of N concurrent calls on a fresh key, exactly `min(N, max_failures)` are admitted,
    /// and no concurrent failure is lost. Unknown keys start at zero.
    async fn admit(
        &self,
        keys: &[ThrottleKey],
        now: DateTime<Utc>,
        policy: &ThrottlePolicy,
    ) -> Result<Admission, Fault>;

    /// The admitted attempt succeeded.
    ///
    /// MUST clear the counter and lock of every account key of `attempt`, and on every other
    /// key take the attempt's failure back (never below zero) and, when the key's lock is
    /// still the one this attempt set, restore the lock it had before.
    async fn record_success(&self, attempt: &AdmittedAttempt) -> Result<(), Fault>;
}

/// How many attempts on one key this process lets reach the counters at once.
///
/// Counting an attempt as a failure before its password is checked means that attempts in
/// flight count too: with `max_failures` of them pending on one key, the next would find the
/// key locked although nobody failed — sixteen correct logins at once from one address would
/// get 429s. So each key admits at most `max_failures - 1` attempts at a time; the others wait
/// (asynchronously) for one to finish, then are counted like any attempt. A burst of guesses
/// still gets exactly `max_failures` checks (the waiting ones find the key locked), and correct
/// logins are only queued, never refused. The limit is per process: N instances let up to
/// N × (`max_failures` - 1) attempts of one key be pending together, so a burst of correct
/// logins spread over several instances can still meet a lock they set themselves.
#[derive(Debug, Default)]
pub struct InFlight {
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while an attempt is in flight; frees its places (and forgets idle keys) when dropped.
#[derive(Debug)]
pub struct InFlightPass<'a> {
    owner: &'a InFlight,
    keys: Vec<String>,
    permits: Vec<OwnedSemaphorePermit>,
}

impl InFlight {
    /// Waits for a place on every key (taken in one fixed order, so two attempts sharing keys
    /// cannot each hold what the other waits for).
    pub async fn enter(&self, keys: &[ThrottleKey], policy: &ThrottlePolicy) -> InFlightPass<'_> {
        let places = policy.max_failures.saturating_sub(1).max(1) as usize;
        let mut names: Vec<String> = keys.iter().map(ThrottleKey::storage_key).collect();
        names.sort();
        names.dedup();
        let mut pass = InFlightPass {
            owner: self,
            keys: Vec::with_capacity(names.len()),
            permits: Vec::with_capacity(names.len()),
        };
        for name in names {
            let gate = {
                let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
                gates
                    .entry(name.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(places)))
                    .clone()
            };
            pass.keys.push(name);
            // The semaphore is never closed, so acquiring cannot fail; if it ever did, the
            // attempt would simply go on without waiting.
            if let Ok(permit) = gate.acquire_owned().await {
                pass.permits.push(permit);
            }
        }
        pass
    }

    /// Keys with a gate right now (idle ones are forgotten).
    pub fn tracked_keys(&self) -> usize {
        self.gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for InFlightPass<'_> {
    fn drop(&mut self) {
        self.permits.clear();
        let mut gates = self
            .owner
            .gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for key in &self.keys {
            // Only the map holds it: nobody is in flight or waiting on this key.
            if gates
                .get(key)
                .is_some_and(|gate| Arc::strong_count(gate) == 1)
            {
                gates.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::future::Future;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy::default()
    }

    #[tokio::test]
    async fn at_most_max_failures_minus_one_attempts_per_key_are_in_flight() {
        let in_flight = InFlight::default();
        let policy = policy(); // max_failures 5: four places per key
        let email = Email::parse("ann@example.com").unwrap();
        let keys = [
            ThrottleKey::account(&email),
            ThrottleKey::address("192.0.2.7".parse().unwrap()),
        ];
        let mut passes = Vec::new();
        for _ in 0..4 {
            passes.push(in_flight.enter(&keys, &policy).await);
        }
        // A fifth attempt on the same address (another email) waits…
        let other = Email::parse("bob@example.com").unwrap();
        let fifth_keys = [
            ThrottleKey::account(&other),
            ThrottleKey::address("192.0.2.7".parse().unwrap()),
        ];
        let mut fifth = Box::pin(in_flight.enter(&fifth_keys, &policy));
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        assert!(fifth.as_mut().poll(&mut context).is_pending());
        // …while another address is not held up.
        let elsewhere = [ThrottleKey::address("192.0.2.8".parse().unwrap())];
        drop(in_flight.enter(&elsewhere, &policy).await);
        // One finishes: the fifth goes in.
        passes.pop();
        assert!(fifth.as_mut().poll(&mut context).is_ready());
        drop(fifth);
        drop(passes);
        assert_eq!(in_flight.tracked_keys(), 0, "idle keys are forgotten");
    }

    #[test]
    fn no_lock_below_the_threshold() {
        for failures in 0..5 {
            assert_eq!(policy().lock_for(failures), None, "{failures} failures");
        }
    }

    #[test]
    fn lock_doubles_with_each_further_failure_up_to_the_maximum() {
        let minutes = |n| Some(TimeDelta::minutes(n));
        assert_eq!(policy().lock_for(5), minutes(1));
        assert_eq!(policy().lock_for(6), minutes(2));
        assert_eq!(policy().lock_for(7), minutes(4));
        assert_eq!(policy().lock_for(8), minutes(8));
        assert_eq!(policy().lock_for(9), minutes(15));
        assert_eq!(policy().lock_for(10), minutes(15));
        // Far past any sensible count: no overflow, still the maximum.
        assert_eq!(policy().lock_for(40), minutes(15));
        assert_eq!(policy().lock_for(u32::MAX), minutes(15));
    }

    #[test]
    fn custom_threshold_and_durations() {
        let policy = ThrottlePolicy {
            max_failures: 3,
            lockout: TimeDelta::seconds(1),
            lockout_max: TimeDelta::seconds(5),
            ..ThrottlePolicy::default()
        };
        assert_eq!(policy.lock_for(2), None);
        assert_eq!(policy.lock_for(3), Some(TimeDelta::seconds(1)));
        assert_eq!(policy.lock_for(4), Some(TimeDelta::seconds(2)));
        assert_eq!(policy.lock_for(5), Some(TimeDelta::seconds(4)));
        assert_eq!(policy.lock_for(6), Some(TimeDelta::seconds(5)));
    }

    #[test]
    fn lock_end_is_rounded_up_to_the_millisecond() {
        let now = Utc.timestamp_opt(1_000, 1_500_001).unwrap();
        let until = policy().lock_until(5, now).unwrap();
        assert_eq!(until, Utc.timestamp_opt(1_060, 2_000_000).unwrap());
        let whole = Utc.timestamp_opt(1_000, 0).unwrap();
        assert_eq!(
            policy().lock_until(5, whole),
            Some(Utc.timestamp_opt(1_060, 0).unwrap())
        );
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let now = Utc.timestamp_opt(1_000, 0).unwrap();
        let after = |ms| retry_after_secs(now + TimeDelta::milliseconds(ms), now);
        assert_eq!(after(60_000), 60);
        assert_eq!(after(59_001), 60);
        assert_eq!(after(1), 1);
        assert_eq!(after(0), 1);
        assert_eq!(after(-5), 1);
    }

    #[test]
    fn quiet_keys_are_forgotten_after_the_last_attempt_and_the_last_lock() {
        let t0 = Utc.timestamp_opt(1_000_000, 0).unwrap();
        let day = TimeDelta::hours(24);
        assert!(!policy().is_forgotten(t0, None, t0 + day - TimeDelta::seconds(1)));
        assert!(policy().is_forgotten(t0, None, t0 + day));
        let lock = Some(t0 + TimeDelta::minutes(15));
        assert!(!policy().is_forgotten(t0, lock, t0 + day));
        assert!(policy().is_forgotten(t0, lock, t0 + day + TimeDelta::minutes(15)));
    }

    #[test]
    fn keys_are_prefixed_and_ipv6_is_keyed_by_its_64_network() {
        let email = Email::parse("John@Doe.com").unwrap();
        assert_eq!(
            ThrottleKey::account(&email).storage_key(),
            "account:john@doe.com"
        );
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(ThrottleKey::address(v4).storage_key(), "address:192.0.2.7");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ThrottleKey::address(mapped), ThrottleKey::address(v4));
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ThrottleKey::address(a), ThrottleKey::address(b));
        assert_ne!(ThrottleKey::address(a), ThrottleKey::address(other));
        assert_eq!(
            ThrottleKey::address(a).storage_key(),
            "address:2001:db8:1:2::/64"
        );
    }
}
