//! GitHub's flavour of social login (OAuth 2.0, no ID token: the user and the verified primary
//! email come from its API), against a loopback stand-in of its three endpoints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::on_both_databases;
use crate::recovery::{mail_settings, MailDir};
use crate::support::claims_of;
use crate::support::json_of;
use crate::support::{
    browser, deliver_callback, exchange, location, params, AppSide, APP, PUBLIC_URL,
};
use crate::support::{Db, TestApp};

/// What the stand-in remembers: the PKCE challenge of each code it gave, and the primary
/// email it reports (with its verification).
#[derive(Default)]
struct GithubState {
    codes: HashMap<String, String>,
    primary: (String, bool),
}

type Shared = web::Data<Arc<Mutex<GithubState>>>;

async fn authorize(state: Shared, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    assert_eq!(query["code_challenge_method"], "S256");
    let code = uuid::Uuid::new_v4().to_string();
    state
        .lock()
        .unwrap()
        .codes
        .insert(code.clone(), query["code_challenge"].clone());
    let back = format!(
        "{}?code={code}&state={}",
        query["redirect_uri"], query["state"]
    );
    HttpResponse::Found()
        .insert_header(("Location", back))
        .finish()
}

async fn token(
    state: Shared,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    assert!(
        req.headers().contains_key("authorization"),
        "client secret sent"
    );
    let challenge = state.lock().unwrap().codes.remove(&form["code"]);
    let verified =
        challenge.is_some_and(|c| auth_domain::oauth::pkce_s256(&form["code_verifier"]) == c);
    if !verified {
        // GitHub's way: 200 with an error object.
        return HttpResponse::Ok().json(json!({"error": "bad_verification_code"}));
    }
    HttpResponse::Ok().json(json!({"access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email"}))
}

fn authorized(req: &HttpRequest) -> bool {
    req.headers()
        .get("authorization")
        .is_some_and(|v| v == "Bearer gho_test")
}

async fn user(req: HttpRequest) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok().json(json!({"id": 4242, "login": "octo", "name": "Octo Cat"}))
}

async fn emails(state: Shared, req: HttpRequest) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().finish();
    }
    let (email, verified) = state.lock().unwrap().primary.clone();
    HttpResponse::Ok().json(json!([
        {"email": "other@example.com", "primary": false, "verified": true},
        {"email": email, "primary": true, "verified": verified},
    ]))
}

async fn github_login(app: &TestApp) -> HashMap<String, String> {
    let side = AppSide::new();
    let response = browser()
        .get(app.url(&side.authorize_path("github", APP)))
        .send()
        .await
        .unwrap();
    let to_github = location(&response);
    let response = browser().get(&to_github).send().await.unwrap();
    let back = location(&deliver_callback(app, &location(&response)).await);
    let mut params = params(&back);
    if let Some(code) = params.get("login_code").cloned() {
        let answer = exchange(app, &code, &side.verifier).await;
        let tokens: Value = json_of(answer, 200).await;
        params.insert(
            "access_token".into(),
            tokens["access_token"].as_str().unwrap().to_owned(),
        );
    }
    params
}

async fn github_users_log_in_by_their_verified_primary_email(db: Db) {
    let state = Arc::new(Mutex::new(GithubState {
        primary: ("Octo@Example.com".into(), false),
        ..GithubState::default()
    }));
    let shared = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(shared.clone()))
            .route("/login/oauth/authorize", web::get().to(authorize))
            .route("/login/oauth/access_token", web::post().to(token))
            .route("/user", web::get().to(user))
            .route("/user/emails", web::get().to(emails))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    let handle = server.run();
    let stop = handle.handle();
    tokio::spawn(handle);

    let mail = MailDir::new();
    let dir = mail.dir();
    let (auth, token_url, api) = (
        format!("{base}/login/oauth/authorize"),
        format!("{base}/login/oauth/access_token"),
        base.clone(),
    );
    let mut settings = mail_settings(&dir, &[]);
    settings.extend_from_slice(&[
        ("PUBLIC_URL", PUBLIC_URL),
        ("OAUTH_PROVIDERS", "github"),
        ("OAUTH_GITHUB_CLIENT_ID", "gh-client"),
        ("OAUTH_GITHUB_CLIENT_SECRET", "gh-secret"),
        ("OAUTH_GITHUB_AUTH_URL", &auth),
        ("OAUTH_GITHUB_TOKEN_URL", &token_url),
        ("OAUTH_GITHUB_API_URL", &api),
        ("OAUTH_REDIRECT_ALLOWLIST", APP),
    ]);
    let app = TestApp::spawn_with(db, &settings).await;

    // An unverified primary email creates nothing.
    assert_eq!(github_login(&app).await["error"], "login_failed");
    state.lock().unwrap().primary.1 = true;
    let first = github_login(&app).await;
    let claims = claims_of(&first["access_token"]);
    assert_eq!(claims["amr"], json!(["ext"]));
    let me = json_of(
        app.get_with_token("/users/me", &first["access_token"])
            .await,
        200,
    )
    .await;
    assert_eq!(me["email"], "octo@example.com");
    assert_eq!(me["first_name"], "Octo Cat");
    // Later logins find the account by GitHub's user id, whatever the email says now.
    state.lock().unwrap().primary = ("new@example.com".into(), true);
    let again = github_login(&app).await;
    assert_eq!(claims_of(&again["access_token"])["sub"], claims["sub"]);
    stop.stop(false).await;
}

on_both_databases!(github_users_log_in_by_their_verified_primary_email);
