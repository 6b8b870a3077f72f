//! `GET /api/v1/livechat/{rid}/messages`: a room's messages for the console.

use crate::api::util::{plain_error, visitor_with_room, MESSAGE};
use crate::common::TestApp;
use serde_json::{json, Value};

async fn say(app: &TestApp, token: &str, rid: &str, msg: &str) {
    let resp = app
        .post(MESSAGE, &json!({"token": token, "rid": rid, "msg": msg}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
}

fn texts(body: &Value) -> Vec<&str> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msg"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_rooms_messages_paged_and_sorted_with_the_permissions_of_chat_history() {
    let app = TestApp::new();
    let manager = app.user("manager", &["livechat-manager"]);
    let agent = app.user("agent", &["livechat-agent"]);
    let plain = app.user("plain", &["user"]);
    let (_, room) = visitor_with_room(&app, "rm-v", "Ruth").await;
    let rid = room["_id"].as_str().unwrap().to_string();
    for msg in ["one", "two", "three"] {
        say(&app, "rm-v", &rid, msg).await;
    }
    let uri = format!("/api/v1/livechat/{rid}/messages");

    let all = app.get_with(&uri, &manager).await;
    assert_eq!(all.status, 200, "{}", all.text());
    let body = all.json();
    assert_eq!(texts(&body), ["one", "two", "three"]);
    assert_eq!(
        (
            &body["count"],
            &body["offset"],
            &body["total"],
            &body["success"]
        ),
        (&json!(3), &json!(0), &json!(3), &json!(true))
    );
    let first = &body["messages"][0];
    assert_eq!(first["rid"], json!(rid));
    assert_eq!(first["u"]["username"], json!(room["v"]["username"]));
    assert!(first.get("token").is_none());

    let newest = app
        .get_with(
            &format!("{uri}?sort=%7B%22ts%22%3A-1%7D&count=2&offset=1"),
            &manager,
        )
        .await
        .json();
    assert_eq!(texts(&newest), ["two", "one"]);
    assert_eq!(newest["total"], json!(3));

    let unknown = app
        .get_with("/api/v1/livechat/nope/messages", &manager)
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json(), plain_error("invalid-room"));

    let denied = app.get_with(&uri, &agent).await;
    assert_eq!(denied.status, 400);
    assert_eq!(denied.json(), plain_error("error-not-allowed"));

    let forbidden = app.get_with(&uri, &plain).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text());

    let anonymous = app.get(&uri).await;
    assert_eq!(anonymous.status, 401);
}
