//! Email verification and password reset, end to end: the real server, the real outbox and
//! worker, and the mail read back where it lands — `.eml` files in the test's own folder (the
//! default file mailer) or a real SMTP server on loopback. Tokens are taken from the mail, as
//! a user would.

use std::path::PathBuf;
use std::time::Duration;

use auth_domain::ports::PasswordHasher;
use auth_domain::Password;
use auth_infra::smtp_sink::{SinkMode, SmtpSink};
use auth_infra::{Backend, BcryptHasher};
use diesel::sql_types::{Integer, Nullable, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use mail_parser::MessageParser;
use reqwest::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, seed_user, Db, TestApp};

const EMAIL: &str = "john@doe.com";
const PASSWORD: &str = "johnspassword1234@!";
const NEW_PASSWORD: &str = "a new and long password";
const PUBLIC_URL: &str = "https://app.example.com/account";
const WAIT: Duration = Duration::from_secs(20);

/// A folder for the server's `.eml` files, removed on drop.
pub(crate) struct MailDir(PathBuf);

impl MailDir {
    pub(crate) fn dir(&self) -> String {
        self.0.to_str().unwrap().to_owned()
    }

    pub(crate) fn new() -> Self {
        Self(std::env::temp_dir().join(format!("auth-e2e-mail-{}", Uuid::new_v4().simple())))
    }

    pub(crate) fn files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.0) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
    }

    /// Waits for the `count`-th mail and returns all of them, oldest first.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let files = self.files();
            if files.len() >= count {
                return files
                    .iter()
                    .map(|file| Mail::parse(&std::fs::read(file).unwrap()))
                    .collect();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "mail {count} never arrived in {:?}",
                self.0
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for MailDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A mail as an independent RFC 5322 parser reads it.
#[derive(Debug)]
pub(crate) struct Mail {
    to: String,
    from: String,
    subject: String,
    text: String,
}

impl Mail {
    fn parse(raw: &[u8]) -> Self {
        let parsed = MessageParser::default().parse(raw).expect("RFC 5322 mail");
        assert!(parsed.date().is_some(), "Date header");
        assert!(parsed.message_id().is_some(), "Message-ID header");
        let address = |list: Option<&mail_parser::Address>| {
            list.and_then(|l| l.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            to: address(parsed.to()),
            from: address(parsed.from()),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text: parsed.body_text(0).unwrap_or_default().into_owned(),
        }
    }

    /// The token of the link `{PUBLIC_URL}{path}?token=…` in the mail.
    fn token(&self, path: &str) -> String {
        let prefix = format!("{PUBLIC_URL}{path}?token=");
        let start = self
            .text
            .find(&prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in {:?}", self.text))
            + prefix.len();
        self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    pub(crate) fn reset_token(&self) -> String {
        assert_eq!(self.subject, "Reset your password");
        self.token("/reset-password")
    }

    pub(crate) fn verification_token(&self) -> String {
        assert_eq!(self.subject, "Confirm your email address");
        self.token("/verify-email")
    }
}

pub(crate) fn mail_settings<'a>(
    mail_dir: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut settings = vec![
        ("MAIL_DIR", mail_dir),
        ("PUBLIC_URL", PUBLIC_URL),
        ("MAIL_FROM", "Accounts <accounts@example.com>"),
        ("MAIL_POLL_INTERVAL", "1s"),
        ("MAIL_RETRY_DELAY", "1s"),
        // Several mails in a row to one address (the budget itself: `mail_flood`).
        ("MAIL_MIN_INTERVAL", "0"),
    ];
    settings.extend_from_slice(extra);
    settings
}

/// A server writing its mail into a fresh folder.
pub(crate) async fn spawn_with_mail(db: Db) -> (TestApp, MailDir) {
    let mail = MailDir::new();
    let dir = mail.0.to_str().unwrap().to_owned();
    let app = TestApp::spawn_with(db, &mail_settings(&dir, &[])).await;
    (app, mail)
}

/// Runs `statement` on the app's database beside the server (what another route, an
/// operator or a migration would do).
fn execute(app: &TestApp, statement: &str) -> usize {
    app.db.execute(statement)
}

#[derive(Debug, QueryableByName)]
struct OutboxEntry {
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
}

fn outbox(app: &TestApp) -> Vec<OutboxEntry> {
    const QUERY: &str = "SELECT attempts, last_error FROM mail_outbox";
    let raw = app.db.raw_url();
    match app.db.url.backend {
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(raw).unwrap();
            diesel::sql_query(QUERY).load(&mut conn).unwrap()
        }
        Backend::Sqlite => {
            let path = raw.strip_prefix("sqlite://").unwrap();
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            diesel::sql_query(QUERY).load(&mut conn).unwrap()
        }
    }
}

/// Waits until the worker has handled every outbox entry.
pub(crate) async fn wait_for_empty_outbox(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !outbox(app).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox never drained"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn request_reset(app: &TestApp, email: &str) -> Response {
    app.post_json("/password-reset/request", &json!({ "email": email }))
        .await
}

pub(crate) async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> Response {
    app.post_json(
        "/password-reset/confirm",
        &json!({ "token": token, "new_password": password }),
    )
    .await
}

pub(crate) async fn post_with_token(app: &TestApp, path: &str, access: &str) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn assert_accepted(response: Response) {
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "status": "accepted" }));
}

