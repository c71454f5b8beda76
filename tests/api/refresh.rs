//! `POST /refresh-access`: rotation, reuse detection, logout, races, configurable keys.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::forge;
use crate::support::{
    assert_bearer_challenge, assert_error, assert_no_echo, assert_token_refused, seed_user, Db,
    TestApp,
};

/// Expects the contract's refusal of a refresh token (sent in the body, so the challenge
/// carries no `error=` parameter).
async fn assert_refresh_refused(app: &TestApp, refresh_token: &str) {
    let response = app.refresh(refresh_token).await;
    assert_bearer_challenge(&response, false);
    assert_eq!(response.status(), 401);
    let text = response.text().await.unwrap();
    assert_no_echo(&text, refresh_token);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], "invalid_token", "body {body}");
    assert!(body["detail"].is_string());
}

/// A successful refresh: (access, refresh).
async fn refreshed(app: &TestApp, refresh_token: &str) -> (String, String) {
    let response = app.refresh(refresh_token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn assert_home_ok(app: &TestApp, access: &str) {
    let response = app.get_with_token("/", access).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "hello john@doe.com");
}

async fn rotation_returns_a_new_pair_that_works(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, refresh) = app.seed_tokens().await;

    let response = app.refresh(&refresh).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let new_access = body["access_token"].as_str().unwrap();
    let new_refresh = body["refresh_token"].as_str().unwrap();
    assert_ne!(new_access, access);
    assert_ne!(new_refresh, refresh);

    let (old, new) = (forge::decode(&refresh), forge::decode(new_refresh));
    assert_eq!(new.sid, old.sid, "rotation stays in the session");
    assert_eq!(new.sub, old.sub);
    assert_ne!(new.jti, old.jti);
    assert_eq!(new.token_type, "refresh");
    assert_eq!(forge::decode(new_access).token_type, "access");

    assert_home_ok(&app, new_access).await;
    // The new refresh token rotates in turn.
    let (third_access, _) = refreshed(&app, new_refresh).await;
    assert_home_ok(&app, &third_access).await;
}

async fn reused_refresh_token_revokes_the_whole_session(db: Db) {
    let app = TestApp::spawn(db).await;
    let (first_access, first_refresh) = app.seed_tokens().await;
    let (newest_access, newest_refresh) = refreshed(&app, &first_refresh).await;
    assert_home_ok(&app, &newest_access).await;

    // The spent token comes back: theft.
    assert_refresh_refused(&app, &first_refresh).await;
    // Everything descended from that login is dead, the newest tokens included.
    assert_refresh_refused(&app, &newest_refresh).await;
    let response = app.get_with_token("/", &newest_access).await;
    assert_token_refused(response, &newest_access).await;
    let response = app.get_with_token("/", &first_access).await;
    assert_token_refused(response, &first_access).await;
}

async fn reuse_in_one_session_leaves_other_sessions_alive(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, stolen) = app.seed_tokens().await;
    let (other_access, other_refresh) = app.login_pair("john@doe.com", "johnspassword1234@!").await;
    refreshed(&app, &stolen).await;
    assert_refresh_refused(&app, &stolen).await;
    assert_home_ok(&app, &other_access).await;
    refreshed(&app, &other_refresh).await;
}

async fn access_token_presented_as_refresh_token_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, _) = app.seed_tokens().await;
    assert_refresh_refused(&app, &access).await;
}

async fn garbage_refresh_token_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, refresh) = app.seed_tokens().await;
    let flipped = forge::flip_payload_char(&refresh);
    for garbage in ["garbage", "a.b.c", flipped.as_str()] {
        assert_refresh_refused(&app, garbage).await;
    }
    // A forged refresh token without a valid signature is refused too.
    let mut claims = forge::decode(&refresh);
    claims.exp += 60;
    assert_refresh_refused(&app, &forge::unsigned(&claims)).await;
}

async fn missing_refresh_token_key_is_validation_failed(db: Db) {
    let app = TestApp::spawn(db).await;
    for body in [json!({}), json!({ "token": "abc" })] {
        let response = app.post_json("/refresh-access", &body).await;
        let body = assert_error(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "refresh_token", "body {body}");
    }
}

async fn logout_ends_only_the_callers_session(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, refresh) = app.seed_tokens().await;
    let (other_access, other_refresh) = app.login_pair("john@doe.com", "johnspassword1234@!").await;
    assert_ne!(
        forge::decode(&access).sid,
        forge::decode(&other_access).sid,
        "each login opens a session"
    );

    let response = app.logout(&access).await;
    assert_eq!(response.status(), 204);

    let response = app.get_with_token("/", &access).await;
    assert_token_refused(response, &access).await;
    assert_refresh_refused(&app, &refresh).await;

    assert_home_ok(&app, &other_access).await;
    let (newest_access, _) = refreshed(&app, &other_refresh).await;
    assert_home_ok(&app, &newest_access).await;
}

async fn concurrent_refreshes_with_one_token_let_at_most_one_win(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, refresh) = app.seed_tokens().await;

    let responses = join_all((0..5).map(|_| app.refresh(&refresh))).await;
    let mut winners = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            200 => {
                let body: Value = response.json().await.unwrap();
                winners.push((
                    body["access_token"].as_str().unwrap().to_owned(),
                    body["refresh_token"].as_str().unwrap().to_owned(),
                ));
            }
            401 => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "invalid_token");
            }
            other => panic!("concurrent refresh answered {other}"),
        }
    }
    assert!(winners.len() <= 1, "{} refreshes succeeded", winners.len());
    // The losers count as reuse: the session is gone, the winner's tokens with it.
    for (access, new_refresh) in &winners {
        assert_refresh_refused(&app, new_refresh).await;
        let response = app.get_with_token("/", access).await;
        assert_token_refused(response, access).await;
    }
    assert_refresh_refused(&app, &refresh).await;
}

async fn token_key_names_follow_the_configuration(db: Db) {
    let app = TestApp::spawn_with(
        db,
        &[
            ("ACCESS_TOKEN_NAME", "token"),
            ("REFRESH_TOKEN_NAME", "refresh"),
        ],
    )
    .await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    let response = app.login("john@doe.com", "johnspassword1234@!").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("access_token").is_none(), "body {body}");
    assert!(body.get("refresh_token").is_none(), "body {body}");
    let access = body["token"].as_str().unwrap();
    let refresh = body["refresh"].as_str().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_home_ok(&app, access).await;

    // The default key is not read any more.
    let response = app
        .post_json("/refresh-access", &json!({ "refresh_token": refresh }))
        .await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert_eq!(error["errors"][0]["field"], "refresh", "body {error}");

    let response = app
        .post_json("/refresh-access", &json!({ "refresh": refresh }))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("access_token").is_none(), "body {body}");
    assert!(body["refresh"].is_string(), "body {body}");
    assert_home_ok(&app, body["token"].as_str().unwrap()).await;
}

crate::on_both_databases!(
    rotation_returns_a_new_pair_that_works,
    reused_refresh_token_revokes_the_whole_session,
    reuse_in_one_session_leaves_other_sessions_alive,
    access_token_presented_as_refresh_token_is_refused,
    garbage_refresh_token_is_refused,
    missing_refresh_token_key_is_validation_failed,
    logout_ends_only_the_callers_session,
    concurrent_refreshes_with_one_token_let_at_most_one_win,
    token_key_names_follow_the_configuration,
);
