//! Passkey ceremonies on the Diesel store: taken by one `DELETE … RETURNING`, so whoever
//! deletes the row has it, on any instance.

use async_trait::async_trait;
use auth_domain::ports::passkeys::{Ceremony, CeremonyKind, CeremonyStore};
use auth_domain::{Fault, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::corrupt;
use crate::db::id::DbId;
use crate::db::rows::{columns_of, naive, utc};
use crate::db::schema::passkey_ceremonies;
use crate::db::{Database, StoreError};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkey_ceremonies)]
struct CeremonyRow {
    ceremony_key: String,
    kind: String,
    user_id: Option<DbId>,
    state: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

impl TryFrom<CeremonyRow> for Ceremony {
    type Error = Fault;

    fn try_from(row: CeremonyRow) -> Result<Self, Fault> {
        Ok(Ceremony {
            kind: CeremonyKind::parse(&row.kind).ok_or_else(|| corrupt("ceremony kind"))?,
            user_id: row.user_id.map(UserId::from),
            key: row.ceremony_key,
            state: row.state,
            created_at: utc(row.created_at),
            expires_at: utc(row.expires_at),
        })
    }
}

#[async_trait]
impl CeremonyStore for Database {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), Fault> {
        let row = CeremonyRow {
            ceremony_key: ceremony.key.clone(),
            kind: ceremony.kind.as_str().to_owned(),
            user_id: ceremony.user_id.map(DbId::from),
            state: ceremony.state.clone(),
            created_at: naive(ceremony.created_at),
            expires_at: naive(ceremony.expires_at),
        };
        self.run(move |conn| {
            conn.transaction::<_, StoreError, _>(|conn| {
                diesel::delete(passkey_ceremonies::table.find(&row.ceremony_key)).execute(conn)?;
                diesel::insert_into(passkey_ceremonies::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(())
            })?;
            // Expired ceremonies are useless: each new one sweeps them (indexed), so nobody
            // can fill the table.
            diesel::delete(
                passkey_ceremonies::table.filter(passkey_ceremonies::expires_at.le(row.created_at)),
            )
            .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn take_ceremony(
        &self,
        key: &str,
        kind: CeremonyKind,
        now: DateTime<Utc>,
    ) -> Result<Option<Ceremony>, Fault> {
        let (key, kind, now) = (key.to_owned(), kind.as_str(), naive(now));
        self.take_row(
            move |conn| {
                diesel::delete(passkey_ceremonies::table.find(key))
                    .returning(columns_of::<CeremonyRow>())
                    .get_result(conn)
            },
            move |row: &CeremonyRow| row.kind == kind && row.expires_at > now,
        )
        .await
    }
}
