//! The rows of a room and of a message: each record with its index rows, written and removed
//! together inside a transaction. Used by every writer of rooms (the chat loop, erasure, bulk
//! loads, restores) and by the consistency check, which derives the same keys.

use super::keys;
use super::{Tx, TxResult};
use crate::model::{Message, Room};

/// A message's key in its room's message index (`roomid_msgtime_msgid`).
pub(super) fn message_key(msg: &Message) -> Vec<u8> {
    keys::owner_time(&msg.rid, msg.ts, msg.seq)
}

/// Writes a message and its index row.
pub(super) fn write_message(tx: &Tx, msg: &Message) -> TxResult<()> {
    tx.put(tx.msgid_message, msg.id.as_bytes(), msg)?;
    tx.roomid_msgtime_msgid
        .insert_blind(message_key(msg), msg.id.as_bytes())?;
    Ok(())
}

/// A room's key in the per-visitor room index.
pub(super) fn visitor_room_key(room: &Room) -> Vec<u8> {
    keys::owner_time_id(&room.v.id, room.ts, room.seq, &room.id)
}

/// Writes a room record with all of its index rows.
pub(super) fn write_room(tx: &Tx, room: &Room) -> TxResult<()> {
    tx.put(tx.roomid_room, room.id.as_bytes(), room)?;
    tx.visitorid_roomtime
        .insert_blind(visitor_room_key(room), &[][..])?;
    if room.open {
        tx.visitorid_openroomid
            .insert_blind(room.v.id.as_bytes(), room.id.as_bytes())?;
        Ok(())
    } else {
        forget_open_room(tx, room)
    }
}

/// The rows of a closed room that no row names yet (one a bulk load creates): its record and
/// its row in the visitor's room index, as [`write_room`] writes them (whose open-room
/// bookkeeping has nothing to do for such a room: no open-room row can name a new id).
pub(super) fn new_closed_room_rows(room: &Room) -> super::Result<[super::runs::TreeRow; 2]> {
    Ok([
        (
            "roomid_room",
            room.id.as_bytes().to_vec(),
            super::encode(room)?,
        ),
        ("visitorid_roomtime", visitor_room_key(room), Vec::new()),
    ])
}

/// Removes the visitor's open-room row if it names `room`.
fn forget_open_room(tx: &Tx, room: &Room) -> TxResult<()> {
    let visitor = room.v.id.as_bytes();
    if tx.visitorid_openroomid.get(visitor)?.as_deref() == Some(room.id.as_bytes()) {
        tx.visitorid_openroomid.remove_blind(visitor)?;
    }
    Ok(())
}

/// Removes a room record and its index rows.
pub(super) fn erase_room(tx: &Tx, room: &Room) -> TxResult<()> {
    tx.roomid_room.remove_blind(room.id.as_bytes())?;
    tx.visitorid_roomtime.remove_blind(visitor_room_key(room))?;
    forget_open_room(tx, room)
}

/// Removes a message and its index row.
pub(super) fn erase_message(tx: &Tx, msg: &Message) -> TxResult<()> {
    tx.msgid_message.remove_blind(msg.id.as_bytes())?;
    tx.roomid_msgtime_msgid.remove_blind(message_key(msg))?;
    Ok(())
}
