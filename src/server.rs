//! `visitord serve`: open the store, print the launch summary, serve until SIGINT/SIGTERM,
//! then finish in-flight requests and flush.

use crate::config::{HistoryConfig, Loaded, StorageBackend};
use crate::domain::{Backend, Counts};
use crate::http::{build_app, AppState};
use crate::metrics::Metrics;
use crate::periodic::{First, Periodic};
use crate::store::Store;
use crate::time::{days, now_ms};
use actix_web::HttpServer;
use std::sync::Arc;
use std::time::Duration;

/// Blocking-pool threads per worker (see `serve`).
const BLOCKING_THREADS_PER_WORKER: usize = 4;

/// Runs the server to completion. Errors are one line a person can act on.
pub async fn serve(loaded: Loaded) -> Result<(), String> {
    let config = loaded.config.clone();
    let state =
        AppState::open(config.clone()).map_err(|e| format!("cannot open the store: {e}"))?;
    let postgres = config.storage.backend == StorageBackend::Postgres;
    if postgres && config.backup.interval_hours > 0.0 {
        return Err(format!(
            "backup.interval_hours is set, but with storage.backend = \"postgres\" {}",
            crate::postgres::NO_BACKUP
        ));
    }
    if postgres {
        // Where a generated first-admin password goes (the store itself is in the database).
        std::fs::create_dir_all(&config.storage.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", config.storage.data_dir.display()))?;
    }
    let admin_note = crate::admin::ensure_first_admin(
        state.backend.as_ref(),
        &config.storage.data_dir,
        std::env::var("VISITORD_ADMIN_PASSWORD").ok(),
    )?;
    crate::admin::forget_stale_initial_password(state.backend.as_ref(), &config.storage.data_dir)?;
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
        .disable_signals()
        .bind(&config.server.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.bind))?;
    let urls: Vec<String> = server
        .addrs()
        .iter()
        .map(|a| format!("http://{a}"))
        .collect();
    // From counters: walking the trees would delay the start on a large store.
    let visitors = state
        .backend
        .visitor_count()
        .map_err(|e| format!("cannot read the store: {e}"))?;
    let format = config.log.format;
    let line = |text: String| crate::logging::summary(format, &text);
    line(format!("visitord {}", env!("CARGO_PKG_VERSION")));
    line(format!(
        "  config:     {}",
        loaded
            .file
            .as_ref()
            .map_or("none (built-in defaults)".to_string(), |p| p
                .display()
                .to_string())
    ));
    // The URL without its password: never log a secret.
    let shown_url =
        crate::config::redact_postgres_url(&config.storage.postgres_url().unwrap_or_default());
    if postgres {
        line(format!(
            "  database:   postgres {} (pool {}, TLS {}, schema {})",
            shown_url,
            config.storage.postgres_pool_size,
            config.storage.postgres_tls.as_str(),
            crate::postgres::schema::LATEST
        ));
    } else {
        line(format!(
            "  data dir:   {}",
            config.storage.data_dir.display()
        ));
        if let Some(warning) = crate::store::exposure_warning(&config.storage.data_dir) {
            line(format!("  warning:    {warning}"));
        }
    }
    line(format!("  listening:  {}", urls.join(", ")));
    if postgres {
        line("  durability: the database's (answered after COMMIT)".to_string());
    } else if config.storage.unsafe_ack_before_flush {
        line(format!(
            "  durability: {} (UNSAFE: acknowledged before flush, testing only)",
            config.storage.durability.as_str()
        ));
    } else {
        line(format!(
            "  durability: {}",
            config.storage.durability.as_str()
        ));
    }
    let users = state
        .backend
        .user_count()
        .map_err(|e| format!("cannot read the store: {e}"))?;
    line(format!("  store:      {visitors} visitors, {users} users"));
    if let Some(note) = admin_note {
        line(format!("  admin:      {note}"));
    }
    let store = if postgres {
        format!(
            "database {}: pool {} connections, TLS {}, statement timeout {} ms",
            shown_url,
            config.storage.postgres_pool_size,
            config.storage.postgres_tls.as_str(),
            config.storage.statement_timeout_ms
        )
    } else {
        format!("page cache {} MiB", config.storage.cache_mb)
    };
    log::info!(
        "serving with {workers} workers, at most {} connections per worker, request timeout {} ms, \
         {store}",
        config.server.max_connections,
        config.server.request_timeout_ms,
    );
    // On postgres only the replica holding the pruner's lease row prunes.
    let lease = state.postgres.clone().map(|pg| {
        let holder = crate::model::ids::new_id();
        let ttl = i64::try_from(config.history.prune_interval_secs.saturating_mul(2_000))
            .unwrap_or(i64::MAX)
            .saturating_add(60_000);
        Box::new(move || match pg.try_lease("pruner", &holder, ttl) {
            Ok(held) => held,
            Err(e) => {
                log::error!("cannot take the pruner's lease: {e}");
                false
            }
        }) as Lease
    });
    let pruner = Pruner::spawn(
        state.backend.clone(),
        &config.history,
        state.metrics.clone(),
        lease,
    );
    let sampler = state
        .metrics
        .enabled()
        .then(|| StoreSampler::spawn(store_sample(&state), state.metrics.clone()));
    // The eraser and backups work on the embedded store's files.
    let sled = state.store.clone();
    let eraser = sled
        .clone()
        .map(|store| crate::eraser::Eraser::spawn(store, &config.storage));
    let merger = sled.clone().map(Merger::spawn);
    let backups = sled.map(|store| crate::backup_schedule::Scheduler::spawn(store, &config.backup));
    let server = server.run();
    // SIGINT and SIGTERM both stop gracefully: stop accepting, finish in-flight requests (up to
    // the shutdown timeout), then flush below. (actix's own handling force-stops on SIGINT.)
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        let signal = shutdown_signal().await;
        log::info!("{signal} received: finishing in-flight requests, then stopping");
        handle.stop(true).await;
    });
    let result = server.await;
    drop(backups);
    drop(merger);
    drop(eraser);
    drop(sampler);
    drop(pruner);
    state
        .backend
        .flush()
        .map_err(|e| format!("final flush failed: {e}"))?;
    log::info!("stopped cleanly");
    result.map_err(|e| format!("server error: {e}"))
}

