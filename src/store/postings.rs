//! Posting lists of the search index, packed: tree `gram_postings` maps
//! `ns gram 0xFF first_seq` (u64 BE) → a chunk of up to [`CHUNK_MAX`] visitor seqs in ascending
//! order, delta-encoded as LEB128 varints. A chunk's key is its first seq, so the chunk that may
//! hold a seq `s` is the last one whose key is `<= s`.
//!
//! One sled key per visitor and trigram (the first layout) cost ~150 bytes of sled overhead per
//! posting and ~46 keys per visitor; chunks cut the key count by two orders of magnitude. New
//! visitors have the highest seqs, so they append to the last chunk of each gram; a full chunk
//! that grows at its end keeps its entries and starts a new chunk, so append-only lists stay full.
//!
//! Writers plan their chunk changes under the store's writer lock (transactions cannot scan) and
//! apply them inside the same transaction as the visitor record.

use super::hints::GramCount;
use super::keys;
use super::{Result, Store, StoreError, Tx, TxResult};
use std::collections::{BTreeMap, BTreeSet};

/// Most seqs in one chunk.
pub const CHUNK_MAX: usize = 128;

/// Planned writes of the search index.
#[derive(Default, Debug)]
pub struct Writes {
    /// Chunk key → new chunk, or `None` to delete.
    pub chunks: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Posting-list prefix → its new number of chunks (0: delete the count).
    pub counts: BTreeMap<Vec<u8>, u64>,
}

impl Writes {
    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.counts.is_empty()
    }
}

/// Seqs to add to and remove from one posting list.
#[derive(Default, Debug)]
pub struct Edit {
    pub add: BTreeSet<u64>,
    pub remove: BTreeSet<u64>,
}

/// Seqs to add and to remove within one chunk (`None` key: the list is empty).
type AddRemove = (Vec<u64>, Vec<u64>);

/// Edits per posting-list prefix (`ns gram 0xFF`).
pub type Edits = BTreeMap<Vec<u8>, Edit>;

/// Applies planned writes inside a transaction.
pub(super) fn apply(tx: &Tx, writes: &Writes) -> TxResult<()> {
    for (key, value) in &writes.chunks {
        match value {
            Some(v) => tx
                .gram_postings
                .insert_blind(key.as_slice(), v.as_slice())?,
            None => tx.gram_postings.remove_blind(key.as_slice())?,
        };
    }
    for (prefix, count) in &writes.counts {
        match count {
            0 => tx.gram_count.remove_blind(prefix.as_slice())?,
            n => tx
                .gram_count
                .insert_blind(prefix.as_slice(), &n.to_be_bytes()[..])?,
        };
    }
    Ok(())
}

/// Applies planned writes outside a transaction (index rebuilds, which hold the writer lock
/// and flush before they record that the index is built).
pub(super) fn apply_batch(store: &Store, writes: Writes) -> Result<()> {
    let _changes_index = store.index_change();
    let t = store.trees();
    let mut chunks = sled::Batch::default();
    for (k, v) in writes.chunks {
        match v {
            Some(v) => chunks.insert(k, v),
            None => chunks.remove(k),
        }
    }
    t.gram_postings.apply_batch(chunks)?;
    let mut counts = sled::Batch::default();
    for (k, n) in writes.counts {
        match n {
            0 => counts.remove(k),
            n => counts.insert(k, &n.to_be_bytes()[..]),
        }
    }
    t.gram_count.apply_batch(counts)?;
    Ok(())
}

/// The writes that store `lists` (prefix → seqs) from scratch, in full chunks, with their
/// chunk counts (repair, after both trees were cleared).
pub(super) fn full_lists(lists: &BTreeMap<Vec<u8>, BTreeSet<u64>>) -> Writes {
    let mut writes = Writes::default();
    for (prefix, seqs) in lists {
        let seqs: Vec<u64> = seqs.iter().copied().collect();
        for piece in seqs.chunks(CHUNK_MAX) {
            writes
                .chunks
                .insert(keys::chunk_key(prefix, piece[0]), Some(encode(piece)));
        }
        let chunks = seqs.len().div_ceil(CHUNK_MAX) as u64;
        if chunks > 0 {
            writes.counts.insert(prefix.clone(), chunks);
        }
    }
    writes
}

