//! Hostile headers: very long values, bytes that are not UTF-8, wrong credentials, hundreds of
//! headers, CORS preflights from odd origins, forwarded addresses under rate limiting.

use super::{Hostile, Route};
use crate::api::util::{assert_failure, assert_success, coded_error, visitor_path, VISITOR};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

const UNAUTHORIZED: &str = r#"{"success":false,"error":"You must be logged in to do this.","status":"error","message":"You must be logged in to do this."}"#;

/// One set of extra headers, by name; `None` values are the non-UTF-8 bytes `\xff\xfe`.
type Headers = Vec<(&'static str, Option<String>)>;

fn header_sets(h: &Hostile) -> Vec<(&'static str, Headers)> {
    let kb8 = "a".repeat(8 * 1024);
    let forwarded = (0..5000)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect::<Vec<_>>()
        .join(", ");
    let s = |v: &str| Some(v.to_string());
    vec![
        ("8 KB token", vec![("X-Auth-Token", Some(kb8.clone()))]),
        ("8 KB user id", vec![("X-User-Id", Some(kb8.clone()))]),
        (
            "8 KB both",
            vec![
                ("X-User-Id", Some(kb8.clone())),
                ("X-Auth-Token", Some(kb8.clone())),
            ],
        ),
        ("non-UTF-8 token", vec![("X-Auth-Token", None)]),
        ("non-UTF-8 user id", vec![("X-User-Id", None)]),
        ("empty token", vec![("X-Auth-Token", s(""))]),
        (
            "token of another user",
            vec![("X-User-Id", Some(h.decoy_id.clone()))],
        ),
        (
            "token one character longer",
            vec![("X-Auth-Token", Some(format!("{}x", h.admin.token)))],
        ),
        ("8 KB origin", vec![("Origin", Some(kb8.clone()))]),
        ("origin null", vec![("Origin", s("null"))]),
        ("non-UTF-8 origin", vec![("Origin", None)]),
        (
            "64 KB user agent",
            vec![("User-Agent", Some("u".repeat(64 * 1024)))],
        ),
        ("non-UTF-8 user agent", vec![("User-Agent", None)]),
        ("8 KB host", vec![("Host", Some(kb8.clone()))]),
        ("8 KB real ip", vec![("X-Real-IP", Some(kb8.clone()))]),
        (
            "odd real ip",
            vec![("X-Real-IP", s("999.1.1.1, ::::, '; DROP"))],
        ),
        ("non-UTF-8 real ip", vec![("X-Real-IP", None)]),
        ("5000 forwarded", vec![("X-Forwarded-For", Some(forwarded))]),
        ("empty forwarded", vec![("X-Forwarded-For", s(" , ,"))]),
        (
            "8 KB content type",
            vec![("Content-Type", Some(kb8.clone()))],
        ),
        ("8 KB accept", vec![("Accept", Some(kb8.clone()))]),
        ("8 KB cookie", vec![("Cookie", Some(kb8))]),
        ("gzip claimed", vec![("Content-Encoding", s("gzip"))]),
        ("chunked claimed", vec![("Transfer-Encoding", s("chunked"))]),
        (
            "huge content length",
            vec![("Content-Length", s("18446744073709551616"))],
        ),
        ("negative content length", vec![("Content-Length", s("-5"))]),
    ]
}

/// A body that gets the route as far as it can go (a new visitor for `POST livechat/visitor`,
/// so that hostile headers are stored with it).
fn body_for(route: &Route, n: usize) -> Vec<u8> {
    if route.path == VISITOR {
        json!({"visitor": {"token": format!("hdr-{n}"), "name": "Header"}})
            .to_string()
            .into_bytes()
    } else {
        b"{}".to_vec()
    }
}

#[actix_web::test]
async fn long_and_odd_header_values_on_every_route() {
    let h = Hostile::new();
    let mut n = 0;
    for route in h.routes() {
        for (name, headers) in header_sets(&h) {
            n += 1;
            let mut req = h.request(&route, None);
            if route.body {
                req = req
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload(body_for(&route, n));
            }
            let credentials = headers
                .iter()
                .any(|(k, _)| k.starts_with("X-User") || k.starts_with("X-Auth"));
            for (k, v) in headers {
                let value = match v {
                    Some(v) => HeaderValue::from_str(&v).expect("header value"),
                    None => HeaderValue::from_bytes(b"\xff\xfe").expect("obs-text"),
                };
                req = req.insert_header((HeaderName::from_static(k_lower(k)), value));
            }
            let what = format!("{} {} with {name}", route.method, route.path);
            let resp = h.send(req, &what).await;
            if route.agent && credentials {
                assert_eq!(resp.status, 401, "{what}: {}", resp.text());
                assert_eq!(resp.text(), UNAUTHORIZED, "{what}");
            }
            // §1.3: visitor endpoints ignore credentials, never a 401.
            if route.path.starts_with("/api/v1/livechat/") && !route.agent {
                assert_ne!(resp.status, 401, "{what}: {}", resp.text());
            }
        }
    }
    h.assert_consistent("after hostile headers");
}

fn k_lower(k: &'static str) -> &'static str {
    match k {
        "X-Auth-Token" => "x-auth-token",
        "X-User-Id" => "x-user-id",
        "Origin" => "origin",
        "User-Agent" => "user-agent",
        "Host" => "host",
        "X-Real-IP" => "x-real-ip",
        "X-Forwarded-For" => "x-forwarded-for",
        "Content-Type" => "content-type",
        "Accept" => "accept",
        "Cookie" => "cookie",
        "Content-Encoding" => "content-encoding",
        "Transfer-Encoding" => "transfer-encoding",
        "Content-Length" => "content-length",
        other => panic!("no lower-case name for {other}"),
    }
}

/// A visitor registered with hostile headers (stored, `store_http_headers` on) reads back as JSON.
#[actix_web::test]
async fn hostile_headers_stored_with_a_visitor_read_back() {
    let h = Hostile::new();
    let ua = format!("Mozilla/5.0 {}", "x".repeat(64 * 1024));
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("User-Agent", ua.as_str()))
                .insert_header(("Host", "h".repeat(8 * 1024).as_str()))
                .insert_header(("X-Real-IP", "not an address"))
                .set_json(json!({"visitor": {"token": "with-headers"}})),
            "register with hostile headers",
        )
        .await;
    let visitor = assert_success(&resp)["visitor"].clone();
    let got = h
        .send(
            TestRequest::get().uri(&visitor_path("with-headers")),
            "read back",
        )
        .await;
    assert_eq!(assert_success(&got)["visitor"], visitor);
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header((
                    HeaderName::from_static("user-agent"),
                    HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
                ))
                .insert_header((
                    HeaderName::from_static("x-real-ip"),
                    HeaderValue::from_bytes(b"\xc3\x28").unwrap(),
                ))
                .set_json(json!({"visitor": {"token": "with-bytes"}})),
            "register with non-UTF-8 headers",
        )
        .await;
    assert_success(&resp);
    h.assert_consistent("after stored headers");
}