/// Waits for SIGINT or SIGTERM; names the one that came. If the handlers cannot be installed,
/// waits forever (the process then stops only when killed) after logging why.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        (Err(e), _) | (_, Err(e)) => {
            log::error!("cannot handle SIGINT/SIGTERM: {e}");
            std::future::pending().await
        }
    }
}

/// One sample of the store for the metrics: its record counts and its bytes on disk, or `None`
/// when it cannot be taken now (the sampled gauges then keep their last values; the cause is
/// logged).
pub type Sample = Box<dyn FnMut() -> Option<(Counts, u64)> + Send>;

/// How the store of `state` is sampled: sled walks its trees and measures its data dir; postgres
/// counts each table and asks `pg_database_size` ([`crate::postgres::PgStore::sample`]).
pub fn store_sample(state: &AppState) -> Sample {
    if let Some(pg) = state.postgres.clone() {
        return Box::new(move || {
            pg.sample()
                .map_err(|e| log::warn!("cannot sample the database for the metrics: {e}"))
                .ok()
        });
    }
    let store = state.store.clone();
    Box::new(move || {
        let store = store.as_ref()?;
        let disk = store.size_on_disk().unwrap_or_else(|e| {
            log::warn!("cannot measure the store's size on disk: {e}");
            0
        });
        match store.try_counts() {
            Ok(counts) => Some((counts, disk)),
            Err(e) => {
                log::warn!("cannot count the records for the metrics: {e}");
                None
            }
        }
    })
}

