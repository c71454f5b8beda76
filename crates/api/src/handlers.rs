//! The route handlers: each converts the request into domain values, calls one use case,
//! and shapes its answer.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use auth_domain::session::ClientInfo;
use auth_domain::user::AccountKind;
use auth_domain::Principal;
use serde_json::{json, Map, Value};

use crate::client_addr::client_address;
use crate::dto::{refresh_token_from, token_body, LoginBody, RegisterBody, UserOut};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::AuthApi;

type Api = web::Data<AuthApi>;

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 512;

/// Token responses must not be cached (RFC 6749 §5.1).
fn token_response(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

fn trusted_proxies(req: &HttpRequest) -> &[ipnet::IpNet] {
    req.app_data::<Api>()
        .map_or(&[], |api| api.settings.trusted_proxies.as_slice())
}

fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT).collect()),
        address: client_address(req, trusted_proxies(req)).map(|ip| ip.to_string()),
    }
}

pub async fn register(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let registration = body.validate()?;
    let user = api
        .service
        .register_from(
            registration.email,
            &registration.password,
            registration.profile,
            AccountKind::Regular,
            &client_info(&req),
        )
        .await?;
    log::info!("user registered: {}", user.id);
    Ok(HttpResponse::Created().json(UserOut::from(&user)))
}

pub async fn login(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let (email, password) = body.validate()?;
    let outcome = api
        .service
        .login(&email, &password, client_info(&req))
        .await
        .inspect_err(|error| log::info!("login refused: {error}"))?;
    log::info!(
        "login: user {} session {}",
        outcome.user_id,
        outcome.session_id
    );
    let settings = &api.settings;
    Ok(token_response(token_body(
        &outcome.tokens,
        &settings.access_token_name,
        &settings.refresh_token_name,
    )))
}

pub async fn refresh(
    api: Api,
    req: HttpRequest,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let settings = &api.settings;
    let token = refresh_token_from(&body, &settings.refresh_token_name)?;
    let tokens = api.service.refresh_from(&token, &client_info(&req)).await?;
    Ok(token_response(token_body(
        &tokens,
        &settings.access_token_name,
        &settings.refresh_token_name,
    )))
}

pub async fn home(principal: web::ReqData<Principal>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": format!("hello {}", principal.user.email) }))
}

pub async fn me(principal: web::ReqData<Principal>) -> HttpResponse {
    HttpResponse::Ok().json(UserOut::from(&principal.user))
}

pub async fn logout(
    api: Api,
    req: HttpRequest,
    principal: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    api.service
        .logout_from(&principal, &client_info(&req))
        .await?;
    log::info!("logout: session {}", principal.session_id);
    Ok(HttpResponse::NoContent().finish())
}

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn ready(api: Api) -> Result<HttpResponse, ApiError> {
    api.readiness.check().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

pub async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}

pub mod lifecycle;
