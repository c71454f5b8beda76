//! `POST /create`: the UserOut shape, ignored privilege fields, conflicts, validation,
//! bcrypt's 72-byte limit, email normalisation, concurrent registrations.

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{assert_error, seed_user, Db, TestApp};

const USER_OUT_FIELDS: [&str; 14] = [
    "mfa_enabled",
    "id",
    "email",
    "username",
    "first_name",
    "last_name",
    "date_of_birth",
    "role",
    "is_active",
    "is_verified",
    "is_staff",
    "is_superuser",
    "last_login",
    "date_joined",
];

/// Registers `body` and expects 201: the UserOut.
async fn registered(app: &TestApp, body: &Value) -> Value {
    let response = app.register(body).await;
    assert_eq!(response.status(), 201, "registering {body}");
    response.json().await.unwrap()
}

/// Registers `body` and expects 422 naming `field` (and only it).
async fn assert_invalid(app: &TestApp, body: &Value, field: &str) {
    let response = app.register(body).await;
    let error = assert_error(response, 422, "validation_failed").await;
    let errors = error["errors"].as_array().expect("errors list");
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, [field], "for {body}: {error}");
    assert!(errors[0]["message"].is_string());
}

async fn created_user_has_the_user_out_shape(db: Db) {
    let app = TestApp::spawn(db).await;
    let before = Utc::now();
    let mut body = seed_user();
    body["date_of_birth"] = json!("1990-05-17");
    let response = app.register(&body).await;
    assert_eq!(response.status(), 201);
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let user: Value = response.json().await.unwrap();

    let mut keys: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = USER_OUT_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "UserOut keys of {user}");

    let id = Uuid::parse_str(user["id"].as_str().unwrap()).expect("id is a UUID");
    if let Some(location) = location {
        assert_eq!(location, format!("/users/{id}"));
    }
    assert_eq!(user["email"], "john@doe.com");
    assert_eq!(user["username"], "john.doe");
    assert_eq!(user["first_name"], "John");
    assert_eq!(user["last_name"], "Doe");
    assert_eq!(user["date_of_birth"], "1990-05-17");
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["is_staff"], false);
    assert_eq!(user["is_superuser"], false);
    assert_eq!(user["last_login"], Value::Null);

    let joined = user["date_joined"].as_str().unwrap();
    assert!(
        joined.ends_with('Z'),
        "date_joined {joined:?} is UTC with Z"
    );
    let joined = DateTime::parse_from_rfc3339(joined).expect("RFC 3339");
    let joined = joined.with_timezone(&Utc);
    assert!(
        joined >= before - chrono::TimeDelta::seconds(2)
            && joined <= Utc::now() + chrono::TimeDelta::seconds(2),
        "date_joined {joined} is now"
    );

    // The minimal registration: optional fields are null.
    let minimal = registered(
        &app,
        &json!({ "email": "min@doe.com", "password": "securepass123" }),
    )
    .await;
    for field in [
        "username",
        "first_name",
        "last_name",
        "date_of_birth",
        "last_login",
    ] {
        assert_eq!(minimal[field], Value::Null, "{field} of {minimal}");
    }
}

async fn privilege_fields_are_ignored(db: Db) {
    let app = TestApp::spawn(db).await;
    let chosen_id = Uuid::new_v4().to_string();
    let mut body = seed_user();
    for (key, value) in [
        ("role", json!("admin")),
        ("is_superuser", json!(true)),
        ("is_staff", json!(true)),
        ("is_active", json!(false)),
        ("is_verified", json!(true)),
        ("id", json!(chosen_id)),
    ] {
        body[key] = value;
    }
    let user = registered(&app, &body).await;
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_superuser"], false);
    assert_eq!(user["is_staff"], false);
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_verified"], false);
    assert_ne!(user["id"], chosen_id);

    // As stored, not only as answered.
    let (access, _) = app.login_pair("john@doe.com", "johnspassword1234@!").await;
    let me: Value = app
        .get_with_token("/users/me", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user["id"]);
    assert_eq!(me["role"], "user");
    assert_eq!(me["is_superuser"], false);
    assert_eq!(me["is_staff"], false);
    assert_eq!(me["is_verified"], false);
}

async fn duplicate_email_is_409(db: Db) {
    let app = TestApp::spawn(db).await;
    registered(&app, &seed_user()).await;
    let response = app.register(&seed_user()).await;
    assert_error(response, 409, "email_taken").await;
    let mut other_username = seed_user();
    other_username["username"] = json!("someone.else");
    let response = app.register(&other_username).await;
    assert_error(response, 409, "email_taken").await;
}

async fn duplicate_email_differing_in_case_is_409(db: Db) {
    let app = TestApp::spawn(db).await;
    registered(&app, &seed_user()).await;
    for email in ["JOHN@DOE.COM", "John@Doe.com", "  john@doe.com "] {
        let body = json!({ "email": email, "password": "securepass123" });
        let response = app.register(&body).await;
        assert_error(response, 409, "email_taken").await;
    }
}

async fn duplicate_username_differing_in_case_is_409(db: Db) {
    let app = TestApp::spawn(db).await;
    registered(&app, &seed_user()).await;
    for (i, username) in ["john.doe", "John.Doe", "JOHN.DOE"].into_iter().enumerate() {
        let body = json!({
            "email": format!("other{i}@doe.com"),
            "password": "securepass123",
            "username": username,
        });
        let response = app.register(&body).await;
        assert_error(response, 409, "username_taken").await;
    }
    // None of them was created.
    for i in 0..3 {
        let body = json!({ "email": format!("other{i}@doe.com"), "password": "securepass123" });
        registered(&app, &body).await;
    }
}

