//! §2.2 `POST /api/v1/livechat/visitor`: validation (Meteor `check` wording, our length limits),
//! which visitor is written, the fields written, custom fields, room name propagation and
//! token uniqueness under concurrency.

use super::util::*;
use crate::common::{Resp, TestApp};
use actix_web::test::{init_service, TestRequest};
use serde_json::{json, Value};
use visitord::config::{CustomFieldDef, CustomFieldsMode, FieldScope};

/// POSTs a literal body (key order matters for Meteor's `check`).
async fn post_text(app: &TestApp, text: &str) -> Resp {
    app.post_raw(VISITOR, text.as_bytes().to_vec()).await
}

// ---------------------------------------------------------------------------------------------
// Validation: Meteor check
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn missing_visitor_key() {
    let app = TestApp::new();
    let resp = post_text(&app, "{}").await;
    assert_bad_request(&resp, &match_error("Missing key 'visitor'"));
    assert_eq!(
        resp.text(),
        r#"{"success":false,"error":"Match error: Missing key 'visitor'"}"#
    );
}

#[actix_web::test]
async fn unknown_top_level_key() {
    let app = TestApp::new();
    for (body, key) in [
        (r#"{"x":1}"#, "x"),
        (r#"{"x":1,"visitor":{"token":"unk1"}}"#, "x"),
        (r#"{"visitor":{"token":"unk1"},"extra":true}"#, "extra"),
        (r#"{"visitor":{"token":"unk1"},"visitors":[]}"#, "visitors"),
    ] {
        let resp = post_text(&app, body).await;
        assert_bad_request(&resp, &match_error(&format!("Unknown key '{key}'")));
    }
    assert_no_visitor(&app, "unk1").await;
}

#[actix_web::test]
async fn keys_are_checked_in_document_order() {
    let app = TestApp::new();
    let cases = [
        (
            r#"{"visitor":{},"x":1}"#,
            "Missing key 'token' in field visitor",
        ),
        (
            r#"{"visitor":{"name":5}}"#,
            "Expected string, got number in field visitor.name",
        ),
        (
            r#"{"visitor":{"token":1,"name":2}}"#,
            "Expected string, got number in field visitor.token",
        ),
        (
            r#"{"visitor":{"name":2,"token":1}}"#,
            "Expected string, got number in field visitor.name",
        ),
        (
            r#"{"visitor":{"bogus":1,"email":false,"token":"ord1"}}"#,
            "Expected string, got boolean in field visitor.email",
        ),
        (
            r#"{"visitor":{"phone":[],"token":"ord1","name":{}}}"#,
            "Expected string, got array in field visitor.phone",
        ),
    ];
    for (body, detail) in cases {
        let resp = post_text(&app, body).await;
        assert_bad_request(&resp, &match_error(detail));
    }
    assert_no_visitor(&app, "ord1").await;
}

#[actix_web::test]
async fn missing_token() {
    let app = TestApp::new();
    for body in [
        r#"{"visitor":{}}"#,
        r#"{"visitor":{"name":"Ann","email":"ann@example.com"}}"#,
    ] {
        let resp = post_text(&app, body).await;
        assert_bad_request(&resp, &match_error("Missing key 'token' in field visitor"));
    }
}

#[actix_web::test]
async fn token_of_the_wrong_type() {
    let app = TestApp::new();
    for (value, ty) in [
        (json!(1), "number"),
        (json!(1.5), "number"),
        (json!(true), "boolean"),
        (json!({"a": "b"}), "object"),
        (json!(["tok"]), "array"),
        (json!(null), "null"),
    ] {
        let resp = post_visitor(&app, json!({ "token": value })).await;
        assert_bad_request(
            &resp,
            &match_error(&format!("Expected string, got {ty} in field visitor.token")),
        );
    }
}

#[actix_web::test]
async fn optional_strings_of_the_wrong_type() {
    let app = TestApp::new();
    for field in ["name", "email", "phone", "username", "department"] {
        for (value, ty) in [
            (json!(7), "number"),
            (json!(false), "boolean"),
            (json!({}), "object"),
            (json!(["x"]), "array"),
        ] {
            let mut visitor = json!({"token": "wt1"});
            visitor[field] = value;
            let resp = post_visitor(&app, visitor).await;
            assert_bad_request(
                &resp,
                &match_error(&format!(
                    "Expected string, got {ty} in field visitor.{field}"
                )),
            );
        }
    }
    assert_no_visitor(&app, "wt1").await;
}

#[actix_web::test]
async fn null_means_not_given_for_optional_strings() {
    let app = TestApp::new();
    let v = register(
        &app,
        json!({"token": "null1", "name": null, "email": null, "phone": null,
               "username": null, "department": null}),
    )
    .await;
    assert_eq!(
        visitor_rest(&v),
        json!({"token": "null1", "username": "guest-1"})
    );

    // On an existing visitor, null changes nothing either.
    register(
        &app,
        json!({"token": "null1", "name": "Ann", "email": "a@b.c", "phone": "1", "department": "d"}),
    )
    .await;
    let before = get_visitor(&app, "null1").await;
    let after = register(
        &app,
        json!({"token": "null1", "name": null, "email": null, "phone": null,
               "username": null, "department": null}),
    )
    .await;
    assert_eq!(
        without(&after, &["_updatedAt"]),
        without(&before, &["_updatedAt"])
    );
}

#[actix_web::test]
async fn custom_field_entry_missing_a_key() {
    let app = TestApp::new();
    let cases = [
        (
            json!([{"key": "a", "value": "b"}]),
            "Missing key 'overwrite' in field visitor.customFields[0]",
        ),
        (
            json!([{"key": "a", "value": "b", "overwrite": true}, {"key": "c", "value": "d"}]),
            "Missing key 'overwrite' in field visitor.customFields[1]",
        ),
        (
            json!([{"value": "b", "overwrite": true}]),
            "Missing key 'key' in field visitor.customFields[0]",
        ),
        (
            json!([{"key": "a", "overwrite": true}]),
            "Missing key 'value' in field visitor.customFields[0]",
        ),
        (
            json!([{"key": "a", "value": 3, "overwrite": true}]),
            "Expected string, got number in field visitor.customFields[0].value",
        ),
    ];
    for (fields, detail) in cases {
        let resp = post_visitor(&app, json!({"token": "cfm1", "customFields": fields})).await;
        assert_bad_request(&resp, &match_error(detail));
    }
    assert_no_visitor(&app, "cfm1").await;
}

#[actix_web::test]
async fn extra_keys_inside_visitor_are_ignored() {
    let app = TestApp::new();
    let v = register(
        &app,
        json!({"token": "xk1", "id": "MyOwnVisitorId", "connectionData": {"ip": "1.2.3.4"},
               "whatever": [1, 2]}),
    )
    .await;
    assert_ne!(v["_id"], json!("MyOwnVisitorId"), "a client id is not used");
    assert_eq!(
        visitor_rest(&v),
        json!({"token": "xk1", "username": "guest-1"})
    );
    assert_eq!(get_visitor(&app, "xk1").await, v);
}

// ---------------------------------------------------------------------------------------------
// Validation: token, email, lengths
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn empty_or_blank_token() {
    let app = TestApp::new();
    let expected = json!({
        "success": false,
        "error": "Token cannot be empty [error-invalid-token]",
        "errorType": "error-invalid-token",
        "details": {"method": "livechat/visitor"},
    });
    for token in ["", " ", "    "] {
        let resp = post_visitor(&app, json!({"token": token, "name": "Blank"})).await;
        assert_bad_request(&resp, &expected);
        assert_eq!(
            resp.text(),
            r#"{"success":false,"error":"Token cannot be empty [error-invalid-token]","errorType":"error-invalid-token","details":{"method":"livechat/visitor"}}"#
        );
    }
    // Nothing was created: the next visitor is still the first guest.
    assert_eq!(
        register(&app, json!({"token": "after"})).await["username"],
        json!("guest-1")
    );
}

fn invalid_email(email: &str) -> Value {
    json!({
        "success": false,
        "error": format!("Invalid email {email} [error-invalid-email]"),
        "errorType": "error-invalid-email",
        "details": {"function": "Livechat.validateEmail", "email": email},
    })
}

#[actix_web::test]
async fn invalid_email_shows_the_trimmed_lower_cased_address() {
    let app = TestApp::new();
    for (sent, shown) in [
        ("  Not-An-Email  ", "not-an-email"),
        ("a@b@c", "a@b@c"),
        (" Foo@Bar@BAZ ", "foo@bar@baz"),
        ("@example.com", "@example.com"),
        ("USER@", "user@"),
    ] {
        let resp = post_visitor(&app, json!({"token": "em1", "email": sent})).await;
        assert_bad_request(&resp, &invalid_email(shown));
    }
    assert_no_visitor(&app, "em1").await;
}

#[actix_web::test]
async fn invalid_email_leaves_an_existing_visitor_unchanged() {
    let app = TestApp::new();
    register(
        &app,
        json!({"token": "em2", "name": "Old", "email": "old@example.com"}),
    )
    .await;
    let before = get_visitor(&app, "em2").await;
    let resp = post_visitor(
        &app,
        json!({"token": "em2", "name": "New", "phone": "999", "email": "broken"}),
    )
    .await;
    assert_bad_request(&resp, &invalid_email("broken"));
    assert_eq!(get_visitor(&app, "em2").await, before);
}

/// One too-long field: 400 with the exact `<field> is too long (max <n>) [invalid-params]`.
async fn assert_too_long(app: &TestApp, visitor: Value, field: &str, max: usize) {
    let resp = post_visitor(app, visitor).await;
    assert_bad_request(&resp, &too_long(field, max));
}

#[actix_web::test]
async fn token_is_at_most_256_bytes() {
    let app = TestApp::new();
    let v = register(&app, json!({"token": "t".repeat(256)})).await;
    assert_eq!(v["token"], json!("t".repeat(256)));
    let v = register(&app, json!({"token": "é".repeat(128)})).await;
    assert_eq!(v["token"], json!("é".repeat(128)));

    assert_too_long(&app, json!({"token": "t".repeat(257)}), "token", 256).await;
    assert_too_long(&app, json!({"token": "é".repeat(129)}), "token", 256).await;
    // Two visitors were created, no more.
    assert_eq!(
        register(&app, json!({"token": "next"})).await["username"],
        json!("guest-3")
    );
}

#[actix_web::test]
async fn name_and_username_are_at_most_256_chars() {
    let app = TestApp::new();
    for field in ["name", "username"] {
        let mut ok = json!({"token": format!("lt-{field}")});
        ok[field] = json!("é".repeat(256));
        let v = register(&app, ok).await;
        assert_eq!(v[field], json!("é".repeat(256)));

        for value in ["n".repeat(257), "é".repeat(257)] {
            let mut bad = json!({"token": "lt-bad"});
            bad[field] = json!(value);
            assert_too_long(&app, bad, field, 256).await;
        }
    }
    assert_no_visitor(&app, "lt-bad").await;

    // A too-long value refused on update changes nothing.
    let before = get_visitor(&app, "lt-name").await;
    let resp = post_visitor(
        &app,
        json!({"token": "lt-name", "email": "new@example.com", "name": "n".repeat(257)}),
    )
    .await;
    assert_bad_request(&resp, &too_long("name", 256));
    assert_eq!(get_visitor(&app, "lt-name").await, before);
}

#[actix_web::test]
async fn email_is_at_most_254_chars() {
    let app = TestApp::new();
    let ok = format!("{}@b.c", "a".repeat(250));
    assert_eq!(ok.len(), 254);
    let v = register(&app, json!({"token": "lt-email", "email": ok})).await;
    assert_eq!(v["visitorEmails"], json!([{ "address": ok }]));

    let bad = format!("{}@b.c", "a".repeat(251));
    assert_too_long(&app, json!({"token": "lt-bad", "email": bad}), "email", 254).await;
    assert_no_visitor(&app, "lt-bad").await;
}

#[actix_web::test]
async fn phone_is_at_most_64_chars() {
    let app = TestApp::new();
    let v = register(&app, json!({"token": "lt-phone", "phone": "5".repeat(64)})).await;
    assert_eq!(v["phone"], json!([{ "phoneNumber": "5".repeat(64) }]));
    assert_too_long(
        &app,
        json!({"token": "lt-bad", "phone": "5".repeat(65)}),
        "phone",
        64,
    )
    .await;
    assert_no_visitor(&app, "lt-bad").await;
}

fn custom_fields(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"key": format!("k{i}"), "value": "v", "overwrite": true}))
            .collect(),
    )
}

