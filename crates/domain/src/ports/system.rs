//! Time, and whether the backing store answers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Fault;

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Readiness: Send + Sync {
    /// `Ok` when the backing store answers a trivial query.
    async fn check(&self) -> Result<(), Fault>;
}
