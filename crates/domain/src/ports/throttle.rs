//! The login-throttle counters, shared by every server instance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Fault;
use crate::throttle::{
    Admission, AdmittedAttempt, AttemptKeys, Settlement, Spend, ThrottlePolicy, WindowLimit,
};

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Decides whether an attempt on `keys` may have its secret checked, counting it.
    ///
    /// Atomically with respect to every other call on the same keys, from any instance:
    /// - the pair is *known* when it succeeded within `policy.known_pair_ttl`; then only key 1
    ///   is looked at;
    /// - when key 1's or key 2's lock lasts beyond `now`, or key 3's window holds
    ///   `policy.address.max` failures (see [`WindowLimit::make_room`]), MUST return `Locked`
    ///   with the latest such time and change nothing;
    /// - otherwise MUST add one failure to keys 1 and 2 (restarting from one when
    ///   [`ThrottlePolicy::is_forgotten`] says so) and set each one's lock to
    ///   [`ThrottlePolicy::lock_until`] of its new count, add `now` rounded up to the
    ///   millisecond to key 3's window, and return what it counted.
    ///
    /// So of N concurrent calls on a fresh key, exactly `min(N, threshold)` are admitted, and
    /// no concurrent failure is lost. Unknown keys start at zero.
    async fn admit(
        &self,
        keys: &AttemptKeys,
        now: DateTime<Utc>,
        policy: &ThrottlePolicy,
    ) -> Result<Admission, Fault>;

    /// Ends an admitted attempt otherwise than as a failure.
    ///
    /// - [`Settlement::Succeeded`]: MUST clear keys 1 and 2 of the attempt's account and
    ///   address (counted or not), take the attempt's own event out of key 3's window (and
    ///   nothing else: successes never refill it), and remember the pair as known at `now`;
    /// - [`Settlement::Refunded`]: MUST take the attempt's failure back from each counter it
    ///   was counted on (never below zero), restoring the lock it had before where the lock is
    ///   still the one this attempt set, and take its own event out of key 3's window.
    async fn settle(
        &self,
        attempt: &AdmittedAttempt,
        settlement: Settlement,
        now: DateTime<Utc>,
    ) -> Result<(), Fault>;

    /// Clears key 2 of the account with this normalised email (a completed password reset).
    async fn clear_account(&self, email: &str) -> Result<(), Fault>;

    /// Spends one from the budget `key` ([`budget_key`]): atomically, MUST return
    /// `ExhaustedUntil` (spending nothing) when `limit` is reached at `now`, else record
    /// `now` and return `Spent`.
    async fn spend(
        &self,
        key: &str,
        limit: &WindowLimit,
        now: DateTime<Utc>,
    ) -> Result<Spend, Fault>;
}
