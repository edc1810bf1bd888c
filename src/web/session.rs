//! Who is asking: the session cookie, the account behind it, its roles.
//! Sessions are rows in the database (see `storage::sessions`), so any server
//! process can answer any request.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;

use super::error::AppError;
use super::AppState;
use crate::domain::roles::{InstanceRole, Role};
use crate::storage::audit::Actor;
use crate::storage::users::{Membership, User};
use crate::storage::{sessions, users};
use crate::tokens::{random_token, token_hash};

pub const SESSION_COOKIE: &str = "maillage_session";

pub use crate::tokens::{b64, unb64};

/// Read one cookie from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value with our defaults: HttpOnly, SameSite=Lax, Path=/.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let s =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The signed-in account, loaded once per request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub memberships: Vec<Membership>,
    pub session_hash: String,
}

impl CurrentUser {
    pub fn instance_role(&self) -> InstanceRole {
        self.user.instance_role()
    }

    pub fn is_admin(&self) -> bool {
        self.instance_role() == InstanceRole::Admin
    }

    /// Regional staff read every territory; admins too.
    pub fn reads_everything(&self) -> bool {
        matches!(
            self.instance_role(),
            InstanceRole::Regional | InstanceRole::Admin
        )
    }

    pub fn role_in(&self, territory_id: i64) -> Option<Role> {
        self.memberships
            .iter()
            .find(|m| m.territory_id == territory_id)
            .and_then(Membership::role)
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            label: format!("{} <{}>", self.user.display_name, self.user.email),
        }
    }
}

/// Middleware: attach the [`CurrentUser`] when the request carries a live
/// session cookie. Anonymous requests cost no database query.
pub async fn load_user(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        let hash = token_hash(token);
        match sessions::user(&state.db, &hash).await {
            Ok(Some(user)) => match users::memberships(&state.db, user.id).await {
                Ok(memberships) => {
                    req.extensions_mut().insert(Arc::new(CurrentUser {
                        user,
                        memberships,
                        session_hash: hash,
                    }));
                }
                Err(e) => return AppError::from(e).into_page(),
            },
            Ok(None) => {}
            Err(e) => return AppError::from(e).into_page(),
        }
    }
    next.run(req).await
}

/// Open a session for `user_id`: returns the `Set-Cookie` header value.
pub async fn open(state: &AppState, user_id: i64) -> Result<HeaderValue, AppError> {
    let token = random_token();
    let lifetime = state.config.session_lifetime;
    sessions::create(
        &state.db,
        &token_hash(&token),
        user_id,
        Utc::now() + lifetime,
    )
    .await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &token,
        lifetime.num_seconds(),
        state.config.cookie_secure,
    ))
}

/// Close the current session: returns the header that clears the cookie.
pub async fn close(
    state: &AppState,
    user: &CurrentUser,
) -> Result<(axum::http::HeaderName, HeaderValue), AppError> {
    sessions::delete(&state.db, &user.session_hash).await?;
    Ok((
        SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.config.cookie_secure),
    ))
}

/// Extractor: the signed-in user, if any.
pub struct MaybeUser(pub Option<Arc<CurrentUser>>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(
            parts.extensions.get::<Arc<CurrentUser>>().cloned(),
        ))
    }
}

/// Extractor: the signed-in user. Routes that use it are declared
/// `Access::SignedIn` or stricter, so the rejection is a safety net.
pub struct SignedIn(pub Arc<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<CurrentUser>>()
            .cloned()
            .map(SignedIn)
            .ok_or(AppError::Unauthenticated)
    }
}
