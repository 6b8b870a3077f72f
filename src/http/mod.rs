//! The HTTP layer: routes, shared state, and the helpers every handler uses.
//!
//! [`build_app`] is the whole application; `main` serves it and every test calls it.

pub mod agent;
pub mod body;
pub mod client_ip;
pub mod cors;
pub mod error;
pub mod extract;
pub mod hashpool;
pub mod livechat;
pub mod metrics;
pub mod param_errors;
pub mod query;
pub mod ratelimit;
pub mod reference;
pub mod routes;
pub mod status;
pub mod webui;

use crate::config::{Config, StorageBackend};
use crate::domain::Backend;
use crate::postgres::{PgStore, SchemaPolicy};
use crate::store::{self, Store};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpRequest, Resource};
use error::ApiError;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The store seam: every handler reaches storage through it (see [`read`], [`write`],
    /// [`lookup`]), so another backend can serve the same API.
    pub backend: Arc<dyn Backend>,
    /// The embedded store itself (`storage.backend = "sled"`; `None` on postgres), for its own
    /// operations: background jobs (eraser, backups), the backup endpoint, metrics about its
    /// trees and files.
    pub store: Option<Store>,
    /// The PostgreSQL backend (`storage.backend = "postgres"`; `None` on sled), for what only
    /// it does (leases of background jobs).
    pub postgres: Option<PgStore>,
    pub limiter: Arc<ratelimit::RateLimiter>,
    /// Searches that may run at once (two per core): a search is CPU work on the blocking
    /// pool, so more at once only add memory and switching; the rest wait their turn.
    pub search_slots: Arc<tokio::sync::Semaphore>,
    /// Password hashing and verification, on threads of their own (see [`hashpool`]).
    pub hasher: Arc<hashpool::HashPool>,
    /// What `GET /metrics` serves (observations are no-ops with `metrics.enabled` off).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl AppState {
    /// Opens the store named by `config`.
    pub fn open(config: Config) -> Result<AppState, store::StoreError> {
        let search_fields = config.search_fields();
        let hasher =
            hashpool::HashPool::new(&config.auth).map_err(|source| store::StoreError::Io {
                path: "(password hashing pool)".into(),
                source,
            })?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let metrics = Arc::new(crate::metrics::Metrics::new(config.metrics.enabled));
        let (backend, store, postgres): (Arc<dyn Backend>, Option<Store>, Option<PgStore>) =
            match config.storage.backend {
                StorageBackend::Sled => {
                    let store = Store::open(&config.storage, search_fields)?;
                    store.set_roomless_expiry(config.history.roomless_ttl_days > 0);
                    if metrics.enabled() {
                        let m = metrics.clone();
                        store.observe_flushes(Arc::new(move |batch, took, ok| {
                            m.commit_flush(batch, took, ok)
                        }));
                    }
                    (Arc::new(store.clone()), Some(store), None)
                }
                StorageBackend::Postgres => {
                    let policy = if config.storage.auto_migrate {
                        SchemaPolicy::Migrate
                    } else {
                        SchemaPolicy::RequireCurrent
                    };
                    let pg = PgStore::open(&config.storage, search_fields, policy)
                        .map_err(store::StoreError::Storage)?;
                    (Arc::new(pg.clone()), None, Some(pg))
                }
            };
        Ok(AppState {
            limiter: Arc::new(
                ratelimit::RateLimiter::new(config.rate_limit.clone())
                    .with_metrics(metrics.clone()),
            ),
            metrics,
            search_slots: Arc::new(tokio::sync::Semaphore::new(2 * cores)),
            hasher: Arc::new(hasher),
            config: Arc::new(config),
            backend,
            store,
            postgres,
        })
    }
}

/// Runs a point read (a few keys: microseconds from sled's cache) on the calling worker. A hop
/// to the blocking pool and back costs more than such a read, so handlers that look up one
/// visitor or one session use this; scans (search, lists, history pages) use [`read`], writes
/// [`write`]. Measured in `docs/benchmarks.md`. A backend whose point reads cross the network
/// ([`Backend::point_reads_are_cheap`] false: PostgreSQL) never blocks a worker: its reads go
/// to the blocking pool like [`read`].
pub async fn lookup<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Backend) -> store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    if state.backend.point_reads_are_cheap() {
        f(state.backend.as_ref()).map_err(ApiError::from)
    } else {
        read(state, f).await
    }
}

/// Runs a read on the blocking pool (sled calls block).
pub async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Backend) -> store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let backend = state.backend.clone();
    web::block(move || f(backend.as_ref()))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking pool: {e}")))?
        .map_err(ApiError::from)
}

/// Runs a write on the blocking pool and answers only once it is durable (see `store::commit`).
///
/// The write is announced to the backend before it is queued, and its ticket taken on the
/// blocking thread right after its commit: a group-commit flush due meanwhile waits briefly for
/// the announced writes, so that one flush covers them all. (A single write thread instead of
/// the pool was tried: fair, p99 of registrations ~30 ms, but fewer writes per flush and 12 %
/// more CPU per write; `docs/benchmarks.md`.)
pub async fn write<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Backend) -> store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let backend = state.backend.clone();
    backend.announce_write();
    let (out, durable) = web::block(move || {
        // The announcement ends with the ticket whatever the write's outcome.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(backend.as_ref())));
        (out, backend.durable_announced())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("blocking pool: {e}")))?;
    let out = out.map_err(|_| ApiError::Internal("a write panicked".into()))??;
    durable.await?;
    Ok(out)
}

/// A resource that answers JSON 405 (with `Allow`) to methods it does not serve.
fn resource(path: &str, methods: &[Method]) -> Resource {
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
    }))
}

