//! Measures the online rewrite (`Store::rewrite`, the GDPR erasure on disk) on an existing store:
//! its duration and the longest any write waited while it ran, with writers running throughout.
//!
//! cargo run --release --example rewrite_stall -- DATA_DIR [WRITERS]
//!
//! Make a store first, e.g. `visitord demo-data --visitors 100000 --data-dir /tmp/x`. Each writer
//! thread registers visitors back to back; the report gives the longest single write before and
//! during the rewrite, and the rewrite's own numbers (copy time, time writers were held).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use visitord::config::StorageConfig;
use visitord::store::visitors::Registration;
use visitord::store::Store;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: rewrite_stall DATA_DIR [WRITERS]")?;
    let writers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(2);
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
        let report = store.rewrite();
        rewriting.store(false, Ordering::Release);
        std::thread::sleep(Duration::from_millis(500));
        done.store(true, Ordering::Release);
        let worst: Vec<_> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        (report, worst)
    });
    let r = report.map_err(|e| e.to_string())?;
    let before = worst.iter().map(|w| w.0).max().unwrap_or_default();
    let during = worst.iter().map(|w| w.1).max().unwrap_or_default();
    let writes: u64 = worst.iter().map(|w| w.2).sum();
    println!(
        "rewrite: {:.2} s, writers held {} ms, {} keys caught up, {} MB -> {} MB",
        r.took.as_secs_f64(),
        r.stall.as_millis(),
        r.caught_up,
        r.before / 1_000_000,
        r.after / 1_000_000
    );
    println!(
        "{writers} writers: longest write before {} ms, during the rewrite {} ms ({writes} writes during it)",
        before.as_millis(),
        during.as_millis()
    );
    Ok(())
}
