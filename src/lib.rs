//! The composition root: configuration → adapters → use cases → HTTP server.
//!
//! Only this crate knows every other one; `tests/` builds the server through
//! [`Application::build`] on a free port.

pub mod config;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::Logger;
use actix_web::{web, App, HttpServer};
use auth_api::AuthApi;
use auth_domain::ports::{Clock, PasswordHasher, Readiness, SessionRepository, UserRepository};
use auth_domain::service::RegisterError;
use auth_domain::throttle::LoginThrottle;
use auth_domain::user::AccountKind;
use auth_domain::{
    AuthService, Email, NewUser, Password, PasswordPolicy, PolicyContext, User, Username,
};
use auth_infra::{BcryptHasher, Database, JwtTokenService, SystemClock};

pub use config::{Config, ConfigError};

/// Why the server could not start; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("DATABASE_URL: {0}")]
    Database(#[from] auth_infra::db::DatabaseSetupError),
    #[error("BCRYPT_COST: {0}")]
    Bcrypt(#[from] auth_infra::password::BcryptSetupError),
    #[error("JWT_SECRET: {0}")]
    Jwt(#[from] auth_infra::jwt::JwtSetupError),
    #[error("HOST/PORT: cannot listen on {address}: {cause}")]
    Bind {
        address: String,
        cause: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The adapters wired into the use cases.
#[derive(Clone)]
pub struct Components {
    pub service: AuthService,
    pub database: Database,
}

/// Connects the database (running migrations), builds the adapters and the use cases.
/// Blocking work (migrations, the reference bcrypt hash) runs on the blocking pool.
pub async fn assemble(config: &Config) -> Result<Components, StartError> {
    let (url, options) = (config.database_url.clone(), config.database.clone());
    let database = tokio::task::spawn_blocking(move || Database::connect(&url, &options)).await??;
    let cost = config.bcrypt_cost;
    let hasher = tokio::task::spawn_blocking(move || BcryptHasher::new(cost)).await??;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tokens = JwtTokenService::new(config.jwt_settings()?, clock.clone())?;
    let store = Arc::new(database.clone());
    let service = AuthService::new(
        store.clone() as Arc<dyn UserRepository>,
        store.clone() as Arc<dyn SessionRepository>,
        Arc::new(tokens),
        Arc::new(hasher) as Arc<dyn PasswordHasher>,
        clock,
        config.policy,
    )
    .with_login_throttle(store as Arc<dyn LoginThrottle>, config.throttle);
    Ok(Components { service, database })
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    server: Server,
    address: SocketAddr,
}

impl Application {
    /// Builds everything and binds the listener (`PORT=0` picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let components = assemble(&config).await?;
        let address = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&address).map_err(|cause| StartError::Bind {
            address: address.clone(),
            cause,
        })?;
        let bound = listener.local_addr().map_err(|cause| StartError::Bind {
            address: address.clone(),
            cause,
        })?;
        let settings = config.api.clone();
        let readiness: Arc<dyn Readiness> = Arc::new(components.database.clone());
        let service = components.service.clone();
        let mut server = HttpServer::new(move || {
            let api = AuthApi {
                service: service.clone(),
                readiness: readiness.clone(),
                settings: settings.clone(),
            };
            App::new()
                .wrap(Logger::new("%a \"%r\" %s %b %Dms"))
                .service(auth_api::scope("", web::Data::new(api)))
        })
        .shutdown_timeout(30);
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
        Ok(Self {
            server,
            address: bound,
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
        self.server.await
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
    let components = assemble(config).await?;
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
