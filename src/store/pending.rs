//! The pending list of the search index, after PostgreSQL GIN's `fastupdate`: a new visitor's
//! trigrams go into one row of tree `gram_pending`, written in the transaction of its record,
//! instead of into ~46 posting chunks; searches read the pending rows too (through an
//! in-memory [`Mirror`]), and [`Store::merge_pending`] moves them into the chunks in bulk.
//!
//! ## The invariant
//! Every visitor's seq is either in exactly one pending row, whose trigram set is the one its
//! record calls for ([`super::search::grams_of`]), and on no posting list; or in no pending
//! row, and on exactly the posting lists its record calls for. So the index is an exact
//! function of the records: chunks ∪ pending = what the records derive, and the consistency
//! check compares exactly that.
//!
//! ## Writers ([`Store::plan_search`])
//! - a new visitor: one pending row (the fast path of registration);
//! - a change of a pending visitor: its row is rewritten (or removed, on erasure), nothing else;
//! - a change of a merged visitor (rarer: updates that change a searchable text, erasure):
//!   the chunk edits of the direct path, as before pending rows existed.
//!
//! The pending state of a visitor is read under the writer lock, which a merge holds too.
//!
//! ## The mirror and when it changes
//! The mirror holds, per posting-list prefix, the pending seqs that have it. It must never
//! lack a seq that a committed pending row has (search would miss a visitor); an extra seq
//! only costs a candidate check (search verifies every candidate against its record). So
//! writers add to it *before* their transaction commits and remove from it only *after*; a
//! search reads the mirror *before* the chunks, so a seq a merge moved is either still in the
//! mirror or already in the chunks it reads next. A failed transaction puts the mirror back
//! to what the tree holds. The mirror is loaded from the tree when the store opens.
//!
//! ## Merging
//! [`Store::merge_pending`] takes the oldest pending rows (at most a batch), plans the chunk
//! writes for all of them at once (one rewrite per touched chunk, see
//! [`Store::plan_postings`]) and applies them in one transaction that also deletes the merged
//! rows: a crash leaves either both or neither. Writers merge a batch themselves when more
//! than [`MERGE_INLINE_AT`] rows are pending; the server also merges on a timer.

use super::keys::SEP;
use super::postings::{self, Edits};
use super::{lock_anyway, Result, Store, StoreError, Tx, TxResult};
use crate::model::Visitor;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A merge planned without the writer lock (see [`Store::merge_pending`]).
struct MergePlan {
    /// The index epoch before the plan read anything.
    epoch: u64,
    /// The generation it read.
    engine: Arc<super::Engine>,
    rows: Vec<(u64, Grams)>,
    writes: postings::Writes,
}

/// Held by a write that changes the search index until it committed; see
/// [`Store::index_change`].
pub(super) struct IndexChange<'a>(&'a Store);

impl Drop for IndexChange<'_> {
    fn drop(&mut self) {
        self.0.inner.index_epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending rows merged per transaction by default: bounds how long a merge holds the writer
/// lock. Larger batches share more chunk rewrites among the visitors of a common trigram:
/// 1,024 rows (a merge ~15 ms under the lock on a fresh store) gave 1.12× the registrations of
/// 256 and a lower p99 (31 against 82 ms; on the 1M store 44–65 against 122–147 ms), since
/// writers queue behind fewer, cheaper-per-row merges (`docs/benchmarks.md`).
pub const MERGE_BATCH: usize = 1024;
/// A writer that leaves more pending rows than this merges a batch before it returns (the
/// server's timer normally keeps the list well below it).
pub const MERGE_INLINE_AT: usize = 8192;

/// A visitor's trigram set, as posting-list prefixes (`ns gram 0xFF`).
pub(super) type Grams = BTreeSet<Vec<u8>>;

/// Encodes a trigram set as the concatenation of its prefixes: each ends with `0xFF`, a byte
/// that never occurs in a gram (UTF-8), so the value splits back unambiguously.
pub(super) fn encode(grams: &Grams) -> Vec<u8> {
    grams.iter().flatten().copied().collect()
}

/// Decodes [`encode`]; `None` for bytes that are not a valid pending row.
pub(super) fn decode(bytes: &[u8]) -> Option<Grams> {
    let mut out = Grams::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == SEP {
            // At least the namespace byte before the separator.
            if i == start {
                return None;
            }
            out.insert(bytes[start..=i].to_vec());
            start = i + 1;
        }
    }
    (start == bytes.len()).then_some(out)
}

