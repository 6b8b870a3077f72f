//! `visitord copy --from … --to …`: moves every record of a store into an empty store of either
//! backend (sled → postgres to scale out, postgres → sled to come back, or sled → sled). The
//! records are the logical ones of backups ([`crate::store::Record`]), so nothing is lost or
//! changed on the way: ids, dates, write-order numbers, password hashes, login sessions and the
//! guest counter all arrive as they left.

use crate::backup::{restore_records, restore_records_into_postgres};
use crate::config::{redact_postgres_url, StorageBackend, StorageConfig};
use crate::postgres::{PgStore, SchemaPolicy};
use crate::store::{Record, RecordSource, Store, StoreError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One end of a copy, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `sled:DIR`: the embedded store in a data dir.
    Sled(PathBuf),
    /// A URL (`postgres://…`, `postgresql://…`), or `postgres:` alone for the configured `storage.postgres_url` (also
    /// `VISITORD_STORAGE_POSTGRES_URL` or `storage.postgres_url_file`), which keeps the
    /// password out of the process list.
    Postgres(Option<String>),
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(dir) = s.strip_prefix("sled:") {
            if dir.is_empty() {
                return Err("sled: needs a data dir (sled:DIR)".into());
            }
            return Ok(Endpoint::Sled(PathBuf::from(dir)));
        }
        if s == "postgres:" {
            return Ok(Endpoint::Postgres(None));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Endpoint::Postgres(Some(s.to_string())));
        }
        Err(format!(
            "{:?} is not a store: use sled:DIR or postgres:URL (a postgres:// URL, or postgres: \
             alone for the configured storage.postgres_url)",
            redact_postgres_url(s)
        ))
    }
}

impl std::fmt::Display for Endpoint {
    /// The endpoint as it can be shown (a URL's password as `***`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Sled(dir) => write!(f, "sled:{}", dir.display()),
            Endpoint::Postgres(Some(url)) => write!(f, "{}", redact_postgres_url(url)),
            Endpoint::Postgres(None) => write!(f, "postgres (storage.postgres_url)"),
        }
    }
}

/// The storage settings of `endpoint`: `base` (the config file's) with its backend, data dir
/// or URL.
fn storage_of(base: &StorageConfig, endpoint: &Endpoint) -> StorageConfig {
    let mut storage = base.clone();
    match endpoint {
        Endpoint::Sled(dir) => {
            storage.backend = StorageBackend::Sled;
            storage.data_dir = dir.clone();
        }
        Endpoint::Postgres(url) => {
            storage.backend = StorageBackend::Postgres;
            if let Some(url) = url {
                storage.postgres_url = url.clone();
            }
        }
    }
    storage
}

/// What a copy moved: records per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    pub per_kind: BTreeMap<&'static str, u64>,
    /// What the target says it wrote (the guest counter counts as one when above 0).
    pub written: u64,
}

fn kind(record: &Record) -> &'static str {
    match record {
        Record::User(_) => "users",
        Record::Session { .. } => "login sessions",
        Record::Visitor(_) => "visitors",
        Record::Room(_) => "rooms",
        Record::Message(_) => "messages",
        Record::Page(_) => "navigation entries",
        Record::GuestCounter(_) => "guest counter",
    }
}

/// Copies every record of `from` into `to`, which must be empty (a sled data dir empty or
/// missing; a database with no visitor and no user, its schema brought up to date first).
/// The source is opened as a stopped store (sled) or read in one snapshot (postgres). A
/// failure leaves the target as it was.
pub fn copy(
    base: &StorageConfig,
    search_fields: Vec<String>,
    from: &Endpoint,
    to: &Endpoint,
) -> Result<Copied, String> {
    if from == to {
        return Err("--from and --to are the same store".into());
    }
    let source: Box<dyn RecordSource> = match from {
        Endpoint::Sled(dir) => {
            if !dir.is_dir() {
                return Err(format!("{from}: no such data dir"));
            }
            match Store::open(&storage_of(base, from), search_fields.clone()) {
                Ok(store) => Box::new(store),
                Err(StoreError::Locked { .. }) => {
                    return Err(format!(
                        "{from} is in use by a running visitord; stop it first"
                    ))
                }
                Err(e) => return Err(format!("cannot open {from}: {e}")),
            }
        }
        Endpoint::Postgres(_) => Box::new(
            PgStore::open(
                &storage_of(base, from),
                search_fields.clone(),
                SchemaPolicy::RequireCurrent,
            )
            .map_err(|e| format!("cannot open {from}: {e}"))?,
        ),
    };
    let mut copied = Copied::default();
    let mut feed = |push: &mut dyn FnMut(Record) -> Result<(), String>| {
        let mut failure = None;
        source
            .each_record(&mut |record| {
                *copied.per_kind.entry(kind(&record)).or_default() += 1;
                match push(record) {
                    Ok(()) => true,
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                }
            })
            .map_err(|e| format!("cannot read {from}: {e}"))?;
        failure.map_or(Ok(()), Err)
    };
    let written = match to {
        Endpoint::Sled(_) => restore_records(&storage_of(base, to), search_fields, &mut feed),
        Endpoint::Postgres(_) => {
            let target = PgStore::open(&storage_of(base, to), search_fields, SchemaPolicy::Migrate)
                .map_err(|e| format!("cannot open {to}: {e}"))?;
            restore_records_into_postgres(&target, &mut feed)
        }
    }
    .map_err(|e| format!("copy into {to} failed, nothing kept: {e}"))?;
    copied.written = written;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_show_no_password() {
        assert_eq!(
            "sled:/var/lib/visitord".parse::<Endpoint>(),
            Ok(Endpoint::Sled(PathBuf::from("/var/lib/visitord")))
        );
        assert_eq!(
            "postgres:".parse::<Endpoint>(),
            Ok(Endpoint::Postgres(None))
        );
        let url = "postgres://u:secret@db:5432/visitord";
        let parsed: Endpoint = url.parse().unwrap();
        assert_eq!(parsed, Endpoint::Postgres(Some(url.into())));
        assert!(!parsed.to_string().contains("secret"), "{parsed}");
        let err = "mysql://u:secret@db/x".parse::<Endpoint>().unwrap_err();
        assert!(err.contains("sled:DIR or postgres:URL"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert_eq!(
            "sled:".parse::<Endpoint>(),
            Err("sled: needs a data dir (sled:DIR)".into())
        );
    }
}
