//! The administrators' listings: users (registration order, prefix search) and a user's audit
//! trail (newest first), by offset or after a cursor, each through an index matching its
//! order (migration `000140_keyset_paging_and_user_count`).

use auth_domain::audit::AuditEvent;
use auth_domain::listing::{SearchPrefix, Start, SEARCH_TOTAL_LIMIT};
use auth_domain::{Fault, User, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::AuditRow;
use super::rows::{naive, UserRow};
use super::schema::{audit_events, user_count, users};
use super::{AnyConnection, Database, MultiBackend, StoreError};
use crate::db::id::DbId;

type UserQuery<'a> = users::BoxedQuery<'a, MultiBackend>;

/// Keeps the users whose email or username key (both stored lower-cased) starts with the
/// prefix: two ranges of the unique indexes (`[prefix, upper bound)`, compared byte by byte).
fn matching<'a>(query: UserQuery<'a>, search: &SearchPrefix) -> UserQuery<'a> {
    let low = search.as_str().to_owned();
    match search.upper_bound() {
        Some(high) => query.filter(
            users::email
                .ge(low.clone())
                .and(users::email.lt(high.clone()))
                .or(users::username_key
                    .ge(low)
                    .and(users::username_key.lt(high))),
        ),
        None => query.filter(users::email.ge(low.clone()).or(users::username_key.ge(low))),
    }
}

fn users_query<'a>(search: Option<&SearchPrefix>) -> UserQuery<'a> {
    let query = users::table.into_boxed();
    match search {
        Some(search) => matching(query, search),
        None => query,
    }
}

/// How many matches of a search are counted: one beyond what is reported exactly.
const SEARCH_COUNT_READ: i64 = SEARCH_TOTAL_LIMIT as i64 + 1;

fn count(total: i64) -> u64 {
    u64::try_from(total).unwrap_or_default()
}

impl Database {
    pub(super) async fn load_users(
        &self,
        search: Option<SearchPrefix>,
        start: Start,
        limit: u32,
    ) -> Result<Vec<User>, Fault> {
        self.run(move |conn| {
            let mut query = users_query(search.as_ref())
                .order((users::date_joined.asc(), users::id.asc()))
                .limit(i64::from(limit));
            match start {
                Start::Offset(offset) => query = query.offset(i64::from(offset)),
                Start::After(at, id) => {
                    let (at, id) = (naive(at), DbId::from(id));
                    // `date_joined >= at` bounds the index range; the rest breaks the ties.
                    query = query
                        .filter(users::date_joined.ge(at))
                        .filter(users::date_joined.gt(at).or(users::id.gt(id)));
                }
            }
            let rows = query.select(UserRow::as_select()).load::<UserRow>(conn)?;
            rows.into_iter()
                .map(|row| User::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
        .map_err(Fault::from)
    }

    pub(super) async fn count_users(&self, search: Option<SearchPrefix>) -> Result<u64, Fault> {
        self.run(move |conn| {
            Ok(match &search {
                None => count(
                    user_count::table
                        .select(user_count::n)
                        .first::<i64>(conn)
                        .optional()?
                        .unwrap_or_default(),
                ),
                // No further than one beyond the limit: the ids of the matches, without
                // an order, stop there (a count(*) would visit every match).
                Some(search) => users_query(Some(search))
                    .select(users::id)
                    .limit(SEARCH_COUNT_READ)
                    .load::<DbId>(conn)?
                    .len() as u64,
            })
        })
        .await
        .map_err(Fault::from)
    }

    pub(super) async fn load_audit_trail(
        &self,
        user_id: UserId,
        start: Start,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Fault> {
        let user_id = DbId::from(user_id);
        self.run(move |conn| {
            let rows = match start {
                Start::Offset(offset) => audit_by_offset(conn, &user_id, offset, limit)?,
                Start::After(at, id) => {
                    audit_after(conn, &user_id, naive(at), &DbId::from(id), limit)?
                }
            };
            rows.into_iter()
                .map(|row| AuditEvent::try_from(row).map_err(StoreError::from))
                .collect()
        })
        .await
        .map_err(Fault::from)
    }

    pub(super) async fn count_audit_trail(&self, user_id: UserId) -> Result<u64, Fault> {
        let user_id = DbId::from(user_id);
        self.run(move |conn| {
            let total: i64 = audit_events::table
                .filter(
                    audit_events::user_id
                        .eq(user_id)
                        .or(audit_events::actor_id.eq(user_id)),
                )
                .count()
                .get_result(conn)?;
            Ok(count(total))
        })
        .await
        .map_err(Fault::from)
    }
}

/// Offset paging (kept for compatibility): one query, whose cost grows with the offset.
fn audit_by_offset(
    conn: &mut AnyConnection,
    user_id: &DbId,
    offset: u32,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(audit_events::table
        .filter(
            audit_events::user_id
                .eq(user_id)
                .or(audit_events::actor_id.eq(user_id)),
        )
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(i64::from(limit))
        .offset(i64::from(offset))
        .select(AuditRow::as_select())
        .load::<AuditRow>(conn)?)
}

/// Keyset paging: the events as subject and the events as actor, each read backwards along
/// its own index (`(user_id, at, id)`, `(actor_id, at, id)`) from the cursor, then merged. An
/// OR over both columns would have to sort every event of the user on every page.
fn audit_after(
    conn: &mut AnyConnection,
    user_id: &DbId,
    at: NaiveDateTime,
    id: &DbId,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    let older = audit_events::at
        .le(at)
        .and(audit_events::at.lt(at).or(audit_events::id.lt(*id)));
    let newest_first = (audit_events::at.desc(), audit_events::id.desc());
    let as_subject = audit_events::table
        .filter(audit_events::user_id.eq(user_id))
        .filter(older)
        .order(newest_first)
        .limit(i64::from(limit))
        .select(AuditRow::as_select())
        .load::<AuditRow>(conn)?;
    let as_actor = audit_events::table
        .filter(audit_events::actor_id.eq(user_id))
        .filter(older)
        .order(newest_first)
        .limit(i64::from(limit))
        .select(AuditRow::as_select())
        .load::<AuditRow>(conn)?;
    Ok(merge_newest_first(as_subject, as_actor, limit as usize))
}

/// Merges two lists sorted newest first (time, then id, descending), dropping the events on
/// both (a user acting on themselves), keeping `limit`.
fn merge_newest_first(a: Vec<AuditRow>, b: Vec<AuditRow>, limit: usize) -> Vec<AuditRow> {
    let mut merged = Vec::with_capacity(limit.min(a.len() + b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while merged.len() < limit {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                let (kx, ky) = ((x.at, &x.id), (y.at, &y.id));
                if kx == ky {
                    b.next();
                    a.next()
                } else if kx > ky {
                    a.next()
                } else {
                    b.next()
                }
            }
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => None,
        };
        match next {
            Some(row) => merged.push(row),
            None => break,
        }
    }
    merged
}
