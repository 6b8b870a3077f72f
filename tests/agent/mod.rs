//! Integration tests of the agent-facing half of the API (spec §1.1 401/403/order/429, §1.3–§1.5,
//! §2.4–§2.7, §4): credentials, login/logout/me, user administration, the four visitor
//! endpoints for agents, custom-fields, and pagination edges.
//!
//! Shared helpers of this area live here; the visitor-side helpers are reused from
//! `tests/api/util.rs` (included again below as `util`, since `api::util` is private to `api`).

#![allow(dead_code)]

mod auth;
mod backup;
mod chat_history;
mod console_search;
mod custom_fields;
mod info;
mod login;
mod pages_visited;
mod pagination;
mod search;
mod users_admin;

/// The visitor-side helpers of `tests/api/util.rs` (registration, rooms, page visits, envelope
/// assertions), reused as they are.
pub use crate::api::util;

use crate::common::{Creds, Resp, TestApp, PASSWORD};
use actix_web::test::TestRequest;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use util::{assert_failure, assert_success, sorted_keys};

pub const INFO: &str = "/api/v1/livechat/visitors.info";
pub const PAGES: &str = "/api/v1/livechat/visitors.pagesVisited";
pub const SEARCH: &str = "/api/v1/livechat/visitors.search";
pub const CONSOLE_SEARCH: &str = "/api/v1/visitord.visitors.search";
pub const OVERVIEW: &str = "/api/v1/visitord.overview";
pub const CUSTOM_FIELDS: &str = "/api/v1/livechat/custom-fields";
pub const LOGIN: &str = "/api/v1/login";
pub const LOGOUT: &str = "/api/v1/logout";
pub const ME: &str = "/api/v1/me";
pub const USERS_CREATE: &str = "/api/v1/users.create";
pub const USERS_LIST: &str = "/api/v1/users.list";
pub const USERS_UPDATE: &str = "/api/v1/users.update";
pub const USERS_DELETE: &str = "/api/v1/users.delete";

/// `visitors.chatHistory/room/:rid/visitor/:vid`.
pub fn history_path(rid: &str, vid: &str) -> String {
    format!("/api/v1/livechat/visitors.chatHistory/room/{rid}/visitor/{vid}")
}

/// `visitors.pagesVisited/:rid`.
pub fn pages_path(rid: &str) -> String {
    format!("{PAGES}/{rid}")
}

/// `base?k=v&…` with every name and value percent-encoded (`{`, `"`, non-ASCII …).
pub fn q(base: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return base.to_string();
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{sep}{}",
        serde_urlencoded::to_string(pairs).expect("encode query")
    )
}

// ---------------------------------------------------------------------------------------------
// Exact error bodies
// ---------------------------------------------------------------------------------------------

/// §1.1 401 body, in the spec's key order.
pub fn unauthorized() -> Value {
    json!({
        "success": false,
        "error": "You must be logged in to do this.",
        "status": "error",
        "message": "You must be logged in to do this.",
    })
}

/// §1.1 403 body.
pub fn forbidden() -> Value {
    json!({
        "success": false,
        "error": "User does not have the permissions required for this action [error-unauthorized]",
    })
}

/// §4 login failure body (401).
pub fn login_failed() -> Value {
    json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
}

/// §1.5 bad `sort`.
pub fn invalid_sort(raw: &str) -> Value {
    json!({
        "success": false,
        "error": format!("Invalid sort parameter provided: \"{raw}\" [error-invalid-sort]"),
        "errorType": "error-invalid-sort",
        "details": {"helperMethod": "parseJsonQuery"},
    })
}

pub fn assert_unauthorized(resp: &Resp) {
    assert_failure(resp, 401, &unauthorized());
}

pub fn assert_forbidden(resp: &Resp) {
    assert_failure(resp, 403, &forbidden());
}

/// The failures of a table-driven test, reported together.
#[derive(Default)]
pub struct Failures(pub Vec<String>);

impl Failures {
    /// Records a mismatch unless `resp` has exactly `status` and `body` (and JSON headers).
    pub fn expect(&mut self, what: &str, resp: &Resp, status: u16, body: &Value) {
        let ct = resp.header("content-type");
        let parsed: Option<Value> = serde_json::from_slice(&resp.body).ok();
        if resp.status != status
            || parsed.as_ref() != Some(body)
            || resp.text() != *body.to_string()
            || ct.as_deref() != Some("application/json")
        {
            self.0.push(format!(
                "{what}: expected {status} {body}, got {} {} (content-type {ct:?})",
                resp.status,
                resp.text()
            ));
        }
    }

