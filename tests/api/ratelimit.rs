//! §1.1 rate limits: POST visitor and GET room per IP, page.visited per visitor token, other
//! anonymous routes per IP; the 429 body and headers.

use super::util::*;
use crate::common::{Resp, TestApp};
use serde_json::json;

const TOO_MANY_PREFIX: &str =
    r#"{"success":false,"error":"Error, too many requests. Please slow down. You must wait "#;
const TOO_MANY_SUFFIX: &str =
    r#" seconds before trying this endpoint again. [error-too-many-requests]"}"#;

/// A 429 with the exact body (N = seconds to wait, at most a minute) and the rate-limit headers.
fn assert_too_many(resp: &Resp, limit: u32) {
    assert_eq!(resp.status, 429, "body: {}", resp.text());
    assert_json_headers(resp);
    let text = resp.text();
    let n = text
        .strip_prefix(TOO_MANY_PREFIX)
        .and_then(|rest| rest.strip_suffix(TOO_MANY_SUFFIX))
        .unwrap_or_else(|| panic!("429 body: {text}"));
    assert!(
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        "N must be a number of seconds: {text}"
    );
    let n: u64 = n.parse().unwrap();
    assert!(
        n <= 60,
        "a one-minute window never asks to wait {n} seconds"
    );
    assert_eq!(sorted_keys(&resp.json()), ["error", "success"]);

    assert_eq!(resp.header("x-ratelimit-limit"), Some(limit.to_string()));
    assert_eq!(resp.header("x-ratelimit-remaining").as_deref(), Some("0"));
    let reset = resp.header("x-ratelimit-reset").expect("X-RateLimit-Reset");
    let reset: u64 = reset
        .parse()
        .unwrap_or_else(|_| panic!("X-RateLimit-Reset must be epoch ms: {reset:?}"));
    assert!(
        reset > 1_000_000_000_000,
        "X-RateLimit-Reset in epoch ms: {reset}"
    );
}

fn limited(f: impl FnOnce(&mut visitord::config::Config)) -> TestApp {
    TestApp::with_config(|c| {
        c.rate_limit.enabled = true;
        f(c);
    })
}

/// The limit is counted before the body is read: once the window is full even a malformed
/// body gets the 429 (the server spends nothing on parsing a limited client's bodies).
#[actix_web::test]
async fn a_full_window_refuses_before_the_body_is_read() {
    let app = limited(|_| {});
    for i in 0..5 {
        register(&app, json!({ "token": format!("rb{i}") })).await;
    }
    let resp = app.post_raw("/api/v1/livechat/visitor", "{not json").await;
    assert_too_many(&resp, 5);
}

#[actix_web::test]
async fn sixth_registration_in_a_minute_is_refused() {
    let app = limited(|_| {});
    for i in 0..5 {
        register(&app, json!({ "token": format!("rl{i}") })).await;
    }
    let resp = post_visitor(&app, json!({"token": "rl-refused"})).await;
    assert_too_many(&resp, 5);
    // The refused request wrote nothing.
    assert_no_visitor(&app, "rl-refused").await;
}

#[actix_web::test]
async fn registration_limit_is_configurable() {
    let app = limited(|c| c.rate_limit.visitor_register_per_min = 2);
    register(&app, json!({"token": "c1"})).await;
    register(&app, json!({"token": "c2"})).await;
    assert_too_many(&post_visitor(&app, json!({"token": "c3"})).await, 2);
}

#[actix_web::test]
async fn room_is_limited_separately_from_registration() {
    let app = limited(|_| {});
    register(&app, json!({"token": "rm1", "name": "R"})).await;
    for _ in 0..5 {
        open_room(&app, "rm1").await;
    }
    assert_too_many(&app.get(&room_path("rm1")).await, 5);
    // Its own bucket: registration still has 4 calls left.
    register(&app, json!({"token": "rm2"})).await;
}

#[actix_web::test]
async fn page_visited_is_limited_per_token_not_per_ip() {
    let app = limited(|_| {});
    for i in 0..60 {
        let resp = page_visit(
            &app,
            &page_body("busy", None, &format!("p{i}"), "https://x"),
        )
        .await;
        assert_success(&resp);
    }
    let resp = page_visit(&app, &page_body("busy", None, "p60", "https://x")).await;
    assert_too_many(&resp, 60);
    // Another visitor behind the same address is not throttled.
    let resp = page_visit(&app, &page_body("calm", None, "p0", "https://x")).await;
    assert_success(&resp);
}

