//! Configuration from environment variables, checked once at start.
//!
//! A bad value stops the server with one line naming the variable.

use std::fmt;
use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::http::header::HeaderName;
use auth_api::hardening::parse_origin;
use auth_api::ApiSettings;
use auth_domain::mail_budget::MailLimits;
use auth_domain::recovery::RecoveryPolicy;
use auth_domain::throttle::WindowLimit;
use auth_domain::{ThrottlePolicy, TokenPolicy};
use auth_infra::db::DatabaseUrl;
use auth_infra::jwt::is_hmac;
use auth_infra::jwt::{parse_algorithm, PemKey, PemKeys, MIN_SECRET_BYTES};
use auth_infra::{Backend, DatabaseOptions, JwtSettings};
use chrono::TimeDelta;
use ipnet::IpNet;

#[path = "config_database.rs"]
mod database;
use database::database_settings;
pub mod mfa;
pub mod oauth;

/// Every variable the server reads, with its default and meaning (printed by `--help`).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("DATABASE_URL", "sqlite://auth.db", "postgres://… for PostgreSQL (several hosts: postgres://h1:5432,h2:5432/db?target_session_attrs=read-write), sqlite://PATH for SQLite"),
    ("DATABASE_LISTEN_URL", "(DATABASE_URL)", "direct PostgreSQL connection (never a transaction pooler) on which the session cache LISTENs"),
    ("HOST", "127.0.0.1", "address to listen on"),
    ("PORT", "8000", "port to listen on; 0 picks a free one (logged)"),
    ("JWT_SECRET", "(none)", "HMAC key, at least 32 bytes; with SQLite an unset key is generated once into DB_PATH.jwt-secret (0600)"),
    ("JWT_ALGORITHM", "HS256", "HS256, HS384 or HS512 (JWT_SECRET); RS256, ES256 or EdDSA (key files)"),
    ("JWT_PRIVATE_KEY_FILE", "(none)", "PEM private key that signs, for RS256/ES256/EdDSA (its public key is always accepted)"),
    ("JWT_PUBLIC_KEY_FILES", "(none)", "comma-separated PEM public keys also accepted and published (rotation)"),
    ("ACCESS_TOKEN_TTL", "15m", "access token lifetime"),
    ("REFRESH_TOKEN_TTL", "7d", "refresh token lifetime"),
    ("SESSION_MAX_TTL", "30d", "how long after login a session can be refreshed"),
    ("JWT_ISSUER", "auth-server", "iss claim issued and required"),
    ("JWT_AUDIENCE", "(none)", "aud claim issued and required, when set"),
    ("JWT_LEEWAY", "0", "clock skew tolerated on exp/nbf"),
    ("BCRYPT_COST", "12", "bcrypt cost, 4-31"),
    ("ACCESS_TOKEN_NAME", "access_token", "JSON key of the access token"),
    ("REFRESH_TOKEN_NAME", "refresh_token", "JSON key of the refresh token"),
    ("AUTH_HEADER_NAME", "Authorization", "header carrying the access token"),
    ("AUTH_HEADER_TYPES", "Bearer", "accepted schemes, comma-separated, case-insensitive"),
    ("MAX_BODY_BYTES", "65536", "largest request body accepted; a larger one gets 413 and the connection is closed"),
    ("REQUEST_BODY_TIMEOUT", "10s", "the whole request body must arrive within this long, else 408 request_timeout and the connection is closed"),
    ("DATABASE_POOL_SIZE", "10", "connections in the pool"),
    ("DATABASE_TIMEOUT", "5s", "wait for a pooled connection before answering 503"),
    ("DATABASE_PREPARED_STATEMENTS", "off", "on: named prepared statements cached per connection (direct PostgreSQL only, never through a transaction-pooling PgBouncer)"),
    ("SESSION_CACHE_SIZE", "10000", "sessions cached per instance for authentication (invalidated by LISTEN/NOTIFY on PostgreSQL, a polled change log on SQLite); 0 turns it off"),
    ("WORKERS", "(cores)", "HTTP worker threads"),
    ("RUST_LOG", "info", "log filter"),
    ("PRUNE_INTERVAL", "1h", "how often serve deletes ended sessions; 0 turns it off"),
    ("SESSION_RETENTION", "7d", "how long revoked sessions are kept before prune deletes them"),
    ("LOGIN_MAX_FAILURES", "5", "key 1: consecutive failed logins of one account from one client address that lock that pair"),
    ("LOGIN_ACCOUNT_MAX_FAILURES", "20", "key 2: consecutive failed logins of one account from every address that lock the account"),
    ("LOGIN_ADDRESS_MAX_FAILURES", "100", "key 3: failed logins from one client address, across accounts, within LOGIN_ADDRESS_WINDOW"),
    ("LOGIN_ADDRESS_WINDOW", "1h", "key 3's sliding window"),
    ("LOGIN_KNOWN_PAIR_TTL", "30d", "an account + address pair that logged in within this long is exempt from keys 2 and 3"),
    ("LOGIN_LOCKOUT", "1m", "first lock of keys 1 and 2; doubles with each further failure"),
    ("LOGIN_LOCKOUT_MAX", "15m", "longest lock"),
    ("CEREMONY_MAX_PER_ADDRESS", "60", "anonymous ceremony starts (passkey login options, OAuth authorize) per client address per minute"),
    ("TRUSTED_PROXIES", "(none)", "comma-separated addresses or CIDRs whose X-Forwarded-For is believed"),
    ("CORS_ALLOWED_ORIGINS", "(none: CORS off)", "comma-separated origins (scheme://host[:port]) allowed by CORS"),
    ("PUBLIC_URL", "http://127.0.0.1:8000", "base of the links in mails: {PUBLIC_URL}/verify-email?token=… and {PUBLIC_URL}/reset-password?token=…"),
    ("MAIL_FROM", "auth-server <no-reply@localhost>", "sender of every mail: addr@domain or \"Name <addr@domain>\""),
    ("SMTP_URL", "(none)", "smtp://host:port, smtp://user:pass@host:587?tls=required (STARTTLS) or smtps://user:pass@host; unset: mail goes to MAIL_DIR"),
    ("MAIL_DIR", "./mail", "folder of the .eml files written when SMTP_URL is unset"),
    ("SMTP_TIMEOUT", "30s", "longest wait for the SMTP server at each step"),
    ("VERIFY_EMAIL_TTL", "24h", "lifetime of an email-verification link"),
    ("PASSWORD_RESET_TTL", "1h", "lifetime of a password-reset link"),
    ("MAIL_MAX_ATTEMPTS", "6", "delivery attempts per mail before it is given up"),
    ("MAIL_RETRY_DELAY", "30s", "wait after a failed attempt, doubled after each further one (at most 1h)"),
    ("MAIL_MIN_INTERVAL", "1m", "per kind (verification, reset), account and requesting address: at most one mail per this long; 0 turns it off"),
    ("MAIL_MAX_PER_DAY", "10", "per kind, account and requesting address: at most this many mails a day (beyond: the same 202, no mail)"),
    ("MAIL_POLL_INTERVAL", "5s", "how often the outbox is checked for due mail (new mail is sent at once)"),
    ("DATA_ENCRYPTION_KEY", "(none)", "32 bytes, base64, that encrypt TOTP secrets; with SQLite an unset key is generated once into DB_PATH.data-key (0600), with PostgreSQL it is required"),
    ("MFA_ISSUER", "auth-server", "issuer shown by authenticator apps (otpauth:// URIs)"),
    ("MFA_TOKEN_TTL", "5m", "lifetime of the mfa_token of a login waiting for its second factor"),
    ("REAUTH_MAX_AGE", "5m", "how recent a login re-authenticates an account without a password"),
    ("REQUIRE_MFA_FOR_ADMINS", "false", "administration routes answer 403 mfa_required to a login without a second factor"),
    ("OAUTH_PROVIDERS", "(none)", "social login: comma-separated provider names (github selects GitHub's flavour); each has OAUTH_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _SCOPES, _DISPLAY_NAME, _TRUST_EMAIL"),
    ("OAUTH_REDIRECT_ALLOWLIST", "(none)", "comma-separated app URLs the browser may be sent back to (exact origin, path by whole segments)"),
    ("OAUTH_HTTP_TIMEOUT", "10s", "longest wait for any request to a login provider"),
];

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Where the signing key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    Given(Vec<u8>),
    /// Generated on first start and kept in this file (SQLite only).
    File(PathBuf),
    /// No secret: an asymmetric algorithm signs with `JWT_PRIVATE_KEY_FILE`.
    Unused,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Given(_) => f.write_str("Given(<redacted>)"),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
            SecretSource::Unused => f.write_str("Unused"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub database: DatabaseOptions,
    pub host: String,
    pub port: u16,
    pub secret: SecretSource,
    pub algorithm: auth_infra::jwt::Algorithm,
    pub issuer: String,
    pub audience: Option<String>,
    pub leeway_secs: u64,
    pub policy: TokenPolicy,
    pub bcrypt_cost: u32,
    pub api: ApiSettings,
    pub workers: Option<usize>,
    /// How often `serve` prunes sessions (zero: never).
    pub prune_interval: Duration,
    /// How long a revoked session is kept before `prune` deletes it.
    pub session_retention: TimeDelta,
    pub throttle: ThrottlePolicy,
    /// `CEREMONY_MAX_PER_ADDRESS` per minute: starts of anonymous ceremonies per address.
    pub ceremony_budget: WindowLimit,
    /// Mail transport and delivery (issue "Account lifecycle").
    pub mail: MailConfig,
    /// Token lifetimes, link base and retry policy of verification and reset mail.
    pub recovery: RecoveryPolicy,
    /// `MAIL_MIN_INTERVAL`, `MAIL_MAX_PER_DAY`.
    pub mail_limits: MailLimits,
    /// `JWT_PRIVATE_KEY_FILE`, with an asymmetric algorithm.
    pub private_key_file: Option<PathBuf>,
    /// `JWT_PUBLIC_KEY_FILES`, with an asymmetric algorithm.
    pub public_key_files: Vec<PathBuf>,
    /// Second factors (issue "Two-factor authentication").
    pub mfa: mfa::MfaConfig,
    /// Social login (issue "Social login").
    pub oauth: oauth::OAuthConfig,
}

