//! §4 `POST login`, `POST|GET logout`, `GET me`; no secret in any answer; §1.1 failed-login
//! limiting per IP and per username.

use super::util::{assert_json_headers, assert_success, assert_unparsable_body, sorted_keys};
use super::*;
use crate::common::{Creds, Resp, TestApp, PASSWORD};
use serde_json::{json, Value};

/// Checks a successful login (§4) of `username` (roles `roles`, name `name`) and returns the
/// credentials and `data.me`.
fn assert_login_ok(
    resp: &Resp,
    user_id: &str,
    username: &str,
    name: &str,
    roles: &[&str],
) -> (Creds, Value) {
    assert_eq!(resp.status, 200, "login: {}", resp.text());
    assert_json_headers(resp);
    let body = resp.json();
    assert_eq!(sorted_keys(&body), ["data", "status"], "{body}");
    assert_eq!(body["status"], json!("success"));
    let data = &body["data"];
    assert_eq!(sorted_keys(data), ["authToken", "me", "userId"], "{body}");
    assert!(
        resp.text().starts_with(&format!(
            r#"{{"status":"success","data":{{"userId":"{user_id}","authToken":""#
        )),
        "key order status, data{{userId, authToken, me}}: {}",
        resp.text()
    );
    let token = data["authToken"].as_str().expect("authToken").to_string();
    assert!(
        token.len() >= 32,
        "a login token must be long and random: {token:?}"
    );
    let me = data["me"].clone();
    assert_eq!(
        sorted_keys(&me),
        ["_id", "active", "name", "roles", "status", "username"],
        "data.me: {me}"
    );
    assert!(me["status"].is_string(), "data.me.status: {me}");
    assert_eq!(
        util::without(&me, &["status"]),
        json!({"_id": user_id, "username": username, "name": name, "roles": roles, "active": true}),
    );
    (
        Creds {
            user_id: user_id.to_string(),
            token,
        },
        me,
    )
}

#[actix_web::test]
async fn login_with_user_key_gives_a_token_that_works_for_me() {
    let app = TestApp::new();
    let alice = app.user("alice", &["livechat-agent"]);
    let resp = login_with(&app, "user", "alice", PASSWORD).await;
    let (creds, me) = assert_login_ok(&resp, &alice.user_id, "alice", "alice", &["livechat-agent"]);
    assert_ne!(creds.token, alice.token);

    let resp = app.get_with(ME, &creds).await;
    let body = assert_success(&resp);
    assert_eq!(body["_id"], json!(alice.user_id), "{body}");
    for key in ["_id", "username", "name", "roles", "active"] {
        assert_eq!(body[key], me[key], "me.{key}: {body}");
    }
    // The token works on the agent endpoints too.
    let resp = app.get_with(&q(SEARCH, &[("term", "")]), &creds).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
}

#[actix_web::test]
async fn login_with_username_key() {
    let app = TestApp::new();
    let mgr = app.user("mgr", &["livechat-manager", "livechat-agent"]);
    let resp = login_with(&app, "username", "mgr", PASSWORD).await;
    let (creds, _) = assert_login_ok(
        &resp,
        &mgr.user_id,
        "mgr",
        "mgr",
        &["livechat-manager", "livechat-agent"],
    );
    assert_live(&app, &creds).await;
}

#[actix_web::test]
async fn every_login_is_its_own_session() {
    let app = TestApp::new();
    app.user("alice", &["livechat-agent"]);
    let a = login_ok(&app, "alice", PASSWORD).await;
    let b = login_ok(&app, "alice", PASSWORD).await;
    assert_ne!(a.token, b.token);
    assert_live(&app, &a).await;
    assert_live(&app, &b).await;
}

#[actix_web::test]
async fn bad_credentials_are_401_unauthorized() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let gone = app.user("gone", &["livechat-agent"]);
    update_user(&app, &admin, &gone.user_id, json!({"active": false})).await;
    let cases: [(&str, &str, &str); 6] = [
        ("user", "boss", "wrong password"),
        ("username", "boss", "wrong password"),
        ("user", "boss", ""),
        ("user", "nobody", PASSWORD),
        ("username", "nobody", PASSWORD),
        // A deactivated user cannot log in (§1.3: only active users hold valid tokens).
        ("user", "gone", PASSWORD),
    ];
    for (key, name, password) in cases {
        let resp = login_with(&app, key, name, password).await;
        assert_failure(&resp, 401, &login_failed());
    }
}

#[actix_web::test]
async fn unusable_login_bodies_are_invalid_params() {
    let app = TestApp::new();
    for raw in [&b"{"[..], b"", b"[1]", b"user=boss"] {
        assert_unparsable_body(&app.post_raw(LOGIN, raw.to_vec()).await);
    }
}

