//! The store: typed, domain-speaking methods over sled trees.
//!
//! Every record and all of its index rows are written in one sled transaction over all trees,
//! so a crash never leaves them disagreeing. Writers also take one store-wide lock: sled runs
//! transactions one at a time anyway, and holding the lock across the reads that prepare a
//! transaction (prefix scans, which transactions cannot do) makes read-then-write race-free.
//! Durability is decided by [`commit::GroupCommit`].
//!
//! The sled database sits in a generation directory of the data dir (`store-<N>`, named by
//! `CURRENT`; see [`layout`] for every file). The live one is held in a swappable [`Engine`]:
//! [`rewrite`] copies the store into the next generation while it keeps serving and swaps it
//! in, so that erased visitors leave no byte on disk (`storage.erase_within_hours`). Readers
//! and writers load the engine per call ([`Store::trees`], [`Store::transact`]); writers do so
//! only after taking the writer lock, under which the swap happens.
//!
//! Nothing here hands out sled types, so another backend can sit behind the same methods.

mod buckets;
mod bulk;
mod combine;
mod commit;
mod compact;
mod consistency;
mod hints;
mod history;
mod keys;
mod layout;
mod logical;
mod migrate;
mod navigation_load;
mod pending;
mod postings;
mod registrations;
mod rewrite;
mod room_rows;
mod rooms;
mod runs;
mod seam;
mod search;
mod sort_thread;
mod stats;
mod trees;
mod users;
mod visitor_load;
mod visitor_rows;
mod visitors;

use crate::config::{Durability, StorageConfig};
use crate::time::Millis;
use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Db, Tree};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use trees::{Trees, Tx, TREE_COUNT};

pub use crate::domain::{Counts, Refusal, Result, StoreError};
pub use commit::FlushObserver;
pub use compact::{compact as compact_store, Compaction};
pub use consistency::Report;
pub use layout::exposure_warning;
pub use logical::{Record, RecordSource, Restorer, Snapshot};
pub use navigation_load::NavigationLoad;
pub use pending::{MERGE_BATCH, MERGE_INLINE_AT};
pub use runs::Additions;
pub(crate) use search::searchable_texts;
/// The search rules the postgres backend shares (one definition of a match).
pub use search::{fold, visitor_matches};
pub use stats::day_of;
pub use visitor_load::VisitorLoad;

pub use trees::{Role, TREES};

/// The schema this build writes. Opening a store with a newer one is refused.
pub const SCHEMA_VERSION: u64 = 7;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

/// What a transaction closure returns.
type TxResult<T> = std::result::Result<T, ConflictableTransactionError<StoreError>>;

impl<'a> Tx<'a> {
    /// Encodes ([`encode_compact`]) and writes a visitor record inside the transaction.
    fn put_visitor(&self, v: &crate::model::Visitor) -> TxResult<()> {
        let bytes = encode_compact(v).map_err(ConflictableTransactionError::Abort)?;
        self.visitorseq_visitor
            .insert_blind(&v.seq.to_be_bytes()[..], bytes)?;
        Ok(())
    }

    /// Records an erasure for [`rewrite`]: sets `meta.erase_pending_since` to `now` unless an
    /// older erasure is already pending. Called in the transaction that erases.
    fn note_erasure(&self, now: Millis) -> TxResult<()> {
        if self.meta.get(keys::meta::ERASE_PENDING)?.is_none() {
            let now = u64::try_from(now).unwrap_or(0);
            self.meta
                .insert_blind(keys::meta::ERASE_PENDING, &keys::u64_value(now))?;
        }
        Ok(())
    }

    /// Encodes and writes one record inside the transaction.
    fn put<T: Serialize>(&self, tree: &TransactionalTree, key: &[u8], value: &T) -> TxResult<()> {
        let bytes = encode(value).map_err(ConflictableTransactionError::Abort)?;
        tree.insert_blind(key, bytes)?;
        Ok(())
    }
}

/// Aborts a transaction with `err`.
fn abort<T>(err: impl Into<StoreError>) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(err.into()))
}

fn decode<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T> {
    bincode::deserialize(bytes).map_err(|_| StoreError::Corrupt {
        tree,
        key: key.to_vec(),
    })
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    bincode::serialize(value).map_err(|e| StoreError::Encode(e.to_string()))
}