/// The non-empty entries of a comma-separated list.
fn list(raw: Option<String>) -> impl Iterator<Item = String> {
    raw.unwrap_or_default()
        .split(',')
        .map(|entry| entry.trim().to_owned())
        .filter(|entry| !entry.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

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
            MailTransport::Smtp(url) => f
                .debug_tuple("Smtp")
                .field(&auth_infra::db::redacted(url))
                .finish(),
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

/// Parses `900`, `30s`, `15m`, `12h`, `7d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let amount: u64 = digits.parse().map_err(|_| {
        format!("expected whole seconds or a number with s, m, h or d, got {raw:?}")
    })?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {raw:?}: use s, m, h or d"
            ))
        }
    };
    amount
        .checked_mul(unit_secs)
        .filter(|secs| *secs <= 10 * 365 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{raw:?} is too long"))
}

impl Config {
    /// Reads the configuration through `lookup` (the process environment in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let text =
            |name: &'static str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse()
                    .map_err(|_| invalid(name, format!("expected a whole number, got {raw:?}"))),
            }
        };
        let duration = |name: &'static str, default: &str, allow_zero: bool| {
            let value = parse_duration(&text(name, default)).map_err(|m| invalid(name, m))?;
            if !allow_zero && value.is_zero() {
                return Err(invalid(name, "must be greater than zero"));
            }
            Ok(value)
        };
        let ttl = |name: &'static str, default: &str| -> Result<TimeDelta, ConfigError> {
            let value = duration(name, default, false)?;
            TimeDelta::from_std(value).map_err(|_| invalid(name, "is too long"))
        };

        let (database_url, database) = database_settings(&get)?;

        let algorithm_name = text("JWT_ALGORITHM", "HS256");
        let algorithm = parse_algorithm(algorithm_name.trim()).ok_or_else(|| {
            invalid(
                "JWT_ALGORITHM",
                format!(
                    "unsupported algorithm {algorithm_name:?}: use HS256, HS384, HS512, \
                     RS256, ES256 or EdDSA"
                ),
            )
        })?;

        let private_key_file = get("JWT_PRIVATE_KEY_FILE").map(|path| PathBuf::from(path.trim()));
        let public_key_files: Vec<PathBuf> = get("JWT_PUBLIC_KEY_FILES")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|path| !path.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let asymmetric = !is_hmac(algorithm);
        let algorithm_name = algorithm_name.trim();
        if asymmetric {
            if private_key_file.is_none() {
                return Err(invalid(
                    "JWT_PRIVATE_KEY_FILE",
                    format!("is required with JWT_ALGORITHM={algorithm_name}: a PEM private key"),
                ));
            }
            if get("JWT_SECRET").is_some() {
                return Err(invalid(
                    "JWT_SECRET",
                    format!(
                        "is not used with JWT_ALGORITHM={algorithm_name}, which signs with \
                         JWT_PRIVATE_KEY_FILE: unset it"
                    ),
                ));
            }
        } else {
            if private_key_file.is_some() {
                return Err(invalid(
                    "JWT_PRIVATE_KEY_FILE",
                    format!(
                        "is not used with JWT_ALGORITHM={algorithm_name}, which signs with \
                         JWT_SECRET: unset it, or choose RS256, ES256 or EdDSA"
                    ),
                ));
            }
            if !public_key_files.is_empty() {
                return Err(invalid(
                    "JWT_PUBLIC_KEY_FILES",
                    format!(
                        "is not used with JWT_ALGORITHM={algorithm_name}, which signs with \
                         JWT_SECRET: unset it, or choose RS256, ES256 or EdDSA"
                    ),
                ));
            }
        }

        let secret = match lookup("JWT_SECRET") {
            _ if asymmetric => SecretSource::Unused,
            Some(secret) if secret.len() >= MIN_SECRET_BYTES => {
                SecretSource::Given(secret.into_bytes())
            }
            Some(secret) => {
                return Err(invalid(
                    "JWT_SECRET",
                    format!(
                        "must be at least {MIN_SECRET_BYTES} bytes, got {}",
                        secret.len()
                    ),
                ))
            }
            None => match database_url.sqlite_path() {
                Some(path) => SecretSource::File(PathBuf::from(format!("{path}.jwt-secret"))),
                None => {
                    return Err(invalid(
                        "JWT_SECRET",
                        "is required with PostgreSQL: set a random key of at least 32 bytes \
                         (e.g. `openssl rand -hex 32`)",
                    ))
                }
            },
        };

        let policy = TokenPolicy {
            access_ttl: ttl("ACCESS_TOKEN_TTL", "15m")?,
            refresh_ttl: ttl("REFRESH_TOKEN_TTL", "7d")?,
            session_max_ttl: ttl("SESSION_MAX_TTL", "30d")?,
        };

        let bcrypt_cost = number("BCRYPT_COST", 12)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(invalid(
                "BCRYPT_COST",
                format!("must be between 4 and 31, got {bcrypt_cost}"),
            ));
        }

        let port = number("PORT", 8000)?;
        let port = u16::try_from(port)
            .map_err(|_| invalid("PORT", format!("must be at most 65535, got {port}")))?;

        let auth_header_raw = text("AUTH_HEADER_NAME", "Authorization");
        let auth_header =
            HeaderName::from_bytes(auth_header_raw.trim().as_bytes()).map_err(|_| {
                invalid(
                    "AUTH_HEADER_NAME",
                    format!("{auth_header_raw:?} is not a header name"),
                )
            })?;
        let auth_schemes: Vec<String> = text("AUTH_HEADER_TYPES", "Bearer")
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if auth_schemes.is_empty() {
            return Err(invalid(
                "AUTH_HEADER_TYPES",
                "must list at least one scheme",
            ));
        }

        let token_name = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let value = text(name, default).trim().to_owned();
            if value == "token_type" || value == "expires_in" {
                return Err(invalid(
                    name,
                    format!("{value:?} is already a key of the token response"),
                ));
            }
            Ok(value)
        };
        let access_token_name = token_name("ACCESS_TOKEN_NAME", "access_token")?;
        let refresh_token_name = token_name("REFRESH_TOKEN_NAME", "refresh_token")?;
        if access_token_name == refresh_token_name {
            return Err(invalid(
                "REFRESH_TOKEN_NAME",
                "must differ from ACCESS_TOKEN_NAME",
            ));
        }

        let max_body_bytes = number("MAX_BODY_BYTES", 65_536)?;
        if max_body_bytes < 1_024 {
            return Err(invalid("MAX_BODY_BYTES", "must be at least 1024"));
        }
        let workers = match get("WORKERS") {
            None => None,
            Some(_) => Some(number("WORKERS", 0)?)
                .filter(|w| *w > 0)
                .map(|w| w as usize),
        };

        let throttle = throttle::ThrottleSettings::read(&get)?;
        let trusted_proxies = list(get("TRUSTED_PROXIES"))
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "TRUSTED_PROXIES",
                            format!("{entry:?} is neither an IP address nor a CIDR network"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cors_allowed_origins = list(get("CORS_ALLOWED_ORIGINS"))
            .map(|entry| parse_origin(&entry).map_err(|m| invalid("CORS_ALLOWED_ORIGINS", m)))
            .collect::<Result<Vec<_>, _>>()?;
        let mail = MailConfig {
            transport: match get("SMTP_URL") {
                Some(url) => {
                    let url = url.trim().to_owned();
                    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                        return Err(invalid(
                            "SMTP_URL",
                            format!(
                                "expected smtp://host:port or smtps://user:pass@host, got {}",
                                auth_infra::db::redacted(&url)
                            ),
                        ));
                    }
                    MailTransport::Smtp(url)
                }
                None => MailTransport::Directory(PathBuf::from(text("MAIL_DIR", "./mail").trim())),
            },
            from: {
                let from = text("MAIL_FROM", "auth-server <no-reply@localhost>");
                auth_infra::mail::parse_sender(&from).map_err(|_| {
                    invalid(
                        "MAIL_FROM",
                        format!(
                            "{from:?} is not a mailbox: use addr@domain or \"Name <addr@domain>\""
                        ),
                    )
                })?;
                from
            },
            smtp_timeout: duration("SMTP_TIMEOUT", "30s", false)?,
            poll_interval: duration("MAIL_POLL_INTERVAL", "5s", false)?,
        };
        let max_attempts = number("MAIL_MAX_ATTEMPTS", 6)?;
        if !(1..=100).contains(&max_attempts) {
            return Err(invalid("MAIL_MAX_ATTEMPTS", "must be between 1 and 100"));
        }
        let max_per_day = number("MAIL_MAX_PER_DAY", 10)?;
        if !(1..=1_000).contains(&max_per_day) {
            return Err(invalid("MAIL_MAX_PER_DAY", "must be between 1 and 1000"));
        }
        let mail_limits = MailLimits {
            min_interval: TimeDelta::from_std(duration("MAIL_MIN_INTERVAL", "1m", true)?)
                .map_err(|_| invalid("MAIL_MIN_INTERVAL", "is too long"))?,
            max_per_day: max_per_day as u32,
        };
        let recovery = RecoveryPolicy {
            verify_email_ttl: ttl("VERIFY_EMAIL_TTL", "24h")?,
            password_reset_ttl: ttl("PASSWORD_RESET_TTL", "1h")?,
            public_url: parse_public_url(&text("PUBLIC_URL", "http://127.0.0.1:8000"))
                .map_err(|m| invalid("PUBLIC_URL", m))?,
            max_attempts: max_attempts as u32,
            retry_delay: ttl("MAIL_RETRY_DELAY", "30s")?,
            ..RecoveryPolicy::default()
        };

        let mfa = mfa::read(&get, &ttl, &database_url)?;
        let oauth = oauth::read(&get)?;

        Ok(Self {
            database_url,
            database,
            host: text("HOST", "127.0.0.1").trim().to_owned(),
            port,
            secret,
            algorithm,
            issuer: text("JWT_ISSUER", "auth-server"),
            audience: get("JWT_AUDIENCE"),
            leeway_secs: duration("JWT_LEEWAY", "0", true)?.as_secs(),
            policy,
            bcrypt_cost: bcrypt_cost as u32,
            api: ApiSettings {
                access_token_name,
                refresh_token_name,
                auth_header,
                auth_schemes,
                max_body_bytes: max_body_bytes as usize,
                body_timeout: duration("REQUEST_BODY_TIMEOUT", "10s", false)?,
                trusted_proxies,
                cors_allowed_origins,
                require_mfa_for_admins: mfa.require_for_admins,
                ..ApiSettings::default()
            },
            workers,
            prune_interval: duration("PRUNE_INTERVAL", "1h", true)?,
            session_retention: TimeDelta::from_std(duration("SESSION_RETENTION", "7d", true)?)
                .map_err(|_| invalid("SESSION_RETENTION", "is too long"))?,
            throttle: throttle.policy,
            ceremony_budget: throttle.ceremony_budget,
            mail,
            recovery,
            mail_limits,
            private_key_file,
            public_key_files,
            mfa,
            oauth,
        })
    }

    /// Reads the process environment (and `.env`, loaded by the caller).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn backend(&self) -> Backend {
        self.database_url.backend
    }

    /// The signing settings, reading or creating the key file when the key is not given.
    pub fn jwt_settings(&self) -> Result<JwtSettings, ConfigError> {
        let secret = match &self.secret {
            SecretSource::Given(secret) => secret.clone(),
            SecretSource::File(path) => load_or_create_secret(path)?,
            SecretSource::Unused => Vec::new(),
        };
        let key_pair = match &self.private_key_file {
            None => None,
            Some(private) => Some(PemKeys {
                private_key: read_key_file("JWT_PRIVATE_KEY_FILE", private)?,
                public_keys: self
                    .public_key_files
                    .iter()
                    .map(|path| read_key_file("JWT_PUBLIC_KEY_FILES", path))
                    .collect::<Result<_, _>>()?,
            }),
        };
        Ok(JwtSettings {
            algorithm: self.algorithm,
            secret,
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            leeway_secs: self.leeway_secs,
            key_pair,
        })
    }
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

