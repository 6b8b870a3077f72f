//! `visitord serve`: launch summary, first admin, the store lock, logging of secrets, clean
//! shutdown, and start-up errors.

use super::proc::{Out, Server};
use super::Sandbox;
use serde_json::{json, Value};

/// The summary lines up to (and with) `  store:`, then whatever follows.
fn summary_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().collect()
}

fn listening_port(line: &str) -> u16 {
    line.strip_prefix("  listening:  http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"))
}

#[test]
fn env_admin_password_and_the_launch_summary() {
    let sb = Sandbox::new();
    let password = "Env-Admin-Pass-3Kq9x";
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[("VISITORD_ADMIN_PASSWORD", password)],
    );
    let stdout = server.wait_stdout("  admin:");
    let lines = summary_lines(&stdout);
    assert_eq!(lines.len(), 7, "{stdout}");
    let port = listening_port(lines[3]);
    assert_ne!(port, 0);
    assert_eq!(port, server.addr.port());
    assert_eq!(
        lines,
        vec![
            "visitord 0.1.0".to_string(),
            "  config:     none (built-in defaults)".to_string(),
            format!("  data dir:   {}", sb.data().display()),
            format!("  listening:  http://127.0.0.1:{port}"),
            "  durability: sync".to_string(),
            "  store:      0 visitors, 1 users".to_string(),
            "  admin:      created user admin with the password from VISITORD_ADMIN_PASSWORD"
                .to_string(),
        ]
    );
    assert!(
        !sb.data().join("initial-admin-password").exists(),
        "no password file when the password came from the environment"
    );
    let login = server.login("admin", password).ok();
    assert_eq!(login["status"], "success");
    assert_eq!(login["data"]["me"]["username"], "admin");
    assert_eq!(login["data"]["me"]["roles"], json!(["admin"]));
    let token = login["data"]["authToken"].as_str().expect("authToken");
    let user_id = login["data"]["userId"].as_str().expect("userId");
    let me = server.request(
        "GET",
        "/api/v1/me",
        &[("X-User-Id", user_id), ("X-Auth-Token", token)],
        None,
    );
    assert_eq!(me.ok()["username"], "admin");
    assert_eq!(server.login("admin", "not-the-password").status, 401);
    let info = server.get("/api/info").ok();
    assert_eq!(info["version"], "0.1.0");

    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    let rows = sb.users();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0],
        [
            "admin".to_string(),
            user_id.to_string(),
            "admin".into(),
            "active".into()
        ]
    );
}

#[test]
fn first_start_writes_a_generated_admin_password_once() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let file = sb.data().join("initial-admin-password");
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    let stdout = server.wait_stdout("  admin:");
    let admin_line = stdout
        .lines()
        .find(|l| l.starts_with("  admin:"))
        .expect("admin line");
    assert_eq!(
        admin_line,
        format!(
            "  admin:      created user admin; its generated password is in {} (readable by \
             this user only; the file is deleted once the password is changed)",
            file.display()
        )
    );
    let password = std::fs::read_to_string(&file)
        .expect("initial-admin-password is written")
        .trim_end()
        .to_string();
    assert!(
        !stdout.contains(&password),
        "the password is never printed: {stdout}"
    );
    assert_eq!(password.len(), 24, "{password:?}");
    assert!(stdout.contains("  store:      0 visitors, 1 users\n"));
    let meta = std::fs::metadata(&file).expect("initial-admin-password is written");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "mode of {file:?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{password}\n")
    );
    assert_eq!(server.login("admin", &password).ok()["status"], "success");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");

    // Second start: no new admin, no new password, the old one still works.
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    assert!(
        server
            .stdout()
            .contains("  store:      0 visitors, 1 users\n"),
        "{}",
        server.stdout()
    );
    assert_eq!(server.login("admin", &password).ok()["status"], "success");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(
        !stopped.stdout.contains("  admin:"),
        "a second start creates no admin: {stopped:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{password}\n")
    );
    let rows = sb.users();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], "admin");
    assert_eq!(rows[0][2], "admin");

    // A new password through the API: the file goes at once.
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    let login = server.login("admin", &password).ok();
    let (id, token) = (
        login["data"]["userId"].as_str().unwrap().to_string(),
        login["data"]["authToken"].as_str().unwrap().to_string(),
    );
    let body = serde_json::json!({"userId": id, "data": {"password": "a-new-admin-pass"}});
    let resp = server.request(
        "POST",
        "/api/v1/users.update",
        &[("X-User-Id", &id), ("X-Auth-Token", &token)],
        Some(&body.to_string()),
    );
    assert_eq!(resp.ok()["user"]["username"], "admin");
    assert!(!file.exists(), "the file is deleted with the change");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
}

