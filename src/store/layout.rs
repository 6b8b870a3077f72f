//! The data dir on disk: generations of the sled store, the pointer that names the live one,
//! the process lock, and file modes.
//!
//! ```text
//! <data dir>/                 0700 (created so; an existing one readable by others is warned about)
//!   LOCK                      0600, empty: exclusively locked (flock) by the process that has the
//!                             store open, so no second process cleans up under a live one
//!   CURRENT                   0600, `store-<N>\n`: the live generation. Replacing it (temp file,
//!                             fsync, rename, fsync of the dir) is the commit point of a rewrite
//!   store-<N>/                0700: one generation, sled's own files (`conf`, `db`, `snap.*`,
//!                             `blobs/`), each file 0600 and `blobs/` 0700
//!   import-sort-XXXXXX/       0700, only while `import --navigation` runs: its sorted rows
//!                             (see [`super::runs`]); one a crash left is deleted at the next open
//!   anything else             not the store's (e.g. `initial-admin-password`): never touched
//! ```
//!
//! A **legacy** store (sled's files directly in the data dir, no `CURRENT`, written by builds
//! before generations) opens where it is; the first rewrite ([`super::rewrite`]) copies it into
//! `store-1`, switches `CURRENT`, and then deletes exactly sled's files (`conf`, `db`, `snap.*`,
//! `blobs/`) from the data dir.
//!
//! Crash recovery at open (under `LOCK`): every `store-<N>` that `CURRENT` does not name is
//! deleted (an unfinished copy, or an old generation whose deletion a crash interrupted), and
//! so are legacy files once `CURRENT` exists (a migration that finished). Without `CURRENT`
//! every `store-<N>` is an unfinished copy (a new store writes `CURRENT` before sled creates
//! anything), so it is deleted too.
//!
//! File modes: sled creates its files with the process umask and `#![forbid(unsafe_code)]`
//! rules out `umask(2)`, so [`secure`] sets 0600/0700 on a generation after it is opened, after
//! every rewrite, and periodically from the server's maintenance thread (sled creates `snap.*`
//! and blob files over time). Until then such a file sits in a 0700 generation dir inside a
//! 0700 data dir, which nobody else can traverse.

use super::{Result, StoreError};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The pointer file naming the live generation.
pub const CURRENT: &str = "CURRENT";
/// The lock file held by the process that has the store open.
pub const LOCK: &str = "LOCK";
/// Generation directories are `store-<N>`.
pub(super) const GENERATION_PREFIX: &str = "store-";
/// sled's files directly in a legacy data dir (besides `snap.*`).
const LEGACY_FILES: [&str; 2] = ["conf", "db"];
/// sled's blob directory.
const BLOBS: &str = "blobs";

/// Where the live sled database is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// `<data dir>/store-<N>`.
    Generation(u64),
    /// sled's files directly in the data dir (an older build's layout).
    Legacy,
}

/// Turns an I/O error on `path` into a store error.
pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The directory of generation `n`.
pub fn generation_dir(data_dir: &Path, n: u64) -> PathBuf {
    data_dir.join(format!("{GENERATION_PREFIX}{n}"))
}

/// The directory sled uses for `live`.
pub fn live_dir(data_dir: &Path, live: Live) -> PathBuf {
    match live {
        Live::Generation(n) => generation_dir(data_dir, n),
        Live::Legacy => data_dir.to_path_buf(),
    }
}

/// Creates `path` (and missing parents) with mode 0700.
pub(super) fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(io(path))
}

/// Opens (creating, 0600) `<data dir>/LOCK` and locks it exclusively: fails with
/// [`StoreError::Locked`] when another process holds it. The lock lasts as long as the file.
pub(super) fn lock(data_dir: &Path) -> Result<File> {
    let path = data_dir.join(LOCK);
    let file = private_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: data_dir.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path)(e)),
    }
}

/// Open options that create files readable by their owner only.
fn private_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// The generation `CURRENT` names, if the file exists.
pub fn read_current(data_dir: &Path) -> Result<Option<u64>> {
    let path = data_dir.join(CURRENT);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    text.trim()
        .strip_prefix(GENERATION_PREFIX)
        .and_then(|n| n.parse::<u64>().ok())
        .map(Some)
        .ok_or(StoreError::Invariant(
            "CURRENT in the data dir does not name a store generation (store-<N>)",
        ))
}

/// Makes generation `n` the live one, crash-safely: `CURRENT.tmp` is written and fsynced,
/// renamed over `CURRENT`, and the data dir fsynced. Returns `Err` only when the rename did not
/// happen; a failed fsync of the dir after it is returned as `Ok(false)` (the switch is visible
/// but a crash might undo it, so the caller keeps the previous generation).
pub(super) fn write_current(data_dir: &Path, n: u64) -> Result<bool> {
    let tmp = data_dir.join("CURRENT.tmp");
    let mut file = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(format!("{GENERATION_PREFIX}{n}\n").as_bytes())
        .map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    let path = data_dir.join(CURRENT);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(sync_dir(data_dir).is_ok())
}

