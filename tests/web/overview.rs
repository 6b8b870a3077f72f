//! `GET /api/v1/visitord.overview`: the console's overview from the store's counters.

use crate::api::util::{register, PAGE_VISITED};
use crate::common::TestApp;
use serde_json::{json, Value};

const OVERVIEW: &str = "/api/v1/visitord.overview";

async fn visit(app: &TestApp, token: &str, href: &str) {
    let resp = app
        .post(
            PAGE_VISITED,
            &json!({"token": token, "pageInfo": {"change": "url", "title": "T", "location": {"href": href}}}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
}

fn today(body: &Value) -> (&Value, &Value) {
    let days = body["overview"]["days"].as_array().unwrap();
    let last = days.last().unwrap();
    (&last["newVisitors"], &last["pageVisits"])
}

#[actix_web::test]
async fn counts_today_and_the_most_visited_pages_and_forgets_the_erased() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let plain = app.user("plain", &["user"]);

    let empty = app.get_with(OVERVIEW, &agent).await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    let body = empty.json();
    assert_eq!(body["success"], json!(true));
    assert_eq!(body["overview"]["visitors"], json!(0));
    let days = body["overview"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(days[29]["date"], json!(date));
    assert!(days
        .iter()
        .all(|d| d["newVisitors"] == json!(0) && d["pageVisits"] == json!(0)));
    assert_eq!(body["overview"]["topPages"], json!([]));

    register(&app, json!({"token": "ov-a", "name": "A"})).await;
    register(&app, json!({"token": "ov-b", "name": "B"})).await;
    for (token, href) in [
        ("ov-a", "https://shop.example/"),
        ("ov-a", "https://shop.example/cart"),
        ("ov-b", "https://shop.example/"),
        ("ov-anon", "https://shop.example/"),
        ("ov-a", "https://shop.example/private?email=a@example.com"),
    ] {
        visit(&app, token, href).await;
    }
    let body = app.get_with(OVERVIEW, &agent).await.json();
    assert_eq!(body["overview"]["visitors"], json!(2));
    assert_eq!(today(&body), (&json!(2), &json!(5)));
    assert_eq!(
        body["overview"]["topPages"],
        json!([
            {"href": "https://shop.example/", "visits": 3},
            {"href": "https://shop.example/cart", "visits": 1},
            {"href": "https://shop.example/private?email=a@example.com", "visits": 1},
        ])
    );

    // GDPR erasure: the visitor, its entries and the pages only it visited leave the overview.
    let deleted = app.delete("/api/v1/livechat/visitor/ov-a").await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let body = app.get_with(OVERVIEW, &agent).await.json();
    assert_eq!(body["overview"]["visitors"], json!(1));
    assert_eq!(today(&body), (&json!(1), &json!(2)));
    assert_eq!(
        body["overview"]["topPages"],
        json!([{"href": "https://shop.example/", "visits": 2}])
    );

    assert_eq!(app.get_with(OVERVIEW, &plain).await.status, 403);
    assert_eq!(app.get(OVERVIEW).await.status, 401);
    let extra = app.get_with(&format!("{OVERVIEW}?days=7"), &agent).await;
    assert_eq!(extra.status, 400, "{}", extra.text());
}
