//! The bodies of registration, login and refresh, and the token pair.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::HttpResponse;
use auth_domain::user::NewUser;
use auth_domain::{Email, Password, PersonName, TokenPair, Username};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};
use crate::validation::{parse_date, Fields};

/// Token responses must not be cached (RFC 6749 §5.1).
pub fn token_response(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
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

/// `POST /refresh-access`. The key follows `REFRESH_TOKEN_NAME`.
#[derive(Serialize, ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// A token pair. The token keys follow `ACCESS_TOKEN_NAME` and `REFRESH_TOKEN_NAME`.
#[derive(Serialize, ToSchema)]
pub struct TokenPairOut {
    /// A JWT for the `Authorization: Bearer` header.
    pub access_token: String,
    /// A single-use JWT for `/refresh-access`.
    pub refresh_token: String,
    #[schema(schema_with = bearer_schema)]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

fn bearer_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["Bearer"]))
}

/// `{"message": …}`.
#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    pub message: String,
}

/// An answer that carries a secret: never stored by a cache.
pub fn secret_response(status: actix_web::http::StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// A token pair as `/login` answers it (key names from the settings, `no-store`).
pub fn token_pair_response(settings: &crate::ApiSettings, tokens: &TokenPair) -> HttpResponse {
    token_response(token_body(
        tokens,
        &settings.access_token_name,
        &settings.refresh_token_name,
    ))
}
