//! The plain inputs and outputs of the store's domain methods ([`super::Backend`]): what the
//! HTTP layer and the commands hand to a backend and get back, besides the records of
//! [`crate::model`]. No storage type appears here.

use crate::model::{Message, PageVisit, Room, RoomSource, Visitor};

/// One `POST livechat/visitor`, validated and with custom fields already filtered by mode.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub token: String,
    pub name: Option<String>,
    /// Trimmed and lower-cased.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub department: Option<String>,
    pub custom_fields: Vec<CustomFieldWrite>,
    /// Stored on creation only, when the server is configured to keep them.
    pub http: Option<HttpInfo>,
    /// Which contact data may match a visitor of another token (`livechat.merge_by`).
    pub merge: MergePolicy,
}

/// Besides the token, what may make a registration update an existing visitor
/// (`livechat.merge_by`). The default matches by token only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergePolicy {
    /// A visitor with exactly this stored phone is updated and keeps its token.
    pub phone: bool,
    /// A visitor with this (lower-cased) email is updated and takes the new token.
    pub email: bool,
}

impl MergePolicy {
    /// The policy of `livechat.merge_by`.
    pub fn of(merge_by: &[crate::config::MergeBy]) -> MergePolicy {
        use crate::config::MergeBy;
        MergePolicy {
            phone: merge_by.contains(&MergeBy::Phone),
            email: merge_by.contains(&MergeBy::Email),
        }
    }

    /// Rocket.Chat's policy: phone, then email.
    pub fn rocketchat() -> MergePolicy {
        MergePolicy {
            phone: true,
            email: true,
        }
    }
}

/// One `customFields` entry to apply.
#[derive(Debug, Clone)]
pub struct CustomFieldWrite {
    pub key: String,
    pub value: String,
    /// `false`: only set when the visitor has no non-empty value.
    pub overwrite: bool,
}

/// Request headers a visitor may be created with.
#[derive(Debug, Clone, Default)]
pub struct HttpInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub host: Option<String>,
}

/// One `GET livechat/room`, validated.
#[derive(Debug, Clone)]
pub struct RoomRequest {
    pub token: String,
    /// Only this open room of the visitor; `None`: its open room, or a new one.
    pub rid: Option<String>,
    /// Where a new room is opened from.
    pub source: RoomSource,
}

/// One `POST livechat/message`, validated.
#[derive(Debug, Clone)]
pub struct MessageInput {
    pub token: String,
    pub rid: String,
    pub text: String,
    /// The id the client chose; `None`: a new one.
    pub id: Option<String>,
}

impl RoomRequest {
    /// A request for `token`'s room (`rid`: only that open room).
    pub fn new(token: &str, rid: Option<&str>, source: RoomSource) -> RoomRequest {
        RoomRequest {
            token: token.to_string(),
            rid: rid.map(str::to_string),
            source,
        }
    }
}

impl MessageInput {
    /// `token`'s message `text` in room `rid` (`id`: the client's message id).
    pub fn new(token: &str, rid: &str, text: &str, id: Option<&str>) -> MessageInput {
        MessageInput {
            token: token.to_string(),
            rid: rid.to_string(),
            text: text.to_string(),
            id: id.map(str::to_string),
        }
    }
}

/// One `page.visited` body, validated.
#[derive(Debug, Clone)]
pub struct PageVisitInput {
    pub token: String,
    pub rid: Option<String>,
    pub title: String,
    pub change: String,
    pub href: String,
}

/// A user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub password_hash: String,
    pub roles: Vec<String>,
    /// `false` creates the user deactivated, in the same transaction (never briefly active).
    pub active: bool,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub password_hash: Option<String>,
    pub roles: Option<Vec<String>>,
    pub active: Option<bool>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// One new visitor and what belongs to it. Write-order numbers (`seq`) are assigned on write.
#[derive(Debug, Clone)]
pub struct ImportItem {
    pub visitor: Visitor,
    pub rooms: Vec<Room>,
    pub messages: Vec<Message>,
    pub visits: Vec<PageVisit>,
}

/// How many records the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub visitors: usize,
    pub users: usize,
    pub rooms: usize,
    pub messages: usize,
    pub page_visits: usize,
}

#[cfg(test)]
impl Registration {
    /// A registration of `token` and nothing else.
    pub fn of_token(token: &str) -> Registration {
        Registration {
            token: token.into(),
            ..Default::default()
        }
    }

    /// This registration, naming the visitor `name`.
    pub fn named(self, name: &str) -> Registration {
        Registration {
            name: Some(name.into()),
            ..self
        }
    }
}

impl PageVisitInput {
    /// `token` saw `href` (titled `title`), in room `rid` if any: a `url` change.
    pub fn url_change(token: &str, rid: Option<&str>, title: &str, href: &str) -> PageVisitInput {
        PageVisitInput {
            token: token.into(),
            rid: rid.map(str::to_string),
            title: title.into(),
            change: "url".into(),
            href: href.into(),
        }
    }
}
