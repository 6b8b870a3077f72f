//! The web face: `/`, `/console/`, `/livechat/visitor.js` and `/livechat/demo/` — every embedded
//! file with its headers, ETag/304/HEAD, the config switches, and the rules for `web/`.
//!
//! These paths are not API operations (they are outside the OpenAPI document), so requests go
//! straight to the app here instead of through the contract check of `TestApp::call`.

use crate::common::TestApp;

mod cors;
mod overview;
mod room_messages;
use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use visitord::http::build_app;
use visitord::http::webui::assets::{Kind, ASSETS};
use visitord::http::webui::{CONSOLE_CSP, DEMO_CSP, WEB_PATHS};

struct Got {
    status: u16,
    headers: actix_web::http::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

async fn send(app: &TestApp, req: TestRequest) -> Got {
    let svc = test::init_service(build_app(app.state.clone())).await;
    let res = test::call_service(&svc, req.to_request()).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = test::read_body(res).await.to_vec();
    Got {
        status,
        headers,
        body,
    }
}

async fn get(app: &TestApp, uri: &str) -> Got {
    send(app, TestRequest::get().uri(uri)).await
}

fn not_found() -> Value {
    json!({"success": false, "error": "API endpoint does not exist"})
}

/// Every embedded file: 200 with its type, a strong ETag, `Cache-Control` and the headers of its
/// kind; `If-None-Match` with that ETag → 304 without a body; HEAD → the same headers.
#[actix_web::test]
async fn every_embedded_file_is_served_with_its_headers() {
    let app = TestApp::new();
    for asset in ASSETS {
        let at = asset.url;
        let got = get(&app, at).await;
        assert_eq!(got.status, 200, "{at}");
        assert_eq!(got.body, asset.bytes, "{at}");
        let ext = asset.file.rsplit('.').next().unwrap();
        let ct = match ext {
            "html" => "text/html; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            other => panic!("{at}: no expected type for .{other}"),
        };
        assert_eq!(got.header("content-type"), Some(ct), "{at}");
        let etag = got.header("etag").expect("etag").to_string();
        assert!(
            etag.len() == 66 && etag.starts_with('"') && etag.ends_with('"'),
            "{at}: strong ETag {etag}"
        );
        assert_eq!(
            got.header("x-content-type-options"),
            Some("nosniff"),
            "{at}"
        );
        assert_eq!(got.header("referrer-policy"), Some("no-referrer"), "{at}");
        match asset.kind {
            Kind::Console => {
                assert_eq!(got.header("cache-control"), Some("no-cache"), "{at}");
                assert_eq!(
                    got.header("content-security-policy"),
                    Some(CONSOLE_CSP),
                    "{at}"
                );
                assert_eq!(got.header("x-frame-options"), Some("DENY"), "{at}");
                assert_eq!(
                    got.header("cross-origin-opener-policy"),
                    Some("same-origin"),
                    "{at}"
                );
                assert_eq!(got.header("access-control-allow-origin"), None, "{at}");
            }
            Kind::Demo => {
                assert_eq!(got.header("cache-control"), Some("no-cache"), "{at}");
                assert_eq!(
                    got.header("content-security-policy"),
                    Some(DEMO_CSP),
                    "{at}"
                );
            }
            Kind::Tracker => {
                assert_eq!(
                    got.header("cache-control"),
                    Some("public, max-age=300"),
                    "{at}"
                );
                assert_eq!(got.header("access-control-allow-origin"), Some("*"), "{at}");
                assert_eq!(
                    got.header("cross-origin-resource-policy"),
                    Some("cross-origin"),
                    "{at}"
                );
                assert_eq!(got.header("content-security-policy"), None, "{at}");
            }
        }

        for inm in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"x\", {etag}"),
            "*".into(),
        ] {
            let cached = send(
                &app,
                TestRequest::get()
                    .uri(at)
                    .insert_header(("If-None-Match", inm.as_str())),
            )
            .await;
            assert_eq!(cached.status, 304, "{at} {inm}");
            assert!(cached.body.is_empty(), "{at}");
            assert_eq!(cached.header("etag"), Some(etag.as_str()), "{at}");
            assert_eq!(
                cached.header("cache-control"),
                got.header("cache-control"),
                "{at}"
            );
        }
        let stale = send(
            &app,
            TestRequest::get()
                .uri(at)
                .insert_header(("If-None-Match", "\"0000\"")),
        )
        .await;
        assert_eq!(stale.status, 200, "{at}");

