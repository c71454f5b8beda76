//! The auth middleware of the protected routes, and the safety net that gives every error
//! response a JSON body.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};

use crate::error::ApiError;
use crate::{ApiSettings, AuthApi};

/// Where a bearer token was looked for, and what was there.
enum Credential<'a> {
    Missing,
    Unusable,
    Token(&'a str),
}

fn credential<'a>(headers: &'a HeaderMap, settings: &ApiSettings) -> Credential<'a> {
    let Some(value) = headers.get(&settings.auth_header) else {
        return Credential::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Credential::Unusable;
    };
    let Some((scheme, token)) = value.trim().split_once(char::is_whitespace) else {
        return Credential::Unusable;
    };
    let token = token.trim();
    let scheme_accepted = settings
        .auth_schemes
        .iter()
        .any(|accepted| accepted.eq_ignore_ascii_case(scheme));
    if !scheme_accepted || token.is_empty() {
        return Credential::Unusable;
    }
    Credential::Token(token)
}

/// Resolves the bearer token to a [`auth_domain::Principal`] stored in the request's
/// extensions, or answers 401 — as a response, not an error, so that the layers around the
/// routes (CORS, security headers) see it like any other answer.
pub async fn require_auth(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    match principal_of(&req).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(refusal) => Ok(req.error_response(refusal)),
    }
}

async fn principal_of(req: &ServiceRequest) -> Result<auth_domain::Principal, ApiError> {
    let Some(api) = req.app_data::<web::Data<AuthApi>>().cloned() else {
        log::error!("auth middleware used without AuthApi app data");
        return Err(ApiError::from_fault(&auth_domain::Fault::internal(
            "AuthApi missing",
        )));
    };
    match credential(req.headers(), &api.settings) {
        Credential::Missing => Err(ApiError::not_authenticated()),
        Credential::Unusable => Err(ApiError::invalid_token(true)),
        Credential::Token(token) => api
            .service
            .authenticate(token)
            .await
            .map_err(ApiError::from_authenticate),
    }
}

/// Gives any error response that lacks a JSON body (actix's own 405 and 404, a body
/// limit hit before a handler ran…) the contract's JSON body, keeping its headers.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = next.call(req).await?;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return Ok(response.map_into_boxed_body());
    }
    let (req, original) = response.into_parts();
    let mut replacement = ApiError::for_status(status).error_response();
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, replacement))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn settings() -> ApiSettings {
        ApiSettings::default()
    }

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(header::AUTHORIZATION, value);
        }
        map
    }

    #[test]
    fn scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER   abc"] {
            assert!(matches!(
                credential(&headers(value), &settings()),
                Credential::Token("abc")
            ));
        }
    }

    #[test]
    fn wrong_scheme_or_empty_token_is_unusable_and_absence_is_missing() {
        for value in ["Basic abc", "Bearer", "Bearer   ", "Token abc"] {
            assert!(matches!(
                credential(&headers(value), &settings()),
                Credential::Unusable
            ));
        }
        assert!(matches!(
            credential(&HeaderMap::new(), &settings()),
            Credential::Missing
        ));
    }

    #[test]
    fn header_name_and_schemes_are_configurable() {
        let custom = ApiSettings {
            auth_header: HeaderName::from_static("x-auth"),
            auth_schemes: vec!["JWT".into()],
            ..ApiSettings::default()
        };
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_static("x-auth"),
            HeaderValue::from_static("jwt abc"),
        );
        assert!(matches!(
            credential(&map, &custom),
            Credential::Token("abc")
        ));
        assert!(matches!(
            credential(&headers("Bearer abc"), &custom),
            Credential::Missing
        ));
    }
}
