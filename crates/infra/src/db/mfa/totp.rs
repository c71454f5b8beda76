//! TOTP secrets, stored sealed: pending until confirmed, then each time step used once.
use async_trait::async_trait;
use auth_domain::ports::mfa::{
    PutPendingError, SealedSecret, TotpConfirmation, TotpRecord, TotpStore,
};
use auth_domain::{Fault, UserId};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::corrupt;
use super::factors::other_factor_remains;
use super::recovery_codes::{code_rows, insert_codes};
use crate::db::id::DbId;
use crate::db::rows::{naive, utc};
use crate::db::schema::{recovery_codes, sessions, totp_secrets, users};
use crate::db::{Database, StoreError};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_secrets)]
struct TotpRow {
    user_id: DbId,
    key_id: String,
    nonce: String,
    ciphertext: String,
    created_at: NaiveDateTime,
    confirmed_at: Option<NaiveDateTime>,
    last_step: Option<i64>,
}

impl TryFrom<TotpRow> for TotpRecord {
    type Error = Fault;

    fn try_from(row: TotpRow) -> Result<Self, Fault> {
        Ok(TotpRecord {
            user_id: row.user_id.into(),
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

#[async_trait]
impl TotpStore for Database {
    async fn put_pending_totp(
        &self,
        user_id: UserId,
        secret: &SealedSecret,
        now: DateTime<Utc>,
    ) -> Result<(), PutPendingError> {
        let row = TotpRow {
            user_id: DbId::from(user_id),
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
        let user_id = DbId::from(user_id);
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
        let user_id = DbId::from(user);
        let nonce = STANDARD.encode(&confirmation.secret_nonce);
        let step = confirmation.step;
        let now = naive(confirmation.now);
        let keep = DbId::from(confirmation.keep_session);
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
        let user_id = DbId::from(user_id);
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
        let user_id = DbId::from(user_id);
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
