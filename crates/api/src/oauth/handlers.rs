//! Handlers of the social-login routes.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::oauth::{AppRequest, CallbackOutcome, ExchangeError, ExchangeOutcome, StartError};
use auth_domain::Principal;

use super::errors::{invalid_redirect, invalid_state, unknown_provider};
use super::redirect::with_params;
use super::types::{
    AppBinding, AuthorizeQuery, AuthorizeUrlOut, CallbackQuery, IdentitiesOut, LoginCodeBody,
    ProvidersOut,
};
use super::types::{LinkBody, UnlinkBody};
use super::OAuthApi;
use crate::admin::path_id;
use crate::auth::{logged_in, secret_response, TokenPairOut};
use crate::client_addr::client_info;
use crate::error::{
    ApiError, BodyErrors, ErrorBody, NotAnObject, ReauthRequired, Throttled, TooLarge,
    Unauthenticated, Unavailable,
};
use crate::extract::JsonBody;
use crate::mfa::types::MfaRequiredOut;
use crate::ops::metrics_of;
use crate::reauth::ReauthenticatedCaller;
use crate::{Api, AuthApi};

fn oauth(api: &AuthApi) -> Result<&OAuthApi, ApiError> {
    api.oauth.as_ref().ok_or_else(unknown_provider)
}

fn record(req: &HttpRequest, oauth: &OAuthApi, provider: &str, outcome: &str) {
    // Only configured names become label values (a path can hold anything).
    let provider = if oauth.service.providers().iter().any(|p| p.name == provider) {
        provider
    } else {
        "unknown"
    };
    if let Some(metrics) = metrics_of(req) {
        metrics.oauth().record(provider, outcome);
    }
}

/// A redirect that may carry a one-time secret: never cached, never sent on as a referrer.
fn redirect_to(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish()
}

/// The configured login providers.
#[utoipa::path(
    get, path = "/oauth/providers", tag = "social login", operation_id = "oauth_providers",
    responses((status = 200, description = "The configured providers", body = ProvidersOut))
)]
pub async fn providers(api: Api) -> HttpResponse {
    let items = api
        .oauth
        .as_ref()
        .map(|oauth| oauth.service.providers())
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect();
    HttpResponse::Ok().json(ProvidersOut { items })
}

/// Starts a login with the provider: 302 to it, with its own single-use `state`, `nonce` and
/// PKCE S256. The app's `state` and PKCE challenge are required; `link` instead resumes a
/// link begun at `POST /users/me/identities/{provider}`.
#[utoipa::path(
    get, path = "/oauth/{provider}/authorize", tag = "social login", operation_id = "oauth_authorize",
    params(("provider" = String, Path, description = "A configured provider"), AuthorizeQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint (or, when the provider cannot be reached, back to `redirect_uri?error=login_failed&state=…`)"),
        (status = 400, description = "`invalid_redirect`: redirect_uri is not allowed | `invalid_token`: unknown or expired link", body = ErrorBody),
        (status = 404, description = "`unknown_provider`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: state or code_challenge missing or malformed", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many ceremonies started from this address", body = ErrorBody),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the database (or, for a link, the provider) cannot be reached", body = ErrorBody),
    )
)]
pub async fn authorize(
    api: Api,
    req: HttpRequest,
    provider: web::Path<String>,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(link) = query.link.as_deref() {
        let oauth = oauth(&api)?;
        let url = oauth.service.resume_link(&provider, link).await?;
        record(&req, oauth, &provider, "started");
        return Ok(redirect_to(&url));
    }
    // The app's binding is checked first, whatever the provider.
    let app = AppBinding::read(
        query.redirect_uri.as_deref(),
        query.state.as_deref(),
        query.code_challenge.as_deref(),
        query.code_challenge_method.as_deref(),
    )?;
    let oauth = oauth(&api)?;
    if !oauth
        .service
        .providers()
        .iter()
        .any(|p| p.name == *provider)
    {
        return Err(unknown_provider());
    }
    let redirect = oauth
        .allowlist
        .admit(&app.redirect_uri)
        .ok_or_else(invalid_redirect)?;
    if let Some(budget) = &oauth.ceremonies {
        budget
            .spend(&client_info(&req))
            .await
            .map_err(|error| match error {
                auth_domain::throttle::ThrottleError::TooManyAttempts { retry_after_secs } => {
                    ApiError::too_many_attempts(retry_after_secs)
                }
                auth_domain::throttle::ThrottleError::Fault(fault) => fault.into(),
            })?;
    }
    let request = AppRequest {
        redirect_uri: redirect.to_string(),
        state: app.state.clone(),
        code_challenge: app.code_challenge,
    };
    match oauth.service.start(&provider, request).await {
        Ok(url) => {
            record(&req, oauth, &provider, "started");
            Ok(redirect_to(&url))
        }
        Err(StartError::Unavailable) => {
            record(&req, oauth, &provider, "provider_unavailable");
            let back = with_params(
                redirect.as_str(),
                &[("error", "login_failed".into()), ("state", app.state)],
            )
            .ok_or_else(invalid_redirect)?;
            Ok(redirect_to(&back))
        }
        Err(error) => Err(error.into()),
    }
}

