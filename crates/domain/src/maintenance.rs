//! Housekeeping: removing sessions nobody can use any more.

use std::sync::Arc;

use chrono::TimeDelta;

use crate::error::Fault;
use crate::ports::{Clock, SessionRepository};

/// Deletes expired sessions at once, and revoked ones once they are older than the
/// retention (kept that long so a user or an operator can still see what was ended).
#[derive(Clone)]
pub struct SessionPruner {
    sessions: Arc<dyn SessionRepository>,
    clock: Arc<dyn Clock>,
    revoked_retention: TimeDelta,
}

impl SessionPruner {
    pub const DEFAULT_RETENTION: TimeDelta = TimeDelta::days(7);

    pub fn new(
        sessions: Arc<dyn SessionRepository>,
        clock: Arc<dyn Clock>,
        revoked_retention: TimeDelta,
    ) -> Self {
        Self {
            sessions,
            clock,
            revoked_retention,
        }
    }

    /// Deletes what can go; returns how many sessions it deleted.
    pub async fn prune(&self) -> Result<u64, Fault> {
        let now = self.clock.now();
        self.sessions.prune(now, now - self.revoked_retention).await
    }
}
