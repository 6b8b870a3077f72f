//! Races (issue item 3): many writers released together on one visitor, repeated many rounds;
//! after every round the store's invariants hold and `Store::check()` finds nothing.
//!
//! `on_store` drives `Store` directly from real threads (a `Barrier` releases them together);
//! `over_http` sends concurrent requests through the whole in-process app.

mod on_store;
mod over_http;
mod replicas;

use crate::common::TestApp;
use std::sync::Barrier;
use visitord::domain::{Backend, SearchQuery};
use visitord::domain::{MergePolicy, Registration};
use visitord::model::{Room, Visitor};
use visitord::store::{Refusal, StoreError};

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

/// The apps a race runs on: the suite's backend; on postgres also a database whose
/// transactions are SERIALIZABLE (as some PostgreSQL-compatible engines default to), where
/// conflicts surface as serialization failures that the backend must retry.
pub fn apps() -> Vec<TestApp> {
    let mut apps = vec![TestApp::new()];
    if crate::common::on_postgres() {
        apps.push(TestApp::serializable());
    }
    apps
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

/// On sled, `Store::check()` finds nothing (no orphan index rows, rooms or history; one open
/// room at most). On postgres the constraints and the partial unique index keep those
/// invariants; the tests check what they can read back through the seam.
pub fn assert_consistent(app: &TestApp, context: &str) {
    let Some(store) = &app.state.store else {
        return;
    };
    let report = store.check().expect("check runs");
    assert!(
        report.problems.is_empty(),
        "{context}: store check found problems: {:#?}",
        report.problems
    );
}

/// The oldest visitor (write order) whose stored email is `email`, read through the seam.
pub fn visitor_by_email(store: &dyn Backend, email: &str) -> Result<Option<Visitor>, StoreError> {
    oldest_matching(store, email, |v| v.email.as_deref() == Some(email))
}

/// The oldest visitor (write order) whose stored phone is exactly `phone`, through the seam.
pub fn visitor_by_phone(store: &dyn Backend, phone: &str) -> Result<Option<Visitor>, StoreError> {
    oldest_matching(store, phone, |v| v.phone.as_deref() == Some(phone))
}

fn oldest_matching(
    store: &dyn Backend,
    term: &str,
    exact: impl Fn(&Visitor) -> bool,
) -> Result<Option<Visitor>, StoreError> {
    let page = store.search_visitors(&SearchQuery {
        term: term.to_string(),
        sort: Vec::new(),
        offset: 0,
        count: None,
    })?;
    Ok(page
        .visitors
        .into_iter()
        .filter(|v| exact(v))
        .min_by_key(|v| v.seq))
}

/// The visitor's open room, through the seam.
pub fn open_room_of(store: &dyn Backend, visitor_id: &str) -> Result<Option<Room>, StoreError> {
    Ok(store
        .rooms_of_visitor(visitor_id)?
        .into_iter()
        .find(|r| r.open))
}

/// A racer's error must be exactly one of the refusals its operation may give in a race
/// (never another refusal, corruption, an invariant violation or a storage fault).
pub fn assert_refusal(err: &StoreError, allowed: &[Refusal], context: &str) {
    assert!(
        matches!(err, StoreError::Refused(r) if allowed.contains(r)),
        "{context}: a racer failed with {err:?}; its operation may only refuse with {allowed:?}"
    );
}
