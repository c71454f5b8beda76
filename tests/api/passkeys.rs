//! Passkeys end to end (issue "Passkeys"), with the software authenticator of
//! `passkey_support`: registration (options unwrapped, resident key and user verification
//! required, existing credentials excluded), the passwordless login, the second factor after
//! a password, re-authentication with a passkey, every refusal alike, the last way to log in,
//! and a ceremony begun on one instance finished on another.

use serde_json::{json, Value};

use crate::helpers::{assert_bearer_challenge, assert_error, Db, TestApp};
use crate::lifecycle_support::{
    create_root, get, json_of, login, post, register, Pair, PASSWORD, ROOT_EMAIL, ROOT_PASSWORD,
};
use crate::mfa_support::{claims_of, delete_with};
use crate::on_both_databases;
use crate::passkey_support::{
    add_passkey, add_with_password, begin_registration, login_options, passkey_login, Authenticator,
};

fn no_store(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"))
}

async fn tokens_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

async fn register_log_in_without_a_password_and_as_a_second_factor(db: Db) {
    let app = TestApp::spawn(db).await;
    register(&app, "ann@example.com").await;
    let pair = login(&app, "ann@example.com", PASSWORD).await;

    // Adding needs the password.
    let refused = post(
        &app,
        "/users/me/passkeys/registration",
        &pair.access,
        &json!({}),
    )
    .await;
    assert_error(refused, 403, "reauthentication_required").await;
    let begun = begin_registration(&app, &pair).await;
    let options = &begun["options"];
    assert!(options.get("publicKey").is_none(), "{options}");
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert!(options["challenge"].as_str().unwrap().len() >= 43);
    assert!(!options["challenge"]
        .as_str()
        .unwrap()
        .contains(['+', '/', '=']));

    // A malformed credential is a 422; a refused one 400 with nothing stored.
    let mut laptop = Authenticator::new();
    let malformed = post(
        &app,
        "/users/me/passkeys",
        &pair.access,
        &json!({"registration_id": begun["registration_id"], "credential": {"id": "x"}}),
    )
    .await;
    assert_error(malformed, 422, "validation_failed").await;
    laptop.origin = "https://evil.example".into();
    let wrong_origin = {
        let begun = begin_registration(&app, &pair).await;
        let credential = laptop.register(&begun["options"]);
        post(
            &app,
            "/users/me/passkeys",
            &pair.access,
            &json!({"registration_id": begun["registration_id"], "credential": credential}),
        )
        .await
    };
    assert_error(wrong_origin, 400, "invalid_credential").await;
    let status = json_of(get(&app, "/users/me/mfa", &pair.access).await, 200).await;
    assert_eq!(status["passkeys"], 0);

    // The first passkey: 201, recovery codes, no-store; the account has a second factor.
    laptop.origin = crate::passkey_support::ORIGIN.into();
    let response = {
        let begun = begin_registration(&app, &pair).await;
        let credential = laptop.register(&begun["options"]);
        post(
            &app,
            "/users/me/passkeys",
            &pair.access,
            &json!({"registration_id": begun["registration_id"], "credential": credential,
                    "name": "Laptop"}),
        )
        .await
    };
    assert_eq!(response.status(), 201);
    assert!(no_store(&response));
    let added: Value = response.json().await.unwrap();
    assert_eq!(added["name"], "Laptop");
    assert_eq!(added["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(added["last_used_at"], Value::Null);
    let status = json_of(get(&app, "/users/me/mfa", &pair.access).await, 200).await;
    assert_eq!(
        status,
        json!({"totp": false, "recovery_codes_left": 10, "passkeys": 1})
    );

    // The second: the first is excluded, and no new codes.
    let begun = begin_registration(&app, &pair).await;
    let excluded = begun["options"]["excludeCredentials"].as_array().unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0]["id"], added_credential_id(&laptop));
    let mut phone = Authenticator::new();
    phone.synced = true;
    phone.counter_step = 0;
    let second = add_with_password(&app, &pair, &mut phone).await;
    assert!(second.get("recovery_codes").is_none(), "{second}");
    assert_eq!(second["backed_up"], true);

    // Listing and renaming.
    let list = json_of(get(&app, "/users/me/passkeys", &pair.access).await, 200).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], added["id"]);
    let path = format!("/users/me/passkeys/{}", added["id"].as_str().unwrap());
    let renamed = crate::lifecycle_support::call(
        &app,
        reqwest::Method::PATCH,
        &path,
        &pair.access,
        Some(&json!({"name": "  Work laptop "})),
    )
    .await;
    assert_eq!(json_of(renamed, 200).await["name"], "Work laptop");

    // Without a password: discoverable, `amr` ["hwk", "user", "mfa"].
    let tokens = tokens_of(passkey_login(&app, &mut laptop).await).await;
    let claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
    let home = get(&app, "/", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(home.status(), 200);
    // A synced passkey with a counter of 0 throughout logs in again and again.
    for _ in 0..2 {
        tokens_of(passkey_login(&app, &mut phone).await).await;
    }
    let list = json_of(get(&app, "/users/me/passkeys", &pair.access).await, 200).await;
    assert!(list["items"][0]["last_used_at"].is_string());

    // After a password: the second factor, `amr` ["pwd", "hwk", "mfa"].
    let response = app.login("ann@example.com", PASSWORD).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mfa_methods"], json!(["recovery_code", "passkey"]));
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let options = json_of(
        app.post_json("/login/mfa/passkey-options", &json!({"mfa_token": token}))
            .await,
        200,
    )
    .await;
    let allowed = options["options"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 2);
    let both = app
        .post_json(
            "/login/mfa",
            &json!({"mfa_token": token, "code": "123456", "credential": {}}),
        )
        .await;
    assert_error(both, 422, "validation_failed").await;
    // A refused assertion is one wrong second factor; the right one then logs in.
    laptop.wrong_key = true;
    let wrong = app
        .post_json(
            "/login/mfa",
            &json!({"mfa_token": token, "credential": laptop.assert(&options["options"])}),
        )
        .await;
    assert_bearer_challenge(&wrong, false);
    assert_error(wrong, 401, "invalid_mfa_code").await;
    laptop.wrong_key = false;
    let options = json_of(
        app.post_json("/login/mfa/passkey-options", &json!({"mfa_token": token}))
            .await,
        200,
    )
    .await;
    let credential = laptop.assert(&options["options"]);
    let tokens = tokens_of(
        app.post_json(
            "/login/mfa",
            &json!({"mfa_token": token, "credential": credential}),
        )
        .await,
    )
    .await;
    let claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "mfa"]));
    // The mfa_token is spent.
    let again = app
        .post_json(
            "/login/mfa",
            &json!({"mfa_token": token, "credential": credential}),
        )
        .await;
    assert_error(again, 401, "invalid_token").await;

    // Removing both (with the password): the second factor goes, a password logs in alone.
    for item in list["items"].as_array().unwrap() {
        let path = format!("/users/me/passkeys/{}", item["id"].as_str().unwrap());
        let missing = delete_with(&app, &path, &pair.access, &json!({})).await;
        assert_error(missing, 403, "reauthentication_required").await;
        let removed = delete_with(&app, &path, &pair.access, &json!({"password": PASSWORD})).await;
        assert_eq!(removed.status(), 204);
    }
    let status = json_of(get(&app, "/users/me/mfa", &pair.access).await, 200).await;
    assert_eq!(
        status,
        json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );
    tokens_of(app.login("ann@example.com", PASSWORD).await).await;
    // The passkey no longer logs in.
    let gone = passkey_login(&app, &mut laptop).await;
    assert_error(gone, 401, "invalid_credentials").await;
}

