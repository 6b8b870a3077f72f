//! Moving a store between backends: `visitord copy` (sled → sled, sled → postgres →
//! sled) and `visitord backup` / `restore` on the postgres backend. Every record must arrive
//! unchanged (ids, dates, write-order numbers, password hashes, sessions, the guest counter), a
//! target that is not empty is refused with nothing changed, and a copied database goes on
//! numbering after what it received. The postgres tests run in the postgres pass
//! (`scripts/test-postgres.sh`); on sled they say so and return.

use crate::common::{on_postgres, PgTestDb};
use visitord::config::StorageConfig;
use visitord::copy::{Copied, Endpoint};
use visitord::domain::{
    Backend, CustomFieldWrite, MessageInput, NewUser, PageVisitInput, Registration, RoomRequest,
};
use visitord::model::{RoomSource, Session};
use visitord::postgres::{testing::storage_config, PgStore, SchemaPolicy};
use visitord::store::{Record, RecordSource, Store};

const DAY: i64 = 86_400_000;

/// A sled store with every kind of record: users with login sessions, visitors (custom fields,
/// phones, emails, non-ASCII and NUL in names, generated and client-chosen `guest-N`), rooms
/// open and closed, messages, navigation entries in rooms and room-less (expiring).
fn fill(sled: &Store) {
    let store: &dyn Backend = sled;
    let t0 = 1_700_000_000_000i64;
    for i in 0..40i64 {
        let reg = Registration {
            token: format!("tok-{i}"),
            name: match i % 4 {
                0 => None,
                1 => Some(format!("Zoë Ωμέγα {i}")),
                2 => Some(format!("nul\u{0}inside {i}")),
                _ => Some(format!("Visitor {i}")),
            },
            email: (i % 2 == 0).then(|| format!("v{i}@example.com")),
            phone: (i % 3 == 0).then(|| format!("+49 30 {i:06}")),
            username: (i == 7).then(|| "guest-900".to_string()),
            custom_fields: vec![CustomFieldWrite {
                key: "plan".into(),
                value: format!("tier-{}", i % 3),
                overwrite: true,
            }],
            ..Default::default()
        };
        store.register_visitor(&reg, t0 + i).expect("register");
    }
    for i in 0..10i64 {
        let token = format!("tok-{i}");
        let (room, _) = store
            .open_room(
                &RoomRequest::new(&token, None, RoomSource::Api),
                t0 + 100 + i,
            )
            .expect("open room");
        for m in 0..3 {
            let text = format!("message {m} from {token}");
            store
                .add_message(
                    &MessageInput::new(&token, &room.id, &text, None),
                    t0 + 200 + m,
                )
                .expect("message");
        }
        let page = PageVisitInput::url_change(&token, Some(&room.id), "Pricing", "https://x/p");
        store
            .record_page_visit(&page, t0 + 300 + i, Some(DAY))
            .expect("page visit");
        if i % 2 == 0 {
            store
                .close_room(&token, &room.id, t0 + 400 + i)
                .expect("close");
        }
    }
    for i in 0..5i64 {
        let anon = PageVisitInput::url_change(&format!("anon-{i}"), None, "Home", "https://x/");
        store
            .record_page_visit(&anon, t0 + 500 + i, Some(DAY))
            .expect("room-less visit");
    }
    for (n, username) in ["alice", "bob"].iter().enumerate() {
        let user = store
            .create_user(
                NewUser {
                    username: username.to_string(),
                    name: Some(format!("{username} agent")),
                    email: None,
                    password_hash: format!("$argon2id$fake-{username}"),
                    roles: vec!["livechat-agent".into()],
                    active: true,
                },
                t0 + 600,
            )
            .expect("user");
        let session = Session {
            user_id: user.id.clone(),
            created_at: t0 + 700,
            expires_at: t0 + 700 + DAY,
        };
        let hash = [n as u8 + 1; 32];
        assert!(store
            .create_login_session(&hash, &session, &user.password_hash)
            .expect("session"));
    }
    store.flush().expect("flush");
}

/// Every record of `source`, in its order.
fn records(source: &dyn RecordSource) -> Vec<Record> {
    let mut all = Vec::new();
    source
        .each_record(&mut |r| {
            all.push(r);
            true
        })
        .expect("read every record");
    all
}

fn sled_config(dir: &std::path::Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_path_buf(),
        ..StorageConfig::default()
    }
}

/// `visitord::copy::copy`, retried for up to 10 s while a sled store it opens is still locked:
/// the tests hand it stores this process closed a moment ago, whose directory lock may be held
/// a little longer (see [`crate::common::open_closed_store`]). Any other outcome is returned.
fn copy_closed(
    config: &StorageConfig,
    fields: Vec<String>,
    from: &Endpoint,
    to: &Endpoint,
) -> Result<Copied, String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match visitord::copy::copy(config, fields.clone(), from, to) {
            Err(e)
                if e.contains("is in use by a running visitord")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// A filled sled store in a fresh dir (closed again), with its records.
fn filled_sled() -> (tempfile::TempDir, Vec<Record>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&sled_config(dir.path()), Vec::new()).expect("open");
    fill(&store);
    let all = records(&store);
    drop(store);
    (dir, all)
}

fn reread_sled(dir: &std::path::Path) -> Vec<Record> {
    records(&crate::common::open_closed_store(&sled_config(dir)))
}

fn kinds(all: &[Record]) -> [usize; 7] {
    let mut n = [0; 7];
    for r in all {
        n[match r {
            Record::User(_) => 0,
            Record::Session { .. } => 1,
            Record::Visitor(_) => 2,
            Record::Room(_) => 3,
            Record::Message(_) => 4,
            Record::Page(_) => 5,
            Record::GuestCounter(_) => 6,
        }] += 1;
    }
    n
}

