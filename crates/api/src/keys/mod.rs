//! `GET /.well-known/jwks.json`: the public keys that verify auth-server's tokens, so that
//! other services can check an access token without calling auth-server.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use utoipa::{OpenApi, ToSchema};

use crate::AuthApi;

/// How long a verifier may cache the key set. Rotation pre-publishes a new key at least
/// this long before it signs (see README, "Signing keys and JWKS").
pub const JWKS_MAX_AGE_SECS: u32 = 300;

/// An RFC 7517 JWK Set, for the OpenAPI document only (the body served is the key ring's).
#[derive(ToSchema)]
#[schema(as = JwkSet)]
pub struct JwkSetSchema {
    /// The signing key first, then the keys still accepted for verification; empty with
    /// an HMAC secret, which is never published.
    pub keys: Vec<JwkSchema>,
}

/// One public key (RFC 7517, RFC 7518, RFC 8037). Which parameters are present depends on
/// `kty`: `n` and `e` for `RSA`, `crv`, `x` and `y` for `EC`, `crv` and `x` for `OKP`.
#[derive(ToSchema)]
#[schema(as = Jwk)]
pub struct JwkSchema {
    #[schema(schema_with = kty_schema)]
    pub kty: String,
    /// The RFC 7638 thumbprint of the key, also the `kid` of the tokens it verifies.
    pub kid: String,
    #[schema(rename = "use", schema_with = use_schema)]
    pub use_: String,
    #[schema(schema_with = alg_schema)]
    pub alg: String,
    /// RSA modulus, base64url.
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    pub e: Option<String>,
    /// `P-256` (EC) or `Ed25519` (OKP).
    pub crv: Option<String>,
    /// EC or OKP public key (x coordinate), base64url.
    pub x: Option<String>,
    /// EC public key y coordinate, base64url.
    pub y: Option<String>,
}

fn string_enum(values: &[&'static str]) -> utoipa::openapi::ObjectBuilder {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(values.iter().copied()))
}

fn kty_schema() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["RSA", "EC", "OKP"])
}

fn use_schema() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["sig"])
}

fn alg_schema() -> utoipa::openapi::ObjectBuilder {
    string_enum(&["RS256", "ES256", "EdDSA"])
}

/// The RFC 7517 JWK Set: `{"keys": [{kty, kid, use: "sig", alg, …}]}`; empty with HMAC,
/// whose secret is never published.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "keys", operation_id = "jwks",
    responses(
        (status = 200, description = "The public keys that verify access and refresh tokens; `Cache-Control: public, max-age=300`. `{\"keys\": []}` when tokens are signed with an HMAC secret", body = JwkSetSchema,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub async fn jwks(api: web::Data<AuthApi>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(JWKS_MAX_AGE_SECS),
        ]))
        .json(&api.settings.jwks)
}

/// Registers the route.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(web::resource("/.well-known/jwks.json").get(jwks));
}

/// The OpenAPI part of this route, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(paths(jwks), components(schemas(JwkSetSchema, JwkSchema)))]
pub struct KeysDoc;
