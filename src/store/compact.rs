//! Offline compaction: a stopped store is copied, key by key, into a fresh directory that then
//! takes its place.
//!
//! Why: sled 0.34 appends every rewrite of a page to its log and reclaims the superseded
//! versions only as its segment cleaner gets to them, and the file never shrinks below its
//! high-water mark. A bulk load rewrites the bucket and posting values over and over, so it
//! leaves a store several times its live size: 1,000,000 imported visitors took 1.78 GB on
//! disk for 281 MB of keys and values; the fresh copy takes 0.70 GB (`docs/benchmarks.md`).
//!
//! How, so that no crash loses the store:
//! 1. The copy is written to `<dir>.compacting` (one left by an interrupted run is deleted
//!    first), flushed, and compared with the original by sled's checksum of every key and value.
//! 2. `<dir>` is renamed to `<dir>.old`, `<dir>.compacting` to `<dir>`, and `<dir>.old` deleted.
//!    [`recover`], run by every open, puts `<dir>.old` back when a crash struck between the two
//!    renames.
//!
//! sled's id generator (the source of write-order `seq`s) is not part of a copy, so the original
//! store first records `meta.seq_floor`, an id above every one it issued; stores add it to every
//! new id (see [`super::Store::next_seq`]).

use super::{keys, Result, Store, StoreError};
use std::path::{Path, PathBuf};

/// Keys per batch written to the copy.
const BATCH: usize = 10_000;
/// Page cache of the copy being written.
const COPY_CACHE_BYTES: u64 = 64 << 20;

/// Sizes on disk (sled's own count, as `import` prints it) before and after, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Compaction {
    pub before: u64,
    pub after: u64,
}

/// `<dir><suffix>` beside `dir` (a trailing `/` in `dir` must not put it inside).
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let dir: PathBuf = dir.components().collect();
    let mut name = dir.into_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Finishes or undoes a compaction that a crash interrupted (see the module header).
pub(super) fn recover(dir: &Path) -> Result<()> {
    let dir: &Path = &dir.components().collect::<PathBuf>();
    let old = sibling(dir, ".old");
    if !dir.exists() && old.exists() {
        log::warn!(
            "a compaction of {} was interrupted; restoring the original",
            dir.display()
        );
        std::fs::rename(&old, dir).map_err(io(dir))?;
    }
    Ok(())
}

/// Compacts the store `store` (open, so locked against servers), which must be its only handle:
/// it is consumed, and the store is closed when this returns.
pub fn compact(store: Store, dir: &Path) -> Result<Compaction> {
    let dir: &Path = &dir.components().collect::<PathBuf>();
    let before = store.size_on_disk()?;
    let tmp = sibling(dir, ".compacting");
    let after;
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    {
        let _writer = store.lock();
        let floor = store.next_seq()?;
        store
            .trees()
            .meta
            .insert(b"seq_floor", &keys::u64_value(floor))?;
        store.inner.db.flush()?;
        let src = &store.inner.db;
        // Written once and not read back: a small cache (sled's default is 1 GiB).
        let dst = sled::Config::new()
            .path(&tmp)
            .cache_capacity(COPY_CACHE_BYTES)
            .flush_every_ms(None)
            .open()?;
        for name in src.tree_names() {
            let from = src.open_tree(&name)?;
            let to = dst.open_tree(&name)?;
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for row in from.iter() {
                let (k, v) = row?;
                batch.insert(k, v);
                n += 1;
                if n == BATCH {
                    to.apply_batch(std::mem::take(&mut batch))?;
                    n = 0;
                }
            }
            to.apply_batch(batch)?;
        }
        dst.flush()?;
        after = dst.size_on_disk()?;
        if dst.checksum()? != src.checksum()? {
            return Err(StoreError::Invariant(
                "the compacted copy differs from the store; the store was left as it was",
            ));
        }
    }
    drop(store);
    let old = sibling(dir, ".old");
    std::fs::rename(dir, &old).map_err(io(dir))?;
    std::fs::rename(&tmp, dir).map_err(io(dir))?;
    std::fs::remove_dir_all(&old).map_err(io(&old))?;
    Ok(Compaction { before, after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoomSource;
    use crate::store::visitors::Registration;
    use crate::store::{reopen as open, temp_config};

    fn reg(i: u64) -> Registration {
        Registration {
            token: format!("tok-{i}"),
            name: Some(format!("Name {i}")),
            email: Some(format!("e{i}@example.com")),
            ..Default::default()
        }
    }

    #[test]
    fn compaction_keeps_every_row_and_later_seqs_stay_fresh() {
        let (_dir, config) = temp_config();
        let s = open(&config);
        for round in 0..5 {
            for i in 0..40 {
                s.register_visitor(&reg(i), round).unwrap();
            }
        }
        let (room, _) = s.open_room("tok-1", None, RoomSource::Api, 9).unwrap();
        s.add_message("tok-1", &room.id, "hi", None, 10).unwrap();
        let highest = (0..40)
            .map(|i| {
                s.visitor_by_token(&format!("tok-{i}"))
                    .unwrap()
                    .unwrap()
                    .seq
            })
            .max()
            .unwrap();
        let before = s.snapshot().unwrap();
        compact(s, &config.data_dir).unwrap();
        assert!(!sibling(&config.data_dir, ".compacting").exists());
        assert!(!sibling(&config.data_dir, ".old").exists());

        let s = open(&config);
        let after: Vec<_> = s
            .snapshot()
            .unwrap()
            .into_iter()
            .filter(|(tree, key, _)| !(tree == "meta" && key == b"seq_floor"))
            .collect();
        assert_eq!(after, before);
        assert!(s.check().unwrap().problems.is_empty());
        let fresh = s.register_visitor(&reg(1000), 11).unwrap();
        assert!(fresh.seq > highest, "{} <= {highest}", fresh.seq);
        assert_eq!(s.visitor_count().unwrap(), 41);
        assert!(s.check().unwrap().problems.is_empty());
    }

    #[test]
    fn siblings_sit_beside_the_data_dir_even_with_a_trailing_slash() {
        assert_eq!(
            sibling(Path::new("/srv/data/"), ".old"),
            PathBuf::from("/srv/data.old")
        );
        assert_eq!(
            sibling(Path::new("data"), ".compacting"),
            PathBuf::from("data.compacting")
        );
    }

    #[test]
    fn an_interrupted_swap_is_undone_at_the_next_open() {
        let (_dir, config) = temp_config();
        {
            let s = open(&config);
            s.register_visitor(&reg(1), 1).unwrap();
            s.flush().unwrap();
        }
        // As if killed between the two renames, with a half-written copy beside it.
        std::fs::rename(&config.data_dir, sibling(&config.data_dir, ".old")).unwrap();
        std::fs::create_dir(sibling(&config.data_dir, ".compacting")).unwrap();
        let s = open(&config);
        assert!(s.visitor_by_token("tok-1").unwrap().is_some());
        assert!(!sibling(&config.data_dir, ".old").exists());
    }
}
