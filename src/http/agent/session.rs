//! The authenticated agent: `X-User-Id` + `X-Auth-Token` → a user, or 401.

use crate::credentials::{has_permission, token_hash, Permission};
use crate::http::error::ApiError;
use crate::http::ratelimit::Route;
use crate::http::{lookup, AppState};
use crate::model::User;
use crate::time::now_ms;
use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use subtle::ConstantTimeEq;

/// A logged-in, active user whose token is valid and unexpired.
pub struct Agent {
    pub user: User,
    /// SHA-256 of the token the request carried (for logout).
    pub token_hash: [u8; 32],
}

impl Agent {
    /// 403 unless the user's roles hold `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if has_permission(&self.user.roles, permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        has_permission(&self.user.roles, permission)
    }
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|v| !v.is_empty())
}

impl FromRequest for Agent {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Agent, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let user_id = header(req, "x-user-id");
        let token = header(req, "x-auth-token");
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let (Some(user_id), Some(token)) = (user_id, token) else {
                return Err(ApiError::Unauthorized);
            };
            let hash = token_hash(&token);
            let now = now_ms();
            let user = lookup(&state, move |s| {
                let Some(session) = s.session(&hash)? else {
                    return Ok(None);
                };
                let same_user: bool = session.user_id.as_bytes().ct_eq(user_id.as_bytes()).into();
                if !same_user || session.expires_at <= now {
                    return Ok(None);
                }
                Ok(s.user_by_id(&session.user_id)?.filter(|u| u.active))
            })
            .await?
            .ok_or(ApiError::Unauthorized)?;
            state.limiter.check(Route::Authenticated, &user.id)?;
            Ok(Agent {
                user,
                token_hash: hash,
            })
        })
    }
}
