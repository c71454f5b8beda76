//! The session cache in front of `find_with_user`: hits, misses, the invalidation of a change
//! made behind the store's back (PostgreSQL: through the triggers' `NOTIFY`; SQLite: through
//! the change log its poller reads), and, while its listener is down, every lookup going to
//! the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use auth_domain::ports::{SessionRepository, UserRepository};
use auth_domain::{
    AccountKind, ClientInfo, Email, NewUser, PasswordHash, Session, SessionId, User,
};
use auth_infra::db::LISTENER_APPLICATION_NAME;
use auth_infra::testing::{TestDatabase, DEFAULT_ADMIN_URL};
use auth_infra::{Database, DatabaseOptions};
use chrono::{SubsecRound, TimeDelta, Utc};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use uuid::Uuid;

fn cached(db: &TestDatabase) -> Database {
    let options = DatabaseOptions {
        session_cache_size: 100,
        ..DatabaseOptions::default()
    };
    Database::connect(&db.url, &options).expect("connect")
}

fn admin() -> PgConnection {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned());
    PgConnection::establish(&url).expect("admin connection")
}

/// The database's name, from its URL.
fn name_of(db: &TestDatabase) -> String {
    let path = db.raw_url().rsplit('/').next().unwrap();
    path.split('?').next().unwrap().to_owned()
}

fn sql(conn: &mut PgConnection, statement: &str) -> usize {
    diesel::sql_query(statement).execute(conn).unwrap()
}

async fn until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

async fn user_with_session(store: &Database) -> (User, Session) {
    let now = Utc::now().trunc_subsecs(6);
    let user = User::register(
        Email::parse("cached@example.com").unwrap(),
        NewUser::default(),
        PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu5B9.Lc2XqSx0KcJrWmZ1xWfXIGkUdIm".into()),
        AccountKind::Regular,
        now,
    );
    UserRepository::insert(store, &user).await.unwrap();
    let session = Session {
        amr: auth_domain::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: now,
        last_used_at: now,
        expires_at: now + TimeDelta::days(1),
        revoked_at: None,
        client: ClientInfo::default(),
    };
    store.start(&session).await.unwrap();
    (user, session)
}

async fn first_name(store: &Database, id: SessionId) -> Option<String> {
    let (_, user) = store.find_with_user(id).await.unwrap().unwrap();
    user.first_name.map(|name| name.as_str().to_owned())
}

/// Reads until the answer is kept. A miss's answer is kept only if nothing was invalidated
/// while it was read: the notification of the session's start (its user's `last_login`) may
/// arrive meanwhile and keep the first one out — the race guard at work.
async fn warm(store: &Database, id: SessionId) {
    let start = Instant::now();
    while store.session_cache_stats().unwrap().entries == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "an answer is cached"
        );
        store.find_with_user(id).await.unwrap().unwrap();
    }
}

