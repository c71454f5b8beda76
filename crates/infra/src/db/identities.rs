//! Linked external identities (issue "Social login") on the Diesel store. The rules that must
//! hold under concurrency — one owner per (provider, subject), an account keeps a way to log
//! in — are a unique index and one transaction each.

use async_trait::async_trait;
use auth_domain::oauth::{keeps_a_way_to_log_in, Identity, LoginMethods};
use auth_domain::ports::oauth::{
    IdentityRepository, LinkIdentityError, NewAccountError, UnlinkOutcome,
};
use auth_domain::{Fault, User, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::Error as QueryError;
use uuid::Uuid;

use super::rows::{naive, utc, UserRow};
use super::schema::{external_identities, users};
use super::{AnyConnection, Database, StoreError};
use crate::db::id::DbId;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = external_identities)]
struct IdentityRow {
    id: DbId,
    user_id: DbId,
    provider: String,
    subject: String,
    email: Option<String>,
    linked_at: NaiveDateTime,
}

impl From<&Identity> for IdentityRow {
    fn from(identity: &Identity) -> Self {
        Self {
            id: DbId::from(identity.id),
            user_id: DbId::from(identity.user_id),
            provider: identity.provider.clone(),
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            linked_at: naive(identity.linked_at),
        }
    }
}

impl TryFrom<IdentityRow> for Identity {
    type Error = Fault;

    fn try_from(row: IdentityRow) -> Result<Self, Fault> {
        Ok(Self {
            id: row.id.0,
            user_id: row.user_id.into(),
            provider: row.provider,
            subject: row.subject,
            email: row.email,
            linked_at: utc(row.linked_at),
        })
    }
}

/// Whether a failed write ran into the (provider, subject) unique index.
fn identity_taken(error: &StoreError) -> bool {
    error
        .unique_violation()
        .is_some_and(|constraint| constraint.contains("external_identities"))
}

/// The account's ways to log in, in `conn`'s transaction.
fn login_methods(conn: &mut AnyConnection, user_id: &DbId) -> Result<LoginMethods, QueryError> {
    let hash: Option<String> = users::table
        .find(user_id)
        .select(users::password_hash)
        .first(conn)
        .optional()?;
    let identities = super::login_methods::identity_count(conn, user_id)?;
    Ok(LoginMethods {
        password: hash.is_some_and(|hash| !hash.is_empty()),
        passkeys: u32::try_from(super::login_methods::passkey_count(conn, user_id)?)
            .unwrap_or(u32::MAX),
        identities: u32::try_from(identities).unwrap_or(u32::MAX),
    })
}

enum Unlink {
    Last,
    Store(StoreError),
}

impl From<QueryError> for Unlink {
    fn from(error: QueryError) -> Self {
        Self::Store(error.into())
    }
}

#[async_trait]
impl IdentityRepository for Database {
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, Fault> {
        let (provider, subject) = (provider.to_owned(), subject.to_owned());
        self.run(move |conn| {
            let row = external_identities::table
                .filter(external_identities::provider.eq(provider))
                .filter(external_identities::subject.eq(subject))
                .select(IdentityRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(Identity::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn list_identities(&self, user_id: UserId) -> Result<Vec<Identity>, Fault> {
        let user_id = DbId::from(user_id);
        self.run(move |conn| {
            let rows = external_identities::table
                .filter(external_identities::user_id.eq(user_id))
                .order((external_identities::linked_at, external_identities::id))
                .select(IdentityRow::as_select())
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(Identity::try_from)
                .collect::<Result<_, _>>()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn link_identity(&self, identity: &Identity) -> Result<(), LinkIdentityError> {
        let row = IdentityRow::from(identity);
        match self
            .run(move |conn| {
                diesel::insert_into(external_identities::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(())
            })
            .await
        {
            Ok(()) => Ok(()),
            Err(error) if identity_taken(&error) => Err(LinkIdentityError::InUse),
            Err(error) => Err(LinkIdentityError::Fault(error.into())),
        }
    }

    async fn create_account_with_identity(
        &self,
        user: &User,
        identity: &Identity,
    ) -> Result<(), NewAccountError> {
        let (user_row, identity_row) = (UserRow::from(user), IdentityRow::from(identity));
        let outcome = self
            .run(move |conn| {
                conn.transaction::<_, StoreError, _>(|conn| {
                    diesel::insert_into(users::table)
                        .values(&user_row)
                        .execute(conn)?;
                    diesel::insert_into(external_identities::table)
                        .values(&identity_row)
                        .execute(conn)?;
                    Ok(())
                })
            })
            .await;
        match outcome {
            Ok(()) => Ok(()),
            Err(error) if identity_taken(&error) => Err(NewAccountError::IdentityInUse),
            Err(error) => match error.unique_violation() {
                Some(constraint) if constraint.contains("email") => {
                    Err(NewAccountError::EmailTaken)
                }
                _ => Err(NewAccountError::Fault(error.into())),
            },
        }
    }

    async fn unlink_identity(&self, user_id: UserId, id: Uuid) -> Result<UnlinkOutcome, Fault> {
        let (user_id, id) = (DbId::from(user_id), DbId::from(id));
        self.run(move |conn| {
            let outcome = conn.transaction::<_, Unlink, _>(|conn| {
                // The removals of an account's ways to log in take turns. PostgreSQL: the
                // account's row lock. SQLite: a first write takes the single write lock (a
                // read first would make a concurrent writer's transaction fail, not wait).
                match conn {
                    AnyConnection::Postgresql(pg) => {
                        diesel::sql_query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                            .bind::<super::schema::sql_types::Id, _>(user_id)
                            .execute(pg)?;
                    }
                    AnyConnection::Sqlite(_) => {
                        diesel::update(external_identities::table.find(&id))
                            .set(external_identities::id.eq(&id))
                            .execute(conn)?;
                    }
                }
                let Some(row) = external_identities::table
                    .find(&id)
                    .filter(external_identities::user_id.eq(&user_id))
                    .select(IdentityRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                diesel::delete(external_identities::table.find(&id)).execute(conn)?;
                if !keeps_a_way_to_log_in(login_methods(conn, &user_id)?) {
                    return Err(Unlink::Last);
                }
                Ok(Some(row))
            });
            match outcome {
                Ok(None) => Ok(UnlinkOutcome::NotFound),
                Ok(Some(row)) => Ok(UnlinkOutcome::Removed(Identity::try_from(row)?)),
                Err(Unlink::Last) => Ok(UnlinkOutcome::LastLoginMethod),
                Err(Unlink::Store(error)) => Err(error),
            }
        })
        .await
        .map_err(Fault::from)
    }
}
