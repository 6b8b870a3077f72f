//! The shapes of the API's JSON, for the OpenAPI document ([`crate::http::reference::document`]).
//!
//! The bodies themselves are built by hand in `model::wire` and the handlers (Rocket.Chat's field
//! order, absent rather than `null`); these structs only *describe* them, through
//! `utoipa::ToSchema`. They are never serialized: `Serialize` is derived only so that the serde
//! attributes (`rename`, `deny_unknown_fields` → `additionalProperties: false`,
//! `skip_serializing_if` → optional) speak for the schema. The integration suite validates every
//! response it receives against the document, so a shape here that drifts from the wire fails it.

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Object, RefOr, Schema};
use utoipa::ToSchema;

/// `true` and nothing else.
pub fn always_true() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .build()
}

/// `false` and nothing else.
pub fn always_false() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([false]))
        .build()
}

/// Exactly the string `value`.
pub fn literal(value: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([value]))
        .build()
}

/// An ISO 8601 UTC time with milliseconds, as Rocket.Chat sends dates.
fn date_time() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        )))
        .examples(["2026-01-31T12:00:00.000Z"])
        .into()
}

fn is_none<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// An email address of a visitor.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorEmail {
    /// Trimmed and lower-cased.
    pub address: String,
}

/// A phone number of a visitor, as registered.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VisitorPhone {
    pub phone_number: String,
}

/// The visitor's last room.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LastChat {
    /// The room's id.
    #[serde(rename = "_id")]
    pub _id: String,
    #[schema(schema_with = date_time)]
    pub ts: String,
}

/// A Livechat visitor as the visitor-facing endpoints show it (its own `token` included).
/// Absent fields are left out, never `null`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Visitor {
    #[serde(rename = "_id")]
    pub _id: String,
    /// The visitor's token: the only credential of the visitor API.
    pub token: String,
    /// `guest-N` unless the registration named one.
    pub username: String,
    #[schema(schema_with = date_time)]
    pub ts: String,
    #[serde(rename = "_updatedAt")]
    #[schema(schema_with = date_time)]
    pub updated_at: String,
    #[schema(examples("online"))]
    pub status: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub visitor_emails: Option<Vec<VisitorEmail>>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub phone: Option<Vec<VisitorPhone>>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub department: Option<String>,
    /// Custom fields (at most 100), values as strings, in insertion order.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub livechat_data: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub last_chat: Option<LastChat>,
    /// Kept only with `livechat.store_http_headers`.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub user_agent: Option<String>,
    /// Kept only with `livechat.store_http_headers`.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub ip: Option<String>,
    /// Kept only with `livechat.store_http_headers`.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub host: Option<String>,
}

/// A visitor as the agent endpoints show it: never its token.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentVisitor {
    #[serde(rename = "_id")]
    pub _id: String,
    pub username: String,
    #[schema(schema_with = date_time)]
    pub ts: String,
    #[serde(rename = "_updatedAt")]
    #[schema(schema_with = date_time)]
    pub updated_at: String,
    pub status: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub visitor_emails: Option<Vec<VisitorEmail>>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub phone: Option<Vec<VisitorPhone>>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub livechat_data: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub last_chat: Option<LastChat>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub host: Option<String>,
}

/// Declares a visitor search result: the fields Rocket.Chat projects (never the token), then
/// `$extra` fields.
macro_rules! search_visitor {
    ($(#[$doc:meta])* $name:ident { $($(#[$attr:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Serialize, ToSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            #[serde(rename = "_id")]
            pub _id: String,
            pub username: String,
            #[serde(skip_serializing_if = "is_none")]
            #[schema(nullable = false)]
            pub name: Option<String>,
            #[serde(skip_serializing_if = "is_none")]
            #[schema(nullable = false, min_items = 1, max_items = 1)]
            pub phone: Option<Vec<VisitorPhone>>,
            #[serde(skip_serializing_if = "is_none")]
            #[schema(nullable = false, min_items = 1, max_items = 1)]
            pub visitor_emails: Option<Vec<VisitorEmail>>,
            #[serde(skip_serializing_if = "is_none")]
            #[schema(nullable = false)]
            pub livechat_data: Option<std::collections::BTreeMap<String, String>>,
            #[serde(skip_serializing_if = "is_none")]
            #[schema(nullable = false)]
            pub last_chat: Option<LastChat>,
            $($(#[$attr])* pub $field: $ty,)*
        }
    };
}

search_visitor!(
    /// A `visitors.search` result: the fields Rocket.Chat projects, never the token.
    SearchVisitor {}
);

search_visitor!(
    /// A `visitord.visitors.search` result: a [`SearchVisitor`] with when the visitor was
    /// created and last changed.
    ConsoleVisitor {
        #[schema(schema_with = date_time)]
        ts: String,
        #[serde(rename = "_updatedAt")]
        #[schema(schema_with = date_time)]
        updated_at: String,
    }
);

/// The visitor of a room, as the visitor-facing endpoints show it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomVisitor {
    #[serde(rename = "_id")]
    pub _id: String,
    pub username: String,
    pub token: String,
    pub status: String,
}

/// The visitor of a room, as the agent endpoints show it (no token).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRoomVisitor {
    #[serde(rename = "_id")]
    pub _id: String,
    pub username: String,
    pub status: String,
}

