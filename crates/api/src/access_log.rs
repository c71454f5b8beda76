//! The access log: one line per request, never with its query string.

use actix_web::dev::ServiceRequest;

/// The access log's request line — method, path and protocol — **without the query string**:
/// links in mails carry one-time tokens there (`/reset-password?token=…`), and clients may
/// put an `access_token` or a `password` in it; none of them may land in a log.
pub fn request_line_without_query(req: &ServiceRequest) -> String {
    format!("{} {} {:?}", req.method(), req.path(), req.version())
}

/// The access log's format: `%{request_line}xi` is [`request_line_without_query`].
pub const FORMAT: &str = "%a \"%{request_line}xi\" %s %b %Dms rid=%{x-request-id}o";

/// The access log middleware: never `%r` or `%q`, which carry the query string.
pub fn middleware() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new(FORMAT)
        .custom_request_replace("request_line", request_line_without_query)
}
