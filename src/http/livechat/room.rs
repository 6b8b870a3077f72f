//! The visitor's chat loop: open a room, send messages, close it.

use crate::domain::{MessageInput, RoomRequest};
use crate::http::body::JsonBody;
use crate::http::error::{fields, success, ApiError};
use crate::http::extract::{limit, PerIp};
use crate::http::param_errors::{flat_strings, missing, unknown};
use crate::http::{write, AppState};
use crate::model::limits;
use crate::model::wire::{self, Token};
use crate::model::RoomSource;
use crate::time::now_ms;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// `GET /api/v1/livechat/room?token=&rid=` — the visitor's open room, or a new one.
pub async fn room(
    _counted: PerIp<limit::Room>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::InvalidParams(format!("Invalid query string: {e}")))?;
    let (mut token, mut rid) = (None, None);
    for (key, value) in params {
        match key.as_str() {
            "token" => token = Some(value),
            "rid" => rid = Some(value).filter(|r| !r.is_empty()),
            "agentId" => {} // no agent routing in visitord
            _ => return Err(unknown(&key)),
        }
    }
    let token = token.ok_or_else(|| missing("token", ""))?;
    if let Some(rid) = &rid {
        if rid.chars().count() > limits::ID_CHARS {
            return Err(ApiError::too_long("rid", limits::ID_CHARS));
        }
    }
    let request = RoomRequest {
        token,
        rid,
        source: room_source(&req),
    };
    let now = now_ms();
    let (room, new) = write(&state, move |s| s.open_room(&request, now))
        .await
        .map_err(|e| match e {
            // Rocket.Chat's plain `invalid-room`: the rid is not an open room of this visitor.
            ApiError::Coded {
                code: "invalid-room",
                ..
            } => ApiError::Plain("invalid-room".into()),
            other => other,
        })?;
    Ok(success(fields([
        ("room", wire::room(&room, Token::Show)),
        ("newRoom", json!(new)),
    ])))
}

/// The `source` of a room opened by this request: the Livechat widget sends its cookies
/// `rc_is_widget=t` and `rc_room_type=l`; anything else is an API client.
fn room_source(req: &HttpRequest) -> RoomSource {
    let cookie_is = |name: &str, value: &str| req.cookie(name).is_some_and(|c| c.value() == value);
    if cookie_is("rc_is_widget", "t") && cookie_is("rc_room_type", "l") {
        RoomSource::Widget
    } else {
        RoomSource::Api
    }
}

/// `room.close` answers Rocket.Chat's plain errors (`invalid-token`, `invalid-room`,
/// `room-closed`) where other routes use the coded `[code]` form.
fn plain_refusal(e: ApiError) -> ApiError {
    match e {
        ApiError::Coded {
            code: code @ ("invalid-token" | "invalid-room" | "room-closed"),
            reason: None,
            ..
        } => ApiError::Plain(code.into()),
        other => other,
    }
}

/// `POST /api/v1/livechat/room.close` — the visitor closes its open room.
pub async fn close(
    _counted: PerIp<limit::RoomClose>,
    state: web::Data<AppState>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let ([rid, token], []) = flat_strings(&body.object()?, ["rid", "token"], [])?;
    let now = now_ms();
    let room = write(&state, move |s| s.close_room(&token, &rid, now))
        .await
        .map_err(plain_refusal)?;
    Ok(success(fields([
        ("rid", json!(room.id)),
        ("comment", json!("Closed by visitor")),
    ])))
}

/// `POST /api/v1/livechat/message` — a visitor's message in its open room.
pub async fn message(
    _counted: PerIp<limit::Message>,
    state: web::Data<AppState>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let ([token, rid, text], [id]) =
        flat_strings(&body.object()?, ["token", "rid", "msg"], ["_id"])?;
    let id = id.filter(|id| !id.is_empty());
    if text.chars().count() > limits::MESSAGE_CHARS {
        return Err(ApiError::too_long("msg", limits::MESSAGE_CHARS));
    }
    if id
        .as_ref()
        .is_some_and(|id| id.chars().count() > limits::ID_CHARS)
    {
        return Err(ApiError::too_long("_id", limits::ID_CHARS));
    }
    let message = MessageInput {
        token,
        rid,
        text,
        id,
    };
    let now = now_ms();
    let msg = write(&state, move |s| s.add_message(&message, now)).await?;
    Ok(success(fields([("message", wire::message(&msg))])))
}
