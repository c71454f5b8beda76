//! The caller's own account: read it, edit the profile, change the password.

use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::Principal;
use serde_json::{Map, Value};

use super::types::{profile_change, ChangePasswordBody, ProfileChangeBody, UserOut};
use crate::auth::types::{token_body, token_response, TokenPairOut};
use crate::client_addr::client_info;
use crate::error::{ApiError, ErrorBody, TooLarge, UnauthenticatedBearer, Unavailable};
use crate::extract::JsonBody;
use crate::Api;

/// The caller's account.
#[utoipa::path(
    get, path = "/users/me", tag = "accounts", operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserOut),
        UnauthenticatedBearer, Unavailable,
    )
)]
pub async fn me(principal: web::ReqData<Principal>) -> HttpResponse {
    HttpResponse::Ok().json(UserOut::from(&principal.user))
}

/// Changes the caller's profile: `username`, `first_name`, `last_name`, `date_of_birth`; an
/// absent field is unchanged, `null` or blank clears it, any other key is ignored.
#[utoipa::path(
    patch, path = "/users/me", tag = "accounts", operation_id = "update_me",
    security(("bearer" = [])),
    request_body = ProfileChangeBody,
    responses(
        (status = 200, description = "The caller, updated", body = UserOut),
        (status = 400, description = "`malformed_body`: not JSON, or not sent as application/json", body = ErrorBody),
        (status = 401, description = "`not_authenticated` (no token) | `invalid_token` (with `WWW-Authenticate: Bearer error=\"invalid_token\"`; also when the account was deleted meanwhile)", body = ErrorBody),
        (status = 409, description = "`username_taken`", body = ErrorBody),
        (status = 422, description = "`validation_failed`, naming every invalid field (also when the body is not a JSON object)", body = ErrorBody),
        TooLarge, Unavailable,
    )
)]
pub async fn update_me(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let change = profile_change(&body)?;
    let user = api
        .account
        .update_profile(&principal, change, &client_info(&req))
        .await?;
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

/// Changes the caller's password, which needs the current one. Every session of the caller
/// ends, this one included; the answer is the token pair of a new session.
#[utoipa::path(
    post, path = "/users/me/password", tag = "accounts", operation_id = "change_password",
    security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 200, description = "The token pair of a new session (key names follow ACCESS_TOKEN_NAME / REFRESH_TOKEN_NAME); `Cache-Control: no-store`", body = TokenPairOut),
        (status = 400, description = "`malformed_body`: not JSON, or not sent as application/json", body = ErrorBody),
        (status = 401, description = "`not_authenticated` (no token) | `invalid_token` (with `WWW-Authenticate: Bearer error=\"invalid_token\"`; also when the account was deleted meanwhile)", body = ErrorBody),
        (status = 403, description = "`invalid_credentials`: the current password is wrong (the access token stays valid)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a field is missing or empty, or the new password is too short, too long or too weak", body = ErrorBody),
        TooLarge, Unavailable,
    )
)]
pub async fn change_password(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let (current, new) = body.validate()?;
    let changed = api
        .account
        .change_password(&principal, &current, &new, &client_info(&req))
        .await
        .inspect_err(|error| log::info!("password change refused: {error}"))?;
    log::info!(
        "password changed: user {}, {} session(s) ended, new session {}",
        principal.user.id,
        changed.sessions_ended,
        changed.session_id
    );
    let settings = &api.settings;
    Ok(token_response(token_body(
        &changed.tokens,
        &settings.access_token_name,
        &settings.refresh_token_name,
    )))
}
