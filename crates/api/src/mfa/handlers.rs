//! Handlers of the second-factor routes. Every route that adds or removes a way to log in
//! re-authenticates first (right after the bearer token, before the rest of the body is read).
use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::{Principal, UserId};

use super::types::{
    qr_svg, MfaLogin, MfaStatusOut, RecoveryCodesOut, SecondFactor, TotpEnrolmentOut,
};
use crate::admin::{path_id, Admin};
use crate::auth::logged_in;
use crate::auth::secret_response;
use crate::auth::TokenPairOut;
use crate::client_addr::client_info;
use crate::error::{
    ApiError, BodyErrors, ErrorBody, NotAnObject, ReauthRequired, Throttled, Unauthenticated,
    Unavailable,
};
use crate::extract::JsonBody;
use crate::mfa::types::{CodeBody, DisableTotpBody, MfaLoginBody, PasswordBody};
use crate::ops::metrics_of;
use crate::reauth::ReauthenticatedCaller;
use crate::validation::required_string;
use crate::Api;

fn record_change(req: &HttpRequest, change: &str) {
    if let Some(metrics) = metrics_of(req) {
        metrics.mfa().record_change(change);
    }
}

/// The caller's second factors.
#[utoipa::path(
    get, path = "/users/me/mfa", tag = "second factors", operation_id = "mfa_status",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Which second factors the caller has", body = MfaStatusOut),
        Unauthenticated, Unavailable,
    )
)]
pub async fn status(
    api: Api,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let status = api.mfa.status(&principal).await?;
    Ok(HttpResponse::Ok().json(MfaStatusOut::from(status)))
}

/// Starts a TOTP enrolment (re-authentication: the current password). TOTP is pending
/// until confirmed with a code; enrolling again replaces a pending secret.
#[utoipa::path(
    post, path = "/users/me/mfa/totp", tag = "second factors", operation_id = "enrol_totp",
    security(("bearer" = [])),
    request_body = PasswordBody,
    responses(
        (status = 200, description = "The new secret, its `otpauth://` URI and QR code; `Cache-Control: no-store`", body = TotpEnrolmentOut),
        (status = 403, description = "`reauthentication_required`: password missing or wrong", body = ErrorBody),
        (status = 409, description = "`mfa_already_enabled`: TOTP is on already", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many wrong passwords", body = ErrorBody),
        BodyErrors, NotAnObject, Unauthenticated, Unavailable,
    )
)]
pub async fn enrol_totp(api: Api, caller: ReauthenticatedCaller) -> Result<HttpResponse, ApiError> {
    let enrolment = api.mfa.enrol_totp(&caller.principal, &caller.proof).await?;
    let body = TotpEnrolmentOut {
        secret: enrolment.secret.base32(),
        qr_svg: qr_svg(&enrolment.otpauth_uri)?,
        otpauth_uri: enrolment.otpauth_uri,
    };
    Ok(secret_response(actix_web::http::StatusCode::OK, &body))
}

/// Confirms the pending TOTP secret with a current code of it: TOTP is on, every other
/// session of the caller ends, and the answer holds ten recovery codes (shown this once).
#[utoipa::path(
    post, path = "/users/me/mfa/totp/confirm", tag = "second factors", operation_id = "confirm_totp",
    security(("bearer" = [])),
    request_body = CodeBody,
    responses(
        (status = 200, description = "TOTP is on; ten recovery codes; `Cache-Control: no-store`", body = RecoveryCodesOut),
        (status = 409, description = "`mfa_already_enabled` | `mfa_not_enabled` (no enrolment pending) | `conflict` (a concurrent re-enrolment)", body = ErrorBody),
        (status = 422, description = "`invalid_mfa_code` | `validation_failed` (code missing or not a string)", body = ErrorBody),
        BodyErrors, Unauthenticated, Unavailable,
    )
)]
pub async fn confirm_totp(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let code = required_string(&body, "code")?;
    let codes = api
        .mfa
        .confirm_totp(&principal, &code, &client_info(&req))
        .await?;
    record_change(&req, "totp_enabled");
    Ok(secret_response(
        actix_web::http::StatusCode::OK,
        &RecoveryCodesOut::new(&codes),
    ))
}

/// Turns TOTP off (re-authentication, and a current TOTP or recovery code). The recovery
/// codes go with it unless a passkey remains.
#[utoipa::path(
    delete, path = "/users/me/mfa/totp", tag = "second factors", operation_id = "disable_totp",
    security(("bearer" = [])),
    request_body = DisableTotpBody,
    responses(
        (status = 204, description = "TOTP is off"),
        (status = 409, description = "`mfa_not_enabled`: TOTP is not on", body = ErrorBody),
        (status = 422, description = "`invalid_mfa_code` | `validation_failed`", body = ErrorBody),
        BodyErrors, Unauthenticated, ReauthRequired, Throttled, Unavailable,
    )
)]
pub async fn disable_totp(
    api: Api,
    req: HttpRequest,
    caller: ReauthenticatedCaller,
) -> Result<HttpResponse, ApiError> {
    let code = required_string(&caller.body.0, "code")?;
    api.mfa
        .disable_totp(&caller.principal, &caller.proof, &code, &caller.client)
        .await?;
    record_change(&req, "totp_disabled");
    Ok(HttpResponse::NoContent().finish())
}

