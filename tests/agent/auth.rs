//! §1.1/§1.3/§1.4: every agent endpoint × every kind of credential, table-driven; the order of
//! checks (401 → 403 → 400); the per-user limit of authenticated routes.

use super::util::{page_body, page_visit, visitor_with_room};
use super::*;
use crate::common::{Creds, TestApp};
use serde_json::{json, Value};

/// Who may call an endpoint successfully.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// livechat-agent (`view-l-room`).
    Agent,
    /// livechat-manager (`view-livechat-rooms` too).
    Manager,
    /// admin (`manage-users`).
    Admin,
}

/// What a successful call answers.
#[derive(Clone, Debug)]
enum Expect {
    /// `{…keys, "success":true}`.
    Keys(&'static [&'static str]),
    /// Exactly this body.
    Exact(Value),
}

#[derive(Clone, Debug)]
struct Ep {
    name: &'static str,
    method: &'static str,
    uri: String,
    body: Option<Value>,
    /// Whether a `user`-role user (no permission at all) may call it.
    open_to_all: bool,
    who: Who,
    ok: Expect,
}

/// One app with users of every kind, each kind of dead credentials, and a visitor with a room
/// and navigation history.
struct Fx {
    app: TestApp,
    admin: Creds,
    agent: Creds,
    manager: Creds,
    plain: Creds,
    /// Dead credentials of users holding `admin` (so nothing but the credentials is wrong).
    logged_out: Creds,
    password_changed: Creds,
    deactivated: Creds,
    deleted: Creds,
    expired: Creds,
    visitor_id: String,
    rid: String,
    /// A user the users.* endpoints act on.
    target: String,
}

impl Fx {
    async fn new() -> Fx {
        let app = TestApp::new();
        let admin = app.user("boss", &["admin"]);
        let agent = app.user("agent", &["livechat-agent"]);
        let manager = app.user("manager", &["livechat-manager"]);
        let plain = app.user("plain", &["user"]);
        let target = app.user("target", &["livechat-agent"]).user_id;

        let logged_out = app.user("victim-logout", &["admin"]);
        let password_changed = app.user("victim-password", &["admin"]);
        let deactivated = app.user("victim-inactive", &["admin"]);
        let deleted = app.user("victim-deleted", &["admin"]);
        for c in [&logged_out, &password_changed, &deactivated, &deleted] {
            assert_live(&app, c).await;
        }
        let resp = app.post_with(LOGOUT, &json!({}), &logged_out).await;
        assert_eq!(resp.status, 200, "logout: {}", resp.text());
        update_user(
            &app,
            &admin,
            &password_changed.user_id,
            json!({"password": "a brand new password"}),
        )
        .await;
        update_user(&app, &admin, &deactivated.user_id, json!({"active": false})).await;
        let resp = app
            .post_with(USERS_DELETE, &json!({"userId": deleted.user_id}), &admin)
            .await;
        util::assert_bare_success(&resp);

        let expired_user = app.user("victim-expired", &["admin"]);
        let expired = expired_creds(&app, &expired_user.user_id);

        let (visitor, room) = visitor_with_room(&app, "matrix-token", "Matrix Visitor").await;
        let rid = room["_id"].as_str().unwrap().to_string();
        let resp = page_visit(
            &app,
            &page_body("matrix-token", Some(&rid), "Home", "https://example.com/"),
        )
        .await;
        util::assert_success(&resp);
        Fx {
            admin,
            agent,
            manager,
            plain,
            logged_out,
            password_changed,
            deactivated,
            deleted,
            expired,
            visitor_id: visitor["_id"].as_str().unwrap().to_string(),
            rid,
            target,
            app,
        }
    }

    fn creds(&self, who: Who) -> &Creds {
        match who {
            Who::Agent => &self.agent,
            Who::Manager => &self.manager,
            Who::Admin => &self.admin,
        }
    }

