//! The route table: every path the API serves, its methods, the handler of each, and the
//! OpenAPI operation that documents it.
//!
//! [`super::routes`] registers exactly these routes and [`super::reference::document::document`] documents
//! exactly these, so the router and the document cannot disagree on paths or methods (a test
//! compares them as well). Paths are actix templates, which are also OpenAPI's: `{name}`.

use super::agent::{login, operations, overview, room_messages, users, visitors};
use super::livechat::{navigation, room as rooms, visitor};
use super::reference::{document as doc, viewer as apidocs};
use super::{metrics, status as meta};
use actix_web::http::Method;
use actix_web::{web, Route};
use utoipa::openapi::path::{HttpMethod, Operation};

/// An HTTP method the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    /// actix's method.
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Delete => Method::DELETE,
        }
    }

    /// OpenAPI's method.
    pub fn http_method(self) -> HttpMethod {
        match self {
            Verb::Get => HttpMethod::Get,
            Verb::Post => HttpMethod::Post,
            Verb::Delete => HttpMethod::Delete,
        }
    }

    /// Lower case, as OpenAPI path items name their operations.
    pub fn openapi_key(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Delete => "delete",
        }
    }
}

/// One method of a path: the route that serves it and the operation that documents it.
pub struct Endpoint {
    pub verb: Verb,
    /// The actix route (method guard + handler).
    pub route: fn() -> Route,
    /// Its OpenAPI operation.
    pub doc: fn() -> Operation,
}

/// A path and its methods.
pub struct RouteDef {
    /// actix/OpenAPI template, e.g. `/api/v1/livechat/visitor/{token}`.
    pub path: &'static str,
    pub endpoints: &'static [Endpoint],
}

impl RouteDef {
    /// The methods of this path, as `Allow` lists them.
    pub fn methods(&self) -> Vec<Method> {
        self.endpoints.iter().map(|e| e.verb.method()).collect()
    }
}

/// One endpoint: `get`, `post` or `delete`, served by a handler, documented by an operation.
macro_rules! endpoint {
    (get, $handler:path, $doc:path) => {
        endpoint!(Get, web::get(), $handler, $doc)
    };
    (post, $handler:path, $doc:path) => {
        endpoint!(Post, web::post(), $handler, $doc)
    };
    (delete, $handler:path, $doc:path) => {
        endpoint!(Delete, web::delete(), $handler, $doc)
    };
    ($verb:ident, $route:expr, $handler:path, $doc:path) => {
        Endpoint {
            verb: Verb::$verb,
            route: || $route.to($handler),
            doc: $doc,
        }
    };
}

/// A path and its endpoints, each `<verb>(<handler>, <operation>)`: one row of [`ROUTES`].
macro_rules! route {
    ($path:literal => $($verb:ident($handler:path, $doc:path)),+) => {
        RouteDef {
            path: $path,
            endpoints: &[$(endpoint!($verb, $handler, $doc)),+],
        }
    };
}

/// Every route of the application.
pub const ROUTES: &[RouteDef] = &[
    route!("/api/v1/livechat/visitor" => post(visitor::register, doc::register_visitor)),
    route!("/api/v1/livechat/visitor/{token}" =>
        get(visitor::get, doc::get_visitor),
        delete(visitor::delete, doc::delete_visitor)),
    route!("/api/v1/livechat/page.visited" => post(navigation::page_visited, doc::page_visited)),
    route!("/api/v1/livechat/room" => get(rooms::room, doc::room)),
    route!("/api/v1/livechat/room.close" => post(rooms::close, doc::room_close)),
    route!("/api/v1/livechat/message" => post(rooms::message, doc::message)),
    route!("/api/v1/livechat/visitors.info" => get(visitors::info, doc::visitors_info)),
    route!("/api/v1/livechat/visitors.pagesVisited"
        => get(visitors::pages_visited_by_query, doc::pages_visited_by_query)),
    route!("/api/v1/livechat/visitors.pagesVisited/{roomId}"
        => get(visitors::pages_visited_of_room, doc::pages_visited_of_room)),
    route!("/api/v1/livechat/visitors.chatHistory/room/{roomId}/visitor/{visitorId}"
        => get(visitors::chat_history, doc::chat_history)),
    route!("/api/v1/livechat/visitors.search" => get(visitors::search, doc::search)),
    route!("/api/v1/livechat/{rid}/messages" => get(room_messages::messages, doc::room_messages)),
    route!("/api/v1/livechat/custom-fields" => get(visitors::custom_fields, doc::custom_fields)),
    route!("/api/v1/login" => post(login::login, doc::login)),
    route!("/api/v1/logout" =>
        get(login::logout, doc::logout_get),
        post(login::logout, doc::logout_post)),
    route!("/api/v1/me" => get(login::me, doc::me)),
    route!("/api/v1/users.create" => post(users::create, doc::users_create)),
    route!("/api/v1/users.list" => get(users::list, doc::users_list)),
    route!("/api/v1/users.update" => post(users::update, doc::users_update)),
    route!("/api/v1/users.delete" => post(users::delete, doc::users_delete)),
    route!("/api/v1/visitord.overview" => get(overview::overview, doc::overview)),
    route!("/api/v1/visitord.visitors.search" => get(visitors::console_search, doc::console_search)),
    route!("/api/v1/visitord.backup" => post(operations::backup, doc::backup)),
    route!("/api/info" => get(meta::info, doc::info)),
    route!("/health" => get(meta::health, doc::health)),
    route!("/health/live" => get(meta::live, doc::live)),
    route!("/metrics" => get(metrics::scrape, doc::metrics)),
    route!("/api/openapi.json" => get(apidocs::openapi_json, doc::openapi_json)),
    route!("/api/docs" => get(apidocs::page, doc::docs_page)),
    route!("/api/docs/{file}" => get(apidocs::asset, doc::docs_asset)),
];
