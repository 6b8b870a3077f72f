//! Loading navigation history in bulk (`visitord import --navigation`), the way PostgreSQL
//! loads a table and builds its indexes: every row of every entry is sorted once, per tree,
//! outside the store ([`super::runs`]), and a rewrite then writes each tree in one ordered pass
//! with the sorted rows merged in ([`Store::rewrite_merging`]).
//!
//! Written entry by entry, the rows of an entry land in four random leaves (its record by
//! time, its token's, its room's and its expiry's index rows) plus two counters: once the
//! history is larger than the cache, nearly every row is a leaf read from disk, and 10 million
//! entries into a 1M-visitor store took 1,190 s (`docs/benchmarks.md`).
//!
//! The rules are those of `page.visited` (see [`NavigationLoad::add`]); the only reads are of
//! the store as it was before the load (is the entry there, whose is the token, which room is
//! the `rid`), so nothing is written until the rewrite, which switches the store to the loaded
//! copy atomically: a crash or an error before it leaves the store as it was.
//!
//! The checks run on the loading thread; each entry's rows are built and handed to the sorters
//! on a thread of their own ([`super::sort_thread`]).
//!
//! Counters (`day_count`, `dayhref_count`) are summed in memory up to [`COUNTER_KEYS`] keys,
//! then handed to their sorters as partial sums; the merge adds them to the stored counts.

use super::runs::{Additions, Merge, Row, Sorting};
use super::sort_thread::{RowMaker, SortThread};
use super::{history, room_rows, stats, Result, Store};
use crate::model::{PageVisit, Room, RoomSource, RoomVisitor};
use crate::time::Millis;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::{Arc, MutexGuard};

/// Counter keys summed in memory before they are handed to the sorters (tests: a few, so that
/// partial sums of one key meet in the merge).
const COUNTER_KEYS: usize = if cfg!(test) { 3 } else { 500_000 };

/// A navigation load in progress: the store's writer lock is held until it is finished or
/// dropped (nothing else may write to the store meanwhile: its reads are the store's state
/// before the load).
pub struct NavigationLoad<'s> {
    store: &'s Store,
    _writer: MutexGuard<'s, ()>,
    roomless_ttl: Option<Millis>,
    /// Builds and sorts the rows of the entries added (see [`NavigationRows`]).
    rows: SortThread<NavigationRows>,
    /// 128-bit hashes of the `_id`s loaded so far (an `_id` is unique in Rocket.Chat; two
    /// distinct ids share a hash with a probability of about n² / 2¹²⁹: 10⁻²⁵ for 10M).
    ids: HashSet<u128>,
    /// 128-bit hash of a token → the id of its visitor (`None`: no visitor has it), as read so
    /// far (hashed as `ids` are: no token copied, no string compared).
    visitors: HashMap<u128, Option<Arc<str>>>,
    /// Whether the store had no history before the load (then no `_id` can be in it).
    no_history: bool,
    /// The rooms the load writes (new, or counting more entries), by id, as it leaves them.
    rooms: HashMap<String, Room>,
    /// Which of `rooms` the load creates.
    new_rooms: HashSet<String>,
}

/// The rows of the entries a navigation load adds, built on its sorting thread: each entry's
/// record and index rows, and the counters it adds to.
struct NavigationRows {
    /// Counter key → entries added, per counter tree, not yet handed to the sorters.
    counters: HashMap<(&'static str, Vec<u8>), u64>,
}

impl NavigationRows {
    /// Hands the counters summed so far to their sorters.
    fn hand_over_counters(&mut self, sorting: &mut Sorting) -> Result<()> {
        for ((tree, key), n) in self.counters.drain() {
            let value = super::keys::u64_value(n).to_vec();
            sorting.push(tree, Merge::Add, Row { key, value })?;
        }
        Ok(())
    }
}

impl RowMaker for NavigationRows {
    type Entry = PageVisit;

    fn add(&mut self, visit: PageVisit, sorting: &mut Sorting) -> Result<()> {
        for (tree, key, value) in history::new_visit_rows(&visit)? {
            sorting.push(tree, Merge::Replace, Row { key, value })?;
        }
        let (day, href) = stats::visit_counter_keys(&visit);
        *self
            .counters
            .entry(("day_count", day.to_vec()))
            .or_default() += 1;
        *self.counters.entry(("dayhref_count", href)).or_default() += 1;
        if self.counters.len() >= COUNTER_KEYS {
            self.hand_over_counters(sorting)?;
        }
        Ok(())
    }

    fn finish(mut self, sorting: &mut Sorting) -> Result<()> {
        self.hand_over_counters(sorting)
    }
}

impl Store {
    /// Starts a bulk load of navigation entries (see the module header); `roomless_ttl` as
    /// for `page.visited`.
    pub fn navigation_load(&self, roomless_ttl: Option<Millis>) -> Result<NavigationLoad<'_>> {
        Ok(NavigationLoad {
            store: self,
            _writer: self.lock(),
            roomless_ttl,
            rows: SortThread::spawn(
                Sorting::new(&self.inner.data_dir)?,
                NavigationRows {
                    counters: HashMap::new(),
                },
            )?,
            ids: HashSet::new(),
            visitors: HashMap::new(),
            no_history: self.trees().navkey_pagevisit.is_empty(),
            rooms: HashMap::new(),
            new_rooms: HashSet::new(),
        })
    }
}

