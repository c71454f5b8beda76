//! Social login (issue "Social login"): external OpenID Connect providers and GitHub, the
//! one-time `login_code` handed to the app, and the caller's linked identities.

mod errors;
pub mod handlers;
pub mod metrics;
pub mod redirect;
pub mod types;

use actix_web::middleware::from_fn;
use actix_web::web;
use auth_domain::oauth::OAuthService;
use auth_domain::throttle::AddressBudget;
use utoipa::OpenApi;

pub use redirect::RedirectAllowlist;

/// What the social-login routes need besides the other use cases.
#[derive(Clone)]
pub struct OAuthApi {
    pub service: OAuthService,
    /// `OAUTH_REDIRECT_ALLOWLIST`.
    pub allowlist: RedirectAllowlist,
    /// `PUBLIC_URL`: the base of the `authorize_url` of a link.
    pub public_url: String,
    /// `CEREMONY_MAX_PER_ADDRESS`: anonymous starts per client address.
    pub ceremonies: Option<AddressBudget>,
}

/// Registers the routes (the caller's identities behind the auth middleware).
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers as h;
    let protected = || from_fn(crate::middleware::require_auth);
    config
        .service(web::resource("/oauth/providers").get(h::providers))
        .service(web::resource("/oauth/token").post(h::token))
        .service(web::resource("/oauth/{provider}/authorize").get(h::authorize))
        .service(web::resource("/oauth/{provider}/callback").get(h::callback))
        .service(
            web::resource("/users/me/identities")
                .route(web::get().to(h::identities).wrap(protected())),
        )
        // One path for both (OpenAPI allows one template per path): `{id}` is the provider's
        // name for POST (link), the identity's id for DELETE (unlink).
        .service(
            web::resource("/users/me/identities/{id}")
                .route(web::post().to(h::link).wrap(protected()))
                .route(web::delete().to(h::unlink).wrap(protected())),
        );
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::providers,
        handlers::authorize,
        handlers::callback,
        handlers::token,
        handlers::identities,
        handlers::link,
        handlers::unlink,
    ),
    components(schemas(
        types::ProviderOut,
        types::ProvidersOut,
        types::LoginCodeBody,
        types::LinkBody,
        types::UnlinkBody,
        types::AuthorizeUrlOut,
        types::IdentityOut,
        types::IdentitiesOut,
    )),
    tags(
        (name = "social login", description = "Log in with an external OpenID Connect provider or GitHub: `authorize` → provider → `callback` → the app gets a one-time `login_code` → `POST /oauth/token`; link and unlink identities"),
    )
)]
pub struct OauthDoc;
