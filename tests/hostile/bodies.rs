//! Hostile bodies: generated from each endpoint's template (every field of the wrong type, null,
//! huge numbers, nested junk, duplicate keys, invalid UTF-8, NUL bytes), deep nesting, 10 MB,
//! empty and whitespace bodies, content types other than JSON.

use super::json::{body, deep, each_field_replaced, v, Tpl, J};
use super::{assert_no_visitor_token, config, Hostile, Route};
use crate::api::util::{
    assert_bad_request, assert_failure, assert_success, assert_unparsable_body, match_error,
    visitor_path, VISITOR,
};
use crate::common::PASSWORD;
use actix_web::test::TestRequest;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest::test_runner::TestRunner;
use serde_json::json;

/// The valid body of each route that reads one (paths as in [`Hostile::routes`]).
fn template(h: &Hostile, path: &str) -> Tpl {
    let b = |x: bool| Tpl::V(J::Bool(x));
    match path {
        "/api/v1/livechat/visitor" => Tpl::O(vec![(
            "visitor",
            Tpl::O(vec![
                ("token", v("hostile-visitor")),
                ("name", v("Hostile")),
                ("email", v("hostile@example.com")),
                ("phone", v("+1 555 0199")),
                ("username", v("hostile")),
                ("department", v("sales")),
                (
                    "customFields",
                    Tpl::A(vec![Tpl::O(vec![
                        ("key", v("address")),
                        ("value", v("Main St")),
                        ("overwrite", b(true)),
                    ])]),
                ),
            ]),
        )]),
        "/api/v1/livechat/page.visited" => Tpl::O(vec![
            ("token", v(&h.token)),
            ("rid", v(&h.rid)),
            (
                "pageInfo",
                Tpl::O(vec![
                    ("change", v("url")),
                    ("title", v("Pricing")),
                    (
                        "location",
                        Tpl::O(vec![("href", v("https://example.com/pricing"))]),
                    ),
                ]),
            ),
        ]),
        "/api/v1/livechat/room.close" => Tpl::O(vec![
            ("rid", v(&h.closer_rid)),
            ("token", v(&h.closer_token)),
        ]),
        "/api/v1/livechat/message" => Tpl::O(vec![
            ("token", v(&h.token)),
            ("rid", v(&h.rid)),
            ("msg", v("hello")),
            ("_id", v("hostile-msg")),
        ]),
        "/api/v1/login" => Tpl::O(vec![("user", v("admin1")), ("password", v(PASSWORD))]),
        "/api/v1/users.create" => Tpl::O(vec![
            ("username", v("newbie")),
            ("password", v("pw")),
            ("name", v("New")),
            ("email", v("new@example.com")),
            ("roles", Tpl::A(vec![v("livechat-agent")])),
            ("active", b(true)),
        ]),
        "/api/v1/users.update" => Tpl::O(vec![
            ("userId", v(&h.decoy_id)),
            (
                "data",
                Tpl::O(vec![
                    ("name", v("Decoy")),
                    ("email", v("decoy@example.com")),
                    ("roles", Tpl::A(vec![v("livechat-agent")])),
                    ("active", b(true)),
                    ("password", v("pw2")),
                ]),
            ),
        ]),
        "/api/v1/users.delete" => Tpl::O(vec![
            ("userId", v(&h.victim_id)),
            ("confirmRelinquish", b(true)),
        ]),
        _ => Tpl::O(vec![("anything", v("x"))]),
    }
}

/// Content types a client might send with a body (none of them changes how it is read).
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "",
    "\u{1}",
];

fn with_body(h: &Hostile, route: &Route, bytes: Vec<u8>, content_type: &str) -> TestRequest {
    let req = h.request(route, None);
    let req = if content_type == "\u{1}" {
        req
    } else {
        req.insert_header(("Content-Type", content_type))
    };
    req.set_payload(bytes)
}

