//! The API reference: the OpenAPI document and the page that renders it.
//!
//! The viewer (Swagger UI) is vendored under `web/vendor/` (see its README) and compiled into
//! the binary with `include_bytes!`: building needs no node and no network, and the page loads
//! nothing from anywhere but this server.

use crate::http::error::ApiError;
use crate::http::reference::document;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use std::sync::OnceLock;

/// The vendored viewer's folder, relative to the crate root.
macro_rules! vendored {
    ($file:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/web/vendor/swagger-ui-dist-5.35.0/",
            $file
        ))
    };
}

/// The Content-Security-Policy of the page and its assets. Scripts only from this server, no
/// inline script (the start-up code is `init.js`), no `eval`. Swagger UI renders markup with
/// `style` attributes, hence `'unsafe-inline'` for styles only; its stylesheet draws icons from
/// `data:` images.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// A file served under `/api/docs/`.
pub struct Asset {
    /// The name after `/api/docs/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// A file of the vendored viewer, served under its own name.
macro_rules! vendored_asset {
    ($file:literal, $content_type:expr) => {
        Asset {
            name: $file,
            content_type: $content_type,
            bytes: vendored!($file),
        }
    };
}

/// Every file served under `/api/docs/`.
pub const ASSETS: &[Asset] = &[
    vendored_asset!("swagger-ui-bundle.js", JAVASCRIPT),
    vendored_asset!("swagger-ui.css", CSS),
    Asset {
        name: "init.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/api-docs/init.js")),
    },
    vendored_asset!("LICENSE", TEXT),
    vendored_asset!("NOTICE", TEXT),
    vendored_asset!("swagger-ui-bundle.js.LICENSE.txt", TEXT),
];

/// The page at `/api/docs`.
const PAGE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/web/api-docs/index.html"
));

/// A static answer with the page's security headers.
fn asset_response(content_type: &'static str, bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(bytes)
}

/// The document as served: built and serialized once.
fn document_bytes() -> Result<&'static [u8], ApiError> {
    static DOC: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_vec(&document::document()).map_err(|e| e.to_string()))
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| ApiError::Internal(format!("OpenAPI document: {e}")))
}

/// `GET /api/openapi.json` — the OpenAPI 3.1 document of this API.
pub async fn openapi_json() -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(document_bytes()?))
}

/// `GET /api/docs` — the API reference page (Swagger UI over `/api/openapi.json`).
pub async fn page() -> HttpResponse {
    asset_response("text/html; charset=utf-8", PAGE)
}

/// `GET /api/docs/{file}` — the viewer's files; any other name is the JSON 404.
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.name == file.as_str())
        .map(|a| asset_response(a.content_type, a.bytes))
        .ok_or(ApiError::NotFound)
}
