//! Stores written by released schemas (committed fixtures, see `tests/fixtures/README.md`) are
//! upgraded by today's code and answer exactly as the build that wrote them did.

use crate::common::TestApp;
use actix_web::test::TestRequest;
use serde_json::{json, Value};
use std::path::Path;

/// Unpacks `tests/fixtures/<name>.tgz` (one top folder) into a new temporary dir as `data`.
fn unpack(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.tgz"));
    let file = std::fs::File::open(&archive).expect("open fixture");
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(dir.path().join("unpacked"))
        .expect("unpack fixture");
    let top = std::fs::read_dir(dir.path().join("unpacked"))
        .expect("read unpacked")
        .next()
        .expect("one folder")
        .expect("entry")
        .path();
    std::fs::rename(top, dir.path().join("data")).expect("move into place");
    dir
}

/// What the old build answered, from `tests/fixtures/<name>.expected.json`.
fn expected(name: &str) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.expected.json"));
    serde_json::from_slice(&std::fs::read(path).expect("read expected")).expect("parse expected")
}

#[actix_web::test]
async fn a_schema_1_store_answers_as_before_after_the_upgrade() {
    answers_as_before("store-v1").await;
}

#[actix_web::test]
async fn a_schema_2_store_answers_as_before_after_the_upgrade() {
    answers_as_before("store-v2").await;
}

/// Schema 5 kept navigation entries keyed by id; schema 6 keys them by time (the history the
/// old build answered for the visitor and its room must come back the same, in the same order).
#[actix_web::test]
async fn a_schema_5_store_answers_as_before_after_the_upgrade() {
    answers_as_before("store-v5").await;
}

/// Opens the fixture `name` (upgrading it), checks it, logs its agent in, replays every request
/// the old build answered and compares status and body; then a new registration continues the
/// guest counter and a restart keeps the store consistent.
async fn answers_as_before(name: &str) {
    if crate::common::sled_only("upgrades sled stores written by older releases") {
        return;
    }
    let app = TestApp::with_existing_store(unpack(name), |_| {});
    let report = app.sled().check().expect("check");
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // The fixture's agent logs in with the password it was created with.
    let login = app
        .post(
            "/api/v1/login",
            &json!({"user": "alice", "password": "fixture-pass-1"}),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text());
    let data = login.json()["data"].clone();
    let (user_id, token) = (
        data["userId"].as_str().unwrap().to_string(),
        data["authToken"].as_str().unwrap().to_string(),
    );

    let old = expected(name);
    let answers = old["answers"].as_object().expect("answers");
    assert!(answers.len() >= 10, "the fixture lists its answers");
    for (what, answer) in answers {
        let path = what.strip_suffix(" (as alice)").unwrap_or(what);
        let resp = app
            .call(
                TestRequest::get()
                    .uri(&format!("/api/v1/{path}"))
                    .insert_header(("X-User-Id", user_id.as_str()))
                    .insert_header(("X-Auth-Token", token.as_str())),
            )
            .await;
        assert_eq!(resp.status as u64, answer[0], "{what}: {}", resp.text());
        assert_eq!(resp.json(), answer[1], "{what}");
    }

    // Its rooms read as opened through the API, and the open one is still served.
    let rid = old["roomId"].as_str().unwrap();
    let resp = app
        .get(&format!(
            "/api/v1/livechat/room?token=fixture-token-1&rid={rid}"
        ))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["newRoom"], json!(false));
    assert_eq!(body["room"]["source"], json!({"type": "api"}));

    // New writes continue the old counters.
    let resp = app
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "after-upgrade"}}),
        )
        .await;
    assert_eq!(resp.json()["visitor"]["username"], json!("guest-44"));
    let app = app.restart();
    assert!(app.sled().check().expect("check").problems.is_empty());
}
