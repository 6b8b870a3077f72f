//! `visitors.search` from an index, never a scan of every visitor for a selective term.
//!
//! ## What is indexed
//! Tree `gram_postings` holds, per trigram, the ascending list of the write-order numbers (`seq`,
//! the keys of `visitorseq_visitor`) of the visitors whose text has it, in chunks keyed
//! `ns gram 0xFF first_seq` (see [`super::postings`]):
//! - namespace `t`: every character trigram of each searchable text, case-folded with Unicode
//!   rules ([`fold`]: "MÜLLER" → "müller", "ΟΔΥΣ" → "οδυσ"): `name`, `username`, the email address, and the custom fields
//!   configured `searchable`. Each text is padded as `\x02 text \x03 \x03`, so every character
//!   of it starts a trigram: a one- or two-character term is the prefix of a trigram of every
//!   text that contains it.
//! - namespace `p`: every trigram of the phone's digits.
//!
//! The lists are derived from the visitor records alone. A new visitor's trigrams go into one
//! row of the pending list (tree `gram_pending`, see [`super::pending`]) in the transaction of
//! its record; a merge later moves pending rows into the chunks in bulk; changes of merged
//! visitors plan their chunk changes under the writer lock and apply them in the transaction
//! of the record. So the index (chunks ∪ pending rows) never disagrees with the records.
//!
//! ## How a term is answered
//! - empty term: the creation-time index `visitortime_seq` gives the page directly (default
//!   order), and `meta.visitor_count` the total;
//! - term of three characters or more: the visitors on the posting lists of all its trigrams
//!   (up to 32), starting from the rarest one: tree `gram_count` holds each list's number of
//!   chunks (see [`Store::common_candidates`]);
//! - one or two characters: the union of the posting lists of every trigram that starts with it;
//! - a phone-like term (only digits and `+ - ( ) . space`, at least three digits): the
//!   common candidates of its digit trigrams, plus the exact-phone index for `phone == term`.
//!
//! Each of these also takes the pending visitors on the same lists (from memory).
//!
//! Every candidate is then checked against its record with [`visitor_matches`], the one
//! definition of a match, so the index only has to be a superset. The matches are sorted
//! (default `ts` newest first, ties by write order) and paged.
//!
//! One exception saves reading every record of a common short term: the candidates of a term
//! of one to three characters are exactly its matches ([`exact_candidates`]), so their number
//! is the total, and in creation order (the default sort, or `ts` ascending) the page comes from
//! walking the creation-time index past candidates, reading and checking only the records it
//! keeps ([`Store::matches_in_time_order`]), when that walk is the cheaper way
//! ([`worth_walking`]). "an" on 1,000,000 visitors (298,288 matches): 0.9 s → 30 ms.

use super::keys::{self};
use super::postings::{Edit, Edits};
use super::{decode_compact, Result, Store, StoreError};
use crate::domain::search::sort_visitors;
use crate::domain::{SearchPage, SearchQuery, SortField};
use crate::model::Visitor;
use std::collections::{BTreeSet, HashMap};

const TEXT: u8 = b't';
const PHONE: u8 = b'p';
const PAD_START: char = '\u{2}';
const PAD_END: char = '\u{3}';
/// Version of what the search index holds; part of the signature that triggers a rebuild.
const INDEX_LAYOUT: &str = "grams-v5-chunk-counts";
/// Visitors per step of an index rebuild.
const REBUILD_BATCH: usize = 10_000;
/// Trigrams of a term beyond this many are not read (a bound for very long terms; a term's
/// rarest trigram is what makes a search cheap, so all of a usual term's are used).
const MAX_TERM_GRAMS: usize = 32;

/// Case folding for matching: Unicode lower case, with the final sigma `ς` folded to `σ` (Rust
/// lower-cases `Σ` by its position in the word, so "ΟΔΥΣ" would not be found in "Οδυσσέας"
/// otherwise) — what JavaScript's case-insensitive regular expressions do.
pub fn fold(s: &str) -> String {
    s.to_lowercase().replace('ς', "σ")
}

/// Characters a phone-like term may contain besides digits.
fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.' | ' ')
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The digits of a phone-like term with at least three of them.
fn phone_term_digits(term: &str) -> Option<String> {
    let d = digits(term);
    (d.len() >= 3 && term.chars().all(is_phone_char)).then_some(d)
}

