use async_trait::async_trait;
use auth_domain::listing::{SearchPrefix, Start};
use auth_domain::ports::{AdministerError, InsertUserError, UpdateProfileError, UserRepository};
use auth_domain::user::PrivilegeChange;
use auth_domain::user::ProfileChange;
use auth_domain::{Email, Fault, PasswordHash, Session, SessionId, User, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::rows::UserRow;
use super::schema::users;
use super::Database;
use crate::db::id::DbId;

#[async_trait]
impl UserRepository for Database {
    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        let row = UserRow::from(user);
        let outcome = self
            .run(move |conn| {
                diesel::insert_into(users::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(())
            })
            .await;
        match outcome {
            Ok(()) => Ok(()),
            Err(error) => match error.unique_violation() {
                Some(constraint) if constraint.contains("username") => {
                    Err(InsertUserError::UsernameTaken)
                }
                Some(constraint) if constraint.contains("email") => {
                    Err(InsertUserError::EmailTaken)
                }
                _ => Err(InsertUserError::Fault(error.into())),
            },
        }
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Fault> {
        let email = email.as_str().to_owned();
        self.run(move |conn| {
            let row = users::table
                .filter(users::email.eq(email))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(User::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, Fault> {
        let id = DbId::from(id);
        self.run(move |conn| {
            let row = users::table
                .find(id)
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(User::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn update_password_hash(&self, id: UserId, hash: &PasswordHash) -> Result<(), Fault> {
        let user = id;
        let (id, hash) = (DbId::from(id), hash.as_str().to_owned());
        let outcome = self
            .run(move |conn| {
                diesel::update(users::table.find(id))
                    .set(users::password_hash.eq(hash))
                    .execute(conn)?;
                Ok(())
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }

    async fn update_profile(
        &self,
        id: UserId,
        change: &ProfileChange,
    ) -> Result<Option<User>, UpdateProfileError> {
        let outcome = self.store_profile_change(id, change).await;
        self.forget_user(id);
        outcome
    }

    async fn change_password(
        &self,
        id: UserId,
        caller: SessionId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
        fresh: Option<Session>,
    ) -> Result<Option<u64>, Fault> {
        let outcome = self
            .store_password_change(id, caller, hash, now, fresh)
            .await;
        self.forget_user(id);
        outcome
    }

    async fn list(
        &self,
        search: Option<SearchPrefix>,
        start: Start,
        limit: u32,
    ) -> Result<Vec<User>, Fault> {
        self.load_users(search, start, limit).await
    }

    async fn count(&self, search: Option<SearchPrefix>) -> Result<u64, Fault> {
        self.count_users(search).await
    }

    async fn update_privileges(
        &self,
        id: UserId,
        change: &PrivilegeChange,
        keep_an_administrator: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, AdministerError> {
        let outcome = self
            .store_privilege_change(id, change, keep_an_administrator, now)
            .await;
        self.forget_user(id);
        outcome
    }

    async fn delete(
        &self,
        id: UserId,
        keep_an_administrator: bool,
    ) -> Result<bool, AdministerError> {
        let outcome = self.delete_user(id, keep_an_administrator).await;
        self.forget_user(id);
        outcome
    }

    async fn upgrade_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, Fault> {
        let user = id;
        let (id, current, upgraded) = (
            DbId::from(id),
            current.as_str().to_owned(),
            upgraded.as_str().to_owned(),
        );
        let outcome = self
            .run(move |conn| {
                // Compare-and-set: a password changed meanwhile is not overwritten.
                let updated = diesel::update(
                    users::table
                        .find(id)
                        .filter(users::password_hash.eq(current)),
                )
                .set(users::password_hash.eq(upgraded))
                .execute(conn)?;
                Ok(updated == 1)
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }
}
