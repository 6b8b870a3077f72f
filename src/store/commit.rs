//! Group commit: in `sync` mode a write is acknowledged only once a flush that began after it
//! has finished, and every writer waiting at the same moment shares that one flush.
//!
//! Writers take a ticket (a number that only grows) after their transaction commits and wait for
//! `flushed_through >= ticket`. One flusher thread reads the newest ticket, flushes, and publishes
//! that ticket as flushed: every transaction that took a ticket up to it committed before the flush
//! began, so the flush covers it. Throughput therefore grows with concurrency: a flush costs about
//! the same for one write or for a hundred. A failed flush fails exactly the tickets it covered;
//! the next one is tried again by the next waiter.
//!
//! Gathering: a write may be *announced* before it runs ([`GroupCommit::announce`]; the server
//! announces every write as it queues it on the blocking pool). While announced writes have not
//! yet taken their ticket, the flusher waits for them, at most [`GATHER`], so that one flush
//! covers them too (PostgreSQL's `commit_delay`, but only while writes are known to be coming: a
//! lone write is flushed at once). Fewer, larger flushes cost less CPU per write (each flush
//! seals one of sled's I/O buffers and hands it to sled's I/O threads): with 64 clients,
//! writes per flush went from about 7 to 17 (registrations) and from 13 to 28 (page visits),
//! and CPU per write fell about 12 % (`docs/benchmarks.md`).
//!
//! In `periodic` mode writers do not wait; sled's own timer flushes every `flush_every_ms`.

use super::{Result, StoreError};
use crate::config::Durability;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The longest the flusher waits for announced writes before it flushes what it has.
pub const GATHER: Duration = Duration::from_millis(1);

/// What the flusher has done so far.
#[derive(Debug, Clone, Copy, Default)]
struct Flushed {
    /// Every ticket up to this one is on disk.
    ok_through: u64,
    /// The newest flush failed; it covered tickets up to this one.
    failed_through: u64,
}

#[derive(Default)]
struct Requests {
    /// The newest ticket handed out.
    newest: u64,
    /// Writes announced that have not taken their ticket yet.
    announced: u64,
    shutdown: bool,
}

struct Shared {
    requests: Mutex<Requests>,
    wake: Condvar,
    flushed: watch::Sender<Flushed>,
    /// Fault injection for tests: flushes fail as on a full disk while set.
    fail_flushes: AtomicBool,
    /// Told about every flush (metrics); see [`GroupCommit::observe_flushes`].
    observer: OnceLock<FlushObserver>,
    /// How long a flush waits for announced writes ([`GATHER`]; tests set their own).
    gather: Duration,
}

impl Shared {
    fn requests(&self) -> std::sync::MutexGuard<'_, Requests> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the flusher thread calls to make every committed write durable (`Db::flush` in
/// production; tests substitute a flush they hold open or fail).
pub type FlushFn = Box<dyn FnMut() -> sled::Result<()> + Send>;

/// The flush run when the coordinator stops.
pub type FinalFlush = Box<dyn FnOnce() -> sled::Result<()> + Send>;

/// Called by the flusher thread after every flush with the number of writes (tickets) it covered,
/// how long it took and whether it succeeded. It runs on the flusher thread: it must be quick.
pub type FlushObserver = Arc<dyn Fn(u64, Duration, bool) + Send + Sync>;

/// The group-commit coordinator of one store.
pub struct GroupCommit {
    mode: Durability,
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher thread (in `sync` mode). `flush` flushes the store's live database
    /// (it may change under the store's online rewrite, so it is looked up per flush).
    pub fn start(
        flush: impl Fn() -> sled::Result<()> + Send + Sync + 'static,
        mode: Durability,
    ) -> GroupCommit {
        let flush = Arc::new(flush);
        let each = flush.clone();
        Self::start_with(
            Box::new(move || each()),
            mode,
            Box::new(move || flush()),
            GATHER,
        )
    }

