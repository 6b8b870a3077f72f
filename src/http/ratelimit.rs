//! Fixed one-minute windows per (route, client key), as Rocket.Chat's `DDPRateLimiter` counts.
//!
//! Keys are the client IP for anonymous routes, the visitor token for `page.visited` (a busy
//! site behind one NAT must not be throttled as one client) and the user id for agents.

use super::error::ApiError;
use crate::config::RateLimitConfig;
use crate::time::{now_ms, Millis};
use actix_web::HttpRequest;
use std::collections::HashMap;
use std::sync::Mutex;

const WINDOW_MS: Millis = 60_000;
/// Above this many live windows, expired ones are swept on the next check.
const SWEEP_AT: usize = 100_000;

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    RegisterVisitor,
    GetVisitor,
    DeleteVisitor,
    PageVisited,
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

#[derive(Clone, Copy)]
struct Window {
    start: Millis,
    count: u32,
}

/// The limiter shared by every worker.
pub struct RateLimiter {
    config: RateLimitConfig,
    windows: Mutex<HashMap<(Route, String), Window>>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn limit_of(&self, route: Route) -> u32 {
        let c = &self.config;
        match route {
            Route::RegisterVisitor => c.visitor_register_per_min,
            Route::Room => c.room_per_min,
            Route::PageVisited => c.page_visited_per_token_per_min,
            Route::GetVisitor | Route::DeleteVisitor | Route::RoomClose | Route::Message => {
                c.anonymous_per_min
            }
            Route::Authenticated => c.authenticated_per_min,
            Route::LoginFailureIp | Route::LoginFailureUser => c.login_failures_per_min,
        }
    }

    /// Counts one request of `key` on `route`; a 429 when the window is full.
    pub fn check(&self, route: Route, key: &str) -> Result<(), ApiError> {
        self.check_at(route, key, now_ms(), true)
    }

    /// A 429 when the window of `key` on `route` is full; counts nothing (see [`Self::hit`]).
    pub fn peek(&self, route: Route, key: &str) -> Result<(), ApiError> {
        self.check_at(route, key, now_ms(), false)
    }

    /// Counts one event (a failed login) of `key` on `route`.
    pub fn hit(&self, route: Route, key: &str) {
        let _ = self.check_at(route, key, now_ms(), true);
    }

    fn check_at(&self, route: Route, key: &str, now: Millis, count: bool) -> Result<(), ApiError> {
        if !self.config.enabled {
            return Ok(());
        }
        let limit = self.limit_of(route);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now - w.start < WINDOW_MS);
        }
        let window = windows.entry((route, key.to_string())).or_insert(Window {
            start: now,
            count: 0,
        });
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
        if count {
            window.count += 1;
        }
        Ok(())
    }

    /// The client IP: the peer, or with `trust_forwarded_for` the proxy's `X-Forwarded-For`.
    pub fn client_ip(&self, req: &HttpRequest) -> String {
        if self.config.trust_forwarded_for {
            if let Some(ip) = forwarded_ip(req) {
                return ip;
            }
        }
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

/// The first address of `X-Forwarded-For`.
pub fn forwarded_ip(req: &HttpRequest) -> Option<String> {
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
    fn window_fills_then_resets() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        for _ in 0..5 {
            limiter
                .check_at(Route::RegisterVisitor, "ip", 1_000, true)
                .unwrap();
        }
        match limiter.check_at(Route::RegisterVisitor, "ip", 31_000, true) {
            Err(ApiError::TooManyRequests {
                limit,
                wait_secs,
                reset_ms,
            }) => assert_eq!((limit, wait_secs, reset_ms), (5, 30, 61_000)),
            other => panic!("{other:?}"),
        }
        limiter
            .check_at(Route::RegisterVisitor, "other-ip", 31_000, true)
            .unwrap();
        limiter
            .check_at(Route::RegisterVisitor, "ip", 61_000, true)
            .unwrap();
    }

    #[test]
    fn disabled_never_limits() {
        let limiter = RateLimiter::new(RateLimitConfig {
            enabled: false,
            ..Default::default()
        });
        for _ in 0..100 {
            limiter
                .check_at(Route::RegisterVisitor, "ip", 0, true)
                .unwrap();
        }
    }
}
