//! Navigation history (`page.visited`): entries by room, by token, by time, and the expiry
//! index that makes Rocket.Chat's "kept for a month when the visitor has no room" real.
//!
//! An entry expires (`expire_at`) when it was stored for a token that no visitor has and it is
//! not attached to an existing room. Registering the token lifts the expiry; opening a room for
//! the visitor adopts the token's room-less entries. [`Store::prune_history`] deletes expired
//! entries and, with a retention period, everything older.

use super::keys;
use super::{Result, Store, Tx, TxResult};
use crate::domain::PageVisitInput;
use crate::model::ids::new_id;
use crate::model::{PageVisit, Room};
use crate::time::Millis;
use std::collections::HashMap;

/// The index rows an entry owns (each row's value is the entry's record key,
/// [`keys::nav_key`]). The record tree, in time order, is the time index.
pub(super) fn rows(p: &PageVisit) -> Vec<(Which, Vec<u8>)> {
    let mut rows = vec![(Which::Token, keys::owner_time(&p.token, p.ts, p.seq))];
    if let Some(rid) = &p.rid {
        rows.push((Which::Room, keys::owner_time(rid, p.ts, p.seq)));
    }
    if let Some(exp) = p.expire_at {
        rows.push((Which::Expiry, keys::time_seq(exp, p.seq).to_vec()));
    }
    rows
}

/// The record key of an entry.
pub(super) fn record_key(p: &PageVisit) -> Vec<u8> {
    keys::nav_key(p.ts, &p.id)
}

/// An entry's record as `navkey_pagevisit` holds it: compact bincode (varint lengths and
/// integers, as visitors), since schema 7; ~40 bytes smaller than bincode's fixed 8-byte
/// lengths, and entries are most of a tracked site's store.
pub(super) fn encode_record(p: &PageVisit) -> Result<Vec<u8>> {
    super::encode_compact(p)
}

/// Decodes a `navkey_pagevisit` value stored under `key` ([`encode_record`]).
pub(super) fn decode_record(key: &[u8], bytes: &[u8]) -> Result<PageVisit> {
    super::decode_compact("navkey_pagevisit", key, bytes)
}

/// The rows of a new entry as a bulk load adds them ([`super::navigation_load`]): its record
/// and its index rows (each → the record key), as [`write_visit`] writes them.
pub(super) fn new_visit_rows(p: &PageVisit) -> Result<Vec<super::runs::TreeRow>> {
    let key = record_key(p);
    let mut out = Vec::with_capacity(4);
    for (which, row) in rows(p) {
        out.push((which.tree_name(), row, key.clone()));
    }
    out.push(("navkey_pagevisit", key, encode_record(p)?));
    Ok(out)
}

/// The history indexes.
#[derive(Clone, Copy)]
pub(super) enum Which {
    Room,
    Token,
    Expiry,
}

impl Which {
    pub(super) fn tree_name(self) -> &'static str {
        match self {
            Which::Room => "roomid_navtime_navkey",
            Which::Token => "token_navtime_navkey",
            Which::Expiry => "navexpiry_navkey",
        }
    }
}

fn tree<'a>(tx: &'a Tx, which: Which) -> &'a sled::transaction::TransactionalTree {
    match which {
        Which::Room => tx.roomid_navtime_navkey,
        Which::Token => tx.token_navtime_navkey,
        Which::Expiry => tx.navexpiry_navkey,
    }
}

/// Writes an entry and its index rows, replacing those of `old`.
pub(super) fn write_visit(tx: &Tx, old: Option<&PageVisit>, new: &PageVisit) -> TxResult<()> {
    super::stats::visit_changed(tx, old, Some(new))?;
    let key = record_key(new);
    if let Some(old) = old {
        for (which, row) in rows(old) {
            tree(tx, which).remove_blind(row)?;
        }
        let old_key = record_key(old);
        if old_key != key {
            tx.navkey_pagevisit.remove_blind(old_key)?;
        }
    }
    for (which, row) in rows(new) {
        tree(tx, which).insert_blind(row, &key[..])?;
    }
    let bytes = encode_record(new).map_err(super::ConflictableTransactionError::Abort)?;
    tx.navkey_pagevisit.insert_blind(key, bytes)?;
    Ok(())
}

