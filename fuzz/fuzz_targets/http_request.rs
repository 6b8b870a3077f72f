//! Fuzzes the whole app in-process: the input picks a route and supplies the path tail, the
//! query string, the body and a header value. Whatever the input: no panic, no 5xx, a JSON body
//! with `success`, and a rejected request leaves the store's record and index counts unchanged.
#![no_main]

use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use visitord::config::Config;
use visitord::http::{build_app, AppState};

/// (method, path prefix, whether agent credentials are sent): every route of the route table
/// (up to its first path parameter, which the input supplies), and one method no route has.
fn routes() -> &'static [(String, String, bool)] {
    static ROUTES: std::sync::OnceLock<Vec<(String, String, bool)>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes = Vec::new();
        for def in visitord::http::routes::ROUTES {
            let prefix = def.path.split('{').next().unwrap_or(def.path).to_string();
            for endpoint in def.endpoints {
                let agent = (endpoint.doc)().security.is_some_and(|s| !s.is_empty());
                routes.push((endpoint.verb.method().to_string(), prefix.clone(), agent));
            }
        }
        routes.push(("PUT".into(), "/api/v1/".into(), false));
        routes
    })
}

struct Harness {
    _dir: tempfile::TempDir,
    state: AppState,
    user_id: String,
    token: String,
    system: actix_rt::SystemRunner,
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

/// The embedded store the harness opened (the fuzz target runs on sled, the default backend).
fn sled_store(state: &AppState) -> &visitord::store::Store {
    state
        .store
        .as_ref()
        .expect("the fuzz harness opens the embedded store")
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    config.storage.data_dir = dir.path().join("data");
    config.backup.dir = dir.path().join("backups");
    config.storage.durability = visitord::config::Durability::Periodic;
    let state = AppState::open(config).expect("open");
    let user = sled_store(&state)
        .create_user(
            visitord::domain::NewUser {
                username: "fuzzer".into(),
                name: None,
                email: None,
                password_hash: "x".into(),
                roles: vec!["admin".into()],
                active: true,
            },
            0,
        )
        .expect("user");
    let token = "fuzz-token".to_string();
    sled_store(&state)
        .create_session(
            &visitord::credentials::token_hash(&token),
            &visitord::model::Session {
                user_id: user.id.clone(),
                created_at: 0,
                expires_at: i64::MAX,
            },
        )
        .expect("session");
    Harness {
        _dir: dir,
        state,
        user_id: user.id,
        token,
        system: actix_rt::System::new(),
    }
}

/// Splits the input at 0xFF bytes: path tail, query, body, header value.
fn parts(data: &[u8]) -> (u8, Vec<&[u8]>) {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    (*first, rest.splitn(4, |b| *b == 0xFF).collect())
}

fn percent_encode_path(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b'%' => {
                (*b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let (selector, fields) = parts(data);
    let routes = routes();
    let (method, prefix, agent) = &routes[selector as usize % routes.len()];
    let agent = *agent;
    let tail = fields.first().copied().unwrap_or_default();
    let query = fields.get(1).copied().unwrap_or_default();
    let body = fields.get(2).copied().unwrap_or_default().to_vec();
    let header = fields.get(3).copied().unwrap_or_default();
    let uri = format!(
        "{prefix}{}{}{}",
        percent_encode_path(tail),
        if query.is_empty() { "" } else { "?" },
        percent_encode_path(query).replace('/', "%2F")
    );
    HARNESS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let h = cell.get_or_insert_with(harness);
        let before = (
            sled_store(&h.state).counts(),
            sled_store(&h.state).index_counts(),
        );
        let mut req = TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(&uri)
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body);
        if let Ok(value) = std::str::from_utf8(header) {
            if actix_web::http::header::HeaderValue::from_str(value).is_ok() {
                req = req.insert_header(("Origin", value));
            }
        }
        if agent {
            req = req
                .insert_header(("X-User-Id", h.user_id.as_str()))
                .insert_header(("X-Auth-Token", h.token.as_str()));
        }
        let state = h.state.clone();
        let (status, content_type, body) = h.system.block_on(async move {
            let app = test::init_service(build_app(state)).await;
            let res = test::call_service(&app, req.to_request()).await;
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (status, content_type, test::read_body(res).await)
        });
        assert!(status < 500, "{method} {uri} → {status}: {body:?}");
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        // Documents (metrics, the OpenAPI document and its viewer) are no API answers.
        let document =
            status < 300 && (content_type != "application/json" || json.get("openapi").is_some());
        if !document {
            assert_eq!(content_type, "application/json", "{method} {uri}: {body:?}");
            assert!(
                json.get("success").is_some() || json.get("status").is_some(),
                "{json}"
            );
        }
        if status >= 400 {
            let after = (
                sled_store(&h.state).counts(),
                sled_store(&h.state).index_counts(),
            );
            assert_eq!(
                before, after,
                "{method} {uri} was refused ({status}) but changed the store"
            );
        }
    });
});