#[actix_web::test]
async fn page_visited_limit_is_configurable() {
    let app = limited(|c| c.rate_limit.page_visited_per_token_per_min = 3);
    for _ in 0..3 {
        assert_success(&page_visit(&app, &page_body("few", None, "t", "https://x")).await);
    }
    assert_too_many(
        &page_visit(&app, &page_body("few", None, "t", "https://x")).await,
        3,
    );
    assert_success(&page_visit(&app, &page_body("other", None, "t", "https://x")).await);
}

#[actix_web::test]
async fn other_anonymous_routes_allow_ten_a_minute() {
    let app = limited(|_| {});
    register(&app, json!({"token": "anon"})).await;
    for _ in 0..10 {
        get_visitor(&app, "anon").await;
    }
    assert_too_many(&app.get(&visitor_path("anon")).await, 10);
}

#[actix_web::test]
async fn anonymous_limit_is_configurable() {
    let app = limited(|c| c.rate_limit.anonymous_per_min = 1);
    register(&app, json!({"token": "anon2"})).await;
    get_visitor(&app, "anon2").await;
    assert_too_many(&app.get(&visitor_path("anon2")).await, 1);
}

#[actix_web::test]
async fn disabled_rate_limit_refuses_nothing() {
    let app = TestApp::new();
    for i in 0..12 {
        register(&app, json!({ "token": format!("free{i}") })).await;
    }
    for _ in 0..12 {
        get_visitor(&app, "free0").await;
    }
}

#[actix_web::test]
async fn forwarding_headers_do_not_escape_the_ip_bucket() {
    let app = limited(|_| {});
    for i in 0..5 {
        register(&app, json!({ "token": format!("sp{i}") })).await;
    }
    let resp = post_with_headers(
        &app,
        VISITOR,
        &json!({"visitor": {"token": "spoof"}}),
        &[
            ("X-Forwarded-For", "203.0.113.99"),
            ("X-Real-IP", "203.0.113.98"),
        ],
    )
    .await;
    assert_too_many(&resp, 5);
}

#[actix_web::test]
async fn a_trusted_proxy_gives_each_client_its_bucket() {
    let app = limited(|c| c.rate_limit.trust_forwarded_for = true);
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    for i in 0..5 {
        let body = json!({"visitor": {"token": format!("px{i}")}});
        assert_success(&post_with_headers(&app, VISITOR, &body, &from("198.51.100.1")).await);
    }
    let body = json!({"visitor": {"token": "px-a"}});
    assert_too_many(
        &post_with_headers(&app, VISITOR, &body, &from("198.51.100.1")).await,
        5,
    );
    let body = json!({"visitor": {"token": "px-b"}});
    assert_success(&post_with_headers(&app, VISITOR, &body, &from("198.51.100.2")).await);
}

#[actix_web::test]
async fn page_visited_is_also_limited_per_ip() {
    let app = limited(|c| c.rate_limit.page_visited_per_ip_per_min = 3);
    for i in 0..3 {
        let body = page_body(&format!("fresh{i}"), None, "t", "https://x");
        assert_success(&page_visit(&app, &body).await);
    }
    // A fresh token does not help: the address is over its limit.
    let body = page_body("fresh3", None, "t", "https://x");
    assert_too_many(&page_visit(&app, &body).await, 3);
}

#[actix_web::test]
async fn spoofed_left_forwarded_entries_share_the_proxy_given_bucket() {
    let app = limited(|c| c.rate_limit.trust_forwarded_for = true);
    for i in 0..5 {
        let body = json!({"visitor": {"token": format!("lf{i}")}});
        let xff = format!("6.6.6.{i}, 198.51.100.1");
        let resp = post_with_headers(&app, VISITOR, &body, &[("X-Forwarded-For", &xff)]).await;
        assert_success(&resp);
    }
    let body = json!({"visitor": {"token": "lf-spoof"}});
    let resp = post_with_headers(
        &app,
        VISITOR,
        &body,
        &[("X-Forwarded-For", "7.7.7.7, 198.51.100.1")],
    )
    .await;
    assert_too_many(&resp, 5);
    assert_no_visitor(&app, "lf-spoof").await;
}

#[actix_web::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // The test peer is 127.0.0.1: not in this list.
    let app = limited(|c| {
        c.rate_limit.trust_forwarded_for = true;
        c.rate_limit.trusted_proxies = vec!["10.0.0.0/8".into()];
    });
    for i in 0..5 {
        let body = json!({"visitor": {"token": format!("up{i}")}});
        let xff = format!("198.51.100.{i}");
        let resp = post_with_headers(&app, VISITOR, &body, &[("X-Forwarded-For", &xff)]).await;
        assert_success(&resp);
    }
    let body = json!({"visitor": {"token": "up-more"}});
    let resp =
        post_with_headers(&app, VISITOR, &body, &[("X-Forwarded-For", "198.51.100.9")]).await;
    assert_too_many(&resp, 5);
}
