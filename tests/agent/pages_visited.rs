//! §2.5 `GET livechat/visitors.pagesVisited/:roomId`, `?roomId=`, `?visitorId=` (view-l-room,
//! paginated).

use super::util::{
    assert_bad_request, assert_date, assert_id, assert_success, close_room, invalid_params,
    open_room, page_body, page_visit, plain_error, register, stored_page_visits, visitor_with_room,
};
use super::*;
use crate::common::{Creds, TestApp};
use serde_json::{json, Value};

/// Posts a navigation entry that must be stored.
async fn visit(app: &TestApp, token: &str, rid: Option<&str>, title: &str) {
    let href = format!("https://example.com/{}", title.to_lowercase());
    let resp = page_visit(app, &page_body(token, rid, title, &href)).await;
    let body = assert_success(&resp);
    assert!(body.get("page").is_some(), "stored: {}", resp.text());
}

/// The entry as agents must see it: the stored message without `navigation.token`.
fn agent_view(stored: &Value) -> Value {
    let mut v = stored.clone();
    v["navigation"]
        .as_object_mut()
        .expect("navigation")
        .remove("token");
    v
}

/// Checks one returned entry against §2.3's message shape.
fn assert_entry(p: &Value, rid: Option<&str>, title: &str) {
    assert_id(&p["_id"]);
    assert_date(&p["ts"]);
    assert_date(&p["_updatedAt"]);
    let href = format!("https://example.com/{}", title.to_lowercase());
    let mut expected = json!({
        "t": "livechat_navigation_history",
        "msg": format!("{title} - {href}"),
        "u": {"_id": "rocket.cat", "username": "rocket.cat", "name": "Rocket.Cat"},
        "groupable": false,
        "navigation": {"page": {"change": "url", "title": title, "location": {"href": href}}},
        "_hidden": true,
    });
    if let Some(rid) = rid {
        expected["rid"] = json!(rid);
    }
    let rest = util::without(p, &["_id", "ts", "_updatedAt"]);
    assert_eq!(rest, expected, "entry");
}

