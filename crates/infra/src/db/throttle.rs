//! [`LoginThrottle`] on the shared store: one `login_attempts` row per key, so every server
//! instance on the database sees the same counters.
//!
//! Each call is one transaction. Its first statement writes (an insert-if-missing), then an
//! `UPDATE … SET failures = failures + 1` takes the row's lock (PostgreSQL) or the database's
//! write lock (SQLite) before anything is read, so concurrent attempts on one key are counted
//! one after the other and none is lost. Keys are always visited in the same order, so two
//! transactions never wait for each other crosswise.

use async_trait::async_trait;
use auth_domain::throttle::{
    Admission, AdmittedAttempt, CountedKey, LoginThrottle, ThrottleKey, ThrottlePolicy,
};
use auth_domain::Fault;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as QueryError;

use super::rows::{naive, utc};
use super::schema::login_attempts;
use super::{AnyConnection, Database, StoreError};

/// Roughly one admission in this many also deletes the counters quiet long enough to be
/// forgotten, so keys sprayed by an attacker do not pile up.
const PRUNE_ONE_IN: u32 = 256;

/// How the admission transaction ends when it does not commit.
enum AdmitAbort {
    Query(QueryError),
    /// A key is locked until then: roll back, nothing is counted.
    Locked(NaiveDateTime),
}

impl From<QueryError> for AdmitAbort {
    fn from(error: QueryError) -> Self {
        Self::Query(error)
    }
}

#[derive(Queryable)]
struct AttemptRow {
    failures: i32,
    last_attempt_at: NaiveDateTime,
    locked_until: Option<NaiveDateTime>,
}

/// Creates the key's row (no failures) unless it exists, without touching an existing one.
fn ensure_row(conn: &mut AnyConnection, key: &str, now: NaiveDateTime) -> QueryResult<()> {
    let row = (
        login_attempts::throttle_key.eq(key),
        login_attempts::failures.eq(0),
        login_attempts::last_attempt_at.eq(now),
    );
    // The multi-backend connection has no ON CONFLICT: each dialect says it its own way.
    match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(login_attempts::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg),
        AnyConnection::Sqlite(lite) => diesel::insert_or_ignore_into(login_attempts::table)
            .values(row)
            .execute(lite),
    }
    .map(drop)
}

/// Adds one to the key's counter, making its row when missing, and so takes the row's lock
/// (PostgreSQL) or the database's write lock (SQLite) before anything is read.
///
/// On PostgreSQL this is one `INSERT … ON CONFLICT DO UPDATE`: an insert-if-missing followed
/// by an update would race a concurrent success deleting an account key's row between the two
/// (the update then finds nothing: "record not found", a 500 at /login). SQLite's transaction
/// holds the write lock from its first write, so there the two statements cannot be split.
fn count_attempt(conn: &mut AnyConnection, key: &str, now: NaiveDateTime) -> QueryResult<()> {
    match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(login_attempts::table)
            .values((
                login_attempts::throttle_key.eq(key),
                login_attempts::failures.eq(1),
                login_attempts::last_attempt_at.eq(now),
            ))
            .on_conflict(login_attempts::throttle_key)
            .do_update()
            .set(login_attempts::failures.eq(login_attempts::failures + 1))
            .execute(pg)
            .map(drop),
        AnyConnection::Sqlite(_) => {
            ensure_row(conn, key, now)?;
            diesel::update(login_attempts::table.find(key))
                .set(login_attempts::failures.eq(login_attempts::failures + 1))
                .execute(conn)
                .map(drop)
        }
    }
}

/// The keys in the one order every transaction takes their locks in, without repeats.
fn in_lock_order<'a>(keys: impl Iterator<Item = &'a ThrottleKey>) -> Vec<(ThrottleKey, String)> {
    let mut keys: Vec<_> = keys.map(|key| (key.clone(), key.storage_key())).collect();
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    keys.dedup_by(|a, b| a.1 == b.1);
    keys
}

