//! Open data: every territory's action plan in one file, one row per
//! action (`/donnees/plans.csv`, `.xlsx`, `.json`), public fields only —
//! no person (the lead person is left out, only the lead organisation),
//! no ARS committed or spent amounts, no internal notes. The columns are
//! described in `docs/open-data.md`; the JSON in the OpenAPI document.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::domain::contract::{theme_label, ActionStatus, ContractKind, ContractStatus};
use crate::domain::indicator::format_number;
use crate::plan::FullPlan;
use crate::storage::contract;
use crate::web::access::{Access, Routes};
use crate::web::error::{ApiError, AppError};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    r.get("/donnees/plans.csv", Access::Public, plans_csv)
        .get("/donnees/plans.xlsx", Access::Public, plans_xlsx)
        .api(Access::Public, routes!(plans_json))
}

/// The last measurement of one of an action's indicators (its own schema
/// name: `MeasurementOut` is the contract API's, and two types under one
/// name made the document describe this one wrongly).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenMeasurement {
    /// The indicator's label.
    pub indicator: String,
    pub unit: String,
    /// `null` when the indicator has no measurement yet.
    pub value: Option<f64>,
    /// `YYYY-MM-DD`.
    pub measured_on: Option<String>,
    pub target: Option<f64>,
    /// The regional catalogue's indicator it follows (`/region/indicateurs/{id}`).
    pub shared_indicator_id: Option<i64>,
}

/// One action of one territory's plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenPlanRow {
    /// The territory's identifier in addresses (`/t/{slug}/`).
    pub territory_slug: String,
    pub territory: String,
    pub contract_id: i64,
    pub contract: String,
    /// `cls`, `asv`, `clsm` or `other`.
    pub contract_kind: String,
    /// `in_preparation`, `signed`, `in_force`, `ended` or `renewed`.
    pub contract_status: String,
    /// `YYYY-MM-DD`.
    pub contract_start: Option<String>,
    pub contract_end: Option<String>,
    /// « code title » of the axis.
    pub axis: String,
    /// « code title » of the objective.
    pub objective: String,
    /// The action's code in the plan (`2.1.3`).
    pub action_code: String,
    pub action_title: String,
    /// Labels of the determinants of health (and the territory's own themes).
    pub themes: Vec<String>,
    /// The target publics, as written by the territory.
    pub publics: String,
    /// INSEE codes of the communes in scope; empty with no QPV: the whole territory.
    pub communes: Vec<String>,
    /// QPV codes in scope (`QN06201M`).
    pub qpv: Vec<String>,
    /// The lead organisation (never a person).
    pub lead: String,
    pub partners: Vec<String>,
    /// Planned budget of every line, every year, in euro cents.
    pub budget_cents: i64,
    /// `planned`, `in_progress`, `done`, `paused` or `abandoned`.
    pub status: String,
    /// 0 to 100.
    pub progress: i64,
    pub start: Option<String>,
    pub end: Option<String>,
    pub last_measurements: Vec<OpenMeasurement>,
    /// Last change of the action (RFC 3339).
    pub updated_at: String,
}

/// Every action of every contract: one query set per contract (the plan
/// loader of `plan.rs`).
pub async fn load(st: &AppState) -> Result<Vec<OpenPlanRow>, AppError> {
    let mut out = Vec::new();
    for (slug, name, c) in contract::all_with_territory(&st.db).await? {
        let p = FullPlan::load(&st.db, c).await?;
        out.extend(rows_of(&slug, &name, &p));
    }
    Ok(out)
}

fn rows_of(slug: &str, name: &str, p: &FullPlan) -> Vec<OpenPlanRow> {
    let c = &p.contract;
    p.plan
        .actions
        .iter()
        .map(|a| {
            let (axis, objective) = p.parents(a);
            let rel = &p.related;
            let scope = rel.scope_of(a.id);
            OpenPlanRow {
                territory_slug: slug.to_owned(),
                territory: name.to_owned(),
                contract_id: c.id,
                contract: c.title.clone(),
                contract_kind: c.kind.clone(),
                contract_status: c.status.clone(),
                contract_start: c.period_start.clone(),
                contract_end: c.period_end.clone(),
                axis,
                objective,
                action_code: a.code.clone(),
                action_title: a.title.clone(),
                themes: rel
                    .themes_of(a.id)
                    .iter()
                    .map(|t| theme_label(t).to_owned())
                    .collect(),
                publics: a.publics.clone(),
                communes: scope
                    .iter()
                    .filter(|(k, _)| k == "commune")
                    .map(|(_, c)| c.clone())
                    .collect(),
                qpv: scope
                    .iter()
                    .filter(|(k, _)| k == "qpv")
                    .map(|(_, c)| c.clone())
                    .collect(),
                lead: a.lead_org.clone(),
                partners: rel
                    .partners_of(a.id)
                    .iter()
                    .map(|(_, n)| n.clone())
                    .collect(),
                budget_cents: rel.budget_total(a.id),
                status: a.status.clone(),
                progress: a.progress,
                start: a.period_start.clone(),
                end: a.period_end.clone(),
                last_measurements: p
                    .indicators_of(a.id)
                    .map(|i| {
                        let m = p.latest.get(&i.id);
                        OpenMeasurement {
                            indicator: i.label.clone(),
                            unit: i.unit.clone(),
                            value: m.map(|m| m.value),
                            measured_on: m.map(|m| m.measured_on.clone()),
                            target: i.target,
                            shared_indicator_id: i.shared_indicator_id,
                        }
                    })
                    .collect(),
                updated_at: a.updated_at.to_rfc3339(),
            }
        })
        .collect()
}