/// The texts of a visitor that `term` is matched against, in no particular order.
pub(crate) fn searchable_texts<'a>(
    v: &'a Visitor,
    fields: &'a [String],
) -> impl Iterator<Item = &'a str> {
    let custom = v
        .livechat_data
        .iter()
        .filter(|(k, _)| fields.contains(k))
        .map(|(_, value)| value.as_str());
    [
        v.name.as_deref(),
        Some(v.username.as_str()),
        v.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .chain(custom)
}

/// The one definition of a match (§2.7): a case-insensitive literal substring of name,
/// username, email or a searchable custom field; or the stored phone equals the term; or the
/// term is phone-like and its digits occur in the phone's digits. The empty term matches all.
pub fn visitor_matches(v: &Visitor, term: &str, fields: &[String]) -> bool {
    Term::new(term).matches(v, fields)
}

/// A search term prepared once for checking many visitors ([`visitor_matches`]).
struct Term<'a> {
    raw: &'a str,
    folded: String,
    phone_digits: Option<String>,
}

impl<'a> Term<'a> {
    fn new(raw: &'a str) -> Term<'a> {
        Term {
            raw,
            folded: fold(raw),
            phone_digits: phone_term_digits(raw),
        }
    }

    /// Whether `v` matches (see [`visitor_matches`]).
    fn matches(&self, v: &Visitor, fields: &[String]) -> bool {
        if self.raw.is_empty() {
            return true;
        }
        if searchable_texts(v, fields).any(|t| folded_contains(t, &self.folded)) {
            return true;
        }
        match &v.phone {
            Some(phone) if phone == self.raw => true,
            Some(phone) => self
                .phone_digits
                .as_ref()
                .is_some_and(|d| digits(phone).contains(d.as_str())),
            None => false,
        }
    }
}

/// Whether `fold(text)` contains `folded`. An ASCII text folds to its ASCII lower case, so it
/// is compared in place, byte by byte, without building the folded copy.
fn folded_contains(text: &str, folded: &str) -> bool {
    if !text.is_ascii() {
        return fold(text).contains(folded);
    }
    let needle = folded.as_bytes();
    needle.is_empty()
        || text
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Every trigram of `text`, as strings of three characters.
fn trigrams(chars: &[char]) -> impl Iterator<Item = String> + '_ {
    chars.windows(3).map(|w| w.iter().collect())
}

/// The posting lists (`ns gram 0xFF` prefixes) a visitor belongs to (see the module header).
pub(super) fn grams_of(v: &Visitor, fields: &[String]) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    for text in searchable_texts(v, fields) {
        let padded: Vec<char> = std::iter::once(PAD_START)
            .chain(fold(text).chars())
            .chain([PAD_END, PAD_END])
            .collect();
        for gram in trigrams(&padded) {
            out.insert(keys::posting_prefix(TEXT, &gram));
        }
    }
    if let Some(phone) = &v.phone {
        let d: Vec<char> = digits(phone).chars().collect();
        for gram in trigrams(&d) {
            out.insert(keys::posting_prefix(PHONE, &gram));
        }
    }
    out
}

/// The posting-list edits that turn each `old` visitor into its `new` version (`None`: absent).
///
/// Gathered in a hash map (a gram is looked up once per visitor that has it, and copied only
/// the first time), then ordered: an import batch of 50,000 visitors makes millions of lookups
/// among tens of thousands of lists, which in the ordered map took a fifth of the import's
/// samples (`perf`); importing 1M visitors 69.4 / 72.4 s → 63.7 / 61.5 s (`docs/benchmarks.md`).
pub(super) fn posting_edits(
    changes: &[(Option<&Visitor>, Option<&Visitor>)],
    fields: &[String],
) -> Edits {
    let mut edits: HashMap<Vec<u8>, Edit> = HashMap::new();
    let mut note = |gram: &Vec<u8>, seq: u64, add: bool| {
        let set = |edit: &mut Edit| {
            if add {
                edit.add.insert(seq);
            } else {
                edit.remove.insert(seq);
            }
        };
        match edits.get_mut(gram) {
            Some(edit) => set(edit),
            None => {
                let mut edit = Edit::default();
                set(&mut edit);
                edits.insert(gram.clone(), edit);
            }
        }
    };
    for (old, new) in changes {
        let before = old.map(|v| (grams_of(v, fields), v.seq));
        let after = new.map(|v| (grams_of(v, fields), v.seq));
        if let Some((grams, seq)) = &before {
            for g in grams {
                let unchanged = after
                    .as_ref()
                    .is_some_and(|(a, s)| s == seq && a.contains(g));
                if !unchanged {
                    note(g, *seq, false);
                }
            }
        }
        if let Some((grams, seq)) = &after {
            for g in grams {
                let unchanged = before
                    .as_ref()
                    .is_some_and(|(b, s)| s == seq && b.contains(g));
                if !unchanged {
                    note(g, *seq, true);
                }
            }
        }
    }
    edits.into_iter().collect()
}