/// Who opened a room: the Livechat widget (its cookies `rc_is_widget=t`, `rc_room_type=l`) or
/// any other API client.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    Api,
    Widget,
}

/// `source` of a room.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomSource {
    pub r#type: SourceType,
}

/// The room type: always `l` (livechat).
#[derive(Serialize, ToSchema)]
pub enum RoomType {
    #[serde(rename = "l")]
    Livechat,
}

/// A livechat room as the visitor-facing endpoints show it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Room {
    #[serde(rename = "_id")]
    pub _id: String,
    pub t: RoomType,
    /// The visitor's name, else its username.
    pub fname: String,
    #[schema(minimum = 0)]
    pub msgs: u64,
    #[schema(minimum = 0)]
    pub users_count: u64,
    #[schema(schema_with = date_time)]
    pub ts: String,
    /// Time of the last message.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = date_time)]
    pub lm: Option<String>,
    /// Present (and `true`) while the room is open.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = always_true)]
    pub open: Option<bool>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = date_time)]
    pub closed_at: Option<String>,
    /// `visitor` when the visitor closed it.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub closer: Option<String>,
    pub v: RoomVisitor,
    pub source: RoomSource,
    /// Present (and `true`) when the visitor's last message waits for an answer.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = always_true)]
    pub waiting_response: Option<bool>,
    #[serde(rename = "_updatedAt")]
    #[schema(schema_with = date_time)]
    pub updated_at: String,
}

/// A livechat room as the agent endpoints show it (the visitor without its token).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentRoom {
    #[serde(rename = "_id")]
    pub _id: String,
    pub t: RoomType,
    pub fname: String,
    #[schema(minimum = 0)]
    pub msgs: u64,
    #[schema(minimum = 0)]
    pub users_count: u64,
    #[schema(schema_with = date_time)]
    pub ts: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = date_time)]
    pub lm: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = always_true)]
    pub open: Option<bool>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = date_time)]
    pub closed_at: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub closer: Option<String>,
    pub v: AgentRoomVisitor,
    pub source: RoomSource,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = always_true)]
    pub waiting_response: Option<bool>,
    #[serde(rename = "_updatedAt")]
    #[schema(schema_with = date_time)]
    pub updated_at: String,
}

/// The author of a message.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageAuthor {
    #[serde(rename = "_id")]
    pub _id: String,
    pub username: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
}

/// A visitor's chat message.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    #[serde(rename = "_id")]
    pub _id: String,
    pub rid: String,
    #[schema(max_length = 5000)]
    pub msg: String,
    #[schema(schema_with = date_time)]
    pub ts: String,
    pub u: MessageAuthor,
}

/// Where the visitor's browser was.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageLocation {
    #[schema(max_length = 4096)]
    pub href: String,
}

/// `pageInfo` of a page visit.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageInfo {
    /// `url` or `title`: only entries equal to `livechat.history_monitor_type` are stored.
    #[schema(max_length = 64)]
    pub change: String,
    #[schema(max_length = 1024)]
    pub title: String,
    pub location: PageLocation,
}

/// `navigation` of a stored entry, as agents see it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentNavigation {
    pub page: PageInfo,
}

/// The author of navigation entries: always Rocket.Cat.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RocketCat {
    #[schema(schema_with = rocket_cat)]
    #[serde(rename = "_id")]
    pub _id: String,
    #[schema(schema_with = rocket_cat)]
    pub username: String,
    #[schema(schema_with = rocket_cat_name)]
    pub name: String,
}

fn rocket_cat() -> Object {
    literal("rocket.cat")
}

fn rocket_cat_name() -> Object {
    literal("Rocket.Cat")
}

fn navigation_type() -> Object {
    literal("livechat_navigation_history")
}

