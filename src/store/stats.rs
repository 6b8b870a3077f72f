//! The overview counters: new visitors and page visits per day, and visits per page per day,
//! kept in the same transactions as the records they count (see [`visitor_changed`] and
//! [`visit_changed`]), so that `visitord.overview` reads a few dozen keys however large the
//! store is.
//!
//! They count the records the store holds now: erasing a visitor or an entry (GDPR delete,
//! retention, expiry) takes it out of the counts, and a page's address leaves `dayhref_count`
//! with its last entry. Both trees are derived ([`super::Role::Index`]): `check` recomputes
//! them from the records and `repair` rewrites them. Days are UTC days since 1970-01-01.
//!
//! - `day_count`: day (u32 BE) + kind (`v`: visitors created that day, `p`: entries of that
//!   day) → count (u64 BE); absent when 0.
//! - `dayhref_count`: day (u32 BE) + the entry's `href` → count (u64 BE); absent when 0.

use super::{abort, keys, Result, Store, StoreError, Tx, TxResult};
use crate::domain::{DayCounts, Overview, PageCount};
use crate::model::{PageVisit, Visitor};
use crate::time::Millis;
use std::collections::HashMap;

const DAY_MS: Millis = 86_400_000;
/// `day_count` kind of visitors created that day.
pub(super) const VISITORS: u8 = b'v';
/// `day_count` kind of navigation entries of that day.
pub(super) const VISITS: u8 = b'p';

/// The UTC day of `ts`, in days since 1970-01-01 (0 before it).
pub fn day_of(ts: Millis) -> u32 {
    u32::try_from(ts.div_euclid(DAY_MS)).unwrap_or(0)
}

/// The `day_count` key of `day` and `kind`.
pub(super) fn day_key(day: u32, kind: u8) -> [u8; 5] {
    keys::day_count_key(day, kind)
}

/// The `dayhref_count` key of an entry.
pub(super) fn href_key(day: u32, href: &str) -> Vec<u8> {
    keys::dayhref_key(day, href)
}

/// Adds `delta` to the counter at `key` of `tree`, removing it at 0.
fn bump(
    tree: &sled::transaction::TransactionalTree,
    name: &'static str,
    key: &[u8],
    delta: i64,
) -> TxResult<()> {
    let current = match tree.get(key)? {
        Some(bytes) => match keys::read_u64(&bytes) {
            Some(n) => n,
            None => {
                return abort(StoreError::Corrupt {
                    tree: name,
                    key: key.to_vec(),
                })
            }
        },
        None => 0,
    };
    let next = current.saturating_add_signed(delta);
    if next == 0 {
        tree.remove_blind(key)?;
    } else {
        tree.insert_blind(key, &keys::u64_value(next)[..])?;
    }
    Ok(())
}

/// Moves a record's counts from what `old` counts in to what `new` counts in (`None`: absent):
/// `bump_each` takes -1 for `old`'s, then +1 for `new`'s; nothing when they count the same.
fn recount<K: PartialEq>(
    old: Option<K>,
    new: Option<K>,
    mut bump_each: impl FnMut(&K, i64) -> TxResult<()>,
) -> TxResult<()> {
    if old == new {
        return Ok(());
    }
    if let Some(counted) = &old {
        bump_each(counted, -1)?;
    }
    if let Some(counted) = &new {
        bump_each(counted, 1)?;
    }
    Ok(())
}

/// A visitor was written (`old` → `new`, `None`: absent): counts it by its creation day.
pub(super) fn visitor_changed(
    tx: &Tx,
    old: Option<&Visitor>,
    new: Option<&Visitor>,
) -> TxResult<()> {
    let day = |v: &Visitor| day_of(v.ts);
    recount(old.map(day), new.map(day), |&day, delta| {
        bump(tx.day_count, "day_count", &day_key(day, VISITORS), delta)
    })
}

/// The counters an entry counts in: its day's `day_count` and its day and page's
/// `dayhref_count` keys (a bulk load adds 1 to the same keys, see [`super::navigation_load`]).
pub(super) fn visit_counter_keys(p: &PageVisit) -> ([u8; 5], Vec<u8>) {
    let day = day_of(p.ts);
    (day_key(day, VISITS), href_key(day, &p.href))
}

/// An entry was written (`old` → `new`, `None`: absent): counts it by day and by page.
pub(super) fn visit_changed(
    tx: &Tx,
    old: Option<&PageVisit>,
    new: Option<&PageVisit>,
) -> TxResult<()> {
    recount(
        old.map(visit_counter_keys),
        new.map(visit_counter_keys),
        |(day, href), delta| {
            bump(tx.day_count, "day_count", day, delta)?;
            bump(tx.dayhref_count, "dayhref_count", href, delta)
        },
    )
}

