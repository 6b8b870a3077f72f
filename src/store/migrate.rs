//! Upgrades of older store layouts, run by [`super::Store::open`] before anything else.
//!
//! [`STEPS`] is an ordered list: step `i` takes a store from schema `i + 1` to `i + 2` and
//! writes that version itself when it is done, so a store of any older schema passes through
//! every step in turn, and a crash during a step leaves the older version recorded: the next
//! open runs that step again, which each step is written to allow.
//!
//! - **1 → 2.** Schema 1 kept visitors in `visitorid_visitor` (fixed-int bincode, keyed by
//!   `_id`) with one key per visitor in each of `token_visitorid`, `email_visitorid`,
//!   `phone_visitorid`, `visitortime_visitorid` and `visitorseq_visitorid`. Schema 2 keys the
//!   records by seq in compact bincode and packs the exact-match indexes into hash buckets (see
//!   [`super::buckets`]). The new trees are written from the old records, then the version is
//!   raised, then the old trees are dropped (a crash before the version is raised leaves the old
//!   trees intact, and the step clears the new trees and runs again). The first search index
//!   layout (`gram_visitorseq`, a key per posting) is dropped here too.
//! - **2 → 3.** Rooms gain `source` (`{"type":"api"|"widget"}`); rooms written before it read as
//!   `api`. Every room record is rewritten; a record that already decodes in the new layout is
//!   left alone, so a rerun after a crash is harmless. Navigation entries whose `rid` is not a
//!   room of their token's visitor (schema 2 stored any `rid` as sent) become room-less.
//! - **3 → 4.** The overview counters `day_count` and `dayhref_count` (see [`super::stats`])
//!   are written from every visitor and navigation entry; a rerun clears and writes them again.
//! - **4 → 5.** The search index's pending list, tree `gram_pending` (see [`super::pending`]),
//!   starts empty (the chunks hold every visitor); only the version changes, so that older
//!   builds, which would not read pending rows, refuse the store.
//! - **5 → 6.** Navigation entries are keyed by time, then id (`navkey_pagevisit`, see
//!   [`super::keys::nav_key`]) instead of by id (`navid_pagevisit`): new entries are appended
//!   at the end of the tree instead of written all over it, and the tree is its own time index,
//!   so `navtime_navid` goes. The index rows (`roomid_navtime_navkey`, `token_navtime_navkey`,
//!   `navexpiry_navkey`) hold the record key instead of the id. The new trees are written from
//!   the old records, then the version is raised, then the old trees are dropped; a rerun after
//!   a crash clears the new trees and writes them again.
//! - **6 → 7.** Navigation records (`navkey_pagevisit`) in compact bincode, as visitors are
//!   (varint lengths and integers: ~40 bytes less per entry). Records are re-encoded in key
//!   order, one transaction per batch that also records the batch's last key in `meta`
//!   (`nav_reencoded_through`); a rerun after a crash starts after that key, so no record is
//!   ever decoded in the other layout. The version is raised and the marker removed in one
//!   atomic batch.

use super::buckets::{self, Hasher};
use super::keys;
use super::visitor_rows::VisitorRows;
use super::{decode, encode, encode_compact, Result, Trees, SCHEMA_VERSION};
use crate::model::{PageVisit, Room, RoomSource, RoomVisitor, Visitor};
use crate::time::Millis;
use serde::Deserialize;

/// One upgrade step: takes the store from its schema to the next and records the next.
type Step = fn(&sled::Db, &Trees, &Hasher) -> Result<()>;

/// The upgrades, in order: `STEPS[i]` takes schema `i + 1` to `i + 2`.
pub(super) const STEPS: [Step; (SCHEMA_VERSION - 1) as usize] =
    [v1_to_v2, v2_to_v3, v3_to_v4, v4_to_v5, v5_to_v6, v6_to_v7];

/// The navigation trees of schemas 2 to 5 (records by id; index rows hold the id).
mod nav_v5 {
    pub const RECORDS: &str = "navid_pagevisit";
    pub const ROOM: &str = "roomid_navtime_navid";
    pub const TOKEN: &str = "token_navtime_navid";
    pub const TIME: &str = "navtime_navid";
    pub const EXPIRY: &str = "navexpiry_navid";
}

