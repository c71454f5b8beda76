//! `PATCH /users/me` and `POST /users/me/password`.

use serde_json::{json, Value};

use crate::support::{assert_error, seed_user, Db, TestApp, ISSUER, SECRET};
use crate::support::{
    get, json_of, login, login_as, me_status, patch, post, refresh_status, register, Pair, PASSWORD,
};

const SEED_EMAIL: &str = "john@doe.com";
const SEED_PASSWORD: &str = "johnspassword1234@!";
const NEW_PASSWORD: &str = "a whole new passphrase";

/// The verified claims of a token the test server issued.
fn claims(token: &str) -> Value {
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

async fn profile_update_changes_given_fields_and_ignores_privileged_ones(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, _) = app.seed_tokens().await;

    let response = patch(
        &app,
        "/users/me",
        &access,
        &json!({
            "first_name": "  Jane ",
            "last_name": null,
            "date_of_birth": "1990-02-03",
            "email": "evil@example.com",
            "role": "admin",
            "is_active": false,
            "is_verified": true,
            "is_staff": true,
            "is_superuser": true,
            "password": "hijacked-password",
            "id": "00000000-0000-0000-0000-000000000000",
        }),
    )
    .await;

    let user = json_of(response, 200).await;
    assert_eq!(user["first_name"], "Jane");
    assert_eq!(user["last_name"], Value::Null, "null clears");
    assert_eq!(user["username"], "john.doe", "absent: unchanged");
    assert_eq!(user["date_of_birth"], "1990-02-03");
    assert_eq!(user["email"], SEED_EMAIL);
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["is_staff"], false);
    assert_eq!(user["is_superuser"], false);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let me = json_of(get(&app, "/users/me", &access).await, 200).await;
    assert_eq!(me, user);
    // The password was not changed either.
    login(&app, SEED_EMAIL, SEED_PASSWORD).await;

    // A blank value clears too; an empty object changes nothing.
    let cleared = json_of(
        patch(&app, "/users/me", &access, &json!({ "username": "  " })).await,
        200,
    )
    .await;
    assert_eq!(cleared["username"], Value::Null);
    let same = json_of(patch(&app, "/users/me", &access, &json!({})).await, 200).await;
    assert_eq!(same, cleared);
}

async fn profile_update_validates_like_registration(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, _) = app.seed_tokens().await;

    let response = patch(
        &app,
        "/users/me",
        &access,
        &json!({
            "username": "has space",
            "first_name": 5,
            "last_name": "x".repeat(151),
            "date_of_birth": "2999-01-01",
        }),
    )
    .await;

    let body = assert_error(response, 422, "validation_failed").await;
    let mut fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["date_of_birth", "first_name", "last_name", "username"]
    );
    let me = json_of(get(&app, "/users/me", &access).await, 200).await;
    assert_eq!(me["username"], "john.doe", "nothing written");

    assert_error(
        patch(&app, "/users/me", &access, &json!(["first_name"])).await,
        422,
        "validation_failed",
    )
    .await;
    let not_json = app
        .client
        .patch(app.url("/users/me"))
        .bearer_auth(&access)
        .header("content-type", "application/json")
        .body("{\"first_name\": ")
        .send()
        .await
        .unwrap();
    assert_error(not_json, 400, "malformed_body").await;
    let anonymous = app
        .client
        .patch(app.url("/users/me"))
        .json(&json!({ "first_name": "Jane" }))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, 401, "not_authenticated").await;
}