/// The seq of a `gram_pending` key.
pub(super) fn seq_of(key: &[u8]) -> Option<u64> {
    super::keys::read_u64(key).filter(|_| key.len() == 8)
}

/// The pending rows in memory: per posting-list prefix, the pending seqs that have it.
#[derive(Default, Debug, PartialEq, Eq)]
pub(super) struct Mirror {
    lists: BTreeMap<Vec<u8>, BTreeSet<u64>>,
    /// Every pending seq.
    rows: BTreeSet<u64>,
}

impl Mirror {
    /// Adds `seq` to each list of `grams`.
    pub(super) fn insert(&mut self, seq: u64, grams: &Grams) {
        self.rows.insert(seq);
        for g in grams {
            self.lists.entry(g.clone()).or_default().insert(seq);
        }
    }

    /// Takes `seq` off each list of `grams`, and off the pending rows when `whole`.
    fn remove(&mut self, seq: u64, grams: &Grams, whole: bool) {
        if whole {
            self.rows.remove(&seq);
        }
        for g in grams {
            if let Some(list) = self.lists.get_mut(g) {
                list.remove(&seq);
                if list.is_empty() {
                    self.lists.remove(g);
                }
            }
        }
    }

    /// How many rows are pending.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The pending seqs on every list of `prefixes` (none for no prefixes).
    pub(super) fn common(&self, prefixes: &[Vec<u8>]) -> Vec<u64> {
        let mut lists = Vec::with_capacity(prefixes.len());
        for p in prefixes {
            match self.lists.get(p) {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        first
            .iter()
            .filter(|s| rest.iter().all(|l| l.contains(s)))
            .copied()
            .collect()
    }

    /// The pending seqs on any list whose prefix starts with `start` (short terms).
    pub(super) fn starting_with(&self, start: &[u8]) -> BTreeSet<u64> {
        let mut out = BTreeSet::new();
        for (prefix, list) in self.lists.range(start.to_vec()..) {
            if !prefix.starts_with(start) {
                break;
            }
            out.extend(list);
        }
        out
    }
}

/// The search-index writes of one visitor change, planned under the writer lock.
#[derive(Default, Debug)]
pub(super) struct IndexWrites {
    /// Chunk writes (changes of merged visitors).
    chunks: postings::Writes,
    /// Pending rows to write: seq → trigram set.
    put: Vec<(u64, Grams)>,
    /// Pending rows to delete, with the trigram sets they hold.
    remove: Vec<(u64, Grams)>,
}

impl IndexWrites {
    /// Whether these writes only add pending rows (a new visitor's): writes of different
    /// visitors of that kind touch different rows and can share a transaction.
    pub(super) fn is_new_pending_row(&self) -> bool {
        self.chunks.is_empty() && self.remove.is_empty()
    }

    /// Takes in the pending rows of `other` (see [`IndexWrites::is_new_pending_row`]).
    pub(super) fn add_new_pending_row(&mut self, other: IndexWrites) {
        self.put.extend(other.put);
    }
}

/// Writes planned index changes inside the transaction of the records they come from.
pub(super) fn apply(tx: &Tx, writes: &IndexWrites) -> TxResult<()> {
    postings::apply(tx, &writes.chunks)?;
    for (seq, _) in &writes.remove {
        tx.gram_pending.remove_blind(&seq.to_be_bytes()[..])?;
    }
    for (seq, grams) in &writes.put {
        tx.gram_pending
            .insert_blind(&seq.to_be_bytes()[..], encode(grams))?;
    }
    Ok(())
}

impl Store {
    /// The mirror of the pending rows (read or written briefly; never held across I/O by a
    /// writer).
    pub(super) fn mirror(&self) -> std::sync::MutexGuard<'_, Mirror> {
        lock_anyway(&self.inner.pending)
    }

    /// Whether `seq` has a pending row. Call under the writer lock.
    fn is_pending(&self, seq: u64) -> Result<bool> {
        Ok(self.trees().gram_pending.contains_key(seq.to_be_bytes())?)
    }

    /// Plans the search-index writes for a visitor going from `old` to `new` (`None`: absent)
    /// (see the module header). Call under the writer lock; run the transaction that applies
    /// them ([`apply`]) through [`Store::commit_search`].
    pub(super) fn plan_search(
        &self,
        old: Option<&Visitor>,
        new: Option<&Visitor>,
    ) -> Result<IndexWrites> {
        let fields = &self.inner.search_fields;
        let mut w = IndexWrites::default();
        match old {
            None => {
                if let Some(n) = new {
                    w.put.push((n.seq, super::search::grams_of(n, fields)));
                }
            }
            Some(o) if self.is_pending(o.seq)? => {
                let before = super::search::grams_of(o, fields);
                match new {
                    Some(n) => {
                        let after = super::search::grams_of(n, fields);
                        // A new seq, or the same row rewritten in place (the old set is then
                        // taken off the mirror after the commit).
                        if n.seq != o.seq || after != before {
                            w.remove.push((o.seq, before));
                            w.put.push((n.seq, after));
                        }
                    }
                    None => w.remove.push((o.seq, before)),
                }
            }
            // Merged: the direct path (a new seq, if any, goes onto the lists too).
            Some(o) => w.chunks = self.plan_visitor_postings(&[(Some(o), new)])?,
        }
        Ok(w)
    }

    /// Runs `commit` (the transaction that applies `writes`) with the mirror changed around
    /// it: additions before it, removals after it succeeded; when it fails, the mirror is put
    /// back to what the tree holds for the rows it touched.
    pub(super) fn commit_search<T>(
        &self,
        writes: &IndexWrites,
        commit: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        // A new pending row is all a registration writes: a merge planned meanwhile still
        // holds. Anything else may change what a merge read.
        let _changes_index =
            (!writes.chunks.is_empty() || !writes.remove.is_empty()).then(|| self.index_change());
        if !writes.put.is_empty() {
            let mut m = self.mirror();
            for (seq, grams) in &writes.put {
                m.insert(*seq, grams);
            }
        }
        let result = commit();
        if writes.put.is_empty() && writes.remove.is_empty() {
            return result;
        }
        match &result {
            Ok(_) => {
                let mut m = self.mirror();
                for (seq, grams) in &writes.remove {
                    // A row rewritten in place stays pending with its new set.
                    match writes.put.iter().find(|(s, _)| s == seq) {
                        Some((_, kept)) => {
                            let gone: Grams = grams.difference(kept).cloned().collect();
                            m.remove(*seq, &gone, false);
                        }
                        None => m.remove(*seq, grams, true),
                    }
                }
            }
            Err(_) => {
                let seqs: BTreeSet<u64> = writes
                    .put
                    .iter()
                    .chain(&writes.remove)
                    .map(|(s, _)| *s)
                    .collect();
                self.resync_mirror(&seqs, writes)?;
            }
        }
        result
    }

    /// Puts the mirror's rows of `seqs` back to what the tree holds (after a failed write).
    fn resync_mirror(&self, seqs: &BTreeSet<u64>, writes: &IndexWrites) -> Result<()> {
        let mut stored = Vec::new();
        for seq in seqs {
            let key = seq.to_be_bytes();
            if let Some(bytes) = self.trees().gram_pending.get(key)? {
                let grams = decode(&bytes).ok_or_else(|| StoreError::Corrupt {
                    tree: "gram_pending",
                    key: key.to_vec(),
                })?;
                stored.push((*seq, grams));
            }
        }
        let mut m = self.mirror();
        for (seq, grams) in writes.put.iter().chain(&writes.remove) {
            m.remove(*seq, grams, true);
        }
        for (seq, grams) in &stored {
            m.insert(*seq, grams);
        }
        Ok(())
    }

    /// Loads the mirror from `gram_pending` (at open, and after the index was rebuilt).
    pub(super) fn load_pending(&self) -> Result<()> {
        let mut mirror = Mirror::default();
        for (seq, grams) in self.pending_rows(usize::MAX)? {
            mirror.insert(seq, &grams);
        }
        *self.mirror() = mirror;
        Ok(())
    }

    /// The first `max` pending rows (oldest seqs first), decoded.
    pub(super) fn pending_rows(&self, max: usize) -> Result<Vec<(u64, Grams)>> {
        let mut rows = Vec::new();
        for row in self.trees().gram_pending.iter().take(max) {
            let (key, value) = row?;
            let corrupt = || StoreError::Corrupt {
                tree: "gram_pending",
                key: key.to_vec(),
            };
            let seq = seq_of(&key).ok_or_else(corrupt)?;
            let grams = decode(&value).ok_or_else(corrupt)?;
            rows.push((seq, grams));
        }
        Ok(rows)
    }

    /// How many visitors are pending (not yet merged into the posting chunks).
    pub fn pending_count(&self) -> usize {
        self.mirror().len()
    }

    /// The guard a write that changes the search index holds until it has committed (under the
    /// writer lock): dropping it bumps the index epoch, so that a merge planned meanwhile
    /// without the lock plans again ([`Store::merge_pending`]).
    pub(super) fn index_change(&self) -> IndexChange<'_> {
        IndexChange(self)
    }

