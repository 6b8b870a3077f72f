//! Crash safety: a real `visitord` process under concurrent writes is killed with SIGKILL at a
//! random moment; the store, reopened, must hold every write that was acknowledged (and none of
//! the acknowledged deletes), and its indexes must agree with its records.
//!
//! `sync` mode: every acknowledged write survives. `periodic` mode: the store stays consistent and
//! the test reports how many acknowledged writes were lost. `VISITORD_CRASH_TRIALS` sets the
//! number of trials (default 5 sync + 2 periodic; `scripts/crash.sh` runs 50 on a release build).

use crate::cli::proc::{try_request, Server};
use crate::cli::Sandbox;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use visitord::config::StorageConfig;
use visitord::store::Store;

/// What the clients know about one visitor token.
#[derive(Debug, Default, Clone)]
struct Known {
    /// Registration acknowledged.
    registered: bool,
    /// Name of the newest acknowledged update (or registration).
    acked_name: Option<String>,
    /// A name sent but not acknowledged when the server died.
    pending_name: Option<String>,
    /// Page visits acknowledged.
    acked_visits: usize,
    /// A page visit sent but not acknowledged.
    pending_visit: bool,
    /// Delete acknowledged.
    deleted: bool,
    /// Delete sent but not acknowledged.
    pending_delete: bool,
}

/// A tiny deterministic generator (xorshift), so each trial is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn post(addr: SocketAddr, path: &str, body: &serde_json::Value) -> Option<u16> {
    try_request(addr, "POST", path, &[], Some(&body.to_string()))
        .ok()
        .map(|r| r.status)
}

/// One client thread: its own tokens, random operations until the server is gone.
fn client(
    addr: SocketAddr,
    id: usize,
    seed: u64,
    stop: &AtomicBool,
    book: &Mutex<HashMap<String, Known>>,
) {
    let mut rng = Rng(seed.wrapping_mul(2654435761).wrapping_add(id as u64 + 1) | 1);
    let mut mine: Vec<String> = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let live: Vec<&String> = mine
            .iter()
            .filter(|t| {
                book.lock()
                    .map(|b| !b[*t].deleted && !b[*t].pending_delete)
                    .unwrap_or(false)
            })
            .collect();
        let roll = rng.below(100);
        let status = if live.is_empty() || roll < 40 {
            n += 1;
            let token = format!("crash-{id}-{n}");
            let name = format!("{token} v0");
            book.lock().unwrap().insert(token.clone(), Known::default());
            mine.push(token.clone());
            let status = post(
                addr,
                "/api/v1/livechat/visitor",
                &json!({"visitor": {"token": token, "name": name}}),
            );
            if status == Some(200) {
                let mut b = book.lock().unwrap();
                let k = b.get_mut(&token).unwrap();
                k.registered = true;
                k.acked_name = Some(name);
            }
            status
        } else {
            let token = live[rng.below(live.len() as u64) as usize].clone();
            if roll < 65 {
                let name = format!("{token} v{}", rng.below(1_000_000));
                book.lock().unwrap().get_mut(&token).unwrap().pending_name = Some(name.clone());
                let status = post(
                    addr,
                    "/api/v1/livechat/visitor",
                    &json!({"visitor": {"token": token, "name": name}}),
                );
                let mut b = book.lock().unwrap();
                let k = b.get_mut(&token).unwrap();
                if status == Some(200) {
                    k.acked_name = Some(name);
                    k.pending_name = None;
                }
                status
            } else if roll < 90 {
                book.lock().unwrap().get_mut(&token).unwrap().pending_visit = true;
                let body = json!({"token": token, "rid": null, "pageInfo": {"change": "url", "title": "T", "location": {"href": "https://x.example/"}}});
                let status = post(addr, "/api/v1/livechat/page.visited", &body);
                let mut b = book.lock().unwrap();
                let k = b.get_mut(&token).unwrap();
                if status == Some(200) {
                    k.acked_visits += 1;
                    k.pending_visit = false;
                }
                status
            } else {
                book.lock().unwrap().get_mut(&token).unwrap().pending_delete = true;
                let status = try_request(
                    addr,
                    "DELETE",
                    &format!("/api/v1/livechat/visitor/{token}"),
                    &[],
                    None,
                )
                .ok()
                .map(|r| r.status);
                if status == Some(200) {
                    book.lock().unwrap().get_mut(&token).unwrap().deleted = true;
                }
                status
            }
        };
        match status {
            Some(200) => {}
            Some(other) => panic!("unexpected status {other} before the crash"),
            None => return, // the server is gone
        }
    }
}

