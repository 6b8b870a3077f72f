//! The exact-match indexes of visitors (`_id`, token, email, phone), packed into hash buckets.
//!
//! Tree `visitorkey_seqs` maps `ns bucket` (one namespace byte, [`BUCKETS`] buckets as u16 BE)
//! → the bucket's entries, sorted, [`ENTRY_LEN`] bytes each: `tag (u32 BE) seq (u64 BE)`, where
//! `tag` is the upper half of the value's 64-bit hash and `seq` the visitor's record key. A
//! lookup reads one bucket and then the records of the entries whose tag matches, and confirms
//! each against its record, so a hash collision costs a read, never a wrong answer.
//!
//! Why buckets: sled 0.34 costs ~120–200 bytes on disk per key whatever the key holds
//! (`docs/storage.md`), so one key per visitor and index (the first layout) cost more than the
//! records. Here a million visitors make ~260k bucket keys for four indexes, each holding ~15
//! entries of 12 bytes.
//!
//! The hash is SHA-256 keyed with the store's own secret (`meta.hash_key`, random at creation),
//! so nobody outside can choose tokens that pile into one bucket.
//!
//! Buckets are read and rewritten inside the transaction that writes the record (transactions
//! see their own writes), so an index row can never disagree with its record.

use super::{abort, Result, Store, StoreError, Tx, TxResult};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Buckets per namespace.
pub const BUCKETS: u64 = 1 << 16;
/// Bytes per entry: tag (u32 BE) then seq (u64 BE).
pub const ENTRY_LEN: usize = 12;

/// Which exact-match index an entry belongs to (its namespace byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// `_id` → the visitor.
    Id,
    /// token → the visitor (unique).
    Token,
    /// lower-cased email → visitors.
    Email,
    /// phone as stored → visitors.
    Phone,
}

impl Index {
    fn namespace(self) -> u8 {
        match self {
            Index::Id => b'i',
            Index::Token => b't',
            Index::Email => b'e',
            Index::Phone => b'p',
        }
    }
}

/// Where a value's entries live: the bucket key and the tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub bucket: [u8; 3],
    pub tag: u32,
}

/// The keyed hash that spreads values over buckets.
#[derive(Clone)]
pub struct Hasher {
    key: Vec<u8>,
}

impl Hasher {
    pub fn new(key: &[u8]) -> Hasher {
        Hasher { key: key.to_vec() }
    }

    /// A fresh secret for a new store.
    pub fn new_key() -> Vec<u8> {
        Sha256::digest(nanoid::nanoid!(43).as_bytes())[..16].to_vec()
    }

    /// The keyed 64-bit hash of `value` in `index` (the first 8 bytes of the SHA-256).
    pub fn hash(&self, index: Index, value: &str) -> u64 {
        let mut h = Sha256::new();
        h.update(&self.key);
        h.update([index.namespace()]);
        h.update(value.as_bytes());
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }

    /// The bucket and tag of `value` in `index`.
    pub fn slot(&self, index: Index, value: &str) -> Slot {
        Slot::of(index, self.hash(index, value))
    }
}

impl Slot {
    /// The bucket and tag of the value whose [`Hasher::hash`] in `index` is `n`.
    pub fn of(index: Index, n: u64) -> Slot {
        let bucket = (n % BUCKETS) as u16;
        let [hi, lo] = bucket.to_be_bytes();
        Slot {
            bucket: [index.namespace(), hi, lo],
            tag: (n >> 32) as u32,
        }
    }
}

/// Encodes sorted entries.
pub fn encode(entries: &BTreeSet<(u32, u64)>) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_LEN);
    for &(tag, seq) in entries {
        out.extend_from_slice(&entry(tag, seq));
    }
    out
}

/// One entry: `tag` then `seq`, both big-endian.
pub fn entry(tag: u32, seq: u64) -> [u8; ENTRY_LEN] {
    let mut out = [0u8; ENTRY_LEN];
    out[..4].copy_from_slice(&tag.to_be_bytes());
    out[4..].copy_from_slice(&seq.to_be_bytes());
    out
}

