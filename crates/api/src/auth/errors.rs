//! How the login use cases' refusals are answered.

use actix_web::http::StatusCode;
use auth_domain::service::{AuthenticateError, LoginError, RefreshError, RegisterError};
use auth_domain::Fault;

use crate::error::{ApiError, FieldError};

impl From<RegisterError> for ApiError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "An account with this email already exists",
            ),
            RegisterError::UsernameTaken => Self::new(
                StatusCode::CONFLICT,
                "username_taken",
                "This username is already taken",
            ),
            RegisterError::WeakPassword(error) => {
                Self::validation(vec![FieldError::new("password", error.0)])
            }
            RegisterError::Fault(fault) => fault.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => Self::invalid_credentials(),
            LoginError::TooManyAttempts { retry_after_secs } => {
                Self::too_many_attempts(retry_after_secs)
            }
            LoginError::SecondFactorRequired(_) => {
                // Answered by the handler as the `mfa_required` 200; never an error response.
                Self::from_fault(&Fault::internal("second-factor step answered as an error"))
            }
            LoginError::Fault(fault) => fault.into(),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Refused(refusal) => {
                log::info!("refresh refused: {refusal}");
                Self::invalid_token(false)
            }
            RefreshError::ReuseDetected => {
                log::warn!("refresh token reuse detected: session revoked");
                Self::invalid_token(false)
            }
            RefreshError::Fault(fault) => fault.into(),
        }
    }
}

impl ApiError {
    /// An access-token failure; the token came in the configured auth header.
    pub fn from_authenticate(error: AuthenticateError) -> Self {
        match error {
            AuthenticateError::Refused(refusal) => {
                log::debug!("access token refused: {refusal}");
                Self::invalid_token(true)
            }
            AuthenticateError::Fault(fault) => fault.into(),
        }
    }
}
