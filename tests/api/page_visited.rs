//! §2.3 `POST /api/v1/livechat/page.visited`: schema errors in AJV words, length limits, the
//! monitor type, the answer, and the room's `msgs` counter.

use super::util::*;
use crate::common::TestApp;
use serde_json::{json, Value};

fn valid() -> Value {
    page_body("pv-token", Some("pv-room"), "Home", "https://example.com/")
}

/// Applies `edit` to a valid body; the result must be refused with `<msg> [invalid-params]`.
async fn assert_schema_error(app: &TestApp, edit: impl FnOnce(&mut Value), msg: &str) {
    let mut body = valid();
    edit(&mut body);
    let resp = page_visit(app, &body).await;
    assert_bad_request(&resp, &invalid_params(msg));
}

fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().expect("object").remove(key);
}

#[actix_web::test]
async fn empty_object_misses_token() {
    let app = TestApp::new();
    let resp = page_visit(&app, &json!({})).await;
    assert_bad_request(
        &resp,
        &invalid_params("must have required property 'token'"),
    );
    assert_eq!(
        resp.text(),
        r#"{"success":false,"error":"must have required property 'token' [invalid-params]","errorType":"invalid-params"}"#
    );
}

#[actix_web::test]
async fn missing_required_properties() {
    let app = TestApp::new();
    let req = |p: &str| format!("must have required property '{p}'");
    assert_schema_error(&app, |b| remove(b, "token"), &req("token")).await;
    assert_schema_error(&app, |b| remove(b, "pageInfo"), &req("pageInfo")).await;
    assert_schema_error(&app, |b| b["pageInfo"] = json!({}), &req("title")).await;
    assert_schema_error(&app, |b| remove(&mut b["pageInfo"], "title"), &req("title")).await;
    assert_schema_error(
        &app,
        |b| remove(&mut b["pageInfo"], "change"),
        &req("change"),
    )
    .await;
    assert_schema_error(
        &app,
        |b| remove(&mut b["pageInfo"], "location"),
        &req("location"),
    )
    .await;
    assert_schema_error(
        &app,
        |b| b["pageInfo"]["location"] = json!({}),
        &req("href"),
    )
    .await;
}

#[actix_web::test]
async fn wrong_types() {
    let app = TestApp::new();
    let string = "must be string";
    let object = "must be object";
    assert_schema_error(&app, |b| b["token"] = json!(5), string).await;
    assert_schema_error(&app, |b| b["token"] = json!(null), string).await;
    assert_schema_error(&app, |b| b["rid"] = json!({}), string).await;
    assert_schema_error(&app, |b| b["rid"] = json!(12), string).await;
    assert_schema_error(&app, |b| b["pageInfo"] = json!("about:blank"), object).await;
    assert_schema_error(&app, |b| b["pageInfo"] = json!([]), object).await;
    assert_schema_error(&app, |b| b["pageInfo"]["title"] = json!(5), string).await;
    assert_schema_error(&app, |b| b["pageInfo"]["change"] = json!(true), string).await;
    assert_schema_error(
        &app,
        |b| b["pageInfo"]["location"] = json!("https://x"),
        object,
    )
    .await;
    assert_schema_error(
        &app,
        |b| b["pageInfo"]["location"]["href"] = json!([]),
        string,
    )
    .await;
}

#[actix_web::test]
async fn no_additional_properties_anywhere() {
    let app = TestApp::new();
    let msg = "must NOT have additional properties";
    assert_schema_error(&app, |b| b["extra"] = json!(1), msg).await;
    assert_schema_error(&app, |b| b["pageInfo"]["referrer"] = json!("x"), msg).await;
    assert_schema_error(
        &app,
        |b| b["pageInfo"]["location"]["hash"] = json!("#a"),
        msg,
    )
    .await;
}

#[actix_web::test]
async fn title_and_href_limits() {
    let app = TestApp::new();
    let resp = page_visit(
        &app,
        &page_body("lim", None, &"é".repeat(1024), "https://x"),
    )
    .await;
    assert_success(&resp);
    let href = format!("https://x/{}", "a".repeat(4096 - 10));
    assert_eq!(href.chars().count(), 4096);
    let resp = page_visit(&app, &page_body("lim", None, "T", &href)).await;
    assert_success(&resp);

    assert_schema_error(
        &app,
        |b| b["pageInfo"]["title"] = json!("t".repeat(1025)),
        "title is too long (max 1024)",
    )
    .await;
    assert_schema_error(
        &app,
        |b| b["pageInfo"]["location"]["href"] = json!(format!("{href}a")),
        "href is too long (max 4096)",
    )
    .await;
}