fn hits(store: &Database) -> u64 {
    store.session_cache_stats().unwrap().hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_misses_invalidation_and_bypass_while_the_listener_is_down() {
    let db = TestDatabase::postgres();
    let store = cached(&db);
    let mut behind = PgConnection::establish(db.raw_url()).unwrap();
    let (_, session) = user_with_session(&store).await;
    until("the listener listens", Duration::from_secs(10), || {
        store.session_cache_stats().unwrap().listening
    })
    .await;

    // A miss keeps the answer, then reads are hits (no query).
    warm(&store, session.id).await;
    let before = store.session_cache_stats().unwrap();
    assert_eq!(first_name(&store, session.id).await, None);
    assert_eq!(first_name(&store, session.id).await, None);
    let after = store.session_cache_stats().unwrap();
    assert_eq!(after.misses, before.misses);
    assert_eq!(after.hits, before.hits + 2);
    assert_eq!(after.entries, 1);

    // Changed behind the store's back: the trigger's notification drops the entry.
    sql(&mut behind, "UPDATE users SET first_name = 'Notified'");
    let start = Instant::now();
    while first_name(&store, session.id).await.as_deref() != Some("Notified") {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the change is seen within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // The listener goes away (and cannot come back): the cache empties and is bypassed.
    let name = name_of(&db);
    let mut admin = admin();
    sql(
        &mut admin,
        &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
    );
    let terminated = sql(
        &mut admin,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND application_name = '{LISTENER_APPLICATION_NAME}'"
        ),
    );
    assert_eq!(terminated, 1, "one listener connection");
    until("the cache stops answering", Duration::from_secs(1), || {
        !store.session_cache_stats().unwrap().listening
    })
    .await;
    assert_eq!(store.session_cache_stats().unwrap().entries, 0);
    let hits_down = hits(&store);
    for round in 0..3 {
        // Every change is seen by the very next read: it went to the database.
        sql(
            &mut behind,
            &format!("UPDATE users SET first_name = 'Direct{round}'"),
        );
        assert_eq!(
            first_name(&store, session.id).await.as_deref(),
            Some(format!("Direct{round}").as_str())
        );
    }
    assert_eq!(hits(&store), hits_down, "no answer came from the cache");
    assert_eq!(store.session_cache_stats().unwrap().entries, 0);

    // The listener reconnects by itself, and the cache answers again.
    sql(
        &mut admin,
        &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
    );
    until(
        "the listener listens again",
        Duration::from_secs(10),
        || store.session_cache_stats().unwrap().listening,
    )
    .await;
    warm(&store, session.id).await;
    assert_eq!(
        first_name(&store, session.id).await.as_deref(),
        Some("Direct2")
    );
    assert!(hits(&store) > hits_down);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_the_store_is_seen_at_once() {
    let db = TestDatabase::postgres();
    let store = cached(&db);
    let (_, session) = user_with_session(&store).await;
    until("the listener listens", Duration::from_secs(10), || {
        store.session_cache_stats().unwrap().listening
    })
    .await;
    warm(&store, session.id).await;
    let (found, _) = store.find_with_user(session.id).await.unwrap().unwrap();
    assert_eq!(found.revoked_at, None);
    assert!(hits(&store) >= 1);
    store.revoke(session.id, Utc::now()).await.unwrap();
    let (found, _) = store.find_with_user(session.id).await.unwrap().unwrap();
    assert!(
        found.revoked_at.is_some(),
        "no waiting for the notification"
    );
}

fn sqlite(db: &TestDatabase, statement: &str) -> usize {
    let mut conn = SqliteConnection::establish(db.url.sqlite_path().unwrap()).unwrap();
    diesel::sql_query(statement).execute(&mut conn).unwrap()
}

/// Polls until `check` holds, failing after `limit`.
async fn seen_within<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sees_another_processs_changes_within_a_second() {
    let db = TestDatabase::sqlite();
    let store = cached(&db);
    let (_, session) = user_with_session(&store).await;
    until("the poller follows", Duration::from_secs(10), || {
        store.session_cache_stats().unwrap().listening
    })
    .await;

    // Hits, no query.
    warm(&store, session.id).await;
    let before = hits(&store);
    assert_eq!(first_name(&store, session.id).await, None);
    assert_eq!(hits(&store), before + 1);

    // Another connection to the file (the CLI, SQL by hand) changes the user…
    sqlite(&db, "UPDATE users SET first_name = 'Polled'");
    seen_within(
        "a user changed behind the store",
        Duration::from_secs(1),
        || async { first_name(&store, session.id).await.as_deref() == Some("Polled") },
    )
    .await;

    // …revokes the session…
    warm(&store, session.id).await;
    sqlite(
        &db,
        "UPDATE sessions SET revoked_at = strftime('%Y-%m-%d %H:%M:%f', 'now')",
    );
    seen_within(
        "a revocation behind the store",
        Duration::from_secs(1),
        || async {
            let (found, _) = store.find_with_user(session.id).await.unwrap().unwrap();
            found.revoked_at.is_some()
        },
    )
    .await;

    // …or deletes a live one.
    let (_, live) = user_with_second_session(&store).await;
    warm(&store, live.id).await;
    sqlite(
        &db,
        &format!("DELETE FROM sessions WHERE id = '{}'", live.id),
    );
    seen_within(
        "a deletion behind the store",
        Duration::from_secs(1),
        || async { store.find_with_user(live.id).await.unwrap().is_none() },
    )
    .await;
    assert!(hits(&store) > before + 1, "the cache answered meanwhile");
}

async fn user_with_second_session(store: &Database) -> (User, Session) {
    let email = Email::parse("cached@example.com").unwrap();
    let user = UserRepository::find_by_email(store, &email)
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now().trunc_subsecs(6);
    let session = Session {
        amr: auth_domain::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: now,
        last_used_at: now,
        expires_at: now + TimeDelta::days(1),
        revoked_at: None,
        client: ClientInfo::default(),
    };
    store.start(&session).await.unwrap();
    (user, session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_revocation_through_the_store_is_seen_at_once() {
    let db = TestDatabase::sqlite();
    let store = cached(&db);
    let (_, session) = user_with_session(&store).await;
    until("the poller follows", Duration::from_secs(10), || {
        store.session_cache_stats().unwrap().listening
    })
    .await;
    warm(&store, session.id).await;
    store.revoke(session.id, Utc::now()).await.unwrap();
    let (found, _) = store.find_with_user(session.id).await.unwrap().unwrap();
    assert!(found.revoked_at.is_some(), "no waiting for the poller");
}