#[actix_web::test]
async fn logout_revokes_the_token() {
    let app = TestApp::new();
    app.user("alice", &["livechat-agent"]);
    let creds = login_ok(&app, "alice", PASSWORD).await;
    assert_live(&app, &creds).await;
    let resp = app.post_with(LOGOUT, &json!({}), &creds).await;
    assert_failure(
        &resp,
        200,
        &json!({"status": "success", "data": {"message": "You've been logged out!"}}),
    );
    assert_unauthorized(&app.get_with(ME, &creds).await);
    assert_unauthorized(&app.get_with(&q(SEARCH, &[("term", "")]), &creds).await);
    // Logging in again gives a working token.
    assert_live(&app, &login_ok(&app, "alice", PASSWORD).await).await;
}

#[actix_web::test]
async fn logout_by_get_also_revokes() {
    let app = TestApp::new();
    app.user("alice", &["livechat-agent"]);
    let creds = login_ok(&app, "alice", PASSWORD).await;
    let resp = app.get_with(LOGOUT, &creds).await;
    assert_failure(
        &resp,
        200,
        &json!({"status": "success", "data": {"message": "You've been logged out!"}}),
    );
    assert_unauthorized(&app.get_with(ME, &creds).await);
}

#[actix_web::test]
async fn tokens_survive_a_restart_and_revocations_too() {
    let app = TestApp::new();
    app.user("alice", &["livechat-agent"]);
    let live = login_ok(&app, "alice", PASSWORD).await;
    let dead = login_ok(&app, "alice", PASSWORD).await;
    let resp = app.post_with(LOGOUT, &json!({}), &dead).await;
    assert_eq!(resp.status, 200);
    let app = app.restart();
    assert_live(&app, &live).await;
    assert_unauthorized(&app.get_with(ME, &dead).await);
}

