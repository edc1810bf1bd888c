//! The web layer: public site, back office, regional view and JSON API.
//!
//! `app(state)` builds the whole router (tests call the same function) and
//! `serve(listener, state, shutdown)` runs it; `main` only parses the command
//! line.

pub mod access;
pub mod admin;
pub mod agenda;
pub mod api;
pub mod confirm;
pub mod contract;
pub mod csrf;
pub mod diagnosis;
pub mod directory;
pub mod error;
pub mod flash;
pub mod form;
pub mod legal;
pub mod maps;
pub mod messages;
pub mod microcache;
pub mod ops;
pub mod pages;
pub mod participation;
pub mod public;
pub mod redirect;
pub mod referrals;
pub mod region;
pub mod security;
pub mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::storage::{settings, Db, DbResult};
use access::{Built, Routes};

/// What every handler shares, behind one `Arc`: axum clones the state for
/// each extractor and middleware of each request, and one reference count
/// is cheaper than one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The application's shared parts (see [`AppState`]).
pub struct Shared {
    pub db: Db,
    pub config: Arc<Config>,
    /// Signs CSRF tokens and hashes addresses; shared by all processes (see `storage::settings`).
    pub secret: Arc<Vec<u8>>,
    /// This process's short-lived cache of anonymous public pages.
    pub cache: microcache::MicroCache,
    /// Outgoing e-mail, when an SMTP relay is configured.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    /// This process's Prometheus metrics (served when `Config::metrics`).
    pub metrics: Arc<ops::Metrics>,
    /// This process's drop-in schedules, checked against the database on
    /// each use (`agenda::world_cache`).
    pub worlds: Arc<agenda::world_cache::WorldCache>,
    /// SMS and e-mail notices with their receipts (`messaging`).
    pub outbox: Arc<crate::messaging::Outbox>,
}

impl AppState {
    pub async fn new(db: Db, config: Config) -> DbResult<Self> {
        let secret = settings::secret(&db).await?;
        let mailer = match &config.smtp_url {
            Some(url) => Some(Arc::new(
                crate::mail::Mailer::new(url, &config.mail_from)
                    .map_err(crate::storage::DbError::Other)?,
            )),
            None => None,
        };
        let sms: Option<Arc<dyn crate::messaging::sms::SmsProvider>> = match &config.sms {
            Some(s) => Some(Arc::from(
                s.build(&config.public_url)
                    .map_err(crate::storage::DbError::Other)?,
            )),
            None => None,
        };
        let reminder_days = config.sms.as_ref().map_or(1, |s| s.reminder_days);
        let outbox = Arc::new(crate::messaging::Outbox::new(
            db.clone(),
            sms,
            mailer.clone(),
            reminder_days,
        ));
        let cache = microcache::MicroCache::default();
        let metrics = Arc::new(ops::Metrics::new(mailer.as_deref(), &cache));
        Ok(AppState(Arc::new(Shared {
            mailer,
            db,
            config: Arc::new(config),
            secret: Arc::new(secret),
            cache,
            metrics,
            worlds: Default::default(),
            outbox,
        })))
    }
}

/// Every route of the application, with its declared access.
pub fn routes(state: AppState) -> Built {
    let r = Routes::new(state, api::openapi_base());
    let r = public::routes(r);
    let r = legal::routes(r);
    let r = directory::routes(r);
    let r = admin::routes(r);
    let r = region::routes(r);
    let r = api::routes(r);
    let r = agenda::routes(r);
    let r = contract::routes(r);
    let r = diagnosis::routes(r);
    let r = participation::routes(r);
    let r = ops::routes(r);
    let r = messages::routes(r);
    let r = referrals::routes(r);
    r.build()
}

/// The application with its middleware stack.
pub fn app(state: AppState) -> Router {
    let router = routes(state.clone())
        .router
        .fallback(|| async { error::AppError::NotFound })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::load_user,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            microcache::layer,
        ))
        .layer(middleware::from_fn(flash::layer))
        .layer(middleware::from_fn(security::headers))
        .layer(CompressionLayer::new())
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(RequestBodyLimitLayer::new(
            state.config.body_limit.max(state.config.upload_limit),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            error::AppError::Internal(anyhow::anyhow!("panic")).into_page()
        }))
        .layer(middleware::from_fn(error::api_json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), ops::layer))
        .layer(TraceLayer::new_for_http());
    router.with_state(state)
}

/// Serve until `shutdown` resolves, then finish the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tokio::spawn(agenda::housekeeping_loop(state.clone()));
    tokio::spawn(participation::housekeeping_loop(state.clone()));
    tokio::spawn(state.outbox.clone().run_loop());
    let app = app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("arrêt demandé : fin des requêtes en cours");
}
