//! `history.roomless_ttl_days`: the expiry a room-less entry of an unregistered token gets, and
//! `0` = never.

use super::util::*;
use crate::common::TestApp;
use visitord::time::{now_ms, DAY_MS};

#[actix_web::test]
async fn roomless_ttl_days_sets_the_expiry_and_zero_means_never() {
    for days in [2u64, 0] {
        let app = TestApp::with_config(|c| c.history.roomless_ttl_days = days);
        let resp = app
            .post(
                PAGE_VISITED,
                &page_body("anon", None, "T", "https://x.example/"),
            )
            .await;
        assert_success(&resp);
        let stored = app.backend().page_visits_of_token("anon").expect("read");
        assert_eq!(stored.len(), 1);
        let p = &stored[0];
        let store = app.backend();
        if days == 0 {
            assert_eq!(p.expire_at, None, "0 = never expires");
            // Even a thousand days on, the pruner keeps it.
            store
                .prune_history(now_ms() + 1000 * DAY_MS, None)
                .expect("prune");
            assert_eq!(store.counts().page_visits, 1);
        } else {
            assert_eq!(p.expire_at, Some(p.ts + 2 * DAY_MS));
            store
                .prune_history(p.ts + 2 * DAY_MS - 1, None)
                .expect("prune");
            assert_eq!(store.counts().page_visits, 1, "kept until it expires");
            store
                .prune_history(p.ts + 2 * DAY_MS + 1, None)
                .expect("prune");
            assert_eq!(store.counts().page_visits, 0, "pruned once expired");
        }
    }
}
