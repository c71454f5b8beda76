//! Administration: `GET /users`, `GET|PATCH|DELETE /users/{id}`, `GET /users/{id}/audit`,
//! and the `create-superuser` → administrator flow.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{assert_error, Db, TestApp, SECRET};
use crate::support::{
    create_root, delete, get, json_of, login, me_status, patch, post, refresh_status, register,
    Pair, PASSWORD, ROOT_EMAIL, ROOT_PASSWORD,
};

const BOB: &str = "bob@example.com";

/// The root administrator (created by `create-superuser`) logged in, and Bob, a regular
/// user, logged in: (root's pair, root's id, Bob's pair, Bob's id).
async fn root_and_bob(app: &TestApp) -> (Pair, String, Pair, String) {
    let root_id = create_root(app).await;
    let root = login(app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let bob_id = register(app, BOB).await;
    let bob = login(app, BOB, PASSWORD).await;
    (root, root_id, bob, bob_id)
}

async fn the_create_superuser_command_makes_an_administrator_who_lists_users(db: Db) {
    let app = TestApp::spawn(db).await;
    let bob_id = register(&app, BOB).await;

    // The real binary, the password on standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .args([
            "create-superuser",
            "--email",
            "Admin@Example.com",
            "--username",
            "admin",
        ])
        .env_clear()
        .env("DATABASE_URL", app.db.raw_url())
        .env("JWT_SECRET", SECRET)
        .env("DATA_ENCRYPTION_KEY", crate::support::DATA_KEY)
        .env("BCRYPT_COST", "4")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"admin password 1\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let admin = login(&app, "admin@example.com", "admin password 1").await;
    let me = json_of(get(&app, "/users/me", &admin.access).await, 200).await;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["is_superuser"], true);
    assert_eq!(me["is_staff"], true);
    assert_eq!(me["is_verified"], true);

    let listing = json_of(get(&app, "/users", &admin.access).await, 200).await;
    assert_eq!(listing["total"], 2);
    assert_eq!(listing["limit"], 20);
    assert_eq!(listing["offset"], 0);
    let items = listing["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], bob_id.as_str(), "registration order");
    assert_eq!(items[1]["email"], "admin@example.com");
    assert!(!listing.to_string().contains("password"), "{listing}");

    let bob = json_of(
        get(&app, &format!("/users/{bob_id}"), &admin.access).await,
        200,
    )
    .await;
    assert_eq!(bob["email"], BOB);
}

async fn users_are_listed_page_by_page(db: Db) {
    let app = TestApp::spawn(db).await;
    let root_id = create_root(&app).await;
    let root = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let mut ids = vec![root_id];
    for n in 0..3 {
        ids.push(register(&app, &format!("u{n}@example.com")).await);
    }

    let page = json_of(
        get(&app, "/users?limit=2&offset=1", &root.access).await,
        200,
    )
    .await;
    let got: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, ids[1..3]);
    assert_eq!(page["total"], 4);

    let capped = json_of(get(&app, "/users?limit=1000", &root.access).await, 200).await;
    assert_eq!(capped["limit"], 100);
    assert_eq!(capped["items"].as_array().unwrap().len(), 4);
    let beyond = json_of(get(&app, "/users?offset=10", &root.access).await, 200).await;
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 4);

    for query in [
        "limit=abc",
        "limit=0",
        "offset=-1",
        "limit=1.5",
        "offset=99999999999",
    ] {
        let response = get(&app, &format!("/users?{query}"), &root.access).await;
        let body = assert_error(response, 422, "validation_failed").await;
        assert!(body["errors"][0]["field"].is_string(), "{query}: {body}");
    }
}

