//! A request id on every request, and the middleware that counts and times each request
//! into [`Metrics`] when they are registered.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};

use super::metrics::Metrics;

/// The header carrying the request id, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming request id that is kept as it is.
const MAX_REQUEST_ID: usize = 64;

/// The id of one request: the caller's `X-Request-Id` when it is a sane short token (1–64 of
/// `A-Za-z0-9._-`), a fresh UUID otherwise. Stored in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    fn from_request(req: &ServiceRequest) -> Self {
        let given = req
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|value| is_sane_request_id(value));
        match given {
            Some(id) => Self(id.to_owned()),
            None => Self(uuid::Uuid::new_v4().to_string()),
        }
    }
}

/// Whether an incoming request id can be echoed into headers and logs as it is.
pub fn is_sane_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Tags the request with a [`RequestId`] (echoed as `X-Request-Id`) and, when [`Metrics`] are
/// registered, counts it by route pattern and status and times it.
///
/// Wrap it inside the access logger so the log line can print `%{x-request-id}o`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = RequestId::from_request(&req);
    req.extensions_mut().insert(request_id.clone());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    // Known before the call: an error escaping the inner layers takes the request with it.
    let route = metrics.as_ref().map(|_| req.match_pattern());
    let label = |route: &Option<Option<String>>| {
        route
            .as_ref()
            .and_then(|r| r.clone())
            .unwrap_or_else(|| "unmatched".to_owned())
    };
    match next.call(req).await {
        Ok(mut response) => {
            if let Ok(value) = HeaderValue::from_str(&request_id.0) {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            if let Some(metrics) = &metrics {
                metrics.record_request(
                    method.as_str(),
                    &label(&route),
                    response.status().as_u16(),
                    started.elapsed().as_secs_f64(),
                );
            }
            Ok(response)
        }
        Err(error) => {
            if let Some(metrics) = &metrics {
                metrics.record_request(
                    method.as_str(),
                    &label(&route),
                    error.as_response_error().status_code().as_u16(),
                    started.elapsed().as_secs_f64(),
                );
            }
            Err(Tagged {
                error,
                request_id: request_id.0,
            }
            .into())
        }
    }
}

/// An error that escaped the inner layers, answered with the request id all the same.
#[derive(Debug)]
struct Tagged {
    error: Error,
    request_id: String,
}

impl std::fmt::Display for Tagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl actix_web::ResponseError for Tagged {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.error.error_response();
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        response
    }
}
