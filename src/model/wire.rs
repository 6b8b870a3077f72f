//! JSON views of stored records, in Rocket.Chat's field names and order.
//!
//! Absent fields are left out, never `null`. `Token::Hide` drops visitor tokens for agent views.

use super::{Message, PageVisit, Room, Visitor};
use crate::time::iso;
use serde::{Serialize, Serializer};
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

/// The visitor document (§3.1), serialized straight from the record (no intermediate map):
/// Rocket.Chat's field order, absent fields left out.
#[derive(Serialize)]
pub struct VisitorDoc<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    username: &'a str,
    ts: String,
    #[serde(rename = "_updatedAt")]
    updated_at: String,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "visitorEmails", skip_serializing_if = "Option::is_none")]
    emails: Option<[EmailDoc<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<[PhoneDoc<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<&'a str>,
    #[serde(rename = "livechatData", skip_serializing_if = "Option::is_none")]
    livechat_data: Option<Pairs<'a>>,
    #[serde(rename = "lastChat", skip_serializing_if = "Option::is_none")]
    last_chat: Option<LastChatDoc<'a>>,
    #[serde(rename = "userAgent", skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
}

/// `{"address": …}` of `visitorEmails`.
#[derive(Serialize)]
struct EmailDoc<'a> {
    address: &'a str,
}

/// `{"phoneNumber": …}` of `phone`.
#[derive(Serialize)]
struct PhoneDoc<'a> {
    #[serde(rename = "phoneNumber")]
    phone_number: &'a str,
}

/// `lastChat`: the room and when it was opened.
#[derive(Serialize)]
struct LastChatDoc<'a> {
    #[serde(rename = "_id")]
    rid: &'a str,
    ts: String,
}

/// Custom fields as an object of strings, in insertion order (keys are unique in a record).
struct Pairs<'a>(&'a [(String, String)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'a> VisitorDoc<'a> {
    /// The document of `v`; with `Token::Hide` without its token.
    pub fn of(v: &'a Visitor, token: Token) -> VisitorDoc<'a> {
        VisitorDoc {
            id: &v.id,
            token: (token == Token::Show).then_some(v.token.as_str()),
            username: &v.username,
            ts: iso(v.ts),
            updated_at: iso(v.updated_at),
            status: &v.status,
            name: v.name.as_deref(),
            emails: v.email.as_deref().map(|address| [EmailDoc { address }]),
            phone: v
                .phone
                .as_deref()
                .map(|phone_number| [PhoneDoc { phone_number }]),
            department: v.department.as_deref(),
            livechat_data: (!v.livechat_data.is_empty()).then_some(Pairs(&v.livechat_data)),
            last_chat: v.last_chat.as_ref().map(|last| LastChatDoc {
                rid: &last.rid,
                ts: iso(last.ts),
            }),
            user_agent: v.user_agent.as_deref(),
            ip: v.ip.as_deref(),
            host: v.host.as_deref(),
        }
    }
}

/// The visitor document (§3.1) as a JSON value, for answers that embed it in more.
pub fn visitor(v: &Visitor, token: Token) -> Value {
    // Strings and maps with string keys: serializing them to a value cannot fail.
    serde_json::to_value(VisitorDoc::of(v, token)).unwrap_or_default()
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