async fn everyone_but_an_administrator_is_forbidden_every_admin_route(db: Db) {
    let app = TestApp::spawn(db).await;
    let (root, root_id, bob, bob_id) = root_and_bob(&app).await;
    // Staff status does not make an administrator.
    let staff = patch(
        &app,
        &format!("/users/{bob_id}"),
        &root.access,
        &json!({ "is_staff": true }),
    )
    .await;
    assert_eq!(staff.status(), 200);

    let targets = [
        root_id.clone(),
        bob_id.clone(),
        Uuid::new_v4().to_string(),
        "junk".into(),
    ];
    for target in &targets {
        let attempts = [
            get(&app, "/users", &bob.access).await,
            get(&app, "/users?limit=oops", &bob.access).await,
            get(&app, &format!("/users/{target}"), &bob.access).await,
            // Whatever the body, even one that is not JSON: the role is checked before the
            // body is read.
            app.client
                .patch(app.url(&format!("/users/{target}")))
                .bearer_auth(&bob.access)
                .header("content-type", "application/json")
                .body("{not json")
                .send()
                .await
                .unwrap(),
            patch(
                &app,
                &format!("/users/{target}"),
                &bob.access,
                &json!({ "role": "admin" }),
            )
            .await,
            delete(&app, &format!("/users/{target}"), &bob.access).await,
            get(&app, &format!("/users/{target}/audit"), &bob.access).await,
        ];
        for response in attempts {
            assert_error(response, 403, "forbidden").await;
        }
    }
    let me = json_of(get(&app, "/users/me", &bob.access).await, 200).await;
    assert_eq!(
        me["role"], "user",
        "the attempt to promote himself did nothing"
    );
    let root_now = json_of(
        get(&app, &format!("/users/{root_id}"), &root.access).await,
        200,
    )
    .await;
    assert_eq!(root_now["is_active"], true);

    let anonymous = app.client.get(app.url("/users")).send().await.unwrap();
    assert_error(anonymous, 401, "not_authenticated").await;
}

async fn unknown_or_malformed_user_ids_are_not_found(db: Db) {
    let app = TestApp::spawn(db).await;
    let (root, _, _, _) = root_and_bob(&app).await;
    for target in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let path = format!("/users/{target}");
        assert_error(get(&app, &path, &root.access).await, 404, "not_found").await;
        let response = patch(&app, &path, &root.access, &json!({ "is_verified": true })).await;
        assert_error(response, 404, "not_found").await;
        assert_error(delete(&app, &path, &root.access).await, 404, "not_found").await;
    }
}

async fn an_administrator_changes_privileges_with_validation(db: Db) {
    let app = TestApp::spawn(db).await;
    let (root, _, bob, bob_id) = root_and_bob(&app).await;
    let path = format!("/users/{bob_id}");

    let invalid = patch(
        &app,
        &path,
        &root.access,
        &json!({ "role": "king", "is_active": "yes", "is_verified": null, "is_staff": 1 }),
    )
    .await;
    let body = assert_error(invalid, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 4, "{body}");

    let updated = patch(
        &app,
        &path,
        &root.access,
        &json!({
            "role": "admin", "is_verified": true,
            "is_superuser": true, "email": "taken@over.com", "password": "whatever123",
        }),
    )
    .await;
    let user = json_of(updated, 200).await;
    assert_eq!(user["role"], "admin");
    assert_eq!(user["is_verified"], true);
    assert_eq!(
        user["is_superuser"], false,
        "not changeable through the API"
    );
    assert_eq!(user["email"], BOB);
    login(&app, BOB, PASSWORD).await;

    // Bob's rights apply at once, with the token he already had.
    let listing = json_of(get(&app, "/users", &bob.access).await, 200).await;
    assert_eq!(listing["total"], 2);
    let unchanged = json_of(patch(&app, &path, &root.access, &json!({})).await, 200).await;
    assert_eq!(unchanged["role"], "admin");
}

