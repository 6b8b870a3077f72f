//! The postgres backend when its database goes away: `/health` (readiness) says 503, `/health/live`
//! still 200, and requests that need the database fail with a 500 whose body tells nothing of
//! the cause (it is logged). On sled there is no database: the test says so and returns.

use crate::common::{on_postgres, pg_execute as execute, TestApp};
use serde_json::json;

#[actix_web::test]
async fn a_lost_database_is_503_on_health_and_500_on_requests_but_live_stays_200() {
    if !on_postgres() {
        eprintln!("needs the postgres backend (VISITORD_TEST_BACKEND=postgres): not run");
        return;
    }
    let app = TestApp::new();
    let health = app.get("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "ok", "success": true}));
    let reg = app
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "before"}}),
        )
        .await;
    assert_eq!(reg.status, 200, "{}", reg.text());

    app.drop_database_now();

    let health = app.get("/health").await;
    assert_eq!(health.status, 503, "{}", health.text());
    let live = app.get("/health/live").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json(), json!({"status": "live", "success": true}));
    let read = app.get("/api/v1/livechat/visitor/before").await;
    assert_eq!(read.status, 500);
    assert_eq!(
        read.json(),
        json!({"success": false, "error": "Internal server error"})
    );
    let reg = app
        .post(
            "/api/v1/livechat/visitor",
            &json!({"visitor": {"token": "after"}}),
        )
        .await;
    assert_eq!(reg.status, 500);
    assert_eq!(
        reg.json(),
        json!({"success": false, "error": "Internal server error"})
    );
}

/// Two replicas (two app states over one database): failed logins are counted in the
/// database, so failures on one replica count against the limit on the other.
#[actix_web::test]
async fn failed_logins_are_counted_across_replicas() {
    if !on_postgres() {
        eprintln!("needs the postgres backend (VISITORD_TEST_BACKEND=postgres): not run");
        return;
    }
    let a = TestApp::with_config(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.login_failures_per_min = 3;
    });
    a.user("alice", &["livechat-agent"]);
    let b_state = visitord::http::AppState::open(a.config.clone()).expect("a second replica opens");
    let b = crate::common::build_caller(b_state).await;
    let wrong = json!({"user": "alice", "password": "not the password"});
    let login = |body: &serde_json::Value| {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/login")
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_string())
    };
    for _ in 0..2 {
        let resp = a.call(login(&wrong)).await;
        assert_eq!(resp.status, 401, "{}", resp.text());
    }
    let resp = b(login(&wrong)).await;
    assert_eq!(resp.status, 401, "{}", resp.text());
    // The fourth failure in the minute, on the other replica: over the limit of 3.
    let resp = b(login(&wrong)).await;
    assert_eq!(resp.status, 429, "{}", resp.text());
    let resp = a.call(login(&wrong)).await;
    assert_eq!(resp.status, 429, "{}", resp.text());
}

/// A database migrated by a newer visitord is refused at start, naming both versions; an older
/// one is refused without `storage.auto_migrate` and brought up to date with it.
#[test]
fn the_schema_version_is_checked_at_start() {
    if !on_postgres() {
        eprintln!("needs the postgres backend (VISITORD_TEST_BACKEND=postgres): not run");
        return;
    }
    let app = TestApp::new();
    let config = app.config.clone();
    let url = config.storage.postgres_url.clone();
    let latest = visitord::postgres::schema::LATEST;

    execute(
        &url,
        &format!(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({}, 'future', 0)",
            latest + 1
        ),
    );
    let err = visitord::http::AppState::open(config.clone())
        .err()
        .expect("a newer schema is refused")
        .to_string();
    assert!(
        err.contains(&format!(
            "the database schema is version {}, newer than this build supports ({latest}); upgrade visitord",
            latest + 1
        )),
        "{err}"
    );
    // The URL is shown without its password.
    let password = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|userinfo| userinfo.split(':').nth(1))
        .expect("the test URL has a password");
    assert!(!err.contains(password), "{err}");
    assert!(err.contains(":***@"), "{err}");

    execute(&url, "DELETE FROM schema_migrations");
    let mut strict = config.clone();
    strict.storage.auto_migrate = false;
    let err = visitord::http::AppState::open(strict)
        .err()
        .expect("an older schema is refused without auto_migrate")
        .to_string();
    assert!(
        err.contains(&format!(
            "the database schema is version 0, this build needs {latest}; run `visitord migrate`"
        )),
        "{err}"
    );
    // With auto_migrate the missing steps run again (each is idempotent) and the data stays.
    let again = visitord::http::AppState::open(config).expect("migrated again");
    assert!(again.backend.healthy());
}