#[actix_web::test]
async fn at_most_100_custom_fields() {
    let app = TestApp::new();
    let v = register(
        &app,
        json!({"token": "lt-cf", "customFields": custom_fields(100)}),
    )
    .await;
    assert_eq!(v["livechatData"].as_object().map(|o| o.len()), Some(100));
    assert_too_long(
        &app,
        json!({"token": "lt-bad", "customFields": custom_fields(101)}),
        "customFields",
        100,
    )
    .await;
    assert_no_visitor(&app, "lt-bad").await;
}

#[actix_web::test]
async fn custom_field_key_and_value_limits() {
    let app = TestApp::new();
    let key = "k".repeat(64);
    let value = "v".repeat(4096);
    let v = register(
        &app,
        json!({"token": "lt-kv", "customFields": [{"key": key, "value": value, "overwrite": true}]}),
    )
    .await;
    assert_eq!(v["livechatData"], json!({ key: value }));

    assert_too_long(
        &app,
        json!({"token": "lt-bad",
               "customFields": [{"key": "k".repeat(65), "value": "v", "overwrite": true}]}),
        "customFields.key",
        64,
    )
    .await;
    assert_too_long(
        &app,
        json!({"token": "lt-bad",
               "customFields": [{"key": "k", "value": "v".repeat(4097), "overwrite": true}]}),
        "customFields.value",
        4096,
    )
    .await;
    assert_no_visitor(&app, "lt-bad").await;
}

