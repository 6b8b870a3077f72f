//! Every key layout of the store, as functions.
//!
//! Composite keys join their parts with `0xFF`, a byte that never occurs in UTF-8, so a string
//! part can never run into the next one, and a prefix that ends in the separator matches only
//! that exact value (`ab` never matches `abc`). Integers are big-endian so that byte order is
//! numeric order; times are stored with their sign bit flipped so that negative ones sort first.

use crate::time::Millis;

/// Separator between the parts of a composite key.
pub const SEP: u8 = 0xFF;

/// `value 0xFF`: the prefix of every key that starts with exactly `value`.
pub fn prefix(value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(value.len() + 1);
    k.extend_from_slice(value.as_bytes());
    k.push(SEP);
    k
}

/// 16 bytes, time then write sequence, that sort as (time, write order).
pub fn time_seq(ts: Millis, seq: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&((ts as u64) ^ (1 << 63)).to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The seq part of a [`time_seq`] key; `None` for a key of another length.
pub fn seq_of_time_seq(key: &[u8]) -> Option<u64> {
    let arr: [u8; 16] = key.try_into().ok()?;
    read_u64(&arr[8..])
}

/// Only the time part of [`time_seq`], for range bounds ("everything before `ts`").
pub fn time_only(ts: Millis) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

/// A navigation entry's record key: [`time_only`] of its `ts`, then its id. Entries are stored
/// in time order (new ones go to the end of the tree: appends, not writes all over it), the
/// tree is its own time index, and an entry's key is known from the entry itself.
pub fn nav_key(ts: Millis, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + id.len());
    k.extend_from_slice(&time_only(ts));
    k.extend_from_slice(id.as_bytes());
    k
}

/// `owner 0xFF time_seq`: an owner's rows in time order (rooms of a visitor, entries of a room).
pub fn owner_time(owner: &str, ts: Millis, seq: u64) -> Vec<u8> {
    let mut k = prefix(owner);
    k.extend_from_slice(&time_seq(ts, seq));
    k
}

/// `owner 0xFF time_seq id`: like [`owner_time`] with the row's id last, for key-only sets.
pub fn owner_time_id(owner: &str, ts: Millis, seq: u64, id: &str) -> Vec<u8> {
    let mut k = owner_time(owner, ts, seq);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The id after `owner 0xFF time_seq` in an [`owner_time_id`] key.
pub fn id_after_owner_time(key: &[u8]) -> Option<&str> {
    let pos = key.iter().position(|b| *b == SEP)?;
    let rest = key.get(pos + 1 + 16..)?;
    std::str::from_utf8(rest).ok()
}

/// `userid_tokenhash` key of a session: user id `0xFF` token hash (SHA-256).
pub fn session_row(user_id: &str, token_hash: &[u8]) -> Vec<u8> {
    let mut row = prefix(user_id);
    row.extend_from_slice(token_hash);
    row
}

/// `username_userid` key: the lower-cased username (usernames are unique regardless of case).
pub fn username_key(username: &str) -> Vec<u8> {
    username.to_lowercase().into_bytes()
}

/// `ns gram 0xFF`: the prefix of a posting list of the search index (`ns` the namespace byte
/// of what is indexed, `gram` an n-gram).
pub fn posting_prefix(ns: u8, gram: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(gram.len() + 2);
    k.push(ns);
    k.extend_from_slice(gram.as_bytes());
    k.push(SEP);
    k
}

/// `prefix seq` (u64 BE): the key of the posting chunk whose first seq is `seq`.
pub fn chunk_key(prefix: &[u8], seq: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The posting-list prefix of a [`chunk_key`] (everything before the trailing seq).
pub fn prefix_of(key: &[u8]) -> Option<&[u8]> {
    let end = key.len().checked_sub(8)?;
    (end > 0 && key[end - 1] == SEP).then_some(&key[..end])
}

/// `day_count` key: UTC day (u32 BE, days since 1970-01-01) then the kind byte (`v`, `p`).
pub fn day_count_key(day: u32, kind: u8) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[..4].copy_from_slice(&day.to_be_bytes());
    k[4] = kind;
    k
}

/// `dayhref_count` key: UTC day (u32 BE) then the entry's `href` bytes; a day's keys share the
/// 4-byte prefix, and days sort in order.
pub fn dayhref_key(day: u32, href: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + href.len());
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(href.as_bytes());
    k
}

