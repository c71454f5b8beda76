//! The [`LoginThrottle`] contract (three keys, budgets), checked against the Diesel store on
//! SQLite and on PostgreSQL, concurrency included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth_domain::throttle::{
    AddressKey, Admission, AdmittedAttempt, AttemptKeys, CounterKind, LoginThrottle, Settlement,
    Spend, ThrottlePolicy, WindowLimit,
};
use auth_domain::Email;
use auth_infra::testing::TestDatabase;
use auth_infra::{Database, DatabaseOptions};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

mod support;
use support::on_both_databases;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

/// Small limits: pair 5, account 8, address 12 per hour.
fn policy() -> ThrottlePolicy {
    ThrottlePolicy {
        pair_max_failures: 5,
        account_max_failures: 8,
        address: WindowLimit {
            max: 12,
            window: TimeDelta::hours(1),
        },
        ..ThrottlePolicy::default()
    }
}

fn keys(name: &str, ip: &str) -> AttemptKeys {
    let email = Email::parse(&format!("{name}@example.com")).unwrap();
    AttemptKeys::new(Some(&email), Some(AddressKey::of(ip.parse().unwrap())))
}

fn address_only(ip: &str) -> AttemptKeys {
    AttemptKeys::new(None, Some(AddressKey::of(ip.parse().unwrap())))
}

fn store(db: &TestDatabase, pool: u32) -> Database {
    let options = DatabaseOptions {
        max_connections: pool,
        ..DatabaseOptions::default()
    };
    Database::connect(&db.url, &options).unwrap()
}

async fn admit_with(
    store: &Database,
    keys: &AttemptKeys,
    at: DateTime<Utc>,
    policy: ThrottlePolicy,
) -> Admission {
    store.admit(keys, at, &policy).await.unwrap()
}

async fn admit(store: &Database, keys: &AttemptKeys, at: DateTime<Utc>) -> Admission {
    admit_with(store, keys, at, policy()).await
}

fn admitted(admission: Admission) -> AdmittedAttempt {
    match admission {
        Admission::Admitted(attempt) => attempt,
        Admission::Locked { until } => panic!("locked until {until}"),
    }
}

fn locked_until(admission: Admission) -> DateTime<Utc> {
    match admission {
        Admission::Locked { until } => until,
        Admission::Admitted(attempt) => panic!("admitted: {attempt:?}"),
    }
}

/// Counts `n` failed attempts at `at` on `keys`.
async fn fail(store: &Database, keys: &AttemptKeys, n: u32, at: DateTime<Utc>) {
    for _ in 0..n {
        admitted(admit(store, keys, at).await);
    }
}

async fn succeed(store: &Database, keys: &AttemptKeys, at: DateTime<Utc>) {
    let attempt = admitted(admit(store, keys, at).await);
    store
        .settle(&attempt, Settlement::Succeeded, at)
        .await
        .unwrap();
}

fn lock_set(attempt: &AdmittedAttempt, kind: CounterKind) -> Option<DateTime<Utc>> {
    attempt
        .counters
        .iter()
        .find(|counted| counted.kind == kind)
        .and_then(|counted| counted.lock_set)
}

async fn the_fifth_failure_locks_the_pair_and_a_lock_changes_nothing(db: TestDatabase) {
    let store = store(&db, 2);
    let here = keys("a", "192.0.2.1");
    fail(&store, &here, 4, t0()).await;
    let fifth = admitted(admit(&store, &here, t0()).await);
    assert_eq!(
        lock_set(&fifth, CounterKind::Pair),
        Some(t0() + TimeDelta::minutes(1))
    );
    assert_eq!(lock_set(&fifth, CounterKind::Account), None);
    // Locked attempts are not counted: however many come, the lock stays one minute.
    for seconds in [0, 10, 59] {
        let at = t0() + TimeDelta::seconds(seconds);
        assert_eq!(
            locked_until(admit(&store, &here, at).await),
            t0() + TimeDelta::minutes(1)
        );
    }
    // The same account from another address is not locked (key 1 is the pair's)…
    admitted(admit(&store, &keys("a", "192.0.2.2"), t0()).await);
    // …nor another account from this address.
    admitted(admit(&store, &keys("b", "192.0.2.1"), t0()).await);
}