    /// Every agent endpoint, each with a request the permitted caller gets a 200 for.
    fn endpoints(&self) -> Vec<Ep> {
        let (vid, rid) = (self.visitor_id.as_str(), self.rid.as_str());
        let page: &'static [&'static str] = &["count", "offset", "total"];
        let with = |items: &'static str| -> &'static [&'static str] {
            let mut v = vec![items];
            v.extend_from_slice(page);
            Box::leak(v.into_boxed_slice())
        };
        let get = |name, uri: String, who, ok| Ep {
            name,
            method: "GET",
            uri,
            body: None,
            open_to_all: false,
            who,
            ok,
        };
        let post = |name, uri: &str, body: Value| Ep {
            name,
            method: "POST",
            uri: uri.to_string(),
            body: Some(body),
            open_to_all: false,
            who: Who::Admin,
            ok: Expect::Keys(&["user"]),
        };
        vec![
            get(
                "visitors.info",
                q(INFO, &[("visitorId", vid)]),
                Who::Agent,
                Expect::Keys(&["visitor"]),
            ),
            get(
                "visitors.pagesVisited/:roomId",
                pages_path(rid),
                Who::Agent,
                Expect::Keys(with("pages")),
            ),
            get(
                "visitors.pagesVisited?roomId=",
                q(PAGES, &[("roomId", rid)]),
                Who::Agent,
                Expect::Keys(with("pages")),
            ),
            get(
                "visitors.pagesVisited?visitorId=",
                q(PAGES, &[("visitorId", vid)]),
                Who::Agent,
                Expect::Keys(with("pages")),
            ),
            get(
                "visitors.chatHistory",
                history_path(rid, vid),
                Who::Manager,
                Expect::Keys(with("history")),
            ),
            get(
                "visitors.search",
                q(SEARCH, &[("term", "")]),
                Who::Agent,
                Expect::Keys(with("visitors")),
            ),
            get(
                "visitord.visitors.search",
                q(CONSOLE_SEARCH, &[("term", "")]),
                Who::Agent,
                Expect::Keys(with("visitors")),
            ),
            get(
                "livechat/:rid/messages",
                format!("/api/v1/livechat/{rid}/messages"),
                Who::Manager,
                Expect::Keys(with("messages")),
            ),
            get(
                "visitord.overview",
                OVERVIEW.to_string(),
                Who::Agent,
                Expect::Keys(&["overview"]),
            ),
            get(
                "custom-fields",
                CUSTOM_FIELDS.to_string(),
                Who::Agent,
                Expect::Keys(with("customFields")),
            ),
            Ep {
                open_to_all: true,
                ..get(
                    "me",
                    ME.to_string(),
                    Who::Agent,
                    Expect::Keys(&["_id", "username", "name", "roles", "status", "active"]),
                )
            },
            get(
                "users.list",
                USERS_LIST.to_string(),
                Who::Admin,
                Expect::Keys(with("users")),
            ),
            post(
                "users.create",
                USERS_CREATE,
                json!({"username": "matrix-new", "password": "pw-matrix"}),
            ),
            post(
                "users.update",
                USERS_UPDATE,
                json!({"userId": self.target, "data": {"name": "Renamed"}}),
            ),
            Ep {
                ok: Expect::Exact(json!({"success": true})),
                ..post("users.delete", USERS_DELETE, json!({"userId": self.target}))
            },
            Ep {
                open_to_all: true,
                who: Who::Agent,
                ok: Expect::Exact(
                    json!({"status": "success", "data": {"message": "You've been logged out!"}}),
                ),
                ..post("logout (POST)", LOGOUT, json!({}))
            },
            Ep {
                open_to_all: true,
                who: Who::Agent,
                ok: Expect::Exact(
                    json!({"status": "success", "data": {"message": "You've been logged out!"}}),
                ),
                ..get(
                    "logout (GET)",
                    LOGOUT.to_string(),
                    Who::Agent,
                    Expect::Keys(&[]),
                )
            },
        ]
    }

    /// Nothing the refused calls of `ep` could have written has been written.
    fn assert_untouched(&self, ep: &Ep, f: &mut Failures) {
        let store = self.app.backend();
        match ep.name {
            "users.create" => f.check(
                "refused users.create wrote nothing",
                store.user_by_username("matrix-new").unwrap().is_none(),
                || "user matrix-new exists".into(),
            ),
            "users.update" => {
                let name = store.user_by_id(&self.target).unwrap().and_then(|u| u.name);
                f.check(
                    "refused users.update wrote nothing",
                    name.as_deref() == Some("target"),
                    || format!("name is {name:?}"),
                )
            }
            "users.delete" => f.check(
                "refused users.delete wrote nothing",
                store.user_by_id(&self.target).unwrap().is_some(),
                || "target was deleted".into(),
            ),
            _ => {}
        }
    }
}