/// The names of the values in the `meta` tree, each with the layout of its value.
pub mod meta {
    /// The schema the store was written by (u64 BE); see `migrate`.
    pub const SCHEMA_VERSION: &[u8] = b"schema_version";
    /// The last `guest-N` number issued (u64 BE); never goes down.
    pub const GUEST_COUNTER: &[u8] = b"guest_counter";
    /// How many visitors the store holds (u64 BE): search's exact totals start from it.
    pub const VISITOR_COUNT: &[u8] = b"visitor_count";
    /// The custom field ids the search index was built with (utf-8, see `search`).
    pub const SEARCH_FIELDS: &[u8] = b"search_fields";
    /// The secret of the exact-match bucket hash (bytes), made with the store.
    pub const HASH_KEY: &[u8] = b"hash_key";
    /// Added to sled's generated ids (u64 BE), raised by every rewrite and compaction.
    pub const SEQ_FLOOR: &[u8] = b"seq_floor";
    /// When the oldest erasure not yet rewritten off the disk happened (u64 BE ms); absent
    /// when none is pending.
    pub const ERASE_PENDING: &[u8] = b"erase_pending_since";
    /// [`ERASE_PENDING`] as moved aside by a running rewrite (u64 BE ms).
    pub const ERASE_REWRITING: &[u8] = b"erase_rewriting_since";
    /// The key of the last navigation record the 6 → 7 upgrade has re-encoded (bytes); present
    /// only while that upgrade runs (see `migrate`).
    pub const NAV_REENCODED_THROUGH: &[u8] = b"nav_reencoded_through";

    /// Every name.
    #[cfg(test)]
    pub const ALL: [&[u8]; 9] = [
        SCHEMA_VERSION,
        GUEST_COUNTER,
        VISITOR_COUNT,
        SEARCH_FIELDS,
        HASH_KEY,
        SEQ_FLOOR,
        ERASE_PENDING,
        ERASE_REWRITING,
        NAV_REENCODED_THROUGH,
    ];
}

/// Big-endian u64, for counters in `meta`.
pub fn u64_value(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Reads a [`u64_value`].
pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = bytes.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overview_counter_layouts() {
        assert_eq!(day_count_key(0x0102_0304, b'v'), [1, 2, 3, 4, b'v']);
        assert_eq!(
            dayhref_key(1, "https://a/"),
            b"\0\0\0\x01https://a/".to_vec()
        );
        assert!(dayhref_key(1, "\u{10ffff}") < dayhref_key(2, ""));
    }

    #[test]
    fn prefix_layout() {
        assert_eq!(prefix("ab"), b"ab\xFF".to_vec());
        assert!(!prefix("abc").starts_with(&prefix("ab")));
    }

    #[test]
    fn time_seq_orders_by_time_then_seq() {
        assert_eq!(
            time_seq(1, 2),
            [0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]
        );
        assert!(time_seq(-5, 9) < time_seq(0, 0));
        assert!(time_seq(10, 1) < time_seq(10, 2));
        assert!(time_seq(10, u64::MAX) < time_seq(11, 0));
        assert!(time_only(10)[..] < time_seq(11, 0)[..]);
        assert_eq!(seq_of_time_seq(&time_seq(-5, 9)), Some(9));
        assert_eq!(seq_of_time_seq(b"short"), None);
    }

    #[test]
    fn user_and_posting_layouts() {
        assert_eq!(session_row("U1", &[1, 2]), b"U1\xFF\x01\x02".to_vec());
        assert_eq!(username_key("Ana.B"), b"ana.b".to_vec());
        let p = posting_prefix(b't', "abc");
        assert_eq!(p, b"tabc\xFF".to_vec());
        let k = chunk_key(&p, 258);
        assert_eq!(&k[p.len()..], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(prefix_of(&k), Some(&p[..]));
        assert_eq!(prefix_of(b"short"), None);
        assert_eq!(prefix_of(b"no-separator"), None);
    }

    #[test]
    fn meta_names_are_distinct_and_stable() {
        let mut names = meta::ALL.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), meta::ALL.len());
        // Stores on disk hold these bytes: changing one needs a migration.
        assert_eq!(meta::GUEST_COUNTER, b"guest_counter");
        assert_eq!(meta::SCHEMA_VERSION, b"schema_version");
        assert_eq!(meta::ERASE_PENDING, b"erase_pending_since");
    }

    #[test]
    fn nav_keys_sort_by_time_then_id() {
        assert!(nav_key(-5, "b") < nav_key(0, "a"));
        assert!(nav_key(7, "a") < nav_key(7, "b"));
        assert!(nav_key(7, "zzz") < nav_key(8, "a"));
        assert!(time_only(8)[..] <= nav_key(8, "a")[..]);
        assert!(nav_key(7, "zzz")[..] < time_only(8)[..]);
        assert_eq!(&nav_key(7, "ID")[8..], b"ID");
    }

    #[test]
    fn owner_time_id_roundtrip() {
        let k = owner_time_id("room", 7, 3, "ID");
        assert_eq!(&k[..5], b"room\xFF");
        assert_eq!(&k[5..21], &time_seq(7, 3));
        assert_eq!(id_after_owner_time(&k), Some("ID"));
        assert_eq!(read_u64(&u64_value(42)), Some(42));
        assert_eq!(read_u64(b"short"), None);
    }
}
