//! `visitord user add|list|passwd|role|remove` on a stopped store.

use super::proc::Server;
use super::Sandbox;
use serde_json::json;

const ROLES_HINT: &str = "(roles: admin, livechat-manager, livechat-monitor, livechat-agent, user)";

/// `created NAME (ID) with roles R[; password: P]` → `(ID, P)`.
fn created(stdout: &str, name: &str, roles: &str) -> (String, Option<String>) {
    let line = stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("not one line: {stdout:?}"));
    assert!(!line.contains('\n'), "not one line: {stdout:?}");
    let rest = line
        .strip_prefix(&format!("created {name} ("))
        .unwrap_or_else(|| panic!("unexpected output {stdout:?}"));
    let (id, rest) = rest.split_once(')').expect("closing parenthesis");
    assert_eq!(id.len(), 17, "id {id:?}");
    let rest = rest
        .strip_prefix(&format!(" with roles {roles}"))
        .unwrap_or_else(|| panic!("roles in {stdout:?}"));
    let password = match rest {
        "" => None,
        _ => {
            let p = rest
                .strip_prefix("; password: ")
                .unwrap_or_else(|| panic!("unexpected tail in {stdout:?}"));
            assert_eq!(p.len(), 24, "generated password {p:?}");
            Some(p.to_string())
        }
    };
    (id.to_string(), password)
}

fn row(name: &str, id: &str, roles: &str) -> [String; 4] {
    [name.into(), id.into(), roles.into(), "active".into()]
}

#[test]
fn user_commands_show_in_user_list_and_in_logins() {
    let sb = Sandbox::new();
    let out = sb.run(&["user", "add", "alice", "--role", "livechat-agent"], None);
    let (alice, alice_pw) = created(out.ok(), "alice", "livechat-agent");
    let alice_pw = alice_pw.expect("a generated password is printed");

    let out = sb.run(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "livechat-manager",
            "--password-stdin",
        ],
        Some("bob-pass-1\n"),
    );
    let (bob, none) = created(out.ok(), "bob", "livechat-manager");
    assert_eq!(none, None, "no password is printed with --password-stdin");

    // No --role: livechat-agent.
    let out = sb.run(&["user", "add", "carol"], None);
    let (carol, carol_pw) = created(out.ok(), "carol", "livechat-agent");
    let carol_pw = carol_pw.expect("generated password");

    // Repeated and comma-separated roles.
    let out = sb.run(
        &[
            "user",
            "add",
            "dave.d-1_x",
            "--role",
            "livechat-monitor,user",
            "--role",
            "livechat-agent",
        ],
        None,
    );
    let (dave, _) = created(
        out.ok(),
        "dave.d-1_x",
        "livechat-monitor, user, livechat-agent",
    );

    assert_eq!(
        sb.users(),
        vec![
            row("alice", &alice, "livechat-agent"),
            row("bob", &bob, "livechat-manager"),
            row("carol", &carol, "livechat-agent"),
            row("dave.d-1_x", &dave, "livechat-monitor,user,livechat-agent"),
        ]
    );

    // A login made before `passwd` must be revoked by it.
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    let login = server.login("alice", &alice_pw).ok();
    assert_eq!(login["status"], "success");
    assert_eq!(login["data"]["userId"], alice.as_str());
    let old_token = login["data"]["authToken"]
        .as_str()
        .expect("authToken")
        .to_string();
    let me = server.request(
        "GET",
        "/api/v1/me",
        &[("X-User-Id", &alice), ("X-Auth-Token", &old_token)],
        None,
    );
    assert_eq!(me.ok()["username"], "alice");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(
        !stopped.stdout.contains("  admin:"),
        "no first admin is made on a store that has users: {stopped:?}"
    );
    assert!(!sb.data().join("initial-admin-password").exists());

    let out = sb.run(
        &["user", "passwd", "alice", "--password-stdin"],
        Some("alice-new-pass\n"),
    );
    assert_eq!(
        out.ok(),
        "password of alice changed; its logins were revoked\n"
    );
    // Without --password-stdin, a standard input that is not a terminal is read too.
    let out = sb.run(&["user", "passwd", "bob"], Some("bob-pass-2\r\nignored\n"));
    assert_eq!(
        out.ok(),
        "password of bob changed; its logins were revoked\n"
    );

    let out = sb.run(
        &["user", "role", "carol", "livechat-manager", "admin"],
        None,
    );
    assert_eq!(out.ok(), "carol now has roles livechat-manager, admin\n");
    let out = sb.run(&["user", "role", "alice", "livechat-monitor,user"], None);
    assert_eq!(out.ok(), "alice now has roles livechat-monitor, user\n");

    let out = sb.run(&["user", "remove", "dave.d-1_x"], None);
    assert_eq!(out.ok(), "removed dave.d-1_x\n");

    assert_eq!(
        sb.users(),
        vec![
            row("alice", &alice, "livechat-monitor,user"),
            row("bob", &bob, "livechat-manager"),
            row("carol", &carol, "livechat-manager,admin"),
        ]
    );

    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    let summary = server.stdout();
    assert!(
        summary.contains("  store:      0 visitors, 3 users\n"),
        "{summary}"
    );
    let me = server.request(
        "GET",
        "/api/v1/me",
        &[("X-User-Id", &alice), ("X-Auth-Token", &old_token)],
        None,
    );
    assert_eq!(me.status, 401, "passwd must revoke old logins: {me:?}");
    assert_eq!(server.login("alice", &alice_pw).status, 401);
    let login = server.login("alice", "alice-new-pass").ok();
    assert_eq!(
        login["data"]["me"]["roles"],
        json!(["livechat-monitor", "user"])
    );
    assert_eq!(server.login("bob", "bob-pass-1").status, 401);
    assert_eq!(
        server.login("bob", "bob-pass-2").status,
        200,
        "passwd keeps only the first line, without its CR LF"
    );
    let login = server.login("carol", &carol_pw).ok();
    assert_eq!(
        login["data"]["me"]["roles"],
        json!(["livechat-manager", "admin"])
    );
    let unauthorized = server.login("dave.d-1_x", "anything");
    assert_eq!(unauthorized.status, 401);
    assert_eq!(
        unauthorized.json(),
        json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
    );
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
}

