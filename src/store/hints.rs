//! Hints in memory that save reads of the store: a table from a 64-bit keyed hash to a
//! 64-bit value, fixed size, direct-mapped (a new hint overwrites whatever its slot held),
//! lock-free (two relaxed atomics per slot). A hint is never an answer, only a shortcut that
//! the reader checks or that only steers how it reads; a torn pair from a concurrent fill, or
//! a hint that went stale, costs a read, never a wrong answer. Hence writes never update or
//! remove hints, and the store can be rewritten, compacted or repaired under them.
//!
//! Two tables, in [`super::Inner`]:
//! - **token → seq** ([`TOKEN_SLOTS`], 4 MiB): a lookup by token (`GET visitor/:token`, and
//!   every registration and page view, which look their visitor up first) reads the record at
//!   the hinted seq and accepts it only when the record carries the token; else it goes
//!   through the token's bucket as before and leaves a hint. Exact because a token belongs to
//!   at most one visitor record at any time (registration finds a visitor by token before
//!   anything else, import refuses a token that is taken, restore and copy carry the records
//!   of a store that kept this), so a record that carries the token *is* the one the bucket
//!   would find. See [`super::Store::visitor_by_token`].
//! - **posting prefix → chunk count** ([`GRAM_SLOTS`], 1 MiB): a search reads `gram_count`
//!   for each of its term's trigrams only to order the lists (rarest first) and to decide when
//!   to stop intersecting. A hint holds the count with the index epoch it was read at
//!   ([`GramCount`]) and is used only while the epoch has not moved (every write that changes
//!   chunks moves it); a count of 0 is never hinted, since it ends a search at once. See
//!   [`super::Store::chunk_count`].

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots of the token table (a power of two): 2^18, 16 bytes each.
pub const TOKEN_SLOTS: usize = 1 << 18;
/// Slots of the chunk-count table (a power of two): 2^16, 16 bytes each.
pub const GRAM_SLOTS: usize = 1 << 16;

/// A table of hints.
pub struct Hints {
    /// `[hash, value]` per slot; a hash of 0 marks an empty slot.
    slots: Box<[[AtomicU64; 2]]>,
    /// Keys of [`Hints::hash_of`] (random per table).
    keys: RandomState,
}

impl Hints {
    /// An empty table of `slots` slots (a power of two).
    pub fn new(slots: usize) -> Hints {
        debug_assert!(slots.is_power_of_two());
        Hints {
            slots: (0..slots)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
            keys: RandomState::new(),
        }
    }

    /// A hash of `bytes` for this table, for users that have none of their own.
    pub fn hash_of(&self, bytes: &[u8]) -> u64 {
        self.keys.hash_one(bytes)
    }

    fn slot(&self, hash: u64) -> &[AtomicU64; 2] {
        // The low bits pick a bucket on disk; the high ones spread the table.
        &self.slots[(hash >> 40) as usize & (self.slots.len() - 1)]
    }

    /// The value last hinted for this hash, if its slot still holds it.
    pub fn get(&self, hash: u64) -> Option<u64> {
        let [h, value] = self.slot(hash);
        let value = value.load(Ordering::Relaxed);
        (hash != 0 && h.load(Ordering::Relaxed) == hash).then_some(value)
    }

    /// Remembers `value` for this hash.
    pub fn put(&self, hash: u64, value: u64) {
        let [h, v] = self.slot(hash);
        // A reader between these stores may still pair a hash with another's value (two
        // writers can interleave): every user checks or tolerates that.
        h.store(0, Ordering::Relaxed);
        v.store(value, Ordering::Relaxed);
        h.store(hash, Ordering::Relaxed);
    }
}

/// A chunk count with the (low 24 bits of the) index epoch it was read at, packed into one
/// hint value.
pub struct GramCount;

impl GramCount {
    const COUNT_BITS: u32 = 40;

    /// The hint value of `count` read at `epoch`; `None` for counts that may not be hinted
    /// (0, or too big to pack).
    pub fn pack(count: u64, epoch: u64) -> Option<u64> {
        (count > 0 && count < 1 << Self::COUNT_BITS)
            .then_some((epoch & 0xFF_FFFF) << Self::COUNT_BITS | count)
    }

    /// The count of a hint value, when it was read at `epoch`.
    pub fn unpack(value: u64, epoch: u64) -> Option<u64> {
        let count = value & ((1 << Self::COUNT_BITS) - 1);
        (value >> Self::COUNT_BITS == epoch & 0xFF_FFFF && count > 0).then_some(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_is_found_until_another_hash_takes_its_slot() {
        let hints = Hints::new(TOKEN_SLOTS);
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
        let hints = Hints::new(GRAM_SLOTS);
        hints.put(0, 5);
        assert_eq!(hints.get(0), None);
    }

    #[test]
    fn a_chunk_count_holds_only_at_its_epoch_and_zero_is_never_packed() {
        let v = GramCount::pack(12, 7).unwrap();
        assert_eq!(GramCount::unpack(v, 7), Some(12));
        assert_eq!(GramCount::unpack(v, 8), None);
        assert_eq!(GramCount::pack(0, 7), None);
        assert_eq!(GramCount::pack(1 << 40, 7), None);
        // Epochs past 2^24 still compare by their low bits.
        let big = (1 << 30) + 5;
        assert_eq!(
            GramCount::unpack(GramCount::pack(3, big).unwrap(), big),
            Some(3)
        );
        assert_eq!(
            GramCount::unpack(GramCount::pack(3, big).unwrap(), big + 1),
            None
        );
    }
}
