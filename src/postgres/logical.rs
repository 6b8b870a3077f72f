//! The database as logical records ([`crate::store::Record`]), the same ones the embedded store
//! reads and writes for backups: what `visitord backup` and `visitord copy` read from this
//! backend ([`PgStore`] is a [`RecordSource`]) and what `visitord restore` and `copy` write into
//! it ([`PgStore::restorer`]). Records move between the backends unchanged: every id, date,
//! write-order number and the guest counter.
//!
//! **Reading** runs in one read-only REPEATABLE READ transaction, so a backup of a database that
//! replicas keep writing is one consistent snapshot. Each table is read through a cursor, a batch
//! at a time, in the order the embedded store keeps its records (users, sessions, visitors by
//! write order, rooms, messages, navigation entries by id; ids compared byte-wise), handed to the
//! caller's thread over a bounded channel.
//!
//! **Writing** runs in one transaction on one connection, fed in batches over a channel: a
//! restore that fails or is abandoned leaves the database as it was. Rows are written by the
//! same functions as the API's writes (so columns always match records), and then the sequences
//! are raised above every restored write-order number and the guest counter.

use super::{raise_sequence, record, PgError, PgResult, PgStore, Sequence};
use crate::domain::{Result, StoreError};
use crate::model::{Message, PageVisit, Room, Session, User, Visitor};
use crate::store::{Record, RecordSource};
use futures_util::future::try_join_all;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_postgres::{IsolationLevel, Row, Transaction};

/// Rows per fetch of a cursor, and records per batch handed to the restore.
const BATCH: usize = 1_000;
/// Batches in flight between the database and the caller's thread.
const IN_FLIGHT: usize = 4;

/// The tables in the order of [`crate::store::Store::each_record`], each with the query of its
/// rows in the embedded store's key order.
const TABLES: [(Kind, &str); 6] = [
    (
        Kind::User,
        "SELECT record FROM users ORDER BY id COLLATE \"C\"",
    ),
    (
        Kind::Session,
        "SELECT token_hash, record FROM sessions ORDER BY token_hash",
    ),
    (Kind::Visitor, "SELECT record FROM visitors ORDER BY seq"),
    (
        Kind::Room,
        "SELECT record FROM rooms ORDER BY id COLLATE \"C\"",
    ),
    (
        Kind::Message,
        "SELECT record FROM messages ORDER BY id COLLATE \"C\"",
    ),
    (
        Kind::Page,
        // The embedded store keys entries by time, then id (`keys::nav_key`).
        "SELECT record FROM page_visits ORDER BY ts, id COLLATE \"C\"",
    ),
];

/// Whether the database holds a visitor or a user (a restore needs neither).
const NOT_EMPTY: &str = "SELECT EXISTS (SELECT 1 FROM visitors) OR EXISTS (SELECT 1 FROM users)";

/// Which record a table's rows are.
#[derive(Debug, Clone, Copy)]
enum Kind {
    User,
    Session,
    Visitor,
    Room,
    Message,
    Page,
}

impl Kind {
    /// The record of one row of this kind's query.
    fn record(self, row: &Row) -> PgResult<Record> {
        Ok(match self {
            Kind::User => Record::User(record::<User>(row, "record")?),
            Kind::Session => Record::Session {
                token_hash: row.try_get("token_hash")?,
                session: record::<Session>(row, "record")?,
            },
            Kind::Visitor => Record::Visitor(record::<Visitor>(row, "record")?),
            Kind::Room => Record::Room(record::<Room>(row, "record")?),
            Kind::Message => Record::Message(record::<Message>(row, "record")?),
            Kind::Page => Record::Page(record::<PageVisit>(row, "record")?),
        })
    }
}

/// What the reading task hands the caller: a batch of records, or why it stopped.
type Batch = std::result::Result<Vec<Record>, StoreError>;

