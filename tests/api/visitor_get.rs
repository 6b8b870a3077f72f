//! §2.1 `GET /api/v1/livechat/visitor/:token`, and durability of visitors across restarts.

use super::util::*;
use crate::common::TestApp;
use serde_json::json;

#[actix_web::test]
async fn unknown_token_is_invalid_token() {
    let app = TestApp::new();
    let resp = app.get(&visitor_path("no-such-token")).await;
    assert_bad_request(&resp, &invalid_token());
    assert_eq!(
        resp.text(),
        r#"{"success":false,"error":"[invalid-token]","errorType":"invalid-token"}"#
    );
}

#[actix_web::test]
async fn returns_the_whole_visitor_with_token() {
    let app = TestApp::new();
    let posted = register(
        &app,
        json!({"token": "get1", "name": "Ann", "email": "ann@example.com", "phone": "+1 555",
               "department": "sales", "customFields": [{"key": "city", "value": "Porto", "overwrite": true}]}),
    )
    .await;
    let got = get_visitor(&app, "get1").await;
    assert_eq!(got, posted, "GET returns the document the POST answered");
    assert_eq!(
        visitor_rest(&got),
        json!({
            "token": "get1",
            "username": "guest-1",
            "name": "Ann",
            "visitorEmails": [{"address": "ann@example.com"}],
            "phone": [{"phoneNumber": "+1 555"}],
            "department": "sales",
            "livechatData": {"city": "Porto"},
        })
    );
}

#[actix_web::test]
async fn minimal_visitor_has_exactly_the_required_fields() {
    let app = TestApp::new();
    register(&app, json!({"token": "min1"})).await;
    let got = get_visitor(&app, "min1").await;
    assert_eq!(
        sorted_keys(&got),
        ["_id", "_updatedAt", "status", "token", "ts", "username"],
        "absent fields are left out, never null: {got}"
    );
    assert_eq!(
        visitor_rest(&got),
        json!({"token": "min1", "username": "guest-1"})
    );
}

#[actix_web::test]
async fn tokens_are_exact_keys() {
    let app = TestApp::new();
    register(&app, json!({"token": "abc"})).await;
    assert_no_visitor(&app, "ab").await;
    assert_no_visitor(&app, "abcd").await;
    assert_no_visitor(&app, "ABC").await;
    get_visitor(&app, "abc").await;
}

#[actix_web::test]
async fn visitors_survive_a_restart() {
    let app = merging_app();
    let before = register(
        &app,
        json!({"token": "dur1", "name": "Durable", "email": "d@example.com", "phone": "123"}),
    )
    .await;
    let app = app.restart();
    let after = get_visitor(&app, "dur1").await;
    assert_eq!(after, before);

    // The indexes survive too: the same token updates the same visitor, and so do phone/email.
    let again = register(&app, json!({"token": "dur1", "name": "Durable 2"})).await;
    assert_eq!(again["_id"], before["_id"]);
    let by_phone = register(&app, json!({"token": "dur2", "phone": "123"})).await;
    assert_eq!(by_phone["_id"], before["_id"]);
    assert_eq!(by_phone["token"], json!("dur1"));
    let by_email = register(&app, json!({"token": "dur3", "email": "d@example.com"})).await;
    assert_eq!(by_email["_id"], before["_id"]);
    assert_eq!(by_email["token"], json!("dur3"));
}

#[actix_web::test]
async fn guest_counter_continues_after_restart() {
    let app = TestApp::new();
    assert_eq!(
        register(&app, json!({"token": "g1"})).await["username"],
        json!("guest-1")
    );
    assert_eq!(
        register(&app, json!({"token": "g2"})).await["username"],
        json!("guest-2")
    );
    let app = app.restart();
    assert_eq!(
        register(&app, json!({"token": "g3"})).await["username"],
        json!("guest-3")
    );
    let app = app.restart();
    assert_eq!(
        register(&app, json!({"token": "g4"})).await["username"],
        json!("guest-4")
    );
    assert_eq!(get_visitor(&app, "g1").await["username"], json!("guest-1"));
}

#[actix_web::test]
async fn percent_encoded_tokens_are_decoded() {
    let app = TestApp::new();
    let spaced = register(&app, json!({"token": "tok en"})).await;
    let accented = register(&app, json!({"token": "jeton-é"})).await;
    assert_eq!(get_visitor(&app, "tok%20en").await, spaced);
    assert_eq!(get_visitor(&app, "jeton-%C3%A9").await, accented);
    let (room, new_room) = open_room(&app, "tok%20en").await;
    assert!(new_room);
    assert_eq!(room["v"]["token"], json!("tok en"));
}
