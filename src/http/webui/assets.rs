//! The embedded files of the web face, by URL path.
//!
//! Each file under `web/console/`, `web/tracker/` and `web/demo/` is listed here once, with the
//! URL path it answers. `include_bytes!` makes cargo rebuild when one changes; a test
//! (`tests/web/`) checks that every file of those folders is listed and walks every entry.

use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// What a file is part of: decides its headers and `Cache-Control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The agent console: strict CSP, never framed, revalidated on every load.
    Console,
    /// `visitor.js`: loaded by other sites on every page view.
    Tracker,
    /// The demo site.
    Demo,
}

impl Kind {
    /// Its `Cache-Control`.
    pub fn cache_control(self) -> &'static str {
        match self {
            // A 304 is cheap, and an upgrade never leaves an agent on stale code.
            Kind::Console | Kind::Demo => "no-cache",
            Kind::Tracker => "public, max-age=300",
        }
    }
}

/// One embedded file.
pub struct Asset {
    /// The URL path it answers (`/console/` for the console's `index.html`).
    pub url: &'static str,
    /// Its file under `web/`.
    pub file: &'static str,
    pub kind: Kind,
    pub bytes: &'static [u8],
}

impl Asset {
    /// Its `Content-Type`, from the file's extension.
    pub fn content_type(&self) -> &'static str {
        match self.file.rsplit('.').next().unwrap_or_default() {
            "html" => "text/html; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            "png" => "image/png",
            _ => "application/octet-stream",
        }
    }
}

/// The assets of each folder, in order (see [`asset!`]).
macro_rules! assets {
    ($( $kind:ident: $prefix:literal => $folder:literal [ $($file:tt),* ] ),* $(,)?) => {
        [ $( $( asset!($kind, $prefix, $folder, $file), )* )* ]
    };
}

/// One file of `web/<folder>`: `index` (its `index.html`) answers `prefix` itself, any other
/// file `prefix` + its name.
macro_rules! asset {
    ($kind:ident, $prefix:literal, $folder:literal, index) => {
        asset!(@at $kind, $prefix, concat!($folder, "index.html"))
    };
    ($kind:ident, $prefix:literal, $folder:literal, $name:literal) => {
        asset!(@at $kind, concat!($prefix, $name), concat!($folder, $name))
    };
    (@at $kind:ident, $url:expr, $file:expr) => {
        Asset {
            url: $url,
            file: $file,
            kind: Kind::$kind,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $file)),
        }
    };
}

/// Every embedded file: per folder of `web/`, its kind, the URL prefix it is served under, and
/// its files.
pub const ASSETS: &[Asset] = &assets![
    Console: "/console/" => "console/" [
        index, "app.css", "app.js", "api.js", "dom.js", "views.js", "overview.js"
    ],
    Tracker: "/livechat/" => "tracker/" ["visitor.js"],
    Demo: "/livechat/demo/" => "demo/" [index, "second.html", "demo.js", "demo.css"],
];

/// The file answering `path`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.url == path)
}

/// The strong ETag of `asset`: the SHA-256 of its bytes, computed once per file.
pub fn etag(asset: &'static Asset) -> String {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", hex::encode(Sha256::digest(a.bytes))))
            .collect()
    });
    ASSETS
        .iter()
        .position(|a| std::ptr::eq(a, asset))
        .and_then(|i| tags.get(i).cloned())
        .unwrap_or_else(|| format!("\"{}\"", hex::encode(Sha256::digest(asset.bytes))))
}
