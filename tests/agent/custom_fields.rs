//! §4 `GET livechat/custom-fields` (view-l-room, paginated): the configured definitions.

use super::util::{assert_bad_request, invalid_params};
use super::*;
use crate::common::TestApp;
use serde_json::{json, Value};
use visitord::config::{CustomFieldDef, FieldScope};

fn defs() -> Vec<CustomFieldDef> {
    vec![
        CustomFieldDef {
            id: "plan".into(),
            label: "Customer plan".into(),
            scope: FieldScope::Room,
            searchable: false,
            required: false,
        },
        CustomFieldDef {
            id: "address".into(),
            label: "Street address".into(),
            scope: FieldScope::Visitor,
            searchable: true,
            required: true,
        },
        CustomFieldDef {
            id: "crm".into(),
            label: "A CRM id".into(),
            scope: FieldScope::Visitor,
            searchable: false,
            required: false,
        },
    ]
}

/// The definition fields the spec's configuration names, as the endpoint shows them.
fn summary(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|d| {
            json!({
                "_id": d["_id"], "label": d["label"], "scope": d["scope"],
                "searchable": d["searchable"], "required": d["required"],
            })
        })
        .collect()
}

#[actix_web::test]
async fn lists_the_configured_definitions() {
    let app = TestApp::with_config(|c| c.livechat.custom_fields = defs());
    let agent = app.user("agent", &["livechat-agent"]);
    let resp = app
        .get_with(&q(CUSTOM_FIELDS, &[("sort", r#"{"_id":1}"#)]), &agent)
        .await;
    let items = assert_page(&resp, "customFields", 0, 3);
    assert_eq!(
        summary(&items),
        [
            json!({"_id": "address", "label": "Street address", "scope": "visitor", "searchable": true, "required": true}),
            json!({"_id": "crm", "label": "A CRM id", "scope": "visitor", "searchable": false, "required": false}),
            json!({"_id": "plan", "label": "Customer plan", "scope": "room", "searchable": false, "required": false}),
        ]
    );
    let resp = app
        .get_with(&q(CUSTOM_FIELDS, &[("sort", r#"{"label":-1}"#)]), &agent)
        .await;
    assert_eq!(
        ids(&assert_page(&resp, "customFields", 0, 3)),
        ["address", "plan", "crm"]
    );
    // Unsorted, every definition once.
    let resp = app.get_with(CUSTOM_FIELDS, &agent).await;
    let mut all = ids(&assert_page(&resp, "customFields", 0, 3));
    all.sort();
    assert_eq!(all, ["address", "crm", "plan"]);
}

#[actix_web::test]
async fn none_configured_is_an_empty_page() {
    let app = TestApp::new();
    let agent = app.user("agent", &["livechat-agent"]);
    let resp = app.get_with(CUSTOM_FIELDS, &agent).await;
    assert!(assert_page(&resp, "customFields", 0, 0).is_empty());
}

#[actix_web::test]
async fn paging_and_parameters() {
    let app = TestApp::with_config(|c| c.livechat.custom_fields = defs());
    let agent = app.user("agent", &["livechat-agent"]);
    let resp = app
        .get_with(
            &q(
                CUSTOM_FIELDS,
                &[("sort", r#"{"_id":1}"#), ("count", "1"), ("offset", "1")],
            ),
            &agent,
        )
        .await;
    assert_eq!(ids(&assert_page(&resp, "customFields", 1, 3)), ["crm"]);
    let resp = app
        .get_with(&q(CUSTOM_FIELDS, &[("offset", "3")]), &agent)
        .await;
    assert!(assert_page(&resp, "customFields", 3, 3).is_empty());
    for extra in ["fields", "query", "scope", "text"] {
        let resp = app
            .get_with(&q(CUSTOM_FIELDS, &[(extra, "x")]), &agent)
            .await;
        assert_bad_request(
            &resp,
            &invalid_params("must NOT have additional properties"),
        );
    }
    for bad in [r#"{"scope":1}"#, r#"{"label":2}"#] {
        let resp = app
            .get_with(&q(CUSTOM_FIELDS, &[("sort", bad)]), &agent)
            .await;
        assert_bad_request(&resp, &invalid_sort(bad));
    }
}