async fn after_a_lock_each_further_failure_doubles_it(db: TestDatabase) {
    let store = store(&db, 2);
    let here = keys("a", "192.0.2.1");
    fail(&store, &here, 5, t0()).await;
    let mut at = t0() + TimeDelta::minutes(1);
    for minutes in [2, 4, 8, 15, 15] {
        let attempt = admitted(admit(&store, &here, at).await);
        let until = at + TimeDelta::minutes(minutes);
        assert_eq!(lock_set(&attempt, CounterKind::Pair), Some(until));
        assert_eq!(
            locked_until(admit(&store, &here, at + TimeDelta::seconds(1)).await),
            until
        );
        at = until;
    }
}

async fn the_account_key_locks_the_account_from_every_address(db: TestDatabase) {
    let store = store(&db, 2);
    for n in 1..=8 {
        admitted(admit(&store, &keys("victim", &format!("198.51.100.{n}")), t0()).await);
    }
    let until = locked_until(admit(&store, &keys("victim", "198.51.100.99"), t0()).await);
    assert_eq!(until, t0() + TimeDelta::minutes(1));
    // Another account from those addresses is fine.
    admitted(admit(&store, &keys("other", "198.51.100.1"), t0()).await);
}

async fn successes_neither_reset_nor_refill_the_address_window(db: TestDatabase) {
    let store = store(&db, 2);
    let ip = "192.0.2.1";
    // The attacker's own account, logged in from the address before (so a known pair)…
    succeed(&store, &keys("attacker", ip), t0()).await;
    // …sprays other accounts: twelve failures fill the window.
    for n in 0..12 {
        fail(&store, &keys(&format!("sprayed{n}"), ip), 1, t0()).await;
    }
    let until = locked_until(admit(&store, &keys("next", ip), t0()).await);
    assert_eq!(until, t0() + TimeDelta::hours(1));
    // Any number of the attacker's own logins (a known pair, so still let through)…
    for _ in 0..5 {
        succeed(&store, &keys("attacker", ip), t0()).await;
    }
    // …leave the window as full as it was.
    assert_eq!(
        locked_until(admit(&store, &keys("next", ip), t0()).await),
        until
    );
    // A new account's first success (not a known pair) cannot get in either, and a success
    // of a pair counted on the window only takes its own event back.
    let later = t0() + TimeDelta::minutes(30);
    locked_until(admit(&store, &keys("newcomer", ip), later).await);
    // The window has room when the oldest failures leave it.
    admitted(admit(&store, &keys("next", ip), until).await);
}

async fn a_success_takes_back_only_its_own_window_event(db: TestDatabase) {
    let store = store(&db, 2);
    let ip = "192.0.2.1";
    for n in 0..11 {
        fail(&store, &keys(&format!("sprayed{n}"), ip), 1, t0()).await;
    }
    // The twelfth is a right password: while in flight it fills the window…
    let right = admitted(admit(&store, &keys("owner", ip), t0()).await);
    assert!(right.window_event.is_some());
    locked_until(admit(&store, &keys("next", ip), t0()).await);
    // …and its success frees exactly its own place.
    store
        .settle(&right, Settlement::Succeeded, t0())
        .await
        .unwrap();
    fail(&store, &keys("next", ip), 1, t0()).await;
    locked_until(admit(&store, &keys("after", ip), t0()).await);
}