/// The record stored under `key` in `tree` (named `name` in errors), if any.
fn get_decoded<T: DeserializeOwned>(
    tree: &Tree,
    name: &'static str,
    key: &[u8],
) -> Result<Option<T>> {
    tree.get(key)?
        .map(|bytes| decode(name, key, &bytes))
        .transpose()
}

/// Every row of `tree` (named `name` in errors) in key order: its key and its decoded record.
fn decoded_rows<'a, T: DeserializeOwned>(
    tree: &'a Tree,
    name: &'static str,
) -> impl Iterator<Item = Result<(sled::IVec, T)>> + 'a {
    tree.iter().map(move |row| {
        let (key, value) = row?;
        let record = decode(name, &key, &value)?;
        Ok((key, record))
    })
}

/// The bincode options of visitor records: integers and lengths as varints (a visitor is ~30 %
/// smaller than with bincode's fixed 8-byte lengths, and visitors are most of the store), and
/// no record larger than 16 MiB is decoded (a corrupt length cannot make a huge allocation).
fn compact() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_limit(16 << 20)
}

fn encode_compact<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    use bincode::Options;
    compact()
        .serialize(value)
        .map_err(|e| StoreError::Encode(e.to_string()))
}

fn decode_compact<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T> {
    use bincode::Options;
    compact()
        .deserialize(bytes)
        .map_err(|_| StoreError::Corrupt {
            tree,
            key: key.to_vec(),
        })
}

/// The u64 (big-endian) stored under `key` in `tree` (named `name` in errors); 0 when absent.
fn read_u64_or_zero(tree: &Tree, name: &'static str, key: &[u8]) -> Result<u64> {
    match tree.get(key)? {
        Some(bytes) => keys::read_u64(&bytes).ok_or_else(|| StoreError::Corrupt {
            tree: name,
            key: key.to_vec(),
        }),
        None => Ok(0),
    }
}

/// A utf-8 id stored as a value; anything else is corruption.
fn id_value(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Corrupt {
        tree,
        key: key.to_vec(),
    })
}

/// One open sled database (a generation of the store) with its trees. Swapped as a whole by
/// [`rewrite`]; a retired one is closed when its last reader drops it.
struct Engine {
    db: Db,
    trees: Trees,
    all: [Tree; TREE_COUNT],
    /// Added to every id sled generates: raised by each rewrite and [`compact`], whose copy
    /// starts sled's id generator again from zero.
    seq_floor: u64,
    /// Where its files are.
    live: layout::Live,
}

impl Engine {
    /// Wraps an open database (whose trees exist and whose schema is current).
    fn new(db: Db, live: layout::Live) -> Result<Engine> {
        let trees = Trees::open(&db)?;
        let seq_floor = read_u64_or_zero(&trees.meta, "meta", keys::meta::SEQ_FLOOR)?;
        let all = trees.all();
        Ok(Engine {
            db,
            trees,
            all,
            seq_floor,
            live,
        })
    }
}

/// The live trees, kept alive (even across a swap) as long as the guard lives.
struct TreesGuard(arc_swap::Guard<Arc<Engine>>);

impl std::ops::Deref for TreesGuard {
    type Target = Trees;
    fn deref(&self) -> &Trees {
        &self.0.trees
    }
}

/// How sled is opened (from the config), for the store and each new generation.
#[derive(Debug, Clone, Copy)]
struct SledSettings {
    cache_bytes: u64,
    flush_every_ms: Option<u64>,
}

impl SledSettings {
    fn of(config: &StorageConfig) -> SledSettings {
        let flush_every_ms = match config.durability {
            // The testing-only seam: nothing but sled's timer flushes.
            _ if config.unsafe_ack_before_flush => Some(config.flush_every_ms),
            // Sync mode flushes through group commit; sled's own timer stays as a backstop.
            Durability::Sync => Some(config.flush_every_ms.max(1000)),
            Durability::Periodic => Some(config.flush_every_ms),
        };
        SledSettings {
            cache_bytes: config.cache_mb.saturating_mul(1024 * 1024),
            flush_every_ms,
        }
    }

