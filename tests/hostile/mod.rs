//! Hostile input (issue item 4): generated (proptest) and hand-written requests to every route,
//! with bodies, paths, query strings and headers no client should send.
//!
//! Whatever arrives, every response must keep the envelope of spec §1.1 (status below 500, a JSON
//! object with `success` agreeing with the status, `success` last in a success and first in a
//! failure, a coded `error` ending in `[<errorType>]`, no `null` anywhere, `Content-Type:
//! application/json`, `Cache-Control: no-store`, `Allow` on a 405), and a rejected request
//! (status >= 400) must leave the store exactly as it was: [`Hostile::send`] compares
//! `Store::snapshot()` before and after every request it sends.
//!
//! - `json`: the raw-JSON generator (wrong types, nulls, huge numbers, duplicate keys, invalid
//!   UTF-8, NUL bytes, deep nesting) and the mutation of body templates;
//! - `bodies`: each endpoint's body template; generated and hand-written bodies for every route
//!   (every field of every type), 10 MB bodies, empty bodies, content types, user administration;
//! - `paths`: hostile tokens and ids in paths (`/`, `%2F`, `..`, `%00`, long), unknown paths and
//!   methods;
//! - `queries`: thousands of parameters, repeated keys, bad percent-encoding, hostile `term`,
//!   `sort`, `count` and `offset`;
//! - `headers`: very long and non-UTF-8 header values, CORS preflights, forwarded addresses.

mod bodies;
mod headers;
mod json;
mod paths;
mod queries;

use crate::common::{Creds, Resp, TestApp};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};
use std::cell::RefCell;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::Required;
use visitord::config::Durability;
use visitord::domain::PageVisitInput;
use visitord::domain::Registration;
use visitord::http::routes::ROUTES;
use visitord::time::now_ms;

/// Every route of the API with the method it serves, a path that reaches the handler, whether it
/// needs agent credentials and whether it reads a JSON body.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    pub path: String,
    pub agent: bool,
    pub body: bool,
}

/// A store with a little of everything, an admin, and a way to send requests that checks each
/// response and, for rejections, that nothing changed.
pub struct Hostile {
    pub app: TestApp,
    pub admin: Creds,
    /// A visitor with an open room, a message and navigation history.
    pub token: String,
    pub visitor_id: String,
    pub rid: String,
    /// A second visitor with an open room, for `room.close` to close.
    pub closer_token: String,
    pub closer_rid: String,
    /// A livechat agent (`decoy`) that `users.update` may change.
    pub decoy_id: String,
    /// A livechat agent (`victim`) that `users.delete` may delete.
    pub victim_id: String,
    /// The app as one service, built on first use: `TestApp::call` builds the whole app for
    /// every request (milliseconds in a debug build), which thousands of requests cannot afford.
    service: RefCell<Option<Caller>>,
}

/// Sends one request through a built app.
use crate::common::Caller;

