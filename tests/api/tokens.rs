//! Every 401 of `GET /` in the contract, and the one forged token that must pass.

use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::Value;
use uuid::Uuid;

use crate::forge::{self, Claims};
use crate::support::{
    assert_bearer_challenge, assert_error, assert_token_refused, refused_within, Db, TestApp,
    SECRET,
};

/// A server with the seed user logged in: (app, access, refresh).
async fn logged_in(db: Db) -> (TestApp, String, String) {
    let app = TestApp::spawn(db).await;
    let (access, refresh) = app.seed_tokens().await;
    (app, access, refresh)
}

/// Presents `token` as a bearer token to `GET /` and expects the contract's refusal.
async fn assert_refused_on_home(app: &TestApp, token: &str) {
    let response = app.get_with_token("/", token).await;
    assert_token_refused(response, token).await;
}

async fn get_home_with_authorization(app: &TestApp, value: &str) -> reqwest::Response {
    app.client
        .get(app.url("/"))
        .header("Authorization", value)
        .send()
        .await
        .unwrap()
}

/// The control: a token forged with the right key, algorithm and claims is accepted, so
/// each refusal below is due to the one thing it changes.
async fn forged_token_with_the_right_key_is_accepted(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let forged = forge::sign(&Claims::access_like(&access));
    assert_ne!(forged, access);
    let response = app.get_with_token("/", &forged).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "hello john@doe.com");
}

async fn no_header_is_not_authenticated(db: Db) {
    let (app, _, _) = logged_in(db).await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_bearer_challenge(&response, false);
    assert_error(response, 401, "not_authenticated").await;
}

async fn wrong_scheme_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    for value in ["Basic xxx".to_owned(), format!("Token {access}")] {
        let response = get_home_with_authorization(&app, &value).await;
        assert_token_refused(response, &access).await;
    }
}

async fn scheme_is_matched_case_insensitively(db: Db) {
    let (app, access, _) = logged_in(db).await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let response = get_home_with_authorization(&app, &format!("{scheme} {access}")).await;
        assert_eq!(response.status(), 200, "scheme {scheme}");
    }
}

async fn malformed_token_is_invalid_token(db: Db) {
    let (app, _, _) = logged_in(db).await;
    for token in ["abc", "a.b.c", "not a jwt at all"] {
        assert_refused_on_home(&app, token).await;
    }
}

async fn tampered_payload_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    // One character changed in the payload segment.
    let flipped = forge::flip_payload_char(&access);
    assert_ne!(flipped, access);
    assert_refused_on_home(&app, &flipped).await;
    // A well-formed payload with other claims under the original signature.
    let mut claims = forge::decode(&access);
    claims.exp += 3_600;
    let extended = forge::with_payload(&access, &claims);
    assert_refused_on_home(&app, &extended).await;
}

async fn token_signed_with_another_key_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let claims = Claims::access_like(&access);
    let other_key = "another-secret-0123456789-abcdefghijklmnop";
    assert_ne!(other_key, SECRET);
    let token = forge::sign_with(&claims, Algorithm::HS256, other_key.as_bytes());
    assert_refused_on_home(&app, &token).await;
}

async fn alg_none_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let token = forge::unsigned(&Claims::access_like(&access));
    assert_refused_on_home(&app, &token).await;
}

async fn other_algorithm_with_the_right_secret_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let claims = Claims::access_like(&access);
    for algorithm in [Algorithm::HS512, Algorithm::HS384] {
        let token = forge::sign_with(&claims, algorithm, SECRET.as_bytes());
        assert_refused_on_home(&app, &token).await;
    }
}

async fn expired_token_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let mut claims = Claims::access_like(&access);
    claims.iat -= 1_000;
    claims.nbf -= 1_000;
    claims.exp = forge::now() - 10;
    assert_refused_on_home(&app, &forge::sign(&claims)).await;
}

async fn token_not_yet_valid_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let mut claims = Claims::access_like(&access);
    claims.nbf = forge::now() + 300;
    claims.exp = forge::now() + 1_200;
    assert_refused_on_home(&app, &forge::sign(&claims)).await;
}