/// The columns of the CSV and XLSX files, in order (described in
/// `docs/open-data.md`).
pub const HEADERS: [&str; 25] = [
    "territoire_id",
    "territoire",
    "contrat_id",
    "contrat",
    "type_contrat",
    "etat_contrat",
    "debut_contrat",
    "fin_contrat",
    "axe",
    "objectif",
    "code_action",
    "action",
    "themes",
    "publics",
    "communes_insee",
    "qpv",
    "pilote",
    "partenaires",
    "budget_prevu_euros",
    "etat_action",
    "avancement_pct",
    "debut_action",
    "fin_action",
    "dernieres_mesures",
    "mise_a_jour",
];

fn euros(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

fn measurements_text(r: &OpenPlanRow) -> String {
    r.last_measurements
        .iter()
        .map(|m| match (&m.value, &m.measured_on) {
            (Some(v), Some(d)) => {
                format!("{} : {} {} ({d})", m.indicator, format_number(*v), m.unit)
            }
            _ => format!("{} : pas encore mesuré", m.indicator),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn cells(r: &OpenPlanRow) -> Vec<String> {
    vec![
        r.territory_slug.clone(),
        r.territory.clone(),
        r.contract_id.to_string(),
        r.contract.clone(),
        ContractKind::label_of(&r.contract_kind).to_owned(),
        ContractStatus::label_of(&r.contract_status).to_owned(),
        r.contract_start.clone().unwrap_or_default(),
        r.contract_end.clone().unwrap_or_default(),
        r.axis.clone(),
        r.objective.clone(),
        r.action_code.clone(),
        r.action_title.clone(),
        r.themes.join(", "),
        r.publics.clone(),
        r.communes.join(", "),
        r.qpv.join(", "),
        r.lead.clone(),
        r.partners.join(", "),
        euros(r.budget_cents),
        ActionStatus::label_of(&r.status).to_owned(),
        r.progress.to_string(),
        r.start.clone().unwrap_or_default(),
        r.end.clone().unwrap_or_default(),
        measurements_text(r),
        r.updated_at.clone(),
    ]
}

pub fn to_csv(rows: &[OpenPlanRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = crate::csv_export::CsvExport::new(b';');
    w.row(HEADERS)?;
    for r in rows {
        w.row(cells(r))?;
    }
    w.finish()
}

pub fn to_xlsx(rows: &[OpenPlanRow]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00 €");
    let ws = wb.add_worksheet().set_name("Plans d'action")?;
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (c, v) in cells(r).iter().enumerate() {
            let c = c as u16;
            match c {
                2 => ws.write_number(row, c, r.contract_id as f64)?,
                18 => ws.write_number_with_format(row, c, r.budget_cents as f64 / 100.0, &money)?,
                20 => ws.write_number(row, c, r.progress as f64)?,
                _ => ws.write_string(row, c, v)?,
            };
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, HEADERS.len() as u16 - 1)?;
    wb.save_to_buffer()
}

async fn plans_csv(State(st): State<AppState>) -> Result<Response, AppError> {
    let rows = load(&st).await?;
    let body = to_csv(&rows).map_err(|e| AppError::Internal(e.into()))?;
    Ok(super::attachment(
        "text/csv; charset=utf-8",
        "plans.csv",
        body,
    ))
}

async fn plans_xlsx(State(st): State<AppState>) -> Result<Response, AppError> {
    let rows = load(&st).await?;
    let body = tokio::task::spawn_blocking(move || to_xlsx(&rows))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(super::attachment(super::XLSX, "plans.xlsx", body))
}

/// Every territory's action plan, one object per action, public fields
/// only (the columns of `/donnees/plans.csv`, described in
/// `docs/open-data.md`).
#[utoipa::path(get, path = "/donnees/plans.json", tag = "open-data",
    responses((status = 200, body = Vec<OpenPlanRow>)))]
async fn plans_json(State(st): State<AppState>) -> Result<Json<Vec<OpenPlanRow>>, ApiError> {
    Ok(Json(load(&st).await?))
}
