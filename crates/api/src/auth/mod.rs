//! Logging in and out: registration, login with a password, refresh-token rotation, logout,
//! and the protected home route. The second step of a login with a second factor is in
//! [`crate::mfa`].

mod errors;
pub mod handlers;
pub mod types;

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa::OpenApi;

pub(crate) use handlers::logged_in;
pub use types::{secret_response, token_body, token_pair_response, token_response, TokenPairOut};

/// Registers the routes (the protected ones behind the auth middleware).
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers as h;
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(web::resource("/create").post(h::register))
        .service(web::resource("/login").post(h::login))
        .service(web::resource("/refresh-access").post(h::refresh))
        .service(web::resource("/").route(web::get().to(h::home).wrap(protected())))
        .service(web::resource("/logout").route(web::post().to(h::logout).wrap(protected())));
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::register,
        handlers::login,
        handlers::refresh,
        handlers::home,
        handlers::logout
    ),
    components(schemas(
        types::RegisterBody,
        types::LoginBody,
        types::RefreshBody,
        types::TokenPairOut,
        types::MessageOut,
    ))
)]
pub struct AuthDoc;
