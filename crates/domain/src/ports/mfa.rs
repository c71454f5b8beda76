//! What the second-factor use cases need from the outside world. As in the other ports, each
//! method's documentation is its contract, checked against every adapter by the adapter suite.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::amr::Amr;
use crate::error::Fault;
use crate::one_time::TokenDigest;
use crate::session::SessionId;
use crate::user::UserId;

/// A secret encrypted at rest (AES-256-GCM), with the id of the key that sealed it, so that a
/// later key rotation knows which key opens which row.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A keyed hash (HMAC-SHA-256) of a recovery code, with the id of its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyedDigest {
    pub key_id: String,
    /// Lower-case hex.
    pub digest: String,
}

/// Randomness and the data-encryption key (`DATA_ENCRYPTION_KEY`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretKeeper: Send + Sync {
    /// `len` bytes from a cryptographically secure generator.
    fn random_bytes(&self, len: usize) -> Vec<u8>;

    /// Encrypts `plaintext` bound to `context` (authenticated, not encrypted: the owner's id,
    /// so a ciphertext copied into another row does not open there). A fresh nonce each time.
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<SealedSecret, Fault>;

    /// Decrypts what [`SecretKeeper::seal`] sealed with the same `context`. MUST fail (a
    /// `Fault::Internal`, never a panic) when the key id is unknown, the context differs or
    /// the ciphertext was altered.
    fn open(&self, sealed: &SealedSecret, context: &[u8]) -> Result<Vec<u8>, Fault>;

    /// A keyed hash of `data` bound to `context`, under the current key. Equal inputs give
    /// equal digests; without the key nothing about `data` can be learnt from it.
    fn digest(&self, context: &[u8], data: &[u8]) -> KeyedDigest;
}

/// A user's TOTP secret, pending or confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    pub user_id: UserId,
    pub secret: SealedSecret,
    pub created_at: DateTime<Utc>,
    /// `None` while pending (enrolled, not yet confirmed with a code).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step whose code was accepted: no code of it or of an earlier step is
    /// accepted again.
    pub last_step: Option<i64>,
}

/// Why a pending TOTP secret was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PutPendingError {
    #[error("TOTP is already enabled")]
    AlreadyEnabled,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// What confirming a TOTP enrolment writes, all at once.
#[derive(Debug, Clone)]
pub struct TotpConfirmation {
    pub user_id: UserId,
    /// The pending secret that was checked (its nonce identifies it): a concurrent
    /// re-enrolment that replaced it makes the confirmation fail.
    pub secret_nonce: Vec<u8>,
    /// The step of the code that confirmed it (never accepted again).
    pub step: i64,
    /// The new recovery-code set (replacing any other).
    pub recovery_codes: Vec<KeyedDigest>,
    /// The caller's session, which stays; every other session of the user is revoked.
    pub keep_session: SessionId,
    pub now: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TotpStore: Send + Sync {
    /// Stores `secret` as the user's pending TOTP secret, replacing a pending one.
    ///
    /// MUST return `AlreadyEnabled` (writing nothing) when the user's TOTP is confirmed.
    async fn put_pending_totp(
        &self,
        user_id: UserId,
        secret: &SealedSecret,
        now: DateTime<Utc>,
    ) -> Result<(), PutPendingError>;

    /// The user's TOTP record, pending or confirmed; `None` when there is none.
    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, Fault>;

    /// All or nothing, only if the user's TOTP is still pending with the secret of nonce
    /// `secret_nonce`: marks it confirmed at `now` with `step` as its last accepted step, sets
    /// the user's `mfa_enabled`, replaces their recovery codes by `recovery_codes`, and revokes
    /// at `now` every live session of the user but `keep_session`.
    ///
    /// MUST return `Some(revoked sessions)` when it confirmed, and `None` (writing nothing)
    /// otherwise — of two concurrent confirmations at most one returns `Some`.
    async fn confirm_totp(&self, confirmation: &TotpConfirmation) -> Result<Option<u64>, Fault>;

    /// Records `step` as the last accepted step of the user's confirmed TOTP only if it is
    /// later than the one recorded (compare-and-set).
    ///
    /// MUST return `true` when it recorded it, `false` otherwise (no confirmed TOTP, or a step
    /// not later): of concurrent calls with one step at most one returns `true`.
    async fn accept_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, Fault>;

    /// Removes the user's confirmed TOTP and, unless another second factor (a passkey)
    /// remains, their recovery codes, and sets `mfa_enabled` accordingly; all or nothing.
    ///
    /// MUST return `true` when it removed a confirmed TOTP, `false` (writing nothing) when
    /// there was none (a pending one is left as it is).
    async fn remove_totp(&self, user_id: UserId) -> Result<bool, Fault>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RecoveryCodeStore: Send + Sync {
    /// Replaces the user's recovery codes by `codes`, all or nothing, only if the user has a
    /// second factor (`mfa_enabled`). MUST return `false` (writing nothing) otherwise.
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[KeyedDigest],
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;

    /// Marks the user's unused recovery code `code` used at `now`.
    ///
    /// MUST return `true` when it did, `false` when the user has no such unused code: of
    /// concurrent calls with one code at most one returns `true`.
    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &KeyedDigest,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;
}

/// Which second factors a user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MfaStatus {
    /// A confirmed TOTP secret.
    pub totp: bool,
    pub recovery_codes_left: u32,
    pub passkeys: u32,
}

impl MfaStatus {
    pub fn has_second_factor(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SecondFactors: Send + Sync {
    /// The user's second factors (all zero/false for an unknown user).
    async fn mfa_status(&self, user_id: UserId) -> Result<MfaStatus, Fault>;

    /// All or nothing: removes the user's TOTP (pending or confirmed), recovery codes and
    /// passkeys, clears `mfa_enabled`, and revokes at `now` every live session of the user.
    ///
    /// MUST return `None` (writing nothing) when there is no such user, else `Some(revoked
    /// sessions)`.
    async fn reset_second_factors(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, Fault>;
}

/// A login waiting for its second factor. Only the digest of its `mfa_token` is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    pub digest: TokenDigest,
    pub user_id: UserId,
    /// How the first factor was proven (`["pwd"]`, or `["ext"]` for an external identity).
    pub first_factor: Amr,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Wrong codes so far.
    pub failures: u32,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MfaChallengeStore: Send + Sync {
    /// Stores a new challenge (and MAY delete challenges that expired before `challenge`
    /// was created).
    async fn insert_challenge(&self, challenge: &MfaChallenge) -> Result<(), Fault>;

    /// The unspent challenge with this digest (expired or not: judging is the caller's);
    /// `None` when there is none or it was spent.
    async fn find_challenge(&self, digest: &TokenDigest) -> Result<Option<MfaChallenge>, Fault>;

    /// Adds one wrong code to the unspent challenge and returns its new count (0 when there
    /// is no unspent challenge with this digest). Concurrent calls lose no failure.
    async fn fail_challenge(&self, digest: &TokenDigest) -> Result<u32, Fault>;

    /// Spends the challenge at `now` only if it is unspent, `expires_at` is after `now` and it
    /// has fewer than `max_failures` failures.
    ///
    /// MUST return `true` when it spent it, `false` otherwise: of concurrent calls at most one
    /// returns `true`.
    async fn spend_challenge(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<bool, Fault>;
}
