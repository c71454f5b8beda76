//! Email verification and password reset: one-time tokens sent by mail.
//!
//! A token is a random secret (at least 128 bits, URL-safe) that exists in clear only in the
//! mail that carries it; the store keeps its SHA-256 [`TokenDigest`]. Tokens are single-use,
//! expire, and are bound: a verification token to the email it was sent to, a reset token to
//! the password the account had when it was issued (through a [`password_fingerprint`]), so
//! that changing the password by any route kills every reset link issued before.
//!
//! Requests only record a [`MailIntent`]; the token is issued and the mail sent by
//! [`RecoveryService::deliver_due`], run by a background worker. So a reset request does the
//! same work (one outbox write) whether or not an account has the email.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::error::Fault;
use crate::mail::{MailIntent, MailMessage, QueuedMail};
use crate::mail_budget::MailBudget;
use crate::one_time::{
    password_fingerprint, OneTimeSecret, OneTimeToken, OneTimeTokenKind, TokenDigest,
};
use crate::policy::{PasswordPolicy, PolicyContext};
use crate::ports::{
    Clock, MailOutbox, Mailer, OneTimeTokenRepository, PasswordHasher, SecretGenerator,
    UserRepository,
};
use crate::session::ClientInfo;
use crate::throttle::Throttle;
use crate::user::{User, UserId};
use crate::values::{Email, Password, ValueError};

/// Lifetimes of the tokens, the links' base, and how mail delivery retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryPolicy {
    pub verify_email_ttl: TimeDelta,
    pub password_reset_ttl: TimeDelta,
    /// Where the front end lives, without a trailing slash: links are
    /// `{public_url}/verify-email?token=…` and `{public_url}/reset-password?token=…`.
    pub public_url: String,
    /// Attempts per mail before it is given up.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one…
    pub retry_delay: TimeDelta,
    /// …up to this.
    pub max_retry_delay: TimeDelta,
    /// How long a claimed mail is left to its worker before another may take it over (longer
    /// than a send can take).
    pub claim_lease: TimeDelta,
    /// Mails claimed per round.
    pub batch_size: usize,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            verify_email_ttl: TimeDelta::hours(24),
            password_reset_ttl: TimeDelta::hours(1),
            public_url: "http://127.0.0.1:8000".into(),
            max_attempts: 6,
            retry_delay: TimeDelta::seconds(30),
            max_retry_delay: TimeDelta::hours(1),
            claim_lease: TimeDelta::minutes(5),
            batch_size: 20,
        }
    }
}

