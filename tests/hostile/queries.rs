//! Hostile query strings: thousands of parameters, repeated keys, invalid percent-encoding, and
//! hostile `term`, `sort`, `count` and `offset` values on every GET route.

use super::json::{any_json, scalar, string, J, STRINGS};
use super::{assert_no_visitor_token, clip, config, encode, Hostile, Route};
use crate::api::util::{assert_bad_request, assert_success, coded_error, invalid_params, too_long};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

/// The GET routes (and their query, if any).
fn get_routes(h: &Hostile) -> Vec<Route> {
    h.routes()
        .into_iter()
        .filter(|r| r.method == Method::GET)
        .collect()
}

/// `route`'s path with `query` appended to its own query.
fn with_query(route: &Route, query: &str) -> String {
    add_param(&route.path, query)
}

/// `uri` with `param` appended to its query.
fn add_param(uri: &str, param: &str) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{param}")
}

#[actix_web::test]
async fn thousands_of_parameters() {
    let h = Hostile::new();
    // URIs stay under the `http` crate's 64 KiB limit.
    let many: String = (0..5000)
        .map(|i| format!("p{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    let repeated = |key: &str| {
        (0..4000)
            .map(|i| format!("{key}={}", i % 10))
            .collect::<Vec<_>>()
            .join("&")
    };
    let long_value = format!("term={}", "a".repeat(50_000));
    for route in get_routes(&h) {
        let queries = [
            many.clone(),
            repeated("token"),
            repeated("term"),
            repeated("sort"),
            repeated("count"),
            repeated("visitorId"),
            long_value.clone(),
        ];
        for q in &queries {
            let uri = with_query(&route, q);
            let what = format!("GET {} with {}… ({} bytes)", route.path, &q[..20], q.len());
            h.send(h.request(&route, Some(&uri)), &what).await;
        }
    }
    h.assert_consistent("after many parameters");
}

/// Query strings that no encoder produces.
const BAD_QUERIES: &[&str] = &[
    "%ZZ",
    "%",
    "%F",
    "%FF=%FE",
    "token=%C3%28",
    "term=%E0%A4%A",
    "term=%00",
    "term=%",
    "=&=&",
    "&&&&",
    "=",
    "==x",
    ";",
    "a[b]=c",
    "a[]=1&a[]=2",
    "token",
    "token=",
    "term",
    "sort",
    "+=+",
    "%26=%3D",
    "token=%ZZ&token=%2",
    "count=%ZZ",
    "offset=%2D1",
];

#[actix_web::test]
async fn invalid_percent_encoding_and_odd_query_syntax() {
    let h = Hostile::new();
    for route in get_routes(&h) {
        let bare = route.path.split('?').next().unwrap_or_default().to_string();
        for q in BAD_QUERIES {
            for uri in [with_query(&route, q), format!("{bare}?{q}")] {
                h.send(h.request(&route, Some(&uri)), &format!("GET {uri}"))
                    .await;
            }
        }
    }
    h.assert_consistent("after bad queries");
}

/// Generated queries on every GET route: known and unknown names, hostile values, encoded or
/// not, repeated.
#[test]
fn generated_queries() {
    let h = Hostile::new();
    let sys = actix_web::rt::System::new();
    let routes = get_routes(&h);
    let names = select(
        &[
            "token",
            "rid",
            "agentId",
            "visitorId",
            "roomId",
            "term",
            "sort",
            "count",
            "offset",
            "fields",
            "query",
            "",
            "__proto__",
        ][..],
    );
    let value = prop_oneof![
        4 => string(),
        2 => any_json().prop_map(|j| String::from_utf8_lossy(&j.bytes()).into_owned()),
        1 => select(&["fixture-token", "closer-token", "-1", "1e400", "NaN", "0", "100000"][..])
            .prop_map(str::to_string),
    ];
    let pair = (
        prop_oneof![3 => names.prop_map(str::to_string), 1 => string().prop_map(|s| clip(s, 2000))],
        value.prop_map(|s| clip(s, 2000)),
        any::<bool>(),
    );
    let mut runner = TestRunner::new(config(1000));
    runner
        .run(
            &(0..routes.len(), vec(pair, 0..6), any::<bool>()),
            |(i, pairs, keep_own)| {
                let route = &routes[i];
                let query = pairs
                    .iter()
                    .map(|(k, v, encoded)| {
                        if *encoded {
                            format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes()))
                        } else {
                            // What a URI query may hold raw (stray `%`, `&`, `=` among it);
                            // the rest encoded.
                            let raw = |s: &str| {
                                s.bytes()
                                    .map(|b| {
                                        if b.is_ascii_alphanumeric()
                                            || b"!$&'()*+,-./:;=?@_~%".contains(&b)
                                        {
                                            (b as char).to_string()
                                        } else {
                                            format!("%{b:02X}")
                                        }
                                    })
                                    .collect::<String>()
                            };
                            format!("{}={}", raw(k), raw(v))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                let uri = if keep_own {
                    with_query(route, &query)
                } else {
                    format!(
                        "{}?{query}",
                        route.path.split('?').next().unwrap_or_default()
                    )
                };
                let what = format!("GET {uri}");
                let resp = sys.block_on(h.send(h.request(route, Some(&uri)), &what));
                if route.agent {
                    assert_no_visitor_token(&h, &resp, &what);
                }
                Ok(())
            },
        )
        .unwrap();
    h.assert_consistent("after generated queries");
}

const SEARCH: &str = "/api/v1/livechat/visitors.search";

/// `term` is literal text: regular-expression syntax, control characters, the index's own pad
/// characters and odd Unicode find nothing in a store where no visitor holds them; over 256
/// characters is refused.
#[actix_web::test]
async fn hostile_search_terms() {
    let h = Hostile::new();
    let mut nowhere: Vec<String> = [
        ".*",
        "^",
        "$",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "|",
        "\\",
        "^((ab)*)+$",
        "(a+)+$",
        "[^]",
        "\\d+",
        "?*",
        "%",
        "_",
        "\\0",
        "\0",
        "\u{1}\u{2}",
        "\u{2}",
        "\u{3}",
        "\u{2}fi",
        "or\u{3}",
        "\u{3}\u{3}",
        "İ",
        "ß",
        "🇺🇳",
        "\u{202e}",
        "fixture\u{0}",
        "FIXTURE VISITOR!",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    nowhere.push("a".repeat(256));
    nowhere.push("é".repeat(256));
    for term in &nowhere {
        let uri = format!("{SEARCH}?term={}", encode(term.as_bytes()));
        let resp = h
            .send(
                h.as_admin(TestRequest::get().uri(&uri)),
                &format!("term {term:?}"),
            )
            .await;
        let body = assert_success(&resp);
        assert_eq!(body["total"], json!(0), "term {term:?} matched: {body}");
    }
    // Case-insensitive literal matches still work next to them.
    for term in ["fixture", "FIXTURE", "visitor", "xture vis", "@example.com"] {
        let uri = format!("{SEARCH}?term={}", encode(term.as_bytes()));
        let resp = h
            .send(
                h.as_admin(TestRequest::get().uri(&uri)),
                &format!("term {term:?}"),
            )
            .await;
        let body = assert_success(&resp);
        assert_eq!(body["total"], json!(1), "term {term:?}: {body}");
    }
    for n in [257, 10_000] {
        for c in ["a", "é", "\u{1}", "("] {
            let term = c.repeat(n);
            let uri = format!("{SEARCH}?term={}", encode(term.as_bytes()));
            let resp = h
                .send(
                    h.as_admin(TestRequest::get().uri(&uri)),
                    &format!("term {c:?}×{n}"),
                )
                .await;
            assert_bad_request(&resp, &too_long("term", 256));
        }
    }
}

/// Generated terms: 200 with only the projected fields (never a token), or `too long`.
#[test]
fn generated_search_terms() {
    let h = Hostile::new();
    let sys = actix_web::rt::System::new();
    let mut runner = TestRunner::new(config(500));
    runner
        .run(&string().prop_map(|s| clip(s, 6000)), |term| {
            let uri = format!("{SEARCH}?term={}", encode(term.as_bytes()));
            let resp = sys.block_on(h.send(
                h.as_admin(TestRequest::get().uri(&uri)),
                &format!("term {term:?}"),
            ));
            if term.chars().count() > 256 {
                assert_bad_request(&resp, &too_long("term", 256));
            } else {
                let body = assert_success(&resp);
                let items = body["visitors"].as_array().expect("visitors");
                assert!(items.len() <= 2, "{body}");
                for item in items {
                    for key in item.as_object().expect("item").keys() {
                        assert!(
                            [
                                "_id",
                                "username",
                                "name",
                                "phone",
                                "visitorEmails",
                                "livechatData",
                                "lastChat"
                            ]
                            .contains(&key.as_str()),
                            "term {term:?}: key {key} in {item}"
                        );
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

/// The sortable GET routes and the fields each may sort by.
fn sortable(h: &Hostile) -> Vec<(String, &'static [&'static str])> {
    let (rid, vid) = (&h.rid, &h.visitor_id);
    vec![
        (
            format!("/api/v1/livechat/visitors.pagesVisited/{rid}"),
            &["ts"][..],
        ),
        (
            format!("/api/v1/livechat/visitors.pagesVisited?visitorId={vid}"),
            &["ts"][..],
        ),
        (
            format!("/api/v1/livechat/visitors.chatHistory/room/{rid}/visitor/{vid}"),
            &["ts", "lm", "closedAt"][..],
        ),
        (
            format!("{SEARCH}?term="),
            &["ts", "_updatedAt", "name", "username", "lastChat.ts"][..],
        ),
        (
            "/api/v1/livechat/custom-fields".to_string(),
            &["_id", "label"][..],
        ),
        (
            "/api/v1/users.list".to_string(),
            &["username", "name", "createdAt"][..],
        ),
    ]
}

/// What §1.5 says of a `sort` value: valid when a JSON object of listed fields, each 1 or -1.
fn sort_is_valid(raw: &str, fields: &[&str]) -> bool {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => m.iter().all(|(k, v)| {
            fields.contains(&k.as_str()) && matches!(v.as_f64(), Some(x) if x == 1.0 || x == -1.0)
        }),
        _ => false,
    }
}

/// `sort` on every sortable route: valid ones answer 200, every other one exactly the error of
/// §1.5 with the raw value inside.
async fn check_sort(h: &Hostile, base: &str, fields: &[&str], raw: &str) {
    let uri = add_param(base, &format!("sort={}", encode(raw.as_bytes())));
    let what = format!("GET {base} sort={raw:?}");
    let resp = h
        .send(h.as_admin(TestRequest::get().uri(&uri)), &what)
        .await;
    if sort_is_valid(raw, fields) {
        assert_success(&resp);
    } else {
        let mut expected = coded_error(
            &format!("Invalid sort parameter provided: \"{raw}\" [error-invalid-sort]"),
            "error-invalid-sort",
        );
        expected["details"] = json!({"helperMethod": "parseJsonQuery"});
        assert_bad_request(&resp, &expected);
    }
}

#[actix_web::test]
async fn hostile_sort_values() {
    let h = Hostile::new();
    let thousand_keys = format!(
        "{{{}}}",
        (0..1000)
            .map(|i| format!("\"k{i}\":1"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let thousand_ts = format!(
        "{{{}}}",
        (0..1000).map(|_| "\"ts\":-1").collect::<Vec<_>>().join(",")
    );
    let deep = format!("{{\"ts\":{}1{}}}", "[".repeat(5_000), "]".repeat(5_000));
    let sorts = [
        r#"{"ts":1e999}"#,
        r#"{"ts":1e400}"#,
        r#"{"ts":-0}"#,
        r#"{"ts":0}"#,
        r#"{"ts":2}"#,
        r#"{"ts":"1"}"#,
        r#"{"ts":true}"#,
        r#"{"ts":null}"#,
        r#"{"ts":{"$gt":1}}"#,
        r#"{"ts":[1]}"#,
        r#"{"ts":18446744073709551616}"#,
        r#"{"ts":1,"ts":-1}"#,
        r#"{"__proto__":1}"#,
        r#"{"$where":"1"}"#,
        r#"{"ts ":1}"#,
        r#"{"TS":1}"#,
        r#"[{"ts":1}]"#,
        "[]",
        "null",
        "1",
        "\"ts\"",
        "ts",
        "",
        " ",
        "{",
        "{}",
        "{\"ts\":1}",
        "{\"ts\":-1.0}",
        "{\"ts\":\u{0}1}",
        "{\"t\u{0}s\":1}",
        "{\"é\":1}",
        &thousand_keys,
        &thousand_ts,
        &deep,
    ];
    for (base, fields) in sortable(&h) {
        for raw in sorts {
            check_sort(&h, &base, fields, raw).await;
        }
    }
}

/// Generated `sort` values (objects of listed and other fields with any values, or anything).
#[test]
fn generated_sort_values() {
    let h = Hostile::new();
    let sys = actix_web::rt::System::new();
    let routes = sortable(&h);
    let field = prop_oneof![
        3 => select(&["ts", "lm", "closedAt", "_updatedAt", "name", "username", "lastChat.ts", "_id", "label", "createdAt"][..])
            .prop_map(J::s),
        1 => string().prop_map(J::Str),
    ];
    let value = prop_oneof![
        3 => select(&["1", "-1"][..]).prop_map(|n| J::Num(n.to_string())),
        2 => scalar(),
        1 => any_json(),
    ];
    let sort = prop_oneof![
        4 => vec((field, value), 0..4).prop_map(J::Obj),
        1 => any_json(),
        1 => select(STRINGS).prop_map(J::s),
    ];
    let mut runner = TestRunner::new(config(600));
    runner
        .run(&(0..routes.len(), sort), |(i, sort)| {
            let (base, fields) = &routes[i];
            let mut bytes = sort.bytes();
            bytes.truncate(6000);
            match String::from_utf8(bytes) {
                Ok(raw) => sys.block_on(check_sort(&h, base, fields, &raw)),
                Err(e) => {
                    let uri = add_param(base, &format!("sort={}", encode(e.as_bytes())));
                    sys.block_on(h.send(h.as_admin(TestRequest::get().uri(&uri)), &uri));
                }
            }
            Ok(())
        })
        .unwrap();
}

/// `count` and `offset`: non-numbers `must be number`, negatives `must be >= 0`, anything
/// numeric and huge is fine.
#[actix_web::test]
async fn hostile_count_and_offset() {
    let h = Hostile::new();
    let not_number = [
        "abc", "NaN", "5abc", "", " ", "[]", "{}", "1,5", "%00", "\u{0}", "∞",
    ];
    let negative = ["-1", "-5.5", "-18446744073709551616"];
    let fine = [
        "0",
        "5",
        "+5",
        "1e308",
        "18446744073709551616",
        "0.5",
        "-0",
        "99999999999999999999999",
    ];
    for (base, _) in sortable(&h) {
        for name in ["count", "offset"] {
            let uri = |v: &str| add_param(&base, &format!("{name}={}", encode(v.as_bytes())));
            for v in not_number {
                let resp = h
                    .send(h.as_admin(TestRequest::get().uri(&uri(v))), &uri(v))
                    .await;
                assert_bad_request(&resp, &invalid_params("must be number"));
            }
            for v in negative {
                let resp = h
                    .send(h.as_admin(TestRequest::get().uri(&uri(v))), &uri(v))
                    .await;
                assert_bad_request(&resp, &invalid_params("must be >= 0"));
            }
            for v in fine
                .iter()
                .chain(["0x10", "1e400", "-1e400", "Infinity", "inf"].iter())
            {
                h.send(h.as_admin(TestRequest::get().uri(&uri(v))), &uri(v))
                    .await;
            }
            for v in fine {
                let resp = h
                    .send(h.as_admin(TestRequest::get().uri(&uri(v))), &uri(v))
                    .await;
                assert_success(&resp);
            }
        }
    }
}
