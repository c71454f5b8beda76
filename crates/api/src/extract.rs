//! Request-body extraction that answers every failure with the contract's JSON errors:
//! not JSON → 400 `malformed_body`, too large → 413, wrong shape → 422 with the field.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};
use crate::AuthApi;

/// Default body limit when no [`AuthApi`] is registered.
const DEFAULT_LIMIT: usize = 64 * 1024;
/// Default body timeout when no [`AuthApi`] is registered.
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON request body deserialised into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5
            && essence[..essence.len() - 5]
                .to_ascii_lowercase()
                .starts_with("application/")
            && essence.to_ascii_lowercase().ends_with("+json"))
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let api = req.app_data::<actix_web::web::Data<AuthApi>>();
        let limit = api.map_or(DEFAULT_LIMIT, |api| api.settings.max_body_bytes);
        let timeout = api.map_or(DEFAULT_BODY_TIMEOUT, |api| api.settings.body_timeout);
        let json = is_json(req);
        let declared = declared_length(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|length| length > limit) {
                return Err(ApiError::payload_too_large(limit));
            }
            if !json {
                return Err(ApiError::malformed_body(
                    "The body must be JSON sent with Content-Type: application/json",
                ));
            }
            // A slow client cannot hold the worker: the whole body within `timeout`.
            let body = actix_web::rt::time::timeout(timeout, read_body(&mut payload, limit))
                .await
                .map_err(|_| ApiError::request_timeout())??;
            parse(&body).map(JsonBody)
        })
    }
}

/// Reads the body, refusing it (413) as soon as it grows past `limit`.
async fn read_body(payload: &mut Payload, limit: usize) -> Result<BytesMut, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::malformed_body("The body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Deserialises a JSON object, naming the offending field on a shape error.
///
/// The document is read as a JSON value first: a body that is valid JSON but not an object
/// (serde would read an array into a struct field by field) is a shape error, not a request.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::malformed_body("The body is not valid JSON"))?;
    if !value.is_object() {
        return Err(ApiError::validation(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )]));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let path = error.path().to_string();
        let (field, message) = describe(&path, &error.into_inner().to_string());
        ApiError::validation(vec![FieldError::new(field, message)])
    })
}

/// Turns serde's message into one that names the field and never echoes the value sent
/// (which may be a password).
fn describe(path: &str, serde_message: &str) -> (String, String) {
    let field = if path == "." { "body" } else { path };
    if let Some(rest) = serde_message.strip_prefix("missing field `") {
        let missing = rest.split('`').next().unwrap_or_default();
        let field = if field == "body" {
            missing.to_owned()
        } else {
            format!("{field}.{missing}")
        };
        return (field, "is required".to_owned());
    }
    if serde_message.starts_with("invalid type") {
        let expected = serde_message
            .split(", expected ")
            .nth(1)
            .map(|rest| rest.split(" at line").next().unwrap_or(rest))
            .unwrap_or("a different type");
        return (field.to_owned(), format!("must be {expected}"));
    }
    (field.to_owned(), "has an invalid value".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_422() {
        let bad = parse::<Login>(b"{\"email\": ").map(|_| ()).err();
        assert_eq!(bad.map(|e| e.status()), Some(StatusCode::BAD_REQUEST));
        let trailing = parse::<Login>(b"{\"email\":\"a\",\"password\":\"b\"} x").err();
        assert_eq!(trailing.map(|e| e.status()), Some(StatusCode::BAD_REQUEST));
        let array = parse::<Login>(b"[\"a@b.co\", \"password1\"]").err();
        assert_eq!(array.map(|e| e.code()), Some("validation_failed"));
        let wrong_type = parse::<Login>(b"{\"email\": 5, \"password\": \"x\"}").err();
        assert_eq!(wrong_type.map(|e| e.code()), Some("validation_failed"));
    }

    #[test]
    fn wrong_type_names_the_field_without_echoing_the_value() {
        let message = describe(
            "password",
            "invalid type: integer `12345678`, expected a string at line 1 column 20",
        );
        assert_eq!(message, ("password".into(), "must be a string".into()));
        let missing = describe(".", "missing field `email`");
        assert_eq!(missing, ("email".into(), "is required".into()));
    }
}