async fn login_status(app: &TestApp, password: &str) -> u16 {
    app.login(EMAIL, password).await.status().as_u16()
}

// ---------------------------------------------------------------------------------------------
// Password reset
// ---------------------------------------------------------------------------------------------

async fn reset_link_from_the_mail_works_once(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);

    assert_accepted(request_reset(&app, EMAIL).await).await;
    let mails = mail.wait_for(1).await;
    assert_eq!(mails[0].to, EMAIL);
    assert_eq!(mails[0].from, "accounts@example.com");
    let token = mails[0].reset_token();
    assert!(token.len() >= 22, "at least 128 bits: {token}");

    // The password policy applies as at registration; a refused password leaves the link
    // usable.
    for refused in ["password123", EMAIL] {
        let response = confirm_reset(&app, &token, refused).await;
        let body = assert_error(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "new_password", "{refused}");
    }
    assert_eq!(login_status(&app, PASSWORD).await, 200);

    let confirmed = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(confirmed.status(), 204);
    assert_eq!(login_status(&app, NEW_PASSWORD).await, 200);
    assert_eq!(login_status(&app, PASSWORD).await, 401);

    // The second use of the same link fails and changes nothing.
    let again = confirm_reset(&app, &token, "yet another password").await;
    let body = assert_error(again, 400, "invalid_token").await;
    assert!(!body.to_string().contains(&token), "no echo of the token");
    assert_eq!(login_status(&app, NEW_PASSWORD).await, 200);
}

async fn reset_link_is_dead_after_a_later_reset(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    assert_accepted(request_reset(&app, EMAIL).await).await;
    let first = mail.wait_for(1).await[0].reset_token();
    assert_accepted(request_reset(&app, EMAIL).await).await;
    let second = mail.wait_for(2).await[1].reset_token();
    assert_ne!(first, second);

    assert_eq!(
        confirm_reset(&app, &second, NEW_PASSWORD).await.status(),
        204
    );

    // Never used, not expired, but the password changed since it was issued.
    assert_error(
        confirm_reset(&app, &first, "the attacker's password").await,
        400,
        "invalid_token",
    )
    .await;
    assert_eq!(login_status(&app, NEW_PASSWORD).await, 200);
}

async fn reset_link_is_dead_after_a_password_change_by_another_route(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    assert_accepted(request_reset(&app, EMAIL).await).await;
    let token = mail.wait_for(1).await[0].reset_token();

    // Any other route that changes the password writes a new hash.
    execute(
        &app,
        &format!(
            "UPDATE users SET password_hash = '{}' WHERE email = '{EMAIL}'",
            bcrypt_hash("changed elsewhere").await
        ),
    );

    assert_error(
        confirm_reset(&app, &token, NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
    assert_eq!(login_status(&app, "changed elsewhere").await, 200);
}

async fn bcrypt_hash(password: &str) -> String {
    let hasher = BcryptHasher::new(4).unwrap();
    let hash = hasher.hash(&Password::parse(password).unwrap()).await;
    hash.unwrap().as_str().to_owned()
}

async fn reset_ends_every_session(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    let (access, refresh) = app.seed_tokens().await;
    let (other_access, _) = {
        let body: Value = app.login(EMAIL, PASSWORD).await.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(app.get_with_token("/users/me", &access).await.status(), 200);

    assert_accepted(request_reset(&app, EMAIL).await).await;
    let token = mail.wait_for(1).await[0].reset_token();
    assert_eq!(
        confirm_reset(&app, &token, NEW_PASSWORD).await.status(),
        204
    );

    for stale in [&access, &other_access] {
        let response = app.get_with_token("/users/me", stale).await;
        assert_error(response, 401, "invalid_token").await;
    }
    assert_error(app.refresh(&refresh).await, 401, "invalid_token").await;
    // A new login works, of course.
    assert_eq!(login_status(&app, NEW_PASSWORD).await, 200);
}

async fn reset_request_is_identical_for_known_and_unknown_emails(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);

    let known = request_reset(&app, EMAIL).await;
    let unknown = request_reset(&app, "nobody@doe.com").await;

    assert_eq!(known.status(), 202);
    assert_eq!(known.status(), unknown.status());
    let headers = |response: &Response| {
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != "date" && *name != "x-request-id")
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        headers
    };
    assert_eq!(headers(&known), headers(&unknown));
    let (known, unknown) = (known.bytes().await.unwrap(), unknown.bytes().await.unwrap());
    assert_eq!(known, unknown);

    // Only the account's owner gets mail.
    wait_for_empty_outbox(&app).await;
    let mails = mail.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, EMAIL);
}

