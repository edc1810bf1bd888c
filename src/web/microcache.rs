//! A short-lived cache of anonymous public pages, per process.
//!
//! Public pages are read in bursts (a newsletter, a news article) and change
//! rarely. Each process keeps the rendered page for a couple of seconds
//! (`Config::public_cache_ttl`), so a burst costs one render per page per
//! process and per TTL. Nothing is shared between processes: a change made
//! through another process shows here within the TTL (plus the time of one
//! render, see below); a change made through this one clears the cache at
//! once.
//!
//! Only anonymous GET requests (no session cookie) to pages that set no
//! cookie and carry no CSRF token are cached; the display-preference cookie
//! is part of the key.
//!
//! **One render per page at a time** (single flight): when a copy expires,
//! the first request renders the page again; meanwhile the others for the
//! same key get the expired copy (for at most [`MAX_STALE`] past its TTL),
//! or, when there is none, wait for that render and share its answer. At
//! 64 connections the stampede used to render a page 56–67 times per
//! expiry. A render that fails with an answer (a 500, a 404) gives that
//! answer to those waiting, and nothing is stored; a render that ends
//! without an answer (a panic, a timeout, a client gone) wakes them up and
//! one of them renders instead. A page that cannot be shared (it sets a
//! cookie, holds a per-visitor token, or is too large) is remembered as
//! such for the TTL: its requests then render on their own, without
//! waiting for each other.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::watch;

use super::pages::PREFS_COOKIE;
use super::session::{cookie, SESSION_COOKIE};
use super::AppState;

const MAX_ENTRIES: usize = 2_000;
const MAX_BODY: usize = 512 * 1024;
/// How long past its TTL a copy may still be served while a new one renders.
pub const MAX_STALE: Duration = Duration::from_secs(60);
/// A request whose awaited render ended without an answer looks again this
/// many times (another may have started, or it leads one), then renders on
/// its own.
const ATTEMPTS: usize = 3;

/// Marks a response that must not be cached (it holds a per-visitor token).
#[derive(Clone, Copy)]
pub struct Private;

/// A rendered answer, as kept and as shared with those waiting for it.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Page {
    fn response(&self) -> Response {
        let mut resp = Response::new(Body::from(self.body.clone()));
        *resp.status_mut() = self.status;
        *resp.headers_mut() = self.headers.clone();
        resp
    }
}

enum Cached {
    Page {
        at: Instant,
        page: Arc<Page>,
    },
    /// The last render of this key could not be shared: until the TTL has
    /// passed, its requests render on their own instead of waiting.
    Unshareable {
        at: Instant,
    },
}

/// How a render in progress ended, for the requests waiting for it.
#[derive(Clone)]
enum Outcome {
    Shared(Arc<Page>),
    /// Each waiting request renders the page itself.
    NotShared,
}

/// A render in progress: those who wait clone the receiver.
struct Flight {
    id: u64,
    done: watch::Receiver<Option<Outcome>>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Cached>,
    flights: HashMap<String, Flight>,
    /// Bumped by [`MicroCache::clear`]: a render that started before a
    /// clear is not stored (it may predate the write).
    generation: u64,
    next_flight: u64,
}

/// The label of `maillage_public_cache_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub outcome: String,
}

#[derive(Clone, Default)]
pub struct MicroCache {
    inner: Arc<Mutex<Inner>>,
    /// Cacheable requests by outcome: `hit` (fresh copy), `stale` (expired
    /// copy, another request rendering), `waited` (the answer of another
    /// request's render), `rendered` (rendered for everyone), `alone`
    /// (rendered without sharing).
    outcomes: Family<CacheLabels, Counter>,
}

/// What a request does about its key, decided under the lock.
enum Step {
    Serve(Arc<Page>, &'static str),
    Wait(watch::Receiver<Option<Outcome>>),
    Lead(Lead),
    Alone,
}

impl MicroCache {
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        // Renders under way finish for those already waiting, but new
        // requests start their own.
        inner.flights.clear();
        inner.generation += 1;
    }

    /// The counters by outcome, for `/metrics`.
    pub fn outcomes(&self) -> Family<CacheLabels, Counter> {
        self.outcomes.clone()
    }