/// Removes an entry and its index rows.
pub(super) fn erase_visit(tx: &Tx, p: &PageVisit) -> TxResult<()> {
    super::stats::visit_changed(tx, Some(p), None)?;
    for (which, row) in rows(p) {
        tree(tx, which).remove_blind(row)?;
    }
    tx.navkey_pagevisit.remove_blind(record_key(p))?;
    Ok(())
}

/// The token became a registered visitor's: the entry no longer expires.
pub(super) fn lift_expiry(tx: &Tx, p: &PageVisit) -> TxResult<()> {
    let mut kept = p.clone();
    kept.expire_at = None;
    write_visit(tx, Some(p), &kept)
}

/// A new room of the token's visitor takes the entry (when it has no room) and keeps it.
pub(super) fn adopt(tx: &Tx, p: &PageVisit, rid: &str) -> TxResult<()> {
    let mut adopted = p.clone();
    if adopted.rid.is_none() {
        adopted.rid = Some(rid.to_string());
    }
    adopted.expire_at = None;
    write_visit(tx, Some(p), &adopted)
}

/// The visitor's token changed (an email match took a new token): its history follows it, so
/// that the history stays the visitor's and a GDPR delete by the new token erases it.
pub(super) fn retoken(tx: &Tx, p: &PageVisit, token: &str) -> TxResult<()> {
    let mut moved = p.clone();
    moved.token = token.to_string();
    write_visit(tx, Some(p), &moved)
}

/// A page visit waiting for the writer lock (see [`super::combine`]).
pub(super) struct QueuedVisit {
    input: PageVisitInput,
    now: Millis,
    roomless_ttl: Option<Millis>,
}

/// The rooms one batch of page visits read, as its visits left them.
#[derive(Default)]
struct BatchRooms {
    /// Every room a visit of the batch named, by id (`None`: no such room), its `msgs`
    /// counting the batch's visits so far.
    read: HashMap<String, Option<Room>>,
    /// The rooms whose `msgs` the batch raised, in the order first raised.
    counted: Vec<String>,
}

impl Store {
    /// `POST livechat/page.visited`: stores an entry. The token need not be a visitor's (history
    /// of visitors who have not registered yet is kept). `input.rid` is used only when it is a
    /// room of the token's visitor, whose `msgs` then goes up by one; any other `rid` (unknown,
    /// or another visitor's room) is stored as no room, so nobody writes into a room they do not
    /// own. `roomless_ttl` is how long an entry of an unregistered token without a room lives.
    ///
    /// Concurrent page visits share one transaction (see [`super::combine`]).
    pub fn record_page_visit(
        &self,
        input: &PageVisitInput,
        now: Millis,
        roomless_ttl: Option<Millis>,
    ) -> Result<PageVisit> {
        let request = QueuedVisit {
            input: input.clone(),
            now,
            roomless_ttl,
        };
        self.inner
            .visit_writes
            .submit(&self.inner.write_lock, request, |batch| {
                self.write_visits(batch)
            })
    }

    /// Writes a batch of page visits in one transaction (the writer lock is held). Each visit
    /// sees the rooms as the visits before it in the batch left them.
    fn write_visits(&self, batch: &[&QueuedVisit]) -> Vec<Result<PageVisit>> {
        let mut rooms = BatchRooms::default();
        let mut planned: Vec<Result<PageVisit>> = Vec::with_capacity(batch.len());
        for queued in batch {
            planned.push(self.plan_visit(queued, &mut rooms));
        }
        let counted: Vec<&Room> = rooms
            .counted
            .iter()
            .filter_map(|rid| rooms.read.get(rid).and_then(Option::as_ref))
            .collect();
        let written = self.transact(|tx| {
            for visit in planned.iter().flatten() {
                write_visit(tx, None, visit)?;
            }
            for room in &counted {
                tx.put(tx.roomid_room, room.id.as_bytes(), *room)?;
            }
            Ok(())
        });
        match written {
            Ok(()) => planned,
            Err(e) => super::combine::for_each(e, batch.len()),
        }
    }

