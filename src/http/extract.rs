//! Extractors for what handlers would otherwise repeat, so that a handler's signature says
//! what is checked before its body runs:
//!
//! - [`PerIp<R>`]: the request counted against the per-address limit of route `R` (a 429
//!   when its window is full), checked before the body is read;
//! - [`Authorized<G>`]: a logged-in agent whose roles hold permission `G` (401 / 403);
//! - [`QueryParams`]: the query string as name → value (400 when it does not parse).
//!
//! Paging is parsed from [`QueryParams`] by [`super::query::paginated`], which knows the
//! endpoint's own parameters.

use super::agent::session::Agent;
use super::error::ApiError;
use super::query::query_map;
use super::ratelimit::Route;
use super::AppState;
use crate::credentials::Permission;
use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ops::Deref;

/// A rate limit counted per client address, as a type.
pub trait IpLimit {
    const ROUTE: Route;
}

/// A permission, as a type.
pub trait Grant {
    const PERMISSION: Permission;
}

/// Declares marker types, each implementing `Trait` with `CONST = Type::Name`.
macro_rules! markers {
    ($trait:ident :: $konst:ident : $ty:ident; $($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("[`", stringify!($ty), "::", stringify!($name), "`] as a type.")]
            pub struct $name;
            impl super::$trait for $name {
                const $konst: $ty = $ty::$name;
            }
        )*
    };
}

/// The per-address limits of the visitor routes.
pub mod limit {
    use crate::http::ratelimit::Route;
    markers!(IpLimit::ROUTE: Route;
        RegisterVisitor, GetVisitor, DeleteVisitor, Room, RoomClose, Message);
}

/// The permissions agent routes require.
pub mod grant {
    use crate::credentials::Permission;
    markers!(Grant::PERMISSION: Permission; ViewLRoom, ManageUsers, ManageServer);
}

/// A request counted against `R`'s per-address limit.
pub struct PerIp<R: IpLimit>(PhantomData<R>);

impl<R: IpLimit> FromRequest for PerIp<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<Data<AppState>>() {
            Some(state) => {
                let ip = state.limiter.client_ip(req);
                state
                    .limiter
                    .check(R::ROUTE, &ip)
                    .map(|_| PerIp(PhantomData))
            }
            None => Err(ApiError::Internal("no app state".into())),
        })
    }
}

/// A logged-in agent holding `G`'s permission: 401 without a valid login, 403 without the
/// permission. Dereferences to the [`Agent`].
pub struct Authorized<G: Grant> {
    pub agent: Agent,
    grant: PhantomData<G>,
}

impl<G: Grant> Deref for Authorized<G> {
    type Target = Agent;
    fn deref(&self) -> &Agent {
        &self.agent
    }
}

impl<G: Grant + 'static> FromRequest for Authorized<G> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let agent = Agent::from_request(req, payload);
        Box::pin(async move {
            let agent = agent.await?;
            agent.require(G::PERMISSION)?;
            Ok(Authorized {
                agent,
                grant: PhantomData,
            })
        })
    }
}

/// The query string as name → value (the last of repeated names wins).
pub struct QueryParams(pub HashMap<String, String>);

impl Deref for QueryParams {
    type Target = HashMap<String, String>;
    fn deref(&self) -> &HashMap<String, String> {
        &self.0
    }
}

impl FromRequest for QueryParams {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(query_map(req).map(QueryParams))
    }
}
