//! `GET /api/v1/livechat/{rid}/messages`: a livechat room's messages for agents, with
//! Rocket.Chat's path and answer (`{messages, count, offset, total}`).

use crate::credentials::Permission;
use crate::http::error::ApiError;
use crate::http::extract::{grant, Authorized, QueryParams};
use crate::http::query::paginated;
use crate::http::{read, AppState};
use crate::model::{sort_by_fields, wire};
use actix_web::{web, HttpResponse};

/// `GET /api/v1/livechat/{rid}/messages` — the room's messages, oldest first by default
/// (`sort={"ts":-1}`: newest first). Navigation-history entries are not messages here.
pub async fn messages(
    state: web::Data<AppState>,
    agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
    rid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let paging = paginated(&query, &[], &[], &["ts"], &state.config.api)?;
    let rid = rid.into_inner();
    let (room, mut messages) = read(&state, move |s| {
        let room = s.room_by_id(&rid)?;
        let messages = match room {
            Some(_) => s.messages_of_room(&rid)?,
            None => Vec::new(),
        };
        Ok((room, messages))
    })
    .await?;
    if room.is_none() {
        return Err(ApiError::Plain("invalid-room".into()));
    }
    // As for chatHistory: visitord routes no chats, so no room is the caller's own.
    if !agent.can(Permission::ViewLivechatRooms) {
        return Err(ApiError::Plain("error-not-allowed".into()));
    }
    // Oldest first unless `{"ts":-1}`; equal times in write order.
    let oldest_first = [("ts".to_string(), true)];
    let sort = paging.sort_or(&oldest_first);
    sort_by_fields(&mut messages, sort, |_, a, b| a.ts.cmp(&b.ts), |m| m.seq);
    Ok(paging.answer("messages", messages, wire::message))
}