    fn open(&self, dir: &Path) -> sled::Result<Db> {
        sled::Config::new()
            .path(dir)
            .cache_capacity(self.cache_bytes)
            .flush_every_ms(self.flush_every_ms)
            .open()
    }
}

struct Inner {
    /// The live generation; the group-commit flusher holds the same cell.
    engine: Arc<ArcSwap<Engine>>,
    /// Held by every writer from its first read to its commit.
    write_lock: Mutex<()>,
    commit: commit::GroupCommit,
    /// Places values in the exact-match buckets (keyed with the store's secret).
    hasher: buckets::Hasher,
    /// Ids of the custom fields that `visitors.search` matches (config, fixed at open).
    search_fields: Vec<String>,
    /// The pending rows of the search index in memory (see [`pending`]).
    pending: Mutex<pending::Mirror>,
    /// Page visits waiting for the writer lock, written together (see [`combine`]).
    visit_writes: combine::Combiner<history::QueuedVisit, crate::model::PageVisit>,
    /// Registrations waiting for the writer lock, new visitors written together (see
    /// [`registrations`]).
    registration_writes:
        combine::Combiner<registrations::QueuedRegistration, crate::model::Visitor>,
    /// Where lookups by token look first (see [`hints`]).
    token_hints: hints::Hints,
    /// Chunk counts of posting lists, for planning searches (see [`hints`]).
    gram_count_hints: hints::Hints,
    /// Bumped, under the writer lock and after the commit, by every write that changes posting
    /// chunks or changes or removes a pending row: a merge planned without the lock applies
    /// its plan only if this did not move meanwhile (see [`Store::merge_pending`]).
    index_epoch: std::sync::atomic::AtomicU64,
    /// The newest transaction failed in storage (e.g. the disk is full); cleared by a success.
    write_failing: AtomicBool,
    /// Room-less history of unregistered tokens is configured to expire
    /// (`history.roomless_ttl_days` > 0); see [`Store::set_roomless_expiry`].
    roomless_expiry: AtomicBool,
    /// The data dir.
    data_dir: PathBuf,
    /// How each generation is opened.
    sled: SledSettings,
    /// Held by a rewrite (one at a time) and by the deletion of old generations.
    rewriting: Mutex<()>,
    /// Engines swapped out by a rewrite: their files are deleted once the last reader let go.
    retired: Mutex<Vec<rewrite::Retired>>,
    /// The lock on `<data dir>/LOCK`; released last, when the store closes.
    _lock: std::fs::File,
}