/// Where the provider sends the browser back (`{PUBLIC_URL}/oauth/{provider}/callback`,
/// registered at the provider): 302 to the app with `login_code` (or `linked`) or `error`,
/// and the app's `state`.
#[utoipa::path(
    get, path = "/oauth/{provider}/callback", tag = "social login", operation_id = "oauth_callback",
    params(("provider" = String, Path, description = "A configured provider"), CallbackQuery),
    responses(
        (status = 302, description = "To the app: `?login_code=…&state=…`, `?linked=<provider>&state=…` or `?error=account_exists|login_failed|identity_in_use&state=…`"),
        (status = 400, description = "`invalid_state`: unknown, spent, tampered or expired state (no trusted place to redirect to)", body = ErrorBody),
        (status = 404, description = "`unknown_provider`", body = ErrorBody),
        Unavailable,
    )
)]
pub async fn callback(
    api: Api,
    req: HttpRequest,
    provider: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    if query.state.as_deref().is_none_or(str::is_empty) {
        return Err(invalid_state());
    }
    let oauth = oauth(&api)?;
    let code = query.code.as_deref().filter(|_| query.error.is_none());
    let outcome = oauth
        .service
        .callback(&provider, code, query.state.as_deref(), &client_info(&req))
        .await?;
    match outcome {
        CallbackOutcome::InvalidState => {
            record(&req, oauth, &provider, "invalid_state");
            Err(invalid_state())
        }
        CallbackOutcome::Redirect {
            redirect_uri,
            params,
        } => {
            let outcome = match params.first() {
                Some(("login_code", _)) => "login_code",
                Some(("linked", _)) => "linked",
                _ => "refused",
            };
            record(&req, oauth, &provider, outcome);
            let location = with_params(&redirect_uri, &params).ok_or_else(invalid_state)?;
            Ok(redirect_to(&location))
        }
    }
}

/// Trades the one-time `login_code` (and the app's PKCE verifier) for the login: the token
/// pair (`amr` `["ext"]`), or `mfa_required` when the account has a second factor.
#[utoipa::path(
    post, path = "/oauth/token", tag = "social login", operation_id = "oauth_token",
    request_body = LoginCodeBody,
    responses(
        (status = 200, description = "The token pair, or `mfa_required` (then `POST /login/mfa`); `Cache-Control: no-store`", body = TokenPairOut),
        (status = 400, description = "`invalid_token`: bad, spent or expired login_code, or a wrong code_verifier (the code is spent) | `malformed_body`", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: the account was deactivated meanwhile", body = ErrorBody),
        (status = 409, description = "`account_exists`: an account took the email meanwhile", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        TooLarge, Unavailable,
    )
)]
pub async fn token(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<LoginCodeBody>,
) -> Result<HttpResponse, ApiError> {
    let oauth = oauth(&api)?;
    let outcome = oauth
        .service
        .exchange(&body.login_code, &body.code_verifier, &client_info(&req))
        .await;
    let metrics = metrics_of(&req);
    let count = |outcome: &str| {
        if let Some(metrics) = metrics {
            metrics.oauth().record("all", outcome);
        }
    };
    match outcome {
        Ok(ExchangeOutcome::Tokens(login)) => {
            count("exchanged");
            Ok(logged_in(&api, &req, "login with a provider", &login))
        }
        Ok(ExchangeOutcome::SecondFactorRequired(challenge)) => {
            count("mfa_required");
            Ok(secret_response(
                StatusCode::OK,
                &MfaRequiredOut::from(&challenge),
            ))
        }
        Err(error) => {
            match &error {
                ExchangeError::InvalidCode => count("invalid_code"),
                ExchangeError::AccountExists | ExchangeError::LoginFailed => count("refused"),
                // A fault is not an outcome of the login: the errors' own counters have it.
                ExchangeError::Fault(_) => {}
            }
            Err(error.into())
        }
    }
}