// ---------------------------------------------------------------------------------------------
// Creating and updating
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn creates_a_minimal_visitor() {
    let app = TestApp::new();
    let v = register(&app, json!({"token": "c1"})).await;
    assert_eq!(
        sorted_keys(&v),
        ["_id", "_updatedAt", "status", "token", "ts", "username"]
    );
    assert_eq!(
        visitor_rest(&v),
        json!({"token": "c1", "username": "guest-1"})
    );
}

#[actix_web::test]
async fn creates_with_every_field() {
    let app = TestApp::new();
    let v = register(
        &app,
        json!({"token": "full1", "name": "Jane Doe", "email": "  Jane.Doe@Example.COM  ",
               "phone": " +55 (51) 5555-5555 ", "department": "dep-1", "username": "jane"}),
    )
    .await;
    assert_eq!(
        visitor_rest(&v),
        json!({
            "token": "full1",
            "username": "jane",
            "name": "Jane Doe",
            "visitorEmails": [{"address": "jane.doe@example.com"}],
            "phone": [{"phoneNumber": " +55 (51) 5555-5555 "}],
            "department": "dep-1",
        })
    );
    assert_eq!(get_visitor(&app, "full1").await, v);
    // A given username spends no guest number.
    assert_eq!(
        register(&app, json!({"token": "full2"})).await["username"],
        json!("guest-1")
    );
}

