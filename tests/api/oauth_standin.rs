//! What oidc-provider cannot be made to do wrong: a loopback stand-in OpenID Connect provider
//! (discovery, authorize, token, JWKS) whose ID tokens the test signs with keys of its choice —
//! a rotated key (found by re-fetching the JWKS for its unknown `kid`), a key the provider never
//! published, a published `kid` over another key's signature, an expired token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use auth_infra::jwt::{Algorithm, JwtSettings, JwtTokenService, PemKey, PemKeys};
use auth_infra::test_keys::TestKeyPair;
use serde_json::{json, Value};

use crate::support::{
    browser, deliver_callback, exchange, location, params, AppSide, APP, PUBLIC_URL,
};
use crate::support::{Db, TestApp};

/// A P-256 key, its `kid` and its public JWK (as auth-server's own JWKS writes them).
#[derive(Clone)]
struct Key {
    pair: TestKeyPair,
    kid: String,
    jwk: Value,
}

fn key() -> Key {
    let pair = auth_infra::test_keys::p256();
    let settings = JwtSettings {
        algorithm: Algorithm::ES256,
        secret: Vec::new(),
        issuer: "stand-in".into(),
        audience: None,
        leeway_secs: 0,
        key_pair: Some(PemKeys {
            private_key: PemKey::new("test", pair.private_pem.clone()),
            public_keys: Vec::new(),
        }),
    };
    let jwks = JwtTokenService::new(settings, Arc::new(auth_infra::SystemClock))
        .unwrap()
        .jwks_json();
    let jwk = jwks["keys"][0].clone();
    Key {
        kid: jwk["kid"].as_str().unwrap().to_owned(),
        pair,
        jwk,
    }
}

struct StandIn {
    issuer: String,
    /// Signs the next ID token: the key, and the `kid` its header names.
    signer: (Key, String),
    published: Vec<Value>,
    /// Seconds the next ID token lives (negative: expired already).
    lifetime: i64,
    nonces: HashMap<String, String>,
}

type Shared = web::Data<Arc<Mutex<StandIn>>>;

async fn discovery(state: Shared) -> HttpResponse {
    let issuer = state.lock().unwrap().issuer.clone();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn authorize(state: Shared, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let code = uuid::Uuid::new_v4().to_string();
    state
        .lock()
        .unwrap()
        .nonces
        .insert(code.clone(), query["nonce"].clone());
    let back = format!(
        "{}?code={code}&state={}",
        query["redirect_uri"], query["state"]
    );
    HttpResponse::Found()
        .insert_header(("Location", back))
        .finish()
}

async fn token(state: Shared, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let state = state.lock().unwrap();
    let Some(nonce) = state.nonces.get(&form["code"]) else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    };
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": state.issuer, "aud": "stand-in-client", "sub": "stan",
        "email": "stan@example.com", "email_verified": true, "nonce": nonce,
        "iat": now - 10, "exp": now + state.lifetime,
    });
    let (key, kid) = &state.signer;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.clone());
    let encoding = jsonwebtoken::EncodingKey::from_ec_pem(key.pair.private_pem.as_bytes()).unwrap();
    let id_token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
    HttpResponse::Ok()
        .json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
}

async fn jwks(state: Shared) -> HttpResponse {
    HttpResponse::Ok().json(json!({"keys": state.lock().unwrap().published}))
}

/// One login through the stand-in: the app's redirect parameters (exchanged when a code).
async fn stand_in_login(app: &TestApp) -> HashMap<String, String> {
    let side = AppSide::new();
    let response = browser()
        .get(app.url(&side.authorize_path("stan", APP)))
        .send()
        .await
        .unwrap();
    let response = browser().get(location(&response)).send().await.unwrap();
    let back = params(&location(
        &deliver_callback(app, &location(&response)).await,
    ));
    if let Some(code) = back.get("login_code") {
        assert_eq!(exchange(app, code, &side.verifier).await.status(), 200);
    }
    back
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_verify_only_against_the_providers_published_keys() {
    let (first, rotated, foreign) = (key(), key(), key());
    let state = Arc::new(Mutex::new(StandIn {
        issuer: String::new(),
        signer: (first.clone(), first.kid.clone()),
        published: vec![first.jwk.clone()],
        lifetime: 300,
        nonces: HashMap::new(),
    }));
    let shared = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(shared.clone()))
            .route(
                "/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/authorize", web::get().to(authorize))
            .route("/token", web::post().to(token))
            .route("/jwks", web::get().to(jwks))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let issuer = format!("http://{}", server.addrs()[0]);
    state.lock().unwrap().issuer = issuer.clone();
    let running = server.run();
    let stop = running.handle();
    tokio::spawn(running);
    let app = TestApp::spawn_with(
        Db::Sqlite,
        &[
            ("PUBLIC_URL", PUBLIC_URL),
            ("OAUTH_PROVIDERS", "stan"),
            ("OAUTH_STAN_ISSUER", &issuer),
            ("OAUTH_STAN_CLIENT_ID", "stand-in-client"),
            ("OAUTH_STAN_CLIENT_SECRET", "stand-in-secret"),
            ("OAUTH_REDIRECT_ALLOWLIST", APP),
        ],
    )
    .await;

    assert!(
        stand_in_login(&app).await.contains_key("login_code"),
        "the published key"
    );
    // The provider rotates its key: the unknown kid makes auth-server fetch the JWKS again.
    {
        let mut state = state.lock().unwrap();
        state.published.push(rotated.jwk.clone());
        state.signer = (rotated.clone(), rotated.kid.clone());
    }
    assert!(
        stand_in_login(&app).await.contains_key("login_code"),
        "the rotated key"
    );
    // A key the provider never published, under its own kid or a published one.
    for kid in [foreign.kid.clone(), rotated.kid.clone()] {
        state.lock().unwrap().signer = (foreign.clone(), kid);
        assert_eq!(stand_in_login(&app).await["error"], "login_failed");
    }
    // An expired ID token.
    {
        let mut state = state.lock().unwrap();
        state.signer = (rotated.clone(), rotated.kid.clone());
        state.lifetime = -5;
    }
    assert_eq!(stand_in_login(&app).await["error"], "login_failed");
    stop.stop(false).await;
}
