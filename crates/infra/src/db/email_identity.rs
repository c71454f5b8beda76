//! Stored emails brought to the identity form of [`Email::normalise`] (NFKC, lower-case),
//! run after the migrations at every start. Only candidate rows are read (upper-case or
//! non-ASCII characters), so a normalised table costs one filtered scan. A row whose
//! normalised email another row already has is never merged with it: both are kept as they
//! are, and the pair is listed in the log for an operator to resolve.

use auth_domain::Email;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::id::DbId;
use super::schema::users;
use super::AnyConnection;

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = super::schema::sql_types::Id)]
    id: DbId,
    #[diesel(sql_type = Text)]
    email: String,
}

/// Rewrites the emails that are not in identity form; returns how many it rewrote.
pub(super) fn normalise_stored_emails(conn: &mut AnyConnection) -> QueryResult<usize> {
    let query = match conn {
        AnyConnection::Postgresql(_) => {
            "SELECT id, email FROM users WHERE email <> lower(email) OR email ~ '[^ -~]'"
        }
        AnyConnection::Sqlite(_) => {
            "SELECT id, email FROM users WHERE email <> lower(email) OR email GLOB '*[^ -~]*'"
        }
    };
    let candidates: Vec<Candidate> = diesel::sql_query(query).load(conn)?;
    let mut rewritten = 0;
    for candidate in candidates {
        let normalised = Email::normalise(&candidate.email);
        if normalised == candidate.email {
            continue;
        }
        let holder: Option<DbId> = users::table
            .filter(users::email.eq(&normalised))
            .select(users::id)
            .first(conn)
            .optional()?;
        if let Some(other) = holder {
            log::warn!(
                "user {} has the email {:?}, which is {:?} after normalisation, the email of \
                 user {other}: both accounts are kept apart as they are; resolve by hand",
                candidate.id,
                candidate.email,
                normalised
            );
            continue;
        }
        diesel::update(users::table.find(&candidate.id))
            .set(users::email.eq(&normalised))
            .execute(conn)?;
        log::info!(
            "user {}: email normalised from {:?} to {:?}",
            candidate.id,
            candidate.email,
            normalised
        );
        rewritten += 1;
    }
    Ok(rewritten)
}
