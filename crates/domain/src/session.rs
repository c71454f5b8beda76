use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::amr::Amr;
use crate::user::{User, UserId};

/// A login session: one successful login and every refresh token descended from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub Uuid);

impl SessionId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who opened a session, for the user's own review of their sessions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

/// A refresh session as stored.
///
/// Only the id (`jti`) of the newest refresh token is kept: a signed refresh token of this
/// session carrying any other id is one that was already rotated, i.e. a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub refresh_jti: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// The hard end of the session (`SESSION_MAX_TTL` after login): no refresh reaches past it.
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub client: ClientInfo,
    /// How the login that opened it was authenticated; every token of the session says so.
    pub amr: Amr,
}

impl Session {
    /// A session opened by a login of `user_id` at `now`, refreshable until `expires_at`.
    pub fn open(
        user_id: UserId,
        client: ClientInfo,
        amr: Amr,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: SessionId::new(),
            user_id,
            refresh_jti: Uuid::new_v4(),
            created_at: now,
            last_used_at: now,
            expires_at,
            revoked_at: None,
            client,
            amr,
        }
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// The authenticated caller of a protected route.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user: User,
    pub session_id: SessionId,
    /// How the caller's session was authenticated.
    pub amr: Amr,
    /// When the caller's session was opened by a login.
    pub auth_time: DateTime<Utc>,
}
