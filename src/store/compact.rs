//! Offline compaction: a stopped store is copied, key by key, into a fresh generation that then
//! takes its place.
//!
//! Why: sled 0.34 appends every rewrite of a page to its log and reclaims the superseded
//! versions only as its segment cleaner gets to them, and the file never shrinks below its
//! high-water mark. A bulk load rewrites the bucket and posting values over and over, so it
//! leaves a store several times its live size: 1,000,000 imported visitors took 1.78 GB on
//! disk for 281 MB of keys and values; the fresh copy takes 0.70 GB (`docs/benchmarks.md`).
//!
//! How: it is the online rewrite ([`super::rewrite`]) with nothing else writing, plus a check
//! of the copy (every tree read back and compared with a digest of the rows written into it,
//! `meta` row by row with the store's): the copy goes to `<data dir>/store-<N+1>`, is flushed
//! and checked, `CURRENT` is switched to it (the commit point) and `store-<N>` deleted.
//! A crash leaves `CURRENT` naming a complete generation; the other one is deleted at the next
//! open ([`super::layout`]). Files in the data dir that are not the store's (such as
//! `initial-admin-password`) are never touched. Compaction also completes pending erasures
//! (it clears `meta.erase_pending_since`).
//!
//! sled's id generator (the source of write-order `seq`s) is not part of a copy, so the copy
//! records `meta.seq_floor`, an id above every one the original issued; stores add it to every
//! new id (see [`super::Store::next_seq`]).
//!
//! Builds before generations compacted by renaming the whole data dir to `<dir>.old` and a copy
//! from `<dir>.compacting` into its place; [`recover`] still undoes such a swap that a crash
//! interrupted.

use super::{Result, Store, StoreError};
use std::path::{Path, PathBuf};

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

/// Undoes a whole-directory compaction of an older build that a crash interrupted (see the
/// module header).
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
/// it is consumed, and the store is closed when this returns. `_dir` is its data dir (the store
/// knows it; kept for callers).
pub fn compact(store: Store, _dir: &Path) -> Result<Compaction> {
    let r = store.rewrite_with(true, None)?;
    drop(store);
    Ok(Compaction {
        before: r.before,
        after: r.after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Registration;
    use crate::model::RoomSource;
    use crate::store::rewrite::kept_rows;
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
        let before = kept_rows(&s);
        std::fs::write(config.data_dir.join("initial-admin-password"), "pw\n").unwrap();
        compact(s, &config.data_dir).unwrap();
        assert!(!sibling(&config.data_dir, ".compacting").exists());
        assert!(!sibling(&config.data_dir, ".old").exists());
        assert_eq!(
            crate::store::layout::generations(&config.data_dir).unwrap(),
            [2],
            "the copy replaced the first generation"
        );
        assert_eq!(
            std::fs::read_to_string(config.data_dir.join("initial-admin-password")).unwrap(),
            "pw\n",
            "a file that is not the store's survives"
        );

        let s = open(&config);
        assert_eq!(kept_rows(&s), before);
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
