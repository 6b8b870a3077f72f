//! Backups taken by a serving store: now ([`take`], for `POST /api/v1/visitord.backup`) and on a
//! schedule ([`Scheduler`], every `backup.interval_hours`), each into a new file in `backup.dir`
//! named by its UTC time, keeping the newest `backup.keep`.

use crate::backup::{write_file, Written};
use crate::config::BackupConfig;
use crate::periodic::{First, Periodic};
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// File names are `visitord-<UTC time>.backup`; nothing else in the folder is touched.
const PREFIX: &str = "visitord-";
const SUFFIX: &str = ".backup";

/// One backup at a time per process.
static RUNNING: Mutex<()> = Mutex::new(());

/// What a backup did.
#[derive(Debug, Clone)]
pub struct Taken {
    pub file: PathBuf,
    pub written: Written,
    pub took: Duration,
    /// Older backup files deleted to keep `backup.keep`.
    pub pruned: Vec<PathBuf>,
}

/// Takes a backup of the serving `store` now, into a new file of `config.dir`, then deletes
/// the oldest of its backup files beyond `config.keep`.
pub fn take(store: &Store, config: &BackupConfig) -> Result<Taken, String> {
    let _one = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    create_private_dir(&config.dir)?;
    let name = format!(
        "{PREFIX}{}{SUFFIX}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let file = config.dir.join(name);
    let view = store
        .backup_view()
        .map_err(|e| format!("cannot read the store: {e}"))?;
    let written = write_file(&view, &file)?;
    drop(view);
    let pruned = prune(&config.dir, config.keep)?;
    Ok(Taken {
        file,
        written,
        took: started.elapsed(),
        pruned,
    })
}

/// Creates `dir` (and its parents) readable by its owner only, when missing.
fn create_private_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// The backup files in `dir`, oldest first (their names sort by time).
pub fn backups_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Deletes the oldest backup files of `dir` beyond the newest `keep` (0 = keep all).
fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, String> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let files = backups_in(dir)?;
    let excess = files.len().saturating_sub(keep);
    let mut pruned = Vec::new();
    for old in files.into_iter().take(excess) {
        std::fs::remove_file(&old).map_err(|e| format!("cannot delete {}: {e}", old.display()))?;
        pruned.push(old);
    }
    Ok(pruned)
}

/// The background thread of scheduled backups; stops when dropped.
pub struct Scheduler {
    _job: Periodic,
}

impl Scheduler {
    /// Starts backups every `config.interval_hours` (the first one an interval after start);
    /// `None` when the interval is 0.
    pub fn spawn(store: Store, config: &BackupConfig) -> Option<Scheduler> {
        if config.interval_hours <= 0.0 {
            return None;
        }
        let interval = Duration::from_secs_f64(config.interval_hours * 3600.0);
        let config = config.clone();
        let job = Periodic::spawn(
            "backup",
            interval,
            First::AfterInterval,
            move || match take(&store, &config) {
                Ok(t) => log::info!(
                    "backup {}: {} records, {} bytes in {:.1} s",
                    t.file.display(),
                    t.written.records,
                    t.written.bytes,
                    t.took.as_secs_f64()
                ),
                Err(e) => log::error!("scheduled backup failed: {e}"),
            },
        );
        Some(Scheduler { _job: job })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Registration;

    #[test]
    fn backups_are_kept_to_the_newest_n_and_other_files_are_left_alone() {
        let (dir, store) = crate::store::temp_store(&[]);
        store
            .register_visitor(&Registration::of_token("t"), 1)
            .unwrap();
        let config = BackupConfig {
            dir: dir.path().join("backups"),
            interval_hours: 0.0,
            keep: 2,
        };
        std::fs::create_dir_all(&config.dir).unwrap();
        let other = config.dir.join("notes.txt");
        std::fs::write(&other, "mine").unwrap();
        let mut taken = Vec::new();
        for _ in 0..4 {
            taken.push(take(&store, &config).unwrap().file);
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(backups_in(&config.dir).unwrap(), taken[2..].to_vec());
        assert!(other.exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&taken[3]), 0o600);
        let (_, records) = crate::backup::verify(&taken[3]).unwrap();
        assert_eq!(records, 2, "the visitor and the guest counter");
    }

    #[test]
    fn the_scheduler_takes_backups_on_its_interval() {
        let (dir, store) = crate::store::temp_store(&[]);
        let config = BackupConfig {
            dir: dir.path().join("backups"),
            interval_hours: 0.1 / 3600.0,
            keep: 0,
        };
        let scheduler = Scheduler::spawn(store, &config).expect("an interval is set");
        let deadline = Instant::now() + Duration::from_secs(20);
        while backups_in(&config.dir).map_or(0, |f| f.len()) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(scheduler);
        assert!(backups_in(&config.dir).unwrap().len() >= 2);
        let off = BackupConfig {
            interval_hours: 0.0,
            ..config
        };
        assert!(Scheduler::spawn(crate::store::temp_store(&[]).1, &off).is_none());
    }
}