impl Hostile {
    /// The fixture over `config` changes (durability `periodic`: the many generated writes need
    /// not wait for disk; HTTP headers of new visitors stored, so hostile headers reach the store).
    pub fn with_config(f: impl FnOnce(&mut visitord::config::Config)) -> Hostile {
        let app = TestApp::with_config(|c| {
            c.storage.durability = Durability::Periodic;
            c.livechat.store_http_headers = true;
            f(c);
        });
        let admin = app.user("admin1", &["admin"]);
        let decoy = app.user("decoy", &["livechat-agent"]);
        let victim = app.user("victim", &["livechat-agent"]);
        let store = app.backend();
        let token = "fixture-token".to_string();
        let now = now_ms();
        let visitor = store
            .register_visitor(
                &Registration {
                    token: token.clone(),
                    name: Some("Fixture Visitor".into()),
                    email: Some("fixture@example.com".into()),
                    phone: Some("+1 555 0100".into()),
                    ..Default::default()
                },
                now,
            )
            .expect("fixture visitor");
        let (room, _) = store
            .open_room(
                &visitord::domain::RoomRequest::new(&token, None, visitord::model::RoomSource::Api),
                now,
            )
            .expect("fixture room");
        store
            .add_message(
                &visitord::domain::MessageInput::new(
                    &token,
                    &room.id,
                    "hello",
                    Some("fixture-msg"),
                ),
                now,
            )
            .expect("fixture message");
        store
            .record_page_visit(
                &PageVisitInput {
                    token: token.clone(),
                    rid: Some(room.id.clone()),
                    title: "Home".into(),
                    change: "url".into(),
                    href: "https://example.com/".into(),
                },
                now,
                None,
            )
            .expect("fixture page visit");
        let closer_token = "closer-token".to_string();
        store
            .register_visitor(
                &Registration {
                    token: closer_token.clone(),
                    ..Default::default()
                },
                now,
            )
            .expect("closer visitor");
        let (closer_room, _) = store
            .open_room(
                &visitord::domain::RoomRequest::new(
                    &closer_token,
                    None,
                    visitord::model::RoomSource::Api,
                ),
                now,
            )
            .expect("closer room");
        Hostile {
            app,
            admin,
            token,
            visitor_id: visitor.id,
            rid: room.id,
            closer_token,
            closer_rid: closer_room.id,
            decoy_id: decoy.user_id,
            victim_id: victim.user_id,
            service: RefCell::new(None),
        }
    }

    pub fn new() -> Hostile {
        Hostile::with_config(|_| {})
    }

    /// Every route of the route table (`visitord::http::routes::ROUTES`, which the router is
    /// built from, so none can be missing here), with paths and required query parameters
    /// that name the fixture, plus two paths that are no route.
    pub fn routes(&self) -> Vec<Route> {
        let mut routes = Vec::new();
        for def in ROUTES {
            for endpoint in def.endpoints {
                let doc = (endpoint.doc)();
                let method = endpoint.verb.method();
                let mut path = def.path.to_string();
                let mut query = Vec::new();
                for p in doc.parameters.iter().flatten() {
                    match p.parameter_in {
                        ParameterIn::Path => {
                            let value = self.example(&p.name, &method);
                            path = path.replace(&format!("{{{}}}", p.name), &value)
                        }
                        ParameterIn::Query if p.required == Required::True => {
                            query.push(format!("{}={}", p.name, self.example(&p.name, &method)))
                        }
                        _ => {}
                    }
                }
                if !query.is_empty() {
                    path = format!("{path}?{}", query.join("&"));
                }
                // Logout carries no credentials here: with the admin's it would end the session
                // the other requests use.
                let agent = doc.security.as_ref().is_some_and(|s| !s.is_empty())
                    && def.path != "/api/v1/logout";
                routes.push(Route {
                    method,
                    path,
                    agent,
                    body: doc.request_body.is_some(),
                });
            }
        }
        // `pagesVisited?visitorId=`: the query's other form (its schema is `oneOf`).
        routes.push(Route {
            method: Method::GET,
            path: format!(
                "/api/v1/livechat/visitors.pagesVisited?visitorId={}",
                self.visitor_id
            ),
            agent: true,
            body: false,
        });
        for (method, path, body) in [
            (Method::GET, "/api/v1/no/such/endpoint", false),
            (Method::POST, "/nope", true),
        ] {
            routes.push(Route {
                method,
                path: path.into(),
                agent: false,
                body,
            });
        }
        routes
    }

    /// The fixture's value for a parameter named `name`.
    fn example(&self, name: &str, method: &Method) -> String {
        match name {
            // Deleting the fixture's visitor would change what the other requests see.
            "token" if method == Method::DELETE => "no-such-visitor".into(),
            "token" => self.token.clone(),
            "roomId" | "rid" => self.rid.clone(),
            "visitorId" => self.visitor_id.clone(),
            "term" => "fix".into(),
            "file" => "init.js".into(),
            other => panic!("the hostile fixture has no value for parameter {other:?}"),
        }
    }

