//! §4 user administration: users.create, users.list, users.update, users.delete (manage-users),
//! their effects on logins and tokens, and the last active admin.

use super::util::{
    assert_bad_request, assert_bare_success, assert_date, assert_id, assert_success, coded_error,
    invalid_params, without,
};
use super::*;
use crate::common::{TestApp, PASSWORD};
use serde_json::{json, Value};

fn last_admin() -> Value {
    coded_error(
        "Leaving the app without admins is not allowed [error-action-not-allowed]",
        "error-action-not-allowed",
    )
}

fn taken(username: &str) -> Value {
    coded_error(
        &format!("{username} is already in use :( [error-field-unavailable]"),
        "error-field-unavailable",
    )
}

/// A 400 with `success:false` and a non-empty `error` (for refusals whose wording the spec
/// leaves open).
fn assert_refused(resp: &crate::common::Resp) {
    assert_eq!(resp.status, 400, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["success"], json!(false), "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}

async fn list_all(app: &TestApp, admin: &crate::common::Creds) -> Vec<Value> {
    let resp = app
        .get_with(
            &q(
                USERS_LIST,
                &[("count", "100"), ("sort", r#"{"username":1}"#)],
            ),
            admin,
        )
        .await;
    let body = assert_success(&resp);
    body["users"].as_array().expect("users").clone()
}

#[actix_web::test]
async fn create_returns_the_user_and_the_user_can_log_in() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let user = create_user(
        &app,
        &admin,
        json!({"username": "carol", "password": "carol's password", "name": "Carol",
               "email": "carol@example.com", "roles": ["livechat-agent"]}),
    )
    .await;
    assert_id(&user["_id"]);
    assert_date(&user["createdAt"]);
    assert_eq!(user["username"], json!("carol"));
    assert_eq!(user["name"], json!("Carol"));
    assert_eq!(user["roles"], json!(["livechat-agent"]));
    assert_eq!(user["active"], json!(true));
    assert_eq!(
        user["emails"][0]["address"],
        json!("carol@example.com"),
        "{user}"
    );
    for key in [
        "_id",
        "username",
        "name",
        "emails",
        "roles",
        "active",
        "createdAt",
    ] {
        assert!(user.get(key).is_some(), "user.{key} missing: {user}");
    }

    let resp = login_with(&app, "user", "carol", "carol's password").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["data"]["userId"], user["_id"]);
    let carol = login_ok(&app, "carol", "carol's password").await;
    // The roles given are the roles held.
    let resp = app.get_with(&q(SEARCH, &[("term", "")]), &carol).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_forbidden(&app.get_with(USERS_LIST, &carol).await);

    let listed = list_all(&app, &admin).await;
    let found: Vec<&Value> = listed.iter().filter(|u| u["_id"] == user["_id"]).collect();
    assert_eq!(found.len(), 1, "{listed:?}");
    assert_eq!(
        without(found[0], &["_updatedAt"]),
        without(&user, &["_updatedAt"])
    );
}

#[actix_web::test]
async fn create_without_roles_makes_a_plain_user() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let user = create_user(&app, &admin, json!({"username": "dave", "password": "pw"})).await;
    assert_eq!(user["roles"], json!(["user"]), "{user}");
    assert_eq!(user["active"], json!(true), "{user}");
    let dave = login_ok(&app, "dave", "pw").await;
    assert_live(&app, &dave).await;
    assert_forbidden(&app.get_with(&q(SEARCH, &[("term", "")]), &dave).await);
}

#[actix_web::test]
async fn create_with_a_taken_username() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    app.user("erin", &["livechat-agent"]);
    let resp = app
        .post_with(
            USERS_CREATE,
            &json!({"username": "erin", "password": "pw"}),
            &admin,
        )
        .await;
    assert_bad_request(&resp, &taken("erin"));
    // Usernames are unique whatever their case.
    let resp = app
        .post_with(
            USERS_CREATE,
            &json!({"username": "ERIN", "password": "pw"}),
            &admin,
        )
        .await;
    assert_bad_request(&resp, &taken("ERIN"));
    // The existing user is untouched: its password still works.
    login_ok(&app, "erin", PASSWORD).await;
}