#[test]
fn user_command_errors_are_one_line_and_change_nothing() {
    let sb = Sandbox::new();
    let unknown_role = format!("visitord: unknown role wizard {ROLES_HINT}");
    sb.run(&["user", "add", "alice", "--role", "wizard"], None)
        .fails_with(1, &unknown_role);
    sb.run(&["user", "add", "alice", "--role", "admin,wizard"], None)
        .fails_with(1, &unknown_role);
    for bad in ["jane doe", "jäne", "a/b", &"x".repeat(65)] {
        sb.run(&["user", "add", bad], None).fails_with(
            1,
            &format!("visitord: {bad} is not a valid username (letters, digits, . - _)"),
        );
    }
    sb.run(&["user", "add", "eve", "--password-stdin"], Some("\n"))
        .fails_with(1, "visitord: the password is empty");
    assert_eq!(sb.users(), Vec::<[String; 4]>::new(), "nothing was created");

    let out = sb.run(
        &["user", "add", "alice", "--password-stdin"],
        Some("pw-1\n"),
    );
    let (alice, _) = created(out.ok(), "alice", "livechat-agent");
    sb.run(&["user", "add", "alice"], None)
        .fails_with(1, "visitord: alice is already in use");
    sb.run(&["user", "add", "ALICE", "--role", "admin"], None)
        .fails_with(1, "visitord: ALICE is already in use");

    let ghost = "visitord: no user named ghost";
    sb.run(
        &["user", "passwd", "ghost", "--password-stdin"],
        Some("pw\n"),
    )
    .fails_with(1, ghost);
    sb.run(&["user", "role", "ghost", "admin"], None)
        .fails_with(1, ghost);
    sb.run(&["user", "remove", "ghost"], None)
        .fails_with(1, ghost);
    sb.run(&["user", "role", "alice", "livechat-agent,wizard"], None)
        .fails_with(1, &unknown_role);
    // Empty (non-tty) standard input: no password.
    sb.run(&["user", "passwd", "alice"], None)
        .fails_with(1, "visitord: the password is empty");

    // The last active admin can be neither demoted nor removed.
    let out = sb.run(&["user", "add", "root", "--role", "admin"], None);
    let (root, _) = created(out.ok(), "root", "admin");
    let last_admin = "visitord: the change would leave no active admin";
    sb.run(&["user", "role", "root", "livechat-agent"], None)
        .fails_with(1, last_admin);
    sb.run(&["user", "remove", "root"], None)
        .fails_with(1, last_admin);

    // Usage errors are clap's (exit 2), not panics.
    let out = sb.run(&["user", "role", "alice"], None);
    out.no_panic();
    assert_eq!(out.code(), 2, "{out:?}");
    let out = sb.run(&["user", "frobnicate"], None);
    out.no_panic();
    assert_eq!(out.code(), 2, "{out:?}");

    assert_eq!(
        sb.users(),
        vec![
            row("alice", &alice, "livechat-agent"),
            row("root", &root, "admin"),
        ]
    );
    sb.assert_consistent();
}
