//! A session as its owner sees it.

use auth_domain::account::EndSessionError;
use auth_domain::account::LiveSession;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::validation::rfc3339;

/// One of the caller's sessions in `GET /sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    #[schema(format = "uuid")]
    pub id: String,
    /// When it was opened (login, or a password change).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Login, or the last refresh.
    #[schema(format = DateTime)]
    pub last_used_at: String,
    /// When its refresh token stops working, refresh or not.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The `User-Agent` it was opened with (at most 512 characters).
    pub user_agent: Option<String>,
    /// The client's IP address it was opened from.
    pub address: Option<String>,
    /// Whether the access token of this request belongs to it.
    pub current: bool,
}

impl From<&LiveSession> for SessionOut {
    fn from(live: &LiveSession) -> Self {
        let session = &live.session;
        Self {
            id: session.id.to_string(),
            created_at: rfc3339(session.created_at),
            last_used_at: rfc3339(session.last_used_at),
            expires_at: rfc3339(session.expires_at),
            user_agent: session.client.user_agent.clone(),
            address: session.client.address.clone(),
            current: live.current,
        }
    }
}

/// `{"items": [...]}`: the shape of `GET /sessions` (documented as
/// [`SessionList`]).
#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// `GET /sessions`: the caller's live sessions, the most recently used first.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionOut>,
}

impl From<EndSessionError> for ApiError {
    fn from(error: EndSessionError) -> Self {
        match error {
            EndSessionError::NotFound => Self::no_such("session"),
            EndSessionError::Fault(fault) => fault.into(),
        }
    }
}
