//! Where users are stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Fault;
use crate::listing::{SearchPrefix, Start};
use crate::session::{Session, SessionId};
use crate::user::{PrivilegeChange, ProfileChange, User, UserId};
use crate::values::{Email, PasswordHash};

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

    /// How many users there are; with `search`, how many `list` would return in all, counting
    /// no further than [`crate::listing::SEARCH_TOTAL_LIMIT`]` + 1` (more is not needed, and a
    /// broad prefix matches a large part of the table). Without `search` it MUST NOT scan the
    /// users (a maintained counter): it is read on every page.
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
