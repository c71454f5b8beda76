//! [`LoginThrottle`] on the shared store, so every server instance on the database sees the
//! same counters: `login_attempts` (keys 1 and 2, consecutive failures), `throttle_windows`
//! (key 3 and per-address budgets, sliding windows) and `login_known_pairs` (the pairs exempt
//! from keys 2 and 3).
//!
//! Each call is one transaction whose first statement writes, so it takes the row's lock
//! (PostgreSQL) or the database's write lock (SQLite) before anything is read: concurrent
//! attempts on one key are counted one after the other and none is lost. Every transaction
//! takes its locks in one order — the pair's counter, the account's counter, the address's
//! window, the known pair — so two never wait for each other crosswise.

mod counters;
mod window;

use async_trait::async_trait;
use auth_domain::ports::LoginThrottle;
use auth_domain::throttle::{
    account_key, Admission, AdmittedAttempt, AttemptKeys, CountedKey, CounterKind, Settlement,
    Spend, ThrottlePolicy, WindowLimit,
};
use auth_domain::Fault;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as QueryError;

use super::rows::{naive, utc};
use super::schema::login_known_pairs;
use super::{AnyConnection, Database, StoreError};
use window::Added;

/// Roughly one admission in this many also deletes the counters, windows and known pairs that
/// no longer matter, so keys sprayed by an attacker do not pile up.
const PRUNE_ONE_IN: u32 = 256;

/// How the admission transaction ends when it does not commit.
enum AdmitAbort {
    Query(QueryError),
    /// A key is locked until then: roll back, nothing is counted.
    Locked(DateTime<Utc>),
}

impl From<QueryError> for AdmitAbort {
    fn from(error: QueryError) -> Self {
        Self::Query(error)
    }
}

fn is_known_pair(
    conn: &mut AnyConnection,
    pair_key: &str,
    now: DateTime<Utc>,
    policy: &ThrottlePolicy,
) -> QueryResult<bool> {
    let since = naive(now - policy.known_pair_ttl);
    let found: Option<NaiveDateTime> = login_known_pairs::table
        .find(pair_key)
        .select(login_known_pairs::last_success_at)
        .first(conn)
        .optional()?;
    Ok(found.is_some_and(|last| last > since))
}

fn remember_pair(conn: &mut AnyConnection, pair_key: &str, now: NaiveDateTime) -> QueryResult<()> {
    let row = (
        login_known_pairs::pair_key.eq(pair_key),
        login_known_pairs::last_success_at.eq(now),
    );
    match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(login_known_pairs::table)
            .values(row)
            .on_conflict(login_known_pairs::pair_key)
            .do_update()
            .set(login_known_pairs::last_success_at.eq(now))
            .execute(pg),
        AnyConnection::Sqlite(lite) => diesel::replace_into(login_known_pairs::table)
            .values(row)
            .execute(lite),
    }
    .map(drop)
}

fn admit(
    conn: &mut AnyConnection,
    keys: &AttemptKeys,
    now: DateTime<Utc>,
    policy: &ThrottlePolicy,
) -> Result<Admission, StoreError> {
    let at = naive(now);
    let outcome = conn.transaction::<_, AdmitAbort, _>(|conn| {
        let mut counted = Vec::new();
        let pair = keys.pair_key();
        if let Some(pair) = &pair {
            counted.push((
                CounterKind::Pair,
                pair.clone(),
                counters::count(conn, pair, at)?,
            ));
        }
        // Read under the pair's lock: a pair known now stays known for this attempt.
        let known_pair = match &pair {
            Some(pair) => is_known_pair(conn, pair, now, policy)?,
            None => false,
        };
        if !known_pair {
            if let Some(account) = keys.account_key() {
                let row = counters::count(conn, &account, at)?;
                counted.push((CounterKind::Account, account, row));
            }
        }
        let mut latest_lock = counted
            .iter()
            .filter_map(|(_, _, row)| row.locked_until.map(utc))
            .filter(|until| *until > now)
            .max();
        let mut window = None;
        if let Some(key) = keys.address_window_key().filter(|_| !known_pair) {
            window::lock(conn, &key, at)?;
            match window::add(conn, &key, &policy.address, now)? {
                (Added::FullUntil(until), _) => {
                    latest_lock = latest_lock.max(Some(until));
                }
                (Added::At(event), events) => window = Some((key, event, events)),
            }
        }
        if let Some(until) = latest_lock {
            return Err(AdmitAbort::Locked(until));
        }
        let mut counters_out = Vec::with_capacity(counted.len());
        for (kind, key, row) in counted {
            let lock_before = row.locked_until.map(utc);
            let failures = if policy.is_forgotten(utc(row.last_attempt_at), lock_before, now) {
                1
            } else {
                u32::try_from(row.failures).unwrap_or(1).max(1)
            };
            let lock_set = policy.lock_until(policy.threshold(kind), failures, now);
            counters::set(conn, &key, failures, at, lock_set.map(naive))?;
            counters_out.push(CountedKey {
                kind,
                key,
                lock_before,
                lock_set,
            });
        }
        let window_event = match window {
            Some((key, event, events)) => {
                window::write(conn, &key, &events, &policy.address, now)?;
                Some(event)
            }
            None => None,
        };
        Ok(AdmittedAttempt {
            keys: keys.clone(),
            counters: counters_out,
            window_event,
            known_pair,
        })
    });
    match outcome {
        Ok(attempt) => Ok(Admission::Admitted(attempt)),
        Err(AdmitAbort::Locked(until)) => Ok(Admission::Locked { until }),
        Err(AdmitAbort::Query(error)) => Err(error.into()),
    }
}

