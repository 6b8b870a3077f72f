//! Visitors: registration (create or update, Rocket.Chat's match order), lookups, GDPR erasure.

use super::buckets::{Index, Slot};
use super::keys;
use super::room_rows::{erase_message, erase_room};
use super::visitor_rows::{erase_visitor, write_visitor};
use super::{decode_compact, Refusal, Result, Store};
use crate::domain::rules::{guest_name, guest_number, Target};
use crate::domain::Registration;
use crate::model::ids::new_id;
use crate::model::{PageVisit, Room, Visitor};
use crate::time::Millis;

impl Store {
    /// Plans the search-posting writes for visitors going from `old` to `new` (under the lock).
    pub(super) fn plan_visitor_postings(
        &self,
        changes: &[(Option<&Visitor>, Option<&Visitor>)],
    ) -> Result<super::postings::Writes> {
        let edits = super::search::posting_edits(changes, &self.inner.search_fields);
        self.plan_postings(&edits)
    }

    /// The visitor with this write-order number (the record's key).
    pub(super) fn visitor_by_seq(&self, seq: u64) -> Result<Option<Visitor>> {
        let key = seq.to_be_bytes();
        match self.trees().visitorseq_visitor.get(key)? {
            Some(bytes) => decode_compact("visitorseq_visitor", &key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The visitors whose `index` entry has the slot of `value` and whose record confirms it,
    /// oldest first.
    fn visitors_by(
        &self,
        index: Index,
        value: &str,
        confirm: impl Fn(&Visitor) -> bool,
    ) -> Result<Vec<Visitor>> {
        let mut found = Vec::new();
        for seq in self.seqs_for(index, value)? {
            if let Some(v) = self.visitor_by_seq(seq)? {
                if confirm(&v) {
                    found.push(v);
                }
            }
        }
        Ok(found)
    }

    /// Calls `f` with every visitor in write order (oldest first) until it returns `false`.
    /// Reads one record at a time: memory stays flat on any store size.
    pub fn for_each_visitor(&self, mut f: impl FnMut(&Visitor) -> bool) -> Result<()> {
        for row in self.trees().visitorseq_visitor.iter() {
            let (key, value) = row?;
            let v: Visitor = decode_compact("visitorseq_visitor", &key, &value)?;
            if !f(&v) {
                break;
            }
        }
        Ok(())
    }

    /// The visitor with this token: the record a [hint](super::hints) points at when it
    /// carries the token, else the one the token's bucket finds (which leaves a hint).
    pub fn visitor_by_token(&self, token: &str) -> Result<Option<Visitor>> {
        let hash = self.inner.hasher.hash(Index::Token, token);
        if let Some(seq) = self.inner.token_hints.get(hash) {
            if let Some(v) = self.visitor_by_seq(seq)? {
                if v.token == token {
                    return Ok(Some(v));
                }
            }
        }
        for seq in self.seqs_in(&Slot::of(Index::Token, hash))? {
            if let Some(v) = self.visitor_by_seq(seq)? {
                if v.token == token {
                    self.inner.token_hints.put(hash, seq);
                    return Ok(Some(v));
                }
            }
        }
        Ok(None)
    }

    /// The visitor with this `_id`.
    pub fn visitor_by_id(&self, id: &str) -> Result<Option<Visitor>> {
        let found = self.visitors_by(Index::Id, id, |v| v.id == id)?;
        Ok(found.into_iter().next())
    }

    /// The oldest visitor whose stored phone is exactly `phone`.
    pub fn visitor_by_phone(&self, phone: &str) -> Result<Option<Visitor>> {
        Ok(self.visitors_by_phone(phone)?.into_iter().next())
    }

    /// Every visitor whose stored phone is exactly `phone` (search), oldest first.
    pub(super) fn visitors_by_phone(&self, phone: &str) -> Result<Vec<Visitor>> {
        self.visitors_by(Index::Phone, phone, |v| v.phone.as_deref() == Some(phone))
    }

    /// The oldest visitor with this (lower-cased) email address.
    pub fn visitor_by_email(&self, email: &str) -> Result<Option<Visitor>> {
        let found = self.visitors_by(Index::Email, email, |v| v.email.as_deref() == Some(email))?;
        Ok(found.into_iter().next())
    }

    /// `POST livechat/visitor`: updates the visitor matched by token, else (as `reg.merge`
    /// allows) by phone (keeping its token), else by email (taking the new token, everywhere the
    /// old one is held), else creates one with the next `guest-N`. Refuses a write that would
    /// leave the visitor with more than [`crate::model::limits::CUSTOM_FIELDS`] custom fields.
    /// Returns the visitor after the write.
    ///
    /// Concurrent registrations of new visitors share one transaction (see
    /// [`super::registrations`]).
    pub fn register_visitor(&self, reg: &Registration, now: Millis) -> Result<Visitor> {
        let answer = self.register_combined(reg, now);
        self.merge_if_over();
        answer
    }

    /// The visitor `reg` updates, found with this store's lookups (see
    /// [`crate::domain::rules::target`]).
    pub(super) fn target_of(&self, reg: &Registration) -> Result<Target> {
        crate::domain::rules::target(
            reg,
            reg.merge,
            |token| self.visitor_by_token(token),
            |phone| self.visitor_by_phone(phone),
            |email| self.visitor_by_email(email),
        )
    }

    /// [`Store::register_visitor`] of one registration in its own transaction (the writer lock
    /// is held): any registration, whatever it matches.
    pub(super) fn register_alone(&self, reg: &Registration, now: Millis) -> Result<Visitor> {
        let target = self.target_of(reg)?;

        let (old, mut new) = match target {
            Target::Token(v) | Target::Phone(v) => (Some(v.clone()), v),
            Target::Email(v) => {
                let mut new = v.clone();
                new.token = reg.token.clone();
                (Some(v), new)
            }
            Target::New => (
                None,
                crate::domain::rules::new_visitor(reg, new_id(), self.next_seq()?, now),
            ),
        };
        crate::domain::rules::register_into(&mut new, reg, now)?;

        // A token that becomes registered keeps its room-less history: lift the expiry.
        let token_is_new = old.as_ref().is_none_or(|o| o.token != new.token);
        let expiring = if token_is_new {
            self.expiring_visits_of(&new.token)?
        } else {
            Vec::new()
        };
        let moved = match &old {
            Some(o) if o.token != new.token => self.page_visits_of_token(&o.token)?,
            _ => Vec::new(),
        };
        // Rooms keep a copy of their visitor's token (`v.token`): a new token reaches them all,
        // and a new name reaches the open room's `fname`.
        let rooms: Vec<Room> = match &old {
            Some(o) if o.token != new.token => self.rooms_of_visitor(&o.id)?,
            Some(o) if o.name != new.name => self.open_room_of(&o.id)?.into_iter().collect(),
            _ => Vec::new(),
        };

        // Under the writer lock the counter cannot move between this read and the write.
        let raise_to = match &old {
            None => {
                let (username, raise_to) = new_visitor_username(reg, self.guest_counter()?);
                new.username = username;
                raise_to
            }
            Some(_) => None,
        };
        let search = self.plan_search(old.as_ref(), Some(&new))?;

        self.commit_search(&search, || {
            self.transact(|tx| {
                if let Some(n) = raise_to {
                    tx.meta
                        .insert_blind(keys::meta::GUEST_COUNTER, &keys::u64_value(n)[..])?;
                }
                write_visitor(tx, old.as_ref(), &new)?;
                super::pending::apply(tx, &search)?;
                for visit in &expiring {
                    super::history::lift_expiry(tx, visit)?;
                }
                for visit in &moved {
                    super::history::retoken(tx, visit, &new.token)?;
                }
                for old_room in &rooms {
                    let mut room: Room = old_room.clone();
                    room.v.token = new.token.clone();
                    if let (true, Some(name)) = (room.open, &new.name) {
                        room.fname = name.clone();
                    }
                    if room != *old_room {
                        room.updated_at = now;
                        tx.put(tx.roomid_room, room.id.as_bytes(), &room)?;
                    }
                }
                Ok(())
            })
        })?;
        Ok(new)
    }

    /// `DELETE livechat/visitor/:token`: erases the visitor, its index rows, its rooms with their
    /// messages and history, and every history entry of its token (room-less ones included).
    /// Returns the erased visitor's id.
    pub fn delete_visitor(&self, token: &str, allow_open_rooms: bool) -> Result<String> {
        let _writer = self.lock();
        let visitor = self.visitor_by_token(token)?.ok_or(Refusal::InvalidToken)?;
        if !allow_open_rooms && self.open_room_of(&visitor.id)?.is_some() {
            return Err(Refusal::VisitorHasOpenRooms.into());
        }
        let rooms = self.rooms_of_visitor(&visitor.id)?;
        let mut messages = Vec::new();
        let mut visits: Vec<PageVisit> = self.page_visits_of_token(token)?;
        for room in &rooms {
            messages.extend(self.messages_of_room(&room.id)?);
            for visit in self.page_visits_of_room(&room.id)? {
                if !visits.iter().any(|v| v.id == visit.id) {
                    visits.push(visit);
                }
            }
        }
        let search = self.plan_search(Some(&visitor), None)?;
        self.commit_search(&search, || {
            self.transact(|tx| {
                super::pending::apply(tx, &search)?;
                for visit in &visits {
                    super::history::erase_visit(tx, visit)?;
                }
                for msg in &messages {
                    erase_message(tx, msg)?;
                }
                for room in &rooms {
                    erase_room(tx, room)?;
                }
                erase_visitor(tx, &visitor)?;
                tx.note_erasure(crate::time::now_ms())?;
                Ok(())
            })
        })?;
        Ok(visitor.id)
    }
}

/// A new visitor's username and the guest counter it leaves, given the counter as it stands:
/// the one the client sent, else the next `guest-N`. A client that names a new visitor
/// `guest-N` itself moves the counter up to N, so the counter never issues that name again.
/// Returns `(username, the counter to store when it moves)`.
pub(super) fn new_visitor_username(reg: &Registration, counter: u64) -> (String, Option<u64>) {
    match &reg.username {
        None => (guest_name(counter + 1), Some(counter + 1)),
        Some(username) => {
            let raise_to = guest_number(username).filter(|n| *n > counter);
            (username.clone(), raise_to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        crate::store::temp_store(&[])
    }

    fn reg(token: &str) -> Registration {
        Registration {
            token: token.into(),
            ..Default::default()
        }
    }

    #[test]
    fn create_then_update_by_token_keeps_indexes_in_step() {
        let (_d, s) = store();
        let mut r = reg("t1");
        r.email = Some("a@b.c".into());
        r.phone = Some("+1 555".into());
        let v = s.register_visitor(&r, 1000).unwrap();
        assert_eq!(v.username, "guest-1");
        r.email = Some("x@y.z".into());
        let v2 = s.register_visitor(&r, 2000).unwrap();
        assert_eq!(v2.id, v.id);
        assert!(s.visitor_by_email("a@b.c").unwrap().is_none());
        assert_eq!(s.visitor_by_email("x@y.z").unwrap().unwrap().id, v.id);
        assert_eq!(s.visitor_by_phone("+1 555").unwrap().unwrap().id, v.id);
        assert!(s.check().unwrap().problems.is_empty());
    }

    #[test]
    fn a_token_hint_is_used_only_while_its_record_carries_the_token() {
        let (_d, s) = store();
        let mut r = reg("t1");
        r.email = Some("a@b.c".into());
        r.merge = crate::domain::MergePolicy {
            email: true,
            phone: false,
        };
        let a = s.register_visitor(&r, 1).unwrap();
        // The lookup leaves a hint: t1 → a's record.
        assert_eq!(s.visitor_by_token("t1").unwrap().unwrap().id, a.id);
        let hash = s.inner.hasher.hash(Index::Token, "t1");
        assert_eq!(s.inner.token_hints.get(hash), Some(a.seq));
        // a takes the token t2 (matched by email): its record no longer carries t1.
        r.token = "t2".into();
        assert_eq!(s.register_visitor(&r, 2).unwrap().id, a.id);
        assert!(s.visitor_by_token("t1").unwrap().is_none());
        assert_eq!(s.visitor_by_token("t2").unwrap().unwrap().id, a.id);
        // t1 again, for a new visitor b: found through its bucket although the hint was a's.
        let b = s.register_visitor(&reg("t1"), 3).unwrap();
        assert_ne!(b.seq, a.seq);
        s.inner.token_hints.put(hash, a.seq);
        assert_eq!(s.visitor_by_token("t1").unwrap().unwrap().id, b.id);
        assert_eq!(s.inner.token_hints.get(hash), Some(b.seq));
        // Erased: the hint is left behind and finds nothing.
        s.delete_visitor("t1", true).unwrap();
        assert_eq!(s.inner.token_hints.get(hash), Some(b.seq));
        assert!(s.visitor_by_token("t1").unwrap().is_none());
        assert!(s.check().unwrap().problems.is_empty());
    }

    #[test]
    fn corrupt_record_is_an_error_not_a_panic() {
        let (_d, s) = store();
        let v = s.register_visitor(&reg("t"), 1).unwrap();
        s.trees()
            .visitorseq_visitor
            .insert(v.seq.to_be_bytes(), &b"\xFF"[..])
            .unwrap();
        assert!(matches!(
            s.visitor_by_token("t"),
            Err(super::super::StoreError::Corrupt {
                tree: "visitorseq_visitor",
                ..
            })
        ));
    }
}
