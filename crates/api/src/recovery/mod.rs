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
use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::recovery::{ResetPasswordError, VerifyEmailError};
use auth_domain::{Email, Password, Principal, ValueError};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use actix_web::middleware::from_fn;
use utoipa::OpenApi;

use crate::account::UserOut;
use crate::client_addr::client_info;
use crate::error::{
    ApiError, BodyErrors, ErrorBody, FieldError, TooLarge, UnauthenticatedBearer, Unavailable,
};
use crate::extract::JsonBody;
use crate::ops::StatusOut;
use crate::validation::Fields;
#[allow(unused_imports)] // named by the OpenAPI annotations
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
/// A string field that must not be empty (then parsed by the caller).
fn non_empty(raw: &str) -> Result<&str, ValueError> {
    if raw.is_empty() {
        Err(ValueError("must not be empty".into()))
    } else {
        Ok(raw)
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
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenBody {
    /// The token of the link mailed by `POST /verify-email/request`.
    #[schema(value_type = String, required = true, min_length = 1)]
    token: Option<String>,
}

/// `POST /password-reset/request`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequestBody {
    /// At most 254 characters once trimmed (no `maxLength`: surrounding whitespace does not
    /// count).
    #[schema(value_type = String, required = true, format = Email)]
    email: Option<String>,
}

/// `POST /password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirmBody {
    /// The token of the link mailed by `POST /password-reset/request`.
    #[schema(value_type = String, required = true, min_length = 1)]
    token: Option<String>,
    /// 8 characters to 72 bytes (UTF-8), under the same policy as at `/create`.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 72, format = Password)]
    new_password: Option<String>,
}

/// Asks for an email-verification mail: a link goes to the caller's email, unless the
/// account is verified already (the answer is the same).
#[utoipa::path(
    post, path = "/verify-email/request", tag = "recovery",
    operation_id = "request_email_verification",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "`{\"status\": \"accepted\"}`: a mail is queued, unless the account is verified already", body = StatusOut),
        UnauthenticatedBearer, Unavailable,
    )
)]
pub async fn request_email_verification(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let outcome = api
        .recovery
        .request_email_verification_from(&principal.user, &client_info(&req))
        .await?;
    log::info!(
        "email verification requested: user {} ({outcome:?})",
        principal.user.id
    );
    Ok(accepted())
}

/// Verifies the email with the token of the mailed link.
#[utoipa::path(
    post, path = "/verify-email", tag = "recovery", operation_id = "verify_email",
    request_body = TokenBody,
    responses(
        (status = 200, description = "The user, now `is_verified`", body = UserOut),
        (status = 400, description = "`malformed_body` | `invalid_token`: the token is unknown, expired, already used, superseded, or was sent to an email the account no longer has", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the token is missing, empty or not a string", body = ErrorBody),
        TooLarge, Unavailable,
    )
)]
pub async fn verify_email(
    api: Api,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::default();
    let token = fields.required("token", body.token.as_deref(), |raw| {
        non_empty(raw).map(str::to_owned)
    });
    let token = fields.finish_with(token)?;
    let user = api
        .recovery
        .verify_email(plausible(&token)?)
        .await
        .inspect_err(|error| log::info!("email verification refused: {error}"))?;
    log::info!("email verified: user {}", user.id);
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

/// Asks for a password-reset mail. The answer is the same whether or not an account has
/// the email.
#[utoipa::path(
    post, path = "/password-reset/request", tag = "recovery",
    operation_id = "request_password_reset",
    request_body = ResetRequestBody,
    responses(
        (status = 202, description = "`{\"status\": \"accepted\"}`, whether or not an account has the email", body = StatusOut),
        (status = 422, description = "`validation_failed`: the email is missing or malformed", body = ErrorBody),
        BodyErrors, Unavailable,
    )
)]
pub async fn request_password_reset(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<ResetRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::default();
    let email = fields.required("email", body.email.as_deref(), |raw| {
        non_empty(raw).and_then(Email::parse)
    });
    let email = fields.finish_with(email)?;
    // Nothing about the account is looked at here: the same write happens for every email.
    // Within the mail budget of this email and requester; beyond it, the same 202.
    api.recovery
        .request_password_reset_from(&email, &client_info(&req))
        .await?;
    Ok(accepted())
}

/// Sets a new password with the token of the mailed link; every session of the account ends.
#[utoipa::path(
    post, path = "/password-reset/confirm", tag = "recovery",
    operation_id = "confirm_password_reset",
    request_body = ResetConfirmBody,
    responses(
        (status = 204, description = "The password is changed and every session of the account has ended"),
        (status = 400, description = "`malformed_body` | `invalid_token`: the token is unknown, expired, already used or superseded, the password changed since it was sent, or the account is inactive or gone", body = ErrorBody),
        (status = 422, description = "`validation_failed`: the token or the new password is missing, or the new password is too short, too long or too weak", body = ErrorBody),
        TooLarge, Unavailable,
    )
)]
pub async fn confirm_password_reset(
    api: Api,
    JsonBody(body): JsonBody<ResetConfirmBody>,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::default();
    let token = fields.required("token", body.token.as_deref(), |raw| {
        non_empty(raw).map(str::to_owned)
    });
    let password = fields.required(
        "new_password",
        body.new_password.as_deref(),
        Password::parse,
    );
    let (token, password) = fields.finish_with(token.zip(password))?;
    let user_id = api
        .recovery
        .reset_password(plausible(&token)?, &password)
        .await
        .inspect_err(|error| log::info!("password reset refused: {error}"))?;
    log::info!("password reset: user {user_id}, every session ended");
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes (asking for a verification mail behind the auth middleware).
pub fn routes(config: &mut web::ServiceConfig) {
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(
            web::resource("/verify-email/request")
                .route(web::post().to(request_email_verification).wrap(protected())),
        )
        .service(web::resource("/verify-email").post(verify_email))
        .service(web::resource("/password-reset/request").post(request_password_reset))
        .service(web::resource("/password-reset/confirm").post(confirm_password_reset));
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(
        request_email_verification,
        verify_email,
        request_password_reset,
        confirm_password_reset,
    ),
    components(schemas(TokenBody, ResetRequestBody, ResetConfirmBody))
)]
pub struct RecoveryDoc;