/// Encodes ascending seqs as varint deltas.
pub fn encode(seqs: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(seqs.len() * 2);
    let mut prev = 0u64;
    for &s in seqs {
        let mut d = s - prev;
        prev = s;
        loop {
            let byte = (d & 0x7F) as u8;
            d >>= 7;
            if d == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    out
}

/// Decodes [`encode`]; `None` for bytes that are not a valid chunk.
pub fn decode(bytes: &[u8]) -> Option<Vec<u64>> {
    ChunkSeqs::new(bytes).collect()
}

/// The seqs of an encoded chunk (see [`encode`]) in order, decoded as they are taken: a walk
/// that stops early decodes no further. A `None` item where the bytes stop being a valid
/// chunk, and nothing after it.
struct ChunkSeqs<'a> {
    bytes: &'a [u8],
    prev: u64,
    failed: bool,
}

impl<'a> ChunkSeqs<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        ChunkSeqs {
            bytes,
            prev: 0,
            failed: false,
        }
    }
}

impl Iterator for ChunkSeqs<'_> {
    type Item = Option<u64>;

    fn next(&mut self) -> Option<Option<u64>> {
        if self.bytes.is_empty() || self.failed {
            return None;
        }
        let (mut value, mut shift) = (0u64, 0u32);
        for (i, &b) in self.bytes.iter().enumerate() {
            if shift > 63 {
                break;
            }
            value |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                let Some(seq) = self.prev.checked_add(value) else {
                    break;
                };
                self.prev = seq;
                return Some(Some(seq));
            }
            shift += 7;
        }
        self.failed = true;
        Some(None)
    }
}

/// The error for a chunk that does not decode (or whose key is not its list's prefix and a seq).
fn corrupt_chunk(key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        tree: "gram_postings",
        key: key.to_vec(),
    }
}

/// The first seq of the chunk keyed `key` under `prefix` (its key's last 8 bytes).
fn chunk_start(prefix: &[u8], key: &[u8]) -> Result<u64> {
    key.strip_prefix(prefix)
        .and_then(keys::read_u64)
        .ok_or_else(|| corrupt_chunk(key))
}

/// Moves the `candidates` below `below` (all of them with `None`) that the chunk `value`
/// (keyed `key`) holds into `kept`; returns the candidates from `below` on. Decodes the chunk
/// only when a candidate falls in its range, and only as far as the last one.
fn keep_listed<'c>(
    key: &[u8],
    value: &[u8],
    candidates: &'c [u64],
    below: Option<u64>,
    kept: &mut Vec<u64>,
) -> Result<&'c [u64]> {
    let inside = match below {
        Some(end) => candidates.partition_point(|&c| c < end),
        None => candidates.len(),
    };
    let (mine, after) = candidates.split_at(inside);
    if mine.is_empty() {
        return Ok(after);
    }
    let mut mine = mine.iter().copied().peekable();
    for seq in ChunkSeqs::new(value) {
        let seq = seq.ok_or_else(|| corrupt_chunk(key))?;
        while mine.next_if(|&c| c < seq).is_some() {}
        match mine.peek() {
            None => break,
            Some(&c) if c == seq => {
                kept.push(seq);
                mine.next();
            }
            Some(_) => {}
        }
    }
    Ok(after)
}

/// The chunk of `prefix` in `tree` (`gram_postings`) that holds (or would hold) `seq`, with
/// its seqs: the last chunk starting at or before it, else the first chunk after it; `None`
/// when the list is empty.
fn locate(tree: &sled::Tree, prefix: &[u8], seq: u64) -> Result<Option<(Vec<u8>, Vec<u64>)>> {
    let at = keys::chunk_key(prefix, seq);
    let row = match tree.range(prefix.to_vec()..=at.clone()).next_back() {
        Some(row) => Some(row?),
        None => match tree.range(at..).next() {
            Some(row) => Some(row?).filter(|(key, _)| key.starts_with(prefix)),
            None => None,
        },
    };
    let Some((key, value)) = row else {
        return Ok(None);
    };
    let seqs = decode(&value).ok_or_else(|| corrupt_chunk(&key))?;
    Ok(Some((key.to_vec(), seqs)))
}