/// No password hash, no token hash, no password in any answer of the user/session endpoints.
#[actix_web::test]
async fn no_password_or_token_hash_in_any_response() {
    let app = TestApp::new();
    let seeded = app.user("boss", &["admin"]);
    let admin = login_ok(&app, "boss", PASSWORD).await;
    let mut tokens = vec![seeded.token.clone(), admin.token.clone()];
    let mut responses: Vec<Resp> = Vec::new();

    responses.push(login_with(&app, "user", "boss", PASSWORD).await);
    tokens.push(
        responses[0].json()["data"]["authToken"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    responses.push(app.get_with(ME, &admin).await);
    let resp = app
        .post_with(
            USERS_CREATE,
            &json!({"username": "carol", "password": PASSWORD, "name": "Carol",
                    "email": "carol@example.com", "roles": ["livechat-agent"]}),
            &admin,
        )
        .await;
    let carol_id = resp.json()["user"]["_id"]
        .as_str()
        .expect("carol")
        .to_string();
    responses.push(resp);
    let carol = login_ok(&app, "carol", PASSWORD).await;
    tokens.push(carol.token.clone());
    responses.push(app.get_with(ME, &carol).await);
    responses.push(app.get_with(USERS_LIST, &admin).await);
    responses.push(
        app.post_with(
            USERS_UPDATE,
            &json!({"userId": carol_id, "data": {"name": "Caroline", "roles": ["livechat-manager"]}}),
            &admin,
        )
        .await,
    );
    responses.push(app.get_with(USERS_LIST, &admin).await);
    responses.push(
        app.post_with(
            USERS_UPDATE,
            &json!({"userId": carol_id, "data": {"password": "another"}}),
            &admin,
        )
        .await,
    );
    responses.push(
        app.post_with(USERS_DELETE, &json!({"userId": carol_id}), &admin)
            .await,
    );
    responses.push(app.post_with(LOGOUT, &json!({}), &admin).await);
    for resp in &responses {
        assert_eq!(resp.status, 200, "{}", resp.text());
        let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        assert_no_secrets(resp, &token_refs);
    }
    // Tokens appear only in the login answer that hands them out.
    for resp in &responses[1..] {
        for t in &tokens {
            assert!(
                !resp.text().contains(t.as_str()),
                "a token in {}",
                resp.text()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Failed-login limiting (§1.1: 10/min per IP and per username)
// ---------------------------------------------------------------------------------------------

fn limited(trust_forwarded_for: bool) -> TestApp {
    TestApp::with_config(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.trust_forwarded_for = trust_forwarded_for;
    })
}

async fn login_from(app: &TestApp, ip: Option<&str>, name: &str, password: &str) -> Resp {
    let body = json!({"user": name, "password": password});
    match ip {
        Some(ip) => send(app, "POST", LOGIN, Some(&body), &[("X-Forwarded-For", ip)]).await,
        None => app.post(LOGIN, &body).await,
    }
}

#[actix_web::test]
async fn eleventh_failed_login_from_one_ip_is_429() {
    let app = limited(false);
    app.user("boss", &["admin"]);
    for i in 0..10 {
        let resp = login_from(&app, None, &format!("nobody{i}"), "wrong").await;
        assert_failure(&resp, 401, &login_failed());
    }
    assert_too_many(&login_from(&app, None, "nobody10", "wrong").await, 10);
    // Locked out: even the right password from this address waits.
    assert_too_many(&login_from(&app, None, "boss", PASSWORD).await, 10);
}

#[actix_web::test]
async fn login_failures_per_min_sets_the_failure_limit() {
    let app = TestApp::with_config(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.login_failures_per_min = 2;
    });
    app.user("boss", &["admin"]);
    for i in 0..2 {
        let resp = login_from(&app, None, &format!("nobody{i}"), "wrong").await;
        assert_failure(&resp, 401, &login_failed());
    }
    assert_too_many(&login_from(&app, None, "nobody2", "wrong").await, 2);
    assert_too_many(&login_from(&app, None, "boss", PASSWORD).await, 2);
}

#[actix_web::test]
async fn untrusted_forwarded_for_does_not_escape_the_ip_limit() {
    let app = limited(false);
    for i in 0..10 {
        let ip = format!("203.0.113.{i}");
        let resp = login_from(&app, Some(&ip), &format!("nobody{i}"), "wrong").await;
        assert_failure(&resp, 401, &login_failed());
    }
    let resp = login_from(&app, Some("203.0.113.200"), "nobody-else", "wrong").await;
    assert_too_many(&resp, 10);
}

#[actix_web::test]
async fn trusted_forwarded_for_gives_each_client_its_ip_bucket() {
    let app = limited(true);
    app.user("boss", &["admin"]);
    for i in 0..10 {
        let resp = login_from(&app, Some("198.51.100.1"), &format!("nobody{i}"), "wrong").await;
        assert_failure(&resp, 401, &login_failed());
    }
    assert_too_many(
        &login_from(&app, Some("198.51.100.1"), "nobody10", "wrong").await,
        10,
    );
    // Another client behind the proxy is not limited.
    let resp = login_from(&app, Some("198.51.100.2"), "nobody11", "wrong").await;
    assert_failure(&resp, 401, &login_failed());
    let resp = login_from(&app, Some("198.51.100.2"), "boss", PASSWORD).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
}

#[actix_web::test]
async fn eleventh_failure_for_one_username_from_many_ips_is_429() {
    let app = limited(true);
    app.user("alice", &["livechat-agent"]);
    app.user("bob", &["livechat-agent"]);
    for i in 0..10 {
        let ip = format!("192.0.2.{i}");
        assert_failure(
            &login_from(&app, Some(&ip), "alice", "guess").await,
            401,
            &login_failed(),
        );
    }
    assert_too_many(
        &login_from(&app, Some("192.0.2.100"), "alice", "guess").await,
        10,
    );
    // The username is locked: from an address that has failed, whatever the password…
    assert_too_many(
        &login_from(&app, Some("192.0.2.5"), "alice", PASSWORD).await,
        10,
    );
    // …and from a clean one, for a wrong password (which then counts against that address)…
    assert_too_many(
        &login_from(&app, Some("192.0.2.101"), "alice", "guess").await,
        10,
    );
    assert_too_many(
        &login_from(&app, Some("192.0.2.101"), "alice", PASSWORD).await,
        10,
    );
    // …and whatever the case of the name (logins are case-insensitive).
    assert_too_many(
        &login_from(&app, Some("192.0.2.102"), "ALICE", "guess").await,
        10,
    );
    // Another user, from a fresh address, is not.
    let resp = login_from(&app, Some("192.0.2.103"), "bob", PASSWORD).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    // Nor is alice with her password from an address that has not failed: a lock-out by
    // others does not shut her out from everywhere.
    let resp = login_from(&app, Some("192.0.2.104"), "alice", PASSWORD).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
}

#[actix_web::test]
async fn parallel_wrong_passwords_cannot_outrun_the_limit() {
    let app = limited(true);
    let admin = app.user("admin", &["admin"]);
    let attempts = (0..40).map(|_| login_from(&app, Some("198.51.100.1"), "admin", "wrong"));
    let answers = futures_util::future::join_all(attempts).await;
    let mut failed = 0;
    for resp in &answers {
        if resp.status == 401 {
            assert_failure(resp, 401, &login_failed());
            failed += 1;
        } else {
            assert_too_many(resp, 10);
        }
    }
    assert_eq!(
        failed, 10,
        "exactly the limit of wrong passwords is checked"
    );
    // The right password from this address waits…
    assert_too_many(
        &login_from(&app, Some("198.51.100.1"), "admin", PASSWORD).await,
        10,
    );
    // …a wrong one from a clean address is refused as locked…
    assert_too_many(
        &login_from(&app, Some("198.51.100.3"), "admin", "wrong").await,
        10,
    );
    // …and the right one from another clean address logs in.
    let resp = login_from(&app, Some("198.51.100.2"), "admin", PASSWORD).await;
    assert_login_ok(&resp, &admin.user_id, "admin", "admin", &["admin"]);
}

#[actix_web::test]
async fn parallel_right_passwords_do_not_use_the_failure_budget() {
    let app = limited(false);
    app.user("alice", &["livechat-agent"]);
    // Each attempt holds a slot while its password is checked: as many as the limit at once.
    let attempts = (0..10).map(|_| login_from(&app, None, "alice", PASSWORD));
    for resp in futures_util::future::join_all(attempts).await {
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
    for _ in 0..10 {
        assert_failure(
            &login_from(&app, None, "alice", "x").await,
            401,
            &login_failed(),
        );
    }
    assert_too_many(&login_from(&app, None, "alice", "x").await, 10);
}

/// Password hashing has its own bounded pool: when it is full a login is refused at once, and
/// everything else is served as usual.
#[actix_web::test]
async fn a_full_hashing_pool_refuses_logins_but_not_other_requests() {
    let app = TestApp::with_config(|c| {
        c.auth.hash_concurrency = 1;
        c.auth.hash_queue = 1;
    });
    let admin = app.user("boss", &["admin"]);
    let busy = app.state.hasher.occupy();
    assert_too_many(&login_with(&app, "user", "boss", PASSWORD).await, 2);
    assert_too_many(&login_with(&app, "user", "nobody", "x").await, 2);
    let create = app
        .post_with(
            USERS_CREATE,
            &json!({"username": "carol", "password": "pw-for-carol"}),
            &admin,
        )
        .await;
    assert_too_many(&create, 2);
    let update = app
        .post_with(
            USERS_UPDATE,
            &json!({"userId": admin.user_id, "data": {"password": "new-pass"}}),
            &admin,
        )
        .await;
    assert_too_many(&update, 2);
    // The rest of the server does not notice.
    let health = app.get("/health").await;
    assert_eq!(health.status, 200, "{}", health.text());
    let visitor = app
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "while-hashing"}}),
        )
        .await;
    assert_success(&visitor);
    // A refused login is not a failed one, and the pool serves again once free (bounded wait).
    drop(busy);
    for _ in 0..500 {
        let resp = login_with(&app, "user", "boss", PASSWORD).await;
        if resp.status == 200 {
            return;
        }
        assert_too_many(&resp, 2);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the hashing pool never served again");
}

#[actix_web::test]
async fn successful_logins_are_not_limited() {
    let app = limited(false);
    app.user("alice", &["livechat-agent"]);
    for _ in 0..15 {
        login_ok(&app, "alice", PASSWORD).await;
    }
    // Nine failures after them still leave room for one more attempt.
    for _ in 0..9 {
        assert_failure(
            &login_from(&app, None, "alice", "x").await,
            401,
            &login_failed(),
        );
    }
    login_ok(&app, "alice", PASSWORD).await;
}

/// §1.3: only the SHA-256 of a login token is kept, for `auth.token_ttl_days`; neither the
/// token nor the password is written to disk in the clear.
#[actix_web::test]
async fn only_the_token_hash_is_stored_with_the_configured_lifetime() {
    let app = TestApp::with_config(|c| c.auth.token_ttl_days = 3);
    let alice = app.user("alice", &["livechat-agent"]);
    let creds = login_ok(&app, "alice", PASSWORD).await;
    use sha2::Digest;
    let digest: [u8; 32] = sha2::Sha256::digest(creds.token.as_bytes()).into();
    let session = app
        .backend()
        .session(&digest)
        .expect("read session")
        .expect("the session is stored under the SHA-256 of the token");
    assert_eq!(session.user_id, alice.user_id);
    assert_eq!(
        session.expires_at - session.created_at,
        3 * visitord::time::DAY_MS
    );

    if crate::common::on_postgres() {
        // The database's files are the server's: the check reads back what the table holds.
        return;
    }
    app.backend().durable().await.expect("flush");
    let mut files = vec![app.dir.path().to_path_buf()];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                files.push(entry.unwrap().path());
            }
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        checked += bytes.len();
        for secret in [creds.token.as_str(), alice.token.as_str(), PASSWORD] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret:?} stored in the clear in {}",
                path.display()
            );
        }
    }
    assert!(checked > 0, "the store wrote nothing to disk?");
}
