//! `visitord import --rocketchat FILE` and `visitord demo-data`, then `check` and the server.

use super::proc::Server;
use super::Sandbox;
use serde_json::json;

/// Valid exported visitors in the shape `mongoexport` writes (relaxed extended JSON), then bad
/// lines, then one more good one. Line 137 holds the highest `guest-N` (250).
fn export() -> String {
    let mut lines = Vec::new();
    for i in 1..=200u32 {
        let id = if i % 50 == 0 {
            json!({ "$oid": format!("65a1b2c3d4e5f6a7b8c9{i:04}") })
        } else {
            json!(format!("ImpId{i:012}"))
        };
        let username = match i {
            137 => "guest-250".to_string(),
            i if i % 10 == 0 => format!("agent.named.{i}"),
            i => format!("guest-{i}"),
        };
        let updated = if i % 2 == 0 {
            json!({ "$date": { "$numberLong": "1700000000000" } })
        } else {
            json!({ "$date": "2023-11-14T22:13:20.000Z" })
        };
        lines.push(
            json!({
                "_id": id,
                "token": format!("imp-tok-{i}"),
                "username": username,
                "ts": { "$date": "2023-05-01T10:00:00.000Z" },
                "_updatedAt": updated,
                "status": "offline",
                "name": format!("Zoë Müller-Łukasz {i}"),
                "visitorEmails": [{ "address": format!(" User{i}@Example.COM ") }],
                "phone": [{ "phoneNumber": format!("+55 51 5555-{i:04}") }],
                "livechatData": { "city": "Lyon", "n": i },
                "lastChat": null,
            })
            .to_string(),
        );
    }
    lines.extend(
        [
            "not json",                                                                   // 201
            r#"{"_id":"NoTokenHere","username":"guest-9999"}"#,                           // 202
            r#"{"_id":"DupToken","token":"imp-tok-1","username":"guest-9998"}"#,          // 203
            r#"{"_id":"Erased","token":"gone","username":"guest-9997","disabled":true}"#, // 204
            "",                                                                   // 205: skipped
            "[1, 2]",                                                             // 206
            r#"{"_id":"LateOne","token":"imp-tok-late","username":"late-user"}"#, // 207
        ]
        .map(str::to_string),
    );
    lines.join("\n") + "\n"
}

