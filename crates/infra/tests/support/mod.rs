//! What the adapter suites share: each test once per database, a connected store, timestamps
//! both databases keep exactly, a stored user.
// Each suite is a test binary of its own and uses part of this.
#![allow(dead_code, unused_imports, unused_macros)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth_domain::ports::UserRepository;
use auth_domain::{AccountKind, Email, NewUser, PasswordHash, User};
use auth_infra::testing::TestDatabase;
use auth_infra::{Database, DatabaseOptions};
use chrono::{DateTime, SubsecRound, Utc};

/// Runs each listed `async fn name(db: TestDatabase)` once on PostgreSQL, once on SQLite.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(auth_infra::testing::TestDatabase::postgres()).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(auth_infra::testing::TestDatabase::sqlite()).await
                }
            )*
        }
    };
}
pub(crate) use on_both_databases;

/// The store on a throw-away database (its migrations run).
pub fn connect(db: &TestDatabase) -> Database {
    Database::connect(&db.url, &DatabaseOptions::default()).expect("test database connects")
}

/// Now, to the microsecond: what both databases keep of a timestamp.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The shape of a bcrypt hash; the store never reads it.
pub const PLACEHOLDER_HASH: &str = "$2b$04$hash";

/// A regular user with `hash`, registered now, not stored.
pub fn user_with_hash(email: &str, hash: &str) -> User {
    User::register(
        Email::parse(email).unwrap(),
        NewUser::default(),
        PasswordHash::new(hash.into()),
        AccountKind::Regular,
        now(),
    )
}

/// A regular user, registered now and stored.
pub async fn stored_user(store: &Database, email: &str) -> User {
    stored(store, user_with_hash(email, PLACEHOLDER_HASH)).await
}

/// `user`, stored.
pub async fn stored(store: &Database, user: User) -> User {
    store.insert(&user).await.unwrap();
    user
}