    /// Starts group commit with `flush` as the durable flush (the seam of the unit tests);
    /// `last` runs once more when the coordinator is dropped.
    fn start_with(
        flush: FlushFn,
        mode: Durability,
        last: FinalFlush,
        gather: Duration,
    ) -> GroupCommit {
        let (flushed, _) = watch::channel(Flushed::default());
        let shared = Arc::new(Shared {
            requests: Mutex::new(Requests::default()),
            wake: Condvar::new(),
            flushed,
            fail_flushes: AtomicBool::new(false),
            observer: OnceLock::new(),
            gather,
        });
        let flusher = match mode {
            Durability::Sync => {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name("visitord-flusher".into())
                    .spawn(move || flush_loop(flush, last, &shared))
                    .map_err(|e| log::error!("cannot start the flusher thread: {e}"))
                    .ok()
            }
            Durability::Periodic => None,
        };
        GroupCommit {
            mode,
            shared,
            flusher,
        }
    }

    /// Fault injection for tests: while `on`, durable flushes fail as on a full disk.
    pub fn fail_flushes(&self, on: bool) {
        self.shared.fail_flushes.store(on, Ordering::Relaxed);
    }

    /// Sets the observer told about every flush (the first one set stays).
    pub fn observe_flushes(&self, observer: FlushObserver) {
        let _ = self.shared.observer.set(observer);
    }

    /// Whether the newest flush failed (the disk is full or failing): writes are not durable.
    pub fn failing(&self) -> bool {
        let f = *self.shared.flushed.borrow();
        f.failed_through > f.ok_through
    }

    /// Announces a write that is about to run: the flusher waits for its ticket (at most
    /// [`GATHER`]). Each announcement must end in [`GroupCommit::wait_announced`].
    pub fn announce(&self) {
        if self.flusher.is_some() {
            self.shared.requests().announced += 1;
        }
    }

    /// Waits until everything committed before this call is on disk. The ticket is taken at
    /// the call; the returned future waits for the flush that covers it.
    pub fn wait_durable(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        self.ticket(false)
    }

    /// [`GroupCommit::wait_durable`] for an announced write: its announcement ends with its
    /// ticket (also when the write failed: call it whatever the outcome).
    pub fn wait_announced(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        self.ticket(true)
    }