/// Generated bodies for every route that reads a body, mostly mutations of its valid body.
#[test]
fn generated_bodies_keep_the_envelope_and_rejections_change_nothing() {
    let h = Hostile::new();
    let sys = actix_web::rt::System::new();
    let routes: Vec<Route> = h.routes().into_iter().filter(|r| r.body).collect();
    let strategy = Union::new(routes.iter().enumerate().map(|(i, r)| {
        body(&template(&h, &r.path))
            .prop_map(move |b| (i, b))
            .boxed()
    }));
    let mut runner = TestRunner::new(config(1500));
    runner
        .run(
            &(strategy, select(CONTENT_TYPES)),
            |((i, bytes), content_type)| {
                let route = &routes[i];
                let what = format!(
                    "{} {} [{content_type:?}] body {:?}",
                    route.method,
                    route.path,
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                );
                sys.block_on(h.send(with_body(&h, route, bytes, content_type), &what));
                Ok(())
            },
        )
        .unwrap();
    h.assert_consistent("after generated bodies");
}

/// Each route's valid body with one node at a time (every field, every object and array, the
/// whole body) replaced by a value of every JSON type and odd form, or one key removed.
#[actix_web::test]
async fn every_field_of_the_wrong_type() {
    let h = Hostile::new();
    let mut sent = 0;
    for route in h.routes().into_iter().filter(|r| r.body) {
        for j in each_field_replaced(&template(&h, &route.path)) {
            let bytes = j.bytes();
            let what = format!(
                "{} {} body {}",
                route.method,
                route.path,
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
            h.send(with_body(&h, &route, bytes, "application/json"), &what)
                .await;
            sent += 1;
        }
    }
    assert!(sent > 500, "only {sent} bodies");
    h.assert_consistent("after wrong types");
}

/// Bodies sent to every route, also those that read none (GET, DELETE, unknown paths).
#[test]
fn any_body_on_any_route() {
    let h = Hostile::new();
    let sys = actix_web::rt::System::new();
    let routes = h.routes();
    let any = Tpl::V(J::Null);
    let mut runner = TestRunner::new(config(400));
    runner
        .run(
            &(0..routes.len(), body(&any), select(CONTENT_TYPES)),
            |(i, bytes, content_type)| {
                let route = &routes[i];
                let what = format!(
                    "{} {} body {:?}",
                    route.method,
                    route.path,
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                );
                let resp = sys.block_on(h.send(with_body(&h, route, bytes, content_type), &what));
                if route.agent {
                    assert_no_visitor_token(&h, &resp, &what);
                }
                Ok(())
            },
        )
        .unwrap();
    h.assert_consistent("after any bodies");
}

/// The API routes that parse a JSON object body (not the unknown path).
fn body_routes(h: &Hostile) -> Vec<Route> {
    h.routes()
        .into_iter()
        .filter(|r| r.body && r.path.starts_with("/api/"))
        .collect()
}

#[actix_web::test]
async fn deep_nesting_is_an_unparsable_body() {
    let h = Hostile::new();
    for route in body_routes(&h) {
        for kind in 0..3 {
            for closed in [true, false] {
                let bytes = deep(10_000, kind, closed);
                let what = format!("{} 10000 levels (kind {kind}, closed {closed})", route.path);
                let resp = h
                    .send(with_body(&h, &route, bytes, "application/json"), &what)
                    .await;
                assert_unparsable_body(&resp);
            }
        }
    }
    // 100 000 levels inside a valid envelope key.
    let mut bytes = b"{\"visitor\":{\"token\":\"t\",\"name\":".to_vec();
    bytes.extend(deep(100_000, 0, true));
    bytes.extend_from_slice(b"}}");
    let resp = h.app.post_raw(VISITOR, bytes).await;
    assert_unparsable_body(&resp);
}

const TOO_LARGE: &str = r#"{"success":false,"error":"Payload too large [error-payload-too-large]","errorType":"error-payload-too-large"}"#;

#[actix_web::test]
async fn ten_megabyte_bodies_are_413_whatever_they_hold() {
    const SIZE: usize = 10 * 1024 * 1024;
    let h = Hostile::new();
    let mut valid_prefix = br#"{"visitor":{"token":"big","name":""#.to_vec();
    valid_prefix.resize(SIZE - 3, b'a');
    valid_prefix.extend_from_slice(b"\"}}");
    let bodies: Vec<(&str, actix_web::web::Bytes)> = vec![
        ("valid JSON", valid_prefix.into()),
        ("brackets", vec![b'['; SIZE].into()),
        ("invalid UTF-8", vec![0xFF; SIZE].into()),
        ("spaces", vec![b' '; SIZE].into()),
    ];
    let expected: serde_json::Value = serde_json::from_str(TOO_LARGE).unwrap();
    // The declared length may be right, a lie, unparsable or absent-like: the limit still holds.
    let lengths: [Option<&str>; 5] = [
        None,
        Some("10"),
        Some("abc"),
        Some("-1"),
        Some("99999999999999999999999"),
    ];
    for route in body_routes(&h) {
        for (name, bytes) in &bodies {
            for length in lengths {
                let mut req = h
                    .request(&route, None)
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload(bytes.clone());
                if let Some(l) = length {
                    req = req.insert_header(("Content-Length", l));
                }
                let what = format!("{} 10 MB {name}, Content-Length {length:?}", route.path);
                let resp = h.send(req, &what).await;
                assert_eq!(resp.status, 413, "{what}: {}", resp.text());
                assert_failure(&resp, 413, &expected);
            }
        }
    }
}

#[actix_web::test]
async fn the_body_limit_is_exact() {
    let h = Hostile::new();
    let limit = h.app.config.server.body_limit_bytes;
    let mut at_limit = br#"{"visitor":{"token":"edge"}}"#.to_vec();
    at_limit.resize(limit, b' ');
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(at_limit.clone()),
            "body of exactly the limit",
        )
        .await;
    assert_eq!(assert_success(&resp)["visitor"]["token"], json!("edge"));
    at_limit.push(b' ');
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(at_limit),
            "one byte over the limit",
        )
        .await;
    assert_failure(&resp, 413, &serde_json::from_str(TOO_LARGE).unwrap());
}

