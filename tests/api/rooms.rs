//! §4 visitor rows: `GET livechat/room`, `POST livechat/room.close`, `POST livechat/message`.

use super::util::*;
use crate::common::TestApp;
use serde_json::json;

/// `room.close`'s plain errors (Rocket.Chat's `throw new Error(...)`).
fn room_closed() -> serde_json::Value {
    plain_error("room-closed")
}

fn invalid_room() -> serde_json::Value {
    plain_error("invalid-room")
}

#[actix_web::test]
async fn room_for_an_unknown_token_is_invalid_token() {
    let app = TestApp::new();
    let resp = app.get(&room_path("nobody")).await;
    assert_bad_request(&resp, &invalid_token());
}

#[actix_web::test]
async fn opens_a_room_then_returns_the_same_one() {
    let app = TestApp::new();
    let visitor = register(&app, json!({"token": "r1", "name": "Roomy"})).await;

    let (room, new_room) = open_room(&app, "r1").await;
    assert!(new_room);
    assert_open_room(&room, &visitor);
    assert_id(&room["_id"]);
    assert_eq!(room["fname"], json!("Roomy"));
    assert_eq!(room["msgs"], json!(0));
    assert!(room.get("lm").is_none(), "no message yet: {room}");

    let (again, new_room) = open_room(&app, "r1").await;
    assert!(!new_room);
    assert_eq!(again, room);

    let app = app.restart();
    let (after_restart, new_room) = open_room(&app, "r1").await;
    assert!(!new_room);
    assert_eq!(after_restart, room);
}

#[actix_web::test]
async fn opening_a_room_sets_last_chat() {
    let app = TestApp::new();
    let before = register(&app, json!({"token": "lc1", "name": "Last"})).await;
    assert!(before.get("lastChat").is_none());
    let (room, _) = open_room(&app, "lc1").await;
    let visitor = get_visitor(&app, "lc1").await;
    assert_eq!(
        sorted_keys(&visitor["lastChat"]),
        ["_id", "ts"],
        "lastChat: {visitor}"
    );
    assert_eq!(visitor["lastChat"]["_id"], room["_id"]);
    assert_date(&visitor["lastChat"]["ts"]);
    // Nothing else of the visitor changed.
    assert_eq!(
        without(&visitor, &["lastChat", "_updatedAt"]),
        without(&before, &["_updatedAt"])
    );
}

#[actix_web::test]
async fn a_client_chosen_rid_never_becomes_a_room() {
    let app = TestApp::new();
    register(&app, json!({"token": "rid1", "name": "Chooser"})).await;
    let before = app.snapshot();
    for rid in ["MyChosenRoomId01", "/../..", "x"] {
        let resp = app
            .get(&format!("{ROOM}?token=rid1&rid={}", urlencoding_lite(rid)))
            .await;
        assert_bad_request(&resp, &invalid_room());
    }
    assert_eq!(app.snapshot(), before, "nothing written");
    let (room, new_room) = open_room(&app, "rid1").await;
    assert!(new_room);
    assert_ne!(room["_id"], json!("MyChosenRoomId01"));
}

#[actix_web::test]
async fn a_rid_serves_only_this_visitors_open_room() {
    let app = TestApp::new();
    let (visitor, room) = visitor_with_room(&app, "rid-own", "Owner").await;
    let rid = room["_id"].as_str().unwrap();
    let (_, other) = visitor_with_room(&app, "rid-other", "Other").await;

    // Its own open room, by id: served as it is.
    let resp = app.get(&format!("{ROOM}?token=rid-own&rid={rid}")).await;
    let body = assert_success(&resp);
    assert_eq!(body["newRoom"], json!(false));
    assert_eq!(body["room"], room);
    assert_open_room(&body["room"], &visitor);

    // Another visitor's room, and its own room once closed: invalid-room, and nothing opened.
    let other_rid = other["_id"].as_str().unwrap();
    let resp = app
        .get(&format!("{ROOM}?token=rid-own&rid={other_rid}"))
        .await;
    assert_bad_request(&resp, &invalid_room());
    assert_eq!(close_room(&app, rid, "rid-own").await.status, 200);
    let before = app.snapshot();
    let resp = app.get(&format!("{ROOM}?token=rid-own&rid={rid}")).await;
    assert_bad_request(&resp, &invalid_room());
    assert_eq!(app.snapshot(), before, "nothing written");
}

