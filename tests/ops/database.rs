//! The postgres backend when its database goes away: `/health` (readiness) says 503, `/health/live`
//! still 200, and requests that need the database fail with a 500 whose body tells nothing of
//! the cause (it is logged). On sled there is no database: the test says so and returns.

use crate::common::{on_postgres, TestApp};
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
