//! The relying party of social login (issue "Social login"): OpenID Connect providers found by
//! discovery ([`openid`], on the `openidconnect` crate) and GitHub's OAuth 2.0 flavour
//! ([`github`], on `oauth2`), behind the domain's `IdentityProviders` port.
//!
//! Every request to a provider goes out on reqwest's async client (rustls), with a timeout and
//! without following redirects (no request is ever sent where a provider's answer points);
//! a worker never blocks on a provider. Discovery documents are fetched when first needed and
//! cached, so a provider that is down does not stop the server.

mod github;
mod openid;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_domain::oauth::ExternalProfile;
use auth_domain::ports::oauth::{
    AuthorizationRequest, IdentityProviders, ProviderError, ProviderInfo,
};
use auth_domain::ports::Clock;

pub use github::GithubUrls;

/// How a provider is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavour {
    /// OpenID Connect: `issuer` is the base of `/.well-known/openid-configuration`.
    OpenId { issuer: String },
    /// GitHub's OAuth 2.0 and REST API.
    Github(GithubUrls),
}

/// One configured provider (`OAUTH_<NAME>_…`).
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    pub name: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub trust_email: bool,
    pub flavour: Flavour,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("flavour", &self.flavour)
            .finish_non_exhaustive()
    }
}

enum Provider {
    OpenId(Box<openid::OpenIdProvider>),
    Github(Box<github::GithubProvider>),
}

/// The configured providers.
pub struct RelyingParty {
    providers: Vec<(ProviderInfo, Provider)>,
}

#[derive(Debug, thiserror::Error)]
#[error("OAUTH_{name}: {message}")]
pub struct RelyingPartySetupError {
    pub name: String,
    pub message: String,
}

impl RelyingParty {
    /// `public_url` is auth-server's own base: each provider calls back
    /// `{public_url}/oauth/{name}/callback`. `timeout` bounds every request to a provider.
    pub fn new(
        settings: &[ProviderSettings],
        public_url: &str,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> Result<Self, RelyingPartySetupError> {
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent("auth-server")
            .build()
            .map_err(|e| RelyingPartySetupError {
                name: "PROVIDERS".into(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let mut providers = Vec::new();
        for setting in settings {
            let fail = |message: String| RelyingPartySetupError {
                name: setting.name.to_uppercase(),
                message,
            };
            let callback = format!(
                "{}/oauth/{}/callback",
                public_url.trim_end_matches('/'),
                setting.name
            );
            let provider = match &setting.flavour {
                Flavour::OpenId { issuer } => Provider::OpenId(Box::new(
                    openid::OpenIdProvider::new(
                        setting,
                        issuer,
                        &callback,
                        http.clone(),
                        clock.clone(),
                    )
                    .map_err(fail)?,
                )),
                Flavour::Github(urls) => Provider::Github(Box::new(
                    github::GithubProvider::new(setting, urls, &callback, http.clone())
                        .map_err(fail)?,
                )),
            };
            let info = ProviderInfo {
                name: setting.name.clone(),
                display_name: setting.display_name.clone(),
                trust_email: setting.trust_email,
            };
            providers.push((info, provider));
        }
        Ok(Self { providers })
    }

    fn find(&self, name: &str) -> Result<&Provider, ProviderError> {
        self.providers
            .iter()
            .find(|(info, _)| info.name == name)
            .map(|(_, provider)| provider)
            .ok_or(ProviderError::UnknownProvider)
    }
}

#[async_trait]
impl IdentityProviders for RelyingParty {
    fn providers(&self) -> Vec<ProviderInfo> {
        self.providers
            .iter()
            .map(|(info, _)| info.clone())
            .collect()
    }

    async fn authorization_url(
        &self,
        provider: &str,
        request: &AuthorizationRequest,
    ) -> Result<String, ProviderError> {
        match self.find(provider)? {
            Provider::OpenId(p) => p.authorization_url(request).await,
            Provider::Github(p) => p.authorization_url(request),
        }
    }

    async fn identify(
        &self,
        provider: &str,
        code: &str,
        request: &AuthorizationRequest,
    ) -> Result<ExternalProfile, ProviderError> {
        match self.find(provider)? {
            Provider::OpenId(p) => p.identify(code, request).await,
            Provider::Github(p) => p.identify(code, request).await,
        }
    }
}

/// A name claim as a profile field: trimmed, at most 150 characters, or none.
fn name_claim(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| name.chars().take(150).collect())
}
