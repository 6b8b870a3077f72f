//! Visitors on PostgreSQL: registration (Rocket.Chat's match order, race-free across
//! processes), lookups, counts, GDPR erasure.
//!
//! ## Registration, in one transaction retried as a whole
//! 1. find the target with [`rules::target`] (token, then phone, then email, as the merge policy
//!    allows; the oldest by write order), reading ids only;
//! 2. lock the target by primary key (`FOR UPDATE`) and check that it still has what found it
//!    (another process may have changed it in between): if not, start again;
//! 3. apply [`rules::apply_registration`]; an email match takes the new token (a unique
//!    violation, if another process created that token meanwhile, starts again and then finds
//!    the token's visitor);
//! 0. a registration that may merge by phone or email first locks the `merge_locks` slot rows
//!    of its phone and email, so two registrations of one phone (or email) under different
//!    tokens never both create a visitor;
//! 4. a new visitor is inserted with `ON CONFLICT (token) DO NOTHING`: no row back means another
//!    process created the token first, and the next try finds it; only after a real insert does
//!    it take its `guest-N` from the sequence, so a lost race wastes no number.

use super::{col, col_opt, json, next_seq, record, seq_i64, transaction, Inner, PgError, PgResult};
use crate::domain::rules::{self, guest_name, guest_number, Target};
use crate::domain::{Counts, Refusal, Registration};
use crate::model::ids::new_id;
use crate::model::{Room, Visitor};
use crate::time::Millis;
use tokio_postgres::GenericClient;

/// The visitor in `rows`' first row, if any.
fn first(rows: &[tokio_postgres::Row]) -> PgResult<Option<Visitor>> {
    rows.first().map(|r| record(r, "record")).transpose()
}

/// The visitor with this token.
pub(super) async fn by_token(inner: &Inner, token: &str) -> PgResult<Option<Visitor>> {
    let client = inner.client().await?;
    find_by_token(&**client, token).await
}

pub(super) async fn find_by_token(
    client: &impl GenericClient,
    token: &str,
) -> PgResult<Option<Visitor>> {
    let rows = client
        .query(
            "SELECT record FROM visitors WHERE token = $1",
            &[&col(token)],
        )
        .await?;
    first(&rows)
}

/// The visitor with this id.
pub(super) async fn by_id(inner: &Inner, id: &str) -> PgResult<Option<Visitor>> {
    let client = inner.client().await?;
    let rows = client
        .query("SELECT record FROM visitors WHERE id = $1", &[&col(id)])
        .await?;
    first(&rows)
}

/// How many visitors there are.
pub(super) async fn count(inner: &Inner) -> PgResult<u64> {
    count_rows(inner, "SELECT count(*) FROM visitors").await
}

/// How many agent accounts there are.
pub(super) async fn user_count(inner: &Inner) -> PgResult<u64> {
    count_rows(inner, "SELECT count(*) FROM users").await
}

/// The one count that `query` (a fixed `SELECT count(*)`) answers.
async fn count_rows(inner: &Inner, query: &'static str) -> PgResult<u64> {
    let client = inner.client().await?;
    let row = client.query_one(query, &[]).await?;
    let n: i64 = row.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many records of each kind there are.
pub(super) async fn counts(inner: &Inner) -> PgResult<Counts> {
    let client = inner.client().await?;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM visitors), (SELECT count(*) FROM users), \
             (SELECT count(*) FROM rooms), (SELECT count(*) FROM messages), \
             (SELECT count(*) FROM page_visits)",
            &[],
        )
        .await?;
    let n = |i: usize| -> PgResult<usize> {
        let v: i64 = row.try_get(i)?;
        Ok(usize::try_from(v).unwrap_or(0))
    };
    Ok(Counts {
        visitors: n(0)?,
        users: n(1)?,
        rooms: n(2)?,
        messages: n(3)?,
        page_visits: n(4)?,
    })
}

/// The id of the oldest visitor (by write order) whose `column` is `value`.
async fn oldest_with(
    client: &impl GenericClient,
    column: &'static str,
    value: &str,
) -> PgResult<Option<Visitor>> {
    // `column` is one of two fixed names, never input.
    let sql = format!("SELECT record FROM visitors WHERE {column} = $1 ORDER BY seq LIMIT 1");
    let rows = client.query(sql.as_str(), &[&col(value)]).await?;
    first(&rows)
}

