//! Operating the binary: `visitord healthcheck`, `/health/live`, `log.format = "json"`, and a
//! graceful stop on SIGINT with a request in flight.

use super::proc::{self, Server, BOUND, POLL};
use super::Sandbox;
use crate::ops::Scrape;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// `visitord [--bind ADDR] healthcheck [--url URL]`.
fn healthcheck(sb: &Sandbox, bind: Option<&str>, url: Option<&str>) -> proc::Out {
    let mut args = Vec::new();
    if let Some(b) = bind {
        args.extend(["--bind", b]);
    }
    args.push("healthcheck");
    if let Some(u) = url {
        args.extend(["--url", u]);
    }
    proc::run(proc::command(sb.cwd(), &sb.data(), &args), None)
}

#[test]
fn healthcheck_exits_0_on_a_200_and_1_with_one_line_saying_why_otherwise() {
    let sb = Sandbox::new();
    let server = Server::start(sb.cwd(), &sb.data(), &[]);
    let addr = server.addr.to_string();
    assert_eq!(
        server.get("/health/live").ok(),
        json!({"status": "live", "success": true})
    );

    // The default URL: the configured bind address + /health.
    let ok = healthcheck(&sb, Some(&addr), None);
    assert_eq!(ok.ok(), "");
    assert_eq!(ok.stderr, "");
    let ok = healthcheck(&sb, None, Some(&format!("http://{addr}/health/live")));
    assert_eq!(ok.ok(), "");

    let url = format!("http://{addr}/nowhere");
    healthcheck(&sb, None, Some(&url))
        .fails_with(1, &format!("visitord: unhealthy: {url} answered 404"));

    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    let down = healthcheck(&sb, Some(&addr), None);
    down.no_panic();
    assert_eq!(down.code(), 1, "{down:?}");
    let prefix = format!("visitord: unhealthy: cannot reach http://{addr}/health: ");
    assert!(down.stderr.starts_with(&prefix), "{down:?}");
    assert_eq!(down.stderr.lines().count(), 1, "{down:?}");

    healthcheck(&sb, Some("127.0.0.1:0"), None).fails_with(
        1,
        "visitord: server.bind 127.0.0.1:0 has port 0 (a random port): give the server's \
         address with --url",
    );
}

/// Every line of `text` as a JSON object with the four fields; returns them.
fn json_lines(text: &str, stream: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{stream}: not a JSON line ({e}): {line:?}"));
            for key in ["timestamp", "level", "target", "message"] {
                assert!(v[key].is_string(), "{stream}: no {key} in {line}");
            }
            v
        })
        .collect()
}

#[test]
fn json_log_format_makes_every_line_one_json_object_with_request_ids_on_the_access_log() {
    let sb = Sandbox::new();
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[
            ("VISITORD_LOG_FORMAT", "json"),
            ("VISITORD_RATE_LIMIT_ENABLED", "false"),
        ],
    );
    let token = "JsonLogTok-55Xv";
    server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": token}}),
        )
        .ok();
    let got = server.get(&format!("/api/v1/livechat/visitor/{token}"));
    got.ok();
    let id = got
        .header("x-request-id")
        .expect("X-Request-Id")
        .to_string();
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");

    let out = json_lines(&stopped.stdout, "stdout");
    let summary: Vec<&str> = out
        .iter()
        .filter(|v| v["target"] == "visitord::summary")
        .filter_map(|v| v["message"].as_str())
        .collect();
    assert_eq!(summary.len(), out.len(), "{}", stopped.stdout);
    assert_eq!(
        summary[0],
        format!("visitord {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(summary.iter().any(|m| m.starts_with("listening:  http://")));

    let log = json_lines(&stopped.stderr, "stderr");
    let access: Vec<&Value> = log
        .iter()
        .filter(|v| v["target"] == "visitord::access")
        .collect();
    assert_eq!(access.len(), 3, "{}", stopped.stderr); // the start's /health, POST, GET
    let line = access
        .iter()
        .find(|v| v["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no access line with request_id {id}: {}", stopped.stderr));
    assert_eq!(line["level"], "INFO");
    let message = line["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"GET /api/v1/livechat/visitor/{token}\" 200"),
        "{message}"
    );
    assert!(access.iter().all(|v| v["request_id"].is_string()));
    assert!(log.iter().any(|v| v["message"] == "stopped cleanly"));
    assert!(!stopped.stderr.contains(token), "{}", stopped.stderr);
}

#[test]
fn sigint_lets_an_in_flight_request_finish_then_exits_0_after_flushing() {
    let sb = Sandbox::new();
    let env = [("VISITORD_RATE_LIMIT_ENABLED", "false")];
    let mut server = Server::start(sb.cwd(), &sb.data(), &env);
    let body = r#"{"visitor":{"token":"sigint-in-flight","name":"Slow Client"}}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut slow = TcpStream::connect(server.addr).expect("connect");
    slow.set_read_timeout(Some(BOUND)).expect("read timeout");
    slow.write_all(
        format!(
            "POST /api/v1/livechat/visitor HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .expect("write half a request");
    // Wait (bounded) until the server is serving it: two requests in flight, it and the scrape.
    let deadline = Instant::now() + BOUND;
    loop {
        let scrape = Scrape::parse(&server.get("/metrics").body);
        if scrape.value("visitord_http_requests_in_flight", &[]) == Some(2.0) {
            break;
        }
        assert!(Instant::now() < deadline, "the slow request never started");
        std::thread::sleep(POLL);
    }
    server.interrupt();
    let deadline = Instant::now() + BOUND;
    while !server.stderr().contains("SIGINT received") {
        assert!(Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(POLL);
    }
    assert!(
        server.alive(),
        "stopped before the in-flight request finished"
    );
    slow.write_all(rest.as_bytes()).expect("write the rest");
    let mut answer = String::new();
    slow.read_to_string(&mut answer).expect("the answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"sigint-in-flight\""), "{answer}");
    let stopped = server.wait_stopped();
    assert_eq!(stopped.status.code(), Some(0), "{stopped:?}");
    assert!(stopped.stderr.contains("stopped cleanly"), "{stopped:?}");
    assert!(!stopped.stderr.contains("panicked"), "{stopped:?}");

    // The acknowledged write survived the stop.
    let server = Server::start(sb.cwd(), &sb.data(), &env);
    let v = server.get("/api/v1/livechat/visitor/sigint-in-flight").ok();
    assert_eq!(v["visitor"]["name"], "Slow Client");
}