/// At most `MAX_TERM_GRAMS` distinct trigrams of `chars`, spread over the whole term.
fn term_grams(chars: &[char]) -> Vec<String> {
    let all: Vec<String> = trigrams(chars)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if all.len() <= MAX_TERM_GRAMS {
        return all;
    }
    let step = all.len() as f64 / MAX_TERM_GRAMS as f64;
    (0..MAX_TERM_GRAMS)
        .map(|i| all[(i as f64 * step) as usize].clone())
        .collect()
}

/// The posting lists a term's candidates come from.
enum Lists {
    /// The visitors on every one of these lists (`ns gram 0xFF` prefixes).
    Common(Vec<Vec<u8>>),
    /// The visitors on any list whose prefix starts with this (one or two characters).
    StartingWith(Vec<u8>),
}

/// Whether the candidates of `term` are exactly its matches, so that their number is the
/// total without reading each record. A term of one or two characters (after folding) is
/// answered by the union of the lists of every trigram that starts with it, and a text has
/// such a trigram exactly when it contains the term (padding makes every character of a text
/// start a trigram); a term of three by the one list of its trigram, which a text is on
/// exactly when it contains the term, and when all three are digits also by the phone list
/// of those digits, which a phone is on exactly when its digits contain them. Both add the
/// exact-phone index, whose rows are checked against their records. Longer terms are
/// answered by intersecting lists, which only bounds the matches (a text with "ana" and "nas"
/// need not contain "anas"), and a term holding a padding character by lists of padded
/// trigrams that no text contains.
fn exact_candidates(term: &str) -> bool {
    let folded = fold(term);
    let chars = folded.chars().count();
    (1..=3).contains(&chars) && !folded.contains([PAD_START, PAD_END])
}

/// Whether walking the creation-time index for the first `keep` of `candidates` matches
/// among `visitors` is cheaper than reading every candidate's record: the walk passes about
/// `keep × visitors ÷ candidates` index rows (each far cheaper than a record read) and reads
/// `keep` records, so it pays when that is at most the number of candidates.
fn worth_walking(keep: usize, candidates: usize, visitors: u64) -> bool {
    let walked = (keep as u128).saturating_mul(u128::from(visitors));
    let read = (candidates as u128).saturating_mul(candidates as u128);
    candidates > 0 && walked <= read
}

/// Whether `sort` is answered by walking the creation-time index.
fn time_order(sort: &[(SortField, bool)]) -> Option<bool> {
    match sort {
        [] => Some(false),
        [(SortField::Ts, ascending)] => Some(*ascending),
        _ => None,
    }
}

/// The first `keep` matches in sort order, and how many there were: memory stays bounded by
/// the page however many visitors match (a term like "a" matches most of them).
struct TopMatches<'a> {
    sort: &'a [(SortField, bool)],
    keep: Option<usize>,
    items: Vec<Visitor>,
    total: usize,
}

impl<'a> TopMatches<'a> {
    fn new(sort: &'a [(SortField, bool)], keep: Option<usize>) -> Self {
        TopMatches {
            sort,
            keep,
            items: Vec::new(),
            total: 0,
        }
    }

    fn push(&mut self, v: Visitor) {
        self.total += 1;
        self.items.push(v);
        if let Some(keep) = self.keep {
            if self.items.len() >= keep.saturating_mul(2).max(1024) {
                self.trim(keep);
            }
        }
    }

    fn trim(&mut self, keep: usize) {
        sort_visitors(&mut self.items, self.sort);
        self.items.truncate(keep);
    }

    /// The kept matches, sorted, and the total.
    fn finish(mut self) -> (Vec<Visitor>, usize) {
        sort_visitors(&mut self.items, self.sort);
        if let Some(keep) = self.keep {
            self.items.truncate(keep);
        }
        (self.items, self.total)
    }
}

/// How many matches, in order, the page of `q` needs (its offset and count); all without a count.
fn kept(q: &SearchQuery) -> Option<usize> {
    q.count.map(|c| q.offset.saturating_add(c))
}

