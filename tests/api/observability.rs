//! Operating the server: Prometheus metrics, request ids, and the OpenAPI document and the
//! HTML reference page matching the routes actually served.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{assert_error, seed_user, Db, TestApp};
use crate::support::{create_root, get, json_of, login, register, ROOT_EMAIL, ROOT_PASSWORD};

/// Every route the server answers, as (method, path). A route added to the server must be
/// added here and documented (`#[utoipa::path]` + `ApiDoc`), or these tests fail; the served
/// set is also read back from the server itself (see [`served_routes`]), so a route that is
/// neither listed here nor documented fails them too.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/create"),
    ("POST", "/login"),
    ("POST", "/refresh-access"),
    ("GET", "/"),
    ("GET", "/users/me"),
    ("PATCH", "/users/me"),
    ("POST", "/users/me/password"),
    ("POST", "/logout"),
    ("GET", "/sessions"),
    ("DELETE", "/sessions/{id}"),
    ("POST", "/logout-all"),
    ("GET", "/users"),
    ("GET", "/users/{id}"),
    ("PATCH", "/users/{id}"),
    ("DELETE", "/users/{id}"),
    ("GET", "/users/{id}/audit"),
    ("POST", "/verify-email/request"),
    ("POST", "/verify-email"),
    ("POST", "/password-reset/request"),
    ("POST", "/password-reset/confirm"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/login/mfa"),
    ("GET", "/users/me/mfa"),
    ("POST", "/users/me/mfa/totp"),
    ("DELETE", "/users/me/mfa/totp"),
    ("POST", "/users/me/mfa/totp/confirm"),
    ("POST", "/users/me/mfa/recovery-codes"),
    ("DELETE", "/users/{id}/mfa"),
    ("GET", "/oauth/providers"),
    ("GET", "/oauth/{provider}/authorize"),
    ("GET", "/oauth/{provider}/callback"),
    ("POST", "/oauth/token"),
    ("GET", "/users/me/identities"),
    ("POST", "/users/me/identities/{id}"),
    ("DELETE", "/users/me/identities/{id}"),
    ("POST", "/users/me/passkeys/registration"),
    ("POST", "/users/me/passkeys"),
    ("GET", "/users/me/passkeys"),
    ("PATCH", "/users/me/passkeys/{id}"),
    ("DELETE", "/users/me/passkeys/{id}"),
    ("POST", "/login/passkey/options"),
    ("POST", "/login/passkey"),
    ("POST", "/login/mfa/passkey-options"),
    ("POST", "/users/me/reauthentication/options"),
];

/// Every error `code` the server answers with, and the statuses it comes with (see
/// `crates/api/src/error.rs` and `error/lifecycle.rs`, `recovery.rs`).
const CODES: &[(&str, &[&str])] = &[
    ("malformed_body", &["400"]),
    ("invalid_token", &["400", "401"]),
    ("not_authenticated", &["401"]),
    ("invalid_credentials", &["401", "403"]),
    ("forbidden", &["403"]),
    ("not_found", &["404"]),
    ("method_not_allowed", &["405"]),
    ("email_taken", &["409"]),
    ("username_taken", &["409"]),
    ("last_admin", &["409"]),
    ("payload_too_large", &["413"]),
    ("validation_failed", &["422"]),
    ("too_many_attempts", &["429"]),
    ("internal_error", &["500"]),
    ("service_unavailable", &["503"]),
    ("reauthentication_required", &["403"]),
    ("mfa_required", &["403"]),
    ("mfa_already_enabled", &["409"]),
    ("mfa_not_enabled", &["409"]),
    ("conflict", &["409"]),
    ("invalid_mfa_code", &["401", "422"]),
    ("unknown_provider", &["404"]),
    ("invalid_redirect", &["400"]),
    ("invalid_state", &["400"]),
    ("account_exists", &["409"]),
    ("invalid_credential", &["400"]),
    ("last_login_method", &["409"]),
];

