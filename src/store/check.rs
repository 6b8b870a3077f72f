//! Consistency check: every index row is derived again from the records and compared with what
//! the trees hold, both ways. Used by tests now and by `visitord check` on a stopped store.

use super::keys;
use super::{decode, Result, Store};
use crate::model::Visitor;
use std::collections::BTreeMap;

/// Rows a tree should hold: key → value.
type Rows = BTreeMap<Vec<u8>, Vec<u8>>;

impl Store {
    /// Lists every disagreement between the visitor records and their indexes (token, email,
    /// phone, creation time, seq, search grams, visitor count). Empty means consistent.
    pub fn verify_visitor_indexes(&self) -> Result<Vec<String>> {
        let t = self.trees();
        let fields = &self.inner.search_fields;
        let mut expected: BTreeMap<&'static str, Rows> = BTreeMap::new();
        let mut count = 0u64;
        for row in t.visitorid_visitor.iter() {
            let (key, value) = row?;
            let v: Visitor = decode("visitorid_visitor", &key, &value)?;
            count += 1;
            let id = v.id.as_bytes().to_vec();
            let mut put = |tree: &'static str, k: Vec<u8>, val: Vec<u8>| {
                expected.entry(tree).or_default().insert(k, val);
            };
            put("token_visitorid", v.token.as_bytes().to_vec(), id.clone());
            if let Some(email) = &v.email {
                put("email_visitorid", keys::value_id(email, &v.id), Vec::new());
            }
            if let Some(phone) = &v.phone {
                let digits = phone.bytes().filter(u8::is_ascii_digit).collect();
                put("phone_visitorid", keys::value_id(phone, &v.id), digits);
            }
            put(
                "visitortime_visitorid",
                keys::time_seq(v.ts, v.seq).to_vec(),
                id.clone(),
            );
            put("visitorseq_visitorid", v.seq.to_be_bytes().to_vec(), id);
            for gram in super::search::gram_keys(&v, fields) {
                put("gram_visitorseq", gram, Vec::new());
            }
        }
        let mut problems = Vec::new();
        let trees = [
            ("token_visitorid", &t.token_visitorid),
            ("email_visitorid", &t.email_visitorid),
            ("phone_visitorid", &t.phone_visitorid),
            ("visitortime_visitorid", &t.visitortime_visitorid),
            ("visitorseq_visitorid", &t.visitorseq_visitorid),
            ("gram_visitorseq", &t.gram_visitorseq),
        ];
        for (name, tree) in trees {
            let want = expected.remove(name).unwrap_or_default();
            let mut have = Rows::new();
            for row in tree.iter() {
                let (k, v) = row?;
                have.insert(k.to_vec(), v.to_vec());
            }
            for (k, v) in &want {
                match have.get(k) {
                    None => problems.push(format!("{name}: missing row {k:?}")),
                    Some(got) if got != v => {
                        problems.push(format!("{name}: row {k:?} holds {got:?}, expected {v:?}"))
                    }
                    Some(_) => {}
                }
            }
            for k in have.keys().filter(|k| !want.contains_key(*k)) {
                problems.push(format!("{name}: stale row {k:?}"));
            }
        }
        let stored = self.visitor_count()?;
        if stored != count {
            problems.push(format!(
                "meta.visitor_count is {stored}, but there are {count} visitors"
            ));
        }
        Ok(problems)
    }
}