    fn ticket(&self, announced: bool) -> impl Future<Output = Result<()>> + Send + 'static {
        let taken = match (self.mode, &self.flusher) {
            (Durability::Periodic, _) => Err(None),
            (Durability::Sync, None) => Err(Some(StoreError::Flush("no flusher thread".into()))),
            (Durability::Sync, Some(_)) => {
                let rx = self.shared.flushed.subscribe();
                let mut req = self.shared.requests();
                if announced {
                    req.announced = req.announced.saturating_sub(1);
                }
                req.newest += 1;
                self.shared.wake.notify_one();
                Ok((rx, req.newest))
            }
        };
        async move {
            let (mut rx, ticket) = match taken {
                Ok(taken) => taken,
                Err(None) => return Ok(()),
                Err(Some(e)) => return Err(e),
            };
            let outcome = rx
                .wait_for(|f| f.ok_through >= ticket || f.failed_through >= ticket)
                .await
                .map(|f| *f);
            match outcome {
                Ok(f) if f.ok_through >= ticket => Ok(()),
                Ok(_) => Err(StoreError::Flush("the flush of this write failed".into())),
                Err(_) => Err(StoreError::Flush("the flusher stopped".into())),
            }
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.requests().shutdown = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
    }
}

fn flush_loop(mut flush: FlushFn, last: FinalFlush, shared: &Shared) {
    let mut handled = 0u64;
    loop {
        let target = {
            let mut req = shared.requests();
            while req.newest == handled && !req.shutdown {
                req = shared
                    .wake
                    .wait(req)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if req.newest == handled {
                break; // shutdown with nothing pending
            }
            // Announced writes are about to take tickets: wait for them (bounded), so that
            // this flush covers them too.
            let deadline = Instant::now() + shared.gather;
            while req.announced > 0 && !req.shutdown {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                req = shared
                    .wake
                    .wait_timeout(req, left)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            req.newest
        };
        let started = Instant::now();
        let result = if shared.fail_flushes.load(Ordering::Relaxed) {
            Err(sled::Error::Io(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "injected: no space left on device",
            )))
        } else {
            flush()
        };
        if let Some(observe) = shared.observer.get() {
            observe(target - handled, started.elapsed(), result.is_ok());
        }
        handled = target;
        shared.flushed.send_modify(|f| match &result {
            Ok(_) => f.ok_through = target,
            Err(e) => {
                log::error!("flush failed: {e}");
                f.failed_through = target;
            }
        });
    }
    if let Err(e) = last() {
        log::error!("final flush failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    //! Deterministic group-commit tests: the flush is a gate the test holds open and releases,
    //! futures are polled by hand, and every wait is bounded, so a waiter left waiting fails the
    //! test within [`BOUND`] instead of hanging the suite.
    use super::*;
    use std::collections::BTreeSet;
    use std::future::Future;
    use std::pin::Pin;
    use std::time::{Duration, Instant};

    /// Opens (or reopens) a sled database; sled's I/O threads may hold the directory lock a
    /// moment after the last handle is dropped, so a lock error is retried for up to 10 s.
    fn open_db(path: &std::path::Path) -> sled::Db {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match sled::Config::new().path(path).open() {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("lock") && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other.unwrap(),
            }
        }
    }

    /// The longest any wait of these tests may take.
    const BOUND: Duration = Duration::from_secs(5);

    #[derive(Default)]
    struct GateState {
        /// Flushes begun so far.
        started: u64,
        /// Flushes allowed to finish so far.
        released: u64,
        /// Numbers (1-based) of the flushes that fail.
        failing: BTreeSet<u64>,
    }

    /// A flush the test controls: each call counts as begun, then blocks until released.
    #[derive(Default)]
    struct Gate {
        state: Mutex<GateState>,
        cv: Condvar,
    }

    impl Gate {
        fn flush(&self) -> sled::Result<()> {
            let mut s = self.state.lock().unwrap();
            s.started += 1;
            let n = s.started;
            self.cv.notify_all();
            // Bounded, so that a failing test never leaves the flusher (and `Drop`) hanging.
            let deadline = Instant::now() + BOUND;
            while s.released < n && Instant::now() < deadline {
                s = self.cv.wait_timeout(s, BOUND / 50).unwrap().0;
            }
            if s.failing.contains(&n) {
                return Err(sled::Error::Io(std::io::Error::other("injected")));
            }
            Ok(())
        }

        /// Waits (bounded) until `n` flushes have begun; fails the test otherwise.
        fn wait_started(&self, n: u64) {
            let deadline = Instant::now() + BOUND;
            let mut s = self.state.lock().unwrap();
            while s.started < n {
                assert!(Instant::now() < deadline, "flush {n} never began");
                s = self.cv.wait_timeout(s, BOUND / 50).unwrap().0;
            }
        }

        fn started(&self) -> u64 {
            self.state.lock().unwrap().started
        }

        /// Lets flush `n` (and every one before it) finish.
        fn release(&self, n: u64) {
            self.state.lock().unwrap().released = n;
            self.cv.notify_all();
        }

        fn fail(&self, n: u64) {
            self.state.lock().unwrap().failing.insert(n);
        }
    }

    /// Group commit in `sync` mode over a gate.
    fn gated() -> (Arc<Gate>, GroupCommit, tempfile::TempDir) {
        gated_with(GATHER)
    }

    /// [`gated`], waiting up to `gather` for announced writes.
    fn gated_with(gather: Duration) -> (Arc<Gate>, GroupCommit, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let gate = Arc::new(Gate::default());
        let g = gate.clone();
        let gc = GroupCommit::start_with(
            Box::new(move || g.flush()),
            Durability::Sync,
            Box::new(move || db.flush().map(|_| ())),
            gather,
        );
        (gate, gc, dir)
    }

    type Waiter<'a> = Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

    /// Polls once: the waiter takes its ticket (commits) now; `Some` if it is already answered.
    async fn poll_once(w: &mut Waiter<'_>) -> Option<Result<()>> {
        tokio::time::timeout(Duration::ZERO, w).await.ok()
    }

    /// Waits (bounded) for the waiter's answer.
    async fn answer(w: &mut Waiter<'_>, what: &str) -> Result<()> {
        match tokio::time::timeout(BOUND, w).await {
            Ok(r) => r,
            Err(_) => panic!("{what}: not answered within {BOUND:?}"),
        }
    }

    /// `sync` durability on a real store: every write is answered only after an `fdatasync`
    /// of sled's log that came after it (sled's own flush only waited for the buffers'
    /// writeback, which a power loss can undo; `vendor/README.md`). Writes one at a time, so
    /// each needs its own flush.
    #[tokio::test]
    async fn every_acknowledged_write_is_followed_by_a_sync_of_the_log() {
        let (_dir, store) = crate::store::temp_store(&[]);
        for i in 0..20 {
            let before = store.log_syncs();
            let reg = crate::domain::Registration {
                token: format!("synced-{i}"),
                name: Some(format!("Synced {i}")),
                ..Default::default()
            };
            store.register_visitor(&reg, 1_700_000_000_000).unwrap();
            let mut durable: Waiter = Box::pin(store.durable());
            answer(&mut durable, "the write's flush").await.unwrap();
            assert!(
                store.log_syncs() > before,
                "write {i} was acknowledged without an fdatasync of the log after it"
            );
        }
    }

    /// sled keeps a page too large for its log in a file of its own (a blob), which the
    /// vendored sled syncs before the log refers to it: the path works and survives a reopen.
    #[test]
    fn a_value_too_large_for_the_log_is_kept_in_a_blob_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        {
            let db = open_db(dir.path());
            db.insert(b"big", big.clone()).unwrap();
            db.flush().unwrap();
            assert!(db.log_syncs() > 0);
        }
        let blobs = std::fs::read_dir(dir.path().join("blobs")).unwrap().count();
        assert!(blobs > 0, "no blob file was written");
        let db = open_db(dir.path());
        assert_eq!(db.get(b"big").unwrap().as_deref(), Some(&big[..]));
    }

    /// The vendored sled applies a batch in key order and splits the last leaf of a tree after
    /// its last key (`vendor/README.md`), so a tree written in key order (a compaction's copy)
    /// fills its leaves: it must have about one page per 32 rows (fewer than the same rows
    /// written in random order; upstream's middle split left it almost twice as many), and read
    /// back whole after rows are removed from both ends and the store is reopened.
    #[test]
    fn a_tree_written_in_key_order_fills_its_leaves_and_reads_back_after_removals() {
        let rows = 60_000u32;
        let value = |i: u32| format!("{i:08}").repeat(12).into_bytes();
        let write = |dir: &std::path::Path, order: &[u32]| -> u64 {
            let db = open_db(dir);
            for chunk in order.chunks(1_000) {
                let mut batch = sled::Batch::default();
                for &i in chunk {
                    batch.insert(&i.to_be_bytes(), value(i));
                }
                db.apply_batch(batch).unwrap();
            }
            db.flush().unwrap();
            db.pages_in_use()
        };
        let in_order: Vec<u32> = (0..rows).collect();
        // A fixed permutation (multiplication by a unit modulo a prime above `rows`).
        let shuffled: Vec<u32> = (0..60_013u64)
            .map(|i| (i * 7_919 % 60_013) as u32)
            .filter(|&i| i < rows)
            .collect();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ordered_pages = write(a.path(), &in_order);
        let random_pages = write(b.path(), &shuffled);
        // Leaves of 32 keys (the split threshold) need rows / 32 = 1,875 pages, plus a few
        // index nodes and sled's own; halved leaves (upstream's split) took 3,559.
        assert!(
            ordered_pages < u64::from(rows / 30) && ordered_pages < random_pages,
            "in key order {ordered_pages} pages, in random order {random_pages}"
        );
        {
            let db = open_db(a.path());
            for i in (0..2_000).chain(rows - 5_000..rows) {
                db.remove(i.to_be_bytes()).unwrap();
            }
            db.insert(rows.to_be_bytes(), value(rows)).unwrap();
            db.flush().unwrap();
        }
        let db = open_db(a.path());
        let keys: Vec<u32> = db
            .iter()
            .map(|kv| {
                let (k, v) = kv.unwrap();
                let i = u32::from_be_bytes(k.as_ref().try_into().unwrap());
                assert_eq!(v.as_ref(), value(i).as_slice());
                i
            })
            .collect();
        let expected: Vec<u32> = (2_000..rows - 5_000).chain([rows]).collect();
        assert_eq!(keys, expected);
        assert_eq!(
            db.get(rows.to_be_bytes()).unwrap().as_deref(),
            Some(&value(rows)[..])
        );
    }

    /// A tree filled by the vendored sled's bulk load (whole leaves and index nodes written at
    /// once, `vendor/README.md`) must be a tree like any other: every row read back by key, in
    /// both directions and by range; rows added between, before and after the loaded ones;
    /// most rows removed (so that leaves merge into their loaded neighbours); and all of it
    /// again after a reopen. A load into a tree that is not empty, or of keys out of order, is
    /// refused.
    #[test]
    fn a_bulk_loaded_tree_reads_writes_merges_and_reopens_like_any_other() {
        let value = |i: u32| format!("{i:08}").repeat(1 + i as usize % 5).into_bytes();
        // Keys share long prefixes (as the store's do), and leave gaps for later inserts.
        let key = |i: u32| format!("token-{:06}", i * 2).into_bytes();
        let rows = 20_000u32; // 625 leaves: two index levels
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        for n in [0u32, 1, 32, 33] {
            let tree = db.open_tree(format!("small-{n}")).unwrap();
            let mut load = tree.bulk_load().unwrap();
            for i in 0..n {
                load.push(key(i).into(), value(i).into()).unwrap();
            }
            load.finish().unwrap();
            let got: Vec<Vec<u8>> = tree.iter().keys().map(|k| k.unwrap().to_vec()).collect();
            assert_eq!(got, (0..n).map(key).collect::<Vec<_>>(), "{n} rows");
            tree.insert(key(n), value(n)).unwrap();
            assert_eq!(tree.len(), n as usize + 1);
        }
        let tree = db.open_tree("big").unwrap();
        let pages_before = db.pages_in_use();
        let mut load = tree.bulk_load().unwrap();
        for i in 0..rows {
            load.push(key(i).into(), value(i).into()).unwrap();
        }
        assert!(
            load.push(key(5).into(), value(5).into()).is_err(),
            "out of order"
        );
        load.finish().unwrap();
        // Full leaves: 625 of them (the first is the tree's empty leaf) and 3 index nodes under
        // the root (which existed).
        assert_eq!(db.pages_in_use() - pages_before, 624 + 3);
        assert!(tree.bulk_load().is_err(), "not empty");
        let all = |tree: &sled::Tree| -> Vec<(Vec<u8>, Vec<u8>)> {
            tree.iter()
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect()
        };
        let mut expected: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
            (0..rows).map(|i| (key(i), value(i))).collect();
        assert!(all(&tree).into_iter().eq(expected.clone()));
        for i in (0..rows).step_by(97) {
            assert_eq!(tree.get(key(i)).unwrap().as_deref(), Some(&value(i)[..]));
            // the gap after each key is empty
            assert_eq!(tree.get(format!("token-{:06}", i * 2 + 1)).unwrap(), None);
        }
        let backwards: Vec<Vec<u8>> = tree
            .iter()
            .keys()
            .rev()
            .map(|k| k.unwrap().to_vec())
            .collect();
        assert!(backwards.iter().eq(expected.keys().rev()));
        let range: Vec<Vec<u8>> = tree
            .range(key(1_000)..key(1_100))
            .keys()
            .map(|k| k.unwrap().to_vec())
            .collect();
        assert_eq!(range, (1_000..1_100).map(key).collect::<Vec<_>>());
        // Writes between, before and after the loaded rows, then most rows removed.
        for i in (0..rows).step_by(7) {
            let between = format!("token-{:06}", i * 2 + 1).into_bytes();
            tree.insert(between.clone(), value(i)).unwrap();
            expected.insert(between, value(i));
        }
        for k in [b"a".to_vec(), b"zzz".to_vec()] {
            tree.insert(k.clone(), b"edge".to_vec()).unwrap();
            expected.insert(k, b"edge".to_vec());
        }
        for i in (0..rows).filter(|i| i % 10 != 3) {
            tree.remove(key(i)).unwrap();
            expected.remove(&key(i));
        }
        assert!(all(&tree).into_iter().eq(expected.clone()));
        db.flush().unwrap();
        drop(tree);
        drop(db);
        let db = open_db(dir.path());
        let tree = db.open_tree("big").unwrap();
        assert!(all(&tree).into_iter().eq(expected.clone()));
        assert_eq!(
            tree.first().unwrap().map(|(k, _)| k.to_vec()),
            Some(b"a".to_vec())
        );
        assert_eq!(
            tree.last().unwrap().map(|(k, _)| k.to_vec()),
            Some(b"zzz".to_vec())
        );
        for n in [0u32, 1, 32, 33] {
            let small = db.open_tree(format!("small-{n}")).unwrap();
            assert_eq!(small.len(), n as usize + 1);
        }
    }

    #[tokio::test]
    async fn a_write_committed_during_a_flush_is_not_answered_by_it() {
        let (gate, gc, _dir) = gated();
        let mut a: Waiter = Box::pin(gc.wait_durable());
        assert!(
            poll_once(&mut a).await.is_none(),
            "answered before any flush"
        );
        gate.wait_started(1);
        // B commits while flush 1 is running.
        let mut b: Waiter = Box::pin(gc.wait_durable());
        assert!(poll_once(&mut b).await.is_none());
        gate.release(1);
        answer(&mut a, "A after flush 1").await.unwrap();
        gate.wait_started(2);
        assert!(
            poll_once(&mut b).await.is_none(),
            "B was answered by the flush that began before its commit"
        );
        gate.release(2);
        answer(&mut b, "B after flush 2").await.unwrap();
        assert_eq!(gate.started(), 2);
    }

    /// Holds flush 1 open with one waiter, so that the writers the test starts next all commit
    /// before flush 2 begins (the flusher reads the newest ticket when a flush begins).
    async fn hold_first_flush(gate: &Gate, gc: &GroupCommit) {
        let mut w: Waiter = Box::pin(gc.wait_durable());
        assert!(
            poll_once(&mut w).await.is_none(),
            "answered before any flush"
        );
        gate.wait_started(1);
        // The first flush stays open until the caller releases it; this waiter's answer is
        // checked by the other tests.
        drop(w);
    }

    /// Starts `n` writers (each takes its ticket now); none may be answered yet.
    async fn commit<'a>(gc: &'a GroupCommit, n: usize) -> Vec<Waiter<'a>> {
        let mut ws: Vec<Waiter> = (0..n).map(|_| Box::pin(gc.wait_durable()) as _).collect();
        for w in ws.iter_mut() {
            assert!(poll_once(w).await.is_none(), "answered at its commit");
        }
        ws
    }

