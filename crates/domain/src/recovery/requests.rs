//! What users ask for: a verification mail, a reset mail, and redeeming their tokens.

use chrono::{DateTime, Utc};

use crate::error::Fault;
use crate::mail::MailIntent;
use crate::one_time::{password_fingerprint, OneTimeToken, OneTimeTokenKind, TokenDigest};
use crate::policy::{PasswordPolicy, PolicyContext};
use crate::session::ClientInfo;
use crate::user::{User, UserId};
use crate::values::{Email, Password};

use super::*;

impl RecoveryService {
    /// Queues a verification mail to the caller's current email; nothing for a verified
    /// account.
    pub async fn request_email_verification(
        &self,
        user: &User,
    ) -> Result<VerificationRequest, Fault> {
        self.request_email_verification_from(user, &ClientInfo::default())
            .await
    }

    /// [`RecoveryService::request_email_verification`] by `client`, within the mail budget
    /// (beyond it: [`VerificationRequest::OverBudget`], nothing queued).
    pub async fn request_email_verification_from(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<VerificationRequest, Fault> {
        if user.is_verified {
            return Ok(VerificationRequest::AlreadyVerified);
        }
        if !self
            .within_budget(OneTimeTokenKind::VerifyEmail, &user.email, client)
            .await?
        {
            return Ok(VerificationRequest::OverBudget);
        }
        let intent = MailIntent::VerifyEmail {
            user_id: user.id,
            email: user.email.clone(),
        };
        self.outbox.enqueue(&intent, self.clock.now()).await?;
        Ok(VerificationRequest::Queued)
    }

    /// Marks the account verified and returns it. The token must be a live verification
    /// token sent to the email the account still has, and the account must be active (a
    /// deactivated account is left as the administrator left it).
    pub async fn verify_email(&self, secret: &str) -> Result<User, VerifyEmailError> {
        let digest = TokenDigest::of(secret);
        let now = self.clock.now();
        let (token, user) = self
            .token_holder(&digest, OneTimeTokenKind::VerifyEmail, now)
            .await?
            .filter(|(token, user)| user.email == token.email)
            .ok_or(VerifyEmailError::InvalidToken)?;
        let redeemed = self
            .tokens
            .redeem_email_verification(&digest, user.id, &token.email, now)
            .await?;
        if !redeemed {
            return Err(VerifyEmailError::InvalidToken);
        }
        Ok(User {
            is_verified: true,
            ..user
        })
    }

    /// Queues a reset mail for whichever account has `email`. The same single write happens
    /// whether or not one does: the answer and its timing reveal nothing.
    pub async fn request_password_reset(&self, email: &Email) -> Result<(), Fault> {
        self.request_password_reset_from(email, &ClientInfo::default())
            .await
    }

    /// [`RecoveryService::request_password_reset`] by `client`, within the mail budget
    /// (kept for the email whether or not an account has it; beyond it nothing is queued).
    pub async fn request_password_reset_from(
        &self,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<(), Fault> {
        if !self
            .within_budget(OneTimeTokenKind::PasswordReset, email, client)
            .await?
        {
            return Ok(());
        }
        let intent = MailIntent::PasswordReset {
            email: email.clone(),
        };
        self.outbox.enqueue(&intent, self.clock.now()).await
    }

    /// Sets a new password with a reset token; every session of the account ends. Returns
    /// whose password it was.
    pub async fn reset_password(
        &self,
        secret: &str,
        new_password: &Password,
    ) -> Result<UserId, ResetPasswordError> {
        let digest = TokenDigest::of(secret);
        let now = self.clock.now();
        let (token, user) = self
            .token_holder(&digest, OneTimeTokenKind::PasswordReset, now)
            .await?
            .ok_or(ResetPasswordError::InvalidToken)?;
        if token.password_fingerprint.as_deref()
            != Some(password_fingerprint(&user.password_hash).as_str())
        {
            return Err(ResetPasswordError::InvalidToken);
        }
        PasswordPolicy::check(new_password, &PolicyContext::of(&user))
            .map_err(ResetPasswordError::WeakPassword)?;
        let new_hash = self.hasher.hash(new_password).await?;
        // The store re-checks everything in one transaction, the hash read above included:
        // a concurrent reset or password change makes this one fail, not overwrite it.
        let redeemed = self
            .tokens
            .redeem_password_reset(&digest, user.id, &user.password_hash, &new_hash, now)
            .await?;
        if !redeemed {
            return Err(ResetPasswordError::InvalidToken);
        }
        if let Some(throttle) = &self.throttle {
            if let Err(fault) = throttle.clear_account(&user.email).await {
                log::warn!(
                    "password of user {} reset, but its login throttle key was not cleared: {fault}",
                    user.id
                );
            }
        }
        Ok(user.id)
    }

    /// The live token of `kind` that `digest` names, and its account while active: `None`
    /// when either is missing (the account is not looked up without a live token).
    async fn token_holder(
        &self,
        digest: &TokenDigest,
        kind: OneTimeTokenKind,
        now: DateTime<Utc>,
    ) -> Result<Option<(OneTimeToken, User)>, Fault> {
        let Some(token) = self
            .tokens
            .find_token(digest)
            .await?
            .filter(|token| token.is_usable(kind, now))
        else {
            return Ok(None);
        };
        let user = self
            .users
            .find_by_id(token.user_id)
            .await?
            .filter(|user| user.is_active);
        Ok(user.map(|user| (token, user)))
    }
}
