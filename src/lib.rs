//! The composition root: configuration → adapters → use cases → HTTP server.
//!
//! Only this crate knows every other one; `tests/` builds the server through
//! [`Application::build`] on a free port. Here: [`assemble`], which wires the adapters into
//! the use cases. Beside it: `config/` (the variables), `application.rs` (the HTTP server),
//! `background.rs` (prune, mail delivery), `commands.rs` (the one-shot commands).

mod application;
mod background;
mod commands;
pub mod config;
mod social_login;

use std::sync::Arc;

use auth_domain::account::AccountService;
use auth_domain::admin::AdminService;
use auth_domain::maintenance::SessionPruner;
use auth_domain::mfa::{
    MfaChallengeStore, MfaPorts, MfaService, RecoveryCodeStore, SecondFactorLogin, SecondFactors,
    SecretKeeper, TotpStore,
};
use auth_domain::passkeys::{CeremonyStore, PasskeyPorts, PasskeyService, PasskeyStore};
use auth_domain::ports::LoginThrottle;
use auth_domain::ports::{
    AuditLog, Clock, PasswordHasher, SessionRepository, TokenService, UserRepository,
};
use auth_domain::throttle::{AddressBudget, Throttle};
use auth_domain::AuthService;
use auth_infra::{BcryptHasher, Database, JwtTokenService, SystemClock};

use auth_domain::mail_budget::MailBudget;
use auth_domain::ports::OneTimeTokenRepository;
use auth_domain::ports::{MailOutbox, Mailer};
use auth_domain::recovery::{RecoveryPorts, RecoveryService};
use auth_infra::mail::{parse_sender, FileMailer, MailSetupError, SmtpMailer, WakingOutbox};
use auth_infra::RandomSecretGenerator;
use tokio::sync::Notify;

pub use application::Application;
pub use commands::{
    bcrypt_time, create_superuser, migrate, prune, BcryptTimeError, BcryptTiming,
    CreateSuperuserError, MigrateError, PruneError,
};
pub use config::{Config, ConfigError, MailTransport};

