//! Operations: liveness and readiness probes, metrics, and the JSON answer to an unknown
//! path.

mod metrics;
mod observe;

use actix_web::ResponseError;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::Api;

pub use metrics::*;
pub use observe::*;

/// `{"status": …}`.
#[derive(Serialize, ToSchema)]
pub struct StatusOut {
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/health", tag = "operations", operation_id = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = StatusOut))
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/ready", tag = "operations", operation_id = "ready",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = StatusOut),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the database does not answer", body = ErrorBody),
    )
)]
pub async fn ready(api: Api) -> Result<HttpResponse, ApiError> {
    api.readiness.check().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

pub async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}

/// Registers the probes and the metrics route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/health").get(health))
        .service(web::resource("/ready").get(ready))
        .service(web::resource("/metrics").get(metrics::metrics));
}

/// The OpenAPI part of these routes, merged into [`crate::openapi::ApiDoc`].
#[derive(OpenApi)]
#[openapi(paths(health, ready, metrics::metrics), components(schemas(StatusOut)))]
pub struct OpsDoc;
