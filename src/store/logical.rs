//! The store as logical records, for backups: every user, login session, visitor, room,
//! message and navigation entry as its model type, and the counters that are not derived from
//! them. [`Store::each_record`] reads them; a [`Restorer`] writes them into an empty store with
//! every index row (search postings included). Nothing here is sled's format, so a
//! backup restores into a newer schema or another backend.

use super::keys;
use super::{Engine, Refusal, Result, Store, StoreError, Trees};
use crate::model::{Message, PageVisit, Room, Session, User, Visitor};
use std::sync::Arc;

/// One logical record of a store.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    User(User),
    /// A login: the SHA-256 of its token (tokens are never stored) and the session.
    Session {
        token_hash: Vec<u8>,
        session: Session,
    },
    Visitor(Visitor),
    Room(Room),
    Message(Message),
    Page(PageVisit),
    /// The last `guest-N` number handed out.
    GuestCounter(u64),
}

/// How a record is read back from its bytes: [`super::decode`] or [`super::decode_compact`].
type Decoder<T> = fn(&'static str, &[u8], &[u8]) -> Result<T>;

/// Calls `f` with every record of `tree` (named `name`), made a [`Record`] by `wrap` (from its
/// key and itself), until `f` returns `false`.
fn each_of<T>(
    tree: &sled::Tree,
    name: &'static str,
    decode: Decoder<T>,
    wrap: impl Fn(&[u8], T) -> Record,
    f: &mut impl FnMut(Record) -> bool,
) -> Result<bool> {
    for row in tree.iter() {
        let (key, value) = row?;
        if !f(wrap(&key, decode(name, &key, &value)?)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The records of `t`, in the order of [`Store::each_record`].
fn each_record_of(t: &Trees, mut f: impl FnMut(Record) -> bool) -> Result<bool> {
    use super::{decode, decode_compact};
    let session = |key: &[u8], session| Record::Session {
        token_hash: key.to_vec(),
        session,
    };
    let all_read = each_of(
        &t.userid_user,
        "userid_user",
        decode,
        |_, u| Record::User(u),
        &mut f,
    )? && each_of(
        &t.tokenhash_session,
        "tokenhash_session",
        decode,
        session,
        &mut f,
    )? && each_of(
        &t.visitorseq_visitor,
        "visitorseq_visitor",
        decode_compact,
        |_, v| Record::Visitor(v),
        &mut f,
    )? && each_of(
        &t.roomid_room,
        "roomid_room",
        decode,
        |_, r| Record::Room(r),
        &mut f,
    )? && each_of(
        &t.msgid_message,
        "msgid_message",
        decode,
        |_, m| Record::Message(m),
        &mut f,
    )? && each_of(
        &t.navkey_pagevisit,
        "navkey_pagevisit",
        |_, key, bytes| super::history::decode_record(key, bytes),
        |_, p| Record::Page(p),
        &mut f,
    )?;
    if !all_read {
        return Ok(false);
    }
    let guests = super::read_u64_or_zero(&t.meta, "meta", super::keys::meta::GUEST_COUNTER)?;
    Ok(f(Record::GuestCounter(guests)))
}

/// Something whose logical records can be read in order: a stopped [`Store`], or a
/// [`Snapshot`] of a serving one.
pub trait RecordSource {
    /// Calls `f` with every record (see [`Store::each_record`]) until it returns `false`.
    fn each_record(&self, f: &mut dyn FnMut(Record) -> bool) -> Result<bool>;
}

impl RecordSource for Store {
    fn each_record(&self, f: &mut dyn FnMut(Record) -> bool) -> Result<bool> {
        Store::each_record(self, f)
    }
}

/// A consistent view of a serving store for a backup ([`Store::backup_view`]): the generation
/// an online rewrite just replaced, which nobody writes to any more. Writers are held only for
/// the rewrite's short final catch-up, not for the backup's read. Its files are deleted when the
/// view is dropped.
pub struct Snapshot<'a> {
    store: &'a Store,
    old: Option<Arc<Engine>>,
}

impl RecordSource for Snapshot<'_> {
    fn each_record(&self, f: &mut dyn FnMut(Record) -> bool) -> Result<bool> {
        match &self.old {
            Some(engine) => each_record_of(&engine.trees, f),
            None => Ok(true),
        }
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        drop(self.old.take());
        if let Err(e) = self.store.tidy() {
            log::warn!("the generation a backup read is deleted later: {e}");
        }
    }
}

/// Records written per transaction by a [`Restorer`].
const BATCH: usize = 5_000;

impl Store {
    /// Calls `f` with every record: users, sessions, visitors, rooms, messages, navigation
    /// entries, then the guest counter. Stops early (returning `Ok(false)`) when `f` does.
    /// Reads one record at a time. Consistent only on a store nobody writes to (a stopped one,
    /// or a rewrite's snapshot).
    pub fn each_record(&self, f: impl FnMut(Record) -> bool) -> Result<bool> {
        each_record_of(&self.trees(), f)
    }

    /// A consistent view of the store for a backup, while it keeps serving: an online rewrite
    /// (which also carries out pending erasures and compacts) whose replaced generation is read.
    pub fn backup_view(&self) -> Result<Snapshot<'_>> {
        let (rewrite, old) = self.rewrite_keeping_old()?;
        log::info!(
            "rewrote the store into store-{} for a backup in {:.2} s (writers held {} ms)",
            rewrite.generation,
            rewrite.took.as_secs_f64(),
            rewrite.stall.as_millis()
        );
        Ok(Snapshot {
            store: self,
            old: Some(old),
        })
    }

    /// A [`Restorer`] that writes records into this store, which must be empty (no visitor
    /// and no user).
    pub fn restorer(&self) -> Result<Restorer<'_>> {
        if self.visitor_count()? > 0 || self.user_count() > 0 {
            return Err(StoreError::Invariant("restore needs an empty store"));
        }
        Ok(Restorer {
            store: self,
            batch: Vec::with_capacity(BATCH),
            written: 0,
            top_seq: 0,
            guests: 0,
        })
    }

    /// Raises `meta.seq_floor` to at least `floor` (read when the store is opened).
    fn raise_seq_floor(&self, floor: u64) -> Result<()> {
        let _writer = self.lock();
        let meta = &self.trees().meta;
        if super::read_u64_or_zero(meta, "meta", super::keys::meta::SEQ_FLOOR)? < floor {
            meta.insert(super::keys::meta::SEQ_FLOOR, &super::keys::u64_value(floor))?;
        }
        Ok(())
    }

    /// One transaction of restored records.
    fn restore_batch(&self, batch: Vec<Record>) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        let _writer = self.lock();
        let visitors: Vec<(Option<&Visitor>, Option<&Visitor>)> = batch
            .iter()
            .filter_map(|r| match r {
                Record::Visitor(v) => Some((None, Some(v))),
                _ => None,
            })
            .collect();
        let postings = self.plan_visitor_postings(&visitors)?;
        let _changes_index = self.index_change();
        self.transact(|tx| {
            super::postings::apply(tx, &postings)?;
            for record in &batch {
                match record {
                    Record::User(u) => {
                        let key = keys::username_key(&u.username);
                        if tx.username_userid.get(&key)?.is_some() {
                            return super::abort(Refusal::UsernameTaken);
                        }
                        tx.username_userid.insert(key, u.id.as_bytes())?;
                        tx.put(tx.userid_user, u.id.as_bytes(), u)?;
                    }
                    Record::Session {
                        token_hash,
                        session,
                    } => {
                        tx.put(tx.tokenhash_session, token_hash, session)?;
                        tx.userid_tokenhash
                            .insert(keys::session_row(&session.user_id, token_hash), &[][..])?;
                    }
                    Record::Visitor(v) => super::visitor_rows::write_visitor(tx, None, v)?,
                    Record::Room(r) => super::room_rows::write_room(tx, r)?,
                    Record::Message(m) => super::room_rows::write_message(tx, m)?,
                    Record::Page(p) => super::history::write_visit(tx, None, p)?,
                    Record::GuestCounter(_) => {}
                }
            }
            Ok(())
        })?;
        Ok(batch.len() as u64)
    }
}

