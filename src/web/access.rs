//! Every route declares who may use it. Routes are added through [`Routes`],
//! which records `(method, path, access)` for the authorization-matrix test
//! and wraps the handler in the check; API routes also feed the OpenAPI
//! document from the same registration.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::error::{ApiError, AppError};
use super::session::CurrentUser;
use super::AppState;
use crate::domain::roles::Role;
use crate::storage::territories::{self, Territory};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in account.
    SignedIn,
    /// At least this role in the `{territory}` of the path. Admins pass;
    /// regional staff pass for reading (GET) only.
    Territory(Role),
    /// Personal data of the `{territory}` (registration lists, answer
    /// exports, a person's RGPD export): at least this role there, or an
    /// admin. Unlike [`Access::Territory`], regional staff do not pass, even
    /// for reading: they get aggregates only.
    Personal(Role),
    /// Regional staff and admins.
    Regional,
    /// Instance admins only.
    Admin,
    /// Monitoring (`/metrics`): not found unless metrics are on; then
    /// callers with the bearer token `MAILLAGE_METRICS_TOKEN` when it is
    /// set, otherwise unproxied loopback callers (see `web::ops`).
    Monitoring,
    /// Machines posting to us (an SMS provider's delivery reports): no
    /// session and no CSRF token (they have neither); the handler answers
    /// 404 unless the secret in the path is the configured one.
    Hook,
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: String,
    pub access: Access,
}

/// The territory of a `Access::Territory` route, checked and loaded once.
#[derive(Debug, Clone)]
pub struct TerritoryCtx {
    pub territory: Territory,
    /// The user's own role there (`None` for admins and regional staff).
    pub role: Option<Role>,
    pub user: Arc<CurrentUser>,
}

impl TerritoryCtx {
    pub fn is_coordinator(&self) -> bool {
        self.role == Some(Role::Coordinator) || self.user.is_admin()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TerritoryCtx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<TerritoryCtx>()
            .cloned()
            .ok_or(AppError::Forbidden)
    }
}

pub struct Routes {
    state: AppState,
    router: Router<AppState>,
    api: OpenApiRouter<AppState>,
    specs: Vec<RouteSpec>,
}

pub struct Built {
    pub router: Router<AppState>,
    pub specs: Vec<RouteSpec>,
    pub openapi: OpenApi,
}

impl Routes {
    pub fn new(state: AppState, openapi: OpenApi) -> Self {
        Routes {
            state,
            router: Router::new(),
            api: OpenApiRouter::with_openapi(openapi),
            specs: Vec::new(),
        }
    }

    /// The access check, then (outside it) the CSRF check. Both are route
    /// layers: a method the route does not have gets the router's 405
    /// (with `Allow`), not a CSRF refusal.
    fn guard(&self, access: Access, mr: MethodRouter<AppState>) -> MethodRouter<AppState> {
        if access == Access::Hook {
            return mr;
        }
        mr.route_layer(middleware::from_fn_with_state(
            self.state.clone(),
            move |State(st): State<AppState>, req: Request, next: Next| {
                enforce(st, access, req, next)
            },
        ))
        .route_layer(middleware::from_fn_with_state(
            self.state.clone(),
            super::csrf::layer,
        ))
    }

    fn add(
        mut self,
        method: Method,
        path: &str,
        access: Access,
        mr: MethodRouter<AppState>,
    ) -> Self {
        // Destructive actions ask for a confirmation, after the access check
        // (the guard is the outer layer): nobody sees a confirmation page
        // for an action they may not take.
        let mr = if method == Method::POST && super::confirm::question(path).is_some() {
            mr.route_layer(middleware::from_fn(super::confirm::layer))
        } else {
            mr
        };
        let mr = self.guard(access, mr);
        self.router = self.router.route(path, mr);
        self.specs.push(RouteSpec {
            method,
            path: path.to_owned(),
            access,
        });
        self
    }