/// A stored navigation-history entry (the hidden message Rocket.Chat keeps), as agents see it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageEntry {
    #[serde(rename = "_id")]
    pub _id: String,
    #[schema(schema_with = navigation_type)]
    pub t: String,
    /// The room, when the visit named one of the visitor's rooms.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub rid: Option<String>,
    #[schema(schema_with = date_time)]
    pub ts: String,
    /// The page's title (`change` `title`) or address (`url`).
    pub msg: String,
    pub u: RocketCat,
    #[schema(schema_with = always_false)]
    pub groupable: bool,
    pub navigation: AgentNavigation,
    #[schema(schema_with = always_true)]
    #[serde(rename = "_hidden")]
    pub _hidden: bool,
    /// When a room-less entry expires (`history.roomless_ttl_days`).
    #[serde(rename = "expireAt", skip_serializing_if = "is_none")]
    #[schema(nullable = false, schema_with = date_time)]
    pub expire_at: Option<String>,
    #[serde(rename = "_updatedAt")]
    #[schema(schema_with = date_time)]
    pub updated_at: String,
}

/// `navigation` of the `page.visited` answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitedNavigation {
    /// `pageInfo` as sent.
    pub page: PageInfo,
    pub token: String,
}

/// What `page.visited` stored.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitedPage {
    pub msg: String,
    pub navigation: VisitedNavigation,
}

/// A user's email address.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserEmail {
    pub address: String,
    #[schema(schema_with = always_false)]
    pub verified: bool,
}

/// An agent account as the user administration endpoints show it (never a password or token).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct User {
    #[serde(rename = "_id")]
    pub _id: String,
    pub username: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub emails: Option<Vec<UserEmail>>,
    /// `admin`, `livechat-manager`, `livechat-monitor`, `livechat-agent`, `user`.
    pub roles: Vec<String>,
    pub active: bool,
    #[schema(schema_with = date_time)]
    pub created_at: String,
    #[serde(rename = "_updatedAt")]
    #[schema(schema_with = date_time)]
    pub updated_at: String,
}

fn online() -> Object {
    literal("online")
}

/// The caller, as `login` (`data.me`) shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Me {
    #[serde(rename = "_id")]
    pub _id: String,
    pub username: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub emails: Option<Vec<UserEmail>>,
    pub roles: Vec<String>,
    #[schema(schema_with = online)]
    pub status: String,
    pub active: bool,
}

/// The caller, as `GET me` answers: [`Me`] with `success` last.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeAnswer {
    #[serde(rename = "_id")]
    pub _id: String,
    pub username: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, min_items = 1, max_items = 1)]
    pub emails: Option<Vec<UserEmail>>,
    pub roles: Vec<String>,
    #[schema(schema_with = online)]
    pub status: String,
    pub active: bool,
    #[schema(schema_with = always_true)]
    pub success: bool,
}

/// Where a custom field belongs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldScope {
    Visitor,
    Room,
}

fn visible() -> Object {
    literal("visible")
}
fn input() -> Object {
    literal("input")
}
fn empty() -> Object {
    literal("")
}

/// A custom field definition (`livechat.custom_fields`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomField {
    #[serde(rename = "_id")]
    pub _id: String,
    /// The label, else the id.
    pub label: String,
    pub scope: FieldScope,
    #[schema(schema_with = visible)]
    pub visibility: String,
    pub searchable: bool,
    pub required: bool,
    #[schema(schema_with = input)]
    pub r#type: String,
    #[schema(schema_with = empty)]
    pub regexp: String,
    #[schema(schema_with = empty)]
    pub default_value: String,
}

/// The agent's credentials in the login answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginData {
    pub user_id: String,
    /// Send as `X-Auth-Token` (with `X-User-Id`); valid `auth.token_ttl_days`.
    pub auth_token: String,
    pub me: Me,
}

fn success_status() -> Object {
    literal("success")
}

/// `POST login` → 200.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginAnswer {
    #[schema(schema_with = success_status)]
    pub status: String,
    pub data: LoginData,
}

/// `data` of the logout answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutData {
    #[schema(examples("You've been logged out!"))]
    pub message: String,
}

/// `logout` → 200.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutAnswer {
    #[schema(schema_with = success_status)]
    pub status: String,
    pub data: LogoutData,
}

fn error_status() -> Object {
    literal("error")
}
fn unauthorized_text() -> Object {
    literal("Unauthorized")
}

/// `POST login` → 401: wrong user or password (Rocket.Chat's body, without `success`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginFailed {
    #[schema(schema_with = error_status)]
    pub status: String,
    #[schema(schema_with = unauthorized_text)]
    pub error: String,
    #[schema(schema_with = unauthorized_text)]
    pub message: String,
}

/// What `DELETE visitor/{token}` erased.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasedVisitor {
    #[serde(rename = "_id")]
    pub _id: String,
    /// When it was erased.
    #[schema(schema_with = date_time)]
    pub ts: String,
}

