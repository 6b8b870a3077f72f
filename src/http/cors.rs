//! CORS for the Livechat widget, which calls the API from the customer's own site.
//!
//! Origins listed in `server.cors_origins` (`"*"`: any) get `Access-Control-Allow-Origin`; their
//! preflights are answered here. A preflight from another origin is refused with a JSON 403.
//! The agent endpoints ([`agent_path`]) follow `api.cors_origins` instead, empty by default: no
//! site can call them from a browser unless configured (the console is same-origin).

use super::error::{json_response, ApiError};
use super::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::ResponseError;
use serde_json::json;

const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";
const ALLOW_HEADERS: &str =
    "Origin, X-Requested-With, Content-Type, Accept, X-User-Id, X-Auth-Token";

/// The `Access-Control-Allow-Origin` value for `origin`, when it is allowed.
fn allow_origin(allowed: &[String], origin: &str) -> Option<HeaderValue> {
    if allowed.iter().any(|a| a == "*") {
        Some(HeaderValue::from_static("*"))
    } else if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        HeaderValue::from_str(origin).ok()
    } else {
        None
    }
}

/// Whether `path` is an agent endpoint's (login and everything that takes `X-User-Id` /
/// `X-Auth-Token`). Decided on the path because CORS runs before routing; a test checks it
/// against the route table's documented security.
pub fn agent_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return false;
    };
    if let Some(livechat) = rest.strip_prefix("livechat/") {
        return livechat.starts_with("visitors.")
            || livechat == "custom-fields"
            || livechat
                .strip_suffix("/messages")
                .is_some_and(|rid| !rid.is_empty() && !rid.contains('/'));
    }
    matches!(rest, "login" | "logout" | "me")
        || rest.starts_with("users.")
        || rest.starts_with("visitord.")
}

/// The middleware (`from_fn`).
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let allowed = req.app_data::<Data<AppState>>().and_then(|s| {
        let allowed = if agent_path(req.path()) {
            &s.config.api.cors_origins
        } else {
            &s.config.server.cors_origins
        };
        allow_origin(allowed, &origin)
    });
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let res = match &allowed {
            Some(value) => {
                let mut res = json_response(StatusCode::OK, &json!({ "success": true }));
                let h = res.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value.clone());
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(ALLOW_METHODS),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(ALLOW_HEADERS),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("86400"),
                );
                h.insert(header::VARY, HeaderValue::from_static("Origin"));
                res
            }
            None => ApiError::CorsRefused.error_response(),
        };
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    if let Some(value) = allowed {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let any = vec!["*".to_string()];
        assert_eq!(allow_origin(&any, "https://a.example").unwrap(), "*");
        let listed = vec!["https://shop.example".to_string()];
        assert_eq!(
            allow_origin(&listed, "https://shop.example").unwrap(),
            "https://shop.example"
        );
        assert!(allow_origin(&listed, "https://evil.example").is_none());
        assert!(allow_origin(&[], "https://a.example").is_none());
    }
}
