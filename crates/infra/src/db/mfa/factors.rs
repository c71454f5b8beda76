//! Which second factors a user has, and the administrator's reset of all of them.
use async_trait::async_trait;
use auth_domain::ports::mfa::{MfaStatus, SecondFactors};
use auth_domain::{Fault, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::id::DbId;
use crate::db::rows::naive;
use crate::db::schema::{
    mfa_challenges, passkey_ceremonies, passkeys, recovery_codes, totp_secrets, users,
};
use crate::db::{AnyConnection, Database, StoreError};

/// The other second factors a user keeps when TOTP goes: passkeys.
pub(super) fn other_factor_remains(conn: &mut AnyConnection, user_id: &DbId) -> QueryResult<bool> {
    Ok(crate::db::login_methods::passkey_count(conn, user_id)? > 0)
}

#[async_trait]
impl SecondFactors for Database {
    async fn mfa_status(&self, user_id: UserId) -> Result<MfaStatus, Fault> {
        let user_id = DbId::from(user_id);
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
            let passkeys = crate::db::login_methods::passkey_count(conn, &user_id)?;
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
        let (user_id, now) = (DbId::from(user_id), naive(now));
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
                    Ok(Some(crate::db::sessions::revoke_all_of(
                        conn, &user_id, now,
                    )?))
                })
            })
            .await;
        self.forget_user(user);
        outcome.map_err(Fault::from)
    }
}