/// Each endpoint (on a fresh fixture, since some write) × no credentials, half credentials,
/// forged, someone else's, expired, logged-out, password-changed, deactivated, deleted →
/// 401; a `user`-role user → 403; the permitted role → 200.
#[actix_web::test]
async fn every_agent_endpoint_by_every_kind_of_credentials() {
    let count = Fx::new().await.endpoints().len();
    let mut f = Failures::default();
    for i in 0..count {
        let fx = Fx::new().await;
        let ep = fx.endpoints()[i].clone();
        let app = &fx.app;
        let body = ep.body.as_ref();
        let what = |case: &str| format!("{} {} [{}] {case}", ep.method, ep.uri, ep.name);
        let unauth = unauthorized();

        let r = send(app, ep.method, &ep.uri, body, &[]).await;
        f.expect(&what("no credentials"), &r, 401, &unauth);
        let r = send(
            app,
            ep.method,
            &ep.uri,
            body,
            &[("X-User-Id", &fx.admin.user_id)],
        )
        .await;
        f.expect(&what("only X-User-Id"), &r, 401, &unauth);
        let r = send(
            app,
            ep.method,
            &ep.uri,
            body,
            &[("X-Auth-Token", &fx.admin.token)],
        )
        .await;
        f.expect(&what("only X-Auth-Token"), &r, 401, &unauth);
        let r = send(
            app,
            ep.method,
            &ep.uri,
            body,
            &[("X-User-Id", ""), ("X-Auth-Token", "")],
        )
        .await;
        f.expect(&what("empty headers"), &r, 401, &unauth);

        let dead: [(&str, Creds); 10] = [
            ("forged token", forged_creds(&fx.admin.user_id)),
            (
                "agent's token with the admin's user id",
                Creds {
                    user_id: fx.admin.user_id.clone(),
                    token: fx.agent.token.clone(),
                },
            ),
            (
                "admin's token with the agent's user id",
                Creds {
                    user_id: fx.agent.user_id.clone(),
                    token: fx.admin.token.clone(),
                },
            ),
            (
                "valid token, unknown user id",
                Creds {
                    user_id: "NoSuchUser1234567".into(),
                    token: fx.admin.token.clone(),
                },
            ),
            (
                "valid token, username in X-User-Id",
                Creds {
                    user_id: "boss".into(),
                    token: fx.admin.token.clone(),
                },
            ),
            ("expired token", fx.expired.clone()),
            ("token after logout", fx.logged_out.clone()),
            ("token after a password change", fx.password_changed.clone()),
            ("token of a deactivated user", fx.deactivated.clone()),
            ("token of a deleted user", fx.deleted.clone()),
        ];
        for (case, creds) in &dead {
            let r = send_as(app, ep.method, &ep.uri, body, Some(creds)).await;
            f.expect(&what(case), &r, 401, &unauth);
        }

        let r = send_as(app, ep.method, &ep.uri, body, Some(&fx.plain)).await;
        if ep.open_to_all {
            match &ep.ok {
                Expect::Keys(keys) => f.expect_ok(&what("user role"), &r, keys),
                Expect::Exact(v) => f.expect(&what("user role"), &r, 200, v),
            }
        } else {
            f.expect(&what("user role"), &r, 403, &forbidden());
            fx.assert_untouched(&ep, &mut f);
        }

        let r = send_as(app, ep.method, &ep.uri, body, Some(fx.creds(ep.who))).await;
        match &ep.ok {
            Expect::Keys(keys) => f.expect_ok(&what("permitted"), &r, keys),
            Expect::Exact(v) => f.expect(&what("permitted"), &r, 200, v),
        }
    }
    f.assert_none();
}

/// The admin holds every permission: every endpoint answers it.
#[actix_web::test]
async fn admin_may_call_every_agent_endpoint() {
    let fx = Fx::new().await;
    let mut f = Failures::default();
    for ep in fx.endpoints() {
        if ep.name.starts_with("logout") || ep.name == "users.delete" {
            continue;
        }
        let r = send_as(
            &fx.app,
            ep.method,
            &ep.uri,
            ep.body.as_ref(),
            Some(&fx.admin),
        )
        .await;
        f.check(&format!("admin on {}", ep.name), r.status == 200, || {
            format!("{} {}", r.status, r.text())
        });
    }
    f.assert_none();
}