fn page<T>(items: Vec<T>, offset: usize, count: Option<usize>) -> Vec<T> {
    let it = items.into_iter().skip(offset);
    match count {
        Some(n) => it.take(n).collect(),
        None => it.collect(),
    }
}

impl Store {
    /// `visitors.search`: the page of visitors matching `q.term`, and the total.
    pub fn search_visitors(&self, q: &SearchQuery) -> Result<SearchPage> {
        if q.term.is_empty() {
            return match time_order(&q.sort) {
                Some(ascending) => self.visitors_in_time_order(ascending, q.offset, q.count),
                None => self.every_visitor_sorted(q),
            };
        }
        let candidates = self.candidates(&q.term)?;
        if let (Some(ascending), Some(keep)) = (time_order(&q.sort), kept(q)) {
            if exact_candidates(&q.term)
                && worth_walking(keep, candidates.len(), self.visitor_count()?)
            {
                let (matches, total) =
                    self.matches_in_time_order(&q.term, &candidates, ascending, keep)?;
                return Ok(SearchPage {
                    visitors: page(matches, q.offset, q.count),
                    total,
                });
            }
        }
        self.checked_matches(&q.term, candidates, q)
    }

    /// The page of the empty term in an order other than creation time: every record, sorted.
    fn every_visitor_sorted(&self, q: &SearchQuery) -> Result<SearchPage> {
        let mut top = TopMatches::new(&q.sort, kept(q));
        for row in self.trees().visitorseq_visitor.iter() {
            let (key, value) = row?;
            top.push(decode_compact::<Visitor>(
                "visitorseq_visitor",
                &key,
                &value,
            )?);
        }
        let (matches, total) = top.finish();
        Ok(SearchPage {
            visitors: page(matches, q.offset, q.count),
            total,
        })
    }

    /// The page of `q` from every candidate checked against its record: the total counts the
    /// candidates that match.
    fn checked_matches(
        &self,
        term: &str,
        candidates: BTreeSet<u64>,
        q: &SearchQuery,
    ) -> Result<SearchPage> {
        let fields = &self.inner.search_fields;
        let term = Term::new(term);
        let mut top = TopMatches::new(&q.sort, kept(q));
        for seq in candidates {
            if let Some(v) = self.visitor_by_seq(seq)? {
                if term.matches(&v, fields) {
                    top.push(v);
                }
            }
        }
        let (matches, total) = top.finish();
        Ok(SearchPage {
            visitors: page(matches, q.offset, q.count),
            total,
        })
    }

    /// The first `keep` matches of `term` in creation order (newest first unless `ascending`),
    /// found by walking the creation-time index and reading only the records of candidates it
    /// passes, and the total: the candidates, which for an [`exact_candidates`] term are the
    /// matches (a candidate whose record no longer matches when read, changed or deleted
    /// meanwhile, is left out of both).
    fn matches_in_time_order(
        &self,
        term: &str,
        candidates: &BTreeSet<u64>,
        ascending: bool,
        keep: usize,
    ) -> Result<(Vec<Visitor>, usize)> {
        let fields = &self.inner.search_fields;
        let term = Term::new(term);
        let mut found = Vec::new();
        let mut total = candidates.len();
        for seq in self.seqs_in_time_order(ascending) {
            if found.len() >= keep {
                break;
            }
            let seq = seq?;
            if !candidates.contains(&seq) {
                continue;
            }
            match self.visitor_by_seq(seq)? {
                Some(v) if term.matches(&v, fields) => found.push(v),
                _ => total = total.saturating_sub(1),
            }
        }
        Ok((found, total))
    }

    /// Every visitor, newest (or oldest) first, paged from the creation-time index.
    fn visitors_in_time_order(
        &self,
        ascending: bool,
        offset: usize,
        count: Option<usize>,
    ) -> Result<SearchPage> {
        let mut visitors = Vec::new();
        let seqs = self.seqs_in_time_order(ascending);
        for seq in seqs.skip(offset).take(count.unwrap_or(usize::MAX)) {
            if let Some(v) = self.visitor_by_seq(seq?)? {
                visitors.push(v);
            }
        }
        Ok(SearchPage {
            visitors,
            total: self.visitor_count()? as usize,
        })
    }