    /// Records a mismatch unless `resp` is a 200 success whose keys (without `success`) are `keys`.
    pub fn expect_ok(&mut self, what: &str, resp: &Resp, keys: &[&str]) {
        let parsed: Option<Value> = serde_json::from_slice(&resp.body).ok();
        let ok = resp.status == 200
            && resp.text().ends_with("\"success\":true}")
            && parsed.as_ref().is_some_and(|v| {
                let mut k = sorted_keys(v);
                k.retain(|k| k != "success");
                let mut want: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
                want.sort();
                k == want
            });
        if !ok {
            self.0.push(format!(
                "{what}: expected 200 with keys {keys:?}, got {} {}",
                resp.status,
                resp.text()
            ));
        }
    }

    pub fn check(&mut self, what: &str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            self.0.push(format!("{what}: {}", detail()));
        }
    }

    pub fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} failure(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A request with arbitrary headers (and a JSON body when given).
pub async fn send(
    app: &TestApp,
    method: &str,
    uri: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req = match method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        other => panic!("method {other}"),
    }
    .uri(uri);
    if let Some(body) = body {
        req = req
            .insert_header(("Content-Type", "application/json"))
            .set_payload(serde_json::to_vec(body).expect("json"));
    }
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    app.call(req).await
}

/// A request with `creds` (or none), GET or POST.
pub async fn send_as(
    app: &TestApp,
    method: &str,
    uri: &str,
    body: Option<&Value>,
    creds: Option<&Creds>,
) -> Resp {
    match creds {
        Some(c) => {
            send(
                app,
                method,
                uri,
                body,
                &[("X-User-Id", &c.user_id), ("X-Auth-Token", &c.token)],
            )
            .await
        }
        None => send(app, method, uri, body, &[]).await,
    }
}

/// POST raw bytes as JSON with optional credentials.
pub async fn post_raw_as(app: &TestApp, uri: &str, raw: &[u8], creds: Option<&Creds>) -> Resp {
    let mut req = TestRequest::post()
        .uri(uri)
        .insert_header(("Content-Type", "application/json"))
        .set_payload(raw.to_vec());
    if let Some(c) = creds {
        req = req
            .insert_header(("X-User-Id", c.user_id.as_str()))
            .insert_header(("X-Auth-Token", c.token.as_str()));
    }
    app.call(req).await
}

/// `POST /api/v1/login` with `{<key>: name, password}`.
pub async fn login_with(app: &TestApp, key: &str, name: &str, password: &str) -> Resp {
    app.post(LOGIN, &json!({ key: name, "password": password }))
        .await
}

/// Logs in through the API and returns the credentials of the answer.
pub async fn login_ok(app: &TestApp, username: &str, password: &str) -> Creds {
    let resp = login_with(app, "user", username, password).await;
    assert_eq!(resp.status, 200, "login of {username}: {}", resp.text());
    let body = resp.json();
    Creds {
        user_id: body["data"]["userId"]
            .as_str()
            .expect("data.userId")
            .to_string(),
        token: body["data"]["authToken"]
            .as_str()
            .expect("data.authToken")
            .to_string(),
    }
}

/// A session of `user_id` that expired a millisecond ago, written straight to the store.
pub fn expired_creds(app: &TestApp, user_id: &str) -> Creds {
    let token = visitord::credentials::new_login_token();
    let now = visitord::time::now_ms();
    let user = app
        .backend()
        .user_by_id(user_id)
        .expect("read user")
        .expect("the user exists");
    let created = app
        .backend()
        .create_login_session(
            &visitord::credentials::token_hash(&token),
            &visitord::model::Session {
                user_id: user_id.to_string(),
                created_at: now - 2 * visitord::time::DAY_MS,
                expires_at: now - 1,
            },
            &user.password_hash,
        )
        .expect("create expired session");
    assert!(created);
    Creds {
        user_id: user_id.to_string(),
        token,
    }
}

/// A token nobody was given, for a real user id.
pub fn forged_creds(user_id: &str) -> Creds {
    Creds {
        user_id: user_id.to_string(),
        token: visitord::credentials::new_login_token(),
    }
}

/// `GET /api/v1/me` must answer 200 for `creds` (the credentials are live).
pub async fn assert_live(app: &TestApp, creds: &Creds) {
    let resp = app.get_with(ME, creds).await;
    assert_eq!(resp.status, 200, "credentials must work: {}", resp.text());
}

/// `users.update` by `admin`, which must succeed; returns the `user` of the answer.
pub async fn update_user(app: &TestApp, admin: &Creds, user_id: &str, data: Value) -> Value {
    let resp = app
        .post_with(
            USERS_UPDATE,
            &json!({"userId": user_id, "data": data}),
            admin,
        )
        .await;
    let body = assert_success(&resp);
    body["user"].clone()
}

