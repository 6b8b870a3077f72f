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

use super::keys::SEP;
use super::{Result, Store, StoreError, Tx, TxResult};
use std::collections::{BTreeMap, BTreeSet};

/// Most seqs in one chunk.
pub const CHUNK_MAX: usize = 128;

/// Planned writes: key → new value, or `None` to delete.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

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
    for (key, value) in writes {
        match value {
            Some(v) => tx.gram_postings.insert(key.as_slice(), v.as_slice())?,
            None => tx.gram_postings.remove(key.as_slice())?,
        };
    }
    Ok(())
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
    let mut out = Vec::with_capacity(bytes.len());
    let (mut prev, mut value, mut shift) = (0u64, 0u64, 0u32);
    for &b in bytes {
        if shift > 63 {
            return None;
        }
        value |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            prev = prev.checked_add(value)?;
            out.push(prev);
            value = 0;
            shift = 0;
        } else {
            shift += 7;
        }
    }
    (shift == 0).then_some(out)
}

/// `prefix seq`: the key of the chunk whose first seq is `seq`.
pub fn chunk_key(prefix: &[u8], seq: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The posting-list prefix of a chunk key (everything before the trailing seq).
pub fn prefix_of(key: &[u8]) -> Option<&[u8]> {
    let end = key.len().checked_sub(8)?;
    (end > 0 && key[end - 1] == SEP).then_some(&key[..end])
}

impl Store {
    /// The chunk of `prefix` that holds (or would hold) `seq`, with its seqs: the last chunk
    /// starting at or before it, else the first chunk after it; `None` when the list is empty.
    fn locate(&self, prefix: &[u8], seq: u64) -> Result<Option<(Vec<u8>, Vec<u64>)>> {
        let tree = &self.trees().gram_postings;
        let at = chunk_key(prefix, seq);
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
        let seqs = decode(&value).ok_or_else(|| StoreError::Corrupt {
            tree: "gram_postings",
            key: key.to_vec(),
        })?;
        Ok(Some((key.to_vec(), seqs)))
    }

    /// The chunk writes that carry out `edits`. Call under the writer lock; apply the result
    /// in the transaction that writes the records the edits come from.
    pub(super) fn plan_postings(&self, edits: &Edits) -> Result<Writes> {
        let mut writes = Writes::new();
        for (prefix, edit) in edits {
            // Group the touched seqs by the chunk they belong to (None: the list is empty),
            // keeping each chunk's seqs as read.
            let mut groups: BTreeMap<Option<Vec<u8>>, AddRemove> = BTreeMap::new();
            let mut loaded: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
            let touched = edit.add.iter().map(|s| (*s, true));
            for (s, adding) in touched.chain(edit.remove.iter().map(|s| (*s, false))) {
                let key = match self.locate(prefix, s)? {
                    Some((key, seqs)) => {
                        loaded.entry(key.clone()).or_insert(seqs);
                        Some(key)
                    }
                    None => None,
                };
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
                    writes.entry(k.clone()).or_insert(None);
                }
                if seqs.is_empty() {
                    continue;
                }
                for piece in split(&seqs, &old) {
                    writes.insert(chunk_key(prefix, piece[0]), Some(encode(piece)));
                }
            }
        }
        Ok(writes)
    }

    /// Every seq in the posting list under `prefix`, ascending.
    pub(super) fn posting_list(&self, prefix: &[u8]) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for row in self.trees().gram_postings.scan_prefix(prefix) {
            let (key, value) = row?;
            out.extend(decode(&value).ok_or_else(|| StoreError::Corrupt {
                tree: "gram_postings",
                key: key.to_vec(),
            })?);
        }
        Ok(out)
    }

    /// Candidates for the visitors on every posting list under `prefixes` (a superset of
    /// them, to be checked against the records). The lists are read one chunk each in turn
    /// until the shortest one ends: it holds every such visitor. Then the other lists are read
    /// on, up to its last seq, for as long as that costs less than checking its visitors would
    /// (one chunk read per two candidates); a list read up to seq `s` holds every visitor of
    /// its gram up to `s`, so candidates up to `s` that it lacks are dropped. A selective term
    /// costs a few reads however long its other lists are. No prefixes: no candidates.
    pub(super) fn common_candidates(&self, prefixes: &[Vec<u8>]) -> Result<Vec<u64>> {
        let tree = &self.trees().gram_postings;
        let mut lists: Vec<ListReader> = prefixes
            .iter()
            .map(|p| ListReader {
                rows: tree.scan_prefix(p),
                seqs: Vec::new(),
                done: false,
            })
            .collect();
        if lists.is_empty() {
            return Ok(Vec::new());
        }
        let shortest = 'rounds: loop {
            for (i, list) in lists.iter_mut().enumerate() {
                list.read_chunk()?;
                if list.done {
                    break 'rounds i;
                }
            }
        };
        let mut candidates = std::mem::take(&mut lists.swap_remove(shortest).seqs);
        let Some(&last) = candidates.last() else {
            return Ok(candidates);
        };
        let mut budget = candidates.len() / 2;
        while budget > 0 {
            let mut progressed = false;
            for list in lists.iter_mut().filter(|l| !l.covers(last)) {
                if budget == 0 {
                    break;
                }
                list.read_chunk()?;
                budget -= 1;
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        for list in &lists {
            let covered = if list.done {
                u64::MAX
            } else {
                match list.seqs.last() {
                    Some(&s) => s,
                    None => continue,
                }
            };
            candidates.retain(|c| *c > covered || list.seqs.binary_search(c).is_ok());
        }
        Ok(candidates)
    }
}

/// One posting list, read chunk by chunk from its start.
struct ListReader {
    rows: sled::Iter,
    /// The seqs read so far, ascending.
    seqs: Vec<u64>,
    /// Whether every chunk has been read.
    done: bool,
}

impl ListReader {
    fn read_chunk(&mut self) -> Result<()> {
        match self.rows.next() {
            None => self.done = true,
            Some(row) => {
                let (key, value) = row?;
                self.seqs
                    .extend(decode(&value).ok_or_else(|| StoreError::Corrupt {
                        tree: "gram_postings",
                        key: key.to_vec(),
                    })?);
            }
        }
        Ok(())
    }

    /// Whether what was read already says, for every seq up to `seq`, if it is on the list.
    fn covers(&self, seq: u64) -> bool {
        self.done || self.seqs.last().is_some_and(|s| *s >= seq)
    }
}

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
            prefix_of(&chunk_key(b"tabc\xFF", 7)),
            Some(&b"tabc\xFF"[..])
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
        use crate::store::search::SearchQuery;
        use crate::store::visitors::Registration;
        let (_dir, store) = crate::store::temp_store(&[]);
        let reg = |i: usize, name: &str| Registration {
            token: format!("t{i}"),
            name: Some(name.to_string()),
            ..Default::default()
        };
        for i in 0..(3 * CHUNK_MAX) {
            store.register_visitor(&reg(i, "Common Name"), 1).unwrap();
        }
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
