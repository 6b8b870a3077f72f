//! Helpers shared by the API tests: paths, request shortcuts, and assertions on the
//! envelope (§1.1), generated values (§1.2) and documents (§3).

use crate::common::{Resp, TestApp};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

pub const VISITOR: &str = "/api/v1/livechat/visitor";
pub const PAGE_VISITED: &str = "/api/v1/livechat/page.visited";
pub const ROOM: &str = "/api/v1/livechat/room";
pub const ROOM_CLOSE: &str = "/api/v1/livechat/room.close";
pub const MESSAGE: &str = "/api/v1/livechat/message";

/// Meteor's id alphabet (§1.2).
pub const ID_ALPHABET: &str = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

/// `/api/v1/livechat/visitor/<token>` (tokens used by the tests need no escaping).
pub fn visitor_path(token: &str) -> String {
    format!("{VISITOR}/{token}")
}

/// `/api/v1/livechat/room?token=<token>`.
pub fn room_path(token: &str) -> String {
    format!("{ROOM}?token={token}")
}

// ---------------------------------------------------------------------------------------------
// Envelope assertions
// ---------------------------------------------------------------------------------------------

/// §1.1: every response is `application/json` (no charset) and `no-store`.
pub fn assert_json_headers(resp: &Resp) {
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/json"),
        "Content-Type of a {} response with body {}",
        resp.status,
        resp.text()
    );
    assert_eq!(
        resp.header("cache-control").as_deref(),
        Some("no-store"),
        "Cache-Control of a {} response with body {}",
        resp.status,
        resp.text()
    );
}

/// A failure: exact status, envelope headers, and the exact body, both as JSON and as the raw
/// bytes (the spec gives the key order `success, error, errorType, details`).
pub fn assert_failure(resp: &Resp, status: u16, expected: &Value) {
    assert_eq!(resp.status, status, "status; body: {}", resp.text());
    assert_json_headers(resp);
    assert_eq!(&resp.json(), expected, "body");
    assert_eq!(resp.text(), expected.to_string(), "raw body (key order)");
}

/// A 400 failure with exactly this body.
pub fn assert_bad_request(resp: &Resp, expected: &Value) {
    assert_failure(resp, 400, expected);
}

/// A 400 from a body the parser could not use (§1.1): `errorType:"invalid-params"` and a
/// non-empty `error` message, nothing else.
pub fn assert_unparsable_body(resp: &Resp) {
    assert_eq!(resp.status, 400, "status; body: {}", resp.text());
    assert_json_headers(resp);
    let body = resp.json();
    let obj = body.as_object().expect("object body");
    assert_eq!(obj.get("success"), Some(&json!(false)), "body: {body}");
    assert_eq!(
        obj.get("errorType"),
        Some(&json!("invalid-params")),
        "body: {body}"
    );
    let error = obj.get("error").and_then(Value::as_str).unwrap_or("");
    assert!(
        !error.trim().is_empty(),
        "error message must say what was wrong: {body}"
    );
    assert_eq!(
        sorted_keys(&body),
        ["error", "errorType", "success"],
        "body: {body}"
    );
    assert!(
        resp.text().starts_with("{\"success\":false,"),
        "raw body: {}",
        resp.text()
    );
}

/// `{"success":false,"error":<msg>}` (plain error, Match errors).
pub fn plain_error(msg: &str) -> Value {
    json!({"success": false, "error": msg})
}

/// `{"success":false,"error":<msg>,"errorType":<code>}` (coded error).
pub fn coded_error(msg: &str, code: &str) -> Value {
    json!({"success": false, "error": msg, "errorType": code})
}

/// `Match error: <detail>` (Meteor `check`, plain error).
pub fn match_error(detail: &str) -> Value {
    plain_error(&format!("Match error: {detail}"))
}

/// `<msg> [invalid-params]` with `errorType:"invalid-params"`.
pub fn invalid_params(msg: &str) -> Value {
    coded_error(&format!("{msg} [invalid-params]"), "invalid-params")
}

/// `<field> is too long (max <n>) [invalid-params]`.
pub fn too_long(field: &str, max: usize) -> Value {
    invalid_params(&format!("{field} is too long (max {max})"))
}

/// `{"success":false,"error":"[invalid-token]","errorType":"invalid-token"}` (§2.1).
pub fn invalid_token() -> Value {
    coded_error("[invalid-token]", "invalid-token")
}

/// A 200 success: envelope headers, `"success":true` as the last key. Returns the body
/// without `success`.
pub fn assert_success(resp: &Resp) -> Value {
    assert_eq!(resp.status, 200, "status; body: {}", resp.text());
    assert_json_headers(resp);
    let text = resp.text();
    assert!(
        text.ends_with("\"success\":true}"),
        "`success` must be the last key: {text}"
    );
    let mut body = resp.json();
    let success = body
        .as_object_mut()
        .unwrap_or_else(|| panic!("object body: {text}"))
        .remove("success");
    assert_eq!(success, Some(json!(true)), "body: {text}");
    body
}