async fn a_refund_takes_the_attempt_back_without_resetting(db: TestDatabase) {
    let store = store(&db, 2);
    let here = keys("a", "192.0.2.1");
    fail(&store, &here, 3, t0()).await;
    // A right password whose login a second factor must complete: refunded.
    let right = admitted(admit(&store, &here, t0()).await);
    store
        .settle(&right, Settlement::Refunded, t0())
        .await
        .unwrap();
    // Still three failures (not zero, not four): the fifth from now locks.
    fail(&store, &here, 1, t0()).await;
    let fifth = admitted(admit(&store, &here, t0()).await);
    assert!(lock_set(&fifth, CounterKind::Pair).is_some());
    // A refund of a lock-setting attempt restores the lock it found.
    store
        .settle(&fifth, Settlement::Refunded, t0())
        .await
        .unwrap();
    let again = admitted(admit(&store, &here, t0()).await);
    assert!(lock_set(&again, CounterKind::Pair).is_some());
    locked_until(admit(&store, &here, t0()).await);
}

async fn a_known_pair_is_exempt_from_the_account_and_address_keys(db: TestDatabase) {
    let store = store(&db, 2);
    let home = keys("owner", "203.0.113.5");
    succeed(&store, &home, t0()).await;
    // An attacker elsewhere exhausts the account key…
    for n in 1..=8 {
        fail(&store, &keys("owner", &format!("198.51.100.{n}")), 1, t0()).await;
    }
    locked_until(admit(&store, &keys("owner", "198.51.100.50"), t0()).await);
    // …and someone sharing the owner's address fills its window.
    for n in 0..12 {
        fail(
            &store,
            &keys(&format!("sprayed{n}"), "203.0.113.5"),
            1,
            t0(),
        )
        .await;
    }
    locked_until(admit(&store, &keys("stranger", "203.0.113.5"), t0()).await);
    // The owner at home is let through, counted on neither key 2 nor key 3.
    let attempt = admitted(admit(&store, &home, t0()).await);
    assert!(attempt.known_pair);
    assert_eq!(attempt.window_event, None);
    assert_eq!(attempt.counters.len(), 1);
    assert_eq!(attempt.counters[0].kind, CounterKind::Pair);
    // Key 1 still applies to the pair: five typos at home lock it.
    fail(&store, &home, 4, t0()).await;
    locked_until(admit(&store, &home, t0()).await);
}

async fn a_pair_is_known_for_the_ttl_only(db: TestDatabase) {
    let store = store(&db, 2);
    let home = keys("owner", "203.0.113.5");
    succeed(&store, &home, t0()).await;
    let later = t0() + policy().known_pair_ttl;
    for n in 1..=8 {
        fail(&store, &keys("owner", &format!("198.51.100.{n}")), 1, later).await;
    }
    // Thirty days on, the pair is a stranger again: the account lock applies.
    locked_until(admit(&store, &home, later).await);
}

async fn the_address_window_slides(db: TestDatabase) {
    let store = store(&db, 2);
    let ip = "192.0.2.1";
    // 6 failures at t0, 6 at t0 + 40 min: full.
    for n in 0..6 {
        fail(&store, &keys(&format!("early{n}"), ip), 1, t0()).await;
    }
    let t40 = t0() + TimeDelta::minutes(40);
    for n in 0..6 {
        fail(&store, &keys(&format!("late{n}"), ip), 1, t40).await;
    }
    assert_eq!(
        locked_until(admit(&store, &keys("x", ip), t40).await),
        t0() + TimeDelta::hours(1)
    );
    // At t0 + 1 h the early six have left: six more fit, not seven.
    let t60 = t0() + TimeDelta::hours(1);
    for n in 0..6 {
        fail(&store, &keys(&format!("next{n}"), ip), 1, t60).await;
    }
    assert_eq!(
        locked_until(admit(&store, &keys("x", ip), t60).await),
        t40 + TimeDelta::hours(1)
    );
    // Attempts that name no account (failed passkey logins) count on the same window.
    let t100 = t40 + TimeDelta::hours(1);
    admitted(admit(&store, &address_only(ip), t100).await);
    fail(&store, &address_only(ip), 5, t100).await;
    locked_until(admit(&store, &address_only(ip), t100).await);
    locked_until(admit(&store, &keys("y", ip), t100).await);
}