impl NavigationLoad<'_> {
    /// Adds an entry, with the rules of `page.visited`: it is in its room only when the room
    /// is its token's visitor's, and a room-less entry of a token no visitor has expires
    /// (`roomless_ttl` after its `ts`). A `rid` that names no room yet, on an entry of a
    /// registered token, creates that room, closed, for the token's visitor (an export of
    /// history names the rooms it was seen in; the rooms themselves are not imported). Every
    /// entry in a room adds one to the room's `msgs`. Returns `None` when the entry is added,
    /// or why it is not: its `_id` was loaded before, or the store has an entry with its `_id`
    /// and time.
    pub fn add(&mut self, mut visit: PageVisit) -> Result<Option<String>> {
        let store = self.store;
        let hash = |s: &str| xxhash_rust::xxh3::xxh3_128(s.as_bytes());
        let fresh = self.ids.insert(hash(&visit.id));
        if !fresh
            || (!self.no_history
                && store
                    .trees()
                    .navkey_pagevisit
                    .contains_key(history::record_key(&visit))?)
        {
            return Ok(Some(format!("entry _id {} already exists", visit.id)));
        }
        let token = hash(&visit.token);
        let visitor_id = match self.visitors.get(&token) {
            Some(known) => known.clone(),
            None => {
                let found: Option<Arc<str>> =
                    store.visitor_by_token(&visit.token)?.map(|v| v.id.into());
                self.visitors.insert(token, found.clone());
                found
            }
        };
        let mut in_room = false;
        if let (Some(rid), Some(visitor_id)) = (visit.rid.clone(), visitor_id.as_deref()) {
            if !self.rooms.contains_key(&rid) {
                let room = match store.room_by_id(&rid)? {
                    Some(room) => Some(room),
                    None => self.new_room(&rid, &visit)?,
                };
                if let Some(room) = room {
                    self.rooms.insert(rid.clone(), room);
                }
            }
            if let Some(room) = self.rooms.get_mut(&rid).filter(|r| *r.v.id == *visitor_id) {
                room.msgs += 1;
                in_room = true;
            }
        }
        if !in_room {
            visit.rid = None;
        }
        visit.expire_at = crate::domain::rules::roomless_expiry(
            visitor_id.is_some(),
            in_room,
            visit.ts,
            self.roomless_ttl,
        );
        visit.seq = store.next_seq()?;
        self.rows.push(visit)?;
        Ok(None)
    }

    /// The room `rid` that `visit` creates for its token's visitor (`None` if the token's
    /// visitor is gone, which cannot happen while the load holds the writer lock).
    fn new_room(&mut self, rid: &str, visit: &PageVisit) -> Result<Option<Room>> {
        let Some(visitor) = self.store.visitor_by_token(&visit.token)? else {
            return Ok(None);
        };
        self.new_rooms.insert(rid.to_string());
        Ok(Some(Room {
            id: rid.to_string(),
            fname: visitor.room_fname(),
            msgs: 0,
            users_count: 1,
            ts: visit.ts,
            seq: self.store.next_seq()?,
            lm: None,
            open: false,
            closed_at: Some(visit.ts),
            closer: Some("visitor".to_string()),
            waiting_response: false,
            updated_at: visit.ts,
            v: RoomVisitor::from(&visitor),
            source: RoomSource::Api,
        }))
    }

    /// Ends the load: the rows of the rooms it wrote join the sorted rows, which the caller
    /// merges into the store with [`Store::rewrite_merging`] (after dropping this, which
    /// releases the writer lock).
    pub fn finish(self) -> Result<Additions> {
        let mut sorting = self.rows.finish()?;
        for (rid, room) in &self.rooms {
            if self.new_rooms.contains(rid) {
                for (tree, key, value) in room_rows::new_closed_room_rows(room)? {
                    sorting.push(tree, Merge::Replace, Row { key, value })?;
                }
            } else {
                let row = Row {
                    key: room.id.as_bytes().to_vec(),
                    value: super::encode(room)?,
                };
                sorting.push("roomid_room", Merge::Replace, row)?;
            }
        }
        sorting.done()
    }
}

#[cfg(test)]
mod tests {
    use crate::import::{import, import_navigation};
    use crate::store::{assert_only_generation, keys, reopen, rewrite, stats, temp_config, Store};

    const DAY: i64 = 86_400_000;

