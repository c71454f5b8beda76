//! The session cache's SQLite watcher: a poller of the `principal_changes` log.
//!
//! SQLite is one file that other processes may write too (`auth-server prune` or
//! `create-superuser`, SQL typed by hand). Triggers (migration `000141_session_cache_changes`)
//! append the id of every session or user changed in a way a cached copy could be wrong
//! about, in the writing transaction; SQLite commits one writer at a time, so the log's `seq`
//! grows in commit order. A thread of this process reads the rows after the last one it saw
//! every [`POLL`], on a connection of its own (off the request path), and drops the entries
//! concerned; each pass that succeeds proves it follows the file and keeps the cache usable
//! until `FRESH_FOR` after the pass began. This process's own writes invalidate at once,
//! before the write returns (see `Database::forget_session`); the log only adds the other
//! processes' writes. (`PRAGMA data_version` alone cannot say which process wrote, and it
//! changes on every commit of the pool's other connections.)
//!
//! When the file cannot be read, the cache is emptied and bypassed until a pass succeeds
//! again; a gap in the log (rows deleted before this process read them, after a long stall)
//! empties the cache too.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::PrincipalCache;

diesel::table! {
    principal_changes (seq) {
        seq -> BigInt,
        session_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        at -> BigInt,
    }
}

/// How often the poller reads the log.
const POLL: Duration = Duration::from_millis(50);
/// How long the log keeps a row: far longer than a poll, so a poller that reads it late by
/// up to this much misses nothing (a later one sees the gap and empties its cache).
const KEEP_FOR_SECS: i64 = 60;
/// How often the poller deletes the rows past [`KEEP_FOR_SECS`].
const TRIM_EVERY: Duration = Duration::from_secs(10);
/// Rows read per query (a bulk change is read in several passes, the cache staying usable
/// only once all of it is applied).
const BATCH: i64 = 5_000;
/// Waits between reconnection attempts.
const RETRY: Duration = Duration::from_millis(200);

/// Starts the poller thread for `cache`; it ends by itself once the cache is dropped.
pub(crate) fn spawn_poller(cache: &Arc<PrincipalCache>, path: &str) -> std::io::Result<()> {
    let cache = Arc::downgrade(cache);
    let path = path.to_owned();
    std::thread::Builder::new()
        .name("session-cache-poller".into())
        .spawn(move || poll(&cache, &path))
        .map(|_| ())
}

fn connect(path: &str) -> Result<SqliteConnection, String> {
    let mut conn = SqliteConnection::establish(path).map_err(|e| e.to_string())?;
    // Reads never wait in WAL mode; the trim (a write) waits a little for the write lock,
    // then gives up until its next turn.
    conn.batch_execute("PRAGMA busy_timeout = 100;")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Connects and follows, reconnecting after a failure, until the cache is gone.
fn poll(cache: &Weak<PrincipalCache>, path: &str) {
    let mut reported = false;
    loop {
        let outcome = connect(path).and_then(|mut conn| {
            reported = false;
            follow(cache, &mut conn).map_err(|e| e.to_string())
        });
        if !super::suspend_after(
            cache,
            outcome,
            &mut reported,
            "its poller reads the database",
        ) {
            return;
        }
        std::thread::sleep(RETRY);
    }
}

/// Reads the log until a query fails (`Err`) or the cache is dropped (`Ok`).
fn follow(cache: &Weak<PrincipalCache>, conn: &mut SqliteConnection) -> QueryResult<()> {
    // Changes committed before the cache holds anything concern nothing.
    let mut last: i64 = principal_changes::table
        .select(diesel::dsl::max(principal_changes::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    let mut trimmed = Instant::now();
    loop {
        let Some(live) = cache.upgrade() else {
            return Ok(());
        };
        let sent = Instant::now();
        last = apply_changes(&live, conn, last)?;
        live.confirm(sent);
        if trimmed.elapsed() >= TRIM_EVERY {
            trim(conn);
            trimmed = Instant::now();
        }
        drop(live);
        std::thread::sleep(POLL);
    }
}

/// Applies every row after `last`; returns the last one applied.
fn apply_changes(
    cache: &PrincipalCache,
    conn: &mut SqliteConnection,
    mut last: i64,
) -> QueryResult<i64> {
    loop {
        let rows = principal_changes::table
            .filter(principal_changes::seq.gt(last))
            .order(principal_changes::seq.asc())
            .limit(BATCH)
            .select((
                principal_changes::seq,
                principal_changes::session_id,
                principal_changes::user_id,
            ))
            .load::<(i64, Option<String>, Option<String>)>(conn)?;
        let Some(first) = rows.first() else {
            return Ok(last);
        };
        if first.0 != last + 1 {
            // Rows this process never read are gone: anything may have changed.
            cache.clear();
        }
        for (seq, session, user) in &rows {
            match (session, user) {
                (Some(session), _) => cache.invalidate(session),
                (None, Some(user)) => cache.invalidate(&format!("u:{user}")),
                (None, None) => cache.clear(),
            }
            last = *seq;
        }
        if rows.len() < BATCH as usize {
            return Ok(last);
        }
    }
}

/// Deletes the rows every poller has had time to read. A failure (the write lock is busy)
/// only postpones it.
fn trim(conn: &mut SqliteConnection) {
    let now = chrono::Utc::now().timestamp();
    let outcome = diesel::delete(
        principal_changes::table.filter(principal_changes::at.lt(now - KEEP_FOR_SECS)),
    )
    .execute(conn);
    if let Err(error) = outcome {
        log::debug!("session cache: the change log is trimmed later: {error}");
    }
}
