//! A bulk load's rows built and sorted on a thread of their own.
//!
//! A load reads lines on one thread (JSON parsing, `import.rs`) and checks each entry against
//! the store on another (its `_id`, its token's visitor, its room). Building the entry's rows
//! and handing them to the sorters ([`super::runs`], whose spills sort 64 MB at a time) ran on
//! the checking thread too, which left the second core half idle (`/usr/bin/time`: 129 % CPU
//! over a 1M-entry navigation import). A [`SortThread`] takes the checked entries in batches
//! over a bounded channel and does that part, so the three steps overlap.

use super::runs::Sorting;
use super::{Result, StoreError};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// Entries handed over in one message.
const BATCH: usize = 1_024;
/// Batches in flight before the checking thread waits for the sorting one.
const IN_FLIGHT: usize = 8;

/// What turns a load's checked entries into sorted rows, on the sorting thread.
pub(super) trait RowMaker: Send + 'static {
    /// A checked entry.
    type Entry: Send + 'static;
    /// Hands the rows of `entry` to `sorting`.
    fn add(&mut self, entry: Self::Entry, sorting: &mut Sorting) -> Result<()>;
    /// Hands what it still holds (partial sums) to `sorting`, after the last entry.
    fn finish(self, sorting: &mut Sorting) -> Result<()>;
}

/// A [`Sorting`] fed by a [`RowMaker`] on its own thread. Dropped unfinished, the thread stops
/// and the sorted rows are deleted.
pub(super) struct SortThread<M: RowMaker> {
    batch: Vec<M::Entry>,
    sender: Option<SyncSender<Vec<M::Entry>>>,
    thread: Option<JoinHandle<Result<Sorting>>>,
}

impl<M: RowMaker> SortThread<M> {
    /// Starts the thread, which owns `sorting` and `maker` until [`SortThread::finish`].
    pub(super) fn spawn(mut sorting: Sorting, mut maker: M) -> Result<SortThread<M>> {
        let (sender, batches) = sync_channel::<Vec<M::Entry>>(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("import-sort".to_string())
            .spawn(move || {
                for batch in batches {
                    for entry in batch {
                        maker.add(entry, &mut sorting)?;
                    }
                }
                maker.finish(&mut sorting)?;
                Ok(sorting)
            })
            .map_err(|e| StoreError::Io {
                path: "the import's sorting thread".to_string(),
                source: e,
            })?;
        Ok(SortThread {
            batch: Vec::with_capacity(BATCH),
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Queues `entry` for the thread; fails with the thread's error if it has stopped.
    pub(super) fn push(&mut self, entry: M::Entry) -> Result<()> {
        self.batch.push(entry);
        if self.batch.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<()> {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let sent = self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send(batch).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped on an error, which its result holds.
        self.sender = None;
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(StoreError::Invariant(
                "the import's sorting thread stopped early",
            )),
        }
    }

    fn join(&mut self) -> Result<Sorting> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(StoreError::Invariant("the import's sorting thread failed")),
            None => Err(StoreError::Invariant(
                "the import's sorting thread was stopped",
            )),
        }
    }

    /// Hands over the last entries and waits for the thread: the sorting with every row.
    pub(super) fn finish(mut self) -> Result<Sorting> {
        if !self.batch.is_empty() {
            self.send()?;
        }
        self.sender = None;
        self.join()
    }
}

impl<M: RowMaker> Drop for SortThread<M> {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::runs::{Merge, Row};

    /// Rows keyed by the entry, and one more at the finish; an entry of 0 fails.
    struct Numbers;

    impl RowMaker for Numbers {
        type Entry = u32;
        fn add(&mut self, entry: u32, sorting: &mut Sorting) -> Result<()> {
            if entry == 0 {
                return Err(StoreError::Invariant("entry 0"));
            }
            let row = Row {
                key: entry.to_be_bytes().to_vec(),
                value: Vec::new(),
            };
            sorting.push("navkey_pagevisit", Merge::Replace, row)
        }
        fn finish(self, sorting: &mut Sorting) -> Result<()> {
            let row = Row {
                key: b"end".to_vec(),
                value: Vec::new(),
            };
            sorting.push("meta", Merge::Replace, row)
        }
    }

    #[test]
    fn every_entry_pushed_is_sorted_and_the_maker_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let sorting = Sorting::new(dir.path()).unwrap();
        let mut thread = SortThread::spawn(sorting, Numbers).unwrap();
        let n = BATCH as u32 * 3 + 7;
        for i in (1..=n).rev() {
            thread.push(i).unwrap();
        }
        let mut additions = thread.finish().unwrap().done().unwrap();
        let (_, rows, _) = additions.take(b"navkey_pagevisit").unwrap();
        let keys: Vec<u32> = rows
            .map(|r| u32::from_be_bytes(r.unwrap().key.try_into().unwrap()))
            .collect();
        assert_eq!(keys, (1..=n).collect::<Vec<u32>>());
        let (_, rows, _) = additions.take(b"meta").unwrap();
        assert_eq!(rows.count(), 1);
    }

    #[test]
    fn an_error_on_the_thread_is_returned_to_the_loader() {
        let dir = tempfile::tempdir().unwrap();
        let sorting = Sorting::new(dir.path()).unwrap();
        let mut thread = SortThread::spawn(sorting, Numbers).unwrap();
        thread.push(0).unwrap();
        // The failing batch is sent at the BATCH-th push; the thread's error comes back at a
        // later push or at the finish, never lost.
        let mut failed = None;
        for i in 1..(BATCH as u32 * (IN_FLIGHT as u32 + 4)) {
            if let Err(e) = thread.push(i) {
                failed = Some(e);
                break;
            }
        }
        let err = match failed {
            Some(e) => e,
            None => thread.finish().err().unwrap(),
        };
        assert_eq!(
            err.to_string(),
            StoreError::Invariant("entry 0").to_string()
        );
    }

    #[test]
    fn a_thread_dropped_unfinished_deletes_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let sorting = Sorting::new(dir.path()).unwrap();
        let mut thread = SortThread::spawn(sorting, Numbers).unwrap();
        for i in 1..=(BATCH as u32 * 2) {
            thread.push(i).unwrap();
        }
        drop(thread);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
