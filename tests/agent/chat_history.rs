//! §2.6 `GET livechat/visitors.chatHistory/room/:roomId/visitor/:visitorId` (view-l-room,
//! paginated; the room is only the access check).

use super::util::{
    assert_bad_request, assert_date, close_room, open_room, plain_error, sorted_keys, stored_room,
    visitor_with_room, MESSAGE,
};
use super::*;
use crate::common::{Creds, TestApp};
use serde_json::{json, Value};

struct Fx {
    app: TestApp,
    agent: Creds,
    manager: Creds,
    vid: String,
    /// The visitor's rooms in creation order: closed with a message, closed without one,
    /// open with a message.
    rooms: [String; 3],
    /// Another visitor's open room.
    other_rid: String,
    other_vid: String,
}

async fn message(app: &TestApp, token: &str, rid: &str, msg: &str) {
    let resp = app
        .post(MESSAGE, &json!({"token": token, "rid": rid, "msg": msg}))
        .await;
    assert_eq!(resp.status, 200, "message: {}", resp.text());
}

async fn fixture() -> Fx {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let manager = app.user("manager", &["livechat-manager"]);
    let (v, room1) = visitor_with_room(&app, "ch-v", "Hanna").await;
    let r1 = room1["_id"].as_str().unwrap().to_string();
    message(&app, "ch-v", r1.as_str(), "first chat").await;
    assert_eq!(close_room(&app, r1.as_str(), "ch-v").await.status, 200);
    let (room2, new) = open_room(&app, "ch-v").await;
    assert!(new);
    let r2 = room2["_id"].as_str().unwrap().to_string();
    assert_eq!(close_room(&app, r2.as_str(), "ch-v").await.status, 200);
    let (room3, new) = open_room(&app, "ch-v").await;
    assert!(new);
    let r3 = room3["_id"].as_str().unwrap().to_string();
    message(&app, "ch-v", r3.as_str(), "third chat").await;
    let (w, other) = visitor_with_room(&app, "ch-w", "Walter").await;
    Fx {
        vid: v["_id"].as_str().unwrap().to_string(),
        rooms: [r1, r2, r3],
        other_rid: other["_id"].as_str().unwrap().to_string(),
        other_vid: w["_id"].as_str().unwrap().to_string(),
        app,
        agent,
        manager,
    }
}

/// The stored room as an agent must see it: `v.token` removed.
fn agent_view(app: &TestApp, rid: &str) -> Value {
    let mut room = stored_room(app, rid).expect("room");
    room["v"].as_object_mut().unwrap().remove("token");
    room
}

#[actix_web::test]
async fn a_manager_gets_every_room_of_the_visitor_newest_first_without_token() {
    let fx = fixture().await;
    let [r1, r2, r3] = fx.rooms.clone();
    let expected: Vec<Value> = [r3.as_str(), r2.as_str(), r1.as_str()]
        .iter()
        .map(|r| agent_view(&fx.app, r))
        .collect();
    let monitor = fx.app.user("monitor", &["livechat-monitor"]);
    let admin = fx.app.user("boss", &["admin"]);
    for (who, creds) in [
        ("manager", &fx.manager),
        ("monitor", &monitor),
        ("admin", &admin),
    ] {
        // Any existing room is the gate, even another visitor's: the answer is the visitor's rooms.
        for gate in [r1.as_str(), r3.as_str(), fx.other_rid.as_str()] {
            let resp = fx.app.get_with(&history_path(gate, &fx.vid), creds).await;
            let history = assert_page(&resp, "history", 0, 3);
            assert_eq!(
                ids(&history),
                [r3.as_str(), r2.as_str(), r1.as_str()],
                "{who} via {gate}"
            );
            assert_eq!(history, expected, "{who} via {gate}");
            assert!(
                !resp.text().contains("ch-v"),
                "a visitor token: {}",
                resp.text()
            );
        }
    }
    // The shape of open and closed rooms (§3.2, §4 room.close).
    let [open, closed_empty, closed] = [&expected[0], &expected[1], &expected[2]];
    assert_eq!(open["open"], json!(true));
    assert!(
        open.get("closedAt").is_none() && open.get("closer").is_none(),
        "{open}"
    );
    assert_date(&open["lm"]);
    for c in [closed_empty, closed] {
        assert!(
            c.get("open").is_none(),
            "a closed room has no open key: {c}"
        );
        assert_date(&c["closedAt"]);
        assert_eq!(c["closer"], json!("visitor"));
    }
    assert!(closed_empty.get("lm").is_none(), "{closed_empty}");
    for room in &expected {
        assert_eq!(room["t"], json!("l"));
        assert_eq!(
            sorted_keys(&room["v"]),
            ["_id", "status", "username"],
            "{room}"
        );
        assert_eq!(room["v"]["_id"], json!(fx.vid));
    }
}

