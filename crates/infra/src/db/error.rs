//! Why a store operation or the store's setup failed, and how that reaches the domain.

use auth_domain::Fault;
use diesel::result::{DatabaseErrorKind, Error as QueryError};

use super::outage;

#[derive(Debug, thiserror::Error)]
pub enum DatabaseSetupError {
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("migrations failed on {url}: {cause}")]
    Migrate { url: String, cause: String },
}

/// Driver messages (libpq's above all) span lines; a start-up error is one line.
pub(super) fn one_line(message: impl std::fmt::Display) -> String {
    message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a store operation failed, before it is translated for the domain.
#[derive(Debug, thiserror::Error)]
pub(super) enum StoreError {
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
    pub(super) fn unique_violation(&self) -> Option<&str> {
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
    pub(super) fn connection_lost(&self) -> bool {
        match self {
            StoreError::Query(error) => outage::connection_lost(error),
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether the store could not be reached (answered as 503).
    pub(super) fn unavailable(&self) -> bool {
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
