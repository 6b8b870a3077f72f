//! Server information and health.

use super::error::{fields, success, ApiError};
use super::{read, AppState};
use actix_web::{web, HttpResponse};
use serde_json::json;

/// `GET /api/info` — the server version.
pub async fn info() -> HttpResponse {
    success(fields([("version", json!(env!("CARGO_PKG_VERSION")))]))
}

/// `GET /health` — 200 when the store answers reads, 503 otherwise.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let healthy = read(&state, |s| Ok(s.healthy())).await.unwrap_or(false);
    if healthy {
        Ok(success(fields([("status", json!("ok"))])))
    } else {
        Err(ApiError::Unavailable)
    }
}

/// `GET /health/live` — liveness: 200 `{"status":"live","success":true}` whenever the process
/// serves HTTP, without asking the store (`/health` is readiness: the store answers).
pub async fn live() -> HttpResponse {
    success(fields([("status", json!("live"))]))
}
