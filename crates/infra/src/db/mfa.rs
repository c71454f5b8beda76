//! The second-factor ports on the Diesel store: TOTP secrets (sealed), recovery-code hashes,
//! pending MFA logins. Every decision that must hold under concurrency is one conditional
//! write (compare-and-set), so two instances on one database agree.

use async_trait::async_trait;
use auth_domain::mfa::ports::{
    KeyedDigest, MfaChallenge, MfaChallengeStore, MfaStatus, PutPendingError, RecoveryCodeStore,
    SealedSecret, SecondFactors, TotpConfirmation, TotpRecord, TotpStore,
};
use auth_domain::recovery::TokenDigest;
use auth_domain::{Amr, Fault, UserId};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rows::{naive, utc};
use super::schema::{
    mfa_challenges, passkey_ceremonies, passkeys, recovery_codes, sessions, totp_secrets, users,
};
use super::{Database, StoreError};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_secrets)]
struct TotpRow {
    user_id: String,
    key_id: String,
    nonce: String,
    ciphertext: String,
    created_at: NaiveDateTime,
    confirmed_at: Option<NaiveDateTime>,
    last_step: Option<i64>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes)]
pub(super) struct RecoveryCodeRow {
    user_id: String,
    digest: String,
    key_id: String,
    created_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_challenges)]
struct ChallengeRow {
    digest: String,
    user_id: String,
    first_factor: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    failures: i32,
    spent_at: Option<NaiveDateTime>,
}

fn corrupt(what: &str) -> Fault {
    Fault::internal(format!("stored {what} is invalid"))
}

fn user_uuid(raw: &str) -> Result<UserId, Fault> {
    Uuid::parse_str(raw)
        .map(UserId)
        .map_err(|_| corrupt("user id"))
}

impl TryFrom<TotpRow> for TotpRecord {
    type Error = Fault;

    fn try_from(row: TotpRow) -> Result<Self, Fault> {
        Ok(TotpRecord {
            user_id: user_uuid(&row.user_id)?,
            secret: SealedSecret {
                key_id: row.key_id,
                nonce: STANDARD
                    .decode(&row.nonce)
                    .map_err(|_| corrupt("TOTP nonce"))?,
                ciphertext: STANDARD
                    .decode(&row.ciphertext)
                    .map_err(|_| corrupt("TOTP ciphertext"))?,
            },
            created_at: utc(row.created_at),
            confirmed_at: row.confirmed_at.map(utc),
            last_step: row.last_step,
        })
    }
}

pub(super) fn code_rows(
    user_id: &str,
    codes: &[KeyedDigest],
    now: NaiveDateTime,
) -> Vec<RecoveryCodeRow> {
    codes
        .iter()
        .map(|code| RecoveryCodeRow {
            user_id: user_id.to_owned(),
            digest: code.digest.clone(),
            key_id: code.key_id.clone(),
            created_at: now,
            used_at: None,
        })
        .collect()
}

