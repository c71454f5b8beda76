//! Opening sessions and issuing their token pairs: the one collaborator that login, the second
//! step of a login and a password change share, so every pair is made the same way.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::amr::Amr;
use crate::error::Fault;
use crate::ports::TokenService;
use crate::session::{ClientInfo, Session};
use crate::token::{Claims, TokenKind, TokenPair};
use crate::user::UserId;

/// How long tokens and sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    pub access_ttl: TimeDelta,
    pub refresh_ttl: TimeDelta,
    /// How long after login a session can still be refreshed.
    pub session_max_ttl: TimeDelta,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_ttl: TimeDelta::minutes(15),
            refresh_ttl: TimeDelta::days(7),
            session_max_ttl: TimeDelta::days(30),
        }
    }
}

/// Signs the token pairs of sessions, under one [`TokenPolicy`].
#[derive(Clone)]
pub struct TokenIssuer {
    tokens: Arc<dyn TokenService>,
    policy: TokenPolicy,
}

impl TokenIssuer {
    pub fn new(tokens: Arc<dyn TokenService>, policy: TokenPolicy) -> Self {
        Self { tokens, policy }
    }

    pub fn policy(&self) -> TokenPolicy {
        self.policy
    }

    /// A new session of `user_id` opened at `now`, living as long as the policy allows.
    pub fn session(
        &self,
        user_id: UserId,
        client: ClientInfo,
        amr: Amr,
        now: DateTime<Utc>,
    ) -> Session {
        Session::open(user_id, client, amr, now, now + self.policy.session_max_ttl)
    }

    /// The pair of `session` whose refresh token carries `refresh_jti`, issued at `now`;
    /// neither outlives the session.
    pub fn issue_pair(
        &self,
        session: &Session,
        refresh_jti: Uuid,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, Fault> {
        let access = Claims {
            kind: TokenKind::Access,
            subject: session.user_id,
            session_id: session.id,
            token_id: Uuid::new_v4(),
            issued_at: now,
            expires_at: (now + self.policy.access_ttl).min(session.expires_at),
            amr: session.amr.clone(),
            auth_time: session.created_at,
        };
        let refresh = Claims {
            kind: TokenKind::Refresh,
            token_id: refresh_jti,
            expires_at: (now + self.policy.refresh_ttl).min(session.expires_at),
            ..access.clone()
        };
        Ok(TokenPair {
            access_token: self.tokens.issue(&access)?,
            refresh_token: self.tokens.issue(&refresh)?,
            expires_in: (access.expires_at - now).num_seconds(),
        })
    }
}
