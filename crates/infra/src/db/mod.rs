//! The Diesel store: one set of queries over PostgreSQL or SQLite, an r2d2 pool, embedded
//! migrations. Every query runs on tokio's blocking pool, pool checkout included.

mod audit;
mod email_identity;
// Issue "Social login": linked identities, started authorizations and login codes.
mod identities;
mod lifecycle;
mod listings;
mod mfa;
mod migrate;
mod oauth_flows;
mod outage;
mod principal_cache;
mod rows;
pub mod schema;
mod sessions;
mod throttle;
mod users;
// Issue "Account lifecycle": one-time tokens and the mail outbox.
mod outbox;
mod tokens;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auth_domain::ports::Readiness;
use auth_domain::Fault;
use diesel::connection::{CacheSize, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::result::{DatabaseErrorKind, Error as QueryError};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

pub use migrate::run_migrations;

use principal_cache::PrincipalCache;
pub use principal_cache::{SessionCacheStats, LISTENER_APPLICATION_NAME};

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A database URL split into its backend and what that backend's driver is given.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    target: String,
}

impl DatabaseUrl {
    /// `postgres://…`/`postgresql://…`, or `sqlite://PATH` / `sqlite:PATH` (a bare path is
    /// taken as SQLite too).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_owned(),
            });
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() || path.contains("://") {
            return Err(format!(
                "expected postgres://… or sqlite://PATH, got {}",
                redacted(raw)
            ));
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
        })
    }

    /// What libpq is given, for PostgreSQL URLs (one host or several, as written).
    pub fn postgres_target(&self) -> Option<&str> {
        (self.backend == Backend::Postgres).then_some(self.target.as_str())
    }

    /// The SQLite file, for SQLite URLs.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.target.as_str())
    }

    /// Opens a connection. On PostgreSQL, without `prepared_statements` every query goes out
    /// with its parameters in one round trip (an unnamed statement): nothing outlives the
    /// query on the server, as a transaction-pooling PgBouncer requires.
    fn establish(
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
                // for the lock instead of failing at once.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.backend {
            Backend::Postgres => f.write_str(&redacted(&self.target)),
            Backend::Sqlite => write!(f, "sqlite://{}", self.target),
        }
    }
}

/// The URL with any password replaced, fit for a log line.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

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

#[derive(Debug, thiserror::Error)]
pub enum DatabaseSetupError {
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("migrations failed on {url}: {cause}")]
    Migrate { url: String, cause: String },
}

/// Driver messages (libpq's above all) span lines; a start-up error is one line.
fn one_line(message: impl std::fmt::Display) -> String {
    message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

struct Manager {
    url: DatabaseUrl,
    prepared_statements: bool,
}

/// A connection answered less than this long ago is handed out without a ping: under load
/// that spares a round trip per request, and a connection that died meanwhile fails its
/// next query, which marks it lost (see [`Pooled`]) so the pool drops it.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// A pooled connection, with what its last use said about its health.
pub(crate) struct Pooled {
    connection: AnyConnection,
    last_answer: Instant,
    lost: bool,
}

impl r2d2::ManageConnection for Manager {
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

/// The store: implements `UserRepository`, `SessionRepository`, `Readiness`,
/// `OneTimeTokenRepository` and `MailOutbox`.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// The session cache, when on.
    principals: Option<Arc<PrincipalCache>>,
}

/// How many connections the pool holds, and how many of them wait idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub connections: u32,
    pub idle_connections: u32,
    pub max_connections: u32,
}

/// Why a store operation failed, before it is translated for the domain.
#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error("no connection available: {0}")]
    Checkout(#[from] r2d2::Error),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl StoreError {
    /// The unique constraint a write ran into, if that is what happened.
    fn unique_violation(&self) -> Option<&str> {
        match self {
            StoreError::Query(QueryError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                info,
            )) => Some(info.constraint_name().unwrap_or_else(|| info.message())),
            _ => None,
        }
    }
}

