//! An OpenID Connect provider: discovery (cached), the authorization code flow with PKCE
//! S256, and the ID token verified against the provider's JWKS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_domain::oauth::ExternalProfile;

use auth_domain::ports::oauth::{AuthorizationRequest, ProviderError};
use auth_domain::ports::Clock;
use auth_domain::Email;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use tokio::sync::Mutex;

use super::{name_claim, ProviderSettings};

/// How long a discovery document is used before it is fetched again (the old one is kept
/// when that fails).
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// After a failed re-discovery the stale document serves this long before the next attempt:
/// every login waiting in turn on a provider that is down (one HTTP timeout each) would
/// otherwise stall them all.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// An unknown `kid` re-fetches the JWKS at most this often (a forged token cannot make the
/// server hammer the provider).
const JWKS_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// A client built from discovery: authorization endpoint set, token and userinfo endpoints
/// as the document says.
type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

struct Cached {
    metadata: CoreProviderMetadata,
    fetched_at: Instant,
    /// The last re-fetch for an unknown `kid` (`None`: none since discovery).
    jwks_refreshed_at: Option<Instant>,
}

pub(super) struct OpenIdProvider {
    name: String,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    scopes: Vec<String>,
    http: openidconnect::reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Mutex<Option<Cached>>,
}

impl OpenIdProvider {
    pub(super) fn new(
        settings: &ProviderSettings,
        issuer: &str,
        callback: &str,
        http: openidconnect::reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        Ok(Self {
            name: settings.name.clone(),
            issuer: IssuerUrl::new(issuer.to_owned())
                .map_err(|e| format!("ISSUER: {issuer:?} is not a URL: {e}"))?,
            client_id: ClientId::new(settings.client_id.clone()),
            client_secret: settings.client_secret.clone().map(ClientSecret::new),
            redirect: RedirectUrl::new(callback.to_owned())
                .map_err(|e| format!("the callback {callback:?} is not a URL: {e}"))?,
            scopes: settings.scopes.clone(),
            http,
            clock,
            cache: Mutex::new(None),
        })
    }

    /// The discovery document (with its JWKS), fetched when first needed.
    async fn metadata(&self) -> Result<CoreProviderMetadata, ProviderError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref() {
            if cached.fetched_at.elapsed() < METADATA_TTL {
                return Ok(cached.metadata.clone());
            }
        }
        match CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http).await {
            Ok(metadata) => {
                *cache = Some(Cached {
                    metadata: metadata.clone(),
                    fetched_at: Instant::now(),
                    jwks_refreshed_at: None,
                });
                Ok(metadata)
            }
            Err(error) => {
                let message = format!("discovery of {} failed: {error}", self.issuer.as_str());
                match cache.as_mut() {
                    Some(stale) => {
                        log::warn!("{message}; the cached document is used");
                        let wait = METADATA_TTL.saturating_sub(RETRY_AFTER_FAILURE);
                        stale.fetched_at =
                            Instant::now().checked_sub(wait).unwrap_or(stale.fetched_at);
                        Ok(stale.metadata.clone())
                    }
                    None => Err(ProviderError::Unavailable(message)),
                }
            }
        }
    }

    /// Fetches the JWKS again (an unknown `kid`: the provider rotated its keys), at most
    /// once per [`JWKS_REFRESH_MIN_INTERVAL`]; `None` when it was not re-fetched.
    async fn refresh_jwks(&self) -> Result<Option<CoreProviderMetadata>, ProviderError> {
        let mut cache = self.cache.lock().await;
        let Some(cached) = cache.as_mut() else {
            return Ok(None);
        };
        if cached
            .jwks_refreshed_at
            .is_some_and(|at| at.elapsed() < JWKS_REFRESH_MIN_INTERVAL)
        {
            return Ok(None);
        }
        cached.jwks_refreshed_at = Some(Instant::now());
        let jwks = CoreJsonWebKeySet::fetch_async(cached.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| ProviderError::Unavailable(format!("JWKS of {}: {e}", self.name)))?;
        cached.metadata = cached.metadata.clone().set_jwks(jwks);
        Ok(Some(cached.metadata.clone()))
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    pub(super) async fn authorization_url(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<String, ProviderError> {
        let client = self.client(self.metadata().await?);
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            request.pkce_verifier.clone(),
        ));
        let (state, nonce) = (request.state.clone(), request.nonce.clone());
        let mut authorize = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in self.scopes.iter().filter(|s| s.as_str() != "openid") {
            authorize = authorize.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = authorize.url();
        Ok(url.to_string())
    }

    pub(super) async fn identify(
        &self,
        code: &str,
        request: &AuthorizationRequest,
    ) -> Result<ExternalProfile, ProviderError> {
        let metadata = self.metadata().await?;
        let client = self.client(metadata);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| ProviderError::Unavailable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(answer) => {
                    ProviderError::Refused(format!("token endpoint refused the code: {answer}"))
                }
                other => ProviderError::Unavailable(format!("token endpoint: {other}")),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| ProviderError::Refused("the token answer has no id_token".into()))?;
        let nonce = Nonce::new(request.nonce.clone());
        let verify = |client: &Client| -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
            let clock = self.clock.clone();
            let verifier = client.id_token_verifier().set_time_fn(move || clock.now());
            id_token.claims(&verifier, &nonce).cloned()
        };
        let claims = match verify(&client) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => match self.refresh_jwks().await? {
                Some(metadata) => verify(&self.client(metadata)),
                None => Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )),
            },
            outcome => outcome,
        }
        .map_err(|e| ProviderError::Refused(format!("ID token refused: {e}")))?;
        let email = claims
            .email()
            .and_then(|email| Email::parse(email.as_str()).ok());
        Ok(ExternalProfile {
            provider: self.name.clone(),
            subject: claims.subject().as_str().to_owned(),
            email,
            email_verified: claims.email_verified().unwrap_or(false),
            given_name: name_claim(
                claims
                    .given_name()
                    .and_then(|c| c.get(None))
                    .map(|n| n.as_str()),
            ),
            family_name: name_claim(
                claims
                    .family_name()
                    .and_then(|c| c.get(None))
                    .map(|n| n.as_str()),
            ),
        })
    }
}