    /// Every visitor's seq from the creation-time index, newest first unless `ascending` (the
    /// live trees held for as long as the iterator, as a walk over them always was).
    fn seqs_in_time_order(&self, ascending: bool) -> Box<dyn Iterator<Item = Result<u64>>> {
        let trees = self.trees();
        let index = &trees.visitortime_seq;
        let rows: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = if ascending {
            Box::new(index.iter())
        } else {
            Box::new(index.iter().rev())
        };
        Box::new(rows.map(move |row| {
            let _live = &trees;
            let (key, _) = row?;
            keys::seq_of_time_seq(&key).ok_or_else(|| StoreError::Corrupt {
                tree: "visitortime_seq",
                key: key.to_vec(),
            })
        }))
    }

    /// Seqs of the visitors that may match `term` (a superset of the matches): from the
    /// pending rows (read first, see [`super::pending`]: a seq a merge moves meanwhile is then
    /// found in the chunks read after), then from the posting chunks.
    fn candidates(&self, term: &str) -> Result<BTreeSet<u64>> {
        let lower: Vec<char> = fold(term).chars().collect();
        let text = if lower.len() >= 3 {
            let prefixes: Vec<Vec<u8>> = term_grams(&lower)
                .iter()
                .map(|g| keys::posting_prefix(TEXT, g))
                .collect();
            Lists::Common(prefixes)
        } else {
            let mut prefix = vec![TEXT];
            prefix.extend_from_slice(lower.iter().collect::<String>().as_bytes());
            Lists::StartingWith(prefix)
        };
        let phone = phone_term_digits(term).map(|d| {
            let chars: Vec<char> = d.chars().collect();
            let prefixes: Vec<Vec<u8>> = term_grams(&chars)
                .iter()
                .map(|g| keys::posting_prefix(PHONE, g))
                .collect();
            Lists::Common(prefixes)
        });
        let queries: Vec<&Lists> = std::iter::once(&text).chain(phone.as_ref()).collect();
        let mut seqs: BTreeSet<u64> = BTreeSet::new();
        {
            let mirror = self.mirror();
            for q in &queries {
                match q {
                    Lists::Common(prefixes) => seqs.extend(mirror.common(prefixes)),
                    Lists::StartingWith(prefix) => seqs.extend(mirror.starting_with(prefix)),
                }
            }
        }
        for q in &queries {
            match q {
                Lists::Common(prefixes) => seqs.extend(self.common_candidates(prefixes)?),
                Lists::StartingWith(prefix) => seqs.extend(self.posting_list(prefix)?),
            }
        }
        for v in self.visitors_by_phone(term)? {
            seqs.insert(v.seq);
        }
        Ok(seqs)
    }

    /// How many visitors there are (kept in `meta`, since sled's `len` walks the tree).
    pub fn visitor_count(&self) -> Result<u64> {
        super::read_u64_or_zero(&self.trees().meta, "meta", keys::meta::VISITOR_COUNT)
    }

