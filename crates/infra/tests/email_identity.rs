//! Email identity: the start-up pass that brings stored emails to their NFKC, lower-cased
//! form, and never merges two accounts that collide after it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth_domain::ports::UserRepository;
use auth_domain::{Email, UserId};
use auth_infra::testing::TestDatabase;
use uuid::Uuid;

mod support;
use support::{connect, on_both_databases};

/// A row as an older version (lower-casing only) could have written it.
fn legacy_row(db: &TestDatabase, email: &str) -> UserId {
    let id = Uuid::new_v4();
    db.execute(&format!(
        "INSERT INTO users (id, email, password_hash, date_joined) \
             VALUES ('{id}', '{email}', '$2b$04$legacy', '2026-11-01 12:00:00')"
    ));
    UserId(id)
}

async fn stored_emails_are_normalised_and_colliding_rows_kept_apart(db: TestDatabase) {
    drop(connect(&db)); // the schema
    let ann = legacy_row(&db, "ａｎｎ@example.com");
    let kelvin = legacy_row(&db, "kelvin@example.com");
    let fullwidth_kelvin = legacy_row(&db, "ｋｅｌｖｉｎ@example.com");
    let strasse = legacy_row(&db, "straße@example.com");

    // The next start normalises what it can.
    let store = connect(&db);
    let email = |id| {
        let store = store.clone();
        async move { store.find_by_id(id).await.unwrap().unwrap().email }
    };
    assert_eq!(email(ann).await.as_str(), "ann@example.com");
    let found = store
        .find_by_email(&Email::parse("ＡＮＮ@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, ann);
    // Two accounts that collide after normalisation stay two accounts, as they were.
    assert_eq!(email(kelvin).await.as_str(), "kelvin@example.com");
    assert_eq!(
        email(fullwidth_kelvin).await.as_str(),
        "ｋｅｌｖｉｎ@example.com"
    );
    // Lower-casing is not case folding: ß stays.
    assert_eq!(email(strasse).await.as_str(), "straße@example.com");
}

on_both_databases!(stored_emails_are_normalised_and_colliding_rows_kept_apart);
