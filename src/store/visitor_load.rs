//! Loading visitors in bulk (`visitord import --rocketchat`), the way the navigation history is
//! loaded ([`super::navigation_load`]): every row of every visitor is handed to the sorters
//! ([`super::runs`]), and a rewrite then writes each tree in one ordered pass with the sorted
//! rows merged in ([`Store::rewrite_merging`]).
//!
//! Written in transactions of 50,000 visitors, an import spent its time planning and rewriting
//! posting chunks and buckets that the next batch rewrote again, and reading leaves all over
//! the store for them: 1M visitors took 66.7 s (`perf`: posting edits 25 % of the samples, the
//! transactions' commits 23 %, bucket reads and writes 16 %; `docs/benchmarks.md`).
//!
//! Rows per visitor: its record (`visitorseq_visitor`), creation-time row (`visitortime_seq`),
//! bucket entries (`visitorkey_seqs`, united with the stored buckets), and its seq on the
//! posting list of each of its trigrams. Seqs are handed out in file order, above every stored
//! one, so each list only grows at its end: its seqs are gathered in memory per list into
//! chunks of [`postings::CHUNK_MAX`], starting with the stored last chunk when it has room (the
//! chunk is replaced, keeping its key), and each full chunk goes to the sorter; `gram_count`
//! gets the number of chunks added per list, `day_count` the visitors per day, and `meta`'s
//! visitor count and guest counter are set in the same switch.
//!
//! The `_id` and token checks run on the loading thread; the rows are built and sorted on a
//! thread of their own ([`super::sort_thread`]), as the navigation load's are.
//!
//! The only reads are of the store as it was before the load (is the `_id` or the token taken,
//! the last chunk of a list), so nothing is written until the rewrite, which switches the store
//! to the loaded copy atomically: a crash or an error before it leaves the store as it was.

use super::buckets::{self, Hasher};
use super::runs::{Additions, Merge, Row, Sorting};
use super::sort_thread::{RowMaker, SortThread};
use super::visitor_rows::VisitorRows;
use super::{keys, postings, search, stats, Result, Store};
use crate::model::Visitor;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::MutexGuard;

/// A visitor load in progress: the store's writer lock is held until it is finished or
/// dropped (its reads are the store's state before the load).
pub struct VisitorLoad<'s> {
    store: &'s Store,
    _writer: MutexGuard<'s, ()>,
    /// Builds and sorts the rows of the visitors added (see [`VisitorRowMaker`]).
    rows: SortThread<VisitorRowMaker>,
    /// 128-bit hashes of the `_id`s and tokens of the lines read so far (see
    /// [`VisitorLoad::add`]; two distinct values share a hash with a probability of about
    /// n² / 2¹²⁹).
    ids: HashSet<u128>,
    tokens: HashSet<u128>,
    /// Visitors added.
    added: u64,
}

/// The rows of the visitors a load adds, built on its sorting thread (see the module header).
struct VisitorRowMaker {
    /// The store's `gram_postings` as before the load (the lists' stored last chunks).
    postings: sled::Tree,
    hasher: Hasher,
    search_fields: Vec<String>,
    /// Posting-list prefix → its open chunk (the seqs not yet handed to the sorter).
    lists: HashMap<Vec<u8>, OpenChunk>,
    /// `day_count` key → visitors added that day.
    days: HashMap<[u8; 5], u64>,
}

/// The end of one posting list as the load leaves it.
struct OpenChunk {
    /// The seqs of its last chunk, ascending (the stored chunk's first, when it had room).
    seqs: Vec<u64>,
    /// Whether `seqs` started as the stored last chunk (then its row replaces that chunk and
    /// adds none to the count).
    stored: bool,
    /// Chunks the load added to the list so far.
    added: u64,
}

impl Store {
    /// Starts a bulk load of visitors (see the module header).
    pub fn visitor_load(&self) -> Result<VisitorLoad<'_>> {
        let writer = self.lock();
        let maker = VisitorRowMaker {
            postings: self.trees().gram_postings.clone(),
            hasher: self.inner.hasher.clone(),
            search_fields: self.inner.search_fields.clone(),
            lists: HashMap::new(),
            days: HashMap::new(),
        };
        Ok(VisitorLoad {
            store: self,
            _writer: writer,
            rows: SortThread::spawn(Sorting::new(&self.inner.data_dir)?, maker)?,
            ids: HashSet::new(),
            tokens: HashSet::new(),
            added: 0,
        })
    }
}