    /// `req` with the admin's credentials.
    pub fn as_admin(&self, req: TestRequest) -> TestRequest {
        req.insert_header(("X-User-Id", self.admin.user_id.as_str()))
            .insert_header(("X-Auth-Token", self.admin.token.as_str()))
    }

    /// A request for `route` (with the admin's credentials when it needs them), path and query
    /// replaced by `uri` when given.
    pub fn request(&self, route: &Route, uri: Option<&str>) -> TestRequest {
        let req = TestRequest::default()
            .method(route.method.clone())
            .uri(uri.unwrap_or(&route.path));
        if route.agent {
            self.as_admin(req)
        } else {
            req
        }
    }

    /// The whole app (`build_app` over the fixture's state), as `TestApp::call` sends to it.
    async fn caller(&self) -> Caller {
        if let Some(caller) = self.service.borrow().as_ref() {
            return caller.clone();
        }
        let caller = crate::common::build_caller(self.app.state.clone()).await;
        *self.service.borrow_mut() = Some(caller.clone());
        caller
    }

    /// Sends `req`, checks the envelope of the response and, when it is a rejection, that the
    /// store did not change. `what` names the request in failure messages.
    pub async fn send(&self, req: TestRequest, what: &str) -> Resp {
        // The unchanged-store check reads sled's logical snapshot; on postgres the envelope and
        // status checks run alone.
        let store = self.app.state.store.as_ref();
        let call = self.caller().await;
        let before = store.map(|s| s.snapshot().expect("snapshot"));
        let resp = call(req).await;
        assert_envelope(&resp, what);
        if let (true, Some(store), Some(before)) = (resp.status >= 400, store, before) {
            let after = store.snapshot().expect("snapshot");
            if before != after {
                panic!(
                    "{what}: rejected with {} {} but the store changed:\n{}",
                    resp.status,
                    resp.text(),
                    snapshot_diff(&before, &after)
                );
            }
        }
        resp
    }

    /// `Store::check()` finds nothing.
    pub fn assert_consistent(&self, what: &str) {
        let Some(store) = &self.app.state.store else {
            return;
        };
        let report = store.check().expect("check");
        assert!(
            report.problems.is_empty(),
            "{what}: store check: {:#?}",
            report.problems
        );
    }
}

/// Rows added and removed between two snapshots (for failure messages).
fn snapshot_diff(before: &[Row], after: &[Row]) -> String {
    let show = |r: &Row| {
        format!(
            "{} {:?} => {} bytes",
            r.0,
            String::from_utf8_lossy(&r.1),
            r.2.len()
        )
    };
    let removed = before.iter().filter(|r| !after.contains(r)).map(show);
    let added = after.iter().filter(|r| !before.contains(r)).map(show);
    removed
        .map(|r| format!("  - {r}"))
        .chain(added.map(|r| format!("  + {r}")))
        .take(40)
        .collect::<Vec<_>>()
        .join("\n")
}

type Row = (String, Vec<u8>, Vec<u8>);

/// A successful answer of a route that serves a document: Prometheus text, the viewer's files,
/// or the OpenAPI document (JSON without an envelope).
fn is_document(resp: &Resp) -> bool {
    let content_type = resp.header("content-type").unwrap_or_default();
    let kind = content_type.split(';').next().unwrap_or_default();
    match kind {
        "text/plain" | "text/html" | "text/javascript" | "text/css" => true,
        "application/json" => serde_json::from_slice::<Value>(&resp.body).is_ok_and(|doc| {
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1"))
        }),
        _ => false,
    }
}

