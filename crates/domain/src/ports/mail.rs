//! Sending mail, and the outbox that makes it durable.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Fault;
use crate::mail::{MailError, MailIntent, MailMessage, QueuedMail};

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Hands one message over for delivery.
    ///
    /// MUST return `Ok` only once the message is durably handed over (accepted by the mail
    /// server; written completely to its final place), and an error otherwise — never panic.
    /// MUST NOT leave a partial message where a reader would take it for a whole one. The error
    /// is [`MailError::Permanent`] only when resending the same message cannot succeed.
    /// Errors never contain the message body.
    async fn send(&self, message: &MailMessage) -> Result<(), MailError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailOutbox: Send + Sync {
    /// Records an intent, due at once (`now`), with no attempt made yet. One write, whatever
    /// the intent holds.
    async fn enqueue(&self, intent: &MailIntent, now: DateTime<Utc>) -> Result<(), Fault>;

    /// Claims up to `limit` entries that are due (`next_attempt_at <= now`), neither finished
    /// nor given up, and not claimed by anyone whose claim is still running (claims run until
    /// `lease_until`), oldest first. Each claimed entry's attempt counter is incremented and
    /// its claim set to `lease_until`.
    ///
    /// MUST hand an entry to at most one of several concurrent callers (other server
    /// instances included) while its claim runs.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>, Fault>;

    /// The entry is done (delivered, or nothing had to be sent): it is removed. Finishing a
    /// missing entry is not an error.
    async fn finish(&self, id: Uuid) -> Result<(), Fault>;

    /// The attempt failed: the entry becomes due again at `next_attempt_at`, its claim is
    /// released and `error` (a log line, no secret in it) is kept as its last error.
    async fn retry_at(
        &self,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), Fault>;

    /// The entry will not be tried again: it is kept, marked failed at `now` with `error`, and
    /// never claimed again.
    async fn give_up(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> Result<(), Fault>;
}
