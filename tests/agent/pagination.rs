//! §1.5 pagination: parameter errors on every paginated agent endpoint (table-driven), and the
//! edges of `offset`/`count` on visitors.search and users.list.

use super::util::{invalid_params, register, visitor_with_room};
use super::*;
use crate::common::{Creds, TestApp};
use serde_json::Value;
use visitord::config::Config;
use visitord::domain::NewUser;

/// Every paginated endpoint with a valid request, and who may call it.
async fn paginated_endpoints(app: &TestApp) -> Vec<(String, Creds)> {
    let agent = app.user("agent", &["livechat-agent"]);
    let manager = app.user("manager", &["livechat-manager"]);
    let admin = app.user("boss", &["admin"]);
    let (v, room) = visitor_with_room(app, "pg-token", "Pia").await;
    let rid = room["_id"].as_str().unwrap();
    let vid = v["_id"].as_str().unwrap();
    vec![
        (pages_path(rid), agent.clone()),
        (q(PAGES, &[("roomId", rid)]), agent.clone()),
        (q(PAGES, &[("visitorId", vid)]), agent.clone()),
        (history_path(rid, vid), manager),
        (q(SEARCH, &[("term", "")]), agent.clone()),
        (CUSTOM_FIELDS.to_string(), agent),
        (USERS_LIST.to_string(), admin),
    ]
}