#[test]
fn a_generated_admin_password_file_goes_when_the_password_changes_offline() {
    let sb = Sandbox::new();
    let file = sb.data().join("initial-admin-password");
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    server.wait_stdout("  admin:");
    assert!(server.stop().status.success());
    assert!(file.exists());
    // `user passwd admin` deletes it.
    let out = sb.run(
        &["user", "passwd", "admin", "--password-stdin"],
        Some("offline-new-pass\n"),
    );
    assert_eq!(
        out.ok(),
        "password of admin changed; its logins were revoked\n"
    );
    assert!(!file.exists());

    // A file that no longer opens the admin account (changed by any other means, or restored
    // from elsewhere) is deleted at the next start; one that still does is kept.
    std::fs::write(&file, "stale-password\n").unwrap();
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    server.wait_stdout("  store:");
    assert!(!file.exists(), "a stale file is deleted at start");
    assert!(server.stop().status.success());
    std::fs::write(&file, "offline-new-pass\n").unwrap();
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    server.wait_stdout("  store:");
    assert!(server.stop().status.success());
    assert!(file.exists(), "a file that still opens the account stays");
}

#[test]
fn commands_refuse_a_store_held_by_a_running_server() {
    let sb = Sandbox::new();
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[("VISITORD_ADMIN_PASSWORD", "held-store-pass")],
    );
    let dir = sb.data().display().to_string();
    let users = format!(
        "visitord: the store in {dir} is in use by a running visitord; manage users through its \
         REST API instead (POST /api/v1/users.create, GET /api/v1/users.list, POST \
         /api/v1/users.update, POST /api/v1/users.delete)"
    );
    let busy =
        format!("visitord: the store in {dir} is in use by a running visitord; stop it first");
    let import = sb.cwd().join("none.jsonl");
    std::fs::write(&import, "").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["user", "list"], &users),
        (vec!["user", "add", "zed", "--role", "admin"], &users),
        (vec!["user", "remove", "admin"], &users),
        (vec!["check"], &busy),
        (vec!["check", "--repair"], &busy),
        (vec!["demo-data", "--visitors", "1"], &busy),
        (vec!["compact"], &busy),
        (
            vec!["import", "--rocketchat", import.to_str().unwrap()],
            &busy,
        ),
    ];
    for (args, message) in cases {
        // `run` bounds the wait: a command that blocks on the lock fails there.
        let out = sb.run(&args, None);
        out.fails_with(1, message);
    }
    // The server is unharmed.
    assert_eq!(server.get("/health").status, 200);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert_eq!(sb.users().len(), 1);
}

