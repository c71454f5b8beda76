//! The route handlers: each converts the request into domain values, calls one use case,
//! and shapes its answer.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use auth_domain::service::LoginError;
use auth_domain::session::ClientInfo;
use auth_domain::user::AccountKind;
use auth_domain::{Principal, TokenPair};
use serde_json::{json, Map, Value};

use crate::client_addr::client_address;
use crate::dto::{refresh_token_from, token_body, LoginBody, RegisterBody, UserOut};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::observability::metrics_of;
#[allow(unused_imports)] // named by the OpenAPI annotations
use crate::openapi::{ErrorBody, MessageOut, RefreshBody, StatusOut, TokenPairOut};
use crate::AuthApi;

type Api = web::Data<AuthApi>;

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 512;

/// Token responses must not be cached (RFC 6749 §5.1).
/// A token pair as `/login` answers it (key names from the settings, `no-store`).
pub(crate) fn token_pair_response(
    settings: &crate::ApiSettings,
    tokens: &TokenPair,
) -> HttpResponse {
    token_response(token_body(
        tokens,
        &settings.access_token_name,
        &settings.refresh_token_name,
    ))
}

pub(crate) fn token_response(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

fn trusted_proxies(req: &HttpRequest) -> &[ipnet::IpNet] {
    req.app_data::<Api>()
        .map_or(&[], |api| api.settings.trusted_proxies.as_slice())
}

pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT).collect()),
        address: client_address(req, trusted_proxies(req)).map(|ip| ip.to_string()),
    }
}

/// Register: creates an active, unverified `user` account. Privilege fields (`role`,
/// `is_active`, `is_verified`, `is_staff`, `is_superuser`, `id`) are ignored.
#[utoipa::path(
    post, path = "/create", tag = "accounts", operation_id = "register",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The new user", body = UserOut),
        (status = 400, description = "`malformed_body`: not JSON, or not sent as application/json", body = ErrorBody),
        (status = 409, description = "`email_taken` | `username_taken`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 422, description = "`validation_failed`, with an errors list naming every invalid field", body = ErrorBody),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the database cannot be reached", body = ErrorBody),
    )
)]
pub async fn register(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let registration = body.validate()?;
    let user = api
        .service
        .register_from(
            registration.email,
            &registration.password,
            registration.profile,
            AccountKind::Regular,
            &client_info(&req),
        )
        .await?;
    log::info!("user registered: {}", user.id);
    Ok(HttpResponse::Created().json(UserOut::from(&user)))
}

/// Log in: checks the credentials and opens a session. Unknown email, wrong password and
/// inactive account are answered alike, in the same time.
#[utoipa::path(
    post, path = "/login", tag = "tokens", operation_id = "login",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A token pair (key names follow ACCESS_TOKEN_NAME / REFRESH_TOKEN_NAME), or — for an account with a second factor — `{\"mfa_required\": true, \"mfa_token\", \"mfa_methods\", \"expires_in\"}` (then `POST /login/mfa`); `Cache-Control: no-store`", body = TokenPairOut),
        (status = 400, description = "`malformed_body`", body = ErrorBody),
        (status = 401, description = "`invalid_credentials` (with `WWW-Authenticate: Bearer`)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the email is missing or malformed, or the password is missing", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many failed logins for this account or from this address; `Retry-After` says when to try again", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`", body = ErrorBody),
    )
)]
pub async fn login(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let (email, password) = body.validate()?;
    let outcome = match api
        .service
        .login(&email, &password, client_info(&req))
        .await
    {
        Ok(outcome) => outcome,
        Err(LoginError::SecondFactorRequired(challenge)) => {
            if let Some(metrics) = metrics_of(&req) {
                metrics.mfa().record_login("challenged");
            }
            log::info!("login: user {} needs a second factor", challenge.user_id);
            return Ok(HttpResponse::Ok()
                .insert_header(CacheControl(vec![CacheDirective::NoStore]))
                .insert_header((header::PRAGMA, "no-cache"))
                .json(crate::mfa::dto::MfaRequiredOut::from(&challenge)));
        }
        Err(error) => {
            log::info!("login refused: {error}");
            if let Some(metrics) = metrics_of(&req) {
                match error {
                    LoginError::InvalidCredentials => metrics.record_login_failure(),
                    LoginError::TooManyAttempts { .. } => metrics.record_login_lockout(),
                    LoginError::SecondFactorRequired(_) | LoginError::Fault(_) => {}
                }
            }
            return Err(error.into());
        }
    };
    if let Some(metrics) = metrics_of(&req) {
        metrics.record_login_success();
    }
    log::info!(
        "login: user {} session {}",
        outcome.user_id,
        outcome.session_id
    );
    Ok(token_pair_response(&api.settings, &outcome.tokens))
}