#[actix_web::test]
async fn guest_numbers_are_spent_only_on_creation_without_username() {
    let app = TestApp::new();
    let first = register(&app, json!({"token": "gn1"})).await;
    assert_eq!(first["username"], json!("guest-1"));
    let again = register(&app, json!({"token": "gn1", "name": "Again"})).await;
    assert_eq!(again["_id"], first["_id"]);
    assert_eq!(again["username"], json!("guest-1"));
    assert_eq!(
        register(&app, json!({"token": "gn2", "username": "given"})).await["username"],
        json!("given")
    );
    assert_eq!(
        register(&app, json!({"token": "gn3"})).await["username"],
        json!("guest-2")
    );
    assert_eq!(
        register(&app, json!({"token": "gn4", "username": ""})).await["username"],
        json!("guest-3")
    );
}

#[actix_web::test]
async fn update_keeps_id_username_and_ts() {
    let app = TestApp::new();
    let first = register(&app, json!({"token": "up1"})).await;
    let second = register(
        &app,
        json!({"token": "up1", "username": "renamed", "name": "Bob", "email": "BOB@x.io",
               "phone": "123", "department": "d2"}),
    )
    .await;
    assert_eq!(second["_id"], first["_id"]);
    assert_eq!(second["ts"], first["ts"]);
    assert_eq!(
        visitor_rest(&second),
        json!({
            "token": "up1",
            "username": "guest-1",
            "name": "Bob",
            "visitorEmails": [{"address": "bob@x.io"}],
            "phone": [{"phoneNumber": "123"}],
            "department": "d2",
        })
    );
    assert_eq!(get_visitor(&app, "up1").await, second);
}

#[actix_web::test]
async fn empty_strings_never_clear_fields() {
    let app = TestApp::new();
    register(
        &app,
        json!({"token": "keep1", "name": "Kept", "email": "kept@example.com", "phone": "777",
               "department": "dep", "customFields": [{"key": "k", "value": "v", "overwrite": true}]}),
    )
    .await;
    let before = get_visitor(&app, "keep1").await;
    for visitor in [
        json!({"token": "keep1", "name": "", "email": "", "phone": "", "department": ""}),
        json!({"token": "keep1"}),
        json!({"token": "keep1", "customFields": []}),
    ] {
        let after = register(&app, visitor).await;
        assert_eq!(
            without(&after, &["_updatedAt"]),
            without(&before, &["_updatedAt"])
        );
        assert_eq!(get_visitor(&app, "keep1").await, after);
    }
}

#[actix_web::test]
async fn email_and_phone_are_replaced_not_appended() {
    let app = TestApp::new();
    register(
        &app,
        json!({"token": "rep1", "email": "one@example.com", "phone": "111"}),
    )
    .await;
    let v = register(
        &app,
        json!({"token": "rep1", "email": "Two@Example.com", "phone": "222"}),
    )
    .await;
    assert_eq!(v["visitorEmails"], json!([{"address": "two@example.com"}]));
    assert_eq!(v["phone"], json!([{"phoneNumber": "222"}]));
    assert_eq!(get_visitor(&app, "rep1").await, v);
}

#[actix_web::test]
async fn phone_match_updates_that_visitor_and_keeps_its_token() {
    let app = merging_app();
    let a = register(
        &app,
        json!({"token": "ph1", "phone": "555-0101", "name": "A"}),
    )
    .await;
    let resp = post_visitor(
        &app,
        json!({"token": "ph2", "phone": "555-0101", "name": "B"}),
    )
    .await;
    let v = assert_success(&resp)["visitor"].clone();
    assert_eq!(v["_id"], a["_id"]);
    assert_eq!(v["token"], json!("ph1"), "the new token is discarded");
    assert_eq!(v["username"], a["username"]);
    assert_eq!(v["name"], json!("B"));
    assert_eq!(v["phone"], json!([{"phoneNumber": "555-0101"}]));
    assert_eq!(get_visitor(&app, "ph1").await, v);
    assert_no_visitor(&app, "ph2").await;
    assert_eq!(
        register(&app, json!({"token": "ph3"})).await["username"],
        json!("guest-2")
    );
}

#[actix_web::test]
async fn phone_match_is_exact() {
    let app = merging_app();
    let a = register(&app, json!({"token": "pe1", "phone": "555-0101"})).await;
    for (token, phone) in [("pe2", "5550101"), ("pe3", "555-0101 "), ("pe4", "555-010")] {
        let v = register(&app, json!({"token": token, "phone": phone})).await;
        assert_ne!(v["_id"], a["_id"], "{phone:?} must not match 555-0101");
        assert_eq!(v["token"], json!(token));
    }
}

#[actix_web::test]
async fn email_match_updates_that_visitor_and_replaces_its_token() {
    let app = merging_app();
    let a = register(
        &app,
        json!({"token": "mail1", "email": "mail@x.io", "name": "A"}),
    )
    .await;
    let v = register(&app, json!({"token": "mail2", "email": "  MAIL@X.IO "})).await;
    assert_eq!(v["_id"], a["_id"]);
    assert_eq!(v["token"], json!("mail2"));
    assert_eq!(v["username"], a["username"]);
    assert_eq!(v["name"], json!("A"));
    assert_eq!(get_visitor(&app, "mail2").await, v);
    assert_no_visitor(&app, "mail1").await;

    // The old token is free again: it makes a new visitor.
    let fresh = register(&app, json!({"token": "mail1"})).await;
    assert_ne!(fresh["_id"], a["_id"]);
    assert_eq!(fresh["username"], json!("guest-2"));
}

