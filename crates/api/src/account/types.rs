//! The user as the API shows it, and the bodies of profile and password changes.

use auth_domain::user::ProfileChange;
use auth_domain::{PersonName, User, Username, ValueError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};
use crate::validation::{parse_date, rfc3339, Fields};

/// `UserOut`: a user as the API shows it. No password, no hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = Email)]
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(format = Date)]
    pub date_of_birth: Option<String>,
    #[schema(schema_with = role_schema)]
    pub role: &'static str,
    pub is_active: bool,
    pub is_verified: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    #[schema(format = DateTime)]
    pub last_login: Option<String>,
    #[schema(format = DateTime)]
    pub date_joined: String,
    /// The account has a second factor (TOTP or a passkey): a password alone no longer logs in.
    pub mfa_enabled: bool,
}

impl From<&User> for UserOut {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.to_string(),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            first_name: user.first_name.as_ref().map(|n| n.as_str().to_owned()),
            last_name: user.last_name.as_ref().map(|n| n.as_str().to_owned()),
            date_of_birth: user.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()),
            role: user.role.as_str(),
            is_active: user.is_active,
            is_verified: user.is_verified,
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            last_login: user.last_login.map(rfc3339),
            date_joined: rfc3339(user.date_joined),
            mfa_enabled: user.mfa_enabled,
        }
    }
}

/// `role`: one of the seed's user types.
pub fn role_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["admin", "user", "other"]))
        .description(Some("`admin`, `user` or `other`"))
}

/// A field of a partial update: absent → unchanged, `null` or blank → cleared, a string →
/// parsed like `/create` parses it.
fn clearable<T>(
    fields: &mut Fields,
    body: &Map<String, Value>,
    field: &str,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Option<Option<T>> {
    match body.get(field)? {
        Value::Null => Some(None),
        Value::String(raw) if raw.trim().is_empty() => Some(None),
        Value::String(raw) => fields.check(field, parse(raw)).map(Some),
        _ => {
            fields
                .0
                .push(FieldError::new(field, "must be a string or null"));
            None
        }
    }
}

/// `PATCH /users/me`: `username`, `first_name`, `last_name`, `date_of_birth`; any other key
/// (`email`, `role`, `is_active`, `password`…) is ignored.
pub fn profile_change(body: &Map<String, Value>) -> Result<ProfileChange, ApiError> {
    let mut fields = Fields::default();
    let change = ProfileChange {
        username: clearable(&mut fields, body, "username", Username::parse),
        first_name: clearable(&mut fields, body, "first_name", PersonName::parse),
        last_name: clearable(&mut fields, body, "last_name", PersonName::parse),
        date_of_birth: clearable(&mut fields, body, "date_of_birth", parse_date),
    };
    fields.finish()?;
    Ok(change)
}

/// `POST /users/me/password`. The new password's policy is the use case's to apply.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    /// The caller's password now: a stolen access token alone cannot change it.
    #[schema(value_type = String, required = true, format = Password, min_length = 1)]
    current_password: Option<String>,
    /// 8 characters to 72 bytes (UTF-8), under the same policy as at `/create`.
    #[schema(value_type = String, required = true, format = Password, min_length = 8, max_length = 72)]
    new_password: Option<String>,
}

impl ChangePasswordBody {
    /// `(current_password, new_password)`, both present and non-empty.
    pub fn validate(self) -> Result<(String, String), ApiError> {
        let mut fields = Fields::default();
        let non_empty = |raw: &str| {
            if raw.is_empty() {
                Err(ValueError("must not be empty".into()))
            } else {
                Ok(raw.to_owned())
            }
        };
        let current = fields.required(
            "current_password",
            self.current_password.as_deref(),
            non_empty,
        );
        let new = fields.required("new_password", self.new_password.as_deref(), non_empty);
        fields.finish_with(current.zip(new))
    }
}

/// `PATCH /users/me`: a partial update. An absent field is unchanged; `null` or a blank
/// string clears it; a string is checked as at `/create`. Other keys (`email`, `role`,
/// `password`…) are ignored.
#[derive(Serialize, ToSchema)]
pub struct ProfileChangeBody {
    // No `maxLength`: surrounding whitespace does not count towards the limits.
    /// Unique, compared case-insensitively; no spaces; at most 150 characters once trimmed.
    pub username: Option<String>,
    /// At most 150 characters once trimmed.
    pub first_name: Option<String>,
    /// At most 150 characters once trimmed.
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`, not in the future; a blank string clears it like `null` (so no `format`
    /// here: `""` is accepted).
    pub date_of_birth: Option<String>,
}
