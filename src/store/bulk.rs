//! Bulk loading (import from Rocket.Chat, demo data): many new visitors with their rooms,
//! messages and history per transaction, each record with all of its index rows.

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

    /// Writes imported navigation entries (`visitord import --navigation`) in one transaction,
    /// with the rules of `page.visited`: an entry is in its room only when the room is its
    /// token's visitor's, and a room-less entry of a token no visitor has expires
    /// (`roomless_ttl` after its `ts`). A `rid` that names no room yet, on an entry of a
    /// registered token, creates that room, closed, for the token's visitor (an export of
    /// history names the rooms it was seen in; the rooms themselves are not imported). Every
    /// entry in a room adds one to the room's `msgs`, as `page.visited` does. Entries whose `id`
    /// is taken are skipped; the result has, per entry, `None` when written or the reason.
    pub fn import_visits(
        &self,
        mut visits: Vec<crate::model::PageVisit>,
        roomless_ttl: Option<crate::time::Millis>,
    ) -> Result<Vec<Option<String>>> {
        use crate::model::{Room, RoomSource, RoomVisitor};
        use std::collections::HashMap;
        let _writer = self.lock();
        let t = self.trees();
        let mut verdicts = Vec::with_capacity(visits.len());
        let mut ids = HashSet::new();
        // Rooms written by this batch (new or with more `msgs`), by id.
        let mut rooms: HashMap<String, Room> = HashMap::new();
        let mut new_rooms = HashSet::new();
        let mut visitors = HashMap::new();
        for visit in &mut visits {
            if !ids.insert(visit.id.clone())
                || t.navkey_pagevisit
                    .contains_key(super::history::record_key(visit))?
            {
                verdicts.push(Some(format!("entry _id {} already exists", visit.id)));
                continue;
            }
            if !visitors.contains_key(&visit.token) {
                let found = self.visitor_by_token(&visit.token)?;
                visitors.insert(visit.token.clone(), found);
            }
            let visitor = visitors.get(&visit.token).and_then(Option::as_ref);
            let mut in_room = false;
            if let (Some(rid), Some(visitor)) = (visit.rid.clone(), visitor) {
                if !rooms.contains_key(&rid) {
                    match self.room_by_id(&rid)? {
                        Some(room) => {
                            rooms.insert(rid.clone(), room);
                        }
                        None => {
                            let room = Room {
                                id: rid.clone(),
                                fname: visitor.room_fname(),
                                msgs: 0,
                                users_count: 1,
                                ts: visit.ts,
                                seq: self.next_seq()?,
                                lm: None,
                                open: false,
                                closed_at: Some(visit.ts),
                                closer: Some("visitor".to_string()),
                                waiting_response: false,
                                updated_at: visit.ts,
                                v: RoomVisitor::from(visitor),
                                source: RoomSource::Api,
                            };
                            new_rooms.insert(rid.clone());
                            rooms.insert(rid.clone(), room);
                        }
                    }
                }
                if let Some(room) = rooms.get_mut(&rid).filter(|r| r.v.id == visitor.id) {
                    room.msgs += 1;
                    in_room = true;
                }
            }
            if !in_room {
                visit.rid = None;
            }
            visit.expire_at = crate::domain::rules::roomless_expiry(
                visitor.is_some(),
                in_room,
                visit.ts,
                roomless_ttl,
            );
            visit.seq = self.next_seq()?;
            verdicts.push(None);
        }
        self.transact(|tx| {
            for (rid, room) in &rooms {
                if new_rooms.contains(rid) {
                    super::room_rows::write_room(tx, room)?;
                } else {
                    tx.put(tx.roomid_room, room.id.as_bytes(), room)?;
                }
            }
            for (visit, verdict) in visits.iter().zip(&verdicts) {
                if verdict.is_none() {
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
