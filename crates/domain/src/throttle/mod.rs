//! Login throttling with three keys (API.md "Attack resistance"), and per-address budgets.
//!
//! 1. **account + client address** ("pair"): `pair_max_failures` consecutive failures lock it,
//!    a success of that pair resets it. An attacker who locks an account at their address
//!    does not lock its owner out elsewhere.
//! 2. **account** from every address: `account_max_failures` consecutive failures lock it
//!    everywhere; a success resets it. Stops guessing one account from many addresses.
//! 3. **client address** across accounts: at most `address.max` failures within any
//!    `address.window` (an exact sliding window), never reset or refilled by a success (an
//!    attacker's own account cannot wash it). Stops spraying from one address.
//!
//! Keys 2 and 3 neither apply to nor count the attempts of a pair that logged in within
//! `known_pair_ttl`: a stranger cannot lock the owner out at an address the owner has used.
//!
//! An attempt is counted as a failure *before* its secret is checked and settled afterwards
//! (a success resets keys 1 and 2; a refund takes the count back). Counting first is what makes
//! a burst of concurrent guesses useless: of N simultaneous attempts on a fresh key, only its
//! threshold is let through to the check, the rest find the key locked.
//!
//! Callers use [`Throttle`]: [`Throttle::begin`] before checking a password or a
//! second-factor code, then [`CountedAttempt::succeeded`], [`CountedAttempt::refund`] or
//! [`CountedAttempt::failed`]. [`AddressBudget`] limits anonymous requests per address.

mod guard;
mod in_flight;
mod keys;
mod policy;

pub use guard::{AddressBudget, CountedAttempt, Throttle, ThrottleError};
pub use in_flight::{InFlight, InFlightPass};
pub use keys::{account_key, budget_key, AddressKey, AttemptKeys};
pub use policy::{retry_after_secs, round_up_to_millis, CounterKind, ThrottlePolicy, WindowLimit};

use chrono::{DateTime, Utc};

/// What [`LoginThrottle::admit`] counted on one consecutive-failure counter (key 1 or 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedKey {
    pub kind: CounterKind,
    /// The store's key ([`AttemptKeys::pair_key`] or [`AttemptKeys::account_key`]).
    pub key: String,
    /// The counter's lock before this attempt (expired, or none).
    pub lock_before: Option<DateTime<Utc>>,
    /// The lock this attempt set, should it fail; `None` below the threshold.
    pub lock_set: Option<DateTime<Utc>>,
}

/// An attempt let through to the check, already counted as a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmittedAttempt {
    pub keys: AttemptKeys,
    /// The counters of keys 1 and 2 it was counted on (key 2 not for a known pair).
    pub counters: Vec<CountedKey>,
    /// The event it added to key 3's window (none for a known pair or an unknown address).
    pub window_event: Option<DateTime<Utc>>,
    /// Whether the pair had logged in within `known_pair_ttl` (keys 2 and 3 skipped).
    pub known_pair: bool,
}

/// The verdict on an attempt, before its secret is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Admitted(AdmittedAttempt),
    /// A key is locked (or key 3's window is full) until then; nothing was counted.
    Locked {
        until: DateTime<Utc>,
    },
}

/// How an admitted attempt ended, when not as the failure it was counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The login succeeded: keys 1 and 2 reset, the pair becomes known.
    Succeeded,
    /// The attempt neither counts nor resets (a right password that a second factor must
    /// still complete).
    Refunded,
}

/// A per-address budget's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    Spent,
    /// The budget has room again then; nothing was spent.
    ExhaustedUntil(DateTime<Utc>),
}