/// Answers each of these routes must document, as (method, path, status, code), beyond what
/// the general rules of [`openapi_lists_every_route_response_and_error_code`] require.
const REQUIRED_ANSWERS: &[(&str, &str, &str, &str)] = &[
    ("POST", "/create", "409", "email_taken"),
    ("POST", "/create", "409", "username_taken"),
    ("POST", "/login", "401", "invalid_credentials"),
    ("POST", "/login", "429", "too_many_attempts"),
    ("POST", "/refresh-access", "401", "invalid_token"),
    ("PATCH", "/users/me", "409", "username_taken"),
    ("POST", "/users/me/password", "403", "invalid_credentials"),
    ("DELETE", "/sessions/{id}", "404", "not_found"),
    ("GET", "/users/{id}", "404", "not_found"),
    ("PATCH", "/users/{id}", "404", "not_found"),
    ("PATCH", "/users/{id}", "409", "last_admin"),
    ("DELETE", "/users/{id}", "404", "not_found"),
    ("DELETE", "/users/{id}", "409", "last_admin"),
    ("GET", "/users/{id}/audit", "404", "not_found"),
    ("GET", "/users", "422", "validation_failed"),
    ("GET", "/users/{id}/audit", "422", "validation_failed"),
    ("POST", "/verify-email", "400", "invalid_token"),
    ("POST", "/password-reset/confirm", "400", "invalid_token"),
    ("GET", "/metrics", "404", "not_found"),
    ("POST", "/login/passkey", "401", "invalid_credentials"),
    ("POST", "/users/me/passkeys", "400", "invalid_credential"),
    (
        "DELETE",
        "/users/me/passkeys/{id}",
        "409",
        "last_login_method",
    ),
    ("POST", "/login/mfa", "401", "invalid_mfa_code"),
    ("POST", "/login/mfa", "401", "invalid_token"),
    ("POST", "/login/mfa", "429", "too_many_attempts"),
    (
        "POST",
        "/users/me/mfa/totp",
        "403",
        "reauthentication_required",
    ),
    ("POST", "/users/me/mfa/totp", "409", "mfa_already_enabled"),
    (
        "POST",
        "/users/me/mfa/totp/confirm",
        "422",
        "invalid_mfa_code",
    ),
    (
        "DELETE",
        "/users/me/mfa/totp",
        "403",
        "reauthentication_required",
    ),
    ("DELETE", "/users/me/mfa/totp", "422", "invalid_mfa_code"),
    (
        "POST",
        "/users/me/mfa/recovery-codes",
        "409",
        "mfa_not_enabled",
    ),
    ("DELETE", "/users/{id}/mfa", "403", "mfa_required"),
    ("DELETE", "/users/{id}/mfa", "404", "not_found"),
    (
        "GET",
        "/oauth/{provider}/authorize",
        "400",
        "invalid_redirect",
    ),
    ("GET", "/oauth/{provider}/callback", "400", "invalid_state"),
    ("POST", "/oauth/token", "400", "invalid_token"),
    (
        "DELETE",
        "/users/me/identities/{id}",
        "409",
        "last_login_method",
    ),
];

/// Routes that never touch the database: no `service_unavailable`.
const WITHOUT_DATABASE: &[&str] = &[
    "/health",
    "/oauth/providers",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/.well-known/jwks.json",
];

/// A path of [`ROUTES`] as a URL path: `{id}` becomes a UUID nobody has.
fn concrete(path: &str) -> String {
    path.replace("{id}", "00000000-0000-4000-8000-000000000000")
}

