//! The production topology's settings, end to end on PostgreSQL: a multi-host `DATABASE_URL`
//! (libpq skips a host that refuses and takes the one that accepts writes), and a separate
//! `DATABASE_LISTEN_URL` for the session cache's listener. The full topology — PgBouncer, a
//! standby, a failover under load — is `make topology-test` (examples/topology).

use std::time::{Duration, Instant};

use auth_infra::testing::TestDatabase;
use serde_json::json;

use crate::support::TestApp;

/// `scheme://[user@]host:port/rest` → the same with a dead host first, in libpq's multi-host
/// syntax, and `target_session_attrs=read-write`.
fn with_dead_host_first(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((user, hosts)) => (format!("{user}@"), hosts),
        None => (String::new(), authority),
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    // Port 1 on loopback refuses at once.
    format!(
        "{scheme}://{userinfo}127.0.0.1:1,{hosts}/{path}{separator}\
         target_session_attrs=read-write&connect_timeout=2"
    )
}

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

async fn listening_within(app: &TestApp, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if metric(app, "session_cache_listening").await == 1.0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_multi_host_database_url_serves_through_the_host_that_answers() {
    let db = TestDatabase::postgres();
    let url = with_dead_host_first(db.raw_url());
    let app = TestApp::spawn_on(db, &[("DATABASE_URL", &url)]).await;
    let body = json!({"email": "multi@example.com", "password": "multi-host-password-1"});
    assert_eq!(app.register(&body).await.status(), 201);
    let tokens: serde_json::Value = app
        .login("multi@example.com", "multi-host-password-1")
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.get_with_token("/", access).await.status(), 200);
    assert_eq!(
        app.client
            .get(app.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The listener (DATABASE_LISTEN_URL defaults to DATABASE_URL) follows the same URL.
    assert!(listening_within(&app, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn the_listener_connects_where_database_listen_url_says() {
    let db = TestDatabase::postgres();
    // A listener on another database receives none of this database's notifications — the
    // same silence as a LISTEN through a transaction pooler. Its heartbeat, sent through
    // DATABASE_URL, never comes back: the cache stays bypassed, and a logout is honoured.
    let elsewhere = TestDatabase::postgres();
    let app = TestApp::spawn_on(db, &[("DATABASE_LISTEN_URL", elsewhere.raw_url())]).await;
    assert!(
        !listening_within(&app, Duration::from_secs(2)).await,
        "a listener that hears nothing must not count as listening"
    );
    let body = json!({"email": "deaf@example.com", "password": "deaf-listener-password-1"});
    assert_eq!(app.register(&body).await.status(), 201);
    let tokens: serde_json::Value = app
        .login("deaf@example.com", "deaf-listener-password-1")
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.get_with_token("/", access).await.status(), 200);
    // Revoked behind the server's back (SQL): refused at once, since nothing is cached.
    app.execute_sql("UPDATE sessions SET revoked_at = now()");
    assert_eq!(app.get_with_token("/", access).await.status(), 401);
    assert_eq!(metric(&app, "session_cache_hits_total").await, 0.0);
}
