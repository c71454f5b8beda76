//! The access log: one line per request, never with its query string.

use actix_web::dev::ServiceRequest;
use actix_web::middleware::{Condition, Logger};

/// The access log's request line — method, path and protocol — **without the query string**:
/// links in mails carry one-time tokens there (`/reset-password?token=…`), and clients may
/// put an `access_token` or a `password` in it; none of them may land in a log.
pub fn request_line_without_query(req: &ServiceRequest) -> String {
    format!("{} {} {:?}", req.method(), req.path(), req.version())
}

/// The access log's format: `%{request_line}xi` is [`request_line_without_query`].
pub const FORMAT: &str = "%a \"%{request_line}xi\" %s %b %Dms rid=%{x-request-id}o";

/// The target the access log writes to (actix's logger's own).
pub const TARGET: &str = "actix_web::middleware::logger";

/// The access log middleware: never `%r` or `%q`, which carry the query string.
///
/// Present only when the log filter lets its lines through (decided once, when the app is
/// built, after the logger is set up): actix's logger formats every line before asking, which
/// was a sixth of the instructions of a request that `RUST_LOG=warn` never logs.
pub fn middleware() -> Condition<Logger> {
    let logger = Logger::new(FORMAT)
        .log_target(TARGET)
        .custom_request_replace("request_line", request_line_without_query);
    Condition::new(log::log_enabled!(target: TARGET, log::Level::Info), logger)
}
