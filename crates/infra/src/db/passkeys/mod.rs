//! The passkey ports on the Diesel store: credentials here, ceremonies in [`ceremonies`]. A ceremony is taken by
//! deleting its row (whoever deletes it has it), and every rule that must hold under
//! concurrency — one credential id across accounts, the last way to log in, the counter — is
//! decided inside one transaction or one conditional write.

use async_trait::async_trait;
use auth_domain::mfa::KeyedDigest;
use auth_domain::ports::passkeys::{
    LoginMethods, PasskeyAdded, PasskeyId, PasskeyRemoval, PasskeyStore, PasskeyUse, StoredPasskey,
};
use auth_domain::{Fault, UserId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;

mod ceremonies;

use super::rows::{naive, utc};
use super::schema::{passkeys, recovery_codes, totp_secrets, users};
use super::{AnyConnection, Database, StoreError};
use crate::db::id::DbId;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
struct PasskeyRow {
    id: DbId,
    user_id: DbId,
    credential_id: String,
    name: String,
    credential: String,
    sign_count: i64,
    backup_eligible: bool,
    backed_up: bool,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

pub(super) fn corrupt(what: &str) -> Fault {
    Fault::internal(format!("stored {what} is invalid"))
}

impl TryFrom<PasskeyRow> for StoredPasskey {
    type Error = Fault;

    fn try_from(row: PasskeyRow) -> Result<Self, Fault> {
        Ok(StoredPasskey {
            id: row.id.into(),
            user_id: row.user_id.into(),
            credential_id: URL_SAFE_NO_PAD
                .decode(&row.credential_id)
                .map_err(|_| corrupt("credential id"))?,
            name: row.name,
            credential: row.credential,
            sign_count: u32::try_from(row.sign_count).map_err(|_| corrupt("sign count"))?,
            backup_eligible: row.backup_eligible,
            backed_up: row.backed_up,
            created_at: utc(row.created_at),
            last_used_at: row.last_used_at.map(utc),
        })
    }
}

fn totp_confirmed(conn: &mut AnyConnection, user_id: &DbId) -> QueryResult<bool> {
    Ok(totp_secrets::table
        .find(user_id)
        .filter(totp_secrets::confirmed_at.is_not_null())
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

#[async_trait]
impl PasskeyStore for Database {
    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        codes: &[KeyedDigest],
    ) -> Result<PasskeyAdded, Fault> {
        let user = passkey.user_id;
        let user_id = DbId::from(user);
        let now = naive(passkey.created_at);
        let row = PasskeyRow {
            id: DbId::from(passkey.id),
            user_id,
            credential_id: URL_SAFE_NO_PAD.encode(&passkey.credential_id),
            name: passkey.name.clone(),
            credential: passkey.credential.clone(),
            sign_count: i64::from(passkey.sign_count),
            backup_eligible: passkey.backup_eligible,
            backed_up: passkey.backed_up,
            created_at: now,
            last_used_at: None,
        };
        let code_rows = super::mfa::recovery_codes::code_rows(&user_id, codes, now);
        let outcome = self
            .run(move |conn| {
                let decided = conn.transaction::<_, StoreError, _>(|conn| {
                    // A write first: it takes SQLite's lock, and PostgreSQL's row lock on the
                    // user, so a concurrent TOTP confirmation or passkey waits for this one.
                    diesel::update(users::table.find(&user_id))
                        .set(users::mfa_enabled.eq(users::mfa_enabled))
                        .execute(conn)?;
                    let had_factor = users::table
                        .find(&user_id)
                        .select(users::mfa_enabled)
                        .first::<bool>(conn)
                        .optional()?;
                    let Some(had_factor) = had_factor else {
                        return Ok(PasskeyAdded::NoUser);
                    };
                    diesel::update(users::table.find(&user_id))
                        .set(users::mfa_enabled.eq(true))
                        .execute(conn)?;
                    match diesel::insert_into(passkeys::table)
                        .values(&row)
                        .execute(conn)
                    {
                        Ok(_) => {}
                        Err(error) => {
                            let error = StoreError::from(error);
                            if error.unique_violation().is_some() {
                                return Err(StoreError::Query(
                                    diesel::result::Error::RollbackTransaction,
                                ));
                            }
                            return Err(error);
                        }
                    }
                    if !had_factor {
                        diesel::delete(
                            recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id)),
                        )
                        .execute(conn)?;
                        super::mfa::recovery_codes::insert_codes(conn, &code_rows)?;
                    }
                    Ok(PasskeyAdded::Added {
                        recovery_codes: !had_factor,
                    })
                });
                match decided {
                    Err(StoreError::Query(diesel::result::Error::RollbackTransaction)) => {
                        Ok(PasskeyAdded::DuplicateCredential)
                    }
                    other => other,
                }
            })
            .await;
        // `mfa_enabled` is part of the user every cached session carries.
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }

    async fn list_passkeys(&self, user_id: UserId) -> Result<Vec<StoredPasskey>, Fault> {
        let user_id = DbId::from(user_id);
        self.run(move |conn| {
            let rows = passkeys::table
                .filter(passkeys::user_id.eq(user_id))
                .order((passkeys::created_at.asc(), passkeys::id.asc()))
                .select(PasskeyRow::as_select())
                .load::<PasskeyRow>(conn)?;
            Ok(rows
                .into_iter()
                .map(StoredPasskey::try_from)
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn find_passkey(&self, credential_id: &[u8]) -> Result<Option<StoredPasskey>, Fault> {
        let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
        self.run(move |conn| {
            let row = passkeys::table
                .filter(passkeys::credential_id.eq(credential_id))
                .select(PasskeyRow::as_select())
                .first::<PasskeyRow>(conn)
                .optional()?;
            Ok(row.map(StoredPasskey::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn rename_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &str,
    ) -> Result<bool, Fault> {
        let (user_id, id, name) = (DbId::from(user_id), DbId::from(id), name.to_owned());
        self.run(move |conn| {
            let renamed = diesel::update(
                passkeys::table
                    .find(id)
                    .filter(passkeys::user_id.eq(user_id)),
            )
            .set(passkeys::name.eq(name))
            .execute(conn)?;
            Ok(renamed == 1)
        })
        .await
        .map_err(Fault::from)
    }

    async fn remove_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keeps_login: fn(LoginMethods) -> bool,
    ) -> Result<PasskeyRemoval, Fault> {
        let user = user_id;
        let (user_id, id) = (DbId::from(user_id), DbId::from(id));
        let outcome = self
            .run(move |conn| {
                let decided = conn.transaction::<_, StoreError, _>(|conn| {
                    // A write to the user row first (SQLite's lock, PostgreSQL's row lock): a
                    // concurrent removal of the user's other passkey waits here, then counts
                    // what this one left.
                    diesel::update(users::table.find(&user_id))
                        .set(users::mfa_enabled.eq(users::mfa_enabled))
                        .execute(conn)?;
                    let Some(hash) = users::table
                        .find(&user_id)
                        .select(users::password_hash)
                        .first::<String>(conn)
                        .optional()?
                    else {
                        return Ok(PasskeyRemoval::NotFound);
                    };
                    let removed = diesel::delete(
                        passkeys::table
                            .find(&id)
                            .filter(passkeys::user_id.eq(&user_id)),
                    )
                    .execute(conn)?;
                    if removed != 1 {
                        return Ok(PasskeyRemoval::NotFound);
                    }
                    let remaining = super::login_methods::passkey_count(conn, &user_id)?;
                    let methods = LoginMethods {
                        password: !hash.is_empty(),
                        passkeys: u32::try_from(remaining).unwrap_or(u32::MAX),
                        identities: u32::try_from(super::login_methods::identity_count(
                            conn, &user_id,
                        )?)
                        .unwrap_or(u32::MAX),
                    };
                    if !keeps_login(methods) {
                        return Err(StoreError::Query(
                            diesel::result::Error::RollbackTransaction,
                        ));
                    }
                    let keeps_factor = remaining > 0 || totp_confirmed(conn, &user_id)?;
                    if !keeps_factor {
                        diesel::delete(
                            recovery_codes::table.filter(recovery_codes::user_id.eq(&user_id)),
                        )
                        .execute(conn)?;
                    }
                    diesel::update(users::table.find(&user_id))
                        .set(users::mfa_enabled.eq(keeps_factor))
                        .execute(conn)?;
                    Ok(PasskeyRemoval::Removed)
                });
                match decided {
                    Err(StoreError::Query(diesel::result::Error::RollbackTransaction)) => {
                        Ok(PasskeyRemoval::LastLoginMethod)
                    }
                    other => other,
                }
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }

    async fn record_passkey_use(&self, use_: &PasskeyUse) -> Result<bool, Fault> {
        let id = DbId::from(use_.id);
        let previous = i64::from(use_.previous_sign_count);
        let (count, eligible, backed_up) = (
            i64::from(use_.sign_count),
            use_.backup_eligible,
            use_.backed_up,
        );
        let (credential, at) = (use_.credential.clone(), naive(use_.at));
        self.run(move |conn| {
            let recorded = diesel::update(
                passkeys::table
                    .find(id)
                    .filter(passkeys::sign_count.eq(previous)),
            )
            .set((
                passkeys::sign_count.eq(count),
                passkeys::backup_eligible.eq(eligible),
                passkeys::backed_up.eq(backed_up),
                passkeys::credential.eq(credential),
                passkeys::last_used_at.eq(at),
            ))
            .execute(conn)?;
            Ok(recorded == 1)
        })
        .await
        .map_err(Fault::from)
    }
}
