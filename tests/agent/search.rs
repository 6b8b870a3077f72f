//! §2.7 `GET livechat/visitors.search?term=` (view-l-room, paginated).

use super::util::{assert_bad_request, get_visitor, invalid_params, open_room, register, too_long};
use super::*;
use crate::common::{Creds, TestApp};
use serde_json::{json, Map, Value};
use visitord::config::{CustomFieldDef, FieldScope};

/// The search item of a full visitor document: only the projected keys (§2.7).
fn item(full: &Value) -> Value {
    let mut m = Map::new();
    for key in [
        "_id",
        "username",
        "name",
        "phone",
        "visitorEmails",
        "livechatData",
        "lastChat",
    ] {
        if let Some(v) = full.get(key) {
            m.insert(key.to_string(), v.clone());
        }
    }
    Value::Object(m)
}

async fn search(app: &TestApp, creds: &Creds, pairs: &[(&str, &str)]) -> crate::common::Resp {
    app.get_with(&q(SEARCH, pairs), creds).await
}

/// The names of the visitors a term finds (all of them, newest first).
async fn found(app: &TestApp, creds: &Creds, term: &str) -> Vec<String> {
    let resp = search(app, creds, &[("term", term), ("count", "100")]).await;
    let body = util::assert_success(&resp);
    body["visitors"]
        .as_array()
        .expect("visitors")
        .iter()
        .map(|v| v["name"].as_str().unwrap_or("<no name>").to_string())
        .collect()
}

async fn people(app: &TestApp) {
    for (token, name, email, phone) in [
        ("s-1", "Jürgen Müller", "jm@example.de", "+49 30 1234567"),
        (
            "s-2",
            "Ana Souza",
            "ana.souza@example.com.br",
            "55 51 5555-5555",
        ),
        ("s-3", "Bob Stone", "BOB@Example.org", "55 51 1234-5678"),
    ] {
        register(
            app,
            json!({"token": token, "name": name, "email": email, "phone": phone}),
        )
        .await;
    }
}

#[actix_web::test]
async fn missing_term() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    for pairs in [&[][..], &[("text", "nel")][..], &[("count", "1")][..]] {
        let resp = search(&app, &agent, pairs).await;
        assert_bad_request(&resp, &invalid_params("must have required property 'term'"));
    }
}

