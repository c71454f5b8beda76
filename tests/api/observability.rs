//! Operating the server: Prometheus metrics, request ids, and the OpenAPI document and the
//! HTML reference page matching the routes actually served.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{assert_error, seed_user, Db, TestApp};

/// Every route the server answers, as (method, path). A route added to the server must be
/// added here and documented (`#[utoipa::path]` + `ApiDoc`), or these tests fail.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/create"),
    ("POST", "/login"),
    ("POST", "/refresh-access"),
    ("GET", "/"),
    ("GET", "/users/me"),
    ("POST", "/logout"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
];

async fn metrics_text(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

/// The value of one sample line (`name{labels} value`), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse::<f64>().ok())?
        })
        .unwrap_or(0.0)
}

async fn metrics_count_requests_logins_reuse_and_pool(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, refresh) = app.seed_tokens().await;
    let wrong = app.login("john@doe.com", "not-the-password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(app.refresh(&refresh).await.status(), 200);
    assert_eq!(app.refresh(&refresh).await.status(), 401, "replay is reuse");
    let unknown = app
        .client
        .get(app.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let text = metrics_text(&app).await;
    let requests = |method: &str, route: &str, status: &str| {
        sample(
            &text,
            &format!(
                "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests("POST", "/create", "201"), 1.0, "{text}");
    assert_eq!(requests("POST", "/login", "200"), 1.0);
    assert_eq!(requests("POST", "/login", "401"), 1.0);
    assert_eq!(requests("POST", "/refresh-access", "200"), 1.0);
    assert_eq!(requests("POST", "/refresh-access", "401"), 1.0);
    assert_eq!(
        requests("GET", "unmatched", "404"),
        1.0,
        "no label per unknown path"
    );
    assert_eq!(
        sample(
            &text,
            "http_request_duration_seconds_count{method=\"POST\",route=\"/login\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            "http_request_duration_seconds_bucket{method=\"POST\",route=\"/login\",le=\"+Inf\"}"
        ),
        2.0
    );
    assert_eq!(sample(&text, "login_successes_total"), 1.0);
    assert_eq!(sample(&text, "login_failures_total"), 1.0);
    assert!(
        text.contains("login_lockouts_total 0"),
        "the hook is exported"
    );
    assert_eq!(sample(&text, "refresh_reuse_detected_total"), 1.0);
    // The test server's pool has 4 connections at most; at least one is open by now.
    assert_eq!(sample(&text, "db_pool_max_connections"), 4.0);
    let open = sample(&text, "db_pool_connections");
    assert!((1.0..=4.0).contains(&open), "{open}");
    assert_eq!(
        sample(&text, "db_pool_idle_connections") + sample(&text, "db_pool_in_use_connections"),
        open
    );
    // No secret ever reaches the metrics.
    assert!(!text.contains("john@doe.com") && !text.contains(&refresh));
}

async fn request_ids_are_echoed_when_sane_and_generated_otherwise(db: Db) {
    let app = TestApp::spawn(db).await;
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
            .expect("every response carries X-Request-Id")
    };

    let plain = app.client.get(app.url("/health")).send().await.unwrap();
    let generated = id_of(&plain);
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    let echoed = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "trace-42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&echoed), "trace-42.a_b");

    for insane in ["has space", &"x".repeat(65), "quote\"d", "semi;colon"] {
        let response = app
            .client
            .get(app.url("/health"))
            .header("X-Request-Id", insane)
            .send()
            .await
            .unwrap();
        let id = id_of(&response);
        assert_ne!(id, insane);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }

    // Errors raised by the auth middleware, unknown routes and wrong methods carry it too.
    let unauthenticated = app
        .client
        .get(app.url("/"))
        .header("X-Request-Id", "req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&unauthenticated), "req-1");
    assert_error(unauthenticated, 401, "not_authenticated").await;
    let missing = app.client.get(app.url("/nowhere")).send().await.unwrap();
    id_of(&missing);
    assert_error(missing, 404, "not_found").await;
    let wrong_method = app.client.delete(app.url("/login")).send().await.unwrap();
    id_of(&wrong_method);
    assert_error(wrong_method, 405, "method_not_allowed").await;

    let ids: BTreeSet<String> =
        futures_util::future::join_all((0..5).map(|_| app.client.get(app.url("/health")).send()))
            .await
            .into_iter()
            .map(|response| id_of(&response.unwrap()))
            .collect();
    assert_eq!(ids.len(), 5, "generated ids are unique");
}

async fn openapi_document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Backticked `snake_case` words of a description: the error codes it lists.
fn codes_in(description: &str) -> Vec<String> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_owned)
        .collect()
}

async fn openapi_lists_every_route_response_and_error_code(db: Db) {
    let app = TestApp::spawn(db).await;
    let doc = openapi_document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "OpenAPI 3.1: {}",
        doc["openapi"]
    );

    let mut documented = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents a success"
            );
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let description = response["description"].as_str().unwrap();
                    let listed = codes_in(description);
                    assert!(
                        !listed.is_empty(),
                        "{method} {path} {status} names its code: {description:?}"
                    );
                    codes.extend(listed);
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, served, "documented routes = served routes");
    for code in [
        "malformed_body",
        "validation_failed",
        "payload_too_large",
        "not_authenticated",
        "invalid_token",
        "invalid_credentials",
        "email_taken",
        "username_taken",
        "service_unavailable",
        "internal_error",
    ] {
        assert!(codes.contains(code), "{code} is documented: {codes:?}");
    }

    // Every documented route is served at its method, and other methods get 405.
    for (method, path) in ROUTES {
        let response = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            )
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 404, "{method} {path} is served");
        let other = if *method == "GET" {
            Method::PUT
        } else {
            Method::GET
        };
        let response = app
            .client
            .request(other, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{path}");
    }

    // The schemas the bodies name exist, and the user shape has every field of the contract.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "UserOut",
        "RegisterBody",
        "LoginBody",
        "RefreshBody",
        "TokenPairOut",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    let user = app
        .register(&seed_user())
        .await
        .json::<Value>()
        .await
        .unwrap();
    let user_fields: BTreeSet<&String> = user.as_object().unwrap().keys().collect();
    let schema_fields: BTreeSet<&String> = schemas["UserOut"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(user_fields, schema_fields);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

async fn openapi_follows_configured_token_names(db: Db) {
    let app = TestApp::spawn_with(
        db,
        &[
            ("ACCESS_TOKEN_NAME", "access"),
            ("REFRESH_TOKEN_NAME", "refresh"),
        ],
    )
    .await;
    let doc = openapi_document(&app).await;
    let pair = doc["components"]["schemas"]["TokenPairOut"]["properties"]
        .as_object()
        .unwrap();
    assert!(pair.contains_key("access") && pair.contains_key("refresh"));
    assert!(!pair.contains_key("access_token"));
}

async fn docs_page_is_self_contained_html_listing_every_route(db: Db) {
    let app = TestApp::spawn(db).await;
    let response = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = response.text().await.unwrap();
    for (method, path) in ROUTES {
        assert!(
            html.contains(&format!(
                "{method}</span> <code class=\"path\">{path}</code>"
            )),
            "{method} {path} on the page"
        );
    }
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
}

crate::on_both_databases!(
    metrics_count_requests_logins_reuse_and_pool,
    request_ids_are_echoed_when_sane_and_generated_otherwise,
    openapi_lists_every_route_response_and_error_code,
    openapi_follows_configured_token_names,
    docs_page_is_self_contained_html_listing_every_route,
);
