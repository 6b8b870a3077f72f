//! Exact bodies of every error a client can cause on `POST livechat/message`, and the 429 of
//! the anonymous per-IP buckets of `DELETE livechat/visitor/:token`, `room.close` and
//! `livechat/message` (the 11th request in a minute from one IP).

use super::util::*;
use crate::common::{Resp, TestApp};
use serde_json::{json, Value};
use visitord::domain::Registration;
use visitord::time::now_ms;

/// Registers `token` and opens its room in the store; returns the room id.
fn visitor_with_room(app: &TestApp, token: &str) -> String {
    let store = app.backend();
    let reg = Registration {
        token: token.into(),
        ..Default::default()
    };
    store.register_visitor(&reg, now_ms()).expect("register");
    store
        .open_room(
            &visitord::domain::RoomRequest::new(token, None, visitord::model::RoomSource::Api),
            now_ms(),
        )
        .expect("room")
        .0
        .id
}

async fn message(app: &TestApp, body: Value) -> Resp {
    app.post(MESSAGE, &body).await
}

#[actix_web::test]
async fn every_client_error_of_message_has_its_exact_body() {
    let app = TestApp::new();
    let rid = visitor_with_room(&app, "mine");
    let other = visitor_with_room(&app, "theirs");
    let before = stored_message_count(&app, &rid);

    let cases: Vec<(Value, Value)> = vec![
        (
            json!({"token": "nobody", "rid": rid, "msg": "hi"}),
            invalid_token(),
        ),
        (
            json!({"token": "mine", "rid": other, "msg": "hi"}),
            coded_error("[invalid-room]", "invalid-room"),
        ),
        (
            json!({"token": "mine", "rid": "no-such-room", "msg": "hi"}),
            coded_error("[invalid-room]", "invalid-room"),
        ),
        (
            json!({"rid": rid, "msg": "hi"}),
            match_error("Missing key 'token'"),
        ),
        (
            json!({"token": "mine", "msg": "hi"}),
            match_error("Missing key 'rid'"),
        ),
        (
            json!({"token": "mine", "rid": rid}),
            match_error("Missing key 'msg'"),
        ),
        (
            json!({"token": "mine", "rid": rid, "msg": "x".repeat(5001)}),
            too_long("msg", 5000),
        ),
        (
            json!({"token": "mine", "rid": rid, "msg": "hi", "_id": "i".repeat(65)}),
            too_long("_id", 64),
        ),
    ];
    for (body, expected) in cases {
        let resp = message(&app, body.clone()).await;
        assert_bad_request(&resp, &expected);
        assert_eq!(stored_message_count(&app, &rid), before, "{body}");
    }
    // The longest allowed text and id are accepted.
    let ok = message(
        &app,
        json!({"token": "mine", "rid": rid, "msg": "x".repeat(5000), "_id": "i".repeat(64)}),
    )
    .await;
    assert_success(&ok);

    // An id another visitor's message already has.
    let taken = message(
        &app,
        json!({"token": "theirs", "rid": other, "msg": "mine?", "_id": "i".repeat(64)}),
    )
    .await;
    assert_bad_request(
        &taken,
        &coded_error(
            "A message with this id already exists [error-message-already-exists]",
            "error-message-already-exists",
        ),
    );
    assert_eq!(stored_message_count(&app, &other), 0);

    // A closed room.
    app.backend()
        .close_room("mine", &rid, now_ms())
        .expect("close");
    let closed = message(&app, json!({"token": "mine", "rid": rid, "msg": "late"})).await;
    assert_bad_request(&closed, &coded_error("[room-closed]", "room-closed"));
    assert_eq!(stored_message_count(&app, &rid), before + 1);
}

const TOO_MANY: &str =
    r#"{"success":false,"error":"Error, too many requests. Please slow down. You must wait "#;
const TOO_MANY_END: &str =
    r#" seconds before trying this endpoint again. [error-too-many-requests]"}"#;

/// The exact 429 envelope (N, the seconds to wait, is at most a minute) with limit 10.
fn assert_eleventh_refused(resp: &Resp) {
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_json_headers(resp);
    let text = resp.text();
    let n: u64 = text
        .strip_prefix(TOO_MANY)
        .and_then(|r| r.strip_suffix(TOO_MANY_END))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("429 body: {text}"));
    assert!(n <= 60, "{text}");
    assert_eq!(resp.header("x-ratelimit-limit").as_deref(), Some("10"));
    assert_eq!(resp.header("x-ratelimit-remaining").as_deref(), Some("0"));
}

fn limited() -> TestApp {
    TestApp::with_config(|c| c.rate_limit.enabled = true)
}

#[actix_web::test]
async fn the_eleventh_delete_in_a_minute_is_refused() {
    let app = limited();
    for i in 0..10 {
        let resp = app.delete(&visitor_path(&format!("gone{i}"))).await;
        assert_bad_request(&resp, &invalid_token());
    }
    assert_eleventh_refused(&app.delete(&visitor_path("gone10")).await);
}

#[actix_web::test]
async fn the_eleventh_room_close_in_a_minute_is_refused() {
    let app = limited();
    for _ in 0..10 {
        let resp = app
            .post(ROOM_CLOSE, &json!({"token": "t", "rid": "r"}))
            .await;
        assert_eq!(resp.status, 400, "{}", resp.text());
    }
    assert_eleventh_refused(
        &app.post(ROOM_CLOSE, &json!({"token": "t", "rid": "r"}))
            .await,
    );
}

#[actix_web::test]
async fn the_eleventh_message_in_a_minute_is_refused() {
    let app = limited();
    let rid = visitor_with_room(&app, "chatty");
    for i in 0..10 {
        let resp = message(
            &app,
            json!({"token": "chatty", "rid": rid, "msg": format!("m{i}")}),
        )
        .await;
        assert_success(&resp);
    }
    let resp = message(&app, json!({"token": "chatty", "rid": rid, "msg": "m10"})).await;
    assert_eleventh_refused(&resp);
    assert_eq!(
        stored_message_count(&app, &rid),
        10,
        "the refused message was not stored"
    );
}

#[actix_web::test]
async fn room_per_min_sets_the_room_bucket() {
    let app = TestApp::with_config(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.room_per_min = 2;
    });
    visitor_with_room(&app, "roomy");
    for _ in 0..2 {
        assert_eq!(app.get(&room_path("roomy")).await.status, 200);
    }
    let third = app.get(&room_path("roomy")).await;
    assert_eq!(third.status, 429, "{}", third.text());
    assert_eq!(third.header("x-ratelimit-limit").as_deref(), Some("2"));
}
