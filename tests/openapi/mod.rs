//! The API reference: the OpenAPI document against the router, the document as served, the
//! docs page and its assets, and the contract checker itself (it must be able to fail).

use crate::common::contract::Contract;
use crate::common::TestApp;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use visitord::http::reference::viewer::{ASSETS, CSP};
use visitord::http::routes::ROUTES;

/// A concrete path for a template: each `{name}` becomes `name-1`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                format!("{}-1", &s[1..s.len() - 1])
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn documented_methods(doc: &Value, path: &str) -> BTreeSet<String> {
    doc["paths"][path]
        .as_object()
        .map(|item| item.keys().map(|m| m.to_ascii_uppercase()).collect())
        .unwrap_or_default()
}

/// The route table and the document list the same paths with the same methods.
#[test]
fn document_paths_are_the_route_table() {
    let doc = &Contract::get().doc;
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    let served: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    assert_eq!(documented, served);
    assert_eq!(served.len(), ROUTES.len(), "a path is in the table twice");
    for def in ROUTES {
        let methods: BTreeSet<String> = def
            .endpoints
            .iter()
            .map(|e| e.verb.method().to_string())
            .collect();
        assert_eq!(methods, documented_methods(doc, def.path), "{}", def.path);
        for (name, item) in doc["paths"][def.path].as_object().expect("item") {
            let params = item["parameters"].as_array().cloned().unwrap_or_default();
            let path_params: BTreeSet<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap_or("").to_string())
                .collect();
            let in_template: BTreeSet<String> = def
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_string)
                .collect();
            assert_eq!(path_params, in_template, "{name} {}", def.path);
            assert!(
                item["responses"]["200"].is_object(),
                "{name} {}: no 200",
                def.path
            );
        }
    }
}

/// What the router really serves agrees with the document: every documented method of every
/// documented path is routed (never the 404 of unknown paths, never 405), every other method
/// answers 405 with exactly the documented methods in `Allow`.
#[actix_web::test]
async fn router_serves_exactly_the_documented_paths_and_methods() {
    let app = TestApp::new();
    let doc = &Contract::get().doc;
    let probes = [
        Method::GET,
        Method::POST,
        Method::DELETE,
        Method::PUT,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ];
    for path in doc["paths"].as_object().expect("paths").keys() {
        let uri = concrete(path);
        let documented = documented_methods(doc, path);
        for method in &probes {
            let mut req = TestRequest::default().method(method.clone()).uri(&uri);
            if *method == Method::POST {
                req = req
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload("{}");
            }
            let resp = app.call(req).await;
            if documented.contains(method.as_str()) {
                assert_ne!(resp.status, 405, "{method} {uri}: {}", resp.text());
                let routed_404 = resp.status == 404
                    && resp.text() == r#"{"success":false,"error":"API endpoint does not exist"}"#;
                // `/api/docs/{file}` answers that 404 for unknown files by design.
                assert!(
                    !routed_404 || path == "/api/docs/{file}",
                    "{method} {uri} is not routed"
                );
            } else {
                assert_eq!(resp.status, 405, "{method} {uri}: {}", resp.text());
                let allow: BTreeSet<String> = resp
                    .header("allow")
                    .unwrap_or_default()
                    .split(", ")
                    .map(str::to_string)
                    .collect();
                assert_eq!(allow, documented, "Allow of {uri}");
            }
        }
    }
}

/// `GET /api/openapi.json`: the generated document, OpenAPI 3.1, JSON, not cached.
#[actix_web::test]
async fn openapi_json_is_served() {
    let app = TestApp::new();
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        resp.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let served = resp.json();
    assert!(
        served["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        served["openapi"]
    );
    assert_eq!(served, Contract::get().doc);
    assert_eq!(served["info"]["version"], env!("CARGO_PKG_VERSION"));
    // Agent endpoints name both headers; visitor endpoints none.
    let schemes = &served["components"]["securitySchemes"];
    assert_eq!(schemes["userId"]["name"], "X-User-Id");
    assert_eq!(schemes["authToken"]["name"], "X-Auth-Token");
    let search = &served["paths"]["/api/v1/livechat/visitors.search"]["get"];
    assert_eq!(
        search["security"],
        json!([{ "userId": [], "authToken": [] }])
    );
    assert!(served["paths"]["/api/v1/livechat/visitor"]["post"]["security"].is_null());
    let limited = &served["components"]["responses"]["TooManyRequests"]["headers"];
    for name in [
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ] {
        assert!(limited[name].is_object(), "{name}");
    }
}

fn assert_page_headers(resp: &crate::common::Resp, what: &str) {
    assert_eq!(
        resp.header("content-security-policy").as_deref(),
        Some(CSP),
        "{what}"
    );
    assert_eq!(
        resp.header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
}

/// `/api/docs` is HTML under a CSP that allows no inline or foreign script, and loads only
/// embedded files, each served with its content type.
#[actix_web::test]
async fn docs_page_and_its_assets_are_served() {
    let app = TestApp::new();
    let page = app.get("/api/docs").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_page_headers(&page, "/api/docs");
    let directives: Vec<&str> = CSP.split(';').map(str::trim).collect();
    assert!(directives.contains(&"default-src 'self'"));
    assert!(directives.contains(&"script-src 'self'"));
    assert!(!CSP.contains("unsafe-eval"));
    let html = page.text();
    assert!(!html.contains("<script>"), "inline script in the page");
    assert!(!html.contains("http://") && !html.contains("https://"));
    for reference in [
        "docs/swagger-ui.css",
        "docs/swagger-ui-bundle.js",
        "docs/init.js",
    ] {
        assert!(html.contains(reference), "{reference}");
    }
    for asset in ASSETS {
        let uri = format!("/api/docs/{}", asset.name);
        let resp = app.get(&uri).await;
        assert_eq!(resp.status, 200, "{uri}");
        let expected = match asset.name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        };
        assert_eq!(
            resp.header("content-type").as_deref(),
            Some(expected),
            "{uri}"
        );
        assert_page_headers(&resp, &uri);
        assert_eq!(&resp.body[..], asset.bytes, "{uri}");
        assert!(!resp.body.is_empty(), "{uri}");
    }
    let missing = app.get("/api/docs/swagger-ui.js.map").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.text(),
        r#"{"success":false,"error":"API endpoint does not exist"}"#
    );
}