/// A handle on the open store; cheap to clone, closed when the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// Takes a mutex, also when a panic poisoned it (nothing here panics while holding one).
fn lock_anyway<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    /// Opens (creating when missing) the store in `config.data_dir`. `search_fields` are the
    /// custom fields that search matches; when they differ from the ones the search index was
    /// built with, the index is rebuilt.
    pub fn open(config: &StorageConfig, search_fields: Vec<String>) -> Result<Store> {
        let dir = &config.data_dir;
        compact::recover(dir)?;
        layout::create_private_dir(dir)?;
        if let Some(warning) = layout::exposure_warning(dir) {
            log::warn!("{warning}");
        }
        let lock = layout::lock(dir)?;
        let live = layout::prepare(dir)?;
        let sled = SledSettings::of(config);
        let db = sled
            .open(&layout::live_dir(dir, live))
            .map_err(|e| open_error(dir, e))?;
        let trees = Trees::open(&db)?;
        let found = check_schema(&trees.meta)?;
        let hasher = buckets::Hasher::new(&hash_key(&trees.meta)?);
        migrate::run(&db, &trees, &hasher, found)?;
        let engine = Arc::new(ArcSwap::from_pointee(Engine::new(db, live)?));
        layout::secure(dir, live)?;
        let flushed = engine.clone();
        let flush = move || flushed.load().db.flush().map(|_| ());
        let commit = if config.unsafe_ack_before_flush {
            log::warn!(
                "storage.unsafe_ack_before_flush is on: writes are acknowledged before they are \
                 on disk and a crash loses them (testing only, never use)"
            );
            // Writers do not wait for any flush, as in `periodic` mode.
            commit::GroupCommit::start(flush, Durability::Periodic)
        } else {
            commit::GroupCommit::start(flush, config.durability)
        };
        let store = Store {
            inner: Arc::new(Inner {
                engine,
                write_lock: Mutex::new(()),
                commit,
                hasher,
                search_fields,
                pending: Mutex::new(pending::Mirror::default()),
                visit_writes: combine::Combiner::default(),
                registration_writes: combine::Combiner::default(),
                token_hints: hints::Hints::new(hints::TOKEN_SLOTS),
                gram_count_hints: hints::Hints::new(hints::GRAM_SLOTS),
                index_epoch: std::sync::atomic::AtomicU64::new(0),
                write_failing: AtomicBool::new(false),
                roomless_expiry: AtomicBool::new(true),
                data_dir: dir.clone(),
                sled,
                rewriting: Mutex::new(()),
                retired: Mutex::new(Vec::new()),
                _lock: lock,
            }),
        };
        store.ensure_search_index()?;
        store.load_pending()?;
        Ok(store)
    }

    /// The live generation (load it after taking the writer lock when preparing a write).
    fn engine(&self) -> arc_swap::Guard<Arc<Engine>> {
        self.inner.engine.load()
    }

    /// The live trees.
    fn trees(&self) -> TreesGuard {
        TreesGuard(self.engine())
    }

    /// Takes the writers' lock (a poisoned lock is still a lock: no writer panics mid-write).
    fn lock(&self) -> MutexGuard<'_, ()> {
        lock_anyway(&self.inner.write_lock)
    }

    /// Runs `f` in one transaction over every tree.
    fn transact<T>(&self, f: impl Fn(&Tx) -> TxResult<T>) -> Result<T> {
        let engine = self.engine();
        let result = Transactional::<StoreError>::transaction(&engine.all[..], |views| {
            let views: &[TransactionalTree; TREE_COUNT] =
                views.as_slice().try_into().map_err(|_| {
                    ConflictableTransactionError::Abort(StoreError::Invariant(
                        "a transaction did not see every tree",
                    ))
                })?;
            f(&Tx::new(views, &self.inner.hasher))
        });
        let storage_failed = matches!(
            result,
            Err(TransactionError::Storage(_))
                | Err(TransactionError::Abort(StoreError::Storage(_)))
        );
        self.inner
            .write_failing
            .store(storage_failed, Ordering::Relaxed);
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::from(e),
        })
    }

    /// A fresh write-order number (monotonic across restarts and compactions).
    fn next_seq(&self) -> Result<u64> {
        let engine = self.engine();
        let id = engine.db.generate_id()?;
        engine
            .seq_floor
            .checked_add(id)
            .ok_or(StoreError::Invariant("write-order numbers exhausted"))
    }

    /// Waits until every write acknowledged so far is on disk (a no-op in `periodic` mode).
    /// What is covered is decided at the call; the future waits for the flush.
    pub fn durable(&self) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
        self.inner.commit.wait_durable()
    }

    /// How many times the live database's log file was `fdatasync`'d since it was opened (the
    /// end of every durable flush; see `vendor/README.md`).
    pub fn log_syncs(&self) -> u64 {
        self.engine().db.log_syncs()
    }

    /// Announces a write about to run (see [`commit`]: the next flush waits for it, briefly).
    /// Must be followed by [`Store::durable_announced`] whatever the write's outcome.
    pub fn announce_write(&self) {
        self.inner.commit.announce();
    }

    /// [`Store::durable`] for a write announced with [`Store::announce_write`].
    pub fn durable_announced(
        &self,
    ) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
        self.inner.commit.wait_announced()
    }

    /// Tells `observer` about every group-commit flush (writes covered, time, success): the
    /// metrics hook. Only `sync` durability flushes through group commit.
    pub fn observe_flushes(&self, observer: commit::FlushObserver) {
        self.inner.commit.observe_flushes(observer);
    }

    /// Fault injection for tests: while `on`, durable flushes fail as on a full disk, so writes
    /// in `sync` mode are answered 500 and `/health` turns 503.
    #[doc(hidden)]
    pub fn inject_flush_failures(&self, on: bool) {
        self.inner.commit.fail_flushes(on);
    }

    /// Tells the store whether room-less history of unregistered tokens expires
    /// (`history.roomless_ttl_days` > 0; the default). Only then is a never-expiring room-less
    /// entry whose token has no visitor history left behind by an erased visitor, which
    /// [`Store::check`] reports.
    pub fn set_roomless_expiry(&self, on: bool) {
        self.inner.roomless_expiry.store(on, Ordering::Relaxed);
    }

    /// See [`Store::set_roomless_expiry`].
    fn roomless_expiry(&self) -> bool {
        self.inner.roomless_expiry.load(Ordering::Relaxed)
    }

    /// Test seam: writes `value` (or removes the row when `None`) under `key` in the tree named
    /// `tree`, bypassing every index and invariant, and flushes. Lets tests corrupt a store to
    /// prove that [`Store::check`] notices. Never used by visitord itself.
    #[doc(hidden)]
    pub fn raw_write(&self, tree: &str, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let engine = self.engine();
        let tree = engine
            .trees
            .by_name(tree)
            .ok_or(StoreError::Invariant("raw_write: no such tree"))?;
        match value {
            Some(v) => tree.insert(key, v)?,
            None => tree.remove(key)?,
        };
        engine.db.flush()?;
        Ok(())
    }

    /// Test seam: a record encoded as the store encodes rooms and messages (for
    /// [`Store::raw_write`]).
    #[doc(hidden)]
    pub fn raw_record<T: Serialize>(record: &T) -> Result<Vec<u8>> {
        encode(record)
    }

    /// Test seam: a navigation entry encoded as `navkey_pagevisit` holds it (for
    /// [`Store::raw_write`]).
    #[doc(hidden)]
    pub fn raw_visit_record(entry: &crate::model::PageVisit) -> Result<Vec<u8>> {
        history::encode_record(entry)
    }

    /// Flushes everything to disk now (clean shutdown).
    pub fn flush(&self) -> Result<()> {
        self.engine().db.flush()?;
        Ok(())
    }

    /// Whether the store answers reads and its newest write and durable flush succeeded
    /// (for `/health`).
    pub fn healthy(&self) -> bool {
        self.trees().meta.get(keys::meta::SCHEMA_VERSION).is_ok()
            && !self.inner.commit.failing()
            && !self.inner.write_failing.load(Ordering::Relaxed)
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.engine().db.size_on_disk()?)
    }

    /// Counts of the main records: visitors and navigation entries from the counters kept in
    /// their transactions (`meta` and `day_count`: a few keys per day however large the store
    /// is), users, rooms and messages by walking their trees. On a store that cannot be read,
    /// logs why and counts 0 (the metrics sampler keeps its last values instead: see
    /// [`Store::try_counts`]).
    pub fn counts(&self) -> Counts {
        self.try_counts().unwrap_or_else(|e| {
            log::error!("cannot count the records: {e}");
            Counts::default()
        })
    }

    /// What [`Store::counts`] must answer, by walking every record tree (tests).
    #[cfg(test)]
    pub fn walked_counts(&self) -> Counts {
        let t = self.trees();
        Counts {
            visitors: t.visitorseq_visitor.len(),
            users: t.userid_user.len(),
            rooms: t.roomid_room.len(),
            messages: t.msgid_message.len(),
            page_visits: t.navkey_pagevisit.len(),
        }
    }

    /// [`Store::counts`], or why the counters cannot be read.
    pub fn try_counts(&self) -> Result<Counts> {
        let t = self.trees();
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Counts {
            visitors: count(self.visitor_count()?),
            users: t.userid_user.len(),
            rooms: t.roomid_room.len(),
            messages: t.msgid_message.len(),
            page_visits: count(self.page_visit_count()?),
        })
    }

    /// Every index row count (trees of role [`Role::Index`], [`Role::SearchCounts`] and
    /// [`Role::SearchPending`]), for consistency assertions in tests.
    pub fn index_counts(&self) -> Vec<(&'static str, usize)> {
        let t = self.trees();
        TREES
            .iter()
            .filter(|(_, role)| {
                matches!(role, Role::Index | Role::SearchCounts | Role::SearchPending)
            })
            .filter_map(|(name, _)| Some((*name, t.by_name(name)?.len())))
            .collect()
    }

    /// Every row of every tree (name, key, value), in order: two snapshots are equal exactly
    /// when the store's contents are. For tests that prove a rejected request changed nothing.
    pub fn snapshot(&self) -> Result<Vec<SnapshotRow>> {
        let mut rows = Vec::new();
        let engine = self.engine();
        for tree in engine.all.iter() {
            let name = String::from_utf8_lossy(&tree.name()).into_owned();
            for row in tree.iter() {
                let (k, v) = row?;
                rows.push((name.clone(), k.to_vec(), v.to_vec()));
            }
        }
        Ok(rows)
    }

    /// Collects the ids stored as values under `prefix` in `tree`.
    fn ids_with_prefix(
        &self,
        tree: &Tree,
        name: &'static str,
        prefix: &[u8],
    ) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for row in tree.scan_prefix(prefix) {
            let (key, value) = row?;
            ids.push(id_value(name, &key, &value)?);
        }
        Ok(ids)
    }
}

