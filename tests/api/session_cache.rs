//! The session cache on the default database, SQLite (`SESSION_CACHE_SIZE`, on by default):
//! `GET /` answered from memory, a write through the server refused at once, a write behind
//! its back (another connection to the file, as the CLI or SQL by hand) within 1 s. The
//! second process proper is in `cli.rs` (two `auth-server serve` on one file).

use std::time::{Duration, Instant};

use crate::support::{assert_error, refused_within, Db, TestApp};

async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// Asks `GET /` until further requests are cache hits.
async fn warm(app: &TestApp, access: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hits = metric(app, "session_cache_hits_total").await;
        for _ in 0..5 {
            assert_eq!(app.get_with_token("/", access).await.status(), 200);
        }
        if metric(app, "session_cache_hits_total").await >= hits + 5.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GET / is answered from the cache"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_logout_through_the_server_is_refused_at_once() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (access, _) = app.seed_tokens().await;
    warm(&app, &access).await;

    assert_eq!(app.logout(&access).await.status(), 204);

    assert_error(app.get_with_token("/", &access).await, 401, "invalid_token").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_deactivation_behind_the_servers_back_is_refused_within_a_second() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (access, _) = app.seed_tokens().await;
    warm(&app, &access).await;

    assert_eq!(app.execute_sql("UPDATE users SET is_active = false"), 1);

    let took = refused_within(&app.client, &app.address, &access, Duration::from_secs(1)).await;
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_session_deleted_by_hand_is_refused_within_a_second() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (access, _) = app.seed_tokens().await;
    warm(&app, &access).await;

    assert_eq!(app.execute_sql("DELETE FROM sessions"), 1);

    refused_within(&app.client, &app.address, &access, Duration::from_secs(1)).await;
}
