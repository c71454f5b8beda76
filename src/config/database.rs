//! The database settings: where to connect (the pool, the session cache's listener), the
//! pool's size and patience, the session cache, prepared statements.

use std::time::Duration;

use auth_infra::db::DatabaseUrl;
use auth_infra::{Backend, DatabaseOptions};

use super::variable::WhenUnset::{Means, Value};
use super::variable::{
    bounded, optional, positive_duration, switch, whole_number, Env, Setting, Variable,
};
use super::ConfigError;

// A multi-host URL (`postgres://h1:5432,h2:5432/db?target_session_attrs=read-write`) is
// libpq's to read: it is passed through unchanged.
const DATABASE_URL: Setting<DatabaseUrl> = Setting::new(
    "DATABASE_URL",
    Value("sqlite://auth.db"),
    DatabaseUrl::parse,
    "postgres://… for PostgreSQL (several hosts: postgres://h1:5432,h2:5432/db?target_session_attrs=read-write), sqlite://PATH for SQLite",
);
const DATABASE_LISTEN_URL: Setting<Option<DatabaseUrl>> = Setting::new(
    "DATABASE_LISTEN_URL",
    Means("DATABASE_URL"),
    |raw| optional(raw, DatabaseUrl::parse),
    "direct PostgreSQL connection (never a transaction pooler) on which the session cache LISTENs",
);
const DATABASE_POOL_SIZE: Setting<Option<u32>> = Setting::new(
    "DATABASE_POOL_SIZE",
    Means("10 on PostgreSQL or 4 on SQLite"),
    |raw| optional(raw, |raw| Ok(bounded(raw, 1..=1_000)? as u32)),
    "connections in the pool",
);

/// The pool size when `DATABASE_POOL_SIZE` is unset. SQLite has one writer and answers a read
/// in microseconds without a network round trip: four connections keep two cores busy, and
/// each one more costs about 1 MiB of page and statement caches (`make bench`'s peak memory
/// with the caches full: 42.1 MiB with 10, 36.5 MiB with 4).
fn default_pool_size(backend: Backend) -> u32 {
    match backend {
        Backend::Postgres => 10,
        Backend::Sqlite => 4,
    }
}
const DATABASE_TIMEOUT: Setting<Duration> = Setting::new(
    "DATABASE_TIMEOUT",
    Value("5s"),
    positive_duration,
    "wait for a pooled connection before answering 503",
);
const DATABASE_PREPARED_STATEMENTS: Setting<bool> = Setting::new(
    "DATABASE_PREPARED_STATEMENTS",
    Value("off"),
    |raw| switch(raw).ok_or_else(|| format!("expected on or off, got {raw:?}")),
    "on: named prepared statements cached per connection (direct PostgreSQL only, never through a transaction-pooling PgBouncer)",
);
const SESSION_CACHE_SIZE: Setting<usize> = Setting::new(
    "SESSION_CACHE_SIZE",
    Value("10000"),
    |raw| match whole_number::<u64>(raw)? {
        size @ 0..=10_000_000 => Ok(size as usize),
        _ => Err("must be at most 10000000".into()),
    },
    "sessions cached per instance for authentication (invalidated by LISTEN/NOTIFY on PostgreSQL, a polled change log on SQLite); 0 turns it off",
);

pub const VARIABLES: &[Variable] = &[
    DATABASE_URL.variable,
    DATABASE_LISTEN_URL.variable,
    DATABASE_POOL_SIZE.variable,
    DATABASE_TIMEOUT.variable,
    DATABASE_PREPARED_STATEMENTS.variable,
    SESSION_CACHE_SIZE.variable,
];

/// Reads the database variables.
pub(super) fn read(env: &Env) -> Result<(DatabaseUrl, DatabaseOptions), ConfigError> {
    let database_url = DATABASE_URL.read(env)?;
    let listen_url = DATABASE_LISTEN_URL.read(env)?;
    if let Some(url) = &listen_url {
        if url.backend != Backend::Postgres || database_url.backend != Backend::Postgres {
            return Err(DATABASE_LISTEN_URL
                .refuse("is a postgres://… URL, used only with a postgres://… DATABASE_URL"));
        }
    }
    let max_connections = DATABASE_POOL_SIZE
        .read(env)?
        .unwrap_or_else(|| default_pool_size(database_url.backend));
    Ok((
        database_url,
        DatabaseOptions {
            max_connections,
            checkout_timeout: DATABASE_TIMEOUT.read(env)?,
            session_cache_size: SESSION_CACHE_SIZE.read(env)?,
            listen_url,
            prepared_statements: DATABASE_PREPARED_STATEMENTS.read(env)?,
            ..DatabaseOptions::default()
        },
    ))
}