async fn reset_bodies_are_validated(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);

    let malformed = request_reset(&app, "not-an-email").await;
    let body = assert_error(malformed, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "email");
    assert_error(
        app.post_json("/password-reset/request", &json!({})).await,
        422,
        "validation_failed",
    )
    .await;
    let not_json = app
        .client
        .post(app.url("/password-reset/request"))
        .body("email=john@doe.com")
        .send()
        .await
        .unwrap();
    assert_error(not_json, 400, "malformed_body").await;

    assert_accepted(request_reset(&app, EMAIL).await).await;
    let token = mail.wait_for(1).await[0].reset_token();
    // A password the policy refuses is a 422 and does not spend the token.
    let weak = confirm_reset(&app, &token, "short").await;
    let body = assert_error(weak, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_password");
    let missing = app
        .post_json(
            "/password-reset/confirm",
            &json!({ "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_error(missing, 422, "validation_failed").await;
    let wrong_type = app
        .post_json(
            "/password-reset/confirm",
            &json!({ "token": 42, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_error(wrong_type, 422, "validation_failed").await;
    for bogus in ["not-a-token".to_owned(), "x".repeat(10_000)] {
        assert_error(
            confirm_reset(&app, &bogus, NEW_PASSWORD).await,
            400,
            "invalid_token",
        )
        .await;
    }
    assert_eq!(
        confirm_reset(&app, &token, NEW_PASSWORD).await.status(),
        204
    );
}

// ---------------------------------------------------------------------------------------------
// Email verification
// ---------------------------------------------------------------------------------------------

async fn verification_link_from_the_mail_verifies_once(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    let (access, _) = app.seed_tokens().await;

    assert_accepted(post_with_token(&app, "/verify-email/request", &access).await).await;
    let mails = mail.wait_for(1).await;
    assert_eq!(mails[0].to, EMAIL);
    let token = mails[0].verification_token();

    let verified = app
        .post_json("/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), 200);
    let user: Value = verified.json().await.unwrap();
    assert_eq!(user["email"], EMAIL);
    assert_eq!(user["is_verified"], true);
    let me: Value = app
        .get_with_token("/users/me", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["is_verified"], true);

    let again = app
        .post_json("/verify-email", &json!({ "token": token }))
        .await;
    assert_error(again, 400, "invalid_token").await;

    // Verified already: accepted, and nothing is queued or sent.
    assert_accepted(post_with_token(&app, "/verify-email/request", &access).await).await;
    assert!(outbox(&app).is_empty());
    assert_eq!(mail.files().len(), 1);
}

async fn verification_link_for_an_old_email_fails(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    let (access, _) = app.seed_tokens().await;
    assert_accepted(post_with_token(&app, "/verify-email/request", &access).await).await;
    let token = mail.wait_for(1).await[0].verification_token();

    execute(
        &app,
        &format!("UPDATE users SET email = 'john.new@doe.com' WHERE email = '{EMAIL}'"),
    );

    let response = app
        .post_json("/verify-email", &json!({ "token": token }))
        .await;
    assert_error(response, 400, "invalid_token").await;
    // A change made in SQL reaches the session cache through its notification: within 1 s,
    // not necessarily before the next request.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let me = loop {
        let me: Value = app
            .get_with_token("/users/me", &access)
            .await
            .json()
            .await
            .unwrap();
        if me["email"] == "john.new@doe.com" || std::time::Instant::now() > deadline {
            break me;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(me["email"], "john.new@doe.com");
    assert_eq!(me["is_verified"], false);
}

async fn verification_request_needs_a_bearer_token_and_tokens_are_not_interchangeable(db: Db) {
    let (app, mail) = spawn_with_mail(db).await;
    let (access, _) = app.seed_tokens().await;
    let anonymous = app
        .client
        .post(app.url("/verify-email/request"))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, 401, "not_authenticated").await;

    // A reset token does not verify; a verification token does not reset.
    assert_accepted(request_reset(&app, EMAIL).await).await;
    let reset = mail.wait_for(1).await[0].reset_token();
    assert_accepted(post_with_token(&app, "/verify-email/request", &access).await).await;
    let verification = mail.wait_for(2).await[1].verification_token();
    assert_error(
        app.post_json("/verify-email", &json!({ "token": reset }))
            .await,
        400,
        "invalid_token",
    )
    .await;
    assert_error(
        confirm_reset(&app, &verification, NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
    assert_error(
        app.post_json("/verify-email", &json!({})).await,
        422,
        "validation_failed",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------------------------

async fn reset_mail_goes_through_a_real_smtp_server(db: Db) {
    let sink = SmtpSink::start().await;
    let mail = MailDir::new();
    let dir = mail.0.to_str().unwrap().to_owned();
    let url = sink.url();
    let app = TestApp::spawn_with(db, &mail_settings(&dir, &[("SMTP_URL", &url)])).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);

    assert_accepted(request_reset(&app, EMAIL).await).await;
    let received = sink.wait_for(1, WAIT).await.expect("mail over SMTP");
    assert_eq!(received[0].mail_from, "accounts@example.com");
    assert_eq!(received[0].rcpt_to, vec![EMAIL.to_owned()]);
    let token = Mail::parse(received[0].data.as_bytes()).reset_token();

    assert_eq!(
        confirm_reset(&app, &token, NEW_PASSWORD).await.status(),
        204
    );
    assert!(
        mail.files().is_empty(),
        "no file is written when SMTP is used"
    );
}

async fn an_unreachable_smtp_server_changes_no_answer_and_the_mail_follows_later(db: Db) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{port}");
    let mail = MailDir::new();
    let dir = mail.0.to_str().unwrap().to_owned();
    let app = TestApp::spawn_with(
        db,
        &mail_settings(&dir, &[("SMTP_URL", &url), ("MAIL_MAX_ATTEMPTS", "20")]),
    )
    .await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);

    // The answer is the usual one although no mail server is up.
    assert_accepted(request_reset(&app, EMAIL).await).await;

    // The failure is recorded (without the token) and the entry waits for its retry.
    let deadline = tokio::time::Instant::now() + WAIT;
    let failed = loop {
        let entries = outbox(&app);
        if let Some(entry) = entries.iter().find(|e| e.last_error.is_some()) {
            break (entry.attempts, entry.last_error.clone().unwrap());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no attempt recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(failed.0 >= 1);
    assert!(!failed.1.contains("token"), "{}", failed.1);

    // The server comes up: a retry delivers the mail, and the link works.
    let sink = SmtpSink::start_on(port, SinkMode::Accept).await.unwrap();
    let received = sink.wait_for(1, WAIT).await.expect("mail after a retry");
    assert_eq!(received.len(), 1);
    let token = Mail::parse(received[0].data.as_bytes()).reset_token();
    assert_eq!(
        confirm_reset(&app, &token, NEW_PASSWORD).await.status(),
        204
    );
    wait_for_empty_outbox(&app).await;
}

crate::on_both_databases!(
    reset_link_from_the_mail_works_once,
    reset_link_is_dead_after_a_later_reset,
    reset_link_is_dead_after_a_password_change_by_another_route,
    reset_ends_every_session,
    reset_request_is_identical_for_known_and_unknown_emails,
    reset_bodies_are_validated,
    verification_link_from_the_mail_verifies_once,
    verification_link_for_an_old_email_fails,
    verification_request_needs_a_bearer_token_and_tokens_are_not_interchangeable,
    reset_mail_goes_through_a_real_smtp_server,
    an_unreachable_smtp_server_changes_no_answer_and_the_mail_follows_later,
);
