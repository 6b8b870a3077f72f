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
//! In `periodic` mode writers do not wait; sled's own timer flushes every `flush_every_ms`.

use super::{Result, StoreError};
use crate::config::Durability;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use tokio::sync::watch;

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
    shutdown: bool,
}

struct Shared {
    requests: Mutex<Requests>,
    wake: Condvar,
    flushed: watch::Sender<Flushed>,
    /// Fault injection for tests: flushes fail as on a full disk while set.
    fail_flushes: AtomicBool,
}

impl Shared {
    fn requests(&self) -> std::sync::MutexGuard<'_, Requests> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

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
        flush: impl Fn() -> sled::Result<()> + Send + 'static,
        mode: Durability,
    ) -> GroupCommit {
        let (flushed, _) = watch::channel(Flushed::default());
        let shared = Arc::new(Shared {
            requests: Mutex::new(Requests::default()),
            wake: Condvar::new(),
            flushed,
            fail_flushes: AtomicBool::new(false),
        });
        let flusher = match mode {
            Durability::Sync => {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name("visitord-flusher".into())
                    .spawn(move || flush_loop(&flush, &shared))
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

    /// Whether the newest flush failed (the disk is full or failing): writes are not durable.
    pub fn failing(&self) -> bool {
        let f = *self.shared.flushed.borrow();
        f.failed_through > f.ok_through
    }

    /// Waits until everything committed before this call is on disk.
    pub async fn wait_durable(&self) -> Result<()> {
        if self.mode == Durability::Periodic {
            return Ok(());
        }
        if self.flusher.is_none() {
            return Err(StoreError::Flush("no flusher thread".into()));
        }
        let mut rx = self.shared.flushed.subscribe();
        let ticket = {
            let mut req = self.shared.requests();
            req.newest += 1;
            self.shared.wake.notify_one();
            req.newest
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

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.requests().shutdown = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
    }
}

fn flush_loop(flush: &dyn Fn() -> sled::Result<()>, shared: &Shared) {
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
            req.newest
        };
        let result = if shared.fail_flushes.load(Ordering::Relaxed) {
            Err(sled::Error::Io(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "injected: no space left on device",
            )))
        } else {
            flush()
        };
        handled = target;
        shared.flushed.send_modify(|f| match &result {
            Ok(_) => f.ok_through = target,
            Err(e) => {
                log::error!("flush failed: {e}");
                f.failed_through = target;
            }
        });
    }
    if let Err(e) = flush() {
        log::error!("final flush failed: {e}");
    }
}
