//! `GET /metrics`: values move as requests are made, labels carry route templates (never a
//! token), the bearer token is enforced, and `metrics.enabled = false` hides the endpoint.

use super::Scrape;
use crate::common::{Resp, TestApp, PASSWORD};
use actix_web::test::TestRequest;
use serde_json::json;

const VISITOR_ROUTE: &str = "/api/v1/livechat/visitor/{token}";
const REGISTER_ROUTE: &str = "/api/v1/livechat/visitor";

/// Scrapes `/metrics` (no token) and parses the answer, checking its status and content type.
async fn scrape(app: &TestApp) -> Scrape {
    let resp = app.get("/metrics").await;
    scraped(&resp)
}

fn scraped(resp: &Resp) -> Scrape {
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Scrape::parse(&resp.text())
}

fn requests(s: &Scrape, route: &str, method: &str, status: &str) -> Option<f64> {
    s.value(
        "visitord_http_requests_total",
        &[("route", route), ("method", method), ("status", status)],
    )
}

#[actix_web::test]
async fn requests_are_counted_by_route_template_method_and_status() {
    let app = TestApp::new();
    let s = scrape(&app).await;
    assert_eq!(requests(&s, VISITOR_ROUTE, "GET", "200"), None);
    assert_eq!(
        s.value(
            "visitord_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    // The scrape itself is in flight while it is encoded.
    assert_eq!(s.value("visitord_http_requests_in_flight", &[]), Some(1.0));

    let token = "MetricsTok-Qz81-distinct";
    let reg = app
        .post(REGISTER_ROUTE, &json!({"visitor": {"token": token}}))
        .await;
    assert_eq!(reg.status, 200, "{}", reg.text());
    for _ in 0..2 {
        let got = app.get(&format!("/api/v1/livechat/visitor/{token}")).await;
        assert_eq!(got.status, 200, "{}", got.text());
    }
    let missing = app.get("/api/v1/livechat/visitor/no-such-token").await;
    assert_eq!(missing.status, 400, "{}", missing.text());
    let unrouted = app.get(&format!("/nowhere/{token}")).await;
    assert_eq!(unrouted.status, 404);
    let wrong_method = app
        .call(TestRequest::put().uri(&format!("/api/v1/livechat/visitor/{token}")))
        .await;
    assert_eq!(wrong_method.status, 405);

    let s = scrape(&app).await;
    assert_eq!(requests(&s, REGISTER_ROUTE, "POST", "200"), Some(1.0));
    assert_eq!(requests(&s, VISITOR_ROUTE, "GET", "200"), Some(2.0));
    assert_eq!(requests(&s, VISITOR_ROUTE, "GET", "400"), Some(1.0));
    assert_eq!(requests(&s, VISITOR_ROUTE, "PUT", "405"), Some(1.0));
    assert_eq!(requests(&s, "unmatched", "GET", "404"), Some(1.0));
    // The first scrape is counted too (after it was answered).
    assert_eq!(requests(&s, "/metrics", "GET", "200"), Some(1.0));
    let (count, _) = s
        .histogram(
            "visitord_http_request_duration_seconds",
            &[("route", VISITOR_ROUTE), ("method", "GET")],
        )
        .expect("a latency histogram of GET visitor/{token}");
    assert_eq!(count, 3);
    // No visitor token anywhere in the scrape, though it was in three paths.
    assert!(
        !s.text.contains(token),
        "a token in the scrape:\n{}",
        s.text
    );
    assert!(!s.text.contains("no-such-token"), "{}", s.text);
}

#[actix_web::test]
async fn a_registration_moves_the_visitor_gauge_and_the_group_commit_metrics() {
    let app = TestApp::new();
    let s = scrape(&app).await;
    assert_eq!(s.value("visitord_store_visitors", &[]), Some(0.0));
    assert_eq!(
        s.histogram("visitord_store_commit_batch_size", &[]),
        Some((0, 0.0))
    );
    for i in 0..3 {
        let reg = app
            .post(
                REGISTER_ROUTE,
                &json!({"visitor": {"token": format!("gauge-{i}")}}),
            )
            .await;
        assert_eq!(reg.status, 200, "{}", reg.text());
    }
    let s = scrape(&app).await;
    assert_eq!(s.value("visitord_store_visitors", &[]), Some(3.0));
    if crate::common::on_postgres() {
        // No group commit: the database's COMMIT makes a write durable.
        assert_eq!(
            s.histogram("visitord_store_commit_batch_size", &[]),
            Some((0, 0.0))
        );
        return;
    }
    // Each write waited for one durable flush: the flushes' batch sizes add up to the writes.
    let (flushes, written) = s
        .histogram("visitord_store_commit_batch_size", &[])
        .expect("batch sizes");
    assert!(flushes >= 1);
    assert_eq!(written, 3.0);
    let (timed, _) = s
        .histogram("visitord_store_commit_flush_duration_seconds", &[])
        .expect("flush latency");
    assert_eq!(timed, flushes);
    assert_eq!(
        s.value("visitord_store_commit_flush_failures_total", &[]),
        Some(0.0)
    );
}

#[actix_web::test]
async fn a_429_counts_as_a_refusal_of_its_limit() {
    let app = TestApp::with_config(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.visitor_register_per_min = 1;
    });
    let first = app
        .post(REGISTER_ROUTE, &json!({"visitor": {"token": "limited-1"}}))
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let s = scrape(&app).await;
    assert_eq!(
        s.value(
            "visitord_rate_limit_refusals_total",
            &[("route", "visitor_register")]
        ),
        None
    );
    let second = app
        .post(REGISTER_ROUTE, &json!({"visitor": {"token": "limited-2"}}))
        .await;
    assert_eq!(second.status, 429, "{}", second.text());
    let s = scrape(&app).await;
    assert_eq!(
        s.value(
            "visitord_rate_limit_refusals_total",
            &[("route", "visitor_register")]
        ),
        Some(1.0)
    );
    assert_eq!(requests(&s, REGISTER_ROUTE, "POST", "429"), Some(1.0));
}

#[actix_web::test]
async fn a_failed_login_counts_as_a_login_failure_and_a_search_is_timed() {
    let app = TestApp::new();
    let admin = app.user("alice", &["admin"]);
    let s = scrape(&app).await;
    assert_eq!(s.value("visitord_login_failures_total", &[]), Some(0.0));
    let wrong = app
        .post(
            "/api/v1/login",
            &json!({"user": "alice", "password": "not the password"}),
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    let right = app
        .post(
            "/api/v1/login",
            &json!({"user": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(right.status, 200, "{}", right.text());
    let search = app
        .get_with("/api/v1/livechat/visitors.search?term=abc", &admin)
        .await;
    assert_eq!(search.status, 200, "{}", search.text());
    let s = scrape(&app).await;
    assert_eq!(s.value("visitord_login_failures_total", &[]), Some(1.0));
    let (searches, _) = s
        .histogram("visitord_search_duration_seconds", &[])
        .expect("search latency");
    assert_eq!(searches, 1);
}

#[actix_web::test]
async fn the_bearer_token_is_required_when_configured() {
    let app = TestApp::with_config(|c| c.metrics.bearer_token = "scrape-secret-77".into());
    let unauthorized = json!({
        "success": false,
        "error": "You must be logged in to do this.",
        "status": "error",
        "message": "You must be logged in to do this."
    });
    for header in [
        None,
        Some("Bearer wrong-secret"),
        Some("Bearer scrape-secret-7"),
        Some("Basic scrape-secret-77"),
        Some("scrape-secret-77"),
    ] {
        let mut req = TestRequest::get().uri("/metrics");
        if let Some(h) = header {
            req = req.insert_header(("Authorization", h));
        }
        let resp = app.call(req).await;
        assert_eq!(resp.status, 401, "{header:?}: {}", resp.text());
        assert_eq!(
            resp.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(resp.header("www-authenticate").as_deref(), Some("Bearer"));
        assert_eq!(resp.json(), unauthorized);
    }
    for header in ["Bearer scrape-secret-77", "bearer scrape-secret-77"] {
        let resp = app
            .call(
                TestRequest::get()
                    .uri("/metrics")
                    .insert_header(("Authorization", header)),
            )
            .await;
        let s = scraped(&resp);
        assert_eq!(requests(&s, "/metrics", "GET", "401"), Some(5.0));
    }
}

#[actix_web::test]
async fn disabled_metrics_answer_the_json_404() {
    let app = TestApp::with_config(|c| c.metrics.enabled = false);
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        resp.json(),
        json!({"success": false, "error": "API endpoint does not exist"})
    );
}

#[actix_web::test]
async fn every_response_has_a_request_id_and_a_proxy_s_is_kept_when_well_formed() {
    let app = TestApp::new();
    let a = app.get("/health/live").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"status": "live", "success": true}));
    let id = a.header("x-request-id").expect("X-Request-Id");
    assert_eq!(id.len(), 16, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let b = app.get("/health/live").await;
    assert_ne!(b.header("x-request-id"), Some(id));
    let kept = app
        .call(
            TestRequest::get()
                .uri("/health")
                .insert_header(("X-Request-Id", "proxy-id_1.2")),
        )
        .await;
    assert_eq!(kept.header("x-request-id").as_deref(), Some("proxy-id_1.2"));
    let replaced = app
        .call(
            TestRequest::get()
                .uri("/health")
                .insert_header(("X-Request-Id", "has spaces\"and quotes")),
        )
        .await;
    let replaced = replaced.header("x-request-id").expect("X-Request-Id");
    assert_eq!(replaced.len(), 16, "{replaced}");
}
