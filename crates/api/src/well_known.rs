//! `GET /.well-known/jwks.json`: the public keys that verify auth-server's tokens, so that
//! other services can check an access token without calling auth-server.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};

use crate::AuthApi;

/// How long a verifier may cache the key set. Rotation pre-publishes a new key at least
/// this long before it signs (see README, "Signing keys and JWKS").
pub const JWKS_MAX_AGE_SECS: u32 = 300;

/// The RFC 7517 JWK Set: `{"keys": [{kty, kid, use: "sig", alg, …}]}`; empty with HMAC,
/// whose secret is never published.
pub async fn jwks(api: web::Data<AuthApi>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(JWKS_MAX_AGE_SECS),
        ]))
        .json(&api.settings.jwks)
}
