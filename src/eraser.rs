//! The server's data-at-rest maintenance thread: keeps the deadline of GDPR erasure on disk
//! (`storage.erase_within_hours`) and the modes of the store's files.
//!
//! Every tick (a tenth of the deadline, between 100 ms and 10 s) it
//! - sets 0600/0700 on the live generation's files (sled creates `snap.*` and blob files over
//!   time with the process umask; see `store::layout`),
//! - deletes old generations that their last reader released (`Store::tidy`),
//! - and, once the oldest pending erasure (`meta.erase_pending_since`) is half the deadline old,
//!   rewrites the store online (`Store::rewrite`), which completes every erasure made before it
//!   started. The other half of the deadline is the margin for the rewrite itself (about a
//!   minute per million visitors) and for a retry after a failure.

use crate::config::StorageConfig;
use crate::periodic::{First, Periodic};
use crate::store::Store;
use crate::time::{now_ms, Millis};
use std::time::{Duration, Instant};

/// How long to wait after a failed rewrite before trying again (at most).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// The maintenance thread; stops when dropped.
pub struct Eraser {
    _job: Periodic,
}

/// The erasure deadline of `hours`, in milliseconds (at least 1).
fn deadline_ms(hours: f64) -> Millis {
    let ms = hours * 3_600_000.0;
    if ms.is_finite() && ms >= 1.0 {
        // Saturates at i64::MAX for absurd values.
        ms as Millis
    } else {
        1
    }
}

impl Eraser {
    /// Starts the thread for `store`, configured by `storage`.
    pub fn spawn(store: Store, storage: &StorageConfig) -> Eraser {
        let deadline = deadline_ms(storage.erase_within_hours);
        let due_after = deadline / 2;
        let tick =
            Duration::from_millis(u64::try_from(deadline / 10).unwrap_or(0).clamp(100, 10_000));
        let retry_after = RETRY_AFTER.min(tick * 10);
        let mut not_before = Instant::now();
        Eraser {
            _job: Periodic::spawn("eraser", tick, First::Now, move || {
                if let Err(e) = store.secure_files() {
                    log::warn!("cannot set the modes of the store's files: {e}");
                }
                if let Err(e) = store.tidy() {
                    log::warn!("cannot delete an old store generation yet: {e}");
                }
                match store.erase_pending_since() {
                    Ok(Some(since))
                        if now_ms().saturating_sub(since) >= due_after
                            && Instant::now() >= not_before =>
                    {
                        if let Err(e) = store.rewrite() {
                            log::error!(
                                "the rewrite that completes pending erasures on disk failed \
                             (retried): {e}"
                            );
                            not_before = Instant::now() + retry_after;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => log::error!("cannot read the pending erasures: {e}"),
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Registration;

    #[test]
    fn deadlines_are_whole_milliseconds_of_at_least_one() {
        assert_eq!(deadline_ms(24.0), 86_400_000);
        assert_eq!(deadline_ms(0.0005), 1_800);
        assert_eq!(deadline_ms(0.0), 1);
        assert_eq!(deadline_ms(f64::NAN), 1);
    }

    #[test]
    fn a_pending_erasure_is_rewritten_off_the_disk_in_the_background() {
        let (_dir, store) = crate::store::temp_store(&[]);
        let reg = Registration::of_token("gone").named("Erased Person");
        store.register_visitor(&reg, 1).unwrap();
        store.delete_visitor("gone", false).unwrap();
        assert!(store.erase_pending_since().unwrap().is_some());
        let config = StorageConfig {
            erase_within_hours: 0.0001,
            ..Default::default()
        };
        let eraser = Eraser::spawn(store.clone(), &config);
        let deadline = Instant::now() + Duration::from_secs(30);
        while store.generation() == Some(1) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(eraser);
        assert_eq!(store.generation(), Some(2));
        assert_eq!(store.erase_pending_since().unwrap(), None);
    }
}
