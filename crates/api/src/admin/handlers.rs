//! Administration: users, their privileges, their audit trail. Role checks are the use
//! cases' (`auth_domain::admin`); [`Admin`] only answers first.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use auth_domain::admin::can_administer;
use auth_domain::{Fault, Principal, UserId};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::types::{privilege_change, AuditPage, PrivilegeChangeBody, UserPage};
use crate::account::UserOut;
use crate::client_addr::client_info;
use crate::error::{ApiError, ErrorBody, TooLarge, UnauthenticatedBearer, Unavailable};
use crate::extract::JsonBody;
use crate::listing::{listing_query, Listed, PageOut};
use crate::Api;

/// The caller of an administration route, when an administrator. Extracted before anything
/// else of the request (path, query, body), so everyone else gets 403 `forbidden` whatever
/// they sent. The use cases check again (`auth_domain::admin`); this only answers first.
pub struct Admin(pub Principal);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = req.extensions().get::<Principal>().cloned();
        let require_mfa = req
            .app_data::<web::Data<crate::AuthApi>>()
            .is_some_and(|api| api.settings.require_mfa_for_admins);
        ready(match principal {
            // `REQUIRE_MFA_FOR_ADMINS`: after the 403 a non-administrator gets.
            Some(principal)
                if can_administer(&principal.user)
                    && require_mfa
                    && !principal.amr.is_multi_factor() =>
            {
                Err(crate::mfa::mfa_required())
            }
            Some(principal) if can_administer(&principal.user) => Ok(Self(principal)),
            Some(_) => Err(ApiError::forbidden()),
            None => {
                log::error!("administration route without the auth middleware");
                Err(ApiError::from_fault(&Fault::internal(
                    "administration route without the auth middleware",
                )))
            }
        })
    }
}

/// 403 of an administration route (documentation only, for `responses(…)`).
#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "`forbidden`: the caller is not an administrator"
)]
pub struct NotAdmin(pub ErrorBody);

/// The `{id}` of the path as a UUID. A missing or malformed id names nothing: 404, like an
/// unknown one.
pub(crate) fn path_id(req: &HttpRequest, what: &str) -> Result<Uuid, ApiError> {
    req.match_info()
        .get("id")
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .ok_or_else(|| ApiError::no_such(what))
}

/// Administrators: every user, oldest first, a page at a time; with `q`, only those whose
/// email or username starts with it (case-insensitive).
#[utoipa::path(
    get, path = "/users", tag = "administration", operation_id = "list_users",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 4_294_967_295_u64, description = "Page size, 1 or more (default 20); above 100 counts as 100"),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 4_294_967_295_u64, description = "How many to skip (default 0); its cost grows with it, prefer `after`"),
        ("after" = Option<String>, Query, description = "The `next` cursor of the page before: the page starts after its last user, at the same cost at any depth (not with an `offset` above 0)"),
        ("q" = Option<String>, Query, max_length = 254, description = "Only users whose email or username starts with this prefix, compared case-insensitively (blank: all)"),
    ),
    responses(
        (status = 200, description = "`{\"items\", \"total\", \"total_exact\", \"limit\", \"offset\", \"next\"}`", body = UserPage),
        (status = 422, description = "`validation_failed`: limit or offset is not a whole number in range (a limit of 0 included), after is not a cursor of this listing or comes with an offset, q is too long or holds control characters", body = ErrorBody),
        UnauthenticatedBearer, NotAdmin, Unavailable,
    )
)]
pub async fn list_users(
    api: Api,
    req: HttpRequest,
    Admin(principal): Admin,
) -> Result<HttpResponse, ApiError> {
    let query = listing_query(req.query_string(), Listed::Users, true)?;
    let listing = api
        .admin
        .list_users(&principal.user, query.search, query.page)
        .await?;
    Ok(HttpResponse::Ok().json(PageOut::users(&listing)))
}

