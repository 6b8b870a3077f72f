//! Consistency check and repair: every derived index row is computed again from the records and
//! compared with what the trees hold, both ways (missing rows, stale rows, wrong values), plus
//! the invariants no index can express (one open room per visitor, references between records).
//! `visitord check` runs it on a stopped store; `--repair` rewrites the derived trees.

use super::keys;
use super::postings;
use super::{decode, decode_compact, Result, Store};
use crate::model::{Message, PageVisit, Room, Session, User, Visitor};
use std::collections::{BTreeMap, BTreeSet};

/// Rows a tree should hold: key → value.
type Rows = BTreeMap<Vec<u8>, Vec<u8>>;

/// The derived trees that describe visitors (the search index among them).
/// (`gram_postings` stands for the whole search index: its chunk counts in `gram_count` and
/// its pending rows in `gram_pending` are checked and rebuilt with it.)
const VISITOR_TREES: [&str; 3] = ["visitorkey_seqs", "visitortime_seq", "gram_postings"];

/// What a check found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Records read, per tree.
    pub records: BTreeMap<&'static str, usize>,
    /// Index rows compared, per tree.
    pub rows: BTreeMap<&'static str, usize>,
    /// Every disagreement, one line each.
    pub problems: Vec<String>,
}

/// Expected rows of every derived tree, and the record counts.
struct Expected {
    rows: BTreeMap<&'static str, Rows>,
    /// The search index: posting-list prefix → visitor seqs. Its chunk boundaries depend on the
    /// order of past writes, so it is compared by content, not row by row.
    postings: BTreeMap<Vec<u8>, BTreeSet<u64>>,
    records: BTreeMap<&'static str, usize>,
    problems: Vec<String>,
    visitor_count: u64,
}

impl Expected {
    fn put(&mut self, tree: &'static str, key: Vec<u8>, value: impl Into<Vec<u8>>) {
        self.rows.entry(tree).or_default().insert(key, value.into());
    }

    /// Hands every record of `tree` (named `name`), read by `decode`, with its key, to `each`,
    /// and counts them.
    fn each_record<T>(
        &mut self,
        tree: &sled::Tree,
        name: &'static str,
        decode: fn(&'static str, &[u8], &[u8]) -> Result<T>,
        mut each: impl FnMut(&mut Self, &[u8], T),
    ) -> Result<()> {
        let mut n = 0;
        for row in tree.iter() {
            let (key, value) = row?;
            each(self, &key, decode(name, &key, &value)?);
            n += 1;
        }
        self.records.insert(name, n);
        Ok(())
    }
}

impl Store {
    fn derived_tree(&self, name: &str) -> Option<sled::Tree> {
        self.trees().by_name(name).cloned()
    }

