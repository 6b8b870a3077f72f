//! The agent side: endpoints for logged-in users (`X-User-Id` + `X-Auth-Token`), checked
//! against their roles' permissions. None of them ever returns a visitor token.

pub mod login;
pub mod operations;
pub mod overview;
pub mod room_messages;
pub mod session;
pub mod users;
pub mod visitors;