    pub fn get<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, access, routing::get(handler))
    }

    pub fn post<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, routing::post(handler))
    }

    /// A POST route that accepts bodies up to `Config::upload_limit` bytes (file uploads);
    /// every other route keeps the instance's body limit.
    pub fn post_upload<H, T>(self, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let limit = self.state.config.upload_limit;
        let mr = routing::post(handler).layer(axum::extract::DefaultBodyLimit::max(limit));
        self.add(Method::POST, path, access, mr)
    }

    /// An API route from `utoipa_axum::routes!`: its path and methods come
    /// from the handler's `#[utoipa::path]`, which also documents it.
    pub fn api(mut self, access: Access, route: UtoipaMethodRouter<AppState>) -> Self {
        let (schemas, paths, mr) = route;
        for (path, item) in &paths.paths {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ];
            for (m, present) in methods {
                if present {
                    self.specs.push(RouteSpec {
                        method: m,
                        path: path.clone(),
                        access,
                    });
                }
            }
        }
        let mr = self.guard(access, mr);
        self.api = self.api.routes((schemas, paths, mr));
        self
    }

    pub fn build(self) -> Built {
        let (api_router, mut openapi) = self.api.split_for_parts();
        super::api::document_errors(&mut openapi, &self.specs);
        Built {
            router: self.router.merge(api_router),
            specs: self.specs,
            openapi,
        }
    }
}

fn is_api(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
}

fn unauthenticated(req: &Request) -> Response {
    if is_api(req) {
        return ApiError(AppError::Unauthenticated).into_response();
    }
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/admin/");
    let target = format!("/admin/connexion?suite={}", super::pages::url_encode(next));
    Redirect::to(&target).into_response()
}

fn refuse(req: &Request, e: AppError) -> Response {
    if is_api(req) {
        ApiError(e).into_response()
    } else {
        e.into_page()
    }
}

/// The check every route goes through before its handler.
async fn enforce(st: AppState, access: Access, req: Request, next: Next) -> Response {
    let user = req.extensions().get::<Arc<CurrentUser>>().cloned();
    match access {
        Access::Public | Access::Hook => next.run(req).await,
        Access::Monitoring => {
            if !st.config.metrics {
                return refuse(&req, AppError::NotFound);
            }
            let peer = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0);
            if super::ops::may_read_metrics(&st.config, peer, req.headers()) {
                next.run(req).await
            } else {
                refuse(&req, AppError::Forbidden)
            }
        }
        Access::SignedIn => match user {
            Some(_) => next.run(req).await,
            None => unauthenticated(&req),
        },
        Access::Admin | Access::Regional => {
            let Some(u) = user else {
                return unauthenticated(&req);
            };
            let ok = if access == Access::Admin {
                u.is_admin()
            } else {
                u.reads_everything()
            };
            if ok {
                next.run(req).await
            } else {
                refuse(&req, AppError::Forbidden)
            }
        }
        Access::Territory(min) | Access::Personal(min) => {
            let regional_reads = matches!(access, Access::Territory(_));
            let Some(u) = user else {
                return unauthenticated(&req);
            };
            let (mut parts, body) = req.into_parts();
            let slug = match RawPathParams::from_request_parts(&mut parts, &st).await {
                Ok(params) => params
                    .iter()
                    .find(|(k, _)| *k == "territory")
                    .map(|(_, v)| v.to_owned()),
                Err(_) => None,
            };
            let req = Request::from_parts(parts, body);
            let Some(slug) = slug else {
                tracing::error!(path = %req.uri().path(), "territory route without {{territory}}");
                return refuse(
                    &req,
                    AppError::Internal(anyhow::anyhow!("route mal déclarée")),
                );
            };
            let territory = match territories::get_by_slug(&st.db, &slug).await {
                Ok(Some(t)) => t,
                Ok(None) => return refuse(&req, AppError::NotFound),
                Err(e) => return refuse(&req, e.into()),
            };
            let role = u.role_in(territory.id);
            let reading = matches!(*req.method(), Method::GET | Method::HEAD);
            let allowed = u.is_admin()
                || role.is_some_and(|r| r >= min)
                || (reading && regional_reads && u.reads_everything());
            if !allowed {
                return refuse(&req, AppError::Forbidden);
            }
            let mut req = req;
            req.extensions_mut().insert(TerritoryCtx {
                territory,
                role,
                user: u,
            });
            next.run(req).await
        }
    }
}
