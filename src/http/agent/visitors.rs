//! The agent-facing visitor endpoints: info, pages visited, chat history, search, and the
//! custom field definitions. None of them ever returns a visitor token.

use crate::config::CustomFieldDef;
use crate::credentials::Permission;
use crate::domain::{SearchQuery, SortField};
use crate::http::error::{fields, success, ApiError};
use crate::http::extract::{grant, Authorized, QueryParams};
use crate::http::query::{check_params, paginated, Paging};
use crate::http::{lookup, read, AppState};
use crate::model::limits;
use crate::model::wire::{self, Token};
use crate::model::{sort_by_fields, PageVisit, Room, Visitor};
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

/// `GET /api/v1/livechat/visitors.info?visitorId=` — the visitor, without its token.
pub async fn info(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
) -> Result<HttpResponse, ApiError> {
    check_params(&query, &["visitorId"], &[])?;
    let id = query.get("visitorId").cloned().unwrap_or_default();
    let visitor = lookup(&state, move |s| s.visitor_by_id(&id))
        .await?
        .ok_or_else(|| ApiError::Plain("visitor-not-found".into()))?;
    Ok(success(fields([(
        "visitor",
        wire::visitor(&visitor, Token::Hide),
    )])))
}

/// Whose navigation history a `visitors.pagesVisited` request asks for.
enum PagesOf {
    Room(String),
    Visitor(String),
}

/// `GET /api/v1/livechat/visitors.pagesVisited/{roomId}` — a room's navigation history.
pub async fn pages_visited_of_room(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let paging = paginated(&query, &[], &[], &["ts"], &state.config.api)?;
    pages_visited(&state, PagesOf::Room(path.into_inner()), paging).await
}

/// `GET /api/v1/livechat/visitors.pagesVisited?roomId=` (the form in Rocket.Chat's docs) or
/// `?visitorId=` (every entry of the visitor's token, with or without a room).
pub async fn pages_visited_by_query(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
) -> Result<HttpResponse, ApiError> {
    let target = match (query.get("roomId"), query.get("visitorId")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidParams(
                "must match exactly one schema in oneOf".into(),
            ))
        }
        (Some(rid), None) => PagesOf::Room(rid.clone()),
        (None, Some(vid)) => PagesOf::Visitor(vid.clone()),
        (None, None) => PagesOf::Room(String::new()),
    };
    let (required, optional): (&[&str], &[&str]) = match target {
        PagesOf::Room(_) => (&["roomId"], &[]),
        PagesOf::Visitor(_) => (&["visitorId"], &[]),
    };
    let paging = paginated(&query, required, optional, &["ts"], &state.config.api)?;
    pages_visited(&state, target, paging).await
}

async fn pages_visited(
    state: &AppState,
    target: PagesOf,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    let mut pages: Vec<PageVisit> = match target {
        PagesOf::Room(rid) => read(state, move |s| {
            Ok(match s.room_by_id(&rid)? {
                Some(_) => Some(s.page_visits_of_room(&rid)?),
                None => None,
            })
        })
        .await?
        .ok_or_else(|| ApiError::Plain("invalid-room".into()))?,
        PagesOf::Visitor(vid) => read(state, move |s| {
            Ok(match s.visitor_by_id(&vid)? {
                Some(v) => Some(s.page_visits_of_token(&v.token)?),
                None => None,
            })
        })
        .await?
        .ok_or_else(|| ApiError::Plain("visitor-not-found".into()))?,
    };
    // Newest first unless `{"ts":1}`; equal times in write order.
    let newest_first = [("ts".to_string(), false)];
    let sort = paging.sort_or(&newest_first);
    sort_by_fields(&mut pages, sort, |_, a, b| a.ts.cmp(&b.ts), |p| p.seq);
    Ok(paging.answer("pages", pages, |p| wire::page_visit(p, Token::Hide)))
}

/// `GET /api/v1/livechat/visitors.chatHistory/room/{roomId}/visitor/{visitorId}` — every
/// livechat room of the visitor; the room is only the access check, as in Rocket.Chat.
pub async fn chat_history(
    state: web::Data<AppState>,
    agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let paging = paginated(
        &query,
        &[],
        &[],
        &["ts", "lm", "closedAt"],
        &state.config.api,
    )?;
    let (rid, visitor_id) = path.into_inner();
    let (room, mut rooms) = read(&state, move |s| {
        Ok((s.room_by_id(&rid)?, s.rooms_of_visitor(&visitor_id)?))
    })
    .await?;
    if room.is_none() {
        return Err(ApiError::Plain("invalid-room".into()));
    }
    // visitord has no agent routing, so no room is served by the caller: access to a room
    // of another agent's needs `view-livechat-rooms`.
    if !agent.can(Permission::ViewLivechatRooms) {
        return Err(ApiError::Plain("error-not-allowed".into()));
    }
    sort_rooms(&mut rooms, &paging.sort);
    Ok(paging.answer("history", rooms, |r| wire::room(r, Token::Hide)))
}