#[actix_web::test]
async fn empty_term_returns_every_visitor_newest_first() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    people(&app).await;
    register(&app, json!({"token": "s-4"})).await;
    let mut expected = Vec::new();
    for t in ["s-4", "s-3", "s-2", "s-1"] {
        expected.push(item(&get_visitor(&app, t).await));
    }
    let resp = search(&app, &agent, &[("term", "")]).await;
    let visitors = assert_page(&resp, "visitors", 0, 4);
    assert_eq!(visitors, expected);
    // Same with the explicit default sort.
    let resp = search(&app, &agent, &[("term", ""), ("sort", r#"{"ts":-1}"#)]).await;
    assert_eq!(assert_page(&resp, "visitors", 0, 4), expected);
    expected.reverse();
    let resp = search(&app, &agent, &[("term", ""), ("sort", r#"{"ts":1}"#)]).await;
    assert_eq!(assert_page(&resp, "visitors", 0, 4), expected);
}

#[actix_web::test]
async fn items_carry_only_the_projected_fields() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    register(
        &app,
        json!({"token": "s-full", "name": "Full Person", "email": "full@example.com",
               "phone": "+1 555 0100", "department": "dept-1", "username": "full.person",
               "customFields": [{"key": "address", "value": "Main St 1", "overwrite": true}]}),
    )
    .await;
    open_room(&app, "s-full").await;
    let full = get_visitor(&app, "s-full").await;
    for key in [
        "token",
        "ts",
        "_updatedAt",
        "status",
        "department",
        "lastChat",
        "livechatData",
    ] {
        assert!(full.get(key).is_some(), "fixture lacks {key}: {full}");
    }
    let resp = search(&app, &agent, &[("term", "Full")]).await;
    let visitors = assert_page(&resp, "visitors", 0, 1);
    assert_eq!(
        util::sorted_keys(&visitors[0]),
        [
            "_id",
            "lastChat",
            "livechatData",
            "name",
            "phone",
            "username",
            "visitorEmails"
        ]
    );
    assert_eq!(visitors[0], item(&full));
    assert!(
        !resp.text().contains("s-full"),
        "a token in {}",
        resp.text()
    );
}

#[actix_web::test]
async fn matches_name_username_and_email_case_insensitively() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    people(&app).await;
    assert_eq!(found(&app, &agent, "souza").await, ["Ana Souza"]);
    assert_eq!(found(&app, &agent, "SOUZA").await, ["Ana Souza"]);
    assert_eq!(found(&app, &agent, "b Sto").await, ["Bob Stone"]);
    // Emails are stored lower-cased; any case of the term finds them, also in the middle.
    assert_eq!(found(&app, &agent, "bob@example").await, ["Bob Stone"]);
    assert_eq!(found(&app, &agent, "EXAMPLE.COM.BR").await, ["Ana Souza"]);
    assert_eq!(
        found(&app, &agent, "example").await,
        ["Bob Stone", "Ana Souza", "Jürgen Müller"]
    );
    // Usernames: guest-N.
    let v = get_visitor(&app, "s-2").await;
    let username = v["username"].as_str().unwrap();
    assert_eq!(found(&app, &agent, username).await, ["Ana Souza"]);
    assert!(found(&app, &agent, "nobody-at-all").await.is_empty());
}

#[actix_web::test]
async fn unicode_terms_match_case_insensitively() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    people(&app).await;
    // `q` percent-encodes: `M%C3%9CLLER`.
    for term in ["MÜLLER", "müller", "Jürgen", "ürg"] {
        assert_eq!(found(&app, &agent, term).await, ["Jürgen Müller"], "{term}");
    }
    assert!(found(&app, &agent, "Muller").await.is_empty());
}

#[actix_web::test]
async fn phone_terms() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    people(&app).await;
    // The stored phone exactly.
    assert_eq!(found(&app, &agent, "55 51 5555-5555").await, ["Ana Souza"]);
    // Digits of a phone-like term occurring in the phone's digits.
    assert_eq!(found(&app, &agent, "5555-5555").await, ["Ana Souza"]);
    assert_eq!(found(&app, &agent, "(51) 5555").await, ["Ana Souza"]);
    assert_eq!(found(&app, &agent, "1234-5678").await, ["Bob Stone"]);
    assert_eq!(found(&app, &agent, "+49 30").await, ["Jürgen Müller"]);
    assert_eq!(
        found(&app, &agent, "55 51").await,
        ["Bob Stone", "Ana Souza"]
    );
    // Not phone-like (a letter), or fewer than three digits: no digit matching.
    assert!(found(&app, &agent, "5555x5555").await.is_empty());
    assert!(found(&app, &agent, "9-9").await.is_empty());
    assert!(found(&app, &agent, "5555-9999").await.is_empty());
}

#[actix_web::test]
async fn terms_are_literal_text_never_patterns() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    register(&app, json!({"token": "s-ab", "name": "abab"})).await;
    register(&app, json!({"token": "s-re", "name": "x^((ab)*)+$y"})).await;
    register(&app, json!({"token": "s-dot", "name": "a.c"})).await;
    register(&app, json!({"token": "s-abc", "name": "abc"})).await;
    let resp = search(&app, &agent, &[("term", "^((ab)*)+$")]).await;
    let visitors = assert_page(&resp, "visitors", 0, 1);
    assert_eq!(visitors[0]["name"], json!("x^((ab)*)+$y"));
    assert_eq!(found(&app, &agent, "a.c").await, ["a.c"]);
    assert_eq!(found(&app, &agent, ".*").await, Vec::<String>::new());
    assert_eq!(found(&app, &agent, "(ab)").await, ["x^((ab)*)+$y"]);
    // An evil pattern against long input answers (literal matching, no backtracking).
    register(
        &app,
        json!({"token": "s-long", "name": "ab".repeat(100) + "!"}),
    )
    .await;
    let resp = search(&app, &agent, &[("term", "^((ab)*)+$")]).await;
    assert_page(&resp, "visitors", 0, 1);
}

#[actix_web::test]
async fn term_length_limit() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    people(&app).await;
    let resp = search(&app, &agent, &[("term", &"a".repeat(257))]).await;
    assert_bad_request(&resp, &too_long("term", 256));
    // 256 characters are fine, counted as characters (512 bytes here).
    let resp = search(&app, &agent, &[("term", &"ü".repeat(256))]).await;
    assert!(assert_page(&resp, "visitors", 0, 0).is_empty());
    let resp = search(&app, &agent, &[("term", &"a".repeat(256))]).await;
    assert!(assert_page(&resp, "visitors", 0, 0).is_empty());
}

