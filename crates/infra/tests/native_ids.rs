//! PostgreSQL keeps ids as its native `uuid`: a database holding text ids (the schema before
//! migration `2026-12-01-000150_native_uuid_ids`) is converted in place, and what it held is
//! found again through the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use auth_domain::listing::Start;
use auth_domain::ports::{AuditLog, SessionRepository, UserRepository};
use auth_domain::{SessionId, UserId};
use auth_infra::testing::TestDatabase;
use diesel::migration::MigrationSource;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use uuid::Uuid;

const USER: &str = "0b8f3c6e-1d2a-4f5b-9c7d-8e9fa0b1c2d3";
const SESSION: &str = "1c9e4d7f-2e3b-4a6c-8d8e-9fa0b1c2d3e4";
const JTI: &str = "2dafe580-3f4c-4b7d-9e9f-a0b1c2d3e4f5";
const EVENT: &str = "3eb0f691-4a5d-4c8e-8fa0-b1c2d3e4f506";

/// Applies the PostgreSQL migrations that come before native ids, as a database that last ran
/// an older release has them.
fn migrate_to_text_ids(db: &TestDatabase) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/postgres");
    let source = FileBasedMigrations::from_path(dir).unwrap();
    let mut migrations = MigrationSource::<diesel::pg::Pg>::migrations(&source).unwrap();
    migrations.sort_by_key(|m| m.name().version().to_string());
    let mut conn = PgConnection::establish(db.raw_url()).unwrap();
    // Creates diesel's table of applied migrations.
    assert!(conn.applied_migrations().unwrap().is_empty());
    let mut applied = 0;
    for migration in &migrations {
        if migration.name().version().to_string().as_str() >= "20261201000150" {
            break;
        }
        conn.run_migration(migration.as_ref()).unwrap();
        applied += 1;
    }
    assert!(applied >= 10, "the text-id migrations ran ({applied})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_ids_are_converted_in_place_and_found_again() {
    let db = TestDatabase::postgres();
    migrate_to_text_ids(&db);
    db.execute(&format!(
        "INSERT INTO users (id, email, password_hash, date_joined) \
         VALUES ('{USER}', 'ann@example.com', '$2b$04$hash', '2026-11-01 12:00:00')"
    ));
    db.execute(&format!(
        "INSERT INTO sessions (id, user_id, refresh_jti, created_at, last_used_at, expires_at) \
         VALUES ('{SESSION}', '{USER}', '{JTI}', '2026-11-01 12:00:00', '2026-11-01 12:00:00', \
                 '2099-01-01 00:00:00')"
    ));
    db.execute(&format!(
        "INSERT INTO audit_events (id, at, event, user_id, session_id) \
         VALUES ('{EVENT}', '2026-11-01 12:00:00', 'login_succeeded', '{USER}', '{SESSION}')"
    ));
    let column_type = |table: &str, column: &str| {
        #[derive(QueryableByName)]
        struct Type {
            #[diesel(sql_type = diesel::sql_types::Text)]
            data_type: String,
        }
        let mut conn = PgConnection::establish(db.raw_url()).unwrap();
        diesel::sql_query(format!(
            "SELECT data_type::text AS data_type FROM information_schema.columns \
             WHERE table_name = '{table}' AND column_name = '{column}'"
        ))
        .get_result::<Type>(&mut conn)
        .unwrap()
        .data_type
    };
    assert_eq!(column_type("sessions", "user_id"), "text");

    // Connecting runs the pending migration.
    let store = support::connect(&db);
    for (table, column) in [
        ("users", "id"),
        ("sessions", "user_id"),
        ("sessions", "refresh_jti"),
        ("audit_events", "session_id"),
        ("external_identities", "user_id"),
    ] {
        assert_eq!(column_type(table, column), "uuid", "{table}.{column}");
    }

    let user_id = UserId(Uuid::parse_str(USER).unwrap());
    let user = store.find_by_id(user_id).await.unwrap().expect("the user");
    assert_eq!(user.email.as_str(), "ann@example.com");
    let session_id = SessionId(Uuid::parse_str(SESSION).unwrap());
    let (session, owner) = store
        .find_with_user(session_id)
        .await
        .unwrap()
        .expect("the session");
    assert_eq!(owner.id, user_id);
    assert_eq!(session.user_id, user_id);
    assert_eq!(session.refresh_jti, Uuid::parse_str(JTI).unwrap());
    let trail = store
        .list_for_user(user_id, Start::Offset(0), 10)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].id, Uuid::parse_str(EVENT).unwrap());
    assert_eq!(trail[0].session_id, Some(session_id));

    // The foreign key is back: deleting the user takes its session.
    assert!(store.delete(user_id, false).await.unwrap());
    assert!(store.find_with_user(session_id).await.unwrap().is_none());
}
