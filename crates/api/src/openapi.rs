//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations
//! and the DTOs' `ToSchema` derives, served at `GET /openapi.json`, and rendered as a
//! self-contained HTML reference at `GET /docs` (no script, no external asset).
//!
//! A new route is documented by annotating its handler and listing it in [`ApiDoc`]'s
//! `paths(…)`; `tests/api/observability.rs` fails when a served route is missing.

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::dto::lifecycle::{AuditEventOut, ChangePasswordBody, SessionOut};
use crate::dto::{LoginBody, RegisterBody, UserOut};
use crate::error::{ApiError, FieldError};
use crate::recovery::{ResetConfirmBody, ResetRequestBody, TokenBody};
use crate::well_known::{JwkSchema, JwkSetSchema};
use crate::{handlers, observability, recovery, well_known, ApiSettings, AuthApi};

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
    paths(
        handlers::register,
        handlers::login,
        handlers::refresh,
        handlers::home,
        handlers::me,
        handlers::lifecycle::update_me,
        handlers::lifecycle::change_password,
        handlers::logout,
        handlers::lifecycle::list_sessions,
        handlers::lifecycle::end_session,
        handlers::lifecycle::logout_all,
        handlers::lifecycle::list_users,
        handlers::lifecycle::get_user,
        handlers::lifecycle::update_user,
        handlers::lifecycle::delete_user,
        handlers::lifecycle::user_audit,
        recovery::request_email_verification,
        recovery::verify_email,
        recovery::request_password_reset,
        recovery::confirm_password_reset,
        well_known::jwks,
        handlers::health,
        handlers::ready,
        observability::metrics,
        openapi_json,
        docs,
    ),
    components(schemas(
        UserOut,
        RegisterBody,
        LoginBody,
        RefreshBody,
        TokenPairOut,
        ErrorBody,
        FieldError,
        MessageOut,
        StatusOut,
        ProfileChangeBody,
        ChangePasswordBody,
        PrivilegeChangeBody,
        SessionOut,
        SessionList,
        AuditEventOut,
        UserPage,
        AuditPage,
        TokenBody,
        ResetRequestBody,
        ResetConfirmBody,
        JwkSetSchema,
        JwkSchema
    )),
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

/// `role`: one of the seed's user types.
pub fn role_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["admin", "user", "other"]))
        .description(Some("`admin`, `user` or `other`"))
}

/// Every error response: `detail` for people, `code` for programs.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for people; never a cause, a secret or an echo of a token.
    pub detail: String,
    /// Stable snake_case code: `malformed_body`, `validation_failed`, `payload_too_large`,
    /// `not_found`, `method_not_allowed`, `not_authenticated`, `invalid_token`,
    /// `invalid_credentials`, `email_taken`, `username_taken`, `forbidden`, `last_admin`,
    /// `too_many_attempts`, `service_unavailable`, `internal_error`; with second factors
    /// `reauthentication_required`, `mfa_required`, `mfa_already_enabled`, `mfa_not_enabled`,
    /// `invalid_mfa_code`, `conflict`; with passkeys `invalid_credential`, `last_login_method`;
    /// with social login `unknown_provider`, `invalid_redirect`, `invalid_state`,
    /// `account_exists`.
    pub code: String,
    /// Present on `validation_failed` only: every invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
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

