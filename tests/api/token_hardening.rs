//! Hardening of token verification: a `crit` header is refused (the server understands no
//! extension), and user and session ids must be written canonically.

use serde_json::json;

use crate::forge::{sign_with_header, test_kid, Claims};
use crate::support::{assert_token_refused, Db, TestApp};

fn header(extra: Option<(&str, serde_json::Value)>) -> serde_json::Value {
    let mut header = json!({ "alg": "HS256", "typ": "JWT", "kid": test_kid() });
    if let Some((name, value)) = extra {
        header[name] = value;
    }
    header
}

async fn a_token_with_a_crit_header_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, _) = app.seed_tokens().await;
    let claims = Claims::access_like(&access);
    // The same claims and signing key without `crit` are accepted: only the header differs.
    let plain = sign_with_header(&header(None), &claims);
    assert_eq!(app.get_with_token("/users/me", &plain).await.status(), 200);
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("exp")] {
        let token = sign_with_header(&header(Some(("crit", crit.clone()))), &claims);
        let refused = app.get_with_token("/users/me", &token).await;
        assert_token_refused(refused, &token).await;
    }
}

async fn user_and_session_ids_must_be_canonical_uuids(db: Db) {
    let app = TestApp::spawn(db).await;
    let (access, _) = app.seed_tokens().await;
    let real = Claims::access_like(&access);
    let spellings = |id: &str| {
        let simple = id.replace('-', "");
        vec![
            id.to_uppercase(),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            simple,
        ]
    };
    for sub in spellings(&real.sub) {
        let claims = Claims {
            sub,
            ..real.clone()
        };
        let token = sign_with_header(&header(None), &claims);
        assert_token_refused(app.get_with_token("/users/me", &token).await, &token).await;
    }
    for sid in spellings(&real.sid) {
        let claims = Claims {
            sid,
            ..real.clone()
        };
        let token = sign_with_header(&header(None), &claims);
        assert_token_refused(app.get_with_token("/users/me", &token).await, &token).await;
    }
}

crate::on_both_databases!(
    a_token_with_a_crit_header_is_refused,
    user_and_session_ids_must_be_canonical_uuids,
);
