//! Administration: other users, their privileges and their audit trail.

pub mod handlers;
pub mod types;

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa::OpenApi;

pub(crate) use handlers::path_id;
pub use handlers::Admin;

/// Registers the routes (all behind the auth middleware; [`Admin`] refuses everyone else).
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers as h;
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(web::resource("/users").route(web::get().to(h::list_users).wrap(protected())))
        .service(
            web::resource("/users/{id}")
                .route(web::get().to(h::get_user).wrap(protected()))
                .route(web::patch().to(h::update_user).wrap(protected()))
                .route(web::delete().to(h::delete_user).wrap(protected())),
        )
        .service(
            web::resource("/users/{id}/audit")
                .route(web::get().to(h::user_audit).wrap(protected())),
        );
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::list_users,
        handlers::get_user,
        handlers::update_user,
        handlers::delete_user,
        handlers::user_audit,
    ),
    components(schemas(
        types::PrivilegeChangeBody,
        types::UserPage,
        types::AuditPage,
        types::AuditEventOut,
    ))
)]
pub struct AdminDoc;
