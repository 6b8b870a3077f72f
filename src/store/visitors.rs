//! Visitors: registration (create or update, Rocket.Chat's match order), lookups, GDPR erasure.

use super::keys;
use super::{abort, decode, id_value, Refusal, Result, Store, Tx, TxResult};
use crate::model::ids::new_id;
use crate::model::{PageVisit, Room, Visitor};
use crate::time::Millis;

/// One `POST livechat/visitor`, validated and with custom fields already filtered by mode.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub token: String,
    pub name: Option<String>,
    /// Trimmed and lower-cased.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub department: Option<String>,
    pub custom_fields: Vec<CustomFieldWrite>,
    /// Stored on creation only, when the server is configured to keep them.
    pub http: Option<HttpInfo>,
}

/// One `customFields` entry to apply.
#[derive(Debug, Clone)]
pub struct CustomFieldWrite {
    pub key: String,
    pub value: String,
    /// `false`: only set when the visitor has no non-empty value.
    pub overwrite: bool,
}

/// Request headers a visitor may be created with.
#[derive(Debug, Clone, Default)]
pub struct HttpInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub host: Option<String>,
}

/// The index rows that a visitor record owns, derived from the record alone (its search
/// postings are planned separately, see [`super::postings`]).
pub(super) struct VisitorRows {
    token: Vec<u8>,
    email: Option<Vec<u8>>,
    phone: Option<(Vec<u8>, Vec<u8>)>,
    created: [u8; 16],
    seq: [u8; 8],
}

impl VisitorRows {
    pub(super) fn of(v: &Visitor) -> VisitorRows {
        VisitorRows {
            seq: v.seq.to_be_bytes(),
            token: v.token.as_bytes().to_vec(),
            email: v.email.as_deref().map(|e| keys::value_id(e, &v.id)),
            phone: v.phone.as_deref().map(|p| {
                let digits: Vec<u8> = p.bytes().filter(u8::is_ascii_digit).collect();
                (keys::value_id(p, &v.id), digits)
            }),
            created: keys::time_seq(v.ts, v.seq),
        }
    }

    /// The rows as `(tree, key, value)`, for the consistency check.
    pub(super) fn expected(&self, id: &str) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
        let id = id.as_bytes().to_vec();
        let mut rows = vec![
            ("token_visitorid", self.token.clone(), id.clone()),
            ("visitortime_visitorid", self.created.to_vec(), id.clone()),
            ("visitorseq_visitorid", self.seq.to_vec(), id),
        ];
        if let Some(k) = &self.email {
            rows.push(("email_visitorid", k.clone(), Vec::new()));
        }
        if let Some((k, digits)) = &self.phone {
            rows.push(("phone_visitorid", k.clone(), digits.clone()));
        }
        rows
    }

    fn remove(&self, tx: &Tx) -> TxResult<()> {
        tx.token_visitorid.remove(self.token.as_slice())?;
        if let Some(k) = &self.email {
            tx.email_visitorid.remove(k.as_slice())?;
        }
        if let Some((k, _)) = &self.phone {
            tx.phone_visitorid.remove(k.as_slice())?;
        }
        tx.visitortime_visitorid.remove(&self.created[..])?;
        tx.visitorseq_visitorid.remove(&self.seq[..])?;
        Ok(())
    }

    fn insert(&self, tx: &Tx, id: &str) -> TxResult<()> {
        tx.token_visitorid
            .insert(self.token.as_slice(), id.as_bytes())?;
        if let Some(k) = &self.email {
            tx.email_visitorid.insert(k.as_slice(), &[][..])?;
        }
        if let Some((k, digits)) = &self.phone {
            tx.phone_visitorid.insert(k.as_slice(), digits.as_slice())?;
        }
        tx.visitortime_visitorid
            .insert(&self.created[..], id.as_bytes())?;
        tx.visitorseq_visitorid
            .insert(&self.seq[..], id.as_bytes())?;
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
    tx.meta.insert(name, &keys::u64_value(next)[..])?;
    Ok(next)
}

/// Writes `new` and its index rows, replacing `old`'s rows. Search postings are not touched:
/// the caller applies the writes of [`Store::plan_visitor_postings`] in the same transaction.
pub(super) fn write_visitor(tx: &Tx, old: Option<&Visitor>, new: &Visitor) -> TxResult<()> {
    match old {
        Some(old) => VisitorRows::of(old).remove(tx)?,
        None => {
            bump_counter(tx, b"visitor_count", 1)?;
        }
    }
    VisitorRows::of(new).insert(tx, &new.id)?;
    tx.put(tx.visitorid_visitor, new.id.as_bytes(), new)
}

