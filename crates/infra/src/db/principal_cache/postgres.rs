//! The session cache's PostgreSQL watcher: `LISTEN`/`NOTIFY`.
//!
//! Triggers (migration `000005_principal_invalidation`) notify channel `auth_principal` after
//! every `UPDATE` or `DELETE` of a session (payload: its id) or of a user (payload: `u:` and
//! its id). PostgreSQL delivers a notification when the writing transaction commits, so every
//! write path — this instance's, another instance's, a hand-written SQL statement — reaches
//! every instance's listener, which drops the entries concerned.
//!
//! The listener is a dedicated connection that runs `LISTEN`, drains notifications every
//! [`POLL`] and proves itself alive with a round trip every [`HEARTBEAT`]; each round trip
//! keeps the cache usable until `FRESH_FOR` after it was sent. When the listener is not
//! connected, its connection fails, or it stops answering, the cache is emptied and bypassed.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

use super::PrincipalCache;

/// The notification channel the triggers use.
pub(crate) const CHANNEL: &str = "auth_principal";
/// How often the listener drains its connection.
const POLL: Duration = Duration::from_millis(20);
/// How often the listener proves its connection alive.
const HEARTBEAT: Duration = Duration::from_millis(200);
/// Waits between reconnection attempts (doubling).
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// The listener's `application_name` (unless the URL sets one), as seen in
/// `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "auth-server principal listener";

/// Starts the listener thread for `cache`; it ends by itself once the cache is dropped.
pub(crate) fn spawn_listener(cache: &Arc<PrincipalCache>, url: &str) -> std::io::Result<()> {
    let cache = Arc::downgrade(cache);
    let url = listener_url(url);
    std::thread::Builder::new()
        .name("session-cache-listener".into())
        .spawn(move || listen(&cache, &url))
        .map(|_| ())
}

/// The pool's URL with what the listener needs on top, unless the URL already says: a connect
/// timeout, a TCP timeout (a black-holed connection fails instead of hanging), a name.
fn listener_url(url: &str) -> String {
    let mut url = url.to_owned();
    for (key, value) in [
        ("connect_timeout", "5"),
        ("tcp_user_timeout", "2000"),
        ("application_name", LISTENER_APPLICATION_NAME),
    ] {
        if !url.contains(&format!("{key}=")) {
            let separator = if url.contains('?') { '&' } else { '?' };
            let value = value.replace(' ', "%20");
            url = format!("{url}{separator}{key}={value}");
        }
    }
    url
}

/// Connects, listens and follows, reconnecting after a failure, until the cache is gone.
fn listen(cache: &Weak<PrincipalCache>, url: &str) {
    let mut retry = RETRY_MIN;
    let mut reported = false;
    loop {
        let outcome = PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                conn.batch_execute(&format!("LISTEN {CHANNEL}"))
                    .map_err(|e| e.to_string())?;
                log::info!("session cache: listening for invalidations");
                reported = false;
                retry = RETRY_MIN;
                follow(cache, &mut conn).map_err(|e| e.to_string())
            });
        let Some(live) = cache.upgrade() else {
            return;
        };
        live.suspend();
        drop(live);
        if let Err(error) = outcome {
            if !reported {
                log::warn!("session cache bypassed until its listener reconnects: {error}");
                reported = true;
            }
        }
        std::thread::sleep(retry);
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Drains notifications and heartbeats until the connection fails (`Err`) or the cache is
/// dropped (`Ok`).
fn follow(cache: &Weak<PrincipalCache>, conn: &mut PgConnection) -> diesel::QueryResult<()> {
    let mut last_beat: Option<Instant> = None;
    loop {
        let Some(live) = cache.upgrade() else {
            return Ok(());
        };
        let beat = last_beat.is_none_or(|at| at.elapsed() >= HEARTBEAT);
        let sent = Instant::now();
        if beat {
            conn.batch_execute("SELECT 1")?;
        }
        for notification in conn.notifications_iter() {
            live.invalidate(&notification?.payload);
        }
        if beat {
            live.confirm(sent);
            last_beat = Some(sent);
        }
        drop(live);
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_url_gets_timeouts_and_a_name_unless_given() {
        assert_eq!(
            listener_url("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=5&tcp_user_timeout=2000\
             &application_name=auth-server%20principal%20listener"
        );
        assert_eq!(
            listener_url("postgres://u@h/db?connect_timeout=2&application_name=x"),
            "postgres://u@h/db?connect_timeout=2&application_name=x&tcp_user_timeout=2000"
        );
    }
}
