//! auth-server's HTTP layer on actix-web.
//!
//! [`scope`] builds every route of the contract, with the auth middleware on the protected
//! ones only, as one `Scope` you can mount on any `App`, under any prefix:
//!
//! ```text
//! App::new()
//!     .service(my_routes)
//!     .service(auth_api::scope("/auth", web::Data::new(auth_api)))
//! ```

// Cross-cutting: errors, request extraction and validation, the auth middleware, hardening.
pub mod access_log;
pub mod client_addr;
pub mod error;
pub mod extract;
pub mod hardening;
pub mod listing;
pub mod middleware;
mod reauth;
pub mod refused_body;
mod validation;

// The resources, one module each: its routes, handlers, bodies, error mapping and OpenAPI part.
pub mod account;
pub mod admin;
pub mod auth;
pub mod keys;
pub mod mfa;
pub mod oauth;
pub mod ops;
pub mod passkeys;
pub mod recovery;
pub mod sessions;

// The document of all of them.
pub mod openapi;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, AUTHORIZATION};
use actix_web::middleware::from_fn;
use actix_web::{web, Scope};
use auth_domain::account::AccountService;
use auth_domain::admin::AdminService;
use auth_domain::mfa::MfaService;
use auth_domain::passkeys::PasskeyService;
use auth_domain::ports::Readiness;
use auth_domain::recovery::RecoveryService;
use auth_domain::AuthService;

pub use error::{ApiError, FieldError};

/// The handlers' view of [`AuthApi`].
pub(crate) type Api = web::Data<AuthApi>;

/// What the HTTP layer can be told.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// JSON key of the access token in token responses (the seed's `access_token_name`).
    pub access_token_name: String,
    /// JSON key of the refresh token in token responses and in `/refresh-access` bodies.
    pub refresh_token_name: String,
    /// The header that carries the access token.
    pub auth_header: HeaderName,
    /// Accepted schemes in that header, matched case-insensitively.
    pub auth_schemes: Vec<String>,
    pub max_body_bytes: usize,
    /// The whole body must arrive within this long of the request reaching its handler
    /// (`REQUEST_BODY_TIMEOUT`): then 408 `request_timeout`, connection closed.
    pub body_timeout: std::time::Duration,
    /// Peers whose `X-Forwarded-For` is believed (see [`client_addr`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Origins allowed by CORS, as `scheme://host[:port]`; empty: CORS off.
    pub cors_allowed_origins: Vec<String>,
    /// The token-signing public keys as an RFC 7517 JWK Set, served at
    /// `GET /.well-known/jwks.json` (`{"keys": []}` with an HMAC secret).
    pub jwks: serde_json::Value,
    /// `REQUIRE_MFA_FOR_ADMINS`: administration routes refuse (403 `mfa_required`) a session
    /// whose login had no second factor.
    pub require_mfa_for_admins: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            access_token_name: "access_token".into(),
            refresh_token_name: "refresh_token".into(),
            auth_header: AUTHORIZATION,
            auth_schemes: vec!["Bearer".into()],
            max_body_bytes: 64 * 1024,
            body_timeout: std::time::Duration::from_secs(10),
            trusted_proxies: Vec::new(),
            cors_allowed_origins: Vec::new(),
            jwks: serde_json::json!({ "keys": [] }),
            require_mfa_for_admins: false,
        }
    }
}

/// Everything the handlers need: the use cases, a readiness probe, the settings.
pub struct AuthApi {
    pub service: AuthService,
    pub readiness: Arc<dyn Readiness>,
    pub settings: ApiSettings,
    /// The account owner's use cases (profile, password, sessions).
    pub account: AccountService,
    /// The administrators' use cases.
    pub admin: AdminService,
    /// Email verification and password reset (issue "Account lifecycle").
    pub recovery: RecoveryService,
    /// Second factors (issue "Two-factor authentication").
    pub mfa: MfaService,
    /// Passkeys (issue "Passkeys").
    pub passkeys: PasskeyService,
    /// Social login (issue "Social login"); `None`: no provider, the routes answer 404.
    pub oauth: Option<oauth::OAuthApi>,
}

/// All routes of the contract under `prefix` (`""` for the root), as one mountable scope.
///
/// Public: `POST /create`, `POST /login`, `POST /refresh-access`, `GET /health`, `GET /ready`.
/// Protected by the bearer-token middleware: `GET /`, `GET /users/me`, `POST /logout`, and the
/// account-lifecycle routes: `PATCH /users/me`, `POST /users/me/password`, `GET /sessions`,
/// `DELETE /sessions/{id}`, `POST /logout-all`; for administrators `GET /users`,
/// `GET|PATCH|DELETE /users/{id}`, `GET /users/{id}/audit`.
/// Account recovery ([`recovery`]): `POST /verify-email/request` (protected),
/// `POST /verify-email`, `POST /password-reset/request`, `POST /password-reset/confirm`.
/// Key publication: `GET /.well-known/jwks.json`. Operations: `GET /metrics` (when
/// [`ops::Metrics`] are registered), `GET /openapi.json`, `GET /docs`.
/// Unknown paths under the prefix answer 404 and wrong methods 405, in JSON.
/// Every response carries `X-Content-Type-Options: nosniff`; CORS applies when origins are
/// configured.
pub fn scope(
    prefix: &str,
    api: web::Data<AuthApi>,
) -> Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = hardening::cors(
        &api.settings.cors_allowed_origins,
        &api.settings.auth_header,
    );
    // One resource per path, so a known path with the wrong method is a 405 (with `Allow`),
    // not a 404; the auth middleware wraps the protected handlers only. `/users/me…` comes
    // before `/users/{id}…`.
    web::scope(prefix)
        .app_data(api)
        .configure(auth::routes)
        .configure(account::routes)
        .configure(sessions::routes)
        .configure(admin::routes)
        .configure(recovery::routes)
        .configure(mfa::routes)
        .configure(passkeys::routes)
        .configure(oauth::routes)
        .configure(keys::routes)
        .configure(ops::routes)
        .configure(openapi::routes)
        .default_service(web::to(ops::not_found))
        // Inside out: CORS (off unless configured), JSON bodies for every error response
        // (CORS's own refusals included), nosniff on everything.
        .wrap(cors)
        .wrap(from_fn(middleware::json_errors))
        .wrap(from_fn(hardening::respond_hardened))
        .wrap(from_fn(refused_body::close_after_refused_body))
}
