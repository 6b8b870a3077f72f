//! `visitord serve`: open the store, print the launch summary, serve until SIGINT/SIGTERM,
//! then finish in-flight requests and flush.

use crate::config::{HistoryConfig, Loaded};
use crate::http::{build_app, AppState};
use crate::store::Store;
use crate::time::{days, now_ms};
use actix_web::HttpServer;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Blocking-pool threads per worker (see `serve`).
const BLOCKING_THREADS_PER_WORKER: usize = 4;

/// Runs the server to completion. Errors are one line a person can act on.
pub async fn serve(loaded: Loaded) -> Result<(), String> {
    let config = loaded.config.clone();
    let state =
        AppState::open(config.clone()).map_err(|e| format!("cannot open the store: {e}"))?;
    let admin_note = crate::admin::ensure_first_admin(
        &state.store,
        &config.storage.data_dir,
        std::env::var("VISITORD_ADMIN_PASSWORD").ok(),
    )?;
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let app_state = state.clone();
    let server = HttpServer::new(move || build_app(app_state.clone()))
        .workers(workers)
        // Store calls that may take a while run on the blocking pool; the writer lock and the
        // search slots bound how many can run at once, so a few threads per worker suffice
        // (actix's default of 512 per process only adds stacks and malloc arenas: RSS).
        .worker_max_blocking_threads(BLOCKING_THREADS_PER_WORKER)
        .max_connections(config.server.max_connections)
        .client_request_timeout(Duration::from_millis(config.server.request_timeout_ms))
        .shutdown_timeout(30)
        .bind(&config.server.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.bind))?;
    let urls: Vec<String> = server
        .addrs()
        .iter()
        .map(|a| format!("http://{a}"))
        .collect();
    // From counters: walking the trees would delay the start on a large store.
    let visitors = state
        .store
        .visitor_count()
        .map_err(|e| format!("cannot read the store: {e}"))?;
    println!("visitord {}", env!("CARGO_PKG_VERSION"));
    println!(
        "  config:     {}",
        loaded
            .file
            .as_ref()
            .map_or("none (built-in defaults)".to_string(), |p| p
                .display()
                .to_string())
    );
    println!("  data dir:   {}", config.storage.data_dir.display());
    if let Some(warning) = crate::store::layout::exposure_warning(&config.storage.data_dir) {
        println!("  warning:    {warning}");
    }
    println!("  listening:  {}", urls.join(", "));
    println!("  durability: {}", config.storage.durability.as_str());
    let users = state.store.user_count();
    println!("  store:      {visitors} visitors, {users} users");
    if let Some(note) = admin_note {
        println!("  admin:      {note}");
    }
    let pruner = Pruner::spawn(state.store.clone(), &config.history);
    let eraser = crate::eraser::Eraser::spawn(state.store.clone(), &config.storage);
    let result = server.run().await;
    drop(eraser);
    drop(pruner);
    state
        .store
        .flush()
        .map_err(|e| format!("final flush failed: {e}"))?;
    log::info!("stopped cleanly");
    result.map_err(|e| format!("server error: {e}"))
}

/// The background task that deletes expired and out-of-retention navigation history.
/// Runs once at start, then every `prune_interval_secs`; stops when dropped.
pub struct Pruner {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Pruner {
    pub fn spawn(store: Store, history: &HistoryConfig) -> Pruner {
        let interval = Duration::from_secs(history.prune_interval_secs.max(1));
        let retention = match history.retention_days {
            0 => None,
            n => Some(days(n)),
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("visitord-pruner".into())
            .spawn(move || loop {
                match store.prune_history(now_ms(), retention) {
                    Ok(0) => {}
                    Ok(n) => log::info!("pruned {n} navigation history entries"),
                    Err(e) => log::error!("pruning navigation history failed: {e}"),
                }
                match store.prune_sessions(now_ms()) {
                    Ok(0) => {}
                    Ok(n) => log::info!("removed {n} expired login sessions"),
                    Err(e) => log::error!("removing expired sessions failed: {e}"),
                }
                match stopped.recv_timeout(interval) {
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    _ => break,
                }
            })
            .map_err(|e| log::error!("cannot start the pruner: {e}"))
            .ok();
        Pruner {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Pruner {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::history::PageVisitInput;
    use crate::time::DAY_MS;

    #[test]
    fn the_pruner_deletes_expired_history_in_the_background() {
        let (_dir, store) = crate::store::temp_store(&[]);
        let input = PageVisitInput {
            token: "anon".into(),
            rid: None,
            title: "T".into(),
            change: "url".into(),
            href: "h".into(),
        };
        // Stored long ago with a one-day TTL: already expired.
        store
            .record_page_visit(&input, 1_000, Some(DAY_MS))
            .unwrap();
        assert_eq!(store.counts().page_visits, 1);
        let pruner = Pruner::spawn(store.clone(), &HistoryConfig::default());
        let mut left = 1;
        for _ in 0..200 {
            left = store.counts().page_visits;
            if left == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        drop(pruner);
        assert_eq!(left, 0, "the pruner did not delete the expired entry");
    }
}