/// Default newest first (`ts` -1); equal values keep write order.
fn sort_rooms(rooms: &mut [Room], sort: &[(String, bool)]) {
    let default = [("ts".to_string(), false)];
    let sort = if sort.is_empty() { &default[..] } else { sort };
    let compare = |field: &String, a: &Room, b: &Room| match field.as_str() {
        "lm" => a.lm.cmp(&b.lm),
        "closedAt" => a.closed_at.cmp(&b.closed_at),
        _ => a.ts.cmp(&b.ts),
    };
    sort_by_fields(rooms, sort, compare, |r| r.seq);
}

/// The fields of a `livechat/visitors.search` result: Rocket.Chat's projection, never the token.
const SEARCH_FIELDS: &[&str] = &[
    "_id",
    "username",
    "name",
    "phone",
    "visitorEmails",
    "livechatData",
    "lastChat",
];

/// What a `visitord.visitors.search` result carries besides [`SEARCH_FIELDS`]: when the visitor
/// was created and last changed (the console's "Created" column).
const CONSOLE_EXTRA_FIELDS: &[&str] = &["ts", "_updatedAt"];

/// A search result: [`SEARCH_FIELDS`] and then `extra`, never the token.
fn search_item(v: &Visitor, extra: &[&str]) -> Value {
    let full = wire::visitor(v, Token::Hide);
    let mut m = Map::new();
    for key in SEARCH_FIELDS.iter().chain(extra) {
        if let Some(value) = full.get(*key) {
            m.insert((*key).into(), value.clone());
        }
    }
    Value::Object(m)
}

/// `GET /api/v1/livechat/visitors.search?term=` — visitors matching `term` (empty: all).
pub async fn search(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
) -> Result<HttpResponse, ApiError> {
    search_page(&state, &query, &[]).await
}

/// `GET /api/v1/visitord.visitors.search?term=` — the same search, whose items also carry
/// `ts` and `_updatedAt` (visitord's own, for the console's visitor table).
pub async fn console_search(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
) -> Result<HttpResponse, ApiError> {
    search_page(&state, &query, CONSOLE_EXTRA_FIELDS).await
}

/// One page of a visitor search, each item with `extra` fields besides Rocket.Chat's.
async fn search_page(
    state: &AppState,
    query: &QueryParams,
    extra: &[&str],
) -> Result<HttpResponse, ApiError> {
    let paging = paginated(
        query,
        &["term"],
        &[],
        &["ts", "_updatedAt", "name", "username", "lastChat.ts"],
        &state.config.api,
    )?;
    let term = query.get("term").cloned().unwrap_or_default();
    if term.chars().count() > limits::TERM_CHARS {
        return Err(ApiError::too_long("term", limits::TERM_CHARS));
    }
    let sort = paging
        .sort
        .iter()
        .filter_map(|(f, asc)| SortField::from_name(f).map(|f| (f, *asc)))
        .collect();
    let q = SearchQuery {
        term,
        sort,
        offset: paging.offset,
        count: paging.count,
    };
    let _slot = state
        .search_slots
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(format!("search slots: {e}")))?;
    let started = std::time::Instant::now();
    let found = read(state, move |s| s.search_visitors(&q)).await?;
    state.metrics.search(started.elapsed());
    let items = found
        .visitors
        .iter()
        .map(|v| search_item(v, extra))
        .collect();
    Ok(success(paging.body("visitors", items, found.total)))
}

/// `GET /api/v1/livechat/custom-fields` — the configured custom field definitions.
pub async fn custom_fields(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ViewLRoom>,
    query: QueryParams,
) -> Result<HttpResponse, ApiError> {
    let paging = paginated(&query, &[], &[], &["_id", "label"], &state.config.api)?;
    let mut defs = state.config.livechat.custom_fields.clone();
    if !paging.sort.is_empty() {
        let compare = |field: &String, a: &CustomFieldDef, b: &CustomFieldDef| match field.as_str()
        {
            "label" => a.label.cmp(&b.label),
            _ => a.id.cmp(&b.id),
        };
        sort_by_fields(&mut defs, &paging.sort, compare, |d| d.id.clone());
    }
    Ok(paging.answer("customFields", defs, |d| {
            json!({
                "_id": d.id,
                "label": if d.label.is_empty() { &d.id } else { &d.label },
                "scope": match d.scope { crate::config::FieldScope::Visitor => "visitor", crate::config::FieldScope::Room => "room" },
                "visibility": "visible",
                "searchable": d.searchable,
                "required": d.required,
                "type": "input",
                "regexp": "",
                "defaultValue": "",
            })
        }))
}
