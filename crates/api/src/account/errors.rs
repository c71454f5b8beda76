//! How the account owner's refusals are answered.

use crate::error::FieldError;
use actix_web::http::StatusCode;
use auth_domain::account::{ChangePasswordError, ProfileError};

use crate::error::ApiError;

impl From<ProfileError> for ApiError {
    fn from(error: ProfileError) -> Self {
        match error {
            ProfileError::UsernameTaken => Self::new(
                StatusCode::CONFLICT,
                "username_taken",
                "This username is already taken",
            ),
            ProfileError::AccountGone => Self::invalid_token(true),
            ProfileError::Fault(fault) => fault.into(),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            // 403, not 401: the bearer token is fine, the re-authentication failed; a 401
            // would make clients drop or refresh a perfectly good token.
            ChangePasswordError::WrongPassword => Self::new(
                StatusCode::FORBIDDEN,
                "invalid_credentials",
                "The current password is incorrect",
            ),
            ChangePasswordError::WeakPassword(reason) => {
                Self::validation(vec![FieldError::new("new_password", reason.0)])
            }
            ChangePasswordError::AccountGone => Self::invalid_token(true),
            ChangePasswordError::Fault(fault) => fault.into(),
        }
    }
}