fn added_credential_id(authenticator: &Authenticator) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&authenticator.credential_id)
}

/// Every refusal of a passwordless login is the same 401 `invalid_credentials`.
async fn every_refusal_is_invalid_credentials_alike(db: Db) {
    let app = TestApp::spawn(db).await;
    let ann = register(&app, "ann@example.com").await;
    let pair = login(&app, "ann@example.com", PASSWORD).await;
    let mut key = Authenticator::new();
    add_with_password(&app, &pair, &mut key).await;
    let mut bodies = Vec::new();

    let mut refuse = |response: reqwest::Response, what: &'static str| {
        assert_eq!(response.status(), 401, "{what}");
        assert_bearer_challenge(&response, false);
        bodies.push((what, response));
    };
    for tamper in ["origin", "rp_id", "signature", "user_verification"] {
        let (id, options) = login_options(&app).await;
        let mut bad = clone_of(&key);
        match tamper {
            "origin" => bad.origin = "http://localhost:9999".into(),
            "rp_id" => bad.rp_id = "example.com".into(),
            "signature" => bad.wrong_key = true,
            _ => bad.user_verified = false,
        }
        let credential = bad.assert(&options);
        refuse(
            app.post_json(
                "/login/passkey",
                &json!({"challenge_id": id, "credential": credential}),
            )
            .await,
            tamper,
        );
    }
    // Unknown credential: an authenticator never registered.
    let (id, options) = login_options(&app).await;
    let mut stranger = Authenticator::new();
    stranger.user_handle = key.user_handle.clone();
    let credential = stranger.assert(&options);
    refuse(
        app.post_json(
            "/login/passkey",
            &json!({"challenge_id": id, "credential": credential}),
        )
        .await,
        "unknown credential",
    );
    // Replayed: the challenge of a login that succeeded.
    let (id, options) = login_options(&app).await;
    let credential = key.assert(&options);
    let body = json!({"challenge_id": id, "credential": credential});
    tokens_of(app.post_json("/login/passkey", &body).await).await;
    refuse(app.post_json("/login/passkey", &body).await, "replayed");
    // Expired.
    let (id, options) = login_options(&app).await;
    app.execute_sql("UPDATE passkey_ceremonies SET expires_at = '2000-01-01 00:00:00'");
    let credential = key.assert(&options);
    refuse(
        app.post_json(
            "/login/passkey",
            &json!({"challenge_id": id, "credential": credential}),
        )
        .await,
        "expired",
    );
    // The counter going backwards (a clone of the authenticator at an older count).
    let mut clone = clone_of(&key);
    clone.counter = 0;
    let (id, options) = login_options(&app).await;
    let credential = clone.assert(&options);
    refuse(
        app.post_json(
            "/login/passkey",
            &json!({"challenge_id": id, "credential": credential}),
        )
        .await,
        "counter went backwards",
    );
    // Inactive user.
    app.execute_sql("UPDATE users SET is_active = (1 = 0)");
    let (id, options) = login_options(&app).await;
    let credential = key.assert(&options);
    refuse(
        app.post_json(
            "/login/passkey",
            &json!({"challenge_id": id, "credential": credential}),
        )
        .await,
        "inactive user",
    );
    let mut first: Option<Value> = None;
    for (what, response) in bodies {
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_credentials", "{what}");
        match &first {
            None => first = Some(body),
            Some(first) => assert_eq!(&body, first, "{what}: alike"),
        }
    }
    // A malformed credential, or none, is a 422.
    let (id, _) = login_options(&app).await;
    for body in [
        json!({"challenge_id": id, "credential": {"id": "x", "response": {}}}),
        json!({"challenge_id": id, "credential": "text"}),
        json!({"challenge_id": id}),
    ] {
        let response = app.post_json("/login/passkey", &body).await;
        assert_error(response, 422, "validation_failed").await;
    }
    // The counter's refusal is audited.
    app.execute_sql("UPDATE users SET is_active = (1 = 1)");
    let root = create_root(&app).await;
    let _ = root;
    let admin = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let audit = json_of(
        get(
            &app,
            &format!("/users/{ann}/audit?limit=100"),
            &admin.access,
        )
        .await,
        200,
    )
    .await;
    let reasons: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"]["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"signature_counter_went_backwards"),
        "{reasons:?}"
    );
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "passkey_added"));
}

