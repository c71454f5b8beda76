//! Social login's errors as HTTP answers.

use actix_web::http::StatusCode;
use auth_domain::oauth::{BeginLinkError, ExchangeError, StartError, UnlinkError};

use crate::error::ApiError;

pub fn unknown_provider() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_provider",
        "No such login provider: see GET /oauth/providers",
    )
}

pub fn invalid_redirect() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_redirect",
        "redirect_uri is not one of the app URLs allowed (OAUTH_REDIRECT_ALLOWLIST)",
    )
}

pub fn invalid_state() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_state",
        "Unknown, spent or expired state: start the login again",
    )
}

impl From<StartError> for ApiError {
    fn from(error: StartError) -> Self {
        match error {
            StartError::UnknownProvider => unknown_provider(),
            StartError::InvalidLink => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Unknown or expired link: start linking again",
            ),
            StartError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The login provider cannot be reached; try again later",
            ),
            StartError::Fault(fault) => fault.into(),
        }
    }
}

impl From<ExchangeError> for ApiError {
    fn from(error: ExchangeError) -> Self {
        match error {
            ExchangeError::InvalidCode => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Unknown, spent or expired login_code, or a code_verifier that does not match",
            ),
            ExchangeError::AccountExists => ApiError::new(
                StatusCode::CONFLICT,
                "account_exists",
                "An account has this email: log in to it and link the identity from there",
            ),
            ExchangeError::LoginFailed => ApiError::invalid_credentials(),
            ExchangeError::Fault(fault) => fault.into(),
        }
    }
}

impl From<BeginLinkError> for ApiError {
    fn from(error: BeginLinkError) -> Self {
        match error {
            BeginLinkError::UnknownProvider => unknown_provider(),
            BeginLinkError::Fault(fault) => fault.into(),
        }
    }
}

impl From<UnlinkError> for ApiError {
    fn from(error: UnlinkError) -> Self {
        match error {
            UnlinkError::NotFound => ApiError::no_such("identity"),
            UnlinkError::LastLoginMethod => ApiError::new(
                StatusCode::CONFLICT,
                "last_login_method",
                "This is the account's last way to log in: set a password (reset flow) or link \
                 another identity first",
            ),
            UnlinkError::Fault(fault) => fault.into(),
        }
    }
}