fn read_key_file(variable: &'static str, path: &Path) -> Result<PemKey, ConfigError> {
    let pem = fs::read(path)
        .map_err(|e| invalid(variable, format!("cannot read {}: {e}", path.display())))?;
    Ok(PemKey::new(path.display().to_string(), pem))
}

fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let fail = |message: String| invalid("JWT_SECRET", message);
    match fs::read_to_string(path) {
        Ok(existing) => {
            let key = existing.trim().as_bytes().to_vec();
            if key.len() < MIN_SECRET_BYTES {
                return Err(fail(format!(
                    "the key file {} is too short; delete it to generate a new key",
                    path.display()
                )));
            }
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key: String = (0..32)
                .map(|_| format!("{:02x}", rand::random::<u8>()))
                .collect();
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|e| {
                fail(format!(
                    "cannot create the key file {}: {e}",
                    path.display()
                ))
            })?;
            file.write_all(key.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| fail(format!("cannot write the key file {}: {e}", path.display())))?;
            log::warn!(
                "JWT_SECRET is not set: generated a signing key in {} (mode 0600). \
                 Set JWT_SECRET in production.",
                path.display()
            );
            Ok(key.into_bytes())
        }
        Err(error) => Err(fail(format!(
            "cannot read the key file {}: {error}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod attack_resistance_config_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([("JWT_SECRET".to_owned(), "x".repeat(32))])
            .collect();
        Config::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn throttle_proxies_and_cors_default_to_five_one_minute_fifteen_none_none() {
        let config = config(&[]).unwrap();
        assert_eq!(config.throttle.pair_max_failures, 5);
        assert_eq!(config.throttle.lockout, TimeDelta::minutes(1));
        assert_eq!(config.throttle.lockout_max, TimeDelta::minutes(15));
        assert!(config.api.trusted_proxies.is_empty());
        assert!(config.api.cors_allowed_origins.is_empty());
    }

    #[test]
    fn throttle_proxies_and_cors_are_read() {
        let config = config(&[
            ("LOGIN_MAX_FAILURES", "3"),
            ("LOGIN_LOCKOUT", "30s"),
            ("LOGIN_LOCKOUT_MAX", "1h"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ,::1"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://App.example.com,http://localhost:3000",
            ),
        ])
        .unwrap();
        assert_eq!(config.throttle.pair_max_failures, 3);
        assert_eq!(config.throttle.lockout, TimeDelta::seconds(30));
        assert_eq!(config.throttle.lockout_max, TimeDelta::hours(1));
        let proxies: Vec<String> = config
            .api
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
        assert_eq!(
            config.api.cors_allowed_origins,
            ["https://app.example.com", "http://localhost:3000"]
        );
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (variable, value) in [
            ("LOGIN_MAX_FAILURES", "0"),
            ("LOGIN_MAX_FAILURES", "many"),
            ("LOGIN_LOCKOUT", "0"),
            ("LOGIN_LOCKOUT", "1y"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "proxy.example.com"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("CORS_ALLOWED_ORIGINS", "https://app.example.com/path"),
        ] {
            let error = config(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{variable}={value}: {error}");
        }
        let error = config(&[("LOGIN_LOCKOUT", "10m"), ("LOGIN_LOCKOUT_MAX", "5m")]).unwrap_err();
        assert_eq!(error.variable, "LOGIN_LOCKOUT_MAX");
    }
}

#[path = "config_throttle.rs"]
mod throttle;

#[cfg(test)]
#[path = "config_mail_tests.rs"]
mod mail_tests;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
