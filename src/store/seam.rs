//! The sled store behind the store seam ([`crate::domain::Backend`]): each method is the
//! store's own method of the same name (given a request's fields one by one).

use super::{Result, Store};
use crate::domain::{
    Backend, Counts, MessageInput, NewUser, Overview, PageVisitInput, Registration, RoomRequest,
    SearchPage, SearchQuery, UserChanges,
};
use crate::model::{Message, PageVisit, Room, Session, User, Visitor};
use crate::time::Millis;
use futures_util::future::BoxFuture;

impl Backend for Store {
    fn register_visitor(&self, reg: &Registration, now: Millis) -> Result<Visitor> {
        Store::register_visitor(self, reg, now)
    }
    fn visitor_by_token(&self, token: &str) -> Result<Option<Visitor>> {
        Store::visitor_by_token(self, token)
    }
    fn visitor_by_id(&self, id: &str) -> Result<Option<Visitor>> {
        Store::visitor_by_id(self, id)
    }
    fn delete_visitor(&self, token: &str, allow_open_rooms: bool) -> Result<String> {
        Store::delete_visitor(self, token, allow_open_rooms)
    }
    fn search_visitors(&self, query: &SearchQuery) -> Result<SearchPage> {
        Store::search_visitors(self, query)
    }
    fn visitor_count(&self) -> Result<u64> {
        Store::visitor_count(self)
    }
    fn user_count(&self) -> Result<u64> {
        Ok(self.trees().userid_user.len() as u64)
    }
    fn overview(&self, now: Millis, days: u32, top_days: u32, top: usize) -> Result<Overview> {
        Store::overview(self, now, days, top_days, top)
    }
    fn record_page_visit(
        &self,
        input: &PageVisitInput,
        now: Millis,
        roomless_ttl: Option<Millis>,
    ) -> Result<PageVisit> {
        Store::record_page_visit(self, input, now, roomless_ttl)
    }
    fn page_visits_of_room(&self, rid: &str) -> Result<Vec<PageVisit>> {
        Store::page_visits_of_room(self, rid)
    }
    fn page_visits_of_token(&self, token: &str) -> Result<Vec<PageVisit>> {
        Store::page_visits_of_token(self, token)
    }
    fn open_room(&self, request: &RoomRequest, now: Millis) -> Result<(Room, bool)> {
        let RoomRequest { token, rid, source } = request;
        Store::open_room(self, token, rid.as_deref(), *source, now)
    }
    fn room_by_id(&self, rid: &str) -> Result<Option<Room>> {
        Store::room_by_id(self, rid)
    }
    fn rooms_of_visitor(&self, visitor_id: &str) -> Result<Vec<Room>> {
        Store::rooms_of_visitor(self, visitor_id)
    }
    fn close_room(&self, token: &str, rid: &str, now: Millis) -> Result<Room> {
        Store::close_room(self, token, rid, now)
    }
    fn add_message(&self, message: &MessageInput, now: Millis) -> Result<Message> {
        let MessageInput {
            token,
            rid,
            text,
            id,
        } = message;
        Store::add_message(self, token, rid, text, id.as_deref(), now)
    }
    fn messages_of_room(&self, rid: &str) -> Result<Vec<Message>> {
        Store::messages_of_room(self, rid)
    }
    fn create_user(&self, new: NewUser, now: Millis) -> Result<User> {
        Store::create_user(self, new, now)
    }
    fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        Store::user_by_id(self, id)
    }
    fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        Store::user_by_username(self, username)
    }
    fn list_users(&self) -> Result<Vec<User>> {
        Store::list_users(self)
    }
    fn update_user(&self, id: &str, changes: UserChanges, now: Millis) -> Result<User> {
        Store::update_user(self, id, changes, now)
    }
    fn delete_user(&self, id: &str) -> Result<User> {
        Store::delete_user(self, id)
    }
    fn session(&self, token_hash: &[u8]) -> Result<Option<Session>> {
        Store::session(self, token_hash)
    }
    fn create_login_session(
        &self,
        token_hash: &[u8],
        session: &Session,
        verified_hash: &str,
    ) -> Result<bool> {
        Store::create_login_session(self, token_hash, session, verified_hash)
    }
    fn revoke_session(&self, token_hash: &[u8]) -> Result<()> {
        Store::revoke_session(self, token_hash)
    }
    fn healthy(&self) -> bool {
        Store::healthy(self)
    }
    fn durable(&self) -> BoxFuture<'static, Result<()>> {
        Box::pin(Store::durable(self))
    }
    fn announce_write(&self) {
        Store::announce_write(self)
    }
    fn durable_announced(&self) -> BoxFuture<'static, Result<()>> {
        Box::pin(Store::durable_announced(self))
    }
    fn counts(&self) -> Counts {
        Store::counts(self)
    }
    fn flush(&self) -> Result<()> {
        Store::flush(self)
    }
    fn prune_history(&self, now: Millis, retention: Option<Millis>) -> Result<u64> {
        Store::prune_history(self, now, retention)
    }
    fn prune_sessions(&self, now: Millis) -> Result<u64> {
        Store::prune_sessions(self, now)
    }
}
