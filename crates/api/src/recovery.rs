//! Email verification and password reset over HTTP.
//!
//! - `POST /verify-email/request` (bearer) → 202 `{"status": "accepted"}`; a mail with a link
//!   goes to the caller's email unless the account is verified already.
//! - `POST /verify-email` `{token}` → 200 with the user (`is_verified: true`).
//! - `POST /password-reset/request` `{email}` → 202 `{"status": "accepted"}`, the same answer
//!   whether or not an account has the email (a malformed email is a 422, as at `/login`).
//! - `POST /password-reset/confirm` `{token, new_password}` → 204; every session of the
//!   account ends.
//!
//! An unknown, used, expired or superseded token is 400 `invalid_token`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use auth_domain::recovery::{ResetPasswordError, VerifyEmailError};
use auth_domain::{Email, Password, Principal};
use serde::Deserialize;
use serde_json::json;

use crate::dto::UserOut;
use crate::error::{ApiError, FieldError};
use crate::extract::JsonBody;
use crate::AuthApi;

type Api = web::Data<AuthApi>;

/// Tokens auth-server issues are 43 characters; anything much longer is not one of them and
/// is refused without further work.
const MAX_TOKEN_CHARS: usize = 512;

fn accepted() -> HttpResponse {
    HttpResponse::Accepted().json(json!({ "status": "accepted" }))
}

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_token",
        "The link is invalid, has expired or was already used; ask for a new one",
    )
}

impl From<VerifyEmailError> for ApiError {
    fn from(error: VerifyEmailError) -> Self {
        match error {
            VerifyEmailError::InvalidToken => invalid_token(),
            VerifyEmailError::Fault(fault) => fault.into(),
        }
    }
}

impl From<ResetPasswordError> for ApiError {
    fn from(error: ResetPasswordError) -> Self {
        match error {
            ResetPasswordError::InvalidToken => invalid_token(),
            ResetPasswordError::WeakPassword(error) => {
                ApiError::validation(vec![FieldError::new("new_password", error.0)])
            }
            ResetPasswordError::Fault(fault) => fault.into(),
        }
    }
}

/// A required non-empty string field.
fn required<'a>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&'a str>,
) -> Option<&'a str> {
    match value {
        None => errors.push(FieldError::new(field, "is required")),
        Some("") => errors.push(FieldError::new(field, "must not be empty")),
        Some(value) => return Some(value),
    }
    None
}

fn finish<T>(errors: Vec<FieldError>, value: Option<T>) -> Result<T, ApiError> {
    match value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(ApiError::validation(errors)),
    }
}

/// A token that cannot be one of ours is refused like any other bad token.
fn plausible(token: &str) -> Result<&str, ApiError> {
    if token.chars().count() > MAX_TOKEN_CHARS {
        return Err(invalid_token());
    }
    Ok(token)
}

/// `POST /verify-email`.
#[derive(Debug, Deserialize)]
pub struct TokenBody {
    token: Option<String>,
}

/// `POST /password-reset/request`.
#[derive(Debug, Deserialize)]
pub struct ResetRequestBody {
    email: Option<String>,
}

/// `POST /password-reset/confirm`.
#[derive(Debug, Deserialize)]
pub struct ResetConfirmBody {
    token: Option<String>,
    new_password: Option<String>,
}

pub async fn request_email_verification(
    api: Api,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let outcome = api
        .recovery
        .request_email_verification(&principal.user)
        .await?;
    log::info!(
        "email verification requested: user {} ({outcome:?})",
        principal.user.id
    );
    Ok(accepted())
}

pub async fn verify_email(
    api: Api,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let token = required(&mut errors, "token", body.token.as_deref());
    let token = finish(errors, token)?;
    let user = api
        .recovery
        .verify_email(plausible(token)?)
        .await
        .inspect_err(|error| log::info!("email verification refused: {error}"))?;
    log::info!("email verified: user {}", user.id);
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

pub async fn request_password_reset(
    api: Api,
    JsonBody(body): JsonBody<ResetRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let email = required(&mut errors, "email", body.email.as_deref()).and_then(|raw| {
        Email::parse(raw)
            .map_err(|error| errors.push(FieldError::new("email", error.0)))
            .ok()
    });
    let email = finish(errors, email)?;
    // Nothing about the account is looked at here: the same write happens for every email.
    api.recovery.request_password_reset(&email).await?;
    Ok(accepted())
}

pub async fn confirm_password_reset(
    api: Api,
    JsonBody(body): JsonBody<ResetConfirmBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let token = required(&mut errors, "token", body.token.as_deref());
    let password = match body.new_password.as_deref() {
        None => {
            errors.push(FieldError::new("new_password", "is required"));
            None
        }
        Some(raw) => Password::parse(raw)
            .map_err(|error| errors.push(FieldError::new("new_password", error.0)))
            .ok(),
    };
    let (token, password) = finish(errors, token.zip(password))?;
    let user_id = api
        .recovery
        .reset_password(plausible(token)?, &password)
        .await
        .inspect_err(|error| log::info!("password reset refused: {error}"))?;
    log::info!("password reset: user {user_id}, every session ended");
    Ok(HttpResponse::NoContent().finish())
}
