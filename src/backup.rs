//! Backup files: one versioned, compressed, checksummed file of a store's *logical* records
//! (see [`crate::store::logical`]), not sled's files, so a backup restores into a newer schema
//! and into another storage backend.
//!
//! Layout: a gzip stream of JSON lines.
//! - line 1: `{"kind":"header","record":{"format":"visitord-backup","version":1,"schema":N,
//!   "created":"<ISO date>","software":"visitord <version>"}}`;
//! - then one line per record: `{"kind":"user"|"session"|"visitor"|"room"|"message"|"page"|
//!   "guest_counter","record":…}` (sessions carry the SHA-256 of their token in hex; tokens
//!   themselves are never stored);
//! - last line: `{"kind":"end","record":{"records":<count>,"sha256":"<hex>"}}`, the SHA-256 of
//!   every byte of the lines before it (uncompressed).
//!
//! [`verify`] reads a whole file before anything is restored: a truncated file (no end line,
//! or a cut gzip stream), a corrupt one (checksum, gzip CRC, an unreadable line) or one of a
//! newer format is refused with the reason, and nothing is written.

use crate::model::{Message, PageVisit, Room, Session, User, Visitor};
use crate::store::Store;
use crate::store::{Record, RecordSource};
use crate::time::{iso, now_ms};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The `format` of the header.
pub const FORMAT: &str = "visitord-backup";
/// The newest file version this build writes and reads.
pub const VERSION: u64 = 1;

/// The first line's record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    pub format: String,
    pub version: u64,
    /// The store schema of the build that wrote it (informational: records are logical).
    pub schema: u64,
    pub created: String,
    pub software: String,
}

/// A login session as a backup holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionLine {
    /// SHA-256 of the login token, hex.
    pub token_hash: String,
    pub session: Session,
}

/// The last line's record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trailer {
    /// Record lines between the header and this line.
    pub records: u64,
    /// SHA-256 (hex) of every byte before this line, uncompressed.
    pub sha256: String,
}

/// One line of a backup file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum Line {
    Header(Header),
    User(User),
    Session(SessionLine),
    Visitor(Visitor),
    Room(Room),
    Message(Message),
    Page(PageVisit),
    GuestCounter(u64),
    End(Trailer),
}

impl Line {
    fn of(record: Record) -> Line {
        match record {
            Record::User(u) => Line::User(u),
            Record::Session {
                token_hash,
                session,
            } => Line::Session(SessionLine {
                token_hash: hex::encode(token_hash),
                session,
            }),
            Record::Visitor(v) => Line::Visitor(v),
            Record::Room(r) => Line::Room(r),
            Record::Message(m) => Line::Message(m),
            Record::Page(p) => Line::Page(p),
            Record::GuestCounter(n) => Line::GuestCounter(n),
        }
    }

