//! Scale (issue "Fast on the default database, and at a million users"): `GET /users` and
//! `GET /users/{id}/audit` paged by cursor (`after`, `next`), `GET /users?q=<prefix>`.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::support::{assert_error, Db, TestApp};
use crate::support::{create_root, get, json_of, login, register, ROOT_EMAIL, ROOT_PASSWORD};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `next` from `path` (which has a query already) to the end.
async fn walk(app: &TestApp, token: &str, path: &str) -> (Vec<String>, Vec<Value>) {
    let mut all = Vec::new();
    let mut pages = Vec::new();
    let mut page = json_of(get(app, path, token).await, 200).await;
    loop {
        all.extend(ids(&page));
        let next = page["next"].clone();
        pages.push(page);
        let Some(cursor) = next.as_str() else {
            assert_eq!(next, Value::Null, "next is a string or null");
            return (all, pages);
        };
        page = json_of(
            get(app, &format!("{path}&after={cursor}"), token).await,
            200,
        )
        .await;
    }
}

async fn users_are_walked_by_cursor_across_inserts(db: Db) {
    let app = TestApp::spawn(db).await;
    let root_id = create_root(&app).await;
    let root = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let mut expected = vec![root_id];
    for n in 0..6 {
        expected.push(register(&app, &format!("u{n}@example.com")).await);
    }

    let (walked, pages) = walk(&app, &root.access, "/users?limit=3").await;
    assert_eq!(walked, expected);
    assert_eq!(pages.len(), 3, "3 + 3 + 1");
    for page in &pages {
        assert_eq!(page["total"], 7);
        assert_eq!(page["limit"], 3);
        assert_eq!(page["offset"], 0);
    }
    assert_eq!(pages[2]["next"], Value::Null, "null on the last page");
    // Offset pages carry a cursor too, and agree with it.
    let by_offset = json_of(
        get(&app, "/users?limit=3&offset=3", &root.access).await,
        200,
    )
    .await;
    assert_eq!(ids(&by_offset), expected[3..6]);
    let cursor = by_offset["next"].as_str().unwrap().to_owned();
    let after = json_of(
        get(
            &app,
            &format!("/users?limit=3&after={cursor}"),
            &root.access,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&after), expected[6..]);

    // A walk with users registered on the way: nobody twice, nobody skipped.
    let first = json_of(get(&app, "/users?limit=4", &root.access).await, 200).await;
    let newcomer = register(&app, "late@example.com").await;
    let cursor = first["next"].as_str().unwrap();
    let (rest, _) = walk(
        &app,
        &root.access,
        &format!("/users?limit=4&after={cursor}"),
    )
    .await;
    let mut seen = ids(&first);
    seen.extend(rest);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    expected.push(newcomer);
    assert_eq!(seen, expected);
    let page = json_of(get(&app, "/users?limit=1", &root.access).await, 200).await;
    assert_eq!(page["total"], 8, "the total follows registrations");
}

async fn users_are_found_by_email_or_username_prefix(db: Db) {
    let app = TestApp::spawn(db).await;
    create_root(&app).await;
    let root = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let mut by_email = Vec::new();
    for n in 0..3 {
        by_email.push(register(&app, &format!("ann{n}@example.com")).await);
    }
    register(&app, "bob@example.com").await;
    let response = app
        .register(&json!({"email": "carl@example.com", "username": "Annabel",
                          "password": "securepass123"}))
        .await;
    assert_eq!(response.status(), 201);
    let annabel: Value = response.json().await.unwrap();

    let found = json_of(get(&app, "/users?q=ANN", &root.access).await, 200).await;
    let mut expected = by_email.clone();
    expected.push(annabel["id"].as_str().unwrap().to_owned());
    assert_eq!(
        ids(&found),
        expected,
        "emails and usernames, case-insensitive"
    );
    assert_eq!(found["total"], 4);
    assert_eq!(found["total_exact"], true, "4 matches are counted exactly");
    let exact = json_of(get(&app, "/users?q=ann1%40", &root.access).await, 200).await;
    assert_eq!(ids(&exact), by_email[1..2]);
    let none = json_of(get(&app, "/users?q=zzz", &root.access).await, 200).await;
    assert_eq!(
        (none["items"].clone(), none["total"].clone()),
        (json!([]), json!(0))
    );
    assert_eq!(none["next"], Value::Null);
    // Not a substring search.
    let middle = json_of(get(&app, "/users?q=example", &root.access).await, 200).await;
    assert_eq!(middle["total"], 0);

    // Same paging: the search's total rides along its cursors.
    let (walked, pages) = walk(&app, &root.access, "/users?q=ann&limit=3").await;
    assert_eq!(walked, expected);
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1]["total"], 4);
    // A blank q (or after) lists everyone from the start.
    let all = json_of(get(&app, "/users?q=%20&after=", &root.access).await, 200).await;
    assert_eq!(all["total"], 6);
    assert_eq!(all["total_exact"], true);
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
}

async fn bad_cursors_and_queries_are_422(db: Db) {
    let app = TestApp::spawn(db).await;
    let root_id = create_root(&app).await;
    let root = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    register(&app, "a@example.com").await;
    let users = json_of(get(&app, "/users?limit=1", &root.access).await, 200).await;
    let user_cursor = users["next"].as_str().unwrap().to_owned();
    let audit = json_of(
        get(
            &app,
            &format!("/users/{root_id}/audit?limit=1"),
            &root.access,
        )
        .await,
        200,
    )
    .await;
    let audit_cursor = audit["next"].as_str().unwrap().to_owned();

    let long = "a".repeat(255);
    let cases = [
        ("/users?after=garbage".to_owned(), "after"),
        ("/users?after=AAAA".to_owned(), "after"),
        (format!("/users?after={user_cursor}x"), "after"),
        (format!("/users?after={audit_cursor}"), "after"),
        (format!("/users?after={user_cursor}&offset=2"), "offset"),
        (format!("/users?q={long}"), "q"),
        ("/users?q=a%00b".to_owned(), "q"),
        (
            format!("/users/{root_id}/audit?after={user_cursor}"),
            "after",
        ),
    ];
    for (path, field) in cases {
        let body = assert_error(
            get(&app, &path, &root.access).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field, "{path}: {body}");
    }
    // Its own cursor works.
    let next = json_of(
        get(
            &app,
            &format!("/users/{root_id}/audit?limit=1&after={audit_cursor}"),
            &root.access,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(next["total"], audit["total"]);
}

async fn an_audit_trail_is_walked_by_cursor_newest_first(db: Db) {
    let app = TestApp::spawn(db).await;
    let root_id = create_root(&app).await;
    // Logins and failures make root's trail.
    for _ in 0..4 {
        login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    }
    let root = login(&app, ROOT_EMAIL, ROOT_PASSWORD).await;
    let path = format!("/users/{root_id}/audit");
    let everything = json_of(
        get(&app, &format!("{path}?limit=100"), &root.access).await,
        200,
    )
    .await;
    let expected = ids(&everything);
    assert!(expected.len() >= 5, "{everything}");
    assert_eq!(everything["next"], Value::Null);

    let (walked, pages) = walk(&app, &root.access, &format!("{path}?limit=2")).await;
    assert_eq!(walked, expected);
    let total = everything["total"].clone();
    assert!(pages.iter().all(|page| page["total"] == total));
    let times: Vec<String> = everything["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
}

crate::on_both_databases!(
    users_are_walked_by_cursor_across_inserts,
    users_are_found_by_email_or_username_prefix,
    bad_cursors_and_queries_are_422,
    an_audit_trail_is_walked_by_cursor_newest_first,
);
