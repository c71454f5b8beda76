//! HTTP answers of the account-lifecycle use cases' errors.

use actix_web::http::StatusCode;
use auth_domain::account::{ChangePasswordError, EndSessionError, ProfileError};
use auth_domain::admin::AdminError;

use super::{ApiError, FieldError};

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

impl From<EndSessionError> for ApiError {
    fn from(error: EndSessionError) -> Self {
        match error {
            EndSessionError::NotFound => Self::no_such("session"),
            EndSessionError::Fault(fault) => fault.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Forbidden => Self::forbidden(),
            AdminError::NotFound => Self::no_such("user"),
            AdminError::LastAdministrator => Self::new(
                StatusCode::CONFLICT,
                "last_admin",
                "This change would leave no active administrator; make another user an \
                 administrator first",
            ),
            AdminError::Fault(fault) => fault.into(),
        }
    }
}
