//! Counting an account's ways to log in, inside the caller's transaction (the "last way to
//! log in" rule of passkey removal and identity unlinking).

use diesel::prelude::*;
use diesel::result::Error as QueryError;

use super::schema::{external_identities, passkeys};
use super::AnyConnection;
use crate::db::id::DbId;

/// How many passkeys the user has (inside the caller's transaction).
pub(super) fn passkey_count(conn: &mut AnyConnection, user_id: &DbId) -> Result<i64, QueryError> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

/// The number of identities linked to the account (the "last way to log in" rule).
pub(super) fn identity_count(conn: &mut AnyConnection, user_id: &DbId) -> Result<i64, QueryError> {
    external_identities::table
        .filter(external_identities::user_id.eq(user_id))
        .count()
        .get_result(conn)
}