#[test]
fn import_reports_rejected_lines_and_the_server_serves_the_visitors() {
    let sb = Sandbox::new();
    let file = sb.cwd().join("visitors.jsonl");
    std::fs::write(&file, export()).unwrap();
    let out = sb.run(&["import", "--rocketchat", file.to_str().unwrap()], None);
    let stdout = out.ok();
    // Read and sorted, then written by a fresh (compact) copy of the store.
    let (read, written) = stdout
        .split_once('\n')
        .unwrap_or_else(|| panic!("unexpected summary {out:?}"));
    let secs = read
        .strip_prefix("207 lines: 201 visitors read, 5 rejected, in ")
        .and_then(|rest| rest.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("unexpected counts {out:?}"));
    assert!(secs.parse::<f64>().is_ok(), "{out:?}");
    assert!(
        written.starts_with("201 visitors written with the store's copy in ")
            && written.contains(" MB on disk; ")
            && written.ends_with(" s in all; next guest number: guest-251\n"),
        "{out:?}"
    );

    let report = sb.cwd().join("visitors.rejected.txt");
    let text = std::fs::read_to_string(&report).expect("the .rejected.txt report");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert!(rows[0].starts_with("line 201: not JSON: "), "{text}");
    assert_eq!(
        &rows[1..],
        [
            "line 202: no token",
            "line 203: token already belongs to another visitor",
            "line 204: a disabled (GDPR-erased) visitor",
            "line 206: not a JSON object",
        ]
    );
    // stderr repeats them, indented, and names the report.
    let expected_err: String = rows
        .iter()
        .map(|r| format!("  {r}\n"))
        .chain([format!(
            "every rejected line with its reason: {}\n",
            report.display()
        )])
        .collect();
    // (and the log has the rewrite's line)
    let said: String = out
        .stderr
        .lines()
        .filter(|line| !line.starts_with('['))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(said, expected_err, "{out:?}");

    let check = sb.assert_consistent();
    assert!(
        check.contains(&format!("  {:<24} 201 records\n", "visitorseq_visitor")),
        "{check}"
    );

    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[("VISITORD_ADMIN_PASSWORD", "import-admin-pass")],
    );
    assert!(
        server
            .stdout()
            .contains("  store:      201 visitors, 1 users\n"),
        "{}",
        server.stdout()
    );
    let v = server.get("/api/v1/livechat/visitor/imp-tok-137").ok();
    assert_eq!(
        v["visitor"],
        json!({
            "_id": "ImpId000000000137",
            "token": "imp-tok-137",
            "username": "guest-250",
            "ts": "2023-05-01T10:00:00.000Z",
            "_updatedAt": "2023-11-14T22:13:20.000Z",
            "status": "offline",
            "name": "Zoë Müller-Łukasz 137",
            "visitorEmails": [{ "address": "user137@example.com" }],
            "phone": [{ "phoneNumber": "+55 51 5555-0137" }],
            "livechatData": { "city": "Lyon", "n": "137" },
        })
    );
    let v = server.get("/api/v1/livechat/visitor/imp-tok-50").ok();
    assert_eq!(v["visitor"]["_id"], "65a1b2c3d4e5f6a7b8c90050");
    assert_eq!(v["visitor"]["_updatedAt"], "2023-11-14T22:13:20.000Z");
    assert_eq!(v["visitor"]["username"], "agent.named.50");
    // The duplicate line did not take the token; the line after the bad ones was imported.
    let v = server.get("/api/v1/livechat/visitor/imp-tok-1").ok();
    assert_eq!(v["visitor"]["_id"], "ImpId000000000001");
    let v = server.get("/api/v1/livechat/visitor/imp-tok-late").ok();
    assert_eq!(v["visitor"]["username"], "late-user");
    assert_eq!(server.get("/api/v1/livechat/visitor/gone").status, 400);
    // A new visitor is numbered above every imported guest (and no rejected line counted).
    let v = server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "fresh-after-import"}}),
        )
        .ok();
    assert_eq!(v["visitor"]["username"], "guest-251");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    sb.assert_consistent();
}

/// `added N visitors, R rooms, M messages, P page visits in …` → `(N, R, M, P)`.
fn demo_counts(stdout: &str) -> (u64, u64, u64, u64) {
    let numbers: Vec<u64> = stdout
        .split_once(" in ")
        .and_then(|(head, _)| head.strip_prefix("added "))
        .unwrap_or_else(|| panic!("unexpected demo-data output {stdout:?}"))
        .split(", ")
        .map(|part| {
            part.split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{part:?} in {stdout:?}"))
        })
        .collect();
    assert_eq!(numbers.len(), 4, "{stdout:?}");
    (numbers[0], numbers[1], numbers[2], numbers[3])
}

#[test]
fn demo_data_fills_a_consistent_store() {
    let sb = Sandbox::new();
    let out = sb.run(&["demo-data", "--visitors", "500", "--seed", "3"], None);
    let stdout = out.ok();
    let (summary, compacted) = stdout.split_once('\n').unwrap_or((stdout, ""));
    assert!(
        summary.ends_with(" MB") && summary.contains(" visitors/s); store on disk: "),
        "{out:?}"
    );
    // Compacted at the end; the later demo data below must then get fresh write-order numbers
    // (a reused one would overwrite a record, and the record count would come out short).
    assert!(
        compacted.starts_with("compacted in ") && compacted.ends_with(" MB on disk\n"),
        "{out:?}"
    );
    let (visitors, rooms, messages, pages) = demo_counts(stdout);
    assert_eq!((visitors, pages), (500, 1000), "{out:?}");
    assert!(
        rooms > 0 && rooms < 500 && messages >= rooms && messages <= 3 * rooms,
        "{out:?}"
    );

    let check = sb.assert_consistent();
    for (tree, n) in [
        ("visitorseq_visitor", visitors),
        ("roomid_room", rooms),
        ("msgid_message", messages),
        ("navkey_pagevisit", pages),
    ] {
        assert!(
            check.contains(&format!("  {tree:<24} {n} records\n")),
            "{tree}: {check}"
        );
    }

    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[("VISITORD_ADMIN_PASSWORD", "demo-admin-pass")],
    );
    assert!(
        server
            .stdout()
            .contains("  store:      500 visitors, 1 users\n"),
        "{}",
        server.stdout()
    );
    let v = server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "after-the-demo"}}),
        )
        .ok();
    assert_eq!(v["visitor"]["username"], "guest-501");
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");

    // More demo data continues the numbering; the store stays consistent.
    let out = sb.run(
        &[
            "demo-data",
            "--visitors",
            "20",
            "--seed",
            "4",
            "--pages-per-visitor",
            "0",
        ],
        None,
    );
    let (visitors, _, _, pages) = demo_counts(out.ok());
    assert_eq!((visitors, pages), (20, 0));
    let check = sb.assert_consistent();
    assert!(
        check.contains(&format!("  {:<24} 521 records\n", "visitorseq_visitor")),
        "{check}"
    );
}