#[actix_web::test]
async fn a_rid_with_an_unknown_token_is_invalid_token() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "rid-tok", "Owner").await;
    let rid = room["_id"].as_str().unwrap();
    let resp = app.get(&format!("{ROOM}?token=nobody&rid={rid}")).await;
    assert_bad_request(&resp, &invalid_token());
}

#[actix_web::test]
async fn new_rooms_record_their_source() {
    let app = TestApp::new();
    register(&app, json!({"token": "src-api"})).await;
    register(&app, json!({"token": "src-widget"})).await;
    register(&app, json!({"token": "src-half"})).await;
    let (room, _) = open_room(&app, "src-api").await;
    assert_eq!(room["source"], json!({"type": "api"}));

    let widget = |token: &str, cookie: &str| {
        actix_web::test::TestRequest::get()
            .uri(&room_path(token))
            .insert_header(("Cookie", cookie.to_string()))
    };
    let resp = app
        .call(widget(
            "src-widget",
            "rc_is_widget=t; rc_room_type=l; other=1",
        ))
        .await;
    let body = assert_success(&resp);
    assert_eq!(body["room"]["source"], json!({"type": "widget"}));
    // Both cookies are needed.
    let resp = app.call(widget("src-half", "rc_is_widget=t")).await;
    assert_eq!(
        assert_success(&resp)["room"]["source"],
        json!({"type": "api"})
    );

    // Stored: the same after a restart.
    let app = app.restart();
    let (again, new_room) = open_room(&app, "src-widget").await;
    assert!(!new_room);
    assert_eq!(again["source"], json!({"type": "widget"}));
}

/// Percent-encodes the characters of a query value that a URI cannot hold as they are.
fn urlencoding_lite(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .unwrap()
        .trim_start_matches("v=")
        .to_string()
}

#[actix_web::test]
async fn rooms_belong_to_their_visitor() {
    let app = TestApp::new();
    let (_, room_a) = visitor_with_room(&app, "own-a", "A").await;
    let (_, room_b) = visitor_with_room(&app, "own-b", "B").await;
    assert_ne!(room_a["_id"], room_b["_id"]);
    assert_eq!(open_room(&app, "own-a").await.0["_id"], room_a["_id"]);
}

#[actix_web::test]
async fn close_answers_and_a_second_close_is_refused() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "cl1", "Closer").await;
    let rid = room["_id"].as_str().unwrap();

    let resp = close_room(&app, rid, "cl1").await;
    assert_eq!(resp.status, 200, "body: {}", resp.text());
    assert_json_headers(&resp);
    assert_eq!(
        resp.text(),
        json!({"rid": rid, "comment": "Closed by visitor", "success": true}).to_string()
    );

    let resp = close_room(&app, rid, "cl1").await;
    assert_bad_request(&resp, &room_closed());
}

#[actix_web::test]
async fn a_closed_room_is_no_longer_the_open_one() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "cl2", "Closer").await;
    let rid = room["_id"].as_str().unwrap();
    assert_eq!(close_room(&app, rid, "cl2").await.status, 200);

    // The visitor has no open room any more: a new one is opened.
    let (next, new_room) = open_room(&app, "cl2").await;
    assert!(new_room);
    assert_ne!(next["_id"], room["_id"]);
    assert_eq!(
        get_visitor(&app, "cl2").await["lastChat"]["_id"],
        next["_id"]
    );

    let app = app.restart();
    let resp = close_room(&app, rid, "cl2").await;
    assert_bad_request(&resp, &room_closed());
}

#[actix_web::test]
async fn closing_someone_elses_or_an_unknown_room_is_refused() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "mine", "Owner").await;
    register(&app, json!({"token": "thief", "name": "Thief"})).await;
    let rid = room["_id"].as_str().unwrap();

    let resp = close_room(&app, rid, "thief").await;
    assert_bad_request(&resp, &invalid_room());
    let resp = close_room(&app, "no-such-room", "mine").await;
    assert_bad_request(&resp, &invalid_room());
    // The token is checked first: an unknown one is invalid-token whatever the room.
    let resp = close_room(&app, rid, "nobody").await;
    assert_bad_request(&resp, &plain_error("invalid-token"));
    let resp = close_room(&app, "no-such-room", "nobody").await;
    assert_bad_request(&resp, &plain_error("invalid-token"));

    // The room is still open and unchanged.
    let (still, new_room) = open_room(&app, "mine").await;
    assert!(!new_room);
    assert_eq!(still, room);
}

