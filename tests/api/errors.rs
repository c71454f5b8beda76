//! Every bad input gets the contract's JSON error, never a 5xx; login failures look alike;
//! nothing ever shows a password or its hash.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::support::{assert_bearer_challenge, assert_error, seed_user, Db, TestApp};

const JSON_ROUTES: [&str; 3] = ["/create", "/login", "/refresh-access"];

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let mut request = app.client.request(method, app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

async fn malformed_json_is_400(db: Db) {
    let app = TestApp::spawn(db).await;
    for path in JSON_ROUTES {
        for raw in [
            "{\"email\": ",
            "{email: 'a@b.c'}",
            "{\"email\":\"a@b.co\",\"password\":\"12345678\"} trailing",
            "",
        ] {
            let response = send(&app, Method::POST, path, Some("application/json"), raw).await;
            assert_error(response, 400, "malformed_body").await;
        }
    }
}

async fn body_not_sent_as_json_is_400(db: Db) {
    let app = TestApp::spawn(db).await;
    let valid = serde_json::to_string(&seed_user()).unwrap();
    for path in JSON_ROUTES {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let response = send(&app, Method::POST, path, content_type, valid.clone()).await;
            assert_error(response, 400, "malformed_body").await;
        }
    }
    // Nothing was registered by those requests.
    assert_eq!(app.register(&seed_user()).await.status(), 201);
}

async fn json_of_the_wrong_shape_is_422(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut wrong = Vec::new();
    for path in JSON_ROUTES {
        for raw in [
            "[]",
            // Arrays holding valid values in the order of the fields.
            "[\"john@doe.com\", \"johnspassword1234@!\"]",
            "[\"john@doe.com\", \"johnspassword1234@!\", \"john.doe\", \"John\", \"Doe\", null]",
            "42",
            "\"x\"",
            "null",
        ] {
            let response = send(&app, Method::POST, path, Some("application/json"), raw).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_default();
            if status != 422 || body["code"] != "validation_failed" {
                wrong.push(format!("POST {path} {raw} -> {status} {body}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "expected 422 validation_failed:\n{}",
        wrong.join("\n")
    );
    // In particular, nobody was registered by an array.
    assert_eq!(app.register(&seed_user()).await.status(), 201);
}

async fn wrong_type_names_the_field(db: Db) {
    let app = TestApp::spawn(db).await;
    for path in ["/create", "/login"] {
        let body = json!({ "email": 5, "password": "johnspassword1234@!" });
        let response = app.post_json(path, &body).await;
        let error = assert_error(response, 422, "validation_failed").await;
        assert_eq!(error["errors"][0]["field"], "email", "{path}: {error}");
        assert!(error["errors"][0]["message"].is_string(), "{error}");
    }
}

async fn missing_password_names_the_field(db: Db) {
    let app = TestApp::spawn(db).await;
    for path in ["/create", "/login"] {
        let response = app
            .post_json(path, &json!({ "email": "john@doe.com" }))
            .await;
        let error = assert_error(response, 422, "validation_failed").await;
        let errors = error["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{path}: {error}");
        assert_eq!(errors[0]["field"], "password", "{path}: {error}");
    }
}

async fn body_over_64_kib_is_413(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut body = seed_user();
    body["first_name"] = json!("x".repeat(70 * 1024));
    for path in JSON_ROUTES {
        let response = app.post_json(path, &body).await;
        assert_error(response, 413, "payload_too_large").await;
    }
    // Just under the limit is read (and judged on its content).
    body["first_name"] = json!("x".repeat(60 * 1024));
    let response = app.register(&body).await;
    let error = assert_error(response, 422, "validation_failed").await;
    assert_eq!(error["errors"][0]["field"], "first_name", "{error}");
}

async fn unknown_route_is_404_json(db: Db) {
    let app = TestApp::spawn(db).await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/nope"),
        (Method::GET, "/users/me/extra"),
        (Method::GET, "/create/x"),
    ] {
        let response = send(&app, method, path, None, "").await;
        assert_error(response, 404, "not_found").await;
    }
}

async fn wrong_method_is_405_json(db: Db) {
    let app = TestApp::spawn(db).await;
    for (method, path) in [
        (Method::GET, "/login"),
        (Method::DELETE, "/create"),
        (Method::PUT, "/refresh-access"),
        (Method::POST, "/health"),
    ] {
        let response = send(&app, method.clone(), path, None, "").await;
        assert_error(response, 405, "method_not_allowed").await;
    }
}

async fn health_is_ok(db: Db) {
    let app = TestApp::spawn(db).await;
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "status": "ok" }));
}

