//! A short-lived cache of anonymous public pages, per process.
//!
//! Public pages are read in bursts (a newsletter, a news article) and change
//! rarely. Each process keeps the rendered page for a couple of seconds
//! (`Config::public_cache_ttl`), so a burst costs one render per page per
//! process and per TTL. Nothing is shared between processes: a change made
//! through another process shows here within the TTL; a change made through
//! this one clears the cache at once.
//!
//! Only anonymous GET requests (no session cookie) to pages that set no
//! cookie and carry no CSRF token are cached; the display-preference cookie
//! is part of the key.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::pages::PREFS_COOKIE;
use super::session::{cookie, SESSION_COOKIE};
use super::AppState;

const MAX_ENTRIES: usize = 2_000;
const MAX_BODY: usize = 512 * 1024;

/// Marks a response that must not be cached (it holds a per-visitor token).
#[derive(Clone, Copy)]
pub struct Private;

struct Entry {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
pub struct MicroCache {
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl MicroCache {
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.write() {
            map.clear();
        }
    }

    fn get(&self, key: &str, ttl: Duration) -> Option<Response> {
        let map = self.entries.read().ok()?;
        let e = map.get(key)?;
        if e.at.elapsed() > ttl {
            return None;
        }
        let mut resp = Response::new(Body::from(e.body.clone()));
        *resp.headers_mut() = e.headers.clone();
        Some(resp)
    }

    fn put(&self, key: String, headers: HeaderMap, body: Bytes) {
        if let Ok(mut map) = self.entries.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(
                key,
                Entry {
                    at: Instant::now(),
                    headers,
                    body,
                },
            );
        }
    }
}

fn cacheable_request(req: &Request) -> Option<String> {
    if req.method() != Method::GET
        || cookie(req.headers(), SESSION_COOKIE).is_some()
        || cookie(req.headers(), super::flash::FLASH_COOKIE).is_some()
    {
        return None;
    }
    let path = req.uri().path();
    if !(path == "/" || path.starts_with("/t/")) {
        return None;
    }
    let prefs = cookie(req.headers(), PREFS_COOKIE).unwrap_or("");
    Some(format!("{}|{prefs}", req.uri()))
}

pub async fn layer(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let ttl = st.config.public_cache_ttl;
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let key = if ttl.is_zero() {
        None
    } else {
        cacheable_request(&req)
    };
    if let Some(key) = &key {
        if let Some(hit) = st.cache.get(key, ttl) {
            return hit;
        }
    }
    let resp = next.run(req).await;
    if writes && (resp.status().is_redirection() || resp.status().is_success()) {
        st.cache.clear();
    }
    let Some(key) = key else { return resp };
    if resp.status() != StatusCode::OK
        || resp.headers().contains_key(SET_COOKIE)
        || resp.extensions().get::<Private>().is_some()
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match read_up_to(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        // Too large to keep (a published PDF, a long page): served whole,
        // not cached.
        Err(whole) => return Response::from_parts(parts, whole),
    };
    parts.headers.insert(
        CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=0, must-revalidate"),
    );
    st.cache.put(key, parts.headers.clone(), bytes.clone());
    Response::from_parts(parts, Body::from(bytes))
}

/// Read a body known to hold at most `max` bytes. Any other body (larger,
/// or of unknown length such as a stream) is given back untouched, to be
/// served whole and not cached: reading it up to a cap would lose the rest.
async fn read_up_to(body: Body, max: usize) -> Result<Bytes, Body> {
    match body.size_hint().upper() {
        Some(n) if n <= max as u64 => to_bytes(body, max).await.map_err(|_| Body::from("")),
        _ => Err(body),
    }
}
