//! Agent login, logout and `me`.

use crate::credentials::{new_login_token, token_hash, verify_dummy, verify_password};
use crate::http::agent::session::Agent;
use crate::http::body::JsonBody;
use crate::http::error::{json_response, success, ApiError};
use crate::http::param_errors::{expected, missing};
use crate::http::ratelimit::{Reservation, Route, SharedWindow, SHARED_WINDOW_MS};
use crate::http::{lookup, read, write, AppState};
use crate::model::{wire, Session};
use crate::time::{days, now_ms};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// `POST /api/v1/login` — `{user|username, password}` → a login token for `X-Auth-Token`.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let body = body.object()?;
    let name_field = if body.contains_key("user") {
        "user"
    } else {
        "username"
    };
    let username = match body.get(name_field) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(expected("string", other, name_field)),
        None => return Err(missing("user", "")),
    };
    let password = match body.get("password") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(expected("string", other, "password")),
        None => return Err(missing("password", "")),
    };
    let ip = state.limiter.client_ip(&req);
    let user_key = username.to_lowercase();
    // A failure is counted before the password is checked, atomically with the check of the
    // limit (so parallel attempts cannot all pass it), and handed back when it was right.
    let ip_slot = reserve(&state, Route::LoginFailureIp, &ip).await?;
    let (user_slot, locked) = match reserve(&state, Route::LoginFailureUser, &user_key).await {
        Ok(slot) => (Some(slot), None),
        // The username is locked by failures from elsewhere, but this address has none: the
        // right password still logs in (nobody can lock an agent out from everywhere), a
        // wrong one gets the 429 and counts against this address.
        Err(locked) if ip_slot.prior() == 0 => (None, Some(locked)),
        Err(locked) => {
            give_back(&state, ip_slot).await;
            return Err(locked);
        }
    };

    let wanted = username.clone();
    let found = lookup(&state, move |s| s.user_by_username(&wanted)).await;
    let found = match found {
        Ok(found) => found.filter(|u| u.active),
        Err(e) => {
            release(&state, ip_slot, user_slot).await;
            return Err(e);
        }
    };
    let verified = state
        .hasher
        .run(move || match found {
            Some(u) if verify_password(&password, &u.password_hash) => Some(u),
            Some(_) => None,
            None => {
                verify_dummy(&password);
                None
            }
        })
        .await;
    let user = match verified {
        Ok(Some(user)) => {
            release(&state, ip_slot, user_slot).await;
            user
        }
        Ok(None) => {
            log::info!("failed login from {ip}");
            state.metrics.login_failed();
            return match locked {
                Some(locked) => Err(locked),
                None => Err(ApiError::LoginFailed),
            };
        }
        // Not checked (the hashing pool is full): not a failure.
        Err(e) => {
            release(&state, ip_slot, user_slot).await;
            return Err(e);
        }
    };

    let token = new_login_token();
    let now = now_ms();
    let ttl = days(state.config.auth.token_ttl_days);
    let session = Session {
        user_id: user.id.clone(),
        created_at: now,
        expires_at: now.saturating_add(ttl),
    };
    let hash = token_hash(&token);
    let verified = user.password_hash.clone();
    let created = write(&state, move |s| {
        s.create_login_session(&hash, &session, &verified)
    })
    .await?;
    if !created {
        // The password changed (or the user went) while it was being checked.
        return Err(ApiError::LoginFailed);
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "status": "success",
            "data": { "userId": user.id, "authToken": token, "me": wire::me(&user) },
        }),
    ))
}

/// A counted login failure that may be handed back: in this process's memory, or in the
/// store when every replica shares the count ([`crate::domain::Backend::shares_login_failures`]).
enum Slot {
    Memory(Reservation),
    Shared {
        window: SharedWindow,
        prior: u32,
    },
    /// Rate limiting is off.
    Free,
}

impl Slot {
    /// Failures of the key already in the window before this one.
    fn prior(&self) -> u32 {
        match self {
            Slot::Memory(r) => r.prior,
            Slot::Shared { prior, .. } => *prior,
            Slot::Free => 0,
        }
    }
}

/// Counts a failure of `key` before the password is checked (see [`Slot`]).
async fn reserve(state: &AppState, route: Route, key: &str) -> Result<Slot, ApiError> {
    if !state.backend.shares_login_failures() {
        return state.limiter.reserve(route, key).map(Slot::Memory);
    }
    let Some(mut window) = state.limiter.shared_window(route, key) else {
        return Ok(Slot::Free);
    };
    let now = now_ms();
    let (key, limit) = (window.key.clone(), window.limit);
    let (counted, start) = read(state, move |s| {
        s.reserve_login_failure(&key, now, SHARED_WINDOW_MS, limit)
    })
    .await?;
    window.start = start;
    match counted {
        Some(prior) => Ok(Slot::Shared { window, prior }),
        None => Err(state.limiter.shared_refusal(&window, now)),
    }
}

/// Hands back one counted failure. A store error is logged: the attempt was not a failure,
/// and the window ends within a minute anyway.
async fn give_back(state: &AppState, slot: Slot) {
    match slot {
        Slot::Memory(r) => state.limiter.release(r),
        Slot::Shared { window, .. } => {
            let (key, start) = (window.key, window.start);
            if let Err(e) = read(state, move |s| s.release_login_failure(&key, start)).await {
                log::error!("cannot hand back a counted login failure: {e:?}");
            }
        }
        Slot::Free => {}
    }
}

/// Hands back the failure slots of an attempt that did not fail.
async fn release(state: &AppState, ip_slot: Slot, user_slot: Option<Slot>) {
    give_back(state, ip_slot).await;
    if let Some(slot) = user_slot {
        give_back(state, slot).await;
    }
}

/// `POST /api/v1/logout` — revokes the token the request carries.
pub async fn logout(state: web::Data<AppState>, agent: Agent) -> Result<HttpResponse, ApiError> {
    let hash = agent.token_hash;
    write(&state, move |s| s.revoke_session(&hash)).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "status": "success", "data": { "message": "You've been logged out!" } }),
    ))
}

/// `GET /api/v1/me` — the caller's user.
pub async fn me(agent: Agent) -> HttpResponse {
    success(wire::me(&agent.user))
}