/// Writes a visitor's row (insert or full update by id), its search columns included.
pub(super) async fn write_row(
    client: &impl GenericClient,
    inner: &Inner,
    v: &Visitor,
    insert: bool,
) -> PgResult<u64> {
    let texts = super::search::texts(v, &inner.search_fields);
    let search_text = col(&texts.join("\n")).into_owned();
    let search_texts = serde_json::Value::from(
        texts
            .iter()
            .map(|t| col(t).into_owned())
            .collect::<Vec<_>>(),
    );
    let phone_digits = v.phone.as_deref().map(super::search::digits);
    let last_chat_ts = v.last_chat.as_ref().map(|l| l.ts);
    let rec = json(v)?;
    let sql = if insert {
        "INSERT INTO visitors (id, token, username, name, email, phone, phone_digits, ts, \
         updated_at, last_chat_ts, seq, search_text, search_texts, record) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (token) DO NOTHING"
    } else {
        "UPDATE visitors SET token = $2, username = $3, name = $4, email = $5, phone = $6, \
         phone_digits = $7, ts = $8, updated_at = $9, last_chat_ts = $10, seq = $11, \
         search_text = $12, search_texts = $13, record = $14 WHERE id = $1"
    };
    Ok(client
        .execute(
            sql,
            &[
                &col(&v.id),
                &col(&v.token),
                &col(&v.username),
                &col_opt(&v.name),
                &col_opt(&v.email),
                &col_opt(&v.phone),
                &phone_digits,
                &v.ts,
                &v.updated_at,
                &last_chat_ts,
                &seq_i64(v.seq),
                &search_text,
                &search_texts,
                &rec,
            ],
        )
        .await?)
}

/// Updates an existing visitor's row.
pub(super) async fn update_row(
    client: &impl GenericClient,
    inner: &Inner,
    v: &Visitor,
) -> PgResult<()> {
    write_row(client, inner, v, false).await.map(|_| ())
}

/// Locks the visitor `id` and returns it when it still satisfies `still`.
async fn lock_if(
    client: &impl GenericClient,
    id: &str,
    still: impl Fn(&Visitor) -> bool,
) -> PgResult<Visitor> {
    let rows = client
        .query(
            "SELECT record FROM visitors WHERE id = $1 FOR UPDATE",
            &[&col(id)],
        )
        .await?;
    match first(&rows)? {
        Some(v) if still(&v) => Ok(v),
        _ => Err(PgError::Retry("the matched visitor changed")),
    }
}

/// Raises the guest sequence so that it never issues `guest-n` (a client chose that name).
async fn raise_guest_counter(client: &impl GenericClient, n: u64) -> PgResult<()> {
    super::raise_sequence(client, super::Sequence::Guest, n).await
}

/// Slot rows of `merge_locks` (a fixed number, so the table stays small).
const MERGE_SLOTS: u32 = 4096;

/// The `merge_locks` slot of a phone or email (the same in every process).
fn merge_slot(kind: &str, value: &str) -> i32 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{kind}\0{value}").as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % MERGE_SLOTS;
    i32::try_from(n).unwrap_or(0)
}

/// `POST livechat/visitor` (see the module header).
pub(super) async fn register(inner: &Inner, reg: &Registration, now: Millis) -> PgResult<Visitor> {
    transaction!(inner, |tx| register_in(inner, tx, reg, now).await?)
}