#[actix_web::test]
async fn create_validates_the_body() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let cases = [
        (
            json!({"password": "pw"}),
            "must have required property 'username'",
        ),
        (
            json!({"username": "frank"}),
            "must have required property 'password'",
        ),
        (json!({}), "must have required property 'username'"),
        (
            json!({"username": "frank", "password": "pw", "bogus": 1}),
            "must NOT have additional properties",
        ),
        (json!({"username": 5, "password": "pw"}), "must be string"),
        (
            json!({"username": "frank", "password": 5}),
            "must be string",
        ),
    ];
    for (body, msg) in cases {
        let resp = app.post_with(USERS_CREATE, &body, &admin).await;
        assert_bad_request(&resp, &invalid_params(msg));
    }
    assert!(app.backend().user_by_username("frank").unwrap().is_none());
}

#[actix_web::test]
async fn create_with_an_unknown_role_is_refused() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let resp = app
        .post_with(
            USERS_CREATE,
            &json!({"username": "gina", "password": "pw", "roles": ["livechat-agent", "root"]}),
            &admin,
        )
        .await;
    assert_refused(&resp);
    assert!(
        resp.text().contains("root"),
        "names the bad role: {}",
        resp.text()
    );
    assert!(resp.json().get("errorType").is_some(), "{}", resp.text());
    assert!(app.backend().user_by_username("gina").unwrap().is_none());
}