impl StoreError {
    /// Whether the connection itself failed (so it must not go back to the pool).
    fn connection_lost(&self) -> bool {
        match self {
            StoreError::Query(error) => outage::connection_lost(error),
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether the store could not be reached (answered as 503).
    fn unavailable(&self) -> bool {
        match self {
            StoreError::Fault(_) => false,
            StoreError::Checkout(_) => true,
            StoreError::Query(error) if outage::connection_lost(error) => true,
            // SQLite's writer lock held past busy_timeout.
            StoreError::Query(QueryError::DatabaseError(_, info)) => {
                info.message().contains("database is locked")
            }
            _ => false,
        }
    }
}

impl From<StoreError> for Fault {
    fn from(error: StoreError) -> Self {
        let unavailable = error.unavailable();
        match error {
            StoreError::Fault(fault) => fault,
            other if unavailable => Fault::unavailable(other),
            other => Fault::internal(other),
        }
    }
}

impl Database {
    /// Runs pending migrations on a connection of their own, then builds the pool.
    pub fn connect(
        url: &DatabaseUrl,
        options: &DatabaseOptions,
    ) -> Result<Self, DatabaseSetupError> {
        run_migrations(url)?;
        normalise_emails(url);
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(options.min_idle.min(options.max_connections)))
            .connection_timeout(options.checkout_timeout)
            .build(Manager {
                url: url.clone(),
                prepared_statements: options.prepared_statements,
            })
            .map_err(|e| DatabaseSetupError::Connect {
                url: url.to_string(),
                cause: one_line(e),
            })?;
        let principals = match url.backend {
            Backend::Postgres if options.session_cache_size > 0 => {
                let cache = Arc::new(PrincipalCache::new(options.session_cache_size));
                let listen_url = options.listen_url.as_ref().unwrap_or(url);
                principal_cache::spawn_listener(&cache, &listen_url.target, &url.target).map_err(
                    |e| DatabaseSetupError::Connect {
                        url: url.to_string(),
                        cause: format!("cannot start the session cache listener: {e}"),
                    },
                )?;
                Some(cache)
            }
            Backend::Sqlite if options.session_cache_size > 0 => {
                let cache = Arc::new(PrincipalCache::new(options.session_cache_size));
                principal_cache::spawn_poller(&cache, &url.target).map_err(|e| {
                    DatabaseSetupError::Connect {
                        url: url.to_string(),
                        cause: format!("cannot start the session cache poller: {e}"),
                    }
                })?;
                Some(cache)
            }
            _ => None,
        };
        Ok(Self {
            pool,
            backend: url.backend,
            principals,
        })
    }

    /// The session cache's counters, when the cache is on.
    pub fn session_cache_stats(&self) -> Option<SessionCacheStats> {
        self.principals.as_ref().map(|cache| cache.stats())
    }

    /// Drops the cached answers about this session (after this instance changed it: its own
    /// next request must not wait for the notification).
    fn forget_session(&self, id: auth_domain::SessionId) {
        if let Some(cache) = &self.principals {
            cache.forget_session(id);
        }
    }

    /// Drops the cached answers about this user's sessions (see [`Database::forget_session`]).
    fn forget_user(&self, id: auth_domain::UserId) {
        if let Some(cache) = &self.principals {
            cache.forget_user(id);
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool's connections right now (for metrics).
    pub fn pool_state(&self) -> PoolUsage {
        let state = self.pool.state();
        PoolUsage {
            connections: state.connections,
            idle_connections: state.idle_connections,
            max_connections: self.pool.max_size(),
        }
    }

    /// Runs `query` on the blocking pool with a pooled connection.
    async fn run<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            let outcome = query(&mut conn.connection);
            match &outcome {
                Err(error) if error.connection_lost() => conn.lost = true,
                _ => conn.last_answer = Instant::now(),
            }
            outcome
        })
        .await?;
        if let (Err(error), Some(cache)) = (&outcome, &self.principals) {
            if error.unavailable() {
                // The database is out of reach: so may be the listener, unnoticed as yet.
                cache.suspend();
            }
        }
        outcome
    }
}

/// Brings stored emails to their identity form (see `email_identity`). A failure is logged,
/// not fatal: the rows stay as they were, and the next start tries again.
fn normalise_emails(url: &DatabaseUrl) {
    let outcome = url
        .establish(false)
        .map_err(|e| one_line(e.to_string()))
        .and_then(|mut conn| {
            email_identity::normalise_stored_emails(&mut conn).map_err(|e| one_line(e.to_string()))
        });
    match outcome {
        Ok(0) => {}
        Ok(rewritten) => log::info!("{rewritten} stored email(s) normalised"),
        Err(cause) => {
            log::warn!("stored emails not normalised (retried at the next start): {cause}")
        }
    }
}

#[async_trait]
impl Readiness for Database {
    async fn check(&self) -> Result<(), Fault> {
        self.run(|conn| Ok(conn.ping()?)).await.map_err(Fault::from)
    }
}
