//! The OpenAPI 3.1 document of the API, generated from the route table ([`crate::http::routes`]) and
//! the shapes in [`crate::http::reference::schema`]; served at `GET /api/openapi.json`, rendered at `/api/docs`.
//!
//! Each operation lists every status its handler can answer, each with its body's schema. The
//! integration suite validates every response it receives against this document (route
//! template + method + status), so the document is held to what the server really sends.

use crate::http::reference::schema::{self as s, always_true};
use crate::http::routes::ROUTES;
use utoipa::openapi::path::{
    Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItemBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, LicenseBuilder, OpenApi,
    OpenApiBuilder, PathsBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema,
};
use utoipa::ToSchema;

const JSON: &str = "application/json";

/// The tags operations are grouped under.
const VISITOR: &str = "Visitor API";
const AGENT: &str = "Agent API";
const ACCOUNTS: &str = "Login and users";
const SERVER: &str = "Server";

/// The document's introduction (Markdown).
const DESCRIPTION: &str = "Rocket.Chat's Livechat visitor REST API, served by visitord from an \
embedded store. Bodies, statuses and error strings follow Rocket.Chat; where visitord differs, \
the operation says so (see also `docs/api.md` in the repository).\n\n\
**Every answer** is JSON (`Content-Type: application/json`) with `Cache-Control: no-store`; \
success bodies end with `\"success\": true`, errors are `{\"success\": false, \"error\": …}` \
(components `ErrorEnvelope`, `Unauthorized`, `NoEndpoint`). An unknown path answers the JSON \
404 `NotFound`; a known path with another method the JSON 405 `MethodNotAllowed` with `Allow`.\n\n\
**Agent endpoints** need the headers `X-User-Id` and `X-Auth-Token` from `POST /api/v1/login`; \
they answer 401, then 403 (permission), then 400 (parameters), in that order.\n\n\
**CORS**: a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`, any path) \
from an origin in `server.cors_origins` answers 200 `PreflightAnswer`, from another origin 403 \
`ErrorEnvelope` (`[error-cors-origin]`); see components `CorsPreflight`, `CorsRefused`.";

/// The whole document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for def in ROUTES {
        let mut item = PathItemBuilder::new();
        for endpoint in def.endpoints {
            item = item.operation(endpoint.verb.http_method(), (endpoint.doc)());
        }
        paths = paths.path(def.path, item.build());
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("visitord")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .license(Some(
                    LicenseBuilder::new()
                        .name("MIT")
                        .identifier(Some("MIT"))
                        .build(),
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components()))
        .tags(Some([
            TagBuilder::new()
                .name(VISITOR)
                .description(Some(
                    "The visitor's own endpoints (the Livechat widget). No login: the visitor's \
                     token is the credential. Rate limited per client IP (and per token).",
                ))
                .build(),
            TagBuilder::new()
                .name(AGENT)
                .description(Some(
                    "For agents (`X-User-Id` + `X-Auth-Token`); need `view-l-room`. Never show a \
                     visitor's token.",
                ))
                .build(),
            TagBuilder::new()
                .name(ACCOUNTS)
                .description(Some(
                    "Agent login, and user administration (`manage-users`: admin).",
                ))
                .build(),
            TagBuilder::new().name(SERVER).build(),
        ]))
        .build()
}

/// Named schemas, error responses and the security schemes.
fn components() -> utoipa::openapi::Components {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    fn add<T: ToSchema>(list: &mut Vec<(String, RefOr<Schema>)>) {
        list.push((T::name().into_owned(), T::schema()));
        T::schemas(list);
    }
    add::<s::Visitor>(&mut schemas);
    add::<s::AgentVisitor>(&mut schemas);
    add::<s::SearchVisitor>(&mut schemas);
    add::<s::ConsoleVisitor>(&mut schemas);
    add::<s::Room>(&mut schemas);
    add::<s::AgentRoom>(&mut schemas);
    add::<s::Message>(&mut schemas);
    add::<s::PageEntry>(&mut schemas);
    add::<s::VisitedPage>(&mut schemas);
    add::<s::ErasedVisitor>(&mut schemas);
    add::<s::User>(&mut schemas);
    add::<s::Me>(&mut schemas);
    add::<s::MeAnswer>(&mut schemas);
    add::<s::CustomField>(&mut schemas);
    add::<s::LoginAnswer>(&mut schemas);
    add::<s::LoginFailed>(&mut schemas);
    add::<s::LogoutAnswer>(&mut schemas);
    add::<s::ErrorEnvelope>(&mut schemas);
    add::<s::Unauthorized>(&mut schemas);
    add::<s::NoEndpoint>(&mut schemas);
    add::<s::PreflightAnswer>(&mut schemas);
    add::<s::RegisterBody>(&mut schemas);
    add::<s::PageVisitedBody>(&mut schemas);
    add::<s::RoomCloseBody>(&mut schemas);
    add::<s::MessageBody>(&mut schemas);
    add::<s::LoginBody>(&mut schemas);
    add::<s::UsersCreateBody>(&mut schemas);
    add::<s::UsersUpdateBody>(&mut schemas);
    add::<s::UsersDeleteBody>(&mut schemas);
    let mut b = ComponentsBuilder::new().schemas_from_iter(schemas);
    for e in Error::ALL {
        b = b.response(e.component(), e.response());
    }
    b.response(
        "CorsPreflight",
        json_response(
            "An allowed CORS preflight, with `Access-Control-Allow-*` headers.",
            schema_ref("PreflightAnswer"),
        ),
    )
    .response(
        "CorsRefused",
        json_response(
            "A CORS preflight from an origin not in `server.cors_origins`: \
             `Cross-origin requests from this origin are not allowed [error-cors-origin]`.",
            schema_ref("ErrorEnvelope"),
        ),
    )
    .security_scheme(
        "userId",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-User-Id",
            "The `userId` of the login answer.",
        ))),
    )
    .security_scheme(
        "authToken",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Auth-Token",
            "The `authToken` of the login answer (valid `auth.token_ttl_days`, until logout).",
        ))),
    )
    .build()
}

