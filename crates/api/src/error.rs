//! Every error the HTTP layer answers with, as `{"detail", "code"[, "errors"]}` JSON.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use auth_domain::Fault;
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error response. Build one with the constructors; its body never carries a cause.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    challenge: Option<&'static str>,
    /// `Retry-After`, in whole seconds.
    retry_after: Option<u64>,
}

/// `WWW-Authenticate` values (RFC 7235, RFC 6750 §3).
const CHALLENGE: &str = "Bearer";
const CHALLENGE_INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            challenge: None,
            retry_after: None,
        }
    }

    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_body", detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "The request body has invalid fields",
            )
        }
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than {limit} bytes"),
        )
    }

    /// The body did not arrive within `REQUEST_BODY_TIMEOUT`.
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request body did not arrive in time",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such route")
    }

    pub fn not_authenticated() -> Self {
        Self {
            challenge: Some(CHALLENGE),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                "Authentication credentials were not provided",
            )
        }
    }

    /// A refused token; `in_authorization_header` says whether it came in the
    /// `Authorization` header (RFC 6750 then wants `error="invalid_token"`).
    pub fn invalid_token(in_authorization_header: bool) -> Self {
        Self {
            challenge: Some(if in_authorization_header {
                CHALLENGE_INVALID_TOKEN
            } else {
                CHALLENGE
            }),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The token is invalid, expired or revoked",
            )
        }
    }

    pub fn invalid_credentials() -> Self {
        Self {
            challenge: Some(CHALLENGE),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
            )
        }
    }

    /// 429 for a throttled login; `Retry-After` says when to try again.
    pub fn too_many_attempts(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many failed login attempts; try again later",
            )
        }
    }

    /// The canonical error for a status that some layer produced without a body of ours.
    pub fn for_status(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("Error");
        let code = match status {
            StatusCode::BAD_REQUEST => "malformed_body",
            StatusCode::UNAUTHORIZED => "not_authenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::REQUEST_TIMEOUT => "request_timeout",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "malformed_body",
            StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
            StatusCode::TOO_MANY_REQUESTS => "too_many_attempts",
            StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
            s if s.is_client_error() => "bad_request",
            _ => "internal_error",
        };
        let detail = match status {
            StatusCode::NOT_FOUND => "No such route".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed on this route".to_owned(),
            _ => reason.to_owned(),
        };
        Self::new(status, code, detail)
    }

    /// Logs the cause chain server-side and answers without it.
    pub fn from_fault(fault: &Fault) -> Self {
        let chain = auth_domain::error::chain(fault);
        match fault {
            Fault::Unavailable(_) => {
                log::warn!("storage unavailable: {chain}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "The service is temporarily unavailable; try again shortly",
                )
            }
            Fault::Internal(_) => {
                log::error!("internal fault: {chain}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "An unexpected error occurred",
                )
            }
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The invalid fields of a `validation_failed` error.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Adds `WWW-Authenticate: Bearer` (a 401 about a credential sent in the body).
    pub fn with_bearer_challenge(mut self) -> Self {
        self.challenge = Some(CHALLENGE);
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        // The rest of a body too large or too slow is not worth reading: close the
        // connection after the answer instead of draining it.
        if matches!(
            self.status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
        ) {
            response.force_close();
        }
        if let Some(challenge) = self.challenge {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        // Also here, for an error that reaches actix as an error rather than a response.
        response.insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response.json(ErrorBody {
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: (!self.errors.is_empty()).then(|| self.errors.clone()),
        })
    }
}

impl From<Fault> for ApiError {
    fn from(fault: Fault) -> Self {
        Self::from_fault(&fault)
    }
}

impl ApiError {
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Administrator rights are required",
        )
    }

    /// A resource that does not exist — or that the caller may not know exists.
    pub fn no_such(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}"),
        )
    }
}

/// Every error response: `detail` for people, `code` for programs.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for people; never a cause, a secret or an echo of a token.
    pub detail: String,
    /// Stable snake_case code: `malformed_body`, `validation_failed`, `payload_too_large`,
    /// `not_found`, `method_not_allowed`, `not_authenticated`, `invalid_token`,
    /// `invalid_credentials`, `email_taken`, `username_taken`, `forbidden`, `last_admin`,
    /// `too_many_attempts`, `service_unavailable`, `internal_error`; with second factors
    /// `reauthentication_required`, `mfa_required`, `mfa_already_enabled`, `mfa_not_enabled`,
    /// `invalid_mfa_code`, `conflict`; with passkeys `invalid_credential`, `last_login_method`;
    /// with social login `unknown_provider`, `invalid_redirect`, `invalid_state`,
    /// `account_exists`.
    pub code: String,
    /// Present on `validation_failed` only: every invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

// The error responses many routes document alike, for their `#[utoipa::path(responses(…))]`.
// Documentation only: nothing builds them.

/// 500 and 503: any route that reaches the database.
#[derive(utoipa::IntoResponses)]
pub enum Unavailable {
    #[response(status = 500, description = "`internal_error`")]
    InternalError(ErrorBody),
    #[response(status = 503, description = "`service_unavailable`")]
    ServiceUnavailable(ErrorBody),
}

/// 400 and 413: a route that reads a JSON body.
#[derive(utoipa::IntoResponses)]
pub enum BodyErrors {
    #[response(status = 400, description = "`malformed_body`")]
    MalformedBody(ErrorBody),
    #[response(status = 413, description = "`payload_too_large`")]
    PayloadTooLarge(ErrorBody),
}

/// 413 alone: a route that reads a JSON body and says more about its 400.
#[derive(utoipa::IntoResponses)]
#[response(status = 413, description = "`payload_too_large`")]
pub struct TooLarge(pub ErrorBody);

/// 401 of a route behind the bearer token.
#[derive(utoipa::IntoResponses)]
#[response(status = 401, description = "`not_authenticated` | `invalid_token`")]
pub struct Unauthenticated(pub ErrorBody);

/// 401 of a route behind the bearer token, with the challenge each answer carries.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 401,
    description = "`not_authenticated` (no token) | `invalid_token` (with `WWW-Authenticate: Bearer error=\"invalid_token\"`)"
)]
pub struct UnauthenticatedBearer(pub ErrorBody);

/// 429 of a route that checks a secret against the login throttle.
#[derive(utoipa::IntoResponses)]
#[response(status = 429, description = "`too_many_attempts`")]
pub struct Throttled(pub ErrorBody);

/// 403 of a route that re-authenticates.
#[derive(utoipa::IntoResponses)]
#[response(status = 403, description = "`reauthentication_required`")]
pub struct ReauthRequired(pub ErrorBody);

/// 422 of a route whose body is only the re-authentication.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 422,
    description = "`validation_failed`: the body is not a JSON object"
)]
pub struct NotAnObject(pub ErrorBody);