#[actix_web::test]
async fn token_match_beats_phone_match() {
    let app = merging_app();
    let a = register(&app, json!({"token": "tp1", "phone": "4242"})).await;
    let b = register(&app, json!({"token": "tp2"})).await;
    let v = register(&app, json!({"token": "tp2", "phone": "4242"})).await;
    assert_eq!(v["_id"], b["_id"]);
    assert_eq!(v["token"], json!("tp2"));
    assert_eq!(
        get_visitor(&app, "tp1").await,
        a,
        "the phone's owner is untouched"
    );
}

#[actix_web::test]
async fn token_match_beats_email_match() {
    let app = merging_app();
    let a = register(&app, json!({"token": "te1", "email": "te@example.com"})).await;
    let b = register(&app, json!({"token": "te2"})).await;
    let v = register(&app, json!({"token": "te2", "email": "te@example.com"})).await;
    assert_eq!(v["_id"], b["_id"]);
    assert_eq!(get_visitor(&app, "te1").await, a);
}

#[actix_web::test]
async fn phone_match_beats_email_match() {
    let app = merging_app();
    let a = register(&app, json!({"token": "pm1", "phone": "8080"})).await;
    let b = register(&app, json!({"token": "pm2", "email": "pm@example.com"})).await;
    let v = register(
        &app,
        json!({"token": "pm3", "phone": "8080", "email": "pm@example.com"}),
    )
    .await;
    assert_eq!(v["_id"], a["_id"]);
    assert_eq!(v["token"], json!("pm1"));
    assert_eq!(v["visitorEmails"], json!([{"address": "pm@example.com"}]));
    assert_eq!(get_visitor(&app, "pm2").await, b);
    assert_no_visitor(&app, "pm3").await;
}

#[actix_web::test]
async fn replaced_phone_and_email_no_longer_match() {
    let app = merging_app();
    let a = register(
        &app,
        json!({"token": "old1", "phone": "1000", "email": "first@x.io"}),
    )
    .await;
    register(
        &app,
        json!({"token": "old1", "phone": "2000", "email": "second@x.io"}),
    )
    .await;

    let by_old_phone = register(&app, json!({"token": "old2", "phone": "1000"})).await;
    assert_ne!(by_old_phone["_id"], a["_id"]);
    assert_eq!(by_old_phone["token"], json!("old2"));
    let by_old_email = register(&app, json!({"token": "old3", "email": "first@x.io"})).await;
    assert_ne!(by_old_email["_id"], a["_id"]);
    assert_eq!(by_old_email["token"], json!("old3"));

    let by_new_phone = register(&app, json!({"token": "old4", "phone": "2000"})).await;
    assert_eq!(by_new_phone["_id"], a["_id"]);
    let by_new_email = register(&app, json!({"token": "old5", "email": "second@x.io"})).await;
    assert_eq!(by_new_email["_id"], a["_id"]);
    assert_eq!(by_new_email["token"], json!("old5"));
}

// ---------------------------------------------------------------------------------------------
// HTTP header information
// ---------------------------------------------------------------------------------------------

const CLIENT_HEADERS: [(&str, &str); 4] = [
    ("User-Agent", "TestAgent/1.0"),
    ("X-Real-IP", "203.0.113.7"),
    ("X-Forwarded-For", "198.51.100.1"),
    ("Host", "chat.example.org"),
];

#[actix_web::test]
async fn http_headers_are_not_stored_by_default() {
    let app = TestApp::new();
    let resp = post_with_headers(
        &app,
        VISITOR,
        &json!({"visitor": {"token": "hh0"}}),
        &CLIENT_HEADERS,
    )
    .await;
    let v = assert_success(&resp)["visitor"].clone();
    assert_eq!(
        visitor_rest(&v),
        json!({"token": "hh0", "username": "guest-1"})
    );
    assert_eq!(get_visitor(&app, "hh0").await, v);
}

#[actix_web::test]
async fn http_headers_are_stored_on_create_when_enabled() {
    let app = TestApp::with_config(|c| c.livechat.store_http_headers = true);
    let resp = post_with_headers(
        &app,
        VISITOR,
        &json!({"visitor": {"token": "hh1"}}),
        &CLIENT_HEADERS,
    )
    .await;
    let v = assert_success(&resp)["visitor"].clone();
    assert_eq!(
        visitor_rest(&v),
        json!({"token": "hh1", "username": "guest-1", "userAgent": "TestAgent/1.0",
               "ip": "203.0.113.7", "host": "chat.example.org"})
    );
    assert_eq!(get_visitor(&app, "hh1").await, v);

    // Only on create: an update from elsewhere leaves them.
    let resp = post_with_headers(
        &app,
        VISITOR,
        &json!({"visitor": {"token": "hh1", "name": "N"}}),
        &[
            ("User-Agent", "Other/2.0"),
            ("X-Real-IP", "192.0.2.55"),
            ("Host", "elsewhere.example"),
        ],
    )
    .await;
    let updated = assert_success(&resp)["visitor"].clone();
    assert_eq!(updated["userAgent"], json!("TestAgent/1.0"));
    assert_eq!(updated["ip"], json!("203.0.113.7"));
    assert_eq!(updated["host"], json!("chat.example.org"));

    // X-Forwarded-For when there is no X-Real-IP, else the peer address.
    let resp = post_with_headers(
        &app,
        VISITOR,
        &json!({"visitor": {"token": "hh2"}}),
        &[("X-Forwarded-For", "198.51.100.9")],
    )
    .await;
    assert_eq!(
        assert_success(&resp)["visitor"]["ip"],
        json!("198.51.100.9")
    );
    let v = register(&app, json!({"token": "hh3"})).await;
    assert_eq!(v["ip"], json!("127.0.0.1"));
}

