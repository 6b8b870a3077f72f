//! `ApiError`: the one place where HTTP statuses are chosen and Rocket.Chat's error envelope is built.

use crate::store::{Refusal, StoreError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Map, Value};
use std::fmt;

/// Every way a request can fail.
#[derive(Debug)]
pub enum ApiError {
    /// 400 `"<reason> [<code>]"` (or `"[<code>]"`) with `errorType: code` and optional `details`.
    Coded {
        code: &'static str,
        reason: Option<String>,
        details: Option<Value>,
    },
    /// 400 with a plain message and no `errorType` (`"visitor-not-found"`, Meteor `check` errors).
    Plain(String),
    /// 400 `"<message> [invalid-params]"`, `errorType: "invalid-params"`.
    InvalidParams(String),
    /// 401: no or bad credentials.
    Unauthorized,
    /// A login that failed (wrong user or password): Rocket.Chat's login route answers with
    /// its own 401 body, `{"status":"error","error":"Unauthorized","message":"Unauthorized"}`.
    LoginFailed,
    /// 403: logged in without the permission.
    Forbidden,
    /// 404: no such endpoint.
    NotFound,
    /// 405: the path exists with other methods.
    MethodNotAllowed { allow: String },
    /// 413: body over the configured limit.
    PayloadTooLarge,
    /// 408: the body did not arrive within `server.request_timeout_ms`; the connection is closed.
    RequestTimeout,
    /// 429: rate limited.
    TooManyRequests {
        limit: u32,
        wait_secs: i64,
        reset_ms: i64,
    },
    /// 500: a server fault; the detail is logged, never sent.
    Internal(String),
    /// 503: the store does not answer.
    Unavailable,
    /// 403: a CORS preflight from an origin not in `server.cors_origins`.
    CorsRefused,
}

impl ApiError {
    /// `[code]` with no reason.
    pub fn code(code: &'static str) -> ApiError {
        ApiError::Coded {
            code,
            reason: None,
            details: None,
        }
    }

    /// `reason [code]`.
    pub fn reason(code: &'static str, reason: impl Into<String>) -> ApiError {
        ApiError::Coded {
            code,
            reason: Some(reason.into()),
            details: None,
        }
    }

    /// A Meteor `check()` failure: `Match error: <detail>`.
    pub fn matching(detail: impl fmt::Display) -> ApiError {
        ApiError::Plain(format!("Match error: {detail}"))
    }

    /// `<field> is too long (max <n>) [invalid-params]`.
    pub fn too_long(field: &str, max: usize) -> ApiError {
        ApiError::InvalidParams(format!("{field} is too long (max {max})"))
    }

    fn body(&self) -> Value {
        if let ApiError::LoginFailed = self {
            return json!({ "status": "error", "error": "Unauthorized", "message": "Unauthorized" });
        }
        let mut m = Map::new();
        m.insert("success".into(), json!(false));
        match self {
            ApiError::Coded {
                code,
                reason,
                details,
            } => {
                insert_coded(&mut m, reason.as_deref(), code);
                if let Some(details) = details {
                    m.insert("details".into(), details.clone());
                }
            }
            ApiError::Plain(message) => {
                m.insert("error".into(), json!(message));
            }
            ApiError::InvalidParams(message) => {
                insert_coded(&mut m, Some(message), "invalid-params")
            }
            // Answered above.
            ApiError::LoginFailed => {}
            ApiError::Unauthorized => {
                let text = "You must be logged in to do this.";
                m.insert("error".into(), json!(text));
                m.insert("status".into(), json!("error"));
                m.insert("message".into(), json!(text));
            }
            ApiError::Forbidden => {
                m.insert(
                    "error".into(),
                    json!("User does not have the permissions required for this action [error-unauthorized]"),
                );
            }
            ApiError::NotFound | ApiError::MethodNotAllowed { .. } => {
                m.insert("error".into(), json!("API endpoint does not exist"));
            }
            ApiError::PayloadTooLarge => {
                insert_coded(&mut m, Some("Payload too large"), "error-payload-too-large")
            }
            ApiError::RequestTimeout => {
                insert_coded(&mut m, Some("Request timeout"), "error-request-timeout")
            }
            ApiError::TooManyRequests { wait_secs, .. } => {
                m.insert("error".into(), json!(format!(
                    "Error, too many requests. Please slow down. You must wait {wait_secs} seconds before trying this endpoint again. [error-too-many-requests]"
                )));
            }
            ApiError::Internal(_) => {
                m.insert("error".into(), json!("Internal server error"));
            }
            ApiError::Unavailable => {
                m.insert("error".into(), json!("Service unavailable"));
            }
            ApiError::CorsRefused => insert_coded(
                &mut m,
                Some("Cross-origin requests from this origin are not allowed"),
                "error-cors-origin",
            ),
        }
        Value::Object(m)
    }
}