#[actix_web::test]
async fn list_shows_every_user_without_secrets() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let a = app.user("anna", &["livechat-agent"]);
    let z = app.user("zoe", &["user"]);
    let resp = app
        .get_with(&q(USERS_LIST, &[("sort", r#"{"username":1}"#)]), &admin)
        .await;
    let users = assert_page(&resp, "users", 0, 3);
    assert_no_secrets(&resp, &[&admin.token, &a.token, &z.token]);
    let names: Vec<&str> = users
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["anna", "boss", "zoe"]);
    let resp = app
        .get_with(&q(USERS_LIST, &[("sort", r#"{"username":-1}"#)]), &admin)
        .await;
    let names: Vec<String> = assert_page(&resp, "users", 0, 3)
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["zoe", "boss", "anna"]);
    assert_eq!(users[0]["_id"], json!(a.user_id));
    assert_eq!(users[0]["roles"], json!(["livechat-agent"]));
    assert_eq!(users[0]["active"], json!(true));
}

#[actix_web::test]
async fn update_roles_takes_effect_on_the_live_token() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let agent = app.user("agent", &["livechat-agent"]);
    let plain = app.user("plain", &["user"]);
    let search = q(SEARCH, &[("term", "")]);
    assert_eq!(app.get_with(&search, &agent).await.status, 200);
    assert_forbidden(&app.get_with(&search, &plain).await);

    let user = update_user(&app, &admin, &agent.user_id, json!({"roles": ["user"]})).await;
    assert_eq!(user["roles"], json!(["user"]));
    assert_forbidden(&app.get_with(&search, &agent).await);
    assert_live(&app, &agent).await; // a role change revokes nothing

    let user = update_user(
        &app,
        &admin,
        &plain.user_id,
        json!({"roles": ["livechat-agent"]}),
    )
    .await;
    assert_eq!(user["roles"], json!(["livechat-agent"]));
    assert_eq!(app.get_with(&search, &plain).await.status, 200);
    let me = assert_success(&app.get_with(ME, &plain).await);
    assert_eq!(me["roles"], json!(["livechat-agent"]));

    // Promotion to admin gives manage-users at once.
    update_user(&app, &admin, &plain.user_id, json!({"roles": ["admin"]})).await;
    assert_eq!(app.get_with(USERS_LIST, &plain).await.status, 200);
}

#[actix_web::test]
async fn update_name_and_email() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let agent = app.user("agent", &["livechat-agent"]);
    let user = update_user(
        &app,
        &admin,
        &agent.user_id,
        json!({"name": "Agent Smith", "email": "smith@example.com"}),
    )
    .await;
    assert_eq!(user["name"], json!("Agent Smith"));
    assert_eq!(user["emails"][0]["address"], json!("smith@example.com"));
    assert_eq!(user["_id"], json!(agent.user_id));
    assert_eq!(user["username"], json!("agent"));
    let me = assert_success(&app.get_with(ME, &agent).await);
    assert_eq!(me["name"], json!("Agent Smith"));
    assert_live(&app, &agent).await;
}

#[actix_web::test]
async fn update_password_revokes_tokens_and_changes_the_login() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let agent = app.user("agent", &["livechat-agent"]);
    let second = login_ok(&app, "agent", PASSWORD).await;
    update_user(
        &app,
        &admin,
        &agent.user_id,
        json!({"password": "new password"}),
    )
    .await;
    assert_unauthorized(&app.get_with(ME, &agent).await);
    assert_unauthorized(&app.get_with(ME, &second).await);
    assert_failure(
        &login_with(&app, "user", "agent", PASSWORD).await,
        401,
        &login_failed(),
    );
    let fresh = login_ok(&app, "agent", "new password").await;
    assert_live(&app, &fresh).await;
    // The admin's own session is untouched.
    assert_live(&app, &admin).await;
}

#[actix_web::test]
async fn deactivation_revokes_tokens_and_blocks_login_until_reactivated() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let agent = app.user("agent", &["livechat-agent"]);
    let user = update_user(&app, &admin, &agent.user_id, json!({"active": false})).await;
    assert_eq!(user["active"], json!(false));
    assert_unauthorized(&app.get_with(ME, &agent).await);
    assert_failure(
        &login_with(&app, "user", "agent", PASSWORD).await,
        401,
        &login_failed(),
    );
    let listed = list_all(&app, &admin).await;
    let entry = listed
        .iter()
        .find(|u| u["_id"] == json!(agent.user_id))
        .expect("listed");
    assert_eq!(entry["active"], json!(false));

    let user = update_user(&app, &admin, &agent.user_id, json!({"active": true})).await;
    assert_eq!(user["active"], json!(true));
    // The old token stays dead; a new login works.
    assert_unauthorized(&app.get_with(ME, &agent).await);
    assert_live(&app, &login_ok(&app, "agent", PASSWORD).await).await;
}

#[actix_web::test]
async fn update_validates_the_body() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let agent = app.user("agent", &["livechat-agent"]);
    let id = agent.user_id.as_str();
    let cases = [
        (json!({"data": {}}), "must have required property 'userId'"),
        (json!({"userId": id}), "must have required property 'data'"),
        (
            json!({"userId": id, "data": {}, "x": 1}),
            "must NOT have additional properties",
        ),
        (
            json!({"userId": id, "data": {"username": "x"}}),
            "must NOT have additional properties",
        ),
        (json!({"userId": id, "data": "x"}), "must be object"),
        (json!({"userId": id, "data": {"name": 5}}), "must be string"),
    ];
    for (body, msg) in cases {
        let resp = app.post_with(USERS_UPDATE, &body, &admin).await;
        assert_bad_request(&resp, &invalid_params(msg));
    }
    let resp = app
        .post_with(
            USERS_UPDATE,
            &json!({"userId": "NoSuchUser1234567", "data": {"name": "x"}}),
            &admin,
        )
        .await;
    assert_refused(&resp);
    let resp = app
        .post_with(
            USERS_UPDATE,
            &json!({"userId": id, "data": {"roles": ["root"]}}),
            &admin,
        )
        .await;
    assert_refused(&resp);
    let user = app.backend().user_by_id(id).unwrap().unwrap();
    assert_eq!(user.roles, ["livechat-agent"]);
    assert_live(&app, &agent).await;
}