/// The body of every error but 401 and login's 401: Rocket.Chat's envelope.
///
/// Coded errors read `"<reason> [<code>]"` (or `"[<code>]"`) with `errorType: <code>`; plain
/// ones (`"invalid-room"`, Meteor's `"Match error: …"`) have no `errorType`. Validation errors of
/// schema-checked parameters are AJV's words: `"must have required property 'token'
/// [invalid-params]"`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ErrorEnvelope {
    #[schema(schema_with = always_false)]
    pub success: bool,
    #[schema(examples("[invalid-token]", "Match error: Missing key 'token'"))]
    pub error: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, examples("invalid-token"))]
    pub error_type: Option<String>,
    /// Extra data of some coded errors (`{"method":"livechat/visitor"}`, `{"helperMethod":"parseJsonQuery"}`…).
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false, value_type = Object)]
    pub details: Option<serde_json::Value>,
}

fn login_required() -> Object {
    literal("You must be logged in to do this.")
}

/// 401 of agent endpoints: no, unknown, expired or revoked credentials.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unauthorized {
    #[schema(schema_with = always_false)]
    pub success: bool,
    #[schema(schema_with = login_required)]
    pub error: String,
    #[schema(schema_with = error_status)]
    pub status: String,
    #[schema(schema_with = login_required)]
    pub message: String,
}

fn no_endpoint() -> Object {
    literal("API endpoint does not exist")
}

/// 404 (no such path) and 405 (the path, not with this method).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoEndpoint {
    #[schema(schema_with = always_false)]
    pub success: bool,
    #[schema(schema_with = no_endpoint)]
    pub error: String,
}

/// The answer to an allowed CORS preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`, on any path).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreflightAnswer {
    #[schema(schema_with = always_true)]
    pub success: bool,
}

/// A custom field of a registration.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldInput {
    #[schema(max_length = 64)]
    pub key: String,
    #[schema(max_length = 4096)]
    pub value: String,
    /// Whether an existing value of the key is replaced.
    pub overwrite: bool,
}

/// `visitor` of a registration. Other keys (`connectionData`, `id`…) are accepted and ignored,
/// as Meteor's `Match.ObjectIncluding` does. Empty strings count as absent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterVisitor {
    /// The visitor's token (not blank; at most 256 bytes).
    #[schema(max_length = 256)]
    pub token: String,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_length = 256)]
    pub name: Option<String>,
    /// `^[^@]+@[^@]+$` once trimmed and lower-cased.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_length = 64)]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_length = 256)]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_length = 256)]
    pub department: Option<String>,
    /// At most 100. With `livechat.custom_fields_mode = "defined"` only defined keys are kept;
    /// `required` definitions must all be present when any custom field is sent.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_items = 100)]
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// `POST livechat/visitor`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub visitor: RegisterVisitor,
}

/// `POST livechat/page.visited` (no other keys, anywhere).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PageVisitedBody {
    #[schema(max_length = 256)]
    pub token: String,
    /// A room of this token's visitor; any other value keeps the entry room-less.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_length = 64)]
    pub rid: Option<String>,
    pub page_info: PageInfo,
}

/// `POST livechat/room.close`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomCloseBody {
    pub rid: String,
    pub token: String,
}

/// `POST livechat/message`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub token: String,
    pub rid: String,
    #[schema(max_length = 5000)]
    pub msg: String,
    /// The message id to use (refused when taken); empty or absent: a new one.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(max_length = 64)]
    #[serde(rename = "_id")]
    pub _id: Option<String>,
}

/// `POST login`: `user` (or `username`) and `password`.
#[derive(Serialize, ToSchema)]
pub struct LoginBody {
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub user: Option<String>,
    /// Read when `user` is absent.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub username: Option<String>,
    pub password: String,
}

/// `POST users.create`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UsersCreateBody {
    /// Letters, numbers, dots, hyphens and underscores.
    pub username: String,
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
    /// Defaults to the username.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    #[schema(max_length = 256)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Defaults to `["user"]`.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub roles: Option<Vec<String>>,
    /// Defaults to `true`.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    /// Accepted for Rocket.Chat's clients; ignored.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub verified: Option<bool>,
    /// Accepted; ignored.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub join_default_channels: Option<bool>,
    /// Accepted; ignored.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub send_welcome_email: Option<bool>,
    /// Accepted; ignored.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub require_password_change: Option<bool>,
}

/// `data` of `users.update`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// A new password revokes the user's tokens.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    #[schema(min_length = 1, max_length = 1024)]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub roles: Option<Vec<String>>,
    /// `false` revokes the user's tokens.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    #[schema(max_length = 256)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    #[schema(max_length = 254)]
    pub email: Option<String>,
}

/// `POST users.update`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UsersUpdateBody {
    pub user_id: String,
    pub data: UserChanges,
}

/// `POST users.delete`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UsersDeleteBody {
    pub user_id: String,
    /// Accepted for Rocket.Chat's clients; ignored.
    #[serde(skip_serializing_if = "is_none")]
    #[schema(nullable = false)]
    pub confirm_relinquish: Option<bool>,
}
