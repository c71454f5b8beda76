//! Response hardening: `X-Content-Type-Options: nosniff` on every response, and CORS for
//! an allow-list of origins only (off when the list is empty).

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{Condition, Next};
use actix_web::Error;

/// Adds `X-Content-Type-Options: nosniff` to every response.
pub async fn respond_hardened(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut response = next.call(req).await?.map_into_boxed_body();
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// CORS for exactly `allowed_origins` (`scheme://host[:port]` each); no CORS at all when the
/// list is empty. Browsers may send the access token in `auth_header`; no cookies are used,
/// so credentials are not allowed. Another origin gets the normal answer without CORS
/// headers, which the browser then withholds from the page.
pub fn cors(allowed_origins: &[String], auth_header: &HeaderName) -> Condition<Cors> {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            auth_header.clone(),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::LOCATION,
        ])
        .max_age(600)
        .block_on_origin_mismatch(false);
    for origin in allowed_origins {
        cors = cors.allowed_origin(origin);
    }
    Condition::new(!allowed_origins.is_empty(), cors)
}

/// Checks one `CORS_ALLOWED_ORIGINS` entry and returns it as browsers send it in `Origin`
/// (`scheme://host[:port]`, lower-case, no path).
pub fn parse_origin(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let uri: actix_web::http::Uri = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not an origin (scheme://host[:port])"))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let path_ok = matches!(uri.path(), "" | "/") && uri.query().is_none() && !raw.ends_with('/');
    match (scheme_ok, uri.authority(), path_ok) {
        (true, Some(authority), true) if !authority.as_str().contains('@') => Ok(format!(
            "{}://{}",
            uri.scheme_str().unwrap_or("https"),
            authority.as_str().to_lowercase()
        )),
        _ => Err(format!(
            "{raw:?} is not an origin: use scheme://host[:port] with http or https, no path"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            parse_origin("https://App.Example.com"),
            Ok("https://app.example.com".into())
        );
        assert_eq!(
            parse_origin(" http://localhost:3000 "),
            Ok("http://localhost:3000".into())
        );
        for bad in [
            "*",
            "app.example.com",
            "ftp://example.com",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com?x=1",
            "https://user@example.com",
            "",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}

/// The access log's request line — method, path and protocol — **without the query string**:
/// links in mails carry one-time tokens there (`/reset-password?token=…`), and clients may
/// put an `access_token` or a `password` in it; none of them may land in a log.
pub fn request_line_without_query(req: &ServiceRequest) -> String {
    format!("{} {} {:?}", req.method(), req.path(), req.version())
}

/// The access log's format: `%{request_line}xi` is [`request_line_without_query`].
pub const ACCESS_LOG_FORMAT: &str = "%a \"%{request_line}xi\" %s %b %Dms rid=%{x-request-id}o";

/// The access log middleware: never `%r` or `%q`, which carry the query string.
pub fn access_log() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new(ACCESS_LOG_FORMAT)
        .custom_request_replace("request_line", request_line_without_query)
}

type BodyStream = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
            Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>,
        >,
    >,
>;

/// The request's payload, shared between the handler (which reads it) and
/// [`close_after_refused_body`] (which keeps it alive).
struct SharedPayload(std::rc::Rc<std::cell::RefCell<actix_web::dev::Payload>>);

impl futures_util::Stream for SharedPayload {
    type Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use futures_util::StreamExt as _;
        self.0.borrow_mut().poll_next_unpin(cx)
    }
}

/// A response body that holds the unread request payload until it has been sent.
struct HoldingPayload {
    body: BoxBody,
    _payload: std::rc::Rc<std::cell::RefCell<actix_web::dev::Payload>>,
}

impl MessageBody for HoldingPayload {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_next(cx)
    }
}

/// After a 413 or a 408, the connection is closed instead of drained.
///
/// actix-web reads and discards the rest of a chunked body whose handler dropped it (to keep
/// the connection alive), so a client could stream gigabytes after its 413. It closes the
/// connection instead when the body is still unread *and still held* as the answer goes out:
/// so the request's payload is handed to the handler through a shared handle, and a refused
/// body's answer keeps that handle until it has been sent.
pub async fn close_after_refused_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let payload = actix_web::HttpMessage::take_payload(&mut req);
    let shared = std::rc::Rc::new(std::cell::RefCell::new(payload));
    let stream: BodyStream = Box::pin(SharedPayload(std::rc::Rc::clone(&shared)));
    req.set_payload(actix_web::dev::Payload::from(stream));
    let response = next.call(req).await?;
    let refused = matches!(
        response.status(),
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
            | actix_web::http::StatusCode::REQUEST_TIMEOUT
    );
    if !refused {
        return Ok(response.map_into_boxed_body());
    }
    Ok(response.map_body(|_, body| {
        BoxBody::new(HoldingPayload {
            body: BoxBody::new(body),
            _payload: shared,
        })
    }))
}
