//! The action plan as a filtered list (axis, status, theme, commune, lead,
//! late actions) and its CSV and XLSX exports, one row per action.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::domain::contract::{theme_label, ActionStatus, THEMES};
use crate::domain::roles::Role;
use crate::plan::{is_late, FullPlan, PlanFilter};
use crate::storage::{actions, contract, partners, territories};
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{render, url_encode, Ctx, Layout};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    let partner = Access::Territory(Role::Partner);
    r.get(
        "/admin/t/{territory}/contrats/{contract}/plan",
        partner,
        list,
    )
    .get(
        "/admin/t/{territory}/contrats/{contract}/plan.csv",
        partner,
        csv_export,
    )
    .get(
        "/admin/t/{territory}/contrats/{contract}/plan.xlsx",
        partner,
        xlsx_export,
    )
}

pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

async fn load(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<FullPlan, AppError> {
    let c = contract::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(FullPlan::load(&st.db, c).await?)
}

struct Row {
    id: i64,
    code: String,
    title: String,
    axis: String,
    status: &'static str,
    progress: i64,
    lead: String,
    themes: String,
    late: bool,
    editable: bool,
}

#[derive(Template)]
#[template(path = "contract/plan_list.html")]
struct ListPage {
    l: Layout,
    slug: String,
    contract_id: i64,
    contract_title: String,
    coordinator: bool,
    f: PlanFilter,
    query: String,
    rows: Vec<Row>,
    total: usize,
    axes: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    themes: Vec<(String, String)>,
    communes: Vec<(String, String)>,
    leads: Vec<(String, String)>,
}

fn query_of(f: &PlanFilter) -> String {
    [
        ("axis", &f.axis),
        ("status", &f.status),
        ("theme", &f.theme),
        ("commune", &f.commune),
        ("lead", &f.lead),
        ("late", &f.late),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", url_encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

async fn list(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
    Query(f): Query<PlanFilter>,
) -> Result<Response, AppError> {
    let p = load(&st, &tc, id).await?;
    let today = today();
    let led: Vec<i64> = if tc.is_coordinator() {
        Vec::new()
    } else {
        actions::led_by(&st.db, tc.territory.id, tc.user.user.id).await?
    };
    let rows = p
        .filtered(&f, today)
        .into_iter()
        .map(|a| Row {
            id: a.id,
            code: a.code.clone(),
            title: a.title.clone(),
            axis: p.parents(a).0,
            status: ActionStatus::parse(&a.status)
                .map(|s| s.label())
                .unwrap_or(""),
            progress: a.progress,
            lead: a.lead_org.clone(),
            themes: p
                .related
                .themes_of(a.id)
                .iter()
                .map(|t| theme_label(t))
                .collect::<Vec<_>>()
                .join(", "),
            late: is_late(a, &p.related, today),
            editable: tc.is_coordinator() || led.contains(&a.id),
        })
        .collect();
    let mut themes: Vec<(String, String)> = THEMES
        .iter()
        .map(|(c, l)| (c.to_string(), l.to_string()))
        .collect();
    for t in actions::territory_themes(&st.db, tc.territory.id).await? {
        themes.push((t.clone(), t));
    }
    Ok(render(&ListPage {
        l: ctx.admin_layout(format!("Plan d'action : {}", p.contract.title)),
        slug: tc.territory.slug.clone(),
        contract_id: p.contract.id,
        contract_title: p.contract.title.clone(),
        coordinator: tc.is_coordinator(),
        query: query_of(&f),
        total: p.plan.actions.len(),
        rows,
        axes: p
            .plan
            .axes
            .iter()
            .map(|a| (a.id.to_string(), format!("{} {}", a.code, a.title)))
            .collect(),
        statuses: ActionStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
            .collect(),
        themes,
        communes: territories::communes(&st.db, tc.territory.id)
            .await?
            .into_iter()
            .map(|c| (c.insee_code, c.name))
            .collect(),
        leads: partners::organisations(&st.db, tc.territory.id)
            .await?
            .into_iter()
            .map(|o| (o.id.to_string(), o.name))
            .collect(),
        f,
    })
    .into_response())
}

fn file_name(p: &FullPlan, ext: &str) -> String {
    let slug: String = crate::domain::text::fold_accents(&p.contract.title)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("plan-{}-{}.{ext}", p.contract.id, slug.trim_matches('-'))
}

async fn csv_export(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
    Query(f): Query<PlanFilter>,
) -> Result<Response, AppError> {
    let p = load(&st, &tc, id).await?;
    let actions = p.filtered(&f, today());
    let body = crate::plan::to_csv(&p, &actions).map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(&p, "csv")),
            ),
        ],
        body,
    )
        .into_response())
}

async fn xlsx_export(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
    Query(f): Query<PlanFilter>,
) -> Result<Response, AppError> {
    let p = load(&st, &tc, id).await?;
    let name = file_name(&p, "xlsx");
    // Building a large workbook is CPU work: keep it off the request threads.
    let body = tokio::task::spawn_blocking(move || {
        let actions = p.filtered(&f, today());
        crate::plan::to_xlsx(&p, &actions)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