#[actix_web::test]
async fn delete_removes_the_user_and_its_tokens() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let agent = app.user("agent", &["livechat-agent"]);
    let second = login_ok(&app, "agent", PASSWORD).await;
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": agent.user_id}), &admin)
        .await;
    assert_bare_success(&resp);
    assert_unauthorized(&app.get_with(ME, &agent).await);
    assert_unauthorized(&app.get_with(ME, &second).await);
    assert_failure(
        &login_with(&app, "user", "agent", PASSWORD).await,
        401,
        &login_failed(),
    );
    let listed = list_all(&app, &admin).await;
    assert!(
        listed.iter().all(|u| u["_id"] != json!(agent.user_id)),
        "{listed:?}"
    );
    // Deleting again: no such user.
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": agent.user_id}), &admin)
        .await;
    assert_refused(&resp);
    // The username is free again, and the new user is another user.
    let user = create_user(
        &app,
        &admin,
        json!({"username": "agent", "password": "pw2"}),
    )
    .await;
    assert_ne!(user["_id"], json!(agent.user_id));
    login_ok(&app, "agent", "pw2").await;
}

#[actix_web::test]
async fn delete_validates_the_body() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let resp = app.post_with(USERS_DELETE, &json!({}), &admin).await;
    assert_bad_request(
        &resp,
        &invalid_params("must have required property 'userId'"),
    );
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": 5}), &admin)
        .await;
    assert_bad_request(&resp, &invalid_params("must be string"));
}

#[actix_web::test]
async fn the_last_active_admin_cannot_be_removed_demoted_or_deactivated() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let id = admin.user_id.clone();
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": id}), &admin)
        .await;
    assert_bad_request(&resp, &last_admin());
    for data in [
        json!({"roles": ["livechat-agent"]}),
        json!({"roles": []}),
        json!({"active": false}),
        json!({"active": false, "name": "x"}),
    ] {
        let resp = app
            .post_with(USERS_UPDATE, &json!({"userId": id, "data": data}), &admin)
            .await;
        assert_bad_request(&resp, &last_admin());
    }
    // Nothing changed: still an active admin with a live session and the same name.
    let me = assert_success(&app.get_with(ME, &admin).await);
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(me["name"], json!("boss"));
    assert_eq!(me["active"], json!(true));
    // Changes that keep it an active admin are fine.
    let user = update_user(
        &app,
        &admin,
        &id,
        json!({"roles": ["admin", "livechat-agent"]}),
    )
    .await;
    assert_eq!(user["roles"], json!(["admin", "livechat-agent"]));
}

#[actix_web::test]
async fn with_two_admins_one_may_go_then_the_other_is_the_last() {
    let app = TestApp::new();
    let a = app.user("alpha", &["admin"]);
    let b = app.user("beta", &["admin", "livechat-agent"]);
    // Demoting one of two is allowed.
    let user = update_user(&app, &a, &b.user_id, json!({"roles": ["livechat-agent"]})).await;
    assert_eq!(user["roles"], json!(["livechat-agent"]));
    // Now alpha is the last.
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": a.user_id}), &a)
        .await;
    assert_bad_request(&resp, &last_admin());
    // Promote beta again, then alpha may delete itself.
    update_user(&app, &a, &b.user_id, json!({"roles": ["admin"]})).await;
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": a.user_id}), &a)
        .await;
    assert_bare_success(&resp);
    assert_unauthorized(&app.get_with(ME, &a).await);
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": b.user_id}), &b)
        .await;
    assert_bad_request(&resp, &last_admin());
}

#[actix_web::test]
async fn an_inactive_admin_does_not_count() {
    let app = TestApp::new();
    let a = app.user("alpha", &["admin"]);
    let b = app.user("beta", &["admin"]);
    update_user(&app, &a, &b.user_id, json!({"active": false})).await;
    for data in [json!({"roles": ["user"]}), json!({"active": false})] {
        let resp = app
            .post_with(
                USERS_UPDATE,
                &json!({"userId": a.user_id, "data": data}),
                &a,
            )
            .await;
        assert_bad_request(&resp, &last_admin());
    }
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": a.user_id}), &a)
        .await;
    assert_bad_request(&resp, &last_admin());
    // The inactive admin itself may go.
    let resp = app
        .post_with(USERS_DELETE, &json!({"userId": b.user_id}), &a)
        .await;
    assert_bare_success(&resp);
}
