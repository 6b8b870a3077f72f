//! User administration for holders of `manage-users`, with Rocket.Chat's endpoint names.

use crate::admin::{forget_initial_password, FIRST_ADMIN};
use crate::credentials::{hash_password, ROLES};
use crate::domain::{NewUser, UserChanges};
use crate::http::body::JsonBody;
use crate::http::error::{fields, success, ApiError};
use crate::http::extract::{grant, Authorized, QueryParams};
use crate::http::param_errors::{ajv_map_keys, ajv_type};
use crate::http::query::paginated;
use crate::http::{read, write, AppState};
use crate::model::limits::{self, valid_username};
use crate::model::wire;
use crate::model::{sort_by_fields, User};
use crate::time::now_ms;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

fn opt_string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ajv_type("string")),
    }
}

fn opt_bool(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ajv_type("boolean")),
    }
}

fn roles(map: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(value) = map.get("roles") else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(ajv_type("array"));
    };
    let mut roles = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(role) = item else {
            return Err(ajv_type("string"));
        };
        if !ROLES.contains(&role.as_str()) {
            return Err(ApiError::reason(
                "error-invalid-role",
                format!("Invalid role {role}"),
            ));
        }
        if !roles.contains(role) {
            roles.push(role.clone());
        }
    }
    Ok(Some(roles))
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.is_empty() {
        return Err(ApiError::reason(
            "error-invalid-password",
            "Password cannot be empty",
        ));
    }
    if password.chars().count() > limits::PASSWORD_CHARS {
        return Err(ApiError::too_long("password", limits::PASSWORD_CHARS));
    }
    Ok(())
}

fn check_profile(
    name: &Option<String>,
    email: &Option<String>,
) -> Result<Option<String>, ApiError> {
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > limits::NAME_CHARS)
    {
        return Err(ApiError::too_long("name", limits::NAME_CHARS));
    }
    let email = email.as_ref().map(|e| e.trim().to_lowercase());
    if let Some(e) = &email {
        if e.chars().count() > limits::EMAIL_CHARS {
            return Err(ApiError::too_long("email", limits::EMAIL_CHARS));
        }
        if !limits::valid_email(e) {
            return Err(ApiError::reason(
                "error-invalid-email",
                format!("Invalid email {e}"),
            ));
        }
    }
    Ok(email)
}

/// Hashes on the hashing pool (argon2 takes tens of milliseconds on purpose); 429 when it is full.
async fn hash(state: &AppState, password: String) -> Result<String, ApiError> {
    state
        .hasher
        .run(move || hash_password(&password))
        .await?
        .map_err(ApiError::Internal)
}

/// The answer of `users.create` and `users.update`: `{user}`.
fn user_answer(user: &User) -> HttpResponse {
    success(fields([("user", wire::user(user))]))
}

/// Deletes the file with the first admin's initial password when `user` is that admin (its
/// password changed, or it is gone): the file would only hold a stale secret.
fn forget_initial_password_of(state: &AppState, user: &User) -> Result<(), ApiError> {
    if user.username.eq_ignore_ascii_case(FIRST_ADMIN) {
        forget_initial_password(&state.config.storage.data_dir).map_err(ApiError::Internal)?;
    }
    Ok(())
}

/// `POST /api/v1/users.create` — `{username, password, name?, email?, roles?, active?}`.
pub async fn create(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ManageUsers>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let b = body.object()?;
    ajv_map_keys(
        &b,
        &["username", "password"],
        &[
            "username",
            "password",
            "name",
            "email",
            "roles",
            "active",
            "verified",
            "joinDefaultChannels",
            "sendWelcomeEmail",
            "requirePasswordChange",
        ],
    )?;
    let username = opt_string(&b, "username")?.unwrap_or_default();
    let password = opt_string(&b, "password")?.unwrap_or_default();
    let name = opt_string(&b, "name")?;
    let email = check_profile(&name, &opt_string(&b, "email")?)?;
    let roles = roles(&b)?.unwrap_or_else(|| vec!["user".to_string()]);
    let active = opt_bool(&b, "active")?;
    if !valid_username(&username) {
        return Err(ApiError::reason(
            "error-input-is-not-a-valid-field",
            format!("{username} is not a valid username, use only letters, numbers, dots, hyphens and underscores"),
        ));
    }
    check_password(&password)?;
    let password_hash = hash(&state, password).await?;
    let new = NewUser {
        name: Some(name.unwrap_or_else(|| username.clone())),
        username: username.clone(),
        email,
        password_hash,
        roles,
        active: active.unwrap_or(true),
    };
    let now = now_ms();
    let user = write(&state, move |s| s.create_user(new, now))
        .await
        .map_err(|e| match e {
            ApiError::Coded {
                code: "error-field-unavailable",
                ..
            } => ApiError::reason(
                "error-field-unavailable",
                format!("{username} is already in use :("),
            ),
            other => other,
        })?;
    Ok(user_answer(&user))
}

