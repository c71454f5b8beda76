//! Email identity at registration: NFKC + lower-casing make one account of two spellings,
//! the normalised address is the one stored, and addresses the mailer cannot deliver to are
//! refused.

use serde_json::{json, Value};

use crate::support::{assert_error, Db, TestApp};

const PASSWORD: &str = "correct-horse-battery";

async fn register(app: &TestApp, email: &str) -> reqwest::Response {
    app.register(&json!({ "email": email, "password": PASSWORD }))
        .await
}

async fn two_spellings_of_one_address_are_one_account(db: Db) {
    let app = TestApp::spawn(db).await;
    let created = register(&app, "Kelvin@Example.com").await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["email"], "kelvin@example.com");
    // Fullwidth letters and at sign (NFKC) are the same address.
    assert_error(
        register(&app, "ｋｅｌｖｉｎ＠example.com").await,
        409,
        "email_taken",
    )
    .await;
    assert_error(
        register(&app, "KELVIN@EXAMPLE.COM").await,
        409,
        "email_taken",
    )
    .await;
    // …and log in to the same account.
    assert_eq!(
        app.login("ｋｅｌｖｉｎ＠ｅｘａｍｐｌｅ.ｃｏｍ", PASSWORD)
            .await
            .status(),
        200
    );
    // The normalised form is what is stored: a fullwidth registration is stored plain.
    let other: Value = register(&app, "ａｎｎ@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["email"], "ann@example.com");
    // Not full case folding: ß is not ss.
    assert_eq!(register(&app, "straße@example.com").await.status(), 201);
    assert_eq!(register(&app, "strasse@example.com").await.status(), 201);
}

async fn undeliverable_addresses_are_refused_at_registration(db: Db) {
    let app = TestApp::spawn(db).await;
    for email in [
        "\"john doe\"@example.com",
        "\"john\"@example.com",
        "=?utf-8?q?john?=@example.com",
        "john=?x?=@example.com",
        "jo\u{202E}hn@example.com",
        "jo\u{2066}hn@example.com",
        "jo\u{200F}hn@example.com",
        "jo\u{7}hn@example.com",
    ] {
        let body = assert_error(register(&app, email).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "email", "{email:?}: {body}");
    }
}

crate::on_both_databases!(
    two_spellings_of_one_address_are_one_account,
    undeliverable_addresses_are_refused_at_registration,
);
