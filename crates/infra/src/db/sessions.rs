use async_trait::async_trait;
use auth_domain::ports::SessionRepository;
use auth_domain::{Fault, Session, SessionId, User, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::principal_cache::Lookup;
use super::rows::{naive, SessionRow, UserRow};
use super::schema::{sessions, users};
use super::{Database, StoreError};
use crate::db::id::DbId;

#[async_trait]
impl SessionRepository for Database {
    async fn start(&self, session: &Session) -> Result<(), Fault> {
        let row = SessionRow::from(session);
        let user = session.user_id;
        let outcome = self
            .run(move |conn| {
                conn.transaction::<_, StoreError, _>(|conn| {
                    // The write that takes the lock comes first (SQLite: no read-then-write upgrade).
                    diesel::insert_into(sessions::table)
                        .values(&row)
                        .execute(conn)?;
                    diesel::update(users::table.find(&row.user_id))
                        .set(users::last_login.eq(row.created_at))
                        .execute(conn)?;
                    Ok(())
                })
            })
            .await;
        // `last_login` is part of the user every cached session of theirs carries.
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }

    /// From the session cache when it is on and listening (no blocking-pool hop, no query);
    /// otherwise one query, whose answer the cache keeps unless an invalidation came first.
    async fn find_with_user(&self, id: SessionId) -> Result<Option<(Session, User)>, Fault> {
        let ticket = match self.principals.as_ref().map(|cache| cache.lookup(id)) {
            Some(Lookup::Hit(found)) => return Ok(Some(found)),
            Some(Lookup::Miss(ticket)) => Some(ticket),
            Some(Lookup::Bypass) | None => None,
        };
        let found = self.read_with_user(id).await?;
        if let (Some(cache), Some(ticket), Some(found)) = (&self.principals, ticket, &found) {
            cache.store(ticket, found);
        }
        Ok(found)
    }

    async fn rotate_refresh(
        &self,
        id: SessionId,
        presented: Uuid,
        next: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let outcome = self.rotate_refresh_in_store(id, presented, next, now).await;
        self.forget_session(id);
        outcome
    }

    async fn revoke(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), Fault> {
        let outcome = self.revoke_in_store(id, now).await;
        self.forget_session(id);
        outcome
    }

    async fn revoke_all_for_user(&self, user_id: UserId, now: DateTime<Utc>) -> Result<u64, Fault> {
        let user = user_id;
        let (user_id, now) = (DbId::from(user_id), naive(now));
        let outcome = self
            .run(move |conn| revoke_all_of(conn, &user_id, now))
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }

    async fn list_live_for_user(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, Fault> {
        self.list_live_in_store(user_id, now).await
    }

    async fn revoke_for_user(
        &self,
        id: SessionId,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let outcome = self.revoke_for_user_in_store(id, user_id, now).await;
        self.forget_session(id);
        outcome
    }

    async fn prune(&self, now: DateTime<Utc>, revoked_before: DateTime<Utc>) -> Result<u64, Fault> {
        // Only ended sessions are deleted: a cached copy of one is refused all the same (and
        // the deletion's notification drops it).
        self.prune_in_store(now, revoked_before).await
    }
}

/// The queries behind [`SessionRepository`]; the trait's methods add the session cache.
impl Database {
    async fn read_with_user(&self, id: SessionId) -> Result<Option<(Session, User)>, Fault> {
        let id = DbId::from(id);
        self.run(move |conn| {
            let found = sessions::table
                .inner_join(users::table)
                .filter(sessions::id.eq(id))
                .select((SessionRow::as_select(), UserRow::as_select()))
                .first::<(SessionRow, UserRow)>(conn)
                .optional()?;
            let Some((session, user)) = found else {
                return Ok(None);
            };
            Ok(Some((Session::try_from(session)?, User::try_from(user)?)))
        })
        .await
        .map_err(Fault::from)
    }

    async fn rotate_refresh_in_store(
        &self,
        id: SessionId,
        presented: Uuid,
        next: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let (id, presented, next, now) = (
            DbId::from(id),
            DbId::from(presented),
            DbId::from(next),
            naive(now),
        );
        self.run(move |conn| {
            // Compare-and-set: of concurrent rotations of one token, one matches.
            let updated = diesel::update(
                sessions::table
                    .filter(sessions::id.eq(id))
                    .filter(sessions::refresh_jti.eq(presented))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now)),
            )
            .set((
                sessions::refresh_jti.eq(next),
                sessions::last_used_at.eq(now),
            ))
            .execute(conn)?;
            Ok(updated == 1)
        })
        .await
        .map_err(Fault::from)
    }

    async fn revoke_in_store(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), Fault> {
        let (id, now) = (DbId::from(id), naive(now));
        self.run(move |conn| {
            diesel::update(
                sessions::table
                    .filter(sessions::id.eq(id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn list_live_in_store(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, Fault> {
        let (user_id, now) = (DbId::from(user_id), naive(now));
        self.run(move |conn| {
            let rows = sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .order((sessions::last_used_at.desc(), sessions::id.desc()))
                .select(SessionRow::as_select())
                .load::<SessionRow>(conn)?;
            rows.into_iter()
                .map(|row| Session::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
        .map_err(Fault::from)
    }

    async fn revoke_for_user_in_store(
        &self,
        id: SessionId,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let (id, user_id, now) = (DbId::from(id), DbId::from(user_id), naive(now));
        self.run(move |conn| {
            let revoked = diesel::update(
                sessions::table
                    .filter(sessions::id.eq(id))
                    .filter(sessions::user_id.eq(user_id))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now)),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(conn)?;
            Ok(revoked == 1)
        })
        .await
        .map_err(Fault::from)
    }

    /// Deletes in batches of [`PRUNE_BATCH`], each its own statement (and, on SQLite, its
    /// own short hold of the write lock), the connection going back to the pool between
    /// them: pruning millions of sessions never holds a long lock. Each batch resumes the
    /// index walk where the one before stopped, so none rescans what was deleted. Between
    /// two batches it waits as long as the last one took (no thread held meanwhile): the
    /// database spends at most half of one core on a prune, and requests keep the rest.
    async fn prune_in_store(
        &self,
        now: DateTime<Utc>,
        revoked_before: DateTime<Utc>,
    ) -> Result<u64, Fault> {
        let (now, revoked_before) = (naive(now), naive(revoked_before));
        let mut deleted = 0;
        for ended in [Ended::Expired(now), Ended::RevokedBefore(revoked_before)] {
            let mut from = None;
            loop {
                let started = std::time::Instant::now();
                let (count, last) = self
                    .run(move |conn| delete_ended_batch(conn, ended, from))
                    .await
                    .map_err(Fault::from)?;
                deleted += count;
                match last {
                    Some(last) => from = Some(last),
                    None => break,
                }
                tokio::time::sleep(started.elapsed()).await;
            }
        }
        Ok(deleted)
    }
}

/// Sessions deleted per statement by `prune`.
pub(super) const PRUNE_BATCH: i64 = 1_000;

/// Which ended sessions a prune batch deletes.
#[derive(Clone, Copy)]
enum Ended {
    /// `expires_at` at or before this.
    Expired(NaiveDateTime),
    /// Revoked before this.
    RevokedBefore(NaiveDateTime),
}

/// Deletes up to [`PRUNE_BATCH`] sessions of the kind, in the order of the index that finds
/// them, from `from` on. Returns how many it deleted and, unless it was the last batch,
/// where the next one starts.
fn delete_ended_batch(
    conn: &mut super::AnyConnection,
    ended: Ended,
    from: Option<NaiveDateTime>,
) -> Result<(u64, Option<NaiveDateTime>), StoreError> {
    let found: Vec<(DbId, Option<NaiveDateTime>)> = match ended {
        Ended::Expired(now) => {
            let mut query = sessions::table
                .filter(sessions::expires_at.le(now))
                .into_boxed();
            if let Some(from) = from {
                query = query.filter(sessions::expires_at.ge(from));
            }
            query
                .order(sessions::expires_at.asc())
                .limit(PRUNE_BATCH)
                .select((sessions::id, sessions::expires_at.nullable()))
                .load(conn)?
        }
        Ended::RevokedBefore(before) => {
            let mut query = sessions::table
                .filter(sessions::revoked_at.lt(before))
                .into_boxed();
            if let Some(from) = from {
                query = query.filter(sessions::revoked_at.ge(from));
            }
            query
                .order(sessions::revoked_at.asc())
                .limit(PRUNE_BATCH)
                .select((sessions::id, sessions::revoked_at))
                .load(conn)?
        }
    };
    let full = found.len() as i64 == PRUNE_BATCH;
    let last = found.last().and_then(|(_, at)| *at).filter(|_| full);
    let ids: Vec<DbId> = found.into_iter().map(|(id, _)| id).collect();
    if ids.is_empty() {
        return Ok((0, None));
    }
    // The condition again: a session is never deleted unless it is ended as it stands.
    let deleted = match ended {
        Ended::Expired(now) => diesel::delete(
            sessions::table
                .filter(sessions::id.eq_any(&ids))
                .filter(sessions::expires_at.le(now)),
        )
        .execute(conn)?,
        Ended::RevokedBefore(before) => diesel::delete(
            sessions::table
                .filter(sessions::id.eq_any(&ids))
                .filter(sessions::revoked_at.lt(before)),
        )
        .execute(conn)?,
    };
    Ok((deleted as u64, last))
}

/// Revokes every session of the user not revoked yet; on the caller's connection, so that
/// it can be part of a larger transaction.
pub(super) fn revoke_all_of(
    conn: &mut super::AnyConnection,
    user_id: &DbId,
    now: chrono::NaiveDateTime,
) -> Result<u64, StoreError> {
    let revoked = diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(revoked as u64)
}