        let head = send(&app, TestRequest::default().method(Method::HEAD).uri(at)).await;
        assert_eq!(head.status, 200, "{at}");
        for name in [
            "content-type",
            "etag",
            "cache-control",
            "content-security-policy",
        ] {
            assert_eq!(head.header(name), got.header(name), "{at} HEAD {name}");
        }
    }
}

/// Every file under `web/console`, `web/tracker` and `web/demo` is embedded, and nothing else is.
#[test]
fn the_embedded_files_are_the_web_folders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut on_disk = Vec::new();
    for dir in ["console", "tracker", "demo"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("read web dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(&root).unwrap();
                    on_disk.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    on_disk.sort();
    let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.file.to_string()).collect();
    embedded.sort();
    assert_eq!(embedded, on_disk);
}

/// `/` and `/console` redirect to the console; the demo's folder without its slash too.
#[actix_web::test]
async fn redirects() {
    let app = TestApp::new();
    for (from, to) in [
        ("/", "/console/"),
        ("/console", "/console/"),
        ("/livechat/demo", "/livechat/demo/"),
    ] {
        let got = get(&app, from).await;
        assert_eq!(got.status, 302, "{from}");
        assert_eq!(got.header("location"), Some(to), "{from}");
        assert!(got.body.is_empty());
    }
}

/// Unknown files under the web prefixes, and other methods, are the API's JSON answers.
#[actix_web::test]
async fn unknown_files_and_methods_are_json() {
    let app = TestApp::new();
    for uri in [
        "/console/nope.js",
        "/console/index.html",
        "/console/a/b.js",
        "/livechat/demo/nope.html",
        "/livechat/visitor.json",
        "/livechat/demo/index.html",
    ] {
        let got = get(&app, uri).await;
        assert_eq!(got.status, 404, "{uri}");
        assert_eq!(
            got.header("content-type"),
            Some("application/json"),
            "{uri}"
        );
        assert_eq!(got.json(), not_found(), "{uri}");
    }
    for (method, uri) in [
        (Method::POST, "/console/"),
        (Method::DELETE, "/console/app.js"),
        (Method::PUT, "/livechat/visitor.js"),
        (Method::POST, "/"),
    ] {
        let got = send(&app, TestRequest::default().method(method.clone()).uri(uri)).await;
        assert_eq!(got.status, 405, "{method} {uri}");
        assert_eq!(got.header("allow"), Some("GET, HEAD"), "{method} {uri}");
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert_eq!(got.json(), not_found(), "{method} {uri}");
    }
}

/// `console.enabled = false`: `/` and `/console/…` are JSON 404s; the tracker and demo stay.
/// `livechat.demo_enabled = false`: the demo is a JSON 404; the tracker stays.
#[actix_web::test]
async fn switches() {
    let off = TestApp::with_config(|c| c.console.enabled = false);
    for uri in ["/", "/console", "/console/", "/console/app.js"] {
        let got = get(&off, uri).await;
        assert_eq!(got.status, 404, "{uri}");
        assert_eq!(got.json(), not_found(), "{uri}");
    }
    assert_eq!(get(&off, "/livechat/visitor.js").await.status, 200);
    assert_eq!(get(&off, "/livechat/demo/").await.status, 200);

    let no_demo = TestApp::with_config(|c| c.livechat.demo_enabled = false);
    for uri in [
        "/livechat/demo",
        "/livechat/demo/",
        "/livechat/demo/demo.js",
    ] {
        let got = get(&no_demo, uri).await;
        assert_eq!(got.status, 404, "{uri}");
        assert_eq!(got.json(), not_found(), "{uri}");
    }
    assert_eq!(get(&no_demo, "/livechat/visitor.js").await.status, 200);
    assert_eq!(get(&no_demo, "/console/").await.status, 200);
}

