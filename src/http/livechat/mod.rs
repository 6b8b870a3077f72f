//! The visitor side: what the Livechat widget and the site tracker call, authenticated by the
//! visitor token alone (`/api/v1/livechat/...`).

pub mod navigation;
pub mod room;
pub mod visitor;