/// The error statuses an operation can answer, each a named response in `components`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Error {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PayloadTooLarge,
    TooManyRequests,
    Internal,
    Unavailable,
}

impl Error {
    const ALL: [Error; 10] = [
        Error::BadRequest,
        Error::Unauthorized,
        Error::Forbidden,
        Error::NotFound,
        Error::MethodNotAllowed,
        Error::RequestTimeout,
        Error::PayloadTooLarge,
        Error::TooManyRequests,
        Error::Internal,
        Error::Unavailable,
    ];

    fn status(self) -> &'static str {
        match self {
            Error::BadRequest => "400",
            Error::Unauthorized => "401",
            Error::Forbidden => "403",
            Error::NotFound => "404",
            Error::MethodNotAllowed => "405",
            Error::RequestTimeout => "408",
            Error::PayloadTooLarge => "413",
            Error::TooManyRequests => "429",
            Error::Internal => "500",
            Error::Unavailable => "503",
        }
    }

    fn component(self) -> &'static str {
        match self {
            Error::BadRequest => "BadRequest",
            Error::Unauthorized => "Unauthorized",
            Error::Forbidden => "Forbidden",
            Error::NotFound => "NotFound",
            Error::MethodNotAllowed => "MethodNotAllowed",
            Error::RequestTimeout => "RequestTimeout",
            Error::PayloadTooLarge => "PayloadTooLarge",
            Error::TooManyRequests => "TooManyRequests",
            Error::Internal => "InternalError",
            Error::Unavailable => "Unavailable",
        }
    }

    fn response(self) -> Response {
        let envelope = schema_ref("ErrorEnvelope");
        match self {
            Error::BadRequest => json_response(
                "Bad parameters or body, or a refusal. Coded: `\"<reason> [<code>]\"` with \
                 `errorType` (`[invalid-token]`, `Token cannot be empty [error-invalid-token]`); \
                 schema-checked parameters: AJV's words with `[invalid-params]` \
                 (`must have required property 'token' [invalid-params]`); plain, without \
                 `errorType`: Meteor's `Match error: …` and Rocket.Chat's plain refusals \
                 (`invalid-room`, `visitor-not-found`).",
                envelope,
            ),
            Error::Unauthorized => json_response(
                "No, unknown, expired or revoked credentials: \
                 `You must be logged in to do this.`",
                schema_ref("Unauthorized"),
            ),
            Error::Forbidden => json_response(
                "Logged in without the permission: `User does not have the permissions \
                 required for this action [error-unauthorized]`.",
                fixed_error(
                    Some("User does not have the permissions required for this action [error-unauthorized]"),
                    None,
                    None,
                ),
            ),
            Error::NotFound => json_response(
                "No such endpoint (also any path the API does not serve).",
                schema_ref("NoEndpoint"),
            ),
            Error::MethodNotAllowed => {
                let mut r = json_response(
                    "The path exists, not with this method (any operation's path, with a \
                     method it does not list).",
                    schema_ref("NoEndpoint"),
                );
                r.headers.insert(
                    "Allow".into(),
                    HeaderBuilder::new()
                        .schema(string())
                        .description(Some("The path's methods, e.g. `GET, DELETE`."))
                        .build(),
                );
                r
            }
            Error::RequestTimeout => json_response(
                "The body did not arrive within `server.request_timeout_ms`: \
                 `Request timeout [error-request-timeout]`; the connection is closed.",
                fixed_error(
                    Some("Request timeout [error-request-timeout]"),
                    None,
                    Some("error-request-timeout"),
                ),
            ),
            Error::PayloadTooLarge => json_response(
                "The body is over `server.body_limit_bytes`: \
                 `Payload too large [error-payload-too-large]` (before it is parsed).",
                fixed_error(
                    Some("Payload too large [error-payload-too-large]"),
                    None,
                    Some("error-payload-too-large"),
                ),
            ),
            Error::TooManyRequests => {
                let mut r = json_response(
                    "Rate limited (`rate_limit.*`): `Error, too many requests. Please slow down. \
                     You must wait <n> seconds before trying this endpoint again. \
                     [error-too-many-requests]`. Also when the password hashing queue is full.",
                    fixed_error(
                        None,
                        Some(
                            concat!(
                                "^Error, too many requests\\. Please slow down\\. You must wait ",
                                "[0-9]+ seconds before trying this endpoint again\\. ",
                                "\\[error-too-many-requests\\]$"
                            ),
                        ),
                        None,
                    ),
                );
                for (name, description) in [
                    ("X-RateLimit-Limit", "Calls allowed per window."),
                    ("X-RateLimit-Remaining", "Always `0` on a 429."),
                    (
                        "X-RateLimit-Reset",
                        "When the window ends, in milliseconds since the Unix epoch.",
                    ),
                ] {
                    r.headers.insert(
                        name.into(),
                        HeaderBuilder::new()
                            .schema(integer(0))
                            .description(Some(description))
                            .build(),
                    );
                }
                r
            }
            Error::Internal => json_response(
                "A server fault (logged, never detailed): `Internal server error`.",
                fixed_error(Some("Internal server error"), None, None),
            ),
            Error::Unavailable => json_response(
                "The store does not answer: `Service unavailable`.",
                fixed_error(Some("Service unavailable"), None, None),
            ),
        }
    }
}