/// The config of a store in a new temporary directory (unit tests); the directory lives as long
/// as the guard.
#[cfg(test)]
pub(crate) fn temp_config() -> (tempfile::TempDir, StorageConfig) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = StorageConfig {
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    (dir, config)
}

/// Panics unless the data dir of `config` holds the generation `generation` and no other, and
/// no sort directory (unit tests: what a failed rewrite or bulk load must leave behind).
#[cfg(test)]
pub(crate) fn assert_only_generation(config: &StorageConfig, generation: Option<u64>) {
    let left: Vec<String> = std::fs::read_dir(&config.data_dir)
        .expect("read the data dir")
        .map(|e| {
            e.expect("a data dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| {
            name.starts_with(layout::GENERATION_PREFIX) || name.starts_with(runs::SORT_DIR_PREFIX)
        })
        .collect();
    let live = layout::generation_dir(&config.data_dir, generation.expect("a generation"));
    assert_eq!(left, [live.file_name().expect("a name").to_string_lossy()]);
}

/// A store in a new temporary directory (unit tests); the directory lives as long as the guard.
#[cfg(test)]
pub(crate) fn temp_store(search_fields: &[&str]) -> (tempfile::TempDir, Store) {
    let (dir, config) = temp_config();
    let fields = search_fields.iter().map(|f| f.to_string()).collect();
    let store = Store::open(&config, fields).expect("open a temporary store");
    (dir, store)
}

/// Opens the store of `config` again after its last handle was dropped (unit tests): sled's I/O
/// threads may hold the directory lock a moment longer, so `Locked` is retried for up to 10 s.
#[cfg(test)]
pub(crate) fn reopen(config: &StorageConfig) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(config, Vec::new()) {
            Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.expect("reopen the store"),
        }
    }
}

