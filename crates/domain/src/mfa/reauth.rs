//! Re-authentication: the proof that the account's owner is present, which every route that
//! adds or removes a way to log in asks for on top of the bearer token.
//!
//! The rule (API.md, "Second factors"): an account with a password proves it with the
//! current password (a fresh session is not enough); an account without one with a session
//! opened by a login less than `REAUTH_MAX_AGE` ago, or a passkey assertion
//! ([`crate::passkeys`]). Wrong passwords count against the login throttle, so a stolen access token is
//! no password oracle.

use chrono::TimeDelta;

use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::mfa::throttling;
use crate::service::AuthService;
use crate::session::{ClientInfo, Principal};
use crate::user::UserId;

/// Proof that the caller re-authenticated just now. Only [`AuthService::reauthenticate`]
/// makes one, and the use cases that add or remove a way to log in take it, so none of them
/// can be called without the check.
#[derive(Debug)]
pub struct Reauthenticated {
    user_id: UserId,
}

impl Reauthenticated {
    /// Made by the checks of this crate only (password, recent login, passkey assertion).
    pub(crate) fn of(user_id: UserId) -> Self {
        Self { user_id }
    }

    pub fn user_id(&self) -> UserId {
        self.user_id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    /// The proof is missing or wrong.
    #[error("re-authentication required")]
    Required,
    /// The throttle refused: the password was not checked.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl AuthService {
    /// Checks that the caller is the account's owner, present now: with `password` when the
    /// account has one, else with a login younger than `max_age`.
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        password: Option<&str>,
        client: &ClientInfo,
        max_age: TimeDelta,
    ) -> Result<Reauthenticated, ReauthError> {
        let user = &principal.user;
        let proof = Reauthenticated { user_id: user.id };
        let now = self.clock().now();
        if !user.has_password() {
            return if now - principal.auth_time <= max_age {
                Ok(proof)
            } else {
                Err(ReauthError::Required)
            };
        }
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(ReauthError::Required);
        };
        let counted = match throttling::admit(self, &user.email, client).await? {
            Ok(counted) => counted,
            Err(locked) => {
                return Err(ReauthError::TooManyAttempts {
                    retry_after_secs: locked.retry_after_secs,
                })
            }
        };
        if self.hasher().verify(password, &user.password_hash).await? {
            // Not a login: a right password here neither counts nor resets, so it cannot
            // wash the count of the codes a route checks after it.
            if let Some(counted) = counted {
                counted.refund().await?;
            }
            return Ok(proof);
        }
        if let Some(counted) = counted {
            counted.failed();
        }
        let event = AuditEvent::new(kind::REAUTHENTICATION_FAILED, now)
            .user(user.id)
            .session(principal.session_id)
            .client(client)
            .detail("reason", "wrong_password");
        audit::record(self.audit_log(), event).await;
        Err(ReauthError::Required)
    }
}