#[test]
fn sled_to_sled_copy_keeps_every_record_and_refuses_a_store_that_is_not_empty() {
    let (src, before) = filled_sled();
    assert_eq!(
        kinds(&before),
        [2, 2, 40, 10, 30, 15, 1],
        "the source has every kind"
    );
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("copy");
    let (from, to) = (
        Endpoint::Sled(src.path().into()),
        Endpoint::Sled(target.clone()),
    );
    let copied = copy_closed(&StorageConfig::default(), Vec::new(), &from, &to).expect("copy");
    assert_eq!(copied.written, before.len() as u64);
    assert_eq!(copied.per_kind.get("visitors"), Some(&40));
    assert_eq!(
        reread_sled(&target),
        before,
        "every record, in order, unchanged"
    );
    assert_eq!(reread_sled(src.path()), before, "the source is unchanged");

    // Again into the same (now filled) target: refused, the target unchanged.
    let err = copy_closed(&StorageConfig::default(), Vec::new(), &from, &to).unwrap_err();
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(reread_sled(&target), before);
    let err = copy_closed(&StorageConfig::default(), Vec::new(), &from, &from).unwrap_err();
    assert_eq!(err, "--from and --to are the same store");
    let missing = Endpoint::Sled(out.path().join("nothing-here"));
    let err = copy_closed(&StorageConfig::default(), Vec::new(), &missing, &to).unwrap_err();
    assert!(err.ends_with("no such data dir"), "{err}");
}

fn open_pg(db: &PgTestDb) -> PgStore {
    PgStore::open(
        &storage_config(&db.url),
        Vec::new(),
        SchemaPolicy::RequireCurrent,
    )
    .expect("open the test database")
}

#[test]
fn sled_to_postgres_to_sled_keeps_every_record() {
    if !on_postgres() {
        eprintln!(
            "copy into postgres needs the postgres pass (VISITORD_TEST_BACKEND=postgres): not run"
        );
        return;
    }
    let (src, before) = filled_sled();
    let db = PgTestDb::create();
    let pg = Endpoint::Postgres(Some(db.url.clone()));
    let base = StorageConfig::default();
    let copied =
        copy_closed(&base, Vec::new(), &Endpoint::Sled(src.path().into()), &pg).expect("copy in");
    assert_eq!(copied.written, before.len() as u64);
    let store = open_pg(&db);
    assert_eq!(
        records(&store),
        before,
        "the database holds every record unchanged"
    );

    let back = tempfile::tempdir().expect("tempdir");
    let target = back.path().join("back");
    copy_closed(&base, Vec::new(), &pg, &Endpoint::Sled(target.clone())).expect("copy out");
    assert_eq!(
        reread_sled(&target),
        before,
        "sled → postgres → sled changes nothing"
    );

    // The database goes on after what it received: a higher guest number and write order.
    let Record::GuestCounter(guests) = before.last().cloned().expect("records") else {
        panic!("the last record is the guest counter");
    };
    assert!(
        guests >= 900,
        "the client-chosen guest-900 raised the counter: {guests}"
    );
    let top_seq = before
        .iter()
        .filter_map(|r| match r {
            Record::Visitor(v) => Some(v.seq),
            Record::Page(p) => Some(p.seq),
            Record::Message(m) => Some(m.seq),
            Record::Room(r) => Some(r.seq),
            _ => None,
        })
        .max()
        .expect("seqs");
    let fresh = Backend::register_visitor(
        &store,
        &Registration {
            token: "after-copy".into(),
            ..Default::default()
        },
        1,
    )
    .expect("register after the copy");
    assert_eq!(fresh.username, format!("guest-{}", guests + 1));
    assert!(fresh.seq > top_seq, "{} > {top_seq}", fresh.seq);

    // Into the database again: refused, nothing changed.
    let now = records(&store);
    let err = copy_closed(&base, Vec::new(), &Endpoint::Sled(src.path().into()), &pg).unwrap_err();
    assert!(err.contains("restore needs an empty store"), "{err}");
    assert_eq!(records(&store), now);
}

#[test]
fn backup_and_restore_work_on_postgres() {
    if !on_postgres() {
        eprintln!(
            "backups of postgres need the postgres pass (VISITORD_TEST_BACKEND=postgres): not run"
        );
        return;
    }
    let (src, before) = filled_sled();
    let first = PgTestDb::create();
    copy_closed(
        &StorageConfig::default(),
        Vec::new(),
        &Endpoint::Sled(src.path().into()),
        &Endpoint::Postgres(Some(first.url.clone())),
    )
    .expect("copy in");
    let files = tempfile::tempdir().expect("tempdir");
    let file = files.path().join("db.backup");
    let written = visitord::backup::write_file(&open_pg(&first), &file).expect("backup");
    assert_eq!(written.records, before.len() as u64);

    let second = PgTestDb::create();
    let restored =
        visitord::backup::restore_file_into_postgres(&file, &open_pg(&second)).expect("restore");
    assert_eq!(restored.records, before.len() as u64);
    assert_eq!(records(&open_pg(&second)), before);

    // A database that is not empty is refused, and so is a damaged file; nothing changes.
    let err = visitord::backup::restore_file_into_postgres(&file, &open_pg(&second)).unwrap_err();
    assert!(err.contains("restore needs an empty store"), "{err}");
    let third = PgTestDb::create();
    let cut = files.path().join("cut.backup");
    let bytes = std::fs::read(&file).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = visitord::backup::restore_file_into_postgres(&cut, &open_pg(&third)).unwrap_err();
    assert!(err.contains("refused"), "{err}");
    assert!(records(&open_pg(&third))
        .iter()
        .all(|r| matches!(r, Record::GuestCounter(0))));
}