    #[tokio::test]
    async fn every_waiter_is_answered_by_the_first_flush_that_began_after_its_commit() {
        let (gate, gc, _dir) = gated();
        hold_first_flush(&gate, &gc).await;
        let mut first = commit(&gc, 2).await; // during flush 1: answered by flush 2
        gate.release(1);
        gate.wait_started(2);
        for w in first.iter_mut() {
            assert!(poll_once(w).await.is_none(), "answered by flush 1");
        }
        let mut second = commit(&gc, 3).await; // during flush 2: answered by flush 3
        gate.release(2);
        for w in first.iter_mut() {
            answer(w, "a waiter of flush 2").await.unwrap();
        }
        gate.wait_started(3);
        for w in second.iter_mut() {
            assert!(poll_once(w).await.is_none(), "answered by flush 2");
        }
        let mut third = commit(&gc, 1).await; // during flush 3: answered by flush 4
        gate.release(3);
        for w in second.iter_mut() {
            answer(w, "a waiter of flush 3").await.unwrap();
        }
        gate.wait_started(4);
        assert!(
            poll_once(&mut third[0]).await.is_none(),
            "answered by flush 3"
        );
        gate.release(4);
        answer(&mut third[0], "the waiter of flush 4")
            .await
            .unwrap();
        // Each group shared one flush.
        assert_eq!(gate.started(), 4);
    }

