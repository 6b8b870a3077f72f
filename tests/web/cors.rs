//! CORS by side: visitor endpoints follow `server.cors_origins` (default `*`), agent endpoints
//! `api.cors_origins` (default none), and `agent_path` agrees with the route table.

use crate::common::TestApp;
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;
use visitord::http::cors::agent_path;
use visitord::http::routes::ROUTES;

fn preflight(uri: &str, origin: &str) -> TestRequest {
    TestRequest::default()
        .method(Method::OPTIONS)
        .uri(uri)
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header((
            "Access-Control-Request-Headers",
            "content-type, x-auth-token",
        ))
}

/// Every route the document says needs agent credentials (and login) is an agent path; no other.
#[test]
fn agent_paths_are_the_routes_with_agent_credentials() {
    for def in ROUTES {
        let concrete = def
            .path
            .replace("{token}", "t")
            .replace("{roomId}", "r")
            .replace("{visitorId}", "v")
            .replace("{rid}", "r")
            .replace("{file}", "f");
        let secured = def
            .endpoints
            .iter()
            .any(|e| (e.doc)().security.as_ref().is_some_and(|s| !s.is_empty()))
            || def.path == "/api/v1/login"
            || def.path == "/api/v1/logout";
        assert_eq!(agent_path(&concrete), secured, "{}", def.path);
    }
    for other in [
        "/api/v1/livechat/a/b/messages",
        "/api/v1/livechat//messages",
        "/console/",
    ] {
        assert!(!agent_path(other), "{other}");
    }
}

#[actix_web::test]
async fn agent_endpoints_get_no_cors_by_default_and_visitor_endpoints_keep_theirs() {
    let app = TestApp::new();
    let refused = json!({
        "success": false,
        "error": "Cross-origin requests from this origin are not allowed [error-cors-origin]",
        "errorType": "error-cors-origin"
    });
    for uri in [
        "/api/v1/login",
        "/api/v1/me",
        "/api/v1/users.list",
        "/api/v1/livechat/visitors.search",
        "/api/v1/livechat/r1/messages",
        "/api/v1/visitord.overview",
    ] {
        let resp = app.call(preflight(uri, "https://shop.example")).await;
        assert_eq!(resp.status, 403, "{uri}");
        assert_eq!(resp.json(), refused, "{uri}");
        assert_eq!(resp.header("access-control-allow-origin"), None, "{uri}");
        // a simple request passes, without CORS headers: the browser keeps the answer from the page
        let resp = app
            .call(
                TestRequest::get()
                    .uri(uri)
                    .insert_header(("Origin", "https://shop.example")),
            )
            .await;
        assert_eq!(resp.header("access-control-allow-origin"), None, "{uri}");
    }
    for uri in ["/api/v1/livechat/visitor", "/api/v1/livechat/page.visited"] {
        let resp = app.call(preflight(uri, "https://shop.example")).await;
        assert_eq!(resp.status, 200, "{uri}");
        assert_eq!(
            resp.header("access-control-allow-origin").as_deref(),
            Some("*"),
            "{uri}"
        );
    }

    let configured =
        TestApp::with_config(|c| c.api.cors_origins = vec!["https://agents.example".into()]);
    let resp = configured
        .call(preflight("/api/v1/login", "https://agents.example"))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("access-control-allow-origin").as_deref(),
        Some("https://agents.example")
    );
    let resp = configured
        .call(preflight("/api/v1/login", "https://shop.example"))
        .await;
    assert_eq!(resp.status, 403);
}