/// A bare success: exactly `{"success":true}`.
pub fn assert_bare_success(resp: &Resp) {
    assert_eq!(resp.status, 200, "status; body: {}", resp.text());
    assert_json_headers(resp);
    assert_eq!(resp.text(), "{\"success\":true}");
}

// ---------------------------------------------------------------------------------------------
// Values and documents
// ---------------------------------------------------------------------------------------------

/// §1.2: a generated id is 17 characters of Meteor's alphabet.
pub fn assert_id(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("id must be a string: {v}"));
    assert_eq!(s.chars().count(), 17, "id length: {s:?}");
    assert!(
        s.chars().all(|c| ID_ALPHABET.contains(c)),
        "id outside Meteor's alphabet: {s:?}"
    );
}

/// §1.2: `YYYY-MM-DDTHH:MM:SS.mmmZ`, and a real date.
pub fn assert_date(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("date must be a string: {v}"));
    let b = s.as_bytes();
    let shape_ok = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(shape_ok, "date not in YYYY-MM-DDTHH:MM:SS.mmmZ form: {s:?}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "not a real date: {s:?}"
    );
}

/// A copy of the object `v` without `keys`.
pub fn without(v: &Value, keys: &[&str]) -> Value {
    let mut out = v.clone();
    let obj = out
        .as_object_mut()
        .unwrap_or_else(|| panic!("expected an object: {v}"));
    for k in keys {
        obj.remove(*k);
    }
    out
}

