//! The public site: the instance's territories, a territory's home, display
//! preferences, static assets.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::access::{Access, Routes};
use super::error::AppError;
use super::pages::{self, paragraphs, render, thousands, Ctx, Layout, Prefs, PREFS_COOKIE};
use super::session::set_cookie;
use super::AppState;
use crate::domain::dates;
use crate::storage::communes::{Commune, Qpv};
use crate::storage::territories::{self, Territory};

pub fn routes(r: Routes) -> Routes {
    r.get("/", Access::Public, index)
        .get("/t/{territory}", Access::Public, territory_redirect)
        .get("/t/{territory}/", Access::Public, territory_home)
        .get("/preferences", Access::Public, preferences)
        .get("/static/maillage.css", Access::Public, css)
        .get("/static/maillage.js", Access::Public, js)
        .get("/sante", Access::Public, health)
}

pub struct TerritoryItem {
    pub slug: String,
    pub name: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "public/index.html")]
struct IndexPage {
    l: Layout,
    territories: Vec<TerritoryItem>,
}

pub fn territory_items(list: Vec<territories::TerritorySummary>) -> Vec<TerritoryItem> {
    list.into_iter()
        .map(|t| TerritoryItem {
            detail: commune_detail(t.commune_count, t.population),
            slug: t.slug,
            name: t.name,
        })
        .collect()
}

pub fn commune_detail(count: i64, population: i64) -> String {
    let mut s = format!("{count} commune{}", if count > 1 { "s" } else { "" });
    if population > 0 {
        s.push_str(&format!(", {} habitants", thousands(population)));
    }
    s
}

async fn index(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let territories = territory_items(territories::list(&st.db).await?);
    Ok(render(&IndexPage {
        l: ctx.layout("Accueil"),
        territories,
    }))
}

async fn territory_redirect(Path(slug): Path<String>) -> Redirect {
    Redirect::permanent(&format!("/t/{}/", pages::url_encode(&slug)))
}

#[derive(Template)]
#[template(path = "public/territory.html")]
struct TerritoryPage {
    l: Layout,
    t: Territory,
    presentation: Vec<String>,
    has_contact: bool,
    communes: Vec<Commune>,
    qpvs: Vec<Qpv>,
    population: String,
    updated: String,
    updated_iso: String,
    /// The territory's contracts: id and title.
    contracts: Vec<(i64, String)>,
    /// The next drop-in sessions (three weeks ahead, a few).
    next_permanences: Vec<crate::web::agenda::public::OccView>,
    /// The next sessions of events.
    next_events: Vec<crate::web::agenda::public::SessionView>,
}

/// How many drop-ins the home shows (and event sessions:
/// `public_pages::HOME_SESSIONS`).
const HOME_NEXT: usize = 4;

pub async fn load_public_territory(st: &AppState, slug: &str) -> Result<Territory, AppError> {
    territories::get_by_slug(&st.db, slug)
        .await?
        .ok_or(AppError::NotFound)
}

/// The territory's home: one statement (`storage::public_pages::home`),
/// the drop-ins from this process's cache of the schedule, checked against
/// the stamp the statement read.
async fn territory_home(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    use crate::web::agenda::{public as agenda_public, today_paris};
    let home = crate::storage::public_pages::home(&st.db, &slug, chrono::Utc::now())
        .await?
        .ok_or(AppError::NotFound)?;
    let t = home.territory;
    let world = st
        .worlds
        .get_stamped(&st.db, t.id, home.schedule_stamp)
        .await?;
    let today = today_paris();
    let next_permanences = world
        .occurrences(today, today + chrono::Duration::days(21), None)
        .iter()
        .filter(|r| !r.cancelled())
        .take(HOME_NEXT)
        .map(agenda_public::occ_view)
        .collect();
    let places: std::collections::BTreeMap<i64, crate::storage::agenda::Place> = home
        .sessions
        .iter()
        .filter_map(|(_, s)| s.place_id)
        .filter_map(|id| world.places.get(&id).map(|p| (id, p.clone())))
        .collect();
    let next_events = home
        .sessions
        .iter()
        .map(|(e, s)| agenda_public::session_view(e, s, &places))
        .collect();
    let communes = home.communes;
    let population: i64 = communes.iter().filter_map(|c| c.population).sum();
    let page = TerritoryPage {
        next_permanences,
        next_events,
        contracts: home.contracts,
        l: ctx.public_layout("Accueil", &t.slug, &t.name),
        presentation: paragraphs(&t.presentation),
        has_contact: !(t.contact_name.is_empty()
            && t.contact_email.is_empty()
            && t.contact_phone.is_empty()
            && t.contact_address.is_empty()),
        population: if population > 0 {
            thousands(population)
        } else {
            String::new()
        },
        updated: dates::paris_date(t.updated_at),
        updated_iso: dates::paris_iso(t.updated_at),
        communes,
        qpvs: home.qpvs,
        t,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
struct PrefsQuery {
    texte: Option<String>,
    contraste: Option<String>,
    retour: Option<String>,
}

/// Only local paths: never an open redirect (see `web::redirect`).
pub fn local_path(p: Option<&str>, default: &str) -> String {
    super::redirect::local_or(p, default)
}

async fn preferences(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PrefsQuery>,
) -> Response {
    let mut prefs: Prefs = ctx.prefs;
    match q.texte.as_deref() {
        Some("grand") => prefs.large_text = true,
        Some("normal") => prefs.large_text = false,
        _ => {}
    }
    match q.contraste.as_deref() {
        Some("oui") => prefs.contrast = true,
        Some("non") => prefs.contrast = false,
        _ => {}
    }
    let back = local_path(q.retour.as_deref(), "/");
    let cookie = set_cookie(
        PREFS_COOKIE,
        &prefs.to_cookie(),
        365 * 24 * 3600,
        st.config.cookie_secure,
    );
    let mut resp = super::redirect::see_other(&back);
    resp.headers_mut().append(SET_COOKIE, cookie);
    resp
}

const CSS: &str = include_str!("../../static/maillage.css");
const JS: &str = include_str!("../../static/maillage.js");

async fn css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}

async fn health(State(st): State<AppState>) -> Result<&'static str, AppError> {
    crate::storage::settings::ping(&st.db).await?;
    Ok("ok")
}
