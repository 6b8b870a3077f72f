//! The rows of a visitor: the record (keyed by seq), its entries in the exact-match buckets,
//! its creation-time row and the visitor count, written and removed together inside a
//! transaction. Used by every writer of visitors (registration, rooms that update `lastChat`,
//! erasure, bulk loads, restores, migrations) and by the consistency check.

use super::buckets::{Hasher, Index, Slot};
use super::keys;
use super::{abort, Tx, TxResult};
use crate::model::Visitor;
use std::collections::BTreeSet;

/// The index rows that a visitor record owns, derived from the record alone (its search
/// postings are planned separately, see [`super::postings`]): its entries in the exact-match
/// buckets and its creation-time row.
pub(super) struct VisitorRows {
    slots: BTreeSet<Slot>,
    created: [u8; 16],
    seq: u64,
}

impl VisitorRows {
    pub(super) fn of(v: &Visitor, hasher: &Hasher) -> VisitorRows {
        let mut slots = BTreeSet::new();
        slots.insert(hasher.slot(Index::Id, &v.id));
        slots.insert(hasher.slot(Index::Token, &v.token));
        if let Some(email) = &v.email {
            slots.insert(hasher.slot(Index::Email, email));
        }
        if let Some(phone) = &v.phone {
            slots.insert(hasher.slot(Index::Phone, phone));
        }
        VisitorRows {
            slots,
            created: keys::time_seq(v.ts, v.seq),
            seq: v.seq,
        }
    }

    /// The bucket entries, for the consistency check.
    pub(super) fn bucket_entries(&self) -> impl Iterator<Item = (Slot, u64)> + '_ {
        self.slots.iter().map(|s| (s.clone(), self.seq))
    }

    /// The `visitortime_seq` key.
    pub(super) fn time_key(&self) -> [u8; 16] {
        self.created
    }

    /// Replaces `old`'s rows by `new`'s, touching only the buckets that change.
    fn replace(tx: &Tx, old: Option<&VisitorRows>, new: Option<&VisitorRows>) -> TxResult<()> {
        let none = BTreeSet::new();
        let before = old.map_or(&none, |r| &r.slots);
        let after = new.map_or(&none, |r| &r.slots);
        let same_seq = matches!((old, new), (Some(o), Some(n)) if o.seq == n.seq);
        if let Some(o) = old {
            for slot in before {
                if !(same_seq && after.contains(slot)) {
                    super::buckets::edit(tx, slot, o.seq, false)?;
                }
            }
        }
        if let Some(n) = new {
            for slot in after {
                if !(same_seq && before.contains(slot)) {
                    super::buckets::edit(tx, slot, n.seq, true)?;
                }
            }
        }
        match (old, new) {
            (Some(o), Some(n)) if o.created == n.created => {}
            _ => {
                if let Some(o) = old {
                    tx.visitortime_seq.remove_blind(&o.created[..])?;
                }
                if let Some(n) = new {
                    tx.visitortime_seq.insert_blind(&n.created[..], &[][..])?;
                }
            }
        }
        Ok(())
    }
}

/// Adds `delta` to the u64 counter `name` in `meta`; returns the new value.
fn bump_counter(tx: &Tx, name: &'static [u8], delta: i64) -> TxResult<u64> {
    let current = match tx.meta.get(name)? {
        Some(bytes) => match keys::read_u64(&bytes) {
            Some(n) => n,
            None => {
                return abort(super::StoreError::Corrupt {
                    tree: "meta",
                    key: name.to_vec(),
                })
            }
        },
        None => 0,
    };
    let next = current.saturating_add_signed(delta);
    tx.meta.insert_blind(name, &keys::u64_value(next)[..])?;
    Ok(next)
}

/// Writes `new` and its index rows, replacing `old`'s rows. Search postings are not touched:
/// the caller applies the writes of [`Store::plan_visitor_postings`] in the same transaction.
pub(super) fn write_visitor(tx: &Tx, old: Option<&Visitor>, new: &Visitor) -> TxResult<()> {
    super::stats::visitor_changed(tx, old, Some(new))?;
    if old.is_none() {
        bump_counter(tx, keys::meta::VISITOR_COUNT, 1)?;
    }
    if let Some(o) = old.filter(|o| o.seq != new.seq) {
        tx.visitorseq_visitor
            .remove_blind(&o.seq.to_be_bytes()[..])?;
    }
    let old_rows = old.map(|o| VisitorRows::of(o, tx.hasher));
    VisitorRows::replace(
        tx,
        old_rows.as_ref(),
        Some(&VisitorRows::of(new, tx.hasher)),
    )?;
    tx.put_visitor(new)
}

/// Removes a visitor and its index rows (postings: as for [`write_visitor`]).
pub(super) fn erase_visitor(tx: &Tx, v: &Visitor) -> TxResult<()> {
    super::stats::visitor_changed(tx, Some(v), None)?;
    VisitorRows::replace(tx, Some(&VisitorRows::of(v, tx.hasher)), None)?;
    bump_counter(tx, keys::meta::VISITOR_COUNT, -1)?;
    tx.visitorseq_visitor
        .remove_blind(&v.seq.to_be_bytes()[..])?;
    Ok(())
}
