//! The caller's own account: the user as the API shows it, profile edits and password
//! changes.

mod errors;
pub mod handlers;
pub mod types;

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa::OpenApi;

pub use types::{role_schema, UserOut};

/// Registers the routes (all behind the auth middleware).
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers as h;
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(
            web::resource("/users/me")
                .route(web::get().to(h::me).wrap(protected()))
                .route(web::patch().to(h::update_me).wrap(protected())),
        )
        .service(
            web::resource("/users/me/password")
                .route(web::post().to(h::change_password).wrap(protected())),
        );
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(handlers::me, handlers::update_me, handlers::change_password),
    components(schemas(types::UserOut, types::ProfileChangeBody, types::ChangePasswordBody))
)]
pub struct AccountDoc;