    pub(super) fn index_epoch(&self) -> u64 {
        self.inner.index_epoch.load(Ordering::SeqCst)
    }

    /// What a merge of up to `max_rows` of the oldest pending rows writes: the rows, and the
    /// chunk writes that add their seqs to their lists.
    fn plan_merge(&self, max_rows: usize) -> Result<(Vec<(u64, Grams)>, postings::Writes)> {
        let rows = self.pending_rows(max_rows)?;
        let mut edits = Edits::new();
        for (seq, grams) in &rows {
            for g in grams {
                edits.entry(g.clone()).or_default().add.insert(*seq);
            }
        }
        let writes = self.plan_postings(&edits)?;
        Ok((rows, writes))
    }

    /// Moves up to `max_rows` pending rows (the oldest) into the posting chunks in one
    /// transaction that also deletes them; returns how many moved. Call again (e.g. until it
    /// returns 0) to merge more.
    ///
    /// The merge is planned (the chunks read and rewritten in memory: most of its time)
    /// without the writer lock, while writers carry on. Under the lock it is applied only if
    /// no write changed the index since the plan began (the [`Store::index_change`] epoch, and
    /// the same generation: a compaction swaps it); registrations, which only add pending
    /// rows, do not count. Otherwise it is planned again under the lock. Writers therefore
    /// wait only for the transaction itself.
    pub fn merge_pending(&self, max_rows: usize) -> Result<usize> {
        let plan = self.plan_merge_unlocked(max_rows)?;
        self.apply_merge(plan, max_rows)
    }

