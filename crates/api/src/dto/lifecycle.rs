//! The JSON shapes of the account-lifecycle routes: profile and password changes, sessions,
//! administration and the audit trail.

use std::collections::BTreeMap;

use auth_domain::account::LiveSession;
use auth_domain::user::ProfileChange;
use auth_domain::user::PrivilegeChange;
use auth_domain::audit::AuditEvent;
use auth_domain::{PersonName, Role, Username, ValueError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{parse_date, rfc3339, Fields};
use crate::error::{ApiError, FieldError};

/// A field of a partial update: absent → unchanged, `null` or blank → cleared, a string →
/// parsed like `/create` parses it.
fn clearable<T>(
    fields: &mut Fields,
    body: &Map<String, Value>,
    field: &str,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Option<Option<T>> {
    match body.get(field)? {
        Value::Null => Some(None),
        Value::String(raw) if raw.trim().is_empty() => Some(None),
        Value::String(raw) => fields.check(field, parse(raw)).map(Some),
        _ => {
            fields
                .0
                .push(FieldError::new(field, "must be a string or null"));
            None
        }
    }
}

/// `PATCH /users/me`: `username`, `first_name`, `last_name`, `date_of_birth`; any other key
/// (`email`, `role`, `is_active`, `password`…) is ignored.
pub fn profile_change(body: &Map<String, Value>) -> Result<ProfileChange, ApiError> {
    let mut fields = Fields::default();
    let change = ProfileChange {
        username: clearable(&mut fields, body, "username", Username::parse),
        first_name: clearable(&mut fields, body, "first_name", PersonName::parse),
        last_name: clearable(&mut fields, body, "last_name", PersonName::parse),
        date_of_birth: clearable(&mut fields, body, "date_of_birth", parse_date),
    };
    fields.finish()?;
    Ok(change)
}

/// `POST /users/me/password`. The new password's policy is the use case's to apply.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    /// The caller's password now: a stolen access token alone cannot change it.
    #[schema(value_type = String, required = true, format = Password, min_length = 1)]
    current_password: Option<String>,
    /// 8 characters to 72 bytes (UTF-8), under the same policy as at `/create`.
    #[schema(value_type = String, required = true, format = Password, min_length = 8, max_length = 72)]
    new_password: Option<String>,
}

impl ChangePasswordBody {
    /// `(current_password, new_password)`, both present and non-empty.
    pub fn validate(self) -> Result<(String, String), ApiError> {
        let mut fields = Fields::default();
        let non_empty = |raw: &str| {
            if raw.is_empty() {
                Err(ValueError("must not be empty".into()))
            } else {
                Ok(raw.to_owned())
            }
        };
        let current = fields.required(
            "current_password",
            self.current_password.as_deref(),
            non_empty,
        );
        let new = fields.required("new_password", self.new_password.as_deref(), non_empty);
        fields.finish_with(current.zip(new))
    }
}

fn flag(fields: &mut Fields, body: &Map<String, Value>, field: &str) -> Option<bool> {
    match body.get(field)? {
        Value::Bool(value) => Some(*value),
        _ => {
            fields
                .0
                .push(FieldError::new(field, "must be true or false"));
            None
        }
    }
}

/// `PATCH /users/{id}`: `role`, `is_active`, `is_verified`, `is_staff`; other keys (`email`,
/// `is_superuser`, `password`…) are ignored.
pub fn privilege_change(body: &Map<String, Value>) -> Result<PrivilegeChange, ApiError> {
    let mut fields = Fields::default();
    let role = match body.get("role") {
        None => None,
        Some(Value::String(raw)) => fields.check("role", raw.trim().parse::<Role>()),
        Some(_) => {
            fields
                .0
                .push(FieldError::new("role", "must be one of admin, user, other"));
            None
        }
    };
    let change = PrivilegeChange {
        role,
        is_active: flag(&mut fields, body, "is_active"),
        is_verified: flag(&mut fields, body, "is_verified"),
        is_staff: flag(&mut fields, body, "is_staff"),
    };
    fields.finish()?;
    Ok(change)
}

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
/// [`crate::openapi::SessionList`]).
#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// One line of `GET /users/{id}/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// What happened, in snake_case: `user_registered`, `login_succeeded`, `login_failed`,
    /// `logged_out`, `logged_out_everywhere`, `session_ended`, `profile_updated`,
    /// `password_changed`, `password_change_failed`, `user_updated`, `user_deleted`…
    pub event: String,
    /// Whose account it concerns, when known.
    #[schema(format = "uuid")]
    pub user_id: Option<String>,
    /// Who did it, when that is someone else (an administrator).
    #[schema(format = "uuid")]
    pub actor_id: Option<String>,
    #[schema(format = "uuid")]
    pub session_id: Option<String>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// Plain details (changed fields and their values, a failure reason…); never a secret.
    pub detail: BTreeMap<String, String>,
}

impl From<&AuditEvent> for AuditEventOut {
    fn from(event: &AuditEvent) -> Self {
        Self {
            id: event.id.to_string(),
            at: rfc3339(event.at),
            event: event.kind.clone(),
            user_id: event.user_id.map(|id| id.to_string()),
            actor_id: event.actor_id.map(|id| id.to_string()),
            session_id: event.session_id.map(|id| id.to_string()),
            address: event.client.address.clone(),
            user_agent: event.client.user_agent.clone(),
            detail: event.detail.clone(),
        }
    }
}
