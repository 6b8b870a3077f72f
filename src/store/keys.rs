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

/// `value 0xFF id`: a row of a key-only (non-unique) index.
pub fn value_id(value: &str, id: &str) -> Vec<u8> {
    let mut k = prefix(value);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The id part of a `value 0xFF id` key.
pub fn id_after_value(key: &[u8]) -> Option<&str> {
    let pos = key.iter().position(|b| *b == SEP)?;
    std::str::from_utf8(&key[pos + 1..]).ok()
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
    fn value_id_layout() {
        assert_eq!(value_id("a@b", "X1"), b"a@b\xFFX1".to_vec());
        assert_eq!(prefix("ab"), b"ab\xFF".to_vec());
        assert!(!value_id("abc", "X").starts_with(&prefix("ab")));
        assert_eq!(id_after_value(b"a@b\xFFX1"), Some("X1"));
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
    fn owner_time_id_roundtrip() {
        let k = owner_time_id("room", 7, 3, "ID");
        assert_eq!(&k[..5], b"room\xFF");
        assert_eq!(&k[5..21], &time_seq(7, 3));
        assert_eq!(id_after_owner_time(&k), Some("ID"));
        assert_eq!(read_u64(&u64_value(42)), Some(42));
        assert_eq!(read_u64(b"short"), None);
    }
}