/// Runs every step from schema `found` up to [`SCHEMA_VERSION`].
pub(super) fn run(db: &sled::Db, trees: &Trees, hasher: &Hasher, found: u64) -> Result<()> {
    for (i, step) in STEPS.iter().enumerate() {
        let from = i as u64 + 1;
        if found <= from {
            log::info!("upgrading the store from schema {from} to {}", from + 1);
            step(db, trees, hasher)?;
        }
    }
    drop_leftovers(db)
}

/// Drops trees of older schemas that an upgrade step replaced and a crash right after the step
/// raised the version left behind (they are no longer read; they only take space).
fn drop_leftovers(db: &sled::Db) -> Result<()> {
    let names = db.tree_names();
    for old in [
        nav_v5::RECORDS,
        nav_v5::ROOM,
        nav_v5::TOKEN,
        nav_v5::TIME,
        nav_v5::EXPIRY,
    ] {
        if names.iter().any(|name| name == old.as_bytes()) {
            db.drop_tree(old)?;
        }
    }
    Ok(())
}

/// Records `version` as the store's schema and flushes.
pub(super) fn set_version(db: &sled::Db, trees: &Trees, version: u64) -> Result<()> {
    trees
        .meta
        .insert(keys::meta::SCHEMA_VERSION, &keys::u64_value(version))?;
    db.flush()?;
    Ok(())
}

/// The trees of schema 1 that schema 2 replaces.
const V1_TREES: [&str; 6] = [
    "visitorid_visitor",
    "token_visitorid",
    "email_visitorid",
    "phone_visitorid",
    "visitortime_visitorid",
    "visitorseq_visitorid",
];

/// Records per batch written.
const BATCH: usize = 10_000;

/// 1 → 2: moves the visitors of a schema-1 store into the schema-2 trees.
fn v1_to_v2(db: &sled::Db, trees: &Trees, hasher: &Hasher) -> Result<()> {
    let names = db.tree_names();
    let has_v1 = |name: &str| names.iter().any(|n| n.as_ref() == name.as_bytes());
    if has_v1("gram_visitorseq") {
        db.drop_tree("gram_visitorseq")?;
    }
    if has_v1("visitorid_visitor") {
        trees.visitorseq_visitor.clear()?;
        trees.visitorkey_seqs.clear()?;
        trees.visitortime_seq.clear()?;
        let old = db.open_tree("visitorid_visitor")?;
        let mut entries = Vec::new();
        let mut batch = sled::Batch::default();
        let (mut time_batch, mut in_batch, mut moved) = (sled::Batch::default(), 0, 0u64);
        for row in old.iter() {
            let (key, value) = row?;
            let v: Visitor = decode("visitorid_visitor", &key, &value)?;
            let rows = VisitorRows::of(&v, hasher);
            batch.insert(&v.seq.to_be_bytes()[..], encode_compact(&v)?);
            time_batch.insert(&rows.time_key()[..], &[][..]);
            entries.extend(rows.bucket_entries());
            in_batch += 1;
            moved += 1;
            if in_batch == BATCH {
                trees
                    .visitorseq_visitor
                    .apply_batch(std::mem::take(&mut batch))?;
                trees
                    .visitortime_seq
                    .apply_batch(std::mem::take(&mut time_batch))?;
                in_batch = 0;
            }
        }
        trees.visitorseq_visitor.apply_batch(batch)?;
        trees.visitortime_seq.apply_batch(time_batch)?;
        let mut bucket_batch = sled::Batch::default();
        for (key, value) in buckets::rows(entries) {
            bucket_batch.insert(key, value);
        }
        trees.visitorkey_seqs.apply_batch(bucket_batch)?;
        trees
            .meta
            .insert(keys::meta::VISITOR_COUNT, &keys::u64_value(moved))?;
        log::info!("moved {moved} visitors");
    }
    set_version(db, trees, 2)?;
    for name in V1_TREES {
        if has_v1(name) {
            db.drop_tree(name)?;
        }
    }
    db.flush()?;
    Ok(())
}

/// A room as schema 2 stored it: [`Room`] without `source`.
#[derive(Deserialize)]
struct RoomV2 {
    id: String,
    fname: String,
    msgs: u64,
    users_count: u64,
    ts: Millis,
    seq: u64,
    lm: Option<Millis>,
    open: bool,
    closed_at: Option<Millis>,
    closer: Option<String>,
    waiting_response: bool,
    updated_at: Millis,
    v: RoomVisitor,
}

