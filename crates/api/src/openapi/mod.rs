//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations
//! and the DTOs' `ToSchema` derives, served at `GET /openapi.json`, and rendered as a
//! self-contained HTML reference at `GET /docs` (no script, no external asset).
//!
//! A new route is documented by annotating its handler and listing it in [`ApiDoc`]'s
//! `paths(…)`; `tests/api/observability.rs` fails when a served route is missing.

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

mod html;

use crate::error::{ApiError, ErrorBody, FieldError};
use crate::{
    account, admin, auth, keys, mfa, oauth, ops, passkeys, recovery, sessions, ApiSettings, AuthApi,
};
pub use html::render_html;

/// The document of every route in [`crate::scope`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "auth-server",
        description = "User authentication over HTTP: registration, login with JWT access tokens, \
rotating refresh tokens with reuse detection, logout that revokes, bcrypt; the account \
lifecycle (profile, password, sessions, administration with an audit trail), email \
verification and password reset by mail, and the token-verifying public keys as a JWK Set.\n\n\
Every error is JSON `{\"detail\", \"code\"[, \"errors\"]}`; `code` is stable. Every route also \
answers 404 `not_found` for an unknown path and 405 `method_not_allowed` (with `Allow`) for a \
wrong method."
    ),
    paths(openapi_json, docs),
    components(schemas(ErrorBody, FieldError)),
    modifiers(&BearerScheme),
    tags(
        (name = "accounts", description = "Registration and the caller's account: profile and password"),
        (name = "tokens", description = "Login, refresh-token rotation, logout"),
        (name = "sessions", description = "The caller's sessions: list, end one, end all"),
        (name = "administration", description = "Administrators only (`role` `admin` or `is_superuser`): users and their audit trail"),
        (name = "recovery", description = "Email verification and password reset, by mailed single-use links"),
        (name = "keys", description = "The public keys that verify auth-server's tokens"),
        (name = "operations", description = "Probes, metrics and this documentation"),
    )
)]
pub struct ApiDoc;

/// The name of the security scheme the protected operations require.
pub const SECURITY_SCHEME: &str = "bearer";

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /login or /refresh-access"))
                    .build(),
            ),
        );
    }
}

/// Every resource's part, in one document (before the configuration's renames).
pub fn assembled() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
        .merge_from(auth::AuthDoc::openapi())
        .merge_from(account::AccountDoc::openapi())
        .merge_from(sessions::SessionsDoc::openapi())
        .merge_from(admin::AdminDoc::openapi())
        .merge_from(recovery::RecoveryDoc::openapi())
        .merge_from(keys::KeysDoc::openapi())
        .merge_from(ops::OpsDoc::openapi())
        .merge_from(mfa::MfaDoc::openapi())
        .merge_from(passkeys::PasskeysDoc::openapi())
        .merge_from(oauth::OauthDoc::openapi())
}

/// Registers `GET /openapi.json` and `GET /docs`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/openapi.json").get(openapi_json))
        .service(web::resource("/docs").get(docs));
}

/// The document as this server is configured: token key names, the auth header, and the
/// prefix the routes are mounted under (`base`, `""` at the root).
pub fn document(settings: &ApiSettings, base: &str) -> Result<Value, serde_json::Error> {
    let mut doc = serde_json::to_value(assembled())?;
    let renames = [
        (
            "TokenPairOut",
            "access_token",
            settings.access_token_name.as_str(),
        ),
        (
            "TokenPairOut",
            "refresh_token",
            settings.refresh_token_name.as_str(),
        ),
        (
            "RefreshBody",
            "refresh_token",
            settings.refresh_token_name.as_str(),
        ),
    ];
    for (schema, from, to) in renames {
        if from != to {
            rename_property(&mut doc["components"]["schemas"][schema], from, to);
        }
    }
    let standard_header = settings.auth_header == header::AUTHORIZATION
        && settings
            .auth_schemes
            .iter()
            .any(|scheme| scheme.eq_ignore_ascii_case("bearer"));
    if !standard_header {
        let schemes = settings.auth_schemes.join("`, `");
        doc["components"]["securitySchemes"][SECURITY_SCHEME] = json!({
            "type": "apiKey",
            "in": "header",
            "name": settings.auth_header.as_str(),
            "description": format!("`<scheme> <access token>`, scheme one of `{schemes}`"),
        });
    }
    if !base.is_empty() {
        doc["servers"] = json!([{ "url": base }]);
    }
    Ok(doc)
}