/// Rocket.Chat's coded error: `error: "<reason> [<code>]"` (or `"[<code>]"`), `errorType: <code>`.
fn insert_coded(m: &mut Map<String, Value>, reason: Option<&str>, code: &str) {
    let error = match reason {
        Some(reason) => format!("{reason} [{code}]"),
        None => format!("[{code}]"),
    };
    m.insert("error".into(), json!(error));
    m.insert("errorType".into(), json!(code));
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Internal(detail) => write!(f, "internal error: {detail}"),
            other => write!(f, "{}", other.body()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Coded { .. } | ApiError::Plain(_) | ApiError::InvalidParams(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized | ApiError::LoginFailed => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::CorsRefused => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            log::error!("request failed: {detail}");
        }
        let mut res = json_response(self.status_code(), &self.body());
        let headers = res.headers_mut();
        match self {
            ApiError::MethodNotAllowed { allow } => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, v);
                }
            }
            ApiError::TooManyRequests {
                limit, reset_ms, ..
            } => {
                headers.insert(
                    header::HeaderName::from_static("x-ratelimit-limit"),
                    HeaderValue::from(*limit),
                );
                headers.insert(
                    header::HeaderName::from_static("x-ratelimit-remaining"),
                    HeaderValue::from(0u32),
                );
                headers.insert(
                    header::HeaderName::from_static("x-ratelimit-reset"),
                    HeaderValue::from(*reset_ms),
                );
            }
            // The rest of the body may still trickle in: the connection is not reused.
            ApiError::RequestTimeout => {
                res.head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
            }
            _ => {}
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(r) => match r {
                Refusal::InvalidToken => ApiError::code("invalid-token"),
                Refusal::RoomClosed => ApiError::code("room-closed"),
                Refusal::InvalidRoom => ApiError::code("invalid-room"),
                Refusal::VisitorHasOpenRooms => ApiError::reason(
                    "visitor-has-open-rooms",
                    "Cannot remove visitors with opened rooms",
                ),
                Refusal::MessageIdTaken => ApiError::reason(
                    "error-message-already-exists",
                    "A message with this id already exists",
                ),
                // The username is not known here; handlers that can refuse a taken username
                // build the full Rocket.Chat message themselves.
                Refusal::UsernameTaken => {
                    ApiError::reason("error-field-unavailable", "Username is already in use :(")
                }
                Refusal::UnknownUser => ApiError::reason("error-invalid-user", "Invalid user"),
                Refusal::TooManyCustomFields => ApiError::InvalidParams(format!(
                    "too many custom fields (max {})",
                    crate::model::limits::CUSTOM_FIELDS
                )),
                Refusal::LastAdmin => ApiError::reason(
                    "error-action-not-allowed",
                    "Leaving the app without admins is not allowed",
                ),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// A JSON response: `Content-Type: application/json` exactly (no charset).
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{\"success\":false}".to_vec());
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(bytes)
}

/// 200 with `fields` and `"success": true` as the last key.
pub fn success(fields: Map<String, Value>) -> HttpResponse {
    let mut fields = fields;
    fields.insert("success".into(), json!(true));
    json_response(StatusCode::OK, &Value::Object(fields))
}

/// Builds the field map of a success body: `fields![("visitor", v)]`.
pub fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_and_plain_bodies() {
        assert_eq!(
            ApiError::code("invalid-token").body().to_string(),
            r#"{"success":false,"error":"[invalid-token]","errorType":"invalid-token"}"#
        );
        assert_eq!(
            ApiError::Plain("visitor-not-found".into())
                .body()
                .to_string(),
            r#"{"success":false,"error":"visitor-not-found"}"#
        );
        assert_eq!(
            ApiError::RequestTimeout.body().to_string(),
            r#"{"success":false,"error":"Request timeout [error-request-timeout]","errorType":"error-request-timeout"}"#
        );
        assert_eq!(
            ApiError::Unauthorized.body().to_string(),
            r#"{"success":false,"error":"You must be logged in to do this.","status":"error","message":"You must be logged in to do this."}"#
        );
    }
}
