//! Second factors end to end (issue "Two-factor authentication"): enrolment, confirmation,
//! the two-step login with real TOTP codes computed from the enrolment secret, replay,
//! recovery codes, disabling, renewing, the administrators' reset and REQUIRE_MFA_FOR_ADMINS.

use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_databases;
use crate::support::{assert_bearer_challenge, assert_error, Db, TestApp};
use crate::support::{
    call, create_root, get, json_of, login, post, register, Pair, PASSWORD, ROOT_EMAIL,
    ROOT_PASSWORD,
};
use crate::support::{
    claims_of, code, current_step, delete_with, enrol, enrolled, login_mfa, mfa_token,
};

fn no_store(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"))
}

async fn enrolment_needs_the_password_and_confirmation_ends_other_sessions(db: Db) {
    let app = TestApp::spawn(db).await;
    register(&app, "ann@example.com").await;
    let pair = login(&app, "ann@example.com", PASSWORD).await;
    let other = login(&app, "ann@example.com", PASSWORD).await;
    let status = json_of(get(&app, "/users/me/mfa", &pair.access).await, 200).await;
    assert_eq!(
        status,
        json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );

    // Re-authentication first: missing, wrong, and an empty body alike.
    for body in [json!({}), json!({"password": "wrong password"})] {
        let response = post(&app, "/users/me/mfa/totp", &pair.access, &body).await;
        assert_error(response, 403, "reauthentication_required").await;
    }
    let bare = call(&app, Method::POST, "/users/me/mfa/totp", &pair.access, None).await;
    assert_error(bare, 403, "reauthentication_required").await;

    let response = post(
        &app,
        "/users/me/mfa/totp",
        &pair.access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(no_store(&response), "the secret is not cached");
    let body: Value = response.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap();
    assert!(
        secret.len() >= 32
            && secret
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );
    assert_eq!(
        body["otpauth_uri"],
        format!("otpauth://totp/auth-server:ann@example.com?secret={secret}&issuer=auth-server&algorithm=SHA1&digits=6&period=30")
    );
    assert!(body["qr_svg"].as_str().unwrap().contains("<svg"));
    // Pending: not on yet.
    let me = json_of(get(&app, "/users/me", &pair.access).await, 200).await;
    assert_eq!(me["mfa_enabled"], false);

    let secret = crate::support::secret_of(secret);
    let wrong = post(
        &app,
        "/users/me/mfa/totp/confirm",
        &pair.access,
        &json!({"code": "000000"}),
    )
    .await;
    // (One in a million that 000000 is right; a second wrong code makes it one in 10^12.)
    let wrong = if wrong.status() == 200 {
        panic!("000000 happened to be the code")
    } else {
        wrong
    };
    assert_error(wrong, 422, "invalid_mfa_code").await;
    let response = post(
        &app,
        "/users/me/mfa/totp/confirm",
        &pair.access,
        &json!({"code": code(&secret, current_step())}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(no_store(&response));
    let codes = json_of(response, 200).await;
    let codes = codes["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);

    assert_eq!(
        get(&app, "/", &pair.access).await.status(),
        200,
        "this session stays"
    );
    assert_eq!(
        get(&app, "/", &other.access).await.status(),
        401,
        "other sessions end"
    );
    let me = json_of(get(&app, "/users/me", &pair.access).await, 200).await;
    assert_eq!(me["mfa_enabled"], true);
    let status = json_of(get(&app, "/users/me/mfa", &pair.access).await, 200).await;
    assert_eq!(
        status,
        json!({"totp": true, "recovery_codes_left": 10, "passkeys": 0})
    );

    let again = post(
        &app,
        "/users/me/mfa/totp",
        &pair.access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert_error(again, 409, "mfa_already_enabled").await;
    let confirm_again = post(
        &app,
        "/users/me/mfa/totp/confirm",
        &pair.access,
        &json!({"code": "123456"}),
    )
    .await;
    assert_error(confirm_again, 409, "mfa_already_enabled").await;
}

async fn login_asks_for_the_second_factor_and_refuses_replays(db: Db) {
    let app = TestApp::spawn_with(db, &[("LOGIN_MAX_FAILURES", "50")]).await;
    let ann = enrolled(&app, "ann@example.com").await;

    let response = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(no_store(&response));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mfa_required"], true);
    assert_eq!(body["mfa_methods"], json!(["totp", "recovery_code"]));
    assert_eq!(body["expires_in"], 300);
    assert!(body.get("access_token").is_none() && body.get("refresh_token").is_none());
    let token = body["mfa_token"].as_str().unwrap().to_owned();

    // The mfa_token is no access token, nor a refresh token.
    for path in ["/", "/users/me", "/users/me/mfa", "/sessions"] {
        let response = get(&app, path, &token).await;
        assert_eq!(response.status(), 401, "{path}");
        assert_bearer_challenge(&response, true);
    }
    assert_eq!(app.refresh(&token).await.status(), 401);

    // A wrong code: 401 invalid_mfa_code with the challenge.
    let wrong = login_mfa(&app, &token, &code(&ann.secret, ann.confirmed_step - 5)).await;
    assert_bearer_challenge(&wrong, false);
    assert_error(wrong, 401, "invalid_mfa_code").await;
    // The code that confirmed the enrolment was accepted once: never again.
    let replayed = login_mfa(&app, &token, &code(&ann.secret, ann.confirmed_step)).await;
    assert_error(replayed, 401, "invalid_mfa_code").await;

    let next = code(&ann.secret, ann.confirmed_step + 1);
    let response = login_mfa(&app, &token, &next).await;
    assert_eq!(response.status(), 200);
    assert!(no_store(&response));
    let pair = Pair::from(response).await;
    let claims = claims_of(&pair.access);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!((claims["iat"].as_i64().unwrap() - auth_time).abs() <= 1);
    assert_eq!(get(&app, "/", &pair.access).await.status(), 200);

    // A refresh keeps amr and auth_time.
    let refreshed = Pair::from(app.refresh(&pair.refresh).await).await;
    let claims = claims_of(&refreshed.access);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["auth_time"].as_i64(), Some(auth_time));

    // Spent: the same mfa_token never works again.
    let spent = login_mfa(&app, &token, &next).await;
    assert_bearer_challenge(&spent, false);
    assert_error(spent, 401, "invalid_token").await;
    // A fresh login cannot reuse the accepted code either.
    let token = mfa_token(&app, "ann@example.com").await;
    assert_error(
        login_mfa(&app, &token, &next).await,
        401,
        "invalid_mfa_code",
    )
    .await;

    // Recovery codes: each once (typed in upper case with spaces: still the code).
    let typed = ann.recovery_codes[0].to_uppercase().replace('-', " ");
    let pair = Pair::from(login_mfa(&app, &token, &typed).await).await;
    assert_eq!(claims_of(&pair.access)["amr"], json!(["pwd", "otp", "mfa"]));
    let token = mfa_token(&app, "ann@example.com").await;
    let used = login_mfa(&app, &token, &ann.recovery_codes[0]).await;
    assert_error(used, 401, "invalid_mfa_code").await;
    let status = json_of(get(&app, "/users/me/mfa", &pair.access).await, 200).await;
    assert_eq!(status["recovery_codes_left"], 9);

    // Malformed bodies are 422, whatever the token.
    for body in [
        json!({"mfa_token": token}),
        json!({"code": "123456"}),
        json!({"mfa_token": token, "code": 123456}),
        json!({"mfa_token": token, "code": "123456", "credential": {}}),
    ] {
        let response = app.post_json("/login/mfa", &body).await;
        assert_error(response, 422, "validation_failed").await;
    }
    // A password change kills pending logins.
    let response = post(
        &app,
        "/users/me/password",
        &pair.access,
        &json!({"current_password": PASSWORD, "new_password": "another password 42"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let dead = login_mfa(&app, &token, &ann.recovery_codes[1]).await;
    assert_error(dead, 401, "invalid_token").await;
}

async fn five_wrong_codes_kill_the_mfa_token(db: Db) {
    let app = TestApp::spawn_with(db, &[("LOGIN_MAX_FAILURES", "50")]).await;
    let ann = enrolled(&app, "ann@example.com").await;
    let token = mfa_token(&app, &ann.email).await;
    for _ in 0..5 {
        let wrong = login_mfa(&app, &token, "abcd-efgh-jkmn").await;
        assert_error(wrong, 401, "invalid_mfa_code").await;
    }
    let right = login_mfa(&app, &token, &ann.recovery_codes[0]).await;
    assert_error(right, 401, "invalid_token").await;
    // The code was not spent by the dead token.
    let token = mfa_token(&app, &ann.email).await;
    assert_eq!(
        login_mfa(&app, &token, &ann.recovery_codes[0])
            .await
            .status(),
        200
    );
}

async fn disable_and_renew_codes(db: Db) {
    let app = TestApp::spawn_with(db, &[("LOGIN_MAX_FAILURES", "50")]).await;
    let ann = enrolled(&app, "ann@example.com").await;
    let access = &ann.pair.access;

    let renewed = post(&app, "/users/me/mfa/recovery-codes", access, &json!({})).await;
    assert_error(renewed, 403, "reauthentication_required").await;
    let response = post(
        &app,
        "/users/me/mfa/recovery-codes",
        access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert!(no_store(&response));
    let fresh = json_of(response, 200).await;
    let fresh: Vec<String> = fresh["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let token = mfa_token(&app, &ann.email).await;
    assert_error(
        login_mfa(&app, &token, &ann.recovery_codes[0]).await,
        401,
        "invalid_mfa_code",
    )
    .await;
    assert_eq!(login_mfa(&app, &token, &fresh[0]).await.status(), 200);

    // Disabling: re-authentication before the code is even looked at.
    let no_password = delete_with(
        &app,
        "/users/me/mfa/totp",
        access,
        &json!({"code": fresh[1]}),
    )
    .await;
    assert_error(no_password, 403, "reauthentication_required").await;
    let bare = call(&app, Method::DELETE, "/users/me/mfa/totp", access, None).await;
    assert_error(bare, 403, "reauthentication_required").await;
    let wrong = delete_with(
        &app,
        "/users/me/mfa/totp",
        access,
        &json!({"password": PASSWORD, "code": "abcd-efgh-jkmn"}),
    )
    .await;
    assert_error(wrong, 422, "invalid_mfa_code").await;
    let response = delete_with(
        &app,
        "/users/me/mfa/totp",
        access,
        &json!({"password": PASSWORD, "code": fresh[1]}),
    )
    .await;
    assert_eq!(response.status(), 204);
    let status = json_of(get(&app, "/users/me/mfa", access).await, 200).await;
    assert_eq!(
        status,
        json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );
    let again = delete_with(
        &app,
        "/users/me/mfa/totp",
        access,
        &json!({"password": PASSWORD, "code": fresh[2]}),
    )
    .await;
    assert_error(again, 409, "mfa_not_enabled").await;
    let renew = post(
        &app,
        "/users/me/mfa/recovery-codes",
        access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert_error(renew, 409, "mfa_not_enabled").await;
    // A password alone logs in again.
    let pair = login(&app, &ann.email, PASSWORD).await;
    assert_eq!(claims_of(&pair.access)["amr"], json!(["pwd"]));
}

async fn administrators_reset_second_factors_and_may_be_required_to_have_one(db: Db) {
    let app = TestApp::spawn_with(
        db,
        &[
            ("REQUIRE_MFA_FOR_ADMINS", "true"),
            ("LOGIN_MAX_FAILURES", "50"),
        ],
    )
    .await;
    let root_id = create_root(&app).await;
    let ann = enrolled(&app, "ann@example.com").await;
    let bob_id = register(&app, "bob@example.com").await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;
    let ann_id = json_of(get(&app, "/users/me", &ann.pair.access).await, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A non-administrator is told 403 forbidden first.
    let response = call(
        &app,
        Method::DELETE,
        &format!("/users/{ann_id}/mfa"),
        &bob.access,
        None,
    )
    .await;
    assert_error(response, 403, "forbidden").await;
    // An administrator logged in with a password alone: mfa_required.
    let root = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    assert_error(get(&app, "/users", &root.access).await, 403, "mfa_required").await;
    let response = call(
        &app,
        Method::DELETE,
        &format!("/users/{ann_id}/mfa"),
        &root.access,
        None,
    )
    .await;
    assert_error(response, 403, "mfa_required").await;

    // With a second factor the administrator is let in.
    let root_mfa = enrol(&app, ROOT_EMAIL, ROOT_PASSWORD, root).await;
    assert_error(
        get(&app, "/users", &root_mfa.pair.access).await,
        403,
        "mfa_required",
    )
    .await;
    let token = mfa_token_with(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let root = Pair::from(login_mfa(&app, &token, &root_mfa.recovery_codes[0]).await).await;
    assert_eq!(get(&app, "/users", &root.access).await.status(), 200);

    let unknown = call(
        &app,
        Method::DELETE,
        &format!("/users/{}/mfa", uuid::Uuid::new_v4()),
        &root.access,
        None,
    )
    .await;
    assert_error(unknown, 404, "not_found").await;
    let response = call(
        &app,
        Method::DELETE,
        &format!("/users/{ann_id}/mfa"),
        &root.access,
        None,
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        get(&app, "/", &ann.pair.access).await.status(),
        401,
        "her sessions end"
    );
    let pair = login(&app, &ann.email, PASSWORD).await;
    assert_eq!(
        json_of(get(&app, "/users/me/mfa", &pair.access).await, 200).await["totp"],
        false
    );

    let audit = json_of(
        get(
            &app,
            &format!("/users/{ann_id}/audit?limit=100"),
            &root.access,
        )
        .await,
        200,
    )
    .await;
    let events: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for expected in ["mfa_enabled", "mfa_reset"] {
        assert!(events.contains(&expected), "{expected} in {events:?}");
    }
    let _ = (root_id, bob_id);
}

async fn mfa_token_with(app: &TestApp, email: &str, password: &str) -> String {
    let body = json_of(app.login(email, password).await, 200).await;
    assert_eq!(body["mfa_required"], true);
    body["mfa_token"].as_str().unwrap().to_owned()
}

on_both_databases!(
    enrolment_needs_the_password_and_confirmation_ends_other_sessions,
    login_asks_for_the_second_factor_and_refuses_replays,
    five_wrong_codes_kill_the_mfa_token,
    disable_and_renew_codes,
    administrators_reset_second_factors_and_may_be_required_to_have_one,
);

/// A dump of the SQLite file (and its write-ahead log) holds no TOTP secret in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_totp_secret_is_not_in_clear_in_the_sqlite_file() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let ann = enrolled(&app, "ann@example.com").await;
    let path = app
        .db
        .raw_url()
        .strip_prefix("sqlite://")
        .unwrap()
        .to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(wal);
    }
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(haystack.contains("ann@example.com"), "the dump is readable");
    assert!(!haystack.contains(&ann.base32), "base32 secret in the file");
    let raw = ann.secret.expose();
    assert!(
        !bytes.windows(raw.len()).any(|w| w == raw),
        "raw secret in the file"
    );
    for code in &ann.recovery_codes {
        assert!(!haystack.contains(code.as_str()) && !haystack.contains(&code.replace('-', "")));
    }
    // The key is beside the database, readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(format!("{path}.data-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