/// `users.create` by `admin`, which must succeed; returns the `user` of the answer.
pub async fn create_user(app: &TestApp, admin: &Creds, body: Value) -> Value {
    let resp = app.post_with(USERS_CREATE, &body, admin).await;
    let out = assert_success(&resp);
    assert_eq!(sorted_keys(&out), ["user"], "{}", resp.text());
    out["user"].clone()
}

/// Creates a user through the API (roles as given) and logs it in.
pub async fn api_user(app: &TestApp, admin: &Creds, username: &str, roles: &[&str]) -> Creds {
    create_user(
        app,
        admin,
        json!({"username": username, "password": PASSWORD, "roles": roles}),
    )
    .await;
    login_ok(app, username, PASSWORD).await
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The forms in which a stored token hash could leak: hex (either case) and base64.
fn hash_forms(token: &str) -> Vec<String> {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    vec![hex.to_uppercase(), hex, base64(&digest)]
}

/// No password hash, no token hash of `tokens`, and no stored password in a raw body.
pub fn assert_no_secrets(resp: &Resp, tokens: &[&str]) {
    let text = resp.text();
    assert!(
        !text.to_lowercase().contains("argon2"),
        "a password hash leaked: {text}"
    );
    assert!(!text.contains(PASSWORD), "a password leaked: {text}");
    for token in tokens {
        for form in hash_forms(token) {
            assert!(
                !text.contains(&form),
                "the hash of a token leaked ({form}): {text}"
            );
        }
    }
    for key in [
        "password",
        "passwordHash",
        "password_hash",
        "services",
        "hashedToken",
    ] {
        assert!(
            !text.contains(&format!("\"{key}\"")),
            "a `{key}` key in a response: {text}"
        );
    }
}

#[test]
fn base64_encoder_is_right() {
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64(b"foob"), "Zm9vYg==");
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

const TOO_MANY_PREFIX: &str =
    r#"{"success":false,"error":"Error, too many requests. Please slow down. You must wait "#;
const TOO_MANY_SUFFIX: &str =
    r#" seconds before trying this endpoint again. [error-too-many-requests]"}"#;

/// A 429 with the exact §1.1 body (N at most a minute) and the rate-limit headers.
pub fn assert_too_many(resp: &Resp, limit: u32) {
    assert_eq!(resp.status, 429, "body: {}", resp.text());
    util::assert_json_headers(resp);
    let text = resp.text();
    let n = text
        .strip_prefix(TOO_MANY_PREFIX)
        .and_then(|rest| rest.strip_suffix(TOO_MANY_SUFFIX))
        .unwrap_or_else(|| panic!("429 body: {text}"));
    let n: u64 = n
        .parse()
        .unwrap_or_else(|_| panic!("N must be a number of seconds: {text}"));
    assert!((1..=60).contains(&n), "wait {n} s in a one-minute window");
    assert_eq!(resp.header("x-ratelimit-limit"), Some(limit.to_string()));
    assert_eq!(resp.header("x-ratelimit-remaining").as_deref(), Some("0"));
    let reset: u64 = resp
        .header("x-ratelimit-reset")
        .expect("X-RateLimit-Reset")
        .parse()
        .expect("X-RateLimit-Reset in epoch ms");
    assert!(reset > 1_000_000_000_000, "epoch ms: {reset}");
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

/// A 200 page `{<items>, count, offset, total, success}` in that key order; returns the items.
pub fn assert_page(resp: &Resp, items: &str, offset: u64, total: u64) -> Vec<Value> {
    let body = assert_success(resp);
    assert_eq!(
        sorted_keys(&body),
        {
            let mut k = vec![
                items.to_string(),
                "count".into(),
                "offset".into(),
                "total".into(),
            ];
            k.sort();
            k
        },
        "page keys: {}",
        resp.text()
    );
    let list = body[items]
        .as_array()
        .unwrap_or_else(|| panic!("{items} must be an array: {}", resp.text()))
        .clone();
    let text = resp.text();
    assert!(
        text.starts_with(&format!("{{\"{items}\":[")),
        "items first: {text}"
    );
    assert!(
        text.ends_with(&format!(
            ",\"count\":{},\"offset\":{offset},\"total\":{total},\"success\":true}}",
            list.len()
        )),
        "count = page length, offset {offset}, total {total}: {text}"
    );
    list
}

/// The `_id`s of a list of documents.
pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["_id"].as_str().expect("_id").to_string())
        .collect()
}
