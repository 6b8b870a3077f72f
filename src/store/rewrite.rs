//! Online rewrite: the store is copied into a fresh generation while it keeps serving, and the
//! copy is swapped in. Erasure on disk and compaction both rest on it.
//!
//! Why: sled 0.34 keeps superseded and deleted values in its log segments until its segment
//! cleaner happens to relocate them, so the bytes of an erased visitor stay readable in the
//! data dir's files. A fresh copy holds only the live keys; once the old generation's files
//! are deleted, nothing of the erased visitor is left (`storage.erase_within_hours`).
//!
//! How ([`Store::rewrite`]), with `old` the live generation `store-<N>` (or a legacy store):
//! 1. Under the writer lock (a moment): `meta.erase_pending_since` is moved to
//!    `meta.erase_rewriting_since` (so an erasure during the copy sets a fresh marker, which the
//!    copy then carries: its bytes may have been copied), and a sled subscriber is registered
//!    on every tree: from here on every committed write (transactions, batches, plain inserts
//!    alike) reports its key. A drainer thread collects the keys while the copy runs.
//! 2. Without the lock: every tree is copied into `store-<N+1>` (mode 0700), opened with the
//!    store's sled settings, up to its last key at step 1 (later keys are reported), by sled's
//!    bulk load (whole nodes in key order, see `vendor/README.md`).
//!    Then, still without the lock, the keys reported so far get their current value (or
//!    removal) from `old`, in rounds until few are left (a key written again after its round is
//!    reported again), and the copy is flushed. Readers and writers carry on against `old`.
//! 3. Under the writer lock (writers wait only for this step): the keys reported since get
//!    their current value (or their removal) from `old`; `meta.seq_floor` is set above every id
//!    `old` issued (sled's id generator is not part of a copy, see [`super::compact`]);
//!    `meta.erase_rewriting_since` is removed; `compact` and imports also check the copy
//!    (`verify`: each tree read back against a digest of what was written into it; in step 2,
//!    on a thread of its own while the next tree is copied, unless keys were caught up into it
//!    since); the copy is flushed, its files set to 0600; `CURRENT` is switched (the commit
//!    point, see [`super::layout`]) and the engine swapped. Every write acknowledged before is
//!    in the flushed copy; every later one goes to it.
//! 4. Once the last reader of `old` lets go, its directory (or a legacy store's sled files) is
//!    deleted ([`Store::tidy`]).
//!
//! A crash before the switch leaves `old` live and an unfinished `store-<N+1>`, deleted at the
//! next open; after it, the copy is complete and flushed and `old` is deleted at the next open.
//! A failed rewrite changes nothing but the marker's name (the schedule reads both).

use super::layout::{self, Live};
use super::runs::{self, Additions};
use super::{keys, lock_anyway, trees, Engine, Result, Store, StoreError};
use crate::time::Millis;
use sled::{Db, IVec, Subscriber, Tree};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys per batch written to the copy by the catch-up (sled applies a batch under its
/// process-wide write lock, so a smaller batch holds writers for less).
const BATCH: usize = 1_000;
/// Catch-up rounds run without the writer lock while more keys than this were written since
/// the previous round (so the round under the lock is short).
const CATCH_UP_UNDER_LOCK: usize = 2_000;
/// At most this many catch-up rounds without the lock (writers may outpace them).
const CATCH_UP_ROUNDS: usize = 8;
/// How long a rewrite waits for the old generation's last reader before leaving its deletion
/// to later [`Store::tidy`] calls.
const RETIRE_WAIT: Duration = Duration::from_secs(10);

/// What a rewrite did.
#[derive(Debug, Clone, Copy)]
pub struct Rewrite {
    /// The new generation's number.
    pub generation: u64,
    /// Bytes on disk before (sled's count of the old generation) and after (the copy's).
    pub before: u64,
    pub after: u64,
    /// Keys written by others during the copy, rewritten under the lock.
    pub caught_up: usize,
    /// The whole rewrite's duration.
    pub took: Duration,
    /// How long writers were held (step 3).
    pub stall: Duration,
}

/// The trees of the old generation (name, tree, last key when the recording began) and their
/// subscribers, index for index.
struct Watched {
    trees: Vec<(IVec, Tree, Option<IVec>)>,
    subscribers: Vec<Subscriber>,
}

/// A generation swapped out by a rewrite, waiting for deletion.
pub(super) struct Retired {
    engine: std::sync::Weak<Engine>,
    live: Live,
    /// Kept on disk until the next open (the switch away from it may not be durable).
    keep: bool,
}

/// Moves `erase_pending_since` to `erase_rewriting_since` (keeping the older of both) in one
/// atomic batch.
fn set_marker_aside(meta: &Tree) -> Result<()> {
    let Some(pending) = read_time(meta, keys::meta::ERASE_PENDING)? else {
        return Ok(());
    };
    let since = match read_time(meta, keys::meta::ERASE_REWRITING)? {
        Some(earlier) => earlier.min(pending),
        None => pending,
    };
    let mut batch = sled::Batch::default();
    batch.insert(keys::meta::ERASE_REWRITING, &keys::u64_value(since)[..]);
    batch.remove(keys::meta::ERASE_PENDING);
    meta.apply_batch(batch)?;
    Ok(())
}

/// A u64 BE time in `meta`.
fn read_time(meta: &Tree, key: &[u8]) -> Result<Option<u64>> {
    match meta.get(key)? {
        None => Ok(None),
        Some(bytes) => keys::read_u64(&bytes)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt {
                tree: "meta",
                key: key.to_vec(),
            }),
    }
}

