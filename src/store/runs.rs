//! Rows sorted outside the store: a bulk load hands its rows (key, value) to one sorter per
//! tree, which gathers them in memory and hands them every [`RUN_BYTES`] to a thread that sorts
//! them into a run file ([`Spiller`]); a
//! rewrite then merges each tree's runs (a k-way merge) with the tree's rows as it copies them
//! (see [`super::rewrite::Store::rewrite_merging`]). Every tree is written once, in key order,
//! instead of one random leaf per row.
//!
//! The runs live in `<data dir>/import-sort-XXXXXX/<tree>/<n>` (directories 0700, files 0600,
//! inside the 0700 data dir: they hold tokens and pages), deleted when the [`Additions`] are
//! dropped, and when the store is next opened if a crash left them ([`super::layout`]).
//!
//! Written here rather than taken from `extsort` 0.5.0: its push sorter returns none of the
//! spilled rows when their count is a multiple of its segment size plus one (its `done` takes
//! the empty buffer for the whole input), which the test of a 3,000-entry import found.

use super::layout::io;
use super::{buckets, keys, Result, StoreError};
use sled::IVec;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// The prefix of a bulk load's sort directory in the data dir.
pub(super) const SORT_DIR_PREFIX: &str = "import-sort-";

/// Bytes of rows (keys, values and [`ROW_OVERHEAD`] each) a tree's sorter holds in memory
/// before it sorts them into a run file (tests: a few rows, so that every test of a bulk load
/// merges runs from files, and some leave rows in memory at the end).
const RUN_BYTES: usize = if cfg!(test) { 700 } else { 64 << 20 };
/// What a row in memory costs besides its bytes (two `Vec`s and their allocations).
const ROW_OVERHEAD: usize = 64;

/// One row for a tree: its key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Row {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// A length-prefixed part of a row in a run file.
fn write_part(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "row too long"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// The next row of a run file (`None` at its end).
fn read_row(input: &mut impl Read) -> std::io::Result<Option<Row>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut key = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut key)?;
    input.read_exact(&mut len)?;
    let mut value = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut value)?;
    Ok(Some(Row { key, value }))
}

/// A row for a named tree: (tree, key, value).
pub(super) type TreeRow = (&'static str, Vec<u8>, Vec<u8>);

/// How a tree's added rows meet its existing ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Merge {
    /// An added row is new or replaces the row with its key; two added rows never share a key.
    Replace,
    /// Values are counters (u64 BE): added rows with the same key and the existing row are
    /// summed.
    Add,
    /// Values are exact-match buckets (sorted sets of [`buckets::ENTRY_LEN`]-byte entries):
    /// added rows with the same key and the existing row are united.
    Union,
}

/// One tree's rows being gathered: those in memory, and the runs spilled so far.
struct TreeSorter {
    dir: PathBuf,
    merge: Merge,
    rows: Vec<Row>,
    bytes: usize,
    runs: Vec<PathBuf>,
    count: u64,
}

impl TreeSorter {
    fn push(&mut self, row: Row, spiller: &mut Spiller) -> Result<()> {
        self.bytes += row.key.len() + row.value.len() + ROW_OVERHEAD;
        self.rows.push(row);
        self.count += 1;
        if self.bytes >= RUN_BYTES {
            self.spill(spiller)?;
        }
        Ok(())
    }

    /// Hands the rows in memory to the spiller, which sorts them into a new run file.
    fn spill(&mut self, spiller: &mut Spiller) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(self.runs.len().to_string());
        self.runs.push(path.clone());
        self.bytes = 0;
        spiller.spill(std::mem::take(&mut self.rows), path)
    }

    /// Every row, sorted: from memory when nothing was spilled, else merged from the runs
    /// (all written: the spiller has finished).
    fn done(mut self) -> Result<(SortedRows, Merge)> {
        let count = self.count;
        if self.runs.is_empty() {
            self.rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
            let rows = SortedRows::Memory(self.rows.into_iter());
            return Ok((rows, self.merge));
        }
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::with_capacity(self.runs.len());
        for (run, path) in self.runs.iter().enumerate() {
            let mut reader = BufReader::new(File::open(path).map_err(io(path))?);
            if let Some(row) = read_row(&mut reader).map_err(io(path))? {
                heap.push(Reverse(Head {
                    row_key: row.key,
                    run,
                    value: row.value,
                }));
            }
            readers.push(reader);
        }
        let runs = Runs {
            readers,
            heap,
            count,
            failed: false,
        };
        Ok((SortedRows::Runs(runs), self.merge))
    }
}