/// The background thread that samples the store's counts and size on disk for the metrics
/// every [`crate::metrics::STORE_SAMPLE_SECS`] (once at start), so that a scrape never walks a
/// tree nor counts a table. Stops when dropped.
pub struct StoreSampler {
    _job: Periodic,
}

impl StoreSampler {
    /// Starts taking `sample` into `metrics`.
    pub fn spawn(mut sample: Sample, metrics: Arc<Metrics>) -> StoreSampler {
        let interval = Duration::from_secs(crate::metrics::STORE_SAMPLE_SECS);
        StoreSampler {
            _job: Periodic::spawn("sampler", interval, First::Now, move || {
                if let Some((counts, disk)) = sample() {
                    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
                    metrics.set_store_sample(counts, disk, now);
                }
            }),
        }
    }
}

/// The background thread that merges the search index's pending rows into its posting chunks
/// (see `store::pending`), a bounded batch per transaction, so that the pending list stays short
/// and registrations stay on their fast path. Stops when dropped.
///
/// It looks every [`Merger::INTERVAL`]: while a full batch is pending it merges (up to
/// [`Merger::BATCHES`] batches a look, so that a stop waits for little), and every
/// [`Merger::SWEEP_EVERY`] looks it also merges a last partial batch. So under sustained
/// registrations it keeps up in full batches (a merge is planned without the writer lock, so
/// writers go on meanwhile), and an idle store's pending rows are merged within about a second.
/// Writers merge inline only when it falls far behind (`store::MERGE_INLINE_AT`).
pub struct Merger {
    _job: Periodic,
}

impl Merger {
    /// How often the merger looks at the pending list.
    pub const INTERVAL: Duration = Duration::from_millis(100);
    /// At most this many batches per look.
    const BATCHES: usize = 4;
    /// Every this many looks, a partial batch is merged too.
    const SWEEP_EVERY: u32 = 10;

    /// Starts merging `store`'s pending rows.
    pub fn spawn(store: Store) -> Merger {
        let batch = crate::store::MERGE_BATCH;
        let mut looks = 0u32;
        Merger {
            _job: Periodic::spawn("merger", Self::INTERVAL, First::AfterInterval, move || {
                looks = looks.wrapping_add(1);
                let sweep = looks.is_multiple_of(Self::SWEEP_EVERY);
                for _ in 0..Self::BATCHES {
                    let pending = store.pending_count();
                    if pending == 0 || (pending < batch && !sweep) {
                        break;
                    }
                    if let Err(e) = store.merge_pending(batch) {
                        log::error!("merging the search index's pending rows failed: {e}");
                        break;
                    }
                }
            }),
        }
    }
}

/// Whether this process holds a background job's lease now (taking or renewing it).
pub type Lease = Box<dyn Fn() -> bool + Send>;

/// The background task that deletes expired and out-of-retention navigation history.
/// Runs once at start, then every `prune_interval_secs`; stops when dropped.
pub struct Pruner {
    _job: Periodic,
}