/// Moves every key reported so far into `keys` (tree index, key); returns how many came.
///
/// Polls the subscribers as futures, without waiting: sled 0.34's `next_timeout` gets stuck
/// for good on the report of a no-op write (which sled drops unfilled), and a stuck subscriber's
/// bounded queue would soon block every writer.
fn drain(subscribers: &mut [Subscriber], keys: &mut HashSet<(usize, IVec)>) -> usize {
    use futures_util::FutureExt;
    let mut n = 0;
    for (i, subscriber) in subscribers.iter_mut().enumerate() {
        while let Some(Some(event)) = (&mut *subscriber).now_or_never() {
            let key = match event {
                sled::Event::Insert { key, .. } => key,
                sled::Event::Remove { key } => key,
            };
            keys.insert((i, key));
            n += 1;
        }
    }
    n
}

/// Copies every row of `from` up to `last` into `to`, in batches. Later keys were written
/// after the recording began, so they are caught up under the lock; the bound keeps writers
/// that append (new seqs) from keeping the copy busy.
/// Returns the digest of what was written.
fn copy_tree(from: &Tree, last: Option<&IVec>, to: &Tree) -> Result<(u64, u64)> {
    let mut digest = Digest::new();
    if let Some(last) = last {
        let rows = from
            .range(..=last.clone())
            .map(|r| r.map_err(StoreError::from));
        write_rows(rows, to, Some(&mut digest))?;
    }
    Ok(digest.sum())
}

/// Rows a copy's reading thread hands to its writing thread at once.
const COPY_BATCH: usize = 4_096;

/// Writes `rows` (in key order) into the empty tree `to` with the vendored sled's bulk load
/// (whole leaves and index nodes at once, `vendor/README.md`); `digest`, when given, takes in
/// every row written.
///
/// The rows are read (and merged, and digested) on a second thread while this one writes
/// them: a copy is a read half (`sled` iteration, the sorted runs' k-way merge) and a write
/// half (the bulk load) of about the same cost (`perf` of a 1M-entry import's copy: 7 % and
/// 10 % of the samples), which then overlap.
fn write_rows(
    rows: impl Iterator<Item = Result<(IVec, IVec)>> + Send,
    to: &Tree,
    mut digest: Option<&mut Digest>,
) -> Result<()> {
    let mut load = to.bulk_load()?;
    std::thread::scope(|scope| {
        let (batches, read) = std::sync::mpsc::sync_channel::<Result<Vec<(IVec, IVec)>>>(4);
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(COPY_BATCH);
            for row in rows {
                let (k, v) = match row {
                    Ok(row) => row,
                    Err(e) => {
                        let _ = batches.send(Err(e));
                        return;
                    }
                };
                if let Some(digest) = digest.as_deref_mut() {
                    digest.add(&k, &v);
                }
                batch.push((k, v));
                if batch.len() == COPY_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(COPY_BATCH));
                    if batches.send(Ok(full)).is_err() {
                        return; // the writer stopped (an error): so does the reader
                    }
                }
            }
            let _ = batches.send(Ok(batch));
        });
        for batch in read {
            for (k, v) in batch? {
                load.push(k, v)?;
            }
        }
        load.finish()?;
        Ok(())
    })
}

/// What a tree holds, in brief: its row count and a hash of its rows in key order. A copy is
/// verified by the digest of what was written into each tree against the digest of what the
/// copy reads back: the store is not read a second time, and rows merged in from sort runs are
/// gone by then anyway.
struct Digest {
    rows: u64,
    hash: xxhash_rust::xxh3::Xxh3,
}

impl Digest {
    fn new() -> Digest {
        Digest {
            rows: 0,
            hash: xxhash_rust::xxh3::Xxh3::new(),
        }
    }

    fn add(&mut self, key: &[u8], value: &[u8]) {
        self.rows += 1;
        for part in [key, value] {
            self.hash.update(&(part.len() as u64).to_le_bytes());
            self.hash.update(part);
        }
    }

    fn of(tree: &Tree) -> Result<(u64, u64)> {
        let mut digest = Digest::new();
        for row in tree.iter() {
            let (k, v) = row?;
            digest.add(&k, &v);
        }
        Ok(digest.sum())
    }

    fn sum(&self) -> (u64, u64) {
        (self.rows, self.hash.digest())
    }
}