/// Why the server could not start; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("DATABASE_URL: {0}")]
    Database(#[from] auth_infra::db::DatabaseSetupError),
    #[error("BCRYPT_COST: {0}")]
    Bcrypt(#[from] auth_infra::password::BcryptSetupError),
    #[error("{variable}: {0}", variable = jwt_variable(.0))]
    Jwt(#[from] auth_infra::jwt::JwtSetupError),
    #[error("HOST/PORT: cannot listen on {address}: {cause}")]
    Bind {
        address: String,
        cause: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Mail(#[from] MailSetupError),
    #[error("metrics: {0}")]
    Metrics(String),
}

/// The configuration variable a signing-key error is about.
fn jwt_variable(error: &auth_infra::jwt::JwtSetupError) -> &'static str {
    use auth_infra::jwt::JwtSetupError as E;
    match error {
        E::ShortSecret(_) => "JWT_SECRET",
        E::MissingPrivateKey(_) | E::PrivateKey(_) => "JWT_PRIVATE_KEY_FILE",
        E::KeysWithHmac(_) => "JWT_ALGORITHM",
        E::PublicKey { .. } => "JWT_PUBLIC_KEY_FILES",
    }
}

/// The adapters wired into the use cases.
#[derive(Clone)]
pub struct Components {
    pub service: AuthService,
    pub database: Database,
    pub account: AccountService,
    pub admin: AdminService,
    pub pruner: SessionPruner,
    /// Email verification and password reset; its mail is sent by the worker
    /// [`Application::build`] starts.
    pub recovery: RecoveryService,
    /// Second factors.
    pub mfa: MfaService,
    /// Passkeys.
    pub passkeys: PasskeyService,
    /// Wakes the delivery worker when mail is enqueued.
    pub mail_wake: Arc<Notify>,
    /// The public keys as a JWK Set, for `GET /.well-known/jwks.json`.
    pub jwks: serde_json::Value,
    /// The login throttle (also in `service`): other login steps count their failures here.
    pub throttle: Throttle,
    /// The per-address budget of anonymous ceremony starts (`CEREMONY_MAX_PER_ADDRESS`).
    pub ceremonies: AddressBudget,
    /// Social login, when providers are configured.
    pub oauth: Option<auth_api::oauth::OAuthApi>,
}

/// The scope of the ceremony budget's keys (`ceremony:<address>`).
pub const CEREMONY_BUDGET: &str = "ceremony";

/// Connects the database (running migrations), builds the adapters and the use cases.
/// Blocking work (migrations, the reference bcrypt hash) runs on the blocking pool.
pub async fn assemble(config: &Config) -> Result<Components, StartError> {
    // The keys first: a bad key stops the server before it touches the database.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // The verified-token cache holds as many tokens as the session cache holds sessions.
    let tokens = JwtTokenService::new(config.jwt_settings()?, clock.clone())?
        .with_verified_cache(config.database.session_cache_size);
    let jwks = tokens.jwks_json();
    let data_key = Arc::new(config.mfa.data_key()?);
    let (url, options) = (config.database_url.clone(), config.database.clone());
    let database = tokio::task::spawn_blocking(move || Database::connect(&url, &options)).await??;
    let cost = config.bcrypt_cost;
    let hasher = tokio::task::spawn_blocking(move || BcryptHasher::new(cost)).await??;
    let store = Arc::new(database.clone());
    let users = store.clone() as Arc<dyn UserRepository>;
    let sessions = store.clone() as Arc<dyn SessionRepository>;
    let audit = store.clone() as Arc<dyn AuditLog>;
    let throttle_store = store.clone() as Arc<dyn LoginThrottle>;
    let throttle = Throttle::new(throttle_store.clone(), config.throttle, clock.clone());
    let ceremonies = AddressBudget::new(
        throttle_store,
        CEREMONY_BUDGET,
        config.ceremony_budget,
        clock.clone(),
    );
    let tokens = Arc::new(tokens) as Arc<dyn TokenService>;
    let hasher = Arc::new(hasher) as Arc<dyn PasswordHasher>;
    let service = AuthService::new(
        users.clone(),
        sessions.clone(),
        tokens.clone(),
        hasher.clone(),
        clock.clone(),
        config.policy,
    )
    .with_audit(audit.clone())
    .with_login_throttle(throttle.clone())
    .with_second_factors(SecondFactorLogin {
        challenges: store.clone() as Arc<dyn MfaChallengeStore>,
        factors: store.clone() as Arc<dyn SecondFactors>,
        secrets: Arc::new(RandomSecretGenerator),
        token_ttl: config.mfa.policy.token_ttl,
    });
    let account = AccountService::new(
        users.clone(),
        sessions.clone(),
        tokens,
        hasher.clone(),
        clock.clone(),
        audit.clone(),
        config.policy,
    );
    let admin = AdminService::new(users.clone(), audit.clone(), clock.clone());
    let pruner = SessionPruner::new(sessions, clock.clone(), config.session_retention);
    let mail_wake = Arc::new(Notify::new());
    let outbox: Arc<dyn MailOutbox> = Arc::new(WakingOutbox::new(
        store.clone() as Arc<dyn MailOutbox>,
        mail_wake.clone(),
    ));
    let mfa = MfaService::new(
        MfaPorts {
            users: users.clone(),
            totp: store.clone() as Arc<dyn TotpStore>,
            codes: store.clone() as Arc<dyn RecoveryCodeStore>,
            factors: store.clone() as Arc<dyn SecondFactors>,
            challenges: store.clone() as Arc<dyn MfaChallengeStore>,
            keeper: data_key.clone() as Arc<dyn SecretKeeper>,
            outbox: outbox.clone(),
            audit: audit.clone(),
            clock: clock.clone(),
        },
        service.clone(),
        config.mfa.policy.clone(),
    );
    let passkeys = PasskeyService::new(
        PasskeyPorts {
            users: users.clone(),
            passkeys: store.clone() as Arc<dyn PasskeyStore>,
            ceremonies: store.clone() as Arc<dyn CeremonyStore>,
            relying_party: Arc::new(config.passkeys.relying_party()?),
            challenges: store.clone() as Arc<dyn MfaChallengeStore>,
            keeper: data_key.clone() as Arc<dyn SecretKeeper>,
            outbox: outbox.clone(),
            audit: audit.clone(),
            clock: clock.clone(),
        },
        service.clone(),
        config.passkeys.policy.clone(),
        config.mfa.policy.reauth_max_age,
    )
    .with_ceremony_budget(ceremonies.clone());
    let oauth = social_login::assemble(
        config,
        social_login::Parts {
            store: store.clone(),
            service: service.clone(),
            clock: clock.clone(),
            outbox: outbox.clone(),
            audit,
            ceremonies: ceremonies.clone(),
        },
    )?;
    let recovery = RecoveryService::new(
        RecoveryPorts {
            users,
            tokens: store.clone() as Arc<dyn OneTimeTokenRepository>,
            outbox,
            mailer: mailer(config)?,
            secrets: Arc::new(RandomSecretGenerator),
            hasher: hasher.clone(),
            clock: clock.clone(),
        },
        config.recovery.clone(),
    )
    .with_login_throttle(throttle.clone())
    .with_mail_budget(MailBudget::new(
        store.clone() as Arc<dyn LoginThrottle>,
        config.mail_limits,
        clock.clone(),
    ));
    Ok(Components {
        service,
        database,
        account,
        admin,
        pruner,
        recovery,
        mfa,
        passkeys,
        mail_wake,
        jwks,
        throttle,
        ceremonies,
        oauth,
    })
}

/// The SMTP mailer when `SMTP_URL` is set, the `.eml` file mailer otherwise.
fn mailer(config: &Config) -> Result<Arc<dyn Mailer>, StartError> {
    let from = parse_sender(&config.mail.from)?;
    Ok(match &config.mail.transport {
        MailTransport::Smtp(url) => Arc::new(SmtpMailer::new(url, from, config.mail.smtp_timeout)?),
        MailTransport::Directory(dir) => Arc::new(FileMailer::new(dir.clone(), from)),
    })
}