    #[tokio::test]
    async fn a_failed_flush_fails_every_waiter_it_covered_and_the_next_one_is_tried_again() {
        let (gate, gc, _dir) = gated();
        gate.fail(2);
        hold_first_flush(&gate, &gc).await;
        let mut covered = commit(&gc, 3).await; // answered by flush 2, which fails
        gate.release(1);
        gate.wait_started(2);
        let mut later = commit(&gc, 1).await; // answered by flush 3
        gate.release(2);
        for w in covered.iter_mut() {
            match answer(w, "a waiter of the failed flush").await {
                Err(StoreError::Flush(m)) => assert_eq!(m, "the flush of this write failed"),
                other => panic!("a waiter of a failed flush got {other:?}"),
            }
        }
        assert!(gc.failing());
        gate.wait_started(3);
        assert!(poll_once(&mut later[0]).await.is_none());
        gate.release(3);
        answer(&mut later[0], "the waiter after the failure")
            .await
            .unwrap();
        assert!(!gc.failing());
    }

    #[tokio::test]
    async fn a_flush_waits_for_announced_writes_and_covers_them() {
        // A gather as long as the tests' bound: the flush can only begin once the announced
        // writes have taken their tickets.
        let (gate, gc, _dir) = gated_with(BOUND);
        gc.announce();
        gc.announce();
        let mut a: Waiter = Box::pin(gc.wait_durable());
        assert!(poll_once(&mut a).await.is_none());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.started(), 0, "flushed while two writes were announced");
        let mut b: Waiter = Box::pin(gc.wait_announced());
        assert!(poll_once(&mut b).await.is_none());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.started(), 0, "flushed while a write was announced");
        let mut c: Waiter = Box::pin(gc.wait_announced());
        gate.wait_started(1);
        gate.release(1);
        for (w, what) in [(&mut a, "a"), (&mut b, "b"), (&mut c, "c")] {
            answer(w, what).await.unwrap();
        }
        assert_eq!(gate.started(), 1, "one flush covered the three writes");
    }

    #[tokio::test]
    async fn an_announcement_that_never_ends_only_delays_the_flush() {
        let (gate, gc, _dir) = gated();
        gc.announce();
        let mut a: Waiter = Box::pin(gc.wait_durable());
        gate.wait_started(1);
        gate.release(1);
        answer(&mut a, "a after the gather").await.unwrap();
    }

    #[tokio::test]
    async fn periodic_mode_answers_at_once_without_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let gate = Arc::new(Gate::default());
        let g = gate.clone();
        let gc = GroupCommit::start_with(
            Box::new(move || g.flush()),
            Durability::Periodic,
            Box::new(move || db.flush().map(|_| ())),
            GATHER,
        );
        let mut w: Waiter = Box::pin(gc.wait_durable());
        assert!(matches!(poll_once(&mut w).await, Some(Ok(()))));
        assert_eq!(gate.started(), 0);
    }
}