/// Copies every row of `from` merged with `added` (see [`runs::merged`]) into `to`; returns
/// the digest of what was written.
fn copy_merged(
    from: &Tree,
    added: (&'static str, runs::SortedRows, runs::Merge),
    to: &Tree,
) -> Result<(u64, u64)> {
    let (tree, rows, merge) = added;
    let mut digest = Digest::new();
    write_rows(
        runs::merged(from.iter(), rows, merge, tree),
        to,
        Some(&mut digest),
    )?;
    Ok(digest.sum())
}

/// Copies the current value (or the removal) of each `(tree index, key)` from the old trees
/// into `dst`.
fn catch_up(
    trees: &[(IVec, Tree, Option<IVec>)],
    keys: HashSet<(usize, IVec)>,
    dst: &Db,
) -> Result<()> {
    let mut batches: Vec<(sled::Batch, usize)> =
        trees.iter().map(|_| (sled::Batch::default(), 0)).collect();
    for (i, key) in keys {
        let (Some((name, tree, _)), Some((batch, n))) = (trees.get(i), batches.get_mut(i)) else {
            continue;
        };
        match tree.get(&key)? {
            Some(value) => batch.insert(key, value),
            None => batch.remove(key),
        }
        *n += 1;
        if *n == BATCH {
            trees::open_tree(dst, name)?.apply_batch(std::mem::take(batch))?;
            *n = 0;
        }
    }
    for ((name, _, _), (batch, _)) in trees.iter().zip(batches) {
        trees::open_tree(dst, name)?.apply_batch(batch)?;
    }
    Ok(())
}

/// Every row of `s` but the `meta` keys a rewrite sets itself: what a rewrite (or a compaction)
/// must keep as it was.
#[cfg(test)]
pub(super) fn kept_rows(s: &Store) -> Vec<super::SnapshotRow> {
    s.snapshot()
        .unwrap()
        .into_iter()
        .filter(|(tree, key, _)| !rewritten_meta(tree.as_bytes(), key))
        .collect()
}

/// Whether a `meta` key is one a rewrite sets itself (and may therefore differ in the copy).
pub(super) fn rewritten_meta(tree: &[u8], key: &[u8]) -> bool {
    tree == b"meta"
        && [
            keys::meta::SEQ_FLOOR,
            keys::meta::ERASE_PENDING,
            keys::meta::ERASE_REWRITING,
        ]
        .contains(&key)
}

/// What a copy wrote, for [`verify`].
struct Copy<'a> {
    /// Each tree's digest of the rows written into it.
    written: &'a HashMap<IVec, (u64, u64)>,
    /// Each tree's digest as read back right after its copy (all but `meta`).
    read_back: &'a HashMap<IVec, (u64, u64)>,
    /// The trees rows were merged into.
    merged: &'a HashSet<IVec>,
    /// Keys caught up into the copy after the trees were copied.
    caught_up: usize,
}

/// Checks the copy `dst` against what was written into it (`copy.written`: each tree's
/// digest) and against `src`: `meta` row by row (but the keys a rewrite sets, and those a bulk
/// load sets: `set_meta`), every other tree by reading it back and comparing digests (read
/// back while the next tree was copied, unless keys were caught up since). When keys were
/// caught up after the copy (`caught_up`), the trees that rows were not merged into are
/// compared row by row with `src` instead (their copies are no longer what was written); a
/// merged tree then fails, as it should (a merge is for a stopped store).
fn verify(src: &Db, dst: &Db, copy: &Copy, set_meta: &[&[u8]]) -> Result<()> {
    let differ = StoreError::Invariant(
        "the rewritten copy differs from the store; the store was left as it was",
    );
    let (mut a, mut b) = (src.tree_names(), dst.tree_names());
    a.sort();
    b.sort();
    if a != b {
        return Err(differ);
    }
    for name in src.tree_names() {
        let keep = |row: &sled::Result<(IVec, IVec)>| match row {
            Ok((k, _)) => {
                !(rewritten_meta(&name, k) || (&name[..] == b"meta" && set_meta.contains(&&k[..])))
            }
            Err(_) => true,
        };
        let a = src.open_tree(&name)?;
        let b = trees::open_tree(dst, &name)?;
        if &name[..] != b"meta" && (copy.caught_up == 0 || copy.merged.contains(&name)) {
            // Read back as it was copied, unless keys were caught up into it since.
            let digest = match copy.read_back.get(&name) {
                Some(digest) if copy.caught_up == 0 => *digest,
                _ => Digest::of(&b)?,
            };
            if Some(&digest) != copy.written.get(&name) {
                return Err(differ);
            }
            continue;
        }
        let mut left = a.iter().filter(keep);
        let mut right = b.iter().filter(keep);
        loop {
            match (left.next().transpose()?, right.next().transpose()?) {
                (None, None) => break,
                (Some(x), Some(y)) if x == y => {}
                _ => return Err(differ),
            }
        }
    }
    Ok(())
}

impl Store {
    /// Rewrites the store into a fresh generation while it keeps serving (see the module
    /// header); erased data is gone from the data dir when this returns (unless a reader still
    /// holds the old generation after [`RETIRE_WAIT`]: then a later [`Store::tidy`] deletes it).
    /// Logs one line with its duration and sizes.
    pub fn rewrite(&self) -> Result<Rewrite> {
        let result = self.rewrite_with(false, None);
        if let Ok(r) = &result {
            log::info!(
                "rewrote the store into store-{} in {:.2} s (writers held {} ms, {} keys caught up): {} MB -> {} MB on disk",
                r.generation,
                r.took.as_secs_f64(),
                r.stall.as_millis(),
                r.caught_up,
                r.before / 1_000_000,
                r.after / 1_000_000
            );
        }
        result
    }