#[actix_web::test]
async fn empty_and_whitespace_bodies_are_unparsable() {
    let h = Hostile::new();
    let bodies: [&[u8]; 7] = [
        b"",
        b" ",
        b"\n\t\r ",
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf{}",
        b"\0",
        b"\x0c",
    ];
    for route in body_routes(&h) {
        for bytes in bodies {
            for content_type in ["application/json", "\u{1}"] {
                let what = format!("{} body {bytes:?} [{content_type:?}]", route.path);
                let resp = h
                    .send(with_body(&h, &route, bytes.to_vec(), content_type), &what)
                    .await;
                assert_unparsable_body(&resp);
            }
        }
    }
}

/// Bodies that are not JSON at all, whatever their content type says.
#[actix_web::test]
async fn non_json_bodies_are_unparsable() {
    let h = Hostile::new();
    let bodies: [(&str, &[u8]); 6] = [
        (
            "application/x-www-form-urlencoded",
            b"visitor[token]=x&visitor[name]=y",
        ),
        (
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nContent-Disposition: form-data; name=\"visitor\"\r\n\r\n{}\r\n--xyz--\r\n",
        ),
        ("text/xml", b"<visitor><token>x</token></visitor>"),
        ("application/json", b"visitor=x"),
        ("application/json", b"{'visitor': {'token': 'x'}}"),
        ("application/json", b"{\"visitor\":{\"token\":\"x\",}}"),
    ];
    for route in body_routes(&h) {
        for (content_type, bytes) in bodies {
            let what = format!(
                "{} [{content_type}] {}",
                route.path,
                String::from_utf8_lossy(bytes)
            );
            let resp = h
                .send(with_body(&h, &route, bytes.to_vec(), content_type), &what)
                .await;
            assert_unparsable_body(&resp);
        }
    }
}

