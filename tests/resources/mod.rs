//! Resources: a failing disk (fault injection in the group commit, the real thing is
//! `scripts/diskfull.sh` on a tiny tmpfs) and a client that stalls mid-request.

use crate::cli::proc::{try_request, Server};
use crate::cli::Sandbox;
use crate::common::TestApp;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[actix_web::test]
async fn a_failing_disk_is_a_500_the_server_stays_up_and_recovers() {
    if crate::common::sled_only("injects flush failures into the embedded store") {
        return;
    }
    let app = TestApp::new();
    let ok = app
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "before"}}),
        )
        .await;
    assert_eq!(ok.status, 200);

    app.sled().inject_flush_failures(true);
    let failed = app
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "during"}}),
        )
        .await;
    assert_eq!(failed.status, 500, "{}", failed.text());
    assert_eq!(
        failed.json(),
        json!({"success": false, "error": "Internal server error"})
    );
    assert_eq!(
        failed.header("content-type").as_deref(),
        Some("application/json")
    );
    let health = app.get("/health").await;
    assert_eq!(health.status, 503);
    assert_eq!(
        health.json(),
        json!({"success": false, "error": "Service unavailable"})
    );
    // Reads still answer.
    assert_eq!(app.get("/api/v1/livechat/visitor/before").await.status, 200);

    app.sled().inject_flush_failures(false);
    let after = app
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "after"}}),
        )
        .await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(app.get("/health").await.status, 200);
    let report = app.sled().check().expect("check");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_stalled_client_is_cut_off_and_others_are_served() {
    let sandbox = Sandbox::new();
    let server = Server::start(
        sandbox.cwd(),
        &sandbox.data(),
        &[("VISITORD_SERVER_REQUEST_TIMEOUT_MS", "300")],
    );
    // Half a request line and headers, then nothing.
    let mut slow = TcpStream::connect(server.addr).expect("connect");
    slow.write_all(b"POST /api/v1/livechat/visitor HTTP/1.1\r\nHost: x\r\nContent-Le")
        .expect("write");
    // Others are served meanwhile.
    let health = try_request(server.addr, "GET", "/health", &[], None).expect("health");
    assert_eq!(health.status, 200);
    // The stalled connection is closed by the server (bounded wait, no timing assertion). The
    // bound is well below the default `request_timeout_ms` (5000), so a cut-off within it is the
    // configured 300 ms at work.
    slow.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut buf = Vec::new();
    let read = slow.read_to_end(&mut buf);
    assert!(
        read.is_ok(),
        "the server kept a stalled connection open past the configured timeout: {read:?}"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    drop(server);
}
