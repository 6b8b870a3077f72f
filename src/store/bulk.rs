//! Bulk loading in transactions (demo data): many new visitors with their rooms, messages and
//! history per transaction, each record with all of its index rows. An import from Rocket.Chat
//! sorts its rows instead ([`super::visitor_load`]; its test checks it against this path).

use super::keys;
use super::{Result, Store};
use crate::domain::ImportItem;
use std::collections::HashSet;

impl Store {
    /// Writes `items` in one transaction. An item whose visitor `_id` or token is taken (in the
    /// store or earlier in the batch), or whose room ids are, is skipped; the result has, per
    /// item, `None` when written or the reason it was not.
    pub fn import_batch(&self, mut items: Vec<ImportItem>) -> Result<Vec<Option<String>>> {
        let _writer = self.lock();
        let t = self.trees();
        let mut verdicts = Vec::with_capacity(items.len());
        let (mut ids, mut tokens, mut rids) = (HashSet::new(), HashSet::new(), HashSet::new());
        for item in &mut items {
            let v = &item.visitor;
            let reason = if !ids.insert(v.id.clone()) || self.visitor_by_id(&v.id)?.is_some() {
                Some(format!("visitor _id {} already exists", v.id))
            } else if !tokens.insert(v.token.clone()) || self.visitor_by_token(&v.token)?.is_some()
            {
                Some("token already belongs to another visitor".to_string())
            } else {
                let mut taken = None;
                for room in &item.rooms {
                    if !rids.insert(room.id.clone())
                        || t.roomid_room.contains_key(room.id.as_bytes())?
                    {
                        taken = Some(format!("room _id {} already exists", room.id));
                    }
                }
                taken
            };
            if reason.is_none() {
                item.visitor.seq = self.next_seq()?;
                for room in &mut item.rooms {
                    room.seq = self.next_seq()?;
                }
                for msg in &mut item.messages {
                    msg.seq = self.next_seq()?;
                }
                for visit in &mut item.visits {
                    visit.seq = self.next_seq()?;
                }
            }
            verdicts.push(reason);
        }
        let accepted: Vec<_> = items
            .iter()
            .zip(&verdicts)
            .filter(|(_, verdict)| verdict.is_none())
            .map(|(item, _)| (None, Some(&item.visitor)))
            .collect();
        let postings = self.plan_visitor_postings(&accepted)?;
        let _changes_index = self.index_change();
        self.transact(|tx| {
            super::postings::apply(tx, &postings)?;
            for (item, verdict) in items.iter().zip(&verdicts) {
                if verdict.is_some() {
                    continue;
                }
                super::visitor_rows::write_visitor(tx, None, &item.visitor)?;
                for room in &item.rooms {
                    super::room_rows::write_room(tx, room)?;
                }
                for msg in &item.messages {
                    super::room_rows::write_message(tx, msg)?;
                }
                for visit in &item.visits {
                    super::history::write_visit(tx, None, visit)?;
                }
            }
            Ok(())
        })?;
        Ok(verdicts)
    }

    /// Raises the guest counter to at least `n`, so the next `guest-N` is above every imported one.
    pub fn raise_guest_counter(&self, n: u64) -> Result<()> {
        let _writer = self.lock();
        let trees = self.trees();
        let meta = &trees.meta;
        let current = super::read_u64_or_zero(meta, "meta", keys::meta::GUEST_COUNTER)?;
        if n > current {
            meta.insert(keys::meta::GUEST_COUNTER, &keys::u64_value(n))?;
        }
        Ok(())
    }

    /// The last `guest-N` number handed out (0 before the first; a corrupt counter is an error,
    /// never a 0 that would hand out `guest-1` again).
    pub fn guest_counter(&self) -> Result<u64> {
        super::read_u64_or_zero(&self.trees().meta, "meta", keys::meta::GUEST_COUNTER)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Registration;
    use crate::store::{temp_store, StoreError};

    #[test]
    fn a_corrupt_guest_counter_is_an_error_not_zero() {
        let (_dir, s) = temp_store(&[]);
        s.raw_write(
            "meta",
            crate::store::keys::meta::GUEST_COUNTER,
            Some(b"\x01\x02"),
        )
        .unwrap();
        let corrupt =
            |r: Result<u64, StoreError>| matches!(r, Err(StoreError::Corrupt { tree: "meta", .. }));
        assert!(corrupt(s.guest_counter()));
        assert!(s.raise_guest_counter(5).is_err());
        let reg = Registration {
            token: "t".into(),
            ..Default::default()
        };
        assert!(corrupt(s.register_visitor(&reg, 1).map(|v| v.seq)));
    }
}