    /// Reads every record and derives the rows its indexes must hold.
    fn expected(&self) -> Result<Expected> {
        let t = self.trees();
        let fields = &self.inner.search_fields;
        let mut e = Expected {
            rows: BTreeMap::new(),
            postings: BTreeMap::new(),
            records: BTreeMap::new(),
            problems: Vec::new(),
            visitor_count: 0,
        };
        // visitor id → token, and the highest `guest-N` a visitor holds (with its id).
        let mut visitor_ids: BTreeMap<String, String> = BTreeMap::new();
        let mut tokens = BTreeSet::new();
        let mut top_guest: Option<(u64, String)> = None;
        let mut entries = Vec::new();
        for row in t.visitorseq_visitor.iter() {
            let (key, value) = row?;
            let v: Visitor = decode_compact("visitorseq_visitor", &key, &value)?;
            if key.as_ref() != v.seq.to_be_bytes() {
                e.problems.push(format!(
                    "visitorseq_visitor: key {key:?} holds visitor {} of seq {}",
                    v.id, v.seq
                ));
            }
            e.visitor_count += 1;
            if let Some(n) = crate::domain::rules::guest_number(&v.username) {
                if top_guest.as_ref().is_none_or(|(top, _)| n > *top) {
                    top_guest = Some((n, v.id.clone()));
                }
            }
            if visitor_ids.insert(v.id.clone(), v.token.clone()).is_some() {
                e.problems
                    .push(format!("two visitors have the _id {}", v.id));
            }
            if !tokens.insert(v.token.clone()) {
                e.problems
                    .push(format!("two visitors have one token (visitor {})", v.id));
            }
            let rows = super::visitor_rows::VisitorRows::of(&v, &self.inner.hasher);
            e.put("visitortime_seq", rows.time_key().to_vec(), Vec::new());
            entries.extend(rows.bucket_entries());
            for prefix in super::search::grams_of(&v, fields) {
                e.postings.entry(prefix).or_default().insert(v.seq);
            }
        }
        for (key, value) in super::buckets::rows(entries) {
            e.put("visitorkey_seqs", key, value);
        }
        e.records
            .insert("visitorseq_visitor", e.visitor_count as usize);
        if let Some((n, id)) = top_guest {
            let counter = self.guest_counter()?;
            if counter < n {
                e.problems.push(format!(
                    "meta.guest_counter is {counter}, below the issued guest-{n} (visitor {id})"
                ));
            }
        }

        // room id → its visitor's token (`v.token`).
        let mut rooms = BTreeMap::new();
        for row in t.roomid_room.iter() {
            let (key, value) = row?;
            let r: Room = decode("roomid_room", &key, &value)?;
            rooms.insert(r.id.clone(), r.v.token.clone());
            match visitor_ids.get(&r.v.id) {
                None => e
                    .problems
                    .push(format!("room {} belongs to no visitor ({})", r.id, r.v.id)),
                Some(token) if *token != r.v.token => e.problems.push(format!(
                    "room {}: v.token is not the token of its visitor {}",
                    r.id, r.v.id
                )),
                Some(_) => {}
            }
            e.put(
                "visitorid_roomtime",
                super::room_rows::visitor_room_key(&r),
                Vec::new(),
            );
            if r.open {
                let before = e
                    .rows
                    .get("visitorid_openroomid")
                    .and_then(|m| m.get(r.v.id.as_bytes()))
                    .cloned();
                if let Some(other) = before {
                    e.problems.push(format!(
                        "visitor {} has two open rooms: {} and {}",
                        r.v.id,
                        String::from_utf8_lossy(&other),
                        r.id
                    ));
                }
                e.put(
                    "visitorid_openroomid",
                    r.v.id.as_bytes().to_vec(),
                    r.id.as_bytes().to_vec(),
                );
            }
        }
        e.records.insert("roomid_room", rooms.len());

        e.each_record(
            &t.msgid_message,
            "msgid_message",
            decode,
            |e, _, m: Message| {
                if !rooms.contains_key(&m.rid) {
                    e.problems
                        .push(format!("message {} is in no room ({})", m.id, m.rid));
                }
                let key = super::room_rows::message_key(&m);
                e.put("roomid_msgtime_msgid", key, m.id.as_bytes().to_vec());
            },
        )?;

        let decode_visit = |_, key: &[u8], bytes: &[u8]| super::history::decode_record(key, bytes);
        e.each_record(&t.navkey_pagevisit, "navkey_pagevisit", decode_visit, |e, key, p: PageVisit| {
            if key != super::history::record_key(&p) {
                e.problems.push(format!(
                    "navigation entry {} is not stored under its key (time, then id)",
                    p.id
                ));
            }
            // An entry is in a room only when the room is its token's visitor's (`page.visited`
            // keeps any other `rid` room-less; a merge moves the token into rooms and history
            // alike; erasing a visitor erases its rooms' history).
            if let Some(rid) = &p.rid {
                match rooms.get(rid) {
                    None => e
                        .problems
                        .push(format!("navigation entry {} is in no room ({rid})", p.id)),
                    Some(token) if *token != p.token => e.problems.push(format!(
                        "navigation entry {} is in room {rid} of another visitor",
                        p.id
                    )),
                    Some(_) => {}
                }
            }
            // A room-less entry that never expires is not legitimate when no visitor has its
            // token: only a registered token's entries lack an expiry, and erasing the visitor
            // erases them.
            if p.rid.is_none()
                && p.expire_at.is_none()
                && !tokens.contains(&p.token)
                && self.roomless_expiry()
            {
                e.problems.push(format!(
                    "navigation entry {} outlived its visitor (no visitor has its token, and it never expires)",
                    p.id
                ));
            }
            for (which, row) in super::history::rows(&p) {
                e.put(which.tree_name(), row, super::history::record_key(&p));
            }
        })?;
        let (days, hrefs) = super::stats::count_records(&t)?;
        for (tree, rows) in [("day_count", days), ("dayhref_count", hrefs)] {
            for (key, count) in rows {
                e.put(tree, key, super::keys::u64_value(count).to_vec());
            }
        }

        let mut users = BTreeSet::new();
        for row in t.userid_user.iter() {
            let (key, value) = row?;
            let u: User = decode("userid_user", &key, &value)?;
            users.insert(u.id.clone());
            e.put(
                "username_userid",
                keys::username_key(&u.username),
                u.id.as_bytes().to_vec(),
            );
        }
        e.records.insert("userid_user", users.len());

        e.each_record(
            &t.tokenhash_session,
            "tokenhash_session",
            decode,
            |e, hash, s: Session| {
                if !users.contains(&s.user_id) {
                    e.problems
                        .push(format!("a session belongs to no user ({})", s.user_id));
                }
                e.put(
                    "userid_tokenhash",
                    keys::session_row(&s.user_id, hash),
                    Vec::new(),
                );
            },
        )?;
        Ok(e)
    }

