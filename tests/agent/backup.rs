//! `POST /api/v1/visitord.backup`: admins only; a consistent backup while writes go on.

use super::util::assert_success;
use crate::common::TestApp;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use visitord::domain::Registration;
use visitord::time::now_ms;

const BACKUP: &str = "/api/v1/visitord.backup";

/// An app whose backups go to a folder of the returned guard.
fn app() -> (TestApp, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let b = backups.clone();
    let app = TestApp::with_config(move |c| c.backup.dir = b);
    (app, dir, backups)
}

#[actix_web::test]
async fn only_admins_take_backups() {
    let (app, _dir, backups) = app();
    let resp = app.post(BACKUP, &json!({})).await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!({"success": false, "error": "You must be logged in to do this.",
               "status": "error", "message": "You must be logged in to do this."})
    );
    for role in ["livechat-manager", "livechat-agent"] {
        let creds = app.user(&format!("u-{role}"), &[role]);
        let resp = app.post_with(BACKUP, &json!({}), &creds).await;
        assert_eq!(resp.status, 403, "{role}");
        assert_eq!(
            resp.json(),
            json!({"success": false, "error": "User does not have the permissions required for this action [error-unauthorized]"})
        );
    }
    assert!(!backups.exists(), "nothing written");
}

/// On postgres there is no store file: an admin's backup request is refused, saying why.
#[actix_web::test]
async fn backups_are_refused_on_postgres() {
    if !crate::common::on_postgres() {
        return;
    }
    let (app, _dir, backups) = app();
    let admin = app.user("boss", &["admin"]);
    let resp = app.post_with(BACKUP, &json!({}), &admin).await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json(),
        json!({"success": false, "errorType": "error-not-allowed",
               "error": format!("{} [error-not-allowed]", visitord::postgres::NO_BACKUP)})
    );
    assert!(!backups.exists(), "nothing written");
}

#[actix_web::test]
async fn a_backup_taken_during_writes_restores_every_write_acknowledged_before_it() {
    if crate::common::sled_only("backups copy the embedded store's records") {
        return;
    }
    let (app, _dir, backups) = app();
    let admin = app.user("boss", &["admin"]);
    let store = app.sled().clone();
    let stop = Arc::new(AtomicBool::new(false));
    // (token, acknowledged at) of every registration the writers saw succeed.
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (store, stop, acked) = (store.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let token = format!("bk-{w}-{n}");
                    let reg = Registration {
                        token: token.clone(),
                        name: Some(format!("Writer {w} #{n}")),
                        ..Default::default()
                    };
                    store.register_visitor(&reg, now_ms()).expect("register");
                    acked.lock().unwrap().push((token, now_ms()));
                    n += 1;
                }
            })
        })
        .collect();
    // Let the writers get going, then ask for the backup.
    while acked.lock().unwrap().len() < 200 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let asked_at = now_ms();
    let before: Vec<String> = acked
        .lock()
        .unwrap()
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    let resp = app.post_with(BACKUP, &json!({}), &admin).await;
    let body = assert_success(&resp);
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let name = body["backup"]["file"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("visitord-") && name.ends_with(".backup"),
        "{name}"
    );
    let file = backups.join(&name);
    assert_eq!(
        body["backup"]["bytes"],
        json!(std::fs::metadata(&file).unwrap().len())
    );

    let target = visitord::config::StorageConfig {
        data_dir: backups.join("restored"),
        ..Default::default()
    };
    let restored = visitord::backup::restore_file(&file, &target, Vec::new()).unwrap();
    assert_eq!(json!(restored.records), body["backup"]["records"]);
    let r = crate::common::open_closed_store(&target);
    assert!(r.check().unwrap().problems.is_empty());
    for token in &before {
        assert!(
            r.visitor_by_token(token).unwrap().is_some(),
            "{token}, acknowledged before the backup was asked for ({asked_at}), is missing"
        );
    }
    // The admin is in it, with its password hash.
    assert!(r.user_by_username("boss").unwrap().is_some());

    // The generation the backup read is gone from the data dir: one store generation is left.
    let generations = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("store-"))
            .count()
    };
    assert_eq!(generations(&app.config.storage.data_dir), 1);
}
