//! The outbox worker's side: issuing the token of a due intent and sending its mail.

use chrono::{DateTime, Utc};

use crate::error::Fault;
use crate::mail::{MailIntent, MailMessage, QueuedMail};
use crate::one_time::{
    password_fingerprint, OneTimeSecret, OneTimeToken, OneTimeTokenKind, TokenDigest,
};
use crate::user::User;

use super::messages::{reset_message, verification_message};
use super::*;

impl RecoveryService {
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
