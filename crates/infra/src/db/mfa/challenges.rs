//! Pending MFA logins: found by digest, failed a bounded number of times, spent once.
use async_trait::async_trait;
use auth_domain::one_time::TokenDigest;
use auth_domain::ports::mfa::{MfaChallenge, MfaChallengeStore};
use auth_domain::{Amr, Fault};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::id::DbId;
use crate::db::rows::{naive, utc};
use crate::db::schema::mfa_challenges;
use crate::db::{Database, StoreError};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_challenges)]
struct ChallengeRow {
    digest: String,
    user_id: DbId,
    first_factor: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    failures: i32,
    spent_at: Option<NaiveDateTime>,
}

#[async_trait]
impl MfaChallengeStore for Database {
    async fn insert_challenge(&self, challenge: &MfaChallenge) -> Result<(), Fault> {
        let row = ChallengeRow {
            digest: challenge.digest.as_str().to_owned(),
            user_id: DbId::from(challenge.user_id),
            first_factor: challenge.first_factor.to_stored(),
            created_at: naive(challenge.created_at),
            expires_at: naive(challenge.expires_at),
            failures: i32::try_from(challenge.failures).unwrap_or(i32::MAX),
            spent_at: None,
        };
        self.run(move |conn| {
            diesel::insert_into(mfa_challenges::table)
                .values(&row)
                .execute(conn)?;
            // Expired challenges are useless: each new one sweeps them (indexed), so nobody
            // can fill the table.
            diesel::delete(
                mfa_challenges::table.filter(mfa_challenges::expires_at.le(row.created_at)),
            )
            .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn find_challenge(&self, digest: &TokenDigest) -> Result<Option<MfaChallenge>, Fault> {
        let digest = digest.as_str().to_owned();
        self.run(move |conn| {
            let row = mfa_challenges::table
                .find(digest)
                .filter(mfa_challenges::spent_at.is_null())
                .select(ChallengeRow::as_select())
                .first::<ChallengeRow>(conn)
                .optional()?;
            let Some(row) = row else {
                return Ok(None);
            };
            Ok(Some(MfaChallenge {
                digest: TokenDigest::from_stored(row.digest),
                user_id: row.user_id.into(),
                first_factor: Amr::from_stored(&row.first_factor),
                created_at: utc(row.created_at),
                expires_at: utc(row.expires_at),
                failures: u32::try_from(row.failures).unwrap_or(0),
            }))
        })
        .await
        .map_err(Fault::from)
    }

    async fn fail_challenge(&self, digest: &TokenDigest) -> Result<u32, Fault> {
        let digest = digest.as_str().to_owned();
        self.run(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                let updated = diesel::update(
                    mfa_challenges::table
                        .find(&digest)
                        .filter(mfa_challenges::spent_at.is_null()),
                )
                .set(mfa_challenges::failures.eq(mfa_challenges::failures + 1))
                .execute(conn)?;
                if updated != 1 {
                    return Ok(0);
                }
                let failures = mfa_challenges::table
                    .find(&digest)
                    .select(mfa_challenges::failures)
                    .first::<i32>(conn)?;
                Ok(u32::try_from(failures).unwrap_or(0))
            })
        })
        .await
        .map_err(Fault::from)
    }

    async fn spend_challenge(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<bool, Fault> {
        let (digest, now) = (digest.as_str().to_owned(), naive(now));
        let max_failures = i32::try_from(max_failures).unwrap_or(i32::MAX);
        self.run(move |conn| {
            let spent = diesel::update(
                mfa_challenges::table
                    .find(digest)
                    .filter(mfa_challenges::spent_at.is_null())
                    .filter(mfa_challenges::expires_at.gt(now))
                    .filter(mfa_challenges::failures.lt(max_failures)),
            )
            .set(mfa_challenges::spent_at.eq(now))
            .execute(conn)?;
            Ok(spent == 1)
        })
        .await
        .map_err(Fault::from)
    }
}
