//! Stored records (bincode on disk) and their JSON wire views.
//!
//! Records are plain structs with no serde skipping, because bincode is not self-describing;
//! the wire views in [`wire`] decide which fields a client sees.

pub mod ids;
pub mod limits;
pub mod wire;

use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Sorts `items` by `sort` (`(field, ascending)` pairs, compared by `compare`): the one sort
/// of every paginated list. Equal items are ordered by `tie` (write order, `seq`, for
/// records): the later first when the first field descends, last when it ascends (§1.5), so
/// results never depend on chance.
pub fn sort_by_fields<T, F, K: Ord>(
    items: &mut [T],
    sort: &[(F, bool)],
    compare: impl Fn(&F, &T, &T) -> Ordering,
    seq: impl Fn(&T) -> K,
) {
    let tie_ascending = sort.first().is_some_and(|(_, ascending)| *ascending);
    items.sort_by(|a, b| {
        for (field, ascending) in sort {
            let ord = compare(field, a, b);
            if ord != Ordering::Equal {
                return if *ascending { ord } else { ord.reverse() };
            }
        }
        if tie_ascending {
            seq(a).cmp(&seq(b))
        } else {
            seq(b).cmp(&seq(a))
        }
    });
}

/// A livechat visitor (`rocketchat_livechat_visitor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visitor {
    pub id: String,
    pub token: String,
    pub username: String,
    pub ts: Millis,
    pub updated_at: Millis,
    /// Write-order sequence, the tie-breaker of equal `ts`.
    pub seq: u64,
    pub status: String,
    pub name: Option<String>,
    /// Trimmed, lower-cased.
    pub email: Option<String>,
    /// As sent.
    pub phone: Option<String>,
    pub department: Option<String>,
    /// `livechatData`: custom field id → value, in insertion order.
    pub livechat_data: Vec<(String, String)>,
    pub last_chat: Option<LastChat>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub host: Option<String>,
}

impl Visitor {
    /// A visitor with only its identity: no contact data, custom fields or chat, `online`,
    /// username empty (the store names it), write order 0 (the store numbers it).
    pub fn new(id: String, token: String, ts: Millis) -> Visitor {
        Visitor {
            id,
            token,
            username: String::new(),
            ts,
            updated_at: ts,
            seq: 0,
            status: "online".into(),
            name: None,
            email: None,
            phone: None,
            department: None,
            livechat_data: Vec::new(),
            last_chat: None,
            user_agent: None,
            ip: None,
            host: None,
        }
    }

    pub fn custom_field(&self, key: &str) -> Option<&str> {
        self.livechat_data
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_custom_field(&mut self, key: &str, value: &str) {
        match self.livechat_data.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self
                .livechat_data
                .push((key.to_string(), value.to_string())),
        }
    }
}

/// `lastChat`: the visitor's newest room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastChat {
    pub rid: String,
    pub ts: Millis,
}

/// A livechat room (`t:"l"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub id: String,
    pub fname: String,
    pub msgs: u64,
    pub users_count: u64,
    pub ts: Millis,
    pub seq: u64,
    pub lm: Option<Millis>,
    pub open: bool,
    pub closed_at: Option<Millis>,
    pub closer: Option<String>,
    pub waiting_response: bool,
    pub updated_at: Millis,
    pub v: RoomVisitor,
    /// Where the room was opened from (schema 3; rooms of older stores became `Api`).
    pub source: RoomSource,
}

impl Room {
    /// A new open room of `visitor`, named after it, waiting for an answer, without messages.
    pub fn opened_by(
        visitor: &Visitor,
        id: String,
        ts: Millis,
        seq: u64,
        source: RoomSource,
    ) -> Room {
        Room {
            id,
            fname: visitor
                .name
                .clone()
                .unwrap_or_else(|| visitor.username.clone()),
            msgs: 0,
            users_count: 1,
            ts,
            seq,
            lm: None,
            open: true,
            closed_at: None,
            closer: None,
            waiting_response: true,
            updated_at: ts,
            v: RoomVisitor {
                id: visitor.id.clone(),
                username: visitor.username.clone(),
                token: visitor.token.clone(),
                status: visitor.status.clone(),
            },
            source,
        }
    }

    /// Closes the room as its visitor does (`updated_at` is the caller's).
    pub fn close_by_visitor(&mut self, at: Millis) {
        self.open = false;
        self.closed_at = Some(at);
        self.closer = Some("visitor".into());
        self.waiting_response = false;
    }

    /// `visitor`'s message `text` in this room, counted as its last (`updated_at` is the
    /// caller's).
    pub fn visitor_message(
        &mut self,
        visitor: &Visitor,
        id: String,
        text: String,
        ts: Millis,
        seq: u64,
    ) -> Message {
        self.msgs += 1;
        self.lm = Some(ts);
        Message {
            id,
            rid: self.id.clone(),
            msg: text,
            ts,
            seq,
            u_id: visitor.id.clone(),
            u_username: visitor.username.clone(),
            u_name: visitor.name.clone(),
            updated_at: ts,
        }
    }
}

impl LastChat {
    /// The visitor's newest room is `room`.
    pub fn of(room: &Room) -> LastChat {
        LastChat {
            rid: room.id.clone(),
            ts: room.ts,
        }
    }
}

/// `source.type` of a room: the client that opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomSource {
    /// Any REST client (`{"type":"api"}`).
    Api,
    /// The Livechat widget, known by its cookies (`{"type":"widget"}`).
    Widget,
}

impl RoomSource {
    /// The `source.type` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomSource::Api => "api",
            RoomSource::Widget => "widget",
        }
    }
}

/// A room's copy of its visitor (`v`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomVisitor {
    pub id: String,
    pub username: String,
    pub token: String,
    pub status: String,
}

impl Visitor {
    /// The name a room of this visitor shows (`fname`): the visitor's name, else the username.
    pub fn room_fname(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.username.clone())
    }
}

impl From<&Visitor> for RoomVisitor {
    /// The room's copy of `visitor`.
    fn from(visitor: &Visitor) -> RoomVisitor {
        RoomVisitor {
            id: visitor.id.clone(),
            username: visitor.username.clone(),
            token: visitor.token.clone(),
            status: visitor.status.clone(),
        }
    }
}

/// A message a visitor sent in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub rid: String,
    pub msg: String,
    pub ts: Millis,
    pub seq: u64,
    pub u_id: String,
    pub u_username: String,
    pub u_name: Option<String>,
    pub updated_at: Millis,
}

/// A navigation-history entry (a hidden `livechat_navigation_history` message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageVisit {
    pub id: String,
    /// The room, when one was given or the entry was adopted by a new room.
    pub rid: Option<String>,
    pub token: String,
    pub ts: Millis,
    pub seq: u64,
    pub title: String,
    pub change: String,
    pub href: String,
    pub updated_at: Millis,
    /// When set, the pruner deletes the entry after this time (room-less, unregistered token).
    pub expire_at: Option<Millis>,
}

impl PageVisit {
    /// `"<title> - <href>"`, Rocket.Chat's message text.
    pub fn msg(&self) -> String {
        format!("{} - {}", self.title, self.href)
    }
}

/// An agent, manager or admin who logs in to the agent-facing API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// argon2 PHC string; never leaves the store layer in a response.
    pub password_hash: String,
    pub roles: Vec<String>,
    pub active: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A login: which user a token hash belongs to, and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}
