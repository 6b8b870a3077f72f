//! Replicas (postgres backend only): two `visitord serve` processes over one database, sent the
//! same registrations at once. One token makes one visitor whichever replica each request
//! reaches, `guest-N` never repeats across them, and each replica reads what the other wrote.
//! On sled there is nothing to share (a data dir is locked by one process): the test says so and
//! returns.

use super::race;
use crate::cli::proc::Server;
use crate::common::{on_postgres, PgTestDb};
use serde_json::json;
use std::collections::BTreeSet;

const ROUNDS: usize = 20;
/// Requests per round, spread over both replicas.
const THREADS: usize = 8;

#[test]
fn two_replicas_make_one_visitor_per_token_and_never_repeat_a_guest_number() {
    if !on_postgres() {
        eprintln!("replicas need the postgres backend (VISITORD_TEST_BACKEND=postgres): not run");
        return;
    }
    let db = PgTestDb::create();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = db.server_env().to_vec();
    env.extend([
        ("VISITORD_RATE_LIMIT_ENABLED", "false"),
        ("VISITORD_ADMIN_PASSWORD", "replica-admin-password"),
    ]);
    let a = Server::start(dir.path(), &dir.path().join("a"), &env);
    let b = Server::start(dir.path(), &dir.path().join("b"), &env);
    let replicas = [&a, &b];
    let register = |server: &Server, body: serde_json::Value| {
        let resp = server.post("/api/v1/livechat/visitor", &body);
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.json()["visitor"].clone()
    };

    let mut guests = BTreeSet::new();
    for round in 0..ROUNDS {
        let token = format!("replica-token-{round}");
        let answers = race(THREADS, |i| {
            register(
                replicas[i % 2],
                json!({"visitor": {"token": token, "name": format!("racer {i}")}}),
            )
        });
        let first = &answers[0];
        for v in &answers {
            assert_eq!(
                v["_id"], first["_id"],
                "round {round}: one visitor per token"
            );
            assert_eq!(v["username"], first["username"], "round {round}");
        }
        let username = first["username"].as_str().expect("username").to_string();
        assert!(username.starts_with("guest-"), "{username}");
        assert!(
            guests.insert(username.clone()),
            "round {round}: {username} repeated"
        );
        // Each replica reads the visitor the race made, with the last name written.
        for server in replicas {
            let read = server.get(&format!("/api/v1/livechat/visitor/{token}"));
            assert_eq!(read.status, 200);
            assert_eq!(read.json()["visitor"]["_id"], first["_id"]);
        }

        // Distinct tokens at once on both replicas: distinct guest numbers.
        let fresh = race(THREADS, |i| {
            register(
                replicas[i % 2],
                json!({"visitor": {"token": format!("replica-fresh-{round}-{i}")}}),
            )
        });
        for v in fresh {
            let name = v["username"].as_str().expect("username").to_string();
            assert!(
                guests.insert(name.clone()),
                "round {round}: {name} repeated"
            );
        }
    }
    // Every visitor was made once: ROUNDS raced tokens plus ROUNDS × THREADS fresh ones.
    let admin = a.login("admin", "replica-admin-password");
    assert_eq!(admin.status, 200, "{}", admin.body);
    let data = admin.json()["data"].clone();
    let (user_id, auth) = (
        data["userId"].as_str().expect("userId").to_string(),
        data["authToken"].as_str().expect("authToken").to_string(),
    );
    let headers = [
        ("X-User-Id", user_id.as_str()),
        ("X-Auth-Token", auth.as_str()),
    ];
    // The prefix of the tokens matches no name, username or email; every visitor is a guest.
    for server in replicas {
        for (term, total) in [("replica-", 0), ("guest-", ROUNDS * (THREADS + 1))] {
            let search = server.request(
                "GET",
                &format!("/api/v1/livechat/visitors.search?term={term}&count=1"),
                &headers,
                None,
            );
            assert_eq!(search.status, 200, "{}", search.body);
            assert_eq!(search.json()["total"], total, "{term}: {}", search.body);
        }
    }
    drop((a, b));
    drop(db);
}