/// The object's keys, sorted.
pub fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("expected an object: {v}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Checks the generated parts of a visitor (`_id`, `ts`, `_updatedAt`, `status:"online"`) and
/// returns the rest: the caller compares it whole.
pub fn visitor_rest(v: &Value) -> Value {
    assert_id(&v["_id"]);
    assert_date(&v["ts"]);
    assert_date(&v["_updatedAt"]);
    assert_eq!(v["status"], json!("online"), "visitor: {v}");
    without(v, &["_id", "ts", "_updatedAt", "status"])
}

/// An app that merges registrations by phone and email as Rocket.Chat does
/// (`livechat.merge_by = ["phone", "email"]`).
pub fn merging_app() -> TestApp {
    TestApp::with_config(|c| {
        c.livechat.merge_by = vec![
            visitord::config::MergeBy::Phone,
            visitord::config::MergeBy::Email,
        ]
    })
}

/// Checks an open livechat room of `visitor` (§3.2): allowed keys, `t`, `open`, `v`, `fname`,
/// counters and dates.
pub fn assert_open_room(room: &Value, visitor: &Value) {
    let allowed = [
        "_id",
        "t",
        "fname",
        "msgs",
        "usersCount",
        "ts",
        "lm",
        "open",
        "v",
        "source",
        "servedBy",
        "waitingResponse",
        "_updatedAt",
    ];
    for k in sorted_keys(room) {
        assert!(
            allowed.contains(&k.as_str()),
            "unexpected key {k:?} in open room {room}"
        );
    }
    assert!(
        room["source"] == json!({"type": "api"}) || room["source"] == json!({"type": "widget"}),
        "source must be api or widget: {room}"
    );
    assert!(room["_id"].is_string(), "room: {room}");
    assert_eq!(room["t"], json!("l"), "room: {room}");
    assert_eq!(room["open"], json!(true), "room: {room}");
    assert!(room["msgs"].is_u64(), "msgs must be a count: {room}");
    assert!(
        room["usersCount"].is_u64(),
        "usersCount must be a count: {room}"
    );
    assert_date(&room["ts"]);
    assert_date(&room["_updatedAt"]);
    if let Some(lm) = room.get("lm") {
        assert_date(lm);
    }
    assert_eq!(
        room["v"],
        json!({
            "_id": visitor["_id"],
            "username": visitor["username"],
            "token": visitor["token"],
            "status": "online",
        }),
        "room.v: {room}"
    );
    if let Some(name) = visitor.get("name") {
        assert_eq!(room["fname"], *name, "room.fname: {room}");
    } else {
        assert!(room["fname"].is_string(), "room.fname: {room}");
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// `POST livechat/visitor` with body `{"visitor": visitor}`.
pub async fn post_visitor(app: &TestApp, visitor: Value) -> Resp {
    app.post(VISITOR, &json!({ "visitor": visitor })).await
}

/// `POST livechat/visitor` that must succeed; returns the `visitor` of the answer after
/// checking the envelope `{"visitor":…,"success":true}`.
pub async fn register(app: &TestApp, visitor: Value) -> Value {
    let resp = post_visitor(app, visitor).await;
    let body = assert_success(&resp);
    assert_eq!(sorted_keys(&body), ["visitor"], "body: {}", resp.text());
    assert!(
        resp.text().starts_with("{\"visitor\":{"),
        "raw: {}",
        resp.text()
    );
    body["visitor"].clone()
}

/// `GET livechat/visitor/:token` that must succeed; returns the visitor.
pub async fn get_visitor(app: &TestApp, token: &str) -> Value {
    let resp = app.get(&visitor_path(token)).await;
    let body = assert_success(&resp);
    assert_eq!(sorted_keys(&body), ["visitor"], "body: {}", resp.text());
    body["visitor"].clone()
}

/// `GET livechat/visitor/:token` must answer `[invalid-token]`.
pub async fn assert_no_visitor(app: &TestApp, token: &str) {
    let resp = app.get(&visitor_path(token)).await;
    assert_bad_request(&resp, &invalid_token());
}

/// `GET livechat/room?token=` that must succeed; returns `(room, newRoom)`.
pub async fn open_room(app: &TestApp, token: &str) -> (Value, bool) {
    let resp = app.get(&room_path(token)).await;
    let body = assert_success(&resp);
    assert_eq!(
        sorted_keys(&body),
        ["newRoom", "room"],
        "body: {}",
        resp.text()
    );
    let text = resp.text();
    assert!(
        text.starts_with("{\"room\":{"),
        "`room` is the first key: {text}"
    );
    let new_room = body["newRoom"]
        .as_bool()
        .unwrap_or_else(|| panic!("newRoom must be a boolean: {text}"));
    assert!(
        text.ends_with(&format!(",\"newRoom\":{new_room},\"success\":true}}")),
        "key order room, newRoom, success: {text}"
    );
    (body["room"].clone(), new_room)
}

/// Registers a visitor named `name` with `token` and opens a room for it; returns both.
pub async fn visitor_with_room(app: &TestApp, token: &str, name: &str) -> (Value, Value) {
    register(app, json!({"token": token, "name": name})).await;
    let (room, new_room) = open_room(app, token).await;
    assert!(new_room);
    let visitor = get_visitor(app, token).await;
    assert_open_room(&room, &visitor);
    (visitor, room)
}

/// A valid `page.visited` body.
pub fn page_body(token: &str, rid: Option<&str>, title: &str, href: &str) -> Value {
    let mut body = json!({
        "token": token,
        "pageInfo": {"change": "url", "title": title, "location": {"href": href}},
    });
    if let Some(rid) = rid {
        body["rid"] = json!(rid);
    }
    body
}

/// `POST livechat/page.visited`.
pub async fn page_visit(app: &TestApp, body: &Value) -> Resp {
    app.post(PAGE_VISITED, body).await
}

/// `POST livechat/room.close` `{rid, token}`.
pub async fn close_room(app: &TestApp, rid: &str, token: &str) -> Resp {
    app.post(ROOM_CLOSE, &json!({"rid": rid, "token": token}))
        .await
}

/// A request with extra headers, sent through the whole app.
pub async fn post_with_headers(
    app: &TestApp,
    uri: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req = TestRequest::post().uri(uri).set_json(body);
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    app.call(req).await
}

/// The current `msgs` counter of the visitor's open room (read through `GET livechat/room`).
pub async fn open_room_msgs(app: &TestApp, token: &str) -> u64 {
    let (room, new_room) = open_room(app, token).await;
    assert!(!new_room, "the visitor's room must still be open: {room}");
    room["msgs"].as_u64().expect("msgs")
}

// ---------------------------------------------------------------------------------------------
// Stored state that no visitor endpoint shows (closed rooms, navigation entries): read from the
// store and rendered with the server's own wire views (visitor-facing, token shown).
// ---------------------------------------------------------------------------------------------

/// The stored room `rid` as its JSON document, if it exists.
pub fn stored_room(app: &TestApp, rid: &str) -> Option<Value> {
    app.backend()
        .room_by_id(rid)
        .expect("read room")
        .map(|r| visitord::model::wire::room(&r, visitord::model::wire::Token::Show))
}

/// Every navigation entry stored with `token`, oldest first, as message documents.
pub fn stored_page_visits(app: &TestApp, token: &str) -> Vec<Value> {
    app.backend()
        .page_visits_of_token(token)
        .expect("read page visits")
        .iter()
        .map(|p| visitord::model::wire::page_visit(p, visitord::model::wire::Token::Show))
        .collect()
}

/// The number of chat messages stored in room `rid`.
pub fn stored_message_count(app: &TestApp, rid: &str) -> usize {
    app.backend()
        .messages_of_room(rid)
        .expect("read messages")
        .len()
}