/// `PATCH /users/me`: a partial update. An absent field is unchanged; `null` or a blank
/// string clears it; a string is checked as at `/create`. Other keys (`email`, `role`,
/// `password`…) are ignored.
#[derive(Serialize, ToSchema)]
pub struct ProfileChangeBody {
    // No `maxLength`: surrounding whitespace does not count towards the limits.
    /// Unique, compared case-insensitively; no spaces; at most 150 characters once trimmed.
    pub username: Option<String>,
    /// At most 150 characters once trimmed.
    pub first_name: Option<String>,
    /// At most 150 characters once trimmed.
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`, not in the future; a blank string clears it like `null` (so no `format`
    /// here: `""` is accepted).
    pub date_of_birth: Option<String>,
}

/// `PATCH /users/{id}`: a partial update of a user's privileges. An absent field is
/// unchanged (`null` is not a value here); other keys (`email`, `is_superuser`, `password`…) are ignored.
#[derive(Serialize, ToSchema)]
pub struct PrivilegeChangeBody {
    #[schema(schema_with = role_schema, required = false)]
    pub role: String,
    /// `false` ends every session of the user.
    #[schema(required = false)]
    pub is_active: bool,
    #[schema(required = false)]
    pub is_verified: bool,
    #[schema(required = false)]
    pub is_staff: bool,
}

/// `GET /sessions`: the caller's live sessions, the most recently used first.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionOut>,
}

/// `GET /users`: one page of users, in registration order (oldest first).
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserOut>,
    /// How many users there are in all (with `q`: how many match, as counted for the first
    /// page of the search and carried on by its cursors).
    pub total: u64,
    /// The page size applied: the `limit` asked for (default 20), capped at 100.
    pub limit: u32,
    pub offset: u32,
    /// The `after` of the next page; `null` on the last page.
    pub next: Option<String>,
}

/// `GET /users/{id}/audit`: one page of a user's audit trail, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventOut>,
    /// How many events the trail has in all, as counted for its first page and carried on
    /// by its cursors.
    pub total: u64,
    /// The page size applied: the `limit` asked for (default 20), capped at 100.
    pub limit: u32,
    pub offset: u32,
    /// The `after` of the next page; `null` on the last page.
    pub next: Option<String>,
}

/// `{"message": …}`.
#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    pub message: String,
}

/// `{"status": …}`.
#[derive(Serialize, ToSchema)]
pub struct StatusOut {
    pub status: String,
}

/// The document as this server is configured: token key names, the auth header, and the
/// prefix the routes are mounted under (`base`, `""` at the root).
pub fn document(settings: &ApiSettings, base: &str) -> Result<Value, serde_json::Error> {
    let mut doc = serde_json::to_value(
        ApiDoc::openapi()
            .merge_from(crate::mfa::MfaDoc::openapi())
            .merge_from(crate::passkeys::PasskeysDoc::openapi())
            .merge_from(crate::oauth::OauthDoc::openapi()),
    )?;
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

// ---- The HTML page -------------------------------------------------------------------------

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `code spans`.
fn inline(text: &str) -> String {
    let mut html = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            html.push_str(&format!("<code>{}</code>", escape(part)));
        } else {
            html.push_str(&escape(part));
        }
    }
    html
}

/// Escaped text with `code spans` and paragraphs.
fn prose(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| format!("<p>{}</p>", inline(paragraph)))
        .collect()
}

fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A schema as a short type expression, with links to named schemas.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{}\">{}</a>", anchor(name), escape(name));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema.get(combinator).and_then(Value::as_array) {
            let joiner = if combinator == "allOf" {
                " &amp; "
            } else {
                " | "
            };
            return variants
                .iter()
                .map(type_of)
                .collect::<Vec<_>>()
                .join(joiner);
        }
    }
    let mut kinds: Vec<String> = match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.clone()],
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec!["any".to_owned()],
    };
    for kind in kinds.iter_mut() {
        if kind == "array" {
            let items = schema.get("items").map_or("any".to_owned(), type_of);
            *kind = format!("array of {items}");
        } else {
            *kind = escape(kind);
        }
    }
    let mut text = kinds.join(" | ");
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        text.push_str(&format!(" <span class=\"fmt\">({})</span>", escape(format)));
    }
    text
}

fn constraints(schema: &Value) -> String {
    let mut notes = Vec::new();
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect();
        notes.push(format!("one of {}", values.join(", ")));
    }
    for (key, label) in [
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
    ] {
        if let Some(value) = schema.get(key) {
            notes.push(format!("{label} {}", escape(&value.to_string())));
        }
    }
    notes.join("; ")
}

fn render_schema(name: &str, schema: &Value) -> String {
    let mut html = format!(
        "<section class=\"schema\" id=\"schema-{}\"><h3>{}</h3>",
        anchor(name),
        escape(name)
    );
    html.push_str(&prose(str_of(schema, "description")));
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match schema.get("properties").and_then(Value::as_object) {
        Some(properties) => {
            html.push_str(
                "<table><thead><tr><th>field</th><th>type</th><th>required</th>\
                 <th>constraints</th><th>meaning</th></tr></thead><tbody>",
            );
            for (field, property) in properties {
                html.push_str(&format!(
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(field),
                    type_of(property),
                    if required.contains(&field.as_str()) {
                        "yes"
                    } else {
                        "no"
                    },
                    constraints(property),
                    prose(str_of(property, "description")),
                ));
            }
            html.push_str("</tbody></table>");
        }
        None => html.push_str(&format!("<p>{}</p>", type_of(schema))),
    }
    html.push_str("</section>");
    html
}

fn bodies(content: Option<&Map<String, Value>>) -> String {
    let Some(content) = content else {
        return "—".to_owned();
    };
    content
        .iter()
        .map(|(media, body)| {
            let schema = body.get("schema").map(type_of).unwrap_or_default();
            format!("<code>{}</code> {schema}", escape(media))
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn render_operation(path: &str, method: &str, operation: &Value) -> String {
    let id = anchor(&format!("op-{method}-{path}"));
    let mut html = format!(
        "<section class=\"operation\" id=\"{id}\"><h3><span class=\"method {method}\">{}</span> \
         <code class=\"path\">{}</code></h3>",
        method.to_uppercase(),
        escape(path)
    );
    html.push_str(&prose(str_of(operation, "summary")));
    html.push_str(&prose(str_of(operation, "description")));
    if operation.get("security").is_some() {
        html.push_str(
            "<p class=\"auth\">Requires an access token (see <a href=\"#authentication\">\
             Authentication</a>).</p>",
        );
    }
    if let Some(body) = operation.get("requestBody") {
        html.push_str(&format!(
            "<p><strong>Request body</strong>: {}</p>",
            bodies(body.get("content").and_then(Value::as_object))
        ));
    }
    html.push_str(
        "<table><thead><tr><th>status</th><th>meaning and <code>code</code></th>\
         <th>body</th></tr></thead><tbody>",
    );
    if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
        for (status, response) in responses {
            html.push_str(&format!(
                "<tr><td class=\"status\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(status),
                prose(str_of(response, "description")),
                bodies(response.get("content").and_then(Value::as_object)),
            ));
        }
    }
    html.push_str("</tbody></table></section>");
    html
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;\
padding:1rem 2rem;color:#1d1d1f}h1{margin-bottom:0}code{font:13px ui-monospace,monospace;\
background:#f2f2f4;padding:0 .25em;border-radius:3px}table{border-collapse:collapse;width:100%;\
margin:.5rem 0 1rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;\
vertical-align:top}th{background:#f7f7f9}td p{margin:0}.operation,.schema{border-top:1px solid \
#ccc;padding-top:.5rem}.method{display:inline-block;min-width:4.5em;padding:0 .4em;\
border-radius:3px;color:#fff;background:#555;font-size:13px;text-align:center}.get{background:\
#2f6fb3}.post{background:#2e8540}.delete{background:#b33}.patch,.put{background:#a65e00}\
.fmt{color:#666}.status{font-weight:bold}.auth{color:#7a4b00}nav ul{columns:2}";

/// The whole reference page.
pub fn render_html(doc: &Value) -> String {
    let info = &doc["info"];
    let title = str_of(info, "title");
    let mut toc = String::new();
    let mut operations = String::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                let Some(operation) = item.get(*method) else {
                    continue;
                };
                let id = anchor(&format!("op-{method}-{path}"));
                toc.push_str(&format!(
                    "<li><a href=\"#{id}\"><code>{} {}</code></a> {}</li>",
                    method.to_uppercase(),
                    escape(path),
                    inline(str_of(operation, "summary"))
                ));
                operations.push_str(&render_operation(path, method, operation));
            }
        }
    }
    let mut schemas = String::new();
    if let Some(all) = doc["components"]["schemas"].as_object() {
        for (name, schema) in all {
            schemas.push_str(&render_schema(name, schema));
        }
    }
    let mut authentication = String::new();
    if let Some(all) = doc["components"]["securitySchemes"].as_object() {
        for scheme in all.values() {
            let how = match str_of(scheme, "type") {
                "http" => format!(
                    "<code>Authorization: {} &lt;access token&gt;</code>",
                    escape(&capitalise(str_of(scheme, "scheme")))
                ),
                _ => format!("header <code>{}</code>", escape(str_of(scheme, "name"))),
            };
            authentication.push_str(&format!(
                "<p>{how}. {}</p>",
                prose(str_of(scheme, "description"))
            ));
        }
    }
    let servers = doc
        .get("servers")
        .and_then(Value::as_array)
        .map(|servers| {
            let urls: Vec<String> = servers
                .iter()
                .map(|s| format!("<code>{}</code>", escape(str_of(s, "url"))))
                .collect();
            format!("<p>Routes are mounted under {}.</p>", urls.join(", "))
        })
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} API reference</title><style>{STYLE}</style></head><body>\
         <h1>{title} API reference</h1><p>Version {version} · OpenAPI {openapi} · \
         <a href=\"openapi.json\">openapi.json</a></p>{description}{servers}\
         <nav><h2>Routes</h2><ul>{toc}</ul></nav>\
         <h2 id=\"authentication\">Authentication</h2>{authentication}\
         <h2>Operations</h2>{operations}<h2>Schemas</h2>{schemas}</body></html>",
        title = escape(title),
        version = escape(str_of(info, "version")),
        openapi = escape(str_of(doc, "openapi")),
        description = prose(str_of(info, "description")),
    )
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
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