async fn the_latest_lock_of_several_keys_is_reported(db: TestDatabase) {
    let store = store(&db, 2);
    let here = keys("a", "192.0.2.1");
    // The pair: locked until t0 + 2 min (five at t0 - 1 min, a sixth at t0).
    fail(&store, &here, 5, t0() - TimeDelta::minutes(1)).await;
    fail(&store, &here, 1, t0()).await;
    // The account (six failures so far): its eighth locks it until t0 + 1 min.
    for n in 10..12 {
        fail(&store, &keys("a", &format!("192.0.2.{n}")), 1, t0()).await;
    }
    assert_eq!(
        locked_until(admit(&store, &here, t0()).await),
        t0() + TimeDelta::minutes(2)
    );
    // A locked attempt counted on neither key: the account unlocks after one minute still.
    admitted(
        admit(
            &store,
            &keys("a", "192.0.2.99"),
            t0() + TimeDelta::minutes(1),
        )
        .await,
    );
}

async fn quiet_keys_are_forgotten(db: TestDatabase) {
    let store = store(&db, 2);
    let here = keys("a", "192.0.2.1");
    fail(&store, &here, 5, t0()).await; // pair locked until t0 + 1 min
    let lock_end = t0() + TimeDelta::minutes(1);
    let almost = lock_end + TimeDelta::hours(24) - TimeDelta::seconds(1);
    // A day after the last attempt and lock: a fresh start, and the rows can be deleted.
    let quiet = almost + TimeDelta::hours(25);
    let fresh = admitted(admit(&store, &here, quiet).await);
    assert_eq!(lock_set(&fresh, CounterKind::Pair), None);
    let much_later = quiet + TimeDelta::days(31);
    let deleted = store
        .forget_quiet_login_attempts(much_later, policy())
        .await
        .unwrap();
    // The pair's and the account's counters, and the address window.
    assert_eq!(deleted, 3);
}

async fn a_completed_reset_clears_the_account_key(db: TestDatabase) {
    let store = store(&db, 2);
    for n in 1..=8 {
        fail(&store, &keys("victim", &format!("198.51.100.{n}")), 1, t0()).await;
    }
    locked_until(admit(&store, &keys("victim", "203.0.113.1"), t0()).await);
    store.clear_account("victim@example.com").await.unwrap();
    admitted(admit(&store, &keys("victim", "203.0.113.1"), t0()).await);
}

async fn a_budget_allows_its_max_per_window(db: TestDatabase) {
    let store = store(&db, 2);
    let limit = WindowLimit {
        max: 3,
        window: TimeDelta::minutes(1),
    };
    for _ in 0..3 {
        assert_eq!(
            store
                .spend("ceremony:192.0.2.1", &limit, t0())
                .await
                .unwrap(),
            Spend::Spent
        );
    }
    assert_eq!(
        store
            .spend("ceremony:192.0.2.1", &limit, t0())
            .await
            .unwrap(),
        Spend::ExhaustedUntil(t0() + TimeDelta::minutes(1))
    );
    assert_eq!(
        store
            .spend("ceremony:192.0.2.2", &limit, t0())
            .await
            .unwrap(),
        Spend::Spent
    );
    let later = t0() + TimeDelta::minutes(1);
    assert_eq!(
        store
            .spend("ceremony:192.0.2.1", &limit, later)
            .await
            .unwrap(),
        Spend::Spent
    );
}

/// Concurrent failures all count: with the thresholds at N, N concurrent attempts are all
/// admitted and leave every key locked. A lost update would leave one open.
async fn concurrent_failures_all_count(db: TestDatabase) {
    const N: u32 = 24;
    let policy = ThrottlePolicy {
        pair_max_failures: N,
        account_max_failures: N,
        address: WindowLimit {
            max: N,
            window: TimeDelta::hours(1),
        },
        ..ThrottlePolicy::default()
    };
    let store = Arc::new(store(&db, 8));
    let here = keys("victim", "192.0.2.9");
    let attempts: Vec<_> = (0..N)
        .map(|_| {
            let store = Arc::clone(&store);
            let keys = here.clone();
            tokio::spawn(async move { store.admit(&keys, t0(), &policy).await })
        })
        .collect();
    for attempt in attempts {
        admitted(attempt.await.unwrap().unwrap());
    }
    // Each key on its own: the pair (and account) here, the account from elsewhere, the
    // address for another account.
    locked_until(admit_with(&store, &here, t0(), policy).await);
    locked_until(admit_with(&store, &keys("victim", "192.0.2.10"), t0(), policy).await);
    locked_until(admit_with(&store, &address_only("192.0.2.9"), t0(), policy).await);
}