async fn register_in(
    inner: &Inner,
    tx: &tokio_postgres::Transaction<'_>,
    reg: &Registration,
    now: Millis,
) -> PgResult<Visitor> {
    // Registrations that may merge by the same phone or email run one at a time, across
    // processes: each first locks the slot row of its phone and email.
    let mut slots = Vec::new();
    if let (true, Some(phone)) = (reg.merge.phone, reg.phone.as_deref()) {
        slots.push(merge_slot("phone", phone));
    }
    if let (true, Some(email)) = (reg.merge.email, reg.email.as_deref()) {
        slots.push(merge_slot("email", email));
    }
    slots.sort_unstable();
    slots.dedup();
    for slot in slots {
        tx.execute(
            "INSERT INTO merge_locks (slot) VALUES ($1) \
             ON CONFLICT (slot) DO UPDATE SET slot = excluded.slot",
            &[&slot],
        )
        .await?;
    }
    // The lookups run first (they are async); the rule that orders them is the shared one.
    let by_token = find_by_token(tx, &reg.token).await?;
    let by_phone = match (&by_token, reg.phone.as_deref()) {
        (None, Some(phone)) if reg.merge.phone => oldest_with(tx, "phone", phone).await?,
        _ => None,
    };
    let by_email = match (&by_token, &by_phone, reg.email.as_deref()) {
        (None, None, Some(email)) if reg.merge.email => oldest_with(tx, "email", email).await?,
        _ => None,
    };
    let target = rules::target(
        reg,
        reg.merge,
        |_| Ok(by_token),
        |_| Ok(by_phone),
        |_| Ok(by_email),
    )
    .map_err(PgError::Store)?;

    let (old, mut new) = match target {
        Target::Token(v) => {
            let v = lock_if(tx, &v.id, |l| l.token == reg.token).await?;
            (Some(v.clone()), v)
        }
        Target::Phone(v) => {
            let phone = v.phone.clone();
            let v = lock_if(tx, &v.id, |l| l.phone == phone).await?;
            (Some(v.clone()), v)
        }
        Target::Email(v) => {
            let email = v.email.clone();
            let v = lock_if(tx, &v.id, |l| l.email == email).await?;
            let mut new = v.clone();
            new.token = reg.token.clone();
            (Some(v), new)
        }
        Target::New => (
            None,
            rules::new_visitor(reg, new_id(), next_seq(tx).await?, now),
        ),
    };
    rules::register_into(&mut new, reg, now).map_err(PgError::Store)?;

    match &old {
        Some(_) => update_row(tx, inner, &new).await?,
        None => {
            new.username = reg.username.clone().unwrap_or_default();
            if write_row(tx, inner, &new, true).await? == 0 {
                return Err(PgError::Retry("another process registered this token"));
            }
            match reg.username.as_deref() {
                None => {
                    let row = tx.query_one("SELECT nextval('guest_seq')", &[]).await?;
                    let n: i64 = row.try_get(0)?;
                    new.username = guest_name(u64::try_from(n).unwrap_or(0));
                    update_row(tx, inner, &new).await?;
                }
                Some(name) => {
                    if let Some(n) = guest_number(name) {
                        raise_guest_counter(tx, n).await?;
                    }
                }
            }
        }
    }

    // A token that becomes registered keeps its room-less history: lift the expiry.
    let token_is_new = old.as_ref().is_none_or(|o| o.token != new.token);
    if token_is_new {
        for mut visit in super::rooms::visits_of_token_in(tx, &new.token, true).await? {
            if visit.expire_at.is_some() {
                visit.expire_at = None;
                super::rooms::write_visit(tx, &visit, false).await?;
            }
        }
    }
    if let Some(o) = &old {
        if o.token != new.token {
            // The history follows the visitor's new token.
            for mut visit in super::rooms::visits_of_token_in(tx, &o.token, true).await? {
                visit.token = new.token.clone();
                super::rooms::write_visit(tx, &visit, false).await?;
            }
        }
        // Rooms keep a copy of their visitor's token (`v.token`): a new token reaches them all,
        // and a new name reaches the open room's `fname`.
        let rooms: Vec<Room> = if o.token != new.token {
            super::rooms::rooms_of_visitor_in(tx, &o.id, true).await?
        } else if o.name != new.name {
            super::rooms::open_room_of(tx, &o.id, true)
                .await?
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        for old_room in rooms {
            let mut room = old_room.clone();
            room.v.token = new.token.clone();
            if let (true, Some(name)) = (room.open, &new.name) {
                room.fname = name.clone();
            }
            if room != old_room {
                room.updated_at = now;
                super::rooms::update_room(tx, &room).await?;
            }
        }
    }
    Ok(new)
}

/// `DELETE livechat/visitor/:token`: the visitor, its rooms with their messages and history,
/// and every history entry of its token. Returns the erased visitor's id.
pub(super) async fn delete(inner: &Inner, token: &str, allow_open_rooms: bool) -> PgResult<String> {
    transaction!(inner, |tx| {
        let Some(found) = find_by_token(tx, token).await? else {
            return Err(Refusal::InvalidToken.into());
        };
        let id = found.id;
        lock_if(tx, &id, |v| v.token == token).await?;
        if !allow_open_rooms && super::rooms::open_room_of(tx, &id, false).await?.is_some() {
            return Err(Refusal::VisitorHasOpenRooms.into());
        }
        tx.execute(
            "DELETE FROM page_visits WHERE token = $1 \
             OR rid IN (SELECT id FROM rooms WHERE visitor_id = $2)",
            &[&col(token), &col(&id)],
        )
        .await?;
        tx.execute(
            "DELETE FROM messages WHERE rid IN (SELECT id FROM rooms WHERE visitor_id = $1)",
            &[&col(&id)],
        )
        .await?;
        tx.execute("DELETE FROM rooms WHERE visitor_id = $1", &[&col(&id)])
            .await?;
        tx.execute("DELETE FROM visitors WHERE id = $1", &[&col(&id)])
            .await?;
        id
    })
}