/// A new set of ten recovery codes (re-authentication); the old set dies.
#[utoipa::path(
    post, path = "/users/me/mfa/recovery-codes", tag = "second factors", operation_id = "regenerate_recovery_codes",
    security(("bearer" = [])),
    request_body = PasswordBody,
    responses(
        (status = 200, description = "Ten new recovery codes; `Cache-Control: no-store`", body = RecoveryCodesOut),
        (status = 409, description = "`mfa_not_enabled`: the account has no second factor", body = ErrorBody),
        BodyErrors, NotAnObject, Unauthenticated, ReauthRequired, Throttled, Unavailable,
    )
)]
pub async fn regenerate_codes(
    api: Api,
    req: HttpRequest,
    caller: ReauthenticatedCaller,
) -> Result<HttpResponse, ApiError> {
    let codes = api
        .mfa
        .regenerate_codes(&caller.principal, &caller.proof, &caller.client)
        .await?;
    record_change(&req, "recovery_codes_renewed");
    Ok(secret_response(
        actix_web::http::StatusCode::OK,
        &RecoveryCodesOut::new(&codes),
    ))
}

/// Finishes a login that asked for a second factor: the token pair, as `/login` gives.
#[utoipa::path(
    post, path = "/login/mfa", tag = "tokens", operation_id = "login_mfa",
    request_body = MfaLoginBody,
    responses(
        (status = 200, description = "A token pair, as `/login`; `Cache-Control: no-store`", body = TokenPairOut),
        (status = 401, description = "`invalid_mfa_code` (a wrong code or a refused passkey assertion: one failure on the login throttle and on the token, dead after 5) | `invalid_token` (unknown, spent, expired or dead mfa_token); both with `WWW-Authenticate: Bearer`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: mfa_token missing, neither or both of code and credential, or a malformed credential", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: the login is throttled; the code was not checked", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again (at least 1)"))),
        BodyErrors, Unavailable,
    )
)]
pub async fn login_mfa(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let login = MfaLogin::read(&body)?;
    let client = client_info(&req);
    let outcome = match &login.factor {
        SecondFactor::Code(code) => {
            api.mfa
                .complete_login(&login.mfa_token, code, &client)
                .await
        }
        SecondFactor::Passkey(credential) => {
            api.passkeys
                .complete_second_factor(&login.mfa_token, credential, &client)
                .await
        }
    };
    let outcome = outcome.inspect_err(|error| {
        log::info!("second-factor login refused: {error}");
        if let Some(metrics) = metrics_of(&req) {
            let outcome = match error {
                auth_domain::mfa::MfaLoginError::InvalidCode => "wrong_code",
                auth_domain::mfa::MfaLoginError::InvalidToken => "invalid_token",
                auth_domain::mfa::MfaLoginError::TooManyAttempts { .. } => "throttled",
                auth_domain::mfa::MfaLoginError::MalformedCredential(_) => "malformed",
                auth_domain::mfa::MfaLoginError::Fault(_) => return,
            };
            metrics.mfa().record_login(outcome);
        }
    })?;
    if let Some(metrics) = metrics_of(&req) {
        metrics.mfa().record_login("succeeded");
    }
    Ok(logged_in(
        &api,
        &req,
        "login with a second factor",
        &outcome,
    ))
}

/// Removes every second factor of a user (TOTP, recovery codes, passkeys) and ends their
/// sessions: for a user who lost them all.
#[utoipa::path(
    delete, path = "/users/{id}/mfa", tag = "administration", operation_id = "reset_user_mfa",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The user's id")),
    responses(
        (status = 204, description = "The user's second factors are gone and their sessions ended"),
        (status = 403, description = "`forbidden` (not an administrator) | `mfa_required` (`REQUIRE_MFA_FOR_ADMINS` and a login without a second factor)", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        Unauthenticated, Unavailable,
    )
)]
pub async fn reset_user_mfa(
    api: Api,
    req: HttpRequest,
    Admin(admin): Admin,
) -> Result<HttpResponse, ApiError> {
    let id = UserId(path_id(&req, "user")?);
    api.mfa.reset(&admin, id, &client_info(&req)).await?;
    record_change(&req, "reset");
    log::info!("second factors of user {id} reset by {}", admin.user.id);
    Ok(HttpResponse::NoContent().finish())
}
