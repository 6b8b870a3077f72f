//! Options whose effect is only visible on a running server, each observed through something
//! real: threads of the process, connections served or held back, the launch log, what survives
//! a SIGKILL, requests in flight at a SIGTERM.

use super::proc::{try_request, Server, BOUND};
use super::Sandbox;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use visitord::config::StorageConfig;
use visitord::store::Store;

/// Names of the threads of process `pid` (Linux).
fn thread_names(pid: u32) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc") {
        let comm = entry.expect("task").path().join("comm");
        if let Ok(name) = std::fs::read_to_string(comm) {
            names.push(name.trim().to_string());
        }
    }
    names
}

#[test]
fn server_workers_sets_the_worker_threads_and_the_log_states_the_values_in_effect() {
    let sb = Sandbox::new();
    let mut server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_SERVER_WORKERS", "3"),
            ("VISITORD_SERVER_MAX_CONNECTIONS", "77"),
            ("VISITORD_SERVER_REQUEST_TIMEOUT_MS", "1234"),
            ("VISITORD_STORAGE_CACHE_MB", "7"),
        ],
    );
    let workers = thread_names(server.pid())
        .iter()
        .filter(|n| n.starts_with("actix-rt|system"))
        .count();
    assert_eq!(workers, 3, "{:?}", thread_names(server.pid()));
    let log = server.stderr();
    assert!(
        log.contains(
            "serving with 3 workers, at most 77 connections per worker, request timeout 1234 ms, page cache 7 MiB"
        ),
        "{log}"
    );
}

#[test]
fn server_max_connections_holds_back_a_connection_beyond_it() {
    let sb = Sandbox::new();
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_SERVER_WORKERS", "1"),
            ("VISITORD_SERVER_MAX_CONNECTIONS", "1"),
            ("VISITORD_SERVER_REQUEST_TIMEOUT_MS", "60000"),
        ],
    );
    // The one connection the worker serves: a request that is never finished.
    let mut held = TcpStream::connect(server.addr).expect("connect");
    held.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    // Give the worker the held connection before the next one arrives.
    std::thread::sleep(Duration::from_millis(300));
    let mut next = TcpStream::connect(server.addr).expect("connect");
    next.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    next.set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    let early = next.read(&mut buf);
    assert!(
        early.is_err(),
        "a connection beyond max_connections was served: {early:?} {:?}",
        String::from_utf8_lossy(&buf)
    );
    // Once the held connection goes, the waiting one is served.
    drop(held);
    next.set_read_timeout(Some(BOUND)).expect("timeout");
    let mut raw = Vec::new();
    next.read_to_end(&mut raw)
        .expect("served after the held one closed");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

/// Registers `token` on a periodic-mode server with `flush_every_ms`, waits 300 ms, kills it
/// with SIGKILL; whether the visitor survived.
fn survives_kill(flush_every_ms: &str, token: &str) -> bool {
    let sb = Sandbox::new();
    let mut server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_STORAGE_DURABILITY", "periodic"),
            ("VISITORD_STORAGE_FLUSH_EVERY_MS", flush_every_ms),
        ],
    );
    server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": token}}),
        )
        .ok();
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    let store = Store::open(
        &StorageConfig {
            data_dir: sb.data(),
            ..Default::default()
        },
        Vec::new(),
    )
    .expect("reopen");
    let found = store.visitor_by_token(token).expect("read").is_some();
    drop(store);
    found
}

#[test]
fn storage_flush_every_ms_is_the_flush_interval_of_periodic_mode() {
    // Flushed 15 times over before the kill: kept. Never flushed within the hour: lost.
    assert!(
        survives_kill("20", "often"),
        "flushed every 20 ms, yet lost"
    );
    assert!(
        !survives_kill("3600000", "never"),
        "flushed every hour, yet kept"
    );
}

#[test]
fn sigterm_in_periodic_mode_finishes_requests_in_flight_and_flushes() {
    let sb = Sandbox::new();
    let env = [
        ("VISITORD_STORAGE_DURABILITY", "periodic"),
        // Only the shutdown flush can save these writes.
        ("VISITORD_STORAGE_FLUSH_EVERY_MS", "3600000"),
    ];
    let mut server = Server::start(sb.cwd(), &sb.data(), &env);
    // Requests whose bodies are only half sent when SIGTERM arrives.
    let mut streams = Vec::new();
    for i in 0..4 {
        let body = json!({"visitor": {"token": format!("inflight-{i}")}}).to_string();
        let mut s = TcpStream::connect(server.addr).expect("connect");
        let head = format!(
            "POST /api/v1/livechat/visitor HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let (first, rest) = body.split_at(body.len() / 2);
        s.write_all(head.as_bytes()).expect("write");
        s.write_all(first.as_bytes()).expect("write");
        streams.push((s, rest.to_string()));
    }
    // Let the server read what was sent before the signal.
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(200));
    for (s, rest) in streams.iter_mut() {
        s.write_all(rest.as_bytes()).expect("finish the body");
    }
    for (i, (s, _)) in streams.iter_mut().enumerate() {
        s.set_read_timeout(Some(BOUND)).expect("timeout");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("answer");
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200"), "request {i}: {text}");
    }
    let stopped = server.wait_stopped();
    assert!(stopped.status.success(), "{stopped:?}");
    let server = Server::start(sb.cwd(), &sb.data(), &env);
    for i in 0..4 {
        let r = try_request(
            server.addr,
            "GET",
            &format!("/api/v1/livechat/visitor/inflight-{i}"),
            &[],
            None,
        )
        .expect("read back");
        assert_eq!(
            r.status, 200,
            "inflight-{i} was answered but not kept: {r:?}"
        );
    }
}
