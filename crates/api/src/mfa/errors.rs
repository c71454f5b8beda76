//! The second-factor use cases' errors as HTTP answers.

use actix_web::http::StatusCode;
use auth_domain::mfa::{
    ConfirmTotpError, DisableTotpError, EnrolTotpError, MfaLoginError, ReauthError,
    RegenerateCodesError, ResetMfaError,
};

use crate::error::ApiError;

fn mfa_not_enabled(detail: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "mfa_not_enabled", detail)
}

fn mfa_already_enabled() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "mfa_already_enabled",
        "TOTP is already enabled on this account",
    )
}

/// 422: a wrong code on a route of the account's owner (the bearer token is fine).
fn invalid_code() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_mfa_code",
        "The code is wrong or expired",
    )
}

/// 403 `mfa_required`: `REQUIRE_MFA_FOR_ADMINS` and a session without a second factor.
pub fn mfa_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "mfa_required",
        "Administration needs a login with a second factor: enable one at \
         /users/me/mfa/totp and log in again",
    )
}

impl From<ReauthError> for ApiError {
    fn from(error: ReauthError) -> Self {
        match error {
            ReauthError::Required => ApiError::new(
                StatusCode::FORBIDDEN,
                "reauthentication_required",
                "Confirm it is you: send your current password as `password`",
            ),
            ReauthError::TooManyAttempts { retry_after_secs } => {
                ApiError::too_many_attempts(retry_after_secs)
            }
            ReauthError::Fault(fault) => fault.into(),
        }
    }
}

impl From<EnrolTotpError> for ApiError {
    fn from(error: EnrolTotpError) -> Self {
        match error {
            EnrolTotpError::AlreadyEnabled => mfa_already_enabled(),
            EnrolTotpError::Fault(fault) => fault.into(),
        }
    }
}

impl From<ConfirmTotpError> for ApiError {
    fn from(error: ConfirmTotpError) -> Self {
        match error {
            ConfirmTotpError::NoPendingEnrolment => mfa_not_enabled(
                "No TOTP enrolment is pending: start one with POST /users/me/mfa/totp",
            ),
            ConfirmTotpError::AlreadyEnabled => mfa_already_enabled(),
            ConfirmTotpError::InvalidCode => invalid_code(),
            ConfirmTotpError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "The enrolment changed meanwhile; start again",
            ),
            ConfirmTotpError::Fault(fault) => fault.into(),
        }
    }
}

impl From<DisableTotpError> for ApiError {
    fn from(error: DisableTotpError) -> Self {
        match error {
            DisableTotpError::NotEnabled => mfa_not_enabled("TOTP is not enabled on this account"),
            DisableTotpError::InvalidCode => invalid_code(),
            DisableTotpError::TooManyAttempts { retry_after_secs } => {
                ApiError::too_many_attempts(retry_after_secs)
            }
            DisableTotpError::Fault(fault) => fault.into(),
        }
    }
}

impl From<RegenerateCodesError> for ApiError {
    fn from(error: RegenerateCodesError) -> Self {
        match error {
            RegenerateCodesError::NotEnabled => {
                mfa_not_enabled("The account has no second factor: enable TOTP first")
            }
            RegenerateCodesError::Fault(fault) => fault.into(),
        }
    }
}

impl From<MfaLoginError> for ApiError {
    fn from(error: MfaLoginError) -> Self {
        match error {
            MfaLoginError::InvalidToken => ApiError::invalid_token(false),
            MfaLoginError::InvalidCode => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_mfa_code",
                "The code is wrong or expired",
            )
            .with_bearer_challenge(),
            MfaLoginError::TooManyAttempts { retry_after_secs } => {
                ApiError::too_many_attempts(retry_after_secs)
            }
            MfaLoginError::MalformedCredential(why) => {
                crate::passkeys::malformed_mfa_credential(&why)
            }
            MfaLoginError::Fault(fault) => fault.into(),
        }
    }
}

impl From<ResetMfaError> for ApiError {
    fn from(error: ResetMfaError) -> Self {
        match error {
            ResetMfaError::Forbidden => ApiError::forbidden(),
            ResetMfaError::NotFound => ApiError::no_such("user"),
            ResetMfaError::Fault(fault) => fault.into(),
        }
    }
}
