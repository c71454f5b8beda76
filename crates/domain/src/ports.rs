//! What the core needs from the outside world. Each method's documentation is its contract:
//! the adapter test suite in `auth-infra` checks these lines against every adapter.

pub mod oauth;
pub mod passkeys;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::account::ProfileChange;
use crate::admin::PrivilegeChange;
use crate::audit::AuditEvent;
use crate::error::Fault;
use crate::listing::{SearchPrefix, Start};
use crate::session::{Session, SessionId};
use crate::token::{Claims, TokenKind};
use crate::user::{User, UserId};
use crate::values::{Email, Password, PasswordHash};

/// Why a user could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("email already registered")]
    EmailTaken,
    #[error("username already taken")]
    UsernameTaken,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user.
    ///
    /// MUST return `EmailTaken` when a user with the same (normalised) email exists and
    /// `UsernameTaken` when one with the same username, compared case-insensitively, exists —
    /// also when the other insert is concurrent: exactly one of two racing inserts succeeds.
    /// Nothing is written when it fails.
    async fn insert(&self, user: &User) -> Result<(), InsertUserError>;

    /// The user with this email, `None` when there is none.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Fault>;

    /// The user with this id, `None` when there is none.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, Fault>;

    /// Replaces the user's password hash. Updating a missing user is not an error (nothing
    /// is written).
    async fn update_password_hash(&self, id: UserId, hash: &PasswordHash) -> Result<(), Fault>;

    /// Applies the fields present in `change` (the others are left as they are) and returns
    /// the updated user; `None` when there is no such user (nothing is written).
    ///
    /// MUST return `UsernameTaken` (writing nothing) when another user has the new username,
    /// compared case-insensitively — also when the other write is concurrent.
    async fn update_profile(
        &self,
        id: UserId,
        change: &ProfileChange,
    ) -> Result<Option<User>, UpdateProfileError>;

    /// All or nothing: replaces the password hash, records `now` as `password_changed_at`,
    /// revokes at `now` every session of the user that is not revoked yet, and stores `fresh`
    /// (a new session of the user, if given) without touching `last_login`.
    ///
    /// A compare-and-set on the caller's session: it happens only if `caller` is, once the
    /// user's row is locked, still a live session of the user (not revoked, not expired at
    /// `now`). So of concurrent changes from one user's sessions exactly one wins, and the
    /// others find their session revoked by it.
    ///
    /// Returns how many sessions it revoked, or `None` (writing nothing) when there is no
    /// such user or `caller` is no longer live.
    async fn change_password(
        &self,
        id: UserId,
        caller: SessionId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
        fresh: Option<Session>,
    ) -> Result<Option<u64>, Fault>;

    /// At most `limit` users in registration order (oldest first, ties by id), from `start`:
    /// skipping `Offset(n)` users, or strictly after the user whose (`date_joined`, id) is
    /// `After(at, id)` (that user need not exist any more). With `search`, only the users whose
    /// email or username (lower-cased) starts with it.
    ///
    /// MUST read through an index matching the order, so that a page `After` costs the same
    /// at any depth; users inserted meanwhile never make a page `After` repeat or skip one.
    async fn list(
        &self,
        search: Option<SearchPrefix>,
        start: Start,
        limit: u32,
    ) -> Result<Vec<User>, Fault>;

    /// How many users there are; with `search`, how many `list` would return in all. Without
    /// `search` it MUST NOT scan the users (a maintained counter): it is read on every page.
    async fn count(&self, search: Option<SearchPrefix>) -> Result<u64, Fault>;

    /// Applies the privilege fields present in `change` and returns the updated user;
    /// `None` when there is no such user (nothing is written). When the change deactivates
    /// the user, every session of theirs not revoked yet is revoked at `now` in the same
    /// transaction.
    ///
    /// With `keep_an_administrator`, MUST return `LastAdministrator` and write nothing when
    /// no administrator — an active user whose role is `admin` or who is a superuser
    /// ([`crate::admin::can_administer`]) — would remain. The check and the write are atomic
    /// with respect to concurrent calls of this method and of `delete`: two administrators
    /// demoting each other at once cannot both succeed if that leaves none.
    async fn update_privileges(
        &self,
        id: UserId,
        change: &PrivilegeChange,
        keep_an_administrator: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, AdministerError>;

    /// Deletes the user and, with them, their sessions. Returns `false` when there is no
    /// such user. `keep_an_administrator` works as in `update_privileges`.
    async fn delete(
        &self,
        id: UserId,
        keep_an_administrator: bool,
    ) -> Result<bool, AdministerError>;

    /// Replaces the user's password hash by `upgraded` only if it is still `current`
    /// (compare-and-set), so a re-hash of the old password never undoes a concurrent
    /// password change. MUST return `true` when it replaced it, `false` otherwise (changed
    /// meanwhile, or no such user).
    async fn upgrade_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, Fault>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session and records `session.created_at` as its user's `last_login`,
    /// both or neither.
    async fn start(&self, session: &Session) -> Result<(), Fault>;

    /// The session and its user, read together in one round trip; `None` when the session
    /// (or its user) does not exist. Revoked and expired sessions are returned as they are:
    /// judging them is the caller's business.
    ///
    /// MAY be answered from a per-instance cache, provided that a change made through any
    /// instance (or behind their backs) is seen within 1 s, and a change made through this
    /// repository at once. Decisions that must not act on a stale copy use a conditional
    /// write instead (`rotate_refresh`).
    async fn find_with_user(&self, id: SessionId) -> Result<Option<(Session, User)>, Fault>;

    /// Replaces the session's current refresh token id `presented` by `next` and sets
    /// `last_used_at` to `now`, atomically, only if the session exists, is not revoked, has not
    /// reached `expires_at`, and its current refresh token id is `presented`.
    ///
    /// MUST return `true` when it replaced it, `false` otherwise; of several concurrent calls
    /// with the same `presented`, at most one returns `true`.
    async fn rotate_refresh(
        &self,
        id: SessionId,
        presented: Uuid,
        next: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;

    /// Marks the session revoked at `now`. Revoking a revoked or missing session is not an
    /// error, and keeps the first revocation time.
    async fn revoke(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), Fault>;

    /// Marks every session of the user that is not revoked yet as revoked at `now`, and
    /// returns how many it revoked. Other users' sessions are untouched.
    async fn revoke_all_for_user(&self, user_id: UserId, now: DateTime<Utc>) -> Result<u64, Fault>;

    /// The user's live sessions (not revoked, `expires_at` after `now`), the most recently
    /// used first. Other users' sessions are never returned.
    async fn list_live_for_user(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, Fault>;

    /// Revokes the session at `now` only if it is a live session of `user_id`.
    ///
    /// MUST return `true` when it revoked it, and `false` (writing nothing) when the session
    /// does not exist, belongs to another user, is already revoked or has expired.
    async fn revoke_for_user(
        &self,
        id: SessionId,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault>;

    /// Deletes every session whose `expires_at` is at or before `now`, and every revoked
    /// session revoked before `revoked_before`; returns how many it deleted. Live sessions
    /// are never deleted.
    async fn prune(&self, now: DateTime<Utc>, revoked_before: DateTime<Utc>) -> Result<u64, Fault>;
}

/// Why a presented token was refused. The HTTP layer answers all of them alike (401
/// `invalid_token`); the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token algorithm is not accepted")]
    WrongAlgorithm,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer or audience does not match")]
    WrongIssuerOrAudience,
    #[error("token is of the wrong kind")]
    WrongKind,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Signs the claims into a compact token.
    fn issue(&self, claims: &Claims) -> Result<String, Fault>;

    /// Checks a token and returns its claims.
    ///
    /// MUST refuse (with the matching [`TokenError`]) a token that is not a well-formed JWT,
    /// whose signature does not verify with a configured key, whose `alg` is not the configured
    /// one (`none` included), whose `exp` has passed or whose `nbf` has not come (beyond the
    /// configured leeway), whose `iss`/`aud` differ from the configuration, that lacks any of
    /// the claims auth-server issues, or whose `token_type` is not `expected`.
    fn verify(&self, token: &str, expected: TokenKind) -> Result<Claims, TokenError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password that passed the policy (so never more than 72 bytes).
    async fn hash(&self, password: &Password) -> Result<PasswordHash, Fault>;

    /// Whether `candidate` matches `hash`. MUST return `false`, never truncate, when the
    /// candidate is longer than 72 bytes, and MUST take as long as a real comparison in that
    /// case too. An empty hash (an account without a password) matches nothing, after as long
    /// a comparison. Any other hash it cannot read is a `Fault::Internal`.
    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> Result<bool, Fault>;

    /// A hash of an unguessable password at the configured cost, verified against when a
    /// login names an unknown email so that it costs the same time as a known one.
    fn dummy_hash(&self) -> PasswordHash;

    /// Whether `hash` was made with other parameters (bcrypt: another cost) than the
    /// configured ones, so it should be re-hashed at the next successful login. A hash it
    /// cannot read: `false`.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Readiness: Send + Sync {
    /// `Ok` when the backing store answers a trivial query.
    async fn check(&self) -> Result<(), Fault>;
}

/// Why a profile could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    #[error("username already taken")]
    UsernameTaken,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// Why an administrative change was not written.
#[derive(Debug, thiserror::Error)]
pub enum AdministerError {
    /// The change would leave no active administrator.
    #[error("no administrator would remain")]
    LastAdministrator,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// The append-only audit trail.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends the event. Events are never changed or removed afterwards (not even when
    /// their user is deleted).
    async fn record(&self, event: &AuditEvent) -> Result<(), Fault>;

    /// At most `limit` of the events whose subject or actor is `user_id`, newest first (ties by
    /// id, the greater first), from `start`: skipping `Offset(n)`, or strictly after (older
    /// than) the event whose (`at`, id) is `After(at, id)`, through indexes matching the order.
    async fn list_for_user(
        &self,
        user_id: UserId,
        start: Start,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Fault>;

    /// How many events have `user_id` as subject or actor.
    async fn count_for_user(&self, user_id: UserId) -> Result<u64, Fault>;
}