/// One insert per code: batch inserts are not available on both backends at once.
pub(super) fn insert_codes(
    conn: &mut super::AnyConnection,
    rows: &[RecoveryCodeRow],
) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(recovery_codes::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The other second factors a user keeps when TOTP goes: passkeys.
fn other_factor_remains(conn: &mut super::AnyConnection, user_id: &str) -> QueryResult<bool> {
    Ok(super::passkeys::passkey_count(conn, user_id)? > 0)
}

#[async_trait]
impl TotpStore for Database {
    async fn put_pending_totp(
        &self,
        user_id: UserId,
        secret: &SealedSecret,
        now: DateTime<Utc>,
    ) -> Result<(), PutPendingError> {
        let row = TotpRow {
            user_id: user_id.to_string(),
            key_id: secret.key_id.clone(),
            nonce: STANDARD.encode(&secret.nonce),
            ciphertext: STANDARD.encode(&secret.ciphertext),
            created_at: naive(now),
            confirmed_at: None,
            last_step: None,
        };
        let stored = self
            .run(move |conn| {
                // Replace a pending secret, or insert; a confirmed one is never touched. The
                // insert can only lose a race with another enrolment, which then is pending:
                // replacing it once more settles it.
                for _ in 0..2 {
                    let replaced = diesel::update(
                        totp_secrets::table
                            .find(&row.user_id)
                            .filter(totp_secrets::confirmed_at.is_null()),
                    )
                    .set((
                        totp_secrets::key_id.eq(&row.key_id),
                        totp_secrets::nonce.eq(&row.nonce),
                        totp_secrets::ciphertext.eq(&row.ciphertext),
                        totp_secrets::created_at.eq(row.created_at),
                        totp_secrets::last_step.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                    if replaced == 1 {
                        return Ok(true);
                    }
                    let exists = totp_secrets::table
                        .find(&row.user_id)
                        .count()
                        .get_result::<i64>(conn)?
                        > 0;
                    if exists {
                        return Ok(false);
                    }
                    match diesel::insert_into(totp_secrets::table)
                        .values(&row)
                        .execute(conn)
                    {
                        Ok(_) => return Ok(true),
                        Err(error) => {
                            let error = StoreError::from(error);
                            if error.unique_violation().is_none() {
                                return Err(error);
                            }
                        }
                    }
                }
                Ok(false)
            })
            .await
            .map_err(Fault::from)?;
        if stored {
            Ok(())
        } else {
            Err(PutPendingError::AlreadyEnabled)
        }
    }

    async fn find_totp(&self, user_id: UserId) -> Result<Option<TotpRecord>, Fault> {
        let user_id = user_id.to_string();
        self.run(move |conn| {
            let row = totp_secrets::table
                .find(user_id)
                .select(TotpRow::as_select())
                .first::<TotpRow>(conn)
                .optional()?;
            Ok(row.map(TotpRecord::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn confirm_totp(&self, confirmation: &TotpConfirmation) -> Result<Option<u64>, Fault> {
        let user = confirmation.user_id;
        let user_id = user.to_string();
        let nonce = STANDARD.encode(&confirmation.secret_nonce);
        let step = confirmation.step;
        let now = naive(confirmation.now);
        let keep = confirmation.keep_session.to_string();
        let codes = code_rows(&user_id, &confirmation.recovery_codes, now);
        let outcome = self
            .run(move |conn| {
                conn.transaction::<_, StoreError, _>(|conn| {
                    let confirmed = diesel::update(
                        totp_secrets::table
                            .find(&user_id)
                            .filter(totp_secrets::confirmed_at.is_null())
                            .filter(totp_secrets::nonce.eq(&nonce)),
                    )
                    .set((
                        totp_secrets::confirmed_at.eq(now),
                        totp_secrets::last_step.eq(step),
                    ))
                    .execute(conn)?;
                    if confirmed != 1 {
                        return Ok(None);
                    }
                    diesel::update(users::table.find(&user_id))
                        .set(users::mfa_enabled.eq(true))
                        .execute(conn)?;
                    diesel::delete(
                        recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id)),
                    )
                    .execute(conn)?;
                    insert_codes(conn, &codes)?;
                    let revoked = diesel::update(
                        sessions::table
                            .filter(sessions::user_id.eq(&user_id))
                            .filter(sessions::id.ne(&keep))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .execute(conn)?;
                    Ok(Some(revoked as u64))
                })
            })
            .await;
        // `mfa_enabled` is part of the user every cached session carries.
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }

    async fn accept_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, Fault> {
        let user_id = user_id.to_string();
        self.run(move |conn| {
            let accepted = diesel::update(
                totp_secrets::table
                    .find(user_id)
                    .filter(totp_secrets::confirmed_at.is_not_null())
                    .filter(
                        totp_secrets::last_step
                            .is_null()
                            .or(totp_secrets::last_step.lt(step)),
                    ),
            )
            .set(totp_secrets::last_step.eq(step))
            .execute(conn)?;
            Ok(accepted == 1)
        })
        .await
        .map_err(Fault::from)
    }

    async fn remove_totp(&self, user_id: UserId) -> Result<bool, Fault> {
        let user = user_id;
        let user_id = user_id.to_string();
        let outcome = self
            .run(move |conn| {
                conn.transaction::<_, StoreError, _>(|conn| {
                    let removed = diesel::delete(
                        totp_secrets::table
                            .find(&user_id)
                            .filter(totp_secrets::confirmed_at.is_not_null()),
                    )
                    .execute(conn)?;
                    if removed != 1 {
                        return Ok(false);
                    }
                    let keeps_factor = other_factor_remains(conn, &user_id)?;
                    if !keeps_factor {
                        diesel::delete(
                            recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id)),
                        )
                        .execute(conn)?;
                    }
                    diesel::update(users::table.find(&user_id))
                        .set(users::mfa_enabled.eq(keeps_factor))
                        .execute(conn)?;
                    Ok(true)
                })
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }
}

#[async_trait]
impl RecoveryCodeStore for Database {
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[KeyedDigest],
        now: DateTime<Utc>,
    ) -> Result<bool, Fault> {
        let user_id = user_id.to_string();
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
        let (user_id, digest, now) = (user_id.to_string(), code.digest.clone(), naive(now));
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

#[async_trait]
impl SecondFactors for Database {
    async fn mfa_status(&self, user_id: UserId) -> Result<MfaStatus, Fault> {
        let user_id = user_id.to_string();
        self.run(move |conn| {
            let totp = totp_secrets::table
                .find(&user_id)
                .filter(totp_secrets::confirmed_at.is_not_null())
                .count()
                .get_result::<i64>(conn)?
                > 0;
            let left = recovery_codes::table
                .filter(recovery_codes::user_id.eq(&user_id))
                .filter(recovery_codes::used_at.is_null())
                .count()
                .get_result::<i64>(conn)?;
            let passkeys = super::passkeys::passkey_count(conn, &user_id)?;
            Ok(MfaStatus {
                totp,
                recovery_codes_left: u32::try_from(left).unwrap_or(u32::MAX),
                passkeys: u32::try_from(passkeys).unwrap_or(u32::MAX),
            })
        })
        .await
        .map_err(Fault::from)
    }

    async fn reset_second_factors(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, Fault> {
        let user = user_id;
        let (user_id, now) = (user_id.to_string(), naive(now));
        let outcome = self
            .run(move |conn| {
                conn.transaction::<_, StoreError, _>(|conn| {
                    let found = diesel::update(users::table.find(&user_id))
                        .set(users::mfa_enabled.eq(false))
                        .execute(conn)?;
                    if found != 1 {
                        return Ok(None);
                    }
                    diesel::delete(totp_secrets::table.find(&user_id)).execute(conn)?;
                    diesel::delete(
                        recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id)),
                    )
                    .execute(conn)?;
                    diesel::delete(
                        mfa_challenges::table.filter(mfa_challenges::user_id.eq(&user_id)),
                    )
                    .execute(conn)?;
                    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(&user_id)))
                        .execute(conn)?;
                    diesel::delete(
                        passkey_ceremonies::table.filter(passkey_ceremonies::user_id.eq(&user_id)),
                    )
                    .execute(conn)?;
                    Ok(Some(super::sessions::revoke_all_of(conn, &user_id, now)?))
                })
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }
}

#[async_trait]
impl MfaChallengeStore for Database {
    async fn insert_challenge(&self, challenge: &MfaChallenge) -> Result<(), Fault> {
        let row = ChallengeRow {
            digest: challenge.digest.as_str().to_owned(),
            user_id: challenge.user_id.to_string(),
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
                user_id: user_uuid(&row.user_id)?,
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
