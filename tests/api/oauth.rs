//! Social login end to end (issue "Social login") against a real OpenID Connect provider,
//! panva's oidc-provider on loopback (see `oauth_support`): new accounts, later logins, the
//! one-time `login_code` and its PKCE verifier, the account rules (verified emails, trusted
//! providers), state handling, the allow-list, the second factor, linking and unlinking.

use serde_json::{json, Value};

use crate::on_both_databases;
use crate::recovery::{assert_accepted, confirm_reset, request_reset};
use crate::support::{assert_error, Db, TestApp};
use crate::support::{
    at_provider, browser, deliver_callback, exchange, location, log_in_with, params, person,
    social_login, spawn, AppSide, APP,
};
use crate::support::{claims_of, code, current_step, enrol, login_mfa};
use crate::support::{get, json_of, login, post, register, PASSWORD};

fn user_id_of(tokens: &Value) -> String {
    claims_of(tokens["access_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn me(app: &TestApp, tokens: &Value) -> Value {
    json_of(
        get(app, "/users/me", tokens["access_token"].as_str().unwrap()).await,
        200,
    )
    .await
}

async fn a_new_account_then_a_second_login_and_the_single_use_login_code(db: Db) {
    let (app, mail) = spawn(db, &[]).await;
    let providers = json_of(
        app.client
            .get(app.url("/oauth/providers"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        providers,
        json!({"items": [{"name": "corp", "display_name": "Corp"},
                         {"name": "trusted", "display_name": "Trusted Corp"}]})
    );
    let ann = person("ann-1", "Ann@Example.com", true);

    // The first login creates an active, verified account without a password.
    let side = AppSide::new();
    let back = social_login(&app, "corp", &side, &ann).await;
    let code = back["login_code"].clone();
    // A wrong verifier is refused, and spends the code.
    let other = AppSide::new();
    assert_error(
        exchange(&app, &code, &other.verifier).await,
        400,
        "invalid_token",
    )
    .await;
    assert_error(
        exchange(&app, &code, &side.verifier).await,
        400,
        "invalid_token",
    )
    .await;
    // Nothing was created by that login.
    assert_eq!(
        app.execute_sql("DELETE FROM users WHERE email = 'ann@example.com'"),
        0
    );

    let tokens = log_in_with(&app, "corp", &ann).await;
    let claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["ext"]));
    let user = me(&app, &tokens).await;
    assert_eq!(user["email"], "ann@example.com");
    assert_eq!(user["is_verified"], true);
    assert_eq!(user["first_name"], "Ann");
    // No password: a password login cannot open it (and is no fault).
    assert_error(
        app.login("ann@example.com", "any password at all").await,
        401,
        "invalid_credentials",
    )
    .await;

    // The second login finds the same account (by the identity, not the email).
    let again = log_in_with(&app, "corp", &person("ann-1", "changed@example.com", false)).await;
    assert_eq!(user_id_of(&again), user["id"].as_str().unwrap());
    let identities = json_of(
        get(
            &app,
            "/users/me/identities",
            again["access_token"].as_str().unwrap(),
        )
        .await,
        200,
    )
    .await;
    let items = identities["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["provider"], "corp");
    assert_eq!(items[0]["email"], "ann@example.com");

    // A login_code works once.
    let side = AppSide::new();
    let back = social_login(&app, "corp", &side, &ann).await;
    assert_eq!(
        exchange(&app, &back["login_code"], &side.verifier)
            .await
            .status(),
        200
    );
    assert_error(
        exchange(&app, &back["login_code"], &side.verifier).await,
        400,
        "invalid_token",
    )
    .await;
    // Sessions opened this way are ordinary: refresh works.
    assert_eq!(
        app.refresh(again["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // No password yet: the reset flow sets one.
    assert_accepted(request_reset(&app, "ann@example.com").await).await;
    let token = mail.wait_for(1).await[0].reset_token();
    let password = "a brand new password 1";
    assert_eq!(confirm_reset(&app, &token, password).await.status(), 204);
    assert_eq!(app.login("ann@example.com", password).await.status(), 200);
}

async fn existing_emails_link_only_for_a_trusted_provider_and_a_verified_account(db: Db) {
    let (app, _mail) = spawn(db, &[]).await;
    let ann_id = register(&app, "ann@example.com").await;
    let ann = person("ann-corp", "ann@example.com", true);
    for provider in ["corp", "trusted"] {
        // Unverified local account: never linked (the pre-registration takeover).
        let back = social_login(&app, provider, &AppSide::new(), &ann).await;
        assert_eq!(back["error"], "account_exists", "{provider}");
        assert!(!back.contains_key("login_code"));
    }
    app.execute_sql("UPDATE users SET is_verified = true WHERE email = 'ann@example.com'");
    // Verified, but the provider is not trusted for emails (nOAuth).
    let back = social_login(&app, "corp", &AppSide::new(), &ann).await;
    assert_eq!(back["error"], "account_exists");
    // Trusted provider, verified account: linked, at the exchange.
    let tokens = log_in_with(&app, "trusted", &ann).await;
    assert_eq!(user_id_of(&tokens), ann_id);
    // An unverified provider email neither links nor creates.
    let back = social_login(
        &app,
        "trusted",
        &AppSide::new(),
        &person("bob", "bob@example.com", false),
    )
    .await;
    assert_eq!(back["error"], "login_failed");
    let back = social_login(
        &app,
        "trusted",
        &AppSide::new(),
        &person("ann-other", "ann@example.com", false),
    )
    .await;
    assert_eq!(back["error"], "login_failed");
    // An inactive user cannot log in this way either.
    app.execute_sql("UPDATE users SET is_active = false WHERE email = 'ann@example.com'");
    let back = social_login(&app, "trusted", &AppSide::new(), &ann).await;
    assert_eq!(back["error"], "login_failed");
}

async fn states_redirects_and_requests_that_are_refused(db: Db) {
    let (app, _mail) = spawn(db, &[]).await;
    let side = AppSide::new();
    let client = browser();
    // Outside the allow-list, or by a prefix that is not a whole segment: no redirect at all.
    for redirect in [
        "https://evil.example.com/auth",
        "https://app.example.com/authx",
        "https://app.example.com/",
    ] {
        let response = client
            .get(app.url(&side.authorize_path("corp", redirect)))
            .send()
            .await
            .unwrap();
        assert_error(response, 400, "invalid_redirect").await;
    }
    let response = client
        .get(app.url(&format!("/oauth/corp/authorize?redirect_uri={APP}&state=s")))
        .send()
        .await
        .unwrap();
    assert_error(response, 422, "validation_failed").await;
    let response = client
        .get(app.url(&side.authorize_path("nope", APP)))
        .send()
        .await
        .unwrap();
    assert_error(response, 404, "unknown_provider").await;

    // The provider gets its own state, nonce and PKCE S256.
    let response = client
        .get(app.url(&side.authorize_path("corp", APP)))
        .send()
        .await
        .unwrap();
    let to_provider = location(&response);
    let sent = params(&to_provider);
    assert_eq!(sent["code_challenge_method"], "S256");
    assert!(sent.contains_key("nonce"));
    assert_ne!(sent["state"], side.state);
    assert_ne!(sent["code_challenge"], side.challenge());
    let callback = at_provider(&to_provider, &person("cy", "cy@example.com", true)).await;
    // Tampered state.
    let tampered = callback.replace(&format!("state={}", sent["state"]), "state=forged");
    assert_error(
        deliver_callback(&app, &tampered).await,
        400,
        "invalid_state",
    )
    .await;
    // The real one works once; replayed, it is refused.
    let back = location(&deliver_callback(&app, &callback).await);
    assert!(params(&back).contains_key("login_code"));
    assert_error(
        deliver_callback(&app, &callback).await,
        400,
        "invalid_state",
    )
    .await;
    // An ID token whose nonce is not the one sent (the browser altered the request).
    let response = client
        .get(app.url(&side.authorize_path("corp", APP)))
        .send()
        .await
        .unwrap();
    let to_provider = location(&response);
    let nonce = params(&to_provider)["nonce"].clone();
    let forged = to_provider.replace(&format!("nonce={nonce}"), "nonce=forged-nonce");
    let callback = at_provider(&forged, &person("cy", "cy@example.com", true)).await;
    let back = params(&location(&deliver_callback(&app, &callback).await));
    assert_eq!(back["error"], "login_failed");
    // Expired (10 minutes).
    let response = client
        .get(app.url(&side.authorize_path("corp", APP)))
        .send()
        .await
        .unwrap();
    let callback = at_provider(&location(&response), &person("cy", "cy@example.com", true)).await;
    app.execute_sql("UPDATE oauth_states SET expires_at = created_at");
    assert_error(
        deliver_callback(&app, &callback).await,
        400,
        "invalid_state",
    )
    .await;
    // The provider's refusal (the user declined) goes back to the app as login_failed.
    let response = client
        .get(app.url(&side.authorize_path("corp", APP)))
        .send()
        .await
        .unwrap();
    let state = params(&location(&response))["state"].clone();
    let declined = deliver_callback(
        &app,
        &format!(
            "{}/oauth/corp/callback?error=access_denied&state={state}",
            crate::support::PUBLIC_URL
        ),
    )
    .await;
    let back = params(&location(&declined));
    assert_eq!(back["error"], "login_failed");
    assert_eq!(back["state"], side.state);
}

async fn an_account_with_totp_gets_the_mfa_step(db: Db) {
    let (app, _mail) = spawn(db, &[]).await;
    let dee = person("dee", "dee@example.com", true);
    let tokens = log_in_with(&app, "corp", &dee).await;
    // No password: a fresh login re-authenticates the enrolment.
    let pair = crate::support::Pair {
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    };
    let enrolled = enrol(&app, "dee@example.com", "", pair).await;
    let answer = log_in_with(&app, "corp", &dee).await;
    assert_eq!(answer["mfa_required"], true);
    assert!(answer.get("access_token").is_none());
    let response = login_mfa(
        &app,
        answer["mfa_token"].as_str().unwrap(),
        &code(
            &enrolled.secret,
            current_step().max(enrolled.confirmed_step + 1),
        ),
    )
    .await;
    let tokens = json_of(response, 200).await;
    let claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["ext", "otp", "mfa"]));
}

async fn linking_while_logged_in_and_unlinking(db: Db) {
    let (app, mail) = spawn(db, &[]).await;
    register(&app, "eve@example.com").await;
    let eve = login(&app, "eve@example.com", PASSWORD).await;
    let side = AppSide::new();
    let body =
        json!({"redirect_uri": APP, "state": side.state, "code_challenge": side.challenge()});
    let response = post(&app, "/users/me/identities/corp", &eve.access, &body).await;
    assert_error(response, 403, "reauthentication_required").await;
    let mut with_password = body.clone();
    with_password["password"] = json!(PASSWORD);
    let answer = json_of(
        post(
            &app,
            "/users/me/identities/corp",
            &eve.access,
            &with_password,
        )
        .await,
        200,
    )
    .await;
    let start = answer["authorize_url"].as_str().unwrap();
    let start = start.strip_prefix(crate::support::PUBLIC_URL).unwrap();
    let response = browser().get(app.url(start)).send().await.unwrap();
    // Linked by choice: the provider's email does not matter (not verified, not hers).
    let callback = at_provider(
        &location(&response),
        &person("eve-corp", "someone@else.com", false),
    )
    .await;
    let back = params(&location(&deliver_callback(&app, &callback).await));
    assert_eq!(back["linked"], "corp");
    assert_eq!(back["state"], side.state);
    let list = json_of(get(&app, "/users/me/identities", &eve.access).await, 200).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    // That identity now logs in to her account.
    let tokens = log_in_with(&app, "corp", &person("eve-corp", "x@y.com", false)).await;
    assert_eq!(me(&app, &tokens).await["email"], "eve@example.com");
    mail.wait_for(1).await;

    // Linked to someone else already: identity_in_use.
    register(&app, "fay@example.com").await;
    let fay = login(&app, "fay@example.com", PASSWORD).await;
    let mut fay_body = with_password.clone();
    fay_body["state"] = json!("fay-state");
    let answer = json_of(
        post(&app, "/users/me/identities/corp", &fay.access, &fay_body).await,
        200,
    )
    .await;
    let start = answer["authorize_url"]
        .as_str()
        .unwrap()
        .strip_prefix(crate::support::PUBLIC_URL)
        .unwrap()
        .to_owned();
    let response = browser().get(app.url(&start)).send().await.unwrap();
    let callback = at_provider(&location(&response), &person("eve-corp", "x@y.com", false)).await;
    let back = params(&location(&deliver_callback(&app, &callback).await));
    assert_eq!(back["error"], "identity_in_use");

    // Unlinking: re-authenticated; she keeps her password.
    let path = format!("/users/me/identities/{id}");
    let response = crate::support::delete_with(&app, &path, &eve.access, &json!({})).await;
    assert_error(response, 403, "reauthentication_required").await;
    let response =
        crate::support::delete_with(&app, &path, &eve.access, &json!({"password": PASSWORD})).await;
    assert_eq!(response.status(), 204);
    let response =
        crate::support::delete_with(&app, &path, &eve.access, &json!({"password": PASSWORD})).await;
    assert_error(response, 404, "not_found").await;
    mail.wait_for(2).await;

    // An account created by its identity has no other way to log in.
    let gus = log_in_with(&app, "corp", &person("gus", "gus@example.com", true)).await;
    let access = gus["access_token"].as_str().unwrap();
    let list = json_of(get(&app, "/users/me/identities", access).await, 200).await;
    let path = format!(
        "/users/me/identities/{}",
        list["items"][0]["id"].as_str().unwrap()
    );
    let response = crate::support::delete_with(&app, &path, access, &json!({})).await;
    assert_error(response, 409, "last_login_method").await;
}

/// Linking and unlinking re-authenticate like every route that adds or removes a way to log
/// in: an account without a password, its login older than `REAUTH_MAX_AGE`, proves itself
/// with a passkey assertion in `credential`.
async fn a_passkey_re_authenticates_linking_and_unlinking_without_a_password(db: Db) {
    let (app, _mail) = spawn(db, &[("REAUTH_MAX_AGE", "1s")]).await;
    let hal_id = register(&app, "hal@example.com").await;
    let hal = login(&app, "hal@example.com", PASSWORD).await;
    // This server's PUBLIC_URL makes app.example.com the relying party.
    let mut key = crate::support::Authenticator::new();
    key.origin = "https://app.example.com".into();
    key.rp_id = "app.example.com".into();
    crate::support::add_with_password(&app, &hal, &mut key).await;
    app.execute_sql(&format!(
        "UPDATE users SET password_hash = '' WHERE id = '{hal_id}'"
    ));
    let tokens = json_of(crate::support::passkey_login(&app, &mut key).await, 200).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;

    async fn assertion(
        app: &TestApp,
        access: &str,
        key: &mut crate::support::Authenticator,
    ) -> Value {
        let path = "/users/me/reauthentication/options";
        let options = json_of(post(app, path, access, &json!({})).await, 200).await;
        key.assert(&options["options"])
    }
    let side = AppSide::new();
    let body =
        json!({"redirect_uri": APP, "state": side.state, "code_challenge": side.challenge()});
    let refused = post(&app, "/users/me/identities/corp", &access, &body).await;
    assert_error(refused, 403, "reauthentication_required").await;
    let mut with_passkey = body.clone();
    with_passkey["credential"] = assertion(&app, &access, &mut key).await;
    let answer = json_of(
        post(&app, "/users/me/identities/corp", &access, &with_passkey).await,
        200,
    )
    .await;
    let start = answer["authorize_url"].as_str().unwrap();
    let start = start.strip_prefix(crate::support::PUBLIC_URL).unwrap();
    let response = browser().get(app.url(start)).send().await.unwrap();
    let callback = at_provider(&location(&response), &person("hal-corp", "h@x.com", false)).await;
    let back = params(&location(&deliver_callback(&app, &callback).await));
    assert_eq!(back["linked"], "corp");

    let list = json_of(get(&app, "/users/me/identities", &access).await, 200).await;
    let path = format!(
        "/users/me/identities/{}",
        list["items"][0]["id"].as_str().unwrap()
    );
    let refused = crate::support::delete_with(&app, &path, &access, &json!({})).await;
    assert_error(refused, 403, "reauthentication_required").await;
    let body = json!({"credential": assertion(&app, &access, &mut key).await});
    let response = crate::support::delete_with(&app, &path, &access, &body).await;
    assert_eq!(response.status(), 204);
}

on_both_databases!(
    a_passkey_re_authenticates_linking_and_unlinking_without_a_password,
    a_new_account_then_a_second_login_and_the_single_use_login_code,
    existing_emails_link_only_for_a_trusted_provider_and_a_verified_account,
    states_redirects_and_requests_that_are_refused,
    an_account_with_totp_gets_the_mfa_step,
    linking_while_logged_in_and_unlinking,
);
