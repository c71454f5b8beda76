//! The session cache's PostgreSQL watcher: `LISTEN`/`NOTIFY`.
//!
//! Triggers (migration `000005_principal_invalidation`) notify channel `auth_principal` after
//! every `UPDATE` or `DELETE` of a session (payload: its id) or of a user (payload: `u:` and
//! its id). PostgreSQL delivers a notification when the writing transaction commits, so every
//! write path — this instance's, another instance's, a hand-written SQL statement — reaches
//! every instance's listener, which drops the entries concerned.
//!
//! The listener is a dedicated connection (`DATABASE_LISTEN_URL`, by default `DATABASE_URL`)
//! that runs `LISTEN` and drains notifications every [`POLL`]. It proves itself alive not by
//! a round trip — a transaction-pooling PgBouncer answers queries on a `LISTEN` that will
//! never hear anything — but by hearing its own heartbeat: every [`HEARTBEAT`] a second
//! connection, opened with the pool's URL (the road every write's notification takes),
//! sends `NOTIFY` on a channel of this instance's own, and only its arrival keeps the cache
//! usable, until `FRESH_FOR` after it was sent. When the listener is not connected, its
//! connection fails, or a heartbeat is late, the cache is emptied and bypassed; one that has
//! not come back after [`LOST_AFTER`] makes the listener reconnect.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

use uuid::Uuid;

use super::PrincipalCache;

/// The notification channel the triggers use.
pub(crate) const CHANNEL: &str = "auth_principal";
/// How often the listener drains its connection.
const POLL: Duration = Duration::from_millis(20);
/// How often the listener sends itself a heartbeat.
const HEARTBEAT: Duration = Duration::from_millis(200);
/// A heartbeat not back after this long means the listener hears nothing: reconnect.
const LOST_AFTER: Duration = Duration::from_secs(2);
/// Waits between reconnection attempts (doubling).
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(1);
/// The listener's `application_name` (unless the URL sets one), as seen in
/// `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "auth-server principal listener";
/// The `application_name` of the connection that sends the listener's heartbeats.
const HEARTBEAT_APPLICATION_NAME: &str = "auth-server principal heartbeat";

/// Starts the listener thread for `cache`; it ends by itself once the cache is dropped.
/// `listen_url` must reach PostgreSQL directly (a session of its own); the heartbeats go
/// through `notify_url`, the pool's URL — the road every write's notification takes.
pub(crate) fn spawn_listener(
    cache: &Arc<PrincipalCache>,
    listen_url: &str,
    notify_url: &str,
) -> std::io::Result<()> {
    let cache = Arc::downgrade(cache);
    let listen_url = with_defaults(listen_url, LISTENER_APPLICATION_NAME);
    let notify_url = with_defaults(notify_url, HEARTBEAT_APPLICATION_NAME);
    std::thread::Builder::new()
        .name("session-cache-listener".into())
        .spawn(move || listen(&cache, &listen_url, &notify_url))
        .map(|_| ())
}

/// The URL with what the listener needs on top, unless the URL already says: a connect
/// timeout, a TCP timeout (a black-holed connection fails instead of hanging), a name.
fn with_defaults(url: &str, application_name: &str) -> String {
    let mut url = url.to_owned();
    for (key, value) in [
        ("connect_timeout", "5"),
        ("tcp_user_timeout", "2000"),
        ("application_name", application_name),
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
fn listen(cache: &Weak<PrincipalCache>, listen_url: &str, notify_url: &str) {
    // This instance's own heartbeat channel: no other instance hears its beats.
    let beats = format!("{CHANNEL}_beat_{}", Uuid::new_v4().simple());
    let mut retry = RETRY_MIN;
    let mut reported = false;
    loop {
        let mut proven = false;
        let outcome = PgConnection::establish(listen_url)
            .and_then(|listener| PgConnection::establish(notify_url).map(|n| (listener, n)))
            .map_err(|e| e.to_string())
            .and_then(|(mut listener, mut notifier)| {
                listener
                    .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {beats}"))
                    .map_err(|e| e.to_string())?;
                follow(cache, &mut listener, &mut notifier, &beats, &mut || {
                    log::info!("session cache: listening for invalidations");
                    reported = false;
                    retry = RETRY_MIN;
                    proven = true;
                })
            });
        if !super::suspend_after(cache, outcome, &mut reported, "its listener reconnects") {
            return;
        }
        if !proven {
            std::thread::sleep(retry);
            retry = (retry * 2).min(RETRY_MAX);
        }
    }
}

/// Drains notifications and sends heartbeats until the connection fails or a heartbeat does
/// not come back (`Err`), or the cache is dropped (`Ok`). Each heartbeat is a `NOTIFY` on
/// `beats` sent through `notifier`; only its arrival on `listener` keeps the cache answering.
/// Since PostgreSQL delivers notifications in commit order, every invalidation committed
/// before a heartbeat was sent has been applied when it arrives. `proven` runs once, when
/// the first heartbeat comes back.
fn follow(
    cache: &Weak<PrincipalCache>,
    listener: &mut PgConnection,
    notifier: &mut PgConnection,
    beats: &str,
    proven: &mut dyn FnMut(),
) -> Result<(), String> {
    let mut sequence: u64 = 0;
    // The heartbeat on its way: its number and when it was sent.
    let mut pending: Option<(u64, Instant)> = None;
    let mut last_sent: Option<Instant> = None;
    let mut first = true;
    loop {
        let Some(live) = cache.upgrade() else {
            return Ok(());
        };
        for notification in listener.notifications_iter() {
            let notification = notification.map_err(|e| e.to_string())?;
            if notification.channel != beats {
                live.invalidate(&notification.payload);
                continue;
            }
            if let Some((expected, sent)) = pending {
                if notification.payload == expected.to_string() {
                    live.confirm(sent);
                    pending = None;
                    if std::mem::take(&mut first) {
                        proven();
                    }
                }
            }
        }
        if let Some((_, sent)) = pending {
            if sent.elapsed() > LOST_AFTER {
                return Err(format!(
                    "its heartbeat NOTIFY did not come back within {LOST_AFTER:?} \
                     (is DATABASE_LISTEN_URL a transaction pooler? LISTEN needs a direct \
                     connection)"
                ));
            }
        } else if last_sent.is_none_or(|at| at.elapsed() >= HEARTBEAT) {
            sequence += 1;
            let sent = Instant::now();
            notifier
                .batch_execute(&format!("NOTIFY {beats}, '{sequence}'"))
                .map_err(|e| format!("heartbeat: {e}"))?;
            pending = Some((sequence, sent));
            last_sent = Some(sent);
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
            with_defaults("postgres://u@h/db", LISTENER_APPLICATION_NAME),
            "postgres://u@h/db?connect_timeout=5&tcp_user_timeout=2000\
             &application_name=auth-server%20principal%20listener"
        );
        assert_eq!(
            with_defaults(
                "postgres://u@h/db?connect_timeout=2&application_name=x",
                LISTENER_APPLICATION_NAME
            ),
            "postgres://u@h/db?connect_timeout=2&application_name=x&tcp_user_timeout=2000"
        );
    }
}