    /// The entry one queued visit makes; the room it counts into is counted in `rooms`.
    fn plan_visit(&self, queued: &QueuedVisit, rooms: &mut BatchRooms) -> Result<PageVisit> {
        let input = &queued.input;
        let visitor = self.visitor_by_token(&input.token)?;
        let registered = visitor.is_some();
        let room: Option<&mut Room> = match (&input.rid, &visitor) {
            (Some(rid), Some(visitor)) => {
                if !rooms.read.contains_key(rid) {
                    rooms.read.insert(rid.clone(), self.room_by_id(rid)?);
                }
                rooms
                    .read
                    .get_mut(rid)
                    .and_then(Option::as_mut)
                    .filter(|room| room.v.id == visitor.id)
            }
            _ => None,
        };
        let expire_at = crate::domain::rules::roomless_expiry(
            registered,
            room.is_some(),
            queued.now,
            queued.roomless_ttl,
        );
        let rid = room.map(|room| {
            room.msgs += 1;
            room.id.clone()
        });
        if let Some(rid) = &rid {
            if !rooms.counted.contains(rid) {
                rooms.counted.push(rid.clone());
            }
        }
        Ok(PageVisit {
            id: new_id(),
            rid,
            token: input.token.clone(),
            ts: queued.now,
            seq: self.next_seq()?,
            title: input.title.clone(),
            change: input.change.clone(),
            href: input.href.clone(),
            updated_at: queued.now,
            expire_at,
        })
    }

