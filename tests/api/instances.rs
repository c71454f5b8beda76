//! Two server instances on one PostgreSQL database behave as one service: whatever one
//! instance issues, rotates or revokes, the other honours — within 1 s when the other answers
//! from its session cache (`SESSION_CACHE_SIZE`, on by default), which PostgreSQL
//! `LISTEN`/`NOTIFY` invalidates. (SQLite is single-instance: these tests run on PostgreSQL
//! only.)

use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use serde_json::{json, Value};

use crate::support::{assert_error, refused_within, Db, TestApp, ISSUER, SECRET};
use crate::support::{
    create_root, login, patch, post, register, PASSWORD, ROOT_EMAIL, ROOT_PASSWORD,
};

/// What the issue allows: a revocation is honoured by every instance within this.
const WITHIN: Duration = Duration::from_secs(1);

/// A second server on the database of a [`TestApp`]; stopped when dropped.
struct Instance {
    address: String,
    client: reqwest::Client,
    handle: ServerHandle,
}

impl Instance {
    async fn beside(first: &TestApp) -> Self {
        let app = TestApp::build(first.db.raw_url(), &[]).await;
        let address = format!("http://{}", app.address());
        let handle = app.handle();
        tokio::spawn(app.run());
        Self {
            address,
            client: reqwest::Client::new(),
            handle,
        }
    }

    async fn home(&self, access: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/", self.address))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    /// A sample of B's `/metrics`.
    async fn metric(&self, name: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.address))
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

    /// Makes `GET /` with `access` an answer from this instance's session cache: asks until
    /// the cache listens and has the session, then checks that further requests are hits.
    async fn warm(&self, access: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.metric("session_cache_listening").await != 1.0 {
            assert!(Instant::now() < deadline, "the session cache listens");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // (An invalidation arriving meanwhile — say, of the login's `last_login` — may keep
        // the first answer out of the cache: ask again.)
        loop {
            let hits = self.metric("session_cache_hits_total").await;
            for _ in 0..5 {
                assert_eq!(self.home(access).await.status(), 200);
            }
            if self.metric("session_cache_hits_total").await >= hits + 5.0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "GET / is answered from the session cache"
            );
        }
    }

    /// Asserts that `access` stops working on this instance within [`WITHIN`] of now.
    async fn refuses_within_a_second(&self, access: &str, what: &str) {
        let took = refused_within(&self.client, &self.address, access, WITHIN).await;
        assert!(took < WITHIN, "{what}: refused after {took:?}");
        assert_error(self.home(access).await, 401, "invalid_token").await;
    }

    async fn refresh(&self, refresh: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/refresh-access", self.address))
            .json(&serde_json::json!({ "refresh_token": refresh }))
            .send()
            .await
            .unwrap()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn pair(body: &Value) -> (String, String) {
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_one_instance_works_on_the_other() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = Instance::beside(&a).await;
    let (access, refresh) = a.seed_tokens().await;
    // What makes it work: both sign and verify with the shared key and issuer.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    let claims = jsonwebtoken::decode::<Value>(
        &access,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["token_type"], "access");

    let home = b.home(&access).await;
    assert_eq!(home.status(), 200);
    assert_eq!(
        home.json::<Value>().await.unwrap()["message"],
        "hello john@doe.com"
    );
    // A refresh token issued by A rotates on B, and B's new pair works on A.
    let rotated = b.refresh(&refresh).await;
    assert_eq!(rotated.status(), 200);
    let (access2, _) = pair(&rotated.json().await.unwrap());
    assert_eq!(a.get_with_token("/", &access2).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_rotated_on_one_instance_and_replayed_on_the_other_is_reuse() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = Instance::beside(&a).await;
    let (_, first_refresh) = a.seed_tokens().await;

    let rotated = a.refresh(&first_refresh).await;
    assert_eq!(rotated.status(), 200);
    let (new_access, new_refresh) = pair(&rotated.json().await.unwrap());

    // The spent token comes back on the other instance: refused, and the session is revoked.
    assert_error(b.refresh(&first_refresh).await, 401, "invalid_token").await;
    // Both descendants of that login now fail, on either instance.
    assert_error(a.refresh(&new_refresh).await, 401, "invalid_token").await;
    assert_error(b.refresh(&new_refresh).await, 401, "invalid_token").await;
    assert_error(b.home(&new_access).await, 401, "invalid_token").await;
    assert_error(
        a.get_with_token("/", &new_access).await,
        401,
        "invalid_token",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_is_honoured_by_the_other() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = Instance::beside(&a).await;
    let (access, refresh) = a.seed_tokens().await;
    assert_eq!(b.home(&access).await.status(), 200);

    let logout = a
        .client
        .post(a.url("/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);

    refused_within(&b.client, &b.address, &access, WITHIN).await;
    assert_error(b.home(&access).await, 401, "invalid_token").await;
    assert_error(b.refresh(&refresh).await, 401, "invalid_token").await;
}

// ---- The session cache: revocations made on A (or behind both) reach B's cache -------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_on_b_a_logout_on_a_is_refused_by_b_within_a_second() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = Instance::beside(&a).await;
    let (access, _) = a.seed_tokens().await;
    b.warm(&access).await;

    assert_eq!(a.logout(&access).await.status(), 204);

    b.refuses_within_a_second(&access, "logout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_on_b_a_password_change_on_a_is_refused_by_b_within_a_second() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = Instance::beside(&a).await;
    let (access, _) = a.seed_tokens().await;
    b.warm(&access).await;

    let changed = post(
        &a,
        "/users/me/password",
        &access,
        &json!({
            "current_password": "johnspassword1234@!",
            "new_password": "a whole new passphrase",
        }),
    )
    .await;
    assert_eq!(changed.status(), 200);

    b.refuses_within_a_second(&access, "password change").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_on_b_a_deactivation_by_an_admin_on_a_is_refused_by_b_within_a_second() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = Instance::beside(&a).await;
    create_root(&a).await;
    let root = login(&a, ROOT_EMAIL, ROOT_PASSWORD).await;
    let bob_id = register(&a, "bob@example.com").await;
    let bob = login(&a, "bob@example.com", PASSWORD).await;
    b.warm(&bob.access).await;

    let response = patch(
        &a,
        &format!("/users/{bob_id}"),
        &root.access,
        &json!({ "is_active": false }),
    )
    .await;
    assert_eq!(response.status(), 200);

    b.refuses_within_a_second(&bob.access, "deactivation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_on_both_a_deactivation_in_raw_sql_is_refused_within_a_second() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = Instance::beside(&a).await;
    let (access, _) = a.seed_tokens().await;
    b.warm(&access).await;
    assert_eq!(a.get_with_token("/", &access).await.status(), 200);

    // No server is involved: only the trigger's notification can tell them.
    assert_eq!(a.execute_sql("UPDATE users SET is_active = false"), 1);

    b.refuses_within_a_second(&access, "SQL deactivation").await;
    let took = refused_within(&a.client, &a.address, &access, WITHIN).await;
    assert!(took < WITHIN, "A: refused after {took:?}");
}