/// `visitord check` on a store corrupted through the raw-write seam: exit 1, one `PROBLEM` line
/// per broken invariant (here a room whose `v.token` is not its visitor's, and a guest counter
/// below an issued `guest-N`).
#[test]
fn check_reports_each_broken_invariant_and_fails() {
    let sb = Sandbox::new();
    let (room_id, visitor_id) = {
        let store = visitord::store::Store::open(
            &visitord::config::StorageConfig {
                data_dir: sb.data(),
                ..Default::default()
            },
            Vec::new(),
        )
        .expect("open");
        let reg = visitord::domain::Registration {
            token: "tok".into(),
            ..Default::default()
        };
        let v = store.register_visitor(&reg, 1).expect("register");
        let (mut room, _) = store
            .open_room("tok", None, visitord::model::RoomSource::Api, 2)
            .expect("room");
        room.v.token = "not-tok".into();
        let bytes = visitord::store::Store::raw_record(&room).expect("encode");
        store
            .raw_write("roomid_room", room.id.as_bytes(), Some(&bytes))
            .expect("raw write");
        store
            .raw_write(
                "meta",
                b"guest_counter",
                // The counter's layout: u64 big-endian.
                Some(&0u64.to_be_bytes()),
            )
            .expect("raw write");
        (room.id, v.id)
    };
    let out = sb.run(&["check"], None);
    out.no_panic();
    assert_eq!(out.code(), 1, "{out:?}");
    let problems: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  PROBLEM "))
        .collect();
    assert_eq!(
        problems,
        [
            format!("meta.guest_counter is 0, below the issued guest-1 (visitor {visitor_id})"),
            format!("room {room_id}: v.token is not the token of its visitor {visitor_id}"),
        ],
        "{out:?}"
    );
}

/// Every visitor of a store, keyed by `_id`, without the store-local write-order number.
fn visitors_of(
    data: &std::path::Path,
) -> std::collections::BTreeMap<String, visitord::model::Visitor> {
    let config = visitord::config::StorageConfig {
        data_dir: data.to_path_buf(),
        ..Default::default()
    };
    let store = visitord::store::Store::open(&config, Vec::new()).expect("open");
    let mut all = std::collections::BTreeMap::new();
    store
        .for_each_visitor(|v| {
            let mut v = v.clone();
            v.seq = 0;
            all.insert(v.id.clone(), v);
            true
        })
        .expect("read");
    all
}

#[test]
fn export_then_import_gives_back_every_visitor_field_by_field() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    // Varied visitors (names, emails, phones, custom fields, last chats) plus imported ones
    // with departments, statuses and dates of their own.
    sb.run(&["demo-data", "--visitors", "300", "--seed", "5"], None)
        .ok();
    let file = sb.cwd().join("rc.jsonl");
    std::fs::write(&file, export()).unwrap();
    sb.run(&["import", "--rocketchat", file.to_str().unwrap()], None);
    let before = visitors_of(&sb.data());
    assert_eq!(before.len(), 300 + 201);
    assert!(before.values().any(|v| v.last_chat.is_some()));
    assert!(before.values().any(|v| !v.livechat_data.is_empty()));

    let out = sb.cwd().join("out.jsonl");
    let done = sb.run(&["export", "--rocketchat", out.to_str().unwrap()], None);
    assert_eq!(
        done.ok(),
        format!("exported 501 visitors to {}\n", out.display())
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "personal data: owner only");
    // Never over an existing file.
    sb.run(&["export", "--rocketchat", out.to_str().unwrap()], None)
        .fails_with(
            1,
            &format!(
                "visitord: {} exists; export writes a new file",
                out.display()
            ),
        );

    // Into a fresh store: every visitor, every field.
    let other = sb.cwd().join("other");
    let imported = sb.run(
        &[
            "import",
            "--rocketchat",
            out.to_str().unwrap(),
            "--data-dir",
            other.to_str().unwrap(),
        ],
        None,
    );
    imported.ok();
    let after = visitors_of(&other);
    assert_eq!(after.len(), before.len());
    for (id, v) in &before {
        assert_eq!(after.get(id), Some(v), "visitor {id}");
    }
}

