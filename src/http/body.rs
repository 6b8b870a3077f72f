//! `JsonBody`: reads a request body up to the configured limit and parses it as a JSON object.
//!
//! The limit is checked first (from `Content-Length` before reading anything, then while
//! reading), so an oversize body is a 413 whatever else is wrong with it.
//!
//! The whole body must arrive within `server.request_timeout_ms` of the headers (actix's own
//! timeout covers only the headers): a stalled or trickling body gets 408
//! `{"success":false,"error":"Request timeout [error-request-timeout]","errorType":"error-request-timeout"}`
//! and the connection is closed.
//!
//! Apart from that timeout, extraction never fails: actix resolves a handler's extractors
//! concurrently, so a body fault must not race the credential check of agent endpoints (401,
//! then 403, then 400). Handlers call [`JsonBody::object`] at the point where body faults are due.

use super::error::ApiError;
use super::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{BytesMut, Data};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::time::Duration;

/// A request body that should be a JSON object (in document order), or why it is not.
pub struct JsonBody(Result<Map<String, Value>, ApiError>);

impl JsonBody {
    /// The object, or the 413/400 its body deserves.
    pub fn object(self) -> Result<Map<String, Value>, ApiError> {
        self.0
    }
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<JsonBody, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (limit, timeout_ms) = req
            .app_data::<Data<AppState>>()
            .map(|s| {
                let server = &s.config.server;
                (server.body_limit_bytes, server.request_timeout_ms)
            })
            .unwrap_or((1_048_576, 5_000));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let too_large = declared.is_some_and(|len| len > limit as u64);
        let mut payload = payload.take();
        Box::pin(async move {
            if too_large {
                return Ok(JsonBody(Err(ApiError::PayloadTooLarge)));
            }
            let budget = Duration::from_millis(timeout_ms);
            match tokio::time::timeout(budget, read_body(&mut payload, limit)).await {
                Ok(body) => Ok(JsonBody(body.and_then(|buf| parse_object(&buf)))),
                Err(_elapsed) => Err(ApiError::RequestTimeout),
            }
        })
    }
}

/// The whole body, or 413 past `limit` bytes, or 400 when the stream breaks.
async fn read_body(payload: &mut Payload, limit: usize) -> Result<BytesMut, ApiError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(actix_web::error::PayloadError::Overflow) => return Err(ApiError::PayloadTooLarge),
            Err(other) => {
                return Err(ApiError::InvalidParams(format!(
                    "Cannot read the request body: {other}"
                )))
            }
        };
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Parses `bytes` as a JSON object, with a message that says what is wrong.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidParams("Request body is empty".into()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::InvalidParams(
            "Request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::InvalidParams(format!(
            "Invalid JSON in request body: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_say_what_is_wrong() {
        let msg = |b: &[u8]| match parse_object(b) {
            Err(ApiError::InvalidParams(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(msg(b""), "Request body is empty");
        assert_eq!(msg(b"[1]"), "Request body must be a JSON object");
        assert!(msg(b"{\"a\":").starts_with("Invalid JSON in request body: "));
        assert!(msg(b"{\"a\":\"\xff\"}").starts_with("Invalid JSON"));
        let deep = "[".repeat(100_000);
        assert!(msg(deep.as_bytes()).contains("recursion limit"));
        assert!(parse_object(b"{\"a\":1}").is_ok());
    }
}