async fn invalid_fields_are_422_naming_the_field(db: Db) {
    let app = TestApp::spawn(db).await;
    let valid = |email: &str| json!({ "email": email, "password": "securepass123" });
    let with = |email: &str, key: &str, value: Value| {
        let mut body = valid(email);
        body[key] = value;
        body
    };
    let cases = [
        (with("x@doe.com", "email", json!("not-an-email")), "email"),
        (with("x@doe.com", "email", json!("john@")), "email"),
        (with("x@doe.com", "email", json!("")), "email"),
        (with("a@doe.com", "password", json!("seven77")), "password"),
        (
            with("b@doe.com", "password", json!("x".repeat(73))),
            "password",
        ),
        (
            with("c@doe.com", "password", json!("€".repeat(25))),
            "password",
        ),
        (
            with("d@doe.com", "first_name", json!("n".repeat(151))),
            "first_name",
        ),
        (
            with("e@doe.com", "last_name", json!("n".repeat(151))),
            "last_name",
        ),
        (
            with("f@doe.com", "username", json!("u".repeat(151))),
            "username",
        ),
        (
            with("g@doe.com", "date_of_birth", json!("2020-13-45")),
            "date_of_birth",
        ),
        (
            with("h@doe.com", "date_of_birth", json!("17/05/1990")),
            "date_of_birth",
        ),
    ];
    for (body, field) in &cases {
        assert_invalid(&app, body, field).await;
    }
    // Refused bodies stored nothing: those emails are still free.
    for email in [
        "a@doe.com",
        "b@doe.com",
        "c@doe.com",
        "d@doe.com",
        "g@doe.com",
    ] {
        registered(&app, &valid(email)).await;
    }
}

async fn limits_are_inclusive(db: Db) {
    let app = TestApp::spawn(db).await;
    let user = registered(
        &app,
        &json!({
            "email": "limits@doe.com",
            "password": "8chars!!",
            "first_name": "n".repeat(150),
            "last_name": "é".repeat(150),
            "username": "u".repeat(150),
        }),
    )
    .await;
    assert_eq!(user["first_name"].as_str().unwrap().chars().count(), 150);
    assert_eq!(user["last_name"].as_str().unwrap().chars().count(), 150);
    assert_eq!(user["username"].as_str().unwrap().len(), 150);
    app.login_pair("limits@doe.com", "8chars!!").await;
}

async fn password_of_72_bytes_is_accepted_and_never_truncated(db: Db) {
    let app = TestApp::spawn(db).await;
    let ascii = format!("{}-end", "p".repeat(68));
    let euros = "€".repeat(24);
    for (email, password) in [("ascii@doe.com", &ascii), ("euro@doe.com", &euros)] {
        assert_eq!(password.len(), 72);
        registered(&app, &json!({ "email": email, "password": password })).await;
        app.login_pair(email, password).await;

        // bcrypt would ignore anything past byte 72: the server must not.
        let longer = format!("{password}x");
        let response = app.login(email, &longer).await;
        assert_error(response, 401, "invalid_credentials").await;
        let shorter: String = {
            let mut chars: Vec<char> = password.chars().collect();
            chars.pop();
            chars.into_iter().collect()
        };
        let response = app.login(email, &shorter).await;
        assert_error(response, 401, "invalid_credentials").await;
    }
}

async fn seed_passwords_are_accepted(db: Db) {
    let app = TestApp::spawn(db).await;
    for (email, password) in [
        ("john@doe.com", "johnspassword1234@!"),
        ("user@example.com", "securepass123"),
    ] {
        registered(
            &app,
            &json!({ "email": email, "password": password, "first_name": "John" }),
        )
        .await;
        app.login_pair(email, password).await;
    }
}

async fn email_is_stored_trimmed_and_lower_cased(db: Db) {
    let app = TestApp::spawn(db).await;
    let user = registered(
        &app,
        &json!({ "email": " John@Doe.COM ", "password": "johnspassword1234@!" }),
    )
    .await;
    assert_eq!(user["email"], "john@doe.com");
    for email in ["JOHN@doe.com", "john@doe.com", " john@DOE.com"] {
        let (access, _) = app.login_pair(email, "johnspassword1234@!").await;
        let body: Value = app.get_with_token("/", &access).await.json().await.unwrap();
        assert_eq!(body["message"], "hello john@doe.com");
    }
}

async fn concurrent_registrations_of_one_email_create_one_user(db: Db) {
    let app = TestApp::spawn(db).await;
    let bodies: Vec<Value> = (0..20)
        .map(|i| {
            let email = if i % 2 == 0 {
                "race@doe.com"
            } else {
                "Race@Doe.com"
            };
            json!({ "email": email, "password": "securepass123" })
        })
        .collect();
    let responses = join_all(bodies.iter().map(|body| app.register(body))).await;
    let (mut created, mut conflicts) = (0, 0);
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            409 => {
                assert_error(response, 409, "email_taken").await;
                conflicts += 1;
            }
            other => panic!(
                "concurrent registration answered {other}: {:?}",
                response.text().await
            ),
        }
    }
    assert_eq!((created, conflicts), (1, 19));
    app.login_pair("race@doe.com", "securepass123").await;
}

crate::on_both_databases!(
    created_user_has_the_user_out_shape,
    privilege_fields_are_ignored,
    duplicate_email_is_409,
    duplicate_email_differing_in_case_is_409,
    duplicate_username_differing_in_case_is_409,
    invalid_fields_are_422_naming_the_field,
    limits_are_inclusive,
    password_of_72_bytes_is_accepted_and_never_truncated,
    seed_passwords_are_accepted,
    email_is_stored_trimmed_and_lower_cased,
    concurrent_registrations_of_one_email_create_one_user,
);
