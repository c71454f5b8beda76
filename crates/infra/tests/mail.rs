//! The `Mailer` contract against both adapters: the SMTP one talking to a real SMTP server on
//! loopback (`auth_infra::smtp_sink`), the file one writing into a temporary folder. Each
//! message is read back with an independent RFC 5322 parser (`mail-parser`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use auth_domain::mail::{MailError, MailMessage};

use auth_domain::ports::Mailer;
use auth_domain::Email;
use auth_infra::mail::{parse_sender, FileMailer, MailSetupError, SmtpMailer};
use auth_infra::smtp_sink::{SinkMode, SmtpSink};
use mail_parser::MessageParser;
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(10);

fn message(to: &str) -> MailMessage {
    MailMessage {
        to: Email::parse(to).unwrap(),
        subject: "Reset your password — ünïcödé".into(),
        text: "Open https://app.example.com/reset-password?token=abc_DEF-123\n\
               .a line starting with a dot\n"
            .into(),
    }
}

fn smtp_mailer(url: &str) -> SmtpMailer {
    SmtpMailer::new(
        url,
        parse_sender("Auth Server <no-reply@example.com>").unwrap(),
        TIMEOUT,
    )
    .unwrap()
}

/// Checks the headers and body of a formatted message against what was sent.
fn assert_parses_as(raw: &[u8], sent: &MailMessage) {
    let parsed = MessageParser::default()
        .parse(raw)
        .expect("an RFC 5322 message");
    assert_eq!(parsed.subject(), Some(sent.subject.as_str()));
    let to = parsed
        .to()
        .and_then(|to| to.first())
        .and_then(|a| a.address());
    assert_eq!(to, Some(sent.to.as_str()));
    let from = parsed
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address());
    assert_eq!(from, Some("no-reply@example.com"));
    assert!(parsed.date().is_some(), "Date header");
    assert!(
        parsed
            .message_id()
            .is_some_and(|id| id.ends_with("@example.com")),
        "Message-ID {:?}",
        parsed.message_id()
    );
    let body = parsed.body_text(0).expect("a text body");
    // Line ends become CRLF on the wire and trailing empty lines are the transport's.
    assert_eq!(body.replace("\r\n", "\n").trim_end(), sent.text.trim_end());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// SMTP
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn smtp_delivers_through_a_real_smtp_conversation() {
    let sink = SmtpSink::start().await;
    let mailer = smtp_mailer(&sink.url());
    let sent = message("ann@example.com");

    mailer.send(&sent).await.unwrap();

    let received = sink.wait_for(1, TIMEOUT).await.expect("one message");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].mail_from, "no-reply@example.com");
    assert_eq!(received[0].rcpt_to, vec!["ann@example.com".to_owned()]);
    assert_parses_as(received[0].data.as_bytes(), &sent);
}

#[tokio::test]
async fn smtp_refused_recipient_is_a_permanent_failure() {
    let sink = SmtpSink::start_on(0, SinkMode::RejectRecipients)
        .await
        .unwrap();
    let mailer = smtp_mailer(&sink.url());

    let error = mailer
        .send(&message("nobody@example.com"))
        .await
        .unwrap_err();

    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn smtp_unreachable_server_is_a_transient_failure() {
    let mailer = smtp_mailer(&format!("smtp://127.0.0.1:{}", free_port()));

    let error = mailer.send(&message("ann@example.com")).await.unwrap_err();

    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    assert!(!error.to_string().contains("token="), "{error}");
}

#[test]
fn smtp_bad_url_names_the_variable_and_hides_the_password() {
    let from = parse_sender("no-reply@example.com").unwrap();
    for url in ["http://mail.example.com", "smtp://user:hunter2@/", "smtp:"] {
        let error = SmtpMailer::new(url, from.clone(), TIMEOUT).unwrap_err();
        let line = error.to_string();
        assert!(
            matches!(error, MailSetupError::Smtp(_)) && line.starts_with("SMTP_URL: "),
            "{line}"
        );
        assert!(!line.contains("hunter2"), "{line}");
    }
    for url in [
        "smtp://127.0.0.1:2525",
        "smtp://user:pass@mail.example.com:587?tls=required",
        "smtps://user:pass@mail.example.com",
    ] {
        assert!(SmtpMailer::new(url, from.clone(), TIMEOUT).is_ok(), "{url}");
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// A fresh folder under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("auth-mail-test-{}", Uuid::new_v4().simple())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries
}

#[tokio::test]
async fn file_mailer_writes_one_whole_eml_per_message() {
    let temp = TempDir::new();
    let dir = temp.0.join("mail");
    let mailer = FileMailer::new(
        &dir,
        parse_sender("Auth Server <no-reply@example.com>").unwrap(),
    );
    let first = message("ann@example.com");
    let second = message("bob@example.com");

    // The folder is created on demand.
    mailer.send(&first).await.unwrap();
    mailer.send(&second).await.unwrap();

    let files = entries(&dir);
    assert_eq!(
        files.len(),
        2,
        "{files:?}: no temporary file is left behind"
    );
    assert!(files
        .iter()
        .all(|file| file.extension().is_some_and(|e| e == "eml")));
    let contents: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    // Names sort by time: the first message is the first file.
    assert_parses_as(&contents[0], &first);
    assert_parses_as(&contents[1], &second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mail files hold tokens: owner only");
    }
}

#[tokio::test]
async fn file_mailer_reports_an_unusable_folder_without_panicking() {
    let temp = TempDir::new();
    std::fs::create_dir_all(&temp.0).unwrap();
    let blocker = temp.0.join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let mailer = FileMailer::new(
        blocker.join("mail"),
        parse_sender("no-reply@example.com").unwrap(),
    );

    let error = mailer.send(&message("ann@example.com")).await.unwrap_err();
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");
    let setup = mailer.ensure_dir().unwrap_err().to_string();
    assert!(setup.starts_with("MAIL_DIR: "), "{setup}");
}