/// §1.4: which role may call what (agent, monitor, manager on the users.* endpoints; monitor
/// on the visitor endpoints).
#[actix_web::test]
async fn roles_without_manage_users_get_403_on_user_administration() {
    let fx = Fx::new().await;
    let monitor = fx.app.user("monitor", &["livechat-monitor"]);
    let mut f = Failures::default();
    for ep in fx.endpoints() {
        for (role, creds) in [
            ("livechat-agent", &fx.agent),
            ("livechat-manager", &fx.manager),
            ("livechat-monitor", &monitor),
        ] {
            if !ep.name.starts_with("users.") {
                continue;
            }
            let r = send_as(&fx.app, ep.method, &ep.uri, ep.body.as_ref(), Some(creds)).await;
            f.expect(&format!("{role} on {}", ep.name), &r, 403, &forbidden());
        }
    }
    for ep in fx.endpoints() {
        if ep.name.starts_with("visitors.") || ep.name == "custom-fields" {
            let r = send_as(&fx.app, ep.method, &ep.uri, None, Some(&monitor)).await;
            f.check(&format!("monitor on {}", ep.name), r.status == 200, || {
                format!("{} {}", r.status, r.text())
            });
        }
    }
    f.assert_none();
}

/// A refused call (401/403) of each bad request, for each kind of refused caller.
async fn refused_regardless_of_params(
    fx: &Fx,
    reqs: &[(&str, &str, Option<&[u8]>)],
    without_permission: &Creds,
    f: &mut Failures,
) {
    for (method, uri, raw) in reqs {
        let send_it = |creds: Option<Creds>| {
            let app = &fx.app;
            async move {
                match raw {
                    Some(raw) => post_raw_as(app, uri, raw, creds.as_ref()).await,
                    None => send_as(app, method, uri, None, creds.as_ref()).await,
                }
            }
        };
        let what = |who: &str| {
            format!(
                "{method} {uri} {:?} as {who}",
                raw.map(String::from_utf8_lossy)
            )
        };
        f.expect(&what("nobody"), &send_it(None).await, 401, &unauthorized());
        f.expect(
            &what("forged"),
            &send_it(Some(forged_creds(&fx.admin.user_id))).await,
            401,
            &unauthorized(),
        );
        f.expect(
            &what("expired"),
            &send_it(Some(fx.expired.clone())).await,
            401,
            &unauthorized(),
        );
        f.expect(
            &what("no permission"),
            &send_it(Some(without_permission.clone())).await,
            403,
            &forbidden(),
        );
    }
}

