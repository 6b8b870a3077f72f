//! §4 `DELETE /api/v1/livechat/visitor/:token`: GDPR erasure.

use super::util::*;
use crate::common::{Resp, TestApp};
use serde_json::json;

/// A successful delete: `{"visitor":{"_id","ts"},"success":true}` with the visitor's `_id`.
fn assert_deleted(resp: &Resp, visitor: &serde_json::Value) {
    let body = assert_success(resp);
    assert_eq!(sorted_keys(&body), ["visitor"], "body: {}", resp.text());
    assert_eq!(
        sorted_keys(&body["visitor"]),
        ["_id", "ts"],
        "body: {}",
        resp.text()
    );
    assert_eq!(body["visitor"]["_id"], visitor["_id"]);
    assert_date(&body["visitor"]["ts"]);
    assert!(
        resp.text().starts_with("{\"visitor\":{"),
        "raw: {}",
        resp.text()
    );
}

#[actix_web::test]
async fn unknown_token_is_invalid_token() {
    let app = TestApp::new();
    let resp = app.delete(&visitor_path("ghost")).await;
    assert_bad_request(&resp, &invalid_token());
}

#[actix_web::test]
async fn deletes_a_visitor() {
    let app = TestApp::new();
    let visitor = register(
        &app,
        json!({"token": "del1", "name": "Gone", "email": "gone@example.com", "phone": "5150"}),
    )
    .await;
    let resp = app.delete(&visitor_path("del1")).await;
    assert_deleted(&resp, &visitor);

    assert_no_visitor(&app, "del1").await;
    let resp = app.delete(&visitor_path("del1")).await;
    assert_bad_request(&resp, &invalid_token());
    let resp = app.get(&room_path("del1")).await;
    assert_bad_request(&resp, &invalid_token());

    let app = app.restart();
    assert_no_visitor(&app, "del1").await;
}

#[actix_web::test]
async fn an_open_room_blocks_the_delete() {
    let app = TestApp::new();
    let (visitor, room) = visitor_with_room(&app, "del2", "Busy").await;
    let resp = app.delete(&visitor_path("del2")).await;
    assert_bad_request(
        &resp,
        &coded_error(
            "Cannot remove visitors with opened rooms [visitor-has-open-rooms]",
            "visitor-has-open-rooms",
        ),
    );
    assert_eq!(
        resp.text(),
        r#"{"success":false,"error":"Cannot remove visitors with opened rooms [visitor-has-open-rooms]","errorType":"visitor-has-open-rooms"}"#
    );
    // Nothing changed.
    assert_eq!(get_visitor(&app, "del2").await, visitor);
    let (still, new_room) = open_room(&app, "del2").await;
    assert!(!new_room);
    assert_eq!(still, room);
}

#[actix_web::test]
async fn a_closed_room_does_not_block_the_delete() {
    let app = TestApp::new();
    let (visitor, room) = visitor_with_room(&app, "del3", "Done").await;
    let resp = close_room(&app, room["_id"].as_str().unwrap(), "del3").await;
    assert_eq!(resp.status, 200, "body: {}", resp.text());
    let resp = app.delete(&visitor_path("del3")).await;
    assert_deleted(&resp, &visitor);
    assert_no_visitor(&app, "del3").await;
}

#[actix_web::test]
async fn open_rooms_allowed_by_config() {
    let app = TestApp::with_config(|c| c.livechat.allow_delete_with_open_rooms = true);
    let (visitor, room) = visitor_with_room(&app, "del4", "Busy").await;
    let resp = app.delete(&visitor_path("del4")).await;
    assert_deleted(&resp, &visitor);
    assert_no_visitor(&app, "del4").await;

    // The room went with the visitor: a new visitor with the same token gets a new room.
    let again = register(&app, json!({"token": "del4", "name": "Back"})).await;
    assert_ne!(again["_id"], visitor["_id"]);
    let (new_room_doc, new_room) = open_room(&app, "del4").await;
    assert!(new_room);
    assert_ne!(new_room_doc["_id"], room["_id"]);
}

#[actix_web::test]
async fn a_deleted_visitors_token_email_and_phone_are_free() {
    let app = TestApp::new();
    let visitor = register(
        &app,
        json!({"token": "del5", "name": "Erased", "email": "erased@example.com", "phone": "4040"}),
    )
    .await;
    assert_eq!(visitor["username"], json!("guest-1"));
    assert_deleted(&app.delete(&visitor_path("del5")).await, &visitor);

    // Same email: a new visitor, not the erased one.
    let by_email = register(
        &app,
        json!({"token": "del5-email", "email": "erased@example.com"}),
    )
    .await;
    assert_ne!(by_email["_id"], visitor["_id"]);
    assert_eq!(
        visitor_rest(&by_email),
        json!({"token": "del5-email", "username": "guest-2",
               "visitorEmails": [{"address": "erased@example.com"}]})
    );

    // Same phone: a new visitor that keeps the token it was given.
    let by_phone = register(&app, json!({"token": "del5-phone", "phone": "4040"})).await;
    assert_ne!(by_phone["_id"], visitor["_id"]);
    assert_eq!(
        visitor_rest(&by_phone),
        json!({"token": "del5-phone", "username": "guest-3",
               "phone": [{"phoneNumber": "4040"}]})
    );

    // Same token: a new visitor, a new guest number (numbers are never reused).
    let by_token = register(&app, json!({"token": "del5"})).await;
    assert_ne!(by_token["_id"], visitor["_id"]);
    assert_eq!(
        visitor_rest(&by_token),
        json!({"token": "del5", "username": "guest-4"})
    );
}

#[actix_web::test]
async fn deleting_one_visitor_leaves_the_others() {
    let app = TestApp::new();
    let (keep, keep_room) = visitor_with_room(&app, "keep", "Keep").await;
    let gone = register(&app, json!({"token": "gone", "email": "gone@x.io"})).await;
    assert_deleted(&app.delete(&visitor_path("gone")).await, &gone);
    let keep_now = get_visitor(&app, "keep").await;
    assert_eq!(keep_now, keep);
    let (room, new_room) = open_room(&app, "keep").await;
    assert!(!new_room);
    assert_eq!(room, keep_room);
}

#[actix_web::test]
async fn erasure_takes_rooms_messages_and_history() {
    let app = TestApp::with_config(|c| c.livechat.allow_delete_with_open_rooms = true);
    // Room-less history first, then a room with a message and more history.
    assert_success(&page_visit(&app, &page_body("gdpr", None, "Before", "https://b")).await);
    let (visitor, room) = visitor_with_room(&app, "gdpr", "Forget Me").await;
    let rid = room["_id"].as_str().unwrap().to_string();
    assert_success(&page_visit(&app, &page_body("gdpr", None, "Loose", "https://l")).await);
    assert_success(&page_visit(&app, &page_body("gdpr", Some(&rid), "In room", "https://r")).await);
    assert_success(
        &app.post(MESSAGE, &json!({"token": "gdpr", "rid": rid, "msg": "hi"}))
            .await,
    );
    assert_eq!(stored_page_visits(&app, "gdpr").len(), 3);
    assert_eq!(stored_message_count(&app, &rid), 1);

    assert_deleted(&app.delete(&visitor_path("gdpr")).await, &visitor);

    let app = app.restart();
    assert!(stored_room(&app, &rid).is_none(), "the room is erased");
    assert_eq!(
        stored_message_count(&app, &rid),
        0,
        "its messages are erased"
    );
    assert!(
        stored_page_visits(&app, "gdpr").is_empty(),
        "navigation history is erased, room-less entries included"
    );
    assert_no_visitor(&app, "gdpr").await;
}
