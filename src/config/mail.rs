//! Mail: its transport and sender, the links it carries (`PUBLIC_URL`), the lifetimes of those
//! links, delivery retries and the per-requester mail budget.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use auth_domain::mail_budget::MailLimits;
use auth_domain::recovery::RecoveryPolicy;
use auth_infra::db::redacted;
use auth_infra::mail::parse_sender;
use chrono::TimeDelta;

use super::variable::WhenUnset::{Means, Value};
use super::variable::{bounded, optional, positive_duration, span, ttl, Env, Setting, Variable};
use super::ConfigError;

const PUBLIC_URL: Setting<String> = Setting::new(
    "PUBLIC_URL",
    Value("http://127.0.0.1:8000"),
    parse_public_url,
    "base of the links in mails: {PUBLIC_URL}/verify-email?token=… and {PUBLIC_URL}/reset-password?token=…",
);
const MAIL_FROM: Setting<String> = Setting::new(
    "MAIL_FROM",
    Value("auth-server <no-reply@localhost>"),
    |raw| match parse_sender(raw) {
        Ok(_) => Ok(raw.to_owned()),
        Err(_) => Err(format!(
            "{raw:?} is not a mailbox: use addr@domain or \"Name <addr@domain>\""
        )),
    },
    "sender of every mail: addr@domain or \"Name <addr@domain>\"",
);
const SMTP_URL: Setting<Option<String>> = Setting::new(
    "SMTP_URL",
    Means("none"),
    |raw| {
        optional(raw, |url| {
            let url = url.trim();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(format!(
                    "expected smtp://host:port or smtps://user:pass@host, got {}",
                    redacted(url)
                ));
            }
            Ok(url.to_owned())
        })
    },
    "smtp://host:port, smtp://user:pass@host:587?tls=required (STARTTLS) or smtps://user:pass@host; unset: mail goes to MAIL_DIR",
);
const MAIL_DIR: Setting<PathBuf> = Setting::new(
    "MAIL_DIR",
    Value("./mail"),
    |raw| Ok(PathBuf::from(raw.trim())),
    "folder of the .eml files written when SMTP_URL is unset",
);
const SMTP_TIMEOUT: Setting<Duration> = Setting::new(
    "SMTP_TIMEOUT",
    Value("30s"),
    positive_duration,
    "longest wait for the SMTP server at each step",
);
const VERIFY_EMAIL_TTL: Setting<TimeDelta> = Setting::new(
    "VERIFY_EMAIL_TTL",
    Value("24h"),
    ttl,
    "lifetime of an email-verification link",
);
const PASSWORD_RESET_TTL: Setting<TimeDelta> = Setting::new(
    "PASSWORD_RESET_TTL",
    Value("1h"),
    ttl,
    "lifetime of a password-reset link",
);
const MAIL_MAX_ATTEMPTS: Setting<u32> = Setting::new(
    "MAIL_MAX_ATTEMPTS",
    Value("6"),
    |raw| Ok(bounded(raw, 1..=100)? as u32),
    "delivery attempts per mail before it is given up",
);
const MAIL_RETRY_DELAY: Setting<TimeDelta> = Setting::new(
    "MAIL_RETRY_DELAY",
    Value("30s"),
    ttl,
    "wait after a failed attempt, doubled after each further one (at most 1h)",
);
const MAIL_MIN_INTERVAL: Setting<TimeDelta> = Setting::new(
    "MAIL_MIN_INTERVAL",
    Value("1m"),
    span,
    "per kind (verification, reset), account and requesting address: at most one mail per this long; 0 turns it off",
);
const MAIL_MAX_PER_DAY: Setting<u32> = Setting::new(
    "MAIL_MAX_PER_DAY",
    Value("10"),
    |raw| Ok(bounded(raw, 1..=1_000)? as u32),
    "per kind, account and requesting address: at most this many mails a day (beyond: the same 202, no mail)",
);
const MAIL_POLL_INTERVAL: Setting<Duration> = Setting::new(
    "MAIL_POLL_INTERVAL",
    Value("5s"),
    positive_duration,
    "how often the outbox is checked for due mail (new mail is sent at once)",
);

pub const VARIABLES: &[Variable] = &[
    PUBLIC_URL.variable,
    MAIL_FROM.variable,
    SMTP_URL.variable,
    MAIL_DIR.variable,
    SMTP_TIMEOUT.variable,
    VERIFY_EMAIL_TTL.variable,
    PASSWORD_RESET_TTL.variable,
    MAIL_MAX_ATTEMPTS.variable,
    MAIL_RETRY_DELAY.variable,
    MAIL_MIN_INTERVAL.variable,
    MAIL_MAX_PER_DAY.variable,
    MAIL_POLL_INTERVAL.variable,
];

/// Where mail goes.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// `SMTP_URL` (it may hold a password: `Debug` hides it).
    Smtp(String),
    /// `MAIL_DIR`: one `.eml` file per message.
    Directory(PathBuf),
}

impl fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailTransport::Smtp(url) => f.debug_tuple("Smtp").field(&redacted(url)).finish(),
            MailTransport::Directory(dir) => f.debug_tuple("Directory").field(dir).finish(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    /// `MAIL_FROM`, checked to be a mailbox.
    pub from: String,
    pub smtp_timeout: Duration,
    pub poll_interval: Duration,
}

/// The mail variables, read.
pub(super) struct MailSettings {
    pub mail: MailConfig,
    /// Token lifetimes, link base and retry policy of verification and reset mail.
    pub recovery: RecoveryPolicy,
    pub limits: MailLimits,
}

pub(super) fn read(env: &Env) -> Result<MailSettings, ConfigError> {
    let transport = match SMTP_URL.read(env)? {
        Some(url) => MailTransport::Smtp(url),
        None => MailTransport::Directory(MAIL_DIR.read(env)?),
    };
    Ok(MailSettings {
        mail: MailConfig {
            transport,
            from: MAIL_FROM.read(env)?,
            smtp_timeout: SMTP_TIMEOUT.read(env)?,
            poll_interval: MAIL_POLL_INTERVAL.read(env)?,
        },
        limits: MailLimits {
            min_interval: MAIL_MIN_INTERVAL.read(env)?,
            max_per_day: MAIL_MAX_PER_DAY.read(env)?,
        },
        recovery: RecoveryPolicy {
            verify_email_ttl: VERIFY_EMAIL_TTL.read(env)?,
            password_reset_ttl: PASSWORD_RESET_TTL.read(env)?,
            public_url: PUBLIC_URL.read(env)?,
            max_attempts: MAIL_MAX_ATTEMPTS.read(env)?,
            retry_delay: MAIL_RETRY_DELAY.read(env)?,
            ..RecoveryPolicy::default()
        },
    })
}

/// `http(s)://host[:port][/path]`, without a trailing slash; no query or fragment, since
/// paths and `?token=` are appended to it.
fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("expected http://… or https://…, got {url:?}"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?} must not contain a query, a fragment or spaces"
        ));
    }
    Ok(url.to_owned())
}