    /// A merge planned without the writer lock, with what tells whether it still holds.
    fn plan_merge_unlocked(&self, max_rows: usize) -> Result<MergePlan> {
        // The epoch and the generation are read before the plan reads anything.
        let epoch = self.index_epoch();
        let engine = Arc::clone(&*self.engine());
        let (rows, writes) = self.plan_merge(max_rows)?;
        Ok(MergePlan {
            epoch,
            engine,
            rows,
            writes,
        })
    }

    /// Applies `plan` under the writer lock, or a plan made again under it when the index
    /// changed since `plan` began.
    fn apply_merge(&self, plan: MergePlan, max_rows: usize) -> Result<usize> {
        let _writer = self.lock();
        let unchanged =
            self.index_epoch() == plan.epoch && Arc::ptr_eq(&plan.engine, &*self.engine());
        drop(plan.engine);
        let (rows, writes) = if unchanged {
            (plan.rows, plan.writes)
        } else {
            self.plan_merge(max_rows)?
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let _changes_index = self.index_change();
        self.transact(|tx| {
            postings::apply(tx, &writes)?;
            for (seq, _) in &rows {
                tx.gram_pending.remove_blind(&seq.to_be_bytes()[..])?;
            }
            Ok(())
        })?;
        let mut m = self.mirror();
        for (seq, grams) in &rows {
            m.remove(*seq, grams, true);
        }
        Ok(rows.len())
    }

    /// Merges every pending row, a batch of [`MERGE_BATCH`] per transaction (the writer lock is
    /// released between batches); returns how many moved.
    pub fn merge_all_pending(&self) -> Result<usize> {
        let mut moved = 0;
        loop {
            let n = self.merge_pending(MERGE_BATCH)?;
            moved += n;
            if n == 0 {
                return Ok(moved);
            }
        }
    }

    /// Merges a batch when more than [`MERGE_INLINE_AT`] rows are pending (called by writers
    /// after they released the writer lock). A failure is logged, not returned: the write that
    /// called it is committed, and the rows stay pending for the next merge.
    pub(super) fn merge_if_over(&self) {
        if self.pending_count() > MERGE_INLINE_AT {
            if let Err(e) = self.merge_pending(MERGE_BATCH) {
                log::error!("merging pending search rows failed: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_roundtrip_and_reject_garbage() {
        let grams: Grams = [b"tabc\xFF".to_vec(), b"p555\xFF".to_vec()]
            .into_iter()
            .collect();
        assert_eq!(decode(&encode(&grams)), Some(grams));
        assert_eq!(decode(&[]), Some(Grams::new()));
        assert_eq!(decode(b"tab"), None, "no terminator");
        assert_eq!(decode(b"\xFF"), None, "an empty prefix");
        assert_eq!(seq_of(&7u64.to_be_bytes()), Some(7));
        assert_eq!(seq_of(b"short"), None);
    }

    #[test]
    fn mirror_answers_common_and_prefix_queries() {
        let mut m = Mirror::default();
        let g = |v: &[&[u8]]| -> Grams { v.iter().map(|x| x.to_vec()).collect() };
        m.insert(1, &g(&[b"tabc\xFF", b"tbcd\xFF"]));
        m.insert(2, &g(&[b"tabc\xFF", b"txyz\xFF"]));
        assert_eq!(m.common(&[b"tabc\xFF".to_vec()]), vec![1, 2]);
        assert_eq!(
            m.common(&[b"tabc\xFF".to_vec(), b"tbcd\xFF".to_vec()]),
            vec![1]
        );
        assert_eq!(
            m.common(&[b"tabc\xFF".to_vec(), b"tnone\xFF".to_vec()]),
            Vec::<u64>::new()
        );
        assert_eq!(m.common(&[]), Vec::<u64>::new());
        assert_eq!(m.starting_with(b"tab"), [1, 2].into());
        assert_eq!(m.starting_with(b"tx"), [2].into());
        m.remove(2, &g(&[b"tabc\xFF", b"txyz\xFF"]), true);
        assert_eq!(m.len(), 1);
        assert!(m.starting_with(b"tx").is_empty());
        assert!(!m.lists.contains_key(b"txyz\xFF".as_slice()));
    }

    use crate::domain::{Registration, SearchQuery};
    use crate::store::{reopen, temp_config, temp_store};

    fn search(s: &Store, term: &str) -> Vec<String> {
        let page = s
            .search_visitors(&SearchQuery {
                term: term.into(),
                sort: vec![],
                offset: 0,
                count: None,
            })
            .unwrap();
        assert_eq!(page.total, page.visitors.len());
        let mut tokens: Vec<String> = page.visitors.into_iter().map(|v| v.token).collect();
        tokens.sort();
        tokens
    }

    fn reg(token: &str, name: &str) -> Registration {
        Registration {
            token: token.into(),
            name: Some(name.into()),
            email: Some(format!("{token}@example.com")),
            phone: Some(format!("+1 555 {}", token.len() * 1111)),
            ..Default::default()
        }
    }

    fn clean(s: &Store) {
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
    }

    /// Every term of the tests, answered now.
    fn answers(s: &Store) -> Vec<Vec<String>> {
        [
            "alpha", "bravo", "al", "a", "zulu", "tok", "555", "example", "guest-",
        ]
        .iter()
        .map(|t| search(s, t))
        .collect()
    }

    #[test]
    fn searches_planned_from_hinted_chunk_counts_see_every_merge() {
        let (_d, s) = crate::store::temp_store(&[]);
        s.register_visitor(&reg("tok-a", "Alpha"), 1).unwrap();
        s.merge_pending(usize::MAX).unwrap();
        // Counts read now (none for "zulu", one chunk each for "alpha") are hinted or not.
        assert_eq!(search(&s, "zulu"), Vec::<String>::new());
        assert_eq!(search(&s, "alpha"), ["tok-a"]);
        s.register_visitor(&reg("tok-z", "Zulu Alpha"), 2).unwrap();
        assert_eq!(search(&s, "zulu"), ["tok-z"]);
        // Merged: found through the chunks only, whose counts changed under the hints.
        s.merge_pending(usize::MAX).unwrap();
        assert_eq!(s.pending_count(), 0);
        assert_eq!(search(&s, "zulu"), ["tok-z"]);
        assert_eq!(search(&s, "alpha"), ["tok-a", "tok-z"]);
        assert_eq!(search(&s, "zulu alpha"), ["tok-z"]);
        clean(&s);
    }

    #[test]
    fn a_merge_planned_before_a_change_of_the_index_is_planned_again() {
        // Each case: a change committed between a merge's plan (without the lock) and its
        // application. Applying the stale plan would put seqs or grams on the lists that the
        // records no longer call for (check reports it, and search would find them).
        type Change = fn(&Store);
        let cases: [(&str, Change); 4] = [
            ("a pending visitor renamed", |s| {
                s.register_visitor(&reg("tok-p1", "Zulu"), 3).unwrap();
            }),
            ("a pending visitor erased", |s| {
                s.delete_visitor("tok-p1", true).unwrap();
            }),
            ("a merged visitor erased", |s| {
                s.delete_visitor("tok-m1", true).unwrap();
            }),
            ("another merge", |s| {
                s.merge_pending(1).unwrap();
            }),
        ];
        for (what, change) in cases {
            let (_dir, s) = temp_store(&[]);
            s.register_visitor(&reg("tok-m1", "Alpha"), 1).unwrap();
            s.merge_all_pending().unwrap();
            s.register_visitor(&reg("tok-p1", "Alpha"), 2).unwrap();
            s.register_visitor(&reg("tok-p2", "Bravo"), 2).unwrap();
            let plan = s.plan_merge_unlocked(MERGE_BATCH).unwrap();
            let epoch = plan.epoch;
            change(&s);
            assert_ne!(s.index_epoch(), epoch, "{what}: the epoch moved");
            s.apply_merge(plan, MERGE_BATCH).unwrap();
            assert_eq!(s.pending_count(), 0, "{what}");
            assert_eq!(s.check().unwrap().problems, Vec::<String>::new(), "{what}");
            let expected: Vec<Vec<String>> = answers(&s);
            s.merge_all_pending().unwrap();
            assert_eq!(answers(&s), expected, "{what}");
        }
    }

    #[test]
    fn a_registration_between_plan_and_merge_keeps_the_plan_and_stays_pending() {
        let (_dir, s) = temp_store(&[]);
        s.register_visitor(&reg("tok-p1", "Alpha"), 1).unwrap();
        let plan = s.plan_merge_unlocked(MERGE_BATCH).unwrap();
        s.register_visitor(&reg("tok-p2", "Alpha"), 2).unwrap();
        assert_eq!(
            s.index_epoch(),
            plan.epoch,
            "a new pending row does not move it"
        );
        assert_eq!(
            s.apply_merge(plan, MERGE_BATCH).unwrap(),
            1,
            "the planned row only"
        );
        assert_eq!(s.pending_count(), 1);
        clean(&s);
        assert_eq!(search(&s, "alpha"), ["tok-p1", "tok-p2"]);
    }

    #[test]
    fn a_new_visitor_is_one_pending_row_found_at_once_and_after_a_merge() {
        let (_dir, s) = temp_store(&[]);
        s.register_visitor(&reg("tok-a", "Alpha One"), 1).unwrap();
        assert_eq!(s.trees().gram_postings.len(), 0, "no chunk written");
        assert_eq!(s.trees().gram_pending.len(), 1);
        assert_eq!(s.pending_count(), 1);
        assert_eq!(search(&s, "alpha"), ["tok-a"]);
        assert_eq!(search(&s, "al"), ["tok-a"]);
        assert_eq!(search(&s, "555"), ["tok-a"]);
        s.register_visitor(&reg("tok-b", "Bravo Two"), 2).unwrap();
        clean(&s);
        let before = answers(&s);
        assert_eq!(s.merge_pending(1).unwrap(), 1, "a batch of one");
        assert_eq!(s.pending_count(), 1);
        clean(&s);
        assert_eq!(answers(&s), before, "half merged");
        assert_eq!(s.merge_all_pending().unwrap(), 1);
        assert_eq!(s.merge_pending(10).unwrap(), 0);
        assert_eq!(s.trees().gram_pending.len(), 0);
        clean(&s);
        assert_eq!(answers(&s), before, "merged");
    }

    #[test]
    fn updates_and_erasures_of_pending_and_merged_visitors_leave_exact_answers() {
        let (_dir, s) = temp_store(&[]);
        for (t, n) in [("tok-m1", "Alpha"), ("tok-m2", "Alpha")] {
            s.register_visitor(&reg(t, n), 1).unwrap();
        }
        s.merge_all_pending().unwrap();
        for (t, n) in [("tok-p1", "Alpha"), ("tok-p2", "Alpha")] {
            s.register_visitor(&reg(t, n), 2).unwrap();
        }
        assert_eq!(s.pending_count(), 2);
        assert_eq!(
            search(&s, "alpha"),
            ["tok-m1", "tok-m2", "tok-p1", "tok-p2"]
        );
        // A merged and a pending visitor renamed, one of each erased.
        s.register_visitor(&reg("tok-m1", "Zulu"), 3).unwrap();
        s.register_visitor(&reg("tok-p1", "Zulu"), 3).unwrap();
        assert_eq!(
            s.pending_count(),
            2,
            "the pending row was rewritten in place"
        );
        s.delete_visitor("tok-m2", true).unwrap();
        s.delete_visitor("tok-p2", true).unwrap();
        assert_eq!(s.pending_count(), 1);
        // An update that changes no searchable text of a pending visitor.
        let mut same = reg("tok-p1", "Zulu");
        same.department = Some("sales".into());
        s.register_visitor(&same, 4).unwrap();
        clean(&s);
        assert_eq!(search(&s, "alpha"), Vec::<String>::new());
        assert_eq!(search(&s, "zulu"), ["tok-m1", "tok-p1"]);
        assert_eq!(search(&s, "tok-p2"), Vec::<String>::new());
        let before = answers(&s);
        s.merge_all_pending().unwrap();
        clean(&s);
        assert_eq!(answers(&s), before);
        // Merged now: renamed back through the direct path.
        s.register_visitor(&reg("tok-p1", "Alpha"), 5).unwrap();
        clean(&s);
        assert_eq!(search(&s, "alpha"), ["tok-p1"]);
    }

    #[test]
    fn pending_rows_survive_a_reopen_and_are_searched() {
        let (_dir, config) = temp_config();
        {
            let s = reopen(&config);
            for i in 0..20 {
                s.register_visitor(&reg(&format!("tok-{i}"), "Alpha"), 1)
                    .unwrap();
            }
            s.merge_pending(7).unwrap();
            s.flush().unwrap();
        }
        let s = reopen(&config);
        assert_eq!(s.pending_count(), 13, "the mirror is loaded at open");
        clean(&s);
        assert_eq!(search(&s, "alpha").len(), 20);
        assert_eq!(search(&s, "tok-19"), ["tok-19"]);
        s.merge_all_pending().unwrap();
        assert_eq!(search(&s, "alpha").len(), 20);
        clean(&s);
    }

    #[test]
    fn check_reports_a_missing_a_wrong_and_a_doubled_pending_row_and_repair_fixes_them() {
        let (_dir, s) = temp_store(&[]);
        let merged = s.register_visitor(&reg("tok-m", "Alpha"), 1).unwrap();
        s.merge_all_pending().unwrap();
        let a = s.register_visitor(&reg("tok-a", "Alpha"), 1).unwrap();
        let b = s.register_visitor(&reg("tok-b", "Bravo"), 1).unwrap();
        clean(&s);
        // Missing: a's row is gone.
        s.raw_write("gram_pending", &a.seq.to_be_bytes(), None)
            .unwrap();
        let problems = s.check().unwrap().problems.join("\n");
        assert!(
            problems.contains(&format!("missing seq {}", a.seq)),
            "{problems}"
        );
        assert!(problems.contains("in memory differ"), "{problems}");
        // Wrong: b's row holds a trigram b does not have.
        let mut grams = decode(
            &s.trees()
                .gram_pending
                .get(b.seq.to_be_bytes())
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        grams.insert(b"tqqq\xFF".to_vec());
        s.raw_write("gram_pending", &b.seq.to_be_bytes(), Some(&encode(&grams)))
            .unwrap();
        let problems = s.check().unwrap().problems.join("\n");
        assert!(
            problems.contains(&format!("stale seq {}", b.seq)),
            "{problems}"
        );
        // Doubled: a merged visitor also pending.
        let grams = super::super::search::grams_of(&merged, &[]);
        s.raw_write(
            "gram_pending",
            &merged.seq.to_be_bytes(),
            Some(&encode(&grams)),
        )
        .unwrap();
        let problems = s.check().unwrap().problems.join("\n");
        assert!(
            problems.contains(&format!(
                "seq {} is pending and on the posting lists too",
                merged.seq
            )),
            "{problems}"
        );
        s.raw_write("gram_pending", &7u64.to_be_bytes(), Some(b"garbage"))
            .unwrap();
        let problems = s.check().unwrap().problems.join("\n");
        assert!(
            problems.contains("gram_pending: unreadable row"),
            "{problems}"
        );
        let repaired = s.repair().unwrap();
        assert_eq!(repaired.problems, Vec::<String>::new());
        assert_eq!(s.pending_count(), 0);
        assert_eq!(search(&s, "alpha"), ["tok-a", "tok-m"]);
        assert_eq!(search(&s, "bravo"), ["tok-b"]);
    }

    #[test]
    fn an_online_rewrite_carries_pending_rows_and_the_mirror_stays_true() {
        let (_dir, s) = temp_store(&[]);
        for i in 0..10 {
            s.register_visitor(&reg(&format!("tok-{i}"), "Alpha"), 1)
                .unwrap();
        }
        s.merge_pending(4).unwrap();
        let before = answers(&s);
        s.rewrite().unwrap();
        assert_eq!(s.trees().gram_pending.len(), 6);
        clean(&s);
        assert_eq!(answers(&s), before);
        s.register_visitor(&reg("tok-new", "Alpha"), 2).unwrap();
        s.merge_all_pending().unwrap();
        clean(&s);
        assert_eq!(search(&s, "alpha").len(), 11);
    }

    /// While registrations and merges run concurrently, a search never misses a visitor whose
    /// registration was acknowledged before the search began.
    #[test]
    fn searches_during_merges_see_every_acknowledged_registration() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let (_dir, s) = temp_store(&[]);
        let acked = AtomicUsize::new(0);
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for i in 0..300 {
                    s.register_visitor(&reg(&format!("tok-{i}"), "Racing Person"), 1)
                        .unwrap();
                    acked.store(i + 1, Ordering::SeqCst);
                }
                done.store(true, Ordering::SeqCst);
            });
            scope.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    s.merge_pending(7).unwrap();
                }
            });
            let mut searches = 0;
            while !done.load(Ordering::SeqCst) || searches == 0 {
                let before = acked.load(Ordering::SeqCst);
                for term in ["racing", "ra", "person"] {
                    let found = search(&s, term).len();
                    assert!(
                        found >= before,
                        "{term:?}: {found} found, {before} acknowledged"
                    );
                }
                searches += 1;
            }
        });
        s.merge_all_pending().unwrap();
        clean(&s);
        assert_eq!(search(&s, "racing").len(), 300);
    }

    #[test]
    fn a_merge_writes_each_touched_chunk_once() {
        let (_dir, s) = temp_store(&[]);
        for i in 0..300 {
            s.register_visitor(&reg(&format!("t{i:03}"), "Common Name"), 1)
                .unwrap();
        }
        let rows = s.pending_rows(usize::MAX).unwrap();
        let mut edits = Edits::new();
        for (seq, grams) in &rows {
            for g in grams {
                edits.entry(g.clone()).or_default().add.insert(*seq);
            }
        }
        let lists = edits.len();
        let writes = s.plan_postings(&edits).unwrap();
        // 300 seqs per shared list: three full-or-less chunks each, never one per visitor.
        assert!(
            writes.chunks.len() <= lists * 3,
            "{} writes for {lists} lists",
            writes.chunks.len()
        );
        s.merge_all_pending().unwrap();
        clean(&s);
        assert_eq!(search(&s, "common").len(), 300);
    }
}
