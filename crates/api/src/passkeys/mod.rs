//! Passkeys (issue "Passkeys"): the caller's passkeys, the passwordless login, the passkey
//! as second factor (`POST /login/mfa` with `credential`) and the re-authentication options.

mod errors;
pub mod handlers;
pub mod metrics;
pub mod types;

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa::OpenApi;

pub use errors::malformed_mfa_credential;

/// Registers the routes (the protected ones behind the auth middleware).
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers as h;
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(web::resource("/login/passkey/options").post(h::login_options))
        .service(web::resource("/login/passkey").post(h::login))
        .service(web::resource("/login/mfa/passkey-options").post(h::mfa_options))
        .service(
            web::resource("/users/me/passkeys/registration")
                .route(web::post().to(h::begin_registration).wrap(protected())),
        )
        .service(
            web::resource("/users/me/passkeys")
                .route(web::get().to(h::list).wrap(protected()))
                .route(web::post().to(h::add).wrap(protected())),
        )
        .service(
            web::resource("/users/me/passkeys/{id}")
                .route(web::patch().to(h::rename).wrap(protected()))
                .route(web::delete().to(h::remove).wrap(protected())),
        )
        .service(
            web::resource("/users/me/reauthentication/options").route(
                web::post()
                    .to(h::reauthentication_options)
                    .wrap(protected()),
            ),
        );
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::begin_registration,
        handlers::add,
        handlers::list,
        handlers::rename,
        handlers::remove,
        handlers::login_options,
        handlers::login,
        handlers::mfa_options,
        handlers::reauthentication_options,
    ),
    components(schemas(
        types::RegistrationOptionsOut,
        types::LoginOptionsOut,
        types::RequestOptionsOut,
        types::PasskeyOut,
        types::NewPasskeyOut,
        types::PasskeyList,
        types::AddPasskeyBody,
        types::RenamePasskeyBody,
        types::PasskeyLoginBody,
        types::MfaTokenBody,
        types::ReauthBody,
    )),
    tags(
        (name = "passkeys", description = "WebAuthn passkeys: options and responses in the WebAuthn Level 3 JSON forms; a passkey logs in without a password, or is the second factor after one"),
    )
)]
pub struct PasskeysDoc;
