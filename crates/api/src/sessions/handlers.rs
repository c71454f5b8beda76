//! The caller's sessions: list them, end one, end all.

use actix_web::{web, HttpRequest, HttpResponse};
use auth_domain::{Principal, SessionId};

use super::types::{Items, SessionList, SessionOut};
use crate::admin::path_id;
use crate::client_addr::client_info;
use crate::error::{ApiError, ErrorBody, UnauthenticatedBearer, Unavailable};
use crate::Api;

/// The caller's live sessions, the most recently used first.
#[utoipa::path(
    get, path = "/sessions", tag = "sessions", operation_id = "list_sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`{\"items\": [...]}`; `current` marks this request's session", body = SessionList),
        UnauthenticatedBearer, Unavailable,
    )
)]
pub async fn list_sessions(
    api: Api,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let sessions = api.account.sessions(&principal).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: sessions.iter().map(SessionOut::from).collect(),
    }))
}

/// Ends one of the caller's own live sessions (possibly this one).
#[utoipa::path(
    delete, path = "/sessions/{id}", tag = "sessions", operation_id = "end_session",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The session's id, from `GET /sessions`")),
    responses(
        (status = 204, description = "The session has ended: its refresh token and access tokens are refused from now on"),
        (status = 404, description = "`not_found`: no live session of the caller has this id (another user's, ended, expired, or not a UUID)", body = ErrorBody),
        UnauthenticatedBearer, Unavailable,
    )
)]
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

/// Logs out everywhere: ends every session of the caller, this one included.
#[utoipa::path(
    post, path = "/logout-all", tag = "sessions", operation_id = "logout_all",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the caller has ended"),
        UnauthenticatedBearer, Unavailable,
    )
)]
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