/// Reads every record into `out`, batch by batch, in one snapshot. Stops quietly when the
/// receiver is gone (the caller stopped reading).
async fn export(inner: Arc<super::Inner>, out: mpsc::Sender<Batch>) {
    if let Err(e) = export_into(&inner, &out).await {
        let _ = out.send(Err(e.into_store())).await;
    }
}

async fn export_into(inner: &super::Inner, out: &mpsc::Sender<Batch>) -> PgResult<()> {
    let mut client = inner.client().await?;
    let open = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let tx: &Transaction<'_> = &open;
    // The caller may take its time between batches (writing them elsewhere).
    tx.batch_execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        .await?;
    for (kind, query) in TABLES {
        tx.batch_execute(&format!("DECLARE export NO SCROLL CURSOR FOR {query}"))
            .await?;
        loop {
            let rows = tx.query(&format!("FETCH {BATCH} FROM export"), &[]).await?;
            if rows.is_empty() {
                break;
            }
            let batch = rows
                .iter()
                .map(|row| kind.record(row))
                .collect::<PgResult<Vec<_>>>()?;
            if out.send(Ok(batch)).await.is_err() {
                return Ok(());
            }
        }
        tx.batch_execute("CLOSE export").await?;
    }
    let row = tx
        .query_one(
            "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM guest_seq",
            &[],
        )
        .await?;
    let guests: i64 = row.try_get(0)?;
    let _ = out
        .send(Ok(vec![Record::GuestCounter(
            u64::try_from(guests).unwrap_or(0),
        )]))
        .await;
    open.commit().await?;
    Ok(())
}

