//! Upgrades of older store layouts, run by [`super::Store::open`] before anything else.
//!
//! Schema 1 kept visitors in `visitorid_visitor` (fixed-int bincode, keyed by `_id`) with one
//! key per visitor in each of `token_visitorid`, `email_visitorid`, `phone_visitorid`,
//! `visitortime_visitorid` and `visitorseq_visitorid`. Schema 2 keys the records by seq in
//! compact bincode and packs the exact-match indexes into hash buckets (see [`super::buckets`]).
//! The search postings (by seq) and every other tree are unchanged.
//!
//! The new trees are written from the old records, then the schema version is raised, then the
//! old trees are dropped. A crash before the version is raised leaves the old trees intact, and
//! the next start clears the new trees and runs the migration again.

use super::buckets::{self, Hasher};
use super::keys;
use super::visitors::VisitorRows;
use super::{decode, encode_compact, Result, Trees, SCHEMA_VERSION};
use crate::model::Visitor;

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

/// Moves the visitors of a schema-1 store into the schema-2 trees.
pub(super) fn from_v1(db: &sled::Db, trees: &Trees, hasher: &Hasher) -> Result<()> {
    let names = db.tree_names();
    let has_v1 = |name: &str| names.iter().any(|n| n.as_ref() == name.as_bytes());
    if has_v1("visitorid_visitor") {
        log::info!("upgrading the store to schema {SCHEMA_VERSION}");
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
            .insert(b"visitor_count", &keys::u64_value(moved))?;
        log::info!("moved {moved} visitors");
    }
    trees
        .meta
        .insert(b"schema_version", &keys::u64_value(SCHEMA_VERSION))?;
    db.flush()?;
    for name in V1_TREES {
        if has_v1(name) {
            db.drop_tree(name)?;
        }
    }
    db.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::visitors::Registration;
    use crate::store::{keys, reopen, temp_config, Store};

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
            t.meta
                .insert(b"schema_version", &keys::u64_value(1))
                .unwrap();
            s.flush().unwrap();
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
        let meta = s.trees().meta.get(b"schema_version").unwrap().unwrap();
        assert_eq!(keys::read_u64(&meta), Some(super::SCHEMA_VERSION));
    }
}
