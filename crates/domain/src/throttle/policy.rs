//! When a key locks and for how long: pure arithmetic that the store applies.

use chrono::{DateTime, TimeDelta, Utc};

/// Key 3's limit, and the shape of every per-address budget: at most `max` events within any
/// `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    pub max: u32,
    pub window: TimeDelta,
}

impl WindowLimit {
    /// A sliding window over the exact event times: `events` (ascending) loses those that
    /// left the window by `now`; then `Ok` when one more fits, or `Err` with the time the
    /// window has room again. Never lets more than `max` through within any `window`.
    pub fn make_room(
        &self,
        events: &mut Vec<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), DateTime<Utc>> {
        events.sort_unstable();
        events.retain(|at| *at + self.window > now);
        let max = self.max as usize;
        if events.len() < max {
            return Ok(());
        }
        // The window has room once all but `max - 1` of its events have left it.
        let leaving = events.len() - max;
        Err(events[leaving] + self.window)
    }
}

/// The three keys' limits (API.md "Attack resistance").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Key 1 (account + address): consecutive failures that lock it (`LOGIN_MAX_FAILURES`).
    pub pair_max_failures: u32,
    /// Key 2 (account from every address): consecutive failures that lock it
    /// (`LOGIN_ACCOUNT_MAX_FAILURES`).
    pub account_max_failures: u32,
    /// Key 3 (address across accounts): failures within a sliding window
    /// (`LOGIN_ADDRESS_MAX_FAILURES` per `LOGIN_ADDRESS_WINDOW`).
    pub address: WindowLimit,
    /// The first lock of keys 1 and 2 (`LOGIN_LOCKOUT`); each further failure doubles it…
    pub lockout: TimeDelta,
    /// …up to this (`LOGIN_LOCKOUT_MAX`).
    pub lockout_max: TimeDelta,
    /// A pair that logged in within this long is exempt from keys 2 and 3
    /// (`LOGIN_KNOWN_PAIR_TTL`).
    pub known_pair_ttl: TimeDelta,
    /// A counter of key 1 or 2 with no attempt for this long after its last attempt and its
    /// last lock starts again from zero.
    pub forget_after: TimeDelta,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            pair_max_failures: 5,
            account_max_failures: 20,
            address: WindowLimit {
                max: 100,
                window: TimeDelta::hours(1),
            },
            lockout: TimeDelta::minutes(1),
            lockout_max: TimeDelta::minutes(15),
            known_pair_ttl: TimeDelta::days(30),
            forget_after: TimeDelta::hours(24),
        }
    }
}

/// Which consecutive-failure counter (keys 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterKind {
    Pair,
    Account,
}

impl ThrottlePolicy {
    /// The consecutive failures that lock a counter of this kind.
    pub fn threshold(&self, kind: CounterKind) -> u32 {
        match kind {
            CounterKind::Pair => self.pair_max_failures,
            CounterKind::Account => self.account_max_failures,
        }
    }

    /// How long a counter is locked once it has `failures` consecutive failures against
    /// `threshold`: nothing below it, then `lockout`, doubling with each further failure, at
    /// most `lockout_max`.
    pub fn lock_for(&self, threshold: u32, failures: u32) -> Option<TimeDelta> {
        let beyond = failures.checked_sub(threshold.max(1))?;
        let doubled = 1_i32
            .checked_shl(beyond)
            .filter(|factor| *factor > 0)
            .and_then(|factor| self.lockout.checked_mul(factor))
            .unwrap_or(self.lockout_max);
        Some(doubled.min(self.lockout_max))
    }

    /// The end of the lock that `failures` failures at `now` impose, rounded up to the
    /// millisecond (both stores keep it exactly, so it can be compared for equality).
    pub fn lock_until(
        &self,
        threshold: u32,
        failures: u32,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.lock_for(threshold, failures)
            .map(|lock| round_up_to_millis(now + lock))
    }

    /// Whether a counter whose last attempt was `last_attempt` and whose last lock ended at
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

    /// The places per key the in-flight gate gives (see [`super::InFlight`]).
    pub(crate) fn in_flight_places(threshold: u32) -> usize {
        threshold.saturating_sub(1).max(1) as usize
    }
}