/// Hundreds of distinct headers.
#[actix_web::test]
async fn hundreds_of_headers() {
    let h = Hostile::new();
    for route in h.routes() {
        let mut req = h.request(&route, None);
        for i in 0..500 {
            req = req.insert_header((format!("x-junk-{i}").as_str(), "v".repeat(100).as_str()));
        }
        let what = format!("{} {} with 500 headers", route.method, route.path);
        h.send(req, &what).await;
    }
}

#[actix_web::test]
async fn cors_preflights_from_odd_origins() {
    // Agent endpoints follow api.cors_origins (tests/web/cors.rs): allow the origin for both.
    let h = Hostile::with_config(|c| {
        c.server.cors_origins = vec!["https://shop.example".into()];
        c.api.cors_origins = vec!["https://shop.example".into()];
    });
    let refused = coded_error(
        "Cross-origin requests from this origin are not allowed [error-cors-origin]",
        "error-cors-origin",
    );
    let odd = [
        "https://shop.example.evil".to_string(),
        "https://evil.example".to_string(),
        "null".to_string(),
        "".to_string(),
        "*".to_string(),
        "https://shop.example, https://evil.example".to_string(),
        "o".repeat(8 * 1024),
    ];
    let mut paths: Vec<String> = h.routes().into_iter().map(|r| r.path).collect();
    paths.push("/api/v1/no/such".into());
    for path in &paths {
        for origin in &odd {
            let what = format!(
                "preflight {path} from {:?}",
                &origin[..origin.len().min(40)]
            );
            let resp = h
                .send(
                    TestRequest::default()
                        .method(Method::OPTIONS)
                        .uri(path)
                        .insert_header(("Origin", origin.as_str()))
                        .insert_header(("Access-Control-Request-Method", "POST")),
                    &what,
                )
                .await;
            assert_failure(&resp, 403, &refused);
            assert!(
                resp.header("access-control-allow-origin").is_none(),
                "{what}"
            );
        }
        let what = format!("preflight {path} from the allowed origin");
        let resp = h
            .send(
                TestRequest::default()
                    .method(Method::OPTIONS)
                    .uri(path)
                    .insert_header(("Origin", "HTTPS://SHOP.EXAMPLE"))
                    .insert_header(("Access-Control-Request-Method", "POST")),
                &what,
            )
            .await;
        assert_eq!(resp.status, 200, "{what}");
        assert_eq!(resp.text(), r#"{"success":true}"#, "{what}");
        // A preflight whose origin is not text: no CORS at all; the path answers OPTIONS itself.
        let what = format!("preflight {path} from non-UTF-8 origin");
        h.send(
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri(path)
                .insert_header((
                    HeaderName::from_static("origin"),
                    HeaderValue::from_bytes(b"https://\xff").unwrap(),
                ))
                .insert_header(("Access-Control-Request-Method", "POST")),
            &what,
        )
        .await;
    }
}

/// With rate limiting on and `X-Forwarded-For` trusted, hostile forwarded addresses still get
/// counted, refused with 429 (which changes nothing), and never break a response.
#[actix_web::test]
async fn rate_limits_with_hostile_forwarded_addresses() {
    let h = Hostile::with_config(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.trust_forwarded_for = true;
    });
    let kb8 = "f".repeat(8 * 1024);
    let many = vec!["1.2.3.4"; 5000].join(",");
    let forwarded: [&[u8]; 6] = [
        kb8.as_bytes(),
        many.as_bytes(),
        b" , ,",
        b"unknown",
        b"\xff\xfe",
        b"::1, 127.0.0.1",
    ];
    for (i, value) in forwarded.iter().enumerate() {
        let mut limited = 0;
        for n in 0..8 {
            let resp = h
                .send(
                    TestRequest::post()
                        .uri(VISITOR)
                        .insert_header((
                            HeaderName::from_static("x-forwarded-for"),
                            HeaderValue::from_bytes(value).unwrap(),
                        ))
                        .set_json(json!({"visitor": {"token": format!("rl-{i}-{n}")}})),
                    &format!("register {n} from forwarded value {i}"),
                )
                .await;
            if resp.status == 429 {
                limited += 1;
                for header in [
                    "x-ratelimit-limit",
                    "x-ratelimit-remaining",
                    "x-ratelimit-reset",
                ] {
                    assert!(resp.header(header).is_some(), "429 without {header}");
                }
            }
        }
        assert!(
            limited > 0,
            "forwarded value {i}: 8 registrations in a minute, none limited"
        );
    }
}
