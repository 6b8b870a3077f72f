//! Livechat rooms of visitors and the messages visitors send in them.

use super::keys;
use super::room_rows::{write_message, write_room};
use super::{get_decoded, id_value, Refusal, Result, Store};
use crate::domain::rules;
use crate::model::ids::new_id;
use crate::model::{LastChat, Message, PageVisit, Room, RoomSource, Visitor};
use crate::time::Millis;

impl Store {
    /// The room with this id.
    pub fn room_by_id(&self, rid: &str) -> Result<Option<Room>> {
        get_decoded(&self.trees().roomid_room, "roomid_room", rid.as_bytes())
    }

    /// The open room of a visitor, if it has one.
    pub fn open_room_of(&self, visitor_id: &str) -> Result<Option<Room>> {
        match self
            .trees()
            .visitorid_openroomid
            .get(visitor_id.as_bytes())?
        {
            Some(rid) => {
                let rid = id_value("visitorid_openroomid", visitor_id.as_bytes(), &rid)?;
                self.room_by_id(&rid)
            }
            None => Ok(None),
        }
    }

    /// Every room of a visitor, oldest first.
    pub fn rooms_of_visitor(&self, visitor_id: &str) -> Result<Vec<Room>> {
        let mut rooms = Vec::new();
        for row in self
            .trees()
            .visitorid_roomtime
            .scan_prefix(keys::prefix(visitor_id))
        {
            let (key, _) = row?;
            let rid =
                keys::id_after_owner_time(&key).ok_or_else(|| super::StoreError::Corrupt {
                    tree: "visitorid_roomtime",
                    key: key.to_vec(),
                })?;
            if let Some(room) = self.room_by_id(rid)? {
                rooms.push(room);
            }
        }
        Ok(rooms)
    }

    /// The messages of a room, oldest first.
    pub fn messages_of_room(&self, rid: &str) -> Result<Vec<Message>> {
        let t = self.trees();
        self.ids_with_prefix(
            &t.roomid_msgtime_msgid,
            "roomid_msgtime_msgid",
            &keys::prefix(rid),
        )?
        .iter()
        .filter_map(|id| get_decoded(&t.msgid_message, "msgid_message", id.as_bytes()).transpose())
        .collect()
    }

    /// `GET livechat/room`. Without `rid`: the visitor's open room, or a new one opened from
    /// `source` (a new room becomes the visitor's `lastChat` and adopts its token's room-less
    /// history). With `rid`: that room when it is this visitor's and open, else
    /// [`Refusal::InvalidRoom`]: no room is ever created under a client-chosen id.
    /// Returns the room and whether it is new.
    pub fn open_room(
        &self,
        token: &str,
        rid: Option<&str>,
        source: RoomSource,
        now: Millis,
    ) -> Result<(Room, bool)> {
        let visitor = self.visitor_by_token(token)?.ok_or(Refusal::InvalidToken)?;
        if let Some(rid) = rid {
            return match self.room_by_id(rid)? {
                Some(room) if room.v.id == visitor.id && room.open => Ok((room, false)),
                _ => Err(Refusal::InvalidRoom.into()),
            };
        }
        let _writer = self.lock();
        // Read again under the lock: the visitor may have changed since the first read.
        let visitor = self.visitor_by_token(token)?.ok_or(Refusal::InvalidToken)?;
        if let Some(open) = self.open_room_of(&visitor.id)? {
            return Ok((open, false));
        }
        let room = Room::opened_by(&visitor, new_id(), now, self.next_seq()?, source);
        let adopt: Vec<PageVisit> = self
            .page_visits_of_token(token)?
            .into_iter()
            .filter(|p| p.rid.is_none() || p.expire_at.is_some())
            .collect();
        let mut updated = visitor.clone();
        updated.last_chat = Some(LastChat::of(&room));
        updated.updated_at = now;
        self.transact(|tx| {
            write_room(tx, &room)?;
            super::visitor_rows::write_visitor(tx, Some(&visitor), &updated)?;
            for visit in &adopt {
                super::history::adopt(tx, visit, &room.id)?;
            }
            Ok(())
        })?;
        Ok((room, true))
    }

    /// The open room `rid` of the visitor of `token`, refused in Rocket.Chat's order (see
    /// [`rules::writable_room`]).
    fn writable_room(&self, token: &str, rid: &str) -> Result<(Visitor, Room)> {
        let visitor = self.visitor_by_token(token)?.ok_or(Refusal::InvalidToken)?;
        let room = rules::writable_room(&visitor, self.room_by_id(rid)?)?;
        Ok((visitor, room))
    }

    /// `POST livechat/room.close`: closes the visitor's open room `rid`. Refuses, in
    /// Rocket.Chat's order: an unknown token, a room that is not this visitor's, a closed room.
    pub fn close_room(&self, token: &str, rid: &str, now: Millis) -> Result<Room> {
        let _writer = self.lock();
        let (_, mut room) = self.writable_room(token, rid)?;
        room.close_by_visitor(now);
        room.updated_at = now;
        self.transact(|tx| write_room(tx, &room))?;
        Ok(room)
    }

    /// `POST livechat/message`: a visitor's message in its open room. Resending a message id
    /// the visitor already used in that room returns the stored message (safe retries).
    pub fn add_message(
        &self,
        token: &str,
        rid: &str,
        text: &str,
        id: Option<&str>,
        now: Millis,
    ) -> Result<Message> {
        let _writer = self.lock();
        let (visitor, mut room) = self.writable_room(token, rid)?;
        if let Some(id) = id {
            let stored: Option<Message> =
                get_decoded(&self.trees().msgid_message, "msgid_message", id.as_bytes())?;
            if let Some(existing) = stored {
                return rules::resent_message(existing, rid, &visitor);
            }
        }
        let id = id.map(str::to_string).unwrap_or_else(new_id);
        let msg = room.visitor_message(&visitor, id, text.to_string(), now, self.next_seq()?);
        room.updated_at = now;
        self.transact(|tx| {
            write_message(tx, &msg)?;
            write_room(tx, &room)
        })?;
        Ok(msg)
    }
}