// ---------------------------------------------------------------------------------------------
// Custom fields
// ---------------------------------------------------------------------------------------------

fn cf(key: &str, value: &str, overwrite: bool) -> Value {
    json!({"key": key, "value": value, "overwrite": overwrite})
}

#[actix_web::test]
async fn custom_fields_any_mode_and_overwrite() {
    let app = TestApp::new();
    let v = register(
        &app,
        json!({"token": "cf1", "customFields": [cf("address", "Street 1", true)]}),
    )
    .await;
    assert_eq!(v["livechatData"], json!({"address": "Street 1"}));

    let v = register(
        &app,
        json!({"token": "cf1", "customFields": [cf("address", "Street 2", false)]}),
    )
    .await;
    assert_eq!(
        v["livechatData"],
        json!({"address": "Street 1"}),
        "overwrite:false keeps a value"
    );

    let v = register(
        &app,
        json!({"token": "cf1", "customFields": [cf("address", "Street 3", true), cf("zip", "9000", false)]}),
    )
    .await;
    assert_eq!(
        v["livechatData"],
        json!({"address": "Street 3", "zip": "9000"})
    );
    assert_eq!(get_visitor(&app, "cf1").await, v);
}

#[actix_web::test]
async fn overwrite_false_fills_an_empty_value() {
    let app = TestApp::new();
    let v = register(
        &app,
        json!({"token": "cf2", "customFields": [cf("note", "", true)]}),
    )
    .await;
    assert_eq!(v["livechatData"], json!({"note": ""}));
    let v = register(
        &app,
        json!({"token": "cf2", "customFields": [cf("note", "filled", false)]}),
    )
    .await;
    assert_eq!(v["livechatData"], json!({"note": "filled"}));
    assert_eq!(
        get_visitor(&app, "cf2").await["livechatData"],
        json!({"note": "filled"})
    );
}

#[actix_web::test]
async fn empty_custom_fields_store_nothing() {
    let app = TestApp::new();
    let v = register(&app, json!({"token": "cf3", "customFields": []})).await;
    assert_eq!(
        visitor_rest(&v),
        json!({"token": "cf3", "username": "guest-1"})
    );
}

fn def(id: &str, scope: FieldScope, required: bool) -> CustomFieldDef {
    CustomFieldDef {
        id: id.to_string(),
        label: id.to_uppercase(),
        scope,
        required,
        ..Default::default()
    }
}

#[actix_web::test]
async fn defined_mode_stores_only_visitor_fields_from_config() {
    let app = TestApp::with_config(|c| {
        c.livechat.custom_fields_mode = CustomFieldsMode::Defined;
        c.livechat.custom_fields = vec![
            def("address", FieldScope::Visitor, false),
            def("plan", FieldScope::Visitor, false),
            def("roomonly", FieldScope::Room, false),
        ];
    });
    let v = register(
        &app,
        json!({"token": "df1", "customFields": [
            cf("address", "Main St", true), cf("roomonly", "x", true), cf("unknown", "y", true)]}),
    )
    .await;
    assert_eq!(v["livechatData"], json!({"address": "Main St"}));
    assert_eq!(get_visitor(&app, "df1").await, v);

    let v = register(
        &app,
        json!({"token": "df2", "customFields": [cf("roomonly", "x", true), cf("unknown", "y", true)]}),
    )
    .await;
    assert_eq!(
        visitor_rest(&v),
        json!({"token": "df2", "username": "guest-2"}),
        "no field applied: no livechatData"
    );
}

#[actix_web::test]
async fn defined_mode_required_fields() {
    let app = TestApp::with_config(|c| {
        c.livechat.custom_fields_mode = CustomFieldsMode::Defined;
        c.livechat.custom_fields = vec![
            def("a", FieldScope::Visitor, true),
            def("b", FieldScope::Visitor, true),
            def("c", FieldScope::Visitor, false),
        ];
    });
    let resp = post_visitor(
        &app,
        json!({"token": "rq1", "customFields": [cf("c", "1", true)]}),
    )
    .await;
    assert_bad_request(&resp, &plain_error("Missing required custom fields: a, b"));
    let resp = post_visitor(
        &app,
        json!({"token": "rq1", "customFields": [cf("a", "1", true), cf("c", "1", true)]}),
    )
    .await;
    assert_bad_request(&resp, &plain_error("Missing required custom fields: b"));
    assert_no_visitor(&app, "rq1").await;

    // Only checked when customFields is non-empty.
    let v = register(&app, json!({"token": "rq1", "name": "First"})).await;
    assert_eq!(
        v["username"],
        json!("guest-1"),
        "the refused requests spent no guest number"
    );
    register(&app, json!({"token": "rq1", "customFields": []})).await;

    // A refused update changes nothing.
    let before = get_visitor(&app, "rq1").await;
    let resp = post_visitor(
        &app,
        json!({"token": "rq1", "name": "Second", "customFields": [cf("b", "2", true)]}),
    )
    .await;
    assert_bad_request(&resp, &plain_error("Missing required custom fields: a"));
    assert_eq!(get_visitor(&app, "rq1").await, before);

    let v = register(
        &app,
        json!({"token": "rq1", "customFields": [cf("b", "2", true), cf("a", "1", true)]}),
    )
    .await;
    assert_eq!(v["livechatData"], json!({"a": "1", "b": "2"}));
}

