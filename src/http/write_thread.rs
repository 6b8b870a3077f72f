//! The writes of an in-process store, run one after another on a thread of their own.
//!
//! Every write of the embedded store takes its one writer lock, so writes never run side by
//! side anyway. When each ran on the blocking pool, 64 concurrent requests were 64 threads
//! queueing on that lock: every hand-over woke a sleeping thread (a futex wake and a context
//! switch, during which nobody held the lock), and the store spent about half its write time
//! handing the lock over (`perf`, in `docs/benchmarks.md`). Here the jobs queue on a channel
//! instead, and one thread takes them in arrival order, back to back, without sleeping while
//! there is work. Group commit is unchanged: a write is still answered only once it is durable
//! ([`super::write`] waits for that after the job).
//!
//! A backend whose writes do not share one lock (PostgreSQL, with its pool of connections) keeps
//! running them on the blocking pool ([`crate::domain::Backend::one_writer`]).

use super::error::ApiError;
use crate::domain::Backend;
use crate::store;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

/// One queued write: runs the job against the backend and sends its result back.
type Job = Box<dyn FnOnce(&dyn Backend) + Send>;

/// The write thread and the sending end of its queue.
pub struct WriteThread {
    backend: Arc<dyn Backend>,
    /// `None` once dropped (the thread then finishes the queued jobs and ends).
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl WriteThread {
    /// Starts the thread that runs the writes of `backend`.
    pub fn start(backend: Arc<dyn Backend>) -> std::io::Result<WriteThread> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let on_thread = backend.clone();
        let thread = std::thread::Builder::new()
            .name("visitord-writer".into())
            .spawn(move || {
                for job in queue {
                    job(on_thread.as_ref());
                }
            })?;
        Ok(WriteThread {
            backend,
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the write thread, after every write queued before it, and returns its result
    /// once it is durable. The write is announced to group commit when it is queued, so that a
    /// flush due meanwhile waits for it briefly and covers it too (see `store::commit`).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Backend) -> store::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |backend| {
            // A panicking write must not end the thread that every later write needs; its
            // caller gets a 500.
            let out = catch_unwind(AssertUnwindSafe(|| f(backend)));
            // The ticket is taken here, right after the commit, ending the announcement.
            let durable = backend.durable_announced();
            match out {
                Ok(out) => {
                    let _ = answer.send((out, durable));
                }
                Err(_) => log::error!("a write panicked"),
            }
        });
        self.backend.announce_write();
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            drop(self.backend.durable_announced());
            return Err(ApiError::Internal("the write thread has stopped".into()));
        }
        let (out, durable) = result
            .await
            .map_err(|_| ApiError::Internal("a write ended without an answer".into()))?;
        let out = out?;
        durable.await?;
        Ok(out)
    }
}

impl Drop for WriteThread {
    /// Closes the queue and waits for the thread to finish the writes already queued.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the write thread ended by a panic");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageConfig;
    use crate::store::Store;
    use std::sync::Mutex;

    fn backend() -> (tempfile::TempDir, Arc<dyn Backend>) {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig {
            data_dir: dir.path().join("data"),
            ..StorageConfig::default()
        };
        let store = Store::open(&config, Default::default()).unwrap();
        (dir, Arc::new(store))
    }

    #[actix_web::test]
    async fn runs_writes_in_arrival_order_and_survives_a_panic() {
        let (_dir, backend) = backend();
        let writer = WriteThread::start(backend).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let runs = (0..20).map(|i| {
            let order = order.clone();
            writer.run(move |_| {
                order.lock().unwrap().push(i);
                Ok(i)
            })
        });
        let answers = futures_util::future::join_all(runs).await;
        let answers: Vec<i32> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, (0..20).collect::<Vec<_>>());
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());

        let panicked = writer
            .run(|_| -> store::Result<()> { panic!("a bug") })
            .await;
        assert!(
            matches!(&panicked, Err(ApiError::Internal(m)) if m.contains("without an answer")),
            "{panicked:?}"
        );
        // The thread is still there for the next write.
        assert_eq!(writer.run(|_| Ok(7)).await.unwrap(), 7);
    }
}
