//! Mail cannot be used to flood anyone: per kind, account and requesting address, one mail
//! per `MAIL_MIN_INTERVAL` and `MAIL_MAX_PER_DAY` a day; beyond, the same 202 and no mail.
//! And outstanding reset links coexist until one of them is used.

use reqwest::Response;
use serde_json::json;

use crate::recovery::{
    assert_accepted, confirm_reset, mail_settings, post_with_token, request_reset,
    wait_for_empty_outbox, MailDir,
};
use crate::support::{assert_error, seed_user, Db, TestApp};

const EMAIL: &str = "john@doe.com";
const BEHIND_PROXY: (&str, &str) = ("TRUSTED_PROXIES", "127.0.0.1, ::1");

/// A server writing its mail into `mail`, with `extra` settings (they override the helper's).
async fn spawn(db: Db, mail: &MailDir, extra: &[(&str, &str)]) -> TestApp {
    let dir = mail.dir();
    TestApp::spawn_with(db, &mail_settings(&dir, extra)).await
}

async fn request_reset_from(app: &TestApp, client: &str, email: &str) -> Response {
    app.client
        .post(app.url("/password-reset/request"))
        .header("X-Forwarded-For", client)
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

async fn ten_reset_requests_in_a_row_send_one_mail_per_requester(db: Db) {
    let mail = MailDir::new();
    // The default interval, one minute.
    let app = spawn(db, &mail, &[("MAIL_MIN_INTERVAL", "1m"), BEHIND_PROXY]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    for _ in 0..10 {
        assert_accepted(request_reset_from(&app, "203.0.113.1", EMAIL).await).await;
        // An unknown email answers the same.
        assert_accepted(request_reset_from(&app, "203.0.113.1", "nobody@doe.com").await).await;
    }
    wait_for_empty_outbox(&app).await;
    assert_eq!(mail.files().len(), 1, "one mail for ten requests");
    // A stranger's requests did not spend the owner's budget: the owner, elsewhere, gets one.
    assert_accepted(request_reset_from(&app, "198.51.100.7", EMAIL).await).await;
    let mails = mail.wait_for(2).await;
    assert_eq!(mails.len(), 2);
}

async fn at_most_max_per_day_mails_of_each_kind(db: Db) {
    let mail = MailDir::new();
    let app = spawn(
        db,
        &mail,
        &[("MAIL_MIN_INTERVAL", "0"), ("MAIL_MAX_PER_DAY", "3")],
    )
    .await;
    let (access, _) = app.seed_tokens().await;
    for _ in 0..6 {
        assert_accepted(request_reset(&app, EMAIL).await).await;
    }
    wait_for_empty_outbox(&app).await;
    assert_eq!(mail.files().len(), 3);
    // The verification mail has a budget of its own.
    for _ in 0..5 {
        assert_accepted(post_with_token(&app, "/verify-email/request", &access).await).await;
    }
    wait_for_empty_outbox(&app).await;
    assert_eq!(mail.files().len(), 6);
}

async fn outstanding_reset_links_coexist_until_one_is_used(db: Db) {
    let mail = MailDir::new();
    let app = spawn(db, &mail, &[]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    assert_accepted(request_reset(&app, EMAIL).await).await;
    assert_accepted(request_reset(&app, EMAIL).await).await;
    let mails = mail.wait_for(2).await;
    let (first, second) = (mails[0].reset_token(), mails[1].reset_token());
    // A stranger's later request did not void the link the owner is about to click…
    let used = confirm_reset(&app, &first, "a brand new password").await;
    assert_eq!(used.status(), 204);
    // …and using it killed the other.
    assert_error(
        confirm_reset(&app, &second, "the attacker's password").await,
        400,
        "invalid_token",
    )
    .await;
    assert_eq!(app.login(EMAIL, "a brand new password").await.status(), 200);
}

crate::on_both_databases!(
    ten_reset_requests_in_a_row_send_one_mail_per_requester,
    at_most_max_per_day_mails_of_each_kind,
    outstanding_reset_links_coexist_until_one_is_used,
);