/// Decodes [`encode`]; `None` for bytes that are not a whole number of entries.
pub fn decode(bytes: &[u8]) -> Option<BTreeSet<(u32, u64)>> {
    if !bytes.len().is_multiple_of(ENTRY_LEN) {
        return None;
    }
    let mut out = BTreeSet::new();
    for e in bytes.chunks_exact(ENTRY_LEN) {
        let tag = u32::from_be_bytes(e[..4].try_into().ok()?);
        let seq = u64::from_be_bytes(e[4..].try_into().ok()?);
        out.insert((tag, seq));
    }
    Some(out)
}

fn corrupt(bucket: &[u8]) -> StoreError {
    StoreError::Corrupt {
        tree: "visitorkey_seqs",
        key: bucket.to_vec(),
    }
}

/// Adds (`add`) or removes one entry inside a transaction.
pub(super) fn edit(tx: &Tx, slot: &Slot, seq: u64, add: bool) -> TxResult<()> {
    let tree = tx.visitorkey_seqs;
    let mut entries = match tree.get(slot.bucket)? {
        Some(bytes) => match decode(&bytes) {
            Some(e) => e,
            None => return abort(corrupt(&slot.bucket)),
        },
        None => BTreeSet::new(),
    };
    let changed = if add {
        entries.insert((slot.tag, seq))
    } else {
        entries.remove(&(slot.tag, seq))
    };
    if !changed {
        return Ok(());
    }
    if entries.is_empty() {
        tree.remove_blind(&slot.bucket[..])?;
    } else {
        tree.insert_blind(&slot.bucket[..], encode(&entries))?;
    }
    Ok(())
}

/// Expected contents of the tree for a set of `(slot, seq)` entries (consistency check).
pub fn rows(entries: impl IntoIterator<Item = (Slot, u64)>) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut buckets: BTreeMap<Vec<u8>, BTreeSet<(u32, u64)>> = BTreeMap::new();
    for (slot, seq) in entries {
        buckets
            .entry(slot.bucket.to_vec())
            .or_default()
            .insert((slot.tag, seq));
    }
    buckets
        .into_iter()
        .map(|(k, set)| (k, encode(&set)))
        .collect()
}

impl Store {
    /// The seqs whose entry under `index` has the slot of `value` (candidates: confirm each
    /// against its record).
    pub(super) fn seqs_for(&self, index: Index, value: &str) -> Result<Vec<u64>> {
        self.seqs_in(&self.inner.hasher.slot(index, value))
    }

    /// The seqs of the entries with this slot (candidates, as for [`Store::seqs_for`]).
    pub(super) fn seqs_in(&self, slot: &Slot) -> Result<Vec<u64>> {
        let Some(bytes) = self.trees().visitorkey_seqs.get(slot.bucket)? else {
            return Ok(Vec::new());
        };
        let entries = decode(&bytes).ok_or_else(|| corrupt(&slot.bucket))?;
        Ok(entries
            .range((slot.tag, 0)..=(slot.tag, u64::MAX))
            .map(|(_, seq)| *seq)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_roundtrip_and_reject_torn_bytes() {
        let set: BTreeSet<(u32, u64)> = [(1, 2), (1, 9), (u32::MAX, u64::MAX)].into();
        assert_eq!(decode(&encode(&set)), Some(set));
        assert_eq!(decode(&[0u8; 13]), None);
        assert_eq!(decode(&[]), Some(BTreeSet::new()));
    }

    #[test]
    fn slots_depend_on_key_namespace_and_value() {
        let a = Hasher::new(b"key-a");
        let b = Hasher::new(b"key-b");
        assert_eq!(a.slot(Index::Token, "x"), a.slot(Index::Token, "x"));
        assert_ne!(a.slot(Index::Token, "x"), a.slot(Index::Email, "x"));
        assert_ne!(a.slot(Index::Token, "x"), b.slot(Index::Token, "x"));
        assert_eq!(a.slot(Index::Phone, "1").bucket[0], b'p');
    }
}
