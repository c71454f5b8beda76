//! The second step of a login: `POST /login/mfa` with the challenge's `mfa_token` and a code.

use chrono::{DateTime, Utc};

use crate::audit::{kind, AuditEvent};
use crate::error::Fault;
use crate::mail::SecurityNotice;
use crate::mfa::{throttling, MfaChallenge, MfaChallengeStore, MfaService, MAX_CODE_FAILURES};
use crate::one_time::TokenDigest;
use crate::ports::{AuditLog, UserRepository};
use crate::service::{AuthService, LoginOutcome};
use crate::session::ClientInfo;
use crate::throttle::CountedAttempt;
use crate::user::User;

#[derive(Debug, thiserror::Error)]
pub enum MfaLoginError {
    /// Unknown, spent, expired or dead (too many wrong codes) `mfa_token`, or its account
    /// changed its password or was deactivated since.
    #[error("invalid or expired mfa_token")]
    InvalidToken,
    /// The code is wrong (or was accepted once already).
    #[error("wrong second-factor code")]
    InvalidCode,
    /// The login throttle refused: the code was not checked.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The passkey assertion given is not one at all (422).
    #[error("malformed credential: {0}")]
    MalformedCredential(String),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl MfaService {
    /// Finishes a login with a TOTP or recovery code: the token pair, as `/login` gives.
    ///
    /// Each wrong code is one failure on the login throttle's keys and on the challenge
    /// (dead after [`MAX_CODE_FAILURES`]); while a key is locked the code is not looked at.
    pub async fn complete_login(
        &self,
        mfa_token: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, MfaLoginError> {
        let now = self.ports.clock.now();
        let step = SecondStep::begin(
            &self.auth,
            self.ports.challenges.as_ref(),
            self.ports.users.as_ref(),
            mfa_token,
            now,
            client,
        )
        .await?;
        let Some(recovery_code) = self.check_code(&step.user, code).await? else {
            let audit = self.ports.audit.as_ref();
            let detail = [("reason", "wrong_code")];
            return Err(step.refuse(audit, client, &detail).await);
        };
        let (challenge, user) = step.accept().await?;
        let amr = challenge.first_factor.with_otp();
        let outcome = self.auth.open_session(&user, client.clone(), amr).await?;
        if recovery_code {
            let event = AuditEvent::new(kind::RECOVERY_CODE_USED, now)
                .user(user.id)
                .session(outcome.session_id)
                .client(client);
            crate::audit::record(self.ports.audit.as_ref(), event).await;
            self.notify(&user, SecurityNotice::RecoveryCodeUsed).await;
        }
        Ok(outcome)
    }
}

/// A login at its second step, its attempt counted by the login throttle: what a code and a
/// passkey assertion go through alike, before and after their own check.
pub(crate) struct SecondStep<'a> {
    challenges: &'a dyn MfaChallengeStore,
    pub(crate) digest: TokenDigest,
    now: DateTime<Utc>,
    pub(crate) challenge: MfaChallenge,
    pub(crate) user: User,
    counted: Option<CountedAttempt>,
}

impl<'a> SecondStep<'a> {
    /// The login waiting under `mfa_token` (see [`pending_login`]), admitted by the throttle:
    /// `TooManyAttempts` while a key is locked, and the factor must then not be looked at.
    pub(crate) async fn begin(
        auth: &AuthService,
        challenges: &'a dyn MfaChallengeStore,
        users: &dyn UserRepository,
        mfa_token: &str,
        now: DateTime<Utc>,
        client: &ClientInfo,
    ) -> Result<Self, MfaLoginError> {
        let digest = TokenDigest::of(mfa_token);
        let (challenge, user) = pending_login(challenges, users, &digest, now).await?;
        let counted = match throttling::admit(auth, &user.email, client).await? {
            Ok(counted) => counted,
            Err(locked) => {
                return Err(MfaLoginError::TooManyAttempts {
                    retry_after_secs: locked.retry_after_secs,
                })
            }
        };
        Ok(Self {
            challenges,
            digest,
            now,
            challenge,
            user,
            counted,
        })
    }

    /// A wrong factor: one failure on the throttle's keys and on the challenge (dead after
    /// [`MAX_CODE_FAILURES`]), audited as `mfa_failed` with `detail` and the failure count.
    /// The error to answer: `InvalidCode`, or the fault that kept the failure from counting.
    pub(crate) async fn refuse(
        self,
        audit: &dyn AuditLog,
        client: &ClientInfo,
        detail: &[(&str, &str)],
    ) -> MfaLoginError {
        if let Some(counted) = self.counted {
            counted.failed();
        }
        let failures = match self.challenges.fail_challenge(&self.digest).await {
            Ok(failures) => failures,
            Err(fault) => return fault.into(),
        };
        let event = detail
            .iter()
            .fold(
                AuditEvent::new(kind::MFA_FAILED, self.now)
                    .user(self.user.id)
                    .client(client),
                |event, (key, value)| event.detail(key, *value),
            )
            .detail("failures", failures.to_string());
        crate::audit::record(audit, event).await;
        MfaLoginError::InvalidCode
    }

    /// The factor was right: the challenge is spent (`InvalidToken` when a concurrent request
    /// spent it meanwhile) and the throttle's keys reset. The login's challenge and account.
    pub(crate) async fn accept(self) -> Result<(MfaChallenge, User), MfaLoginError> {
        if !self
            .challenges
            .spend_challenge(&self.digest, self.now, MAX_CODE_FAILURES)
            .await?
        {
            return Err(MfaLoginError::InvalidToken);
        }
        if let Some(counted) = self.counted {
            counted.succeeded().await?;
        }
        Ok((self.challenge, self.user))
    }
}

/// The login waiting for its second factor under this `mfa_token` digest, and its account:
/// `InvalidToken` when it is unknown, spent, expired or dead, or when its account was
/// deactivated or changed its password since.
pub(crate) async fn pending_login(
    challenges: &dyn MfaChallengeStore,
    users: &dyn UserRepository,
    digest: &TokenDigest,
    now: DateTime<Utc>,
) -> Result<(MfaChallenge, User), MfaLoginError> {
    let challenge = challenges
        .find_challenge(digest)
        .await?
        .filter(|c| c.expires_at > now && c.failures < MAX_CODE_FAILURES)
        .ok_or(MfaLoginError::InvalidToken)?;
    let user = users
        .find_by_id(challenge.user_id)
        .await?
        .filter(|user| still_pending_for(user, challenge.created_at))
        .ok_or(MfaLoginError::InvalidToken)?;
    Ok((challenge, user))
}

/// Whether something pending since `since` (a login's second step, a passkey ceremony) is
/// still good for `user`: a deactivation or a password change kills it.
pub(crate) fn still_pending_for(user: &User, since: DateTime<Utc>) -> bool {
    user.is_active
        && user
            .password_changed_at
            .is_none_or(|changed| changed < since)
}
