//! The JSON shapes and query strings of the social-login routes.

use auth_domain::oauth::Identity;

use auth_domain::ports::oauth::ProviderInfo;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, FieldError};

/// Longest app `state` accepted (it travels in URLs).
const MAX_APP_STATE: usize = 512;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderOut {
    /// The name in the routes (`/oauth/{name}/authorize`).
    pub name: String,
    pub display_name: String,
}

impl From<ProviderInfo> for ProviderOut {
    fn from(info: ProviderInfo) -> Self {
        Self {
            name: info.name,
            display_name: info.display_name,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProvidersOut {
    pub items: Vec<ProviderOut>,
}

/// `GET /oauth/{provider}/authorize`: the app's redirect, its `state` and PKCE challenge; or
/// `link`, the ticket of a link begun at `POST /users/me/identities/{provider}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeQuery {
    /// Where the app wants the browser back: admitted by `OAUTH_REDIRECT_ALLOWLIST`.
    pub redirect_uri: Option<String>,
    /// The app's own state, handed back with the result.
    pub state: Option<String>,
    /// S256 of the app's PKCE verifier (43 base64url characters).
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    pub code_challenge_method: Option<String>,
    /// A link ticket (`authorize_url` of `POST /users/me/identities/{provider}`).
    pub link: Option<String>,
}

/// `GET /oauth/{provider}/callback`, as the provider sends the browser back.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's error (the user declined…): the app gets `error=login_failed`.
    pub error: Option<String>,
}

/// The app's side of a flow, read from a query or a JSON body.
#[derive(Debug, Clone)]
pub struct AppBinding {
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
}

impl AppBinding {
    /// Checks the app's `state` and PKCE challenge (the redirect is checked against the
    /// allow-list by the caller).
    pub fn read(
        redirect_uri: Option<&str>,
        state: Option<&str>,
        code_challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let state = state.unwrap_or_default();
        if state.is_empty() || state.len() > MAX_APP_STATE || state.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "state",
                "is required: the app's own random state, at most 512 characters",
            ));
        }
        let challenge = code_challenge.unwrap_or_default();
        if !auth_domain::oauth::is_s256_challenge(challenge) {
            errors.push(FieldError::new(
                "code_challenge",
                "is required: the S256 PKCE challenge (43 base64url characters) of the app's verifier",
            ));
        }
        if method.is_some_and(|m| m != "S256") {
            errors.push(FieldError::new("code_challenge_method", "must be S256"));
        }
        let redirect_uri = redirect_uri.unwrap_or_default();
        if redirect_uri.is_empty() {
            errors.push(FieldError::new("redirect_uri", "is required"));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(Self {
            redirect_uri: redirect_uri.to_owned(),
            state: state.to_owned(),
            code_challenge: challenge.to_owned(),
        })
    }

    pub fn from_body(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let text = |field: &str| body.get(field).and_then(Value::as_str);
        Self::read(
            text("redirect_uri"),
            text("state"),
            text("code_challenge"),
            text("code_challenge_method"),
        )
    }
}

/// `POST /oauth/token`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginCodeBody {
    /// The one-time code the callback handed the app.
    pub login_code: String,
    /// The PKCE verifier whose S256 challenge the app sent to `authorize`.
    pub code_verifier: String,
}

/// `POST /users/me/identities/{provider}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkBody {
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    /// The current password (re-authentication), when the account has one.
    pub password: Option<String>,
}

/// `DELETE /users/me/identities/{id}`: the re-authentication.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UnlinkBody {
    /// The current password, when the account has one.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeUrlOut {
    /// A URL of auth-server that starts the provider's flow, bound to the caller.
    pub authorize_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityOut {
    #[schema(format = "uuid")]
    pub id: String,
    pub provider: String,
    /// The email the provider gave when it was linked.
    pub email: Option<String>,
    #[schema(format = DateTime)]
    pub linked_at: String,
}

impl From<Identity> for IdentityOut {
    fn from(identity: Identity) -> Self {
        Self {
            id: identity.id.to_string(),
            provider: identity.provider,
            email: identity.email,
            linked_at: identity
                .linked_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitiesOut {
    pub items: Vec<IdentityOut>,
}
