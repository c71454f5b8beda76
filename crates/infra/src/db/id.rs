//! How ids are stored: PostgreSQL's native `uuid` (16 bytes, sent in binary), SQLite's
//! hyphenated `TEXT`. A text key of a UUID costs 37 bytes in every index entry, a `uuid` 16:
//! the id indexes of `users` and `sessions` shrink by a third to a half (`bench/RESULTS.md`).
//!
//! Rows and queries hold ids as [`DbId`]: the SQL type `Id` is this crate's, and Diesel lets
//! only a type of this crate stand for it.

use auth_domain::ports::passkeys::PasskeyId;
use auth_domain::{SessionId, UserId};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Text};
use diesel::sqlite::Sqlite;
use std::io::Write;
use uuid::Uuid;

use super::connection::MultiBackend;
use super::schema::sql_types::Id;

/// An id as a row holds it.
/// Ordered as both backends order the column: by the 16 bytes (PostgreSQL), by the
/// lower-case hyphenated text (SQLite), which sort alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Id)]
pub struct DbId(pub Uuid);

impl std::fmt::Display for DbId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl From<Uuid> for DbId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

/// Both ways between `DbId` and the domain's id newtypes over a `Uuid`.
macro_rules! domain_ids {
    ($($id:ident),*) => {$(
        impl From<$id> for DbId {
            fn from(id: $id) -> Self {
                Self(id.0)
            }
        }

        impl From<DbId> for $id {
            fn from(id: DbId) -> Self {
                $id(id.0)
            }
        }
    )*};
}

domain_ids!(UserId, SessionId, PasskeyId);

impl HasSqlType<Id> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<Id>(lookup)
    }
}

impl ToSql<Id, Pg> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Id, Pg> for DbId {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(Uuid::from_slice(value.as_bytes())?))
    }
}

impl ToSql<Id, Sqlite> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Id, Sqlite> for DbId {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(Uuid::try_parse(&text)?))
    }
}

impl ToSql<Id, MultiBackend> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Id, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Id, MultiBackend> for DbId {
    fn from_sql(value: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<DbId, Id>()
    }
}