/// Drives every route that carries a secret with `RUST_LOG=level`, then searches the whole
/// output for the secrets.
fn secrets_stay_out_of_the_logs(level: &str) {
    let sb = Sandbox::new();
    let visitor_token = "VisTok-Secret-8Hq2Zr6Lm";
    let unknown_token = "VisTok-Unknown-4Tc7Wd1Ks";
    let admin_password = "AdminPass-Secret-5Jx3Nv";
    let wrong_password = "WrongPass-Secret-2Pb9Qy";
    let carol_password = "CarolPass-Secret-7Ge4Ua";
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("RUST_LOG", level),
            ("VISITORD_ADMIN_PASSWORD", admin_password),
        ],
    );

    let visitor = server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": visitor_token, "name": "Secret Keeper"}}),
        )
        .ok();
    let visitor_id = visitor["visitor"]["_id"].as_str().expect("_id").to_string();
    let got = server
        .get(&format!("/api/v1/livechat/visitor/{visitor_token}"))
        .ok();
    assert_eq!(got["visitor"]["token"], visitor_token);
    assert_eq!(
        server
            .get(&format!("/api/v1/livechat/visitor/{unknown_token}"))
            .status,
        400
    );
    let room = server
        .get(&format!("/api/v1/livechat/room?token={visitor_token}"))
        .ok();
    let rid = room["room"]["_id"].as_str().expect("room _id").to_string();
    assert_eq!(
        server
            .get(&format!("/api/v1/livechat/room?token={unknown_token}"))
            .status,
        400
    );
    server
        .post(
            "/api/v1/livechat/page.visited",
            &json!({"token": visitor_token, "rid": rid, "pageInfo": {
                "change": "url", "title": "Pricing",
                "location": {"href": "https://example.com/pricing"}}}),
        )
        .ok();
    server
        .post(
            "/api/v1/livechat/message",
            &json!({"token": visitor_token, "rid": rid, "msg": "hello"}),
        )
        .ok();

    let login = server.login("admin", admin_password).ok();
    let auth_token = login["data"]["authToken"]
        .as_str()
        .expect("authToken")
        .to_string();
    let user_id = login["data"]["userId"]
        .as_str()
        .expect("userId")
        .to_string();
    let auth = [
        ("X-User-Id", user_id.as_str()),
        ("X-Auth-Token", auth_token.as_str()),
    ];
    assert_eq!(
        server.request("GET", "/api/v1/me", &auth, None).ok()["username"],
        "admin"
    );
    server
        .request(
            "GET",
            &format!("/api/v1/livechat/visitors.info?visitorId={visitor_id}"),
            &auth,
            None,
        )
        .ok();
    server
        .request(
            "POST",
            "/api/v1/users.create",
            &auth,
            Some(
                &json!({"username": "carol", "password": carol_password,
                        "roles": ["livechat-agent"]})
                .to_string(),
            ),
        )
        .ok();
    assert_eq!(server.login("carol", carol_password).status, 200);
    assert_eq!(server.login("admin", wrong_password).status, 401);
    // A bad token for a real user, then logout.
    let bad = server.request(
        "GET",
        "/api/v1/me",
        &[("X-User-Id", &user_id), ("X-Auth-Token", wrong_password)],
        None,
    );
    assert_eq!(bad.status, 401);
    server.request("POST", "/api/v1/logout", &auth, None).ok();

    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    let all = format!("{}\n{}", stopped.stdout, stopped.stderr);
    // The log is on: the requests are there, without their secrets.
    assert!(
        stopped
            .stderr
            .contains("GET /api/v1/livechat/visitor/{token}"),
        "RUST_LOG={level} logged no request line: {}",
        stopped.stderr
    );
    assert!(stopped.stderr.contains("POST /api/v1/login"));
    assert!(stopped.stderr.contains("failed login from 127.0.0.1"));
    for (what, secret) in [
        ("visitor token", visitor_token),
        ("unknown visitor token", unknown_token),
        ("admin password", admin_password),
        ("wrong password", wrong_password),
        ("created user's password", carol_password),
        ("auth token", auth_token.as_str()),
    ] {
        if let Some(at) = all.find(secret) {
            let line_start = all[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = all[at..].find('\n').map_or(all.len(), |i| at + i);
            panic!(
                "RUST_LOG={level}: the {what} is in the output: {:?}",
                &all[line_start..line_end]
            );
        }
    }
}