/// `GET /api/v1/users.list` — every user, paginated, sortable by `username`, `name`, `createdAt`.
pub async fn list(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ManageUsers>,
    query: QueryParams,
) -> Result<HttpResponse, ApiError> {
    let sortable = ["username", "name", "createdAt"];
    let paging = paginated(&query, &[], &[], &sortable, &state.config.api)?;
    let mut users = read(&state, |s| s.list_users()).await?;
    // Unsorted: store order. Equal values are ordered by username (unique).
    let compare = |field: &String, a: &User, b: &User| match field.as_str() {
        "name" => a.name.cmp(&b.name),
        "createdAt" => a.created_at.cmp(&b.created_at),
        _ => a.username.to_lowercase().cmp(&b.username.to_lowercase()),
    };
    sort_by_fields(&mut users, &paging.sort, compare, |u| {
        u.username.to_lowercase()
    });
    Ok(paging.answer("users", users, wire::user))
}

/// `POST /api/v1/users.update` — `{userId, data:{password?, roles?, active?, name?, email?}}`.
/// A new password or a deactivation revokes the user's tokens.
pub async fn update(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ManageUsers>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let b = body.object()?;
    ajv_map_keys(&b, &["userId", "data"], &["userId", "data"])?;
    let user_id = opt_string(&b, "userId")?.unwrap_or_default();
    let Some(Value::Object(data)) = b.get("data") else {
        return Err(ajv_type("object"));
    };
    ajv_map_keys(data, &[], &["password", "roles", "active", "name", "email"])?;
    let password = opt_string(data, "password")?;
    let name = opt_string(data, "name")?;
    let email = check_profile(&name, &opt_string(data, "email")?)?;
    let roles = roles(data)?;
    let active = opt_bool(data, "active")?;
    let password_hash = match password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(&state, p).await?)
        }
        None => None,
    };
    let new_password = password_hash.is_some();
    let changes = UserChanges {
        password_hash,
        roles,
        active,
        name,
        email,
    };
    let now = now_ms();
    let user = write(&state, move |s| s.update_user(&user_id, changes, now)).await?;
    if new_password {
        forget_initial_password_of(&state, &user)?;
    }
    Ok(user_answer(&user))
}

/// `POST /api/v1/users.delete` — `{userId}`; its tokens go with it.
pub async fn delete(
    state: web::Data<AppState>,
    _agent: Authorized<grant::ManageUsers>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let b = body.object()?;
    ajv_map_keys(&b, &["userId"], &["userId", "confirmRelinquish"])?;
    let user_id = opt_string(&b, "userId")?.unwrap_or_default();
    let user = write(&state, move |s| s.delete_user(&user_id)).await?;
    forget_initial_password_of(&state, &user)?;
    Ok(success(Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_must_be_known() {
        let m = |v: Value| match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        assert_eq!(
            roles(&m(json!({"roles": ["livechat-agent", "livechat-agent"]}))).unwrap(),
            Some(vec!["livechat-agent".to_string()])
        );
        assert!(roles(&m(json!({"roles": ["root"]})))
            .unwrap_err()
            .to_string()
            .contains("Invalid role root [error-invalid-role]"));
        assert!(roles(&m(json!({"roles": "admin"})))
            .unwrap_err()
            .to_string()
            .contains("must be array"));
    }
}