/// Outcome of one trial: acknowledged writes and how many of them were lost.
struct Outcome {
    acked: usize,
    lost: Vec<String>,
}

fn trial(durability: &str, seed: u64) -> Outcome {
    let sandbox = Sandbox::new();
    let server = Server::start(
        sandbox.cwd(),
        &sandbox.data(),
        &[
            ("VISITORD_STORAGE_DURABILITY", durability),
            ("VISITORD_RATE_LIMIT_ENABLED", "false"),
            ("RUST_LOG", "error"),
        ],
    );
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let book = Arc::new(Mutex::new(HashMap::new()));
    let run_for = Duration::from_millis(300 + Rng(seed | 1).below(900));
    std::thread::scope(|scope| {
        for id in 0..6 {
            let (stop, book) = (stop.clone(), book.clone());
            scope.spawn(move || client(addr, id, seed, &stop, &book));
        }
        let started = Instant::now();
        while started.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(server); // SIGKILL, mid-flight
        stop.store(true, Ordering::Relaxed);
    });

    let store = Store::open(
        &StorageConfig {
            data_dir: sandbox.data(),
            ..Default::default()
        },
        Vec::new(),
    )
    .expect("reopen the store after the crash");
    let report = store.check().expect("check");
    assert!(
        report.problems.is_empty(),
        "{durability} trial {seed}: {:?}",
        report.problems
    );

    let book = book.lock().unwrap();
    let mut acked = 0;
    let mut lost = Vec::new();
    for (token, k) in book.iter() {
        let visitor = store.visitor_by_token(token).expect("read");
        if k.deleted {
            acked += 1;
            if visitor.is_some() {
                lost.push(format!("{token}: acknowledged delete undone"));
            }
            continue;
        }
        if !k.registered {
            continue; // never acknowledged: either outcome is right
        }
        acked += 1 + k.acked_visits;
        let Some(v) = visitor else {
            if !k.pending_delete {
                lost.push(format!("{token}: acknowledged visitor missing"));
            }
            continue;
        };
        let name = v.name.clone();
        if name != k.acked_name && name != k.pending_name {
            lost.push(format!(
                "{token}: name {name:?}, acknowledged {:?}",
                k.acked_name
            ));
        }
        let visits = store.page_visits_of_token(token).expect("read").len();
        let most = k.acked_visits + usize::from(k.pending_visit);
        if visits < k.acked_visits || visits > most {
            lost.push(format!(
                "{token}: {visits} page visits, acknowledged {}",
                k.acked_visits
            ));
        }
    }
    assert!(
        acked > 0,
        "{durability} trial {seed}: no write was acknowledged before the crash"
    );
    Outcome { acked, lost }
}

fn trials(default: u64) -> u64 {
    std::env::var("VISITORD_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn sync_mode_keeps_every_acknowledged_write_through_kill_9() {
    for seed in 1..=trials(5) {
        let outcome = trial("sync", seed);
        assert!(
            outcome.lost.is_empty(),
            "sync trial {seed}: {} of {} acknowledged writes lost: {:?}",
            outcome.lost.len(),
            outcome.acked,
            outcome.lost
        );
        println!(
            "sync trial {seed}: {} acknowledged writes, none lost",
            outcome.acked
        );
    }
}

#[test]
fn periodic_mode_stays_consistent_through_kill_9() {
    let (mut acked, mut lost) = (0, 0);
    for seed in 1..=trials(5).div_ceil(2) {
        let outcome = trial("periodic", 1000 + seed);
        println!(
            "periodic trial {seed}: {} acknowledged writes, {} lost",
            outcome.acked,
            outcome.lost.len()
        );
        acked += outcome.acked;
        lost += outcome.lost.len();
    }
    println!("periodic mode: {lost} of {acked} acknowledged writes lost in all");
}