impl VisitorLoad<'_> {
    /// Adds a visitor (its `seq` is set here), unless its `_id` is taken (by a stored visitor
    /// or an earlier line) or, else, its token is: then returns why, as a one-by-one import
    /// does.
    pub fn add(&mut self, mut visitor: Visitor) -> Result<Option<String>> {
        let store = self.store;
        let hash = |s: &str| xxhash_rust::xxh3::xxh3_128(s.as_bytes());
        if !self.ids.insert(hash(&visitor.id)) || store.visitor_by_id(&visitor.id)?.is_some() {
            return Ok(Some(format!("visitor _id {} already exists", visitor.id)));
        }
        if !self.tokens.insert(hash(&visitor.token))
            || store.visitor_by_token(&visitor.token)?.is_some()
        {
            return Ok(Some("token already belongs to another visitor".to_string()));
        }
        visitor.seq = store.next_seq()?;
        self.rows.push(visitor)?;
        self.added += 1;
        Ok(None)
    }

    /// The sorted rows of everything added, for [`Store::rewrite_merging`]; `guest_floor`: the
    /// guest counter is raised to at least this (the highest imported `guest-N`).
    pub fn finish(self, guest_floor: u64) -> Result<Additions> {
        let store = self.store;
        let mut sorting = self.rows.finish()?;
        let meta = &store.trees().meta;
        let count = super::read_u64_or_zero(meta, "meta", keys::meta::VISITOR_COUNT)?;
        let count = keys::u64_value(count.saturating_add(self.added)).to_vec();
        sorting.set_meta(keys::meta::VISITOR_COUNT, count);
        if guest_floor > store.guest_counter()? {
            let floor = keys::u64_value(guest_floor).to_vec();
            sorting.set_meta(keys::meta::GUEST_COUNTER, floor);
        }
        sorting.done()
    }
}

impl VisitorRowMaker {
    /// Appends `seq` (above every seq on the list) to the list under `prefix`.
    fn add_posting(&mut self, prefix: Vec<u8>, seq: u64, sorting: &mut Sorting) -> Result<()> {
        let open = match self.lists.get_mut(&prefix) {
            Some(open) => open,
            None => {
                let stored = postings::last_chunk(&self.postings, &prefix)?
                    .filter(|seqs| seqs.len() < postings::CHUNK_MAX);
                let open = OpenChunk {
                    stored: stored.is_some(),
                    seqs: stored.unwrap_or_default(),
                    added: 0,
                };
                self.lists.entry(prefix.clone()).or_insert(open)
            }
        };
        open.seqs.push(seq);
        if open.seqs.len() == postings::CHUNK_MAX {
            let row = chunk_row(&prefix, open);
            sorting.push("gram_postings", Merge::Replace, row)?;
        }
        Ok(())
    }
}

impl RowMaker for VisitorRowMaker {
    type Entry = Visitor;

    /// The visitor's record, creation-time row, bucket entries and postings.
    fn add(&mut self, v: Visitor, sorting: &mut Sorting) -> Result<()> {
        let rows = VisitorRows::of(&v, &self.hasher);
        for (slot, seq) in rows.bucket_entries() {
            let row = Row {
                key: slot.bucket.to_vec(),
                value: buckets::entry(slot.tag, seq).to_vec(),
            };
            sorting.push("visitorkey_seqs", Merge::Union, row)?;
        }
        let row = Row {
            key: rows.time_key().to_vec(),
            value: Vec::new(),
        };
        sorting.push("visitortime_seq", Merge::Replace, row)?;
        let row = Row {
            key: v.seq.to_be_bytes().to_vec(),
            value: super::encode_compact(&v)?,
        };
        sorting.push("visitorseq_visitor", Merge::Replace, row)?;
        for prefix in search::grams_of(&v, &self.search_fields) {
            self.add_posting(prefix, v.seq, sorting)?;
        }
        let day = stats::day_key(stats::day_of(v.ts), stats::VISITORS);
        *self.days.entry(day).or_insert(0) += 1;
        Ok(())
    }

    /// Every list's open chunk, the chunks added per list and the visitors per day.
    fn finish(mut self, sorting: &mut Sorting) -> Result<()> {
        for (prefix, mut open) in std::mem::take(&mut self.lists) {
            if !open.seqs.is_empty() {
                let row = chunk_row(&prefix, &mut open);
                sorting.push("gram_postings", Merge::Replace, row)?;
            }
            if open.added > 0 {
                let row = Row {
                    key: prefix,
                    value: keys::u64_value(open.added).to_vec(),
                };
                sorting.push("gram_count", Merge::Add, row)?;
            }
        }
        for (day, count) in std::mem::take(&mut self.days) {
            let row = Row {
                key: day.to_vec(),
                value: keys::u64_value(count).to_vec(),
            };
            sorting.push("day_count", Merge::Add, row)?;
        }
        Ok(())
    }
}