// ---------------------------------------------------------------------------------------------
// Open rooms and concurrency
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_changed_name_is_copied_to_the_open_room() {
    let app = TestApp::new();
    let (_, room) = visitor_with_room(&app, "rn1", "Old Name").await;
    assert_eq!(room["fname"], json!("Old Name"));

    register(&app, json!({"token": "rn1", "name": "New Name"})).await;
    let (after, new_room) = open_room(&app, "rn1").await;
    assert!(!new_room);
    assert_eq!(after["_id"], room["_id"]);
    assert_eq!(after["fname"], json!("New Name"));

    // No name given: the room keeps it.
    register(&app, json!({"token": "rn1", "email": "rn@example.com"})).await;
    assert_eq!(open_room(&app, "rn1").await.0["fname"], json!("New Name"));
}

#[actix_web::test]
async fn a_name_changed_through_a_phone_match_reaches_the_room() {
    let app = merging_app();
    register(
        &app,
        json!({"token": "rp1", "name": "Phoned", "phone": "3131"}),
    )
    .await;
    let (room, _) = open_room(&app, "rp1").await;
    register(
        &app,
        json!({"token": "rp2", "phone": "3131", "name": "Renamed"}),
    )
    .await;
    let (after, new_room) = open_room(&app, "rp1").await;
    assert!(!new_room);
    assert_eq!(after["_id"], room["_id"]);
    assert_eq!(after["fname"], json!("Renamed"));
}

/// Rounds of the concurrency test: one round catches a missing guard only now and then, so
/// several rounds (each its own token) make a race visible on almost every run.
const RACE_ROUNDS: usize = 16;
const RACERS: usize = 32;

#[actix_web::test]
async fn concurrent_registrations_of_one_token_make_one_visitor() {
    let app = TestApp::new();
    let svc = init_service(visitord::http::build_app(app.state.clone())).await;
    let mut usernames = Vec::new();
    for round in 0..RACE_ROUNDS {
        let token = format!("race-{round}");
        let requests = (0..RACERS).map(|i| {
            TestRequest::post()
                .uri(VISITOR)
                .peer_addr("127.0.0.1:40000".parse().unwrap())
                .set_json(json!({"visitor": {
                    "token": token,
                    "name": format!("racer {i}"),
                    "email": format!("racer{round}@example.com"),
                    "phone": format!("+1 555 {round:04}"),
                }}))
                .to_request()
        });
        let responses =
            futures_util::future::join_all(requests.map(|req| crate::common::send(&svc, req)))
                .await;
        let mut visitors = Vec::new();
        for res in responses {
            let (status, body) = (res.status, res.body);
            assert_eq!(
                status,
                200,
                "round {round}: {}",
                String::from_utf8_lossy(&body)
            );
            let body: Value = serde_json::from_slice(&body).expect("json");
            visitors.push(body["visitor"].clone());
        }
        let first = &visitors[0];
        assert_id(&first["_id"]);
        for v in &visitors {
            assert_eq!(v["_id"], first["_id"], "round {round}: one visitor");
            assert_eq!(
                v["username"], first["username"],
                "round {round}: one username"
            );
            assert_eq!(v["token"], json!(token));
        }
        let stored = get_visitor(&app, &token).await;
        assert_eq!(stored["_id"], first["_id"]);
        let name = stored["name"].as_str().expect("a name");
        assert!(
            (0..RACERS).any(|i| name == format!("racer {i}")),
            "name {name:?}"
        );
        usernames.push(first["username"].as_str().unwrap().to_string());
    }
    // One guest number per round, none spent twice or skipped.
    usernames.sort_by_key(|u| u.trim_start_matches("guest-").parse::<usize>().unwrap_or(0));
    let expected: Vec<String> = (1..=RACE_ROUNDS).map(|n| format!("guest-{n}")).collect();
    assert_eq!(usernames, expected);
    assert_eq!(
        register(&app, json!({"token": "after-race"})).await["username"],
        json!(format!("guest-{}", RACE_ROUNDS + 1)),
        "only one guest number was spent per token"
    );
}

