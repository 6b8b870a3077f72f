//! `GET /metrics` and the middleware that measures every request, logs it (the access log) and
//! gives it a request id.

use super::error::ApiError;
use super::{logged_path, lookup, AppState};
use crate::metrics;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};
use std::time::Instant;
use subtle::ConstantTimeEq;

/// The log target of access-log lines (`RUST_LOG=visitord::access=off` silences them).
pub const ACCESS_LOG: &str = "visitord::access";

/// The response header that carries the request id (also logged as `request_id`).
pub const REQUEST_ID: &str = "x-request-id";

/// `GET /metrics` — every metric in the Prometheus text format 0.0.4. With
/// `metrics.bearer_token` set, only for `Authorization: Bearer <token>` (else a JSON 401).
pub async fn scrape(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !state.config.metrics.enabled {
        return Err(ApiError::NotFound);
    }
    let wanted = &state.config.metrics.bearer_token;
    if !wanted.is_empty() && !bearer_matches(&req, wanted) {
        let mut refused = ApiError::Unauthorized.error_response();
        refused
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(refused);
    }
    // The store's own counter: one key read, no tree walk.
    let visitors = lookup(&state, |s| s.visitor_count()).await?;
    state.metrics.set_visitors(visitors);
    let text = state
        .metrics
        .encode()
        .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, metrics::CONTENT_TYPE))
        .body(text))
}

/// Whether the request carries `Authorization: Bearer <wanted>`. Compared in constant time (of
/// SHA-256 digests, so not even the token's length shows in the timing).
fn bearer_matches(req: &HttpRequest, wanted: &str) -> bool {
    let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, given)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let given = Sha256::digest(given.trim().as_bytes());
    let wanted = Sha256::digest(wanted.as_bytes());
    given.ct_eq(&wanted).into()
}

/// The request's id: a well-formed `X-Request-Id` sent by a proxy (1 to 64 characters of
/// `A-Z a-z 0-9 . _ -`), else 16 random hex digits.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", fastrand::u64(..)))
}

/// The middleware (`from_fn`, outermost): counts the request in flight, answers it, sets
/// `X-Request-Id`, records it by route template, method and status, and writes the access log
/// line (client, method, route template, status, bytes, milliseconds; never a token).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let in_flight = metrics.as_ref().map(|m| m.start_request());
    let id = request_id(&req);
    // (The request must not be cloned before routing: the router writes its path parameters.)
    let method = req.method().clone();
    let mut res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            // Inner services answer with responses, errors included; an `Err` is only counted
            // and passed on (actix turns it into its response).
            let status = e.as_response_error().status_code().as_u16();
            drop(in_flight);
            if let Some(m) = &metrics {
                m.request(None, method.as_str(), status, started.elapsed());
            }
            log::info!(target: ACCESS_LOG, request_id = id.as_str(); "- \"{method} -\" {status} - -");
            return Err(e);
        }
    };
    let took = started.elapsed();
    drop(in_flight);
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    let status = res.status().as_u16();
    let request = res.request();
    if let Some(m) = &metrics {
        m.request(
            request.match_pattern(),
            request.method().as_str(),
            status,
            took,
        );
    }
    if log::log_enabled!(target: ACCESS_LOG, log::Level::Info) {
        let client = request
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "-".into());
        let bytes = match res.response().body().size() {
            BodySize::Sized(n) => n.to_string(),
            _ => "-".into(),
        };
        log::info!(
            target: ACCESS_LOG,
            request_id = id.as_str();
            "{client} \"{} {}\" {status} {bytes} {:.3}ms",
            request.method(),
            logged_path(request),
            took.as_secs_f64() * 1000.0
        );
    }
    Ok(res)
}
