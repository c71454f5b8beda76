//! Wiring of social login (issue "Social login"): the relying party, the stores and the use
//! cases, when `OAUTH_PROVIDERS` names any provider.

use std::sync::Arc;

use auth_api::oauth::OAuthApi;
use auth_domain::oauth::{OAuthPolicy, OAuthPorts, OAuthService};
use auth_domain::ports::oauth::{IdentityProviders, IdentityRepository, OAuthFlowStore};
use auth_domain::ports::MailOutbox;
use auth_domain::ports::{AuditLog, Clock, UserRepository};
use auth_domain::throttle::AddressBudget;
use auth_domain::AuthService;
use auth_infra::oidc::RelyingParty;
use auth_infra::{Database, RandomSecretGenerator};

use crate::{Config, ConfigError, StartError};

/// What the use cases are built from.
pub struct Parts {
    pub store: Arc<Database>,
    pub service: AuthService,
    pub clock: Arc<dyn Clock>,
    pub outbox: Arc<dyn MailOutbox>,
    pub audit: Arc<dyn AuditLog>,
    pub ceremonies: AddressBudget,
}

/// The social-login routes' state; `None` without providers.
pub fn assemble(config: &Config, parts: Parts) -> Result<Option<OAuthApi>, StartError> {
    let settings = &config.oauth;
    if settings.providers.is_empty() {
        return Ok(None);
    }
    let public_url = config.recovery.public_url.clone();
    let relying_party = RelyingParty::new(
        &settings.providers,
        &public_url,
        parts.clock.clone(),
        settings.http_timeout,
    )
    .map_err(|error| {
        StartError::Config(ConfigError {
            variable: "OAUTH_PROVIDERS",
            message: error.to_string(),
        })
    })?;
    let service = OAuthService::new(
        OAuthPorts {
            providers: Arc::new(relying_party) as Arc<dyn IdentityProviders>,
            flows: parts.store.clone() as Arc<dyn OAuthFlowStore>,
            identities: parts.store.clone() as Arc<dyn IdentityRepository>,
            users: parts.store as Arc<dyn UserRepository>,
            secrets: Arc::new(RandomSecretGenerator),
            outbox: parts.outbox,
            audit: parts.audit,
            clock: parts.clock,
        },
        parts.service,
        OAuthPolicy::default(),
    );
    Ok(Some(OAuthApi {
        service,
        allowlist: settings.allowlist.clone(),
        public_url,
        ceremonies: Some(parts.ceremonies),
    }))
}