impl Store {
    /// How many navigation entries the store holds: the sum of the `day_count` entry counters
    /// (two keys per day), not a walk of the entries, so that a start or a metrics sample
    /// costs the same on 10 million entries as on ten.
    pub fn page_visit_count(&self) -> Result<u64> {
        let mut total: u64 = 0;
        for row in self.trees().day_count.iter() {
            let (key, value) = row?;
            if key.get(4) != Some(&VISITS) {
                continue;
            }
            let n = keys::read_u64(&value).ok_or_else(|| StoreError::Corrupt {
                tree: "day_count",
                key: key.to_vec(),
            })?;
            total = total.saturating_add(n);
        }
        Ok(total)
    }

    /// The overview as of `now`: the visitor count, the `days` UTC days up to today (oldest
    /// first) with their new visitors and entries, and the `top` most visited pages of the last
    /// `top_days` days (most first, then by address). Reads `2 × days` counters and the page
    /// counters of `top_days` days: nothing that grows with the number of visitors.
    pub fn overview(&self, now: Millis, days: u32, top_days: u32, top: usize) -> Result<Overview> {
        let t = self.trees();
        let today = day_of(now);
        let read = |key: &[u8]| -> Result<u64> {
            match t.day_count.get(key)? {
                Some(bytes) => keys::read_u64(&bytes).ok_or_else(|| StoreError::Corrupt {
                    tree: "day_count",
                    key: key.to_vec(),
                }),
                None => Ok(0),
            }
        };
        let mut per_day = Vec::with_capacity(days as usize);
        for back in (0..days).rev() {
            let Some(day) = today.checked_sub(back) else {
                continue;
            };
            per_day.push(DayCounts {
                day: Millis::from(day) * DAY_MS,
                new_visitors: read(&day_key(day, VISITORS))?,
                page_visits: read(&day_key(day, VISITS))?,
            });
        }
        let mut pages: HashMap<String, u64> = HashMap::new();
        let first = today.saturating_sub(top_days.saturating_sub(1));
        for row in t.dayhref_count.range(first.to_be_bytes()..) {
            let (key, value) = row?;
            let corrupt = || StoreError::Corrupt {
                tree: "dayhref_count",
                key: key.to_vec(),
            };
            let n = keys::read_u64(&value).ok_or_else(corrupt)?;
            let href = key
                .get(4..)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(corrupt)?;
            *pages.entry(href.to_string()).or_default() += n;
        }
        let mut top_pages: Vec<PageCount> = pages
            .into_iter()
            .map(|(href, visits)| PageCount { href, visits })
            .collect();
        top_pages.sort_by(|a, b| b.visits.cmp(&a.visits).then_with(|| a.href.cmp(&b.href)));
        top_pages.truncate(top);
        Ok(Overview {
            visitors: self.visitor_count()?,
            days: per_day,
            top_pages,
        })
    }
}

/// The rows both counter trees must hold, computed from the records (for the upgrade that
/// creates them and for `check`/`repair`): `(day_count rows, dayhref_count rows)`.
pub(super) type CounterRows = (
    std::collections::BTreeMap<Vec<u8>, u64>,
    std::collections::BTreeMap<Vec<u8>, u64>,
);

/// Counts every visitor and navigation entry of `trees`.
pub(super) fn count_records(trees: &super::Trees) -> Result<CounterRows> {
    count_records_with(
        trees,
        &trees.navkey_pagevisit,
        "navkey_pagevisit",
        |_, key, bytes| super::history::decode_record(key, bytes),
    )
}