impl RoomV2 {
    /// The room in today's layout; rooms of schema 2 were all opened through the API.
    fn upgrade(self) -> Room {
        Room {
            id: self.id,
            fname: self.fname,
            msgs: self.msgs,
            users_count: self.users_count,
            ts: self.ts,
            seq: self.seq,
            lm: self.lm,
            open: self.open,
            closed_at: self.closed_at,
            closer: self.closer,
            waiting_response: self.waiting_response,
            updated_at: self.updated_at,
            v: self.v,
            source: RoomSource::Api,
        }
    }
}

/// 2 → 3: rewrites every room with `source: api`.
fn v2_to_v3(db: &sled::Db, trees: &Trees, _hasher: &Hasher) -> Result<()> {
    let mut batch = sled::Batch::default();
    let (mut in_batch, mut moved) = (0, 0u64);
    for row in trees.roomid_room.iter() {
        let (key, value) = row?;
        // Already rewritten by an interrupted run of this step: a schema-2 record is shorter
        // than a room, so it never decodes as one.
        if decode::<Room>("roomid_room", &key, &value).is_ok() {
            continue;
        }
        let old: RoomV2 = decode("roomid_room", &key, &value)?;
        batch.insert(key, encode(&old.upgrade())?);
        in_batch += 1;
        moved += 1;
        if in_batch == BATCH {
            trees.roomid_room.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
        }
    }
    trees.roomid_room.apply_batch(batch)?;
    log::info!("rewrote {moved} rooms");
    let detached = detach_foreign_history(db, trees)?;
    if detached > 0 {
        log::info!(
            "kept {detached} navigation entries of unknown or other visitors' rooms room-less"
        );
    }
    set_version(db, trees, 3)
}

/// 3 → 4: counts the stored visitors and navigation entries into the overview counters.
fn v3_to_v4(db: &sled::Db, trees: &Trees, _hasher: &Hasher) -> Result<()> {
    let visits = db.open_tree(nav_v5::RECORDS)?;
    let counts = super::stats::count_records_with(trees, &visits, nav_v5::RECORDS, decode)?;
    super::stats::rebuild_from(trees, counts)?;
    set_version(db, trees, 4)
}

/// 4 → 5: the search index gains its pending list (`gram_pending`, see [`super::pending`]).
/// A schema-4 store's posting chunks already hold every visitor, so the list starts empty;
/// the version is raised so that a build that does not read pending rows refuses the store
/// instead of missing its newest visitors in searches.
fn v4_to_v5(db: &sled::Db, trees: &Trees, _hasher: &Hasher) -> Result<()> {
    set_version(db, trees, 5)
}

/// 5 → 6: navigation entries keyed by time, then id; their index rows rewritten to hold that
/// key; `navtime_navid` dropped (the records are in time order).
fn v5_to_v6(db: &sled::Db, trees: &Trees, _hasher: &Hasher) -> Result<()> {
    let new_trees = [
        &trees.navkey_pagevisit,
        &trees.roomid_navtime_navkey,
        &trees.token_navtime_navkey,
        &trees.navexpiry_navkey,
    ];
    for tree in new_trees {
        tree.clear()?;
    }
    let old = db.open_tree(nav_v5::RECORDS)?;
    let mut batches: [sled::Batch; 4] = Default::default();
    let (mut in_batch, mut moved) = (0, 0u64);
    for row in old.iter() {
        let (key, value) = row?;
        let entry: PageVisit = decode(nav_v5::RECORDS, &key, &value)?;
        let record_key = super::history::record_key(&entry);
        for (which, row) in super::history::rows(&entry) {
            let i = match which {
                super::history::Which::Room => 1,
                super::history::Which::Token => 2,
                super::history::Which::Expiry => 3,
            };
            batches[i].insert(row, record_key.clone());
        }
        // The record's bytes are unchanged: only its key is.
        batches[0].insert(record_key, value);
        in_batch += 1;
        moved += 1;
        if in_batch == BATCH {
            for (tree, batch) in new_trees.iter().zip(batches.iter_mut()) {
                tree.apply_batch(std::mem::take(batch))?;
            }
            in_batch = 0;
        }
    }
    for (tree, batch) in new_trees.iter().zip(batches) {
        tree.apply_batch(batch)?;
    }
    log::info!("rekeyed {moved} navigation entries by time");
    // The old trees go after the version is raised (see `drop_leftovers`).
    set_version(db, trees, 6)
}