/// Removes a visitor and its index rows (postings: as for [`write_visitor`]).
pub(super) fn erase_visitor(tx: &Tx, v: &Visitor) -> TxResult<()> {
    VisitorRows::of(v).remove(tx)?;
    bump_counter(tx, b"visitor_count", -1)?;
    tx.visitorid_visitor.remove(v.id.as_bytes())?;
    Ok(())
}

/// Which existing visitor a registration updates, by Rocket.Chat's order.
enum Target {
    Token(Visitor),
    Phone(Visitor),
    Email(Visitor),
    New,
}

impl Store {
    /// Plans the search-posting writes for visitors going from `old` to `new` (under the lock).
    pub(super) fn plan_visitor_postings(
        &self,
        changes: &[(Option<&Visitor>, Option<&Visitor>)],
    ) -> Result<super::postings::Writes> {
        let edits = super::search::posting_edits(changes, &self.inner.search_fields);
        self.plan_postings(&edits)
    }

    /// The visitor with this token.
    pub fn visitor_by_token(&self, token: &str) -> Result<Option<Visitor>> {
        let t = self.trees();
        match t.token_visitorid.get(token.as_bytes())? {
            Some(id) => {
                let id = id_value("token_visitorid", token.as_bytes(), &id)?;
                self.visitor_by_id(&id)
            }
            None => Ok(None),
        }
    }

