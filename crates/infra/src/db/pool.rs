//! The connection pool: its settings, how it opens its connections and judges their
//! health, and how full it is.

use std::time::{Duration, Instant};

use diesel::r2d2::R2D2Connection;

use super::connection::AnyConnection;
use super::url::DatabaseUrl;

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection before the store counts as unavailable.
    pub checkout_timeout: Duration,
    /// Idle connections the pool keeps open, re-opening them in the background. A one-shot
    /// command sets 0: a connection still being opened in the background when the process
    /// exits races libpq/OpenSSL's exit-time clean-up.
    pub min_idle: u32,
    /// Sessions (with their users) kept in memory to authenticate requests without a query,
    /// invalidated by this store's own writes at once and by other processes' within 1 s:
    /// through `LISTEN`/`NOTIFY` on PostgreSQL, a polled change log on SQLite (see
    /// `principal_cache`); 0 turns the cache off.
    pub session_cache_size: usize,
    /// Where the session cache's listener connects (PostgreSQL): a direct connection, since
    /// `LISTEN` needs a session of its own. `None`: the pool's URL.
    pub listen_url: Option<DatabaseUrl>,
    /// Named prepared statements, cached per pooled connection (PostgreSQL). Off by default:
    /// a transaction-pooling PgBouncer hands each transaction to any server connection, where
    /// a statement prepared on another one does not exist.
    pub prepared_statements: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            checkout_timeout: Duration::from_secs(5),
            min_idle: 1,
            session_cache_size: 0,
            listen_url: None,
            prepared_statements: false,
        }
    }
}

/// Opens the pool's connections to one database and tells the pool which ones still answer.
pub(super) struct Connector {
    pub(super) url: DatabaseUrl,
    pub(super) prepared_statements: bool,
}

/// A connection answered less than this long ago is handed out without a ping: under load
/// that spares a round trip per request, and a connection that died meanwhile fails its
/// next query, which marks it lost (see [`Pooled`]) so the pool drops it.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// A pooled connection, with what its last use said about its health.
pub(crate) struct Pooled {
    pub(super) connection: AnyConnection,
    pub(super) last_answer: Instant,
    pub(super) lost: bool,
}

impl r2d2::ManageConnection for Connector {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        self.url
            .establish(self.prepared_statements)
            .map(|connection| Pooled {
                connection,
                last_answer: Instant::now(),
                lost: false,
            })
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        if conn.last_answer.elapsed() < TRUSTED_FOR {
            return Ok(());
        }
        conn.connection
            .ping()
            .map_err(diesel::r2d2::Error::QueryError)?;
        conn.last_answer = Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.lost || conn.connection.is_broken()
    }
}

/// How many connections the pool holds, and how many of them wait idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle_connections: u32,
    pub max_connections: u32,
}