/// A burst of concurrent guesses gets exactly the threshold's checks: the rest find the key
/// locked by the attempts counted before them — on the pair key and on the address window.
async fn a_concurrent_burst_gets_exactly_the_threshold_through(db: TestDatabase) {
    let store = Arc::new(store(&db, 8));
    let burst = |keys: Vec<AttemptKeys>| {
        let store = Arc::clone(&store);
        async move {
            let attempts: Vec<_> = keys
                .into_iter()
                .map(|keys| {
                    let store = Arc::clone(&store);
                    tokio::spawn(async move { store.admit(&keys, t0(), &policy()).await })
                })
                .collect();
            let mut through = 0;
            for attempt in attempts {
                if let Admission::Admitted(_) = attempt.await.unwrap().unwrap() {
                    through += 1;
                }
            }
            through
        }
    };
    let one_pair = (0..30).map(|_| keys("victim", "192.0.2.1")).collect();
    assert_eq!(burst(one_pair).await, 5);
    let sprayed = (0..30)
        .map(|n| keys(&format!("user{n}"), "192.0.2.2"))
        .collect();
    assert_eq!(burst(sprayed).await, 12);
}

/// Successes delete the counters' rows while other attempts on them are being admitted:
/// admission makes the rows again rather than failing ("record not found" was a 500 at
/// /login when correct logins of one account ran concurrently on PostgreSQL).
async fn admissions_survive_concurrent_successes(db: TestDatabase) {
    let store = Arc::new(store(&db, 8));
    let policy = ThrottlePolicy {
        pair_max_failures: 1000,
        account_max_failures: 1000,
        address: WindowLimit {
            max: 1000,
            window: TimeDelta::hours(1),
        },
        ..ThrottlePolicy::default()
    };
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..25 {
                    // One account from two addresses: pairs differ, the account is shared.
                    let here = keys("busy", &format!("192.0.2.{}", worker % 2));
                    let attempt = admitted(store.admit(&here, t0(), &policy).await.unwrap());
                    store
                        .settle(&attempt, Settlement::Succeeded, t0())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}

/// Two stores (two server instances) on one database share the counters.
async fn two_instances_share_the_counters(db: TestDatabase) {
    let (first, second) = (store(&db, 2), store(&db, 2));
    let here = keys("a", "192.0.2.1");
    fail(&first, &here, 3, t0()).await;
    fail(&second, &here, 2, t0()).await;
    locked_until(admit(&first, &here, t0()).await);
    locked_until(admit(&second, &here, t0()).await);
}

on_both_databases!(
    the_fifth_failure_locks_the_pair_and_a_lock_changes_nothing,
    after_a_lock_each_further_failure_doubles_it,
    the_account_key_locks_the_account_from_every_address,
    successes_neither_reset_nor_refill_the_address_window,
    a_success_takes_back_only_its_own_window_event,
    a_refund_takes_the_attempt_back_without_resetting,
    a_known_pair_is_exempt_from_the_account_and_address_keys,
    a_pair_is_known_for_the_ttl_only,
    the_address_window_slides,
    the_latest_lock_of_several_keys_is_reported,
    quiet_keys_are_forgotten,
    a_completed_reset_clears_the_account_key,
    a_budget_allows_its_max_per_window,
    concurrent_failures_all_count,
    a_concurrent_burst_gets_exactly_the_threshold_through,
    admissions_survive_concurrent_successes,
    two_instances_share_the_counters,
);