    /// The visitor with this `_id`.
    pub fn visitor_by_id(&self, id: &str) -> Result<Option<Visitor>> {
        match self.trees().visitorid_visitor.get(id.as_bytes())? {
            Some(bytes) => decode("visitorid_visitor", id.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The oldest visitor whose index row under `value` in `tree` is confirmed by its record.
    fn oldest_matching(
        &self,
        tree: &sled::Tree,
        value: &str,
        confirm: impl Fn(&Visitor) -> bool,
    ) -> Result<Option<Visitor>> {
        let mut best: Option<Visitor> = None;
        for row in tree.scan_prefix(keys::prefix(value)) {
            let (key, _) = row?;
            let Some(id) = keys::id_after_value(&key) else {
                continue;
            };
            if let Some(v) = self.visitor_by_id(id)? {
                if confirm(&v) && best.as_ref().is_none_or(|b| v.seq < b.seq) {
                    best = Some(v);
                }
            }
        }
        Ok(best)
    }

    /// Visitors whose stored phone is exactly `phone`, oldest first.
    pub fn visitor_by_phone(&self, phone: &str) -> Result<Option<Visitor>> {
        self.oldest_matching(&self.trees().phone_visitorid, phone, |v| {
            v.phone.as_deref() == Some(phone)
        })
    }

    /// The oldest visitor with this (lower-cased) email address.
    pub fn visitor_by_email(&self, email: &str) -> Result<Option<Visitor>> {
        self.oldest_matching(&self.trees().email_visitorid, email, |v| {
            v.email.as_deref() == Some(email)
        })
    }

    /// `POST livechat/visitor`: updates the visitor matched by token, else phone (keeping its
    /// token), else email (taking the new token), else creates one with the next `guest-N`.
    /// Returns the visitor after the write.
    pub fn register_visitor(&self, reg: &Registration, now: Millis) -> Result<Visitor> {
        let _writer = self.lock();
        let target = if let Some(v) = self.visitor_by_token(&reg.token)? {
            Target::Token(v)
        } else if let Some(v) = match &reg.phone {
            Some(phone) => self.visitor_by_phone(phone)?,
            None => None,
        } {
            Target::Phone(v)
        } else if let Some(v) = match &reg.email {
            Some(email) => self.visitor_by_email(email)?,
            None => None,
        } {
            Target::Email(v)
        } else {
            Target::New
        };

        let (old, mut new) = match target {
            Target::Token(v) | Target::Phone(v) => (Some(v.clone()), v),
            Target::Email(v) => {
                let mut new = v.clone();
                new.token = reg.token.clone();
                (Some(v), new)
            }
            Target::New => {
                let http = reg.http.clone().unwrap_or_default();
                let fresh = Visitor {
                    id: new_id(),
                    token: reg.token.clone(),
                    username: String::new(), // set in the transaction from the counter
                    ts: now,
                    updated_at: now,
                    seq: self.next_seq()?,
                    status: "online".into(),
                    name: None,
                    email: None,
                    phone: None,
                    department: None,
                    livechat_data: Vec::new(),
                    last_chat: None,
                    user_agent: http.user_agent,
                    ip: http.ip,
                    host: http.host,
                };
                (None, fresh)
            }
        };
        apply_registration(&mut new, reg, now);

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
        let open_room = match &old {
            Some(o) if o.name != new.name => self.open_room_of(&o.id)?,
            _ => None,
        };

        // Under the writer lock the counter cannot move between this read and the write.
        let guest = match (&old, &reg.username) {
            (None, None) => Some(self.guest_counter()? + 1),
            _ => None,
        };
        if old.is_none() {
            new.username = match (&reg.username, guest) {
                (Some(u), _) => u.clone(),
                (None, Some(n)) => format!("guest-{n}"),
                (None, None) => String::new(),
            };
        }
        let postings = self.plan_visitor_postings(&[(old.as_ref(), Some(&new))])?;

        self.transact(|tx| {
            if old.is_none() && tx.token_visitorid.get(new.token.as_bytes())?.is_some() {
                return abort(super::StoreError::Invariant("token registered twice"));
            }
            if let Some(n) = guest {
                tx.meta
                    .insert(&b"guest_counter"[..], &keys::u64_value(n)[..])?;
            }
            write_visitor(tx, old.as_ref(), &new)?;
            super::postings::apply(tx, &postings)?;
            for visit in &expiring {
                super::history::lift_expiry(tx, visit)?;
            }
            for visit in &moved {
                super::history::retoken(tx, visit, &new.token)?;
            }
            if let (Some(room), Some(name)) = (&open_room, &new.name) {
                let mut room: Room = room.clone();
                room.fname = name.clone();
                room.updated_at = now;
                tx.put(tx.roomid_room, room.id.as_bytes(), &room)?;
            }
            Ok(())
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
        let postings = self.plan_visitor_postings(&[(Some(&visitor), None)])?;
        self.transact(|tx| {
            super::postings::apply(tx, &postings)?;
            for visit in &visits {
                super::history::erase_visit(tx, visit)?;
            }
            for msg in &messages {
                super::rooms::erase_message(tx, msg)?;
            }
            for room in &rooms {
                super::rooms::erase_room(tx, room)?;
            }
            erase_visitor(tx, &visitor)?;
            Ok(())
        })?;
        Ok(visitor.id)
    }
}

/// Sets the fields a registration writes (Rocket.Chat's `registerGuest`): empty values never
/// clear a field, email and phone replace the old ones, `status` is `online` on every call.
fn apply_registration(v: &mut Visitor, reg: &Registration, now: Millis) {
    v.status = "online".into();
    v.updated_at = now;
    if let Some(name) = reg.name.as_ref().filter(|n| !n.is_empty()) {
        v.name = Some(name.clone());
    }
    if let Some(email) = reg.email.as_ref().filter(|e| !e.is_empty()) {
        v.email = Some(email.clone());
    }
    if let Some(phone) = reg.phone.as_ref().filter(|p| !p.is_empty()) {
        v.phone = Some(phone.clone());
    }
    if let Some(dep) = &reg.department {
        v.department = Some(dep.clone());
    }
    for field in &reg.custom_fields {
        let has_value = v.custom_field(&field.key).is_some_and(|s| !s.is_empty());
        if field.overwrite || !has_value {
            v.set_custom_field(&field.key, &field.value);
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
        let counts = s.index_counts();
        assert!(counts
            .iter()
            .any(|(n, c)| *n == "email_visitorid" && *c == 1));
    }

    #[test]
    fn corrupt_record_is_an_error_not_a_panic() {
        let (_d, s) = store();
        let v = s.register_visitor(&reg("t"), 1).unwrap();
        s.trees()
            .visitorid_visitor
            .insert(v.id.as_bytes(), &b"\x01"[..])
            .unwrap();
        assert!(matches!(
            s.visitor_by_token("t"),
            Err(super::super::StoreError::Corrupt {
                tree: "visitorid_visitor",
                ..
            })
        ));
    }
}
