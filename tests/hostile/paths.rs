//! Hostile paths: tokens and ids with `/`, `%2F`, `..`, `%00`, invalid UTF-8 and very long
//! segments; unknown paths; every method on every path.

use super::json::string;
use super::{clip, config, encode, Hostile};
use crate::api::util::{
    assert_bad_request, assert_success, coded_error, invalid_token, plain_error, visitor_path,
    MESSAGE, PAGE_VISITED, ROOM, ROOM_CLOSE, VISITOR,
};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::json;

/// Percent-encodes like JavaScript's `encodeURIComponent` (what the Livechat widget does).
fn encode_uri_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes every byte but ASCII letters and digits (`.` becomes `%2E`).
fn encode_all(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Tokens a visitor may register with (any non-blank string up to 256 bytes): each must work
/// in every later request, by path and by query, encoded the way clients encode it.
const ODD_TOKENS: &[&str] = &[
    "a/b",
    "/",
    "//",
    "../x",
    "..",
    ".",
    "%2F",
    "a%2Fb",
    "%",
    "%00",
    "%ZZ",
    "a\0b",
    "?",
    "#",
    "x?y=1&z",
    "a b",
    "+",
    "a+b",
    "é",
    "🇺🇳",
    ";",
    "a;b",
    "\\",
    "~",
    "\ta",
    "\u{202e}x",
    "'\"<>",
];

/// Registers `token`, then reads it, opens a room, sends a message and a page visit, fails to
/// delete it with the room open, closes the room, deletes it, and no longer finds it.
async fn lifecycle(h: &Hostile, token: &str, encoded: &str) {
    let ctx = format!("token {token:?} as {encoded}");
    let path = visitor_path(encoded);
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .set_json(json!({"visitor": {"token": token}})),
            &ctx,
        )
        .await;
    let visitor = assert_success(&resp)["visitor"].clone();
    assert_eq!(visitor["token"], json!(token), "{ctx}");

    let resp = h.send(TestRequest::get().uri(&path), &ctx).await;
    let got = assert_success(&resp);
    assert_eq!(got["visitor"]["_id"], visitor["_id"], "{ctx}: GET by path");
    assert_eq!(got["visitor"]["token"], json!(token), "{ctx}: GET by path");

    let resp = h
        .send(
            TestRequest::get().uri(&format!("{ROOM}?token={encoded}")),
            &ctx,
        )
        .await;
    let room = assert_success(&resp)["room"].clone();
    assert_eq!(room["v"]["token"], json!(token), "{ctx}: room by query");
    let rid = room["_id"].as_str().expect("rid").to_string();

    let resp = h
        .send(
            TestRequest::post()
                .uri(MESSAGE)
                .set_json(json!({"token": token, "rid": rid, "msg": "hi"})),
            &ctx,
        )
        .await;
    assert_success(&resp);
    let resp = h
        .send(
            TestRequest::post().uri(PAGE_VISITED).set_json(json!({
                "token": token, "rid": rid,
                "pageInfo": {"change": "url", "title": "t", "location": {"href": "h"}},
            })),
            &ctx,
        )
        .await;
    assert_success(&resp);

    let resp = h.send(TestRequest::delete().uri(&path), &ctx).await;
    assert_bad_request(
        &resp,
        &coded_error(
            "Cannot remove visitors with opened rooms [visitor-has-open-rooms]",
            "visitor-has-open-rooms",
        ),
    );
    let resp = h
        .send(
            TestRequest::post()
                .uri(ROOM_CLOSE)
                .set_json(json!({"rid": rid, "token": token})),
            &ctx,
        )
        .await;
    assert_success(&resp);
    let resp = h.send(TestRequest::delete().uri(&path), &ctx).await;
    assert_eq!(
        assert_success(&resp)["visitor"]["_id"],
        visitor["_id"],
        "{ctx}: DELETE by path"
    );
    let resp = h.send(TestRequest::get().uri(&path), &ctx).await;
    assert_bad_request(&resp, &invalid_token());
    assert!(
        h.app.backend().room_by_id(&rid).expect("read").is_none(),
        "{ctx}: the room went with the visitor"
    );
    h.assert_consistent(&ctx);
}

#[actix_web::test]
async fn tokens_with_slashes_dots_and_nul_work_everywhere() {
    let h = Hostile::new();
    let long = "é".repeat(128); // 256 bytes, the limit
    for token in ODD_TOKENS.iter().copied().chain([long.as_str()]) {
        lifecycle(&h, token, &encode_uri_component(token)).await;
        lifecycle(&h, token, &encode_all(token)).await;
    }
}

