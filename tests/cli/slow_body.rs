//! `server.request_timeout_ms` covers the body too: a client that sends its headers and then
//! stalls, or trickles its body, gets 408 with a JSON envelope and its connection closed.
//! Real sockets against the real binary; every wait is bounded by a socket read timeout, and
//! nothing asserts a duration.

use super::proc::{Server, BOUND};
use super::Sandbox;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TIMEOUT_BODY: &str = r#"{"success":false,"error":"Request timeout [error-request-timeout]","errorType":"error-request-timeout"}"#;

fn server(sb: &Sandbox) -> Server {
    Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_SERVER_REQUEST_TIMEOUT_MS", "1000"),
            ("VISITORD_RATE_LIMIT_ENABLED", "false"),
        ],
    )
}

/// Headers of a `POST livechat/visitor` that announces `len` body bytes (keep-alive).
fn head(len: usize) -> String {
    format!(
        "POST /api/v1/livechat/visitor HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {len}\r\n\r\n"
    )
}

/// Reads until the server closes the connection, within [`BOUND`] (a read timeout: the bound,
/// not a measurement). Returns what arrived, or fails when the connection stayed open.
fn read_until_closed(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(BOUND)).expect("read timeout");
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            // A reset after the answer also closes the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the connection stayed open ({e}); received so far: {:?}",
                String::from_utf8_lossy(&raw)
            ),
        }
    }
    String::from_utf8_lossy(&raw).into_owned()
}

fn assert_408(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a header end");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("\r\ncontent-type: application/json"),
        "{answer:?}"
    );
    assert!(head.contains("\r\nconnection: close"), "{answer:?}");
    assert_eq!(body, TIMEOUT_BODY);
}

#[test]
fn a_stalled_body_gets_408_and_the_connection_is_closed() {
    let sb = Sandbox::new();
    let server = server(&sb);
    let mut slow = TcpStream::connect(server.addr).expect("connect");
    slow.write_all(format!("{}{{\"visitor\":", head(40)).as_bytes())
        .expect("write");
    // Others are served meanwhile.
    assert_eq!(server.get("/health").status, 200);
    assert_408(&read_until_closed(&mut slow));
    // Nothing was stored, and the server still serves.
    let health = server.get("/health");
    assert_eq!(health.status, 200);
}

#[test]
fn a_trickled_body_gets_408_and_the_connection_is_closed() {
    let sb = Sandbox::new();
    let server = server(&sb);
    let body = r#"{"visitor":{"token":"trickled-token-that-is-long-enough-to-take-a-while"}}"#;
    let mut slow = TcpStream::connect(server.addr).expect("connect");
    slow.write_all(head(body.len()).as_bytes()).expect("write");
    let mut writer = slow.try_clone().expect("clone");
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let bytes = body.as_bytes().to_vec();
    // One byte every 200 ms: the whole body would take about 15 s.
    let trickle = std::thread::spawn(move || {
        for b in bytes {
            if stopped.load(Ordering::Relaxed) || writer.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let answer = read_until_closed(&mut slow);
    stop.store(true, Ordering::Relaxed);
    let _ = trickle.join();
    assert_408(&answer);
    // The visitor was not registered.
    let got =
        server.get("/api/v1/livechat/visitor/trickled-token-that-is-long-enough-to-take-a-while");
    assert_eq!(got.status, 400, "{got:?}");
}

#[test]
fn a_body_that_arrives_in_time_is_served() {
    let sb = Sandbox::new();
    let server = server(&sb);
    let body = r#"{"visitor":{"token":"in-time"}}"#;
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .write_all(head(body.len()).as_bytes())
        .expect("write");
    // A short pause well inside the timeout, then the body.
    std::thread::sleep(Duration::from_millis(100));
    stream.write_all(body.as_bytes()).expect("write");
    stream.set_read_timeout(Some(BOUND)).expect("read timeout");
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).expect("an answer");
    let answer = String::from_utf8_lossy(&chunk[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