async fn wrong_issuer_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let mut claims = Claims::access_like(&access);
    claims.iss = "someone-else".into();
    assert_refused_on_home(&app, &forge::sign(&claims)).await;
}

async fn refresh_token_is_not_an_access_token(db: Db) {
    let (app, access, refresh) = logged_in(db).await;
    assert_refused_on_home(&app, &refresh).await;
    // The same, forged: a fresh refresh-typed token of the live session.
    let mut claims = Claims::access_like(&access);
    claims.token_type = "refresh".into();
    assert_refused_on_home(&app, &forge::sign(&claims)).await;
}

async fn access_token_after_logout_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    assert_eq!(app.get_with_token("/", &access).await.status(), 200);
    assert_eq!(app.logout(&access).await.status(), 204);
    assert_refused_on_home(&app, &access).await;
    // A token forged for the logged-out session is refused as well.
    assert_refused_on_home(&app, &forge::sign(&Claims::access_like(&access))).await;
}

async fn token_of_an_unknown_session_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let mut claims = Claims::access_like(&access);
    claims.sid = Uuid::new_v4().to_string();
    assert_refused_on_home(&app, &forge::sign(&claims)).await;
}

async fn token_of_another_user_in_a_real_session_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    let mut claims = Claims::access_like(&access);
    claims.sub = Uuid::new_v4().to_string();
    assert_refused_on_home(&app, &forge::sign(&claims)).await;
}

async fn token_of_a_user_that_does_not_exist_is_invalid_token(db: Db) {
    let (app, _, _) = logged_in(db).await;
    let claims = Claims::access(&Uuid::new_v4().to_string(), &Uuid::new_v4().to_string());
    assert_refused_on_home(&app, &forge::sign(&claims)).await;
}

async fn token_of_a_deleted_user_is_invalid_token(db: Db) {
    let (app, access, _) = logged_in(db).await;
    assert_eq!(app.get_with_token("/", &access).await.status(), 200);
    app.execute_sql("DELETE FROM sessions");
    assert_eq!(app.execute_sql("DELETE FROM users"), 1);
    // Behind the server's back: PostgreSQL's session cache hears of it within milliseconds.
    refused_within(&app.client, &app.address, &access, Duration::from_secs(1)).await;
    assert_refused_on_home(&app, &access).await;
}

async fn token_of_a_deactivated_user_is_invalid_token(db: Db) {
    let (app, access, refresh) = logged_in(db).await;
    assert_eq!(app.get_with_token("/", &access).await.status(), 200);
    assert_eq!(app.execute_sql("UPDATE users SET is_active = false"), 1);
    refused_within(&app.client, &app.address, &access, Duration::from_secs(1)).await;
    assert_refused_on_home(&app, &access).await;
    let response = app.refresh(&refresh).await;
    assert_bearer_challenge(&response, false);
    assert_error(response, 401, "invalid_token").await;
}

crate::on_both_databases!(
    forged_token_with_the_right_key_is_accepted,
    no_header_is_not_authenticated,
    wrong_scheme_is_invalid_token,
    scheme_is_matched_case_insensitively,
    malformed_token_is_invalid_token,
    tampered_payload_is_invalid_token,
    token_signed_with_another_key_is_invalid_token,
    alg_none_is_invalid_token,
    other_algorithm_with_the_right_secret_is_invalid_token,
    expired_token_is_invalid_token,
    token_not_yet_valid_is_invalid_token,
    wrong_issuer_is_invalid_token,
    refresh_token_is_not_an_access_token,
    access_token_after_logout_is_invalid_token,
    token_of_an_unknown_session_is_invalid_token,
    token_of_another_user_in_a_real_session_is_invalid_token,
    token_of_a_user_that_does_not_exist_is_invalid_token,
    token_of_a_deleted_user_is_invalid_token,
    token_of_a_deactivated_user_is_invalid_token,
);
