//! `GET /api/v1/visitord.visitors.search?term=` (view-l-room, paginated): visitord's own form of
//! `livechat/visitors.search` for the console, whose items also carry `ts` and `_updatedAt`.
//! Everything else — parameters, matches, order, totals, errors — is the Rocket.Chat endpoint's.

use super::util::{get_visitor, open_room, register};
use super::*;
use crate::common::{Creds, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

/// The same visitor people with distinct creation times (a millisecond apart at least).
async fn people(app: &TestApp) -> Vec<Value> {
    let mut full = Vec::new();
    for (token, name, email, phone) in [
        ("c-1", "Zoe Adams", "zoe@example.org", "+1 555 0101"),
        ("c-2", "Ana Souza", "ana@example.com.br", "55 51 5555-5555"),
        ("c-3", "Bob Stone", "bob@example.org", "+44 20 7946 0000"),
        ("c-4", "Carla Diaz", "carla@example.es", "+34 91 123 4567"),
    ] {
        register(
            app,
            json!({"token": token, "name": name, "email": email, "phone": phone}),
        )
        .await;
        actix_web::rt::time::sleep(Duration::from_millis(3)).await;
    }
    open_room(app, "c-3").await;
    for token in ["c-1", "c-2", "c-3", "c-4"] {
        full.push(get_visitor(app, token).await);
    }
    full
}

/// A console item without the two fields it adds: what `livechat/visitors.search` answers.
fn without_times(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(m) = item.as_object_mut() {
        m.remove("ts");
        m.remove("_updatedAt");
    }
    item
}

#[actix_web::test]
async fn items_are_the_search_items_with_created_and_updated_times() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let full = people(&app).await;
    let resp = app
        .get_with(&q(CONSOLE_SEARCH, &[("term", "Bob")]), &agent)
        .await;
    let visitors = assert_page(&resp, "visitors", 0, 1);
    let bob = &full[2];
    // Rocket.Chat's projection (this fixture has no custom fields) and the two times, sorted.
    const KEYS: [&str; 8] = [
        "_id",
        "_updatedAt",
        "lastChat",
        "name",
        "phone",
        "ts",
        "username",
        "visitorEmails",
    ];
    assert_eq!(sorted_keys(&visitors[0]), KEYS);
    for key in KEYS {
        assert_eq!(visitors[0][key], bob[key], "{key}");
    }
    assert!(!resp.text().contains("c-3"), "a token in {}", resp.text());
}

/// Each query, valid or not, against both endpoints: the same status and the same body once the
/// two added fields are taken out of the items.
#[actix_web::test]
async fn answers_as_livechat_visitors_search_but_for_the_two_fields() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    people(&app).await;
    let long = "a".repeat(257);
    let queries: Vec<Vec<(&str, &str)>> = vec![
        vec![("term", "")],
        vec![("term", "a")],
        vec![("term", "EXAMPLE.ORG")],
        vec![("term", "5555-5555")],
        vec![("term", ""), ("sort", r#"{"ts":1}"#)],
        vec![("term", ""), ("sort", r#"{"name":1}"#), ("count", "2")],
        vec![("term", ""), ("sort", r#"{"name":-1}"#), ("offset", "1")],
        vec![("term", ""), ("sort", r#"{"lastChat.ts":-1}"#)],
        vec![("term", ""), ("sort", r#"{"_updatedAt":1}"#)],
        vec![("term", "nobody at all")],
        vec![],
        vec![("text", "a")],
        vec![("term", &long)],
        vec![("term", ""), ("sort", "{not json")],
        vec![("term", ""), ("sort", r#"{"token":1}"#)],
        vec![("term", ""), ("count", "abc")],
        vec![("term", ""), ("offset", "-1")],
    ];
    let mut compared_pages = 0;
    for pairs in &queries {
        let theirs = app.get_with(&q(SEARCH, pairs), &agent).await;
        let ours = app.get_with(&q(CONSOLE_SEARCH, pairs), &agent).await;
        assert_eq!(ours.status, theirs.status, "{pairs:?}: {}", ours.text());
        let mut body = ours.json();
        if ours.status == 200 {
            let items = body["visitors"].as_array().expect("visitors").clone();
            for item in &items {
                assert!(item["ts"].is_string(), "{pairs:?}: no ts in {item}");
                assert!(item["_updatedAt"].is_string(), "{pairs:?}: {item}");
            }
            body["visitors"] = Value::Array(items.iter().map(without_times).collect());
            compared_pages += 1;
        }
        assert_eq!(body, theirs.json(), "{pairs:?}");
    }
    assert_eq!(compared_pages, 10, "the valid queries answered 200");
}

#[actix_web::test]
async fn sorted_by_creation_time_newest_first_by_default() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let full = people(&app).await;
    let created: Vec<Value> = full.iter().map(|v| v["ts"].clone()).collect();
    let order = |pairs: &[(&str, &str)]| {
        let uri = q(CONSOLE_SEARCH, pairs);
        let app = &app;
        let agent = &agent;
        async move {
            let resp = app.get_with(&uri, agent).await;
            assert_page(&resp, "visitors", 0, 4)
                .iter()
                .map(|v| v["ts"].clone())
                .collect::<Vec<Value>>()
        }
    };
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(order(&[("term", "")]).await, newest_first);
    assert_eq!(
        order(&[("term", ""), ("sort", r#"{"ts":1}"#)]).await,
        created
    );
    assert_eq!(
        order(&[("term", ""), ("sort", r#"{"ts":-1}"#)]).await,
        newest_first
    );
}

/// Only callers with `view-l-room` see it; a `user`-role login is refused like on the
/// Rocket.Chat endpoint.
#[actix_web::test]
async fn needs_view_l_room() {
    let app = TestApp::new();
    people(&app).await;
    let user: Creds = app.user("plain", &["user"]);
    let resp = app
        .get_with(&q(CONSOLE_SEARCH, &[("term", "")]), &user)
        .await;
    assert_forbidden(&resp);
    let resp = app.get(&q(CONSOLE_SEARCH, &[("term", "")])).await;
    assert_unauthorized(&resp);
}
