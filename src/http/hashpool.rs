//! Password hashing (argon2, deliberately slow) on threads of its own with a bounded queue.
//!
//! Hashing used to share the blocking pool with every store call, so a flood of bogus logins
//! delayed registrations and `/health`. Here it runs on a dedicated `rayon` pool of
//! `auth.hash_concurrency` threads; at most `auth.hash_queue` more jobs may wait for them. A job
//! that finds every slot taken is refused at once with the 429 envelope instead of waiting.

use super::error::ApiError;
use crate::config::AuthConfig;
use crate::time::now_ms;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The hashing pool: threads plus an admission semaphore of `threads + queue` slots.
pub struct HashPool {
    pool: rayon::ThreadPool,
    slots: Arc<Semaphore>,
    capacity: usize,
}

impl HashPool {
    /// A pool sized by `[auth]` `hash_concurrency` and `hash_queue`.
    pub fn new(config: &AuthConfig) -> Result<HashPool, std::io::Error> {
        let threads = config.hash_threads().max(1);
        let capacity = threads.saturating_add(config.hash_queue);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("visitord-hash-{i}"))
            // A panicking job must not abort the process; its caller gets a 500.
            .panic_handler(|_| log::error!("a password hashing job panicked"))
            .build()
            .map_err(|e| std::io::Error::other(format!("cannot start its threads: {e}")))?;
        Ok(HashPool {
            pool,
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
        })
    }

    /// Runs `f` on the pool and waits for its result; a 429 at once when every slot is taken.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.busy())?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let out = f();
            drop(permit);
            let _ = tx.send(out);
        });
        rx.await
            .map_err(|_| ApiError::Internal("a password hashing job ended without result".into()))
    }

    /// The refusal when the pool is full: try again in a second.
    fn busy(&self) -> ApiError {
        ApiError::TooManyRequests {
            limit: u32::try_from(self.capacity).unwrap_or(u32::MAX),
            wait_secs: 1,
            reset_ms: now_ms() + 1_000,
        }
    }

    /// Test seam: fills every free slot with a job that blocks until the returned guard is
    /// dropped, so that the pool is busy and its queue full.
    #[doc(hidden)]
    pub fn occupy(&self) -> Occupied {
        let (release, wait) = mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        while let Ok(permit) = self.slots.clone().try_acquire_owned() {
            let wait = wait.clone();
            self.pool.spawn(move || {
                // Blocks until the guard's sender is dropped (then `recv` fails).
                let _ = wait.lock().map(|rx| rx.recv());
                drop(permit);
            });
        }
        Occupied { _release: release }
    }
}

/// Holds a [`HashPool`] busy until dropped (see [`HashPool::occupy`]).
#[doc(hidden)]
pub struct Occupied {
    _release: mpsc::Sender<()>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize, queue: usize) -> HashPool {
        HashPool::new(&AuthConfig {
            hash_concurrency: threads,
            hash_queue: queue,
            ..AuthConfig::default()
        })
        .unwrap()
    }

    #[actix_web::test]
    async fn runs_jobs_and_refuses_when_full() {
        let pool = pool(1, 1);
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
        let busy = pool.occupy();
        match pool.run(|| 1).await {
            Err(ApiError::TooManyRequests {
                limit, wait_secs, ..
            }) => assert_eq!((limit, wait_secs), (2, 1)),
            other => panic!("{other:?}"),
        }
        drop(busy);
        // The slots come back once the blocking jobs end (bounded wait).
        for _ in 0..500 {
            if let Ok(v) = pool.run(|| 7).await {
                assert_eq!(v, 7);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the pool never freed its slots");
    }

    #[actix_web::test]
    async fn a_panicking_job_is_an_internal_error_not_an_abort() {
        let pool = pool(1, 0);
        let out = pool.run(|| -> u32 { panic!("boom") }).await;
        assert!(matches!(out, Err(ApiError::Internal(_))), "{out:?}");
        assert_eq!(pool.run(|| 1).await.unwrap(), 1);
    }
}
