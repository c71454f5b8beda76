//! The bodies of the one-shot commands (`migrate`, `create-superuser`, `prune`,
//! `bcrypt-time`): each does its work without serving and returns what `main` prints.

use std::fmt;
use std::time::Instant;

use auth_domain::ports::PasswordHasher;
use auth_infra::db::DatabaseSetupError;
use tokio::task::JoinError;

use auth_domain::service::RegisterError;
use auth_domain::user::AccountKind;
use auth_domain::{Email, NewUser, Password, User, Username};

use crate::{assemble, Config, StartError};

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
    // The password policy is the use case's (`RegisterError::WeakPassword`).
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
            RegisterError::WeakPassword(error) => invalid("password", error),
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

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("DATABASE_URL: {0}")]
    Database(#[from] DatabaseSetupError),
    #[error(transparent)]
    Join(#[from] JoinError),
}

/// `auth-server migrate`: runs the pending migrations on `DATABASE_URL`.
pub async fn migrate(config: &Config) -> Result<(), MigrateError> {
    let url = config.database_url.clone();
    tokio::task::spawn_blocking(move || auth_infra::db::run_migrations(&url)).await??;
    Ok(())
}

/// What `bcrypt-time` measured: `bcrypt cost=12 rounds=8 ms_per_hash=251.3`.
#[derive(Debug, Clone, Copy)]
pub struct BcryptTiming {
    pub cost: u32,
    pub rounds: u32,
    pub ms_per_hash: f64,
}

impl fmt::Display for BcryptTiming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let BcryptTiming {
            cost,
            rounds,
            ms_per_hash,
        } = self;
        write!(
            f,
            "bcrypt cost={cost} rounds={rounds} ms_per_hash={ms_per_hash:.1}"
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BcryptTimeError {
    #[error("BCRYPT_COST: {0}")]
    Cost(#[from] auth_infra::password::BcryptSetupError),
    #[error(transparent)]
    Join(#[from] JoinError),
    #[error(transparent)]
    Fault(#[from] auth_domain::Fault),
}

/// `auth-server bcrypt-time` (for `make bench`): one password verification at `cost`,
/// through the server's own hasher and blocking pool, timed over `rounds` sequential runs.
pub async fn bcrypt_time(cost: u32, rounds: u32) -> Result<BcryptTiming, BcryptTimeError> {
    let hasher = tokio::task::spawn_blocking(move || auth_infra::BcryptHasher::new(cost)).await??;
    let reference = hasher.dummy_hash();
    let rounds = rounds.max(1);
    let started = Instant::now();
    for _ in 0..rounds {
        hasher.verify("benchmark-password", &reference).await?;
    }
    let ms_per_hash = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
    Ok(BcryptTiming {
        cost,
        rounds,
        ms_per_hash,
    })
}
