//! The caller's sessions (one per login): list them, end one, end all.

pub mod handlers;
pub mod types;

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa::OpenApi;

pub use types::Items;

/// Registers the routes (all behind the auth middleware).
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers as h;
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(
            web::resource("/sessions").route(web::get().to(h::list_sessions).wrap(protected())),
        )
        .service(
            web::resource("/sessions/{id}")
                .route(web::delete().to(h::end_session).wrap(protected())),
        )
        .service(
            web::resource("/logout-all").route(web::post().to(h::logout_all).wrap(protected())),
        );
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(handlers::list_sessions, handlers::end_session, handlers::logout_all),
    components(schemas(types::SessionOut, types::SessionList))
)]
pub struct SessionsDoc;
