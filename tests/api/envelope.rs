//! §1.1 envelope: 404/405, unusable bodies, the body limit, success envelope, `/api/info`,
//! `/health`, and credentials being ignored on visitor endpoints.

use super::util::*;
use crate::common::TestApp;
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

fn not_found() -> serde_json::Value {
    plain_error("API endpoint does not exist")
}

/// The methods listed in the `Allow` header of a 405.
fn allowed_methods(resp: &crate::common::Resp) -> Vec<String> {
    let allow = resp
        .header("allow")
        .unwrap_or_else(|| panic!("405 without an Allow header: {}", resp.text()));
    allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

#[actix_web::test]
async fn unknown_api_path_is_json_404() {
    let app = TestApp::new();
    for uri in [
        "/api/v1/does-not-exist",
        "/api/v1/livechat/nothing-here",
        "/api/v2/livechat/visitor",
        "/api/",
    ] {
        let resp = app.get(uri).await;
        assert_failure(&resp, 404, &not_found());
    }
    let resp = app.post("/api/v1/livechat/nothing-here", &json!({})).await;
    assert_failure(&resp, 404, &not_found());
    let resp = app.delete("/api/v1/nope/x").await;
    assert_failure(&resp, 404, &not_found());
}

#[actix_web::test]
async fn unknown_path_outside_api_is_json_404() {
    let app = TestApp::new();
    // `/` redirects to the console (tests/web), unknown files under it are JSON 404s there too.
    for uri in ["/nope", "/index.html", "/livechat/visitor", "/health/x"] {
        let resp = app.get(uri).await;
        assert_failure(&resp, 404, &not_found());
    }
    let resp = app.post("/somewhere", &json!({"a": 1})).await;
    assert_failure(&resp, 404, &not_found());
}

#[actix_web::test]
async fn wrong_method_is_405_with_allow_header() {
    let app = TestApp::new();
    let cases: [(Method, &str, &[&str]); 7] = [
        (Method::PUT, "/api/v1/livechat/visitor", &["POST"]),
        (Method::GET, "/api/v1/livechat/visitor", &["POST"]),
        (
            Method::PATCH,
            "/api/v1/livechat/visitor/sometoken",
            &["GET", "DELETE"],
        ),
        (
            Method::POST,
            "/api/v1/livechat/visitor/sometoken",
            &["GET", "DELETE"],
        ),
        (Method::GET, "/api/v1/livechat/page.visited", &["POST"]),
        (Method::DELETE, "/api/v1/livechat/room", &["GET"]),
        (Method::GET, "/api/v1/livechat/room.close", &["POST"]),
    ];
    for (method, uri, allowed) in cases {
        let resp = app.method(method.clone(), uri).await;
        assert_failure(&resp, 405, &not_found());
        let listed = allowed_methods(&resp);
        for m in allowed {
            assert!(
                listed.iter().any(|l| l == m),
                "{method} {uri}: Allow {listed:?} must list {m}"
            );
        }
        assert!(
            !listed.iter().any(|l| *l == method.as_str()),
            "{method} {uri}: Allow {listed:?} must not list the refused method"
        );
    }
    let resp = app.method(Method::POST, "/api/info").await;
    assert_failure(&resp, 405, &not_found());
    assert!(allowed_methods(&resp).iter().any(|m| m == "GET"));
}

#[actix_web::test]
async fn malformed_json_is_invalid_params() {
    let app = TestApp::new();
    for body in [
        &b"{\"visitor\":"[..],
        b"{visitor:{token:\"mal1\"}}",
        b"{\"visitor\":{\"token\":\"mal1\"}} trailing",
        b"{\"visitor\":{\"token\":\"mal1\",}}",
        b"not json at all",
    ] {
        let resp = app.post_raw(VISITOR, body.to_vec()).await;
        assert_unparsable_body(&resp);
    }
    assert_no_visitor(&app, "mal1").await;

    let resp = app
        .post_raw(PAGE_VISITED, &b"{\"token\":\"x\",\"pageInfo\":"[..])
        .await;
    assert_unparsable_body(&resp);
    let resp = app.post_raw(ROOM_CLOSE, &b"{\"rid\":"[..]).await;
    assert_unparsable_body(&resp);
}

#[actix_web::test]
async fn empty_body_is_invalid_params() {
    let app = TestApp::new();
    for uri in [VISITOR, PAGE_VISITED, ROOM_CLOSE, MESSAGE] {
        let resp = app.post_raw(uri, Vec::new()).await;
        assert_unparsable_body(&resp);
    }
}

#[actix_web::test]
async fn non_object_body_is_invalid_params() {
    let app = TestApp::new();
    for body in ["[]", "[1,2]", "\"text\"", "42", "true", "null"] {
        for uri in [PAGE_VISITED, ROOM_CLOSE, MESSAGE] {
            let resp = app.post_raw(uri, body.as_bytes().to_vec()).await;
            assert_unparsable_body(&resp);
        }
    }
}

#[actix_web::test]
async fn invalid_utf8_body_is_invalid_params() {
    let app = TestApp::new();
    let mut body = b"{\"visitor\":{\"token\":\"utf".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(b"\"}}");
    let resp = app.post_raw(VISITOR, body).await;
    assert_unparsable_body(&resp);

    let mut body = b"{\"token\":\"".to_vec();
    body.push(0x80);
    body.extend_from_slice(
        b"\",\"pageInfo\":{\"change\":\"url\",\"title\":\"t\",\"location\":{\"href\":\"h\"}}}",
    );
    let resp = app.post_raw(PAGE_VISITED, body).await;
    assert_unparsable_body(&resp);
}

fn payload_too_large() -> serde_json::Value {
    coded_error(
        "Payload too large [error-payload-too-large]",
        "error-payload-too-large",
    )
}

#[actix_web::test]
async fn body_over_the_limit_is_413() {
    let app = TestApp::with_config(|c| c.server.body_limit_bytes = 64);

    // A small body still works: the limit is the configured one, not a blanket refusal.
    let small = register(&app, json!({"token": "small1"})).await;
    assert_eq!(small["token"], json!("small1"));

    let big = json!({"visitor": {"token": "big1", "name": "n".repeat(200)}});
    let resp = app.post(VISITOR, &big).await;
    assert_failure(&resp, 413, &payload_too_large());
    assert_no_visitor(&app, "big1").await;

    let resp = page_visit(
        &app,
        &page_body("big1", None, &"t".repeat(100), "https://x"),
    )
    .await;
    assert_failure(&resp, 413, &payload_too_large());
}

#[actix_web::test]
async fn oversize_malformed_body_is_413_not_400() {
    let app = TestApp::with_config(|c| c.server.body_limit_bytes = 64);
    let mut body = b"{\"visitor\":".to_vec();
    body.extend(std::iter::repeat_n(b'x', 200));
    let resp = app.post_raw(VISITOR, body).await;
    assert_failure(&resp, 413, &payload_too_large());

    let mut body = vec![0xffu8; 100];
    body.extend_from_slice(b"not json");
    let resp = app.post_raw(PAGE_VISITED, body).await;
    assert_failure(&resp, 413, &payload_too_large());
}

#[actix_web::test]
async fn default_body_limit_is_one_mib() {
    let app = TestApp::new();
    let json_body = b"{\"visitor\":{\"token\":\"mib1\"}}";
    let pad_to = |len: usize| {
        let mut body = json_body.to_vec();
        body.resize(len, b' ');
        body
    };
    let resp = app.post_raw(VISITOR, pad_to(1_048_577)).await;
    assert_failure(&resp, 413, &payload_too_large());
    assert_no_visitor(&app, "mib1").await;

    let resp = app.post_raw(VISITOR, pad_to(1_048_576)).await;
    let body = assert_success(&resp);
    assert_eq!(body["visitor"]["token"], json!("mib1"));
}

#[actix_web::test]
async fn success_envelope_has_json_headers_and_success_last() {
    let app = TestApp::new();
    let resp = post_visitor(&app, json!({"token": "env1"})).await;
    let body = assert_success(&resp);
    assert_eq!(sorted_keys(&body), ["visitor"]);
    let resp = app.get(&visitor_path("env1")).await;
    assert_success(&resp);
}

#[actix_web::test]
async fn api_info_reports_a_version() {
    let app = TestApp::new();
    let resp = app.get("/api/info").await;
    let body = assert_success(&resp);
    assert_eq!(sorted_keys(&body), ["version"], "body: {}", resp.text());
    let version = body["version"].as_str().expect("version is a string");
    assert!(!version.is_empty());
    assert_eq!(
        resp.text(),
        json!({"version": version, "success": true}).to_string()
    );
}

#[actix_web::test]
async fn health_is_200_json() {
    let app = TestApp::new();
    let resp = app.get("/health").await;
    assert_eq!(resp.status, 200, "body: {}", resp.text());
    assert_json_headers(&resp);
    let _ = resp.json();
}

#[actix_web::test]
async fn visitor_endpoints_ignore_credentials() {
    let app = TestApp::new();
    let creds = [("X-User-Id", "nobody"), ("X-Auth-Token", "bogus-token")];
    let resp = post_with_headers(
        &app,
        VISITOR,
        &json!({"visitor": {"token": "cred1"}}),
        &creds,
    )
    .await;
    let body = assert_success(&resp);
    assert_eq!(body["visitor"]["token"], json!("cred1"));

    let resp = app
        .get_as(&visitor_path("cred1"), "nobody", "bogus-token")
        .await;
    let body = assert_success(&resp);
    assert_eq!(body["visitor"]["token"], json!("cred1"));

    let resp = app
        .get_as(&room_path("cred1"), "nobody", "bogus-token")
        .await;
    let body = assert_success(&resp);
    assert_eq!(body["newRoom"], json!(true));

    let resp = app
        .call(
            TestRequest::post()
                .uri(PAGE_VISITED)
                .insert_header(("X-User-Id", "nobody"))
                .insert_header(("X-Auth-Token", "bogus-token"))
                .set_json(page_body("cred1", None, "T", "https://h")),
        )
        .await;
    assert_success(&resp);
}

#[actix_web::test]
async fn declared_length_over_the_limit_is_413_before_reading() {
    let app = TestApp::with_config(|c| c.server.body_limit_bytes = 1024);
    // The declared length decides: the (short) bytes that follow are never parsed.
    let resp = app
        .call(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(&b"{\"visitor\":{\"token\":\"cl1\"}}"[..])
                .insert_header(("Content-Length", "2000000")),
        )
        .await;
    assert_failure(&resp, 413, &payload_too_large());
    assert_no_visitor(&app, "cl1").await;
}

fn preflight(origin: &str) -> TestRequest {
    TestRequest::default()
        .method(Method::OPTIONS)
        .uri(VISITOR)
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header(("Access-Control-Request-Headers", "content-type"))
}

#[actix_web::test]
async fn cors_preflight_of_an_allowed_origin_is_answered() {
    let app = TestApp::new();
    let resp = app.call(preflight("https://shop.example")).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_json_headers(&resp);
    assert_eq!(resp.json(), json!({"success": true}));
    assert_eq!(
        resp.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let methods = resp
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = resp
        .header("access-control-allow-headers")
        .unwrap_or_default();
    assert!(
        headers.contains("X-Auth-Token") && headers.contains("Content-Type"),
        "{headers}"
    );
    // A real request from the browser carries the origin header back.
    let resp = app
        .call(
            TestRequest::get()
                .uri("/api/info")
                .insert_header(("Origin", "https://shop.example")),
        )
        .await;
    assert_eq!(
        resp.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
}

#[actix_web::test]
async fn cors_preflight_refusal_is_json() {
    let app = TestApp::with_config(|c| c.server.cors_origins = vec!["https://shop.example".into()]);
    let resp = app.call(preflight("https://elsewhere.example")).await;
    assert_failure(
        &resp,
        403,
        &json!({
            "success": false,
            "error": "Cross-origin requests from this origin are not allowed [error-cors-origin]",
            "errorType": "error-cors-origin"
        }),
    );
    assert_eq!(resp.header("access-control-allow-origin"), None);
    let resp = app.call(preflight("https://shop.example")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("access-control-allow-origin").as_deref(),
        Some("https://shop.example")
    );
    let resp = app
        .call(
            TestRequest::get()
                .uri("/api/info")
                .insert_header(("Origin", "https://elsewhere.example")),
        )
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("access-control-allow-origin"), None);
}