/// An error body with a fixed `error` (`text`, or matching `pattern`) and, when given, a fixed
/// `errorType`.
fn fixed_error(
    text: Option<&str>,
    pattern: Option<&str>,
    error_type: Option<&str>,
) -> RefOr<Schema> {
    let mut error = ObjectBuilder::new().schema_type(Type::String);
    if let Some(text) = text {
        error = error.enum_values(Some([text]));
    }
    error = error.pattern(pattern);
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("success", s::always_false())
        .required("success")
        .property("error", error)
        .required("error");
    if let Some(code) = error_type {
        o = o
            .property("errorType", s::literal(code))
            .required("errorType");
    }
    o.additional_properties(Some(
        utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
    ))
    .into()
}

fn json_response(description: &str, schema: RefOr<Schema>) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

fn schema_ref(name: &str) -> RefOr<Schema> {
    Ref::from_schema_name(name).into()
}

fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn bounded_string(max: usize) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(max))
        .into()
}

fn integer(min: i64) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min))
        .into()
}

fn array_of(items: RefOr<Schema>) -> RefOr<Schema> {
    ArrayBuilder::new().items(items).into()
}

/// A success body: `fields` (all required but `optional`) and `success: true`, nothing else.
fn answer(fields: &[(&str, RefOr<Schema>)], optional: &[&str]) -> RefOr<Schema> {
    let mut o = ObjectBuilder::new().schema_type(SchemaType::Type(Type::Object));
    for (name, schema) in fields {
        o = o.property(*name, schema.clone());
        if !optional.contains(name) {
            o = o.required(*name);
        }
    }
    o.property("success", always_true())
        .required("success")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ))
        .into()
}

/// A page of a list: `{<name>: [item], count, offset, total, success: true}`.
fn page_of(name: &str, item: &str) -> RefOr<Schema> {
    answer(
        &[
            (name, array_of(schema_ref(item))),
            ("count", integer(0)),
            ("offset", integer(0)),
            ("total", integer(0)),
        ],
        &[],
    )
}

/// An operation's common part.
fn op(id: &str, tag: &str, summary: &str, description: &str) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(id))
        .tag(tag)
        .summary(Some(summary))
        .description(Some(description))
}

/// Adds the 200 answer and the error statuses.
fn respond(
    b: OperationBuilder,
    ok_description: &str,
    ok: RefOr<Schema>,
    errors: &[Error],
) -> OperationBuilder {
    let mut b = b.response("200", json_response(ok_description, ok));
    for e in errors {
        b = b.response(e.status(), Ref::from_response_name(e.component()));
    }
    b
}

/// Marks an agent endpoint: both headers required.
fn agent(b: OperationBuilder) -> OperationBuilder {
    b.security(SecurityRequirement::new("userId", [""; 0]).add("authToken", [""; 0]))
}

fn body(schema: &str) -> Option<utoipa::openapi::request_body::RequestBody> {
    Some(
        RequestBodyBuilder::new()
            .content(
                JSON,
                ContentBuilder::new()
                    .schema(Some(schema_ref(schema)))
                    .build(),
            )
            .required(Some(Required::True))
            .build(),
    )
}

