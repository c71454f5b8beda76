//! The mail, verification and reset variables.

use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;

use super::{config, refused};
use crate::config::MailTransport;

#[test]
fn defaults_write_mail_to_a_folder_with_the_documented_policy() {
    let config = config(&[]).unwrap();
    assert_eq!(
        config.mail.transport,
        MailTransport::Directory(PathBuf::from("./mail"))
    );
    assert_eq!(config.mail.from, "auth-server <no-reply@localhost>");
    assert_eq!(config.mail.smtp_timeout, Duration::from_secs(30));
    assert_eq!(config.mail.poll_interval, Duration::from_secs(5));
    assert_eq!(config.recovery.public_url, "http://127.0.0.1:8000");
    assert_eq!(config.recovery.verify_email_ttl, TimeDelta::hours(24));
    assert_eq!(config.recovery.password_reset_ttl, TimeDelta::hours(1));
    assert_eq!(config.recovery.max_attempts, 6);
    assert_eq!(config.recovery.retry_delay, TimeDelta::seconds(30));
}

#[test]
fn every_mail_variable_is_read() {
    let config = config(&[
        ("SMTP_URL", "smtps://mailer:s3cret@mail.example.com"),
        ("MAIL_FROM", "Accounts <accounts@example.com>"),
        ("SMTP_TIMEOUT", "10s"),
        ("MAIL_POLL_INTERVAL", "2s"),
        ("PUBLIC_URL", "https://app.example.com/account/"),
        ("VERIFY_EMAIL_TTL", "2d"),
        ("PASSWORD_RESET_TTL", "15m"),
        ("MAIL_MAX_ATTEMPTS", "3"),
        ("MAIL_RETRY_DELAY", "1m"),
    ])
    .unwrap();
    assert_eq!(
        config.mail.transport,
        MailTransport::Smtp("smtps://mailer:s3cret@mail.example.com".into())
    );
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "Debug hides the SMTP password"
    );
    assert_eq!(config.mail.from, "Accounts <accounts@example.com>");
    assert_eq!(config.mail.smtp_timeout, Duration::from_secs(10));
    assert_eq!(config.mail.poll_interval, Duration::from_secs(2));
    assert_eq!(
        config.recovery.public_url,
        "https://app.example.com/account"
    );
    assert_eq!(config.recovery.verify_email_ttl, TimeDelta::days(2));
    assert_eq!(config.recovery.password_reset_ttl, TimeDelta::minutes(15));
    assert_eq!(config.recovery.max_attempts, 3);
    assert_eq!(config.recovery.retry_delay, TimeDelta::minutes(1));
}

#[test]
fn bad_values_name_their_variable() {
    let cases: &[(&str, &str)] = &[
        ("SMTP_URL", "http://user:s3cret@mail.example.com"),
        ("MAIL_FROM", "not a mailbox"),
        ("PUBLIC_URL", "app.example.com"),
        ("PUBLIC_URL", "https://"),
        ("PUBLIC_URL", "https://app.example.com/?next=1"),
        ("VERIFY_EMAIL_TTL", "0"),
        ("PASSWORD_RESET_TTL", "soon"),
        ("MAIL_MAX_ATTEMPTS", "0"),
        ("MAIL_RETRY_DELAY", "0s"),
        ("MAIL_POLL_INTERVAL", "0"),
        ("SMTP_TIMEOUT", "1y"),
    ];
    for (variable, value) in cases {
        let error = refused(&[(variable, value)]);
        assert_eq!(error.variable, *variable, "{value:?}: {error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