    /// How many cacheable requests ended with this outcome (see
    /// [`MicroCache::outcomes`]).
    pub fn count(&self, outcome: &str) -> u64 {
        self.outcomes
            .get_or_create(&CacheLabels {
                outcome: outcome.to_owned(),
            })
            .get()
    }

    fn counted(&self, outcome: &str) {
        self.outcomes
            .get_or_create(&CacheLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding it; a poisoned map is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer for a cacheable request: a copy, another request's
    /// render, or `render()` (led for everyone, or alone).
    pub async fn serve<F, Fut>(&self, key: String, ttl: Duration, render: F) -> Response
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response>,
    {
        for attempt in 1.. {
            match self.step(&key, ttl, attempt <= ATTEMPTS) {
                Step::Serve(page, outcome) => {
                    self.counted(outcome);
                    return page.response();
                }
                Step::Wait(mut done) => {
                    let outcome = done.wait_for(Option::is_some).await.map(|o| o.clone());
                    match outcome {
                        Ok(Some(Outcome::Shared(page))) => {
                            self.counted("waited");
                            return page.response();
                        }
                        Ok(_) => break,
                        // Ended without an answer: look again.
                        Err(_) => continue,
                    }
                }
                Step::Lead(lead) => {
                    self.counted("rendered");
                    return lead.run(render().await).await;
                }
                Step::Alone => break,
            }
        }
        self.counted("alone");
        render().await
    }

    fn step(&self, key: &str, ttl: Duration, may_wait: bool) -> Step {
        let mut inner = self.lock();
        let now = Instant::now();
        let mut stale = None;
        match inner.entries.get(key) {
            Some(Cached::Page { at, page }) => {
                let age = now.saturating_duration_since(*at);
                if age <= ttl {
                    return Step::Serve(page.clone(), "hit");
                }
                if age <= ttl + MAX_STALE {
                    stale = Some(page.clone());
                }
            }
            Some(Cached::Unshareable { at }) if now.saturating_duration_since(*at) <= ttl => {
                return Step::Alone;
            }
            _ => {}
        }
        if let Some(flight) = inner.flights.get(key) {
            return match (stale, may_wait) {
                (Some(page), _) => Step::Serve(page, "stale"),
                (None, true) => Step::Wait(flight.done.clone()),
                (None, false) => Step::Alone,
            };
        }
        let (sender, done) = watch::channel(None);
        inner.next_flight += 1;
        let id = inner.next_flight;
        inner.flights.insert(key.to_owned(), Flight { id, done });
        Step::Lead(Lead {
            cache: self.clone(),
            key: key.to_owned(),
            id,
            generation: inner.generation,
            sender: Some(sender),
        })
    }
}

/// The request that renders a key for everyone. Dropped without
/// [`Lead::finish`] (a panic, a timeout, a client gone), it removes its
/// flight and closes the channel: those waiting look again.
struct Lead {
    cache: MicroCache,
    key: String,
    id: u64,
    generation: u64,
    sender: Option<watch::Sender<Option<Outcome>>>,
}

impl Lead {
    /// Keep and share the answer when it can be, and give it back.
    async fn run(self, resp: Response) -> Response {
        if resp.headers().contains_key(SET_COOKIE) || resp.extensions().get::<Private>().is_some() {
            self.finish(Outcome::NotShared);
            return resp;
        }
        let (mut parts, body) = resp.into_parts();
        let bytes = match read_up_to(body, MAX_BODY).await {
            Ok(bytes) => bytes,
            // Too large to keep (a published PDF, a long page): served whole,
            // not shared.
            Err(whole) => {
                self.finish(Outcome::NotShared);
                return Response::from_parts(parts, whole);
            }
        };
        if parts.status == StatusCode::OK {
            parts.headers.insert(
                CACHE_CONTROL,
                axum::http::HeaderValue::from_static("public, max-age=0, must-revalidate"),
            );
        }
        self.finish(Outcome::Shared(Arc::new(Page {
            status: parts.status,
            headers: parts.headers.clone(),
            body: bytes.clone(),
        })));
        Response::from_parts(parts, Body::from(bytes))
    }

    fn finish(mut self, outcome: Outcome) {
        {
            let mut inner = self.cache.lock();
            if inner.generation == self.generation {
                let now = Instant::now();
                match &outcome {
                    // Only a page is kept; an error answer is shared with
                    // those waiting, and the next request renders again.
                    Outcome::Shared(page) if page.status != StatusCode::OK => {
                        inner.entries.remove(&self.key);
                    }
                    _ => {
                        if inner.entries.len() >= MAX_ENTRIES
                            && !inner.entries.contains_key(&self.key)
                        {
                            inner.entries.clear();
                        }
                        let entry = match &outcome {
                            Outcome::Shared(page) => Cached::Page {
                                at: now,
                                page: page.clone(),
                            },
                            Outcome::NotShared => Cached::Unshareable { at: now },
                        };
                        inner.entries.insert(self.key.clone(), entry);
                    }
                }
            }
            self.remove_flight(&mut inner);
        }
        if let Some(sender) = self.sender.take() {
            sender.send_replace(Some(outcome));
        }
    }

    fn remove_flight(&self, inner: &mut Inner) {
        if inner
            .flights
            .get(&self.key)
            .is_some_and(|f| f.id == self.id)
        {
            inner.flights.remove(&self.key);
        }
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if self.sender.is_some() {
            let cache = self.cache.clone();
            self.remove_flight(&mut cache.lock());
            // The sender goes with `self`: the waiting requests wake up.
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
    let key = if ttl.is_zero() {
        None
    } else {
        cacheable_request(&req)
    };
    if let Some(key) = key {
        return st.cache.serve(key, ttl, move || next.run(req)).await;
    }
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let resp = next.run(req).await;
    if writes && (resp.status().is_redirection() || resp.status().is_success()) {
        st.cache.clear();
    }
    resp
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Semaphore;

    /// A page whose render is counted and held until the test opens the gate.
    #[derive(Clone)]
    struct Slow {
        renders: Arc<AtomicUsize>,
        gate: Arc<Semaphore>,
    }

    impl Slow {
        fn new() -> Slow {
            Slow {
                renders: Arc::default(),
                gate: Arc::new(Semaphore::new(0)),
            }
        }

        fn open(&self) {
            self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
        }

        fn renders(&self) -> usize {
            self.renders.load(Ordering::SeqCst)
        }

        /// Render number n answers `page n` (or what `answer` makes of n).
        fn render(
            &self,
            answer: fn(usize) -> Response,
        ) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>> {
            let this = self.clone();
            move || {
                Box::pin(async move {
                    let n = this.renders.fetch_add(1, Ordering::SeqCst) + 1;
                    let _permit = this.gate.acquire().await.expect("gate");
                    answer(n)
                })
            }
        }
    }

    fn page(n: usize) -> Response {
        Response::new(Body::from(format!("page {n}")))
    }

    async fn body(resp: Response) -> (StatusCode, String) {
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// `n` requests for `key` at once, each in its own task.
    fn burst(
        cache: &MicroCache,
        slow: &Slow,
        key: &str,
        ttl: Duration,
        n: usize,
        answer: fn(usize) -> Response,
    ) -> Vec<tokio::task::JoinHandle<(StatusCode, String)>> {
        (0..n)
            .map(|_| {
                let (cache, render, key) = (cache.clone(), slow.render(answer), key.to_owned());
                tokio::spawn(async move { body(cache.serve(key, ttl, render).await).await })
            })
            .collect()
    }

    /// Let every spawned task run up to its first wait.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn fifty_requests_for_a_cold_page_render_it_once() {
        let (cache, slow) = (MicroCache::default(), Slow::new());
        let ttl = Duration::from_secs(60);
        let tasks = burst(&cache, &slow, "/t/x/|", ttl, 50, page);
        settle().await;
        assert_eq!(
            slow.renders(),
            1,
            "the others wait for the render in progress"
        );
        slow.open();
        for t in tasks {
            assert_eq!(t.await.unwrap(), (StatusCode::OK, "page 1".to_owned()));
        }
        assert_eq!(slow.renders(), 1);
        assert_eq!((cache.count("rendered"), cache.count("waited")), (1, 49));
        assert_eq!(cache.count("alone"), 0);
    }

    #[tokio::test]
    async fn the_expired_copy_is_served_while_the_page_renders_again() {
        let (cache, slow) = (MicroCache::default(), Slow::new());
        let ttl = Duration::from_millis(100);
        slow.open();
        let first = cache.serve("k".into(), ttl, slow.render(page)).await;
        assert_eq!(body(first).await.1, "page 1");
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;

        // The page expired: the next request renders it again, held at the gate.
        let slow = Slow {
            renders: slow.renders.clone(),
            gate: Arc::new(Semaphore::new(0)),
        };
        let leader = burst(&cache, &slow, "k", ttl, 1, page);
        settle().await;
        assert_eq!(slow.renders(), 2);
        // Meanwhile 50 requests get the expired copy at once, without rendering.
        for t in burst(&cache, &slow, "k", ttl, 50, page) {
            assert_eq!(t.await.unwrap().1, "page 1");
        }
        assert_eq!((slow.renders(), cache.count("stale")), (2, 50));
        slow.open();
        assert_eq!(
            leader.into_iter().next().unwrap().await.unwrap().1,
            "page 2"
        );
        let after = cache.serve("k".into(), ttl, slow.render(page)).await;
        assert_eq!(body(after).await.1, "page 2");
        assert_eq!((slow.renders(), cache.count("hit")), (2, 1));
    }

    #[tokio::test]
    async fn a_render_that_panics_leaves_no_one_waiting() {
        let (cache, slow) = (MicroCache::default(), Slow::new());
        let ttl = Duration::from_secs(60);
        fn panics_first(n: usize) -> Response {
            assert!(n > 1, "render {n} fails");
            page(n)
        }
        let tasks = burst(&cache, &slow, "k", ttl, 50, panics_first);
        settle().await;
        slow.open();
        let mut answers = Vec::new();
        let mut panicked = 0;
        for t in tasks {
            match t.await {
                Ok(a) => answers.push(a),
                Err(e) if e.is_panic() => panicked += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(panicked, 1);
        assert!(answers
            .iter()
            .all(|a| a == &(StatusCode::OK, "page 2".to_owned())));
        assert_eq!(answers.len(), 49);
        assert_eq!(
            slow.renders(),
            2,
            "one of those waiting rendered it for the others"
        );
    }

    #[tokio::test]
    async fn an_error_is_given_to_those_waiting_and_not_kept() {
        let (cache, slow) = (MicroCache::default(), Slow::new());
        let ttl = Duration::from_secs(60);
        fn fails(n: usize) -> Response {
            let mut r = page(n);
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
        let tasks = burst(&cache, &slow, "k", ttl, 20, fails);
        settle().await;
        slow.open();
        for t in tasks {
            assert_eq!(
                t.await.unwrap(),
                (StatusCode::INTERNAL_SERVER_ERROR, "page 1".to_owned())
            );
        }
        assert_eq!(slow.renders(), 1);
        // Not kept: the next request renders.
        let next = cache.serve("k".into(), ttl, slow.render(page)).await;
        assert_eq!(body(next).await, (StatusCode::OK, "page 2".to_owned()));
    }

    #[tokio::test]
    async fn a_page_with_a_token_is_rendered_for_each_request() {
        let (cache, slow) = (MicroCache::default(), Slow::new());
        let ttl = Duration::from_secs(60);
        fn private(n: usize) -> Response {
            let mut r = page(n);
            r.extensions_mut().insert(Private);
            r
        }
        let tasks = burst(&cache, &slow, "k", ttl, 10, private);
        settle().await;
        assert_eq!(slow.renders(), 1);
        slow.open();
        let mut bodies: Vec<String> = Vec::new();
        for t in tasks {
            bodies.push(t.await.unwrap().1);
        }
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), 10, "each its own render (its own token)");
        // Known unshareable now: requests no longer wait for each other.
        let held = Slow::new();
        let tasks = burst(&cache, &held, "k", ttl, 5, private);
        settle().await;
        assert_eq!(held.renders(), 5);
        held.open();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(cache.count("alone"), 9 + 5);
    }

    #[tokio::test]
    async fn a_write_clears_copies_and_renders_under_way() {
        let (cache, slow) = (MicroCache::default(), Slow::new());
        let ttl = Duration::from_secs(60);
        let before = burst(&cache, &slow, "k", ttl, 1, page);
        settle().await;
        cache.clear();
        slow.open();
        assert_eq!(
            before.into_iter().next().unwrap().await.unwrap().1,
            "page 1"
        );
        // Rendered before the write: not kept.
        let after = cache.serve("k".into(), ttl, slow.render(page)).await;
        assert_eq!(body(after).await.1, "page 2");
    }
}
