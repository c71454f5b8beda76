//! The password policy at registration (NIST SP 800-63B).

use serde_json::{json, Value};

use crate::support::{assert_error, Db, TestApp};

async fn password_errors(app: &TestApp, body: Value) -> Vec<String> {
    let refused = assert_error(app.register(&body).await, 422, "validation_failed").await;
    let errors = refused["errors"].as_array().expect("errors").clone();
    assert!(
        errors.iter().all(|e| e["field"] == "password"),
        "only the password is wrong: {refused}"
    );
    // The password itself is never echoed.
    let password = body["password"].as_str().unwrap();
    assert!(!refused.to_string().contains(password), "{refused}");
    errors
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn registration_refuses_common_and_personal_passwords(db: Db) {
    let app = TestApp::spawn(db).await;
    let person = |password: &str| {
        json!({
            "email": "jonathan.smithers@example.com",
            "username": "Jonny_Smithers",
            "first_name": "Quentinella",
            "last_name": "Featherstone",
            "password": password,
        })
    };
    for common in ["password123", "Password1", "qwertyuiop", "iloveyou1"] {
        let messages = password_errors(&app, person(common)).await;
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].contains("commonly used"),
            "{common}: {messages:?}"
        );
    }
    for personal in [
        "Jonathan.Smithers@example.com",
        "jonathan.smithers",
        "JONNY_SMITHERS",
        "quentinella",
        "Featherstone",
        "Quentinella Featherstone",
    ] {
        let messages = password_errors(&app, person(personal)).await;
        assert!(
            messages[0].contains("email address, username or name"),
            "{personal}"
        );
    }
    // Length is still checked first.
    let messages = password_errors(&app, person("short")).await;
    assert!(messages[0].contains("at least 8"), "{messages:?}");

    // No composition rules: a long lower-case phrase is fine, and so are the seed's
    // passwords (one contains the first name).
    let created = app.register(&person("correct horse battery staple")).await;
    assert_eq!(created.status(), 201);
    let seed = json!({
        "email": "john@doe.com", "first_name": "John", "last_name": "Doe",
        "username": "john.doe", "password": "johnspassword1234@!",
    });
    assert_eq!(app.register(&seed).await.status(), 201);
    let second = json!({ "email": "user@example.com", "password": "securepass123" });
    assert_eq!(app.register(&second).await.status(), 201);
}

crate::on_both_databases!(registration_refuses_common_and_personal_passwords);