    /// Rebuilds the search index when the searchable custom fields changed since it was built,
    /// and initialises the visitor count of a store that has none. A crash mid-way leaves the
    /// old signature, so the rebuild simply runs again at the next start.
    pub(super) fn ensure_search_index(&self) -> Result<()> {
        let _writer = self.lock();
        let t = self.trees();
        if t.meta.get(keys::meta::VISITOR_COUNT)?.is_none() {
            let n = t.visitorseq_visitor.len() as u64;
            t.meta
                .insert(keys::meta::VISITOR_COUNT, &keys::u64_value(n))?;
        }
        // The layout version first: a change of what is indexed rebuilds the index too.
        let signature = format!("{INDEX_LAYOUT}\n{}", self.inner.search_fields.join("\n"));
        let built = t.meta.get(keys::meta::SEARCH_FIELDS)?;
        if built.as_deref() == Some(signature.as_bytes()) {
            return Ok(());
        }
        if built.is_some() || !t.visitorseq_visitor.is_empty() {
            log::info!("rebuilding the search index for searchable fields [{signature}]");
            t.gram_postings.clear()?;
            t.gram_count.clear()?;
            t.gram_pending.clear()?;
            let mut visitors: Vec<Visitor> = Vec::new();
            let mut rows = t.visitorseq_visitor.iter();
            loop {
                visitors.clear();
                for row in rows.by_ref().take(REBUILD_BATCH) {
                    let (key, value) = row?;
                    visitors.push(decode_compact("visitorseq_visitor", &key, &value)?);
                }
                if visitors.is_empty() {
                    break;
                }
                let changes: Vec<_> = visitors.iter().map(|v| (None, Some(v))).collect();
                let writes =
                    self.plan_postings(&posting_edits(&changes, &self.inner.search_fields))?;
                super::postings::apply_batch(self, writes)?;
            }
        }
        t.meta
            .insert(keys::meta::SEARCH_FIELDS, signature.as_bytes())?;
        self.engine().db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor(name: &str, phone: Option<&str>) -> Visitor {
        Visitor {
            id: "id".into(),
            token: "t".into(),
            username: "guest-1".into(),
            ts: 0,
            updated_at: 0,
            seq: 7,
            status: "online".into(),
            name: Some(name.into()),
            email: Some("someone@example.com".into()),
            phone: phone.map(str::to_string),
            department: None,
            livechat_data: vec![("address".into(), "Rocket.Chat street".into())],
            last_chat: None,
            user_agent: None,
            ip: None,
            host: None,
        }
    }

    #[test]
    fn only_short_terms_without_padding_have_exact_candidates() {
        for term in [
            "a", "an", "AN", "Ñ", "王小", "ΟΣ", "1", "@x", "ana", "COM", "123",
        ] {
            assert!(exact_candidates(term), "{term:?}");
        }
        for term in ["", "anas", "a\u{3}", "\u{2}a", "\u{3}", "12-3"] {
            assert!(!exact_candidates(term), "{term:?}");
        }
    }

    #[test]
    fn the_walk_is_chosen_when_it_passes_fewer_rows_than_the_candidates() {
        // "an" on 1M visitors: 298,288 candidates, a page of 50: ~168 rows walked.
        assert!(worth_walking(50, 298_288, 1_000_000));
        // A rare two-letter term: 100 candidates would cost a walk of 500,000 rows.
        assert!(!worth_walking(50, 100, 1_000_000));
        assert!(worth_walking(10, 10, 10));
        assert!(!worth_walking(11, 10, 10));
        assert!(
            !worth_walking(0, 0, 0),
            "no candidates: nothing to walk for"
        );
        assert!(
            worth_walking(usize::MAX, usize::MAX, u64::MAX),
            "no overflow"
        );
    }

    #[test]
    fn matching_rules() {
        let fields = vec!["address".to_string()];
        let v = visitor("Müller", Some("55 51 5555-5555"));
        assert!(visitor_matches(&v, "MÜLLER", &fields));
        assert!(visitor_matches(&v, "ül", &fields));
        assert!(visitor_matches(&v, "EXAMPLE.com", &fields));
        assert!(visitor_matches(&v, "chat str", &fields));
        assert!(!visitor_matches(&v, "chat str", &[]));
        assert!(visitor_matches(&v, "5555-5555", &fields));
        assert!(visitor_matches(&v, "55 51 5555-5555", &fields));
        assert!(!visitor_matches(&v, "5a5", &fields));
        assert!(!visitor_matches(&v, "^((ab)*)+$", &fields));
        assert!(visitor_matches(&v, "", &fields));
    }

    #[test]
    fn top_matches_keep_the_first_page_of_the_full_order() {
        let all: Vec<Visitor> = (0..3000u64)
            .map(|i| {
                let mut v = visitor(&format!("n{}", i % 17), None);
                v.seq = i;
                v.ts = ((i * 7919) % 500) as i64;
                v
            })
            .collect();
        for sort in [
            vec![],
            vec![(SortField::Name, true), (SortField::Ts, false)],
        ] {
            let mut expected = all.clone();
            sort_visitors(&mut expected, &sort);
            let mut top = TopMatches::new(&sort, Some(25));
            for v in all.iter().cloned() {
                top.push(v);
            }
            let (kept, total) = top.finish();
            assert_eq!(total, 3000);
            assert_eq!(kept, expected[..25].to_vec());
        }
    }

    #[test]
    fn every_character_starts_a_gram() {
        let v = visitor("ab", None);
        let keys = grams_of(&v, &[]);
        let grams: Vec<String> = keys
            .iter()
            .filter(|k| k[0] == TEXT)
            .map(|k| String::from_utf8_lossy(&k[1..k.len() - 1]).into_owned())
            .collect();
        assert!(grams.contains(&"\u{2}ab".to_string()));
        assert!(grams.contains(&"ab\u{3}".to_string()));
        assert!(grams.contains(&"b\u{3}\u{3}".to_string()));
    }
}