/// The path of every resource `auth_api::scope` registers, read from its source.
fn resource_paths() -> BTreeSet<String> {
    // Every `web::resource("…")` of the api crate: each resource module registers its own.
    fn sources(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut scopes = Vec::new();
    let api_src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/api/src");
    sources(&api_src, &mut scopes);
    scopes
        .iter()
        .flat_map(|scope| {
            scope
                .split("web::resource(\"")
                .skip(1)
                .map(|rest| rest.split('"').next().unwrap().to_owned())
        })
        .collect()
}

/// What the server serves, as (method, path): the methods of each resource, from the
/// `Allow` header of its 405 answer to a method no route uses.
async fn served_routes(app: &TestApp) -> BTreeSet<(String, String)> {
    let paths = resource_paths();
    assert!(
        paths.len() >= 20,
        "resources found in crates/api/src: {paths:?}"
    );
    let mut served = BTreeSet::new();
    for path in paths {
        let response = app
            .client
            .request(Method::PUT, app.url(&concrete(&path)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "PUT {path} (no route uses PUT)");
        let allow = response
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("405 on {path} has Allow"))
            .to_str()
            .unwrap()
            .to_owned();
        for method in allow.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            served.insert((method.to_uppercase(), path.clone()));
        }
    }
    served
}

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
    let statuses_of: BTreeMap<&str, &[&str]> = CODES.iter().copied().collect();

    let mut documented = BTreeSet::new();
    // (method, path, status, code) for every code named by an error response.
    let mut answers = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            documented.insert((method.clone(), path.clone()));
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                // The social-login routes succeed with a redirect.
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || s.starts_with('3')),
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
                    for code in listed {
                        let statuses = statuses_of.get(code.as_str()).unwrap_or_else(|| {
                            panic!("{method} {path} {status}: `{code}` is not an error code")
                        });
                        assert!(
                            statuses.contains(&status.as_str()),
                            "{method} {path}: `{code}` never comes with {status}"
                        );
                        answers.insert((method.clone(), path.clone(), status.clone(), code));
                    }
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_same_routes("documented", &documented, &listed);
    assert_same_routes("served", &served_routes(&app).await, &listed);

    // The general rules: what follows from a route's shape.
    let has = |method: &str, path: &str, status: &str, code: &str| {
        answers.contains(&(method.into(), path.into(), status.into(), code.into()))
    };
    for (method, path) in ROUTES {
        let operation = &doc["paths"][path][method.to_lowercase()];
        let protected = operation.get("security").is_some();
        let with_body = operation.get("requestBody").is_some();
        let administration = operation["tags"]
            .as_array()
            .is_some_and(|tags| tags.contains(&json!("administration")));
        let codes_of = |wanted: &str| -> BTreeSet<String> {
            answers
                .iter()
                .filter(|(m, p, _, _)| m == method && p == path)
                .filter(|(_, _, _, code)| code == wanted)
                .map(|(_, _, status, _)| status.clone())
                .collect()
        };
        assert_eq!(
            protected,
            has(method, path, "401", "not_authenticated")
                && has(method, path, "401", "invalid_token"),
            "{method} {path}: 401 `not_authenticated` | `invalid_token` exactly when protected"
        );
        assert!(
            protected || codes_of("not_authenticated").is_empty(),
            "{method} {path}"
        );
        for code in ["malformed_body", "payload_too_large"] {
            assert_eq!(
                with_body,
                !codes_of(code).is_empty(),
                "{method} {path}: `{code}` exactly when there is a request body"
            );
        }
        if with_body {
            assert!(
                has(method, path, "422", "validation_failed"),
                "{method} {path}"
            );
        }
        assert_eq!(
            administration,
            has(method, path, "403", "forbidden"),
            "{method} {path}: 403 `forbidden` exactly on the administration routes"
        );
        let uses_database = !WITHOUT_DATABASE.contains(path);
        assert_eq!(
            uses_database,
            has(method, path, "503", "service_unavailable"),
            "{method} {path}: 503 `service_unavailable` exactly when the database is used"
        );
        if uses_database {
            assert!(
                has(method, path, "500", "internal_error"),
                "{method} {path}"
            );
        }
    }
    for (method, path, status, code) in REQUIRED_ANSWERS {
        assert!(
            has(method, path, status, code),
            "{method} {path} documents {status} `{code}`"
        );
    }
    for (code, _) in CODES {
        if *code != "method_not_allowed" {
            assert!(
                answers.iter().any(|(_, _, _, c)| c == code),
                "`{code}` is documented on a route"
            );
        }
    }
    let code_description = doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]
        ["description"]
        .as_str()
        .unwrap();
    for (code, _) in CODES {
        assert!(
            codes_in(code_description).contains(&(*code).to_owned()),
            "ErrorBody.code lists `{code}`"
        );
    }
    let retry_after = &doc["paths"]["/login"]["post"]["responses"]["429"]["headers"]["Retry-After"];
    assert_eq!(retry_after["schema"]["type"], "integer", "{retry_after}");

    // Every documented route is served at its method, and other methods get 405.
    for (method, path) in ROUTES {
        let url = app.url(&concrete(path));
        let response = app
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 404, "{method} {path} is served");
        let other = ["GET", "POST", "DELETE", "PATCH", "PUT"]
            .into_iter()
            .find(|other| !ROUTES.contains(&(*other, *path)))
            .unwrap();
        let response = app
            .client
            .request(Method::from_bytes(other.as_bytes()).unwrap(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{other} {path}");
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
        "ProfileChangeBody",
        "ChangePasswordBody",
        "PrivilegeChangeBody",
        "SessionList",
        "SessionOut",
        "UserPage",
        "AuditPage",
        "AuditEventOut",
        "TokenBody",
        "ResetRequestBody",
        "ResetConfirmBody",
        "JwkSet",
        "Jwk",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    let user = app
        .register(&seed_user())
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_fields(&user, &schemas["UserOut"], "UserOut");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

fn assert_same_routes(
    what: &str,
    routes: &BTreeSet<(String, String)>,
    listed: &BTreeSet<(String, String)>,
) {
    let missing: Vec<_> = listed.difference(routes).collect();
    let unlisted: Vec<_> = routes.difference(listed).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "{what} routes = ROUTES; in ROUTES only: {missing:?}; {what} only: {unlisted:?}"
    );
}

/// The keys of a real answer are exactly the properties of its documented schema.
fn assert_fields(body: &Value, schema: &Value, name: &str) {
    let body_fields: BTreeSet<&String> = body
        .as_object()
        .unwrap_or_else(|| panic!("{name}: {body}"))
        .keys()
        .collect();
    let schema_fields: BTreeSet<&String> =
        schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(body_fields, schema_fields, "{name}");
}

/// The listings' schemas match what the server really answers.
async fn openapi_schemas_match_the_answers(db: Db) {
    let app = TestApp::spawn(db).await;
    let doc = openapi_document(&app).await;
    let schemas = &doc["components"]["schemas"];
    create_root(&app).await;
    let root = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let user_id = register(&app, "jane@example.com").await;

    let sessions = json_of(get(&app, "/sessions", &root.access).await, 200).await;
    assert_fields(&sessions, &schemas["SessionList"], "SessionList");
    assert_fields(&sessions["items"][0], &schemas["SessionOut"], "SessionOut");

    let users = json_of(get(&app, "/users?limit=1", &root.access).await, 200).await;
    assert_fields(&users, &schemas["UserPage"], "UserPage");
    assert_fields(&users["items"][0], &schemas["UserOut"], "UserOut");

    let audit = json_of(
        get(&app, &format!("/users/{user_id}/audit"), &root.access).await,
        200,
    )
    .await;
    assert_fields(&audit, &schemas["AuditPage"], "AuditPage");
    assert_fields(
        &audit["items"][0],
        &schemas["AuditEventOut"],
        "AuditEventOut",
    );

    let jwks = json_of(
        app.client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_fields(&jwks, &schemas["JwkSet"], "JwkSet");
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
    for (code, _) in CODES {
        assert!(
            html.contains(&format!("<code>{code}</code>")),
            "`{code}` on the page"
        );
    }
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
}

crate::on_both_databases!(
    metrics_count_requests_logins_reuse_and_pool,
    request_ids_are_echoed_when_sane_and_generated_otherwise,
    openapi_lists_every_route_response_and_error_code,
    openapi_schemas_match_the_answers,
    openapi_follows_configured_token_names,
    docs_page_is_self_contained_html_listing_every_route,
);
