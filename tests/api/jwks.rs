//! Asymmetric signing end to end: a third-party service fetches `/.well-known/jwks.json` and
//! verifies auth-server's access tokens with it, with no shared secret; key rotation.

use auth_infra::test_keys::{self, TempDir, TestKeyPair};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::support::{assert_error, Db, TestApp, ISSUER};

/// Overrides that make a server sign with `private` and also accept `public`.
fn key_settings(
    dir: &TempDir,
    algorithm: &str,
    private: &TestKeyPair,
    public: &[&TestKeyPair],
) -> Vec<(String, String)> {
    let private_file = dir.write(
        &format!("{}.pem", uuid::Uuid::new_v4()),
        &private.private_pem,
    );
    let public_files: Vec<String> = public
        .iter()
        .map(|key| {
            dir.write(
                &format!("{}.pub.pem", uuid::Uuid::new_v4()),
                &key.public_pem,
            )
            .display()
            .to_string()
        })
        .collect();
    vec![
        ("JWT_ALGORITHM".into(), algorithm.into()),
        // The helpers' default HMAC secret is not used with key files.
        ("JWT_SECRET".into(), String::new()),
        (
            "JWT_PRIVATE_KEY_FILE".into(),
            private_file.display().to_string(),
        ),
        ("JWT_PUBLIC_KEY_FILES".into(), public_files.join(", ")),
    ]
}

fn borrowed(settings: &[(String, String)]) -> Vec<(&str, &str)> {
    settings
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

async fn fetch_jwks(app: &TestApp) -> JwkSet {
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let cache = response.headers()["cache-control"].to_str().unwrap();
    assert!(
        cache.contains("public") && cache.contains("max-age="),
        "{cache}"
    );
    let raw: Value = response.json().await.unwrap();
    for key in raw["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig", "{key}");
        assert!(key["kid"].is_string() && key["alg"].is_string(), "{key}");
        for private_member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private_member).is_none(),
                "{private_member} in {key}"
            );
        }
    }
    serde_json::from_value(raw).unwrap()
}

/// What another service does: pick the published key by the token's `kid`, verify.
fn verify_like_a_third_party(jwks: &JwkSet, token: &str, algorithm: Algorithm) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, algorithm);
    let kid = header.kid.expect("every token names its key");
    let jwk = jwks.find(&kid).expect("the token's key is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the token verifies with the published key")
        .claims
}

async fn third_party_verifies(db: Db, algorithm: Algorithm, name: &str, key: TestKeyPair) {
    let dir = TempDir::new();
    let settings = key_settings(&dir, name, &key, &[]);
    let app = TestApp::spawn_with(db, &borrowed(&settings)).await;
    let (access, refresh) = app.seed_tokens().await;

    let jwks = fetch_jwks(&app).await;
    assert_eq!(jwks.keys.len(), 1);
    let claims = verify_like_a_third_party(&jwks, &access, algorithm);
    assert_eq!(claims["token_type"], "access");
    let me: Value = app
        .get_with_token("/users/me", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(claims["sub"], me["id"]);

    // The server itself accepts its tokens, refresh included.
    let home = app.get_with_token("/", &access).await;
    assert_eq!(home.status(), 200);
    assert_eq!(app.refresh(&refresh).await.status(), 200);

    // A tampered token fails for the third party too.
    let mut parts: Vec<&str> = access.split('.').collect();
    let other = app.login("john@doe.com", "johnspassword1234@!").await;
    let other: Value = other.json().await.unwrap();
    let other_access = other["access_token"].as_str().unwrap().to_owned();
    let other_payload = other_access.split('.').nth(1).unwrap().to_owned();
    parts[1] = &other_payload;
    let spliced = parts.join(".");
    let key = DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[ISSUER]);
    assert!(jsonwebtoken::decode::<Value>(&spliced, &key, &validation).is_err());
    assert_error(
        app.get_with_token("/", &spliced).await,
        401,
        "invalid_token",
    )
    .await;
}