#[actix_web::test]
async fn bad_paging_parameters_on_every_paginated_endpoint() {
    let app = TestApp::new();
    let endpoints = paginated_endpoints(&app).await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("count", "abc", invalid_params("must be number")),
        ("offset", "abc", invalid_params("must be number")),
        ("count", "1x", invalid_params("must be number")),
        ("offset", "-1", invalid_params("must be >= 0")),
        ("offset", "-10", invalid_params("must be >= 0")),
        ("sort", r#"{"ts":2}"#, invalid_sort(r#"{"ts":2}"#)),
        ("sort", r#"{"ts":"asc"}"#, invalid_sort(r#"{"ts":"asc"}"#)),
        ("sort", "not json", invalid_sort("not json")),
        ("sort", "[1]", invalid_sort("[1]")),
        ("sort", "1", invalid_sort("1")),
        (
            "sort",
            r#"{"password":1}"#,
            invalid_sort(r#"{"password":1}"#),
        ),
        (
            "fields",
            r#"{"name":1}"#,
            invalid_params("must NOT have additional properties"),
        ),
        (
            "query",
            "{}",
            invalid_params("must NOT have additional properties"),
        ),
        (
            "bogus",
            "1",
            invalid_params("must NOT have additional properties"),
        ),
    ];
    let mut f = Failures::default();
    for (base, creds) in &endpoints {
        // The base request is valid.
        let resp = app.get_with(base, creds).await;
        f.check(&format!("GET {base}"), resp.status == 200, || resp.text());
        for (name, value, expected) in &cases {
            let uri = q(base, &[(name, value)]);
            let resp = app.get_with(&uri, creds).await;
            f.expect(&format!("GET {uri}"), &resp, 400, expected);
        }
    }
    f.assert_none();
}

/// The configuration of the edge tests: default 2, maximum 3.
fn small(c: &mut Config) {
    c.api.default_count = 2;
    c.api.max_count = 3;
}

/// Five visitors v0..v4; the search of all of them, newest first, is v4..v0.
async fn five_visitors(app: &TestApp) {
    for i in 0..5 {
        register(
            app,
            serde_json::json!({"token": format!("pg-{i}"), "name": format!("v{i}")}),
        )
        .await;
    }
}

fn names(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

/// Query pairs, the offset expected back, and the names expected on the page.
type EdgeCase = (Vec<(&'static str, &'static str)>, u64, Vec<String>);

/// `(pairs, expected offset, expected names)` against a list of five whose full order is
/// `all`; the default count is 2, the maximum 3.
fn edge_cases(all: &[&str]) -> Vec<EdgeCase> {
    let s = |r: std::ops::Range<usize>| all[r].iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        (vec![], 0, s(0..2)),               // default count
        (vec![("count", "0")], 0, s(0..2)), // 0 = default without infinite count
        (vec![("count", "1")], 0, s(0..1)),
        (vec![("count", "3")], 0, s(0..3)),
        (vec![("count", "4")], 0, s(0..3)), // clamped to max_count
        (vec![("count", "1000")], 0, s(0..3)),
        (vec![("offset", "3")], 3, s(3..5)),
        (vec![("offset", "3"), ("count", "3")], 3, s(3..5)), // last, short page
        (vec![("offset", "4"), ("count", "3")], 4, s(4..5)),
        (vec![("offset", "5")], 5, vec![]), // just past the end
        (vec![("offset", "99"), ("count", "3")], 99, vec![]),
    ]
}

#[actix_web::test]
async fn search_offset_and_count_edges() {
    let app = TestApp::with_config(small);
    let agent = app.user("agent", &["livechat-agent"]);
    five_visitors(&app).await;
    let all = ["v4", "v3", "v2", "v1", "v0"];
    for (pairs, offset, expected) in edge_cases(&all) {
        let mut pairs = pairs;
        pairs.insert(0, ("term", ""));
        let uri = q(SEARCH, &pairs);
        let resp = app.get_with(&uri, &agent).await;
        assert_eq!(
            names(&assert_page(&resp, "visitors", offset, 5), "name"),
            expected,
            "{uri}"
        );
    }
    // With a term the total is of the matches only.
    let resp = app
        .get_with(&q(SEARCH, &[("term", "v"), ("offset", "4")]), &agent)
        .await;
    assert_eq!(names(&assert_page(&resp, "visitors", 4, 5), "name"), ["v0"]);
    let resp = app
        .get_with(&q(SEARCH, &[("term", "v3"), ("offset", "1")]), &agent)
        .await;
    assert!(assert_page(&resp, "visitors", 1, 1).is_empty());
    // Ascending pages.
    let resp = app
        .get_with(
            &q(
                SEARCH,
                &[("term", ""), ("sort", r#"{"ts":1}"#), ("offset", "1")],
            ),
            &agent,
        )
        .await;
    assert_eq!(
        names(&assert_page(&resp, "visitors", 1, 5), "name"),
        ["v1", "v2"]
    );
}

#[actix_web::test]
async fn search_count_zero_is_everything_with_infinite_count() {
    let app = TestApp::with_config(|c| {
        small(c);
        c.api.allow_infinite_count = true;
    });
    let agent = app.user("agent", &["livechat-agent"]);
    five_visitors(&app).await;
    let resp = app
        .get_with(&q(SEARCH, &[("term", ""), ("count", "0")]), &agent)
        .await;
    assert_eq!(
        names(&assert_page(&resp, "visitors", 0, 5), "name"),
        ["v4", "v3", "v2", "v1", "v0"]
    );
    let resp = app
        .get_with(
            &q(SEARCH, &[("term", ""), ("count", "0"), ("offset", "2")]),
            &agent,
        )
        .await;
    assert_eq!(
        names(&assert_page(&resp, "visitors", 2, 5), "name"),
        ["v2", "v1", "v0"]
    );
    // Without count, still the default.
    let resp = app.get_with(&q(SEARCH, &[("term", "")]), &agent).await;
    assert_eq!(
        names(&assert_page(&resp, "visitors", 0, 5), "name"),
        ["v4", "v3"]
    );
}

#[actix_web::test]
async fn users_list_offset_and_count_edges() {
    let app = TestApp::with_config(small);
    let admin = app.user("u0", &["admin"]);
    for i in 1..5 {
        app.user(&format!("u{i}"), &["livechat-agent"]);
    }
    let all = ["u0", "u1", "u2", "u3", "u4"];
    for (pairs, offset, expected) in edge_cases(&all) {
        let mut pairs = pairs;
        pairs.push(("sort", r#"{"username":1}"#));
        let uri = q(USERS_LIST, &pairs);
        let resp = app.get_with(&uri, &admin).await;
        assert_eq!(
            names(&assert_page(&resp, "users", offset, 5), "username"),
            expected,
            "{uri}"
        );
    }
}

#[actix_web::test]
async fn users_list_count_zero_is_everything_with_infinite_count() {
    let app = TestApp::with_config(|c| {
        small(c);
        c.api.allow_infinite_count = true;
    });
    let admin = app.user("u0", &["admin"]);
    for i in 1..5 {
        app.user(&format!("u{i}"), &["user"]);
    }
    let resp = app
        .get_with(
            &q(
                USERS_LIST,
                &[("count", "0"), ("sort", r#"{"username":-1}"#)],
            ),
            &admin,
        )
        .await;
    assert_eq!(
        names(&assert_page(&resp, "users", 0, 5), "username"),
        ["u4", "u3", "u2", "u1", "u0"]
    );
}

/// The defaults: 50 a page, at most 100, `count=0` is 50 (infinite count off by default).
#[actix_web::test]
async fn default_count_and_maximum() {
    let app = TestApp::new();
    let admin = app.user("admin", &["admin"]);
    let now = visitord::time::now_ms();
    for i in 0..120 {
        app.backend()
            .create_user(
                NewUser {
                    username: format!("bulk{i:03}"),
                    name: None,
                    email: None,
                    password_hash: "not-a-hash".into(),
                    roles: vec!["user".into()],
                    active: true,
                },
                now,
            )
            .expect("create user");
    }
    let page_len =
        |resp: &crate::common::Resp, offset: u64| assert_page(resp, "users", offset, 121).len();
    assert_eq!(page_len(&app.get_with(USERS_LIST, &admin).await, 0), 50);
    assert_eq!(
        page_len(
            &app.get_with(&q(USERS_LIST, &[("count", "0")]), &admin)
                .await,
            0
        ),
        50
    );
    assert_eq!(
        page_len(
            &app.get_with(&q(USERS_LIST, &[("count", "100")]), &admin)
                .await,
            0
        ),
        100
    );
    assert_eq!(
        page_len(
            &app.get_with(&q(USERS_LIST, &[("count", "101")]), &admin)
                .await,
            0
        ),
        100
    );
    assert_eq!(
        page_len(
            &app.get_with(&q(USERS_LIST, &[("count", "500")]), &admin)
                .await,
            0
        ),
        100
    );
    assert_eq!(
        page_len(
            &app.get_with(
                &q(USERS_LIST, &[("count", "500"), ("offset", "100")]),
                &admin
            )
            .await,
            100
        ),
        21
    );
    // The pages together are the whole list, each user once.
    let mut seen = Vec::new();
    for offset in [0u64, 50, 100] {
        let resp = app
            .get_with(
                &q(
                    USERS_LIST,
                    &[
                        ("offset", &offset.to_string()),
                        ("sort", r#"{"username":1}"#),
                    ],
                ),
                &admin,
            )
            .await;
        seen.extend(names(&assert_page(&resp, "users", offset, 121), "username"));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 121);
    assert_eq!(sorted, seen);
}