/// 6 → 7: navigation records re-encoded in compact bincode ([`super::history::encode_record`]),
/// in key order, resuming after the last batch a crash left committed (see the module doc).
fn v6_to_v7(db: &sled::Db, trees: &Trees, _hasher: &Hasher) -> Result<()> {
    use sled::transaction::{TransactionError, Transactional};
    use std::ops::Bound;
    let marker = keys::meta::NAV_REENCODED_THROUGH;
    let mut after = trees.meta.get(marker)?;
    let mut reencoded = 0u64;
    loop {
        let start = match &after {
            Some(key) => Bound::Excluded(key.clone()),
            None => Bound::Unbounded,
        };
        let mut batch = Vec::with_capacity(BATCH);
        for row in trees
            .navkey_pagevisit
            .range::<sled::IVec, _>((start, Bound::Unbounded))
            .take(BATCH)
        {
            let (key, value) = row?;
            let entry: PageVisit = decode("navkey_pagevisit", &key, &value)?;
            batch.push((key, super::history::encode_record(&entry)?));
        }
        let Some((last, _)) = batch.last() else {
            break;
        };
        let last = last.clone();
        (&trees.navkey_pagevisit, &trees.meta)
            .transaction(|(records, meta)| {
                for (key, bytes) in &batch {
                    records.insert(key, bytes.as_slice())?;
                }
                meta.insert(marker, &last)?;
                Ok(())
            })
            .map_err(|e: TransactionError<super::StoreError>| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => e.into(),
            })?;
        reencoded += batch.len() as u64;
        after = Some(last);
    }
    log::info!("re-encoded {reencoded} navigation entries");
    let mut done = sled::Batch::default();
    done.insert(keys::meta::SCHEMA_VERSION, &keys::u64_value(7));
    done.remove(marker);
    trees.meta.apply_batch(done)?;
    db.flush()?;
    Ok(())
}

/// Schema 2's `page.visited` stored any `rid` as sent; schema 3 uses a `rid` only when it is a
/// room of the entry's token. Entries of an unknown room or of another visitor's room become
/// room-less (their record and its room-index row), as today's `page.visited` would have
/// stored them. Idempotent. Returns how many entries changed.
fn detach_foreign_history(db: &sled::Db, trees: &Trees) -> Result<u64> {
    let visits = db.open_tree(nav_v5::RECORDS)?;
    let room_index = db.open_tree(nav_v5::ROOM)?;
    let mut detached = 0u64;
    let mut records = sled::Batch::default();
    let mut room_rows = sled::Batch::default();
    for row in visits.iter() {
        let (key, value) = row?;
        let mut entry: PageVisit = decode(nav_v5::RECORDS, &key, &value)?;
        let Some(rid) = entry.rid.clone() else {
            continue;
        };
        let owned = match trees.roomid_room.get(rid.as_bytes())? {
            Some(bytes) => {
                decode::<Room>("roomid_room", rid.as_bytes(), &bytes)?
                    .v
                    .token
                    == entry.token
            }
            None => false,
        };
        if owned {
            continue;
        }
        room_rows.remove(keys::owner_time(&rid, entry.ts, entry.seq));
        entry.rid = None;
        records.insert(key, encode(&entry)?);
        detached += 1;
    }
    room_index.apply_batch(room_rows)?;
    visits.apply_batch(records)?;
    Ok(detached)
}

/// Moves every navigation entry of `s` into the layout of schemas 2 to 5 (records keyed by
/// id; rows by token, room, time and expiry holding the id), as such a store holds them.
#[cfg(test)]
pub(super) fn history_to_v5_layout(s: &super::Store) {
    let engine = s.engine();
    let db = &engine.db;
    let t = s.trees();
    let open = |name| db.open_tree(name).unwrap();
    let (records, room, token, time, expiry) = (
        open(nav_v5::RECORDS),
        open(nav_v5::ROOM),
        open(nav_v5::TOKEN),
        open(nav_v5::TIME),
        open(nav_v5::EXPIRY),
    );
    for row in t.navkey_pagevisit.iter() {
        let (_, bytes) = row.unwrap();
        let p = crate::store::history::decode_record(b"", &bytes).unwrap();
        let id = p.id.as_bytes();
        records.insert(id, encode(&p).unwrap()).unwrap();
        token
            .insert(keys::owner_time(&p.token, p.ts, p.seq), id)
            .unwrap();
        time.insert(keys::time_seq(p.ts, p.seq), id).unwrap();
        if let Some(rid) = &p.rid {
            room.insert(keys::owner_time(rid, p.ts, p.seq), id).unwrap();
        }
        if let Some(exp) = p.expire_at {
            expiry.insert(keys::time_seq(exp, p.seq), id).unwrap();
        }
    }
    for tree in [
        &t.navkey_pagevisit,
        &t.roomid_navtime_navkey,
        &t.token_navtime_navkey,
        &t.navexpiry_navkey,
    ] {
        tree.clear().unwrap();
    }
    db.flush().unwrap();
}

