//! §2.4 `GET livechat/visitors.info?visitorId=` (view-l-room).

use super::util::{
    assert_bad_request, assert_success, get_visitor, invalid_params, open_room, plain_error,
    register, sorted_keys, without,
};
use super::*;
use crate::common::TestApp;
use serde_json::json;

#[actix_web::test]
async fn returns_the_whole_visitor_without_its_token() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    register(
        &app,
        json!({"token": "info-token-1", "name": "Ines", "email": "ines@example.com",
               "phone": "+55 51 5555-5555", "department": "sales",
               "customFields": [{"key": "address", "value": "Rua 1", "overwrite": true}]}),
    )
    .await;
    open_room(&app, "info-token-1").await;
    let full = get_visitor(&app, "info-token-1").await;
    assert!(full.get("lastChat").is_some(), "{full}");
    let id = full["_id"].as_str().unwrap();

    let resp = app.get_with(&q(INFO, &[("visitorId", id)]), &agent).await;
    let body = assert_success(&resp);
    assert_eq!(sorted_keys(&body), ["visitor"], "{}", resp.text());
    assert!(resp.text().starts_with("{\"visitor\":{"), "{}", resp.text());
    assert_eq!(body["visitor"], without(&full, &["token"]));
    assert!(
        !resp.text().contains("info-token-1"),
        "no agent response carries a visitor token: {}",
        resp.text()
    );
}

#[actix_web::test]
async fn a_minimal_visitor() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let v = register(&app, json!({"token": "info-min"})).await;
    let resp = app
        .get_with(
            &q(INFO, &[("visitorId", v["_id"].as_str().unwrap())]),
            &agent,
        )
        .await;
    let body = assert_success(&resp);
    assert_eq!(body["visitor"], without(&v, &["token"]));
    assert_eq!(
        sorted_keys(&body["visitor"]),
        ["_id", "_updatedAt", "status", "ts", "username"]
    );
}

#[actix_web::test]
async fn missing_visitor_id() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let resp = app.get_with(INFO, &agent).await;
    assert_bad_request(
        &resp,
        &invalid_params("must have required property 'visitorId'"),
    );
    // Other parameters do not stand in for it.
    let resp = app.get_with(&q(INFO, &[("id", "x")]), &agent).await;
    assert_bad_request(
        &resp,
        &invalid_params("must have required property 'visitorId'"),
    );
}

#[actix_web::test]
async fn only_visitor_id_is_allowed() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let v = register(&app, json!({"token": "info-extra"})).await;
    let id = v["_id"].as_str().unwrap();
    for extra in ["count", "offset", "sort", "fields", "query", "token"] {
        let resp = app
            .get_with(&q(INFO, &[("visitorId", id), (extra, "1")]), &agent)
            .await;
        assert_bad_request(
            &resp,
            &invalid_params("must NOT have additional properties"),
        );
    }
}

#[actix_web::test]
async fn unknown_or_erased_visitor_is_visitor_not_found() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    for id in ["no-such-visitor", "", "info-gone"] {
        let resp = app.get_with(&q(INFO, &[("visitorId", id)]), &agent).await;
        assert_bad_request(&resp, &plain_error("visitor-not-found"));
    }
    // The token is not an id.
    register(&app, json!({"token": "info-tok"})).await;
    let resp = app
        .get_with(&q(INFO, &[("visitorId", "info-tok")]), &agent)
        .await;
    assert_bad_request(&resp, &plain_error("visitor-not-found"));
    // An erased (GDPR) visitor is gone for agents too.
    let v = register(&app, json!({"token": "info-erased"})).await;
    let id = v["_id"].as_str().unwrap();
    let resp = app.get_with(&q(INFO, &[("visitorId", id)]), &agent).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = app.delete(&util::visitor_path("info-erased")).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let resp = app.get_with(&q(INFO, &[("visitorId", id)]), &agent).await;
    assert_bad_request(&resp, &plain_error("visitor-not-found"));
}

#[actix_web::test]
async fn every_role_with_view_l_room_may_read() {
    let app = TestApp::new();
    let v = register(&app, json!({"token": "info-roles", "name": "R"})).await;
    let uri = q(INFO, &[("visitorId", v["_id"].as_str().unwrap())]);
    for role in [
        "admin",
        "livechat-manager",
        "livechat-monitor",
        "livechat-agent",
    ] {
        let creds = app.user(&format!("u-{role}"), &[role]);
        let resp = app.get_with(&uri, &creds).await;
        assert_eq!(resp.status, 200, "{role}: {}", resp.text());
        assert_eq!(resp.json()["visitor"]["name"], json!("R"));
    }
    let plain = app.user("plain", &["user"]);
    assert_forbidden(&app.get_with(&uri, &plain).await);
    let none = app.user("nobody", &[]);
    assert_forbidden(&app.get_with(&uri, &none).await);
}