/// Administrators: one user.
#[utoipa::path(
    get, path = "/users/{id}", tag = "administration", operation_id = "get_user",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserOut),
        (status = 404, description = "`not_found`: no user has this id (or it is not a UUID)", body = ErrorBody),
        UnauthenticatedBearer, NotAdmin, Unavailable,
    )
)]
pub async fn get_user(
    api: Api,
    req: HttpRequest,
    Admin(principal): Admin,
) -> Result<HttpResponse, ApiError> {
    let id = UserId(path_id(&req, "user")?);
    let user = api.admin.get_user(&principal.user, id).await?;
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

/// Administrators: changes a user's `role`, `is_active`, `is_verified` or `is_staff`; other
/// keys are ignored. Deactivating a user ends all their sessions.
#[utoipa::path(
    patch, path = "/users/{id}", tag = "administration", operation_id = "update_user",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The user's id")),
    request_body = PrivilegeChangeBody,
    responses(
        (status = 200, description = "The user, updated", body = UserOut),
        (status = 400, description = "`malformed_body`: not JSON, or not sent as application/json", body = ErrorBody),
        (status = 404, description = "`not_found`: no user has this id (or it is not a UUID)", body = ErrorBody),
        (status = 409, description = "`last_admin`: the change would leave no active administrator", body = ErrorBody),
        (status = 422, description = "`validation_failed`, naming every invalid field (also when the body is not a JSON object)", body = ErrorBody),
        TooLarge, UnauthenticatedBearer, NotAdmin, Unavailable,
    )
)]
pub async fn update_user(
    api: Api,
    req: HttpRequest,
    Admin(principal): Admin,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
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

/// Administrators: deletes a user and their sessions; their audit trail stays.
#[utoipa::path(
    delete, path = "/users/{id}", tag = "administration", operation_id = "delete_user",
    security(("bearer" = [])),
    params(("id" = String, Path, format = "uuid", description = "The user's id")),
    responses(
        (status = 204, description = "The user is deleted"),
        (status = 404, description = "`not_found`: no user has this id (or it is not a UUID)", body = ErrorBody),
        (status = 409, description = "`last_admin`: the user is the last active administrator", body = ErrorBody),
        UnauthenticatedBearer, NotAdmin, Unavailable,
    )
)]
pub async fn delete_user(
    api: Api,
    req: HttpRequest,
    Admin(principal): Admin,
) -> Result<HttpResponse, ApiError> {
    let id = UserId(path_id(&req, "user")?);
    api.admin
        .delete_user(&principal.user, id, &client_info(&req))
        .await?;
    log::info!("user {id} deleted by administrator {}", principal.user.id);
    Ok(HttpResponse::NoContent().finish())
}

/// Administrators: the audit trail of a user, as subject or as actor, newest first. A
/// deleted user's trail stays readable; an id nobody ever had has an empty one.
#[utoipa::path(
    get, path = "/users/{id}/audit", tag = "administration", operation_id = "user_audit",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = "uuid", description = "The user's id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 4_294_967_295_u64, description = "Page size, 1 or more (default 20); above 100 counts as 100"),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 4_294_967_295_u64, description = "How many to skip (default 0); its cost grows with it, prefer `after`"),
        ("after" = Option<String>, Query, description = "The `next` cursor of the page before: the page starts after its last event, at the same cost at any depth (not with an `offset` above 0)"),
    ),
    responses(
        (status = 200, description = "`{\"items\", \"total\", \"total_exact\", \"limit\", \"offset\", \"next\"}`", body = AuditPage),
        (status = 404, description = "`not_found`: the id is not a UUID", body = ErrorBody),
        (status = 422, description = "`validation_failed`: limit or offset is not a whole number in range (a limit of 0 included), or after is not a cursor of this listing or comes with an offset", body = ErrorBody),
        UnauthenticatedBearer, NotAdmin, Unavailable,
    )
)]
pub async fn user_audit(
    api: Api,
    req: HttpRequest,
    Admin(principal): Admin,
) -> Result<HttpResponse, ApiError> {
    let id = UserId(path_id(&req, "user")?);
    let query = listing_query(req.query_string(), Listed::Audit, false)?;
    let listing = api
        .admin
        .audit_trail(&principal.user, id, query.page)
        .await?;
    Ok(HttpResponse::Ok().json(PageOut::audit(&listing)))
}