fn clone_of(key: &Authenticator) -> Authenticator {
    key.duplicate()
}

/// An assertion answering `POST /users/me/reauthentication/options`.
async fn reauth_assertion(app: &TestApp, pair: &Pair, key: &mut Authenticator) -> Value {
    let options = json_of(
        post(
            app,
            "/users/me/reauthentication/options",
            &pair.access,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    key.assert(&options["options"])
}

/// An account without a password: re-authentication with a passkey, and its last passkey
/// stays (409 `last_login_method`); an administrator's reset takes them all.
async fn a_passwordless_account_keeps_its_last_passkey(db: Db) {
    let app = TestApp::spawn_with(db, &[("REAUTH_MAX_AGE", "1s")]).await;
    let ann = register(&app, "pia@example.com").await;
    let pair = login(&app, "pia@example.com", PASSWORD).await;
    let mut one = Authenticator::new();
    add_with_password(&app, &pair, &mut one).await;
    // A pending ceremony dies with a password change.
    let begun = begin_registration(&app, &pair).await;
    let changed = post(
        &app,
        "/users/me/password",
        &pair.access,
        &json!({"current_password": PASSWORD, "new_password": "another passphrase 42"}),
    )
    .await;
    let changed = json_of(changed, 200).await;
    let mut two = Authenticator::new();
    let credential = two.register(&begun["options"]);
    let stale = post(
        &app,
        "/users/me/passkeys",
        changed["access_token"].as_str().unwrap(),
        &json!({"registration_id": begun["registration_id"], "credential": credential}),
    )
    .await;
    assert_error(stale, 400, "invalid_credential").await;

    // Now without a password (as an account made by a passkey or an identity would be).
    app.execute_sql(&format!(
        "UPDATE users SET password_hash = '' WHERE id = '{ann}'"
    ));
    let tokens = tokens_of(passkey_login(&app, &mut one).await).await;
    let pair = Pair {
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    };
    let list = json_of(get(&app, "/users/me/passkeys", &pair.access).await, 200).await;
    let first_path = format!(
        "/users/me/passkeys/{}",
        list["items"][0]["id"].as_str().unwrap()
    );

    // Once the login is older than REAUTH_MAX_AGE, a passkey assertion re-authenticates.
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let refused = delete_with(&app, &first_path, &pair.access, &json!({})).await;
    assert_error(refused, 403, "reauthentication_required").await;
    let credential = reauth_assertion(&app, &pair, &mut one).await;
    let last = delete_with(
        &app,
        &first_path,
        &pair.access,
        &json!({"credential": credential}),
    )
    .await;
    assert_error(last, 409, "last_login_method").await;
    // A second passkey (re-authenticated by an assertion), then the first can go.
    let credential = reauth_assertion(&app, &pair, &mut one).await;
    let mut three = Authenticator::new();
    add_passkey(&app, &pair, &mut three, &json!({"credential": credential})).await;
    // A wrong assertion proves nothing.
    one.wrong_key = true;
    let credential = reauth_assertion(&app, &pair, &mut one).await;
    one.wrong_key = false;
    let wrong = delete_with(
        &app,
        &first_path,
        &pair.access,
        &json!({"credential": credential}),
    )
    .await;
    assert_error(wrong, 403, "reauthentication_required").await;
    let credential = reauth_assertion(&app, &pair, &mut one).await;
    let removed = delete_with(
        &app,
        &first_path,
        &pair.access,
        &json!({"credential": credential}),
    )
    .await;
    assert_eq!(removed.status(), 204);
    let gone = passkey_login(&app, &mut one).await;
    assert_error(gone, 401, "invalid_credentials").await;
    tokens_of(passkey_login(&app, &mut three).await).await;

    // An administrator's reset removes passkeys too.
    create_root(&app).await;
    let admin = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let reset = delete_with(
        &app,
        &format!("/users/{ann}/mfa"),
        &admin.access,
        &json!({}),
    )
    .await;
    assert_eq!(reset.status(), 204);
    let gone = passkey_login(&app, &mut three).await;
    assert_error(gone, 401, "invalid_credentials").await;
}

on_both_databases!(
    register_log_in_without_a_password_and_as_a_second_factor,
    every_refusal_is_invalid_credentials_alike,
    a_passwordless_account_keeps_its_last_passkey,
);

/// Two instances on one PostgreSQL database: a ceremony begun on one finishes on the other,
/// and of two concurrent finishes of one challenge exactly one logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_begun_on_one_instance_finishes_on_another() {
    let a = TestApp::spawn(Db::Postgres).await;
    let b = TestApp::build(a.db.raw_url(), &[]).await;
    let b_url = format!("http://{}", b.address());
    let b_handle = b.handle();
    tokio::spawn(b.run());
    let client = reqwest::Client::new();
    register(&a, "ann@example.com").await;
    let pair = login(&a, "ann@example.com", PASSWORD).await;
    let begun = json_of(
        post(
            &a,
            "/users/me/passkeys/registration",
            &pair.access,
            &json!({"password": PASSWORD}),
        )
        .await,
        200,
    )
    .await;
    let mut key = Authenticator::new();
    let credential = key.register(&begun["options"]);
    let added = client
        .post(format!("{b_url}/users/me/passkeys"))
        .bearer_auth(&pair.access)
        .json(&json!({"registration_id": begun["registration_id"], "credential": credential}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);

    let options: Value = client
        .post(format!("{b_url}/login/passkey/options"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = key.assert(&options["options"]);
    let body = json!({"challenge_id": options["challenge_id"], "credential": credential});
    let on_b = client
        .post(format!("{b_url}/login/passkey"))
        .json(&body)
        .send();
    let on_a = a.post_json("/login/passkey", &body);
    let (on_a, on_b) = tokio::join!(on_a, on_b);
    let mut statuses = [on_a.status().as_u16(), on_b.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "one challenge, one login");
    b_handle.stop(false).await;
}