async fn rs256_tokens_verify_with_the_published_jwks(db: Db) {
    third_party_verifies(db, Algorithm::RS256, "RS256", test_keys::shared_rsa()).await;
}

async fn es256_tokens_verify_with_the_published_jwks(db: Db) {
    third_party_verifies(db, Algorithm::ES256, "ES256", test_keys::p256()).await;
}

async fn eddsa_tokens_verify_with_the_published_jwks(db: Db) {
    third_party_verifies(db, Algorithm::EdDSA, "EdDSA", test_keys::ed25519()).await;
}

async fn hmac_publishes_an_empty_key_set(db: Db) {
    let app = TestApp::spawn(db).await;
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "keys": [] }));
    // HMAC tokens name their key too.
    let (access, _) = app.seed_tokens().await;
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert!(header.kid.is_some_and(|kid| !kid.is_empty()));
    // Only GET.
    let post = app
        .client
        .post(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

/// A second server on the same database, with other keys (a redeploy).
struct Redeployed {
    address: String,
    handle: actix_web::dev::ServerHandle,
}

impl Redeployed {
    async fn start(app: &TestApp, settings: &[(String, String)]) -> Self {
        let server = TestApp::build(app.db.raw_url(), &borrowed(settings)).await;
        let address = format!("http://{}", server.address());
        let handle = server.handle();
        tokio::spawn(server.run());
        Self { address, handle }
    }

    async fn home(&self, app: &TestApp, token: &str) -> reqwest::Response {
        app.client
            .get(format!("{}/", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn jwks(&self, app: &TestApp) -> JwkSet {
        app.client
            .get(format!("{}/.well-known/jwks.json", self.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Redeployed {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn rotation_keeps_old_tokens_while_their_key_is_listed(db: Db) {
    let dir = TempDir::new();
    let (old, new) = (test_keys::p256(), test_keys::p256());
    let app = TestApp::spawn_with(db, &borrowed(&key_settings(&dir, "ES256", &old, &[]))).await;
    let (old_access, _) = app.seed_tokens().await;
    let old_kid = jsonwebtoken::decode_header(&old_access).unwrap().kid;

    // The new key signs; the old public key is still listed: old tokens keep working and
    // both keys are published, the signing one first.
    let during = Redeployed::start(&app, &key_settings(&dir, "ES256", &new, &[&old])).await;
    assert_eq!(during.home(&app, &old_access).await.status(), 200);
    let jwks = during.jwks(&app).await;
    assert_eq!(jwks.keys.len(), 2);
    assert_eq!(jwks.keys[1].common.key_id, old_kid);
    verify_like_a_third_party(&jwks, &old_access, Algorithm::ES256);
    let new_access: Value = app
        .client
        .post(format!("{}/login", during.address))
        .json(&serde_json::json!({"email": "john@doe.com", "password": "johnspassword1234@!"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_access = new_access["access_token"].as_str().unwrap().to_owned();
    assert_ne!(
        jsonwebtoken::decode_header(&new_access).unwrap().kid,
        old_kid
    );
    verify_like_a_third_party(&jwks, &new_access, Algorithm::ES256);

    // The old key's file is removed from the list: its tokens are refused.
    let after = Redeployed::start(&app, &key_settings(&dir, "ES256", &new, &[])).await;
    assert_error(after.home(&app, &old_access).await, 401, "invalid_token").await;
    assert_eq!(after.home(&app, &new_access).await.status(), 200);
    assert_eq!(after.jwks(&app).await.keys.len(), 1);
}

crate::on_both_databases!(
    rs256_tokens_verify_with_the_published_jwks,
    es256_tokens_verify_with_the_published_jwks,
    eddsa_tokens_verify_with_the_published_jwks,
    hmac_publishes_an_empty_key_set,
    rotation_keeps_old_tokens_while_their_key_is_listed,
);