/// fsyncs a directory (its entries: renames, creations, deletions).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The generation numbers of every `store-<N>` directory in the data dir.
pub fn generations(data_dir: &Path) -> Result<Vec<u64>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(data_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(io(data_dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(data_dir))?;
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix(GENERATION_PREFIX))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        if entry.path().is_dir() {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Whether sled's files lie directly in the data dir (a legacy store).
pub fn has_legacy(data_dir: &Path) -> bool {
    LEGACY_FILES.iter().any(|f| data_dir.join(f).is_file())
}

/// Deletes exactly sled's files from a legacy data dir: `conf`, `db`, `snap.*`, `blobs/`.
pub(super) fn remove_legacy(data_dir: &Path) -> Result<()> {
    for name in LEGACY_FILES {
        remove_file_if_present(&data_dir.join(name))?;
    }
    let blobs = data_dir.join(BLOBS);
    if blobs.is_dir() {
        std::fs::remove_dir_all(&blobs).map_err(io(&blobs))?;
    }
    for entry in std::fs::read_dir(data_dir).map_err(io(data_dir))? {
        let entry = entry.map_err(io(data_dir))?;
        let is_snapshot = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with("snap."));
        if is_snapshot && entry.path().is_file() {
            remove_file_if_present(&entry.path())?;
        }
    }
    Ok(())
}

fn remove_file_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

/// Deletes a generation directory (no error when it is already gone).
pub(super) fn remove_generation(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(dir)(e)),
        _ => Ok(()),
    }
}

/// Crash recovery and the choice of the live store, at open (the caller holds `LOCK`): see the
/// module header. A new store gets generation 1, named by `CURRENT` before sled creates it.
pub(super) fn prepare(data_dir: &Path) -> Result<Live> {
    super::runs::remove_stale(data_dir)?;
    let current = read_current(data_dir)?;
    for n in generations(data_dir)? {
        if Some(n) != current {
            log::warn!(
                "deleting {}: a store generation that CURRENT does not name (left by an \
                 interrupted rewrite)",
                generation_dir(data_dir, n).display()
            );
            remove_generation(&generation_dir(data_dir, n))?;
        }
    }
    match current {
        Some(n) => {
            if !generation_dir(data_dir, n).is_dir() {
                return Err(StoreError::Invariant(
                    "CURRENT names a store generation that does not exist",
                ));
            }
            if has_legacy(data_dir) {
                log::info!("removing the pre-generation store files a finished migration left");
                remove_legacy(data_dir)?;
            }
            Ok(Live::Generation(n))
        }
        None if has_legacy(data_dir) => Ok(Live::Legacy),
        None => {
            create_private_dir(&generation_dir(data_dir, 1))?;
            write_current(data_dir, 1)?;
            Ok(Live::Generation(1))
        }
    }
}

/// Sets mode 0600 on every file and 0700 on every directory under `dir` (a generation), or, for
/// a legacy store in the data dir itself, on sled's files only.
pub fn secure(data_dir: &Path, live: Live) -> Result<()> {
    match live {
        Live::Generation(n) => secure_tree(&generation_dir(data_dir, n)),
        Live::Legacy => {
            for name in LEGACY_FILES {
                chmod(&data_dir.join(name), 0o600)?;
            }
            let blobs = data_dir.join(BLOBS);
            if blobs.is_dir() {
                secure_tree(&blobs)?;
            }
            for entry in std::fs::read_dir(data_dir).map_err(io(data_dir))? {
                let entry = entry.map_err(io(data_dir))?;
                if entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| name.starts_with("snap."))
                {
                    chmod(&entry.path(), 0o600)?;
                }
            }
            Ok(())
        }
    }
}

/// 0700 on `dir` and every directory below it, 0600 on every file.
fn secure_tree(dir: &Path) -> Result<()> {
    chmod(dir, 0o700)?;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            secure_tree(&path)?;
        } else if kind.is_file() {
            chmod(&path, 0o600)?;
        }
    }
    Ok(())
}

/// Sets `mode` on `path` unless it already has it; a file that vanished meanwhile (sled
/// replaces `snap.*` files) is no error.
fn chmod(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(path)(e)),
        };
        if meta.permissions().mode() & 0o777 != mode {
            match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(path)(e)),
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// The warning for a data dir that its group or others can read or enter, if it is one.
pub fn exposure_warning(data_dir: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir).ok()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(format!(
                "the data dir {} has mode {mode:04o}: others may read visitors' personal data; \
                 run `chmod 700 {}`",
                data_dir.display(),
                data_dir.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = data_dir;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_current(dir.path()).unwrap(), None);
        assert!(write_current(dir.path(), 7).unwrap());
        assert_eq!(read_current(dir.path()).unwrap(), Some(7));
        std::fs::write(dir.path().join(CURRENT), "db\n").unwrap();
        assert!(read_current(dir.path()).is_err());
    }

    #[test]
    fn legacy_cleanup_deletes_only_sleds_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "conf",
            "db",
            "snap.0000000000000ABC",
            "initial-admin-password",
            "notes",
        ] {
            std::fs::write(d.join(f), "x").unwrap();
        }
        std::fs::create_dir(d.join("blobs")).unwrap();
        std::fs::write(d.join("blobs").join("1"), "x").unwrap();
        remove_legacy(d).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["initial-admin-password", "notes"]);
    }
}
