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

const fn get(route: fn() -> Route, doc: fn() -> Operation) -> Endpoint {
    Endpoint {
        verb: Verb::Get,
        route,
        doc,
    }
}

const fn post(route: fn() -> Route, doc: fn() -> Operation) -> Endpoint {
    Endpoint {
        verb: Verb::Post,
        route,
        doc,
    }
}

const fn delete(route: fn() -> Route, doc: fn() -> Operation) -> Endpoint {
    Endpoint {
        verb: Verb::Delete,
        route,
        doc,
    }
}

/// Every route of the application.
pub const ROUTES: &[RouteDef] = &[
    RouteDef {
        path: "/api/v1/livechat/visitor",
        endpoints: &[post(
            || web::post().to(visitor::register),
            doc::register_visitor,
        )],
    },
    RouteDef {
        path: "/api/v1/livechat/visitor/{token}",
        endpoints: &[
            get(|| web::get().to(visitor::get), doc::get_visitor),
            delete(|| web::delete().to(visitor::delete), doc::delete_visitor),
        ],
    },
    RouteDef {
        path: "/api/v1/livechat/page.visited",
        endpoints: &[post(
            || web::post().to(navigation::page_visited),
            doc::page_visited,
        )],
    },
    RouteDef {
        path: "/api/v1/livechat/room",
        endpoints: &[get(|| web::get().to(rooms::room), doc::room)],
    },
    RouteDef {
        path: "/api/v1/livechat/room.close",
        endpoints: &[post(|| web::post().to(rooms::close), doc::room_close)],
    },
    RouteDef {
        path: "/api/v1/livechat/message",
        endpoints: &[post(|| web::post().to(rooms::message), doc::message)],
    },
    RouteDef {
        path: "/api/v1/livechat/visitors.info",
        endpoints: &[get(|| web::get().to(visitors::info), doc::visitors_info)],
    },
    RouteDef {
        path: "/api/v1/livechat/visitors.pagesVisited",
        endpoints: &[get(
            || web::get().to(visitors::pages_visited_by_query),
            doc::pages_visited_by_query,
        )],
    },
    RouteDef {
        path: "/api/v1/livechat/visitors.pagesVisited/{roomId}",
        endpoints: &[get(
            || web::get().to(visitors::pages_visited_of_room),
            doc::pages_visited_of_room,
        )],
    },
    RouteDef {
        path: "/api/v1/livechat/visitors.chatHistory/room/{roomId}/visitor/{visitorId}",
        endpoints: &[get(
            || web::get().to(visitors::chat_history),
            doc::chat_history,
        )],
    },
    RouteDef {
        path: "/api/v1/livechat/visitors.search",
        endpoints: &[get(|| web::get().to(visitors::search), doc::search)],
    },
    RouteDef {
        path: "/api/v1/livechat/{rid}/messages",
        endpoints: &[get(
            || web::get().to(room_messages::messages),
            doc::room_messages,
        )],
    },
    RouteDef {
        path: "/api/v1/livechat/custom-fields",
        endpoints: &[get(
            || web::get().to(visitors::custom_fields),
            doc::custom_fields,
        )],
    },
    RouteDef {
        path: "/api/v1/login",
        endpoints: &[post(|| web::post().to(login::login), doc::login)],
    },
    RouteDef {
        path: "/api/v1/logout",
        endpoints: &[
            get(|| web::get().to(login::logout), doc::logout_get),
            post(|| web::post().to(login::logout), doc::logout_post),
        ],
    },
    RouteDef {
        path: "/api/v1/me",
        endpoints: &[get(|| web::get().to(login::me), doc::me)],
    },
    RouteDef {
        path: "/api/v1/users.create",
        endpoints: &[post(|| web::post().to(users::create), doc::users_create)],
    },
    RouteDef {
        path: "/api/v1/users.list",
        endpoints: &[get(|| web::get().to(users::list), doc::users_list)],
    },
    RouteDef {
        path: "/api/v1/users.update",
        endpoints: &[post(|| web::post().to(users::update), doc::users_update)],
    },
    RouteDef {
        path: "/api/v1/users.delete",
        endpoints: &[post(|| web::post().to(users::delete), doc::users_delete)],
    },
    RouteDef {
        path: "/api/v1/visitord.overview",
        endpoints: &[get(|| web::get().to(overview::overview), doc::overview)],
    },
    RouteDef {
        path: "/api/v1/visitord.visitors.search",
        endpoints: &[get(
            || web::get().to(visitors::console_search),
            doc::console_search,
        )],
    },
    RouteDef {
        path: "/api/v1/visitord.backup",
        endpoints: &[post(|| web::post().to(operations::backup), doc::backup)],
    },
    RouteDef {
        path: "/api/info",
        endpoints: &[get(|| web::get().to(meta::info), doc::info)],
    },
    RouteDef {
        path: "/health",
        endpoints: &[get(|| web::get().to(meta::health), doc::health)],
    },
    RouteDef {
        path: "/health/live",
        endpoints: &[get(|| web::get().to(meta::live), doc::live)],
    },
    RouteDef {
        path: "/metrics",
        endpoints: &[get(|| web::get().to(metrics::scrape), doc::metrics)],
    },
    RouteDef {
        path: "/api/openapi.json",
        endpoints: &[get(
            || web::get().to(apidocs::openapi_json),
            doc::openapi_json,
        )],
    },
    RouteDef {
        path: "/api/docs",
        endpoints: &[get(|| web::get().to(apidocs::page), doc::docs_page)],
    },
    RouteDef {
        path: "/api/docs/{file}",
        endpoints: &[get(|| web::get().to(apidocs::asset), doc::docs_asset)],
    },
];
