//! Logging in with a password: one verification whatever the outcome, the throttle, the
//! hand-over to a second factor, and the session a complete login opens.

use crate::amr::Amr;
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::mfa::MfaChallengeIssued;
use crate::session::ClientInfo;
use crate::throttle::{AttemptKeys, ThrottleError};
use crate::user::{User, UserId};
use crate::values::{Email, Password};

use super::{AuthService, LoginError, LoginOutcome};

impl AuthService {
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
            let issued = self
                .challenge_second_factor(&user, Amr::password(), &client)
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

    /// Opens the challenge of a login whose first factor `first_factor` (a password, an
    /// external identity) was just proven, for an account with a second factor.
    pub(crate) async fn challenge_second_factor(
        &self,
        user: &User,
        first_factor: Amr,
        client: &ClientInfo,
    ) -> Result<MfaChallengeIssued, Fault> {
        crate::mfa::issue_challenge(
            self.second_factor.as_ref(),
            self.clock.as_ref(),
            self.audit.as_ref(),
            user,
            first_factor,
            client,
        )
        .await
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
}