async fn the_last_administrator_is_protected(db: Db) {
    let app = TestApp::spawn(db).await;
    let (root, root_id, _, bob_id) = root_and_bob(&app).await;
    let root_path = format!("/users/{root_id}");

    let deactivate = patch(
        &app,
        &root_path,
        &root.access,
        &json!({ "is_active": false }),
    )
    .await;
    let body = assert_error(deactivate, 409, "last_admin").await;
    assert!(body["detail"].as_str().unwrap().contains("administrator"));
    assert_error(
        delete(&app, &root_path, &root.access).await,
        409,
        "last_admin",
    )
    .await;
    // Root is a superuser: its role alone is not what makes it an administrator.
    let demoted = patch(&app, &root_path, &root.access, &json!({ "role": "user" })).await;
    assert_eq!(json_of(demoted, 200).await["role"], "user");
    assert_eq!(me_status(&app, &root.access).await, 200);

    // Bob becomes an administrator by role; then root may go, and Bob is the last one.
    let promoted = patch(
        &app,
        &format!("/users/{bob_id}"),
        &root.access,
        &json!({ "role": "admin" }),
    )
    .await;
    assert_eq!(promoted.status(), 200);
    let bob = login(&app, BOB, PASSWORD).await;
    let retire_root = patch(
        &app,
        &root_path,
        &bob.access,
        &json!({ "is_active": false }),
    )
    .await;
    assert_eq!(json_of(retire_root, 200).await["is_active"], false);
    let bob_path = format!("/users/{bob_id}");
    for change in [
        json!({ "role": "user" }),
        json!({ "role": "other" }),
        json!({ "is_active": false }),
    ] {
        let response = patch(&app, &bob_path, &bob.access, &change).await;
        assert_error(response, 409, "last_admin").await;
    }
    assert_error(
        delete(&app, &bob_path, &bob.access).await,
        409,
        "last_admin",
    )
    .await;
    let me = json_of(get(&app, "/users/me", &bob.access).await, 200).await;
    assert_eq!(
        (me["role"].clone(), me["is_active"].clone()),
        (json!("admin"), json!(true))
    );
}

async fn deactivating_a_user_kills_their_tokens_at_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let (root, _, bob, bob_id) = root_and_bob(&app).await;
    let path = format!("/users/{bob_id}");
    assert_eq!(me_status(&app, &bob.access).await, 200);

    let response = patch(&app, &path, &root.access, &json!({ "is_active": false })).await;
    assert_eq!(json_of(response, 200).await["is_active"], false);

    assert_eq!(me_status(&app, &bob.access).await, 401);
    assert_eq!(refresh_status(&app, &bob.refresh).await, 401);
    assert_error(app.login(BOB, PASSWORD).await, 401, "invalid_credentials").await;

    // Reactivated, Bob logs in again, but the sessions that were ended stay ended.
    let response = patch(&app, &path, &root.access, &json!({ "is_active": true })).await;
    assert_eq!(response.status(), 200);
    assert_eq!(me_status(&app, &bob.access).await, 401);
    assert_eq!(refresh_status(&app, &bob.refresh).await, 401);
    let again = login(&app, BOB, PASSWORD).await;
    assert_eq!(me_status(&app, &again.access).await, 200);
}

async fn deleting_a_user_kills_their_tokens(db: Db) {
    let app = TestApp::spawn(db).await;
    let (root, _, bob, bob_id) = root_and_bob(&app).await;
    let path = format!("/users/{bob_id}");

    let response = delete(&app, &path, &root.access).await;

    assert_eq!(response.status(), 204);
    assert_eq!(me_status(&app, &bob.access).await, 401);
    assert_eq!(refresh_status(&app, &bob.refresh).await, 401);
    assert_error(get(&app, &path, &root.access).await, 404, "not_found").await;
    assert_error(delete(&app, &path, &root.access).await, 404, "not_found").await;
    let listing = json_of(get(&app, "/users", &root.access).await, 200).await;
    assert_eq!(listing["total"], 1);
    // The address is free again.
    register(&app, BOB).await;
}