impl RecoveryPolicy {
    /// The wait before the attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> TimeDelta {
        let doublings = attempts.saturating_sub(1).min(30);
        self.retry_delay
            .checked_mul(1 << doublings)
            .unwrap_or(self.max_retry_delay)
            .min(self.max_retry_delay)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyEmailError {
    /// Unknown, used, expired, of the other kind, or sent to an email the account no longer
    /// has: which one is not said.
    #[error("invalid or expired token")]
    InvalidToken,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// Unknown, used, expired, of the other kind, issued before the password last changed,
    /// or of an account that is gone or inactive: which one is not said.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The new password is refused by the [`PasswordPolicy`] (the token stays usable).
    #[error("new_password {0}")]
    WeakPassword(ValueError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// What a verification request did (the HTTP answer is the same either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationRequest {
    Queued,
    AlreadyVerified,
    /// Beyond the mail budget: nothing queued (answered like `Queued`).
    OverBudget,
}

/// What became of one outbox entry in a delivery round.
#[derive(Debug)]
pub enum DeliveryOutcome {
    Delivered,
    /// Nothing to send: no (active) account has the email, the account is verified already,
    /// or its email changed since the request.
    NothingToSend,
    /// The attempt failed; the entry is due again at `at`.
    Retrying {
        at: DateTime<Utc>,
        error: String,
    },
    /// The attempt failed and no other will be made.
    GaveUp {
        error: String,
    },
    /// The outbox could not be updated; the entry's claim runs out and it is tried again.
    StoreFault(Fault),
}

/// One entry handled by [`RecoveryService::deliver_due`], for the log.
#[derive(Debug)]
pub struct DeliveryReport {
    pub id: Uuid,
    pub kind: &'static str,
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
}

/// The verification and reset use cases, and the delivery of their mail.
#[derive(Clone)]
pub struct RecoveryService {
    users: Arc<dyn UserRepository>,
    tokens: Arc<dyn OneTimeTokenRepository>,
    outbox: Arc<dyn MailOutbox>,
    mailer: Arc<dyn Mailer>,
    secrets: Arc<dyn SecretGenerator>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    policy: RecoveryPolicy,
    /// Cleared of the account's key when a reset completes.
    throttle: Option<Throttle>,
    /// How many mails each requester may have sent (none: no limit).
    mail_budget: Option<MailBudget>,
}

/// The ports [`RecoveryService`] is built from.
pub struct RecoveryPorts {
    pub users: Arc<dyn UserRepository>,
    pub tokens: Arc<dyn OneTimeTokenRepository>,
    pub outbox: Arc<dyn MailOutbox>,
    pub mailer: Arc<dyn Mailer>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
}

impl RecoveryService {
    pub fn new(ports: RecoveryPorts, policy: RecoveryPolicy) -> Self {
        Self {
            users: ports.users,
            tokens: ports.tokens,
            outbox: ports.outbox,
            mailer: ports.mailer,
            secrets: ports.secrets,
            hasher: ports.hasher,
            clock: ports.clock,
            policy,
            throttle: None,
            mail_budget: None,
        }
    }

    /// Limits the verification and reset mails per account and requesting address: beyond
    /// the budget a request is answered as usual and no mail is queued.
    pub fn with_mail_budget(mut self, budget: MailBudget) -> Self {
        self.mail_budget = Some(budget);
        self
    }

    /// Whether the budget lets `client` have one more mail of `kind` sent to `email`.
    async fn within_budget(
        &self,
        kind: OneTimeTokenKind,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<bool, Fault> {
        match &self.mail_budget {
            None => Ok(true),
            Some(budget) => budget.spend(kind, email, client).await,
        }
    }

    /// A completed password reset clears the account's login throttle key (key 2): the owner
    /// who proved they hold the mailbox is not kept out by a stranger's guesses.
    pub fn with_login_throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    pub fn policy(&self) -> &RecoveryPolicy {
        &self.policy
    }

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
        let token = self
            .tokens
            .find_token(&digest)
            .await?
            .filter(|token| token.is_usable(OneTimeTokenKind::VerifyEmail, now))
            .ok_or(VerifyEmailError::InvalidToken)?;
        let user = self
            .users
            .find_by_id(token.user_id)
            .await?
            .filter(|user| user.is_active && user.email == token.email)
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
        let token = self
            .tokens
            .find_token(&digest)
            .await?
            .filter(|token| token.is_usable(OneTimeTokenKind::PasswordReset, now))
            .ok_or(ResetPasswordError::InvalidToken)?;
        let user = self
            .users
            .find_by_id(token.user_id)
            .await?
            .filter(|user| user.is_active)
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

    /// One delivery round: claims the due outbox entries and handles each. A failed send is
    /// retried with back-off until `max_attempts`; the HTTP answers never depend on it.
    pub async fn deliver_due(&self) -> Result<Vec<DeliveryReport>, Fault> {
        let now = self.clock.now();
        let claimed = self
            .outbox
            .claim_due(now, now + self.policy.claim_lease, self.policy.batch_size)
            .await?;
        let mut reports = Vec::with_capacity(claimed.len());
        for entry in claimed {
            let outcome = self.deliver(&entry, now).await;
            reports.push(DeliveryReport {
                id: entry.id,
                kind: entry.intent.kind(),
                attempt: entry.attempts,
                outcome,
            });
        }
        Ok(reports)
    }

    /// Removes expired tokens; returns how many.
    pub async fn purge_expired_tokens(&self) -> Result<u64, Fault> {
        self.tokens.purge_expired(self.clock.now()).await
    }

    async fn deliver(&self, entry: &QueuedMail, now: DateTime<Utc>) -> DeliveryOutcome {
        let prepared = match self.prepare(&entry.intent, now).await {
            Ok(prepared) => prepared,
            Err(fault) => return self.failed(entry, now, fault.to_string(), false).await,
        };
        let Some((message, digest)) = prepared else {
            return match self.outbox.finish(entry.id).await {
                Ok(()) => DeliveryOutcome::NothingToSend,
                Err(fault) => DeliveryOutcome::StoreFault(fault),
            };
        };
        match self.mailer.send(&message).await {
            Ok(()) => match self.outbox.finish(entry.id).await {
                Ok(()) => DeliveryOutcome::Delivered,
                Err(fault) => DeliveryOutcome::StoreFault(fault),
            },
            Err(error) => {
                // Nobody received this token: it must not stay usable. A failure here only
                // leaves a token whose secret no one knows, which expires.
                if let Some(digest) = &digest {
                    let _ = self.tokens.delete_token(digest).await;
                }
                self.failed(
                    entry,
                    now,
                    crate::error::chain(&error),
                    error.is_permanent(),
                )
                .await
            }
        }
    }

    async fn failed(
        &self,
        entry: &QueuedMail,
        now: DateTime<Utc>,
        error: String,
        permanent: bool,
    ) -> DeliveryOutcome {
        if permanent || entry.attempts >= self.policy.max_attempts {
            match self.outbox.give_up(entry.id, now, &error).await {
                Ok(()) => DeliveryOutcome::GaveUp { error },
                Err(fault) => DeliveryOutcome::StoreFault(fault),
            }
        } else {
            let at = now + self.policy.backoff(entry.attempts);
            match self.outbox.retry_at(entry.id, at, &error).await {
                Ok(()) => DeliveryOutcome::Retrying { at, error },
                Err(fault) => DeliveryOutcome::StoreFault(fault),
            }
        }
    }

    /// The message an intent stands for, with its freshly stored token; `None` when there is
    /// nothing to send.
    async fn prepare(
        &self,
        intent: &MailIntent,
        now: DateTime<Utc>,
    ) -> Result<Option<(MailMessage, Option<TokenDigest>)>, Fault> {
        match intent {
            MailIntent::SecurityNotice {
                user_id,
                email,
                notice,
            } => {
                // Sent to the address the account had when it happened, while it exists.
                if self.users.find_by_id(*user_id).await?.is_none() {
                    return Ok(None);
                }
                Ok(Some((notice.message(email), None)))
            }
            MailIntent::PasswordReset { email } => {
                let Some(user) = self
                    .users
                    .find_by_email(email)
                    .await?
                    .filter(|user| user.is_active)
                else {
                    return Ok(None);
                };
                let secret = self
                    .issue(
                        OneTimeTokenKind::PasswordReset,
                        &user,
                        Some(password_fingerprint(&user.password_hash)),
                        now,
                    )
                    .await?;
                let message = reset_message(&user.email, &secret, &self.policy);
                Ok(Some((message, Some(secret.digest()))))
            }
            MailIntent::VerifyEmail { user_id, email } => {
                let Some(user) = self
                    .users
                    .find_by_id(*user_id)
                    .await?
                    .filter(|user| user.is_active && !user.is_verified && &user.email == email)
                else {
                    return Ok(None);
                };
                let secret = self
                    .issue(OneTimeTokenKind::VerifyEmail, &user, None, now)
                    .await?;
                let message = verification_message(&user.email, &secret, &self.policy);
                Ok(Some((message, Some(secret.digest()))))
            }
        }
    }

    async fn issue(
        &self,
        kind: OneTimeTokenKind,
        user: &User,
        password_fingerprint: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<OneTimeSecret, Fault> {
        let ttl = match kind {
            OneTimeTokenKind::VerifyEmail => self.policy.verify_email_ttl,
            OneTimeTokenKind::PasswordReset => self.policy.password_reset_ttl,
        };
        let secret = self.secrets.generate();
        let token = OneTimeToken {
            digest: secret.digest(),
            kind,
            user_id: user.id,
            email: user.email.clone(),
            password_fingerprint,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        self.tokens.insert_token(&token).await?;
        Ok(secret)
    }
}

/// `24 hours`, `1 hour`, `30 minutes`.
fn human(ttl: TimeDelta) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let minutes = ttl.num_minutes();
    if minutes >= 60 && minutes % 60 == 0 {
        plural(minutes / 60, "hour")
    } else if minutes >= 1 {
        plural(minutes, "minute")
    } else {
        plural(ttl.num_seconds(), "second")
    }
}

fn reset_message(to: &Email, secret: &OneTimeSecret, policy: &RecoveryPolicy) -> MailMessage {
    MailMessage {
        to: to.clone(),
        subject: "Reset your password".into(),
        text: format!(
            "Someone, hopefully you, asked to reset the password of the account {to}.\n\
             \n\
             To choose a new password, open this link within {ttl}:\n\
             \n\
             {url}/reset-password?token={token}\n\
             \n\
             The link works once. Setting a new password signs you out everywhere.\n\
             If you did not ask for this, ignore this message: your password stays as it is.\n",
            ttl = human(policy.password_reset_ttl),
            url = policy.public_url,
            token = secret.expose(),
        ),
    }
}

fn verification_message(
    to: &Email,
    secret: &OneTimeSecret,
    policy: &RecoveryPolicy,
) -> MailMessage {
    MailMessage {
        to: to.clone(),
        subject: "Confirm your email address".into(),
        text: format!(
            "Please confirm that {to} is your email address by opening this link within {ttl}:\n\
             \n\
             {url}/verify-email?token={token}\n\
             \n\
             If you did not create an account, ignore this message.\n",
            ttl = human(policy.verify_email_ttl),
            url = policy.public_url,
            token = secret.expose(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_hex_and_hide_in_debug() {
        let digest = TokenDigest::of("abc");
        assert_eq!(
            digest.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!format!("{:?}", OneTimeSecret::new("s3cr3t".into())).contains("s3cr3t"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RecoveryPolicy {
            retry_delay: TimeDelta::seconds(30),
            max_retry_delay: TimeDelta::minutes(5),
            ..RecoveryPolicy::default()
        };
        assert_eq!(policy.backoff(1), TimeDelta::seconds(30));
        assert_eq!(policy.backoff(2), TimeDelta::seconds(60));
        assert_eq!(policy.backoff(3), TimeDelta::seconds(120));
        assert_eq!(policy.backoff(5), TimeDelta::minutes(5));
        assert_eq!(policy.backoff(u32::MAX), TimeDelta::minutes(5));
    }

    #[test]
    fn error_chains_do_not_repeat_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("connection error: refused")]
        struct Echoing(#[source] std::io::Error);
        let error = crate::mail::MailError::transient(Echoing(std::io::Error::other("refused")));
        assert_eq!(
            crate::error::chain(&error),
            "transient mail failure: connection error: refused"
        );
    }

    #[test]
    fn durations_read_well_in_mail() {
        assert_eq!(human(TimeDelta::hours(24)), "24 hours");
        assert_eq!(human(TimeDelta::hours(1)), "1 hour");
        assert_eq!(human(TimeDelta::minutes(90)), "90 minutes");
        assert_eq!(human(TimeDelta::seconds(45)), "45 seconds");
    }
}
