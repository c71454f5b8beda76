//! The throttle as use cases call it: count an attempt before checking its secret, then
//! settle it; and per-address budgets for anonymous requests.

use std::sync::Arc;

use crate::error::Fault;
use crate::ports::Clock;
use crate::session::ClientInfo;
use crate::values::Email;

use super::{
    budget_key, retry_after_secs, AddressKey, Admission, AdmittedAttempt, AttemptKeys, CounterKind,
    InFlight, InFlightPass, Settlement, Spend, ThrottlePolicy, WindowLimit,
};
use crate::ports::LoginThrottle;

/// Why an attempt or a request was not let through.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// A key is locked or a budget spent: answer 429 `too_many_attempts` with `Retry-After`.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// The login throttle (keys 1–3, see [`super`]) with its policy and in-flight gate. Cheap
/// to clone; every clone shares the gate.
#[derive(Clone)]
pub struct Throttle {
    store: Arc<dyn LoginThrottle>,
    policy: ThrottlePolicy,
    clock: Arc<dyn Clock>,
    in_flight: Arc<InFlight>,
}

impl Throttle {
    pub fn new(
        store: Arc<dyn LoginThrottle>,
        policy: ThrottlePolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            policy,
            clock,
            in_flight: Arc::new(InFlight::default()),
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Counts an attempt on `keys` as a failure, before its secret is checked: call it first,
    /// check the secret only when it returns `Ok`, then settle the [`CountedAttempt`].
    ///
    /// Waits while too many attempts of a key are in flight in this process (so concurrent
    /// correct attempts are queued, not refused). `TooManyAttempts` when a key is locked:
    /// nothing was counted, and the secret must not be checked (a lock answers the same for a
    /// right and a wrong one).
    pub async fn begin(&self, keys: AttemptKeys) -> Result<CountedAttempt, ThrottleError> {
        let pass = self.in_flight.enter(&self.gates(&keys)).await;
        let now = self.clock.now();
        match self.store.admit(&keys, now, &self.policy).await? {
            Admission::Admitted(attempt) => Ok(CountedAttempt {
                store: Arc::clone(&self.store),
                clock: Arc::clone(&self.clock),
                attempt,
                _pass: pass,
            }),
            Admission::Locked { until } => Err(ThrottleError::TooManyAttempts {
                retry_after_secs: retry_after_secs(until, now),
            }),
        }
    }

    /// Clears key 2 of `email` (a completed password reset).
    pub async fn clear_account(&self, email: &Email) -> Result<(), Fault> {
        self.store.clear_account(email.as_str()).await
    }

    /// The in-flight gates of an attempt: each key, with `threshold - 1` places.
    fn gates(&self, keys: &AttemptKeys) -> Vec<(String, usize)> {
        let places = ThrottlePolicy::in_flight_places;
        let policy = &self.policy;
        [
            keys.pair_key()
                .map(|key| (key, places(policy.threshold(CounterKind::Pair)))),
            keys.account_key()
                .map(|key| (key, places(policy.threshold(CounterKind::Account)))),
            keys.address_window_key()
                .map(|key| (key, places(policy.address.max))),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// An attempt counted as a failure, in flight. Settle it once its secret is checked;
/// dropping it without [`CountedAttempt::succeeded`] or [`CountedAttempt::refund`] leaves
/// it counted as the failure it is.
#[must_use = "settle the attempt: succeeded(), refund() or failed()"]
pub struct CountedAttempt {
    store: Arc<dyn LoginThrottle>,
    clock: Arc<dyn Clock>,
    attempt: AdmittedAttempt,
    _pass: InFlightPass,
}

impl std::fmt::Debug for CountedAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountedAttempt")
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl CountedAttempt {
    /// The login succeeded (its last factor did): keys 1 and 2 reset, the pair is known from
    /// now on; key 3 keeps every failure.
    pub async fn succeeded(self) -> Result<(), Fault> {
        let now = self.clock.now();
        self.store
            .settle(&self.attempt, Settlement::Succeeded, now)
            .await
    }

    /// The attempt neither counts nor resets: a right password whose login a second factor
    /// must still complete (that step begins its own attempt).
    pub async fn refund(self) -> Result<(), Fault> {
        let now = self.clock.now();
        self.store
            .settle(&self.attempt, Settlement::Refunded, now)
            .await
    }

    /// The secret was wrong: the attempt stays counted.
    pub fn failed(self) {}

    /// Whether the pair had logged in recently (keys 2 and 3 did not apply).
    pub fn known_pair(&self) -> bool {
        self.attempt.known_pair
    }
}

/// A per-address budget for requests that need no login (starting a passkey or OAuth
/// ceremony: `CEREMONY_MAX_PER_ADDRESS` per minute), kept in the database like the login keys.
#[derive(Clone)]
pub struct AddressBudget {
    store: Arc<dyn LoginThrottle>,
    scope: &'static str,
    limit: WindowLimit,
    clock: Arc<dyn Clock>,
}

impl AddressBudget {
    /// A budget named `scope` (its keys are `<scope>:<address>`) of `limit`.
    pub fn new(
        store: Arc<dyn LoginThrottle>,
        scope: &'static str,
        limit: WindowLimit,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            scope,
            limit,
            clock,
        }
    }

    /// Spends one request of `client`'s address; `TooManyAttempts` (nothing spent) beyond
    /// the limit. A client without a known address is not limited here.
    pub async fn spend(&self, client: &ClientInfo) -> Result<(), ThrottleError> {
        let Some(address) = AddressKey::of_client(client) else {
            return Ok(());
        };
        let now = self.clock.now();
        let key = budget_key(self.scope, &address);
        match self.store.spend(&key, &self.limit, now).await? {
            Spend::Spent => Ok(()),
            Spend::ExhaustedUntil(until) => Err(ThrottleError::TooManyAttempts {
                retry_after_secs: retry_after_secs(until, now),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClock;
    use crate::ports::MockLoginThrottle;
    use chrono::{DateTime, TimeDelta, TimeZone, Utc};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
    }

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now());
        Arc::new(clock)
    }

    fn client(address: &str) -> ClientInfo {
        ClientInfo {
            user_agent: None,
            address: Some(address.to_owned()),
        }
    }

    #[tokio::test]
    async fn a_budget_spends_per_address_and_answers_when_to_retry() {
        let mut store = MockLoginThrottle::new();
        store
            .expect_spend()
            .withf(|key, limit, at| key == "ceremony:192.0.2.1" && limit.max == 60 && *at == now())
            .times(1)
            .returning(|_, _, _| Ok(Spend::Spent));
        store
            .expect_spend()
            .withf(|key, _, _| key == "ceremony:192.0.2.2")
            .times(1)
            .returning(|_, _, _| {
                Ok(Spend::ExhaustedUntil(
                    now() + TimeDelta::milliseconds(1_500),
                ))
            });
        let limit = WindowLimit {
            max: 60,
            window: TimeDelta::minutes(1),
        };
        let budget = AddressBudget::new(Arc::new(store), "ceremony", limit, clock());
        budget.spend(&client("192.0.2.1")).await.unwrap();
        let refused = budget.spend(&client("192.0.2.2")).await;
        assert!(
            matches!(
                refused,
                Err(ThrottleError::TooManyAttempts {
                    retry_after_secs: 2
                })
            ),
            "{refused:?}"
        );
        // No address, no budget (and no store call).
        budget.spend(&ClientInfo::default()).await.unwrap();
    }

    #[tokio::test]
    async fn an_attempt_is_settled_as_it_ended() {
        let mut store = MockLoginThrottle::new();
        store.expect_admit().times(3).returning(|keys, _, _| {
            Ok(Admission::Admitted(AdmittedAttempt {
                keys: keys.clone(),
                counters: Vec::new(),
                window_event: None,
                known_pair: false,
            }))
        });
        store
            .expect_settle()
            .withf(|_, settlement, _| *settlement == Settlement::Succeeded)
            .times(1)
            .returning(|_, _, _| Ok(()));
        store
            .expect_settle()
            .withf(|_, settlement, _| *settlement == Settlement::Refunded)
            .times(1)
            .returning(|_, _, _| Ok(()));
        let throttle = Throttle::new(Arc::new(store), ThrottlePolicy::default(), clock());
        let email = Email::parse("ann@example.com").unwrap();
        let keys = AttemptKeys::account(&email, &client("192.0.2.1"));
        throttle
            .begin(keys.clone())
            .await
            .unwrap()
            .succeeded()
            .await
            .unwrap();
        throttle
            .begin(keys.clone())
            .await
            .unwrap()
            .refund()
            .await
            .unwrap();
        // A failure settles nothing: it was counted when it began.
        throttle.begin(keys).await.unwrap().failed();
        assert_eq!(throttle.in_flight.tracked_keys(), 0);
    }
}