#[actix_web::test]
async fn a_message_lands_in_the_open_room() {
    let app = TestApp::new();
    let (visitor, room) = visitor_with_room(&app, "msg1", "Talker").await;
    let rid = room["_id"].as_str().unwrap();
    let start = room["msgs"].as_u64().unwrap();

    let resp = app
        .post(
            MESSAGE,
            &json!({"token": "msg1", "rid": rid, "msg": "Hello there"}),
        )
        .await;
    let body = assert_success(&resp);
    assert_eq!(sorted_keys(&body), ["message"], "body: {}", resp.text());
    let message = &body["message"];
    assert_id(&message["_id"]);
    assert_date(&message["ts"]);
    assert_eq!(
        without(message, &["_id", "ts"]),
        json!({
            "rid": rid,
            "msg": "Hello there",
            "u": {"_id": visitor["_id"], "username": visitor["username"], "name": "Talker"},
        })
    );

    let (after, new_room) = open_room(&app, "msg1").await;
    assert!(!new_room);
    assert_eq!(after["msgs"].as_u64(), Some(start + 1));
    assert_date(&after["lm"]);
}

#[actix_web::test]
async fn a_message_keeps_a_given_id() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "msg2", "Talker").await;
    let rid = room["_id"].as_str().unwrap();
    let resp = app
        .post(
            MESSAGE,
            &json!({"token": "msg2", "rid": rid, "msg": "With id", "_id": "ClientMsgId000001"}),
        )
        .await;
    let body = assert_success(&resp);
    assert_eq!(body["message"]["_id"], json!("ClientMsgId000001"));
    assert_eq!(body["message"]["msg"], json!("With id"));

    let resp = app
        .post(
            MESSAGE,
            &json!({"token": "msg2", "rid": rid, "msg": "Second"}),
        )
        .await;
    assert_success(&resp);
    assert_eq!(
        open_room_msgs(&app, "msg2").await,
        room["msgs"].as_u64().unwrap() + 2
    );
}

#[actix_web::test]
async fn a_closed_room_has_closed_at_and_closer_and_no_open_key() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "cl3", "Closer").await;
    let rid = room["_id"].as_str().unwrap();
    assert_eq!(stored_room(&app, rid).as_ref(), Some(&room));
    assert_eq!(close_room(&app, rid, "cl3").await.status, 200);

    let app = app.restart();
    let closed = stored_room(&app, rid).expect("a closed room is kept");
    assert!(closed.get("open").is_none(), "no open key: {closed}");
    assert_date(&closed["closedAt"]);
    assert_eq!(closed["closer"], json!("visitor"));
    // Everything else is as it was (`waitingResponse` is optional and not governed by close).
    assert_eq!(
        without(
            &closed,
            &["closedAt", "closer", "cl", "waitingResponse", "_updatedAt"]
        ),
        without(&room, &["open", "waitingResponse", "_updatedAt"])
    );
}

#[actix_web::test]
async fn a_message_is_stored_in_its_room() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "msg3", "Talker").await;
    let rid = room["_id"].as_str().unwrap();
    assert_eq!(stored_message_count(&app, rid), 0);
    for text in ["one", "two"] {
        let resp = app
            .post(MESSAGE, &json!({"token": "msg3", "rid": rid, "msg": text}))
            .await;
        assert_success(&resp);
    }
    let app = app.restart();
    assert_eq!(stored_message_count(&app, rid), 2);
}

#[actix_web::test]
async fn a_message_needs_the_rooms_own_visitor() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "owner", "Owner").await;
    register(&app, json!({"token": "intruder", "name": "Intruder"})).await;
    let rid = room["_id"].as_str().unwrap();

    let resp = app
        .post(
            MESSAGE,
            &json!({"token": "intruder", "rid": rid, "msg": "not mine"}),
        )
        .await;
    assert_eq!(resp.status, 400, "body: {}", resp.text());
    assert_json_headers(&resp);
    assert_eq!(resp.json()["success"], json!(false));

    assert_eq!(stored_message_count(&app, rid), 0);
    let (still, _) = open_room(&app, "owner").await;
    assert_eq!(still, room);
}
