//! The pages every French public site has (mentions légales, déclaration
//! d'accessibilité, données personnelles, plan du site), for the instance
//! and for each territory, and `/t/{territory}/contrat`, the menu's entry to
//! the territory's contract.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::access::{Access, Routes};
use super::error::AppError;
use super::pages::{render, Ctx, Layout};
use super::public::load_public_territory;
use super::AppState;
use crate::storage::territories::{self, Territory};

pub fn routes(r: Routes) -> Routes {
    r.get("/mentions-legales", Access::Public, legal_instance)
        .get("/accessibilite", Access::Public, accessibility_instance)
        .get("/donnees-personnelles", Access::Public, privacy_instance)
        .get("/plan-du-site", Access::Public, sitemap_instance)
        .get("/t/{territory}/mentions-legales", Access::Public, legal)
        .get(
            "/t/{territory}/accessibilite",
            Access::Public,
            accessibility,
        )
        .get(
            "/t/{territory}/donnees-personnelles",
            Access::Public,
            privacy,
        )
        .get("/t/{territory}/plan-du-site", Access::Public, sitemap)
        .get("/t/{territory}/contrat", Access::Public, contract)
}

/// Which page of the four.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Legal,
    Accessibility,
    Privacy,
}

#[derive(Template)]
#[template(path = "public/legal.html")]
struct LegalPage {
    l: Layout,
    kind: Kind,
    /// The territory whose coordination publishes the site, if any.
    t: Option<Territory>,
    public_url: String,
    registration_days: i64,
    participation_days: i64,
}

impl LegalPage {
    fn is(&self, k: Kind) -> bool {
        self.kind == k
    }
}

const TITLES: [(Kind, &str); 3] = [
    (Kind::Legal, "Mentions légales"),
    (Kind::Accessibility, "Déclaration d'accessibilité"),
    (Kind::Privacy, "Données personnelles"),
];

async fn page(
    st: &AppState,
    ctx: &Ctx,
    kind: Kind,
    slug: Option<&str>,
) -> Result<Response, AppError> {
    let title = TITLES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, t)| *t)
        .unwrap_or("");
    let t = match slug {
        Some(s) => Some(load_public_territory(st, s).await?),
        None => None,
    };
    let l = match &t {
        Some(t) => ctx.public_layout(title, &t.slug, &t.name),
        None => ctx.layout(title),
    };
    Ok(render(&LegalPage {
        l,
        kind,
        t,
        public_url: st.config.public_url.clone(),
        registration_days: st.config.registration_retention_days,
        participation_days: crate::storage::participation::RETENTION_DAYS,
    }))
}

async fn legal_instance(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    page(&st, &ctx, Kind::Legal, None).await
}
async fn accessibility_instance(
    State(st): State<AppState>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    page(&st, &ctx, Kind::Accessibility, None).await
}
async fn privacy_instance(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    page(&st, &ctx, Kind::Privacy, None).await
}
async fn legal(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    page(&st, &ctx, Kind::Legal, Some(&slug)).await
}
async fn accessibility(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    page(&st, &ctx, Kind::Accessibility, Some(&slug)).await
}
async fn privacy(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    page(&st, &ctx, Kind::Privacy, Some(&slug)).await
}

#[derive(Template)]
#[template(path = "public/sitemap.html")]
struct SitemapPage {
    l: Layout,
    t: Option<Territory>,
    territories: Vec<(String, String)>,
    contracts: Vec<(i64, String)>,
}

async fn sitemap_instance(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let territories = territories::list(&st.db)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect();
    Ok(render(&SitemapPage {
        l: ctx.layout("Plan du site"),
        t: None,
        territories,
        contracts: Vec::new(),
    }))
}

async fn sitemap(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let contracts = crate::storage::contract::list(&st.db, t.id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.title))
        .collect();
    Ok(render(&SitemapPage {
        l: ctx.public_layout("Plan du site", &t.slug, &t.name),
        t: Some(t),
        territories: Vec::new(),
        contracts,
    }))
}

#[derive(Template)]
#[template(path = "public/contracts.html")]
struct ContractsPage {
    l: Layout,
    t: Territory,
    contracts: Vec<(i64, String, String)>,
}

/// The menu's « Le contrat »: the contract itself when there is one, the
/// list when there are several, a plain message when there is none yet.
async fn contract(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let list = crate::storage::contract::list(&st.db, t.id).await?;
    if let [only] = list.as_slice() {
        return Ok(Redirect::to(&format!("/t/{}/contrat/{}", t.slug, only.id)).into_response());
    }
    let contracts = list
        .into_iter()
        .map(|c| {
            let period = match (&c.period_start, &c.period_end) {
                (Some(a), Some(b)) => format!(
                    "{} – {}",
                    crate::domain::dates::french_iso_date(a),
                    crate::domain::dates::french_iso_date(b)
                ),
                _ => String::new(),
            };
            (c.id, c.title, period)
        })
        .collect();
    Ok(render(&ContractsPage {
        l: ctx.public_layout("Le contrat", &t.slug, &t.name),
        t,
        contracts,
    }))
}
