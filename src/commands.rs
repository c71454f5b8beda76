//! The bodies of the one-shot commands (`create-superuser`, `prune`): each assembles the
//! use cases without serving, does its work and returns.

use auth_domain::service::RegisterError;
use auth_domain::user::AccountKind;
use auth_domain::{Email, NewUser, Password, PasswordPolicy, PolicyContext, User, Username};

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
