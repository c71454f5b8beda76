//! Spawning the real server for a test, and talking to it.

mod client;
mod mfa;
mod oauth;
mod passkeys;

pub use client::*;
pub use mfa::*;
pub use oauth::*;
pub use passkeys::*;

use std::collections::HashMap;

use auth_infra::testing::TestDatabase;
use auth_server::{Application, Config};
use reqwest::{Client, Response};
use serde_json::{json, Value};

/// The signing key every test server uses, so tests can forge tokens with it.
pub const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";
/// The data-encryption key of PostgreSQL test servers (required there; SQLite test servers
/// generate their key file beside the database, as a fresh install does).
pub const DATA_KEY: &str = "dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5LWFiY2RlZmc=";
#[allow(dead_code)] // for tests that forge tokens (none in this module set yet)
pub const ISSUER: &str = "auth-server";

/// The seed page's user.
pub fn seed_user() -> Value {
    json!({
        "first_name": "John",
        "last_name": "Doe",
        "email": "john@doe.com",
        "username": "john.doe",
        "password": "johnspassword1234@!",
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A running server with its own database. Dropping it stops the server and removes the
/// database.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    handle: actix_web::dev::ServerHandle,
    // Dropped after the server is stopped (field order).
    pub db: TestDatabase,
}

impl TestApp {
    pub async fn spawn(db: Db) -> Self {
        Self::spawn_with(db, &[]).await
    }

    /// Spawns with extra environment variables (`("ACCESS_TOKEN_TTL", "2s")`, …).
    pub async fn spawn_with(db: Db, overrides: &[(&str, &str)]) -> Self {
        let database = match db {
            Db::Sqlite => TestDatabase::sqlite(),
            Db::Postgres => TestDatabase::postgres(),
        };
        Self::spawn_on(database, overrides).await
    }

    /// Spawns a server on an existing database (e.g. a second instance on the same one).
    pub async fn spawn_on(database: TestDatabase, overrides: &[(&str, &str)]) -> Self {
        let app = Self::build(database.raw_url(), overrides).await;
        let address = format!("http://{}", app.address());
        let handle = app.handle();
        tokio::spawn(app.run());
        Self {
            address,
            client: Client::new(),
            handle,
            db: database,
        }
    }

    pub async fn build(database_url: &str, overrides: &[(&str, &str)]) -> Application {
        let mut env: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url.to_owned()),
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), "0".into()),
            ("JWT_SECRET".into(), SECRET.into()),
            ("BCRYPT_COST".into(), "4".into()),
            ("DATABASE_POOL_SIZE".into(), "4".into()),
            ("WORKERS".into(), "2".into()),
        ]);
        if database_url.starts_with("postgres") {
            env.insert("DATA_ENCRYPTION_KEY".into(), DATA_KEY.into());
        }
        for (name, value) in overrides {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("test config");
        Application::build(config).await.expect("server starts")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn register(&self, body: &Value) -> Response {
        self.post_json("/create", body).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json("/login", &json!({ "email": email, "password": password }))
            .await
    }

    /// Registers the seed user and logs in: (access, refresh).
    pub async fn seed_tokens(&self) -> (String, String) {
        let user = seed_user();
        assert_eq!(self.register(&user).await.status(), 201);
        let body: Value = self
            .login("john@doe.com", "johnspassword1234@!")
            .await
            .json()
            .await
            .expect("token body");
        (
            body["access_token"].as_str().expect("access").to_owned(),
            body["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    /// Logs in and returns (access, refresh); panics unless the login succeeds.
    pub async fn login_pair(&self, email: &str, password: &str) -> (String, String) {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), 200, "login of {email}");
        let body: Value = response.json().await.expect("token body");
        (
            body["access_token"].as_str().expect("access").to_owned(),
            body["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    pub async fn logout(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/logout"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    /// Runs one SQL statement on the server's database, behind its back.
    pub fn execute_sql(&self, sql: &str) -> usize {
        use diesel::{Connection, RunQueryDsl};
        let url = self.db.raw_url();
        match url.strip_prefix("sqlite://") {
            Some(path) => {
                let mut conn = diesel::sqlite::SqliteConnection::establish(path).expect("SQLite");
                diesel::sql_query(sql).execute(&mut conn).expect("SQL runs")
            }
            None => {
                let mut conn = diesel::pg::PgConnection::establish(url).expect("PostgreSQL");
                diesel::sql_query(sql).execute(&mut conn).expect("SQL runs")
            }
        }
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/refresh-access",
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting at once; the database guard then removes the database.
        drop(self.handle.stop(false));
    }
}

/// Polls `GET {base}/` with `token` until it is refused (401), and returns how long that
/// took. With PostgreSQL each instance may answer from its session cache until the change's
/// notification reaches it (milliseconds; at most 1 s by contract): a revocation made behind
/// the server's back is awaited this way, never assumed instant. Panics after `limit`.
pub async fn refused_within(
    client: &Client,
    base: &str,
    token: &str,
    limit: std::time::Duration,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let status = client
            .get(format!("{base}/"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
            .status();
        if status == 401 {
            return start.elapsed();
        }
        assert_eq!(status, 200, "GET / answers 200 until the token is refused");
        assert!(
            start.elapsed() < limit,
            "the token is still accepted {limit:?} after its revocation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Asserts the contract's error shape and returns the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status for expected {code}"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["code"], code, "body {body}");
    assert!(body["detail"].is_string(), "detail in {body}");
    body
}

/// The `WWW-Authenticate` header of a response, if any.
pub fn challenge(response: &Response) -> Option<String> {
    response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// Asserts a 401 challenge of the Bearer scheme; `error="invalid_token"` present exactly
/// when `token_presented` (RFC 6750 §3).
pub fn assert_bearer_challenge(response: &Response, token_presented: bool) {
    let value = challenge(response).expect("every 401 carries WWW-Authenticate");
    let scheme = value.split_whitespace().next().unwrap_or_default();
    assert!(
        scheme.eq_ignore_ascii_case("Bearer"),
        "WWW-Authenticate {value:?}"
    );
    assert_eq!(
        value.contains("error=\"invalid_token\""),
        token_presented,
        "WWW-Authenticate {value:?}"
    );
}

/// Asserts that a token presented in the `Authorization` header was refused by the contract:
/// 401 `invalid_token`, `WWW-Authenticate: Bearer error="invalid_token"`, and a body that does
/// not echo the token (nor any sizeable part of it).
pub async fn assert_token_refused(response: Response, presented: &str) -> Value {
    assert_bearer_challenge(&response, true);
    let text_status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let text = response.text().await.expect("body");
    assert_eq!(text_status, 401, "body {text}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_no_echo(&text, presented);
    let body: Value = serde_json::from_str(&text).expect("JSON error body");
    assert_eq!(body["code"], "invalid_token", "body {body}");
    assert!(body["detail"].is_string(), "detail in {body}");
    body
}

/// Asserts `text` contains neither `secret` nor any of its dot-separated parts longer than
/// 8 characters.
pub fn assert_no_echo(text: &str, secret: &str) {
    assert!(!text.contains(secret), "echoed {secret:?} in {text}");
    for part in secret.split('.').filter(|part| part.len() > 8) {
        assert!(!text.contains(part), "echoed part {part:?} in {text}");
    }
}

/// Runs each listed `async fn name(db: Db)` as one test per backend.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Postgres).await
                }
            )*
        }
    };
}
