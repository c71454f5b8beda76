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
