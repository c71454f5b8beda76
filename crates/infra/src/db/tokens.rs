//! `OneTimeTokenRepository` on the Diesel store: the digests of verification and reset
//! tokens, and their redemption in one transaction each.

use async_trait::async_trait;
use auth_domain::one_time::{OneTimeToken, OneTimeTokenKind, TokenDigest};
use auth_domain::ports::OneTimeTokenRepository;
use auth_domain::{Email, Fault, PasswordHash, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as QueryError;

use super::rows::{naive, utc};
use super::schema::{one_time_tokens, sessions, users};
use super::{Database, StoreError};
use crate::db::id::DbId;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_tokens)]
struct TokenRow {
    digest: String,
    kind: String,
    user_id: DbId,
    email: String,
    password_fingerprint: Option<String>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

impl From<&OneTimeToken> for TokenRow {
    fn from(token: &OneTimeToken) -> Self {
        Self {
            digest: token.digest.as_str().to_owned(),
            kind: token.kind.as_str().to_owned(),
            user_id: DbId::from(token.user_id),
            email: token.email.as_str().to_owned(),
            password_fingerprint: token.password_fingerprint.clone(),
            created_at: naive(token.created_at),
            expires_at: naive(token.expires_at),
            used_at: token.used_at.map(naive),
        }
    }
}

impl TryFrom<TokenRow> for OneTimeToken {
    type Error = Fault;

    fn try_from(row: TokenRow) -> Result<Self, Fault> {
        let corrupt =
            |what: &str| Fault::internal(format!("stored one-time token {what} is invalid"));
        Ok(OneTimeToken {
            kind: OneTimeTokenKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
            user_id: row.user_id.into(),
            email: Email::from_stored(row.email),
            digest: TokenDigest::from_stored(row.digest),
            password_fingerprint: row.password_fingerprint,
            created_at: utc(row.created_at),
            expires_at: utc(row.expires_at),
            used_at: row.used_at.map(utc),
        })
    }
}

/// A redemption transaction's outcome: `Refused` rolls back whatever it wrote.
#[derive(Debug)]
enum Redemption {
    Refused,
    Failed(QueryError),
}

impl From<QueryError> for Redemption {
    fn from(error: QueryError) -> Self {
        Self::Failed(error)
    }
}

fn redeemed(outcome: Result<(), Redemption>) -> Result<bool, StoreError> {
    match outcome {
        Ok(()) => Ok(true),
        Err(Redemption::Refused) => Ok(false),
        Err(Redemption::Failed(error)) => Err(error.into()),
    }
}

/// Marks the live token of `kind` and `user_id` used; `Refused` when there is none. It is the
/// first statement of each redemption, so on SQLite the transaction takes the write lock at
/// once (no read-then-write upgrade).
fn use_token(
    conn: &mut super::AnyConnection,
    digest: &str,
    kind: OneTimeTokenKind,
    user_id: &DbId,
    now: NaiveDateTime,
) -> Result<(), Redemption> {
    let used = diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::digest.eq(digest))
            .filter(one_time_tokens::kind.eq(kind.as_str()))
            .filter(one_time_tokens::user_id.eq(user_id))
            .filter(one_time_tokens::used_at.is_null())
            .filter(one_time_tokens::expires_at.gt(now)),
    )
    .set(one_time_tokens::used_at.eq(now))
    .execute(conn)?;
    if used == 1 {
        Ok(())
    } else {
        Err(Redemption::Refused)
    }
}

#[async_trait]
impl OneTimeTokenRepository for Database {
    async fn insert_token(&self, token: &OneTimeToken) -> Result<(), Fault> {
        let row = TokenRow::from(token);
        self.run(move |conn| {
            diesel::insert_into(one_time_tokens::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn find_token(&self, digest: &TokenDigest) -> Result<Option<OneTimeToken>, Fault> {
        let digest = digest.as_str().to_owned();
        self.run(move |conn| {
            let row = one_time_tokens::table
                .find(digest)
                .select(TokenRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(OneTimeToken::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn delete_token(&self, digest: &TokenDigest) -> Result<(), Fault> {
        let digest = digest.as_str().to_owned();
        self.run(move |conn| {
            diesel::delete(one_time_tokens::table.find(digest)).execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, Fault> {
        let now = naive(now);
        self.run(move |conn| {
            let purged =
                diesel::delete(one_time_tokens::table.filter(one_time_tokens::expires_at.lt(now)))
                    .execute(conn)?;
            Ok(purged as u64)
        })
        .await
        .map_err(Fault::from)
    }

    async fn redeem_email_verification(
        &self,
        digest: &TokenDigest,
        user_id: UserId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let user = user_id;
        let (digest, user_id, email, now) = (
            digest.as_str().to_owned(),
            DbId::from(user_id),
            email.as_str().to_owned(),
            naive(now),
        );
        let outcome = self
            .run(move |conn| {
                redeemed(conn.transaction::<(), Redemption, _>(|conn| {
                    use_token(conn, &digest, OneTimeTokenKind::VerifyEmail, &user_id, now)?;
                    let verified = diesel::update(
                        users::table
                            .filter(users::id.eq(&user_id))
                            .filter(users::email.eq(&email)),
                    )
                    .set(users::is_verified.eq(true))
                    .execute(conn)?;
                    if verified != 1 {
                        return Err(Redemption::Refused);
                    }
                    Ok(())
                }))
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }

    async fn redeem_password_reset(
        &self,
        digest: &TokenDigest,
        user_id: UserId,
        expected: &PasswordHash,
        new_hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let user = user_id;
        let (digest, user_id, expected, new_hash, now) = (
            digest.as_str().to_owned(),
            DbId::from(user_id),
            expected.as_str().to_owned(),
            new_hash.as_str().to_owned(),
            naive(now),
        );
        let outcome = self
            .run(move |conn| {
                redeemed(conn.transaction::<(), Redemption, _>(|conn| {
                    use_token(
                        conn,
                        &digest,
                        OneTimeTokenKind::PasswordReset,
                        &user_id,
                        now,
                    )?;
                    // Compare-and-set on the hash the caller read: a password changed meanwhile
                    // (by any route) refuses the reset instead of being overwritten.
                    let replaced = diesel::update(
                        users::table
                            .filter(users::id.eq(&user_id))
                            .filter(users::password_hash.eq(&expected)),
                    )
                    .set(users::password_hash.eq(&new_hash))
                    .execute(conn)?;
                    if replaced != 1 {
                        return Err(Redemption::Refused);
                    }
                    diesel::update(
                        sessions::table
                            .filter(sessions::user_id.eq(&user_id))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .execute(conn)?;
                    Ok(())
                }))
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }
}
