//! Navigation history from the visitor's browser.

use crate::domain::PageVisitInput;
use crate::http::body::JsonBody;
use crate::http::error::{fields, success, ApiError};
use crate::http::param_errors::{ajv_object, ajv_string, ajv_type};
use crate::http::ratelimit::Route;
use crate::http::{write, AppState};
use crate::model::limits;
use crate::time::{days, now_ms};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

/// `POST /api/v1/livechat/page.visited` — record a page the visitor saw.
pub async fn page_visited(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let body = Value::Object(body.object()?);
    let (input, page_info) = parse(&body)?;
    state.limiter.check(Route::PageVisited, &input.token)?;
    // Tokens are the caller's choice: the client's address is limited too.
    let ip = state.limiter.client_ip(&req);
    state.limiter.check(Route::PageVisitedIp, &ip)?;
    if input.change != state.config.livechat.history_monitor_type {
        return Ok(success(Map::new()));
    }
    let ttl = match state.config.history.roomless_ttl_days {
        0 => None,
        n => Some(days(n)),
    };
    let now = now_ms();
    let stored = input.clone();
    let visit = write(&state, move |s| s.record_page_visit(&stored, now, ttl)).await?;
    Ok(success(fields([(
        "page",
        json!({
            "msg": visit.msg(),
            "navigation": { "page": page_info, "token": visit.token },
        }),
    )])))
}

/// The schema `isPOSTLivechatPageVisitedParams` (no other keys anywhere) in AJV's order, plus
/// our length limits. Returns the input and `pageInfo` as sent.
fn parse(body: &Value) -> Result<(PageVisitInput, Value), ApiError> {
    let top = ajv_object(body, &["token", "pageInfo"], &["token", "rid", "pageInfo"])?;
    let token = match &top["token"] {
        Value::String(t) if t.len() > limits::TOKEN_BYTES => {
            return Err(ApiError::too_long("token", limits::TOKEN_BYTES))
        }
        Value::String(t) => t.clone(),
        _ => return Err(ajv_type("string")),
    };
    let rid = match top.get("rid") {
        None | Some(Value::Null) => None,
        Some(v) => Some(ajv_string(v, "rid", limits::ID_CHARS)?.to_string()),
    };
    let page_info = &top["pageInfo"];
    let info = ajv_object(
        page_info,
        &["title", "change", "location"],
        &["title", "change", "location"],
    )?;
    let title = ajv_string(&info["title"], "title", limits::TITLE_CHARS)?;
    let change = ajv_string(&info["change"], "change", limits::CHANGE_CHARS)?;
    let location = ajv_object(&info["location"], &["href"], &["href"])?;
    let href = ajv_string(&location["href"], "href", limits::HREF_CHARS)?;
    Ok((
        PageVisitInput {
            token,
            rid,
            title: title.to_string(),
            change: change.to_string(),
            href: href.to_string(),
        },
        page_info.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(v: Value) -> String {
        match parse(&v) {
            Err(e) => e.to_string(),
            Ok(_) => "ok".into(),
        }
    }

    #[test]
    fn schema_errors_in_ajv_order() {
        assert!(err(json!({})).contains("must have required property 'token' [invalid-params]"));
        assert!(err(json!({"token": "t", "rid": {}}))
            .contains("must have required property 'pageInfo'"));
        assert!(err(json!({"token": "t", "rid": {}, "pageInfo": {"title": "a", "change": "url", "location": {"href": "h"}}}))
            .contains("must be string"));
        assert!(err(json!({"token": "t", "pageInfo": {}}))
            .contains("must have required property 'title'"));
        assert!(err(json!({"token": "t", "x": 1, "pageInfo": {}}))
            .contains("must NOT have additional properties"));
        assert!(err(json!({"token": "t", "pageInfo": {"title": "a", "change": "url", "location": {"href": 1}}}))
            .contains("must be string"));
        assert_eq!(
            err(
                json!({"token": "t", "rid": null, "pageInfo": {"title": "a", "change": "url", "location": {"href": "h"}}})
            ),
            "ok"
        );
    }
}