#[test]
fn backup_then_restore_through_the_commands() {
    let sb = Sandbox::new();
    sb.run(&["demo-data", "--visitors", "200", "--seed", "9"], None)
        .ok();
    sb.run(
        &["user", "add", "carol", "--password-stdin"],
        Some("carol-pass-1\n"),
    )
    .ok();
    let file = sb.cwd().join("store.vbak");
    let out = sb.run(&["backup", "--out", file.to_str().unwrap()], None);
    let line = out.ok().to_string();
    assert!(
        line.starts_with("backed up ")
            && line.contains(&format!(" records to {} (", file.display())),
        "{line}"
    );

    // A damaged copy is refused and writes nothing.
    let damaged = sb.cwd().join("damaged.vbak");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let other = sb.cwd().join("other");
    let dir = other.to_str().unwrap();
    let refused = sb.run(
        &["restore", damaged.to_str().unwrap(), "--data-dir", dir],
        None,
    );
    assert_eq!(refused.code(), 1);
    assert!(!other.exists(), "nothing written");

    let restored = sb.run(
        &["restore", file.to_str().unwrap(), "--data-dir", dir],
        None,
    );
    assert!(restored.ok().starts_with("restored "), "{restored:?}");
    // The same visitors, field by field, and a consistent store that serves its users.
    assert_eq!(visitors_of(&other), visitors_of(&sb.data()));
    let check = sb.run(&["check", "--data-dir", dir], None);
    assert!(check.ok().ends_with("consistent\n"), "{check:?}");
    let server = Server::start(sb.cwd(), &other, &[]);
    assert_eq!(
        server.login("carol", "carol-pass-1").ok()["status"],
        "success"
    );
    assert!(server.stop().status.success());
}

/// A store written by a newer schema is refused by the commands that open it, with a
/// message that says what to do, and is left as it was.
#[test]
fn a_store_from_a_newer_schema_is_refused_and_left_alone() {
    let sb = Sandbox::new();
    {
        let store = visitord::store::Store::open(
            &visitord::config::StorageConfig {
                data_dir: sb.data(),
                ..Default::default()
            },
            Vec::new(),
        )
        .expect("open");
        let newer = visitord::store::SCHEMA_VERSION + 1;
        store
            .raw_write("meta", b"schema_version", Some(&newer.to_be_bytes()))
            .expect("raw write");
    }
    let newer = visitord::store::SCHEMA_VERSION + 1;
    let message = format!(
        "store schema version {newer} is newer than this build supports ({}); upgrade visitord",
        visitord::store::SCHEMA_VERSION
    );
    for args in [&["check"][..], &["export", "--rocketchat", "out.jsonl"][..]] {
        let out = sb.run(args, None);
        out.no_panic();
        assert_ne!(out.code(), 0, "{args:?}: {out:?}");
        assert!(out.stderr.contains(&message), "{args:?}: {out:?}");
    }
    // Still the newer schema: nothing was migrated down or rewritten.
    let out = sb.run(&["check"], None);
    assert!(out.stderr.contains(&message), "{out:?}");
}

