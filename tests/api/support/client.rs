//! What the account-lifecycle tests share: authenticated requests, accounts, the server's
//! configuration for the command-line entry points.

use std::collections::HashMap;

use auth_server::Config;
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::support::{TestApp, SECRET};

pub const ROOT_EMAIL: &str = "root@example.com";
pub const ROOT_PASSWORD: &str = "root password 123";
pub const PASSWORD: &str = "securepass123";

/// A token pair as /login answers it.
#[derive(Debug, Clone)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

impl Pair {
    pub async fn from(response: Response) -> Self {
        assert_eq!(response.status(), 200, "a token pair is answered");
        let body: Value = response.json().await.unwrap();
        Self {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }
}

/// A request with a bearer token and, when given, a JSON body.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("request sent")
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> Response {
    call(app, Method::GET, path, token, None).await
}

pub async fn patch(app: &TestApp, path: &str, token: &str, body: &Value) -> Response {
    call(app, Method::PATCH, path, token, Some(body)).await
}

pub async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> Response {
    call(app, Method::POST, path, token, Some(body)).await
}

pub async fn delete(app: &TestApp, path: &str, token: &str) -> Response {
    call(app, Method::DELETE, path, token, None).await
}

/// Registers `email` with [`PASSWORD`] and returns the new user's id.
pub async fn register(app: &TestApp, email: &str) -> String {
    let response = app
        .register(&json!({ "email": email, "password": PASSWORD }))
        .await;
    assert_eq!(response.status(), 201);
    let user: Value = response.json().await.unwrap();
    user["id"].as_str().unwrap().to_owned()
}

/// Logs in with a given user agent.
pub async fn login_as(app: &TestApp, email: &str, password: &str, agent: &str) -> Pair {
    let response = app
        .client
        .post(app.url("/login"))
        .header("user-agent", agent)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    Pair::from(response).await
}

pub async fn login(app: &TestApp, email: &str, password: &str) -> Pair {
    login_as(app, email, password, "tests/1.0").await
}

/// The status of `GET /users/me` with `token`.
pub async fn me_status(app: &TestApp, token: &str) -> u16 {
    get(app, "/users/me", token).await.status().as_u16()
}

/// The status of `/refresh-access` with `token`.
pub async fn refresh_status(app: &TestApp, token: &str) -> u16 {
    app.refresh(token).await.status().as_u16()
}

/// The configuration the test server runs with, for the library's command-line functions.
pub fn config_of(app: &TestApp) -> Config {
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", app.db.raw_url().to_owned()),
        ("JWT_SECRET", SECRET.to_owned()),
        ("DATA_ENCRYPTION_KEY", crate::support::DATA_KEY.to_owned()),
        ("BCRYPT_COST", "4".to_owned()),
    ]);
    Config::from_lookup(|name| env.get(name).cloned()).unwrap()
}

/// `auth-server create-superuser` through the library; returns the user's id.
pub async fn create_root(app: &TestApp) -> String {
    let user = auth_server::create_superuser(&config_of(app), ROOT_EMAIL, None, ROOT_PASSWORD)
        .await
        .unwrap();
    user.id.to_string()
}

/// The JSON body of a response with the expected status.
pub async fn json_of(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    response.json().await.unwrap()
}
