//! Sliding windows (key 3 and per-address budgets): one `throttle_windows` row per key, its
//! events the exact times (milliseconds since the epoch, comma-separated, ascending) of the
//! events still inside the window. A row never holds more than the limit's `max` events, so
//! its size is bounded; `expires_at` (the last event + the window) lets quiet rows be deleted.

use auth_domain::throttle::{round_up_to_millis, WindowLimit};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::super::rows::naive;
use super::super::schema::throttle_windows;
use super::super::AnyConnection;

/// Takes the window row's lock (PostgreSQL) or the database's write lock (SQLite), making the
/// row when missing, before anything is read.
pub(super) fn lock(conn: &mut AnyConnection, key: &str, now: NaiveDateTime) -> QueryResult<()> {
    let row = (
        throttle_windows::window_key.eq(key),
        throttle_windows::events.eq(""),
        throttle_windows::expires_at.eq(now),
    );
    match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(throttle_windows::table)
            .values(row)
            .on_conflict(throttle_windows::window_key)
            .do_update()
            .set(throttle_windows::expires_at.eq(throttle_windows::expires_at))
            .execute(pg)
            .map(drop),
        AnyConnection::Sqlite(lite) => diesel::insert_or_ignore_into(throttle_windows::table)
            .values(row)
            .execute(lite)
            .map(drop),
    }
}

/// The events of a locked row, ascending (an unparsable entry, which no adapter writes, is
/// skipped rather than failing every login from that address).
pub(super) fn read(conn: &mut AnyConnection, key: &str) -> QueryResult<Vec<DateTime<Utc>>> {
    let events: Option<String> = throttle_windows::table
        .find(key)
        .select(throttle_windows::events)
        .first(conn)
        .optional()?;
    let mut events: Vec<DateTime<Utc>> = events
        .unwrap_or_default()
        .split(',')
        .filter_map(|millis| millis.trim().parse::<i64>().ok())
        .filter_map(DateTime::from_timestamp_millis)
        .collect();
    events.sort_unstable();
    Ok(events)
}

fn encode(events: &[DateTime<Utc>]) -> String {
    events
        .iter()
        .map(|at| at.timestamp_millis().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Stores a window that just gained its newest event: it expires `window` after it.
pub(super) fn write(
    conn: &mut AnyConnection,
    key: &str,
    events: &[DateTime<Utc>],
    limit: &WindowLimit,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let expires_at = events.last().copied().unwrap_or(now) + limit.window;
    diesel::update(throttle_windows::table.find(key))
        .set((
            throttle_windows::events.eq(encode(events)),
            throttle_windows::expires_at.eq(naive(expires_at)),
        ))
        .execute(conn)
        .map(drop)
}

/// The outcome of [`add`].
pub(super) enum Added {
    /// The event now in the window.
    At(DateTime<Utc>),
    /// Full; room again then.
    FullUntil(DateTime<Utc>),
}

/// Adds an event at `now` to a locked row when the window has room (written only when
/// `commit` says so: an admission that finds another key locked changes nothing).
pub(super) fn add(
    conn: &mut AnyConnection,
    key: &str,
    limit: &WindowLimit,
    now: DateTime<Utc>,
) -> QueryResult<(Added, Vec<DateTime<Utc>>)> {
    let mut events = read(conn, key)?;
    match limit.make_room(&mut events, now) {
        Err(until) => Ok((Added::FullUntil(until), events)),
        Ok(()) => {
            let at = round_up_to_millis(now);
            events.push(at);
            Ok((Added::At(at), events))
        }
    }
}

/// Takes one event at `at` back out of the window (an attempt that did not fail). The
/// row's expiry stays: it can only be later than needed, never earlier.
pub(super) fn take_back(
    conn: &mut AnyConnection,
    key: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    lock(conn, key, naive(now))?;
    let mut events = read(conn, key)?;
    if let Some(position) = events.iter().position(|event| *event == at) {
        events.remove(position);
        diesel::update(throttle_windows::table.find(key))
            .set(throttle_windows::events.eq(encode(&events)))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes the rows whose every event has left its window.
pub(super) fn forget_expired(conn: &mut AnyConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(throttle_windows::table.filter(throttle_windows::expires_at.le(naive(now))))
        .execute(conn)
}
