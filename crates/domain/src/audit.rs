//! The audit trail: what happened to which account, when, from where and by whom.
//!
//! Events are appended through the [`AuditLog`] port and never changed. They carry no secret:
//! no password, hash or token ever goes into an event, only ids, the client's address and user
//! agent, and a few plain key/value details.
//!
//! Recording is best effort: the action an event describes has already happened (or been
//! refused) when it is recorded, and undoing a logout or a revocation because the trail could
//! not be written would be worse than a missing line. A failed write is logged at error level
//! with the event's kind and ids, so it is loud, and the request goes on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ports::AuditLog;
use crate::session::{ClientInfo, SessionId};
use crate::user::UserId;

/// The kinds of event auth-server records. Other use cases may add their own: the kind is
/// a plain snake_case string.
pub mod kind {
    pub const USER_REGISTERED: &str = "user_registered";
    pub const LOGIN_SUCCEEDED: &str = "login_succeeded";
    pub const LOGIN_FAILED: &str = "login_failed";
    pub const REFRESH_REUSE_DETECTED: &str = "refresh_reuse_detected";
    pub const LOGGED_OUT: &str = "logged_out";
    pub const LOGGED_OUT_EVERYWHERE: &str = "logged_out_everywhere";
    pub const SESSION_ENDED: &str = "session_ended";
    pub const PROFILE_UPDATED: &str = "profile_updated";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const PASSWORD_CHANGE_FAILED: &str = "password_change_failed";
    pub const USER_UPDATED: &str = "user_updated";
    pub const USER_DELETED: &str = "user_deleted";
    // Issue "Two-factor authentication".
    pub const LOGIN_MFA_REQUIRED: &str = "login_mfa_required";
    pub const MFA_ENABLED: &str = "mfa_enabled";
    pub const MFA_DISABLED: &str = "mfa_disabled";
    pub const MFA_FAILED: &str = "mfa_failed";
    pub const RECOVERY_CODE_USED: &str = "recovery_code_used";
    pub const RECOVERY_CODES_RENEWED: &str = "recovery_codes_renewed";
    pub const PASSKEY_ADDED: &str = "passkey_added";
    pub const PASSKEY_REMOVED: &str = "passkey_removed";
    pub const MFA_RESET: &str = "mfa_reset";
    pub const REAUTHENTICATION_FAILED: &str = "reauthentication_failed";
    // Issue "Social login".
    pub const IDENTITY_LINKED: &str = "identity_linked";
    pub const IDENTITY_UNLINKED: &str = "identity_unlinked";
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// What happened: one of [`kind`]'s constants (or another use case's).
    pub kind: String,
    /// Whose account it concerns, when known.
    pub user_id: Option<UserId>,
    /// Who did it, when that is someone else (an administrator).
    pub actor_id: Option<UserId>,
    pub session_id: Option<SessionId>,
    pub client: ClientInfo,
    /// Plain details (changed field names and values, a failure reason…). Never a secret.
    pub detail: BTreeMap<String, String>,
}

impl AuditEvent {
    /// An event of `kind` at `at`, about nobody yet.
    pub fn new(kind: &str, at: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            at,
            kind: kind.to_owned(),
            user_id: None,
            actor_id: None,
            session_id: None,
            client: ClientInfo::default(),
            detail: BTreeMap::new(),
        }
    }

    pub fn user(mut self, id: UserId) -> Self {
        self.user_id = Some(id);
        self
    }

    pub fn actor(mut self, id: UserId) -> Self {
        self.actor_id = Some(id);
        self
    }

    pub fn session(mut self, id: SessionId) -> Self {
        self.session_id = Some(id);
        self
    }

    pub fn client(mut self, client: &ClientInfo) -> Self {
        self.client = client.clone();
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

/// Appends `event`; a failure is logged loudly and otherwise ignored (see the module docs).
pub async fn record(trail: &dyn AuditLog, event: AuditEvent) {
    if let Err(fault) = trail.record(&event).await {
        log::error!(
            "AUDIT EVENT LOST: {} (user {:?}, actor {:?}, session {:?}) could not be recorded: {}",
            event.kind,
            event.user_id.map(|id| id.to_string()),
            event.actor_id.map(|id| id.to_string()),
            event.session_id.map(|id| id.to_string()),
            crate::error::chain(&fault),
        );
    }
}

/// An audit log that keeps nothing: the default of a service built without one.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuditLog;

#[async_trait::async_trait]
impl AuditLog for NoAuditLog {
    async fn record(&self, _event: &AuditEvent) -> Result<(), crate::Fault> {
        Ok(())
    }

    async fn list_for_user(
        &self,
        _user_id: UserId,
        _start: crate::listing::Start,
        _limit: u32,
    ) -> Result<Vec<AuditEvent>, crate::Fault> {
        Ok(Vec::new())
    }

    async fn count_for_user(&self, _user_id: UserId) -> Result<u64, crate::Fault> {
        Ok(0)
    }
}
