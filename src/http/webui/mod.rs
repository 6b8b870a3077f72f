//! The web face of visitord: the agent console (`/console/`), the site tracker
//! (`/livechat/visitor.js`) and the demo site (`/livechat/demo/`).
//!
//! These are the only paths that answer HTML, JavaScript or CSS. They are not API operations, so
//! they live in [`WEB_PATHS`] instead of the route table and stay out of the OpenAPI document;
//! [`routes`] registers them (each behind its config switch), and anything unknown under them is
//! the API's JSON 404. The files are committed under `web/` and compiled into the binary with
//! `include_bytes!` (see [`assets`]): `cargo build` needs no node and no network.

pub mod assets;

use crate::config::Config;
use crate::http::error::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use assets::{Asset, Kind};

/// The Content-Security-Policy of every console response: scripts and styles only from this
/// server, no inline script or `style` attribute, no `eval`, requests only to this server, never
/// framed.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The demo site's policy: as the console's, but it may be framed by this server's own pages.
pub const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'self'";

/// Which switch turns a web path on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// `console.enabled`.
    Console,
    /// Always on.
    Always,
    /// `livechat.demo_enabled`.
    Demo,
}

impl Switch {
    /// Whether `config` turns it on.
    pub fn on(self, config: &Config) -> bool {
        match self {
            Switch::Console => config.console.enabled,
            Switch::Always => true,
            Switch::Demo => config.livechat.demo_enabled,
        }
    }
}

/// What a web path answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// A `302` to this location.
    Redirect(&'static str),
    /// The embedded file at the request's own path (`{file}`: one of [`assets::ASSETS`]).
    Asset,
}

/// One non-API path (an actix template).
pub struct WebPath {
    pub path: &'static str,
    pub switch: Switch,
    pub serves: Serves,
}

/// Every web path. `GET` and `HEAD` only; any other method is the JSON 405.
pub const WEB_PATHS: &[WebPath] = &[
    WebPath {
        path: "/",
        switch: Switch::Console,
        serves: Serves::Redirect("/console/"),
    },
    WebPath {
        path: "/console",
        switch: Switch::Console,
        serves: Serves::Redirect("/console/"),
    },
    WebPath {
        path: "/console/",
        switch: Switch::Console,
        serves: Serves::Asset,
    },
    WebPath {
        path: "/console/{file}",
        switch: Switch::Console,
        serves: Serves::Asset,
    },
    WebPath {
        path: "/livechat/visitor.js",
        switch: Switch::Always,
        serves: Serves::Asset,
    },
    WebPath {
        path: "/livechat/demo",
        switch: Switch::Demo,
        serves: Serves::Redirect("/livechat/demo/"),
    },
    WebPath {
        path: "/livechat/demo/",
        switch: Switch::Demo,
        serves: Serves::Asset,
    },
    WebPath {
        path: "/livechat/demo/{file}",
        switch: Switch::Demo,
        serves: Serves::Asset,
    },
];

/// Registers the web paths `config` turns on.
pub fn routes(cfg: &mut web::ServiceConfig, config: &Config) {
    for def in WEB_PATHS.iter().filter(|d| d.switch.on(config)) {
        let serves = def.serves;
        let resource = web::resource(def.path)
            .route(
                web::route()
                    .guard(guard::Any(guard::Get()).or(guard::Head()))
                    .to(move |req: HttpRequest| async move { serve(&req, serves) }),
            )
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
                    allow: "GET, HEAD".into(),
                })
            }));
        cfg.service(resource);
    }
}

/// `GET`/`HEAD` of any [`WEB_PATHS`] entry: its redirect, or the embedded file of the request's
/// path (JSON 404 when there is none), `304` when `If-None-Match` names its ETag.
fn serve(req: &HttpRequest, serves: Serves) -> Result<HttpResponse, ApiError> {
    match serves {
        Serves::Redirect(to) => Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, to))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        Serves::Asset => {
            let asset = assets::find(req.path()).ok_or(ApiError::NotFound)?;
            Ok(respond(req, asset))
        }
    }
}

/// Whether an `If-None-Match` value names `etag` (weak comparison, as RFC 9110 asks for it).
pub fn none_match(value: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == bare)
}

/// The answer for `asset`: headers of its kind, then the body or a `304`.
fn respond(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    let etag = assets::etag(asset);
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| none_match(v, &etag));
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, asset.kind.cache_control()));
    match asset.kind {
        Kind::Console => {
            res.insert_header((header::CONTENT_SECURITY_POLICY, CONSOLE_CSP))
                .insert_header((header::X_FRAME_OPTIONS, "DENY"))
                .insert_header(("Cross-Origin-Opener-Policy", "same-origin"));
        }
        Kind::Demo => {
            res.insert_header((header::CONTENT_SECURITY_POLICY, DEMO_CSP));
        }
        Kind::Tracker => {
            res.insert_header((
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ))
            .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"));
        }
    }
    if not_modified {
        return res.finish();
    }
    // HEAD gets the same answer: actix sends its headers (Content-Length included), not the body.
    res.insert_header((header::CONTENT_TYPE, asset.content_type()))
        .body(asset.bytes)
}