fn settle(
    conn: &mut AnyConnection,
    attempt: &AdmittedAttempt,
    settlement: Settlement,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        match settlement {
            Settlement::Succeeded => {
                // Keys 1 and 2 reset, counted or not (a known pair's success resets its
                // account too).
                for key in [attempt.keys.pair_key(), attempt.keys.account_key()]
                    .into_iter()
                    .flatten()
                {
                    counters::clear(conn, &key)?;
                }
            }
            Settlement::Refunded => {
                for counted in &attempt.counters {
                    counters::take_back(
                        conn,
                        &counted.key,
                        counted.lock_set.map(naive),
                        counted.lock_before.map(naive),
                    )?;
                }
            }
        }
        if let (Some(key), Some(event)) = (attempt.keys.address_window_key(), attempt.window_event)
        {
            window::take_back(conn, &key, event, now)?;
        }
        if settlement == Settlement::Succeeded {
            if let Some(pair) = attempt.keys.pair_key() {
                remember_pair(conn, &pair, naive(now))?;
            }
        }
        Ok(())
    })
}

fn spend(
    conn: &mut AnyConnection,
    key: &str,
    limit: &WindowLimit,
    now: DateTime<Utc>,
) -> QueryResult<Spend> {
    conn.transaction(|conn| {
        window::lock(conn, key, naive(now))?;
        match window::add(conn, key, limit, now)? {
            (Added::FullUntil(until), _) => Ok(Spend::ExhaustedUntil(until)),
            (Added::At(_), events) => {
                window::write(conn, key, &events, limit, now)?;
                Ok(Spend::Spent)
            }
        }
    })
}

/// Deletes what no longer matters at `now`: counters [`ThrottlePolicy::is_forgotten`] would
/// restart, windows whose events all left, pairs no longer known. Returns how many rows.
fn forget_quiet(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    policy: &ThrottlePolicy,
) -> QueryResult<usize> {
    let counters = counters::forget_quiet(conn, naive(now - policy.forget_after))?;
    let windows = window::forget_expired(conn, now)?;
    let pairs = diesel::delete(
        login_known_pairs::table
            .filter(login_known_pairs::last_success_at.le(naive(now - policy.known_pair_ttl))),
    )
    .execute(conn)?;
    Ok(counters + windows + pairs)
}

impl Database {
    /// Deletes every throttle row that no longer matters at `now` (see [`forget_quiet`]);
    /// returns how many. [`LoginThrottle::admit`] does it now and then by itself.
    pub async fn forget_quiet_login_attempts(
        &self,
        now: DateTime<Utc>,
        policy: ThrottlePolicy,
    ) -> Result<usize, Fault> {
        self.run(move |conn| Ok(forget_quiet(conn, now, &policy)?))
            .await
            .map_err(Fault::from)
    }
}

#[async_trait]
impl LoginThrottle for Database {
    async fn admit(
        &self,
        keys: &AttemptKeys,
        now: DateTime<Utc>,
        policy: &ThrottlePolicy,
    ) -> Result<Admission, Fault> {
        let keys = keys.clone();
        let policy = *policy;
        let prune = rand::random_ratio(1, PRUNE_ONE_IN);
        self.run(move |conn| {
            let admission = admit(conn, &keys, now, &policy)?;
            if prune {
                if let Err(error) = forget_quiet(conn, now, &policy) {
                    log::warn!("could not delete quiet login counters: {error}");
                }
            }
            Ok(admission)
        })
        .await
        .map_err(Fault::from)
    }

    async fn settle(
        &self,
        attempt: &AdmittedAttempt,
        settlement: Settlement,
        now: DateTime<Utc>,
    ) -> Result<(), Fault> {
        let attempt = attempt.clone();
        self.run(move |conn| Ok(settle(conn, &attempt, settlement, now)?))
            .await
            .map_err(Fault::from)
    }

    async fn clear_account(&self, email: &str) -> Result<(), Fault> {
        let key = account_key(email);
        self.run(move |conn| Ok(counters::clear(conn, &key)?))
            .await
            .map_err(Fault::from)
    }

    async fn spend(
        &self,
        key: &str,
        limit: &WindowLimit,
        now: DateTime<Utc>,
    ) -> Result<Spend, Fault> {
        let (key, limit) = (key.to_owned(), *limit);
        self.run(move |conn| Ok(spend(conn, &key, &limit, now)?))
            .await
            .map_err(Fault::from)
    }
}
