//! Handlers of the passkey routes. Adding and removing a passkey re-authenticate first (right
//! after the bearer token, before the rest of the body is read).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::passkeys::{PasskeyId, PasskeyLoginError};
use auth_domain::Principal;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::errors::no_such_passkey;
use super::types::{
    self, AddPasskey, LoginOptionsOut, NewPasskeyOut, PasskeyList, PasskeyLogin, PasskeyOut,
    RegistrationOptionsOut, RequestOptionsOut,
};
use crate::auth::logged_in;
use crate::auth::secret_response;
use crate::auth::TokenPairOut;
use crate::client_addr::client_info;
use crate::error::{
    ApiError, BodyErrors, ErrorBody, FieldError, NotAnObject, ReauthRequired, Throttled, TooLarge,
    Unauthenticated, Unavailable,
};
use crate::extract::JsonBody;
use crate::ops::metrics_of;
use crate::passkeys::types::{
    AddPasskeyBody, MfaTokenBody, PasskeyLoginBody, ReauthBody as ReauthBodyDoc, RenamePasskeyBody,
};
use crate::reauth::ReauthenticatedCaller;
use crate::validation::required_string;
use crate::Api;

fn record_change(req: &HttpRequest, change: &str) {
    if let Some(metrics) = metrics_of(req) {
        metrics.passkeys().record_change(change);
    }
}

fn passkey_id(req: &HttpRequest) -> Result<PasskeyId, ApiError> {
    req.match_info()
        .get("id")
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .map(PasskeyId)
        .ok_or_else(no_such_passkey)
}

/// Begins adding a passkey (re-authentication): the creation options.
#[utoipa::path(
    post, path = "/users/me/passkeys/registration", tag = "passkeys", operation_id = "begin_passkey_registration",
    security(("bearer" = [])),
    request_body = ReauthBodyDoc,
    responses(
        (status = 200, description = "`registration_id` and the creation options (WebAuthn Level 3 JSON)", body = RegistrationOptionsOut),
        BodyErrors, NotAnObject, Unauthenticated, ReauthRequired, Throttled, Unavailable,
    )
)]
pub async fn begin_registration(
    api: Api,
    caller: ReauthenticatedCaller,
) -> Result<HttpResponse, ApiError> {
    let (registration_id, options) = api
        .passkeys
        .begin_registration(&caller.principal, &caller.proof)
        .await?;
    Ok(HttpResponse::Ok().json(RegistrationOptionsOut {
        registration_id,
        options: types::options(&options)?,
    }))
}

/// Finishes adding a passkey with the authenticator's response. The account's first second
/// factor comes with ten recovery codes.
#[utoipa::path(
    post, path = "/users/me/passkeys", tag = "passkeys", operation_id = "add_passkey",
    security(("bearer" = [])),
    request_body = AddPasskeyBody,
    responses(
        (status = 201, description = "The passkey (and `recovery_codes` with the first second factor); `Cache-Control: no-store`", body = NewPasskeyOut),
        (status = 400, description = "`invalid_credential`: refused, nothing stored | `malformed_body`", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a field missing, a malformed credential, a bad name", body = ErrorBody),
        TooLarge, Unauthenticated, Unavailable,
    )
)]
pub async fn add(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let add = AddPasskey::read(&body)?;
    let new = api
        .passkeys
        .finish_registration(
            &principal,
            &add.registration_id,
            &add.credential,
            add.name,
            &client_info(&req),
        )
        .await?;
    record_change(&req, "added");
    log::info!(
        "passkey {} added for user {}",
        new.passkey.id,
        principal.user.id
    );
    Ok(secret_response(
        StatusCode::CREATED,
        &NewPasskeyOut::from(&new),
    ))
}

/// The caller's passkeys, oldest first.
#[utoipa::path(
    get, path = "/users/me/passkeys", tag = "passkeys", operation_id = "list_passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{\"items\": [passkey…]}`", body = PasskeyList),
        Unauthenticated, Unavailable,
    )
)]
pub async fn list(api: Api, principal: web::ReqData<Principal>) -> Result<HttpResponse, ApiError> {
    let passkeys = api.passkeys.list(&principal).await?;
    Ok(HttpResponse::Ok().json(PasskeyList {
        items: passkeys.iter().map(PasskeyOut::from).collect(),
    }))
}

/// Renames one of the caller's passkeys.
#[utoipa::path(
    patch, path = "/users/me/passkeys/{id}", tag = "passkeys", operation_id = "rename_passkey",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The passkey's id")),
    request_body = RenamePasskeyBody,
    responses(
        (status = 200, description = "The renamed passkey", body = PasskeyOut),
        (status = 404, description = "`not_found`: not a passkey of the caller", body = ErrorBody),
        (status = 422, description = "`validation_failed`: name missing or not 1 to 64 characters", body = ErrorBody),
        BodyErrors, Unauthenticated, Unavailable,
    )
)]
pub async fn rename(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let id = passkey_id(&req)?;
    let name = types::name(&body)?
        .ok_or_else(|| ApiError::validation(vec![FieldError::new("name", "is required")]))?;
    let renamed = api
        .passkeys
        .rename(&principal, id, &name)
        .await?
        .ok_or_else(no_such_passkey)?;
    record_change(&req, "renamed");
    Ok(HttpResponse::Ok().json(PasskeyOut::from(&renamed)))
}