#[actix_web::test]
async fn the_other_visitors_history_is_its_own() {
    let fx = fixture().await;
    let resp = fx
        .app
        .get_with(&history_path(&fx.rooms[0], &fx.other_vid), &fx.manager)
        .await;
    let history = assert_page(&resp, "history", 0, 1);
    assert_eq!(ids(&history), [fx.other_rid.as_str()]);
    assert_eq!(history[0], agent_view(&fx.app, &fx.other_rid));
}

#[actix_web::test]
async fn an_agent_without_view_livechat_rooms_is_not_allowed() {
    let fx = fixture().await;
    for gate in [&fx.rooms[0], &fx.rooms[2], &fx.other_rid] {
        let resp = fx
            .app
            .get_with(&history_path(gate, &fx.vid), &fx.agent)
            .await;
        assert_bad_request(&resp, &plain_error("error-not-allowed"));
    }
}

#[actix_web::test]
async fn unknown_room_is_invalid_room() {
    let fx = fixture().await;
    for creds in [&fx.manager, &fx.agent] {
        for rid in ["no-such-room", fx.vid.as_str()] {
            let resp = fx.app.get_with(&history_path(rid, &fx.vid), creds).await;
            assert_bad_request(&resp, &plain_error("invalid-room"));
        }
    }
}

#[actix_web::test]
async fn unknown_visitor_has_no_history() {
    let fx = fixture().await;
    let resp = fx
        .app
        .get_with(&history_path(&fx.rooms[0], "no-such-visitor"), &fx.manager)
        .await;
    assert!(assert_page(&resp, "history", 0, 0).is_empty());
}

#[actix_web::test]
async fn sortable_by_ts_lm_and_closed_at() {
    let fx = fixture().await;
    let [r1, r2, r3] = fx.rooms.clone();
    // r1: closed, lm set; r2: closed, no lm; r3: open (no closedAt), lm set. An absent value
    // sorts first ascending and last descending (MongoDB's order, which Rocket.Chat sorts by).
    let cases: [(&str, [&str; 3]); 6] = [
        (r#"{"ts":1}"#, [r1.as_str(), r2.as_str(), r3.as_str()]),
        (r#"{"ts":-1}"#, [r3.as_str(), r2.as_str(), r1.as_str()]),
        (r#"{"lm":1}"#, [r2.as_str(), r1.as_str(), r3.as_str()]),
        (r#"{"lm":-1}"#, [r3.as_str(), r1.as_str(), r2.as_str()]),
        (r#"{"closedAt":1}"#, [r3.as_str(), r1.as_str(), r2.as_str()]),
        (
            r#"{"closedAt":-1}"#,
            [r2.as_str(), r1.as_str(), r3.as_str()],
        ),
    ];
    for (sort, order) in cases {
        let uri = q(&history_path(&r1, &fx.vid), &[("sort", sort)]);
        let resp = fx.app.get_with(&uri, &fx.manager).await;
        assert_eq!(ids(&assert_page(&resp, "history", 0, 3)), order, "{sort}");
    }
    for bad in [
        r#"{"msgs":1}"#,
        r#"{"_updatedAt":-1}"#,
        r#"{"lm":2}"#,
        "lm",
        "[]",
    ] {
        let uri = q(&history_path(&r1, &fx.vid), &[("sort", bad)]);
        let resp = fx.app.get_with(&uri, &fx.manager).await;
        assert_bad_request(&resp, &invalid_sort(bad));
    }
}

#[actix_web::test]
async fn paging_through_the_history() {
    let fx = fixture().await;
    let [r1, r2, r3] = fx.rooms.clone();
    let page = |pairs: &[(&str, &str)]| q(&history_path(&r3, &fx.vid), pairs);
    let resp = fx
        .app
        .get_with(&page(&[("count", "1"), ("offset", "1")]), &fx.manager)
        .await;
    assert_eq!(ids(&assert_page(&resp, "history", 1, 3)), [r2.as_str()]);
    let resp = fx.app.get_with(&page(&[("count", "2")]), &fx.manager).await;
    assert_eq!(
        ids(&assert_page(&resp, "history", 0, 3)),
        [r3.as_str(), r2.as_str()]
    );
    let resp = fx
        .app
        .get_with(&page(&[("offset", "2")]), &fx.manager)
        .await;
    assert_eq!(ids(&assert_page(&resp, "history", 2, 3)), [r1.as_str()]);
    let resp = fx
        .app
        .get_with(&page(&[("offset", "3")]), &fx.manager)
        .await;
    assert!(assert_page(&resp, "history", 3, 3).is_empty());
}