fn param(
    name: &str,
    at: ParameterIn,
    required: bool,
    schema: RefOr<Schema>,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(at)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

fn path_param(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    param(name, ParameterIn::Path, true, string(), description)
}

/// `count`, `offset`, `sort` of a paginated endpoint; `sortable` names the fields `sort` takes.
fn paging(b: OperationBuilder, sortable: &str) -> OperationBuilder {
    b.parameter(param(
        "count",
        ParameterIn::Query,
        false,
        integer(0),
        "Page size: default `api.default_count` (50), larger values are clamped to \
         `api.max_count` (100); `0` means all only with `api.allow_infinite_count`, else the \
         default. Numeric strings are read like `parseInt` (`2.7` → 2); others: \
         `must be number [invalid-params]`, negatives `must be >= 0 [invalid-params]`.",
    ))
    .parameter(param(
        "offset",
        ParameterIn::Query,
        false,
        integer(0),
        "Entries to skip (default 0); same number rules as `count`.",
    ))
    .parameter(param(
        "sort",
        ParameterIn::Query,
        false,
        string(),
        &format!(
            "A JSON object of fields, each `1` (ascending) or `-1` (descending), e.g. \
             `{{\"ts\":-1}}`. Fields: {sortable}. Anything else: `Invalid sort parameter \
             provided: \"<sort>\" [error-invalid-sort]` with `details.helperMethod`."
        ),
    ))
}

/// The errors of a visitor endpoint with a JSON body.
const VISITOR_BODY_ERRORS: &[Error] = &[
    Error::BadRequest,
    Error::RequestTimeout,
    Error::PayloadTooLarge,
    Error::TooManyRequests,
    Error::Internal,
];
/// The errors of a visitor endpoint without a body.
const VISITOR_ERRORS: &[Error] = &[Error::BadRequest, Error::TooManyRequests, Error::Internal];
/// The errors of an agent endpoint that reads parameters.
const AGENT_ERRORS: &[Error] = &[
    Error::BadRequest,
    Error::Unauthorized,
    Error::Forbidden,
    Error::TooManyRequests,
    Error::Internal,
];
/// The errors of a user administration endpoint with a JSON body.
const ADMIN_BODY_ERRORS: &[Error] = &[
    Error::BadRequest,
    Error::Unauthorized,
    Error::Forbidden,
    Error::RequestTimeout,
    Error::PayloadTooLarge,
    Error::TooManyRequests,
    Error::Internal,
];

/// `POST /api/v1/livechat/visitor`.
pub fn register_visitor() -> Operation {
    let b = op(
        "registerVisitor",
        VISITOR,
        "Register a visitor, or update the one it matches",
        "Matches by `token`; by phone, then email only with `livechat.merge_by` (off by \
         default: Rocket.Chat merges by both, which lets anyone who knows a visitor's phone or \
         email take it over). A new visitor is `guest-N` unless named. Checked as Meteor's \
         `check()` (`Match error: …`), then: blank token `Token cannot be empty \
         [error-invalid-token]`, length limits `<field> is too long (max <n>) [invalid-params]`, \
         `Invalid email <email> [error-invalid-email]`, missing required custom fields. At most \
         100 custom fields per visitor (`too many custom fields (max 100) [invalid-params]`). \
         Rate limit: `rate_limit.visitor_register_per_min` per IP.",
    )
    .request_body(body("RegisterBody"));
    respond(
        b,
        "The visitor as stored.",
        answer(&[("visitor", schema_ref("Visitor"))], &[]),
        VISITOR_BODY_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/visitor/{token}`.
pub fn get_visitor() -> Operation {
    let b = op(
        "getVisitor",
        VISITOR,
        "The visitor of a token",
        "Unknown token: `[invalid-token]`.",
    )
    .parameter(path_param("token", "The visitor's token."));
    respond(
        b,
        "The visitor, token included.",
        answer(&[("visitor", schema_ref("Visitor"))], &[]),
        VISITOR_ERRORS,
    )
    .build()
}

/// `DELETE /api/v1/livechat/visitor/{token}`.
pub fn delete_visitor() -> Operation {
    let b = op(
        "deleteVisitor",
        VISITOR,
        "Erase a visitor (GDPR)",
        "Erases the visitor, its rooms, messages and navigation history. Unknown token: \
         `[invalid-token]`; a visitor with an open room: `Cannot remove visitors with opened \
         rooms [visitor-has-open-rooms]` unless `livechat.allow_delete_with_open_rooms`.",
    )
    .parameter(path_param("token", "The visitor's token."));
    respond(
        b,
        "What was erased.",
        answer(&[("visitor", schema_ref("ErasedVisitor"))], &[]),
        VISITOR_ERRORS,
    )
    .build()
}

/// `POST /api/v1/livechat/page.visited`.
pub fn page_visited() -> Operation {
    let b = op(
        "pageVisited",
        VISITOR,
        "Record a page the visitor saw",
        "Checked by Rocket.Chat's schema (AJV words, `[invalid-params]`; no other keys). Only \
         entries whose `pageInfo.change` equals `livechat.history_monitor_type` are stored \
         (others answer `{\"success\":true}` alone). A `rid` counts only when it is a room of \
         the token's visitor; otherwise the entry is kept room-less (and expires after \
         `history.roomless_ttl_days`). Rate limits: per token \
         (`rate_limit.page_visited_per_token_per_min`) and per IP \
         (`rate_limit.page_visited_per_ip_per_min`).",
    )
    .request_body(body("PageVisitedBody"));
    respond(
        b,
        "Stored (`page`), or ignored (no `page`).",
        answer(&[("page", schema_ref("VisitedPage"))], &["page"]),
        VISITOR_BODY_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/room`.
pub fn room() -> Operation {
    let b = op(
        "room",
        VISITOR,
        "The visitor's open room, or a new one",
        "Without `rid`: the visitor's open room, else a new one (`source.type` `widget` when \
         the request carries the widget's cookies `rc_is_widget=t` and `rc_room_type=l`, else \
         `api`). With `rid`: only that open room of this visitor, else plain `invalid-room`; no \
         room is ever created under a client-chosen id. Unknown token: `[invalid-token]`. \
         Other query parameters: `Match error: Unknown key '<name>'`. Rate limit: \
         `rate_limit.room_per_min` per IP.",
    )
    .parameter(param(
        "token",
        ParameterIn::Query,
        true,
        string(),
        "The visitor's token (`Match error: Missing key 'token'` without it).",
    ))
    .parameter(param(
        "rid",
        ParameterIn::Query,
        false,
        bounded_string(64),
        "An open room of this visitor (empty: none).",
    ))
    .parameter(param(
        "agentId",
        ParameterIn::Query,
        false,
        string(),
        "Accepted and ignored (visitord routes no chats to agents).",
    ));
    respond(
        b,
        "The room, and whether it was created by this call.",
        answer(
            &[
                ("room", schema_ref("Room")),
                (
                    "newRoom",
                    ObjectBuilder::new().schema_type(Type::Boolean).into(),
                ),
            ],
            &[],
        ),
        VISITOR_ERRORS,
    )
    .build()
}

/// `POST /api/v1/livechat/room.close`.
pub fn room_close() -> Operation {
    let b = op(
        "roomClose",
        VISITOR,
        "The visitor closes its open room",
        "Rocket.Chat's plain errors, in its order: `invalid-token`, `invalid-room`, \
         `room-closed`. Body checked as Meteor's `check()` (`Match error: …`).",
    )
    .request_body(body("RoomCloseBody"));
    let closed_by = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["Closed by visitor"]))
        .into();
    respond(
        b,
        "The closed room's id.",
        answer(&[("rid", string()), ("comment", closed_by)], &[]),
        VISITOR_BODY_ERRORS,
    )
    .build()
}

/// `POST /api/v1/livechat/message`.
pub fn message() -> Operation {
    let b = op(
        "message",
        VISITOR,
        "A visitor's message in its open room",
        "Unknown token `[invalid-token]`, not its open room `[invalid-room]` / \
         `[room-closed]`, a taken `_id` `A message with this id already exists \
         [error-message-already-exists]`; `msg` at most 5000 characters, `_id` 64.",
    )
    .request_body(body("MessageBody"));
    respond(
        b,
        "The stored message.",
        answer(&[("message", schema_ref("Message"))], &[]),
        VISITOR_BODY_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/visitors.info`.
pub fn visitors_info() -> Operation {
    let b = op(
        "visitorsInfo",
        AGENT,
        "A visitor, by id",
        "Needs `view-l-room`. Unknown id: plain `visitor-not-found`. Answers without the \
         visitor's token (Rocket.Chat includes it).",
    )
    .parameter(param(
        "visitorId",
        ParameterIn::Query,
        true,
        string(),
        "The visitor's `_id`.",
    ));
    respond(
        agent(b),
        "The visitor, without its token.",
        answer(&[("visitor", schema_ref("AgentVisitor"))], &[]),
        AGENT_ERRORS,
    )
    .build()
}

const PAGES_SORT: &str = "`ts` (default newest first)";

/// `GET /api/v1/livechat/visitors.pagesVisited`.
pub fn pages_visited_by_query() -> Operation {
    let b = op(
        "pagesVisitedByQuery",
        AGENT,
        "Navigation history of a room or a visitor",
        "Needs `view-l-room`. Exactly one of `roomId` (Rocket.Chat's form; unknown: plain \
         `invalid-room`) or `visitorId` (every entry of the visitor's token, with or without a \
         room; unknown: plain `visitor-not-found`). Both: `must match exactly one schema in \
         oneOf [invalid-params]`; neither: `must have required property 'roomId' \
         [invalid-params]`.",
    )
    .parameter(param(
        "roomId",
        ParameterIn::Query,
        false,
        string(),
        "A room's `_id`.",
    ))
    .parameter(param(
        "visitorId",
        ParameterIn::Query,
        false,
        string(),
        "A visitor's `_id`.",
    ));
    respond(
        agent(paging(b, PAGES_SORT)),
        "A page of entries.",
        page_of("pages", "PageEntry"),
        AGENT_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/visitors.pagesVisited/{roomId}`.
pub fn pages_visited_of_room() -> Operation {
    let b = op(
        "pagesVisitedOfRoom",
        AGENT,
        "Navigation history of a room",
        "Needs `view-l-room`. Unknown room: plain `invalid-room`.",
    )
    .parameter(path_param("roomId", "The room's `_id`."));
    respond(
        agent(paging(b, PAGES_SORT)),
        "A page of entries.",
        page_of("pages", "PageEntry"),
        AGENT_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/visitors.chatHistory/room/{roomId}/visitor/{visitorId}`.
pub fn chat_history() -> Operation {
    let b = op(
        "chatHistory",
        AGENT,
        "Every livechat room of a visitor",
        "Needs `view-l-room`; the room is only the access check, as in Rocket.Chat (unknown: \
         plain `invalid-room`), and needs `view-livechat-rooms` (else plain \
         `error-not-allowed`): visitord routes no chats, so no room is the caller's own.",
    )
    .parameter(path_param("roomId", "A room's `_id` (the access check)."))
    .parameter(path_param("visitorId", "The visitor's `_id`."));
    respond(
        agent(paging(b, "`ts` (default newest first), `lm`, `closedAt`")),
        "A page of rooms.",
        page_of("history", "AgentRoom"),
        AGENT_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/{rid}/messages`.
pub fn room_messages() -> Operation {
    let b = op(
        "roomMessages",
        AGENT,
        "A livechat room's messages",
        "Rocket.Chat's path and answer. Needs `view-l-room` and, as `chatHistory`, \
         `view-livechat-rooms` (else plain `error-not-allowed`); an unknown room is plain \
         `invalid-room`. Oldest first unless `sort={\"ts\":-1}`; navigation-history entries \
         are not included.",
    )
    .parameter(path_param("rid", "The room's `_id`."));
    respond(
        agent(paging(b, "`ts` (default oldest first)")),
        "A page of messages.",
        page_of("messages", "Message"),
        AGENT_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/visitors.search`.
pub fn search() -> Operation {
    visitor_search(
        "visitorsSearch",
        "Search visitors",
        "Needs `view-l-room`. A visitor matches when `term` is a case-insensitive (Unicode \
         case folding) literal substring of its name, username, email or a custom field \
         configured `searchable`; or its phone equals the term; or the term is phone-like \
         (digits and `+ - ( ) . space`, at least three digits) and its digits occur in the \
         phone's digits. An empty term matches all. Default order `ts` newest first.",
        "SearchVisitor",
    )
}

/// `GET /api/v1/visitord.visitors.search`.
pub fn console_search() -> Operation {
    visitor_search(
        "consoleVisitorsSearch",
        "Search visitors, with their creation time",
        "Needs `view-l-room`. visitord's own (the console's visitor table): the same parameters, \
         matches, order and errors as `livechat/visitors.search`, and each item also carries \
         `ts` (created) and `_updatedAt`.",
        "ConsoleVisitor",
    )
}

/// A paginated visitor search whose items are the schema `item`.
fn visitor_search(id: &str, summary: &str, description: &str, item: &str) -> Operation {
    let b = op(id, AGENT, summary, description).parameter(param(
        "term",
        ParameterIn::Query,
        true,
        bounded_string(256),
        "What to look for (may be empty).",
    ));
    respond(
        agent(paging(
            b,
            "`ts`, `_updatedAt`, `name`, `username`, `lastChat.ts`",
        )),
        "A page of visitors.",
        page_of("visitors", item),
        AGENT_ERRORS,
    )
    .build()
}

/// `GET /api/v1/livechat/custom-fields`.
pub fn custom_fields() -> Operation {
    let b = op(
        "customFields",
        AGENT,
        "The custom field definitions",
        "Needs `view-l-room`. The definitions of `livechat.custom_fields`.",
    );
    respond(
        agent(paging(b, "`_id`, `label`")),
        "A page of definitions.",
        page_of("customFields", "CustomField"),
        AGENT_ERRORS,
    )
    .build()
}

/// `POST /api/v1/login`.
pub fn login() -> Operation {
    let b = op(
        "login",
        ACCOUNTS,
        "Log in an agent",
        "Wrong user or password: 401 `LoginFailed`. Failed logins are limited per IP and per \
         username (`rate_limit.login_failures_per_min`); a username locked by failures from \
         elsewhere still logs in with the right password from an address without failures. \
         429 also when the password hashing queue (`auth.hash_queue`) is full.",
    )
    .request_body(body("LoginBody"));
    let mut b = respond(
        b,
        "The credentials for `X-User-Id` and `X-Auth-Token`.",
        schema_ref("LoginAnswer"),
        &[
            Error::BadRequest,
            Error::RequestTimeout,
            Error::PayloadTooLarge,
            Error::TooManyRequests,
            Error::Internal,
        ],
    );
    b = b.response(
        "401",
        json_response("Wrong user or password.", schema_ref("LoginFailed")),
    );
    b.build()
}

fn logout(id: &str) -> Operation {
    let b = op(
        id,
        ACCOUNTS,
        "Log out",
        "Revokes the token the request carries.",
    );
    respond(
        agent(b),
        "Logged out.",
        schema_ref("LogoutAnswer"),
        &[Error::Unauthorized, Error::TooManyRequests, Error::Internal],
    )
    .build()
}

/// `GET /api/v1/logout`.
pub fn logout_get() -> Operation {
    logout("logoutGet")
}

/// `POST /api/v1/logout`.
pub fn logout_post() -> Operation {
    logout("logout")
}

/// `GET /api/v1/me`.
pub fn me() -> Operation {
    let b = op("me", ACCOUNTS, "The caller", "The logged-in user.");
    respond(
        agent(b),
        "The caller.",
        schema_ref("MeAnswer"),
        &[Error::Unauthorized, Error::TooManyRequests, Error::Internal],
    )
    .build()
}

const USER_RULES: &str = "Needs `manage-users` (admin). Checked as Rocket.Chat's schema \
(AJV words, `[invalid-params]`); unknown roles `Invalid role <role> [error-invalid-role]`, \
`Invalid email <email> [error-invalid-email]`, empty password `Password cannot be empty \
[error-invalid-password]`, lengths: name 256, email 254, password 1024.";

/// `POST /api/v1/users.create`.
pub fn users_create() -> Operation {
    let b = op(
        "usersCreate",
        ACCOUNTS,
        "Create a user",
        &format!(
            "{USER_RULES} A taken username: `<username> is already in use :( \
             [error-field-unavailable]`; an invalid one `[error-input-is-not-a-valid-field]`."
        ),
    )
    .request_body(body("UsersCreateBody"));
    respond(
        agent(b),
        "The new user.",
        answer(&[("user", schema_ref("User"))], &[]),
        ADMIN_BODY_ERRORS,
    )
    .build()
}

/// `GET /api/v1/users.list`.
pub fn users_list() -> Operation {
    let b = op(
        "usersList",
        ACCOUNTS,
        "Every user",
        "Needs `manage-users` (admin).",
    );
    respond(
        agent(paging(b, "`username` (default), `name`, `createdAt`")),
        "A page of users.",
        page_of("users", "User"),
        AGENT_ERRORS,
    )
    .build()
}

/// `POST /api/v1/users.update`.
pub fn users_update() -> Operation {
    let b = op(
        "usersUpdate",
        ACCOUNTS,
        "Change a user",
        &format!(
            "{USER_RULES} A new password or a deactivation revokes the user's tokens. Unknown \
             user: `Invalid user [error-invalid-user]`; leaving no active admin: `Leaving the \
             app without admins is not allowed [error-action-not-allowed]`."
        ),
    )
    .request_body(body("UsersUpdateBody"));
    respond(
        agent(b),
        "The user as changed.",
        answer(&[("user", schema_ref("User"))], &[]),
        ADMIN_BODY_ERRORS,
    )
    .build()
}

/// `POST /api/v1/users.delete`.
pub fn users_delete() -> Operation {
    let b = op(
        "usersDelete",
        ACCOUNTS,
        "Delete a user",
        "Needs `manage-users` (admin). Its tokens go with it. Unknown user: `Invalid user \
         [error-invalid-user]`; the last admin: `[error-action-not-allowed]`.",
    )
    .request_body(body("UsersDeleteBody"));
    respond(agent(b), "Deleted.", answer(&[], &[]), ADMIN_BODY_ERRORS).build()
}

/// `POST /api/v1/visitord.backup`.
pub fn backup() -> Operation {
    let b = op(
        "backup",
        SERVER,
        "Take a backup now",
        "Needs `manage-server` (admin; visitord's own). Writes one compressed, checksummed file of \
         the store's logical records into `backup.dir` while the server keeps serving, and \
         answers once the file is complete and synced; older files beyond `backup.keep` are \
         deleted. Restore with `visitord restore FILE`. A request body is ignored. With \
         `storage.backend = \"postgres\"` there is no store file to back up: 400 \
         `error-not-allowed` (back the database up with its own tools, e.g. `pg_dump`).",
    );
    let backup: RefOr<Schema> = ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .property("file", string())
        .property("records", integer(0))
        .property("bytes", integer(0))
        .required("file")
        .required("records")
        .required("bytes")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ))
        .into();
    respond(
        agent(b),
        "The backup file (its name in `backup.dir`), its records and its size.",
        answer(&[("backup", backup)], &[]),
        &[
            Error::BadRequest,
            Error::Unauthorized,
            Error::Forbidden,
            Error::TooManyRequests,
            Error::Internal,
        ],
    )
    .build()
}

/// `GET /api/v1/visitord.overview`.
pub fn overview() -> Operation {
    let b = op(
        "overview",
        AGENT,
        "Visitors and page visits at a glance",
        "Needs `view-l-room`. visitord's own (the console's Overview). `visitors`: visitors in \
         the store; `days`: the last 30 UTC days, oldest first, today last, with the visitors \
         created and the navigation entries stored that day; `topPages`: the 10 most visited \
         pages (`href`) of the last 7 UTC days, most first. Answered from counters kept in the \
         write transactions (its cost does not grow with the store); they count what the store \
         holds, so erased visitors and pruned or expired history leave them.",
    );
    let closed = |o: ObjectBuilder| -> RefOr<Schema> {
        o.additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ))
        .into()
    };
    let day = closed(
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .property("date", string())
            .property("newVisitors", integer(0))
            .property("pageVisits", integer(0))
            .required("date")
            .required("newVisitors")
            .required("pageVisits"),
    );
    let page = closed(
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .property("href", string())
            .property("visits", integer(1))
            .required("href")
            .required("visits"),
    );
    let overview = closed(
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .property("visitors", integer(0))
            .property("days", array_of(day))
            .property("topPages", array_of(page))
            .required("visitors")
            .required("days")
            .required("topPages"),
    );
    respond(
        agent(b),
        "The overview.",
        answer(&[("overview", overview)], &[]),
        AGENT_ERRORS,
    )
    .build()
}

/// `GET /api/info`.
pub fn info() -> Operation {
    let b = op("info", SERVER, "Server version", "visitord's version.");
    respond(
        b,
        "The version.",
        answer(&[("version", string())], &[]),
        &[],
    )
    .build()
}

/// `GET /health`.
pub fn health() -> Operation {
    let b = op(
        "health",
        SERVER,
        "Health",
        "200 when the store answers reads, 503 otherwise.",
    );
    let ok = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["ok"]))
        .into();
    respond(
        b,
        "Healthy.",
        answer(&[("status", ok)], &[]),
        &[Error::Unavailable],
    )
    .build()
}

/// `GET /health/live`.
pub fn live() -> Operation {
    let b = op(
        "live",
        SERVER,
        "Liveness",
        "200 whenever the process serves HTTP, without asking the store (`/health` is readiness).",
    );
    let live = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["live"]))
        .into();
    respond(b, "Alive.", answer(&[("status", live)], &[]), &[]).build()
}