    /// An exported navigation entry.
    fn entry(id: &str, token: &str, rid: Option<&str>, ts: i64, page: &str) -> String {
        let rid = rid.map(|r| format!(r#""rid":"{r}","#)).unwrap_or_default();
        format!(
            r#"{{"_id":"{id}",{rid}"ts":{{"$date":{ts}}},"navigation":{{"token":"{token}","page":{{"title":"T","change":"url","location":{{"href":"https://x.test/{page}"}}}}}}}}"#
        )
    }

    /// A store with visitors A (token `ta`) and B (`tb`) and four entries: two in A's new room
    /// R1, one room-less of B, one of a token no visitor has.
    fn store_with_history() -> (tempfile::TempDir, crate::config::StorageConfig, Store) {
        let (dir, config) = temp_config();
        let store = Store::open(&config, Vec::new()).unwrap();
        let visitors = [
            r#"{"_id":"A","token":"ta","username":"guest-1"}"#,
            r#"{"_id":"B","token":"tb","username":"guest-2"}"#,
        ]
        .join("\n");
        import(&store, visitors.as_bytes(), |_| {}).unwrap();
        let first = [
            entry("e1", "ta", Some("R1"), 10, "home"),
            entry("e2", "ta", Some("R1"), 20, "home"),
            entry("e3", "tb", None, 30, "shop"),
            entry("e4", "anon", None, DAY + 40, "home"),
        ]
        .join("\n");
        let summary = import_navigation(&store, first.as_bytes(), Some(DAY), |_| {}).unwrap();
        assert_eq!((summary.imported, summary.rejected.len()), (4, 0));
        (dir, config, store)
    }

    fn counter(store: &Store, tree: &str, key: &[u8]) -> Option<u64> {
        let trees = store.trees();
        let tree = trees.by_name(tree).unwrap();
        tree.get(key).unwrap().map(|v| keys::read_u64(&v).unwrap())
    }

    #[test]
    fn a_second_load_merges_with_the_history_rooms_and_counts_already_stored() {
        let (_dir, config, store) = store_with_history();
        let second = [
            entry("e1", "ta", Some("R1"), 10, "home"), // in the store already
            entry("e5", "ta", Some("R1"), 50, "home"), // into the stored room R1
            entry("e6", "tb", Some("R2"), DAY + 60, "home"), // creates R2 for B
            entry("e7", "anon2", None, 70, "home"),
            entry("e5", "ta", None, 80, "shop"), // its _id was loaded on line 2
        ]
        .join("\n");
        let summary = import_navigation(&store, second.as_bytes(), Some(DAY), |_| {}).unwrap();
        assert_eq!(summary.imported, 3);
        assert_eq!(
            summary.rejected,
            vec![
                (1, "entry _id e1 already exists".to_string()),
                (5, "entry _id e5 already exists".to_string())
            ]
        );
        let check = |store: &Store| {
            assert!(store.check().unwrap().problems.is_empty());
            assert_eq!(store.counts(), store.walked_counts());
            assert_eq!(store.counts().page_visits, 7);
            let r1 = store.room_by_id("R1").unwrap().unwrap();
            assert_eq!((r1.v.token.as_str(), r1.msgs), ("ta", 3));
            let r2 = store.room_by_id("R2").unwrap().unwrap();
            assert_eq!((r2.v.token.as_str(), r2.msgs, r2.open), ("tb", 1, false));
            let in_r1: Vec<_> = store
                .page_visits_of_room("R1")
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect();
            assert_eq!(in_r1, ["e1", "e2", "e5"]);
            let anon2 = store.page_visits_of_token("anon2").unwrap();
            assert_eq!(anon2[0].expire_at, Some(70 + DAY));
            // Day 0: e1, e2, e3 stored, e5 and e7 added; the home page of day 0: e1, e2, e5, e7.
            let day0 = stats::day_key(0, stats::VISITS);
            assert_eq!(counter(store, "day_count", &day0), Some(5));
            let home0 = stats::href_key(0, "https://x.test/home");
            assert_eq!(counter(store, "dayhref_count", &home0), Some(4));
            let home1 = stats::href_key(1, "https://x.test/home");
            assert_eq!(counter(store, "dayhref_count", &home1), Some(2));
        };
        check(&store);
        drop(store);
        check(&reopen(&config));
    }

    #[test]
    fn a_load_that_fails_leaves_the_store_as_it_was() {
        let (_dir, config, store) = store_with_history();
        // A stored counter the merge must add to is damaged: the rewrite fails part-way.
        let home0 = stats::href_key(0, "https://x.test/home");
        store
            .raw_write("dayhref_count", &home0, Some(b"\x01"))
            .unwrap();
        let before = rewrite::kept_rows(&store);
        let generation = store.generation();
        let more = [
            entry("e8", "ta", Some("R1"), 90, "home"),
            entry("e9", "tb", Some("R3"), 95, "blog"),
        ]
        .join("\n");
        let err = import_navigation(&store, more.as_bytes(), Some(DAY), |_| {}).unwrap_err();
        assert!(err.contains("dayhref_count"), "{err}");
        assert_eq!(rewrite::kept_rows(&store), before);
        assert_eq!(store.generation(), generation);
        assert_eq!(store.room_by_id("R1").unwrap().unwrap().msgs, 2);
        assert!(store.room_by_id("R3").unwrap().is_none());
        // Nothing left behind: no unfinished generation, no sorted rows.
        assert_only_generation(&config, generation);
    }
}
