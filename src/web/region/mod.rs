//! The regional view (`/region/…`): the roll-up of every territory (public
//! columns for everyone, funding for those who may see it, see
//! [`crate::region`]), its CSV and XLSX exports, the shared catalogue of
//! indicators (`catalogue`) and the open-data export of every plan
//! (`opendata`, under `/donnees/`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::domain::contract::{ContractKind, ContractStatus};
use crate::domain::roles::Role;
use crate::region::{self, money_cell, period_words, RollupQuery, Sight, TerritoryRollup};
use crate::web::access::{Access, Routes};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, Layout};
use crate::web::session::CurrentUser;
use crate::web::AppState;

mod catalogue;
pub mod map;
mod mediation;
pub mod opendata;

pub fn routes(r: Routes) -> Routes {
    let r = r
        .get("/region/", Access::Public, index)
        .get("/region/territoires.csv", Access::Public, rollup_csv)
        .get("/region/territoires.xlsx", Access::Public, rollup_xlsx);
    let r = catalogue::routes(r);
    let r = mediation::routes(r);
    opendata::routes(r)
}

/// Who is looking: what they may see of each territory's row.
#[derive(Clone)]
pub struct Viewer(Option<Arc<CurrentUser>>);

impl Viewer {
    pub fn of(ctx: &Ctx) -> Viewer {
        Viewer(ctx.user.clone())
    }

    /// Regional staff and admins see every row in full, a territory's
    /// coordinators their own; everyone else the public columns.
    pub fn sight(&self, territory_id: i64) -> Sight {
        match &self.0 {
            Some(u)
                if u.reads_everything() || u.role_in(territory_id) == Some(Role::Coordinator) =>
            {
                Sight::Full
            }
            _ => Sight::Public,
        }
    }

    /// Does any row show funding? (The funding columns are left out
    /// otherwise.)
    pub fn sees_funding(&self) -> bool {
        match &self.0 {
            Some(u) => {
                u.reads_everything()
                    || u.memberships
                        .iter()
                        .any(|m| m.role() == Some(Role::Coordinator))
            }
            None => false,
        }
    }

    pub fn is_regional(&self) -> bool {
        self.0.as_ref().is_some_and(|u| u.reads_everything())
    }

    /// May open the territory's back office (to link it).
    fn reads_back_office(&self, territory_id: i64) -> bool {
        self.0
            .as_ref()
            .is_some_and(|u| u.reads_everything() || u.role_in(territory_id).is_some())
    }
}

/// One row as the page shows it: every text ready.
pub struct RowView {
    pub slug: String,
    pub name: String,
    pub departements: String,
    pub back_office: bool,
    pub contract: Option<ContractView>,
    pub other_contracts: usize,
    pub actions: usize,
    pub by_status: String,
    pub late: String,
    pub late_any: bool,
    pub full: bool,
    pub planned: String,
    pub committed: String,
    pub spent: String,
    pub dropins: usize,
    pub events: usize,
    pub updated: String,
}

pub struct ContractView {
    pub title: String,
    pub kind: String,
    pub status: String,
    pub status_label: String,
    pub period: String,
    pub ending_soon: bool,
}

fn row_view(r: &TerritoryRollup, v: &Viewer) -> RowView {
    let sight = v.sight(r.territory_id);
    RowView {
        slug: r.slug.clone(),
        name: r.name.clone(),
        departements: r.departements.join(", "),
        back_office: v.reads_back_office(r.territory_id),
        contract: r.contract.as_ref().map(|c| ContractView {
            title: c.title.clone(),
            kind: ContractKind::label_of(&c.kind).to_owned(),
            status: c.status.clone(),
            status_label: ContractStatus::label_of(&c.status).to_owned(),
            period: period_words(c),
            ending_soon: c.ending_soon,
        }),
        other_contracts: r.other_contracts,
        actions: r.actions,
        by_status: r.status_words(),
        late: r.late_words(),
        late_any: r.late > 0,
        full: sight == Sight::Full,
        planned: money_cell(sight, Some(r.funding.planned)),
        committed: money_cell(sight, r.funding.committed),
        spent: money_cell(sight, r.funding.spent),
        dropins: r.dropins_held,
        events: r.events,
        updated: r.updated_words(),
    }
}

/// A sortable column header: its link and `aria-sort`.
pub struct SortLink {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or empty.
    pub aria: &'static str,
}

