//! The use cases: register, login, refresh, logout, authenticate.

use std::sync::Arc;

use crate::audit::{self, kind, AuditEvent, NoAuditLog};
use crate::error::Fault;
use crate::issuer::{TokenIssuer, TokenPolicy};
use crate::policy::{PasswordPolicy, PolicyContext};
use crate::ports::{
    AuditLog, Clock, InsertUserError, PasswordHasher, SessionRepository, TokenError, TokenService,
    UserRepository,
};
use crate::session::{ClientInfo, SessionId};
use crate::throttle::Throttle;
use crate::token::TokenPair;
use crate::user::{AccountKind, NewUser, User, UserId};
use crate::values::{Email, Password, ValueError};

mod login;
mod session_tokens;

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The [`PasswordPolicy`] refuses the password (too common, or one of the user's names).
    #[error("password refused: {0}")]
    WeakPassword(ValueError),
    #[error("email already registered")]
    EmailTaken,
    #[error("username already taken")]
    UsernameTaken,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password and inactive account alike: which one is not said.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed attempts on this email or from this address; the password was not
    /// checked. Retry after that many whole seconds.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The password was right, and the account has a second factor: no session yet. The
    /// login goes on at `POST /login/mfa` with the challenge's token (see [`crate::mfa`]).
    #[error("a second factor is required")]
    SecondFactorRequired(crate::mfa::MfaChallengeIssued),
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// Why a token that verified cryptographically (or not) is still refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("session or user no longer exists")]
    UnknownSession,
    #[error("session was revoked or has expired")]
    SessionEnded,
    #[error("account is inactive")]
    AccountInactive,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error("token refused: {0}")]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("refresh token refused: {0}")]
    Refused(#[from] Refusal),
    /// A refresh token that was already rotated came back: the session has been revoked.
    #[error("refresh token reuse detected; session revoked")]
    ReuseDetected,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub tokens: TokenPair,
    pub user_id: UserId,
    pub session_id: SessionId,
}

/// The authentication use cases, built from the ports.
#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    tokens: Arc<dyn TokenService>,
    issuer: TokenIssuer,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    audit: Arc<dyn AuditLog>,
    pub(crate) throttle: Option<Throttle>,
    /// Where logins of accounts with a second factor wait for it (issue "Two-factor
    /// authentication"); without it such an account cannot log in.
    pub(crate) second_factor: Option<crate::mfa::SecondFactorLogin>,
}

impl AuthService {
    pub fn new(
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        tokens: Arc<dyn TokenService>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        policy: TokenPolicy,
    ) -> Self {
        Self {
            users,
            sessions,
            issuer: TokenIssuer::new(tokens.clone(), policy),
            tokens,
            hasher,
            clock,
            audit: Arc::new(NoAuditLog),
            throttle: None,
            second_factor: None,
        }
    }

    /// Records registrations, logins, refresh-token reuse and logouts in `audit` (without
    /// it, nothing is recorded).
    pub fn with_audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    /// Throttles logins (see [`crate::throttle`]): without it, attempts are not limited.
    pub fn with_login_throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Lets accounts with a second factor log in: a right password then answers with a
    /// challenge ([`LoginError::SecondFactorRequired`]) instead of a session.
    pub fn with_second_factors(mut self, login: crate::mfa::SecondFactorLogin) -> Self {
        self.second_factor = Some(login);
        self
    }

    pub(crate) fn hasher(&self) -> &dyn PasswordHasher {
        self.hasher.as_ref()
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub(crate) fn audit_log(&self) -> &dyn AuditLog {
        self.audit.as_ref()
    }

    /// The login throttle, for other steps of a login (a second factor) to count against.
    pub fn throttle(&self) -> Option<&Throttle> {
        self.throttle.as_ref()
    }

    pub fn policy(&self) -> TokenPolicy {
        self.issuer.policy()
    }

    /// Creates an account. Self-registration passes [`AccountKind::Regular`].
    pub async fn register(
        &self,
        email: Email,
        password: &Password,
        profile: NewUser,
        kind: AccountKind,
    ) -> Result<User, RegisterError> {
        self.register_from(email, password, profile, kind, &ClientInfo::default())
            .await
    }

    /// [`AuthService::register`], naming the client in the audit trail.
    pub async fn register_from(
        &self,
        email: Email,
        password: &Password,
        profile: NewUser,
        kind: AccountKind,
        client: &ClientInfo,
    ) -> Result<User, RegisterError> {
        let context = PolicyContext {
            email: Some(&email),
            username: profile.username.as_ref(),
            first_name: profile.first_name.as_ref(),
            last_name: profile.last_name.as_ref(),
        };
        PasswordPolicy::check(password, &context).map_err(RegisterError::WeakPassword)?;
        // Cheap early answer that spares a bcrypt hash; the unique index still decides races.
        if self.users.find_by_email(&email).await?.is_some() {
            return Err(RegisterError::EmailTaken);
        }
        let hash = self.hasher.hash(password).await?;
        let user = User::register(email, profile, hash, kind, self.clock.now());
        match self.users.insert(&user).await {
            Ok(()) => {
                let event = AuditEvent::new(kind::USER_REGISTERED, user.date_joined)
                    .user(user.id)
                    .client(client)
                    .detail("superuser", user.is_superuser.to_string());
                audit::record(self.audit.as_ref(), event).await;
                Ok(user)
            }
            Err(InsertUserError::EmailTaken) => Err(RegisterError::EmailTaken),
            Err(InsertUserError::UsernameTaken) => Err(RegisterError::UsernameTaken),
            Err(InsertUserError::Fault(fault)) => Err(fault.into()),
        }
    }
}
