//! The use cases: register, login, refresh, logout, authenticate.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::amr::Amr;
use crate::audit::{self, kind, AuditEvent, NoAuditLog};
use crate::error::Fault;
use crate::issuer::{TokenIssuer, TokenPolicy};
use crate::ports::{
    AuditLog, Clock, InsertUserError, PasswordHasher, SessionRepository, TokenError, TokenService,
    UserRepository,
};
use crate::session::{ClientInfo, Principal, Session, SessionId};
use crate::throttle::{AttemptKeys, Throttle, ThrottleError};
use crate::token::{Claims, TokenKind, TokenPair};
use crate::user::{AccountKind, NewUser, User, UserId};
use crate::values::{Email, Password};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
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

    /// Checks the credentials and opens a session.
    ///
    /// Exactly one password verification happens whatever the outcome, so an unknown email,
    /// a wrong password, an inactive account and a throttled attempt take the same time.
    ///
    /// With a throttle, the attempt is counted first against the three keys (see
    /// [`crate::throttle`]); while one is locked the password is not checked at all (a lock
    /// answers the same for a right and a wrong one). A success resets the pair and the
    /// account keys, and upgrades a password hash made with other parameters than the
    /// configured ones. Concurrent attempts on one key beyond its threshold wait for a place,
    /// so concurrent correct logins are queued, not refused.
    pub async fn login(
        &self,
        email: &Email,
        password: &str,
        client: ClientInfo,
    ) -> Result<LoginOutcome, LoginError> {
        let attempt = match &self.throttle {
            None => None,
            Some(throttle) => match throttle.begin(AttemptKeys::account(email, &client)).await {
                Ok(attempt) => Some(attempt),
                Err(ThrottleError::TooManyAttempts { retry_after_secs }) => {
                    self.hasher
                        .verify(password, &self.hasher.dummy_hash())
                        .await?;
                    return Err(LoginError::TooManyAttempts { retry_after_secs });
                }
                Err(ThrottleError::Fault(fault)) => return Err(fault.into()),
            },
        };
        // A refusal (or a fault) drops the attempt: it stays counted as a failure.
        let user = self.check_credentials(email, password, &client).await?;
        if user.mfa_enabled {
            // The password alone proves nothing yet: the attempt neither fails nor succeeds
            // for the throttle until its last factor does (`POST /login/mfa`).
            if let Some(attempt) = attempt {
                attempt.refund().await?;
            }
            if self.hasher.needs_rehash(&user.password_hash) {
                self.upgrade_password_hash(&user, password).await;
            }
            let issued = crate::mfa::issue_challenge(
                self.second_factor.as_ref(),
                self.clock.as_ref(),
                self.audit.as_ref(),
                &user,
                Amr::password(),
                &client,
            )
            .await?;
            return Err(LoginError::SecondFactorRequired(issued));
        }
        if let Some(attempt) = attempt {
            attempt.succeeded().await?;
        }
        if self.hasher.needs_rehash(&user.password_hash) {
            self.upgrade_password_hash(&user, password).await;
        }
        Ok(self.open_session(&user, client, Amr::password()).await?)
    }

    /// Opens a session for a user whose login is complete, authenticated by `amr`.
    pub(crate) async fn open_session(
        &self,
        user: &User,
        client: ClientInfo,
        amr: Amr,
    ) -> Result<LoginOutcome, Fault> {
        let now = self.clock.now();
        let session = self.issuer.session(user.id, client, amr, now);
        self.sessions.start(&session).await?;
        let tokens = self.issuer.issue_pair(&session, session.refresh_jti, now)?;
        let event = AuditEvent::new(kind::LOGIN_SUCCEEDED, now)
            .user(user.id)
            .session(session.id)
            .client(&session.client)
            .detail("amr", session.amr.to_stored());
        audit::record(self.audit.as_ref(), event).await;
        Ok(LoginOutcome {
            tokens,
            user_id: user.id,
            session_id: session.id,
        })
    }

    /// The active user these credentials belong to, after exactly one password verification.
    async fn check_credentials(
        &self,
        email: &Email,
        password: &str,
        client: &ClientInfo,
    ) -> Result<User, LoginError> {
        let user = match self.users.find_by_email(email).await? {
            None => {
                self.hasher
                    .verify(password, &self.hasher.dummy_hash())
                    .await?;
                self.audit_login_failure(None, email, client, "unknown_email")
                    .await;
                return Err(LoginError::InvalidCredentials);
            }
            Some(user) => user,
        };
        let password_matches = self.hasher.verify(password, &user.password_hash).await?;
        if !password_matches || !user.is_active {
            let reason = if password_matches {
                "inactive"
            } else {
                "wrong_password"
            };
            self.audit_login_failure(Some(user.id), email, client, reason)
                .await;
            return Err(LoginError::InvalidCredentials);
        }
        Ok(user)
    }

    /// Re-hashes a password that just verified against an outdated hash. A failure is
    /// logged, never the login's failure.
    async fn upgrade_password_hash(&self, user: &User, password: &str) {
        let outcome = async {
            let password = Password::parse(password).map_err(Fault::internal)?;
            let upgraded = self.hasher.hash(&password).await?;
            self.users
                .upgrade_password_hash(user.id, &user.password_hash, &upgraded)
                .await
        }
        .await;
        match outcome {
            Ok(true) => log::info!("password hash of user {} upgraded", user.id),
            Ok(false) => log::info!(
                "password hash of user {} changed meanwhile; not upgraded",
                user.id
            ),
            Err(fault) => log::warn!(
                "could not upgrade the password hash of user {}: {}",
                user.id,
                crate::error::chain(&fault)
            ),
        }
    }

    /// Rotates a refresh token: the one presented is spent, a new pair is returned.
    ///
    /// A refresh token of a live session that is not the session's newest one was already
    /// rotated: it is treated as stolen and the whole session is revoked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        self.refresh_from(refresh_token, &ClientInfo::default())
            .await
    }

    /// [`AuthService::refresh`], naming the client in the audit trail if reuse is detected.
    pub async fn refresh_from(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, RefreshError> {
        let claims = self
            .tokens
            .verify(refresh_token, TokenKind::Refresh)
            .map_err(Refusal::from)?;
        let now = self.clock.now();
        let (session, _user) = self.live_session(&claims, now).await?;

        let next = Uuid::new_v4();
        // The compare-and-set decides, not `session.refresh_jti`: the session may come from a
        // cache that has not yet heard of a rotation made a moment ago (see `find_with_user`),
        // and a stale copy must not turn a legitimate refresh into a detected reuse.
        let rotated = self
            .sessions
            .rotate_refresh(session.id, claims.token_id, next, now)
            .await?;
        if !rotated {
            // Either an old token came back, or a concurrent refresh won the race with this
            // same token: both mean the token was presented twice.
            self.sessions.revoke(session.id, now).await?;
            let event = AuditEvent::new(kind::REFRESH_REUSE_DETECTED, now)
                .user(session.user_id)
                .session(session.id)
                .client(client);
            audit::record(self.audit.as_ref(), event).await;
            return Err(RefreshError::ReuseDetected);
        }
        Ok(self.issuer.issue_pair(&session, next, now)?)
    }

    /// Resolves an access token to the caller, with one read of the store.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthenticateError> {
        let claims = self
            .tokens
            .verify(access_token, TokenKind::Access)
            .map_err(Refusal::from)?;
        let (session, user) = self.live_session(&claims, self.clock.now()).await?;
        Ok(Principal {
            user,
            session_id: session.id,
            amr: session.amr,
            auth_time: session.created_at,
        })
    }

    /// Ends the caller's session: its refresh token and its access tokens stop working.
    pub async fn logout(&self, principal: &Principal) -> Result<(), Fault> {
        self.logout_from(principal, &ClientInfo::default()).await
    }

    /// [`AuthService::logout`], naming the client in the audit trail.
    pub async fn logout_from(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), Fault> {
        let now = self.clock.now();
        self.sessions.revoke(principal.session_id, now).await?;
        let event = AuditEvent::new(kind::LOGGED_OUT, now)
            .user(principal.user.id)
            .session(principal.session_id)
            .client(client);
        audit::record(self.audit.as_ref(), event).await;
        Ok(())
    }

    /// Records a refused login: the user when the email is known, else the email tried
    /// (never the password).
    async fn audit_login_failure(
        &self,
        user: Option<UserId>,
        email: &Email,
        client: &ClientInfo,
        reason: &str,
    ) {
        let mut event = AuditEvent::new(kind::LOGIN_FAILED, self.clock.now())
            .client(client)
            .detail("reason", reason);
        event = match user {
            Some(id) => event.user(id),
            None => event.detail("email", email.as_str()),
        };
        audit::record(self.audit.as_ref(), event).await;
    }

    /// The session a token names, if it and its user may still be used.
    async fn live_session(
        &self,
        claims: &Claims,
        now: DateTime<Utc>,
    ) -> Result<(Session, User), LiveSessionError> {
        let (session, user) = self
            .sessions
            .find_with_user(claims.session_id)
            .await?
            .ok_or(Refusal::UnknownSession)?;
        if session.user_id != claims.subject || user.id != claims.subject {
            return Err(Refusal::UnknownSession.into());
        }
        if !session.is_live(now) {
            return Err(Refusal::SessionEnded.into());
        }
        if !user.is_active {
            return Err(Refusal::AccountInactive.into());
        }
        Ok((session, user))
    }
}

/// `live_session`'s outcome, convertible into either caller's error.
#[derive(Debug)]
enum LiveSessionError {
    Refused(Refusal),
    Fault(Fault),
}

impl From<Refusal> for LiveSessionError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<Fault> for LiveSessionError {
    fn from(fault: Fault) -> Self {
        Self::Fault(fault)
    }
}

impl From<LiveSessionError> for AuthenticateError {
    fn from(error: LiveSessionError) -> Self {
        match error {
            LiveSessionError::Refused(refusal) => Self::Refused(refusal),
            LiveSessionError::Fault(fault) => Self::Fault(fault),
        }
    }
}

impl From<LiveSessionError> for RefreshError {
    fn from(error: LiveSessionError) -> Self {
        match error {
            LiveSessionError::Refused(refusal) => Self::Refused(refusal),
            LiveSessionError::Fault(fault) => Self::Fault(fault),
        }
    }
}