impl Pruner {
    /// Starts the pruner; what it deletes is counted in `metrics`. With a `lease` (replicas
    /// sharing one database), a run prunes only when the lease says this process holds it.
    pub fn spawn(
        store: Arc<dyn Backend>,
        history: &HistoryConfig,
        metrics: Arc<Metrics>,
        lease: Option<Lease>,
    ) -> Pruner {
        let interval = Duration::from_secs(history.prune_interval_secs.max(1));
        let retention = match history.retention_days {
            0 => None,
            n => Some(days(n)),
        };
        Pruner {
            _job: Periodic::spawn("pruner", interval, First::Now, move || {
                if lease.as_ref().is_some_and(|held| !held()) {
                    log::debug!("pruner: another replica holds the lease");
                    return;
                }
                let history = match store.prune_history(now_ms(), retention) {
                    Ok(0) => 0,
                    Ok(n) => {
                        log::info!("pruned {n} navigation history entries");
                        n
                    }
                    Err(e) => {
                        log::error!("pruning navigation history failed: {e}");
                        0
                    }
                };
                let sessions = match store.prune_sessions(now_ms()) {
                    Ok(0) => 0,
                    Ok(n) => {
                        log::info!("removed {n} expired login sessions");
                        n
                    }
                    Err(e) => {
                        log::error!("removing expired sessions failed: {e}");
                        0
                    }
                };
                metrics.pruned(history, sessions);
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PageVisitInput;
    use crate::store::Store;
    use crate::time::DAY_MS;

    #[test]
    fn the_pruner_deletes_expired_history_in_the_background() {
        let (_dir, store) = crate::store::temp_store(&[]);
        let input = PageVisitInput::url_change("anon", None, "T", "h");
        // Stored long ago with a one-day TTL: already expired.
        store
            .record_page_visit(&input, 1_000, Some(DAY_MS))
            .unwrap();
        assert_eq!(store.counts().page_visits, 1);
        let pruner = Pruner::spawn(
            Arc::new(store.clone()),
            &HistoryConfig::default(),
            Arc::new(Metrics::new(true)),
            None,
        );
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

    #[test]
    fn the_merger_moves_pending_search_rows_into_the_chunks_in_the_background() {
        use crate::domain::{Registration, SearchQuery};
        let (_dir, store) = crate::store::temp_store(&[]);
        for i in 0..(crate::store::MERGE_BATCH + 10) {
            let reg = Registration::of_token(&format!("tok-{i}")).named("Pending Person");
            store.register_visitor(&reg, 1).unwrap();
        }
        assert_eq!(store.pending_count(), crate::store::MERGE_BATCH + 10);
        let merger = Merger::spawn(store.clone());
        let mut left = usize::MAX;
        for _ in 0..400 {
            left = store.pending_count();
            if left == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        drop(merger);
        assert_eq!(left, 0, "the merger left rows pending");
        assert_eq!(store.check().unwrap().problems, Vec::<String>::new());
        let page = store
            .search_visitors(&SearchQuery {
                term: "pending person".into(),
                sort: vec![],
                offset: 0,
                count: Some(1),
            })
            .unwrap();
        assert_eq!(page.total, crate::store::MERGE_BATCH + 10);
    }

    /// Waits (bounded, 10 s) until the store holds `n` page visits.
    fn wait_for_visits(store: &Store, n: usize, what: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.counts().page_visits != n {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {} page visits, expected {n}",
                store.counts().page_visits
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_pruner_applies_retention_days_again_every_prune_interval_secs() {
        let (_dir, store) = crate::store::temp_store(&[]);
        // A registered token: its history never expires by the room-less TTL, only by retention.
        let reg = crate::domain::Registration::of_token("kept");
        store.register_visitor(&reg, now_ms()).unwrap();
        let input = PageVisitInput::url_change("kept", None, "T", "h");
        let now = now_ms();
        store
            .record_page_visit(&input, now - 2 * DAY_MS, None)
            .unwrap();
        store
            .record_page_visit(&input, now - DAY_MS / 2, None)
            .unwrap();
        let history = HistoryConfig {
            retention_days: 1,
            prune_interval_secs: 1,
            ..HistoryConfig::default()
        };
        let pruner = Pruner::spawn(
            Arc::new(store.clone()),
            &history,
            Arc::new(Metrics::new(true)),
            None,
        );
        // The first run (at start) deletes what is older than a day, keeps the rest.
        wait_for_visits(&store, 1, "after the first run");
        // Only a later run deletes an entry stored after the first: the pruner runs again
        // within a second (with the default of an hour, this would time out).
        store
            .record_page_visit(&input, now - 3 * DAY_MS, None)
            .unwrap();
        wait_for_visits(&store, 1, "after a later run");
        drop(pruner);
        let left = store.page_visits_of_token("kept").unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].ts, now - DAY_MS / 2);
    }
}