/// `visitord copy` between two sled stores through the command: every visitor field by field,
/// a user who still logs in, a consistent compacted target; bad endpoints are refused with a
/// message and exit 1, leaving nothing behind.
#[test]
fn copy_through_the_command() {
    let sb = Sandbox::new();
    sb.run(&["demo-data", "--visitors", "150", "--seed", "4"], None)
        .ok();
    sb.run(
        &["user", "add", "dora", "--password-stdin"],
        Some("dora-pass-1\n"),
    )
    .ok();
    let target = sb.cwd().join("copied");
    let from = format!("sled:{}", sb.data().display());
    let to = format!("sled:{}", target.display());
    let out = sb.run(&["copy", "--from", &from, "--to", &to], None);
    let text = out.ok().to_string();
    assert!(text.contains("  visitors: 150\n"), "{text}");
    assert!(
        text.contains(&format!("records from {from} to {to} in ")),
        "{text}"
    );
    assert_eq!(visitors_of(&target), visitors_of(&sb.data()));
    let dir = target.to_str().unwrap();
    let check = sb.run(&["check", "--data-dir", dir], None);
    assert!(check.ok().ends_with("consistent\n"), "{check:?}");
    let server = Server::start(sb.cwd(), &target, &[]);
    assert_eq!(
        server.login("dora", "dora-pass-1").ok()["status"],
        "success"
    );
    assert!(server.stop().status.success());

    // Not a store: refused, naming the forms, without echoing the password.
    let bad = sb.run(
        &["copy", "--from", "mysql://u:hunter2@db/x", "--to", &to],
        None,
    );
    assert_eq!(bad.code(), 1);
    assert!(
        bad.stderr
            .contains("--from: \"mysql://u:***@db/x\" is not a store"),
        "{bad:?}"
    );
    assert!(!bad.stderr.contains("hunter2"), "{bad:?}");
    // Into a store that is not empty: refused, exit 1.
    let again = sb.run(&["copy", "--from", &from, "--to", &to], None);
    assert_eq!(again.code(), 1);
    assert!(again.stderr.contains("is not empty"), "{again:?}");
}

/// `import --navigation`: the entries are sorted outside the store and written by a fresh copy
/// of it, which is consistent, holds every entry, and leaves no sorted rows behind.
#[test]
fn import_of_navigation_history_reports_both_steps_and_leaves_a_consistent_store() {
    let sb = Sandbox::new();
    let visitors = sb.cwd().join("visitors.jsonl");
    std::fs::write(
        &visitors,
        [
            r#"{"_id":"A","token":"ta","username":"guest-1"}"#,
            r#"{"_id":"B","token":"tb","username":"guest-2"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let entry = |id: &str, token: &str, rid: &str| {
        json!({
            "_id": id,
            "rid": rid,
            "ts": { "$date": "2024-03-01T10:00:00.000Z" },
            "t": "livechat_navigation_history",
            "navigation": {
                "token": token,
                "page": { "title": "Home", "change": "url", "location": { "href": "https://x.test/" } }
            }
        })
        .to_string()
    };
    let navigation = sb.cwd().join("navigation.jsonl");
    let lines = [
        entry("n1", "ta", "R1"),
        entry("n2", "ta", "R1"),
        "{".to_string(),
        entry("n3", "tb", "R9"),
    ];
    std::fs::write(&navigation, lines.join("\n")).unwrap();
    let out = sb.run(
        &[
            "import",
            "--rocketchat",
            visitors.to_str().unwrap(),
            "--navigation",
            navigation.to_str().unwrap(),
        ],
        None,
    );
    let summary: Vec<&str> = out.ok().lines().collect();
    assert_eq!(summary.len(), 4, "{out:?}");
    assert!(
        summary[0].starts_with("2 lines: 2 visitors read, 0 rejected, in "),
        "{out:?}"
    );
    assert!(
        summary[1].starts_with("2 visitors written with the store's copy in "),
        "{out:?}"
    );
    assert!(
        summary[2].starts_with("4 lines: 3 navigation entries read, 1 rejected, in "),
        "{out:?}"
    );
    assert!(
        summary[3].starts_with("3 navigation entries written with the store's copy in ")
            && summary[3].contains(" MB on disk; ")
            && summary[3].ends_with(" s in all"),
        "{out:?}"
    );
    let check = sb.assert_consistent();
    assert!(
        check.contains(&format!("  {:<24} 3 records\n", "navkey_pagevisit")),
        "{check}"
    );
    assert!(
        check.contains(&format!("  {:<24} 2 records\n", "roomid_room")),
        "{check}"
    );
    let mut names: Vec<String> = std::fs::read_dir(sb.data())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "initial-admin-password")
        .collect();
    names.sort();
    // One generation (the visitors' copy, then the history's), no sorted rows left.
    assert_eq!(names, ["CURRENT", "LOCK", "store-3"], "{names:?}");
}
