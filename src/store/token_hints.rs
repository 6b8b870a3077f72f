//! Hints from a token to its visitor's record key (seq), in memory, so that a lookup by token
//! (`GET visitor/:token`, and every registration and page view, which look their visitor up
//! first) usually reads one row of the store instead of two (bucket, then record).
//!
//! A fixed table of [`SLOTS`] slots (4 MiB), direct-mapped by the token's keyed hash
//! ([`super::buckets::Hasher::hash`]); each slot holds the full 64-bit hash and a seq, and a
//! new hint overwrites whatever the slot held. Lock-free: two relaxed atomics per slot.
//!
//! A hint is only a candidate. The lookup reads the record at the hinted seq and accepts it
//! only when the record's token is the one asked for; otherwise (no hint, a slot taken by
//! another token, the visitor erased or its token changed, a torn pair from a concurrent
//! fill) it goes through the bucket index as before and leaves a new hint. That is exact
//! because a token belongs to at most one visitor record at any time (registration finds a
//! visitor by token before anything else, import refuses a token that is taken, restore and
//! copy carry records of a store that kept this), so
//! a record that carries the token *is* the one the index would find. Hence hints are never
//! removed or updated by writes, and the store can be rewritten, compacted or repaired under
//! them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Slots in the table (a power of two): 2^18, 16 bytes each.
pub const SLOTS: usize = 1 << 18;

/// The table.
pub struct TokenHints {
    /// `[hash, seq]` per slot; a hash of 0 marks an empty slot.
    slots: Box<[[AtomicU64; 2]]>,
}

impl Default for TokenHints {
    fn default() -> Self {
        TokenHints {
            slots: (0..SLOTS)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
        }
    }
}

impl TokenHints {
    fn slot(&self, hash: u64) -> &[AtomicU64; 2] {
        // The low bits pick the bucket on disk; the high ones spread the table.
        &self.slots[(hash >> 40) as usize & (SLOTS - 1)]
    }

    /// The seq last hinted for a token with this hash, if its slot still holds it.
    pub fn get(&self, hash: u64) -> Option<u64> {
        let [h, seq] = self.slot(hash);
        let seq = seq.load(Ordering::Relaxed);
        (hash != 0 && h.load(Ordering::Relaxed) == hash).then_some(seq)
    }

    /// Remembers that the token with this hash was found at `seq`.
    pub fn put(&self, hash: u64, seq: u64) {
        let [h, s] = self.slot(hash);
        // A reader between the two stores may pair the new hash with the old seq: it then
        // reads a record with another token and falls back to the index.
        h.store(0, Ordering::Relaxed);
        s.store(seq, Ordering::Relaxed);
        h.store(hash, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_is_found_until_another_hash_takes_its_slot() {
        let hints = TokenHints::default();
        let a = 0x0123_4567_89ab_cdef;
        assert_eq!(hints.get(a), None);
        hints.put(a, 7);
        assert_eq!(hints.get(a), Some(7));
        hints.put(a, 9);
        assert_eq!(hints.get(a), Some(9));
        // Same slot (same bits 40..58), another hash: it replaces the first.
        let b = a ^ 1;
        hints.put(b, 11);
        assert_eq!((hints.get(a), hints.get(b)), (None, Some(11)));
        // Another slot: both stay.
        let c = a ^ (1 << 41);
        hints.put(c, 13);
        assert_eq!((hints.get(b), hints.get(c)), (Some(11), Some(13)));
    }

    #[test]
    fn the_empty_hash_is_never_a_hint() {
        let hints = TokenHints::default();
        hints.put(0, 5);
        assert_eq!(hints.get(0), None);
    }
}