/// Refresh: rotates a refresh token. The token presented is spent; presenting a rotated one
/// again revokes its whole session.
#[utoipa::path(
    post, path = "/refresh-access", tag = "tokens", operation_id = "refresh",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new token pair; `Cache-Control: no-store`", body = TokenPairOut),
        (status = 400, description = "`malformed_body`", body = ErrorBody),
        (status = 401, description = "`invalid_token`: malformed, tampered, expired, an access token, already used (the session is then revoked), or its session or user is gone", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the refresh token field is missing, empty or not a string", body = ErrorBody),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`", body = ErrorBody),
    )
)]
pub async fn refresh(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let settings = &api.settings;
    let token = refresh_token_from(&body, &settings.refresh_token_name)?;
    let tokens = api
        .service
        .refresh_from(&token, &client_info(&req))
        .await
        .inspect_err(|error| {
            if matches!(error, auth_domain::service::RefreshError::ReuseDetected) {
                if let Some(metrics) = metrics_of(&req) {
                    metrics.record_refresh_reuse();
                }
            }
        })?;
    Ok(token_pair_response(&api.settings, &tokens))
}

/// The protected home page of the seed.
#[utoipa::path(
    get, path = "/", tag = "accounts", operation_id = "home",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`hello <email>`", body = MessageOut),
        (status = 401, description = "`not_authenticated` (no token) | `invalid_token` (with `WWW-Authenticate: Bearer error=\"invalid_token\"`)", body = ErrorBody),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`", body = ErrorBody),
    )
)]
pub async fn home(principal: web::ReqData<Principal>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": format!("hello {}", principal.user.email) }))
}

/// The caller's account.
#[utoipa::path(
    get, path = "/users/me", tag = "accounts", operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserOut),
        (status = 401, description = "`not_authenticated` (no token) | `invalid_token` (with `WWW-Authenticate: Bearer error=\"invalid_token\"`)", body = ErrorBody),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`", body = ErrorBody),
    )
)]
pub async fn me(principal: web::ReqData<Principal>) -> HttpResponse {
    HttpResponse::Ok().json(UserOut::from(&principal.user))
}

/// Log out: revokes the caller's session (its refresh token and its access tokens).
#[utoipa::path(
    post, path = "/logout", tag = "tokens", operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked"),
        (status = 401, description = "`not_authenticated` (no token) | `invalid_token` (with `WWW-Authenticate: Bearer error=\"invalid_token\"`)", body = ErrorBody),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`", body = ErrorBody),
    )
)]
pub async fn logout(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    api.service
        .logout_from(&principal, &client_info(&req))
        .await?;
    log::info!("logout: session {}", principal.session_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/health", tag = "operations", operation_id = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = StatusOut))
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/ready", tag = "operations", operation_id = "ready",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = StatusOut),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the database does not answer", body = ErrorBody),
    )
)]
pub async fn ready(api: Api) -> Result<HttpResponse, ApiError> {
    api.readiness.check().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

pub async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}

pub mod lifecycle;