    /// Compares the search index with the postings the records call for: every chunk decodes,
    /// is keyed by its first seq, holds at most `CHUNK_MAX` seqs and only seqs below the next
    /// chunk's key (searches skip chunks by their keys), no pending seq is on a list,
    /// and every list (chunks and pending rows together) holds exactly the seqs of the visitors
    /// that have its trigram.
    fn compare_postings(
        &self,
        want: &BTreeMap<Vec<u8>, BTreeSet<u64>>,
        report: &mut Report,
    ) -> Result<()> {
        let name = "gram_postings";
        let mut have: BTreeMap<Vec<u8>, BTreeSet<u64>> = BTreeMap::new();
        let mut chunks_of: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut chunks = 0;
        // The list and the last seq of the chunk before.
        let mut before: Option<(Vec<u8>, u64)> = None;
        for row in self.trees().gram_postings.iter() {
            let (key, value) = row?;
            chunks += 1;
            let (Some(prefix), Some(seqs)) = (keys::prefix_of(&key), postings::decode(&value))
            else {
                report
                    .problems
                    .push(format!("{name}: unreadable chunk {key:?}"));
                continue;
            };
            if seqs.first().map(|s| keys::chunk_key(prefix, *s)) != Some(key.to_vec())
                || seqs.len() > postings::CHUNK_MAX
            {
                report
                    .problems
                    .push(format!("{name}: malformed chunk {key:?}"));
            }
            if let (Some((list, last)), Some(first)) = (&before, seqs.first()) {
                if list.as_slice() == prefix && first <= last {
                    report.problems.push(format!(
                        "{name}: chunk {key:?} overlaps the chunk before it"
                    ));
                }
            }
            if let Some(last) = seqs.last() {
                before = Some((prefix.to_vec(), *last));
            }
            *chunks_of.entry(prefix.to_vec()).or_insert(0u64) += 1;
            let list = have.entry(prefix.to_vec()).or_default();
            for s in seqs {
                if !list.insert(s) {
                    report
                        .problems
                        .push(format!("{name}: seq {s} twice under {prefix:?}"));
                }
            }
        }
        report.rows.insert(name, chunks);
        // The pending rows (see [`super::pending`]): each seq on no posting list, its trigrams
        // counted with the lists', and the mirror in memory holding exactly them.
        let merged: BTreeSet<u64> = have.values().flatten().copied().collect();
        let mut mirror = super::pending::Mirror::default();
        let mut pending = 0;
        for row in self.trees().gram_pending.iter() {
            let (key, value) = row?;
            pending += 1;
            let (Some(seq), Some(grams)) =
                (super::pending::seq_of(&key), super::pending::decode(&value))
            else {
                report
                    .problems
                    .push(format!("gram_pending: unreadable row {key:?}"));
                continue;
            };
            if merged.contains(&seq) {
                report.problems.push(format!(
                    "gram_pending: seq {seq} is pending and on the posting lists too"
                ));
            }
            for g in &grams {
                have.entry(g.clone()).or_default().insert(seq);
            }
            mirror.insert(seq, &grams);
        }
        report.rows.insert("gram_pending", pending);
        if *self.mirror() != mirror {
            report
                .problems
                .push("gram_pending: the pending rows in memory differ from the tree".to_string());
        }
        // Each list's chunk count (`gram_count`) against the chunks it has.
        let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for row in self.trees().gram_count.iter() {
            let (prefix, value) = row?;
            match keys::read_u64(&value) {
                Some(n) => {
                    counts.insert(prefix.to_vec(), n);
                }
                None => report
                    .problems
                    .push(format!("gram_count: unreadable count under {prefix:?}")),
            }
        }
        report.rows.insert("gram_count", counts.len());
        for prefix in chunks_of
            .keys()
            .chain(counts.keys())
            .collect::<BTreeSet<_>>()
        {
            let (stored, actual) = (counts.get(prefix), chunks_of.get(prefix));
            if stored != actual {
                report.problems.push(format!(
                    "gram_count: {prefix:?} counts {stored:?} chunks, the list has {actual:?}"
                ));
            }
        }
        let empty = BTreeSet::new();
        for prefix in want.keys().chain(have.keys()).collect::<BTreeSet<_>>() {
            let (w, h) = (
                want.get(prefix).unwrap_or(&empty),
                have.get(prefix).unwrap_or(&empty),
            );
            for s in w.difference(h) {
                report
                    .problems
                    .push(format!("{name}: missing seq {s} under {prefix:?}"));
            }
            for s in h.difference(w) {
                report
                    .problems
                    .push(format!("{name}: stale seq {s} under {prefix:?}"));
            }
        }
        Ok(())
    }

