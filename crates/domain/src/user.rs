use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::values::{Email, PasswordHash, PersonName, Username};

/// A user's id: a UUID (version 7, so ids sort by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The seed's `UserType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    Admin,
    #[default]
    User,
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::Other => "other",
        }
    }
}

impl FromStr for Role {
    type Err = crate::ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            "other" => Ok(Role::Other),
            _ => Err(crate::ValueError(
                "must be one of admin, user, other".into(),
            )),
        }
    }
}

/// A registered user, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub username: Option<Username>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub date_of_birth: Option<NaiveDate>,
    pub role: Role,
    pub is_active: bool,
    pub is_verified: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub date_joined: DateTime<Utc>,
    pub password_hash: PasswordHash,
    /// When the password was last changed (`None`: never since registration). Anything
    /// issued before it that rests on the old password (a reset link…) is stale.
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Whether the account has a second factor (TOTP or a passkey): then a password alone
    /// no longer logs in.
    pub mfa_enabled: bool,
}

/// What registration knows about a new user before it has a password hash.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewUser {
    pub username: Option<Username>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub date_of_birth: Option<NaiveDate>,
}

/// The privileges a new account starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountKind {
    /// Self-registration: an active, unverified `user`.
    #[default]
    Regular,
    /// `create-superuser`: active, verified, staff, superuser, role `admin`.
    Superuser,
}

impl User {
    /// Whether the account has a password (accounts created through an external identity or
    /// a passkey may have none: their hash is empty).
    pub fn has_password(&self) -> bool {
        !self.password_hash.as_str().is_empty()
    }

    /// Builds the row a registration stores.
    pub fn register(
        email: Email,
        profile: NewUser,
        password_hash: PasswordHash,
        kind: AccountKind,
        now: DateTime<Utc>,
    ) -> Self {
        let superuser = kind == AccountKind::Superuser;
        Self {
            id: UserId::new(),
            email,
            username: profile.username,
            first_name: profile.first_name,
            last_name: profile.last_name,
            date_of_birth: profile.date_of_birth,
            role: if superuser { Role::Admin } else { Role::User },
            is_active: true,
            is_verified: superuser,
            is_staff: superuser,
            is_superuser: superuser,
            last_login: None,
            date_joined: now,
            password_hash,
            password_changed_at: None,
            mfa_enabled: false,
        }
    }
}
