//! The one shape of every background job (history pruner, metrics sampler, eraser, scheduled
//! backups): a named thread that runs a task, sleeps an interval, and stops as soon as its handle
//! is dropped (the drop waits for a task in progress to end).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// When the task first runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum First {
    /// At once, then every interval.
    Now,
    /// After one interval.
    AfterInterval,
}

/// A running background job; stops when dropped.
pub struct Periodic {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    /// Starts thread `name` running `task` every `interval`. A thread that cannot be started is
    /// logged (the server serves on without the job).
    pub fn spawn(
        name: &str,
        interval: Duration,
        first: First,
        mut task: impl FnMut() + Send + 'static,
    ) -> Periodic {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("visitord-{name}"))
            .spawn(move || {
                if first == First::Now {
                    task();
                }
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    task();
                }
            })
            .map_err(|e| log::error!("cannot start the {name} thread: {e}"))
            .ok();
        Periodic {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Periodic {
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn runs_on_its_interval_and_stops_when_dropped() {
        for (first, at_least) in [(First::Now, 1), (First::AfterInterval, 0)] {
            let runs = Arc::new(AtomicUsize::new(0));
            let counted = runs.clone();
            let job = Periodic::spawn("test", Duration::from_secs(3600), first, move || {
                counted.fetch_add(1, Ordering::SeqCst);
            });
            // The first run (if any) happens before the thread waits; dropping ends the wait.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while runs.load(Ordering::SeqCst) < at_least && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(job);
            assert_eq!(runs.load(Ordering::SeqCst), at_least, "{first:?}");
        }
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let job = Periodic::spawn(
            "test",
            Duration::from_millis(5),
            First::AfterInterval,
            move || {
                counted.fetch_add(1, Ordering::SeqCst);
            },
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(job);
        assert!(runs.load(Ordering::SeqCst) >= 3);
    }
}
