//! The passkey use cases' errors as HTTP answers.

use actix_web::http::StatusCode;
use auth_domain::passkeys::{
    FinishRegistrationError, PasskeyLoginError, PasskeyOptionsError, RemovePasskeyError,
};

use crate::error::{ApiError, FieldError};

fn malformed_credential(why: &str) -> ApiError {
    log::info!("malformed passkey credential: {why}");
    ApiError::validation(vec![FieldError::new(
        "credential",
        "is not a WebAuthn credential response in its JSON form (PublicKeyCredential.toJSON())",
    )])
}

/// 404 for a passkey the caller does not have.
pub fn no_such_passkey() -> ApiError {
    ApiError::no_such("passkey")
}

impl From<FinishRegistrationError> for ApiError {
    fn from(error: FinishRegistrationError) -> Self {
        match error {
            FinishRegistrationError::Malformed(why) => malformed_credential(&why),
            FinishRegistrationError::Refused(why) => {
                log::info!("passkey registration refused: {why}");
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_credential",
                    "The passkey was refused (expired or unknown registration, or a response \
                     that does not answer it); nothing was stored: start again",
                )
            }
            FinishRegistrationError::Fault(fault) => fault.into(),
        }
    }
}

impl From<RemovePasskeyError> for ApiError {
    fn from(error: RemovePasskeyError) -> Self {
        match error {
            RemovePasskeyError::NotFound => no_such_passkey(),
            RemovePasskeyError::LastLoginMethod => ApiError::new(
                StatusCode::CONFLICT,
                "last_login_method",
                "This passkey is the account's last way to log in: add another passkey or \
                 set a password first",
            ),
            RemovePasskeyError::Fault(fault) => fault.into(),
        }
    }
}

impl From<PasskeyLoginError> for ApiError {
    fn from(error: PasskeyLoginError) -> Self {
        match error {
            PasskeyLoginError::InvalidCredentials => ApiError::invalid_credentials(),
            PasskeyLoginError::Malformed(why) => malformed_credential(&why),
            PasskeyLoginError::TooManyAttempts { retry_after_secs } => {
                ApiError::too_many_attempts(retry_after_secs)
            }
            PasskeyLoginError::Fault(fault) => fault.into(),
        }
    }
}

impl From<PasskeyOptionsError> for ApiError {
    fn from(error: PasskeyOptionsError) -> Self {
        match error {
            PasskeyOptionsError::NoPasskey => ApiError::new(
                StatusCode::CONFLICT,
                "mfa_not_enabled",
                "The account has no passkey",
            ),
            PasskeyOptionsError::InvalidToken => ApiError::invalid_token(false),
            PasskeyOptionsError::TooManyAttempts { retry_after_secs } => {
                ApiError::too_many_attempts(retry_after_secs)
            }
            PasskeyOptionsError::Fault(fault) => fault.into(),
        }
    }
}

/// A malformed assertion at `POST /login/mfa`.
pub fn malformed_mfa_credential(why: &str) -> ApiError {
    malformed_credential(why)
}