/// Removes one of the caller's passkeys (re-authentication), unless it is the account's
/// last way to log in.
#[utoipa::path(
    delete, path = "/users/me/passkeys/{id}", tag = "passkeys", operation_id = "remove_passkey",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The passkey's id")),
    request_body = ReauthBodyDoc,
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`not_found`: not a passkey of the caller", body = ErrorBody),
        (status = 409, description = "`last_login_method`: an account without a password keeps at least one passkey", body = ErrorBody),
        BodyErrors, NotAnObject, Unauthenticated, ReauthRequired, Throttled, Unavailable,
    )
)]
pub async fn remove(
    api: Api,
    req: HttpRequest,
    caller: ReauthenticatedCaller,
) -> Result<HttpResponse, ApiError> {
    let id = passkey_id(&req)?;
    api.passkeys
        .remove(&caller.principal, &caller.proof, id, &caller.client)
        .await?;
    record_change(&req, "removed");
    Ok(HttpResponse::NoContent().finish())
}

/// Begins a login without a password: request options for any discoverable credential.
#[utoipa::path(
    post, path = "/login/passkey/options", tag = "passkeys", operation_id = "passkey_login_options",
    responses(
        (status = 200, description = "`challenge_id` and the request options (WebAuthn Level 3 JSON)", body = LoginOptionsOut),
        (status = 429, description = "`too_many_attempts`: CEREMONY_MAX_PER_ADDRESS reached", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        Unavailable,
    )
)]
pub async fn login_options(api: Api, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (challenge_id, options) = api.passkeys.begin_login(&client_info(&req)).await?;
    Ok(HttpResponse::Ok().json(LoginOptionsOut {
        challenge_id,
        options: types::options(&options)?,
    }))
}

/// Logs in with a passkey, without a password: the token pair (`amr` `["hwk", "user", "mfa"]`).
#[utoipa::path(
    post, path = "/login/passkey", tag = "passkeys", operation_id = "passkey_login",
    request_body = PasskeyLoginBody,
    responses(
        (status = 200, description = "A token pair, as `/login`; `Cache-Control: no-store`", body = TokenPairOut),
        (status = 401, description = "`invalid_credentials`: any refusal alike (unknown credential, bad signature, wrong origin or RP ID, replayed or expired challenge, user verification missing, inactive user, counter gone backwards)", body = ErrorBody),
        (status = 422, description = "`validation_failed`: challenge_id or credential missing, or a malformed credential", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many failures from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        BodyErrors, Unavailable,
    )
)]
pub async fn login(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let login = PasskeyLogin::read(&body)?;
    let outcome = api
        .passkeys
        .finish_login(&login.challenge_id, &login.credential, &client_info(&req))
        .await
        .inspect_err(|error| {
            log::info!("passkey login refused: {error}");
            if let Some(metrics) = metrics_of(&req) {
                let outcome = match error {
                    PasskeyLoginError::InvalidCredentials => "refused",
                    PasskeyLoginError::Malformed(_) => "malformed",
                    PasskeyLoginError::TooManyAttempts { .. } => "throttled",
                    PasskeyLoginError::Fault(_) => return,
                };
                metrics.passkeys().record_login("login", outcome);
            }
        })?;
    if let Some(metrics) = metrics_of(&req) {
        metrics.passkeys().record_login("login", "succeeded");
    }
    Ok(logged_in(&api, &req, "login with a passkey", &outcome))
}

/// The request options for the passkeys of a login waiting for its second factor.
#[utoipa::path(
    post, path = "/login/mfa/passkey-options", tag = "passkeys", operation_id = "mfa_passkey_options",
    request_body = MfaTokenBody,
    responses(
        (status = 200, description = "The request options for the account's passkeys; answer at `POST /login/mfa` with `credential`", body = RequestOptionsOut),
        (status = 401, description = "`invalid_token`: unknown, spent, expired or dead mfa_token", body = ErrorBody),
        (status = 409, description = "`mfa_not_enabled`: the account has no passkey", body = ErrorBody),
        (status = 422, description = "`validation_failed`: mfa_token missing", body = ErrorBody),
        BodyErrors, Unavailable,
    )
)]
pub async fn mfa_options(
    api: Api,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let mfa_token = required_string(&body, "mfa_token")?;
    let options = api.passkeys.begin_second_factor(&mfa_token).await?;
    Ok(secret_response(
        StatusCode::OK,
        &RequestOptionsOut {
            options: types::options(&options)?,
        },
    ))
}

/// The request options for a re-authentication with one of the caller's passkeys: the
/// assertion goes as `credential` into the body of the route that asks for it.
#[utoipa::path(
    post, path = "/users/me/reauthentication/options", tag = "passkeys", operation_id = "reauthentication_options",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request options for the caller's passkeys (one ceremony per session: a new one replaces it)", body = RequestOptionsOut),
        (status = 409, description = "`mfa_not_enabled`: the account has no passkey", body = ErrorBody),
        Unauthenticated, Unavailable,
    )
)]
pub async fn reauthentication_options(
    api: Api,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let options = api.passkeys.begin_reauthentication(&principal).await?;
    Ok(HttpResponse::Ok().json(RequestOptionsOut {
        options: types::options(&options)?,
    }))
}