#[test]
fn secrets_are_not_logged_at_debug() {
    secrets_stay_out_of_the_logs("debug");
}

#[test]
fn secrets_are_not_logged_at_trace() {
    secrets_stay_out_of_the_logs("trace");
}

#[test]
fn sigterm_stops_cleanly_and_the_data_survives_a_restart() {
    let sb = Sandbox::new();
    let env = [
        ("VISITORD_ADMIN_PASSWORD", "durable-admin-pass"),
        ("VISITORD_RATE_LIMIT_ENABLED", "false"),
    ];
    let server = Server::start(sb.cwd(), &sb.data(), &env);
    let mut written: Vec<Value> = Vec::new();
    for i in 1..=25 {
        let token = format!("durable-{i}");
        let v = server
            .post(
                "/api/v1/livechat/visitor",
                &json!({"visitor": {"token": token, "name": format!("Visitor Nº{i}"),
                        "email": format!("v{i}@example.com")}}),
            )
            .ok();
        assert_eq!(v["visitor"]["username"], format!("guest-{i}"));
        server
            .post(
                "/api/v1/livechat/page.visited",
                &json!({"token": token, "rid": null, "pageInfo": {
                    "change": "url", "title": format!("Page {i}"),
                    "location": {"href": format!("https://example.com/{i}")}}}),
            )
            .ok();
        if i % 5 == 0 {
            server
                .get(&format!("/api/v1/livechat/room?token={token}"))
                .ok();
        }
        written.push(v["visitor"].clone());
    }
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(
        stopped.stderr.contains("stopped cleanly"),
        "no `stopped cleanly` in the log: {}",
        stopped.stderr
    );
    stopped_without_panic(&stopped.stderr);

    let server = Server::start(sb.cwd(), &sb.data(), &env);
    assert!(
        server
            .stdout()
            .contains("  store:      25 visitors, 1 users\n"),
        "{}",
        server.stdout()
    );
    for (i, before) in written.iter().enumerate() {
        let token = format!("durable-{}", i + 1);
        let after = server
            .get(&format!("/api/v1/livechat/visitor/{token}"))
            .ok();
        let after = &after["visitor"];
        assert_eq!(after["_id"], before["_id"]);
        assert_eq!(after["username"], before["username"]);
        assert_eq!(after["name"], before["name"]);
        assert_eq!(after["visitorEmails"], before["visitorEmails"]);
        assert_eq!(after["ts"], before["ts"]);
        if (i + 1) % 5 == 0 {
            assert!(after["lastChat"]["_id"].is_string(), "{after}");
        }
    }
    // The guest counter survived too.
    let v = server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "durable-new"}}),
        )
        .ok();
    assert_eq!(v["visitor"]["username"], "guest-26");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(stopped.stderr.contains("stopped cleanly"), "{stopped:?}");

    let report = sb.assert_consistent();
    assert!(
        report.contains(&format!("  {:<24} 26 records\n", "visitorseq_visitor")),
        "{report}"
    );
}