fn json_headers(extra: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in extra {
        h.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    h
}

/// The checker every test response goes through refuses what the document does not say.
#[test]
fn the_contract_check_can_fail() {
    let c = Contract::get();
    let visitor = "/api/v1/livechat/visitor/{token}";
    let h = json_headers(&[]);
    let good = json!({"visitor": {
        "_id": "abc", "token": "t", "username": "guest-1",
        "ts": "2026-01-01T00:00:00.000Z", "_updatedAt": "2026-01-01T00:00:00.000Z",
        "status": "online"}, "success": true});
    let check = |method, template, status, headers: &HeaderMap, body: &Value| {
        c.check(
            method,
            template,
            false,
            status,
            headers,
            &serde_json::to_vec(body).expect("json"),
        )
    };
    assert_eq!(check("GET", Some(visitor), 200, &h, &good), Ok(()));
    // An unknown field, a missing one, a null, a bad date, `success: false` on a 200.
    for (pointer, value) in [
        ("/visitor/extra", json!(1)),
        ("/visitor/name", Value::Null),
        ("/visitor/ts", json!("yesterday")),
        ("/success", json!(false)),
    ] {
        let mut bad = good.clone();
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let target = if parent.is_empty() {
            &mut bad
        } else {
            bad.pointer_mut(parent).expect("parent")
        };
        target[key] = value;
        assert!(
            check("GET", Some(visitor), 200, &h, &bad).is_err(),
            "{pointer} accepted"
        );
    }
    let mut no_token = good.clone();
    no_token["visitor"]
        .as_object_mut()
        .expect("visitor")
        .remove("token");
    assert!(check("GET", Some(visitor), 200, &h, &no_token).is_err());
    // The agent view must not carry a token.
    let info = "/api/v1/livechat/visitors.info";
    assert!(check("GET", Some(info), 200, &h, &good).is_err());
    // A status the route does not document; an unrouted path that is not a 404.
    let err = json!({"success": false, "error": "Service unavailable"});
    assert!(check("GET", Some(visitor), 503, &h, &err).is_err());
    assert!(check("GET", None, 400, &h, &err).is_err());
    // 405 on a documented method is not the document's.
    let nope = json!({"success": false, "error": "API endpoint does not exist"});
    assert!(check("GET", Some(visitor), 405, &h, &nope).is_err());
    assert_eq!(
        check(
            "PUT",
            Some(visitor),
            405,
            &json_headers(&[("allow", "GET, DELETE")]),
            &nope
        ),
        Ok(())
    );
    assert!(
        check("PUT", Some(visitor), 405, &h, &nope).is_err(),
        "405 without Allow"
    );
    // 429 needs its headers; a body must be JSON of the documented type.
    let limited = json!({"success": false, "error": "Error, too many requests. Please slow down. \
        You must wait 12 seconds before trying this endpoint again. [error-too-many-requests]"});
    assert!(check("GET", Some(visitor), 429, &h, &limited).is_err());
    let rate = json_headers(&[
        ("x-ratelimit-limit", "5"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", "1"),
    ]);
    assert_eq!(check("GET", Some(visitor), 429, &rate, &limited), Ok(()));
    let vague =
        json!({"success": false, "error": "Error, too many requests. [error-too-many-requests]"});
    assert!(check("GET", Some(visitor), 429, &rate, &vague).is_err());
    let html = {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("text/html"),
        );
        h
    };
    assert!(check("GET", Some(visitor), 200, &html, &good).is_err());
    // Envelopes: 401 has its own; a 400 with an unknown key is refused.
    let unauthorized = json!({"success": false, "error": "You must be logged in to do this.",
        "status": "error", "message": "You must be logged in to do this."});
    assert_eq!(check("GET", Some(info), 401, &h, &unauthorized), Ok(()));
    assert!(check("GET", Some(info), 401, &h, &err).is_err());
    let odd = json!({"success": false, "error": "x", "reason": "y"});
    assert!(check("GET", Some(info), 400, &h, &odd).is_err());
}

/// The generated document is a valid OpenAPI 3.1 document (the official schema, vendored in
/// `tests/fixtures/`).
#[test]
fn document_is_valid_openapi_3_1() {
    let schema: Value = serde_json::from_str(include_str!("../fixtures/openapi-3.1.schema.json"))
        .expect("the OpenAPI 3.1 schema");
    let validator = jsonschema::draft202012::new(&schema).expect("compiles");
    let doc = &Contract::get().doc;
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // And it can fail: a document without `info`.
    let mut broken = doc.clone();
    broken.as_object_mut().expect("object").remove("info");
    assert!(!validator.is_valid(&broken));
}
