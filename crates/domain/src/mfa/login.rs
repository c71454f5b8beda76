//! The second step of a login: `POST /login/mfa` with the challenge's `mfa_token` and a code.

use crate::audit::{kind, AuditEvent};
use crate::error::Fault;
use crate::mail::SecurityNotice;
use crate::mfa::{throttling, MfaService, MAX_CODE_FAILURES};
use crate::one_time::TokenDigest;
use crate::service::LoginOutcome;
use crate::session::ClientInfo;

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
        let digest = TokenDigest::of(mfa_token);
        let now = self.ports.clock.now();
        let challenge = self
            .ports
            .challenges
            .find_challenge(&digest)
            .await?
            .filter(|c| c.expires_at > now && c.failures < MAX_CODE_FAILURES)
            .ok_or(MfaLoginError::InvalidToken)?;
        let user = self
            .ports
            .users
            .find_by_id(challenge.user_id)
            .await?
            .filter(|user| user.is_active)
            // A password change kills every pending login of the account.
            .filter(|user| {
                user.password_changed_at
                    .is_none_or(|changed| changed < challenge.created_at)
            })
            .ok_or(MfaLoginError::InvalidToken)?;
        let counted = match throttling::admit(&self.auth, &user.email, client).await? {
            Ok(counted) => counted,
            Err(locked) => {
                return Err(MfaLoginError::TooManyAttempts {
                    retry_after_secs: locked.retry_after_secs,
                })
            }
        };
        let Some(recovery_code) = self.check_code(&user, code).await? else {
            if let Some(counted) = counted {
                counted.failed();
            }
            let failures = self.ports.challenges.fail_challenge(&digest).await?;
            let event = AuditEvent::new(kind::MFA_FAILED, now)
                .user(user.id)
                .client(client)
                .detail("reason", "wrong_code")
                .detail("failures", failures.to_string());
            crate::audit::record(self.ports.audit.as_ref(), event).await;
            return Err(MfaLoginError::InvalidCode);
        };
        if !self
            .ports
            .challenges
            .spend_challenge(&digest, now, MAX_CODE_FAILURES)
            .await?
        {
            // Spent by a concurrent request meanwhile.
            return Err(MfaLoginError::InvalidToken);
        }
        if let Some(counted) = counted {
            counted.succeeded().await?;
        }
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
