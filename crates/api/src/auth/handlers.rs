//! Registration, login, token refresh, logout, and the protected home route.

use actix_web::http::header;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::service::{LoginError, LoginOutcome};
use auth_domain::user::AccountKind;
use auth_domain::Principal;
use serde_json::{json, Map, Value};

use super::types::{
    refresh_token_from, LoginBody, MessageOut, RefreshBody, RegisterBody, TokenPairOut,
};
use crate::account::UserOut;
use crate::auth::token_pair_response;
use crate::client_addr::client_info;
use crate::error::{ApiError, BodyErrors, ErrorBody, TooLarge, UnauthenticatedBearer, Unavailable};
use crate::extract::JsonBody;
use crate::ops::metrics_of;
use crate::{Api, AuthApi};

/// Register: creates an active, unverified `user` account. Privilege fields (`role`,
/// `is_active`, `is_verified`, `is_staff`, `is_superuser`, `id`) are ignored.
#[utoipa::path(
    post, path = "/create", tag = "accounts", operation_id = "register",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The new user", body = UserOut),
        (status = 400, description = "`malformed_body`: not JSON, or not sent as application/json", body = ErrorBody),
        (status = 409, description = "`email_taken` | `username_taken`", body = ErrorBody),
        (status = 422, description = "`validation_failed`, with an errors list naming every invalid field", body = ErrorBody),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the database cannot be reached", body = ErrorBody),
        TooLarge,
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
        (status = 401, description = "`invalid_credentials` (with `WWW-Authenticate: Bearer`)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the email is missing or malformed, or the password is missing", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many failed logins for this account or from this address; `Retry-After` says when to try again", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
        BodyErrors, Unavailable,
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
                .json(crate::mfa::types::MfaRequiredOut::from(&challenge)));
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
    Ok(logged_in(&api, &req, "login", &outcome))
}

/// The answer to a login that opened a session, whatever its factors: counted in
/// `login_successes_total`, logged as `<what>: user … session …`, the token pair.
pub(crate) fn logged_in(
    api: &AuthApi,
    req: &HttpRequest,
    what: &str,
    outcome: &LoginOutcome,
) -> HttpResponse {
    if let Some(metrics) = metrics_of(req) {
        metrics.record_login_success();
    }
    log::info!(
        "{what}: user {} session {}",
        outcome.user_id,
        outcome.session_id
    );
    token_pair_response(&api.settings, &outcome.tokens)
}

/// Refresh: rotates a refresh token. The token presented is spent; presenting a rotated one
/// again revokes its whole session.
#[utoipa::path(
    post, path = "/refresh-access", tag = "tokens", operation_id = "refresh",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new token pair; `Cache-Control: no-store`", body = TokenPairOut),
        (status = 401, description = "`invalid_token`: malformed, tampered, expired, an access token, already used (the session is then revoked), or its session or user is gone", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the refresh token field is missing, empty or not a string", body = ErrorBody),
        BodyErrors, Unavailable,
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
        UnauthenticatedBearer, Unavailable,
    )
)]
pub async fn home(principal: web::ReqData<Principal>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": format!("hello {}", principal.user.email) }))
}

/// Log out: revokes the caller's session (its refresh token and its access tokens).
#[utoipa::path(
    post, path = "/logout", tag = "tokens", operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is revoked"),
        UnauthenticatedBearer, Unavailable,
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
