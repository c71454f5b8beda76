//! Second factors (issue "Two-factor authentication"): the caller's TOTP and recovery codes,
//! the second step of a login, and the administrators' reset.

mod errors;
pub mod handlers;
pub mod metrics;
pub mod types;

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa::OpenApi;

pub use errors::mfa_required;

/// Registers the routes (the protected ones behind the auth middleware).
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers as h;
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(web::resource("/login/mfa").post(h::login_mfa))
        .service(web::resource("/users/me/mfa").route(web::get().to(h::status).wrap(protected())))
        .service(
            web::resource("/users/me/mfa/totp")
                .route(web::post().to(h::enrol_totp).wrap(protected()))
                .route(web::delete().to(h::disable_totp).wrap(protected())),
        )
        .service(
            web::resource("/users/me/mfa/totp/confirm")
                .route(web::post().to(h::confirm_totp).wrap(protected())),
        )
        .service(
            web::resource("/users/me/mfa/recovery-codes")
                .route(web::post().to(h::regenerate_codes).wrap(protected())),
        )
        .service(
            web::resource("/users/{id}/mfa")
                .route(web::delete().to(h::reset_user_mfa).wrap(protected())),
        );
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::login_mfa,
        handlers::status,
        handlers::enrol_totp,
        handlers::confirm_totp,
        handlers::disable_totp,
        handlers::regenerate_codes,
        handlers::reset_user_mfa,
    ),
    components(schemas(
        types::MfaLoginBody,
        types::MfaRequiredOut,
        types::MfaStatusOut,
        types::TotpEnrolmentOut,
        types::RecoveryCodesOut,
        types::PasswordBody,
        types::DisableTotpBody,
        types::CodeBody,
    )),
    tags(
        (name = "second factors", description = "TOTP and recovery codes: a login then needs a code after the password (`POST /login` answers `mfa_required`, `POST /login/mfa` finishes it)"),
    )
)]
pub struct MfaDoc;