#[actix_web::test]
async fn other_change_type_is_a_bare_success() {
    let app = TestApp::new();
    for change in ["title", "URL", ""] {
        let mut body = valid();
        body["pageInfo"]["change"] = json!(change);
        let resp = page_visit(&app, &body).await;
        assert_bare_success(&resp);
    }
}

#[actix_web::test]
async fn monitor_type_is_configurable() {
    let app = TestApp::with_config(|c| c.livechat.history_monitor_type = "title".to_string());
    let resp = page_visit(&app, &valid()).await;
    assert_bare_success(&resp);

    let mut body = valid();
    body["pageInfo"]["change"] = json!("title");
    let resp = page_visit(&app, &body).await;
    let page = assert_success(&resp);
    assert_eq!(page["page"]["navigation"]["page"], body["pageInfo"]);
}

#[actix_web::test]
async fn stores_and_answers_the_navigation_entry() {
    let app = TestApp::new();
    let body = json!({
        "token": "unregistered-token",
        "rid": "no-such-room",
        "pageInfo": {"change": "url", "title": "Rocket.Chat", "location": {"href": "https://rocket.chat"}},
    });
    let resp = page_visit(&app, &body).await;
    let page = assert_success(&resp);
    assert_eq!(
        page,
        json!({"page": {
            "msg": "Rocket.Chat - https://rocket.chat",
            "navigation": {
                "page": {"change": "url", "title": "Rocket.Chat", "location": {"href": "https://rocket.chat"}},
                "token": "unregistered-token",
            },
        }})
    );
    assert!(
        resp.text().starts_with("{\"page\":{\"msg\":"),
        "raw: {}",
        resp.text()
    );
}

#[actix_web::test]
async fn room_is_optional_and_may_be_null() {
    let app = TestApp::new();
    for rid in [None, Some(json!(null))] {
        let mut body = page_body("roomless", None, "", "http://example.org/a?b=c");
        if let Some(rid) = rid {
            body["rid"] = rid;
        }
        let resp = page_visit(&app, &body).await;
        let page = assert_success(&resp);
        assert_eq!(page["page"]["msg"], json!(" - http://example.org/a?b=c"));
        assert_eq!(page["page"]["navigation"]["token"], json!("roomless"));
        assert_eq!(page["page"]["navigation"]["page"], body["pageInfo"]);
    }
}

#[actix_web::test]
async fn an_existing_room_counts_the_entry() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "pvc1", "Counted").await;
    let rid = room["_id"].as_str().unwrap().to_string();
    let start = open_room_msgs(&app, "pvc1").await;

    let resp = page_visit(&app, &page_body("pvc1", Some(&rid), "P1", "https://a/1")).await;
    assert_success(&resp);
    assert_eq!(open_room_msgs(&app, "pvc1").await, start + 1);
    let resp = page_visit(&app, &page_body("pvc1", Some(&rid), "P2", "https://a/2")).await;
    assert_success(&resp);
    assert_eq!(open_room_msgs(&app, "pvc1").await, start + 2);

    // Not stored: not counted.
    let mut body = page_body("pvc1", Some(&rid), "P3", "https://a/3");
    body["pageInfo"]["change"] = json!("title");
    assert_bare_success(&page_visit(&app, &body).await);
    // Refused: not counted.
    body["pageInfo"]["change"] = json!("url");
    body["pageInfo"]["title"] = json!("t".repeat(1025));
    assert_bad_request(&page_visit(&app, &body).await, &too_long("title", 1024));
    // A room id longer than any room id (the same limit as `livechat/room`'s): refused.
    let long_rid = "r".repeat(65);
    let resp = page_visit(
        &app,
        &page_body("pvc1", Some(&long_rid), "P", "https://a/5"),
    )
    .await;
    assert_bad_request(&resp, &too_long("rid", 64));
    // An unknown room: not counted here.
    assert_success(
        &page_visit(
            &app,
            &page_body("pvc1", Some("other-room"), "P4", "https://a/4"),
        )
        .await,
    );
    assert_eq!(open_room_msgs(&app, "pvc1").await, start + 2);
}

/// The `rid` of every stored entry of `token`, oldest first, read from the store.
fn stored_rids(app: &TestApp, token: &str) -> Vec<Option<String>> {
    app.backend()
        .page_visits_of_token(token)
        .unwrap()
        .into_iter()
        .map(|p| p.rid)
        .collect()
}

