//! The bodies and pages of the administration routes.

use crate::listing::Listed;
use actix_web::http::StatusCode;
use std::collections::BTreeMap;

use auth_domain::admin::AdminError;
use auth_domain::audit::AuditEvent;
use auth_domain::listing::Listing;
use auth_domain::user::PrivilegeChange;
use auth_domain::{Role, User};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::account::{role_schema, UserOut};
use crate::error::{ApiError, FieldError};
use crate::listing::PageOut;
use crate::validation::{rfc3339, Fields};

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

impl PageOut<UserOut> {
    pub fn users(listing: &Listing<User>) -> Self {
        Self::new(listing, Listed::Users, |user: &User| UserOut::from(user))
    }
}

impl PageOut<AuditEventOut> {
    pub fn audit(listing: &Listing<AuditEvent>) -> Self {
        Self::new(listing, Listed::Audit, |event: &AuditEvent| {
            AuditEventOut::from(event)
        })
    }
}

/// `PATCH /users/{id}`: a partial update of a user's privileges. An absent field is
/// unchanged (`null` is not a value here); other keys (`email`, `is_superuser`, `password`…) are ignored.
#[derive(Serialize, ToSchema)]
pub struct PrivilegeChangeBody {
    #[schema(schema_with = role_schema, required = false)]
    pub role: String,
    /// `false` ends every session of the user.
    #[schema(required = false)]
    pub is_active: bool,
    #[schema(required = false)]
    pub is_verified: bool,
    #[schema(required = false)]
    pub is_staff: bool,
}

/// `GET /users`: one page of users, in registration order (oldest first).
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserOut>,
    /// How many users there are in all (with `q`: how many match, as counted for the first
    /// page of the search and carried on by its cursors; a search counts up to 1000 matches,
    /// and answers 1000 with `total_exact` false when there are more).
    pub total: u64,
    /// `false` only when a search matched more than 1000 users: `total` is then a lower bound.
    pub total_exact: bool,
    /// The page size applied: the `limit` asked for (default 20), capped at 100.
    pub limit: u32,
    pub offset: u32,
    /// The `after` of the next page; `null` on the last page.
    pub next: Option<String>,
}

/// `GET /users/{id}/audit`: one page of a user's audit trail, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventOut>,
    /// How many events the trail has in all, as counted for its first page and carried on
    /// by its cursors.
    pub total: u64,
    /// Always `true` here: an audit trail is counted exactly.
    pub total_exact: bool,
    /// The page size applied: the `limit` asked for (default 20), capped at 100.
    pub limit: u32,
    pub offset: u32,
    /// The `after` of the next page; `null` on the last page.
    pub next: Option<String>,
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Forbidden => Self::forbidden(),
            AdminError::NotFound => Self::no_such("user"),
            AdminError::LastAdministrator => Self::new(
                StatusCode::CONFLICT,
                "last_admin",
                "This change would leave no active administrator; make another user an \
                 administrator first",
            ),
            AdminError::Fault(fault) => fault.into(),
        }
    }
}
