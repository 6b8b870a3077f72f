//! Flat combining: concurrent writes of one kind share one transaction.
//!
//! A writer queues its request, then takes the store's writer lock. Whoever holds the lock
//! next takes every request queued so far (its own among them) and applies them together,
//! leaving each request's answer in its slot; a writer that gets the lock and finds its answer
//! already there returns it at once. So under load one transaction (one pass over sled's
//! transaction set-up, its global lock and its log batch) carries many requests, and a lone
//! request is applied alone, as before. Every answer is left before the lock is released, and
//! each writer takes its group-commit ticket after it has its answer: a write is still
//! acknowledged only after a flush that began after its commit.

use super::{lock_anyway, Result, StoreError};
use std::sync::{Arc, Mutex};

/// One queued request and the slot its answer is left in.
struct Entry<Request, Answer> {
    request: Request,
    answer: Mutex<Option<Result<Answer>>>,
}

/// The queue of one kind of write.
pub(super) struct Combiner<Request, Answer> {
    queued: Mutex<Vec<Arc<Entry<Request, Answer>>>>,
}

impl<Request, Answer> Default for Combiner<Request, Answer> {
    fn default() -> Self {
        Combiner {
            queued: Mutex::new(Vec::new()),
        }
    }
}

impl<Request, Answer> Combiner<Request, Answer> {
    /// Queues `request` and returns its answer. `apply` runs with `writer` held, with every
    /// request queued at that moment, and must return one answer per request, in order.
    pub(super) fn submit(
        &self,
        writer: &Mutex<()>,
        request: Request,
        apply: impl FnOnce(&[&Request]) -> Vec<Result<Answer>>,
    ) -> Result<Answer> {
        let mine = Arc::new(Entry {
            request,
            answer: Mutex::new(None),
        });
        lock_anyway(&self.queued).push(mine.clone());
        let _writer = lock_anyway(writer);
        if let Some(answer) = lock_anyway(&mine.answer).take() {
            return answer;
        }
        // Only a holder of the writer lock empties the queue, and it answers everything it
        // took before letting go: an unanswered request is still queued.
        let batch = std::mem::take(&mut *lock_anyway(&self.queued));
        let requests: Vec<&Request> = batch.iter().map(|e| &e.request).collect();
        let mut answers = apply(&requests).into_iter();
        for entry in &batch {
            let answer = answers.next().unwrap_or(Err(StoreError::Invariant(
                "a combined write left a request without an answer",
            )));
            *lock_anyway(&entry.answer) = Some(answer);
        }
        let answer = lock_anyway(&mine.answer).take();
        answer.unwrap_or(Err(StoreError::Invariant(
            "a combined write lost its own request",
        )))
    }
}

/// The same failure for every request of a batch (the original goes to the first).
pub(super) fn for_each<T>(error: StoreError, count: usize) -> Vec<Result<T>> {
    let mut out = Vec::with_capacity(count);
    for _ in 1..count {
        out.push(Err(copy(&error)));
    }
    out.insert(0, Err(error));
    out
}

/// A copy of `error` (I/O errors are not `Clone`; they travel as their text).
fn copy(error: &StoreError) -> StoreError {
    match error {
        StoreError::Storage(text) => StoreError::Storage(text.clone()),
        StoreError::Flush(text) => StoreError::Flush(text.clone()),
        StoreError::Invariant(what) => StoreError::Invariant(what),
        StoreError::Corrupt { tree, key } => StoreError::Corrupt {
            tree,
            key: key.clone(),
        },
        StoreError::Encode(text) => StoreError::Encode(text.clone()),
        StoreError::Refused(refusal) => StoreError::Refused(refusal.clone()),
        other => StoreError::Storage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn a_lone_request_is_applied_alone() {
        let writer = Mutex::new(());
        let combiner = Combiner::<u32, u32>::default();
        let mut seen = Vec::new();
        let answer = combiner.submit(&writer, 7, |batch| {
            seen.push(batch.len());
            batch.iter().map(|r| Ok(**r * 2)).collect()
        });
        assert_eq!(answer.unwrap(), 14);
        assert_eq!(seen, vec![1]);
    }

    #[test]
    fn requests_queued_while_the_lock_is_held_share_one_apply_and_get_their_own_answers() {
        let writer = Arc::new(Mutex::new(()));
        let combiner = Arc::new(Combiner::<u32, u32>::default());
        let applies = Arc::new(Mutex::new(Vec::new()));
        let held = lock_anyway(&writer);
        let ready = Arc::new(Barrier::new(9));
        let threads: Vec<_> = (0..8u32)
            .map(|i| {
                let (writer, combiner, applies, ready) = (
                    writer.clone(),
                    combiner.clone(),
                    applies.clone(),
                    ready.clone(),
                );
                std::thread::spawn(move || {
                    ready.wait();
                    combiner.submit(&writer, i, |batch| {
                        lock_anyway(&applies).push(batch.len());
                        batch.iter().map(|r| Ok(**r + 100)).collect()
                    })
                })
            })
            .collect();
        ready.wait();
        // Every thread queues before it waits for the lock; give them the time to.
        while lock_anyway(&combiner.queued).len() < 8 {
            std::thread::yield_now();
        }
        drop(held);
        let answers: Vec<u32> = threads
            .into_iter()
            .map(|t| t.join().unwrap().unwrap())
            .collect();
        assert_eq!(answers, (100..108).collect::<Vec<_>>());
        assert_eq!(
            *lock_anyway(&applies),
            vec![8],
            "one apply carried all eight"
        );
    }

    #[test]
    fn a_failed_batch_fails_every_request_with_the_same_error() {
        let errors = for_each::<u32>(StoreError::Storage("disk full".into()), 3);
        let texts: Vec<String> = errors
            .into_iter()
            .map(|e| e.unwrap_err().to_string())
            .collect();
        assert_eq!(texts, vec!["storage error: disk full"; 3]);
    }

    #[test]
    fn an_apply_that_answers_too_few_fails_the_rest_instead_of_hanging() {
        let writer = Mutex::new(());
        let combiner = Combiner::<u32, u32>::default();
        let answer = combiner.submit(&writer, 1, |_| Vec::new());
        assert_eq!(
            answer.unwrap_err().to_string(),
            "store invariant broken: a combined write left a request without an answer"
        );
    }
}
