//! GitHub's flavour: OAuth 2.0 (no ID token) with PKCE S256 and `state`, then who logged in
//! from its REST API — the user, and the primary email only if GitHub verified it.

use auth_domain::oauth::ExternalProfile;

use auth_domain::ports::oauth::{AuthorizationRequest, ProviderError};
use auth_domain::Email;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;

use super::{name_claim, ProviderSettings};

/// GitHub's endpoints (overridable for tests: `OAUTH_GITHUB_AUTH_URL`, `…_TOKEN_URL`,
/// `…_API_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubUrls {
    pub auth_url: String,
    pub token_url: String,
    pub api_url: String,
}

impl Default for GithubUrls {
    fn default() -> Self {
        Self {
            auth_url: "https://github.com/login/oauth/authorize".into(),
            token_url: "https://github.com/login/oauth/access_token".into(),
            api_url: "https://api.github.com".into(),
        }
    }
}

pub(super) struct GithubProvider {
    name: String,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    auth_url: AuthUrl,
    token_url: TokenUrl,
    api_url: String,
    redirect: RedirectUrl,
    scopes: Vec<String>,
    http: oauth2::reqwest::Client,
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    name: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

impl GithubProvider {
    pub(super) fn new(
        settings: &ProviderSettings,
        urls: &GithubUrls,
        callback: &str,
        http: oauth2::reqwest::Client,
    ) -> Result<Self, String> {
        Ok(Self {
            name: settings.name.clone(),
            client_id: ClientId::new(settings.client_id.clone()),
            client_secret: settings.client_secret.clone().map(ClientSecret::new),
            auth_url: AuthUrl::new(urls.auth_url.clone()).map_err(|e| format!("AUTH_URL: {e}"))?,
            token_url: TokenUrl::new(urls.token_url.clone())
                .map_err(|e| format!("TOKEN_URL: {e}"))?,
            api_url: urls.api_url.trim_end_matches('/').to_owned(),
            redirect: RedirectUrl::new(callback.to_owned())
                .map_err(|e| format!("the callback {callback:?} is not a URL: {e}"))?,
            scopes: settings.scopes.clone(),
            http,
        })
    }

    pub(super) fn authorization_url(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<String, ProviderError> {
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            request.pkce_verifier.clone(),
        ));
        let state = request.state.clone();
        let client = BasicClient::new(self.client_id.clone())
            .set_auth_uri(self.auth_url.clone())
            .set_redirect_uri(self.redirect.clone());
        let mut authorize = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            authorize = authorize.add_scope(Scope::new(scope.clone()));
        }
        Ok(authorize.url().0.to_string())
    }

    pub(super) async fn identify(
        &self,
        code: &str,
        request: &AuthorizationRequest,
    ) -> Result<ExternalProfile, ProviderError> {
        let mut client = BasicClient::new(self.client_id.clone())
            .set_token_uri(self.token_url.clone())
            .set_redirect_uri(self.redirect.clone());
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(secret.clone());
        }
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(answer) => {
                    ProviderError::Refused(format!("token endpoint refused the code: {answer}"))
                }
                // GitHub answers a bad code with 200 and an error object.
                RequestTokenError::Parse(_, _) => {
                    ProviderError::Refused("token endpoint gave no token".into())
                }
                other => ProviderError::Unavailable(format!("token endpoint: {other}")),
            })?;
        let bearer = token.access_token().secret().clone();
        let user: GithubUser = self.api("/user", &bearer).await?;
        let emails: Vec<GithubEmail> = self.api("/user/emails", &bearer).await?;
        let primary = emails.into_iter().find(|e| e.primary);
        Ok(ExternalProfile {
            provider: self.name.clone(),
            subject: user.id.to_string(),
            email: primary.as_ref().and_then(|e| Email::parse(&e.email).ok()),
            email_verified: primary.is_some_and(|e| e.verified),
            given_name: name_claim(user.name.as_deref()),
            family_name: None,
        })
    }

    async fn api<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        bearer: &str,
    ) -> Result<T, ProviderError> {
        let unavailable = |e: oauth2::reqwest::Error| {
            ProviderError::Unavailable(format!("GitHub API {path}: {e}"))
        };
        self.http
            .get(format!("{}{path}", self.api_url))
            .bearer_auth(bearer)
            .header("Accept", "application/vnd.github+json")
            .send()
            .await
            .map_err(unavailable)?
            .error_for_status()
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)
    }
}
