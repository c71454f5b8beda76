//! The composition root: configuration → adapters → use cases → HTTP server.
//!
//! Only this crate knows every other one; `tests/` builds the server through
//! [`Application::build`] on a free port.

pub mod config;
mod social_login;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use auth_api::observability::{self, Metrics, PoolState, SessionCacheState};
use auth_api::AuthApi;
use auth_domain::account::AccountService;
use auth_domain::admin::AdminService;
use auth_domain::maintenance::SessionPruner;
use auth_domain::mfa::{
    MfaChallengeStore, MfaPorts, MfaService, RecoveryCodeStore, SecondFactorLogin, SecondFactors,
    SecretKeeper, TotpStore,
};
use auth_domain::ports::{
    AuditLog, Clock, PasswordHasher, Readiness, SessionRepository, TokenService, UserRepository,
};
use auth_domain::service::RegisterError;
use auth_domain::throttle::{AddressBudget, LoginThrottle, Throttle};
use auth_domain::user::AccountKind;
use auth_domain::{
    AuthService, Email, NewUser, Password, PasswordPolicy, PolicyContext, User, Username,
};
use auth_infra::{BcryptHasher, Database, JwtTokenService, SystemClock};

use auth_domain::mail::{MailOutbox, Mailer};
use auth_domain::mail_budget::MailBudget;
use auth_domain::recovery::{OneTimeTokenRepository, RecoveryPorts, RecoveryService};
use auth_infra::mail::{
    parse_sender, spawn_delivery_worker, DeliveryWorker, FileMailer, MailSetupError, SmtpMailer,
    WakingOutbox,
};
use auth_infra::RandomSecretGenerator;
use tokio::sync::Notify;

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
            keeper: data_key as Arc<dyn SecretKeeper>,
            outbox: outbox.clone(),
            audit: audit.clone(),
            clock: clock.clone(),
        },
        service.clone(),
        config.mfa.policy.clone(),
    );
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

/// A bound, not yet running, HTTP server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    prune_task: Option<PruneTask>,
    /// Sends the outbox's mail while the server runs; stopped with it.
    mail_worker: DeliveryWorker,
}

/// The periodic session prune; stops with the server (or when dropped).
struct PruneTask(tokio::task::JoinHandle<()>);

impl PruneTask {
    /// Prunes now, then every `interval`. Each run goes through the repository, so its
    /// query runs on the blocking pool; a failed run is logged and retried next time.
    fn spawn(pruner: SessionPruner, interval: std::time::Duration) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match pruner.prune().await {
                    Ok(0) => log::debug!("prune: no session to delete"),
                    Ok(deleted) => log::info!("prune: deleted {deleted} ended session(s)"),
                    Err(fault) => log::warn!("prune failed (retried in {interval:?}): {fault}"),
                }
            }
        }))
    }
}

