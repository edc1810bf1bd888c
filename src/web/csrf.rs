//! CSRF protection for every state-changing request (signed double submit).
//!
//! A random value lives in an HttpOnly cookie; forms carry
//! `HMAC(instance secret, cookie value)` in a hidden `_csrf` field (or the
//! `X-CSRF-Token` header, or a `_csrf` query parameter for multipart forms).
//! A page that never shows a form never sets the cookie.
//!
//! For a signed-in person the token also covers the session
//! (`HMAC(secret, cookie value | session hash)`): a token obtained in one
//! session (an attacker's own, with a cookie planted from a sibling domain)
//! is worthless in another. Signing in or out changes the expected token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::AppError;
use super::session::{b64, cookie, set_cookie, CurrentUser};
use super::AppState;
use crate::accounts::random_token;

pub const COOKIE: &str = "maillage_csrf";
pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

struct Slot {
    token: String,
    cookie_value: String,
    fresh: bool,
    used: AtomicBool,
}

/// Extractor: the token to put in a form's hidden `_csrf` field.
#[derive(Clone)]
pub struct CsrfToken(Arc<Slot>);

impl CsrfToken {
    pub fn value(&self) -> String {
        self.0.used.store(true, Ordering::Relaxed);
        self.0.token.clone()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("CSRF layer missing")))
    }
}

fn sign(secret: &[u8], value: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    b64(&mac.finalize().into_bytes())
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A browser tells where a form came from: refuse other origins outright.
/// The origin is compared whole, scheme included: the site's own scheme is
/// that of `Config::public_url` (https behind a TLS proxy), so a form posted
/// from `http://` to an https site is refused.
fn origin_matches(req: &Request, public_url: &str) -> bool {
    let Some(origin) = req.headers().get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = req.headers().get(HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let scheme = if public_url.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    origin.eq_ignore_ascii_case(&format!("{scheme}://{host}"))
}

/// What the token signs: the cookie value, and the session when signed in.
fn signed_value(req: &Request, cookie_value: &str) -> String {
    match req.extensions().get::<Arc<CurrentUser>>() {
        Some(u) => format!("{cookie_value}|{}", u.session_hash),
        None => cookie_value.to_owned(),
    }
}

fn query_token(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v)
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), COOKIE)
        .filter(|v| v.len() == 43)
        .map(str::to_owned);
    let (cookie_value, fresh) = match existing {
        Some(v) => (v, false),
        None => (random_token(), true),
    };
    let expected = sign(&state.secret, &signed_value(&req, &cookie_value));

    let req = if is_safe(req.method()) {
        req
    } else {
        if fresh || !origin_matches(&req, &state.config.public_url) {
            return AppError::Csrf.into_page();
        }
        let (parts, body) = req.into_parts();
        let mut submitted = parts
            .headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let body = if is_form && submitted.is_none() {
            let bytes = match to_bytes(body, state.config.body_limit).await {
                Ok(b) => b,
                Err(_) => return AppError::TooLarge.into_page(),
            };
            submitted = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
            Body::from(bytes)
        } else {
            body
        };
        let req = Request::from_parts(parts, body);
        let submitted = submitted.or_else(|| query_token(&req));
        match submitted {
            Some(t) if crate::tokens::constant_time_eq(t.as_bytes(), expected.as_bytes()) => req,
            _ => return AppError::Csrf.into_page(),
        }
    };

    let slot = CsrfToken(Arc::new(Slot {
        token: expected,
        cookie_value,
        fresh,
        used: AtomicBool::new(false),
    }));
    let mut req = req;
    req.extensions_mut().insert(slot.clone());
    let mut resp = next.run(req).await;
    if slot.0.used.load(Ordering::Relaxed) {
        resp.extensions_mut().insert(super::microcache::Private);
    }
    if slot.0.fresh && slot.0.used.load(Ordering::Relaxed) {
        // A year: the value is not a secret on its own, only its pairing with the form.
        let c = set_cookie(
            COOKIE,
            &slot.0.cookie_value,
            365 * 24 * 3600,
            state.config.cookie_secure,
        );
        resp.headers_mut().append(SET_COOKIE, c);
    }
    resp
}
