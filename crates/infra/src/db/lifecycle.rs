//! The account-lifecycle writes of [`UserRepository`](auth_domain::ports::UserRepository):
//! profile edits, password changes, administration. `users.rs` delegates here.

use auth_domain::ports::{AdministerError, UpdateProfileError};
use auth_domain::user::PrivilegeChange;
use auth_domain::user::ProfileChange;
use auth_domain::{Fault, PasswordHash, Session, SessionId, User, UserId, Username};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::result::Error as QueryError;

use super::rows::{naive, SessionRow, UserRow};
use super::schema::{one_time_tokens, sessions, users};
use super::sessions::revoke_all_of;
use super::{AnyConnection, Database, StoreError};
use crate::db::id::DbId;

/// Only the fields present are written; `Some(None)` writes NULL.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ProfileChangeset {
    username: Option<Option<String>>,
    username_key: Option<Option<String>>,
    first_name: Option<Option<String>>,
    last_name: Option<Option<String>>,
    date_of_birth: Option<Option<NaiveDate>>,
}

impl From<&ProfileChange> for ProfileChangeset {
    fn from(change: &ProfileChange) -> Self {
        Self {
            username: change
                .username
                .as_ref()
                .map(|name| name.as_ref().map(|u| u.as_str().to_owned())),
            username_key: change
                .username
                .as_ref()
                .map(|name| name.as_ref().map(Username::key)),
            first_name: change
                .first_name
                .as_ref()
                .map(|name| name.as_ref().map(|n| n.as_str().to_owned())),
            last_name: change
                .last_name
                .as_ref()
                .map(|name| name.as_ref().map(|n| n.as_str().to_owned())),
            date_of_birth: change.date_of_birth,
        }
    }
}

/// Only the fields present are written.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct PrivilegeChangeset {
    role: Option<String>,
    is_active: Option<bool>,
    is_verified: Option<bool>,
    is_staff: Option<bool>,
}

impl From<&PrivilegeChange> for PrivilegeChangeset {
    fn from(change: &PrivilegeChange) -> Self {
        Self {
            role: change.role.map(|role| role.as_str().to_owned()),
            is_active: change.is_active,
            is_verified: change.is_verified,
            is_staff: change.is_staff,
        }
    }
}

/// A transaction's failure: a rule that rolls it back, or the store's.
#[derive(Debug)]
enum TxError {
    LastAdministrator,
    Store(StoreError),
}

impl From<QueryError> for TxError {
    fn from(error: QueryError) -> Self {
        Self::Store(error.into())
    }
}

impl From<StoreError> for TxError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<Fault> for TxError {
    fn from(fault: Fault) -> Self {
        Self::Store(fault.into())
    }
}

fn load_user(conn: &mut AnyConnection, id: &DbId) -> Result<Option<User>, StoreError> {
    let row = users::table
        .find(id)
        .select(UserRow::as_select())
        .first::<UserRow>(conn)
        .optional()?;
    Ok(row.map(User::try_from).transpose()?)
}

/// Serialises the transactions that can lower the number of administrators. PostgreSQL:
/// a transaction-scoped advisory lock. SQLite needs none: its transactions here start with
/// a write, which takes the database's single write lock until commit.
fn lock_administrators(conn: &mut AnyConnection) -> Result<(), QueryError> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7285100533)").execute(pg)?;
    }
    Ok(())
}

/// Active users whose role is `admin` or who are superusers: the definition of
/// `auth_domain::admin::can_administer`, in SQL.
fn count_administrators(conn: &mut AnyConnection) -> Result<i64, QueryError> {
    users::table
        .filter(users::is_active.eq(true))
        .filter(users::role.eq("admin").or(users::is_superuser.eq(true)))
        .count()
        .get_result(conn)
}

impl Database {
    pub(super) async fn store_profile_change(
        &self,
        id: UserId,
        change: &ProfileChange,
    ) -> Result<Option<User>, UpdateProfileError> {
        let id = DbId::from(id);
        let empty = change.is_empty();
        let changeset = ProfileChangeset::from(change);
        let outcome = self
            .run(move |conn| {
                if empty {
                    return load_user(conn, &id);
                }
                conn.transaction::<_, StoreError, _>(|conn| {
                    let updated = diesel::update(users::table.find(&id))
                        .set(&changeset)
                        .execute(conn)?;
                    if updated == 0 {
                        return Ok(None);
                    }
                    load_user(conn, &id)
                })
            })
            .await;
        match outcome {
            Ok(user) => Ok(user),
            Err(error)
                if error
                    .unique_violation()
                    .is_some_and(|c| c.contains("username")) =>
            {
                Err(UpdateProfileError::UsernameTaken)
            }
            Err(error) => Err(UpdateProfileError::Fault(error.into())),
        }
    }

