//! `MailOutbox` on the Diesel store: a durable queue of mail to send, shared by every server
//! instance on the database. Claims are leases taken by compare-and-set, so an entry is handed
//! to one worker at a time, and to another one if its worker dies mid-send.

use async_trait::async_trait;
use auth_domain::mail::{MailIntent, QueuedMail, SecurityNotice};
use auth_domain::ports::MailOutbox;
use auth_domain::{Email, Fault, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rows::naive;
use super::schema::mail_outbox;
use super::Database;
use crate::db::id::DbId;

/// The longest last error kept (log lines from mail servers can be long).
const MAX_ERROR_CHARS: usize = 1_000;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
struct OutboxRow {
    id: DbId,
    kind: String,
    recipient: String,
    user_id: Option<DbId>,
    created_at: NaiveDateTime,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    locked_until: Option<NaiveDateTime>,
    last_error: Option<String>,
    failed_at: Option<NaiveDateTime>,
}

impl OutboxRow {
    fn new(intent: &MailIntent, now: NaiveDateTime) -> Self {
        let (recipient, user_id) = match intent {
            MailIntent::PasswordReset { email } => (email, None),
            MailIntent::VerifyEmail { user_id, email } => (email, Some(DbId::from(*user_id))),
            MailIntent::SecurityNotice { user_id, email, .. } => {
                (email, Some(DbId::from(*user_id)))
            }
        };
        Self {
            id: DbId(Uuid::now_v7()),
            kind: intent.kind().to_owned(),
            recipient: recipient.as_str().to_owned(),
            user_id,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            failed_at: None,
        }
    }

    fn intent(&self) -> Result<MailIntent, Fault> {
        let corrupt = |what: &str| Fault::internal(format!("stored outbox {what} is invalid"));
        let email = Email::from_stored(self.recipient.clone());
        match (self.kind.as_str(), &self.user_id) {
            ("password_reset", _) => Ok(MailIntent::PasswordReset { email }),
            ("verify_email", Some(user_id)) => Ok(MailIntent::VerifyEmail {
                user_id: UserId::from(*user_id),
                email,
            }),
            (kind, Some(user_id)) if SecurityNotice::from_kind(kind).is_some() => {
                Ok(MailIntent::SecurityNotice {
                    user_id: UserId::from(*user_id),
                    email,
                    notice: SecurityNotice::from_kind(kind).ok_or_else(|| corrupt("kind"))?,
                })
            }
            _ => Err(corrupt("kind")),
        }
    }
}

fn truncated(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[async_trait]
impl MailOutbox for Database {
    async fn enqueue(&self, intent: &MailIntent, now: DateTime<Utc>) -> Result<(), Fault> {
        let row = OutboxRow::new(intent, naive(now));
        self.run(move |conn| {
            diesel::insert_into(mail_outbox::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>, Fault> {
        let (now, lease_until) = (naive(now), naive(lease_until));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let claimed = self
            .run(move |conn| {
                let due = mail_outbox::table
                    .filter(mail_outbox::failed_at.is_null())
                    .filter(mail_outbox::next_attempt_at.le(now))
                    .filter(
                        mail_outbox::locked_until
                            .is_null()
                            .or(mail_outbox::locked_until.le(now)),
                    )
                    .order(mail_outbox::created_at.asc())
                    .limit(limit)
                    .select(OutboxRow::as_select())
                    .load(conn)?;
                let mut claimed = Vec::with_capacity(due.len());
                for row in due {
                    // Compare-and-set on the attempt counter: of concurrent claimers, the
                    // first one bumps it and the others match nothing.
                    let taken = diesel::update(
                        mail_outbox::table
                            .filter(mail_outbox::id.eq(&row.id))
                            .filter(mail_outbox::attempts.eq(row.attempts))
                            .filter(mail_outbox::failed_at.is_null())
                            .filter(
                                mail_outbox::locked_until
                                    .is_null()
                                    .or(mail_outbox::locked_until.le(now)),
                            ),
                    )
                    .set((
                        mail_outbox::attempts.eq(row.attempts + 1),
                        mail_outbox::locked_until.eq(lease_until),
                    ))
                    .execute(conn)?;
                    if taken == 1 {
                        claimed.push(row);
                    }
                }
                Ok(claimed)
            })
            .await
            .map_err(Fault::from)?;
        claimed
            .into_iter()
            .map(|row| {
                Ok(QueuedMail {
                    id: row.id.0,
                    intent: row.intent()?,
                    attempts: u32::try_from(row.attempts + 1).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    async fn finish(&self, id: Uuid) -> Result<(), Fault> {
        let id = DbId::from(id);
        self.run(move |conn| {
            diesel::delete(mail_outbox::table.find(id)).execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn retry_at(
        &self,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), Fault> {
        let (id, at, error) = (DbId::from(id), naive(next_attempt_at), truncated(error));
        self.run(move |conn| {
            diesel::update(mail_outbox::table.find(id))
                .set((
                    mail_outbox::next_attempt_at.eq(at),
                    mail_outbox::locked_until.eq(None::<NaiveDateTime>),
                    mail_outbox::last_error.eq(error),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn give_up(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> Result<(), Fault> {
        let (id, now, error) = (DbId::from(id), naive(now), truncated(error));
        self.run(move |conn| {
            diesel::update(mail_outbox::table.find(id))
                .set((
                    mail_outbox::failed_at.eq(now),
                    mail_outbox::locked_until.eq(None::<NaiveDateTime>),
                    mail_outbox::last_error.eq(error),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }
}
