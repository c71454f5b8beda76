//! What social login needs from the outside world. As in [`crate::ports`], each method's
//! documentation is its contract, checked against every adapter by the adapter suite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Fault;
use crate::oauth::{ExternalProfile, Identity, PendingAuthorization, PendingLogin};
use crate::one_time::TokenDigest;
use crate::user::{User, UserId};

/// A configured provider, as the app may show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    pub name: String,
    pub display_name: String,
    /// `OAUTH_<NAME>_TRUST_EMAIL`: its verified emails may link an existing verified account.
    pub trust_email: bool,
}

/// The secrets of one authorization, sent to the provider (`state`, `nonce`, the S256
/// challenge of `pkce_verifier`) and needed again to finish it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthorizationRequest(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("no such provider")]
    UnknownProvider,
    /// The provider could not be reached or answered garbage (discovery, token, JWKS, API).
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider's answer was refused: a bad code, an ID token that does not verify
    /// (signature, `iss`, `aud`, `azp`, `exp`, `nonce`), no subject.
    #[error("provider answer refused: {0}")]
    Refused(String),
}

/// The relying party: talks to the providers (OpenID Connect, GitHub's OAuth 2.0).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdentityProviders: Send + Sync {
    /// The configured providers, in configuration order.
    fn providers(&self) -> Vec<ProviderInfo>;

    /// The URL of `provider`'s authorization endpoint for `request` (code flow, PKCE S256,
    /// `state`, `nonce` for OpenID Connect), redirecting to auth-server's callback.
    ///
    /// MUST return `UnknownProvider` for a name not configured, `Unavailable` when the
    /// provider's discovery document cannot be fetched (the server keeps running).
    async fn authorization_url(
        &self,
        provider: &str,
        request: &AuthorizationRequest,
    ) -> Result<String, ProviderError>;

    /// Exchanges the authorization `code` (with `request`'s PKCE verifier) and returns who
    /// logged in. OpenID Connect: the ID token MUST verify against the provider's JWKS (keys
    /// re-fetched once for an unknown `kid`), with its `iss`, `aud`, `azp`, `exp` (against
    /// the clock port) and `nonce` (equal to `request.nonce`) checked, else `Refused`.
    async fn identify(
        &self,
        provider: &str,
        code: &str,
        request: &AuthorizationRequest,
    ) -> Result<ExternalProfile, ProviderError>;
}

/// Started authorizations and `login_code`s: single-use, in the database (any instance can
/// finish what another began).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OAuthFlowStore: Send + Sync {
    async fn insert_authorization(&self, pending: &PendingAuthorization) -> Result<(), Fault>;

    /// The authorization with this state digest, without spending it; `None` when there is
    /// none or it expired at `now`.
    async fn find_authorization(
        &self,
        state: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingAuthorization>, Fault>;

    /// Removes and returns the authorization with this state digest. MUST return `Some` to
    /// exactly one of concurrent callers, and `None` (removing it too) once it expired at
    /// `now`.
    async fn take_authorization(
        &self,
        state: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingAuthorization>, Fault>;

    async fn insert_login(&self, pending: &PendingLogin) -> Result<(), Fault>;

    /// Removes and returns the `login_code` with this digest; same contract as
    /// [`OAuthFlowStore::take_authorization`].
    async fn take_login(
        &self,
        code: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingLogin>, Fault>;
}

#[derive(Debug, thiserror::Error)]
pub enum LinkIdentityError {
    /// (provider, subject) is linked already (to this account or another).
    #[error("identity already linked")]
    InUse,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum NewAccountError {
    #[error("email already registered")]
    EmailTaken,
    #[error("identity already linked")]
    IdentityInUse,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlinkOutcome {
    Removed(Identity),
    /// No identity with this id belongs to the user.
    NotFound,
    /// It is the account's last way to log in: nothing removed.
    LastLoginMethod,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdentityRepository: Send + Sync {
    /// The identity linked for (provider, subject), if any.
    async fn find_identity(&self, provider: &str, subject: &str)
        -> Result<Option<Identity>, Fault>;

    /// The user's identities, oldest link first.
    async fn list_identities(&self, user_id: UserId) -> Result<Vec<Identity>, Fault>;

    /// Links `identity` to its user. MUST return `InUse` (writing nothing) when (provider,
    /// subject) is linked already — of two concurrent links exactly one succeeds.
    async fn link_identity(&self, identity: &Identity) -> Result<(), LinkIdentityError>;

    /// Creates `user` and links `identity` to it, all or nothing. MUST return `EmailTaken`
    /// or `IdentityInUse` (writing nothing) on those conflicts, concurrent ones included.
    async fn create_account_with_identity(
        &self,
        user: &User,
        identity: &Identity,
    ) -> Result<(), NewAccountError>;

    /// Removes the user's identity `id`, unless the account would then have no way to log
    /// in ([`crate::login_methods::keeps_a_way_to_log_in`] over its password, passkeys and other
    /// identities, counted in the same transaction, so two concurrent removals cannot both
    /// pass).
    async fn unlink_identity(&self, user_id: UserId, id: Uuid) -> Result<UnlinkOutcome, Fault>;
}