#[cfg(test)]
mod tests {
    use crate::domain::Registration;
    use crate::store::{encode, keys, reopen, temp_config, Store};

    /// A schema-1 store (as the first releases wrote it) opens with every visitor findable by
    /// each index, searchable, and consistent.
    #[test]
    fn a_schema_1_store_is_upgraded_in_place() {
        let (_dir, config) = temp_config();
        // Write visitors through the current code, then rewrite them in the schema-1 layout.
        let mut visitors = Vec::new();
        {
            let s = Store::open(&config, Vec::new()).unwrap();
            for i in 0..30 {
                let reg = Registration {
                    token: format!("tok-{i}"),
                    name: Some(format!("Visitor {i}")),
                    email: Some(format!("v{i}@example.com")),
                    phone: (i % 2 == 0).then(|| format!("+55 51 {i:04}")),
                    ..Default::default()
                };
                visitors.push(s.register_visitor(&reg, 1000 + i).unwrap());
            }
            let engine = s.engine();
            let db = &engine.db;
            let old = db.open_tree("visitorid_visitor").unwrap();
            let tokens = db.open_tree("token_visitorid").unwrap();
            for v in &visitors {
                old.insert(v.id.as_bytes(), bincode::serialize(v).unwrap())
                    .unwrap();
                tokens.insert(v.token.as_bytes(), v.id.as_bytes()).unwrap();
            }
            let t = s.trees();
            t.visitorseq_visitor.clear().unwrap();
            t.visitorkey_seqs.clear().unwrap();
            t.visitortime_seq.clear().unwrap();
            super::set_version(db, &t, 1).unwrap();
        }
        let s = reopen(&config);
        assert!(s.check().unwrap().problems.is_empty());
        assert_eq!(s.visitor_count().unwrap(), 30);
        for v in &visitors {
            assert_eq!(s.visitor_by_token(&v.token).unwrap().as_ref(), Some(v));
            assert_eq!(s.visitor_by_id(&v.id).unwrap().as_ref(), Some(v));
            let email = v.email.as_deref().unwrap();
            assert_eq!(s.visitor_by_email(email).unwrap().as_ref(), Some(v));
        }
        assert!(!s
            .engine()
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == b"visitorid_visitor"));
        let meta = s
            .trees()
            .meta
            .get(keys::meta::SCHEMA_VERSION)
            .unwrap()
            .unwrap();
        assert_eq!(keys::read_u64(&meta), Some(super::SCHEMA_VERSION));
    }

    /// A schema-2 store whose history names unknown and foreign rooms: after the upgrade those
    /// entries are room-less, the owner's entries stay in its room, and `check` is clean.
    #[test]
    fn schema_2_history_in_foreign_rooms_becomes_room_less() {
        use crate::domain::PageVisitInput;
        use crate::model::{PageVisit, RoomSource};
        let (_dir, config) = temp_config();
        let (own, rid) = {
            let s = Store::open(&config, Vec::new()).unwrap();
            for token in ["owner", "stranger"] {
                let reg = Registration {
                    token: token.into(),
                    ..Default::default()
                };
                s.register_visitor(&reg, 1).unwrap();
            }
            let (room, _) = s.open_room("owner", None, RoomSource::Api, 2).unwrap();
            let visit = |token: &str, rid: Option<&str>| PageVisitInput {
                token: token.into(),
                rid: rid.map(str::to_string),
                title: "T".into(),
                change: "url".into(),
                href: "https://x/".into(),
            };
            let own = s
                .record_page_visit(&visit("owner", Some(&room.id)), 3, None)
                .unwrap();
            // What schema 2 stored for a stranger's and an unknown room's `rid`.
            let mut expected = Vec::new();
            for (token, rid) in [("stranger", room.id.as_str()), ("anon", "ghost-room")] {
                // Schema 2 gave an unregistered token's entry of an unknown room an expiry.
                let ttl = Some(crate::time::DAY_MS);
                let mut p = s.record_page_visit(&visit(token, None), 4, ttl).unwrap();
                p.rid = Some(rid.to_string());
                let key = crate::store::history::record_key(&p);
                let room_key = keys::owner_time(rid, p.ts, p.seq);
                s.raw_write("roomid_navtime_navkey", &room_key, Some(&key))
                    .unwrap();
                let bytes = Store::raw_visit_record(&p).unwrap();
                s.raw_write("navkey_pagevisit", &key, Some(&bytes)).unwrap();
                expected.push(if token == "anon" {
                    format!("navigation entry {} is in no room ({rid})", p.id)
                } else {
                    format!(
                        "navigation entry {} is in room {rid} of another visitor",
                        p.id
                    )
                });
            }
            let mut problems = s.check().unwrap().problems;
            problems.sort();
            expected.sort();
            assert_eq!(problems, expected, "the check sees both");
            super::history_to_v5_layout(&s);
            s.raw_write(
                "meta",
                keys::meta::SCHEMA_VERSION,
                Some(&keys::u64_value(2)),
            )
            .unwrap();
            (own, room.id)
        };
        let s = reopen(&config);
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
        let in_room: Vec<PageVisit> = s.page_visits_of_room(&rid).unwrap();
        assert_eq!(in_room, vec![own]);
        for token in ["stranger", "anon"] {
            let entries = s.page_visits_of_token(token).unwrap();
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].rid, None, "{token}");
        }
    }

    /// A schema-5 store's history (entries in rooms, room-less, expiring) is rekeyed by time:
    /// every entry is found by token and by room as before, `check` is clean, the old trees are
    /// gone, and expiry and retention prune from the new trees.
    #[test]
    fn schema_5_history_is_rekeyed_by_time() {
        use crate::domain::PageVisitInput;
        use crate::model::PageVisit;
        use crate::time::DAY_MS;
        let (_dir, config) = temp_config();
        let visit = |token: &str, rid: Option<&str>| PageVisitInput {
            token: token.into(),
            rid: rid.map(str::to_string),
            title: "T".into(),
            change: "url".into(),
            href: "https://x/".into(),
        };
        let (by_token, rid) = {
            let s = Store::open(&config, Vec::new()).unwrap();
            let room = owner_with_room(&s);
            for at in [10 * DAY_MS, 20 * DAY_MS, 30 * DAY_MS] {
                s.record_page_visit(&visit("owner", Some(&room.id)), at, Some(DAY_MS))
                    .unwrap();
                s.record_page_visit(&visit("owner", None), at + 1, Some(DAY_MS))
                    .unwrap();
                s.record_page_visit(&visit("anon", None), at + 2, Some(DAY_MS))
                    .unwrap();
            }
            let by_token: Vec<Vec<PageVisit>> = ["owner", "anon"]
                .iter()
                .map(|t| s.page_visits_of_token(t).unwrap())
                .collect();
            super::history_to_v5_layout(&s);
            assert!(s.page_visits_of_token("owner").unwrap().is_empty());
            s.raw_write(
                "meta",
                keys::meta::SCHEMA_VERSION,
                Some(&keys::u64_value(5)),
            )
            .unwrap();
            (by_token, room.id)
        };
        let s = reopen(&config);
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
        assert_eq!(s.page_visits_of_token("owner").unwrap(), by_token[0]);
        assert_eq!(s.page_visits_of_token("anon").unwrap(), by_token[1]);
        assert_eq!(s.page_visits_of_room(&rid).unwrap().len(), 3);
        assert_eq!(s.counts().page_visits, 9);
        let names = s.engine().db.tree_names();
        for old in ["navid_pagevisit", "navtime_navid", "navexpiry_navid"] {
            assert!(!names.iter().any(|n| n.as_ref() == old.as_bytes()), "{old}");
        }
        // The anonymous entries expire a day after they were stored; retention of 15 days at
        // day 32 takes the owner's entries of day 10 too.
        let pruned = s.prune_history(32 * DAY_MS, Some(15 * DAY_MS)).unwrap();
        assert_eq!(pruned, 3 + 2);
        let left = s.page_visits_of_token("owner").unwrap();
        assert_eq!(left, by_token[0][2..].to_vec());
        assert!(s.page_visits_of_token("anon").unwrap().is_empty());
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
    }

    /// Registers the visitor "owner" (at 1) and opens a room for it (at 2).
    fn owner_with_room(s: &Store) -> crate::model::Room {
        let reg = Registration {
            token: "owner".into(),
            ..Default::default()
        };
        s.register_visitor(&reg, 1).unwrap();
        let (room, _) = s
            .open_room("owner", None, crate::model::RoomSource::Api, 2)
            .unwrap();
        room
    }

    /// A schema-6 store's navigation records (fixed-int bincode) are re-encoded compactly and
    /// read back as they were; a rerun after a crash (some records already re-encoded, the
    /// marker naming the last of them) re-encodes only the rest, and the marker goes.
    #[test]
    fn schema_6_history_is_reencoded_and_a_rerun_resumes_after_the_marker() {
        use crate::domain::PageVisitInput;
        use crate::model::PageVisit;
        for already in [0usize, 4] {
            let (_dir, config) = temp_config();
            let (by_token, rid, fixed_sizes) = {
                let s = Store::open(&config, Vec::new()).unwrap();
                let room = owner_with_room(&s);
                for i in 0..10 {
                    let (token, rid) = match i % 3 {
                        0 => ("owner", Some(room.id.clone())),
                        1 => ("owner", None),
                        _ => ("anon", None),
                    };
                    let input = PageVisitInput {
                        token: token.into(),
                        rid,
                        title: format!("Page {i}"),
                        change: "url".into(),
                        href: format!("https://shop.example/p/{i}?utm_source=mail"),
                    };
                    s.record_page_visit(&input, 100 + i, Some(crate::time::DAY_MS))
                        .unwrap();
                }
                let by_token: Vec<Vec<PageVisit>> = ["owner", "anon"]
                    .iter()
                    .map(|t| s.page_visits_of_token(t).unwrap())
                    .collect();
                // Schema 6 held every record in fixed-int bincode; a crash of the upgrade
                // left the first `already` re-encoded and the marker at the last of them.
                let rows: Vec<(sled::IVec, sled::IVec)> = s
                    .trees()
                    .navkey_pagevisit
                    .iter()
                    .map(|r| r.unwrap())
                    .collect();
                assert_eq!(rows.len(), 10);
                let mut fixed_sizes = Vec::new();
                for (i, (key, bytes)) in rows.iter().enumerate() {
                    let p = super::super::history::decode_record(key, bytes).unwrap();
                    let fixed = encode(&p).unwrap();
                    fixed_sizes.push(fixed.len());
                    if i >= already {
                        s.raw_write("navkey_pagevisit", key, Some(&fixed)).unwrap();
                    }
                }
                if already > 0 {
                    let marker = &rows[already - 1].0;
                    s.raw_write("meta", keys::meta::NAV_REENCODED_THROUGH, Some(marker))
                        .unwrap();
                }
                s.raw_write(
                    "meta",
                    keys::meta::SCHEMA_VERSION,
                    Some(&keys::u64_value(6)),
                )
                .unwrap();
                (by_token, room.id, fixed_sizes)
            };
            let s = reopen(&config);
            assert_eq!(s.page_visits_of_token("owner").unwrap(), by_token[0]);
            assert_eq!(s.page_visits_of_token("anon").unwrap(), by_token[1]);
            assert_eq!(s.page_visits_of_room(&rid).unwrap().len(), 4);
            assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
            let meta = &s.trees().meta;
            assert_eq!(
                meta.get(keys::meta::SCHEMA_VERSION).unwrap().as_deref(),
                Some(&keys::u64_value(7)[..])
            );
            assert_eq!(meta.get(keys::meta::NAV_REENCODED_THROUGH).unwrap(), None);
            for (i, row) in s.trees().navkey_pagevisit.iter().enumerate() {
                let (key, bytes) = row.unwrap();
                let p = super::super::history::decode_record(&key, &bytes).unwrap();
                assert_eq!(bytes, super::super::history::encode_record(&p).unwrap());
                assert!(
                    bytes.len() + 40 <= fixed_sizes[i],
                    "entry {i}: {} bytes against {} fixed-int",
                    bytes.len(),
                    fixed_sizes[i]
                );
            }
        }
    }

    /// Every schema but the first has the step that makes it.
    #[test]
    fn there_is_one_step_per_schema_version() {
        assert_eq!(super::STEPS.len() as u64, super::SCHEMA_VERSION - 1);
    }
}
