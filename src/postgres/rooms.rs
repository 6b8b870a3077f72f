//! Rooms, messages and navigation history on PostgreSQL.
//!
//! At most one open room per visitor holds across processes: opening a room locks the visitor's
//! row, and the partial unique index `rooms_one_open_per_visitor` refuses a second open room
//! whatever happens (the unique violation restarts the transaction, which then finds the room).

use super::{
    col, col_opt, json, next_seq, record, records, seq_i64, transaction, Inner, PgError, PgResult,
};
use crate::domain::rules;
use crate::domain::{PageVisitInput, Refusal};
use crate::model::ids::new_id;
use crate::model::{LastChat, Message, PageVisit, Room, RoomSource, Visitor};
use crate::time::Millis;
use tokio_postgres::GenericClient;

fn all<T: serde::de::DeserializeOwned>(rows: &[tokio_postgres::Row]) -> PgResult<Vec<T>> {
    rows.iter().map(|r| record(r, "record")).collect()
}

/// The room with this id (locked when `lock`).
async fn find_room(client: &impl GenericClient, rid: &str, lock: bool) -> PgResult<Option<Room>> {
    let sql = "SELECT record FROM rooms WHERE id = $1";
    Ok(records(client, sql, rid, lock).await?.into_iter().next())
}

/// The room with this id.
pub(super) async fn room_by_id(inner: &Inner, rid: &str) -> PgResult<Option<Room>> {
    let client = inner.client().await?;
    find_room(&**client, rid, false).await
}

/// A visitor's rooms, oldest first (locked when `lock`).
pub(super) async fn rooms_of_visitor_in(
    client: &impl GenericClient,
    visitor_id: &str,
    lock: bool,
) -> PgResult<Vec<Room>> {
    let sql = "SELECT record FROM rooms WHERE visitor_id = $1 ORDER BY ts, seq";
    records(client, sql, visitor_id, lock).await
}

/// A visitor's rooms, oldest first.
pub(super) async fn rooms_of_visitor(inner: &Inner, visitor_id: &str) -> PgResult<Vec<Room>> {
    let client = inner.client().await?;
    rooms_of_visitor_in(&**client, visitor_id, false).await
}

/// The visitor's open room, if any (locked when `lock`).
pub(super) async fn open_room_of(
    client: &impl GenericClient,
    visitor_id: &str,
    lock: bool,
) -> PgResult<Option<Room>> {
    let sql = "SELECT record FROM rooms WHERE visitor_id = $1 AND open";
    Ok(records(client, sql, visitor_id, lock)
        .await?
        .into_iter()
        .next())
}

/// Writes a new room's row.
pub(super) async fn insert_room(client: &impl GenericClient, room: &Room) -> PgResult<()> {
    client
        .execute(
            "INSERT INTO rooms (id, visitor_id, open, ts, seq, record) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &col(&room.id),
                &col(&room.v.id),
                &room.open,
                &room.ts,
                &seq_i64(room.seq),
                &json(room)?,
            ],
        )
        .await?;
    Ok(())
}

/// Rewrites an existing room's row.
pub(super) async fn update_room(client: &impl GenericClient, room: &Room) -> PgResult<()> {
    client
        .execute(
            "UPDATE rooms SET open = $2, record = $3 WHERE id = $1",
            &[&col(&room.id), &room.open, &json(room)?],
        )
        .await?;
    Ok(())
}

/// The visitor of `token`, locked, or `invalid-token`.
async fn lock_visitor(client: &impl GenericClient, token: &str) -> PgResult<Visitor> {
    let rows = client
        .query(
            "SELECT record FROM visitors WHERE token = $1 FOR UPDATE",
            &[&col(token)],
        )
        .await?;
    all(&rows)?
        .into_iter()
        .next()
        .ok_or_else(|| Refusal::InvalidToken.into())
}

