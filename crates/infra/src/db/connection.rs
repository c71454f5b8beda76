//! The connection to either backend, and how one is opened.

use diesel::connection::{CacheSize, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use super::url::{Backend, DatabaseUrl};

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DatabaseUrl {
    /// Opens a connection. On PostgreSQL, without `prepared_statements` every query goes out
    /// with its parameters in one round trip (an unnamed statement): nothing outlives the
    /// query on the server, as a transaction-pooling PgBouncer requires.
    pub(super) fn establish(
        &self,
        prepared_statements: bool,
    ) -> Result<AnyConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.target)?;
                if !prepared_statements {
                    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
                }
                Ok(AnyConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                // WAL lets readers run beside the one writer; busy_timeout makes a writer wait
                // for the lock instead of failing at once. Each connection keeps its own page
                // cache (2 MiB by default: 22 MiB for a full pool and the cache's poller, more
                // than the rest of the server); 256 KiB each holds the hot index pages, and
                // the operating system's cache of the file serves the rest.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -256;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}