async fn profile_update_refuses_a_username_taken_in_any_case(db: Db) {
    let app = TestApp::spawn(db).await;
    app.register(&seed_user()).await;
    register(&app, "bob@example.com").await;
    let bob = login(&app, "bob@example.com", PASSWORD).await;

    let response = patch(
        &app,
        "/users/me",
        &bob.access,
        &json!({ "username": "JOHN.DOE" }),
    )
    .await;
    assert_error(response, 409, "username_taken").await;

    let john = login(&app, SEED_EMAIL, SEED_PASSWORD).await;
    let renamed = json_of(
        patch(
            &app,
            "/users/me",
            &john.access,
            &json!({ "username": "John.Doe" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        renamed["username"], "John.Doe",
        "one's own name in another case"
    );
}

async fn password_change_ends_every_session_and_answers_a_working_fresh_pair(db: Db) {
    let app = TestApp::spawn(db).await;
    app.register(&seed_user()).await;
    let laptop = login_as(&app, SEED_EMAIL, SEED_PASSWORD, "laptop").await;
    let phone = login_as(&app, SEED_EMAIL, SEED_PASSWORD, "phone").await;
    // An access token issued in the very second of the change, by a refresh.
    let rotated = Pair::from(app.refresh(&laptop.refresh).await).await;

    let response = post(
        &app,
        "/users/me/password",
        &rotated.access,
        &json!({ "current_password": SEED_PASSWORD, "new_password": NEW_PASSWORD }),
    )
    .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let fresh = Pair {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    };

    // The pair belongs to a new session: the design that makes every earlier token die.
    let sid = claims(&fresh.access)["sid"].clone();
    assert!(sid.is_string());
    assert_eq!(claims(&fresh.refresh)["sid"], sid);
    for old in [&laptop.access, &phone.access] {
        assert_ne!(claims(old)["sid"], sid);
    }

    for old_access in [&laptop.access, &rotated.access, &phone.access] {
        assert_eq!(
            me_status(&app, old_access).await,
            401,
            "earlier access token"
        );
    }
    for old_refresh in [&rotated.refresh, &phone.refresh] {
        assert_eq!(
            refresh_status(&app, old_refresh).await,
            401,
            "earlier refresh token"
        );
    }
    assert_eq!(me_status(&app, &fresh.access).await, 200);
    let sessions = json_of(get(&app, "/sessions", &fresh.access).await, 200).await;
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the new session is left: {sessions}");
    assert_eq!(items[0]["current"], true);
    let next = Pair::from(app.refresh(&fresh.refresh).await).await;
    assert_eq!(me_status(&app, &next.access).await, 200);

    let old_login = app.login(SEED_EMAIL, SEED_PASSWORD).await;
    assert_error(old_login, 401, "invalid_credentials").await;
    login(&app, SEED_EMAIL, NEW_PASSWORD).await;
}

async fn password_change_needs_the_current_password_and_a_valid_new_one(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, refresh) = app.seed_tokens().await;

    let wrong = post(
        &app,
        "/users/me/password",
        &access,
        &json!({ "current_password": "not my password", "new_password": NEW_PASSWORD }),
    )
    .await;
    let body = assert_error(wrong, 403, "invalid_credentials").await;
    assert!(!body.to_string().contains(NEW_PASSWORD));

    let weak = post(
        &app,
        "/users/me/password",
        &access,
        &json!({ "current_password": SEED_PASSWORD, "new_password": "short" }),
    )
    .await;
    let body = assert_error(weak, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_password");
    let too_long = post(
        &app,
        "/users/me/password",
        &access,
        &json!({ "current_password": SEED_PASSWORD, "new_password": "€".repeat(25) }),
    )
    .await;
    assert_error(too_long, 422, "validation_failed").await;
    // The password policy applies here as at registration: a commonly used password, and
    // one that is the account's own email, are refused with a message saying what to do.
    for refused in ["password123", "qwertyuiop", SEED_EMAIL, "JOHN@DOE.COM"] {
        let response = post(
            &app,
            "/users/me/password",
            &access,
            &json!({ "current_password": SEED_PASSWORD, "new_password": refused }),
        )
        .await;
        let body = assert_error(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "new_password", "{refused}");
        assert!(
            body["errors"][0]["message"].as_str().unwrap().len() > 20,
            "{refused}: {body}"
        );
    }

    let missing = post(&app, "/users/me/password", &access, &json!({})).await;
    let body = assert_error(missing, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let wrong_type = post(
        &app,
        "/users/me/password",
        &access,
        &json!({ "current_password": 12345678, "new_password": NEW_PASSWORD }),
    )
    .await;
    assert_error(wrong_type, 422, "validation_failed").await;
    let anonymous = app
        .post_json(
            "/users/me/password",
            &json!({ "current_password": SEED_PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_error(anonymous, 401, "not_authenticated").await;

    // Nothing changed: the session lives on and the old password still logs in.
    assert_eq!(me_status(&app, &access).await, 200);
    assert_eq!(refresh_status(&app, &refresh).await, 200);
    login(&app, SEED_EMAIL, SEED_PASSWORD).await;
}

crate::on_both_databases!(
    profile_update_changes_given_fields_and_ignores_privileged_ones,
    profile_update_validates_like_registration,
    profile_update_refuses_a_username_taken_in_any_case,
    password_change_ends_every_session_and_answers_a_working_fresh_pair,
    password_change_needs_the_current_password_and_a_valid_new_one,
);
