//! The [`LoginThrottle`] contract, checked against the Diesel store on SQLite and on
//! PostgreSQL, concurrency included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cloned_ref_to_slice_refs
)]

use std::sync::Arc;

use auth_domain::throttle::{
    Admission, AdmittedAttempt, LoginThrottle, ThrottleKey, ThrottlePolicy,
};
use auth_infra::testing::TestDatabase;
use auth_infra::{Database, DatabaseOptions};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn policy(max_failures: u32) -> ThrottlePolicy {
    ThrottlePolicy {
        max_failures,
        lockout: TimeDelta::minutes(1),
        lockout_max: TimeDelta::minutes(15),
        forget_after: TimeDelta::hours(24),
    }
}

fn account(name: &str) -> ThrottleKey {
    ThrottleKey::Account(format!("{name}@example.com"))
}

fn address(ip: &str) -> ThrottleKey {
    ThrottleKey::address(ip.parse().unwrap())
}

fn store(db: &TestDatabase, pool: u32) -> Database {
    let options = DatabaseOptions {
        max_connections: pool,
        ..DatabaseOptions::default()
    };
    Database::connect(&db.url, &options).unwrap()
}

async fn admit(
    store: &Database,
    keys: &[ThrottleKey],
    at: DateTime<Utc>,
    policy: ThrottlePolicy,
) -> Admission {
    store.admit(keys, at, &policy).await.unwrap()
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
async fn fail(store: &Database, keys: &[ThrottleKey], n: u32, at: DateTime<Utc>) {
    for _ in 0..n {
        admitted(admit(store, keys, at, policy(5)).await);
    }
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(auth_infra::testing::TestDatabase::sqlite()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(auth_infra::testing::TestDatabase::postgres()).await
                }
            )*
        }
    };
}

async fn the_fifth_failure_locks_and_a_lock_changes_nothing(db: TestDatabase) {
    let store = store(&db, 2);
    let keys = [account("a")];
    fail(&store, &keys, 4, t0()).await;
    let fifth = admitted(admit(&store, &keys, t0(), policy(5)).await);
    assert_eq!(fifth.keys.len(), 1);
    assert_eq!(fifth.keys[0].lock_set, Some(t0() + TimeDelta::minutes(1)));
    assert_eq!(fifth.keys[0].lock_before, None);

    // Locked attempts are not counted: however many come, the lock stays one minute.
    for seconds in [0, 10, 59] {
        let at = t0() + TimeDelta::seconds(seconds);
        assert_eq!(
            locked_until(admit(&store, &keys, at, policy(5)).await),
            t0() + TimeDelta::minutes(1)
        );
    }
    // Other keys are untouched.
    admitted(admit(&store, &[account("b")], t0(), policy(5)).await);
}

async fn after_a_lock_each_further_failure_doubles_it(db: TestDatabase) {
    let store = store(&db, 2);
    let keys = [account("a")];
    fail(&store, &keys, 5, t0()).await;
    let mut at = t0() + TimeDelta::minutes(1);
    for minutes in [2, 4, 8, 15, 15] {
        let attempt = admitted(admit(&store, &keys, at, policy(5)).await);
        let until = at + TimeDelta::minutes(minutes);
        assert_eq!(attempt.keys[0].lock_set, Some(until));
        assert_eq!(
            locked_until(admit(&store, &keys, at + TimeDelta::seconds(1), policy(5)).await),
            until
        );
        at = until;
    }
}

async fn the_latest_lock_of_several_keys_is_reported(db: TestDatabase) {
    let store = store(&db, 2);
    let (email, ip) = (account("a"), address("192.0.2.1"));
    // The address: locked until t0, then a sixth failure at t0 locks it for 2 minutes.
    fail(&store, &[ip.clone()], 5, t0() - TimeDelta::minutes(1)).await;
    fail(&store, &[ip.clone()], 1, t0()).await;
    fail(&store, &[email.clone()], 5, t0()).await; // account locked for 1 minute
    let until = locked_until(admit(&store, &[email.clone(), ip.clone()], t0(), policy(5)).await);
    assert_eq!(until, t0() + TimeDelta::minutes(2));
    // A locked attempt counted on neither key: the account unlocks after one minute still.
    let later = t0() + TimeDelta::minutes(1);
    admitted(admit(&store, &[email], later, policy(5)).await);
}

async fn a_success_clears_the_account_and_refunds_the_address(db: TestDatabase) {
    let store = store(&db, 2);
    let (email, ip) = (account("a"), address("192.0.2.1"));
    let keys = [email.clone(), ip.clone()];
    fail(&store, &keys, 4, t0()).await;
    // The fifth attempt locks both keys for as long as it is in flight…
    let fifth = admitted(admit(&store, &keys, t0(), policy(5)).await);
    locked_until(admit(&store, &[ip.clone()], t0(), policy(5)).await);
    // …and succeeds: the account starts again from zero, the address is back to 4 failures
    // and unlocked.
    store.record_success(&fifth).await.unwrap();
    fail(&store, &[email.clone()], 4, t0()).await;
    admitted(admit(&store, &[email.clone()], t0(), policy(5)).await);
    locked_until(admit(&store, &[email], t0(), policy(5)).await);
    let fifth_on_address = admitted(admit(&store, &[ip.clone()], t0(), policy(5)).await);
    assert_eq!(
        fifth_on_address.keys[0].lock_set,
        Some(t0() + TimeDelta::minutes(1))
    );
    locked_until(admit(&store, &[ip], t0(), policy(5)).await);
}