/// Everything `/region/` shows. [`load_page`] fills it; the map section
/// (`<section id="carte">`) is a placeholder for issue 11's maps.
pub struct RegionData {
    pub rows: Vec<RowView>,
    pub total: usize,
    pub query: RollupQuery,
    pub departements: Vec<String>,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub statuses: Vec<(&'static str, &'static str)>,
    pub sorts: Vec<SortLink>,
    /// The column the rows are sorted by.
    pub current_sort: &'static str,
    pub with_funding: bool,
    pub regional: bool,
    pub export_query: String,
    pub year: i32,
    /// The maps (territories by contract state, accessibility).
    pub maps: std::sync::Arc<map::RegionMaps>,
}

/// Load what `/region/` shows for this viewer: the roll-up filtered and
/// sorted by `q`, and the maps. One statement
/// (`public_pages::region_page`); more only when the maps are drawn anew.
pub async fn load_page(
    st: &AppState,
    viewer: &Viewer,
    q: RollupQuery,
    profession: crate::domain::diagnosis::profession::Profession,
) -> Result<RegionData, AppError> {
    let today = crate::web::contract::list::today();
    let (from, to) = region::year_bounds(today);
    let page = crate::storage::public_pages::region_page(&st.db, from, to, today).await?;
    let rollup = region::rollup(page.stored, today);
    let maps = map::load(&st.db, &rollup.rows, profession, page.map_key).await?;
    let mut departements: Vec<String> = rollup
        .rows
        .iter()
        .flat_map(|r| r.departements.iter().cloned())
        .collect();
    departements.sort();
    departements.dedup();
    let shown = q.apply(&rollup.rows, |r| viewer.sight(r.territory_id));
    let rows: Vec<RowView> = shown.iter().map(|r| row_view(r, viewer)).collect();
    let current = region::SORT_KEYS
        .iter()
        .find(|(k, _)| *k == q.tri)
        .map(|(k, _)| *k)
        .unwrap_or("territoire");
    let with_funding = viewer.sees_funding();
    let sorts = region::SORT_KEYS
        .iter()
        .filter(|(k, _)| with_funding || !matches!(*k, "prevu" | "engage" | "realise"))
        .map(|(k, label)| {
            let is_current = *k == current;
            let desc = is_current && !q.descending();
            SortLink {
                key: k,
                label,
                href: format!("/region/?{}", q.with_sort(k, desc)),
                aria: match (is_current, q.descending()) {
                    (false, _) => "",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect();
    use chrono::Datelike;
    Ok(RegionData {
        total: rollup.rows.len(),
        rows,
        export_query: q.filters(),
        query: q,
        departements,
        kinds: ContractKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        statuses: ContractStatus::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        sorts,
        current_sort: current,
        with_funding,
        regional: viewer.is_regional(),
        year: today.year(),
        maps,
    })
}

impl RegionData {
    pub fn sort(&self, key: &str) -> Option<&SortLink> {
        self.sorts.iter().find(|s| s.key == key)
    }
}

#[derive(Template)]
#[template(path = "region/index.html")]
struct RegionPage {
    l: Layout,
    d: RegionData,
}

/// `?profession=` of the accessibility map.
#[derive(serde::Deserialize, Default)]
pub struct ProfessionQuery {
    #[serde(default)]
    profession: String,
}

async fn index(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RollupQuery>,
    Query(p): Query<ProfessionQuery>,
) -> Result<Response, AppError> {
    let viewer = Viewer::of(&ctx);
    use crate::domain::diagnosis::profession::Profession;
    let profession = match p.profession.trim() {
        "" => Profession::Generalistes,
        s => Profession::from_slug(s).ok_or_else(|| {
            AppError::BadRequest("Profession inconnue pour la carte d'accessibilité.".into())
        })?,
    };
    let d = load_page(&st, &viewer, q, profession).await?;
    Ok(render(&RegionPage {
        l: ctx.layout("Vue régionale"),
        d,
    }))
}

fn attachment(content_type: &str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn rollup_csv(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RollupQuery>,
) -> Result<Response, AppError> {
    let viewer = Viewer::of(&ctx);
    let rollup = region::load(&st.db, crate::web::contract::list::today()).await?;
    let sight = |r: &TerritoryRollup| viewer.sight(r.territory_id);
    let rows = q.apply(&rollup.rows, sight);
    let body = region::to_csv(&rows, sight, viewer.sees_funding())
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        "territoires.csv",
        body,
    ))
}

async fn rollup_xlsx(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RollupQuery>,
) -> Result<Response, AppError> {
    let viewer = Viewer::of(&ctx);
    let rollup = region::load(&st.db, crate::web::contract::list::today()).await?;
    let body = tokio::task::spawn_blocking(move || {
        let sight = |r: &TerritoryRollup| viewer.sight(r.territory_id);
        let rows = q.apply(&rollup.rows, sight);
        region::to_xlsx(&rows, sight, viewer.sees_funding())
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(attachment(XLSX, "territoires.xlsx", body))
}
