//! Recovery-code digests: replaced as a set, each used once.
use async_trait::async_trait;
use auth_domain::ports::mfa::{KeyedDigest, RecoveryCodeStore};
use auth_domain::{Fault, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::id::DbId;
use crate::db::rows::naive;
use crate::db::schema::{recovery_codes, users};
use crate::db::{AnyConnection, Database, StoreError};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes)]
pub(in crate::db) struct RecoveryCodeRow {
    user_id: DbId,
    digest: String,
    key_id: String,
    created_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

pub(in crate::db) fn code_rows(
    user_id: &DbId,
    codes: &[KeyedDigest],
    now: NaiveDateTime,
) -> Vec<RecoveryCodeRow> {
    codes
        .iter()
        .map(|code| RecoveryCodeRow {
            user_id: *user_id,
            digest: code.digest.clone(),
            key_id: code.key_id.clone(),
            created_at: now,
            used_at: None,
        })
        .collect()
}

/// One insert per code: batch inserts are not available on both backends at once.
pub(in crate::db) fn insert_codes(
    conn: &mut AnyConnection,
    rows: &[RecoveryCodeRow],
) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(recovery_codes::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

#[async_trait]
impl RecoveryCodeStore for Database {
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[KeyedDigest],
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let user_id = DbId::from(user_id);
        let rows = code_rows(&user_id, codes, naive(now));
        self.run(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                // The write first (SQLite takes its lock with it), then the condition: a user
                // without a second factor rolls the deletion back.
                diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id)))
                    .execute(conn)?;
                let enabled = users::table
                    .find(&user_id)
                    .select(users::mfa_enabled)
                    .first::<bool>(conn)
                    .optional()?
                    .unwrap_or(false);
                if !enabled {
                    return Err(StoreError::Query(
                        diesel::result::Error::RollbackTransaction,
                    ));
                }
                insert_codes(conn, &rows)?;
                Ok(true)
            })
        })
        .await
        .or_else(|error| match error {
            StoreError::Query(diesel::result::Error::RollbackTransaction) => Ok(false),
            other => Err(Fault::from(other)),
        })
    }

    async fn use_recovery_code(
        &self,
        user_id: UserId,
        code: &KeyedDigest,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let (user_id, digest, now) = (DbId::from(user_id), code.digest.clone(), naive(now));
        self.run(move |conn| {
            let used = diesel::update(
                recovery_codes::table
                    .find((user_id, digest))
                    .filter(recovery_codes::used_at.is_null()),
            )
            .set(recovery_codes::used_at.eq(now))
            .execute(conn)?;
            Ok(used == 1)
        })
        .await
        .map_err(Fault::from)
    }
}