async fn ready_is_ok_when_the_database_answers(db: Db) {
    let app = TestApp::spawn(db).await;
    let response = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").unwrap();
    assert!(content_type
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

/// Status, body and headers (less `date`) of a refused login.
async fn login_refusal(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (u16, Vec<(String, String)>, Value) {
    let response = app.login(email, password).await;
    assert_bearer_challenge(&response, false);
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date" && *name != "x-request-id")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    let body: Value = response.json().await.unwrap();
    (status, headers, body)
}

async fn login_failures_are_indistinguishable(db: Db) {
    let app = TestApp::spawn(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    let other = json!({ "email": "inactive@example.com", "password": "inactivepass123" });
    assert_eq!(app.register(&other).await.status(), 201);
    app.login_pair("inactive@example.com", "inactivepass123")
        .await;
    let updated =
        app.execute_sql("UPDATE users SET is_active = false WHERE email = 'inactive@example.com'");
    assert_eq!(updated, 1);

    let wrong_password = login_refusal(&app, "john@doe.com", "not-johns-password").await;
    let unknown_email = login_refusal(&app, "nobody@doe.com", "johnspassword1234@!").await;
    let inactive = login_refusal(&app, "inactive@example.com", "inactivepass123").await;

    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password.2["code"], "invalid_credentials");
    assert!(wrong_password.2["detail"].is_string());
    assert_eq!(
        unknown_email, wrong_password,
        "unknown email vs wrong password"
    );
    assert_eq!(inactive, wrong_password, "inactive user vs wrong password");
}

/// Every body, header and status line of a response, as one string.
async fn everything(response: Response) -> String {
    let mut text = format!("{}\n", response.status());
    for (name, value) in response.headers() {
        text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or_default()));
    }
    text + &response.text().await.unwrap()
}

async fn no_response_contains_a_password_or_hash(db: Db) {
    let app = TestApp::spawn(db).await;
    let password = "johnspassword1234@!";
    let mut seen = Vec::new();

    seen.push(everything(app.register(&seed_user()).await).await);
    seen.push(everything(app.register(&seed_user()).await).await);
    let login = app.login("john@doe.com", password).await;
    assert_eq!(login.status(), 200);
    let tokens: Value = login.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    seen.push(everything(app.get_with_token("/users/me", access).await).await);
    seen.push(everything(app.get_with_token("/", access).await).await);
    seen.push(everything(app.refresh(refresh).await).await);
    seen.push(everything(app.login("john@doe.com", "johnspassword1234@?").await).await);
    // Invalid passwords are not echoed in validation errors either.
    for bad in [
        json!({ "email": "x@doe.com", "password": "short7!" }),
        json!({ "email": "x@doe.com", "password": format!("{password}{}", "y".repeat(60)) }),
        json!({ "email": "x@doe.com", "password": 123_456_789_012_u64 }),
        json!({ "email": 5, "password": password }),
    ] {
        seen.push(everything(app.register(&bad).await).await);
        seen.push(everything(app.post_json("/login", &bad).await).await);
    }

    for text in &seen {
        for secret in [password, "short7!", "123456789012", "$2b$", "$2a$", "$2y$"] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
        assert!(!text.contains("password_hash"), "{text}");
    }
}

crate::on_both_databases!(
    malformed_json_is_400,
    body_not_sent_as_json_is_400,
    json_of_the_wrong_shape_is_422,
    wrong_type_names_the_field,
    missing_password_names_the_field,
    body_over_64_kib_is_413,
    unknown_route_is_404_json,
    wrong_method_is_405_json,
    health_is_ok,
    ready_is_ok_when_the_database_answers,
    login_failures_are_indistinguishable,
    no_response_contains_a_password_or_hash,
);