/// Sorts rows into a run file.
fn write_run(mut rows: Vec<Row>, path: &Path) -> Result<()> {
    rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?
    };
    let mut out = BufWriter::new(file);
    for row in rows {
        write_part(&mut out, &row.key).map_err(io(path))?;
        write_part(&mut out, &row.value).map_err(io(path))?;
    }
    out.flush().map_err(io(path))
}

/// Runs sorted and written on a thread of their own, so that the loader goes on gathering
/// rows meanwhile (sorting and writing a run was a third of a navigation load's sorting thread:
/// `perf`, 1M entries). One run waits while one is written.
struct Spiller {
    sender: Option<SyncSender<(Vec<Row>, PathBuf)>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Spiller {
    fn start() -> Result<Spiller> {
        let (sender, runs) = sync_channel::<(Vec<Row>, PathBuf)>(1);
        let thread = std::thread::Builder::new()
            .name("import-spill".to_string())
            .spawn(move || {
                for (rows, path) in runs {
                    write_run(rows, &path)?;
                }
                Ok(())
            })
            .map_err(|e| StoreError::Io {
                path: "the import's spilling thread".to_string(),
                source: e,
            })?;
        Ok(Spiller {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Queues `rows` to be sorted into the run file `path`; fails with the thread's error if
    /// it has stopped.
    fn spill(&mut self, rows: Vec<Row>, path: PathBuf) -> Result<()> {
        let sent = self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send((rows, path)).is_ok());
        if sent {
            return Ok(());
        }
        match self.finish() {
            Err(e) => Err(e),
            Ok(()) => Err(StoreError::Invariant(
                "the import's spilling thread stopped early",
            )),
        }
    }

    /// Waits until every queued run is written.
    fn finish(&mut self) -> Result<()> {
        self.sender = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(StoreError::Invariant("the import's spilling thread failed")),
            None => Err(StoreError::Invariant(
                "the import's spilling thread was stopped",
            )),
        }
    }
}

impl Drop for Spiller {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The smallest unread row of one run, ordered by key, then run (so that equal keys come in
/// the order they were added).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Head {
    row_key: Vec<u8>,
    run: usize,
    value: Vec<u8>,
}

/// A k-way merge of sorted run files.
pub(super) struct Runs {
    readers: Vec<BufReader<File>>,
    heap: BinaryHeap<Reverse<Head>>,
    count: u64,
    failed: bool,
}

/// A tree's added rows, in key order.
pub(super) enum SortedRows {
    Memory(std::vec::IntoIter<Row>),
    Runs(Runs),
}

impl SortedRows {
    fn count(&self) -> u64 {
        match self {
            SortedRows::Memory(rows) => rows.len() as u64,
            SortedRows::Runs(runs) => runs.count,
        }
    }
}

impl Iterator for SortedRows {
    type Item = std::io::Result<Row>;

    fn next(&mut self) -> Option<std::io::Result<Row>> {
        let runs = match self {
            SortedRows::Memory(rows) => return rows.next().map(Ok),
            SortedRows::Runs(runs) => runs,
        };
        if runs.failed {
            return None;
        }
        let Reverse(head) = runs.heap.pop()?;
        let Some(reader) = runs.readers.get_mut(head.run) else {
            runs.failed = true;
            return Some(Err(std::io::Error::other("a sorted run went missing")));
        };
        match read_row(reader) {
            Ok(Some(next)) => runs.heap.push(Reverse(Head {
                row_key: next.key,
                run: head.run,
                value: next.value,
            })),
            Ok(None) => {}
            Err(e) => {
                runs.failed = true;
                return Some(Err(e));
            }
        }
        Some(Ok(Row {
            key: head.row_key,
            value: head.value,
        }))
    }
}

/// Deletes the sort directories an interrupted load left in `data_dir` (called when the store is
/// opened, under its lock, so no load is running).
pub(super) fn remove_stale(data_dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(data_dir).map_err(io(data_dir))?;
    for entry in entries {
        let entry = entry.map_err(io(data_dir))?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(SORT_DIR_PREFIX)
        {
            let path = entry.path();
            log::warn!("deleting {}, left by an interrupted import", path.display());
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

/// Rows being gathered for several trees, each sorted by its own sorter.
pub(super) struct Sorting {
    /// Declared (so dropped) before `dir`: its thread is done writing when `dir` goes.
    spiller: Spiller,
    dir: tempfile::TempDir,
    trees: HashMap<&'static str, TreeSorter>,
    meta: Vec<(&'static [u8], Vec<u8>)>,
}

impl Sorting {
    /// A new sort directory in `data_dir`.
    pub(super) fn new(data_dir: &Path) -> Result<Sorting> {
        let dir = tempfile::Builder::new()
            .prefix(SORT_DIR_PREFIX)
            .tempdir_in(data_dir)
            .map_err(io(data_dir))?;
        Ok(Sorting {
            spiller: Spiller::start()?,
            dir,
            trees: HashMap::new(),
            meta: Vec::new(),
        })
    }

    /// Adds a row for `tree` (merged as `merge` says; one tree, one way).
    pub(super) fn push(&mut self, tree: &'static str, merge: Merge, row: Row) -> Result<()> {
        if !self.trees.contains_key(tree) {
            let dir = self.dir.path().join(tree);
            super::layout::create_private_dir(&dir)?;
            let sorter = TreeSorter {
                dir,
                merge,
                rows: Vec::new(),
                bytes: 0,
                runs: Vec::new(),
                count: 0,
            };
            self.trees.insert(tree, sorter);
        }
        match self.trees.get_mut(tree) {
            Some(sorter) if sorter.merge == merge => sorter.push(row, &mut self.spiller),
            _ => Err(StoreError::Invariant("a tree's rows are merged one way")),
        }
    }

    /// Sets `meta.key` to `value` in the rewrite's copy (a store-wide value that the loaded
    /// rows change, such as the visitor count: set with the rows, in the same switch).
    pub(super) fn set_meta(&mut self, key: &'static [u8], value: Vec<u8>) {
        self.meta.retain(|(k, _)| *k != key);
        self.meta.push((key, value));
    }

    /// Every tree's rows, sorted.
    pub(super) fn done(mut self) -> Result<Additions> {
        // The rest of a tree that was spilled goes to a last run, and every run is written.
        for sorter in self.trees.values_mut() {
            if !sorter.runs.is_empty() {
                sorter.spill(&mut self.spiller)?;
            }
        }
        self.spiller.finish()?;
        let mut trees = HashMap::new();
        for (name, sorter) in std::mem::take(&mut self.trees) {
            trees.insert(name, sorter.done()?);
        }
        Ok(Additions {
            _dir: self.dir,
            trees,
            meta: self.meta,
        })
    }
}

/// Sorted rows to merge into trees (see [`super::rewrite::Store::rewrite_merging`]).
pub struct Additions {
    _dir: tempfile::TempDir,
    trees: HashMap<&'static str, (SortedRows, Merge)>,
    /// `meta` keys the copy sets (see [`Sorting::set_meta`]).
    meta: Vec<(&'static [u8], Vec<u8>)>,
}

impl Additions {
    /// The tree's name, its sorted rows and how they merge, if any were added to `tree` (each
    /// tree's once).
    pub(super) fn take(&mut self, tree: &[u8]) -> Option<(&'static str, SortedRows, Merge)> {
        let name = *self.trees.keys().find(|name| name.as_bytes() == tree)?;
        let (rows, merge) = self.trees.remove(name)?;
        Some((name, rows, merge))
    }

    /// The `meta` keys to set in the copy, with their values.
    pub(super) fn meta(&self) -> &[(&'static [u8], Vec<u8>)] {
        &self.meta
    }

    /// Whether every tree's rows were taken.
    pub(super) fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    /// How many rows were added to each tree (tests and reports).
    pub fn rows(&self) -> HashMap<&'static str, u64> {
        self.trees
            .iter()
            .map(|(name, (sorted, _))| (*name, sorted.count()))
            .collect()
    }
}

/// Merges `existing` rows (in key order) with `added` ones (sorted by key) as `merge` says:
/// every row of both, in key order, each key once.
pub(super) fn merged<'a>(
    existing: impl Iterator<Item = sled::Result<(IVec, IVec)>> + 'a,
    added: impl Iterator<Item = std::io::Result<Row>> + 'a,
    merge: Merge,
    tree: &'static str,
) -> impl Iterator<Item = Result<(IVec, IVec)>> + 'a {
    let mut existing = existing.peekable();
    let mut added = added.peekable();
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let next = next_merged(&mut existing, &mut added, merge, tree);
        failed = matches!(next, Some(Err(_)));
        next
    })
}

/// The next merged row (see [`merged`]).
fn next_merged(
    existing: &mut std::iter::Peekable<impl Iterator<Item = sled::Result<(IVec, IVec)>>>,
    added: &mut std::iter::Peekable<impl Iterator<Item = std::io::Result<Row>>>,
    merge: Merge,
    tree: &'static str,
) -> Option<Result<(IVec, IVec)>> {
    let order = match (existing.peek(), added.peek()) {
        (None, None) => return None,
        (Some(Err(_)), _) | (Some(Ok(_)), None) => Ordering::Less,
        (_, Some(Err(_))) | (None, Some(Ok(_))) => Ordering::Greater,
        (Some(Ok((key, _))), Some(Ok(row))) => key[..].cmp(&row.key[..]),
    };
    if order == Ordering::Less {
        return existing.next().map(|r| r.map_err(StoreError::from));
    }
    let row = match added.next()? {
        Ok(row) => row,
        Err(e) => return Some(Err(sort_failed(e))),
    };
    // The existing row with the same key is replaced, or summed with.
    let old = match order {
        Ordering::Equal => match existing.next()? {
            Ok((_, value)) => Some(value),
            Err(e) => return Some(Err(e.into())),
        },
        _ => None,
    };
    let value = match merge {
        Merge::Replace => {
            if matches!(added.peek(), Some(Ok(next)) if next.key == row.key) {
                return Some(Err(StoreError::Invariant(
                    "a bulk load added two rows with the same key",
                )));
            }
            row.value
        }
        Merge::Add => match sum(&row, old.as_deref(), added, tree) {
            Ok(total) => keys::u64_value(total).to_vec(),
            Err(e) => return Some(Err(e)),
        },
        Merge::Union => match union(&row, old.as_deref(), added, tree) {
            Ok(entries) => entries,
            Err(e) => return Some(Err(e)),
        },
    };
    Some(Ok((IVec::from(row.key), IVec::from(value))))
}

/// The counter of `row`, plus those of the added rows with its key that follow it, plus the
/// existing one (`old`).
fn sum(
    row: &Row,
    old: Option<&[u8]>,
    added: &mut std::iter::Peekable<impl Iterator<Item = std::io::Result<Row>>>,
    tree: &'static str,
) -> Result<u64> {
    let mut total = counter(&row.value, tree, &row.key)?;
    if let Some(old) = old {
        total = total.saturating_add(counter(old, tree, &row.key)?);
    }
    while let Some(Ok(next)) = added.peek() {
        if next.key != row.key {
            break;
        }
        total = total.saturating_add(counter(&next.value, tree, &row.key)?);
        added.next();
    }
    Ok(total)
}

/// The bucket entries of `row`, of the added rows with its key that follow it and of the
/// existing row (`old`), united.
fn union(
    row: &Row,
    old: Option<&[u8]>,
    added: &mut std::iter::Peekable<impl Iterator<Item = std::io::Result<Row>>>,
    tree: &'static str,
) -> Result<Vec<u8>> {
    let entries = |bytes: &[u8]| {
        buckets::decode(bytes).ok_or_else(|| StoreError::Corrupt {
            tree,
            key: row.key.clone(),
        })
    };
    let mut all = entries(&row.value)?;
    if let Some(old) = old {
        all.extend(entries(old)?);
    }
    while let Some(Ok(next)) = added.peek() {
        if next.key != row.key {
            break;
        }
        all.extend(entries(&next.value)?);
        added.next();
    }
    Ok(buckets::encode(&all))
}

fn counter(bytes: &[u8], tree: &'static str, key: &[u8]) -> Result<u64> {
    keys::read_u64(bytes).ok_or_else(|| StoreError::Corrupt {
        tree,
        key: key.to_vec(),
    })
}

fn sort_failed(e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: "the bulk load's sorted rows".into(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &[u8], value: &[u8]) -> Row {
        Row {
            key: key.to_vec(),
            value: value.to_vec(),
        }
    }

    fn existing(rows: &[(&[u8], &[u8])]) -> Vec<sled::Result<(IVec, IVec)>> {
        rows.iter()
            .map(|(k, v)| Ok((IVec::from(*k), IVec::from(*v))))
            .collect()
    }

    fn merge_all(
        old: &[(&[u8], &[u8])],
        added: Vec<Row>,
        merge: Merge,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        merged(
            existing(old).into_iter(),
            added.into_iter().map(Ok),
            merge,
            "test",
        )
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect()
    }

    #[test]
    fn added_rows_interleave_replace_and_follow_the_existing_ones() {
        let old: [(&[u8], &[u8]); 3] = [(b"b", b"1"), (b"d", b"2"), (b"f", b"3")];
        let added = vec![
            row(b"a", b"x"),
            row(b"d", b"y"),
            row(b"e", b"z"),
            row(b"g", b"w"),
        ];
        let got = merge_all(&old, added, Merge::Replace).unwrap();
        let want: Vec<(Vec<u8>, Vec<u8>)> = [
            ("a", "x"),
            ("b", "1"),
            ("d", "y"),
            ("e", "z"),
            ("f", "3"),
            ("g", "w"),
        ]
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
        assert_eq!(got, want);
        // Nothing added, nothing existing.
        assert_eq!(merge_all(&old, vec![], Merge::Replace).unwrap().len(), 3);
        assert!(merge_all(&[], vec![], Merge::Replace).unwrap().is_empty());
        // Two added rows with one key are a bug of the loader, never a silent pick.
        let twice = vec![row(b"c", b"1"), row(b"c", b"2")];
        assert!(matches!(
            merge_all(&old, twice, Merge::Replace),
            Err(StoreError::Invariant(_))
        ));
    }

    #[test]
    fn added_counters_are_summed_with_each_other_and_the_stored_count() {
        let n = |v: u64| keys::u64_value(v).to_vec();
        let (five, nine) = (n(5), n(9));
        let old: [(&[u8], &[u8]); 2] = [(b"k1", &five), (b"k3", &nine)];
        let added = vec![row(b"k1", &n(2)), row(b"k1", &n(3)), row(b"k2", &n(4))];
        let got = merge_all(&old, added, Merge::Add).unwrap();
        assert_eq!(
            got,
            vec![
                (b"k1".to_vec(), n(10)),
                (b"k2".to_vec(), n(4)),
                (b"k3".to_vec(), n(9))
            ]
        );
        // A stored counter that is not a u64 is reported, not summed over.
        let bad: [(&[u8], &[u8]); 1] = [(b"k1", b"xx")];
        assert!(matches!(
            merge_all(&bad, vec![row(b"k1", &n(1))], Merge::Add),
            Err(StoreError::Corrupt { tree: "test", .. })
        ));
    }

    /// Runs hold tokens and pages: one that a crash left behind goes when the store is next
    /// opened, and nothing else in the data dir does.
    #[test]
    fn a_sort_directory_left_by_a_crash_is_deleted_at_the_next_open() {
        let (_dir, config) = crate::store::temp_config();
        drop(crate::store::Store::open(&config, Vec::new()).unwrap());
        let stale = config.data_dir.join(format!("{SORT_DIR_PREFIX}x1y2z3"));
        std::fs::create_dir_all(stale.join("navkey_pagevisit")).unwrap();
        std::fs::write(stale.join("navkey_pagevisit").join("0"), b"rows").unwrap();
        let other = config.data_dir.join("initial-admin-password");
        std::fs::write(&other, b"kept").unwrap();
        let _store = crate::store::reopen(&config);
        assert!(!stale.exists());
        assert_eq!(std::fs::read(&other).unwrap(), b"kept");
    }

    /// A run that cannot be written (its directory is gone) fails the load, at a later push or
    /// at the end, never silently.
    #[test]
    fn a_run_the_spilling_thread_cannot_write_fails_the_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorting = Sorting::new(dir.path()).unwrap();
        let push = |sorting: &mut Sorting, k: u32| {
            let r = row(&k.to_be_bytes(), &[0; 3]);
            sorting.push("navkey_pagevisit", Merge::Replace, r)
        };
        push(&mut sorting, 0).unwrap();
        let tree_dir = sorting.dir.path().join("navkey_pagevisit");
        std::fs::remove_dir_all(&tree_dir).unwrap();
        let failed = (1..100)
            .map(|k| push(&mut sorting, k))
            .find_map(Result::err);
        let err = match failed {
            Some(e) => e,
            None => sorting.done().err().unwrap(),
        };
        assert!(matches!(err, StoreError::Io { .. }), "{err}");
    }

    #[test]
    fn rows_spilled_to_runs_come_back_sorted_and_the_runs_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorting = Sorting::new(dir.path()).unwrap();
        // 71 bytes a row: a run every 10 rows, the last one spilled by the last push (the case
        // `extsort` 0.5.0 loses), and 5 more rows left in memory for the second tree.
        let keys: Vec<u32> = (0..100u32).map(|i| (i * 37) % 100).collect();
        for k in &keys {
            let r = row(&k.to_be_bytes(), &[*k as u8; 3]);
            sorting.push("navkey_pagevisit", Merge::Replace, r).unwrap();
        }
        for k in 0..25u32 {
            let r = row(&(1000 - k).to_be_bytes(), &[1, 2, 3]);
            sorting
                .push("token_navtime_navkey", Merge::Replace, r)
                .unwrap();
        }
        // One tree, one way of merging.
        assert!(sorting
            .push("navkey_pagevisit", Merge::Add, row(b"k", b"v"))
            .is_err());
        let mut additions = sorting.done().unwrap();
        assert_eq!(additions.rows().get("navkey_pagevisit"), Some(&100));
        assert_eq!(additions.rows().get("token_navtime_navkey"), Some(&25));
        let sort_dirs = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    let name = e.as_ref().unwrap().file_name();
                    name.to_string_lossy().starts_with(SORT_DIR_PREFIX)
                })
                .count()
        };
        assert_eq!(sort_dirs(), 1);
        let (_, rows, merge) = additions.take(b"navkey_pagevisit").unwrap();
        assert_eq!(merge, Merge::Replace);
        let sorted: Vec<u32> = rows
            .map(|r| u32::from_be_bytes(r.unwrap().key.try_into().unwrap()))
            .collect();
        assert_eq!(sorted, (0..100).collect::<Vec<u32>>());
        let (_, rows, _) = additions.take(b"token_navtime_navkey").unwrap();
        let sorted: Vec<u32> = rows
            .map(|r| u32::from_be_bytes(r.unwrap().key.try_into().unwrap()))
            .collect();
        assert_eq!(sorted, (976..=1000).collect::<Vec<u32>>());
        assert!(additions.is_empty());
        drop(additions);
        assert_eq!(sort_dirs(), 0);
    }
}
