//! Where sessions (one per login) are stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Fault;
use crate::session::{Session, SessionId};
use crate::user::{User, UserId};

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session and records `session.created_at` as its user's `last_login`,
    /// both or neither.
    async fn start(&self, session: &Session) -> Result<(), Fault>;

    /// The session and its user, read together in one round trip; `None` when the session
    /// (or its user) does not exist. Revoked and expired sessions are returned as they are:
    /// judging them is the caller's business.
    ///
    /// MAY be answered from a per-instance cache, provided that a change made through any
    /// instance (or behind their backs) is seen within 1 s, and a change made through this
    /// repository at once. Decisions that must not act on a stale copy use a conditional
    /// write instead (`rotate_refresh`).
    async fn find_with_user(&self, id: SessionId) -> Result<Option<(Session, User)>, Fault>;

    /// Replaces the session's current refresh token id `presented` by `next` and sets
    /// `last_used_at` to `now`, atomically, only if the session exists, is not revoked, has not
    /// reached `expires_at`, and its current refresh token id is `presented`.
    ///
    /// MUST return `true` when it replaced it, `false` otherwise; of several concurrent calls
    /// with the same `presented`, at most one returns `true`.
    async fn rotate_refresh(
        &self,
        id: SessionId,
        presented: Uuid,
        next: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;

    /// Marks the session revoked at `now`. Revoking a revoked or missing session is not an
    /// error, and keeps the first revocation time.
    async fn revoke(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), Fault>;

    /// Marks every session of the user that is not revoked yet as revoked at `now`, and
    /// returns how many it revoked. Other users' sessions are untouched.
    async fn revoke_all_for_user(&self, user_id: UserId, now: DateTime<Utc>) -> Result<u64, Fault>;

    /// The user's live sessions (not revoked, `expires_at` after `now`), the most recently
    /// used first. Other users' sessions are never returned.
    async fn list_live_for_user(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, Fault>;

    /// Revokes the session at `now` only if it is a live session of `user_id`.
    ///
    /// MUST return `true` when it revoked it, and `false` (writing nothing) when the session
    /// does not exist, belongs to another user, is already revoked or has expired.
    async fn revoke_for_user(
        &self,
        id: SessionId,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;

    /// Deletes every session whose `expires_at` is at or before `now`, and every revoked
    /// session revoked before `revoked_before`; returns how many it deleted. Live sessions
    /// are never deleted.
    async fn prune(&self, now: DateTime<Utc>, revoked_before: DateTime<Utc>) -> Result<u64, Fault>;
}