/// `time` rounded up to the millisecond: what the stores keep exactly.
pub fn round_up_to_millis(time: DateTime<Utc>) -> DateTime<Utc> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy::default()
    }

    #[test]
    fn defaults_are_five_twenty_and_a_hundred_an_hour() {
        let policy = policy();
        assert_eq!(policy.threshold(CounterKind::Pair), 5);
        assert_eq!(policy.threshold(CounterKind::Account), 20);
        assert_eq!(policy.address.max, 100);
        assert_eq!(policy.address.window, TimeDelta::hours(1));
        assert_eq!(policy.known_pair_ttl, TimeDelta::days(30));
    }

    #[test]
    fn no_lock_below_the_threshold() {
        for failures in 0..5 {
            assert_eq!(policy().lock_for(5, failures), None, "{failures} failures");
        }
        assert_eq!(policy().lock_for(20, 19), None);
        assert_eq!(policy().lock_for(20, 20), Some(TimeDelta::minutes(1)));
    }

    #[test]
    fn lock_doubles_with_each_further_failure_up_to_the_maximum() {
        let minutes = |n| Some(TimeDelta::minutes(n));
        assert_eq!(policy().lock_for(5, 5), minutes(1));
        assert_eq!(policy().lock_for(5, 6), minutes(2));
        assert_eq!(policy().lock_for(5, 7), minutes(4));
        assert_eq!(policy().lock_for(5, 8), minutes(8));
        assert_eq!(policy().lock_for(5, 9), minutes(15));
        assert_eq!(policy().lock_for(5, 10), minutes(15));
        // Far past any sensible count: no overflow, still the maximum.
        assert_eq!(policy().lock_for(5, 40), minutes(15));
        assert_eq!(policy().lock_for(5, u32::MAX), minutes(15));
    }

    #[test]
    fn custom_durations() {
        let policy = ThrottlePolicy {
            lockout: TimeDelta::seconds(1),
            lockout_max: TimeDelta::seconds(5),
            ..ThrottlePolicy::default()
        };
        assert_eq!(policy.lock_for(3, 2), None);
        assert_eq!(policy.lock_for(3, 3), Some(TimeDelta::seconds(1)));
        assert_eq!(policy.lock_for(3, 4), Some(TimeDelta::seconds(2)));
        assert_eq!(policy.lock_for(3, 5), Some(TimeDelta::seconds(4)));
        assert_eq!(policy.lock_for(3, 6), Some(TimeDelta::seconds(5)));
    }

    #[test]
    fn lock_end_is_rounded_up_to_the_millisecond() {
        let now = Utc.timestamp_opt(1_000, 1_500_001).unwrap();
        let until = policy().lock_until(5, 5, now).unwrap();
        assert_eq!(until, Utc.timestamp_opt(1_060, 2_000_000).unwrap());
        let whole = Utc.timestamp_opt(1_000, 0).unwrap();
        assert_eq!(
            policy().lock_until(5, 5, whole),
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
    fn quiet_counters_are_forgotten_after_the_last_attempt_and_the_last_lock() {
        let t0 = Utc.timestamp_opt(1_000_000, 0).unwrap();
        let day = TimeDelta::hours(24);
        assert!(!policy().is_forgotten(t0, None, t0 + day - TimeDelta::seconds(1)));
        assert!(policy().is_forgotten(t0, None, t0 + day));
        let lock = Some(t0 + TimeDelta::minutes(15));
        assert!(!policy().is_forgotten(t0, lock, t0 + day));
        assert!(policy().is_forgotten(t0, lock, t0 + day + TimeDelta::minutes(15)));
    }

    #[test]
    fn a_sliding_window_never_lets_more_than_max_through_in_any_window() {
        let limit = WindowLimit {
            max: 3,
            window: TimeDelta::seconds(60),
        };
        let t0 = Utc.timestamp_opt(1_000_000, 0).unwrap();
        let at = |s: i64| t0 + TimeDelta::seconds(s);
        let mut events = Vec::new();
        let mut through = Vec::new();
        // One attempt every 7 seconds for five minutes.
        for s in (0..300).step_by(7) {
            if limit.make_room(&mut events, at(s)).is_ok() {
                events.push(at(s));
                through.push(s);
            }
        }
        for (i, first) in through.iter().enumerate() {
            let within = through[i..].iter().filter(|s| **s < first + 60).count();
            assert!(within <= 3, "{within} events within a minute from {first}s");
        }
        // And it does let the next one through as soon as the oldest leaves.
        let mut events = vec![at(0), at(10), at(20)];
        assert_eq!(limit.make_room(&mut events, at(59)), Err(at(60)));
        assert_eq!(limit.make_room(&mut events, at(60)), Ok(()));
        assert_eq!(events, vec![at(10), at(20)]);
        // A limit lowered below what is stored: room once enough have left.
        let lower = WindowLimit { max: 1, ..limit };
        let mut events = vec![at(0), at(10), at(20)];
        assert_eq!(lower.make_room(&mut events, at(30)), Err(at(80)));
    }
}
