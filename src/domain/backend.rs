//! The store seam: every operation the HTTP layer asks of storage, as one trait whose inputs and
//! outputs are plain model types ([`crate::model`], [`super::inputs`], [`super::search`]).
//!
//! The embedded sled store ([`crate::store::Store`]) implements it; a second backend (an SQL
//! database) implements the same trait beside it and follows the same rules
//! ([`super::rules`]), and nothing in `src/http/` changes. Handlers reach it through
//! [`crate::http::read`] / [`crate::http::write`] (the blocking pool; a write answers only once
//! [`Backend::durable`] says it is on disk).
//!
//! Every method is one atomic operation: a refusal ([`super::Refusal`]) changes nothing.

use super::error::Result;
use super::inputs::{
    Counts, MessageInput, NewUser, PageVisitInput, Registration, RoomRequest, UserChanges,
};
use super::overview::Overview;
use super::search::{SearchPage, SearchQuery};
use crate::model::{Message, PageVisit, Room, Session, User, Visitor};
use crate::time::Millis;
use futures_util::future::BoxFuture;

/// What any storage backend offers the API.
pub trait Backend: Send + Sync + 'static {
    // --- visitors ---

    /// `POST livechat/visitor`: updates the visitor [`super::rules::target`] finds, else
    /// creates one (`guest-N` from a counter that never repeats); the visitor after the write.
    fn register_visitor(&self, reg: &Registration, now: Millis) -> Result<Visitor>;
    /// The visitor with this token.
    fn visitor_by_token(&self, token: &str) -> Result<Option<Visitor>>;
    /// The visitor with this `_id`.
    fn visitor_by_id(&self, id: &str) -> Result<Option<Visitor>>;
    /// GDPR erasure of the visitor of `token` with its rooms, messages and history; its `_id`.
    fn delete_visitor(&self, token: &str, allow_open_rooms: bool) -> Result<String>;
    /// `visitors.search`: a page of matches and the exact total.
    fn search_visitors(&self, query: &SearchQuery) -> Result<SearchPage>;
    /// How many visitors there are.
    fn visitor_count(&self) -> Result<u64>;
    /// How many agent accounts there are (the start: is there a first admin yet?).
    fn user_count(&self) -> Result<u64>;
    /// The overview as of `now` (see [`crate::domain::Overview`]): `days` days of counts up to
    /// today, the `top` most visited pages of the last `top_days` days. From counters kept in
    /// the write transactions, never by reading every visitor.
    fn overview(&self, now: Millis, days: u32, top_days: u32, top: usize) -> Result<Overview>;

    // --- navigation history ---

    /// Records a page visit (room-less unless `rid` is the token's visitor's room).
    fn record_page_visit(
        &self,
        input: &PageVisitInput,
        now: Millis,
        roomless_ttl: Option<Millis>,
    ) -> Result<PageVisit>;
    /// A room's history, oldest first.
    fn page_visits_of_room(&self, rid: &str) -> Result<Vec<PageVisit>>;
    /// Every entry of a token, with or without a room, oldest first.
    fn page_visits_of_token(&self, token: &str) -> Result<Vec<PageVisit>>;

    // --- rooms and messages ---

    /// The visitor's open room, or a new one; `true` when it was created.
    fn open_room(&self, request: &RoomRequest, now: Millis) -> Result<(Room, bool)>;
    /// The room with this id.
    fn room_by_id(&self, rid: &str) -> Result<Option<Room>>;
    /// A visitor's rooms, oldest first.
    fn rooms_of_visitor(&self, visitor_id: &str) -> Result<Vec<Room>>;
    /// The visitor of `token` closes its open room `rid`.
    fn close_room(&self, token: &str, rid: &str, now: Millis) -> Result<Room>;
    /// A visitor's message in its open room.
    fn add_message(&self, message: &MessageInput, now: Millis) -> Result<Message>;
    /// A room's messages, oldest first.
    fn messages_of_room(&self, rid: &str) -> Result<Vec<Message>>;

    // --- users and login sessions ---

    /// Creates a user (the username is free regardless of case).
    fn create_user(&self, new: NewUser, now: Millis) -> Result<User>;
    /// The user with this id.
    fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    /// The user with this username (case-insensitive).
    fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    /// Every user, by username.
    fn list_users(&self) -> Result<Vec<User>>;
    /// Applies `changes` (a new password or a deactivation revokes the user's sessions); never
    /// leaves no active admin.
    fn update_user(&self, id: &str, changes: UserChanges, now: Millis) -> Result<User>;
    /// Deletes a user with its sessions; never the last active admin.
    fn delete_user(&self, id: &str) -> Result<User>;
    /// The session of a login token's SHA-256.
    fn session(&self, token_hash: &[u8]) -> Result<Option<Session>>;
    /// Stores a new session unless the user's password hash is no longer `verified_hash`
    /// (changed while it was being checked): `false` then.
    fn create_login_session(
        &self,
        token_hash: &[u8],
        session: &Session,
        verified_hash: &str,
    ) -> Result<bool>;
    /// Ends one session (logout).
    fn revoke_session(&self, token_hash: &[u8]) -> Result<()>;

    // --- health and durability ---

    /// Whether reads work and the newest write and flush succeeded (`/health`).
    fn healthy(&self) -> bool;
    /// Waits until every write answered so far is durable (per `storage.durability`). What it
    /// covers is decided at the call.
    fn durable(&self) -> BoxFuture<'static, Result<()>>;
    /// Announces a write about to run, so that the next durable flush may wait for it briefly
    /// and cover it too (group commit); each announcement ends with
    /// [`Backend::durable_announced`]. A no-op where commits are durable one by one.
    fn announce_write(&self) {}
    /// [`Backend::durable`] for an announced write (call it whatever the write's outcome).
    fn durable_announced(&self) -> BoxFuture<'static, Result<()>> {
        self.durable()
    }
    /// How many records of each kind there are.
    fn counts(&self) -> Counts;
    /// Makes every write so far durable now (commands on a stopped store, before they exit).
    fn flush(&self) -> Result<()>;
    /// Whether a point read (one visitor, one session) is cheap enough to run on the calling
    /// async worker ([`crate::http::lookup`]): true for an in-process store, false for a network
    /// database, whose reads go to the blocking pool.
    fn point_reads_are_cheap(&self) -> bool {
        true
    }

    // --- failed logins across processes ---

    /// Whether failed logins are counted in the store, for every process sharing it (the
    /// postgres backend), rather than by each process in memory.
    fn shares_login_failures(&self) -> bool {
        false
    }
    /// Counts one more failed login of `key` at `now`, unless `limit` are counted already in
    /// its window (which starts with a key's first failure and lasts `window_ms`): the number
    /// counted before it (`None` when the window is full) and the window's start.
    fn reserve_login_failure(
        &self,
        _key: &str,
        now: Millis,
        _window_ms: Millis,
        _limit: u32,
    ) -> Result<(Option<u32>, Millis)> {
        Ok((Some(0), now))
    }
    /// Hands back one failure counted by [`Backend::reserve_login_failure`] (the password was
    /// right after all).
    fn release_login_failure(&self, _key: &str, _window_start: Millis) -> Result<()> {
        Ok(())
    }

    // --- background jobs ---

    /// Deletes expired navigation entries and, with `retention`, every entry older than
    /// `now - retention`; how many.
    fn prune_history(&self, now: Millis, retention: Option<Millis>) -> Result<u64>;
    /// Deletes login sessions expired at `now`; how many.
    fn prune_sessions(&self, now: Millis) -> Result<u64>;
}