fn stopped_without_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn config_errors_stop_start_up_naming_the_key() {
    let sb = Sandbox::new();
    let serve = |extra: &[&str], env: &[(&str, &str)]| -> Out {
        let mut args = vec!["--bind", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut cmd = super::proc::command(sb.cwd(), &sb.data(), &args);
        cmd.envs(env.iter().copied());
        super::proc::run(cmd, None)
    };
    let file = |name: &str, text: &str| -> String {
        let path = sb.cwd().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };

    let unknown = file("unknown.toml", "[server]\nport = 3000\n");
    let expected = format!("visitord: unknown config key `server.port` in {unknown}");
    serve(&["--config", &unknown], &[]).fails_with(2, &expected);
    // The same for every command: configuration is loaded first.
    serve(&["--config", &unknown, "user", "list"], &[]).fails_with(2, &expected);
    serve(&["--config", &unknown, "check"], &[]).fails_with(2, &expected);

    let section = file("section.toml", "[nope]\nx = 1\n");
    serve(&["--config", &section], &[]).fails_with(
        2,
        &format!("visitord: unknown config key `nope` in {section}"),
    );

    let typed = file("typed.toml", "[server]\nworkers = \"many\"\n");
    let out = serve(&["--config", &typed], &[]);
    out.no_panic();
    assert_eq!(out.code(), 2, "{out:?}");
    // One line, like every other start-up error (serde's "in `key`" tail is a second line).
    assert!(
        out.stderr
            .starts_with("visitord: bad value for config key `server.workers`")
            && out.stderr.lines().count() == 1,
        "{out:?}"
    );

    let missing = sb.cwd().join("absent.toml").display().to_string();
    let out = serve(&["--config", &missing], &[]);
    out.no_panic();
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with(&format!("visitord: cannot read config file {missing}: ")),
        "{out:?}"
    );

    serve(&[], &[("VISITORD_SERVER_WORKERS", "many")]).fails_with(
        2,
        "visitord: bad value for environment variable VISITORD_SERVER_WORKERS: expected an \
         integer, got \"many\"",
    );
    serve(&[], &[("VISITORD_RATE_LIMIT_ENABLED", "perhaps")]).fails_with(
        2,
        "visitord: bad value for environment variable VISITORD_RATE_LIMIT_ENABLED: expected \
         true or false, got \"perhaps\"",
    );
    serve(&[], &[("VISITORD_STORAGE_DURABILITY", "maybe")]).fails_with(
        2,
        "visitord: bad value for environment variable VISITORD_STORAGE_DURABILITY: unknown \
         variant `maybe`, expected `sync` or `periodic`",
    );

    // ./config.toml of the working directory is read when no --config is given.
    let local = file("config.toml", "[storage]\ncache = 1\n");
    assert!(local.ends_with("config.toml"));
    serve(&[], &[]).fails_with(
        2,
        "visitord: unknown config key `storage.cache` in config.toml",
    );
    std::fs::remove_file(sb.cwd().join("config.toml")).unwrap();

    assert!(!sb.data().exists(), "no config error may create the store");
}

#[test]
fn a_data_dir_that_cannot_be_created_is_a_one_line_error() {
    let sb = Sandbox::new();
    let plain = sb.cwd().join("plain-file");
    std::fs::write(&plain, "not a directory").unwrap();
    let data = plain.join("data");
    let prefix = format!(
        "visitord: cannot open the store: cannot use data dir {}: ",
        data.display()
    );
    for args in [
        vec!["--bind", "127.0.0.1:0"],
        vec!["--bind", "127.0.0.1:0", "serve"],
        vec!["user", "list"],
        vec!["check"],
        vec!["demo-data", "--visitors", "1"],
    ] {
        let mut cmd = super::proc::command(sb.cwd(), &data, &args);
        cmd.env("RUST_LOG", "info");
        let out = super::proc::run(cmd, None);
        out.no_panic();
        assert_eq!(out.code(), 1, "{args:?}: {out:?}");
        assert!(
            out.stderr.starts_with(&prefix) && out.stderr.lines().count() == 1,
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn an_address_that_cannot_be_bound_is_a_one_line_error() {
    let sb = Sandbox::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for bind in [addr.as_str(), "not-an-address"] {
        let mut cmd = super::proc::command(sb.cwd(), &sb.data(), &["--bind", bind]);
        cmd.env("VISITORD_ADMIN_PASSWORD", "bind-error-pass");
        let out = super::proc::run(cmd, None);
        out.no_panic();
        assert_eq!(out.code(), 1, "{bind}: {out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("visitord: cannot listen on {bind}: "))
                && out.stderr.lines().count() == 1,
            "{bind}: {out:?}"
        );
    }
    drop(taken);
}
