//! The access log never prints a visitor token, however the path spells it: routed requests
//! are logged by their route's template, unrouted ones decoded and cut.

use super::proc::Server;
use super::Sandbox;
use serde_json::json;

#[test]
fn percent_encoded_and_case_variant_paths_do_not_leak_tokens() {
    let sb = Sandbox::new();
    let server = Server::start(
        sb.cwd(),
        &sb.data(),
        &[("VISITORD_RATE_LIMIT_ENABLED", "false")],
    );
    let token = "LogTok-Secret-9Wq4Ze";
    server
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": token}}),
        )
        .ok();
    let paths = [
        format!("/api/v1/livechat/%76isitor/{token}"),
        format!("/api/v1/livechat/%76%69%73itor/{token}"),
        format!("/api/v1/livechat/visitor/{token}%2Fmore"),
        format!("/api/v1/livechat/visitor%2F{token}"),
        format!("/api/v1/livechat/visitor%2f{token}"),
        format!("/api/v1/livechat/VISITOR/{token}"),
        format!("/api/v1/livechat/%56isitor/{token}"),
    ];
    for path in &paths {
        let resp = server.get(path);
        assert!([200, 400, 404].contains(&resp.status), "{path}: {resp:?}");
    }
    // The decoded spelling is routed: it is the visitor.
    assert_eq!(server.get(&paths[0]).ok()["visitor"]["token"], token);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{stopped:?}");
    let log = stopped.stderr;
    assert!(
        log.contains("\"GET /api/v1/livechat/visitor/{token}\" 200"),
        "{log}"
    );
    if let Some(at) = log.find(token) {
        let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
        panic!("a token in the log: {:?}", &log[start..end]);
    }
}