#[actix_web::test]
async fn a_page_visit_never_lands_in_someone_elses_room() {
    let app = TestApp::new();
    let (_, victim_room) = visitor_with_room(&app, "pv-victim", "Victim").await;
    let victim_rid = victim_room["_id"].as_str().unwrap().to_string();
    let start = open_room_msgs(&app, "pv-victim").await;
    register(&app, json!({"token": "pv-stranger"})).await;

    // A registered stranger, and an unregistered token, name the victim's room.
    for token in ["pv-stranger", "pv-anonymous"] {
        let body = page_body(token, Some(&victim_rid), "Spam", "https://evil.example/");
        let resp = page_visit(&app, &body).await;
        // Answered as any page visit: the caller learns nothing about the room.
        assert_eq!(
            assert_success(&resp),
            json!({
                "page": {
                    "msg": "Spam - https://evil.example/",
                    "navigation": {"page": body["pageInfo"], "token": token},
                },
            })
        );
        // Kept, but room-less.
        assert_eq!(stored_rids(&app, token), [None], "{token}");
    }
    // The victim's room has neither the entries nor their count.
    assert_eq!(open_room_msgs(&app, "pv-victim").await, start);
    let in_room = app.backend().page_visits_of_room(&victim_rid).unwrap();
    assert!(in_room.is_empty(), "{in_room:?}");
    app.assert_consistent();

    // The room's own visitor still writes into it.
    let own = page_body("pv-victim", Some(&victim_rid), "Mine", "https://a/");
    assert_success(&page_visit(&app, &own).await);
    assert_eq!(stored_rids(&app, "pv-victim"), [Some(victim_rid.clone())]);
    assert_eq!(open_room_msgs(&app, "pv-victim").await, start + 1);
}

#[actix_web::test]
async fn the_stored_entry_is_a_hidden_rocket_cat_message() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "pvs1", "Stored").await;
    let rid = room["_id"].as_str().unwrap();
    let body = page_body("pvs1", Some(rid), "Pricing", "https://example.com/pricing");
    assert_success(&page_visit(&app, &body).await);

    let app = app.restart();
    let entries = stored_page_visits(&app, "pvs1");
    assert_eq!(entries.len(), 1, "entries: {entries:?}");
    let entry = &entries[0];
    assert_id(&entry["_id"]);
    assert_date(&entry["ts"]);
    assert_date(&entry["_updatedAt"]);
    assert_eq!(
        without(entry, &["_id", "ts", "_updatedAt"]),
        json!({
            "t": "livechat_navigation_history",
            "rid": rid,
            "msg": "Pricing - https://example.com/pricing",
            "u": {"_id": "rocket.cat", "username": "rocket.cat", "name": "Rocket.Cat"},
            "groupable": false,
            "navigation": {"page": body["pageInfo"], "token": "pvs1"},
            "_hidden": true,
        })
    );
}

#[actix_web::test]
async fn nothing_is_stored_when_not_monitored_or_refused() {
    let app = TestApp::new();
    let mut body = page_body("pvn1", None, "T", "https://x");
    body["pageInfo"]["change"] = json!("title");
    assert_bare_success(&page_visit(&app, &body).await);
    body["pageInfo"]["change"] = json!("url");
    body["pageInfo"]["location"]["extra"] = json!(1);
    assert_bad_request(
        &page_visit(&app, &body).await,
        &invalid_params("must NOT have additional properties"),
    );
    assert!(stored_page_visits(&app, "pvn1").is_empty());
}

#[actix_web::test]
async fn room_less_history_is_kept_then_adopted_by_the_visitors_room() {
    let app = TestApp::new();
    for i in 0..2 {
        let resp = page_visit(
            &app,
            &page_body("early", None, &format!("P{i}"), "https://e"),
        )
        .await;
        assert_success(&resp);
    }
    let before: Vec<_> = app.backend().page_visits_of_token("early").unwrap();
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|p| p.rid.is_none()));
    assert!(
        before.iter().all(|p| p.expire_at.is_some()),
        "entries of an unregistered token without a room expire (history.roomless_ttl_days)"
    );

    register(&app, json!({"token": "early", "name": "Early"})).await;
    let registered = app.backend().page_visits_of_token("early").unwrap();
    assert!(
        registered.iter().all(|p| p.expire_at.is_none()),
        "registering the token lifts the expiry"
    );

    let (room, _) = open_room(&app, "early").await;
    let adopted = app.backend().page_visits_of_token("early").unwrap();
    assert_eq!(adopted.len(), 2);
    for p in &adopted {
        assert_eq!(
            p.rid.as_deref(),
            room["_id"].as_str(),
            "adopted by the new room"
        );
    }
}
