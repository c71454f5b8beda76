//! Which query errors mean the database is out of reach rather than a bug: a lost connection,
//! a failover under way, a pooler with no server behind it. Such errors answer 503
//! `service_unavailable` (never 500), and the connection that met one leaves the pool, so the
//! next one is opened afresh — through a multi-host URL with `target_session_attrs=read-write`,
//! to whichever host is the primary by then.

use diesel::result::{DatabaseErrorKind, Error as QueryError};

/// What PostgreSQL and PgBouncer say when they cannot serve a query right now. Diesel exposes
/// no SQLSTATE beyond its own kinds, so the message is all there is; each of these is the
/// start of (or a whole) server message and names no data.
const OUTAGE_MESSAGES: &[&str] = &[
    // PostgreSQL going down or not yet up (SQLSTATE 57P01, 57P02, 57P03).
    "terminating connection due to",
    "terminating connection because of crash",
    "the database system is",
    // A standby (not yet promoted) refusing a write or a LISTEN (25006 has its own kind).
    "during recovery",
    "conflict with recovery",
    // PgBouncer without a usable server (SQLSTATE 08P01 for most).
    "server conn crashed",
    "pgbouncer cannot connect to server",
    "server_login_retry",
    "query_wait_timeout",
    "server shutting down",
    "no more connections allowed",
    "database configuration changed",
    // libpq, when the socket failed.
    "server closed the connection unexpectedly",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
];

/// Whether the connection that returned `error` can no longer be trusted to reach the
/// primary: it must leave the pool, and the request answers 503.
pub(super) fn connection_lost(error: &QueryError) -> bool {
    match error {
        QueryError::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            // Connected to a standby: a promotion moved the primary elsewhere.
            | DatabaseErrorKind::ReadOnlyTransaction,
            _,
        )
        | QueryError::BrokenTransactionManager => true,
        QueryError::DatabaseError(_, info) => outage_message(info.message()),
        // A COMMIT that never reached the server (its transaction rolls back with the session).
        QueryError::RollbackErrorOnCommit { commit_error, .. } => connection_lost(commit_error),
        _ => false,
    }
}

fn outage_message(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    OUTAGE_MESSAGES
        .iter()
        .any(|pattern| message.contains(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: DatabaseErrorKind, message: &str) -> QueryError {
        QueryError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn failover_and_pooler_errors_mean_the_connection_is_lost() {
        for (kind, message) in [
            (DatabaseErrorKind::ClosedConnection, "whatever"),
            (
                DatabaseErrorKind::ReadOnlyTransaction,
                "cannot execute INSERT in a read-only transaction",
            ),
            (DatabaseErrorKind::Unknown, "server conn crashed?"),
            (
                DatabaseErrorKind::Unknown,
                "server login has been failing, try again later (server_login_retry)",
            ),
            (
                DatabaseErrorKind::Unknown,
                "pgbouncer cannot connect to server",
            ),
            (
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            (
                DatabaseErrorKind::Unknown,
                "the database system is in recovery mode",
            ),
            (
                DatabaseErrorKind::Unknown,
                "cannot execute LISTEN during recovery",
            ),
        ] {
            assert!(connection_lost(&error(kind, message)), "{message}");
        }
    }

    #[test]
    fn ordinary_errors_are_not_outages() {
        for (kind, message) in [
            (
                DatabaseErrorKind::UniqueViolation,
                "duplicate key value violates unique constraint",
            ),
            (
                DatabaseErrorKind::Unknown,
                "relation \"users\" does not exist",
            ),
            (
                DatabaseErrorKind::Unknown,
                "syntax error at or near \"SELEC\"",
            ),
        ] {
            assert!(!connection_lost(&error(kind, message)), "{message}");
        }
        assert!(!connection_lost(&QueryError::NotFound));
    }
}