async fn a_success_after_an_expired_lock_restores_that_lock(db: TestDatabase) {
    let store = store(&db, 2);
    let ip = address("2001:db8::1");
    fail(&store, &[ip.clone()], 5, t0()).await; // locked until t0 + 1 min
    let later = t0() + TimeDelta::minutes(1);
    let sixth = admitted(admit(&store, &[ip.clone()], later, policy(5)).await);
    assert_eq!(sixth.keys[0].lock_before, Some(later));
    assert_eq!(sixth.keys[0].lock_set, Some(later + TimeDelta::minutes(2)));
    store.record_success(&sixth).await.unwrap();
    // The success does not leave the address locked for the two minutes a failure would have.
    let seventh = admitted(admit(&store, &[ip.clone()], later, policy(5)).await);
    assert_eq!(
        seventh.keys[0].lock_set,
        Some(later + TimeDelta::minutes(2))
    );
}

async fn quiet_keys_are_forgotten(db: TestDatabase) {
    let store = store(&db, 2);
    let keys = [account("a")];
    fail(&store, &keys, 5, t0()).await; // locked until t0 + 1 min
    let lock_end = t0() + TimeDelta::minutes(1);
    let almost = lock_end + TimeDelta::hours(24) - TimeDelta::seconds(1);
    // Still remembered: this sixth failure locks at once.
    assert_eq!(
        store
            .forget_quiet_login_attempts(almost, policy(5))
            .await
            .unwrap(),
        0
    );
    let sixth = admitted(admit(&store, &keys, almost, policy(5)).await);
    assert!(sixth.keys[0].lock_set.is_some());

    // A day after the last attempt and lock: a fresh start, and the row can be deleted.
    let quiet = almost + TimeDelta::minutes(2) + TimeDelta::hours(24);
    let fresh = admitted(admit(&store, &keys, quiet, policy(5)).await);
    assert_eq!(fresh.keys[0].lock_set, None);
    let much_later = quiet + TimeDelta::hours(25);
    assert_eq!(
        store
            .forget_quiet_login_attempts(much_later, policy(5))
            .await
            .unwrap(),
        1
    );
}

/// Concurrent failures on one key all count: with the threshold at N, N concurrent
/// attempts are all admitted and leave the key locked. A lost update would leave it open.
async fn concurrent_failures_all_count(db: TestDatabase) {
    const N: u32 = 24;
    let store = Arc::new(store(&db, 8));
    let keys = [account("victim"), address("192.0.2.9")];
    let attempts: Vec<_> = (0..N)
        .map(|_| {
            let store = Arc::clone(&store);
            let keys = keys.clone();
            tokio::spawn(async move { store.admit(&keys, t0(), &policy(N)).await })
        })
        .collect();
    for attempt in attempts {
        admitted(attempt.await.unwrap().unwrap());
    }
    for key in keys {
        locked_until(admit(&store, &[key], t0(), policy(N)).await);
    }
}

/// A burst of concurrent guesses gets exactly `max_failures` password checks: the rest find
/// the key locked by the attempts counted before them.
async fn a_concurrent_burst_gets_exactly_the_threshold_through(db: TestDatabase) {
    let store = Arc::new(store(&db, 8));
    let burst: Vec<_> = (0..30)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.admit(&[account("victim")], t0(), &policy(5)).await })
        })
        .collect();
    let mut through = 0;
    for attempt in burst {
        if let Admission::Admitted(_) = attempt.await.unwrap().unwrap() {
            through += 1;
        }
    }
    assert_eq!(through, 5);
}

/// Successes delete the account key's row while other attempts on it are being admitted:
/// admission makes the row again rather than failing ("record not found" was a 500 at
/// /login when correct logins of one account ran concurrently on PostgreSQL).
async fn admissions_survive_concurrent_successes(db: TestDatabase) {
    let store = Arc::new(store(&db, 8));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..25 {
                    let keys = [account("busy")];
                    let attempt = admitted(store.admit(&keys, t0(), &policy(1000)).await.unwrap());
                    store.record_success(&attempt).await.unwrap();
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
    let keys = [account("a")];
    fail(&first, &keys, 3, t0()).await;
    fail(&second, &keys, 2, t0()).await;
    locked_until(admit(&first, &keys, t0(), policy(5)).await);
    locked_until(admit(&second, &keys, t0(), policy(5)).await);
}

on_both_databases!(
    the_fifth_failure_locks_and_a_lock_changes_nothing,
    after_a_lock_each_further_failure_doubles_it,
    the_latest_lock_of_several_keys_is_reported,
    a_success_clears_the_account_and_refunds_the_address,
    a_success_after_an_expired_lock_restores_that_lock,
    quiet_keys_are_forgotten,
    concurrent_failures_all_count,
    a_concurrent_burst_gets_exactly_the_threshold_through,
    admissions_survive_concurrent_successes,
    two_instances_share_the_counters,
);