/// `GET /metrics`.
pub fn metrics() -> Operation {
    op(
        "metrics",
        SERVER,
        "Prometheus metrics",
        "Every metric in the Prometheus text format 0.0.4: requests by route template, method \
         and status, latencies, in-flight requests, group commit, store counts, rate-limit \
         refusals, search latency, pruner deletions, login failures, build info. With \
         `metrics.bearer_token` set, only for `Authorization: Bearer <token>` (else 401); with \
         `metrics.enabled` off, the JSON 404.",
    )
    .response(
        "200",
        text_response("The metrics.", &[crate::metrics::CONTENT_TYPE]),
    )
    .response(
        "401",
        Ref::from_response_name(Error::Unauthorized.component()),
    )
    .response("404", Ref::from_response_name(Error::NotFound.component()))
    .response("500", Ref::from_response_name(Error::Internal.component()))
    .build()
}

/// `GET /api/openapi.json`.
pub fn openapi_json() -> Operation {
    let b = op(
        "openapi",
        SERVER,
        "This document",
        "The OpenAPI 3.1 document of this API, generated from the server's route table.",
    );
    let document = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("openapi", string())
        .required("openapi")
        .into();
    respond(b, "The document.", document, &[Error::Internal]).build()
}

/// A non-JSON 200.
fn text_response(description: &str, media_types: &[&str]) -> Response {
    let mut r = ResponseBuilder::new().description(description);
    for media in media_types {
        r = r.content(*media, ContentBuilder::new().schema(Some(string())).build());
    }
    r.build()
}