/// API answers keep their rules: JSON and `no-store`, no console CSP.
#[actix_web::test]
async fn api_answers_are_unchanged() {
    let app = TestApp::new();
    let got = get(&app, "/health").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("cache-control"), Some("no-store"));
    assert_eq!(got.header("content-security-policy"), None);
}

/// The web paths are not API operations: none is in the OpenAPI document.
#[test]
fn web_paths_are_not_in_the_document() {
    let doc = serde_json::to_value(visitord::http::reference::document::document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for def in WEB_PATHS {
        assert!(!paths.contains_key(def.path), "{}", def.path);
    }
}

/// The tracker's size budget: at most 12 KB as served and 5 KB gzipped.
#[test]
fn tracker_size_budget() {
    let tracker = ASSETS
        .iter()
        .find(|a| a.url == "/livechat/visitor.js")
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(tracker.bytes).unwrap();
    let gzipped = gz.finish().unwrap().len();
    assert!(
        tracker.bytes.len() <= 12 * 1024,
        "raw {}",
        tracker.bytes.len()
    );
    assert!(gzipped <= 5 * 1024, "gzipped {gzipped}");
}

/// Visitor data is rendered as text: no `innerHTML`, `outerHTML`, `insertAdjacentHTML`,
/// `document.write`, `eval` or `new Function` in our browser code.
#[test]
fn browser_code_never_parses_markup_or_code() {
    for asset in ASSETS.iter().filter(|a| a.file.ends_with(".js")) {
        let text = std::str::from_utf8(asset.bytes).unwrap();
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setTimeout('",
            "setTimeout(\"",
        ] {
            assert!(!text.contains(banned), "{}: {banned}", asset.file);
        }
    }
}

/// The switches from the environment, on a real server: `VISITORD_CONSOLE_ENABLED=false` and
/// `VISITORD_LIVECHAT_DEMO_ENABLED=false` turn both off; a HEAD over the wire has the length of
/// the file and no body.
#[test]
fn switches_from_the_environment_on_a_running_server() {
    use crate::cli::proc::{try_request, Server};
    use crate::cli::Sandbox;
    let sb = Sandbox::new();
    let on = Server::start(sb.cwd(), &sb.data(), &[]);
    let res = try_request(on.addr, "GET", "/", &[], None).unwrap();
    assert_eq!(res.status, 302);
    // HEAD by hand (the test client expects a body after Content-Length).
    let mut conn = std::net::TcpStream::connect(on.addr).unwrap();
    conn.write_all(b"HEAD /livechat/visitor.js HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    std::io::Read::read_to_string(&mut conn, &mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(body, "");
    let tracker = ASSETS
        .iter()
        .find(|a| a.url == "/livechat/visitor.js")
        .unwrap();
    let expected = format!("content-length: {}", tracker.bytes.len());
    assert!(
        head.lines().any(|l| l.eq_ignore_ascii_case(&expected)),
        "{head}"
    );
    drop(on);

    let sb = Sandbox::new();
    let off = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_CONSOLE_ENABLED", "false"),
            ("VISITORD_LIVECHAT_DEMO_ENABLED", "false"),
        ],
    );
    for path in ["/", "/console/", "/livechat/demo/"] {
        let res = try_request(off.addr, "GET", path, &[], None).unwrap();
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(
            serde_json::from_str::<Value>(&res.body).unwrap(),
            not_found()
        );
    }
    let res = try_request(off.addr, "GET", "/livechat/visitor.js", &[], None).unwrap();
    assert_eq!(res.status, 200);
}
