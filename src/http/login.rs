//! Agent login, logout and `me`.

use super::auth::Agent;
use super::body::JsonBody;
use super::check::{expected, missing};
use super::error::{json_response, success, ApiError};
use super::ratelimit::Route;
use super::{read, write, AppState};
use crate::auth::{new_login_token, token_hash, verify_dummy, verify_password};
use crate::model::{wire, Session, User};
use crate::time::{days, now_ms};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// 401 `{"status":"error","error":"Unauthorized","message":"Unauthorized"}`.
fn unauthorized() -> HttpResponse {
    json_response(
        StatusCode::UNAUTHORIZED,
        &json!({ "status": "error", "error": "Unauthorized", "message": "Unauthorized" }),
    )
}

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
    state.limiter.peek(Route::LoginFailureIp, &ip)?;
    state.limiter.peek(Route::LoginFailureUser, &user_key)?;

    let user: Option<User> = read(&state, move |s| {
        let user = s.user_by_username(&username)?.filter(|u| u.active);
        Ok(match user {
            Some(u) if verify_password(&password, &u.password_hash) => Some(u),
            Some(_) => None,
            None => {
                verify_dummy(&password);
                None
            }
        })
    })
    .await?;
    let Some(user) = user else {
        state.limiter.hit(Route::LoginFailureIp, &ip);
        state.limiter.hit(Route::LoginFailureUser, &user_key);
        log::info!("failed login from {ip}");
        return Ok(unauthorized());
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
        return Ok(unauthorized());
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "status": "success",
            "data": { "userId": user.id, "authToken": token, "me": wire::me(&user) },
        }),
    ))
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
