//! Helpers of the second-factor tests: an account with TOTP on, codes computed from the
//! enrolment secret as an authenticator app computes them.

use auth_domain::mfa::totp::{code_at_step, step_of, TotpSecret};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{call, login, post, Pair, PASSWORD};
use crate::support::{TestApp, SECRET};

/// An account with TOTP confirmed.
pub struct Enrolled {
    pub email: String,
    pub secret: TotpSecret,
    pub base32: String,
    /// The step of the code that confirmed TOTP (the next login must use a later one).
    pub confirmed_step: i64,
    pub recovery_codes: Vec<String>,
    /// The session that confirmed (it survives the confirmation).
    pub pair: Pair,
}

pub fn secret_of(base32: &str) -> TotpSecret {
    TotpSecret::new(
        data_encoding::BASE32_NOPAD
            .decode(base32.as_bytes())
            .expect("base32 secret"),
    )
}

pub fn current_step() -> i64 {
    step_of(chrono::Utc::now())
}

pub fn code(secret: &TotpSecret, step: i64) -> String {
    code_at_step(secret, step)
}

/// Registers `email` (password [`PASSWORD`]), enrols and confirms TOTP.
pub async fn enrolled(app: &TestApp, email: &str) -> Enrolled {
    crate::support::register(app, email).await;
    let pair = login(app, email, PASSWORD).await;
    enrol(app, email, PASSWORD, pair).await
}

/// Enrols and confirms TOTP for a logged-in account.
pub async fn enrol(app: &TestApp, email: &str, password: &str, pair: Pair) -> Enrolled {
    let response = post(
        app,
        "/users/me/mfa/totp",
        &pair.access,
        &json!({ "password": password }),
    )
    .await;
    assert_eq!(response.status(), 200, "enrolment");
    let body: Value = response.json().await.unwrap();
    let base32 = body["secret"].as_str().unwrap().to_owned();
    let secret = secret_of(&base32);
    let step = current_step();
    let response = post(
        app,
        "/users/me/mfa/totp/confirm",
        &pair.access,
        &json!({ "code": code(&secret, step) }),
    )
    .await;
    assert_eq!(response.status(), 200, "confirmation");
    let body: Value = response.json().await.unwrap();
    let recovery_codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        email: email.to_owned(),
        secret,
        base32,
        confirmed_step: step,
        recovery_codes,
        pair,
    }
}

/// `POST /login` that must answer `mfa_required`: the `mfa_token`.
pub async fn mfa_token(app: &TestApp, email: &str) -> String {
    let response = app.login(email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    body["mfa_token"].as_str().unwrap().to_owned()
}

pub async fn login_mfa(app: &TestApp, mfa_token: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/login/mfa",
        &json!({ "mfa_token": mfa_token, "code": code }),
    )
    .await
}

/// A DELETE with a JSON body.
pub async fn delete_with(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    call(app, Method::DELETE, path, token, Some(body)).await
}

/// The claims of a token signed with the test secret.
pub fn claims_of(token: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .expect("a token of the test server")
    .claims
}