    /// [`Store::rewrite`], with `verify` reading every tree of the copy back while writers are
    /// held (offline `compact`: a full scan, too slow for a serving store).
    pub(super) fn rewrite_with(
        &self,
        verify: bool,
        additions: Option<&mut Additions>,
    ) -> Result<Rewrite> {
        let result = {
            let _one = lock_anyway(&self.inner.rewriting);
            self.rewrite_locked(verify, additions)
                .map(|(rewrite, _old)| rewrite)
        };
        let deadline = Instant::now() + RETIRE_WAIT;
        loop {
            match self.tidy() {
                Ok(true) => break,
                Ok(false) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(false) => {
                    log::info!("the old store generation is still in use; it is deleted later");
                    break;
                }
                Err(e) if Instant::now() >= deadline => {
                    log::error!("cannot delete the old store generation yet: {e}");
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        result
    }

    /// Rewrites a stopped store (nothing else may write to it) into a fresh generation with
    /// `additions` merged into its trees, and verifies the copy as `compact` does: a bulk load
    /// writes every tree once, in key order, and the store switches to the result atomically
    /// (a crash before the switch leaves the store as it was). Logs one line like
    /// [`Store::rewrite`].
    pub fn rewrite_merging(&self, mut additions: Additions) -> Result<Rewrite> {
        // Loaded visitors change the search index: the chunk counts hinted before are stale.
        let _changes_index = self.index_change();
        let result = self.rewrite_with(true, Some(&mut additions));
        if let Ok(r) = &result {
            log::info!(
                "merged the loaded rows into store-{} in {:.2} s: {} MB -> {} MB on disk",
                r.generation,
                r.took.as_secs_f64(),
                r.before / 1_000_000,
                r.after / 1_000_000
            );
        }
        result
    }

    /// An online rewrite that hands back the generation it replaced: from the swap on nobody
    /// writes to it, so it is a consistent snapshot of the store at that moment (what a backup
    /// reads). Its files are deleted by [`Store::tidy`] once the caller lets it go.
    pub(super) fn rewrite_keeping_old(&self) -> Result<(Rewrite, Arc<Engine>)> {
        let _one = lock_anyway(&self.inner.rewriting);
        self.rewrite_locked(false, None)
    }

    /// The rewrite proper; the caller holds `rewriting`. Returns the replaced engine too.
    fn rewrite_locked(
        &self,
        verify: bool,
        additions: Option<&mut Additions>,
    ) -> Result<(Rewrite, Arc<Engine>)> {
        let started = Instant::now();
        let data_dir = self.inner.data_dir.clone();
        // Step 1.
        let (old, mut watched) = {
            let _writer = self.lock();
            let old = self.inner.engine.load_full();
            set_marker_aside(&old.trees.meta)?;
            let mut watched = Watched {
                trees: Vec::new(),
                subscribers: Vec::new(),
            };
            for name in old.db.tree_names() {
                let tree = old.db.open_tree(&name)?;
                watched
                    .subscribers
                    .push(tree.watch_prefix(Vec::<u8>::new()));
                let last = tree.last()?.map(|(k, _)| k);
                watched.trees.push((name, tree, last));
            }
            (old, watched)
        };
        let before = old.db.size_on_disk()?;
        let current = match old.live {
            Live::Generation(n) => n,
            Live::Legacy => 0,
        };
        let generation = layout::generations(&data_dir)?
            .into_iter()
            .max()
            .unwrap_or(0)
            .max(current)
            + 1;
        let dir = layout::generation_dir(&data_dir, generation);
        layout::create_private_dir(&dir)?;
        let result = self.copy_and_swap(&old, &mut watched, generation, verify, additions);
        drop(watched);
        match result {
            Ok((after, caught_up, stall, durable)) => {
                lock_anyway(&self.inner.retired).push(Retired {
                    engine: Arc::downgrade(&old),
                    live: old.live,
                    keep: !durable,
                });
                let rewrite = Rewrite {
                    generation,
                    before,
                    after,
                    caught_up,
                    took: started.elapsed(),
                    stall,
                };
                Ok((rewrite, old))
            }
            Err(e) => {
                // Nothing names the copy: it goes now or at the next open.
                if let Err(rm) = layout::remove_generation(&dir) {
                    log::warn!("cannot delete the unfinished copy {}: {rm}", dir.display());
                }
                Err(e)
            }
        }
    }

    /// Steps 2 and 3; returns the copy's size, the keys caught up, how long writers waited and
    /// whether the switch is durable (`CURRENT`'s directory was fsynced).
    fn copy_and_swap(
        &self,
        old: &Arc<Engine>,
        watched: &mut Watched,
        generation: u64,
        verify: bool,
        mut additions: Option<&mut Additions>,
    ) -> Result<(u64, usize, Duration, bool)> {
        let mut written = HashMap::new();
        let mut merged = HashSet::new();
        let data_dir = &self.inner.data_dir;
        let dir = layout::generation_dir(data_dir, generation);
        let dst = self.inner.sled.open(&dir)?;
        let stop = AtomicBool::new(false);
        let collected = Mutex::new(HashSet::new());
        // Each copied tree read back (digest) on a thread of its own while the next is copied.
        let read_back = Mutex::new(HashMap::new());
        let (copied_tree, to_read) = std::sync::mpsc::channel::<(IVec, Tree)>();
        // Step 2, with the drainer keeping the subscribers' bounded queues empty (a full one
        // would block writers).
        let trees = &watched.trees;
        let subscribers = &mut watched.subscribers;
        let (collected, stop, read_back_ref) = (&collected, &stop, &read_back);
        let copied = std::thread::scope(|scope| {
            let reader = verify.then(|| {
                scope.spawn(move || -> Result<()> {
                    for (name, tree) in to_read {
                        let digest = Digest::of(&tree)?;
                        lock_anyway(read_back_ref).insert(name, digest);
                    }
                    Ok(())
                })
            });
            let drainer = scope.spawn(move || loop {
                let stopping = stop.load(Ordering::Acquire);
                let mut keys = HashSet::new();
                let got = drain(subscribers, &mut keys);
                lock_anyway(collected).extend(keys);
                if stopping {
                    break;
                }
                if got == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
            let mut caught_up = 0;
            let (written, merged) = (&mut written, &mut merged);
            // The trees with the most added rows first: each tree's read-back then overlaps the
            // copy of a smaller one, not the end of the copy.
            let mut order: Vec<&(IVec, Tree, Option<IVec>)> = trees.iter().collect();
            if let Some(added) = additions.as_deref() {
                let rows = added.rows();
                let count = |name: &IVec| {
                    let name = std::str::from_utf8(name).unwrap_or_default();
                    rows.get(name).copied().unwrap_or(0)
                };
                order.sort_by_key(|(name, _, _)| std::cmp::Reverse(count(name)));
            }
            let copied = (|| -> Result<()> {
                for (name, tree, last) in order {
                    let to = trees::open_tree(&dst, name)?;
                    let digest = match additions.as_deref_mut().and_then(|a| a.take(name)) {
                        Some(added) => {
                            merged.insert(name.clone());
                            copy_merged(tree, added, &to)?
                        }
                        None => copy_tree(tree, last.as_ref(), &to)?,
                    };
                    written.insert(name.clone(), digest);
                    if verify && &name[..] != b"meta" {
                        // A reader that stopped has its error, which its join returns.
                        let _ = copied_tree.send((name.clone(), to));
                    }
                }
                drop(copied_tree);
                if additions.as_deref().is_some_and(|a| !a.is_empty()) {
                    return Err(StoreError::Invariant(
                        "rows were added to a tree the store lacks",
                    ));
                }
                // Keys written meanwhile, while writers carry on: a key written again after it
                // is read here is reported again, and caught up in a later round.
                for _ in 0..CATCH_UP_ROUNDS {
                    let keys = std::mem::take(&mut *lock_anyway(collected));
                    let n = keys.len();
                    caught_up += n;
                    catch_up(trees, keys, &dst)?;
                    if n <= CATCH_UP_UNDER_LOCK {
                        break;
                    }
                }
                // The bulk of the flush, before writers are held.
                dst.flush()?;
                Ok(())
            })();
            // The last trees read back, before the lock (writers do not wait for it).
            let read = match reader.map(|r| r.join()) {
                None | Some(Ok(Ok(()))) => Ok(()),
                Some(Ok(Err(e))) => Err(e),
                Some(Err(_)) => Err(StoreError::Invariant("the rewrite's reading thread failed")),
            };
            // Step 3 starts here: the lock is taken before the drainer's last round.
            let writer = self.lock();
            let held_since = Instant::now();
            stop.store(true, Ordering::Release);
            if drainer.join().is_err() {
                return Err(StoreError::Invariant("the rewrite's drainer thread failed"));
            }
            copied.and(read).map(|()| (writer, held_since, caught_up))
        });
        let (writer, stall_started, earlier) = copied?;
        let keys = std::mem::take(&mut *lock_anyway(collected));
        let caught_up = earlier + keys.len();
        catch_up(trees, keys, &dst)?;
        let floor = old
            .seq_floor
            .checked_add(old.db.generate_id()?)
            .ok_or(StoreError::Invariant("write-order numbers exhausted"))?;
        let meta = trees::open_tree(&dst, "meta")?;
        meta.insert(keys::meta::SEQ_FLOOR, &keys::u64_value(floor))?;
        meta.remove(keys::meta::ERASE_REWRITING)?;
        let set_meta = additions.as_deref().map_or(&[][..], |a| a.meta());
        for (key, value) in set_meta {
            meta.insert(key, &value[..])?;
        }
        if verify {
            let set: Vec<&[u8]> = set_meta.iter().map(|(key, _)| *key).collect();
            let read_back = std::mem::take(&mut *lock_anyway(&read_back));
            let copy = Copy {
                written: &written,
                read_back: &read_back,
                merged: &merged,
                caught_up,
            };
            self::verify(&old.db, &dst, &copy, &set)?;
        }
        dst.flush()?;
        let after = dst.size_on_disk()?;
        let engine = Engine::new(dst, Live::Generation(generation))?;
        layout::secure(data_dir, Live::Generation(generation))?;
        let durable = layout::write_current(data_dir, generation)?;
        self.inner.engine.store(Arc::new(engine));
        drop(writer);
        if !durable {
            // A crash could still bring back the old CURRENT: keep what it names.
            log::error!(
                "cannot fsync {}: the previous store generation is kept until the next open",
                data_dir.display()
            );
        }
        Ok((after, caught_up, stall_started.elapsed(), durable))
    }

    /// Deletes what a rewrite left behind once nothing uses it: old generations and, after a
    /// migration, a legacy store's sled files. Returns whether nothing is left to delete. Does
    /// nothing while a rewrite runs.
    pub fn tidy(&self) -> Result<bool> {
        let Ok(_one) = self.inner.rewriting.try_lock() else {
            return Ok(false);
        };
        let live = self.engine().live;
        let in_use: Vec<Live> = {
            let mut retired = lock_anyway(&self.inner.retired);
            retired.retain(|r| r.keep || r.engine.strong_count() > 0);
            retired.iter().map(|r| r.live).collect()
        };
        let data_dir = &self.inner.data_dir;
        for n in layout::generations(data_dir)? {
            let g = Live::Generation(n);
            if g != live && !in_use.contains(&g) {
                layout::remove_generation(&layout::generation_dir(data_dir, n))?;
            }
        }
        if live != Live::Legacy && !in_use.contains(&Live::Legacy) && layout::has_legacy(data_dir) {
            layout::remove_legacy(data_dir)?;
        }
        Ok(lock_anyway(&self.inner.retired).iter().all(|r| r.keep))
    }

    /// Sets 0600/0700 on the live generation's files (sled creates `snap.*` and blob files over
    /// time with the process umask; see [`layout`]).
    pub fn secure_files(&self) -> Result<()> {
        layout::secure(&self.inner.data_dir, self.engine().live)
    }

    /// When the oldest erasure that is still on disk happened (ms), if one is.
    pub fn erase_pending_since(&self) -> Result<Option<Millis>> {
        let trees = self.trees();
        let meta = &trees.meta;
        let pending = read_time(meta, keys::meta::ERASE_PENDING)?;
        let rewriting = read_time(meta, keys::meta::ERASE_REWRITING)?;
        let oldest = match (pending, rewriting) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(oldest.map(|t| Millis::try_from(t).unwrap_or(Millis::MAX)))
    }

    /// The live generation (`None` for a legacy store).
    pub fn generation(&self) -> Option<u64> {
        match self.engine().live {
            Live::Generation(n) => Some(n),
            Live::Legacy => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageConfig;
    use crate::domain::PageVisitInput;
    use crate::domain::Registration;
    use crate::store::{reopen, temp_config};
    use std::path::{Path, PathBuf};

    fn reg(token: &str, name: &str, email: &str) -> Registration {
        Registration {
            token: token.into(),
            name: Some(name.into()),
            email: Some(email.into()),
            phone: Some("+55 51 7731 0000".into()),
            custom_fields: vec![crate::domain::CustomFieldWrite {
                key: "address".into(),
                value: "Zqxstreet7731".into(),
                overwrite: true,
            }],
            ..Default::default()
        }
    }

    /// Every file under `dir`, recursively.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    /// The markers found in any file under `dir` (as `grep -a` would).
    fn found<'a>(dir: &Path, markers: &[&'a str]) -> Vec<&'a str> {
        let contents: Vec<Vec<u8>> = files(dir)
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .collect();
        markers
            .iter()
            .copied()
            .filter(|m| {
                contents
                    .iter()
                    .any(|c| c.windows(m.len()).any(|w| w == m.as_bytes()))
            })
            .collect()
    }

    const MARKERS: [&str; 8] = [
        "Zqxname7731",
        "zqx7731@erase.example",
        "zqxtoken7731",
        "+55 51 7731 0000",
        "Zqxstreet7731",
        "Zqxmessage7731 text",
        "Zqxtitle7731",
        "https://shop.example/zqx7731",
    ];

    /// The store of `config`, with a few visitors and one erased visitor that had a room, a
    /// message and a page visit, every field carrying a marker of [`MARKERS`].
    fn store_with_an_erasure(config: &StorageConfig) -> Store {
        let s = reopen(config);
        for i in 0..50 {
            let r = Registration {
                token: format!("keep-{i}"),
                name: Some(format!("Kept {i}")),
                ..Default::default()
            };
            s.register_visitor(&r, 1_000 + i).unwrap();
        }
        s.register_visitor(
            &reg("zqxtoken7731", "Zqxname7731", "zqx7731@erase.example"),
            2_000,
        )
        .unwrap();
        let (room, _) = s
            .open_room("zqxtoken7731", None, crate::model::RoomSource::Api, 2_001)
            .unwrap();
        let visit = PageVisitInput::url_change(
            "zqxtoken7731",
            Some(&room.id),
            "Zqxtitle7731",
            "https://shop.example/zqx7731",
        );
        s.record_page_visit(&visit, 2_002, None).unwrap();
        s.add_message("zqxtoken7731", &room.id, "Zqxmessage7731 text", None, 2_003)
            .unwrap();
        s.close_room("zqxtoken7731", &room.id, 2_004).unwrap();
        s.delete_visitor("zqxtoken7731", false).unwrap();
        s.flush().unwrap();
        s
    }

    /// The check of a copy reads each tree back and compares it with a digest of what was
    /// written (`meta` row by row): a changed, missing or extra row fails it; once keys were
    /// caught up after the copy, trees are compared row by row with the source instead.
    #[test]
    fn verify_finds_a_copy_that_differs_from_what_was_written() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let src = sled::Config::new().path(a.path()).open().unwrap();
        let dst = sled::Config::new().path(b.path()).open().unwrap();
        let key = |i: u32| i.to_be_bytes().to_vec();
        let records = src.open_tree("visitorseq_visitor").unwrap();
        for i in 0..100 {
            records
                .insert(key(i), format!("v{i}").into_bytes())
                .unwrap();
        }
        src.open_tree("meta").unwrap().insert("k", "v").unwrap();
        let mut written = HashMap::new();
        for name in src.tree_names() {
            let from = src.open_tree(&name).unwrap();
            let last = from.last().unwrap().map(|(k, _)| k);
            let to = dst.open_tree(&name).unwrap();
            written.insert(name.clone(), copy_tree(&from, last.as_ref(), &to).unwrap());
        }
        let none = HashSet::new();
        let name = IVec::from("visitorseq_visitor");
        let nothing_read = HashMap::new();
        let read_back = HashMap::from([(name.clone(), written[&name])]);
        let read_wrong = HashMap::from([(name.clone(), (99, 0))]);
        let copy = |caught_up: usize, read_back| Copy {
            written: &written,
            read_back,
            merged: &none,
            caught_up,
        };
        let check = |caught_up: usize| verify(&src, &dst, &copy(caught_up, &nothing_read), &[]);
        assert!(check(0).is_ok());
        // A tree read back during the copy is checked against what was read then.
        assert!(verify(&src, &dst, &copy(0, &read_back), &[]).is_ok());
        assert!(
            verify(&src, &dst, &copy(0, &read_wrong), &[]).is_err(),
            "read back other than written"
        );
        let copy = dst.open_tree("visitorseq_visitor").unwrap();
        copy.insert(key(5), &b"changed"[..]).unwrap();
        assert!(check(0).is_err(), "a changed value");
        copy.insert(key(5), &b"v5"[..]).unwrap();
        assert!(check(0).is_ok());
        copy.remove(key(99)).unwrap();
        assert!(check(0).is_err(), "a missing row");
        copy.insert(key(99), &b"v99"[..]).unwrap();
        copy.insert(key(100), &b"extra"[..]).unwrap();
        assert!(check(0).is_err(), "an extra row");
        // The same row written to the store during the copy and caught up: row by row.
        records.insert(key(100), &b"extra"[..]).unwrap();
        assert!(check(1).is_ok());
        dst.open_tree("meta").unwrap().insert("k", "w").unwrap();
        assert!(check(0).is_err(), "meta, row by row");
    }

    #[test]
    fn a_rewrite_keeps_every_row_and_leaves_no_byte_of_an_erased_visitor() {
        let (_dir, config) = temp_config();
        let s = store_with_an_erasure(&config);
        assert!(s.erase_pending_since().unwrap().is_some());
        assert_eq!(
            found(&config.data_dir, &MARKERS),
            MARKERS,
            "sled keeps the erased bytes in its log until a rewrite"
        );
        let before = kept_rows(&s);

        let r = s.rewrite().unwrap();
        assert_eq!(r.generation, 2);
        assert_eq!(s.generation(), Some(2));
        assert_eq!(kept_rows(&s), before);
        assert!(s.check().unwrap().problems.is_empty());
        assert_eq!(s.erase_pending_since().unwrap(), None);
        assert_eq!(found(&config.data_dir, &MARKERS), Vec::<&str>::new());
        assert_eq!(layout::generations(&config.data_dir).unwrap(), [2]);

        drop(s);
        let s = reopen(&config);
        assert_eq!(kept_rows(&s), before);
        assert!(s.visitor_by_token("keep-7").unwrap().is_some());
        let fresh = s
            .register_visitor(&reg("new", "New", "new@example.com"), 3_000)
            .unwrap();
        assert!(before
            .iter()
            .all(|(tree, key, _)| tree != "visitorseq_visitor"
                || key.as_slice() < &fresh.seq.to_be_bytes()[..]));
        assert!(s.check().unwrap().problems.is_empty());
    }

    #[test]
    fn writes_during_a_rewrite_are_all_kept() {
        let (_dir, config) = temp_config();
        let s = reopen(&config);
        for i in 0..1_000 {
            let r = Registration {
                token: format!("base-{i}"),
                name: Some(format!("Base {i}")),
                email: Some(format!("b{i}@example.com")),
                ..Default::default()
            };
            s.register_visitor(&r, i).unwrap();
        }
        let rewriting = AtomicBool::new(true);
        let written: Vec<Vec<String>> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..2)
                .map(|w| {
                    let (s, rewriting) = (&s, &rewriting);
                    scope.spawn(move || {
                        let mut tokens = Vec::new();
                        let mut after_swap = 0;
                        let mut i = 0;
                        // Until 20 writes after the rewrite ended (some land in each engine).
                        while after_swap < 20 {
                            if !rewriting.load(Ordering::Acquire) {
                                after_swap += 1;
                            }
                            let token = format!("w{w}-{i}");
                            let r = Registration {
                                token: token.clone(),
                                name: Some(format!("Writer {w} {i}")),
                                ..Default::default()
                            };
                            s.register_visitor(&r, 10_000 + i).unwrap();
                            if i % 3 == 0 {
                                s.delete_visitor(&format!("base-{}", i + 500 * w), true)
                                    .unwrap();
                            }
                            tokens.push(token);
                            i += 1;
                        }
                        tokens
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(20));
            let r = s.rewrite().unwrap();
            assert_eq!(r.generation, 2);
            assert!(r.caught_up > 0, "no write landed during the copy");
            rewriting.store(false, Ordering::Release);
            writers.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let before = kept_rows(&s);
        let mut total = 0;
        for tokens in &written {
            for t in tokens {
                assert!(s.visitor_by_token(t).unwrap().is_some(), "{t} was lost");
            }
            total += tokens.len();
        }
        let deleted: usize = written.iter().map(|t| t.len().div_ceil(3)).sum();
        assert_eq!(s.visitor_count().unwrap() as usize, 1_000 + total - deleted);
        assert_eq!(s.counts().visitors, 1_000 + total - deleted);
        assert!(s.check().unwrap().problems.is_empty());
        drop(s);
        let s = reopen(&config);
        assert_eq!(kept_rows(&s), before);
        assert!(s.check().unwrap().problems.is_empty());
    }

    #[test]
    fn an_erasure_stays_due_when_a_rewrite_is_interrupted() {
        let (_dir, config) = temp_config();
        let since = {
            let s = store_with_an_erasure(&config);
            let since = s.erase_pending_since().unwrap().unwrap();
            // Step 1 of a rewrite, then a crash before the switch.
            set_marker_aside(&s.trees().meta).unwrap();
            assert_eq!(s.trees().meta.get(keys::meta::ERASE_PENDING).unwrap(), None);
            s.flush().unwrap();
            since
        };
        let s = reopen(&config);
        assert_eq!(s.erase_pending_since().unwrap(), Some(since));
        // An erasure meanwhile does not make the older one look younger.
        s.register_visitor(&reg("later", "Later", "later@example.com"), 9_000)
            .unwrap();
        s.delete_visitor("later", false).unwrap();
        assert_eq!(s.erase_pending_since().unwrap(), Some(since));
        s.rewrite().unwrap();
        assert_eq!(s.erase_pending_since().unwrap(), None);
        assert_eq!(found(&config.data_dir, &MARKERS), Vec::<&str>::new());
    }

    #[test]
    fn an_unfinished_copy_is_deleted_at_open() {
        let (_dir, config) = temp_config();
        {
            let s = reopen(&config);
            s.register_visitor(&reg("t1", "N", "n@example.com"), 1)
                .unwrap();
            s.flush().unwrap();
        }
        // As if killed while copying into the next generation.
        let copy = layout::generation_dir(&config.data_dir, 2);
        std::fs::create_dir(&copy).unwrap();
        std::fs::write(copy.join("db"), "half a copy").unwrap();
        let s = reopen(&config);
        assert!(!copy.exists());
        assert_eq!(s.generation(), Some(1));
        assert!(s.visitor_by_token("t1").unwrap().is_some());
    }

    #[test]
    fn a_legacy_store_opens_in_place_and_the_first_rewrite_migrates_it() {
        let (_dir, config) = temp_config();
        let before = {
            let s = store_with_an_erasure(&config);
            kept_rows(&s)
        };
        // The layout of builds before generations: sled's files in the data dir itself.
        let gen1 = layout::generation_dir(&config.data_dir, 1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::rename(gen1.join("db"), config.data_dir.join("db")).is_err()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        for entry in std::fs::read_dir(&gen1).unwrap() {
            let entry = entry.unwrap();
            std::fs::rename(entry.path(), config.data_dir.join(entry.file_name())).unwrap();
        }
        std::fs::remove_dir(&gen1).unwrap();
        std::fs::remove_file(config.data_dir.join(layout::CURRENT)).unwrap();
        std::fs::write(config.data_dir.join("initial-admin-password"), "pw\n").unwrap();

        let s = reopen(&config);
        assert_eq!(s.generation(), None);
        assert_eq!(kept_rows(&s), before);
        assert!(layout::has_legacy(&config.data_dir));
        s.rewrite().unwrap();
        assert_eq!(s.generation(), Some(1));
        assert!(!layout::has_legacy(&config.data_dir));
        let mut names: Vec<String> = std::fs::read_dir(&config.data_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["CURRENT", "LOCK", "initial-admin-password", "store-1"]
        );
        assert_eq!(found(&config.data_dir, &MARKERS), Vec::<&str>::new());
        drop(s);
        let s = reopen(&config);
        assert_eq!(s.generation(), Some(1));
        assert_eq!(kept_rows(&s), before);
    }

    #[cfg(unix)]
    #[test]
    fn the_data_dir_is_private_and_an_exposed_one_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let (dir, config) = temp_config();
        let s = store_with_an_erasure(&config);
        s.rewrite().unwrap();
        s.register_visitor(&reg("t2", "N", "n2@example.com"), 5)
            .unwrap();
        s.flush().unwrap();
        s.secure_files().unwrap();
        assert_eq!(mode(&config.data_dir), 0o700);
        assert_eq!(layout::exposure_warning(&config.data_dir), None);
        let all = files(&config.data_dir);
        assert!(all.len() >= 4, "{all:?}");
        for f in all {
            // sled renames `snap.*.generating` files: one may be gone by now.
            if let Ok(meta) = std::fs::metadata(&f) {
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{}", f.display());
            }
        }
        let exposed = dir.path().join("exposed");
        std::fs::create_dir(&exposed).unwrap();
        std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o755)).unwrap();
        let warning = layout::exposure_warning(&exposed).unwrap();
        assert!(warning.contains("mode 0755"), "{warning}");
    }
}