/// Writes records into an empty store ([`Store::restorer`]), keeping every id, date and
/// write-order number, with all index rows, in transactions of a few thousand records.
/// [`Restorer::finish`] raises `meta.seq_floor` above every restored write-order number, so the
/// store's next ones come after them; it takes effect when the store is next opened (restore
/// works on a store nobody else uses).
pub struct Restorer<'a> {
    store: &'a Store,
    batch: Vec<Record>,
    written: u64,
    top_seq: u64,
    guests: u64,
}

impl Restorer<'_> {
    /// Adds one record (written with the next full batch).
    pub fn push(&mut self, record: Record) -> Result<()> {
        self.top_seq = self.top_seq.max(match &record {
            Record::Visitor(v) => v.seq,
            Record::Room(r) => r.seq,
            Record::Message(m) => m.seq,
            Record::Page(p) => p.seq,
            _ => 0,
        });
        if let Record::GuestCounter(n) = record {
            self.guests = self.guests.max(n);
            return Ok(());
        }
        self.batch.push(record);
        if self.batch.len() == BATCH {
            self.written += self.store.restore_batch(std::mem::take(&mut self.batch))?;
        }
        Ok(())
    }

    /// Writes what is left, the counters and the seq floor, and flushes. Returns how many
    /// records were written (the guest counter counts as one).
    pub fn finish(mut self) -> Result<u64> {
        self.written += self.store.restore_batch(std::mem::take(&mut self.batch))?;
        if self.guests > 0 {
            self.store.raise_guest_counter(self.guests)?;
            self.written += 1;
        }
        self.store.raise_seq_floor(self.top_seq.saturating_add(1))?;
        self.store.flush()?;
        Ok(self.written)
    }
}