/// The row of a list's open chunk, which is then empty and new.
fn chunk_row(prefix: &[u8], open: &mut OpenChunk) -> Row {
    let seqs = std::mem::take(&mut open.seqs);
    if !std::mem::replace(&mut open.stored, false) {
        open.added += 1;
    }
    Row {
        key: keys::chunk_key(prefix, seqs[0]),
        value: postings::encode(&seqs),
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{ImportItem, SearchQuery};
    use crate::import::{import, parse_line};
    use crate::store::{
        assert_only_generation, keys, postings, reopen, rewrite, temp_config, SnapshotRow, Store,
    };
    use std::collections::BTreeSet;
    use std::path::Path;

    /// An exported visitor line, created on a day that depends on its token's length and
    /// last character.
    fn line(id: &str, token: &str, username: &str, name: &str, email: Option<&str>) -> String {
        let email = email
            .map(|e| format!(r#","visitorEmails":[{{"address":"{e}"}}]"#))
            .unwrap_or_default();
        let day = token.len() as i64 * 7 + i64::from(token.as_bytes()[token.len() - 1] % 5);
        let ts = 1_700_000_000_000 + day * 86_400_000;
        format!(
            r#"{{"_id":"{id}","token":"{token}","username":"{username}","name":"{name}","ts":{{"$date":{ts}}},"phone":[{{"phoneNumber":"+1 555 {id:0>4}"}}]{email}}}"#
        )
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    /// A store's rows (but its posting chunks) and its posting lists (prefix → seqs).
    type Contents = (Vec<SnapshotRow>, Vec<(Vec<u8>, Vec<u64>)>);

    /// Every row but the posting chunks (cut differently by the two paths) and the `meta`
    /// keys a rewrite sets itself; and every posting list, decoded.
    fn contents(s: &Store) -> Contents {
        let rows = rewrite::kept_rows(s);
        let prefixes: BTreeSet<Vec<u8>> = rows
            .iter()
            .filter(|(tree, _, _)| tree == "gram_postings")
            .map(|(_, key, _)| keys::prefix_of(key).unwrap().to_vec())
            .collect();
        let lists = prefixes
            .into_iter()
            .map(|p| {
                let seqs = s.posting_list(&p).unwrap();
                (p, seqs)
            })
            .collect();
        let rows = rows
            .into_iter()
            .filter(|(tree, _, _)| tree != "gram_postings" && tree != "gram_count")
            .collect();
        (rows, lists)
    }

    /// Panics at the first row (or list) that differs, naming it.
    fn same((rows, lists): Contents, (twin_rows, twin_lists): Contents) {
        for (a, b) in rows.iter().zip(&twin_rows) {
            assert_eq!(a, b, "first row that differs");
        }
        assert_eq!(rows.len(), twin_rows.len());
        for (a, b) in lists.iter().zip(&twin_lists) {
            assert_eq!(a, b, "first posting list that differs");
        }
        assert_eq!(lists.len(), twin_lists.len());
    }

    #[test]
    fn a_load_writes_what_one_by_one_imports_write_and_keeps_lists_full() {
        let (dir, config) = temp_config();
        // 50 stored visitors named "Visitor": the list of each trigram of the name ends in a
        // chunk with room, which the load fills.
        let store = Store::open(&config, Vec::new()).unwrap();
        let stored: Vec<String> = (0..50)
            .map(|i| {
                line(
                    &format!("S{i}"),
                    &format!("st{i}"),
                    &format!("guest-{i}"),
                    "Visitor",
                    None,
                )
            })
            .collect();
        import(&store, stored.join("\n").as_bytes(), |_| {}).unwrap();
        drop(store);
        let twin = dir.path().join("twin");
        copy_dir(&config.data_dir, &twin);
        let twin_config = crate::config::StorageConfig {
            data_dir: twin,
            ..config.clone()
        };
        let mut lines: Vec<String> = (0..300)
            .map(|i| {
                let email = (i % 7 == 0).then(|| format!("v{}@example.test", i % 3));
                line(
                    &format!("N{i}"),
                    &format!("nt{i}"),
                    &format!("guest-{}", 60 + i),
                    "Visitor",
                    email.as_deref(),
                )
            })
            .collect();
        lines.push(line("S3", "fresh-token", "x", "Visitor", None)); // a stored _id
        lines.push(line("N500", "st4", "y", "Visitor", None)); // a stored token
        lines.push(line("N7", "other", "z", "Visitor", None)); // an _id of line 8
        lines.push(line("N501", "nt9", "w", "Visitor", None)); // a token of line 10
        lines.push(line(
            "N502",
            "nt502",
            "guest-900",
            "Zoë Ünïcode",
            Some("zoe@example.test"),
        ));
        let input = lines.join("\n");

        let store = reopen(&config);
        let summary = import(&store, input.as_bytes(), |_| {}).unwrap();

        // The same lines, one transaction as imports wrote them before.
        let twin_store = reopen(&twin_config);
        let now = crate::time::now_ms();
        let items: Vec<ImportItem> = lines
            .iter()
            .map(|l| ImportItem {
                visitor: parse_line(l, now).unwrap(),
                rooms: vec![],
                messages: vec![],
                visits: vec![],
            })
            .collect();
        let verdicts = twin_store.import_batch(items).unwrap();
        twin_store.raise_guest_counter(900).unwrap();
        let rejected: Vec<(u64, String)> = verdicts
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|reason| (i as u64 + 1, reason)))
            .collect();
        assert_eq!(summary.rejected, rejected);
        assert_eq!(
            rejected.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
            [301, 302, 303, 304]
        );
        assert_eq!(summary.imported, 301);
        assert_eq!(summary.guest_counter, 900);

        let check = |s: &Store| {
            assert!(s.check().unwrap().problems.is_empty());
            assert_eq!(s.counts(), s.walked_counts());
            assert_eq!(s.counts().visitors, 351);
            same(contents(s), contents(&twin_store));
            // The list of "vis" is full chunks but its last: the stored chunk of 50 was
            // filled (and kept its key), then 128 more and the rest: 50 + 300.
            let prefix = b"tvis\xFF";
            let sizes: Vec<usize> = s
                .trees()
                .gram_postings
                .scan_prefix(prefix)
                .map(|row| postings::decode(&row.unwrap().1).unwrap().len())
                .collect();
            assert_eq!(sizes, [128, 128, 94]);
            let found = s
                .search_visitors(&SearchQuery {
                    term: "zoe@example".into(),
                    sort: vec![],
                    offset: 0,
                    count: Some(10),
                })
                .unwrap();
            assert_eq!(found.total, 1);
            assert_eq!(found.visitors[0].id, "N502");
        };
        check(&store);
        drop(store);
        check(&reopen(&config));
        // Nothing left behind: no sorted rows, one generation.
        let left: Vec<String> = std::fs::read_dir(&config.data_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("import-sort-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_load_that_fails_leaves_the_store_as_it_was() {
        let (dir, config) = temp_config();
        let store = Store::open(&config, Vec::new()).unwrap();
        let stored = line("A", "ta", "guest-1", "Ana", Some("ana@example.test"));
        import(&store, stored.as_bytes(), |_| {}).unwrap();
        // Every stored bucket is damaged (not a whole number of entries): the merge of the
        // loaded bucket entries with them fails part-way through the rewrite.
        let buckets: Vec<Vec<u8>> = rewrite::kept_rows(&store)
            .into_iter()
            .filter(|(tree, _, _)| tree == "visitorkey_seqs")
            .map(|(_, key, _)| key)
            .collect();
        for key in &buckets {
            store
                .raw_write("visitorkey_seqs", key, Some(b"\x01"))
                .unwrap();
        }
        let before = rewrite::kept_rows(&store);
        let generation = store.generation();
        // The second shares A's email, so its entry goes into A's damaged email bucket.
        let more: Vec<String> = (0..2)
            .map(|i| {
                line(
                    &format!("B{i}"),
                    &format!("tb{i}"),
                    "x",
                    "Bo",
                    Some("ana@example.test"),
                )
            })
            .collect();
        let err = import(&store, more.join("\n").as_bytes(), |_| {}).unwrap_err();
        assert!(err.contains("visitorkey_seqs"), "{err}");
        assert_eq!(rewrite::kept_rows(&store), before);
        assert_eq!(store.generation(), generation);
        assert!(store.visitor_by_token("tb1").unwrap().is_none());
        assert_only_generation(&config, generation);
        drop(dir);
    }
}
