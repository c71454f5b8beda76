//! Consecutive-failure counters (keys 1 and 2): one `login_attempts` row per key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::super::schema::login_attempts;
use super::super::AnyConnection;

#[derive(Queryable)]
pub(super) struct CounterRow {
    pub failures: i32,
    pub last_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

/// Adds one to the key's counter, making its row when missing, and so takes the row's lock
/// (PostgreSQL) or the database's write lock (SQLite) before anything is read; returns the
/// row as it is then.
///
/// On PostgreSQL this is one `INSERT … ON CONFLICT DO UPDATE`: an insert-if-missing followed
/// by an update would race a concurrent success deleting the row between the two (the update
/// then finds nothing: "record not found", a 500 at /login). SQLite's transaction holds the
/// write lock from its first write, so there the two statements cannot be split.
pub(super) fn count(
    conn: &mut AnyConnection,
    key: &str,
    now: NaiveDateTime,
) -> QueryResult<CounterRow> {
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
            .map(drop)?,
        AnyConnection::Sqlite(lite) => {
            diesel::insert_or_ignore_into(login_attempts::table)
                .values((
                    login_attempts::throttle_key.eq(key),
                    login_attempts::failures.eq(0),
                    login_attempts::last_attempt_at.eq(now),
                ))
                .execute(lite)?;
            diesel::update(login_attempts::table.find(key))
                .set(login_attempts::failures.eq(login_attempts::failures + 1))
                .execute(lite)
                .map(drop)?
        }
    }
    login_attempts::table
        .find(key)
        .select((
            login_attempts::failures,
            login_attempts::last_attempt_at,
            login_attempts::locked_until,
        ))
        .first(conn)
}

pub(super) fn set(
    conn: &mut AnyConnection,
    key: &str,
    failures: u32,
    now: NaiveDateTime,
    locked_until: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(login_attempts::table.find(key))
        .set((
            login_attempts::failures.eq(i32::try_from(failures).unwrap_or(i32::MAX)),
            login_attempts::last_attempt_at.eq(now),
            login_attempts::locked_until.eq(locked_until),
        ))
        .execute(conn)
        .map(drop)
}

pub(super) fn clear(conn: &mut AnyConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_attempts::table.find(key))
        .execute(conn)
        .map(drop)
}

/// Takes one failure back (never below zero) and, when the counter's lock is still `set`
/// (no later attempt replaced it), restores `before`.
pub(super) fn take_back(
    conn: &mut AnyConnection,
    key: &str,
    set: Option<NaiveDateTime>,
    before: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(
        login_attempts::table
            .find(key)
            .filter(login_attempts::failures.gt(0)),
    )
    .set(login_attempts::failures.eq(login_attempts::failures - 1))
    .execute(conn)?;
    if let Some(set) = set {
        diesel::update(
            login_attempts::table
                .find(key)
                .filter(login_attempts::locked_until.eq(set)),
        )
        .set(login_attempts::locked_until.eq(before))
        .execute(conn)?;
    }
    Ok(())
}

/// Deletes the counters quiet since `cutoff` (their last attempt and their last lock).
pub(super) fn forget_quiet(conn: &mut AnyConnection, cutoff: NaiveDateTime) -> QueryResult<usize> {
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