#[actix_web::test]
async fn very_long_path_segments() {
    let h = Hostile::new();
    // The `http` crate refuses URIs of 64 KiB and more before any server sees them.
    for n in [257, 10_000, 30_000] {
        for seg in ["a".repeat(n), "%2F".repeat(n / 3), "%FF".repeat(n / 3)] {
            for method in [Method::GET, Method::DELETE] {
                let what = format!("{method} visitor/<{} chars>", seg.len());
                let resp = h
                    .send(
                        TestRequest::default()
                            .method(method.clone())
                            .uri(&visitor_path(&seg)),
                        &what,
                    )
                    .await;
                assert_bad_request(&resp, &invalid_token());
            }
            let what = format!("pagesVisited/<{} chars>", seg.len());
            let uri = format!("/api/v1/livechat/visitors.pagesVisited/{seg}");
            let resp = h
                .send(h.as_admin(TestRequest::get().uri(&uri)), &what)
                .await;
            assert_bad_request(&resp, &plain_error("invalid-room"));
            let uri = format!("/api/v1/livechat/visitors.chatHistory/room/{seg}/visitor/{seg}");
            let resp = h
                .send(h.as_admin(TestRequest::get().uri(&uri)), &what)
                .await;
            assert_bad_request(&resp, &plain_error("invalid-room"));
        }
    }
}

/// Generated path segments (any bytes, percent-encoded; or URI characters as they are,
/// stray `%` included) on every route with a path parameter.
#[test]
fn generated_path_segments() {
    let h = Hostile::new();
    let sys = actix_web::rt::System::new();
    let segment = prop_oneof![
        3 => vec(any::<u8>(), 1..48).prop_map(|b| encode(&b)),
        2 => string()
            .prop_filter("non-empty", |s| !s.is_empty())
            .prop_map(|s| encode(clip(s, 6000).as_bytes())),
        2 => "[a-zA-Z0-9._~!$&'()*+,;=:@/%-]{1,40}",
    ];
    let mut runner = TestRunner::new(config(1000));
    runner
        .run(&(0..5usize, segment.clone(), segment), |(which, a, b)| {
            let (method, uri, agent) = match which {
                0 => (Method::GET, visitor_path(&a), false),
                1 => (Method::DELETE, visitor_path(&a), false),
                2 => (
                    Method::GET,
                    format!("/api/v1/livechat/visitors.pagesVisited/{a}"),
                    true,
                ),
                3 => (
                    Method::GET,
                    format!("/api/v1/livechat/visitors.chatHistory/room/{a}/visitor/{b}"),
                    true,
                ),
                _ => (Method::GET, format!("/{a}/{b}"), false),
            };
            let req = TestRequest::default().method(method.clone()).uri(&uri);
            let req = if agent { h.as_admin(req) } else { req };
            sys.block_on(h.send(req, &format!("{method} {uri}")));
            Ok(())
        })
        .unwrap();
    h.assert_consistent("after generated paths");
}

const NOT_FOUND: &str = r#"{"success":false,"error":"API endpoint does not exist"}"#;

/// Unknown paths are a JSON 404; known paths with another method a JSON 405 with `Allow`.
#[actix_web::test]
async fn unknown_paths_and_methods() {
    let h = Hostile::new();
    // `/` is not here: it redirects to the console (`console.enabled`, tested in tests/web).
    let unknown = [
        "/api",
        "/api/",
        "/api/v1",
        "/api/v1/",
        "/api/v1/livechat",
        "/api/v1/livechat/",
        "/api/v1/livechat/visitor/",
        "/api/v1/livechat/visitor/a/b",
        "/api/v1/livechat/visitor/a/",
        "/api/v1/livechat//visitor",
        "//api/v1/livechat/visitor",
        "/API/V1/LIVECHAT/VISITOR",
        "/api/v1/livechat/visitor;x",
        "/api/v1/livechat/visitor%2Fx",
        "/api/v1/livechat/visitor/..%2F..%2Fhealth/x",
        "/api/v1/livechat/room/",
        "/api/v1/livechat/visitors.chatHistory/room/a/visitor/",
        "/api/v1/livechat/visitors.chatHistory/room//visitor/b",
        "/health/",
        "/health/..",
        "/api/info/x",
        "/.env",
        "/%00",
        "/%FF",
        "/%ZZ",
        "/%",
    ];
    let long = format!("/{}", "a".repeat(60_000));
    let slashes = format!("/api/v1/{}", "/".repeat(1000));
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::from_bytes(b"PROPFIND").unwrap(),
    ];
    for path in unknown
        .iter()
        .copied()
        .chain([long.as_str(), slashes.as_str()])
    {
        for method in &methods {
            let what = format!("{method} {}", &path[..path.len().min(80)]);
            let resp = h
                .send(
                    TestRequest::default().method(method.clone()).uri(path),
                    &what,
                )
                .await;
            assert_eq!(resp.status, 404, "{what}: {}", resp.text());
            assert_eq!(resp.text(), NOT_FOUND, "{what}");
        }
    }
    for route in h.routes() {
        if route.path.contains("no/such") || route.path == "/nope" {
            continue;
        }
        for method in &methods {
            // Paths served with two methods.
            let visitor_path = route.path.starts_with("/api/v1/livechat/visitor/");
            let logout = route.path == "/api/v1/logout";
            if *method == route.method
                || (visitor_path && [Method::GET, Method::DELETE].contains(method))
                || (logout && [Method::GET, Method::POST].contains(method))
            {
                continue;
            }
            let what = format!("{method} {}", route.path);
            let resp = h
                .send(h.request(&route, None).method(method.clone()), &what)
                .await;
            assert_eq!(resp.status, 405, "{what}: {}", resp.text());
            assert_eq!(resp.text(), NOT_FOUND, "{what}");
        }
    }
}
