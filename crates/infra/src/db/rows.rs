//! Rows as Diesel reads and writes them, and their conversion to and from domain types.

use auth_domain::session::ClientInfo;
use auth_domain::Amr;
use auth_domain::{Email, Fault, PasswordHash, PersonName, Role, Session, User, Username};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::id::DbId;
use super::schema::{sessions, users};

/// The columns of row type `R`, in the order of its fields, for a `RETURNING` clause
/// (`R::as_returning()` is bound to one backend and does not render on `AnyConnection`).
pub(super) fn columns_of<R: Selectable<diesel::pg::Pg>>() -> R::SelectExpression {
    R::construct_selection()
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: DbId,
    pub email: String,
    pub username: Option<String>,
    pub username_key: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub role: String,
    pub is_active: bool,
    pub is_verified: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub password_hash: String,
    pub last_login: Option<NaiveDateTime>,
    pub date_joined: NaiveDateTime,
    pub password_changed_at: Option<NaiveDateTime>,
    pub mfa_enabled: bool,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: DbId,
    pub user_id: DbId,
    pub refresh_jti: DbId,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
    pub amr: String,
}

/// A stored value that does not parse means the database holds something no adapter wrote.
fn corrupt(what: &str, error: impl std::fmt::Display) -> Fault {
    Fault::internal(format!("stored {what} is invalid: {error}"))
}

pub fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}

pub fn naive(time: DateTime<Utc>) -> NaiveDateTime {
    time.naive_utc()
}

fn optional<T>(
    raw: Option<String>,
    what: &str,
    parse: impl Fn(&str) -> Result<T, auth_domain::ValueError>,
) -> Result<Option<T>, Fault> {
    raw.map(|value| parse(&value).map_err(|e| corrupt(what, e)))
        .transpose()
}

impl From<&User> for UserRow {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.into(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            username_key: user.username.as_ref().map(Username::key),
            first_name: user.first_name.as_ref().map(|n| n.as_str().to_owned()),
            last_name: user.last_name.as_ref().map(|n| n.as_str().to_owned()),
            date_of_birth: user.date_of_birth,
            role: user.role.as_str().to_owned(),
            is_active: user.is_active,
            is_verified: user.is_verified,
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            password_hash: user.password_hash.as_str().to_owned(),
            last_login: user.last_login.map(naive),
            date_joined: naive(user.date_joined),
            password_changed_at: user.password_changed_at.map(naive),
            mfa_enabled: user.mfa_enabled,
        }
    }
}

impl TryFrom<UserRow> for User {
    type Error = Fault;

    fn try_from(row: UserRow) -> Result<Self, Fault> {
        Ok(User {
            id: row.id.into(),
            email: Email::from_stored(row.email),
            username: optional(row.username, "username", Username::parse)?,
            first_name: optional(row.first_name, "first name", PersonName::parse)?,
            last_name: optional(row.last_name, "last name", PersonName::parse)?,
            date_of_birth: row.date_of_birth,
            role: row.role.parse::<Role>().map_err(|e| corrupt("role", e))?,
            is_active: row.is_active,
            is_verified: row.is_verified,
            is_staff: row.is_staff,
            is_superuser: row.is_superuser,
            last_login: row.last_login.map(utc),
            date_joined: utc(row.date_joined),
            password_hash: PasswordHash::new(row.password_hash),
            password_changed_at: row.password_changed_at.map(utc),
            mfa_enabled: row.mfa_enabled,
        })
    }
}

impl From<&Session> for SessionRow {
    fn from(session: &Session) -> Self {
        Self {
            id: session.id.into(),
            user_id: session.user_id.into(),
            refresh_jti: session.refresh_jti.into(),
            created_at: naive(session.created_at),
            last_used_at: naive(session.last_used_at),
            expires_at: naive(session.expires_at),
            revoked_at: session.revoked_at.map(naive),
            user_agent: session.client.user_agent.clone(),
            client_addr: session.client.address.clone(),
            amr: session.amr.to_stored(),
        }
    }
}

impl TryFrom<SessionRow> for Session {
    type Error = Fault;

    fn try_from(row: SessionRow) -> Result<Self, Fault> {
        Ok(Session {
            id: row.id.into(),
            user_id: row.user_id.into(),
            refresh_jti: row.refresh_jti.0,
            created_at: utc(row.created_at),
            last_used_at: utc(row.last_used_at),
            expires_at: utc(row.expires_at),
            revoked_at: row.revoked_at.map(utc),
            client: ClientInfo {
                user_agent: row.user_agent,
                address: row.client_addr,
            },
            amr: Amr::from_stored(&row.amr),
        })
    }
}
