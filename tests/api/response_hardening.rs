//! `X-Content-Type-Options: nosniff` everywhere; CORS only for configured origins.

use reqwest::{Method, Response};
use serde_json::json;

use crate::support::{Db, TestApp};

fn nosniff(response: &Response) -> Option<&str> {
    response
        .headers()
        .get("x-content-type-options")
        .and_then(|v| v.to_str().ok())
}

fn allow_origin(response: &Response) -> Option<String> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn every_response_says_nosniff(db: Db) {
    let app = TestApp::spawn(db).await;
    let c = &app.client;
    let responses = [
        ("200", c.get(app.url("/health")).send().await.unwrap()),
        (
            "404",
            c.get(app.url("/no/such/route")).send().await.unwrap(),
        ),
        ("405", c.get(app.url("/login")).send().await.unwrap()),
        (
            "401 without token",
            c.get(app.url("/users/me")).send().await.unwrap(),
        ),
        (
            "401 bad token",
            app.get_with_token("/users/me", "not.a.jwt").await,
        ),
        (
            "401 login",
            app.login("nobody@doe.com", "whatever-123").await,
        ),
        (
            "400",
            c.post(app.url("/login"))
                .header("content-type", "application/json")
                .body("{not json")
                .send()
                .await
                .unwrap(),
        ),
        (
            "422",
            app.post_json("/create", &json!({ "email": 3 })).await,
        ),
        (
            "OPTIONS",
            c.request(Method::OPTIONS, app.url("/login"))
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (what, response) in &responses {
        assert_eq!(nosniff(response), Some("nosniff"), "{what}: {response:?}");
    }
    let (access, _) = app.seed_tokens().await;
    let login = app.login("john@doe.com", "johnspassword1234@!").await;
    assert_eq!(nosniff(&login), Some("nosniff"));
    let me = app.get_with_token("/users/me", &access).await;
    assert_eq!(nosniff(&me), Some("nosniff"));
}

async fn cors_is_off_by_default(db: Db) {
    let app = TestApp::spawn(db).await;
    let simple = app
        .client
        .get(app.url("/health"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(simple.status(), 200);
    assert_eq!(allow_origin(&simple), None);
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/login"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&preflight), None);
    assert!(preflight
        .headers()
        .get("access-control-allow-methods")
        .is_none());
}

async fn cors_allows_the_listed_origins_only(db: Db) {
    let app = TestApp::spawn_with(
        db,
        &[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        )],
    )
    .await;
    let get_from = |origin: &'static str, path: &'static str| {
        app.client
            .get(app.url(path))
            .header("origin", origin)
            .send()
    };
    let allowed = get_from("https://app.example.com", "/health")
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allow_origin(&allowed).as_deref(),
        Some("https://app.example.com")
    );
    let local = get_from("http://localhost:3000", "/health").await.unwrap();
    assert_eq!(
        allow_origin(&local).as_deref(),
        Some("http://localhost:3000")
    );

    let other = get_from("https://evil.example.net", "/health")
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert_eq!(allow_origin(&other), None);

    // Errors are readable by an allowed page too (a 401 from the auth middleware).
    let unauthorised = get_from("https://app.example.com", "/users/me")
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    assert_eq!(
        allow_origin(&unauthorised).as_deref(),
        Some("https://app.example.com")
    );

    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        allow_origin(&ok).as_deref(),
        Some("https://app.example.com")
    );
    let methods = ok.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    assert_eq!(nosniff(&ok), Some("nosniff"));

    let refused = preflight("https://evil.example.net").await.unwrap();
    assert_eq!(allow_origin(&refused), None);
    assert!(refused.status().is_client_error());
    assert_eq!(nosniff(&refused), Some("nosniff"));
    let body: serde_json::Value = refused.json().await.expect("JSON error body");
    assert!(body["code"].is_string(), "{body}");
}

crate::on_both_databases!(
    every_response_says_nosniff,
    cors_is_off_by_default,
    cors_allows_the_listed_origins_only,
);
