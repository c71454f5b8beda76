//! One-time tokens (email verification, password reset) and the secrets they carry.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Fault;
use crate::one_time::{OneTimeSecret, OneTimeToken, TokenDigest};
use crate::user::UserId;
use crate::values::{Email, PasswordHash};

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// A fresh secret: at least 128 bits from a cryptographically secure generator, written
    /// with URL-safe characters only (`A-Z a-z 0-9 - _`).
    fn generate(&self) -> OneTimeSecret;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OneTimeTokenRepository: Send + Sync {
    /// Stores a new token. Its user exists (a token of a user deleted later goes with them).
    async fn insert_token(&self, token: &OneTimeToken) -> Result<(), Fault>;

    /// The token with this digest, used and expired ones included; `None` when there is none.
    async fn find_token(&self, digest: &TokenDigest) -> Result<Option<OneTimeToken>, Fault>;

    /// Removes the token (one that was never delivered). Deleting a missing one is not an
    /// error.
    async fn delete_token(&self, digest: &TokenDigest) -> Result<(), Fault>;

    /// Removes every token that expired before `now`, used or not; returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, Fault>;

    /// Atomically: marks the token used at `now` and sets the user's `is_verified` — only if
    /// the token is a [`OneTimeTokenKind::VerifyEmail`] token of `user_id`, unused, with
    /// `now < expires_at`, and the user with `user_id` still has `email`.
    ///
    /// MUST return `true` when it did both, `false` (and write nothing) otherwise; of several
    /// concurrent calls with one digest, at most one returns `true`.
    async fn redeem_email_verification(
        &self,
        digest: &TokenDigest,
        user_id: UserId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;

    /// Atomically: marks the token used at `now`, replaces the user's password hash
    /// `expected` by `new_hash`, and revokes (at `now`) every session of the user not revoked
    /// yet — only if the token is a [`OneTimeTokenKind::PasswordReset`] token of `user_id`,
    /// unused, with `now < expires_at`, and the user's hash is still `expected`.
    ///
    /// MUST return `true` when it did all three, `false` (and write nothing) otherwise; of
    /// several concurrent calls with one digest, at most one returns `true`.
    async fn redeem_password_reset(
        &self,
        digest: &TokenDigest,
        user_id: UserId,
        expected: &PasswordHash,
        new_hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;
}