/// The seqs of the last chunk of `prefix` in `tree` (`gram_postings`; `None`: the list is
/// empty).
pub(super) fn last_chunk(tree: &sled::Tree, prefix: &[u8]) -> Result<Option<Vec<u64>>> {
    Ok(locate(tree, prefix, u64::MAX)?.map(|(_, seqs)| seqs))
}

impl Store {
    /// The first seq of the chunk of `prefix` after the one keyed `key`; `None` when `key` is
    /// the list's last chunk.
    fn next_chunk_start(&self, prefix: &[u8], key: &[u8]) -> Result<Option<u64>> {
        use std::ops::Bound;
        let trees = self.trees();
        let range = (Bound::Excluded(key.to_vec()), Bound::Unbounded);
        let Some(row) = trees.gram_postings.range::<Vec<u8>, _>(range).next() else {
            return Ok(None);
        };
        let (next, _) = row?;
        if !next.starts_with(prefix) {
            return Ok(None);
        }
        chunk_start(prefix, &next).map(Some)
    }

    /// The chunk writes that carry out `edits`. Call under the writer lock; apply the result
    /// in the transaction that writes the records the edits come from.
    pub(super) fn plan_postings(&self, edits: &Edits) -> Result<Writes> {
        let mut writes = Writes::default();
        for (prefix, edit) in edits {
            // Chunk keys replaced or deleted, and written (the list's chunk count changes by
            // the difference).
            let (mut before, mut after) = (BTreeSet::new(), BTreeSet::new());
            // Group the touched seqs by the chunk they belong to (None: the list is empty),
            // keeping each chunk's seqs as read.
            let mut groups: BTreeMap<Option<Vec<u8>>, AddRemove> = BTreeMap::new();
            let mut loaded: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
            // In ascending order, so that one chunk's seqs come together: a chunk is read once
            // for all of them (a merge adds many seqs to the same last chunk), and the start of
            // the next chunk tells which of the following seqs still belong to it.
            let mut touched: Vec<(u64, bool)> = edit.add.iter().map(|s| (*s, true)).collect();
            touched.extend(edit.remove.iter().map(|s| (*s, false)));
            touched.sort_unstable();
            // The chunk of the previous seq, and the first seq of the chunk after it (`None`:
            // it is the list's last chunk, or the list is empty).
            let mut current: Option<(Option<Vec<u8>>, Option<u64>)> = None;
            for (i, &(s, adding)) in touched.iter().enumerate() {
                let same = current
                    .as_ref()
                    .is_some_and(|(_, next)| next.is_none_or(|n| s < n));
                if !same {
                    let key = match locate(&self.trees().gram_postings, prefix, s)? {
                        Some((key, seqs)) => {
                            loaded.entry(key.clone()).or_insert(seqs);
                            Some(key)
                        }
                        None => None,
                    };
                    // Only worth a read when more seqs follow.
                    let next = match &key {
                        Some(k) if i + 1 < touched.len() => self.next_chunk_start(prefix, k)?,
                        Some(_) => Some(0),
                        None => None,
                    };
                    current = Some((key, next));
                }
                let key = current.as_ref().and_then(|(k, _)| k.clone());
                let group = groups.entry(key).or_default();
                if adding {
                    group.0.push(s);
                } else {
                    group.1.push(s);
                }
            }
            for (key, (add, remove)) in groups {
                let old = key
                    .as_ref()
                    .and_then(|k| loaded.remove(k))
                    .unwrap_or_default();
                let mut seqs = old.clone();
                for s in add {
                    if let Err(at) = seqs.binary_search(&s) {
                        seqs.insert(at, s);
                    }
                }
                for s in remove {
                    if let Ok(at) = seqs.binary_search(&s) {
                        seqs.remove(at);
                    }
                }
                if seqs == old {
                    continue;
                }
                if let Some(k) = &key {
                    writes.chunks.entry(k.clone()).or_insert(None);
                    before.insert(k.clone());
                }
                if seqs.is_empty() {
                    continue;
                }
                for piece in split(&seqs, &old) {
                    let k = keys::chunk_key(prefix, piece[0]);
                    after.insert(k.clone());
                    writes.chunks.insert(k, Some(encode(piece)));
                }
            }
            if before.len() != after.len() {
                let grown = after.len() as i64 - before.len() as i64;
                let count = self.chunk_count(prefix)?.saturating_add_signed(grown);
                writes.counts.insert(prefix.clone(), count);
            }
        }
        Ok(writes)
    }

