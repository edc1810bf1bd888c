//! Operations: `GET /healthz` for load balancers and supervisors, and the
//! Prometheus metrics `GET /metrics` (off unless `--metrics`).
//!
//! `/metrics` is declared [`Access::Monitoring`]: when
//! `MAILLAGE_METRICS_TOKEN` is set, every caller must send
//! `Authorization: Bearer <token>`; otherwise only callers on a loopback
//! address whose request carries no proxy header (`X-Forwarded-For`,
//! `Forwarded`, `X-Real-IP`) may read it, so a reverse proxy on the same
//! machine does not open it to the world.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::access::{Access, Routes};
use super::error::AppError;
use super::AppState;
use crate::config::Config;

pub fn routes(r: Routes) -> Routes {
    r.get("/healthz", Access::Public, healthz)
        .get("/metrics", Access::Monitoring, metrics)
}

/// 200 `{"status":"ok",…}` when the database answers and has every
/// migration of this binary; 503 `{"status":"error","reason":…}` otherwise.
async fn healthz(State(st): State<AppState>) -> Response {
    let backend = match st.db.backend() {
        crate::storage::Backend::Sqlite => "sqlite",
        crate::storage::Backend::Postgres => "postgres",
    };
    // A load balancer wants an answer, not a request stuck on the pool.
    let health = tokio::time::timeout(std::time::Duration::from_secs(5), st.db.health())
        .await
        .unwrap_or_else(|_| Err("base de données : pas de réponse en 5 s".to_owned()));
    let mut resp = match health {
        Ok(h) => Json(serde_json::json!({
            "status": "ok",
            "database": backend,
            "migrations": h.migrations,
            "latest_migration": h.latest,
            "unknown_migrations": h.unknown,
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "error",
                "database": backend,
                "reason": reason,
            })),
        )
            .into_response(),
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("header"));
    resp
}

/// May this caller read `/metrics` (metrics being on)?
pub fn may_read_metrics(config: &Config, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    if let Some(token) = config.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        return crate::tokens::constant_time_eq(given.trim().as_bytes(), token.as_bytes());
    }
    let proxied = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    !proxied && peer.is_some_and(|p| p.ip().is_loopback())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

fn latency_histogram() -> Histogram {
    // 5 ms … 10 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// This process's metrics (kept whether or not `/metrics` is served: the
/// request layer only records when it is).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    import_jobs: Family<StateLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The registry, with the mailer's gauge and counters when there is one
    /// (zeros otherwise) and the micro-cache's counters.
    pub fn new(
        mailer: Option<&crate::mail::Mailer>,
        cache: &super::microcache::MicroCache,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("maillage");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, matched route and status",
            requests.clone(),
        );
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method and matched route",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let import_jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "import_jobs",
            "Import jobs in the database by state (queued, running, done, failed)",
            import_jobs.clone(),
        );
        let (queue, sent, failed) = match mailer {
            Some(m) => (m.in_flight.clone(), m.sent.clone(), m.failed.clone()),
            None => Default::default(),
        };
        registry.register(
            "mail_queue",
            "E-mails handed to the mailer of this process and not yet accepted or refused by the relay",
            queue,
        );
        registry.register(
            "mails_sent",
            "E-mails this process handed to the relay since it started",
            sent,
        );
        registry.register(
            "mails_failed",
            "E-mails this process failed to send since it started",
            failed,
        );
        registry.register(
            "public_cache_requests",
            "Anonymous public pages asked of this process's micro-cache, by outcome: hit (fresh copy), \
             stale (expired copy served while another request renders the page), waited (the page \
             another request was rendering), rendered (rendered for everyone), alone (rendered \
             without sharing: a page with a form, or after a render that ended without an answer)",
            cache.outcomes(),
        );
        Metrics {
            registry,
            requests,
            latency,
            import_jobs,
        }
    }
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }
}

/// Count every request by its matched route (never the raw path: one series
/// per route, not per URL) when metrics are on.
pub async fn layer(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if !st.config.metrics {
        return next.run(req).await;
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "(none)".to_owned());
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let resp = next.run(req).await;
    st.metrics.record(
        &method,
        &route,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

async fn metrics(State(st): State<AppState>) -> Result<Response, AppError> {
    let m = &st.metrics;
    let counts = crate::storage::jobs::count_by_status(&st.db).await?;
    for state in ["queued", "running", "done", "failed"] {
        m.import_jobs
            .get_or_create(&StateLabels {
                state: state.to_owned(),
            })
            .set(0);
    }
    for (state, n) in counts {
        m.import_jobs.get_or_create(&StateLabels { state }).set(n);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &m.registry)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("metrics: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_read_metrics() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let none = HeaderMap::new();
        let open = Config {
            metrics: true,
            ..Config::default()
        };
        assert!(may_read_metrics(&open, Some(local), &none));
        assert!(may_read_metrics(
            &open,
            Some("[::1]:1".parse().unwrap()),
            &none
        ));
        assert!(!may_read_metrics(&open, Some(remote), &none));
        assert!(!may_read_metrics(&open, None, &none));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert!(!may_read_metrics(&open, Some(local), &proxied));

        let token = Config {
            metrics_token: Some("s3cret".into()),
            ..open
        };
        assert!(!may_read_metrics(&token, Some(local), &none));
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(may_read_metrics(&token, Some(remote), &bearer));
        bearer.insert(header::AUTHORIZATION, "Bearer s3cre".parse().unwrap());
        assert!(!may_read_metrics(&token, Some(remote), &bearer));
    }
}