    /// The entries stored under `keys` (record keys; a key with no record is skipped).
    fn visits_at(&self, keys: Vec<sled::IVec>) -> Result<Vec<PageVisit>> {
        let t = self.trees();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(bytes) = t.navkey_pagevisit.get(&key)? {
                out.push(decode_record(&key, &bytes)?);
            }
        }
        Ok(out)
    }

    /// The values of the rows of `index` under `prefix`, in key order.
    fn values_with_prefix(index: &sled::Tree, prefix: &[u8]) -> Result<Vec<sled::IVec>> {
        let mut values = Vec::new();
        for row in index.scan_prefix(prefix) {
            values.push(row?.1);
        }
        Ok(values)
    }

    /// Every entry stored with this token, oldest first.
    pub fn page_visits_of_token(&self, token: &str) -> Result<Vec<PageVisit>> {
        let keys =
            Self::values_with_prefix(&self.trees().token_navtime_navkey, &keys::prefix(token))?;
        self.visits_at(keys)
    }

    /// Every entry of a room, oldest first.
    pub fn page_visits_of_room(&self, rid: &str) -> Result<Vec<PageVisit>> {
        let keys =
            Self::values_with_prefix(&self.trees().roomid_navtime_navkey, &keys::prefix(rid))?;
        self.visits_at(keys)
    }

    /// The token's entries that are due to expire.
    pub(super) fn expiring_visits_of(&self, token: &str) -> Result<Vec<PageVisit>> {
        Ok(self
            .page_visits_of_token(token)?
            .into_iter()
            .filter(|p| p.expire_at.is_some())
            .collect())
    }

    /// Deletes expired entries and, with `retention`, every entry older than `now - retention`.
    /// Works in batches so writers wait at most one batch. Returns how many were deleted.
    pub fn prune_history(&self, now: Millis, retention: Option<Millis>) -> Result<u64> {
        const BATCH: usize = 1000;
        let mut deleted = 0u64;
        // Expired: the expiry index, up to now.
        let end = keys::time_only(now.saturating_add(1));
        loop {
            let _writer = self.lock();
            let mut keys = Vec::new();
            for row in self.trees().navexpiry_navkey.range(..&end[..]).take(BATCH) {
                keys.push(row?.1);
            }
            let visits = self.visits_at(keys)?;
            if visits.is_empty() {
                break;
            }
            deleted += self.erase_visits(&visits)?;
        }
        // Too old: the front of the record tree, which is in time order.
        let Some(retention) = retention else {
            return Ok(deleted);
        };
        let end = keys::time_only(now.saturating_sub(retention));
        loop {
            let _writer = self.lock();
            let mut visits = Vec::new();
            for row in self.trees().navkey_pagevisit.range(..&end[..]).take(BATCH) {
                let (key, value) = row?;
                visits.push(decode_record(&key, &value)?);
            }
            if visits.is_empty() {
                break;
            }
            deleted += self.erase_visits(&visits)?;
        }
        Ok(deleted)
    }

    /// Erases `visits` in one transaction (the writer lock is held); returns how many.
    fn erase_visits(&self, visits: &[PageVisit]) -> Result<u64> {
        self.transact(|tx| {
            for visit in visits {
                erase_visit(tx, visit)?;
            }
            Ok(())
        })?;
        Ok(visits.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Registration;
    use crate::model::RoomSource;
    use crate::time::DAY_MS;

    const TTL: Millis = 30 * DAY_MS;

    fn store() -> (tempfile::TempDir, Store) {
        crate::store::temp_store(&[])
    }

    fn visit(token: &str, rid: Option<&str>) -> PageVisitInput {
        PageVisitInput {
            token: token.into(),
            rid: rid.map(str::to_string),
            title: "T".into(),
            change: "url".into(),
            href: "https://x".into(),
        }
    }

    fn register(s: &Store, token: &str, now: Millis) {
        let reg = Registration {
            token: token.into(),
            ..Default::default()
        };
        s.register_visitor(&reg, now).unwrap();
    }

    #[test]
    fn concurrent_visits_share_transactions_and_count_every_visit_into_its_room() {
        let (_d, config) = crate::store::temp_config();
        let s = Store::open(&config, Vec::new()).unwrap();
        register(&s, "owner", 1_000);
        register(&s, "other", 1_000);
        let (room, _) = s.open_room("owner", None, RoomSource::Api, 2_000).unwrap();
        let (other_room, _) = s.open_room("other", None, RoomSource::Api, 2_000).unwrap();
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let (s, rid, other_rid) = (s.clone(), room.id.clone(), other_room.id.clone());
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let at = 3_000 + t * 100 + i;
                        s.record_page_visit(&visit("owner", Some(&rid)), at, Some(TTL))
                            .unwrap();
                        // Another visitor's room: stored without a room, counted nowhere.
                        s.record_page_visit(&visit("owner", Some(&other_rid)), at, Some(TTL))
                            .unwrap();
                        s.record_page_visit(&visit(&format!("anon-{t}"), None), at, Some(TTL))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(s);
        let s = crate::store::reopen(&config);
        assert_eq!(s.room_by_id(&room.id).unwrap().unwrap().msgs, 400);
        assert_eq!(s.room_by_id(&other_room.id).unwrap().unwrap().msgs, 0);
        assert_eq!(s.page_visits_of_room(&room.id).unwrap().len(), 400);
        assert!(s.page_visits_of_room(&other_room.id).unwrap().is_empty());
        let owners = s.page_visits_of_token("owner").unwrap();
        assert_eq!(owners.len(), 800);
        assert_eq!(owners.iter().filter(|p| p.rid.is_none()).count(), 400);
        assert!(owners.iter().all(|p| p.expire_at.is_none()));
        let anon = s.page_visits_of_token("anon-3").unwrap();
        assert_eq!(anon.len(), 25);
        assert!(anon
            .iter()
            .all(|p| p.expire_at.is_some() && p.rid.is_none()));
        assert_eq!(s.counts().page_visits, 1_200);
        assert_eq!(s.counts(), s.walked_counts());
        let report = s.check().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn roomless_entries_of_unknown_tokens_expire() {
        let (_d, s) = store();
        let p = s
            .record_page_visit(&visit("anon", None), 1_000, Some(TTL))
            .unwrap();
        assert_eq!(p.expire_at, Some(1_000 + TTL));
        assert_eq!(s.prune_history(1_000 + TTL - 1, None).unwrap(), 0);
        assert_eq!(s.page_visits_of_token("anon").unwrap().len(), 1);
        assert_eq!(s.prune_history(1_000 + TTL, None).unwrap(), 1);
        assert!(s.page_visits_of_token("anon").unwrap().is_empty());
        assert_eq!(s.counts(), s.walked_counts());
        for (name, n) in s.index_counts() {
            if name.contains("nav") {
                assert_eq!(n, 0, "{name}");
            }
        }
    }

    #[test]
    fn registration_lifts_the_expiry() {
        let (_d, s) = store();
        s.record_page_visit(&visit("tok", None), 1_000, Some(TTL))
            .unwrap();
        register(&s, "tok", 2_000);
        let kept = s.page_visits_of_token("tok").unwrap();
        assert_eq!(kept[0].expire_at, None);
        assert_eq!(s.prune_history(1_000 + 10 * TTL, None).unwrap(), 0);
        // Entries of a registered token never get an expiry.
        let p = s
            .record_page_visit(&visit("tok", None), 3_000, Some(TTL))
            .unwrap();
        assert_eq!(p.expire_at, None);
    }

    #[test]
    fn a_new_room_adopts_roomless_entries() {
        let (_d, s) = store();
        s.record_page_visit(&visit("tok", None), 1_000, Some(TTL))
            .unwrap();
        register(&s, "tok", 2_000);
        let (room, new) = s.open_room("tok", None, RoomSource::Api, 3_000).unwrap();
        assert!(new);
        let in_room = s.page_visits_of_room(&room.id).unwrap();
        assert_eq!(in_room.len(), 1);
        assert_eq!(in_room[0].rid.as_deref(), Some(room.id.as_str()));
        // A visit into the room bumps its counter.
        s.record_page_visit(&visit("tok", Some(&room.id)), 4_000, Some(TTL))
            .unwrap();
        assert_eq!(s.room_by_id(&room.id).unwrap().unwrap().msgs, 1);
        assert_eq!(s.page_visits_of_room(&room.id).unwrap().len(), 2);
    }

    #[test]
    fn retention_prunes_everything_older() {
        let (_d, s) = store();
        register(&s, "tok", 0);
        s.record_page_visit(&visit("tok", None), 1_000, Some(TTL))
            .unwrap();
        s.record_page_visit(&visit("tok", None), 5 * DAY_MS, Some(TTL))
            .unwrap();
        assert_eq!(s.prune_history(6 * DAY_MS, Some(2 * DAY_MS)).unwrap(), 1);
        let left = s.page_visits_of_token("tok").unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].ts, 5 * DAY_MS);
        assert_eq!(s.counts().page_visits, 1);
        assert_eq!(s.counts(), s.walked_counts());
    }

    #[test]
    fn gdpr_delete_erases_roomless_and_room_history() {
        let (_d, s) = store();
        register(&s, "tok", 0);
        s.record_page_visit(&visit("tok", None), 1, Some(TTL))
            .unwrap();
        let (room, _) = s.open_room("tok", None, RoomSource::Api, 2).unwrap();
        s.record_page_visit(&visit("tok", Some(&room.id)), 3, Some(TTL))
            .unwrap();
        s.add_message("tok", &room.id, "hello", None, 4).unwrap();
        s.close_room("tok", &room.id, 5).unwrap();
        s.record_page_visit(&visit("tok", None), 6, Some(TTL))
            .unwrap();
        s.record_page_visit(&visit("other", None), 7, Some(TTL))
            .unwrap();
        assert_eq!(s.counts(), s.walked_counts());
        assert_eq!(s.counts().page_visits, 4);
        s.delete_visitor("tok", false).unwrap();
        let counts = s.counts();
        assert_eq!(counts, s.walked_counts());
        assert_eq!(
            (
                counts.visitors,
                counts.rooms,
                counts.messages,
                counts.page_visits
            ),
            (0, 0, 0, 1)
        );
        for (name, n) in s.index_counts() {
            let expected = match name {
                "token_navtime_navkey" | "navexpiry_navkey" => 1,
                // the other token's entry: its day's count and its page's
                "day_count" | "dayhref_count" => 1,
                _ => 0,
            };
            assert_eq!(n, expected, "{name}");
        }
    }

    #[test]
    fn history_follows_a_token_taken_over_by_an_email_match() {
        let (_d, s) = store();
        let mut reg = Registration {
            token: "old".into(),
            email: Some("a@b.c".into()),
            merge: crate::domain::MergePolicy::rocketchat(),
            ..Default::default()
        };
        s.register_visitor(&reg, 1).unwrap();
        s.record_page_visit(&visit("old", None), 2, Some(TTL))
            .unwrap();
        reg.token = "new".into();
        let v = s.register_visitor(&reg, 3).unwrap();
        assert_eq!(v.token, "new");
        assert!(s.page_visits_of_token("old").unwrap().is_empty());
        assert_eq!(s.page_visits_of_token("new").unwrap().len(), 1);
        s.delete_visitor("new", false).unwrap();
        assert_eq!(s.counts().page_visits, 0);
        assert!(s.check().unwrap().problems.is_empty());
    }
}
