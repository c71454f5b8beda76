//! The audit trail.

use async_trait::async_trait;

use crate::audit::AuditEvent;
use crate::error::Fault;
use crate::listing::Start;
use crate::user::UserId;

/// The append-only audit trail.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends the event. Events are never changed or removed afterwards (not even when
    /// their user is deleted).
    async fn record(&self, event: &AuditEvent) -> Result<(), Fault>;

    /// At most `limit` of the events whose subject or actor is `user_id`, newest first (ties by
    /// id, the greater first), from `start`: skipping `Offset(n)`, or strictly after (older
    /// than) the event whose (`at`, id) is `After(at, id)`, through indexes matching the order.
    async fn list_for_user(
        &self,
        user_id: UserId,
        start: Start,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Fault>;

    /// How many events have `user_id` as subject or actor.
    async fn count_for_user(&self, user_id: UserId) -> Result<u64, Fault>;
}