#[actix_web::test]
async fn stored_http_headers_are_bounded() {
    let app = TestApp::with_config(|c| c.livechat.store_http_headers = true);
    let long_agent = "A".repeat(5000);
    let long_ip = "9".repeat(300);
    let resp = app
        .call(
            TestRequest::post()
                .uri("/api/v1/livechat/visitor")
                .insert_header(("Content-Type", "application/json"))
                .insert_header(("User-Agent", long_agent.as_str()))
                .insert_header(("X-Real-IP", long_ip.as_str()))
                .set_payload(r#"{"visitor":{"token":"hdr-bound"}}"#),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let visitor = resp.json()["visitor"].clone();
    assert_eq!(visitor["userAgent"], json!("A".repeat(512)));
    assert_eq!(visitor["ip"], json!("9".repeat(64)));
}

#[actix_web::test]
async fn by_default_a_known_phone_does_not_hand_out_its_visitor() {
    let app = TestApp::new();
    register(
        &app,
        json!({"token": "victim-ph", "phone": "555-0199", "name": "Victim",
               "email": "victim@x.io",
               "customFields": [{"key": "secret", "value": "s3", "overwrite": true}]}),
    )
    .await;
    visitor_with_room(&app, "victim-ph", "Victim").await;
    let victim = get_visitor(&app, "victim-ph").await.clone();
    let v = register(
        &app,
        json!({"token": "attacker-ph", "phone": "555-0199", "name": "Mallory"}),
    )
    .await;
    assert_ne!(v["_id"], victim["_id"], "a second visitor, not the victim");
    assert_eq!(v["token"], json!("attacker-ph"));
    for key in ["visitorEmails", "livechatData", "lastChat"] {
        assert!(v.get(key).is_none(), "the victim's {key} leaked: {v}");
    }
    assert_eq!(v["phone"], json!([{"phoneNumber": "555-0199"}]));
    // The victim is untouched and still its token's.
    assert_eq!(get_visitor(&app, "victim-ph").await, victim);
    // The attacker's token does not reach the victim's room.
    let (room, new_room) = open_room(&app, "attacker-ph").await;
    assert!(new_room);
    assert_ne!(room["_id"], victim["lastChat"]["_id"]);
}

#[actix_web::test]
async fn by_default_a_known_email_does_not_take_its_visitor_over() {
    let app = TestApp::new();
    let victim = register(
        &app,
        json!({"token": "victim-em", "email": "victim@x.io", "name": "Victim"}),
    )
    .await;
    let v = register(
        &app,
        json!({"token": "attacker-em", "email": "VICTIM@x.io", "name": "Mallory"}),
    )
    .await;
    assert_ne!(v["_id"], victim["_id"]);
    assert_eq!(v["token"], json!("attacker-em"));
    assert_eq!(v["name"], json!("Mallory"));
    // The owner's token still works, and its visitor is unchanged.
    assert_eq!(get_visitor(&app, "victim-em").await, victim);
    // Both are found by the address (agents see both).
    let agent = app.user("agent-em", &["livechat-agent"]);
    let found = app
        .get_with(
            "/api/v1/livechat/visitors.search?term=victim%40x.io",
            &agent,
        )
        .await;
    let found = assert_success(&found);
    assert_eq!(found["total"], json!(2), "{found}");
    // The attacker cannot erase the owner.
    assert_eq!(app.delete(&visitor_path("attacker-em")).await.status, 200);
    assert_eq!(get_visitor(&app, "victim-em").await, victim);
}

#[actix_web::test]
async fn an_email_merge_moves_the_token_into_the_rooms_too() {
    let app = merging_app();
    let (visitor, room) = visitor_with_room(&app, "mv-old", "Mover").await;
    register(&app, json!({"token": "mv-old", "email": "mover@x.io"})).await;
    let rid = room["_id"].as_str().unwrap();
    let v = register(&app, json!({"token": "mv-new", "email": "mover@x.io"})).await;
    assert_eq!(v["_id"], visitor["_id"]);
    // The open room is the new token's: its `v.token` followed.
    let (after, new_room) = open_room(&app, "mv-new").await;
    assert!(!new_room);
    assert_eq!(after["_id"], json!(rid));
    assert_eq!(after["v"]["token"], json!("mv-new"));
    let stored = app.backend().room_by_id(rid).unwrap().unwrap();
    assert_eq!(stored.v.token, "mv-new");
    // The old token reaches nothing.
    assert_bad_request(&app.get(&room_path("mv-old")).await, &invalid_token());
    app.assert_consistent();
}

#[actix_web::test]
async fn custom_fields_are_limited_per_visitor_not_per_request() {
    let app = TestApp::new();
    let fields = |from: usize, to: usize| -> Value {
        json!((from..to)
            .map(|i| json!({"key": format!("k{i}"), "value": "v", "overwrite": true}))
            .collect::<Vec<_>>())
    };
    register(
        &app,
        json!({"token": "cf-total", "customFields": fields(0, 60)}),
    )
    .await;
    let before = app.snapshot();
    let resp = post_visitor(
        &app,
        json!({"token": "cf-total", "customFields": fields(60, 101)}),
    )
    .await;
    assert_bad_request(&resp, &invalid_params("too many custom fields (max 100)"));
    assert_eq!(app.snapshot(), before, "nothing written");
    // Up to the limit, and rewriting existing keys, is fine.
    let v = register(
        &app,
        json!({"token": "cf-total", "customFields": fields(40, 100)}),
    )
    .await;
    assert_eq!(v["livechatData"].as_object().unwrap().len(), 100);
    let resp = post_visitor(
        &app,
        json!({"token": "cf-total", "customFields": fields(100, 101)}),
    )
    .await;
    assert_bad_request(&resp, &invalid_params("too many custom fields (max 100)"));
}