/// `GET livechat/room` (see [`crate::domain::Backend::open_room`]).
pub(super) async fn open_room(
    inner: &Inner,
    token: &str,
    rid: Option<&str>,
    source: RoomSource,
    now: Millis,
) -> PgResult<(Room, bool)> {
    if let Some(rid) = rid {
        let client = inner.client().await?;
        let visitor = super::visitors::find_by_token(&**client, token)
            .await?
            .ok_or(Refusal::InvalidToken)?;
        return match find_room(&**client, rid, false).await? {
            Some(room) if room.v.id == visitor.id && room.open => Ok((room, false)),
            _ => Err(Refusal::InvalidRoom.into()),
        };
    }
    transaction!(inner, |tx| {
        let visitor = lock_visitor(tx, token).await?;
        if let Some(open) = open_room_of(tx, &visitor.id, false).await? {
            (open, false)
        } else {
            let room = Room::opened_by(&visitor, new_id(), now, next_seq(tx).await?, source);
            insert_room(tx, &room).await?;
            // The new room adopts the token's room-less (and still expiring) history.
            let sql = "SELECT record FROM page_visits WHERE token = $1 \
                       AND (rid IS NULL OR expire_at IS NOT NULL)";
            let adopt: Vec<PageVisit> = records(tx, sql, token, true).await?;
            for old in adopt {
                let mut adopted = old.clone();
                if adopted.rid.is_none() {
                    adopted.rid = Some(room.id.clone());
                }
                adopted.expire_at = None;
                write_visit(tx, &adopted, false).await?;
            }
            let mut updated = visitor.clone();
            updated.last_chat = Some(LastChat::of(&room));
            updated.updated_at = now;
            super::visitors::update_row(tx, inner, &updated).await?;
            (room, true)
        }
    })
}

/// The open room `rid` of the visitor of `token`, locked, refused in Rocket.Chat's order.
async fn writable_room(
    client: &impl GenericClient,
    token: &str,
    rid: &str,
) -> PgResult<(Visitor, Room)> {
    let visitor = super::visitors::find_by_token(client, token)
        .await?
        .ok_or(Refusal::InvalidToken)?;
    let room = rules::writable_room(&visitor, find_room(client, rid, true).await?)
        .map_err(PgError::Store)?;
    Ok((visitor, room))
}

/// `POST livechat/room.close`.
pub(super) async fn close_room(
    inner: &Inner,
    token: &str,
    rid: &str,
    now: Millis,
) -> PgResult<Room> {
    transaction!(inner, |tx| {
        let (_, mut room) = writable_room(tx, token, rid).await?;
        room.close_by_visitor(now);
        room.updated_at = now;
        update_room(tx, &room).await?;
        room
    })
}

/// `POST livechat/message`: a resent message id returns the stored message.
pub(super) async fn add_message(
    inner: &Inner,
    token: &str,
    rid: &str,
    text: &str,
    id: Option<&str>,
    now: Millis,
) -> PgResult<Message> {
    transaction!(inner, |tx| {
        let (visitor, mut room) = writable_room(tx, token, rid).await?;
        if let Some(id) = id {
            let rows = tx
                .query("SELECT record FROM messages WHERE id = $1", &[&col(id)])
                .await?;
            if let Some(existing) = all::<Message>(&rows)?.into_iter().next() {
                return rules::resent_message(existing, rid, &visitor).map_err(PgError::Store);
            }
        }
        let id = id.map(str::to_string).unwrap_or_else(new_id);
        let msg = room.visitor_message(&visitor, id, text.to_string(), now, next_seq(tx).await?);
        if insert_message(tx, &msg).await? == 0 {
            return Err(PgError::Retry("another request stored this message id"));
        }
        room.updated_at = now;
        update_room(tx, &room).await?;
        msg
    })
}

/// Writes a new message's row unless its id is taken; how many rows were written (0 or 1).
pub(super) async fn insert_message(client: &impl GenericClient, msg: &Message) -> PgResult<u64> {
    Ok(client
        .execute(
            "INSERT INTO messages (id, rid, ts, seq, record) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO NOTHING",
            &[
                &col(&msg.id),
                &col(&msg.rid),
                &msg.ts,
                &seq_i64(msg.seq),
                &json(msg)?,
            ],
        )
        .await?)
}

/// A room's messages, oldest first.
pub(super) async fn messages_of_room(inner: &Inner, rid: &str) -> PgResult<Vec<Message>> {
    let client = inner.client().await?;
    records(
        &**client,
        "SELECT record FROM messages WHERE rid = $1 ORDER BY ts, seq",
        rid,
        false,
    )
    .await
}

