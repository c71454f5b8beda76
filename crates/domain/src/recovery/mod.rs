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
use crate::mail_budget::MailBudget;
use crate::one_time::OneTimeTokenKind;
use crate::ports::{
    Clock, MailOutbox, Mailer, OneTimeTokenRepository, PasswordHasher, SecretGenerator,
    UserRepository,
};
use crate::session::ClientInfo;
use crate::throttle::Throttle;
use crate::values::{Email, ValueError};

mod delivery;
mod messages;
mod requests;

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
}

#[cfg(test)]
mod tests {
    use super::messages::human;
    use super::*;
    use crate::one_time::{OneTimeSecret, TokenDigest};

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