/// Every route of the API, from the route table [`routes::ROUTES`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    for def in routes::ROUTES {
        let mut resource = resource(def.path, &def.methods());
        for endpoint in def.endpoints {
            resource = resource.route((endpoint.route)());
        }
        cfg.service(resource);
    }
}

/// The whole application over `state`.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let config = state.config.clone();
    App::new()
        .app_data(web::Data::new(state))
        .configure(routes)
        .configure(|cfg| webui::routes(cfg, &config))
        .default_service(web::to(not_found))
        .wrap(actix_web::middleware::from_fn(cors::cors))
        .wrap(DefaultHeaders::new().add(("Cache-Control", "no-store")))
        // Outermost: request id, metrics and the access log (by route template, after routing).
        .wrap(actix_web::middleware::from_fn(metrics::observe))
}

/// Any unknown path.
async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The path as it is logged: the template of the route that served the request
/// (`/api/v1/livechat/visitor/{token}`), so no token is ever printed however the path was
/// spelt (`%76isitor`, `%2F` in a token); an unrouted path goes through [`redacted_path`].
/// Query strings are never logged.
pub fn logged_path(req: &HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| redacted_path(req.path()))
}

/// An unrouted path as it may be logged: percent-decoded, and cut after the first `visitor/`
/// (in any case) with `{token}` in place of the rest.
pub fn redacted_path(path: &str) -> String {
    const MARK: &str = "visitor/";
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    match decoded.to_ascii_lowercase().find(MARK) {
        Some(at) => format!("{}{{token}}", &decoded[..at + MARK.len()]),
        None => decoded,
    }
}

/// The client's address for `ip` of a new visitor: `X-Real-IP`, else `X-Forwarded-For`, else the peer.
pub fn visitor_ip(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| first_forwarded(req))
        .or_else(|| req.peer_addr().map(|a| a.ip().to_string()))
}

/// The first address of `X-Forwarded-For`: the one stored as a visitor's `ip`, as Rocket.Chat
/// does (never used for rate limiting, see [`ratelimit::RateLimiter::client_ip`]).
fn first_forwarded(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|ip| ip.trim().to_string())
        .filter(|ip| !ip.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_from_unrouted_paths() {
        for path in [
            "/api/v1/livechat/visitor/secret-token",
            "/api/v1/livechat/%76isitor/secret-token",
            "/api/v1/livechat/visitor%2Fsecret-token",
            "/api/v1/livechat/visitor%2fsecret-token",
            "/API/V1/LIVECHAT/VISITOR/secret-token",
        ] {
            let logged = redacted_path(path);
            assert!(logged.ends_with("{token}"), "{path} → {logged}");
            assert!(!logged.contains("secret"), "{path} → {logged}");
        }
        assert_eq!(
            redacted_path("/api/v1/livechat/%76isitor/secret-token"),
            "/api/v1/livechat/visitor/{token}"
        );
        assert_eq!(
            redacted_path("/api/v1/livechat/visitor"),
            "/api/v1/livechat/visitor"
        );
        assert_eq!(redacted_path("/health"), "/health");
        assert_eq!(redacted_path("/nope/%ff"), "/nope/\u{fffd}");
    }

    /// The path logged for each request as routed by the real route table.
    #[actix_web::test]
    async fn routed_requests_are_logged_by_their_template() {
        use actix_web::dev::Service;
        use std::cell::RefCell;
        use std::rc::Rc;
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        let app = actix_web::test::init_service(
            App::new()
                .configure(routes)
                .default_service(web::to(not_found))
                .wrap_fn(move |req, srv| {
                    let log = log.clone();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        log.borrow_mut().push(logged_path(res.request()));
                        Ok(res)
                    }
                }),
        )
        .await;
        let cases = [
            (
                "/api/v1/livechat/visitor/secret1",
                "/api/v1/livechat/visitor/{token}",
            ),
            (
                "/api/v1/livechat/%76isitor/secret2",
                "/api/v1/livechat/visitor/{token}",
            ),
            (
                "/api/v1/livechat/%76%69sitor/secret3",
                "/api/v1/livechat/visitor/{token}",
            ),
            (
                "/api/v1/livechat/visitor/sec%2Fret4",
                "/api/v1/livechat/visitor/{token}",
            ),
            (
                "/api/v1/livechat/visitor/sec%2fret5?x=secret5",
                "/api/v1/livechat/visitor/{token}",
            ),
            (
                "/api/v1/livechat/visitor%2Fsecret6",
                "/api/v1/livechat/visitor/{token}",
            ),
            (
                "/api/v1/livechat/Visitor/secret7",
                "/api/v1/livechat/Visitor/{token}",
            ),
            (
                "/api/v1/livechat/%56ISITOR/secret8",
                "/api/v1/livechat/VISITOR/{token}",
            ),
            (
                "/api/v1/livechat/visitors.chatHistory/room/r1/visitor/v1",
                "/api/v1/livechat/visitors.chatHistory/room/{roomId}/visitor/{visitorId}",
            ),
            ("/health", "/health"),
        ];
        for (uri, _) in cases {
            let req = actix_web::test::TestRequest::get().uri(uri).to_request();
            let _ = actix_web::test::call_service(&app, req).await;
        }
        let seen = seen.borrow();
        for ((uri, expected), logged) in cases.iter().zip(seen.iter()) {
            assert_eq!(logged, expected, "{uri}");
            assert!(!logged.contains("secret"), "{uri} logged as {logged}");
        }
        assert_eq!(seen.len(), cases.len());
    }
}