/// §1.1 for any response: below 500, `application/json` (no charset), `no-store`, a JSON object
/// with a boolean `success` that agrees with the status. Login and logout answer in Rocket.Chat's
/// own shape (`status` instead of `success`, spec §4) when they succeed or refuse credentials.
/// The routes that serve documents rather than API answers (`/metrics`, the OpenAPI document
/// and its viewer) are checked for their own type when they succeed; their errors are
/// enveloped like every other.
pub fn assert_envelope(resp: &Resp, what: &str) {
    if resp.status < 300 && is_document(resp) {
        return;
    }
    let text = || {
        let t = resp.text();
        if t.len() > 400 {
            let head: String = t.chars().take(400).collect();
            format!("{head}… ({} bytes)", t.len())
        } else {
            t
        }
    };
    assert!(
        resp.status < 500,
        "{what}: server error {}: {}",
        resp.status,
        text()
    );
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/json"),
        "{what}: Content-Type of a {} response: {}",
        resp.status,
        text()
    );
    assert_eq!(
        resp.header("cache-control").as_deref(),
        Some("no-store"),
        "{what}: Cache-Control of a {} response",
        resp.status
    );
    let body: Value = serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {}", text()));
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{what}: body is not an object: {}", text()));
    match obj.get("success") {
        Some(success) => {
            assert_eq!(
                success,
                &json!(resp.status == 200),
                "{what}: `success` disagrees with status {}: {}",
                resp.status,
                text()
            );
            // Key order: `success` last in a success, first (then `error`) in a failure.
            let raw = resp.text();
            if resp.status == 200 {
                assert!(raw.ends_with("\"success\":true}"), "{what}: {}", text());
            } else {
                assert!(
                    raw.starts_with("{\"success\":false,\"error\":"),
                    "{what}: {}",
                    text()
                );
            }
            // A coded error names its code at the end of the message.
            if let Some(code) = obj.get("errorType") {
                let code = code
                    .as_str()
                    .unwrap_or_else(|| panic!("{what}: errorType {code}"));
                let error = obj["error"].as_str().unwrap_or_default();
                assert!(
                    error.ends_with(&format!("[{code}]")),
                    "{what}: error {error:?} does not end with [{code}]"
                );
            }
        }
        None => {
            let rocket_shape = matches!(obj.get("status"), Some(Value::String(s)) if
                (s == "success" && resp.status == 200) || (s == "error" && resp.status == 401));
            assert!(
                rocket_shape,
                "{what}: no `success` in a {} body: {}",
                resp.status,
                text()
            );
        }
    }
    // §1.2: an absent field is left out, never `null`.
    assert!(
        !has_null(&body),
        "{what}: a null in a {} body: {}",
        resp.status,
        text()
    );
    if resp.status == 405 {
        assert!(resp.header("allow").is_some(), "{what}: 405 without Allow");
    }
}

/// The proptest configuration of this module: `cases` cases, nothing written to disk.
pub fn config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..Default::default()
    }
}

/// `s` cut to at most `max_bytes` bytes (at a character boundary): generated values must keep
/// URIs under the 64 KiB that the `http` crate accepts.
pub fn clip(s: String, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(m) => m.values().any(has_null),
        _ => false,
    }
}

/// §2.4–2.6: no agent response carries a visitor token (no `token` key anywhere, and none of
/// the fixture's tokens as a value).
pub fn assert_no_visitor_token(h: &Hostile, resp: &Resp, what: &str) {
    fn walk(v: &Value, tokens: &[&str], what: &str, whole: &str) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    assert_ne!(k, "token", "{what}: a token in an agent response: {whole}");
                    walk(v, tokens, what, whole);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, tokens, what, whole)),
            Value::String(s) => assert!(
                !tokens.contains(&s.as_str()),
                "{what}: a visitor token in an agent response: {whole}"
            ),
            _ => {}
        }
    }
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    walk(&body, &[&h.token, &h.closer_token], what, &resp.text());
}

/// Percent-encodes every byte outside RFC 3986's unreserved set.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(*b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