/// [`count_records`] with the navigation entries read from `visits` (named `name` in errors)
/// by `decode_visit`: an upgrade step of an older schema counts them where and as that schema
/// kept them.
pub(super) fn count_records_with(
    trees: &super::Trees,
    visits: &sled::Tree,
    name: &'static str,
    decode_visit: fn(&'static str, &[u8], &[u8]) -> Result<PageVisit>,
) -> Result<CounterRows> {
    let (mut days, mut hrefs) = CounterRows::default();
    for row in trees.visitorseq_visitor.iter() {
        let (key, value) = row?;
        let v: Visitor = super::decode_compact("visitorseq_visitor", &key, &value)?;
        *days
            .entry(day_key(day_of(v.ts), VISITORS).to_vec())
            .or_default() += 1;
    }
    for row in visits.iter() {
        let (key, value) = row?;
        let p = decode_visit(name, &key, &value)?;
        let day = day_of(p.ts);
        *days.entry(day_key(day, VISITS).to_vec()).or_default() += 1;
        *hrefs.entry(href_key(day, &p.href)).or_default() += 1;
    }
    Ok((days, hrefs))
}

/// Replaces both counter trees with `counts` ([`count_records_with`]; the 3 → 4 upgrade).
pub(super) fn rebuild_from(trees: &super::Trees, counts: CounterRows) -> Result<()> {
    let (days, hrefs) = counts;
    for (tree, rows) in [(&trees.day_count, days), (&trees.dayhref_count, hrefs)] {
        tree.clear()?;
        let mut batch = sled::Batch::default();
        for (key, n) in rows {
            batch.insert(key, &keys::u64_value(n)[..]);
        }
        tree.apply_batch(batch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PageVisitInput, Registration};
    use crate::time::DAY_MS;

    fn visit(token: &str, href: &str) -> PageVisitInput {
        PageVisitInput {
            token: token.into(),
            rid: None,
            title: "T".into(),
            change: "url".into(),
            href: href.into(),
        }
    }

    fn register(s: &Store, token: &str, now: Millis) {
        let reg = Registration {
            token: token.into(),
            ..Default::default()
        };
        s.register_visitor(&reg, now).unwrap();
    }

    fn stored(s: &Store) -> CounterRows {
        let t = s.trees();
        let read = |tree: &sled::Tree| {
            tree.iter()
                .map(|r| {
                    let (k, v) = r.unwrap();
                    (k.to_vec(), keys::read_u64(&v).unwrap())
                })
                .collect()
        };
        (read(&t.day_count), read(&t.dayhref_count))
    }

    #[test]
    fn counters_follow_writes_and_erasures() {
        let (_d, s) = crate::store::temp_store(&[]);
        let today = 20_000 * DAY_MS + 5_000;
        register(&s, "a", today - 2 * DAY_MS);
        register(&s, "b", today);
        register(&s, "b", today + 1); // an update: still one visitor
        for (token, href, at) in [
            ("a", "https://x/1", today - 2 * DAY_MS),
            ("a", "https://x/2", today - DAY_MS),
            ("b", "https://x/2", today),
            ("b", "https://x/2", today + 10),
            ("anon", "https://x/3", today + 20),
        ] {
            s.record_page_visit(&visit(token, href), at, Some(30 * DAY_MS))
                .unwrap();
        }
        assert_eq!(stored(&s), count_records(&s.trees()).unwrap());
        let o = s.overview(today, 3, 7, 10).unwrap();
        assert_eq!(o.visitors, 2);
        let counts: Vec<(u64, u64)> = o
            .days
            .iter()
            .map(|d| (d.new_visitors, d.page_visits))
            .collect();
        assert_eq!(counts, [(1, 1), (0, 1), (1, 3)]);
        assert_eq!(o.days[2].day, 20_000 * DAY_MS);
        let top: Vec<(&str, u64)> = o
            .top_pages
            .iter()
            .map(|p| (p.href.as_str(), p.visits))
            .collect();
        assert_eq!(
            top,
            [("https://x/2", 3), ("https://x/1", 1), ("https://x/3", 1)]
        );
        // the last 2 days only
        let recent = s.overview(today, 2, 2, 1).unwrap();
        assert_eq!(recent.top_pages[0].visits, 3);
        assert_eq!(recent.top_pages.len(), 1);

        // GDPR: the visitor and its entries leave the counts, its pages with them
        s.delete_visitor("a", false).unwrap();
        assert_eq!(stored(&s), count_records(&s.trees()).unwrap());
        let o = s.overview(today, 3, 7, 10).unwrap();
        assert_eq!(o.visitors, 1);
        assert!(o.top_pages.iter().all(|p| p.href != "https://x/1"));
        assert!(s.check().unwrap().problems.is_empty());

        // retention prunes everything before today
        s.prune_history(today + 30, Some(DAY_MS / 2)).unwrap();
        assert_eq!(stored(&s), count_records(&s.trees()).unwrap());
    }

    #[test]
    fn the_upgrade_from_schema_3_counts_what_is_stored() {
        let (dir, config) = crate::store::temp_config();
        let s = Store::open(&config, Vec::new()).unwrap();
        register(&s, "a", 5 * DAY_MS);
        s.record_page_visit(&visit("a", "https://x/1"), 6 * DAY_MS, None)
            .unwrap();
        let want = stored(&s);
        assert_eq!(want.0.len(), 2);
        {
            let t = s.trees();
            t.day_count.clear().unwrap();
            t.dayhref_count.clear().unwrap();
            crate::store::migrate::history_to_v5_layout(&s);
            crate::store::migrate::set_version(&s.engine().db, &t, 3).unwrap();
        }
        drop(s);
        let s = crate::store::reopen(&config);
        assert_eq!(stored(&s), want);
        drop(dir);
    }
}
