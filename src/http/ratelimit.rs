//! Fixed one-minute windows per (route, client key), as Rocket.Chat's `DDPRateLimiter` counts.
//!
//! Keys are the client IP for anonymous routes (see [`super::client_ip`]), the visitor token
//! (and the IP) for `page.visited` (a busy site behind one NAT must not be throttled as one
//! client) and the user id for agents.
//!
//! Memory is bounded: keys longer than [`MAX_KEY_BYTES`] are kept as their SHA-256; expired
//! windows are swept every [`SWEEP_EVERY_MS`] (checked on every count, so no timer thread);
//! and the map never holds more than [`MAX_WINDOWS`] windows. When it is full of live windows
//! after a sweep, a key that has no window yet is **refused** with a 429 (fail closed), while
//! keys that have one are counted as usual: filling the map can at worst make new clients wait
//! a moment, never lift or reset anyone's limit (which evicting windows would).

use super::client_ip::ClientIp;
use super::error::ApiError;
use crate::config::RateLimitConfig;
use crate::metrics::Metrics;
use crate::time::{now_ms, Millis};
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const WINDOW_MS: Millis = 60_000;
/// Expired windows are dropped at most this long after they expire.
pub const SWEEP_EVERY_MS: Millis = 10_000;
/// The most windows kept at once (about 15 MB).
pub const MAX_WINDOWS: usize = 100_000;
/// Longer keys are kept as their SHA-256 (in hex, after a `#` no shorter key can start with
/// at that length).
pub const MAX_KEY_BYTES: usize = 64;
/// When the map is full, a sweep is tried at most this often.
const FULL_SWEEP_EVERY_MS: Millis = 1_000;

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    RegisterVisitor,
    GetVisitor,
    DeleteVisitor,
    /// `page.visited`, keyed by visitor token.
    PageVisited,
    /// `page.visited`, keyed by client IP.
    PageVisitedIp,
    Room,
    RoomClose,
    Message,
    /// Agent endpoints, keyed by user id.
    Authenticated,
    /// Failed logins, keyed by IP.
    LoginFailureIp,
    /// Failed logins, keyed by lower-cased username.
    LoginFailureUser,
}

impl Route {
    /// The limit's name in metrics (`visitord_rate_limit_refusals_total{route=…}`).
    pub fn label(self) -> &'static str {
        match self {
            Route::RegisterVisitor => "visitor_register",
            Route::GetVisitor => "visitor_get",
            Route::DeleteVisitor => "visitor_delete",
            Route::PageVisited => "page_visited_token",
            Route::PageVisitedIp => "page_visited_ip",
            Route::Room => "room",
            Route::RoomClose => "room_close",
            Route::Message => "message",
            Route::Authenticated => "authenticated",
            Route::LoginFailureIp => "login_failure_ip",
            Route::LoginFailureUser => "login_failure_user",
        }
    }
}

#[derive(Clone, Copy)]
struct Window {
    start: Millis,
    count: u32,
}

struct Windows {
    map: HashMap<(Route, String), Window>,
    last_sweep: Millis,
}

impl Windows {
    /// Drops expired windows when the last sweep is [`SWEEP_EVERY_MS`] old, or (at most every
    /// [`FULL_SWEEP_EVERY_MS`]) when the map is full.
    fn sweep(&mut self, now: Millis, max: usize) {
        let since = now - self.last_sweep;
        if since >= SWEEP_EVERY_MS || (self.map.len() >= max && since >= FULL_SWEEP_EVERY_MS) {
            self.map.retain(|_, w| now - w.start < WINDOW_MS);
            self.last_sweep = now;
        }
    }
}

/// One counted event that may be handed back with [`RateLimiter::release`] (a login attempt
/// is counted before the password is checked, and handed back when it was right).
#[derive(Debug)]
pub struct Reservation {
    slot: Option<((Route, String), Millis)>,
    /// Events of the key already in the window before this one.
    pub prior: u32,
}