fn rename_property(schema: &mut Value, from: &str, to: &str) {
    if let Some(properties) = schema["properties"].as_object_mut() {
        if let Some(property) = properties.remove(from) {
            properties.insert(to.to_owned(), property);
        }
    }
    if let Some(required) = schema["required"].as_array_mut() {
        for name in required.iter_mut() {
            if name.as_str() == Some(from) {
                *name = Value::from(to);
            }
        }
    }
}

fn mount_prefix<'a>(req: &'a HttpRequest, route: &str) -> &'a str {
    req.path().strip_suffix(route).unwrap_or_default()
}

/// This OpenAPI 3.1 document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations", operation_id = "openapi",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(
    api: web::Data<AuthApi>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let doc = document(&api.settings, mount_prefix(&req, "/openapi.json"))
        .map_err(|e| ApiError::from_fault(&auth_domain::Fault::internal(e)))?;
    Ok(HttpResponse::Ok().json(doc))
}

/// The API reference as one HTML page: no script, no external asset.
#[utoipa::path(
    get, path = "/docs", tag = "operations", operation_id = "docs",
    responses((status = 200, description = "The API reference", content_type = "text/html", body = String))
)]
pub async fn docs(api: web::Data<AuthApi>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let doc = document(&api.settings, mount_prefix(&req, "/docs"))
        .map_err(|e| ApiError::from_fault(&auth_domain::Fault::internal(e)))?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        ))
        .body(render_html(&doc)))
}

#[cfg(test)]
mod tests {
    use super::html::prose;
    use super::*;
    use actix_web::http::header::HeaderName;

    #[test]
    fn the_document_is_openapi_3_1_with_every_route() -> Result<(), serde_json::Error> {
        let doc = document(&ApiSettings::default(), "")?;
        assert!(doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")));
        for path in [
            "/create",
            "/login",
            "/refresh-access",
            "/",
            "/users/me",
            "/users/me/password",
            "/logout",
            "/sessions",
            "/sessions/{id}",
            "/logout-all",
            "/users",
            "/users/{id}",
            "/users/{id}/audit",
            "/verify-email/request",
            "/verify-email",
            "/password-reset/request",
            "/password-reset/confirm",
            "/.well-known/jwks.json",
            "/health",
            "/ready",
            "/metrics",
            "/openapi.json",
            "/docs",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
        assert_eq!(
            doc["paths"]["/"]["get"]["security"][0][SECURITY_SCHEME],
            json!([])
        );
        for (path, method) in [("/users/me", "patch"), ("/users/{id}", "delete")] {
            assert!(doc["paths"][path][method]["security"].is_array(), "{path}");
        }
        assert!(doc["paths"]["/password-reset/confirm"]["post"]["security"].is_null());
        assert!(
            doc["paths"]["/login"]["post"]["responses"]["429"]["headers"]
                .get("Retry-After")
                .is_some()
        );
        assert!(doc.get("servers").is_none());
        Ok(())
    }

    #[test]
    fn the_document_follows_the_configuration() -> Result<(), serde_json::Error> {
        let settings = ApiSettings {
            access_token_name: "access".into(),
            refresh_token_name: "refresh".into(),
            auth_header: HeaderName::from_static("x-auth"),
            auth_schemes: vec!["JWT".into()],
            ..ApiSettings::default()
        };
        let doc = document(&settings, "/auth")?;
        let pair = &doc["components"]["schemas"]["TokenPairOut"];
        assert!(pair["properties"].get("access").is_some());
        assert!(pair["properties"].get("access_token").is_none());
        assert!(pair["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("refresh"))));
        assert!(doc["components"]["schemas"]["RefreshBody"]["properties"]
            .get("refresh")
            .is_some());
        let scheme = &doc["components"]["securitySchemes"][SECURITY_SCHEME];
        assert_eq!(scheme["type"], "apiKey");
        assert_eq!(scheme["name"], "x-auth");
        assert_eq!(doc["servers"][0]["url"], "/auth");
        Ok(())
    }

    #[test]
    fn the_page_lists_routes_and_escapes_text() -> Result<(), serde_json::Error> {
        let html = render_html(&document(&ApiSettings::default(), "")?);
        for needle in [
            "<code class=\"path\">/refresh-access</code>",
            "id=\"schema-UserOut\"",
            "<code>email_taken</code>",
            "<code>last_admin</code>",
            "<code class=\"path\">/users/{id}/audit</code>",
            "Authorization: Bearer &lt;access token&gt;",
        ] {
            assert!(html.contains(needle), "{needle} missing");
        }
        assert!(!html.contains("<script"));
        assert_eq!(
            prose("a <b> `c&d`"),
            "<p>a &lt;b&gt; <code>c&amp;d</code></p>"
        );
        Ok(())
    }
}