    /// The record of a record line; `None` for the header and the end.
    fn record(self) -> Result<Option<Record>, String> {
        Ok(Some(match self {
            Line::User(u) => Record::User(u),
            Line::Session(s) => Record::Session {
                token_hash: hex::decode(&s.token_hash)
                    .map_err(|e| format!("a session's token hash is not hex: {e}"))?,
                session: s.session,
            },
            Line::Visitor(v) => Record::Visitor(v),
            Line::Room(r) => Record::Room(r),
            Line::Message(m) => Record::Message(m),
            Line::Page(p) => Record::Page(p),
            Line::GuestCounter(n) => Record::GuestCounter(n),
            Line::Header(_) | Line::End(_) => return Ok(None),
        }))
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub records: u64,
    /// Compressed bytes.
    pub bytes: u64,
}

/// Writes every record of `store` (a stopped store, or a snapshot of a serving one) to `out` in
/// the backup format.
pub fn write(store: &dyn RecordSource, out: impl Write) -> Result<u64, String> {
    let mut gz = GzEncoder::new(out, flate2::Compression::fast());
    let mut hasher = Sha256::new();
    let mut failure: Option<String> = None;
    let put = |line: &Line, hasher: &mut Sha256, gz: &mut GzEncoder<_>| {
        let mut bytes = serde_json::to_vec(line).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        hasher.update(&bytes);
        gz.write_all(&bytes).map_err(|e| e.to_string())
    };
    let header = Line::Header(Header {
        format: FORMAT.into(),
        version: VERSION,
        schema: crate::store::SCHEMA_VERSION,
        created: iso(now_ms()),
        software: format!("visitord {}", env!("CARGO_PKG_VERSION")),
    });
    put(&header, &mut hasher, &mut gz)?;
    let mut records = 0u64;
    store
        .each_record(
            &mut |record| match put(&Line::of(record), &mut hasher, &mut gz) {
                Ok(()) => {
                    records += 1;
                    true
                }
                Err(e) => {
                    failure = Some(e);
                    false
                }
            },
        )
        .map_err(|e| format!("cannot read the store: {e}"))?;
    if let Some(e) = failure {
        return Err(format!("cannot write the backup: {e}"));
    }
    let end = Line::End(Trailer {
        records,
        sha256: hex::encode(hasher.finalize()),
    });
    let mut bytes = serde_json::to_vec(&end).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    gz.write_all(&bytes)
        .and_then(|_| gz.finish().map(drop))
        .map_err(|e| format!("cannot write the backup: {e}"))?;
    Ok(records)
}

/// Writes a backup of `store` to a new file `path` (mode 0600: it holds personal data and
/// password hashes), through `path.partial` renamed when complete and synced.
pub fn write_file(store: &dyn RecordSource, path: &Path) -> Result<Written, String> {
    if path.exists() {
        return Err(format!(
            "{} exists; a backup is written to a new file",
            path.display()
        ));
    }
    let partial = with_suffix(path, ".partial");
    let file = create_private(&partial)?;
    let result = (|| {
        let mut out = std::io::BufWriter::new(file);
        let records = write(store, &mut out)?;
        let file = out.into_inner().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        let bytes = file.metadata().map_err(|e| e.to_string())?.len();
        std::fs::rename(&partial, path).map_err(|e| e.to_string())?;
        Ok(Written { records, bytes })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map_err(|e: String| format!("cannot write {}: {e}", path.display()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A new file only its owner can read and write.
pub fn create_private(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Reads the lines of a backup stream, checking the header, the order, the count and the
/// checksum; calls `f` with every record in order. Any fault is an error naming it.
pub fn read(
    input: impl Read,
    mut f: impl FnMut(Record) -> Result<(), String>,
) -> Result<Header, String> {
    let mut lines = BufReader::new(GzDecoder::new(input));
    let mut hasher = Sha256::new();
    let mut buf = Vec::new();
    let mut header: Option<Header> = None;
    let mut records = 0u64;
    let mut number = 0u64;
    loop {
        buf.clear();
        let n = lines
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("the file is corrupt or truncated: {e}"))?;
        if n == 0 {
            return Err("the file is truncated: it has no end line".into());
        }
        number += 1;
        if buf.last() != Some(&b'\n') {
            return Err(format!("the file is truncated in line {number}"));
        }
        let line: Line = serde_json::from_slice(&buf).map_err(|e| {
            format!("the file is corrupt: line {number} is not a backup record: {e}")
        })?;
        match (&header, line) {
            (None, Line::Header(h)) => {
                if h.format != FORMAT {
                    return Err(format!("not a visitord backup (format {:?})", h.format));
                }
                if h.version > VERSION {
                    return Err(format!(
                        "the backup has version {}, newer than this build reads ({VERSION}); upgrade visitord",
                        h.version
                    ));
                }
                header = Some(h);
            }
            (None, _) => return Err("not a visitord backup: no header line".into()),
            (Some(_), Line::Header(_)) => {
                return Err(format!("line {number}: a second header"));
            }
            (Some(h), Line::End(t)) => {
                let sum = hex::encode(hasher.finalize_reset());
                if t.sha256 != sum {
                    return Err("the file is corrupt: its checksum does not match".into());
                }
                if t.records != records {
                    return Err(format!(
                        "the file is corrupt: it says {} records and holds {records}",
                        t.records
                    ));
                }
                let mut rest = [0u8; 1];
                if lines.read(&mut rest).map_err(|e| e.to_string())? != 0 {
                    return Err("the file is corrupt: data after its end line".into());
                }
                return Ok(h.clone());
            }
            (Some(_), line) => {
                records += 1;
                if let Some(record) = line.record()? {
                    f(record)?;
                }
            }
        }
        hasher.update(&buf);
    }
}

/// Reads a whole backup file without restoring anything: its header and record count.
pub fn verify(path: &Path) -> Result<(Header, u64), String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut count = 0u64;
    let header = read(file, |_| {
        count += 1;
        Ok(())
    })?;
    Ok((header, count))
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub header: Header,
    pub records: u64,
}

/// Restores the backup `path` into the empty (or missing) data dir of `storage`. The whole
/// file is verified first; a bad file is refused with its fault and nothing is written. A
/// failure while writing (e.g. a full disk) removes what was written, leaving the dir empty.
pub fn restore_file(
    path: &Path,
    storage: &crate::config::StorageConfig,
    search_fields: Vec<String>,
) -> Result<Restored, String> {
    let refused = |why: String| format!("{} refused: {why}; nothing was written", path.display());
    let (header, _) = verify(path).map_err(refused)?;
    let records = restore_records(storage, search_fields, &mut |push| {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        read(file, push).map(drop)
    })
    .map_err(|e| format!("restore failed, nothing kept: {e}"))?;
    Ok(Restored { header, records })
}

/// Restores the backup `path` into the empty database of `store` (the postgres backend), in
/// one transaction: the file is verified first, and a failure leaves the database as it was.
pub fn restore_file_into_postgres(
    path: &Path,
    store: &crate::postgres::PgStore,
) -> Result<Restored, String> {
    let refused = |why: String| format!("{} refused: {why}; nothing was written", path.display());
    let (header, _) = verify(path).map_err(refused)?;
    let records = restore_records_into_postgres(store, &mut |push| {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        read(file, push).map(drop)
    })
    .map_err(|e| format!("restore failed, nothing kept: {e}"))?;
    Ok(Restored { header, records })
}

/// What feeds a restore: calls its argument with every record, in the order of
/// [`RecordSource::each_record`].
pub type Feed<'a> =
    dyn FnMut(&mut dyn FnMut(Record) -> Result<(), String>) -> Result<(), String> + 'a;

/// Writes the records `feed` gives into the empty (or missing) data dir of `storage`, checks
/// the result's consistency, and returns how many were written. On any failure everything
/// written is removed again, leaving the dir as it was.
pub fn restore_records(
    storage: &crate::config::StorageConfig,
    search_fields: Vec<String>,
    feed: &mut Feed<'_>,
) -> Result<u64, String> {
    let dir = &storage.data_dir;
    let existed = dir.exists();
    if existed {
        let mut entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} is not empty: restore needs an empty data dir (move the old one aside)",
                dir.display()
            ));
        }
    }
    let result = (|| {
        let store = Store::open(storage, search_fields).map_err(|e| e.to_string())?;
        let mut restorer = store.restorer().map_err(|e| e.to_string())?;
        feed(&mut |record| restorer.push(record).map_err(|e| e.to_string()))?;
        let records = restorer.finish().map_err(|e| e.to_string())?;
        let report = store.check().map_err(|e| e.to_string())?;
        if !report.problems.is_empty() {
            return Err(format!(
                "the restored store is inconsistent: {}",
                report.problems.join("; ")
            ));
        }
        Ok(records)
    })();
    if result.is_err() {
        // The dir was empty or missing: everything in it now is this restore's.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let p = entry.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        if !existed {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

/// Writes the records `feed` gives into the empty database of `store` in one transaction;
/// how many were written. On any failure nothing is written.
pub fn restore_records_into_postgres(
    store: &crate::postgres::PgStore,
    feed: &mut Feed<'_>,
) -> Result<u64, String> {
    let mut restorer = store.restorer().map_err(|e| e.to_string())?;
    feed(&mut |record| restorer.push(record).map_err(|e| e.to_string()))?;
    restorer.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewUser;
    use crate::domain::PageVisitInput;
    use crate::domain::Registration;
    use crate::model::RoomSource;
    use crate::store::{reopen, temp_config};

    /// A store with a bit of everything.
    fn filled() -> (tempfile::TempDir, crate::config::StorageConfig, Store) {
        let (dir, config) = temp_config();
        let s = Store::open(&config, Vec::new()).unwrap();
        for i in 0..30 {
            let reg = Registration {
                token: format!("tok-{i}"),
                name: Some(format!("Zoë {i}")),
                email: (i % 2 == 0).then(|| format!("z{i}@example.com")),
                ..Default::default()
            };
            s.register_visitor(&reg, 1_000 + i).unwrap();
        }
        let (room, _) = s
            .open_room("tok-1", None, RoomSource::Widget, 2_000)
            .unwrap();
        s.add_message("tok-1", &room.id, "hello", None, 2_001)
            .unwrap();
        let visit = PageVisitInput::url_change("tok-1", Some(&room.id), "Pricing", "https://x/p");
        s.record_page_visit(&visit, 2_002, Some(86_400_000))
            .unwrap();
        let anon = PageVisitInput {
            token: "anon".into(),
            rid: None,
            ..visit
        };
        s.record_page_visit(&anon, 2_003, Some(86_400_000)).unwrap();
        let user = s
            .create_user(
                NewUser {
                    username: "alice".into(),
                    name: None,
                    email: None,
                    password_hash: "$argon2id$fake".into(),
                    roles: vec!["livechat-agent".into()],
                    active: true,
                },
                3_000,
            )
            .unwrap();
        let session = Session {
            user_id: user.id,
            created_at: 3_001,
            expires_at: i64::MAX,
        };
        s.create_session(&[7u8; 32], &session).unwrap();
        (dir, config, s)
    }

    /// Every record of a store, in order.
    fn records(s: &Store) -> Vec<Record> {
        let mut all = Vec::new();
        s.each_record(|r| {
            all.push(r);
            true
        })
        .unwrap();
        all
    }

    #[test]
    fn a_backup_restores_every_record_and_continues_the_counters() {
        let (dir, _config, s) = filled();
        let file = dir.path().join("b.vbak");
        let written = write_file(&s, &file).unwrap();
        let before = records(&s);
        assert_eq!(written.records, before.len() as u64);
        let (header, count) = verify(&file).unwrap();
        assert_eq!((header.format.as_str(), header.version), (FORMAT, VERSION));
        assert_eq!(count, before.len() as u64);

        let target = crate::config::StorageConfig {
            data_dir: dir.path().join("restored"),
            ..Default::default()
        };
        let restored = restore_file(&file, &target, Vec::new()).unwrap();
        assert_eq!(restored.records, before.len() as u64);
        let r = reopen(&target);
        assert_eq!(records(&r), before);
        assert!(r.check().unwrap().problems.is_empty());
        // New writes come after the restored ones: guest numbers and write order.
        let v = r
            .register_visitor(&Registration::of_token("new"), 9_000)
            .unwrap();
        assert_eq!(v.username, "guest-31");
        let top = before
            .iter()
            .filter_map(|x| match x {
                Record::Visitor(v) => Some(v.seq),
                Record::Page(p) => Some(p.seq),
                _ => None,
            })
            .max()
            .unwrap();
        assert!(v.seq > top, "{} > {top}", v.seq);
        assert!(r.session(&[7u8; 32]).unwrap().is_some(), "logins survive");
    }

    #[test]
    fn a_truncated_or_corrupt_file_is_refused_and_nothing_is_written() {
        let (dir, _config, s) = filled();
        let file = dir.path().join("b.vbak");
        write_file(&s, &file).unwrap();
        let good = std::fs::read(&file).unwrap();
        let target = crate::config::StorageConfig {
            data_dir: dir.path().join("restored"),
            ..Default::default()
        };
        // Cut short, a flipped byte in the middle, and a valid gzip of a tampered line.
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        let mut plain = String::new();
        GzDecoder::new(&good[..])
            .read_to_string(&mut plain)
            .unwrap();
        let tampered_text = plain.replacen("Zoë 3", "Zoe 3", 1);
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(tampered_text.as_bytes()).unwrap();
        let tampered = gz.finish().unwrap();
        let no_end: String = plain.lines().take(5).map(|l| format!("{l}\n")).collect();
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(no_end.as_bytes()).unwrap();
        let no_end = gz.finish().unwrap();
        for (name, bytes, why) in [
            ("cut", good[..good.len() - 40].to_vec(), "truncated"),
            ("flipped", flipped, "corrupt"),
            ("tampered", tampered, "checksum does not match"),
            ("no-end", no_end, "no end line"),
            ("empty", Vec::new(), "truncated"),
        ] {
            let bad = dir.path().join(name);
            std::fs::write(&bad, bytes).unwrap();
            let err = restore_file(&bad, &target, Vec::new()).unwrap_err();
            assert!(err.contains(why), "{name}: {err}");
            assert!(err.ends_with("nothing was written"), "{name}: {err}");
            assert!(!target.data_dir.exists(), "{name}: nothing written");
        }
    }

    #[test]
    fn restore_needs_an_empty_data_dir() {
        let (dir, config, s) = filled();
        let file = dir.path().join("b.vbak");
        write_file(&s, &file).unwrap();
        drop(s);
        let err = restore_file(&file, &config, Vec::new()).unwrap_err();
        assert!(err.contains("is not empty"), "{err}");
        assert!(write_file(&reopen(&config), &file)
            .unwrap_err()
            .contains("exists"));
    }
}