/// §1.1 "Order of checks on agent endpoints: 401, then 403, then 400 validation, then the
/// handler": bad query parameters and handler errors never show through a 401 or a 403.
#[actix_web::test]
async fn auth_and_permission_win_over_bad_query_params() {
    let fx = Fx::new().await;
    let rid = fx.rid.clone();
    let vid = fx.visitor_id.clone();
    let long = "x".repeat(300);
    let uris: Vec<String> = vec![
        INFO.to_string(),
        q(INFO, &[("visitorId", &vid), ("count", "1")]),
        q(INFO, &[("visitorId", "no-such-visitor")]),
        pages_path("no-such-room"),
        q(&pages_path(&rid), &[("bogus", "1")]),
        q(&pages_path(&rid), &[("count", "abc")]),
        q(&pages_path(&rid), &[("sort", r#"{"ts":2}"#)]),
        PAGES.to_string(),
        q(PAGES, &[("roomId", &rid), ("visitorId", &vid)]),
        q(PAGES, &[("visitorId", "no-such-visitor")]),
        history_path("no-such-room", &vid),
        q(&history_path(&rid, &vid), &[("offset", "-1")]),
        SEARCH.to_string(),
        q(SEARCH, &[("term", ""), ("fields", "{}")]),
        q(SEARCH, &[("term", &long)]),
        q(CUSTOM_FIELDS, &[("query", "{}")]),
        q(USERS_LIST, &[("count", "abc")]),
        q(USERS_LIST, &[("sort", "nope")]),
    ];
    let reqs: Vec<(&str, &str, Option<&[u8]>)> =
        uris.iter().map(|u| ("GET", u.as_str(), None)).collect();
    let mut f = Failures::default();
    refused_regardless_of_params(&fx, &reqs, &fx.plain, &mut f).await;
    f.assert_none();
}

/// The same order for JSON bodies of the users.* endpoints: a missing, malformed or invalid
/// body is a 401 without credentials and a 403 without `manage-users`.
#[actix_web::test]
async fn auth_and_permission_win_over_bad_bodies() {
    let fx = Fx::new().await;
    let taken = br#"{"username":"boss","password":"x"}"#.to_vec();
    let unknown_user = br#"{"userId":"NoSuchUser1234567","data":{}}"#.to_vec();
    let unknown_delete = br#"{"userId":"NoSuchUser1234567"}"#.to_vec();
    let last_admin = format!(r#"{{"userId":"{}"}}"#, fx.admin.user_id).into_bytes();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (USERS_CREATE, b"{}".to_vec()),
        (USERS_CREATE, b"{".to_vec()),
        (USERS_CREATE, b"".to_vec()),
        (USERS_CREATE, b"[1]".to_vec()),
        (USERS_CREATE, taken),
        (
            USERS_CREATE,
            br#"{"username":"x","password":"y","roles":["root"]}"#.to_vec(),
        ),
        (USERS_UPDATE, b"{}".to_vec()),
        (USERS_UPDATE, b"not json".to_vec()),
        (USERS_UPDATE, unknown_user),
        (USERS_DELETE, b"{}".to_vec()),
        (USERS_DELETE, b"{\"userId\":".to_vec()),
        (USERS_DELETE, unknown_delete),
        (USERS_DELETE, last_admin),
    ];
    let reqs: Vec<(&str, &str, Option<&[u8]>)> = bodies
        .iter()
        .map(|(uri, raw)| ("POST", *uri, Some(raw.as_slice())))
        .collect();
    let mut f = Failures::default();
    // `user` role, and an agent (who holds view-l-room but not manage-users).
    refused_regardless_of_params(&fx, &reqs, &fx.plain, &mut f).await;
    refused_regardless_of_params(&fx, &reqs, &fx.agent, &mut f).await;
    // Logout without credentials, with any body.
    for raw in [&b"{"[..], b"", b"[]"] {
        let r = post_raw_as(&fx.app, LOGOUT, raw, None).await;
        f.expect(
            "logout without credentials, odd body",
            &r,
            401,
            &unauthorized(),
        );
    }
    f.assert_none();
}

/// A user's token is checked against *that* user: after the password of A changes, B's
/// tokens still work; logging out one session leaves the user's other sessions alive.
#[actix_web::test]
async fn revocation_is_per_token_or_per_user() {
    let app = TestApp::new();
    let admin = app.user("boss", &["admin"]);
    let a = app.user("alice", &["livechat-agent"]);
    let b = app.user("bob", &["livechat-agent"]);
    let a2 = login_ok(&app, "alice", crate::common::PASSWORD).await;
    assert_live(&app, &a2).await;

    // Logout ends only the session it is sent with.
    let resp = app.post_with(LOGOUT, &json!({}), &a).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_unauthorized(&app.get_with(ME, &a).await);
    assert_live(&app, &a2).await;
    // Logging out twice: the second is a 401.
    assert_unauthorized(&app.post_with(LOGOUT, &json!({}), &a).await);

    // A new password ends every session of that user, and only of that user.
    update_user(&app, &admin, &a.user_id, json!({"password": "new secret"})).await;
    assert_unauthorized(&app.get_with(ME, &a2).await);
    assert_live(&app, &b).await;
    assert_live(&app, &admin).await;
}

/// §1.1: authenticated routes are limited per user (600/min by default, configurable), not
/// per IP: another user behind the same address is not throttled.
#[actix_web::test]
async fn authenticated_routes_are_limited_per_user() {
    let app = TestApp::with_config(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.authenticated_per_min = 3;
    });
    let a = app.user("alice", &["livechat-agent"]);
    let b = app.user("bob", &["livechat-agent"]);
    let search = q(SEARCH, &[("term", "")]);
    for _ in 0..3 {
        util::assert_success(&app.get_with(&search, &a).await);
    }
    assert_too_many(&app.get_with(&search, &a).await, 3);
    // Counted per user across endpoints.
    assert_too_many(&app.get_with(ME, &a).await, 3);
    util::assert_success(&app.get_with(&search, &b).await);
    // Unauthenticated calls are a 401, never counted against the user.
    for _ in 0..5 {
        assert_unauthorized(&app.get_as(&search, &b.user_id, "forged").await);
    }
    util::assert_success(&app.get_with(&search, &b).await);
}

/// §2.6 refusals (`error-not-allowed`) come only after 401 and 403.
#[actix_web::test]
async fn chat_history_refusals_come_after_auth() {
    let fx = Fx::new().await;
    let uri = history_path(&fx.rid, &fx.visitor_id);
    assert_unauthorized(&fx.app.get(&uri).await);
    assert_unauthorized(
        &fx.app
            .get_with(&uri, &forged_creds(&fx.agent.user_id))
            .await,
    );
    assert_forbidden(&fx.app.get_with(&uri, &fx.plain).await);
    util::assert_bad_request(
        &fx.app.get_with(&uri, &fx.agent).await,
        &json!({"success": false, "error": "error-not-allowed"}),
    );
}