/// The caller's linked identities.
#[utoipa::path(
    get, path = "/users/me/identities", tag = "social login", operation_id = "list_identities",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The identities linked to the caller's account", body = IdentitiesOut),
        Unauthenticated, Unavailable,
    )
)]
pub async fn identities(
    api: Api,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let items = match &api.oauth {
        Some(oauth) => oauth.service.identities(&principal).await?,
        None => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(IdentitiesOut {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Begins linking an identity of `provider` to the caller's account (re-authentication:
/// `password`, or a recent login for an account without one). The browser then goes to
/// `authorize_url`; the callback sends it to `redirect_uri?linked=<provider>&state=…`.
#[utoipa::path(
    post, path = "/users/me/identities/{id}", tag = "social login", operation_id = "link_identity",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "For linking: the name of a configured provider (API.md's `/users/me/identities/{provider}`)")),
    request_body = LinkBody,
    responses(
        (status = 200, description = "Where to send the browser; `Cache-Control: no-store`", body = AuthorizeUrlOut),
        (status = 400, description = "`invalid_redirect` | `malformed_body`", body = ErrorBody),
        (status = 404, description = "`unknown_provider`", body = ErrorBody),
        (status = 422, description = "`validation_failed`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many wrong passwords", body = ErrorBody),
        TooLarge, Unauthenticated, ReauthRequired, Unavailable,
    )
)]
pub async fn link(
    api: Api,
    provider: web::Path<String>,
    caller: ReauthenticatedCaller,
) -> Result<HttpResponse, ApiError> {
    let oauth = oauth(&api)?;
    let app = AppBinding::from_body(&caller.body.0)?;
    let redirect = oauth
        .allowlist
        .admit(&app.redirect_uri)
        .ok_or_else(invalid_redirect)?;
    let request = AppRequest {
        redirect_uri: redirect.to_string(),
        state: app.state,
        code_challenge: app.code_challenge,
    };
    let ticket = oauth
        .service
        .begin_link(&caller.proof, &provider, request)
        .await?;
    let authorize_url = with_params(
        &format!("{}/oauth/{}/authorize", oauth.public_url, provider),
        &[("link", ticket)],
    )
    .ok_or_else(|| ApiError::from(auth_domain::Fault::internal("PUBLIC_URL is not a URL")))?;
    Ok(secret_response(
        StatusCode::OK,
        &AuthorizeUrlOut { authorize_url },
    ))
}

/// Unlinks one of the caller's identities (re-authentication), unless it is the account's
/// last way to log in.
#[utoipa::path(
    delete, path = "/users/me/identities/{id}", tag = "social login", operation_id = "unlink_identity",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "For unlinking: the identity's id")),
    request_body = UnlinkBody,
    responses(
        (status = 204, description = "Unlinked; the owner is mailed a notice"),
        (status = 404, description = "`not_found`: no such identity of the caller", body = ErrorBody),
        (status = 409, description = "`last_login_method`: no password, passkey or other identity would remain", body = ErrorBody),
        BodyErrors, NotAnObject, Unauthenticated, ReauthRequired, Throttled, Unavailable,
    )
)]
pub async fn unlink(
    api: Api,
    req: HttpRequest,
    caller: ReauthenticatedCaller,
) -> Result<HttpResponse, ApiError> {
    let oauth = oauth(&api)?;
    let id = path_id(&req, "identity")?;
    oauth
        .service
        .unlink(&caller.principal, &caller.proof, id, &caller.client)
        .await?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}
