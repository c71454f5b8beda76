//! The account owner's own use cases: edit the profile, change the password, review and end
//! sessions.

use std::sync::Arc;

use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::issuer::{TokenIssuer, TokenPolicy};
use crate::policy::{PasswordPolicy, PolicyContext};
use crate::ports::{
    AuditLog, Clock, PasswordHasher, SessionRepository, TokenService, UpdateProfileError,
    UserRepository,
};
use crate::session::{ClientInfo, Principal, Session, SessionId};
use crate::token::TokenPair;
use crate::user::{ProfileChange, User};
use crate::values::{Password, ValueError};

/// The password policy for a password a user chooses (registration aside): the one place a
/// stricter policy (a list of common passwords, "not your email or name"…) plugs in. The
/// user is given so that the policy can compare the password with their email and names.
pub fn validate_new_password(raw: &str, user: &User) -> Result<Password, ValueError> {
    let password = Password::parse(raw)?;
    PasswordPolicy::check(&password, &PolicyContext::of(user))?;
    Ok(password)
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("username already taken")]
    UsernameTaken,
    /// The caller's account was deleted while the request ran.
    /// The account no longer exists, or the caller's session ended meanwhile (a concurrent
    /// change won): nothing was changed.
    #[error("account no longer exists, or the session ended meanwhile")]
    AccountGone,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password given is not the account's password.
    #[error("current password is wrong")]
    WrongPassword,
    /// The new password does not satisfy the policy.
    #[error("new password refused: {0}")]
    WeakPassword(ValueError),
    #[error("account no longer exists")]
    AccountGone,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum EndSessionError {
    /// Not a live session of the caller (unknown, someone else's, already ended).
    #[error("no such session")]
    NotFound,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// A successful password change: the only session left, and its tokens.
#[derive(Debug, Clone)]
pub struct PasswordChanged {
    pub tokens: TokenPair,
    pub session_id: SessionId,
    /// How many sessions (the caller's own included) were ended.
    pub sessions_ended: u64,
}

/// One of the caller's live sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSession {
    pub session: Session,
    /// Whether it is the session of the token the caller presented.
    pub current: bool,
}

/// The account owner's use cases, built from the ports.
#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditLog>,
    /// Issues token pairs exactly as login does.
    issuer: TokenIssuer,
}

impl AccountService {
    pub fn new(
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        tokens: Arc<dyn TokenService>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditLog>,
        policy: TokenPolicy,
    ) -> Self {
        Self {
            users,
            sessions,
            hasher,
            clock,
            audit,
            issuer: TokenIssuer::new(tokens, policy),
        }
    }

    /// Applies a partial profile update to the caller's account.
    pub async fn update_profile(
        &self,
        principal: &Principal,
        change: ProfileChange,
        client: &ClientInfo,
    ) -> Result<User, ProfileError> {
        if change.is_empty() {
            return Ok(principal.user.clone());
        }
        let user = match self.users.update_profile(principal.user.id, &change).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(ProfileError::AccountGone),
            Err(UpdateProfileError::UsernameTaken) => return Err(ProfileError::UsernameTaken),
            Err(UpdateProfileError::Fault(fault)) => return Err(fault.into()),
        };
        let event = AuditEvent::new(kind::PROFILE_UPDATED, self.clock.now())
            .user(user.id)
            .session(principal.session_id)
            .client(client)
            .detail("fields", change.fields().join(","));
        audit::record(self.audit.as_ref(), event).await;
        Ok(user)
    }

    /// Changes the caller's password, which requires the current one: a stolen access token
    /// alone is not enough. Every session of the user ends, the caller's included, and a new
    /// session is opened whose tokens are returned — all or nothing.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current_password: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<PasswordChanged, ChangePasswordError> {
        let user = &principal.user;
        let new_password =
            validate_new_password(new_password, user).map_err(ChangePasswordError::WeakPassword)?;
        if !self
            .hasher
            .verify(current_password, &user.password_hash)
            .await?
        {
            let event = AuditEvent::new(kind::PASSWORD_CHANGE_FAILED, self.clock.now())
                .user(user.id)
                .session(principal.session_id)
                .client(client)
                .detail("reason", "wrong_current_password");
            audit::record(self.audit.as_ref(), event).await;
            return Err(ChangePasswordError::WrongPassword);
        }
        let hash = self.hasher.hash(&new_password).await?;

        let now = self.clock.now();
        // The caller's factors were proven for the session this change comes from, and the
        // current password again now: the new session keeps what the old one had.
        let session = self
            .issuer
            .session(user.id, client.clone(), principal.amr.clone(), now);
        let ended = self
            .users
            .change_password(
                user.id,
                principal.session_id,
                &hash,
                now,
                Some(session.clone()),
            )
            .await?
            .ok_or(ChangePasswordError::AccountGone)?;
        let tokens = self.issuer.issue_pair(&session, session.refresh_jti, now)?;

        let event = AuditEvent::new(kind::PASSWORD_CHANGED, now)
            .user(user.id)
            .session(session.id)
            .client(client)
            .detail("sessions_ended", ended.to_string());
        audit::record(self.audit.as_ref(), event).await;
        Ok(PasswordChanged {
            tokens,
            session_id: session.id,
            sessions_ended: ended,
        })
    }

    /// The caller's live sessions, the most recently used first.
    pub async fn sessions(&self, principal: &Principal) -> Result<Vec<LiveSession>, Fault> {
        let sessions = self
            .sessions
            .list_live_for_user(principal.user.id, self.clock.now())
            .await?;
        Ok(sessions
            .into_iter()
            .filter(|session| session.user_id == principal.user.id)
            .map(|session| LiveSession {
                current: session.id == principal.session_id,
                session,
            })
            .collect())
    }

    /// Ends one of the caller's own live sessions (possibly the current one).
    pub async fn end_session(
        &self,
        principal: &Principal,
        id: SessionId,
        client: &ClientInfo,
    ) -> Result<(), EndSessionError> {
        let now = self.clock.now();
        if !self
            .sessions
            .revoke_for_user(id, principal.user.id, now)
            .await?
        {
            return Err(EndSessionError::NotFound);
        }
        let event = AuditEvent::new(kind::SESSION_ENDED, now)
            .user(principal.user.id)
            .session(id)
            .client(client)
            .detail("ended_from_session", principal.session_id.to_string());
        audit::record(self.audit.as_ref(), event).await;
        Ok(())
    }

    /// Ends every session of the caller, the current one included; returns how many.
    pub async fn end_all_sessions(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<u64, Fault> {
        let now = self.clock.now();
        let ended = self
            .sessions
            .revoke_all_for_user(principal.user.id, now)
            .await?;
        let event = AuditEvent::new(kind::LOGGED_OUT_EVERYWHERE, now)
            .user(principal.user.id)
            .session(principal.session_id)
            .client(client)
            .detail("sessions_ended", ended.to_string());
        audit::record(self.audit.as_ref(), event).await;
        Ok(ended)
    }
}