fn titles(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .map(|p| {
            p["navigation"]["page"]["title"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

struct Fx {
    app: TestApp,
    agent: Creds,
    vid: String,
    rid: String,
}

/// Visitor "pv-token" with room R and entries P1..P3 in R; another visitor with its own room
/// and entry.
async fn fixture() -> Fx {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let (v, room) = visitor_with_room(&app, "pv-token", "Paula").await;
    let rid = room["_id"].as_str().unwrap().to_string();
    for t in ["P1", "P2", "P3"] {
        visit(&app, "pv-token", Some(&rid), t).await;
    }
    let (_, other) = visitor_with_room(&app, "pv-other", "Otto").await;
    visit(&app, "pv-other", other["_id"].as_str(), "Other").await;
    Fx {
        vid: v["_id"].as_str().unwrap().to_string(),
        app,
        agent,
        rid,
    }
}

#[actix_web::test]
async fn a_rooms_entries_newest_first_in_all_three_forms() {
    let fx = fixture().await;
    let stored = stored_page_visits(&fx.app, "pv-token");
    let mut expected: Vec<Value> = stored.iter().map(agent_view).collect();
    expected.reverse();
    for uri in [
        pages_path(&fx.rid),
        q(PAGES, &[("roomId", &fx.rid)]),
        q(PAGES, &[("visitorId", &fx.vid)]),
    ] {
        let resp = fx.app.get_with(&uri, &fx.agent).await;
        let pages = assert_page(&resp, "pages", 0, 3);
        assert_eq!(titles(&pages), ["P3", "P2", "P1"], "{uri}");
        assert_eq!(pages, expected, "{uri}");
        for (p, t) in pages.iter().zip(["P3", "P2", "P1"]) {
            assert_entry(p, Some(&fx.rid), t);
        }
        assert!(
            !resp.text().contains("pv-token"),
            "navigation.token must be removed: {}",
            resp.text()
        );
    }
}

#[actix_web::test]
async fn sort_by_ts() {
    let fx = fixture().await;
    for (sort, order) in [
        (r#"{"ts":1}"#, ["P1", "P2", "P3"]),
        (r#"{"ts":-1}"#, ["P3", "P2", "P1"]),
    ] {
        for uri in [pages_path(&fx.rid), q(PAGES, &[("roomId", &fx.rid)])] {
            let resp = fx
                .app
                .get_with(&q(&uri, &[("sort", sort)]), &fx.agent)
                .await;
            assert_eq!(
                titles(&assert_page(&resp, "pages", 0, 3)),
                order,
                "{uri} {sort}"
            );
        }
    }
    for bad in [
        r#"{"_id":1}"#,
        r#"{"msg":-1}"#,
        r#"{"ts":0}"#,
        r#"{"ts":"1"}"#,
    ] {
        let resp = fx
            .app
            .get_with(&q(&pages_path(&fx.rid), &[("sort", bad)]), &fx.agent)
            .await;
        assert_bad_request(&resp, &invalid_sort(bad));
    }
}

#[actix_web::test]
async fn paging_through_a_rooms_entries() {
    let fx = fixture().await;
    let get = |pairs: Vec<(&'static str, &'static str)>| {
        let uri = q(&pages_path(&fx.rid), &pairs);
        let app = &fx.app;
        let agent = &fx.agent;
        async move { app.get_with(&uri, agent).await }
    };
    let resp = get(vec![("count", "2")]).await;
    assert_eq!(titles(&assert_page(&resp, "pages", 0, 3)), ["P3", "P2"]);
    let resp = get(vec![("count", "2"), ("offset", "2")]).await;
    assert_eq!(titles(&assert_page(&resp, "pages", 2, 3)), ["P1"]);
    let resp = get(vec![("offset", "3")]).await;
    assert!(assert_page(&resp, "pages", 3, 3).is_empty());
    let resp = get(vec![("offset", "50")]).await;
    assert!(assert_page(&resp, "pages", 50, 3).is_empty());
    let resp = get(vec![
        ("offset", "1"),
        ("count", "1"),
        ("sort", r#"{"ts":1}"#),
    ])
    .await;
    assert_eq!(titles(&assert_page(&resp, "pages", 1, 3)), ["P2"]);
}

#[actix_web::test]
async fn unknown_room_is_invalid_room() {
    let fx = fixture().await;
    for uri in [
        pages_path("no-such-room"),
        q(PAGES, &[("roomId", "no-such-room")]),
    ] {
        let resp = fx.app.get_with(&uri, &fx.agent).await;
        assert_bad_request(&resp, &plain_error("invalid-room"));
    }
    // Entries stored under a rid that names no room do not make it a room.
    visit(&fx.app, "pv-token", Some("ghost-room"), "Ghost").await;
    let resp = fx.app.get_with(&pages_path("ghost-room"), &fx.agent).await;
    assert_bad_request(&resp, &plain_error("invalid-room"));
    // A visitor token or id is not a room id.
    let resp = fx.app.get_with(&pages_path(&fx.vid), &fx.agent).await;
    assert_bad_request(&resp, &plain_error("invalid-room"));
}

#[actix_web::test]
async fn a_room_without_entries_is_an_empty_page() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let (_, room) = visitor_with_room(&app, "pv-empty", "E").await;
    let resp = app
        .get_with(&pages_path(room["_id"].as_str().unwrap()), &agent)
        .await;
    assert!(assert_page(&resp, "pages", 0, 0).is_empty());
}

#[actix_web::test]
async fn by_visitor_returns_every_entry_with_or_without_a_room() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    // Before registration, no room: kept, room-less.
    visit(&app, "pv-v", None, "Landing").await;
    let v = register(&app, json!({"token": "pv-v", "name": "Vera"})).await;
    let vid = v["_id"].as_str().unwrap().to_string();
    // Opening the room adopts it (§2.3).
    let (room1, _) = open_room(&app, "pv-v").await;
    let r1 = room1["_id"].as_str().unwrap().to_string();
    visit(&app, "pv-v", Some(&r1), "Pricing").await;
    assert_eq!(close_room(&app, &r1, "pv-v").await.status, 200);
    let (room2, new) = open_room(&app, "pv-v").await;
    assert!(new);
    let r2 = room2["_id"].as_str().unwrap().to_string();
    visit(&app, "pv-v", Some(&r2), "Checkout").await;
    // Sent without a room after the last room was opened: stays room-less.
    visit(&app, "pv-v", None, "Roomless").await;
    // Another visitor's entries never show.
    visit(&app, "pv-w", None, "Elsewhere").await;

    let resp = app
        .get_with(&q(PAGES, &[("visitorId", &vid)]), &agent)
        .await;
    let pages = assert_page(&resp, "pages", 0, 4);
    assert_eq!(
        titles(&pages),
        ["Roomless", "Checkout", "Pricing", "Landing"]
    );
    assert_entry(&pages[0], None, "Roomless");
    assert_entry(&pages[1], Some(&r2), "Checkout");
    assert_entry(&pages[2], Some(&r1), "Pricing");
    assert_entry(&pages[3], Some(&r1), "Landing");
    assert!(!resp.text().contains("pv-v\""), "no token: {}", resp.text());

    // The room forms show only that room's entries.
    let resp = app.get_with(&pages_path(&r1), &agent).await;
    assert_eq!(
        titles(&assert_page(&resp, "pages", 0, 2)),
        ["Pricing", "Landing"]
    );
    let resp = app.get_with(&q(PAGES, &[("roomId", &r2)]), &agent).await;
    assert_eq!(titles(&assert_page(&resp, "pages", 0, 1)), ["Checkout"]);

    // Paging and sorting work on this form too.
    let resp = app
        .get_with(
            &q(
                PAGES,
                &[
                    ("visitorId", &vid),
                    ("sort", r#"{"ts":1}"#),
                    ("count", "2"),
                    ("offset", "1"),
                ],
            ),
            &agent,
        )
        .await;
    assert_eq!(
        titles(&assert_page(&resp, "pages", 1, 4)),
        ["Pricing", "Checkout"]
    );
}

#[actix_web::test]
async fn by_unknown_visitor_is_visitor_not_found() {
    let fx = fixture().await;
    for id in ["no-such-visitor", "pv-token"] {
        let resp = fx
            .app
            .get_with(&q(PAGES, &[("visitorId", id)]), &fx.agent)
            .await;
        assert_bad_request(&resp, &plain_error("visitor-not-found"));
    }
}

#[actix_web::test]
async fn exactly_one_of_room_id_and_visitor_id() {
    let fx = fixture().await;
    // Neither.
    for uri in [PAGES.to_string(), q(PAGES, &[("count", "1")])] {
        let resp = fx.app.get_with(&uri, &fx.agent).await;
        assert_bad_request(
            &resp,
            &invalid_params("must have required property 'roomId'"),
        );
    }
    // Both (the wording is the server's own: the spec only says it is a parameter error).
    let resp = fx
        .app
        .get_with(
            &q(PAGES, &[("roomId", &fx.rid), ("visitorId", &fx.vid)]),
            &fx.agent,
        )
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    let body = resp.json();
    assert_eq!(
        sorted_keys_of(&body),
        ["error", "errorType", "success"],
        "{body}"
    );
    assert_eq!(body["success"], json!(false));
    assert_eq!(body["errorType"], json!("invalid-params"));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .ends_with(" [invalid-params]"),
        "{body}"
    );
    // A room in the path and one in the query, or a visitor in the query: unlisted parameters.
    for (k, v) in [("roomId", fx.rid.as_str()), ("visitorId", fx.vid.as_str())] {
        let resp = fx
            .app
            .get_with(&q(&pages_path(&fx.rid), &[(k, v)]), &fx.agent)
            .await;
        assert_bad_request(
            &resp,
            &invalid_params("must NOT have additional properties"),
        );
    }
    // Unlisted parameters on the query forms.
    for base in [
        q(PAGES, &[("roomId", &fx.rid)]),
        q(PAGES, &[("visitorId", &fx.vid)]),
    ] {
        let resp = fx
            .app
            .get_with(&q(&base, &[("token", "pv-token")]), &fx.agent)
            .await;
        assert_bad_request(
            &resp,
            &invalid_params("must NOT have additional properties"),
        );
    }
}

fn sorted_keys_of(v: &Value) -> Vec<String> {
    util::sorted_keys(v)
}
