//! What a store operation can fail with, whichever backend runs it.

use crate::store::SCHEMA_VERSION;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed (I/O, a full disk, a lost connection): the backend's own
    /// error, as text.
    #[error("storage error: {0}")]
    Storage(String),
    #[error("cannot use data dir {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("data dir {path} is in use by another visitord process (the store is locked)")]
    Locked { path: String },
    #[error("corrupt record in tree {tree} at key {key:?}")]
    Corrupt { tree: &'static str, key: Vec<u8> },
    #[error("cannot encode a record: {0}")]
    Encode(String),
    #[error("store schema version {found} is newer than this build supports ({SCHEMA_VERSION}); upgrade visitord")]
    SchemaTooNew { found: u64 },
    #[error("store invariant broken: {0}")]
    Invariant(&'static str),
    #[error("durable flush failed: {0}")]
    Flush(String),
    #[error("{0}")]
    Refused(Refusal),
}

/// A request the data does not allow; the HTTP layer turns each into its Rocket.Chat error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no visitor has this token")]
    InvalidToken,
    #[error("the room is closed")]
    RoomClosed,
    #[error("the room does not exist or is not this visitor's")]
    InvalidRoom,
    #[error("the visitor has an open room")]
    VisitorHasOpenRooms,
    #[error("a message with this id already exists")]
    MessageIdTaken,
    #[error("the username is taken")]
    UsernameTaken,
    #[error("no such user")]
    UnknownUser,
    #[error("the change would leave no active admin")]
    LastAdmin,
    #[error("the visitor would have too many custom fields")]
    TooManyCustomFields,
}

impl From<Refusal> for StoreError {
    fn from(r: Refusal) -> Self {
        StoreError::Refused(r)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
