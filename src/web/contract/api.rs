//! The contract and its action plan in the JSON API: read for the public
//! parts (no personal contact data unless the person consented), write
//! (measurements, status and progress) for coordinators and for partners on
//! the actions they lead.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::domain::contract::{theme_label, ActionStatus};
use crate::domain::indicator::MeasurementRaw;
use crate::domain::roles::Role;
use crate::storage::territories::Territory;
use crate::storage::{actions, contract, indicators};
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::{ApiError, ApiErrorBody, AppError};
use crate::web::session::SignedIn;
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    r.api(Access::Public, routes!(list_contracts))
        .api(Access::Public, routes!(get_contract))
        .api(Access::Public, routes!(get_action))
        .api(Access::Public, routes!(contract_indicators))
        .api(Access::Territory(Role::Partner), routes!(add_measurement))
        .api(Access::Territory(Role::Partner), routes!(set_status))
}

async fn territory(st: &AppState, slug: &str) -> Result<Territory, ApiError> {
    Ok(crate::storage::territories::get_by_slug(&st.db, slug)
        .await?
        .ok_or(AppError::NotFound)?)
}

#[derive(Serialize, ToSchema)]
pub struct ContractOut {
    pub id: i64,
    /// cls, asv, clsm, other
    pub kind: String,
    pub title: String,
    /// in_preparation, signed, in_force, ended, renewed
    pub status: String,
    /// YYYY-MM-DD
    pub signed_on: Option<String>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub summary: String,
    pub signatories: Vec<String>,
}

