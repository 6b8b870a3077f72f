//! JSON views of stored records, in Rocket.Chat's field names and order.
//!
//! Absent fields are left out, never `null`. `Token::Hide` drops visitor tokens for agent views.

use super::{Message, PageVisit, Room, Visitor};
use crate::time::iso;
use serde_json::{json, Map, Value};

/// Whether a view may carry the visitor's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Visitor-facing endpoints: the visitor's own token is part of the answer.
    Show,
    /// Agent-facing endpoints: never a visitor token.
    Hide,
}

fn put_opt(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.to_string(), Value::String(v.clone()));
    }
}

/// The visitor document (§3.1).
pub fn visitor(v: &Visitor, token: Token) -> Value {
    let mut m = Map::new();
    m.insert("_id".into(), json!(v.id));
    if token == Token::Show {
        m.insert("token".into(), json!(v.token));
    }
    m.insert("username".into(), json!(v.username));
    m.insert("ts".into(), json!(iso(v.ts)));
    m.insert("_updatedAt".into(), json!(iso(v.updated_at)));
    m.insert("status".into(), json!(v.status));
    put_opt(&mut m, "name", &v.name);
    if let Some(email) = &v.email {
        m.insert("visitorEmails".into(), json!([{ "address": email }]));
    }
    if let Some(phone) = &v.phone {
        m.insert("phone".into(), json!([{ "phoneNumber": phone }]));
    }
    put_opt(&mut m, "department", &v.department);
    if !v.livechat_data.is_empty() {
        m.insert("livechatData".into(), livechat_data(v));
    }
    if let Some(last) = &v.last_chat {
        m.insert(
            "lastChat".into(),
            json!({ "_id": last.rid, "ts": iso(last.ts) }),
        );
    }
    put_opt(&mut m, "userAgent", &v.user_agent);
    put_opt(&mut m, "ip", &v.ip);
    put_opt(&mut m, "host", &v.host);
    Value::Object(m)
}

/// `livechatData` as an object of strings, in insertion order.
pub fn livechat_data(v: &Visitor) -> Value {
    let map: Map<String, Value> = v
        .livechat_data
        .iter()
        .map(|(k, val)| (k.clone(), Value::String(val.clone())))
        .collect();
    Value::Object(map)
}

/// The livechat room document (§3.2).
pub fn room(r: &Room, token: Token) -> Value {
    let mut m = Map::new();
    m.insert("_id".into(), json!(r.id));
    m.insert("t".into(), json!("l"));
    m.insert("fname".into(), json!(r.fname));
    m.insert("msgs".into(), json!(r.msgs));
    m.insert("usersCount".into(), json!(r.users_count));
    m.insert("ts".into(), json!(iso(r.ts)));
    if let Some(lm) = r.lm {
        m.insert("lm".into(), json!(iso(lm)));
    }
    if r.open {
        m.insert("open".into(), json!(true));
    }
    if let Some(closed) = r.closed_at {
        m.insert("closedAt".into(), json!(iso(closed)));
    }
    put_opt(&mut m, "closer", &r.closer);
    let mut v = Map::new();
    v.insert("_id".into(), json!(r.v.id));
    v.insert("username".into(), json!(r.v.username));
    if token == Token::Show {
        v.insert("token".into(), json!(r.v.token));
    }
    v.insert("status".into(), json!(r.v.status));
    m.insert("v".into(), Value::Object(v));
    m.insert("source".into(), json!({ "type": r.source.as_str() }));
    if r.waiting_response {
        m.insert("waitingResponse".into(), json!(true));
    }
    m.insert("_updatedAt".into(), json!(iso(r.updated_at)));
    Value::Object(m)
}

/// A visitor's chat message as `POST livechat/message` answers it.
pub fn message(msg: &Message) -> Value {
    let mut u = Map::new();
    u.insert("_id".into(), json!(msg.u_id));
    u.insert("username".into(), json!(msg.u_username));
    put_opt(&mut u, "name", &msg.u_name);
    json!({
        "_id": msg.id,
        "rid": msg.rid,
        "msg": msg.msg,
        "ts": iso(msg.ts),
        "u": Value::Object(u),
    })
}

/// `navigation.page` of a stored entry.
pub fn page_info(p: &PageVisit) -> Value {
    json!({ "change": p.change, "title": p.title, "location": { "href": p.href } })
}

/// A stored navigation-history entry as the message Rocket.Chat keeps.
pub fn page_visit(p: &PageVisit, token: Token) -> Value {
    let mut m = Map::new();
    m.insert("_id".into(), json!(p.id));
    m.insert("t".into(), json!("livechat_navigation_history"));
    put_opt(&mut m, "rid", &p.rid);
    m.insert("ts".into(), json!(iso(p.ts)));
    m.insert("msg".into(), json!(p.msg()));
    m.insert(
        "u".into(),
        json!({ "_id": "rocket.cat", "username": "rocket.cat", "name": "Rocket.Cat" }),
    );
    m.insert("groupable".into(), json!(false));
    let mut nav = Map::new();
    nav.insert("page".into(), page_info(p));
    if token == Token::Show {
        nav.insert("token".into(), json!(p.token));
    }
    m.insert("navigation".into(), Value::Object(nav));
    m.insert("_hidden".into(), json!(true));
    if let Some(exp) = p.expire_at {
        m.insert("expireAt".into(), json!(iso(exp)));
    }
    m.insert("_updatedAt".into(), json!(iso(p.updated_at)));
    Value::Object(m)
}

/// `_id`, `username`, `name`, `emails` of a user: what every view of a user starts with.
fn user_base(u: &crate::model::User) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_id".into(), json!(u.id));
    m.insert("username".into(), json!(u.username));
    put_opt(&mut m, "name", &u.name);
    if let Some(email) = &u.email {
        m.insert(
            "emails".into(),
            json!([{ "address": email, "verified": false }]),
        );
    }
    m.insert("roles".into(), json!(u.roles));
    m
}

/// A user as the user administration endpoints show it (never a password or token hash).
pub fn user(u: &crate::model::User) -> Value {
    let mut m = user_base(u);
    m.insert("active".into(), json!(u.active));
    m.insert("createdAt".into(), json!(iso(u.created_at)));
    m.insert("_updatedAt".into(), json!(iso(u.updated_at)));
    Value::Object(m)
}

/// The caller as `login` (`data.me`) and `me` show it.
pub fn me(u: &crate::model::User) -> Map<String, Value> {
    let mut m = user_base(u);
    m.insert("status".into(), json!("online"));
    m.insert("active".into(), json!(u.active));
    m
}