/// Writes a navigation entry's row (insert, or a rewrite of an existing one).
pub(super) async fn write_visit(
    client: &impl GenericClient,
    p: &PageVisit,
    insert: bool,
) -> PgResult<()> {
    let sql = if insert {
        "INSERT INTO page_visits (id, token, rid, href, ts, seq, expire_at, record) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    } else {
        "UPDATE page_visits SET token = $2, rid = $3, href = $4, ts = $5, seq = $6, \
         expire_at = $7, record = $8 WHERE id = $1"
    };
    client
        .execute(
            sql,
            &[
                &col(&p.id),
                &col(&p.token),
                &col_opt(&p.rid),
                &col(&p.href),
                &p.ts,
                &seq_i64(p.seq),
                &p.expire_at,
                &json(p)?,
            ],
        )
        .await?;
    Ok(())
}

/// `POST livechat/page.visited` (see [`crate::domain::Backend::record_page_visit`]).
pub(super) async fn record_page_visit(
    inner: &Inner,
    input: &PageVisitInput,
    now: Millis,
    roomless_ttl: Option<Millis>,
) -> PgResult<PageVisit> {
    transaction!(inner, |tx| {
        let visitor = super::visitors::find_by_token(tx, &input.token).await?;
        let registered = visitor.is_some();
        let room = match (&input.rid, &visitor) {
            (Some(rid), Some(visitor)) => find_room(tx, rid, true)
                .await?
                .filter(|room| room.v.id == visitor.id),
            _ => None,
        };
        let expire_at = rules::roomless_expiry(registered, room.is_some(), now, roomless_ttl);
        let visit = PageVisit {
            id: new_id(),
            rid: room.as_ref().map(|r| r.id.clone()),
            token: input.token.clone(),
            ts: now,
            seq: next_seq(tx).await?,
            title: input.title.clone(),
            change: input.change.clone(),
            href: input.href.clone(),
            updated_at: now,
            expire_at,
        };
        write_visit(tx, &visit, true).await?;
        if let Some(mut room) = room {
            room.msgs += 1;
            update_room(tx, &room).await?;
        }
        visit
    })
}

/// A room's history, oldest first.
pub(super) async fn visits_of_room(inner: &Inner, rid: &str) -> PgResult<Vec<PageVisit>> {
    let client = inner.client().await?;
    records(
        &**client,
        "SELECT record FROM page_visits WHERE rid = $1 ORDER BY ts, seq",
        rid,
        false,
    )
    .await
}

/// Every entry of a token, oldest first.
pub(super) async fn visits_of_token(inner: &Inner, token: &str) -> PgResult<Vec<PageVisit>> {
    let client = inner.client().await?;
    visits_of_token_in(&**client, token, false).await
}

/// Every entry of a token, oldest first (locked when `lock`).
pub(super) async fn visits_of_token_in(
    client: &impl GenericClient,
    token: &str,
    lock: bool,
) -> PgResult<Vec<PageVisit>> {
    let sql = "SELECT record FROM page_visits WHERE token = $1 ORDER BY ts, seq";
    records(client, sql, token, lock).await
}

/// Deletes expired entries and, with `retention`, every entry older than `now - retention`, in
/// batches of 1000 (each its own statement, so writers never wait long). How many went.
pub(super) async fn prune_history(
    inner: &Inner,
    now: Millis,
    retention: Option<Millis>,
) -> PgResult<u64> {
    let mut deleted = delete_in_batches(
        inner,
        "DELETE FROM page_visits WHERE id IN (SELECT id FROM page_visits \
         WHERE expire_at IS NOT NULL AND expire_at <= $1 LIMIT 1000)",
        now,
    )
    .await?;
    if let Some(retention) = retention {
        deleted += delete_in_batches(
            inner,
            "DELETE FROM page_visits WHERE id IN (SELECT id FROM page_visits \
             WHERE ts < $1 LIMIT 1000)",
            now.saturating_sub(retention),
        )
        .await?;
    }
    Ok(deleted)
}

/// Runs `sql`, a `DELETE` of at most 1,000 rows with `$1 = bound`, until it deletes none; each
/// batch is its own transaction, retried when it fails with a retryable error: a registration
/// that lifts the expiry of its token's entries locks some of the same rows in another order,
/// and PostgreSQL then aborts one of the two with a deadlock.
async fn delete_in_batches(inner: &Inner, sql: &'static str, bound: Millis) -> PgResult<u64> {
    let mut deleted = 0u64;
    loop {
        let n = transaction!(inner, |tx| tx.execute(sql, &[&bound]).await?)?;
        deleted += n;
        if n == 0 {
            return Ok(deleted);
        }
    }
}
