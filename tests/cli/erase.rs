//! Data at rest (spec §5): GDPR erasure reaches the data dir's files within
//! `storage.erase_within_hours` while the server keeps serving, the data dir and its files are
//! private, and maintenance commands leave files that are not the store's alone.

use super::proc::{Server, BOUND};
use super::Sandbox;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every file under `dir`, recursively (entries that vanish meanwhile are skipped).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The markers that some file under `dir` contains (what `grep -a -r` would find).
fn found<'a>(dir: &Path, markers: &[&'a str]) -> Vec<&'a str> {
    let contents: Vec<Vec<u8>> = files(dir)
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .collect();
    markers
        .iter()
        .copied()
        .filter(|m| {
            contents
                .iter()
                .any(|c| c.windows(m.len()).any(|w| w == m.as_bytes()))
        })
        .collect()
}

const MARKERS: [&str; 8] = [
    "Qvzname5518",
    "qvz5518@erase.example",
    "qvztoken5518",
    "+1 555 0155 18",
    "Qvzmessage5518",
    "Qvztitle5518",
    "Qvzstreet5518",
    "https://shop.example/qvz5518",
];

#[test]
fn an_erased_visitor_leaves_the_data_dir_within_the_deadline_while_serving() {
    let sb = Sandbox::new();
    // 0.0005 h = 1.8 s: the rewrite starts once the erasure is 0.9 s old.
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_STORAGE_ERASE_WITHIN_HOURS", "0.0005"),
            ("VISITORD_RATE_LIMIT_ENABLED", "false"),
            (
                "VISITORD_LIVECHAT_CUSTOM_FIELDS",
                "[{id = \"address\", searchable = true}]",
            ),
        ],
    );
    let token = MARKERS[2];
    server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": token, "name": MARKERS[0], "email": MARKERS[1],
                "phone": MARKERS[3], "customFields": [{"key": "address", "value": MARKERS[6],
                "overwrite": true}]}}),
        )
        .ok();
    server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "stays", "name": "Kept Visitor"}}),
        )
        .ok();
    let room = server
        .get(&format!("/api/v1/livechat/room?token={token}"))
        .ok();
    let rid = room["room"]["_id"].as_str().expect("room id").to_string();
    server
        .post(
            "/api/v1/livechat/page.visited",
            &json!({"token": token, "rid": rid, "pageInfo": {"change": "url",
                "title": MARKERS[5], "location": {"href": MARKERS[7]}}}),
        )
        .ok();
    server
        .post(
            "/api/v1/livechat/message",
            &json!({"token": token, "rid": rid, "msg": MARKERS[4]}),
        )
        .ok();
    server
        .post(
            "/api/v1/livechat/room.close",
            &json!({"token": token, "rid": rid}),
        )
        .ok();
    let deleted = server.request(
        "DELETE",
        &format!("/api/v1/livechat/visitor/{token}"),
        &[],
        None,
    );
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(
        found(&sb.data(), &MARKERS),
        MARKERS,
        "sled still holds the erased bytes right after the DELETE"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    let left = loop {
        // Reads and writes are answered all along.
        assert_eq!(server.get("/api/v1/livechat/visitor/stays").status, 200);
        server
            .post(
                "/api/v1/livechat/visitor",
                &json!({"visitor": {"token": format!("during-{i}"), "name": "During"}}),
            )
            .ok();
        i += 1;
        let left = found(&sb.data(), &MARKERS);
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(left, Vec::<&str>::new(), "still on disk after 30 s");
    for n in 0..i {
        assert_eq!(
            server
                .get(&format!("/api/v1/livechat/visitor/during-{n}"))
                .status,
            200,
            "during-{n}"
        );
    }
    let gone = server.get(&format!("/api/v1/livechat/visitor/{token}"));
    assert_eq!(gone.status, 400, "{gone:?}");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(
        stopped
            .stderr
            .contains("rewrote the store into store-2 in "),
        "{}",
        stopped.stderr
    );
    let out = sb.run(&["check"], None);
    assert_eq!(out.ok().lines().last(), Some("consistent"), "{out:?}");
}

#[test]
fn the_data_dir_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let sb = Sandbox::new();
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_STORAGE_ERASE_WITHIN_HOURS", "0.0005"),
            ("VISITORD_RATE_LIMIT_ENABLED", "false"),
        ],
    );
    for i in 0..20 {
        server
            .post(
                "/api/v1/livechat/visitor",
                &json!({"visitor": {"token": format!("t{i}"), "name": "Private Person"}}),
            )
            .ok();
    }
    // An erasure makes the server rewrite the store: the new generation is private too.
    assert_eq!(
        server
            .request("DELETE", "/api/v1/livechat/visitor/t3", &[], None)
            .status,
        200
    );
    let deadline = Instant::now() + BOUND * 3;
    while !sb.data().join("store-2").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(sb.data().join("store-2").exists());
    // Bounded: the eraser sets modes every tick (180 ms here).
    let deadline = Instant::now() + BOUND;
    let exposed = loop {
        // A file the rewrite deletes meanwhile (the old generation) is no finding.
        let exposed: Vec<_> = files(&sb.data())
            .into_iter()
            .filter(|f| std::fs::metadata(f).is_ok_and(|m| m.permissions().mode() & 0o777 != 0o600))
            .collect();
        if exposed.is_empty() || Instant::now() > deadline {
            break exposed;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exposed, Vec::<PathBuf>::new());
    assert_eq!(mode(&sb.data()), 0o700);
    assert!(files(&sb.data()).len() >= 5);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(!stopped.stdout.contains("warning"), "{}", stopped.stdout);
}

#[test]
fn a_data_dir_readable_by_others_is_reported_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    std::fs::create_dir(sb.data()).unwrap();
    std::fs::set_permissions(sb.data(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    let line = format!(
        "  warning:    the data dir {} has mode 0755: others may read visitors' personal data; \
         run `chmod 700 {}`",
        sb.data().display(),
        sb.data().display()
    );
    assert!(
        stopped.stdout.lines().any(|l| l == line),
        "{}",
        stopped.stdout
    );
    assert!(
        stopped.stderr.contains("has mode 0755"),
        "{}",
        stopped.stderr
    );
}

#[test]
fn compact_keeps_the_initial_admin_password_file() {
    let sb = Sandbox::new();
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "c1", "name": "Compacted"}}),
        )
        .ok();
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    let file = sb.data().join("initial-admin-password");
    let password = std::fs::read_to_string(&file).expect("initial-admin-password");

    let out = sb.run(&["compact"], None);
    assert!(out.ok().starts_with("compacted in "), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("initial-admin-password survives compact"),
        password
    );
    assert!(sb.data().join("store-2").is_dir());
    assert!(!sb.data().join("store-1").exists());
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    assert_eq!(server.get("/api/v1/livechat/visitor/c1").status, 200);
    assert_eq!(
        server.login("admin", password.trim()).ok()["status"],
        "success"
    );
    assert!(server.stop().status.success());
}
