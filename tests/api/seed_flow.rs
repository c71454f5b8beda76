//! The seed page's flow, verbatim, and its step-by-step variant.

use serde_json::{json, Value};

use crate::support::{seed_user, Db, TestApp};

async fn seed_flow_answers_hello(db: Db) {
    let app = TestApp::spawn(db).await;

    let created = app.register(&seed_user()).await;
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["email"], "john@doe.com");
    assert_eq!(user["username"], "john.doe");
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_verified"], false);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let login = app.login("john@doe.com", "johnspassword1234@!").await;
    assert_eq!(login.status(), 200);
    assert_eq!(
        login.headers().get("cache-control").unwrap(),
        "no-store",
        "token responses must not be cached"
    );
    let tokens: Value = login.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].is_string());

    let home = app.get_with_token("/", access).await;
    assert_eq!(home.status(), 200);
    let body: Value = home.json().await.unwrap();
    assert_eq!(body, json!({ "message": "hello john@doe.com" }));

    let me: Value = app
        .get_with_token("/users/me", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user["id"]);
    assert!(me["last_login"].is_string(), "login records last_login");
}

async fn step_by_step_with_email_and_password_only(db: Db) {
    let app = TestApp::spawn(db).await;
    let credentials = json!({ "email": "user@example.com", "password": "securepass123" });
    let created = app.register(&credentials).await;
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["username"], Value::Null);

    let tokens: Value = app
        .post_json("/login", &credentials)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let body: Value = app.get_with_token("/", access).await.json().await.unwrap();
    assert_eq!(body["message"], "hello user@example.com");
}

crate::on_both_databases!(
    seed_flow_answers_hello,
    step_by_step_with_email_and_password_only
);
