//! The JSON shapes of the contract, and their conversion into domain values.

use auth_domain::user::NewUser;
use auth_domain::{
    Email, Password, PasswordPolicy, PersonName, PolicyContext, TokenPair, User, Username,
    ValueError,
};
use chrono::{NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};

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
    #[schema(schema_with = crate::openapi::role_schema)]
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

pub(crate) fn rfc3339(time: chrono::DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
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

/// Collects every field error of a body before answering, so a client fixes them all at once.
#[derive(Default)]
pub(crate) struct Fields(Vec<FieldError>);

impl Fields {
    pub(crate) fn required<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        match raw {
            None => {
                self.0.push(FieldError::new(field, "is required"));
                None
            }
            Some(raw) => self.check(field, parse(raw)),
        }
    }

    /// Absent, `null` and blank all mean "not given".
    fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        let raw = raw.filter(|value| !value.trim().is_empty())?;
        self.check(field, parse(raw))
    }

    pub(crate) fn check<T>(&mut self, field: &str, parsed: Result<T, ValueError>) -> Option<T> {
        parsed
            .map_err(|error| self.0.push(FieldError::new(field, error.0)))
            .ok()
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }

    /// [`Fields::finish`], then the value the fields made (`Some` whenever no field failed).
    pub(crate) fn finish_with<T>(self, value: Option<T>) -> Result<T, ApiError> {
        self.finish()?;
        value.ok_or_else(|| ApiError::validation(Vec::new()))
    }
}

fn parse_date(raw: &str) -> Result<NaiveDate, ValueError> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ValueError("must be a date as YYYY-MM-DD".into()))?;
    if date > Utc::now().date_naive() {
        return Err(ValueError("must not be in the future".into()));
    }
    Ok(date)
}

/// `POST /create`. Privilege fields (`role`, `is_active`, …) are not read at all.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    // No `maxLength` on the trimmed fields: surrounding whitespace does not count towards
    // the limit, which JSON Schema cannot say.
    /// A valid address of at most 254 characters once trimmed; trimmed and lower-cased.
    #[schema(value_type = String, required = true, format = Email)]
    email: Option<String>,
    /// 8 characters to 72 bytes (UTF-8); longer passwords are refused, never truncated.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 72, format = Password)]
    password: Option<String>,
    /// Unique, compared case-insensitively; no spaces; at most 150 characters once trimmed;
    /// blank means none.
    username: Option<String>,
    /// At most 150 characters once trimmed; blank means none.
    first_name: Option<String>,
    /// At most 150 characters once trimmed; blank means none.
    last_name: Option<String>,
    /// `YYYY-MM-DD`, not in the future.
    #[schema(format = Date)]
    date_of_birth: Option<String>,
}

pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub profile: NewUser,
}

impl RegisterBody {
    pub fn validate(self) -> Result<Registration, ApiError> {
        let mut fields = Fields::default();
        let email = fields.required("email", self.email.as_deref(), Email::parse);
        let password = fields.required("password", self.password.as_deref(), Password::parse);
        let profile = NewUser {
            username: fields.optional("username", self.username.as_deref(), Username::parse),
            first_name: fields.optional(
                "first_name",
                self.first_name.as_deref(),
                PersonName::parse,
            ),
            last_name: fields.optional("last_name", self.last_name.as_deref(), PersonName::parse),
            date_of_birth: fields.optional(
                "date_of_birth",
                self.date_of_birth.as_deref(),
                parse_date,
            ),
        };
        if let Some(password) = &password {
            let context = PolicyContext {
                email: email.as_ref(),
                username: profile.username.as_ref(),
                first_name: profile.first_name.as_ref(),
                last_name: profile.last_name.as_ref(),
            };
            fields.check("password", PasswordPolicy::check(password, &context));
        }
        let (email, password) = fields.finish_with(email.zip(password))?;
        Ok(Registration {
            email,
            password,
            profile,
        })
    }
}

/// `POST /login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    #[schema(value_type = String, required = true, format = Email)]
    email: Option<String>,
    #[schema(value_type = String, required = true, format = Password)]
    password: Option<String>,
}

impl LoginBody {
    /// The email must at least look like one; the password is checked by the use case only
    /// (a wrong one is a 401, not a 422).
    pub fn validate(self) -> Result<(Email, String), ApiError> {
        let mut fields = Fields::default();
        let email = fields.required("email", self.email.as_deref(), Email::parse);
        let password = fields.required("password", self.password.as_deref(), |raw| {
            Ok(raw.to_owned())
        });
        fields.finish_with(email.zip(password))
    }
}

/// Reads the refresh token from a body whose key is configurable.
pub fn refresh_token_from(body: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match body.get(key) {
        Some(Value::String(token)) if !token.is_empty() => Ok(token.clone()),
        Some(Value::String(_)) => Err(ApiError::validation(vec![FieldError::new(
            key,
            "must not be empty",
        )])),
        Some(_) => Err(ApiError::validation(vec![FieldError::new(
            key,
            "must be a string",
        )])),
        None => Err(ApiError::validation(vec![FieldError::new(
            key,
            "is required",
        )])),
    }
}

/// The token pair under the configured key names.
pub fn token_body(tokens: &TokenPair, access_name: &str, refresh_name: &str) -> Value {
    let mut body = Map::new();
    body.insert(access_name.to_owned(), tokens.access_token.clone().into());
    body.insert(refresh_name.to_owned(), tokens.refresh_token.clone().into());
    body.insert("token_type".to_owned(), "Bearer".into());
    body.insert("expires_in".to_owned(), tokens.expires_in.into());
    Value::Object(body)
}

pub mod lifecycle;