fn contract_out(c: &contract::Contract) -> ContractOut {
    ContractOut {
        id: c.id,
        kind: c.kind.clone(),
        title: c.title.clone(),
        status: c.status.clone(),
        signed_on: c.signed_on.clone(),
        period_start: c.period_start.clone(),
        period_end: c.period_end.clone(),
        summary: c.summary.clone(),
        signatories: c.signatory_list().into_iter().map(str::to_owned).collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/contracts/{territory}", tag = "contract",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = Vec<ContractOut>), (status = 404, description = "Territoire inconnu")))]
async fn list_contracts(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<ContractOut>>, ApiError> {
    let t = territory(&st, &slug).await?;
    Ok(Json(
        contract::list(&st.db, t.id)
            .await?
            .iter()
            .map(contract_out)
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ActionSummary {
    pub id: i64,
    pub code: String,
    pub title: String,
    /// planned, in_progress, done, paused, abandoned
    pub status: String,
    pub progress: i64,
    pub lead_organisation: String,
}

#[derive(Serialize, ToSchema)]
pub struct ObjectiveOut {
    pub code: String,
    pub title: String,
    pub actions: Vec<ActionSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct AxisOut {
    pub code: String,
    pub title: String,
    pub objectives: Vec<ObjectiveOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ContractPlanOut {
    pub contract: ContractOut,
    /// (date YYYY-MM-DD, label)
    pub milestones: Vec<(String, String)>,
    pub axes: Vec<AxisOut>,
}

#[utoipa::path(get, path = "/api/v1/contracts/{territory}/{contract}", tag = "contract",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("contract" = i64, Path, description = "Numéro du contrat")),
    responses((status = 200, body = ContractPlanOut), (status = 404, description = "Contrat inconnu")))]
async fn get_contract(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Json<ContractPlanOut>, ApiError> {
    let t = territory(&st, &slug).await?;
    let c = contract::get(&st.db, t.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = contract::plan(&st.db, c.id).await?;
    let axes = p
        .axes
        .iter()
        .map(|a| AxisOut {
            code: a.code.clone(),
            title: a.title.clone(),
            objectives: p
                .objectives
                .iter()
                .filter(|o| o.axis_id == a.id)
                .map(|o| ObjectiveOut {
                    code: o.code.clone(),
                    title: o.title.clone(),
                    actions: p
                        .actions
                        .iter()
                        .filter(|x| x.objective_id == o.id)
                        .map(|x| ActionSummary {
                            id: x.id,
                            code: x.code.clone(),
                            title: x.title.clone(),
                            status: x.status.clone(),
                            progress: x.progress,
                            lead_organisation: x.lead_org.clone(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let milestones = contract::milestones(&st.db, c.id)
        .await?
        .into_iter()
        .map(|m| (m.happened_on, m.label))
        .collect();
    Ok(Json(ContractPlanOut {
        contract: contract_out(&c),
        milestones,
        axes,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct MeasurementOut {
    pub id: i64,
    /// YYYY-MM-DD
    pub measured_on: String,
    pub value: f64,
    pub source: String,
}

#[derive(Serialize, ToSchema)]
pub struct IndicatorOut {
    pub id: i64,
    /// Code of the action, none for an indicator of the contract.
    pub action: Option<String>,
    /// process, result, impact
    pub kind: String,
    pub label: String,
    pub unit: String,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    pub target_on: Option<String>,
    pub measurements: Vec<MeasurementOut>,
}

#[derive(Serialize, ToSchema)]
pub struct BudgetLineOut {
    pub funder: String,
    pub year: i64,
    pub amount_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StepOut {
    pub due_on: Option<String>,
    pub label: String,
    pub done: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ContactOut {
    pub name: String,
    pub job_title: String,
    pub email: String,
    pub phone: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActionOut {
    pub id: i64,
    pub contract_id: i64,
    pub code: String,
    pub title: String,
    pub findings: String,
    pub aims: String,
    pub description: String,
    pub publics: String,
    pub status: String,
    pub progress: i64,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub lead_organisation: String,
    /// Only when the person agreed to publish their contact.
    pub lead_contact: Option<ContactOut>,
    pub partners: Vec<String>,
    /// Theme labels.
    pub themes: Vec<String>,
    /// `commune:INSEE` or `qpv:CODE`; empty: the whole territory.
    pub scope: Vec<String>,
    pub steps: Vec<StepOut>,
    pub budget: Vec<BudgetLineOut>,
    pub linked_actions: Vec<String>,
    pub indicators: Vec<IndicatorOut>,
    /// Needed to change the status (optimistic concurrency).
    pub version: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn indicator_out(
    i: &indicators::Indicator,
    code: Option<String>,
    ms: &[indicators::Measurement],
) -> IndicatorOut {
    IndicatorOut {
        id: i.id,
        action: code,
        kind: i.kind.clone(),
        label: i.label.clone(),
        unit: i.unit.clone(),
        baseline: i.baseline,
        target: i.target,
        target_on: i.target_on.clone(),
        measurements: ms
            .iter()
            .map(|m| MeasurementOut {
                id: m.id,
                measured_on: m.measured_on.clone(),
                value: m.value,
                source: m.source.clone(),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/contracts/{territory}/actions/{code}", tag = "contract",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("code" = String, Path, description = "Code de l'action (2.1.3)")),
    responses((status = 200, body = ActionOut), (status = 404, description = "Action inconnue")))]
async fn get_action(
    State(st): State<AppState>,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Json<ActionOut>, ApiError> {
    let t = territory(&st, &slug).await?;
    let (c, a) = contract::action_by_code(&st.db, t.id, code.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    let rel = actions::related(&st.db, c.id).await?;
    let plan = contract::plan(&st.db, c.id).await?;
    let inds = crate::evaluation::for_action(&st.db, &c, a.id, super::list::today()).await?;
    Ok(Json(ActionOut {
        lead_contact: a
            .lead_person_id
            .and_then(|p| rel.people.get(&p))
            .filter(|p| p.public_contact)
            .map(|p| ContactOut {
                name: p.full_name.clone(),
                job_title: p.job_title.clone(),
                email: p.email.clone(),
                phone: p.phone.clone(),
            }),
        partners: rel
            .partners_of(a.id)
            .iter()
            .map(|(_, n)| n.clone())
            .collect(),
        themes: rel
            .themes_of(a.id)
            .iter()
            .map(|t| theme_label(t).to_owned())
            .collect(),
        scope: rel
            .scope_of(a.id)
            .iter()
            .map(|(k, c)| format!("{k}:{c}"))
            .collect(),
        steps: rel
            .steps_of(a.id)
            .iter()
            .map(|s| StepOut {
                due_on: s.due_on.clone(),
                label: s.label.clone(),
                done: s.done,
            })
            .collect(),
        budget: rel
            .budget_of(a.id)
            .iter()
            .map(|b| BudgetLineOut {
                funder: b.funder.clone(),
                year: b.year,
                amount_cents: b.amount_cents,
            })
            .collect(),
        linked_actions: rel
            .links_of(a.id)
            .iter()
            .filter_map(|id| plan.actions.iter().find(|x| x.id == *id))
            .map(|x| x.code.clone())
            .collect(),
        indicators: inds
            .iter()
            .map(|(i, ms)| indicator_out(i, Some(a.code.clone()), ms))
            .collect(),
        id: a.id,
        contract_id: c.id,
        code: a.code,
        title: a.title,
        findings: a.findings,
        aims: a.aims,
        description: a.description,
        publics: a.publics,
        status: a.status,
        progress: a.progress,
        period_start: a.period_start,
        period_end: a.period_end,
        lead_organisation: a.lead_org,
        version: a.version,
        updated_at: a.updated_at,
    }))
}

#[utoipa::path(get, path = "/api/v1/contracts/{territory}/{contract}/indicators", tag = "contract",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("contract" = i64, Path, description = "Numéro du contrat")),
    responses((status = 200, body = Vec<IndicatorOut>), (status = 404, description = "Contrat inconnu")))]
async fn contract_indicators(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Json<Vec<IndicatorOut>>, ApiError> {
    let t = territory(&st, &slug).await?;
    let c = contract::get(&st.db, t.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let plan = contract::plan(&st.db, c.id).await?;
    let all = indicators::for_contract(&st.db, c.id).await?;
    let ms =
        crate::evaluation::measurements_of_contract(&st.db, &c, &all, super::list::today()).await?;
    Ok(Json(
        all.iter()
            .map(|i| {
                let code = i
                    .action_id
                    .and_then(|a| plan.actions.iter().find(|x| x.id == a))
                    .map(|x| x.code.clone());
                indicator_out(i, code, ms.get(&i.id).map(Vec::as_slice).unwrap_or(&[]))
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct MeasurementIn {
    /// YYYY-MM-DD or DD/MM/YYYY, between 1900 and 2100 (422 otherwise).
    pub measured_on: String,
    /// A number; « 12,5 » is accepted (422 otherwise).
    pub value: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub comment: String,
}

#[derive(Serialize, ToSchema)]
pub struct FieldErrorsOut {
    pub error: String,
    /// (field, message)
    pub fields: Vec<(String, String)>,
}

fn unprocessable(errs: Vec<(&'static str, String)>) -> ApiError {
    ApiError(AppError::Unprocessable(
        errs.into_iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join(" ; "),
    ))
}

#[utoipa::path(post, path = "/api/v1/contracts/{territory}/indicators/{id}/measurements", tag = "contract",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("id" = i64, Path, description = "Numéro de l'indicateur")),
    request_body = MeasurementIn,
    responses((status = 200, body = MeasurementOut), (status = 422, body = ApiErrorBody, description = "Date ou valeur refusée"),
              (status = 403, description = "Ni coordination ni pilote de l'action"), (status = 404, description = "Indicateur inconnu")),
    security(("session" = [])))]
async fn add_measurement(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_territory, id)): Path<(String, i64)>,
    Json(body): Json<MeasurementIn>,
) -> Result<Json<MeasurementOut>, ApiError> {
    let (c, ind) = indicators::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let ok = match ind.action_id {
        Some(a) => super::fiche::may_edit(&st, &tc, a).await?,
        None => tc.is_coordinator(),
    };
    if !ok {
        return Err(AppError::Forbidden.into());
    }
    let raw = MeasurementRaw {
        measured_on: body.measured_on,
        value: body.value,
        source: body.source,
        comment: body.comment,
    };
    let m = raw.parse().map_err(unprocessable)?;
    if ind.is_computed() {
        return Err(unprocessable(vec![(
            "value",
            "cet indicateur est calculé par Maillage : ses valeurs ne se saisissent pas".into(),
        )]));
    }
    let row = indicators::add_measurement(&st.db, &user.actor(), &c, &ind, &m).await?;
    Ok(Json(MeasurementOut {
        id: row.id,
        measured_on: row.measured_on,
        value: row.value,
        source: row.source,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct StatusIn {
    #[schema(value_type = ActionStatusName)]
    pub status: String,
    /// 0 to 100
    #[schema(minimum = 0, maximum = 100)]
    pub progress: i64,
    /// The `version` read with the action.
    pub version: i64,
}

/// The state of an action, as the API names it.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ActionStatusName {
    Planned,
    InProgress,
    Done,
    Paused,
    Abandoned,
}

#[utoipa::path(post, path = "/api/v1/contracts/{territory}/actions/{id}/status", tag = "contract",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("id" = i64, Path, description = "Numéro de l'action")),
    request_body = StatusIn,
    responses((status = 200, body = ActionSummary), (status = 400, description = "Valeur refusée"),
              (status = 403, description = "Ni coordination ni pilote de l'action"),
              (status = 409, description = "Quelqu'un a modifié l'action entre-temps")),
    security(("session" = [])))]
async fn set_status(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_territory, id)): Path<(String, i64)>,
    Json(body): Json<StatusIn>,
) -> Result<Json<ActionSummary>, ApiError> {
    let (c, a) = actions::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !super::fiche::may_edit(&st, &tc, a.id).await? {
        return Err(AppError::Forbidden.into());
    }
    let status = ActionStatus::parse(&body.status)
        .ok_or_else(|| AppError::BadRequest(format!("status: « {} » inconnu", body.status)))?;
    if !(0..=100).contains(&body.progress) {
        return Err(AppError::BadRequest("progress: entre 0 et 100".into()).into());
    }
    let row = actions::set_status(
        &st.db,
        &user.actor(),
        &c,
        a.id,
        body.version,
        status,
        body.progress,
    )
    .await
    .map_err(|e| match e {
        crate::storage::DbError::Stale => AppError::Conflict(
            "Quelqu'un a modifié l'action entre-temps : relisez-la (version) et recommencez".into(),
        ),
        e => e.into(),
    })?;
    Ok(Json(ActionSummary {
        id: row.id,
        code: row.code,
        title: row.title,
        status: row.status,
        progress: row.progress,
        lead_organisation: row.lead_org,
    }))
}