impl RecordSource for PgStore {
    /// Every record of the database, in one consistent snapshot (see the module header).
    fn each_record(&self, f: &mut dyn FnMut(Record) -> bool) -> Result<bool> {
        let Some(handle) = self.runtime.handle() else {
            return Err(StoreError::Storage("postgres runtime stopped".into()));
        };
        let (tx, mut rx) = mpsc::channel(IN_FLIGHT);
        handle.spawn(export(self.inner.clone(), tx));
        while let Some(batch) = rx.blocking_recv() {
            for record in batch? {
                if !f(record) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// What the caller sends the writing task.
enum Feed {
    Records(Vec<Record>),
    /// No more records: raise the sequences and commit.
    Commit,
}

/// Writes records into an empty database in one transaction ([`PgStore::restorer`]); dropped
/// without [`PgRestorer::finish`], it writes nothing.
pub struct PgRestorer {
    feed: Option<mpsc::Sender<Feed>>,
    done: std::sync::mpsc::Receiver<PgResult<u64>>,
    batch: Vec<Record>,
}

impl PgStore {
    /// A [`PgRestorer`] into this database, which must hold no visitor and no user.
    pub fn restorer(&self) -> Result<PgRestorer> {
        let not_empty = self.call(|inner| {
            Box::pin(async move {
                let client = inner.client().await?;
                let row = client.query_one(NOT_EMPTY, &[]).await?;
                Ok(row.try_get::<_, bool>(0)?)
            })
        })?;
        if not_empty {
            return Err(StoreError::Invariant("restore needs an empty store"));
        }
        let Some(handle) = self.runtime.handle() else {
            return Err(StoreError::Storage("postgres runtime stopped".into()));
        };
        let (feed, rx) = mpsc::channel(IN_FLIGHT);
        let (done_tx, done) = std::sync::mpsc::sync_channel(1);
        let inner = self.inner.clone();
        handle.spawn(async move {
            let _ = done_tx.send(restore(&inner, rx).await);
        });
        Ok(PgRestorer {
            feed: Some(feed),
            done,
            batch: Vec::with_capacity(BATCH),
        })
    }
}

impl PgRestorer {
    /// Adds one record (written with the next full batch).
    pub fn push(&mut self, record: Record) -> Result<()> {
        self.batch.push(record);
        if self.batch.len() >= BATCH {
            let batch = std::mem::take(&mut self.batch);
            self.send(Feed::Records(batch))?;
        }
        Ok(())
    }

    /// Writes what is left, raises the sequences and commits; how many records were written
    /// (the guest counter counts as one when it is above 0).
    pub fn finish(mut self) -> Result<u64> {
        let batch = std::mem::take(&mut self.batch);
        self.send(Feed::Records(batch))?;
        self.send(Feed::Commit)?;
        drop(self.feed.take());
        self.answer()
    }

    fn send(&mut self, feed: Feed) -> Result<()> {
        let sent = match &self.feed {
            Some(tx) => tx.blocking_send(feed).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The task stopped early: its answer says why.
        self.feed = None;
        match self.answer() {
            Ok(_) => Err(StoreError::Storage(
                "postgres: the restore stopped without an error".into(),
            )),
            Err(e) => Err(e),
        }
    }

    fn answer(&self) -> Result<u64> {
        match self.done.recv() {
            Ok(answer) => answer.map_err(PgError::into_store),
            Err(_) => Err(StoreError::Storage(
                "postgres: the restore stopped without an answer".into(),
            )),
        }
    }
}

/// The writing task: one transaction over every batch, committed on [`Feed::Commit`].
async fn restore(inner: &super::Inner, mut feed: mpsc::Receiver<Feed>) -> PgResult<u64> {
    let mut client = inner.client().await?;
    let open = client.transaction().await?;
    let tx: &Transaction<'_> = &open;
    tx.batch_execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        .await?;
    let row = tx.query_one(NOT_EMPTY, &[]).await?;
    if row.try_get::<_, bool>(0)? {
        return Err(PgError::Store(StoreError::Invariant(
            "restore needs an empty store",
        )));
    }
    let (mut written, mut top_seq, mut guests) = (0u64, 0u64, 0u64);
    while let Some(item) = feed.recv().await {
        let batch = match item {
            Feed::Records(batch) => batch,
            Feed::Commit => {
                raise_sequence(tx, Sequence::Write, top_seq).await?;
                raise_sequence(tx, Sequence::Guest, guests).await?;
                open.commit().await?;
                return Ok(written + u64::from(guests > 0));
            }
        };
        for record in &batch {
            match record {
                Record::Visitor(v) => top_seq = top_seq.max(v.seq),
                Record::Room(r) => top_seq = top_seq.max(r.seq),
                Record::Message(m) => top_seq = top_seq.max(m.seq),
                Record::Page(p) => top_seq = top_seq.max(p.seq),
                Record::GuestCounter(n) => guests = guests.max(*n),
                Record::User(_) | Record::Session { .. } => {}
            }
        }
        // One statement per record, pipelined on the connection.
        let writes = batch.iter().map(|r| write(tx, inner, r));
        written += try_join_all(writes).await?.into_iter().sum::<u64>();
    }
    Err(PgError::Store(StoreError::Storage(
        "the restore was abandoned; nothing was written".into(),
    )))
}

/// Writes one record's row with the API's own writer of its table; 1, or 0 for the guest
/// counter (raised at the end). A row that would clash with another (a taken username, token
/// or message id) fails the restore.
async fn write(tx: &Transaction<'_>, inner: &super::Inner, record: &Record) -> PgResult<u64> {
    let clash = |what: &'static str| PgError::Store(StoreError::Invariant(what));
    match record {
        Record::User(u) => {
            if super::users::insert_user(tx, u).await? == 0 {
                return Err(clash("two users with one username"));
            }
        }
        Record::Session {
            token_hash,
            session,
        } => super::users::write_session(tx, token_hash, session).await?,
        Record::Visitor(v) => {
            if super::visitors::write_row(tx, inner, v, true).await? == 0 {
                return Err(clash("two visitors with one token"));
            }
        }
        Record::Room(r) => super::rooms::insert_room(tx, r).await?,
        Record::Message(m) => {
            if super::rooms::insert_message(tx, m).await? == 0 {
                return Err(clash("two messages with one id"));
            }
        }
        Record::Page(p) => super::rooms::write_visit(tx, p, true).await?,
        Record::GuestCounter(_) => return Ok(0),
    }
    Ok(1)
}
