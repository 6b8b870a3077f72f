//! Races (issue item 3): many writers released together on one visitor, repeated many rounds;
//! after every round the store's invariants hold and `Store::check()` finds nothing.
//!
//! `on_store` drives `Store` directly from real threads (a `Barrier` releases them together);
//! `over_http` sends concurrent requests through the whole in-process app.

mod on_store;
mod over_http;

use std::sync::Barrier;
use visitord::domain::{MergePolicy, Registration};
use visitord::store::{Refusal, Store, StoreError};

/// Runs `f(0..threads)` on `threads` threads released together; returns the results in thread
/// order. A panicking racer fails the test.
pub fn race<T: Send>(threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racer panicked"))
            .collect()
    })
}

/// A registration with only a token.
/// A registration of `token` under Rocket.Chat's merge policy (phone, then email): the races
/// of merges are the hard case.
pub fn reg(token: &str) -> Registration {
    Registration {
        token: token.into(),
        merge: MergePolicy::rocketchat(),
        ..Default::default()
    }
}

/// `Store::check()` finds nothing (no orphan index rows, rooms or history; one open room at most).
pub fn assert_consistent(store: &Store, context: &str) {
    let report = store.check().expect("check runs");
    assert!(
        report.problems.is_empty(),
        "{context}: store check found problems: {:#?}",
        report.problems
    );
}

/// A racer's error must be exactly one of the refusals its operation may give in a race
/// (never another refusal, corruption, an invariant violation or a storage fault).
pub fn assert_refusal(err: &StoreError, allowed: &[Refusal], context: &str) {
    assert!(
        matches!(err, StoreError::Refused(r) if allowed.contains(r)),
        "{context}: a racer failed with {err:?}; its operation may only refuse with {allowed:?}"
    );
}
