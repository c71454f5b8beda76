//! Handlers of the account-lifecycle routes: the caller's profile, password and sessions, and
//! administration. Role checks are the use cases' (`auth_domain::admin`), not these.

use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::{Principal, SessionId, UserId};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{client_info, token_response, Api};
use crate::dto::lifecycle::{
    page, privilege_change, profile_change, ChangePasswordBody, Items, PageOut, SessionOut,
};
use crate::dto::{token_body, UserOut};
use crate::error::ApiError;
use crate::extract::JsonBody;

/// The `{id}` of the path as a UUID. A missing or malformed id names nothing: 404, like an
/// unknown one.
fn path_id(req: &HttpRequest, what: &str) -> Result<Uuid, ApiError> {
    req.match_info()
        .get("id")
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .ok_or_else(|| ApiError::no_such(what))
}

/// `PATCH /users/me`.
pub async fn update_me(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let change = profile_change(&body)?;
    let user = api
        .account
        .update_profile(&principal, change, &client_info(&req))
        .await?;
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

/// `POST /users/me/password`: a fresh token pair, every other session ended.
pub async fn change_password(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let (current, new) = body.validate()?;
    let changed = api
        .account
        .change_password(&principal, &current, &new, &client_info(&req))
        .await
        .inspect_err(|error| log::info!("password change refused: {error}"))?;
    log::info!(
        "password changed: user {}, {} session(s) ended, new session {}",
        principal.user.id,
        changed.sessions_ended,
        changed.session_id
    );
    let settings = &api.settings;
    Ok(token_response(token_body(
        &changed.tokens,
        &settings.access_token_name,
        &settings.refresh_token_name,
    )))
}

/// `GET /sessions`.
pub async fn list_sessions(
    api: Api,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let sessions = api.account.sessions(&principal).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: sessions.iter().map(SessionOut::from).collect(),
    }))
}

/// `DELETE /sessions/{id}`: only the caller's own; anything else is a 404.
pub async fn end_session(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let id = SessionId(path_id(&req, "session")?);
    api.account
        .end_session(&principal, id, &client_info(&req))
        .await?;
    log::info!("session {id} ended by its user {}", principal.user.id);
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /logout-all`.
pub async fn logout_all(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let ended = api
        .account
        .end_all_sessions(&principal, &client_info(&req))
        .await?;
    log::info!(
        "logout everywhere: user {}, {ended} session(s) ended",
        principal.user.id
    );
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /users?limit=&offset=`.
pub async fn list_users(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    // The role check comes first: a non-administrator gets 403 whatever the query says.
    if !auth_domain::admin::can_administer(&principal.user) {
        return Err(ApiError::forbidden());
    }
    let page = page(req.query_string())?;
    let listing = api.admin.list_users(&principal.user, page).await?;
    Ok(HttpResponse::Ok().json(PageOut::users(&listing)))
}

/// `GET /users/{id}`.
pub async fn get_user(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    if !auth_domain::admin::can_administer(&principal.user) {
        return Err(ApiError::forbidden());
    }
    let id = UserId(path_id(&req, "user")?);
    let user = api.admin.get_user(&principal.user, id).await?;
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

/// `PATCH /users/{id}`.
pub async fn update_user(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    if !auth_domain::admin::can_administer(&principal.user) {
        return Err(ApiError::forbidden());
    }
    let id = UserId(path_id(&req, "user")?);
    let change = privilege_change(&body)?;
    let user = api
        .admin
        .update_user(&principal.user, id, change, &client_info(&req))
        .await?;
    log::info!(
        "user {id} updated by administrator {}: {:?}",
        principal.user.id,
        change.fields()
    );
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

/// `DELETE /users/{id}`.
pub async fn delete_user(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    if !auth_domain::admin::can_administer(&principal.user) {
        return Err(ApiError::forbidden());
    }
    let id = UserId(path_id(&req, "user")?);
    api.admin
        .delete_user(&principal.user, id, &client_info(&req))
        .await?;
    log::info!("user {id} deleted by administrator {}", principal.user.id);
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /users/{id}/audit?limit=&offset=`.
pub async fn user_audit(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    if !auth_domain::admin::can_administer(&principal.user) {
        return Err(ApiError::forbidden());
    }
    let id = UserId(path_id(&req, "user")?);
    let page = page(req.query_string())?;
    let listing = api.admin.audit_trail(&principal.user, id, page).await?;
    Ok(HttpResponse::Ok().json(PageOut::audit(&listing)))
}
