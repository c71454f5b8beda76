use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::amr::Amr;
use crate::session::SessionId;
use crate::user::UserId;

/// The two kinds of token; each is refused where the other is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// The claims auth-server signs into every token (issuer and audience are the token
/// service's own configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub kind: TokenKind,
    pub subject: UserId,
    pub session_id: SessionId,
    pub token_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How the session was authenticated (RFC 8176 `amr`); a refresh keeps it.
    pub amr: Amr,
    /// When the session was opened by a login (`auth_time`); a refresh keeps it.
    pub auth_time: DateTime<Utc>,
}

/// What a successful login or refresh hands back.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}