/// Duplicate keys: the last one wins, as with `JSON.parse` in Rocket.Chat.
#[actix_web::test]
async fn duplicate_keys_take_the_last_value() {
    let h = Hostile::new();
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(r#"{"visitor":{"token":"a","token":1}}"#),
            "token then number",
        )
        .await;
    assert_bad_request(
        &resp,
        &match_error("Expected string, got number in field visitor.token"),
    );
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(r#"{"visitor":{"token":1,"token":"dup-last"}}"#),
            "number then token",
        )
        .await;
    assert_eq!(assert_success(&resp)["visitor"]["token"], json!("dup-last"));
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(r#"{"visitor":{"token":"x"},"visitor":[]}"#),
            "visitor twice",
        )
        .await;
    assert_bad_request(
        &resp,
        &match_error("Expected object, got array in field visitor"),
    );
    h.assert_consistent("after duplicate keys");
}

/// Invalid UTF-8, raw NUL bytes and lone surrogates are unparsable; an escaped NUL is a
/// character like any other, and the visitor it names can be read and deleted by path.
#[actix_web::test]
async fn invalid_utf8_nul_bytes_and_surrogates() {
    let h = Hostile::new();
    let bad: [&[u8]; 8] = [
        b"{\"visitor\":{\"token\":\"\xff\"}}",
        b"{\"visitor\":{\"token\":\"a\x00b\"}}",
        b"{\"visitor\":{\"token\":\"\\ud800\"}}",
        b"{\"visitor\":{\"token\":\"\\udc00\\ud800\"}}",
        b"{\"visitor\":{\"token\":\"\xc0\xaf\"}}",
        b"{\"visitor\":{\"token\":\"\xed\xa0\x80\"}}",
        b"{\"visitor\":{\"token\":\"t\",\"name\":\"\xf4\x90\x80\x80\"}}",
        b"{\"vis\xffitor\":{\"token\":\"t\"}}",
    ];
    for bytes in bad {
        let what = format!("{}", String::from_utf8_lossy(bytes));
        let resp = h
            .send(
                TestRequest::post()
                    .uri(VISITOR)
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload(bytes.to_vec()),
                &what,
            )
            .await;
        assert_unparsable_body(&resp);
    }
    let resp = h
        .send(
            TestRequest::post()
                .uri(VISITOR)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(r#"{"visitor":{"token":"nul\u0000tok","name":"a\u0000b"}}"#),
            "escaped NUL",
        )
        .await;
    let visitor = assert_success(&resp)["visitor"].clone();
    assert_eq!(visitor["token"], json!("nul\u{0}tok"));
    assert_eq!(visitor["name"], json!("a\u{0}b"));
    let got = h
        .send(
            TestRequest::get().uri(&visitor_path("nul%00tok")),
            "GET nul",
        )
        .await;
    assert_eq!(assert_success(&got)["visitor"]["_id"], visitor["_id"]);
    let gone = h
        .send(
            TestRequest::delete().uri(&visitor_path("nul%00tok")),
            "DELETE nul",
        )
        .await;
    assert_success(&gone);
    h.assert_consistent("after NUL tokens");
}

/// Numbers no integer type holds: a wrong type where a string is due, unparsable when out of
/// f64's range.
#[actix_web::test]
async fn numbers_past_u64_and_f64() {
    let h = Hostile::new();
    for (n, out_of_range) in [
        ("18446744073709551616", false),
        ("-9223372036854775809", false),
        ("123456789012345678901234567890", false),
        ("-0", false),
        ("1e308", false),
        ("1e400", true),
        ("-1e999", true),
    ] {
        let body = format!(r#"{{"visitor":{{"token":{n}}}}}"#);
        let resp = h
            .send(
                TestRequest::post()
                    .uri(VISITOR)
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload(body.clone()),
                &body,
            )
            .await;
        if out_of_range {
            assert_unparsable_body(&resp);
        } else {
            assert_bad_request(
                &resp,
                &match_error("Expected string, got number in field visitor.token"),
            );
        }
    }
    // Out-of-range numbers in fields that want a boolean or a count.
    let users_update = h
        .routes()
        .into_iter()
        .find(|r| r.path == "/api/v1/users.update")
        .unwrap();
    for body in [
        format!(
            r#"{{"userId":"{}","data":{{"active":18446744073709551616}}}}"#,
            h.decoy_id
        ),
        format!(r#"{{"userId":"{}","data":{{"active":-0}}}}"#, h.decoy_id),
        r#"{"userId":18446744073709551616,"data":{}}"#.to_string(),
    ] {
        let resp = h
            .send(
                with_body(
                    &h,
                    &users_update,
                    body.clone().into_bytes(),
                    "application/json",
                ),
                &body,
            )
            .await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
    }
}

/// User administration the data does not allow (the last admin removed, demoted or deactivated;
/// taken or invalid usernames; bad passwords and roles) is refused and changes nothing.
#[actix_web::test]
async fn user_administration_that_must_be_refused() {
    let h = Hostile::new();
    let route = |path: &str| {
        h.routes()
            .into_iter()
            .find(|r| r.path == path)
            .expect("route")
    };
    let (create, update, delete) = (
        route("/api/v1/users.create"),
        route("/api/v1/users.update"),
        route("/api/v1/users.delete"),
    );
    let admin = h.admin.user_id.as_str();
    let cases = [
        (
            &delete,
            json!({"userId": admin}),
            "error-action-not-allowed",
        ),
        (
            &update,
            json!({"userId": admin, "data": {"roles": ["livechat-agent"]}}),
            "error-action-not-allowed",
        ),
        (
            &update,
            json!({"userId": admin, "data": {"active": false}}),
            "error-action-not-allowed",
        ),
        (
            &delete,
            json!({"userId": "no-such-user"}),
            "error-invalid-user",
        ),
        (
            &update,
            json!({"userId": "no-such-user", "data": {"name": "x"}}),
            "error-invalid-user",
        ),
        (
            &update,
            json!({"userId": admin, "data": {"roles": ["root"]}}),
            "error-invalid-role",
        ),
        (
            &update,
            json!({"userId": admin, "data": {"password": ""}}),
            "error-invalid-password",
        ),
        (
            &update,
            json!({"userId": admin, "data": {"password": "p".repeat(1025)}}),
            "invalid-params",
        ),
        (
            &update,
            json!({"userId": admin, "data": {"email": "a@b@c"}}),
            "error-invalid-email",
        ),
        (
            &create,
            json!({"username": "ADMIN1", "password": "x"}),
            "error-field-unavailable",
        ),
        (
            &create,
            json!({"username": "decoy", "password": "x"}),
            "error-field-unavailable",
        ),
        (
            &create,
            json!({"username": "a b", "password": "x"}),
            "error-input-is-not-a-valid-field",
        ),
        (
            &create,
            json!({"username": "ü", "password": "x"}),
            "error-input-is-not-a-valid-field",
        ),
        (
            &create,
            json!({"username": "a".repeat(65), "password": "x"}),
            "error-input-is-not-a-valid-field",
        ),
        (
            &create,
            json!({"username": "", "password": "x"}),
            "error-input-is-not-a-valid-field",
        ),
        (
            &create,
            json!({"username": "../admin1", "password": "x"}),
            "error-input-is-not-a-valid-field",
        ),
        (
            &create,
            json!({"username": "fresh", "password": ""}),
            "error-invalid-password",
        ),
        (
            &create,
            json!({"username": "fresh", "password": "x", "roles": ["admin", "god"]}),
            "error-invalid-role",
        ),
        (
            &create,
            json!({"username": "fresh", "password": "x", "roles": "admin"}),
            "invalid-params",
        ),
    ];
    for (route, body, code) in cases {
        let what = format!("{} {body}", route.path);
        let req = h
            .request(route, None)
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_string());
        let resp = h.send(req, &what).await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.text());
        assert_eq!(
            resp.json()["errorType"],
            json!(code),
            "{what}: {}",
            resp.text()
        );
    }
    // A password of a megabyte's worth of text in a login is only a failed login.
    let login = route("/api/v1/login");
    let body = json!({"user": "admin1", "password": "p".repeat(1_000_000)}).to_string();
    let resp = h
        .send(
            with_body(&h, &login, body.into_bytes(), "application/json"),
            "1 MB password",
        )
        .await;
    assert_eq!(resp.status, 401, "{}", resp.text());
}