    /// Compares one derived tree with its expected rows.
    fn compare(&self, name: &'static str, want: &Rows, report: &mut Report) -> Result<()> {
        let Some(tree) = self.derived_tree(name) else {
            return Ok(());
        };
        let mut have = Rows::new();
        for row in tree.iter() {
            let (k, v) = row?;
            have.insert(k.to_vec(), v.to_vec());
        }
        report.rows.insert(name, have.len());
        for (k, v) in want {
            match have.get(k) {
                None => report.problems.push(format!("{name}: missing row {k:?}")),
                Some(got) if got != v => report
                    .problems
                    .push(format!("{name}: row {k:?} holds {got:?}, expected {v:?}")),
                Some(_) => {}
            }
        }
        for k in have.keys().filter(|k| !want.contains_key(*k)) {
            report.problems.push(format!("{name}: stale row {k:?}"));
        }
        Ok(())
    }

    fn check_trees(&self, names: &[&'static str]) -> Result<Report> {
        let expected = self.expected()?;
        let mut report = Report {
            records: expected.records.clone(),
            problems: expected.problems.clone(),
            ..Default::default()
        };
        let empty = Rows::new();
        for name in names {
            if *name == "gram_postings" {
                self.compare_postings(&expected.postings, &mut report)?;
                continue;
            }
            let want = expected.rows.get(name).unwrap_or(&empty);
            self.compare(name, want, &mut report)?;
        }
        let stored = self.visitor_count()?;
        if stored != expected.visitor_count {
            report.problems.push(format!(
                "meta.visitor_count is {stored}, but there are {} visitors",
                expected.visitor_count
            ));
        }
        Ok(report)
    }

    /// Every disagreement between visitor records and their indexes (token, email, phone,
    /// creation time, seq, search grams, visitor count). Empty means consistent.
    pub fn verify_visitor_indexes(&self) -> Result<Vec<String>> {
        Ok(self.check_trees(&VISITOR_TREES)?.problems)
    }

    /// Checks every derived index of the store against the records.
    pub fn check(&self) -> Result<Report> {
        self.check_trees(&super::trees::derived().collect::<Vec<_>>())
    }

    /// Rewrites every derived tree (and the visitor count) from the records, then checks again.
    /// Problems that no index rewrite can fix (e.g. a room of a missing visitor) remain.
    pub fn repair(&self) -> Result<Report> {
        let _writer = self.lock();
        let expected = self.expected()?;
        let empty = Rows::new();
        for name in super::trees::derived() {
            let Some(tree) = self.derived_tree(name) else {
                continue;
            };
            tree.clear()?;
            let mut batch = sled::Batch::default();
            for (k, v) in expected.rows.get(name).unwrap_or(&empty) {
                batch.insert(k.as_slice(), v.as_slice());
            }
            tree.apply_batch(batch)?;
            if name == "gram_postings" {
                self.trees().gram_count.clear()?;
                self.trees().gram_pending.clear()?;
                postings::apply_batch(self, postings::full_lists(&expected.postings))?;
                self.load_pending()?;
            }
        }
        self.trees().meta.insert(
            keys::meta::VISITOR_COUNT,
            &keys::u64_value(expected.visitor_count),
        )?;
        self.engine().db.flush()?;
        drop(_writer);
        self.check()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::PageVisitInput;
    use crate::domain::Registration;
    use crate::model::RoomSource;

    #[test]
    fn check_finds_and_repair_fixes_index_damage() {
        let (_dir, s) = crate::store::temp_store(&[]);
        let reg = Registration {
            token: "tok".into(),
            email: Some("a@b.c".into()),
            phone: Some("+1 555 0100".into()),
            name: Some("Ana".into()),
            ..Default::default()
        };
        s.register_visitor(&reg, 1).unwrap();
        let (room, _) = s.open_room("tok", None, RoomSource::Api, 2).unwrap();
        s.add_message("tok", &room.id, "hi", None, 3).unwrap();
        let visit = PageVisitInput::url_change("tok", Some(&room.id), "t", "h");
        s.record_page_visit(&visit, 4, None).unwrap();
        assert!(s.check().unwrap().problems.is_empty());
        // The new visitor's pending row into the chunks, whose counts are damaged below.
        s.merge_all_pending().unwrap();

        let t = s.trees();
        t.visitortime_seq.clear().unwrap();
        t.gram_count.clear().unwrap();
        t.visitorkey_seqs.insert(b"ghost", &b"nobody"[..]).unwrap();
        t.visitorid_openroomid.clear().unwrap();
        t.token_navtime_navkey.clear().unwrap();
        let report = s.check().unwrap();
        let text = report.problems.join("\n");
        assert!(text.contains("visitortime_seq: missing row"), "{text}");
        assert!(text.contains("visitorkey_seqs: stale row"), "{text}");
        assert!(text.contains("gram_count: "), "{text}");
        assert!(text.contains("visitorid_openroomid: missing row"), "{text}");
        assert!(text.contains("token_navtime_navkey: missing row"), "{text}");

        let repaired = s.repair().unwrap();
        assert!(repaired.problems.is_empty(), "{:?}", repaired.problems);
        assert_eq!(s.visitor_by_email("a@b.c").unwrap().unwrap().token, "tok");
    }

    use crate::model::{Message, Room};
    use crate::store::{keys, Store};

    /// A store with visitor `tok` (guest-1), its open room, a message in it and a page visit
    /// of the room: consistent.
    fn populated() -> (tempfile::TempDir, Store, Room) {
        let (dir, s) = crate::store::temp_store(&[]);
        let reg = Registration::of_token("tok").named("Ana");
        s.register_visitor(&reg, 1).unwrap();
        let (room, _) = s.open_room("tok", None, RoomSource::Api, 2).unwrap();
        s.add_message("tok", &room.id, "hi", Some("m1"), 3).unwrap();
        let visit = PageVisitInput::url_change("tok", Some(&room.id), "t", "h");
        s.record_page_visit(&visit, 4, None).unwrap();
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
        (dir, s, room)
    }

    fn put<T: serde::Serialize>(s: &Store, tree: &str, key: &[u8], record: &T) {
        let bytes = Store::raw_record(record).unwrap();
        s.raw_write(tree, key, Some(&bytes)).unwrap();
    }

    /// Stores `entry` under `key` in `navkey_pagevisit`, bypassing every index.
    fn put_visit(s: &Store, key: &[u8], entry: &crate::model::PageVisit) {
        let bytes = Store::raw_visit_record(entry).unwrap();
        s.raw_write("navkey_pagevisit", key, Some(&bytes)).unwrap();
    }

    /// `check` reports exactly the line `line` (among what else the damage causes).
    fn reports(s: &Store, line: &str) {
        let problems = s.check().unwrap().problems;
        assert!(
            problems.iter().any(|p| p == line),
            "check did not report {line:?}: {problems:#?}"
        );
    }

    #[test]
    fn a_chunk_holding_seqs_past_the_next_chunks_key_is_reported() {
        let (_dir, s) = crate::store::temp_store(&[]);
        let prefix = keys::posting_prefix(b't', "ana");
        let first = keys::chunk_key(&prefix, 1);
        let second = keys::chunk_key(&prefix, 5);
        let t = s.trees();
        t.gram_postings
            .insert(&first, crate::store::postings::encode(&[1, 6]))
            .unwrap();
        t.gram_postings
            .insert(&second, crate::store::postings::encode(&[5, 9]))
            .unwrap();
        reports(
            &s,
            &format!(
                "gram_postings: chunk {:?} overlaps the chunk before it",
                sled::IVec::from(second)
            ),
        );
        // Chunks in order are not reported.
        t.gram_postings
            .insert(&first, crate::store::postings::encode(&[1, 4]))
            .unwrap();
        let problems = s.check().unwrap().problems;
        assert!(
            !problems.iter().any(|p| p.contains("overlaps")),
            "{problems:#?}"
        );
        // The index is rebuilt from the records (none here: the lists go).
        t.gram_postings
            .insert(&first, crate::store::postings::encode(&[1, 6]))
            .unwrap();
        assert_eq!(s.repair().unwrap().problems, Vec::<String>::new());
        assert_eq!(t.gram_postings.len(), 0);
    }

    #[test]
    fn two_open_rooms_of_one_visitor_are_reported() {
        let (_dir, s, room) = populated();
        let mut second = room.clone();
        // Ids sort after any generated one ('z' is the highest id character).
        second.id = "zzz-second".into();
        put(&s, "roomid_room", b"zzz-second", &second);
        reports(
            &s,
            &format!(
                "visitor {} has two open rooms: {} and zzz-second",
                room.v.id, room.id
            ),
        );
    }

    #[test]
    fn a_room_of_no_visitor_is_reported() {
        let (_dir, s, room) = populated();
        let mut orphan = room.clone();
        orphan.id = "orphan-room".into();
        orphan.open = false;
        orphan.v.id = "nobody".into();
        put(&s, "roomid_room", b"orphan-room", &orphan);
        reports(&s, "room orphan-room belongs to no visitor (nobody)");
    }

    #[test]
    fn a_message_in_no_room_is_reported() {
        let (_dir, s, room) = populated();
        let mut msg: Message = s.messages_of_room(&room.id).unwrap().remove(0);
        msg.id = "stray".into();
        msg.rid = "gone-room".into();
        put(&s, "msgid_message", b"stray", &msg);
        reports(&s, "message stray is in no room (gone-room)");
    }

    #[test]
    fn history_left_from_an_erased_visitor_is_reported() {
        let (_dir, s, room) = populated();
        // Room-less history of the registered token (no expiry), then the visitor is erased,
        // and one of its entries is put back as if the delete had missed it.
        let input = PageVisitInput::url_change("tok", None, "t", "h2");
        let left = s.record_page_visit(&input, 5, Some(1_000)).unwrap();
        assert_eq!(
            left.expire_at, None,
            "a registered token's entry does not expire"
        );
        s.close_room("tok", &room.id, 6).unwrap();
        s.delete_visitor("tok", false).unwrap();
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
        let key = crate::store::history::record_key(&left);
        put_visit(&s, &key, &left);
        let line = format!(
            "navigation entry {} outlived its visitor (no visitor has its token, and it never expires)",
            left.id
        );
        reports(&s, &line);
        // Without a room-less TTL, such entries are legitimate history of unknown tokens.
        s.set_roomless_expiry(false);
        assert!(!s.check().unwrap().problems.contains(&line));
        // Room-less entries of unregistered tokens that expire are not reported either.
        s.set_roomless_expiry(true);
        let anon = PageVisitInput {
            token: "anon".into(),
            ..input
        };
        let anon = s.record_page_visit(&anon, 7, Some(1_000)).unwrap();
        assert!(anon.expire_at.is_some());
        let problems = s.check().unwrap().problems;
        assert!(problems.contains(&line));
        assert!(
            !problems.iter().any(|p| p.contains(&anon.id)),
            "{problems:#?}"
        );
    }

    #[test]
    fn an_entry_stored_under_another_key_is_reported() {
        let (_dir, s, room) = populated();
        let input = PageVisitInput::url_change("tok", Some(&room.id), "t", "h3");
        let entry = s.record_page_visit(&input, 5, None).unwrap();
        let key = crate::store::history::record_key(&entry);
        s.raw_write("navkey_pagevisit", &key, None).unwrap();
        put_visit(&s, entry.id.as_bytes(), &entry);
        reports(
            &s,
            &format!(
                "navigation entry {} is not stored under its key (time, then id)",
                entry.id
            ),
        );
    }

    #[test]
    fn a_guest_counter_below_an_issued_guest_number_is_reported() {
        let (_dir, s, _room) = populated();
        let v = s.visitor_by_token("tok").unwrap().unwrap();
        assert_eq!(v.username, "guest-1");
        s.raw_write("meta", keys::meta::GUEST_COUNTER, Some(&keys::u64_value(0)))
            .unwrap();
        reports(
            &s,
            &format!(
                "meta.guest_counter is 0, below the issued guest-1 (visitor {})",
                v.id
            ),
        );
    }

    #[test]
    fn a_client_named_guest_number_moves_the_counter_past_it() {
        let (_dir, s) = crate::store::temp_store(&[]);
        let reg = Registration {
            username: Some("guest-7".into()),
            ..Registration::of_token("named")
        };
        s.register_visitor(&reg, 1).unwrap();
        assert_eq!(s.guest_counter().unwrap(), 7);
        let next = s
            .register_visitor(&Registration::of_token("next"), 2)
            .unwrap();
        assert_eq!(next.username, "guest-8");
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
    }

    #[test]
    fn a_room_whose_token_is_not_its_visitors_is_reported() {
        let (_dir, s, room) = populated();
        let mut wrong = room.clone();
        wrong.v.token = "someone-else".into();
        put(&s, "roomid_room", room.id.as_bytes(), &wrong);
        reports(
            &s,
            &format!(
                "room {}: v.token is not the token of its visitor {}",
                room.id, room.v.id
            ),
        );
    }

    #[test]
    fn rooms_follow_a_visitor_that_takes_a_new_token() {
        let (_dir, s) = crate::store::temp_store(&[]);
        let reg = |token: &str| Registration {
            token: token.into(),
            email: Some("same@example.com".into()),
            merge: crate::domain::MergePolicy::rocketchat(),
            ..Default::default()
        };
        s.register_visitor(&reg("old"), 1).unwrap();
        let (closed, _) = s.open_room("old", None, RoomSource::Api, 2).unwrap();
        s.close_room("old", &closed.id, 3).unwrap();
        let (open, _) = s.open_room("old", None, RoomSource::Api, 4).unwrap();
        let v = s.register_visitor(&reg("new"), 5).unwrap();
        assert_eq!(v.token, "new");
        for rid in [&closed.id, &open.id] {
            assert_eq!(s.room_by_id(rid).unwrap().unwrap().v.token, "new");
        }
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
    }
}
