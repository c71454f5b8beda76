//! Embedded migrations, applied at start.
//!
//! On PostgreSQL every pending migration runs in **one transaction** that first takes a
//! transaction-scoped advisory lock: two instances starting together take turns (the second
//! finds nothing left to do), a failed migration leaves nothing half-applied, and nothing
//! outlives the transaction on the server — so migrations run safely through a
//! transaction-pooling PgBouncer, which keeps one server connection for a whole transaction
//! but may hand every statement outside one to another. A session lock
//! (`pg_advisory_lock`/`pg_advisory_unlock`) would be taken on one server connection and
//! released, or not, on another, leaving the lock held forever on a pooled connection.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{one_line, AnyConnection, DatabaseSetupError, DatabaseUrl};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The advisory lock key migrations hold (the last-admin rule uses 7285100533).
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7285100531)";

/// Why the migration transaction failed.
enum Failure {
    Query(diesel::result::Error),
    Migration(String),
}

impl From<diesel::result::Error> for Failure {
    fn from(error: diesel::result::Error) -> Self {
        Failure::Query(error)
    }
}

/// Applies pending migrations; two processes starting together on one PostgreSQL take turns.
pub fn run_migrations(url: &DatabaseUrl) -> Result<(), DatabaseSetupError> {
    let connect_error = |cause: String| DatabaseSetupError::Connect {
        url: url.to_string(),
        cause: one_line(cause),
    };
    let migrate_error = |cause: String| DatabaseSetupError::Migrate {
        url: url.to_string(),
        cause: one_line(cause),
    };
    match url
        .establish(false)
        .map_err(|e| connect_error(e.to_string()))?
    {
        AnyConnection::Postgresql(mut conn) => conn
            .transaction(|conn| {
                conn.batch_execute(MIGRATION_LOCK)?;
                conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|e| Failure::Migration(e.to_string()))
            })
            .map_err(|failure| match failure {
                Failure::Query(error) => migrate_error(error.to_string()),
                Failure::Migration(message) => migrate_error(message),
            }),
        AnyConnection::Sqlite(mut conn) => conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| migrate_error(e.to_string())),
    }
}