    /// How many chunks the posting list under `prefix` has (`gram_count`).
    pub(super) fn chunk_count(&self, prefix: &[u8]) -> Result<u64> {
        super::read_u64_or_zero(&self.trees().gram_count, "gram_count", prefix)
    }

    /// [`Store::chunk_count`] for planning a search only: from a [hint](super::hints) read at
    /// the current index epoch when there is one (never 0), else read and hinted. Writers
    /// need the exact count and use [`Store::chunk_count`].
    fn chunk_count_for_search(&self, prefix: &[u8]) -> Result<u64> {
        let hints = &self.inner.gram_count_hints;
        let hash = hints.hash_of(prefix);
        let epoch = self.index_epoch();
        if let Some(count) = hints.get(hash).and_then(|v| GramCount::unpack(v, epoch)) {
            return Ok(count);
        }
        let count = self.chunk_count(prefix)?;
        if let Some(value) = GramCount::pack(count, epoch) {
            hints.put(hash, value);
        }
        Ok(count)
    }

    /// Every seq in the posting list under `prefix`, ascending.
    pub(super) fn posting_list(&self, prefix: &[u8]) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for row in self.trees().gram_postings.scan_prefix(prefix) {
            let (key, value) = row?;
            // At most one seq per byte.
            out.reserve(value.len());
            for seq in ChunkSeqs::new(&value) {
                out.push(seq.ok_or_else(|| corrupt_chunk(&key))?);
            }
        }
        Ok(out)
    }

    /// Keeps the `candidates` (ascending, each once) that are on the posting list under
    /// `prefix`. A chunk holds the seqs from its key up to the next chunk's key (checked by
    /// [`Store::check`]), so the walk over the list's chunks decodes only those whose range
    /// holds a candidate, and stops at the chunk after the last candidate; nothing is
    /// collected but the kept seqs.
    pub(super) fn retain_listed(&self, prefix: &[u8], candidates: &mut Vec<u64>) -> Result<()> {
        let mut kept = Vec::with_capacity(candidates.len());
        let mut rest: &[u64] = candidates;
        // The previous chunk: its range ends where the next one starts.
        let mut held: Option<(sled::IVec, sled::IVec)> = None;
        for row in self.trees().gram_postings.scan_prefix(prefix) {
            let (key, value) = row?;
            let start = chunk_start(prefix, &key)?;
            if let Some((k, v)) = held.take() {
                rest = keep_listed(&k, &v, rest, Some(start), &mut kept)?;
            }
            // Below the first chunk's start: on no chunk.
            rest = &rest[rest.partition_point(|&c| c < start)..];
            if rest.is_empty() {
                break;
            }
            held = Some((key, value));
        }
        if let Some((k, v)) = held {
            keep_listed(&k, &v, rest, None, &mut kept)?;
        }
        *candidates = kept;
        Ok(())
    }

    /// Candidates for the visitors on every posting list under `prefixes` (a superset of
    /// them, to be checked against the records): the shortest list (fewest chunks, by
    /// `gram_count`), then intersected with the next shortest ones for as long as reading one
    /// costs less than checking the candidates it could remove: a list of up to
    /// [`CHECK_IN_CHUNK_READS`] chunks per candidate. A selective term costs a few reads however
    /// long its other lists are; a trigram no visitor has answers at once. No prefixes: no
    /// candidates.
    pub(super) fn common_candidates(&self, prefixes: &[Vec<u8>]) -> Result<Vec<u64>> {
        let mut lists = Vec::with_capacity(prefixes.len());
        for prefix in prefixes {
            lists.push((self.chunk_count_for_search(prefix)?, prefix));
        }
        lists.sort();
        let Some(((shortest, first), rest)) = lists.split_first() else {
            return Ok(Vec::new());
        };
        if *shortest == 0 {
            return Ok(Vec::new());
        }
        let mut candidates = self.posting_list(first)?;
        for (chunks, prefix) in rest {
            if candidates.len() < 2 || *chunks > candidates.len() as u64 * CHECK_IN_CHUNK_READS {
                break;
            }
            self.retain_listed(prefix, &mut candidates)?;
        }
        Ok(candidates)
    }
}

