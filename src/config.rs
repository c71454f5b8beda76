//! Configuration from environment variables, checked once at start.
//!
//! A bad value stops the server with one line naming the variable. Each concern declares its
//! variables in its own file — name, default, parser, `--help` line, once (see [`variable`]) —
//! and `--help` and the README's table are derived from those declarations.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use auth_api::ApiSettings;
use auth_domain::mail_budget::MailLimits;
use auth_domain::recovery::RecoveryPolicy;
use auth_domain::throttle::WindowLimit;
use auth_domain::{ThrottlePolicy, TokenPolicy};
use auth_infra::db::DatabaseUrl;
use auth_infra::{Backend, DatabaseOptions};
use chrono::TimeDelta;

mod database;
mod http;
pub mod mail;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
mod passwords;
pub mod server;
mod throttle;
pub mod tokens;
pub mod variable;

pub use mail::{MailConfig, MailTransport};
pub use tokens::SecretSource;
pub use variable::parse_duration;
use variable::{Env, Variable};

/// Every variable, by concern, in the order of `--help` and of the README's table.
pub const GROUPS: &[&[Variable]] = &[
    database::VARIABLES,
    server::VARIABLES,
    tokens::VARIABLES,
    passwords::VARIABLES,
    http::VARIABLES,
    throttle::VARIABLES,
    mail::VARIABLES,
    mfa::VARIABLES,
    passkeys::VARIABLES,
    oauth::VARIABLES,
];

/// Every variable the server reads, with its default and meaning.
pub fn variables() -> impl Iterator<Item = &'static Variable> {
    GROUPS.iter().flat_map(|group| group.iter())
}

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
    /// Passkeys (issue "Passkeys").
    pub passkeys: passkeys::PasskeyConfig,
    /// Social login (issue "Social login").
    pub oauth: oauth::OAuthConfig,
}

impl Config {
    /// Reads the configuration through `lookup` (the process environment in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let (database_url, database) = database::read(&env)?;
        let tokens = tokens::read(&env, &database_url)?;
        let bcrypt_cost = passwords::read(&env)?;
        let server = server::read(&env)?;
        let mut api = http::read(&env)?;
        let throttle = throttle::read(&env)?;
        let mail = mail::read(&env)?;
        let mfa = mfa::read(&env, &database_url)?;
        let oauth = oauth::read(&env)?;
        api.require_mfa_for_admins = mfa.require_for_admins;
        let passkeys = passkeys::read(&env, &mail.recovery.public_url)?;
        Ok(Self {
            database_url,
            database,
            host: server.host,
            port: server.port,
            secret: tokens.secret,
            algorithm: tokens.algorithm,
            issuer: tokens.issuer,
            audience: tokens.audience,
            leeway_secs: tokens.leeway_secs,
            policy: tokens.policy,
            bcrypt_cost,
            api,
            workers: server.workers,
            prune_interval: server.prune_interval,
            session_retention: server.session_retention,
            throttle: throttle.policy,
            ceremony_budget: throttle.ceremony_budget,
            mail: mail.mail,
            recovery: mail.recovery,
            mail_limits: mail.limits,
            private_key_file: tokens.private_key_file,
            public_key_files: tokens.public_key_files,
            mfa,
            passkeys,
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
}

#[cfg(test)]
mod tests;