/// `GET /api/docs`.
pub fn docs_page() -> Operation {
    op(
        "docsPage",
        SERVER,
        "The API reference page",
        "Swagger UI over `/api/openapi.json`, served from the binary (no CDN), with a strict \
         Content-Security-Policy.",
    )
    .response(
        "200",
        text_response("The page.", &["text/html; charset=utf-8"]),
    )
    .build()
}

/// `GET /api/docs/{file}`.
pub fn docs_asset() -> Operation {
    let names = crate::http::reference::viewer::ASSETS
        .iter()
        .map(|a| a.name)
        .collect::<Vec<_>>();
    let file = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .into();
    op(
        "docsAsset",
        SERVER,
        "A file of the API reference page",
        "The vendored viewer's files, its licence, and the page's start-up script.",
    )
    .parameter(param(
        "file",
        ParameterIn::Path,
        true,
        file,
        "The file's name.",
    ))
    .response(
        "200",
        text_response(
            "The file.",
            &[
                "text/javascript; charset=utf-8",
                "text/css; charset=utf-8",
                "text/plain; charset=utf-8",
            ],
        ),
    )
    .response("404", Ref::from_response_name(Error::NotFound.component()))
    .build()
}

#[cfg(test)]
mod tests {
    use crate::model::limits;
    use serde_json::Value;