/// What checking one candidate costs (reading and decoding its record), in chunk reads. A
/// chunk is a small value, read by a short ordered walk of a list whose leaves stay in the
/// cache; a record is a point read, and on a store larger than the cache mostly a leaf pulled
/// from the file and decoded. Selective searches on the 1M-visitor store (`docs/benchmarks.md`,
/// "Durable flushes"), with lists read up to 1/4, 1, 4, 16 and 256 chunks per candidate:
/// 3.3k, 4.5k, 5.1k, 4.5k and 3.2k searches/s; on a 20k store, where everything is cached,
/// 1/4 and 4 were equal within the noise.
const CHECK_IN_CHUNK_READS: u64 = 4;

/// Cuts a chunk into pieces of at most [`CHUNK_MAX`]. A chunk that grew at its end (appends of
/// new visitors, alone or a batch of them) is cut into full pieces from its start, so lists
/// written in order stay full (its first piece keeps its key); otherwise it is halved.
fn split<'a>(seqs: &'a [u64], old: &[u64]) -> Vec<&'a [u64]> {
    if seqs.len() <= CHUNK_MAX {
        return vec![seqs];
    }
    if !old.is_empty() && seqs.starts_with(old) {
        return seqs.chunks(CHUNK_MAX).collect();
    }
    let (a, b) = seqs.split_at(seqs.len() / 2);
    let mut pieces = split(a, &[]);
    pieces.extend(split(b, &[]));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_roundtrip() {
        for seqs in [vec![], vec![0], vec![1, 2, 3, 1000, 1 << 40, u64::MAX]] {
            assert_eq!(decode(&encode(&seqs)).unwrap(), seqs);
        }
        assert_eq!(encode(&[1, 2, 130]), vec![1, 1, 128, 1]);
        assert!(decode(&[0x80]).is_none());
        assert_eq!(
            keys::prefix_of(&keys::chunk_key(b"tabc\xFF", 7)),
            Some(&b"tabc\xFF"[..])
        );
    }

    #[test]
    fn decode_refuses_bytes_that_are_not_a_chunk() {
        // A varint longer than 64 bits, one cut off, and deltas that pass u64::MAX.
        assert!(decode(&[0xFF; 11]).is_none());
        assert!(decode(&[1, 0x81]).is_none());
        let mut past_max = encode(&[u64::MAX]);
        past_max.push(1);
        assert!(decode(&past_max).is_none());
        assert_eq!(decode(&encode(&[5, 9])), Some(vec![5, 9]));
    }

    /// Stores `seqs` as one posting list under `prefix`, cut into chunks of the sizes in
    /// `cuts` (taken in turn), each keyed by its first seq.
    fn store_list(store: &Store, prefix: &[u8], seqs: &[u64], cuts: &[usize]) {
        let mut writes = Writes::default();
        let (mut at, mut turn) = (0, 0);
        while at < seqs.len() {
            let size = cuts[turn % cuts.len()].clamp(1, CHUNK_MAX);
            let piece = &seqs[at..(at + size).min(seqs.len())];
            writes
                .chunks
                .insert(keys::chunk_key(prefix, piece[0]), Some(encode(piece)));
            at += piece.len();
            turn += 1;
        }
        apply_batch(store, writes).unwrap();
    }

    #[test]
    fn retain_listed_keeps_exactly_the_candidates_on_the_list() {
        use proptest::collection::{btree_set, vec};
        use proptest::test_runner::{Config, TestRunner};
        let (_dir, store) = crate::store::temp_store(&[]);
        let prefix = keys::posting_prefix(b't', "abc");
        // A neighbouring list, which the walk must not read into.
        store_list(
            &store,
            &keys::posting_prefix(b't', "abd"),
            &[0, 7, 4_999],
            &[2],
        );
        let cases = (
            btree_set(0u64..5_000, 0..700),
            vec(1usize..=CHUNK_MAX, 1..8),
            btree_set(0u64..5_100, 0..300),
        );
        TestRunner::new(Config::with_cases(64))
            .run(&cases, |(listed, cuts, candidates)| {
                for row in store.trees().gram_postings.scan_prefix(&prefix) {
                    store.trees().gram_postings.remove(row.unwrap().0).unwrap();
                }
                let listed: Vec<u64> = listed.into_iter().collect();
                store_list(&store, &prefix, &listed, &cuts);
                let mut kept: Vec<u64> = candidates.iter().copied().collect();
                store.retain_listed(&prefix, &mut kept).unwrap();
                let expected: Vec<u64> = candidates
                    .into_iter()
                    .filter(|c| listed.binary_search(c).is_ok())
                    .collect();
                proptest::prop_assert_eq!(kept, expected);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn retain_listed_reports_a_chunk_it_cannot_read() {
        let (_dir, store) = crate::store::temp_store(&[]);
        let prefix = keys::posting_prefix(b't', "abc");
        store_list(&store, &prefix, &[1, 2, 3], &[3]);
        let bad = keys::chunk_key(&prefix, 10);
        store
            .trees()
            .gram_postings
            .insert(&bad, &[0x80][..])
            .unwrap();
        store_list(&store, &prefix, &[20, 21], &[2]);
        // No candidate in the bad chunk's range (10 up to 20): it is not decoded.
        let mut kept = vec![2, 21];
        store.retain_listed(&prefix, &mut kept).unwrap();
        assert_eq!(kept, vec![2, 21]);
        let mut kept = vec![2, 11];
        let err = store.retain_listed(&prefix, &mut kept).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { tree: "gram_postings", key } if *key == bad),
            "{err:?}"
        );
    }

    #[test]
    fn splits_keep_append_only_lists_full() {
        let old: Vec<u64> = (0..CHUNK_MAX as u64).collect();
        let mut grown = old.clone();
        grown.push(10_000);
        let pieces = split(&grown, &old);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].len(), CHUNK_MAX);
        assert_eq!(pieces[1], &[10_000]);
        let middle: Vec<u64> = (0..=CHUNK_MAX as u64).collect();
        let pieces = split(&middle, &[]);
        assert_eq!(pieces.iter().map(|p| p.len()).sum::<usize>(), CHUNK_MAX + 1);
        assert!(pieces.iter().all(|p| p.len() <= CHUNK_MAX));
    }

    #[test]
    fn lists_split_shrink_and_stay_consistent() {
        use crate::domain::Registration;
        use crate::domain::SearchQuery;
        let (_dir, store) = crate::store::temp_store(&[]);
        let reg = |i: usize, name: &str| Registration {
            token: format!("t{i}"),
            name: Some(name.to_string()),
            ..Default::default()
        };
        for i in 0..(3 * CHUNK_MAX) {
            store.register_visitor(&reg(i, "Common Name"), 1).unwrap();
        }
        // Into the chunks (new visitors are pending rows first), in batches of 100.
        while store.merge_pending(100).unwrap() > 0 {}
        // Updates that drop the trigram, deletes from the middle and from chunk starts.
        for i in (0..(3 * CHUNK_MAX)).step_by(3) {
            store.register_visitor(&reg(i, "Zed"), 2).unwrap();
        }
        for i in (1..(3 * CHUNK_MAX)).step_by(5) {
            store.delete_visitor(&format!("t{i}"), true).unwrap();
        }
        let report = store.check().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let expected = (0..(3 * CHUNK_MAX))
            .filter(|i| i % 3 != 0 && i % 5 != 1)
            .count();
        let found = store
            .search_visitors(&SearchQuery {
                term: "common".into(),
                sort: vec![],
                offset: 0,
                count: None,
            })
            .unwrap();
        assert_eq!(found.total, expected);
        // The "com" list spans several chunks, each keyed by its first seq (checked above).
        let prefix =
            super::super::search::grams_of(&store.visitor_by_token("t2").unwrap().unwrap(), &[])
                .into_iter()
                .find(|p| p.starts_with(b"tcom"))
                .unwrap();
        let chunks = store.trees().gram_postings.scan_prefix(&prefix).count();
        assert!(chunks >= 2, "{chunks} chunks");
        assert_eq!(store.posting_list(&prefix).unwrap().len(), expected);
    }
}
