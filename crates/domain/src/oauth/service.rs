//! Starting an authorization and handling the provider's callback.

use std::sync::Arc;

use super::choice::{choose_account, AccountChoice, Refusal};
use super::{
    ExternalProfile, Identity, OAuthPolicy, PendingAction, PendingAuthorization, PendingLogin,
};
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::one_time::TokenDigest;
use crate::ports::oauth::{
    AuthorizationRequest, IdentityProviders, IdentityRepository, OAuthFlowStore, ProviderError,
    ProviderInfo,
};
use crate::ports::MailOutbox;
use crate::ports::SecretGenerator;
use crate::ports::{AuditLog, Clock, UserRepository};
use crate::service::AuthService;
use crate::session::ClientInfo;
use crate::user::UserId;

/// The adapters social login works with.
#[derive(Clone)]
pub struct OAuthPorts {
    pub providers: Arc<dyn IdentityProviders>,
    pub flows: Arc<dyn OAuthFlowStore>,
    pub identities: Arc<dyn IdentityRepository>,
    pub users: Arc<dyn UserRepository>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub outbox: Arc<dyn MailOutbox>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

/// Social login's use cases.
#[derive(Clone)]
pub struct OAuthService {
    pub(super) ports: OAuthPorts,
    pub(super) auth: AuthService,
    pub(super) policy: OAuthPolicy,
}

/// What the app sends to start a flow: where to come back (checked against the allow-list by
/// the caller), its own `state` and the S256 challenge of its PKCE verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRequest {
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no such provider")]
    UnknownProvider,
    /// The provider's discovery document could not be fetched.
    #[error("provider unavailable")]
    Unavailable,
    /// `GET …/authorize?link=…` with a link that is unknown, expired or of another provider.
    #[error("invalid or expired link")]
    InvalidLink,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// Where the callback sends the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// Back to the app: `redirect_uri` with these query parameters added.
    Redirect {
        redirect_uri: String,
        params: Vec<(&'static str, String)>,
    },
    /// No valid state, hence no trusted place to redirect to: a 400.
    InvalidState,
}

impl OAuthService {
    pub fn new(ports: OAuthPorts, auth: AuthService, policy: OAuthPolicy) -> Self {
        Self {
            ports,
            auth,
            policy,
        }
    }

    pub fn providers(&self) -> Vec<ProviderInfo> {
        self.ports.providers.providers()
    }

    pub(super) fn provider(&self, name: &str) -> Option<ProviderInfo> {
        self.providers().into_iter().find(|p| p.name == name)
    }

    /// Starts a login (or, with `link_user`, a link) with `provider`: stores the single-use
    /// state and returns the provider-side `state` secret with the request's secrets.
    pub(super) async fn new_authorization(
        &self,
        provider: &str,
        app: AppRequest,
        link_user: Option<UserId>,
    ) -> Result<AuthorizationRequest, StartError> {
        if self.provider(provider).is_none() {
            return Err(StartError::UnknownProvider);
        }
        let request = AuthorizationRequest {
            state: self.ports.secrets.generate().expose().to_owned(),
            nonce: self.ports.secrets.generate().expose().to_owned(),
            // Two secrets of at least 128 bits each, joined: a verifier of 43+ characters.
            pkce_verifier: format!(
                "{}{}",
                self.ports.secrets.generate().expose(),
                self.ports.secrets.generate().expose()
            ),
        };
        let now = self.ports.clock.now();
        let pending = PendingAuthorization {
            state_digest: TokenDigest::of(&request.state),
            provider: provider.to_owned(),
            nonce: request.nonce.clone(),
            pkce_verifier: request.pkce_verifier.clone(),
            redirect_uri: app.redirect_uri,
            app_state: app.state,
            app_code_challenge: app.code_challenge,
            link_user,
            created_at: now,
            expires_at: now + self.policy.state_ttl,
        };
        self.ports.flows.insert_authorization(&pending).await?;
        Ok(request)
    }

    pub(super) async fn provider_url(
        &self,
        provider: &str,
        request: &AuthorizationRequest,
    ) -> Result<String, StartError> {
        match self
            .ports
            .providers
            .authorization_url(provider, request)
            .await
        {
            Ok(url) => Ok(url),
            Err(ProviderError::UnknownProvider) => Err(StartError::UnknownProvider),
            Err(error) => {
                log::warn!("social login: provider {provider} cannot start a login: {error}");
                Err(StartError::Unavailable)
            }
        }
    }

    /// `GET /oauth/{provider}/authorize`: the provider URL to send the browser to.
    pub async fn start(&self, provider: &str, app: AppRequest) -> Result<String, StartError> {
        let request = self.new_authorization(provider, app, None).await?;
        self.provider_url(provider, &request).await
    }

