//! `UserRepository::upgrade_password_hash`'s contract (compare-and-set), on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth_domain::ports::UserRepository;
use auth_domain::{AccountKind, Email, NewUser, PasswordHash, User, UserId};
use auth_infra::testing::TestDatabase;
use auth_infra::{Database, DatabaseOptions};
use chrono::Utc;

fn hash(text: &str) -> PasswordHash {
    PasswordHash::new(text.to_owned())
}

async fn stored(store: &Database, id: UserId) -> String {
    let user = store.find_by_id(id).await.unwrap().unwrap();
    user.password_hash.as_str().to_owned()
}

async fn replaces_only_the_hash_it_was_given(db: TestDatabase) {
    let store = Database::connect(&db.url, &DatabaseOptions::default()).unwrap();
    let user = User::register(
        Email::parse("john@doe.com").unwrap(),
        NewUser::default(),
        hash("$2b$04$old"),
        AccountKind::Regular,
        Utc::now(),
    );
    store.insert(&user).await.unwrap();

    // Still the hash the caller verified against: replaced.
    assert!(store
        .upgrade_password_hash(user.id, &hash("$2b$04$old"), &hash("$2b$12$new"))
        .await
        .unwrap());
    assert_eq!(stored(&store, user.id).await, "$2b$12$new");

    // Changed meanwhile (a password change): left alone.
    assert!(!store
        .upgrade_password_hash(user.id, &hash("$2b$04$old"), &hash("$2b$12$stale"))
        .await
        .unwrap());
    assert_eq!(stored(&store, user.id).await, "$2b$12$new");

    // No such user: nothing, and no error.
    assert!(!store
        .upgrade_password_hash(UserId::new(), &hash("$2b$04$old"), &hash("$2b$12$x"))
        .await
        .unwrap());
}

mod sqlite {
    #[tokio::test]
    async fn replaces_only_the_hash_it_was_given() {
        super::replaces_only_the_hash_it_was_given(auth_infra::testing::TestDatabase::sqlite())
            .await
    }
}

mod postgres {
    #[tokio::test]
    async fn replaces_only_the_hash_it_was_given() {
        super::replaces_only_the_hash_it_was_given(auth_infra::testing::TestDatabase::postgres())
            .await
    }
}
