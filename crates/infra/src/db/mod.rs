//! The Diesel store: one set of queries over PostgreSQL or SQLite, an r2d2 pool, embedded
//! migrations. Every query runs on tokio's blocking pool, pool checkout included.

mod audit;
mod connection;
mod email_identity;
mod error;
// Issue "Social login": linked identities, started authorizations and login codes.
pub(crate) mod id;
mod identities;
mod lifecycle;
mod listings;
mod login_methods;
mod mfa;
mod migrate;
mod oauth_flows;
mod outage;
mod passkeys;
mod pool;
mod principal_cache;
mod rows;
pub mod schema;
mod sessions;
mod throttle;
mod url;
mod users;
// Issue "Account lifecycle": one-time tokens and the mail outbox.
mod outbox;
mod tokens;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use auth_domain::ports::Readiness;
use auth_domain::Fault;
use diesel::r2d2::R2D2Connection;

pub use connection::AnyConnection;
use connection::MultiBackend;
pub use error::DatabaseSetupError;
use error::{one_line, StoreError};
pub use migrate::run_migrations;
use pool::Connector;
pub use pool::{DatabaseOptions, PoolUsage};
pub use url::{redacted, Backend, DatabaseUrl};

use principal_cache::PrincipalCache;
pub use principal_cache::{SessionCacheStats, LISTENER_APPLICATION_NAME};

/// The store: implements `UserRepository`, `SessionRepository`, `Readiness`,
/// `OneTimeTokenRepository` and `MailOutbox`.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Connector>,
    backend: Backend,
    /// The session cache, when on.
    principals: Option<Arc<PrincipalCache>>,
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
            .build(Connector {
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

    /// Takes a single-use row: `delete` is one `DELETE … RETURNING` of it, so of concurrent
    /// takers, on any instance, exactly one gets the row. A row `usable` refuses (expired, of
    /// another kind) is spent all the same, and answers nothing.
    async fn take_row<R, T>(
        &self,
        delete: impl FnOnce(&mut AnyConnection) -> diesel::QueryResult<R> + Send + 'static,
        usable: impl FnOnce(&R) -> bool + Send + 'static,
    ) -> Result<Option<T>, Fault>
    where
        R: Send + 'static,
        T: TryFrom<R, Error = Fault> + Send + 'static,
    {
        use diesel::OptionalExtension;
        self.run(move |conn| {
            let row = delete(conn).optional()?.filter(usable);
            Ok(row.map(T::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
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
