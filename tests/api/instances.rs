//! Two server instances on one PostgreSQL database behave as one service: whatever one
//! instance issues, rotates or revokes, the other honours at once. (SQLite is
//! single-instance: these tests run on PostgreSQL only.)

use actix_web::dev::ServerHandle;
use serde_json::Value;

use crate::helpers::{assert_error, Db, TestApp, ISSUER, SECRET};

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

    assert_error(b.home(&access).await, 401, "invalid_token").await;
    assert_error(b.refresh(&refresh).await, 401, "invalid_token").await;
}
