//! Integration tests of the Livechat visitor API, one module per area.
//! Shared helpers (requests, shape assertions) live in `util`.

mod delete;
mod envelope;
mod message_errors;
mod page_visited;
mod ratelimit;
mod roomless_ttl;
mod rooms;
pub mod util;
mod visitor_get;
mod visitor_register;
