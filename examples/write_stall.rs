//! Measures what a serving store does in the background, on an existing store: the online rewrite
//! (`Store::rewrite`, the GDPR erasure on disk) or a backup (`backup_schedule::take`, which reads
//! the generation a rewrite replaced): its duration and the longest any write waited while it
//! ran, with writers running throughout.
//!
//! cargo run --release --example write_stall -- DATA_DIR [WRITERS] [--backup BACKUP_DIR]
//!
//! Make a store first, e.g. `visitord demo-data --visitors 100000 --data-dir /tmp/x`. Each writer
//! thread registers visitors back to back; the report gives the longest single write before and
//! during the operation, and its own numbers (copy time, time writers were held, backup size).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use visitord::config::StorageConfig;
use visitord::domain::Registration;
use visitord::store::Store;

fn main() -> Result<(), String> {
    // The rewrite logs how long it held writers (`RUST_LOG=info`).
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: write_stall DATA_DIR [WRITERS] [--backup BACKUP_DIR]")?;
    let writers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(2);
    let backup_dir = match (args.next().as_deref(), args.next()) {
        (Some("--backup"), Some(dir)) => Some(std::path::PathBuf::from(dir)),
        (None, _) => None,
        _ => return Err("usage: write_stall DATA_DIR [WRITERS] [--backup BACKUP_DIR]".into()),
    };
    let config = StorageConfig {
        data_dir: dir.into(),
        ..Default::default()
    };
    let store = Store::open(&config, Vec::new()).map_err(|e| e.to_string())?;
    println!(
        "store: {} visitors, {} MB on disk",
        store.visitor_count().map_err(|e| e.to_string())?,
        store.size_on_disk().unwrap_or(0) / 1_000_000
    );
    let rewriting = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let (report, worst) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (store, rewriting, done) = (&store, &rewriting, &done);
                scope.spawn(move || {
                    let (mut before, mut during, mut n) = (Duration::ZERO, Duration::ZERO, 0u64);
                    let mut i = 0u64;
                    while !done.load(Ordering::Acquire) {
                        let reg = Registration {
                            token: format!("stall-{w}-{i}"),
                            name: Some(format!("Stall {w} {i}")),
                            ..Default::default()
                        };
                        let was = rewriting.load(Ordering::Acquire);
                        let t = Instant::now();
                        let result = store.register_visitor(&reg, 1_700_000_000_000);
                        let took = t.elapsed();
                        if let Err(e) = result {
                            eprintln!("write failed: {e}");
                        }
                        if was || rewriting.load(Ordering::Acquire) {
                            during = during.max(took);
                            n += 1;
                        } else {
                            before = before.max(took);
                        }
                        i += 1;
                    }
                    (before, during, n)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(2));
        rewriting.store(true, Ordering::Release);
        let started = Instant::now();
        let report = match &backup_dir {
            None => store
                .rewrite()
                .map(|r| {
                    format!(
                        "rewrite: {:.2} s, writers held {} ms, {} keys caught up, {} MB -> {} MB",
                        r.took.as_secs_f64(),
                        r.stall.as_millis(),
                        r.caught_up,
                        r.before / 1_000_000,
                        r.after / 1_000_000
                    )
                })
                .map_err(|e| e.to_string()),
            Some(dir) => {
                let config = visitord::config::BackupConfig {
                    dir: dir.clone(),
                    interval_hours: 0.0,
                    keep: 0,
                };
                visitord::backup_schedule::take(&store, &config).map(|t| {
                    format!(
                        "backup: {:.2} s in all, {} records, {} MB in {}",
                        started.elapsed().as_secs_f64(),
                        t.written.records,
                        t.written.bytes / 1_000_000,
                        t.file.display()
                    )
                })
            }
        };
        rewriting.store(false, Ordering::Release);
        std::thread::sleep(Duration::from_millis(500));
        done.store(true, Ordering::Release);
        let worst: Vec<_> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        (report, worst)
    });
    let report = report?;
    let before = worst.iter().map(|w| w.0).max().unwrap_or_default();
    let during = worst.iter().map(|w| w.1).max().unwrap_or_default();
    let writes: u64 = worst.iter().map(|w| w.2).sum();
    println!("{report}");
    println!(
        "{writers} writers: longest write before {} ms, during it {} ms ({writes} writes during it)",
        before.as_millis(),
        during.as_millis()
    );
    Ok(())
}