/// Rocket.Chat's "should bring sorted data by last chat time", made to tell `lastChat.ts` from
/// `ts`: the visitor registered first chats last.
#[actix_web::test]
async fn sorted_by_last_chat_time() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    register(
        &app,
        json!({"token": "s-present", "name": "VisitorInPresent"}),
    )
    .await;
    register(&app, json!({"token": "s-past", "name": "VisitorInPast"})).await;
    register(&app, json!({"token": "s-never", "name": "VisitorInNever"})).await;
    open_room(&app, "s-past").await;
    // Distinct millisecond timestamps for the two rooms (only so that the order is by time,
    // not by the tie-breaker).
    std::thread::sleep(std::time::Duration::from_millis(5));
    open_room(&app, "s-present").await;
    let past = get_visitor(&app, "s-past").await;
    let present = get_visitor(&app, "s-present").await;
    assert!(past["lastChat"]["ts"].as_str() < present["lastChat"]["ts"].as_str());

    let names = |resp: &crate::common::Resp| -> Vec<String> {
        assert_page(resp, "visitors", 0, 3)
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    };
    let resp = search(
        &app,
        &agent,
        &[("term", "VisitorIn"), ("sort", r#"{"lastChat.ts":1}"#)],
    )
    .await;
    assert_eq!(
        names(&resp),
        ["VisitorInNever", "VisitorInPast", "VisitorInPresent"]
    );
    let resp = search(
        &app,
        &agent,
        &[("term", "VisitorIn"), ("sort", r#"{"lastChat.ts":-1}"#)],
    )
    .await;
    assert_eq!(
        names(&resp),
        ["VisitorInPresent", "VisitorInPast", "VisitorInNever"]
    );
    // The default is creation time, newest first.
    let resp = search(&app, &agent, &[("term", "VisitorIn")]).await;
    assert_eq!(
        names(&resp),
        ["VisitorInNever", "VisitorInPast", "VisitorInPresent"]
    );
    // lastChat is in the items.
    let resp = search(&app, &agent, &[("term", "VisitorInPast")]).await;
    let v = &assert_page(&resp, "visitors", 0, 1)[0];
    assert_eq!(v["lastChat"], past["lastChat"]);
}

#[actix_web::test]
async fn sortable_by_name_username_and_updated_at() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    for (token, name, username) in [
        ("s-b", "Bea", "zed"),
        ("s-c", "Cid", "amy"),
        ("s-a", "Abe", "max"),
    ] {
        register(
            &app,
            json!({"token": token, "name": name, "username": username}),
        )
        .await;
    }
    let order = |resp: &crate::common::Resp| -> Vec<String> {
        assert_page(resp, "visitors", 0, 3)
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    };
    let cases = [
        (r#"{"name":1}"#, ["Abe", "Bea", "Cid"]),
        (r#"{"name":-1}"#, ["Cid", "Bea", "Abe"]),
        (r#"{"username":1}"#, ["Cid", "Abe", "Bea"]),
        (r#"{"username":-1}"#, ["Bea", "Abe", "Cid"]),
    ];
    for (sort, expected) in cases {
        let resp = search(&app, &agent, &[("term", ""), ("sort", sort)]).await;
        assert_eq!(order(&resp), expected, "{sort}");
    }
    // Touching the first-registered visitor makes it the most recently updated.
    std::thread::sleep(std::time::Duration::from_millis(5));
    register(&app, json!({"token": "s-b", "phone": "123456"})).await;
    let resp = search(
        &app,
        &agent,
        &[("term", ""), ("sort", r#"{"_updatedAt":-1}"#)],
    )
    .await;
    assert_eq!(order(&resp)[0], "Bea");
    let resp = search(
        &app,
        &agent,
        &[("term", ""), ("sort", r#"{"_updatedAt":1}"#)],
    )
    .await;
    assert_eq!(order(&resp)[2], "Bea");
    for bad in [
        r#"{"phone":1}"#,
        r#"{"lastChat":1}"#,
        r#"{"name":1,"ts":0}"#,
    ] {
        let resp = search(&app, &agent, &[("term", ""), ("sort", bad)]).await;
        assert_bad_request(&resp, &invalid_sort(bad));
    }
}

fn with_fields(defs: Vec<CustomFieldDef>) -> TestApp {
    TestApp::with_config(|c| c.livechat.custom_fields = defs)
}

fn field(id: &str, searchable: bool) -> CustomFieldDef {
    CustomFieldDef {
        id: id.into(),
        label: id.into(),
        scope: FieldScope::Visitor,
        searchable,
        required: false,
    }
}

#[actix_web::test]
async fn searchable_custom_fields_match_only_when_configured_searchable() {
    let app = with_fields(vec![field("address", true), field("secret", false)]);
    let agent = app.user("agent", &["livechat-agent"]);
    register(
        &app,
        json!({"token": "s-cf", "name": "Carla",
               "customFields": [
                   {"key": "address", "value": "221B Baker Street", "overwrite": true},
                   {"key": "secret", "value": "hidden-gem", "overwrite": true},
                   {"key": "undeclared", "value": "loose-value", "overwrite": true}]}),
    )
    .await;
    let v = get_visitor(&app, "s-cf").await;
    assert_eq!(
        util::sorted_keys(&v["livechatData"]),
        ["address", "secret", "undeclared"],
        "stored in mode any: {v}"
    );
    assert_eq!(found(&app, &agent, "baker STREET").await, ["Carla"]);
    assert!(found(&app, &agent, "hidden-gem").await.is_empty());
    assert!(found(&app, &agent, "loose-value").await.is_empty());

    // The same data with no searchable field configured: not found by its custom fields.
    let app = with_fields(vec![field("address", false)]);
    let agent = app.user("agent", &["livechat-agent"]);
    register(
        &app,
        json!({"token": "s-cf", "name": "Carla",
               "customFields": [{"key": "address", "value": "221B Baker Street", "overwrite": true}]}),
    )
    .await;
    assert!(found(&app, &agent, "baker").await.is_empty());
    assert_eq!(found(&app, &agent, "carla").await, ["Carla"]);
}

#[actix_web::test]
async fn search_follows_updates_and_erasure() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    register(&app, json!({"token": "s-up", "name": "Old Name"})).await;
    assert_eq!(found(&app, &agent, "old").await, ["Old Name"]);
    register(&app, json!({"token": "s-up", "name": "New Name"})).await;
    assert!(found(&app, &agent, "old").await.is_empty());
    assert_eq!(found(&app, &agent, "new").await, ["New Name"]);
    assert_eq!(app.delete(&util::visitor_path("s-up")).await.status, 200);
    assert!(found(&app, &agent, "new").await.is_empty());
    assert!(found(&app, &agent, "").await.is_empty());
}

/// Terms shorter than three characters, and terms inside words, are substrings too.
#[actix_web::test]
async fn short_terms_and_terms_inside_words() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    people(&app).await;
    assert_eq!(found(&app, &agent, "ou").await, ["Ana Souza"]);
    assert_eq!(found(&app, &agent, "Z").await, ["Ana Souza"]);
    assert_eq!(found(&app, &agent, "ü").await, ["Jürgen Müller"]);
    assert_eq!(
        found(&app, &agent, "e").await,
        ["Bob Stone", "Ana Souza", "Jürgen Müller"]
    );
    assert_eq!(found(&app, &agent, "b").await, ["Bob Stone", "Ana Souza"]);
    assert_eq!(found(&app, &agent, "NE").await, ["Bob Stone"]);
    assert_eq!(found(&app, &agent, "tone").await, ["Bob Stone"]);
    assert_eq!(found(&app, &agent, "gen Mü").await, ["Jürgen Müller"]);
    // Across two fields is not a substring of either.
    assert!(found(&app, &agent, "Stone bob").await.is_empty());
    assert!(found(&app, &agent, "Souza ana").await.is_empty());
    // Phone-like terms of fewer than three digits match no phone.
    assert!(found(&app, &agent, "12").await.is_empty());
}

#[actix_web::test]
async fn search_survives_a_restart_and_follows_phone_and_email_changes() {
    let app = TestApp::new();
    people(&app).await;
    let app = app.restart();
    let agent = app.user("agent", &["livechat-agent"]);
    assert_eq!(found(&app, &agent, "müller").await, ["Jürgen Müller"]);
    assert_eq!(found(&app, &agent, "5555-5555").await, ["Ana Souza"]);
    register(
        &app,
        json!({"token": "s-2", "phone": "+1 (212) 555-0199", "email": "ana@new.example"}),
    )
    .await;
    assert!(found(&app, &agent, "5555-5555").await.is_empty());
    assert!(found(&app, &agent, "souza@").await.is_empty());
    assert_eq!(found(&app, &agent, "212 555").await, ["Ana Souza"]);
    assert_eq!(found(&app, &agent, "ana@new").await, ["Ana Souza"]);
}