    /// `GET /oauth/{provider}/callback`: takes the state (single-use), lets the provider
    /// adapter verify its answer, and decides where the app is sent back.
    pub async fn callback(
        &self,
        provider: &str,
        code: Option<&str>,
        state: Option<&str>,
        client: &ClientInfo,
    ) -> Result<CallbackOutcome, Fault> {
        let now = self.ports.clock.now();
        let Some(state) = state.filter(|s| !s.is_empty()) else {
            return Ok(CallbackOutcome::InvalidState);
        };
        let Some(pending) = self
            .ports
            .flows
            .take_authorization(&TokenDigest::of(state), now)
            .await?
        else {
            return Ok(CallbackOutcome::InvalidState);
        };
        let back = |params: Vec<(&'static str, String)>| {
            let mut params = params;
            params.push(("state", pending.app_state.clone()));
            CallbackOutcome::Redirect {
                redirect_uri: pending.redirect_uri.clone(),
                params,
            }
        };
        let failed = |reason: &str| {
            log::info!("social login with {provider} refused: {reason}");
            back(vec![("error", Refusal::LoginFailed.code().to_owned())])
        };
        if pending.provider != provider {
            return Ok(failed("the state belongs to another provider"));
        }
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            // The provider sent an `error` (the user declined…) instead of a code.
            return Ok(failed("no authorization code"));
        };
        let request = AuthorizationRequest {
            state: state.to_owned(),
            nonce: pending.nonce.clone(),
            pkce_verifier: pending.pkce_verifier.clone(),
        };
        let profile = match self
            .ports
            .providers
            .identify(provider, code, &request)
            .await
        {
            Ok(profile) => profile,
            Err(error) => {
                self.audit_failure(None, provider, client, "provider_refused")
                    .await;
                return Ok(failed(&error.to_string()));
            }
        };
        if let Some(user_id) = pending.link_user {
            let params = self.link_from_account(user_id, &profile, client).await?;
            return Ok(back(params));
        }
        let choice = self.choose(&profile).await?;
        let action = match choice {
            AccountChoice::LogIn(user) => PendingAction::LogIn(user),
            AccountChoice::CreateAccount => PendingAction::CreateAccount,
            AccountChoice::LinkAndLogIn(user) => PendingAction::LinkAndLogIn(user),
            AccountChoice::Refuse(refusal) => {
                self.audit_failure(None, provider, client, refusal.code())
                    .await;
                return Ok(back(vec![("error", refusal.code().to_owned())]));
            }
        };
        let secret = self.ports.secrets.generate();
        let login = PendingLogin {
            code_digest: secret.digest(),
            app_code_challenge: pending.app_code_challenge.clone(),
            profile,
            action,
            created_at: now,
            expires_at: now + self.policy.login_code_ttl,
        };
        self.ports.flows.insert_login(&login).await?;
        Ok(back(vec![("login_code", secret.expose().to_owned())]))
    }

    /// Looks up what [`choose_account`] needs.
    pub(super) async fn choose(&self, profile: &ExternalProfile) -> Result<AccountChoice, Fault> {
        let trust_email = self
            .provider(&profile.provider)
            .is_some_and(|p| p.trust_email);
        let linked = match self
            .ports
            .identities
            .find_identity(&profile.provider, &profile.subject)
            .await?
        {
            Some(identity) => self.ports.users.find_by_id(identity.user_id).await?,
            None => None,
        };
        let by_email = match (&linked, profile.verified_email()) {
            (None, Some(email)) => self.ports.users.find_by_email(email).await?,
            _ => None,
        };
        Ok(choose_account(
            profile,
            linked.as_ref(),
            by_email.as_ref(),
            trust_email,
        ))
    }

    /// The callback of a link started by a logged-in user: links the identity, unless it is
    /// linked to someone else already.
    async fn link_from_account(
        &self,
        user_id: UserId,
        profile: &ExternalProfile,
        client: &ClientInfo,
    ) -> Result<Vec<(&'static str, String)>, Fault> {
        let error = |code: &str| Ok(vec![("error", code.to_owned())]);
        let Some(user) = self
            .ports
            .users
            .find_by_id(user_id)
            .await?
            .filter(|u| u.is_active)
        else {
            return error(Refusal::LoginFailed.code());
        };
        let linked = vec![("linked", profile.provider.clone())];
        if let Some(existing) = self
            .ports
            .identities
            .find_identity(&profile.provider, &profile.subject)
            .await?
        {
            return if existing.user_id == user.id {
                Ok(linked)
            } else {
                error("identity_in_use")
            };
        }
        let identity = Identity::of(profile, user.id, self.ports.clock.now());
        match self.ports.identities.link_identity(&identity).await {
            Ok(()) => {}
            Err(crate::ports::oauth::LinkIdentityError::InUse) => return error("identity_in_use"),
            Err(crate::ports::oauth::LinkIdentityError::Fault(fault)) => return Err(fault),
        }
        self.linked(&user, &identity, client).await;
        Ok(linked)
    }

    pub(super) async fn audit_failure(
        &self,
        user: Option<UserId>,
        provider: &str,
        client: &ClientInfo,
        reason: &str,
    ) {
        let mut event = AuditEvent::new(kind::LOGIN_FAILED, self.ports.clock.now())
            .client(client)
            .detail("provider", provider)
            .detail("reason", reason);
        if let Some(user) = user {
            event = event.user(user);
        }
        audit::record(self.ports.audit.as_ref(), event).await;
    }
}