/// One row of [`Store::snapshot`]: tree name, key, value.
pub type SnapshotRow = (String, Vec<u8>, Vec<u8>);

/// Turns sled's open errors into ones a person can act on.
fn open_error(dir: &Path, e: sled::Error) -> StoreError {
    if let sled::Error::Io(io) = &e {
        let text = io.to_string();
        if text.contains("lock") || io.kind() == std::io::ErrorKind::WouldBlock {
            return StoreError::Locked {
                path: dir.display().to_string(),
            };
        }
    }
    StoreError::from(e)
}

/// The store's bucket-hash secret, made when missing.
fn hash_key(meta: &Tree) -> Result<Vec<u8>> {
    if let Some(key) = meta.get(keys::meta::HASH_KEY)? {
        return Ok(key.to_vec());
    }
    let key = buckets::Hasher::new_key();
    meta.insert(keys::meta::HASH_KEY, key.as_slice())?;
    Ok(key)
}

/// Writes the schema version into a new store and returns it; refuses a newer one. Returns the
/// version found (an older one is migrated by the caller).
fn check_schema(meta: &Tree) -> Result<u64> {
    match meta.get(keys::meta::SCHEMA_VERSION)? {
        Some(bytes) => {
            let found = keys::read_u64(&bytes).ok_or_else(|| StoreError::Corrupt {
                tree: "meta",
                key: keys::meta::SCHEMA_VERSION.to_vec(),
            })?;
            if found > SCHEMA_VERSION {
                return Err(StoreError::SchemaTooNew { found });
            }
            Ok(found)
        }
        None => {
            meta.insert(keys::meta::SCHEMA_VERSION, &keys::u64_value(SCHEMA_VERSION))?;
            Ok(SCHEMA_VERSION)
        }
    }
}