impl Drop for PruneTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Application {
    /// Builds everything and binds the listener (`PORT=0` picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let components = assemble(&config).await?;
        match &config.mail.transport {
            MailTransport::Directory(dir) => {
                FileMailer::new(dir.clone(), parse_sender(&config.mail.from)?).ensure_dir()?;
                log::info!(
                    "mail is written as .eml files to {} (set SMTP_URL to send it)",
                    dir.display()
                );
            }
            MailTransport::Smtp(url) => {
                log::info!("mail is sent through {}", auth_infra::db::redacted(url));
            }
        }
        let address = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&address).map_err(|cause| StartError::Bind {
            address: address.clone(),
            cause,
        })?;
        let bound = listener.local_addr().map_err(|cause| StartError::Bind {
            address: address.clone(),
            cause,
        })?;
        let mut settings = config.api.clone();
        settings.jwks = components.jwks.clone();
        let readiness: Arc<dyn Readiness> = Arc::new(components.database.clone());
        let service = components.service.clone();
        let (account, admin) = (components.account.clone(), components.admin.clone());
        let recovery = components.recovery.clone();
        let mfa = components.mfa.clone();
        let oauth = components.oauth.clone();
        let pool = components.database.clone();
        let cache = components.database.clone();
        let metrics = web::Data::new(
            Metrics::new()
                .map_err(|e| StartError::Metrics(e.to_string()))?
                .with_pool_probe(move || {
                    let state = pool.pool_state();
                    PoolState {
                        connections: state.connections,
                        idle_connections: state.idle_connections,
                        max_connections: state.max_connections,
                    }
                })
                .with_session_cache_probe(move || {
                    cache
                        .session_cache_stats()
                        .map(|stats| SessionCacheState {
                            entries: stats.entries as u64,
                            hits: stats.hits,
                            misses: stats.misses,
                            listening: stats.listening,
                        })
                        .unwrap_or_default()
                }),
        );
        let mut server = HttpServer::new(move || {
            let api = AuthApi {
                service: service.clone(),
                readiness: readiness.clone(),
                settings: settings.clone(),
                account: account.clone(),
                admin: admin.clone(),
                recovery: recovery.clone(),
                mfa: mfa.clone(),
                oauth: oauth.clone(),
            };
            App::new()
                .app_data(metrics.clone())
                .wrap(from_fn(observability::observe))
                .wrap(auth_api::access_log::middleware())
                .service(auth_api::scope("", web::Data::new(api)))
        })
        .shutdown_timeout(30)
        // After answering a request whose body it will not read (413, 408), the connection is
        // closed at once: no "lingering close" that would go on reading and discarding what
        // the client still sends (a second of it is hundreds of megabytes on a fast link).
        .client_disconnect_timeout(std::time::Duration::ZERO);
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|cause| StartError::Bind {
                address: address.clone(),
                cause,
            })?
            .run();
        let prune_task = (!config.prune_interval.is_zero())
            .then(|| PruneTask::spawn(components.pruner.clone(), config.prune_interval));
        // Started last, so a server that fails to start leaves no worker behind.
        let mail_worker = spawn_delivery_worker(
            components.recovery.clone(),
            components.mail_wake.clone(),
            config.mail.poll_interval,
        );
        Ok(Self {
            server,
            address: bound,
            prune_task,
            mail_worker,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A handle to stop the server (gracefully or not).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or the handle) stops it; in-flight requests finish.
    pub async fn run(self) -> std::io::Result<()> {
        let _prune_task = self.prune_task;
        let served = self.server.await;
        drop(self.mail_worker);
        served
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateSuperuserError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("this username is already taken")]
    UsernameTaken,
    #[error("storage failure: {0}")]
    Fault(auth_domain::Fault),
}

/// The configuration of a one-shot command: it authenticates nobody, so it starts no
/// session-cache listener (nothing may still be connecting when the process exits).
fn one_shot(config: &Config) -> Config {
    let mut config = config.clone();
    config.database.session_cache_size = 0;
    config
}

/// `auth-server create-superuser`: an active, verified admin with staff and superuser flags.
pub async fn create_superuser(
    config: &Config,
    email: &str,
    username: Option<&str>,
    password: &str,
) -> Result<User, CreateSuperuserError> {
    let invalid = |field, error: auth_domain::ValueError| CreateSuperuserError::Invalid {
        field,
        message: error.0,
    };
    let email = Email::parse(email).map_err(|e| invalid("--email", e))?;
    let username = username
        .map(Username::parse)
        .transpose()
        .map_err(|e| invalid("--username", e))?;
    let password = Password::parse(password).map_err(|e| invalid("password", e))?;
    let context = PolicyContext {
        email: Some(&email),
        username: username.as_ref(),
        ..PolicyContext::default()
    };
    PasswordPolicy::check(&password, &context).map_err(|e| invalid("password", e))?;
    let components = assemble(&one_shot(config)).await?;
    let profile = NewUser {
        username,
        ..NewUser::default()
    };
    components
        .service
        .register(email, &password, profile, AccountKind::Superuser)
        .await
        .map_err(|error| match error {
            RegisterError::EmailTaken => CreateSuperuserError::EmailTaken,
            RegisterError::UsernameTaken => CreateSuperuserError::UsernameTaken,
            RegisterError::Fault(fault) => CreateSuperuserError::Fault(fault),
        })
}

/// `auth-server prune`: deletes expired sessions, and revoked ones older than
/// `SESSION_RETENTION`; returns how many it deleted.
pub async fn prune(config: &Config) -> Result<u64, PruneError> {
    let components = assemble(&one_shot(config)).await?;
    components.pruner.prune().await.map_err(PruneError::Fault)
}

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("storage failure: {0}")]
    Fault(auth_domain::Fault),
}