/// A fixed window counted in the database (see [`RateLimiter::shared_window`]).
#[derive(Debug, Clone)]
pub struct SharedWindow {
    /// The counter's key: the route's label and the (bounded) key.
    pub key: String,
    pub limit: u32,
    /// The window's first millisecond (as the store answered).
    pub start: Millis,
    route: Route,
}

/// How long a shared window lasts.
pub const SHARED_WINDOW_MS: Millis = WINDOW_MS;

/// The limiter shared by every worker.
pub struct RateLimiter {
    config: RateLimitConfig,
    client_ip: ClientIp,
    max_windows: usize,
    windows: Mutex<Windows>,
    /// Counts refusals by route, when set.
    metrics: Option<Arc<Metrics>>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        Self::with_max_windows(config, MAX_WINDOWS)
    }

    fn with_max_windows(config: RateLimitConfig, max_windows: usize) -> RateLimiter {
        // `Config::validate` refuses bad CIDRs at start; a config built in code that skipped it
        // trusts no proxy (fail closed).
        let proxies = config.trusted_proxy_nets().unwrap_or_default();
        RateLimiter {
            client_ip: ClientIp::new(config.trust_forwarded_for, proxies),
            config,
            max_windows,
            windows: Mutex::new(Windows {
                map: HashMap::new(),
                last_sweep: now_ms(),
            }),
            metrics: None,
        }
    }

    /// The limiter, counting its refusals in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> RateLimiter {
        self.metrics = Some(metrics);
        self
    }

    fn limit_of(&self, route: Route) -> u32 {
        let c = &self.config;
        match route {
            Route::RegisterVisitor => c.visitor_register_per_min,
            Route::Room => c.room_per_min,
            Route::PageVisited => c.page_visited_per_token_per_min,
            Route::PageVisitedIp => c.page_visited_per_ip_per_min,
            Route::GetVisitor | Route::DeleteVisitor | Route::RoomClose | Route::Message => {
                c.anonymous_per_min
            }
            Route::Authenticated => c.authenticated_per_min,
            Route::LoginFailureIp | Route::LoginFailureUser => c.login_failures_per_min,
        }
    }

    /// Counts one request of `key` on `route`; a 429 when the window is full.
    pub fn check(&self, route: Route, key: &str) -> Result<(), ApiError> {
        self.reserve_at(route, key, now_ms()).map(|_| ())
    }

    /// Counts one event of `key` on `route`, atomically with the check (a 429, counting
    /// nothing, when the window is full); hand it back with [`Self::release`].
    pub fn reserve(&self, route: Route, key: &str) -> Result<Reservation, ApiError> {
        self.reserve_at(route, key, now_ms())
    }

    /// Hands back a reserved event (if its window is still the current one).
    pub fn release(&self, reservation: Reservation) {
        let Some((id, start)) = reservation.slot else {
            return;
        };
        let mut windows = self.lock();
        if let Some(w) = windows.map.get_mut(&id) {
            if w.start == start {
                w.count = w.count.saturating_sub(1);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn reserve_at(&self, route: Route, key: &str, now: Millis) -> Result<Reservation, ApiError> {
        let reserved = self.count_at(route, key, now);
        if let (Err(_), Some(metrics)) = (&reserved, &self.metrics) {
            metrics.rate_limited(route.label());
        }
        reserved
    }

    fn count_at(&self, route: Route, key: &str, now: Millis) -> Result<Reservation, ApiError> {
        if !self.config.enabled {
            return Ok(Reservation {
                slot: None,
                prior: 0,
            });
        }
        let limit = self.limit_of(route);
        let id = (route, bounded_key(key));
        let mut windows = self.lock();
        windows.sweep(now, self.max_windows);
        let full = windows.map.len() >= self.max_windows;
        let window = match windows.map.get_mut(&id) {
            Some(w) => w,
            None if full => {
                return Err(ApiError::TooManyRequests {
                    limit,
                    wait_secs: FULL_SWEEP_EVERY_MS / 1000,
                    reset_ms: now + FULL_SWEEP_EVERY_MS,
                })
            }
            None => windows.map.entry(id.clone()).or_insert(Window {
                start: now,
                count: 0,
            }),
        };
        if now - window.start >= WINDOW_MS {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        if window.count >= limit {
            let reset_ms = window.start + WINDOW_MS;
            let wait_secs = ((reset_ms - now) + 999) / 1000;
            return Err(ApiError::TooManyRequests {
                limit,
                wait_secs: wait_secs.max(1),
                reset_ms,
            });
        }
        let prior = window.count;
        window.count += 1;
        let start = window.start;
        Ok(Reservation {
            slot: Some((id, start)),
            prior,
        })
    }

    /// For failures counted in the database instead (replicas sharing one database): the key's
    /// row and the route's limit (the store keeps the window, of [`SHARED_WINDOW_MS`], as this
    /// limiter does: from the key's first event); `None` when rate limiting is off.
    pub fn shared_window(&self, route: Route, key: &str) -> Option<SharedWindow> {
        if !self.config.enabled {
            return None;
        }
        Some(SharedWindow {
            key: format!("{}:{}", route.label(), bounded_key(key)),
            limit: self.limit_of(route),
            start: 0,
            route,
        })
    }

    /// The 429 of a full shared window (counted in the metrics like any other).
    pub fn shared_refusal(&self, window: &SharedWindow, now: Millis) -> ApiError {
        if let Some(metrics) = &self.metrics {
            metrics.rate_limited(window.route.label());
        }
        let reset_ms = window.start + WINDOW_MS;
        ApiError::TooManyRequests {
            limit: window.limit,
            wait_secs: (((reset_ms - now) + 999) / 1000).max(1),
            reset_ms,
        }
    }

    /// The client IP: the peer, or with `trust_forwarded_for` what a trusted proxy says in
    /// `X-Forwarded-For` (rules in [`super::client_ip`]).
    pub fn client_ip(&self, req: &HttpRequest) -> String {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        self.client_ip
            .resolve(req.peer_addr().map(|a| a.ip()), &forwarded)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

/// `key`, or `#<SHA-256 in hex>` when it is longer than [`MAX_KEY_BYTES`].
fn bounded_key(key: &str) -> String {
    if key.len() <= MAX_KEY_BYTES {
        key.to_string()
    } else {
        format!("#{:x}", Sha256::digest(key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited() -> RateLimiter {
        RateLimiter::new(RateLimitConfig::default())
    }

    fn too_many(r: Result<Reservation, ApiError>) -> (u32, i64, i64) {
        match r {
            Err(ApiError::TooManyRequests {
                limit,
                wait_secs,
                reset_ms,
            }) => (limit, wait_secs, reset_ms),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn window_fills_then_resets() {
        let limiter = limited();
        for _ in 0..5 {
            limiter
                .reserve_at(Route::RegisterVisitor, "ip", 1_000)
                .unwrap();
        }
        assert_eq!(
            too_many(limiter.reserve_at(Route::RegisterVisitor, "ip", 31_000)),
            (5, 30, 61_000)
        );
        limiter
            .reserve_at(Route::RegisterVisitor, "other-ip", 31_000)
            .unwrap();
        limiter
            .reserve_at(Route::RegisterVisitor, "ip", 61_000)
            .unwrap();
    }

    #[test]
    fn disabled_never_limits() {
        let limiter = RateLimiter::new(RateLimitConfig {
            enabled: false,
            ..Default::default()
        });
        for _ in 0..100 {
            limiter.reserve_at(Route::RegisterVisitor, "ip", 0).unwrap();
        }
        assert_eq!(limiter.len(), 0);
    }

    #[test]
    fn a_released_reservation_is_handed_back() {
        let limiter = limited();
        for i in 0..10 {
            let r = limiter
                .reserve_at(Route::LoginFailureIp, "ip", 1_000)
                .unwrap();
            assert_eq!(r.prior, i);
        }
        let refused = limiter.reserve_at(Route::LoginFailureIp, "ip", 1_000);
        assert_eq!(too_many(refused).0, 10);
        // Ten successes in a row never fill the window.
        let limiter = limited();
        let reserve_ok_at = |at| limiter.reserve_at(Route::LoginFailureIp, "ok", at).unwrap();
        for _ in 0..20 {
            let r = reserve_ok_at(1_000);
            assert_eq!(r.prior, 0);
            limiter.release(r);
        }
        // A reservation of an expired window does not touch the new one.
        let old = reserve_ok_at(1_000);
        let new = reserve_ok_at(70_000);
        assert_eq!(new.prior, 0);
        limiter.release(old);
        let next = reserve_ok_at(70_000);
        assert_eq!(next.prior, 1);
    }

    #[test]
    fn expired_windows_are_swept_long_before_the_cap() {
        let limiter = limited();
        let t0 = limiter.lock().last_sweep;
        for i in 0..1_000 {
            limiter
                .reserve_at(Route::GetVisitor, &format!("ip{i}"), t0)
                .unwrap();
        }
        assert_eq!(limiter.len(), 1_000);
        // Still live a little later: kept.
        limiter
            .reserve_at(Route::GetVisitor, "late", t0 + SWEEP_EVERY_MS)
            .unwrap();
        assert_eq!(limiter.len(), 1_001);
        // Once they have expired, the next check sweeps them.
        limiter
            .reserve_at(Route::GetVisitor, "later", t0 + WINDOW_MS)
            .unwrap();
        assert_eq!(limiter.len(), 2, "only `late` and `later` are live");
    }

    #[test]
    fn long_keys_are_kept_as_a_hash() {
        let limiter = limited();
        let huge = "u".repeat(1_000_000);
        for _ in 0..10 {
            limiter
                .reserve_at(Route::LoginFailureUser, &huge, 1_000)
                .unwrap();
        }
        // Still one bucket per key: the eleventh is refused, another long key is not.
        too_many(limiter.reserve_at(Route::LoginFailureUser, &huge, 1_000));
        let other = format!("{huge}x");
        limiter
            .reserve_at(Route::LoginFailureUser, &other, 1_000)
            .unwrap();
        let windows = limiter.lock();
        assert_eq!(windows.map.len(), 2);
        assert!(windows
            .map
            .keys()
            .all(|(_, k)| k.len() <= MAX_KEY_BYTES + 1));
        drop(windows);
        assert_eq!(bounded_key("short"), "short");
        assert_eq!(bounded_key(&"a".repeat(64)), "a".repeat(64));
        assert_eq!(bounded_key(&"a".repeat(65)).len(), 65);
        assert!(bounded_key(&"a".repeat(65)).starts_with('#'));
    }

    #[test]
    fn the_map_never_exceeds_its_cap_and_new_keys_are_refused_at_it() {
        let limiter = RateLimiter::with_max_windows(RateLimitConfig::default(), 100);
        let t0 = limiter.lock().last_sweep;
        for i in 0..100 {
            limiter
                .reserve_at(Route::GetVisitor, &format!("ip{i}"), t0 + i)
                .unwrap();
        }
        for i in 100..1_000 {
            let (limit, wait, _) =
                too_many(limiter.reserve_at(Route::GetVisitor, &format!("ip{i}"), t0 + 200));
            assert_eq!((limit, wait), (10, 1));
            assert_eq!(limiter.len(), 100);
        }
        // Keys that have a window are still counted (and limited) as usual.
        limiter
            .reserve_at(Route::GetVisitor, "ip7", t0 + 200)
            .unwrap();
        // Once the windows expire, a sweep makes room again.
        limiter
            .reserve_at(Route::GetVisitor, "fresh", t0 + WINDOW_MS + 1_000)
            .unwrap();
        assert!(limiter.len() <= 100);
        assert_eq!(limiter.len(), 1);
    }
}
