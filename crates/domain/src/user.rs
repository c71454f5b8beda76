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

/// A partial update of a profile: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfileChange {
    pub username: Option<Option<Username>>,
    pub first_name: Option<Option<PersonName>>,
    pub last_name: Option<Option<PersonName>>,
    pub date_of_birth: Option<Option<NaiveDate>>,
}

impl ProfileChange {
    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// The names of the fields it sets or clears.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("username", self.username.is_some()),
            ("first_name", self.first_name.is_some()),
            ("last_name", self.last_name.is_some()),
            ("date_of_birth", self.date_of_birth.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

/// A partial change of a user's privileges: `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrivilegeChange {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    pub is_verified: Option<bool>,
    pub is_staff: Option<bool>,
}

impl PrivilegeChange {
    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// Whether applying it can leave fewer administrators: it sets a role other than
    /// `admin` or deactivates. Decided from the change alone, never from a (possibly stale)
    /// read of the user, so the guard is never skipped when it is needed.
    pub fn may_remove_an_administrator(&self) -> bool {
        self.role.is_some_and(|role| role != Role::Admin) || self.is_active == Some(false)
    }

    /// The fields it sets, with their new values, for the audit trail.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let flag = |value: bool| value.to_string();
        [
            ("role", self.role.map(|role| role.as_str().to_owned())),
            ("is_active", self.is_active.map(flag)),
            ("is_verified", self.is_verified.map(flag)),
            ("is_staff", self.is_staff.map(flag)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .collect()
    }
}