    /// `maxLength` of `property` in the component schema `schema`.
    fn max_length(doc: &Value, schema: &str, property: &str) -> Option<u64> {
        let prop = &doc["components"]["schemas"][schema]["properties"][property];
        prop["maxLength"].as_u64().or_else(|| {
            // An optional property is documented as `oneOf` / `anyOf` [null, string].
            ["oneOf", "anyOf"].iter().find_map(|k| {
                prop[*k]
                    .as_array()?
                    .iter()
                    .find_map(|s| s["maxLength"].as_u64())
            })
        })
    }

    /// The document's lengths are the limits the handlers enforce (utoipa takes only literals,
    /// so the document repeats the numbers; this keeps them the same).
    #[test]
    fn documented_lengths_are_the_enforced_limits() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let cases: &[(&str, &str, usize)] = &[
            ("PageVisitedBody", "token", limits::TOKEN_BYTES),
            ("PageVisitedBody", "rid", limits::ID_CHARS),
            ("PageInfo", "title", limits::TITLE_CHARS),
            ("PageInfo", "change", limits::CHANGE_CHARS),
            ("PageLocation", "href", limits::HREF_CHARS),
            ("Message", "msg", limits::MESSAGE_CHARS),
            ("RegisterVisitor", "token", limits::TOKEN_BYTES),
            ("RegisterVisitor", "name", limits::NAME_CHARS),
            ("RegisterVisitor", "email", limits::EMAIL_CHARS),
            ("RegisterVisitor", "phone", limits::PHONE_CHARS),
            ("RegisterVisitor", "username", limits::NAME_CHARS),
            ("RegisterVisitor", "department", limits::DEPARTMENT_CHARS),
            ("CustomFieldInput", "key", limits::FIELD_KEY_CHARS),
            ("CustomFieldInput", "value", limits::FIELD_VALUE_CHARS),
        ];
        for (schema, property, limit) in cases {
            assert_eq!(
                max_length(&doc, schema, property),
                Some(*limit as u64),
                "{schema}.{property}"
            );
        }
    }
}