/// The kinds of the events in an audit listing.
fn kinds(listing: &Value) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_audit_trail_records_the_account_history_without_secrets(db: Db) {
    let app = TestApp::spawn(db).await;
    let (root, root_id, bob, bob_id) = root_and_bob(&app).await;
    assert_error(
        app.login(BOB, "wrong password!").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_error(
        app.login("nobody@example.com", "whatever123").await,
        401,
        "invalid_credentials",
    )
    .await;
    let wrong = post(
        &app,
        "/users/me/password",
        &bob.access,
        &json!({ "current_password": "not it at all", "new_password": "new password 1" }),
    )
    .await;
    assert_eq!(wrong.status(), 403);
    let changed = post(
        &app,
        "/users/me/password",
        &bob.access,
        &json!({ "current_password": PASSWORD, "new_password": "new password 1" }),
    )
    .await;
    let bob = Pair::from(changed).await;
    Pair::from(app.refresh(&bob.refresh).await).await;
    assert_eq!(refresh_status(&app, &bob.refresh).await, 401, "reuse");
    let bob = login(&app, BOB, "new password 1").await;
    assert_eq!(
        post(&app, "/logout-all", &bob.access, &json!({}))
            .await
            .status(),
        204
    );
    let updated = patch(
        &app,
        &format!("/users/{bob_id}"),
        &root.access,
        &json!({ "is_staff": true }),
    )
    .await;
    assert_eq!(updated.status(), 200);

    let trail = json_of(
        get(&app, &format!("/users/{bob_id}/audit"), &root.access).await,
        200,
    )
    .await;

    assert_eq!(
        kinds(&trail),
        [
            "user_updated",
            "logged_out_everywhere",
            "login_succeeded",
            "refresh_reuse_detected",
            "password_changed",
            "password_change_failed",
            "login_failed",
            "login_succeeded",
            "user_registered",
        ],
        "newest first: {trail}"
    );
    assert_eq!(trail["total"], 9);
    let items = trail["items"].as_array().unwrap();
    let update = &items[0];
    assert_eq!(update["user_id"], bob_id.as_str());
    assert_eq!(update["actor_id"], root_id.as_str());
    assert_eq!(update["detail"], json!({ "is_staff": "true" }));
    assert_eq!(items[6]["detail"]["reason"], "wrong_password");
    assert_eq!(items[7]["address"], "127.0.0.1");
    let text = trail.to_string();
    for secret in [
        PASSWORD,
        "new password 1",
        "wrong password!",
        "not it at all",
        "$2b$",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
    for token in [&bob.access, &bob.refresh] {
        assert!(!text.contains(token.as_str()));
    }

    // Root's own trail shows what root did to others.
    let roots = json_of(
        get(&app, &format!("/users/{root_id}/audit"), &root.access).await,
        200,
    )
    .await;
    assert!(
        kinds(&roots).contains(&"user_updated".to_owned()),
        "{roots}"
    );
    let page = json_of(
        get(
            &app,
            &format!("/users/{bob_id}/audit?limit=2&offset=1"),
            &root.access,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(kinds(&page), ["logged_out_everywhere", "login_succeeded"]);
    assert_eq!(page["total"], 9);
    let bad = get(
        &app,
        &format!("/users/{bob_id}/audit?limit=x"),
        &root.access,
    )
    .await;
    assert_error(bad, 422, "validation_failed").await;

    // A deleted user's trail stays readable.
    assert_eq!(
        delete(&app, &format!("/users/{bob_id}"), &root.access)
            .await
            .status(),
        204
    );
    let after = json_of(
        get(&app, &format!("/users/{bob_id}/audit"), &root.access).await,
        200,
    )
    .await;
    assert_eq!(kinds(&after)[0], "user_deleted");
    assert_eq!(after["total"], 10);
}

crate::on_both_databases!(
    the_create_superuser_command_makes_an_administrator_who_lists_users,
    users_are_listed_page_by_page,
    everyone_but_an_administrator_is_forbidden_every_admin_route,
    unknown_or_malformed_user_ids_are_not_found,
    an_administrator_changes_privileges_with_validation,
    the_last_administrator_is_protected,
    deactivating_a_user_kills_their_tokens_at_once,
    deleting_a_user_kills_their_tokens,
    the_audit_trail_records_the_account_history_without_secrets,
);