fn admit(
    conn: &mut AnyConnection,
    keys: &[(ThrottleKey, String)],
    now: DateTime<Utc>,
    policy: &ThrottlePolicy,
) -> Result<Admission, StoreError> {
    let at = naive(now);
    let outcome = conn.transaction::<_, AdmitAbort, _>(|conn| {
        let mut rows = Vec::with_capacity(keys.len());
        for (_, key) in keys {
            count_attempt(conn, key, at)?;
            let row: AttemptRow = login_attempts::table
                .find(key)
                .select((
                    login_attempts::failures,
                    login_attempts::last_attempt_at,
                    login_attempts::locked_until,
                ))
                .first(conn)?;
            rows.push(row);
        }
        let latest_lock = rows
            .iter()
            .filter_map(|row| row.locked_until)
            .filter(|until| *until > at)
            .max();
        if let Some(until) = latest_lock {
            return Err(AdmitAbort::Locked(until));
        }
        let mut counted = Vec::with_capacity(keys.len());
        for ((throttle_key, key), row) in keys.iter().zip(rows) {
            let lock_before = row.locked_until.map(utc);
            let failures = if policy.is_forgotten(utc(row.last_attempt_at), lock_before, now) {
                1
            } else {
                u32::try_from(row.failures).unwrap_or(1).max(1)
            };
            let lock_set = policy.lock_until(failures, now);
            diesel::update(login_attempts::table.find(key))
                .set((
                    login_attempts::failures.eq(i32::try_from(failures).unwrap_or(i32::MAX)),
                    login_attempts::last_attempt_at.eq(at),
                    login_attempts::locked_until.eq(lock_set.map(naive)),
                ))
                .execute(conn)?;
            counted.push(CountedKey {
                key: throttle_key.clone(),
                lock_before,
                lock_set,
            });
        }
        Ok(AdmittedAttempt { keys: counted })
    });
    match outcome {
        Ok(attempt) => Ok(Admission::Admitted(attempt)),
        Err(AdmitAbort::Locked(until)) => Ok(Admission::Locked { until: utc(until) }),
        Err(AdmitAbort::Query(error)) => Err(error.into()),
    }
}

fn record_success(conn: &mut AnyConnection, attempt: &AdmittedAttempt) -> QueryResult<()> {
    let keys = in_lock_order(attempt.keys.iter().map(|counted| &counted.key));
    conn.transaction(|conn| {
        for (throttle_key, key) in &keys {
            if throttle_key.is_account() {
                diesel::delete(login_attempts::table.find(key)).execute(conn)?;
                continue;
            }
            diesel::update(
                login_attempts::table
                    .find(key)
                    .filter(login_attempts::failures.gt(0)),
            )
            .set(login_attempts::failures.eq(login_attempts::failures - 1))
            .execute(conn)?;
            let set_here = attempt
                .keys
                .iter()
                .find(|counted| &counted.key == throttle_key)
                .and_then(|counted| counted.lock_set.map(|set| (set, counted.lock_before)));
            if let Some((set, before)) = set_here {
                // Only if no later attempt has replaced the lock meanwhile.
                diesel::update(
                    login_attempts::table
                        .find(key)
                        .filter(login_attempts::locked_until.eq(naive(set))),
                )
                .set(login_attempts::locked_until.eq(before.map(naive)))
                .execute(conn)?;
            }
        }
        Ok(())
    })
}

/// Deletes the counters that [`ThrottlePolicy::is_forgotten`] would restart anyway.
fn forget_quiet(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    policy: &ThrottlePolicy,
) -> QueryResult<usize> {
    let cutoff = naive(now - policy.forget_after);
    diesel::delete(
        login_attempts::table
            .filter(login_attempts::last_attempt_at.le(cutoff))
            .filter(
                login_attempts::locked_until
                    .is_null()
                    .or(login_attempts::locked_until.le(cutoff)),
            ),
    )
    .execute(conn)
}

impl Database {
    /// Deletes every login counter quiet long enough to be forgotten at `now`; returns how
    /// many. [`LoginThrottle::admit`] does it now and then by itself.
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
        keys: &[ThrottleKey],
        now: DateTime<Utc>,
        policy: &ThrottlePolicy,
    ) -> Result<Admission, Fault> {
        let keys = in_lock_order(keys.iter());
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

    async fn record_success(&self, attempt: &AdmittedAttempt) -> Result<(), Fault> {
        let attempt = attempt.clone();
        self.run(move |conn| Ok(record_success(conn, &attempt)?))
            .await
            .map_err(Fault::from)
    }
}