    pub(super) async fn store_password_change(
        &self,
        id: UserId,
        caller: SessionId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
        fresh: Option<Session>,
    ) -> Result<Option<u64>, Fault> {
        let (id, hash, now) = (DbId::from(id), hash.as_str().to_owned(), naive(now));
        let caller = DbId::from(caller);
        let fresh = fresh.as_ref().map(SessionRow::from);
        let outcome = self
            .run(move |conn| {
                conn.transaction::<_, StoreError, _>(|conn| {
                    // The user's row first: concurrent changes of one user queue here…
                    let updated = diesel::update(users::table.find(&id))
                        .set((
                            users::password_hash.eq(&hash),
                            users::password_changed_at.eq(now),
                        ))
                        .execute(conn)?;
                    if updated == 0 {
                        return Ok(None);
                    }
                    // …and each one after the first finds its session revoked by it.
                    let caller_live: i64 = sessions::table
                        .filter(sessions::id.eq(&caller))
                        .filter(sessions::user_id.eq(&id))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::expires_at.gt(now))
                        .count()
                        .get_result(conn)?;
                    if caller_live == 0 {
                        return Err(diesel::result::Error::RollbackTransaction.into());
                    }
                    let revoked = revoke_all_of(conn, &id, now)?;
                    if let Some(row) = &fresh {
                        if row.user_id != id {
                            return Err(Fault::internal("fresh session of another user").into());
                        }
                        diesel::insert_into(sessions::table)
                            .values(row)
                            .execute(conn)?;
                    }
                    Ok(Some(revoked))
                })
            })
            .await;
        match outcome {
            Err(StoreError::Query(diesel::result::Error::RollbackTransaction)) => Ok(None),
            other => other.map_err(Fault::from),
        }
    }

    pub(super) async fn store_privilege_change(
        &self,
        id: UserId,
        change: &PrivilegeChange,
        keep_an_administrator: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, AdministerError> {
        let (id, now) = (DbId::from(id), naive(now));
        let empty = change.is_empty();
        let deactivates = change.is_active == Some(false);
        let changeset = PrivilegeChangeset::from(change);
        let outcome = self
            .run(move |conn| {
                if empty {
                    return Ok(load_user(conn, &id).map_err(TxError::from));
                }
                let written = conn.transaction::<_, TxError, _>(|conn| {
                    if keep_an_administrator {
                        lock_administrators(conn)?;
                    }
                    let updated = diesel::update(users::table.find(&id))
                        .set(&changeset)
                        .execute(conn)?;
                    if updated == 0 {
                        return Ok(None);
                    }
                    if keep_an_administrator && count_administrators(conn)? == 0 {
                        return Err(TxError::LastAdministrator);
                    }
                    if deactivates {
                        revoke_all_of(conn, &id, now)?;
                        // Its outstanding verification and reset links die for good: a
                        // reactivation does not bring them back.
                        diesel::delete(
                            one_time_tokens::table.filter(one_time_tokens::user_id.eq(&id)),
                        )
                        .execute(conn)?;
                    }
                    Ok(load_user(conn, &id)?)
                });
                Ok(written)
            })
            .await
            .map_err(Fault::from)?;
        match outcome {
            Ok(user) => Ok(user),
            Err(TxError::LastAdministrator) => Err(AdministerError::LastAdministrator),
            Err(TxError::Store(error)) => Err(Fault::from(error).into()),
        }
    }

    pub(super) async fn delete_user(
        &self,
        id: UserId,
        keep_an_administrator: bool,
    ) -> Result<bool, AdministerError> {
        let id = DbId::from(id);
        let outcome = self
            .run(move |conn| {
                Ok(conn.transaction::<_, TxError, _>(|conn| {
                    if keep_an_administrator {
                        lock_administrators(conn)?;
                    }
                    // Sessions go with the user (ON DELETE CASCADE).
                    let deleted = diesel::delete(users::table.find(&id)).execute(conn)?;
                    if deleted == 0 {
                        return Ok(false);
                    }
                    if keep_an_administrator && count_administrators(conn)? == 0 {
                        return Err(TxError::LastAdministrator);
                    }
                    Ok(true)
                }))
            })
            .await
            .map_err(Fault::from)?;
        match outcome {
            Ok(deleted) => Ok(deleted),
            Err(TxError::LastAdministrator) => Err(AdministerError::LastAdministrator),
            Err(TxError::Store(error)) => Err(Fault::from(error).into()),
        }
    }
}
