//! Contracts and their action plan: the coordinators' back office (list,
//! create, edit with conflict detection, add axes, objectives and actions)
//! and the public, printable pages of a contract and of an action.

pub mod api;
pub mod charts;
pub mod documents;
pub mod fiche;
pub mod list;
pub mod partners;
pub mod proposals;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::domain::contract::{
    parse_date, parse_title, ActionInput, ActionStatus, ContractKind, ContractRaw, ContractStatus,
};
use crate::domain::indicator::{IndicatorKind, IndicatorRaw, MeasurementRaw};
use crate::domain::roles::Role;
use crate::storage::contract::{self, Contract, Plan};
use crate::storage::DbError;
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{paragraphs, render, Ctx, FormErrors, Layout};
use crate::web::public::load_public_territory;
use crate::web::session::SignedIn;
use crate::web::AppState;
use crate::web::{flash, form};

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    let r = r
        .get("/admin/t/{territory}/contrats", coord, admin_list)
        .post("/admin/t/{territory}/contrats", coord, admin_create)
        .get(
            "/admin/t/{territory}/contrats/{contract}",
            coord,
            admin_edit,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}",
            coord,
            admin_save,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/axes",
            coord,
            admin_add_axis,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/objectifs",
            coord,
            admin_add_objective,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/actions",
            coord,
            admin_add_action,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/etapes",
            coord,
            admin_add_milestone,
        )
        .get(
            "/t/{territory}/contrat/{contract}",
            Access::Public,
            public_contract,
        )
        .get(
            "/t/{territory}/actions/{code}",
            Access::Public,
            public_action,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/ordre",
            coord,
            admin_move,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/renumeroter",
            coord,
            admin_renumber,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/renommer",
            coord,
            admin_rename,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/etapes/supprimer",
            coord,
            admin_delete_milestone,
        )
        .post(
            "/admin/t/{territory}/contrats/{contract}/indicateurs",
            coord,
            admin_add_indicator,
        );
    let r = fiche::routes(r);
    let r = partners::routes(r);
    let r = list::routes(r);
    let r = documents::routes(r);
    let r = proposals::routes(r);
    api::routes(r)
}

type Choices = Vec<(&'static str, &'static str)>;

fn kinds() -> Choices {
    ContractKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}
fn statuses() -> Choices {
    ContractStatus::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}
fn action_statuses() -> Choices {
    ActionStatus::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

/// `2024-03-12` → `12/03/2024`.
fn fr_date(d: &Option<String>) -> String {
    match d.as_deref().map(|s| s.split('-').collect::<Vec<_>>()) {
        Some(p) if p.len() == 3 => format!("{}/{}/{}", p[2], p[1], p[0]),
        _ => String::new(),
    }
}

fn raw_of(c: &Contract) -> ContractRaw {
    ContractRaw {
        kind: c.kind.clone(),
        title: c.title.clone(),
        status: c.status.clone(),
        signed_on: c.signed_on.clone().unwrap_or_default(),
        period_start: c.period_start.clone().unwrap_or_default(),
        period_end: c.period_end.clone().unwrap_or_default(),
        summary: c.summary.clone(),
        signatories: c.signatories.clone(),
    }
}

pub struct ActionView {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub status: &'static str,
    pub status_code: String,
    pub lead_org: String,
}
pub struct ObjectiveView {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub actions: Vec<ActionView>,
}
pub struct AxisView {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub objectives: Vec<ObjectiveView>,
}

async fn milestone_rows(st: &AppState, id: i64) -> Result<Vec<(String, String)>, AppError> {
    Ok(milestone_rows_with_ids(st, id)
        .await?
        .into_iter()
        .map(|(_, d, l)| (d, l))
        .collect())
}

async fn milestone_rows_with_ids(
    st: &AppState,
    id: i64,
) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(contract::milestones(&st.db, id)
        .await?
        .into_iter()
        .map(|m| (m.id, fr_date(&Some(m.happened_on)), m.label))
        .collect())
}

/// The French label of a contract status code (for templates).
pub fn status_label_of(code: &str) -> &str {
    ContractStatus::label_of(code)
}

fn status_label(code: &str) -> &'static str {
    ActionStatus::parse(code).map(|s| s.label()).unwrap_or("")
}

fn tree(p: Plan) -> Vec<AxisView> {
    p.axes
        .into_iter()
        .map(|a| AxisView {
            objectives: p
                .objectives
                .iter()
                .filter(|o| o.axis_id == a.id)
                .map(|o| ObjectiveView {
                    id: o.id,
                    code: o.code.clone(),
                    title: o.title.clone(),
                    actions: p
                        .actions
                        .iter()
                        .filter(|x| x.objective_id == o.id)
                        .map(|x| ActionView {
                            id: x.id,
                            code: x.code.clone(),
                            title: x.title.clone(),
                            status: status_label(&x.status),
                            status_code: x.status.clone(),
                            lead_org: x.lead_org.clone(),
                        })
                        .collect(),
                })
                .collect(),
            id: a.id,
            code: a.code,
            title: a.title,
        })
        .collect()
}

// ---------------------------------------------------------------- list, create

#[derive(Template)]
#[template(path = "contract/admin_list.html")]
struct ListPage {
    l: Layout,
    slug: String,
    csrf: String,
    contracts: Vec<(Contract, &'static str, &'static str)>,
    form: ContractRaw,
    errors: FormErrors,
    kinds: Choices,
    statuses: Choices,
}

async fn list_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    form: ContractRaw,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let contracts = contract::list(&st.db, tc.territory.id)
        .await?
        .into_iter()
        .map(|c| {
            let k = ContractKind::parse(&c.kind)
                .map(|k| k.label())
                .unwrap_or("");
            let s = ContractStatus::parse(&c.status)
                .map(|s| s.label())
                .unwrap_or("");
            (c, k, s)
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&ListPage {
            l: ctx.admin_layout("Contrats"),
            slug: tc.territory.slug.clone(),
            csrf: ctx.csrf(),
            contracts,
            form,
            errors,
            kinds: kinds(),
            statuses: statuses(),
        }),
    )
        .into_response())
}

async fn admin_list(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let form = ContractRaw {
        kind: "cls".into(),
        status: "in_preparation".into(),
        ..Default::default()
    };
    list_page(&st, &ctx, &tc, form, FormErrors::default()).await
}

async fn admin_create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Form(form): Form<ContractRaw>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    form::submit(
        form,
        |f| f.parse().map_err(FormErrors),
        async |input| Ok(contract::create(&st.db, &user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |c| {
            let to = format!("/admin/t/{}/contrats/{}", t.slug, c.id);
            flash::see_other(&to, "Contrat créé.")
        },
        async |again| list_page(&st, &ctx, &tc, again.typed, again.errors).await,
    )
    .await
}

// ---------------------------------------------------------------- edit

#[derive(Template)]
#[template(path = "contract/admin_edit.html")]
struct EditPage {
    l: Layout,
    slug: String,
    csrf: String,
    id: i64,
    version: i64,
    form: ContractRaw,
    errors: FormErrors,
    conflict: Option<ContractRaw>,
    milestones: Vec<(i64, String, String)>,
    axes: Vec<AxisView>,
    kinds: Choices,
    statuses: Choices,
    action_statuses: Choices,
    can_edit: bool,
    indicators: Vec<fiche::IndicatorView>,
    indicator_kinds: fiche::Choices,
    indicator_form: IndicatorRaw,
    measurement_form: MeasurementRaw,
    measurement_for: i64,
    edited_for: i64,
    documents: Vec<crate::storage::documents::Document>,
    indicator_action: String,
    upload_action: String,
}

async fn load(st: &AppState, tc: &TerritoryCtx, id: i64) -> Result<Contract, AppError> {
    contract::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[allow(clippy::too_many_arguments)]
async fn edit_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: &Contract,
    version: i64,
    form: ContractRaw,
    errors: FormErrors,
    conflict: Option<ContractRaw>,
    status: StatusCode,
) -> Result<Response, AppError> {
    edit_page_with(
        st,
        ctx,
        tc,
        c,
        (version, form, conflict),
        errors,
        IndicatorForms::default(),
        status,
    )
    .await
}

/// The contract-level indicators with their measurements and charts.
async fn contract_indicators(
    st: &AppState,
    c: &Contract,
) -> Result<Vec<fiche::IndicatorView>, AppError> {
    let all = crate::storage::indicators::for_contract(&st.db, c.id).await?;
    let ms = crate::storage::indicators::measurements_of_contract_level(&st.db, c.id).await?;
    Ok(all
        .iter()
        .filter(|i| i.action_id.is_none())
        .map(|i| fiche::indicator_view(i, ms.get(&i.id).map(Vec::as_slice).unwrap_or(&[])))
        .collect())
}

/// What the indicator forms of the contract page show after a refusal.
#[derive(Default)]
struct IndicatorForms {
    /// The new-indicator form.
    new: IndicatorRaw,
    /// A measurement form, and its indicator.
    measurement: MeasurementRaw,
    measurement_for: i64,
    /// An indicator's definition being changed, and which.
    edited: IndicatorRaw,
    edited_for: i64,
}

/// Re-render the contract page after a refused change of a contract-level
/// indicator's definition.
pub(super) async fn contract_indicator_edit_error(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: &Contract,
    indicator_id: i64,
    raw: IndicatorRaw,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let forms = IndicatorForms {
        edited: raw,
        edited_for: indicator_id,
        ..Default::default()
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    edit_page_with(
        st,
        ctx,
        tc,
        c,
        (c.version, raw_of(c), None),
        errors,
        forms,
        status,
    )
    .await
}

/// Re-render the contract page after a refused measurement of a
/// contract-level indicator.
pub(super) async fn contract_indicator_error(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: &Contract,
    indicator_id: i64,
    raw: MeasurementRaw,
    errors: FormErrors,
) -> Result<Response, AppError> {
    edit_page_with(
        st,
        ctx,
        tc,
        c,
        (c.version, raw_of(c), None),
        errors,
        IndicatorForms {
            measurement: raw,
            measurement_for: indicator_id,
            ..Default::default()
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn edit_page_with(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: &Contract,
    (version, form, conflict): (i64, ContractRaw, Option<ContractRaw>),
    errors: FormErrors,
    forms: IndicatorForms,
    status: StatusCode,
) -> Result<Response, AppError> {
    let axes = tree(contract::plan(&st.db, c.id).await?);
    let milestones = milestone_rows_with_ids(st, c.id).await?;
    let mut indicators = contract_indicators(st, c).await?;
    // A refused change of definition shows what was typed.
    if let Some(v) = indicators.iter_mut().find(|v| v.id == forms.edited_for) {
        v.raw = forms.edited.clone();
    }
    let documents = crate::storage::documents::for_contract(&st.db, c.id)
        .await?
        .into_iter()
        .filter(|d| d.action_id.is_none())
        .collect();
    Ok((
        status,
        render(&EditPage {
            milestones,
            l: ctx.admin_layout(format!("Contrat : {}", c.title)),
            slug: tc.territory.slug.clone(),
            csrf: ctx.csrf(),
            id: c.id,
            version,
            form,
            errors,
            conflict,
            axes,
            kinds: kinds(),
            statuses: statuses(),
            action_statuses: action_statuses(),
            can_edit: tc.is_coordinator(),
            indicators,
            indicator_kinds: IndicatorKind::ALL
                .iter()
                .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
                .collect(),
            indicator_form: forms.new,
            measurement_form: forms.measurement,
            measurement_for: forms.measurement_for,
            edited_for: forms.edited_for,
            documents,
            indicator_action: format!(
                "/admin/t/{}/contrats/{}/indicateurs",
                tc.territory.slug, c.id
            ),
            upload_action: format!("/admin/t/{}/contrats/{}/documents", tc.territory.slug, c.id),
        }),
    )
        .into_response())
}

async fn admin_edit(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let form = raw_of(&c);
    edit_page(
        &st,
        &ctx,
        &tc,
        &c,
        c.version,
        form,
        FormErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct SaveForm {
    /// A string: `serde(flatten)` hands every value over as text.
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    raw: ContractRaw,
}

async fn admin_save(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<SaveForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let c = load(&st, &tc, id).await?;
    let version = form::version(&form.version);
    form::submit(
        form,
        |f| f.raw.parse().map_err(FormErrors),
        async |input| Ok(contract::update(&st.db, &user.actor(), t.id, id, version, &input).await?),
        // The page says it: « Quelqu'un a enregistré une autre version ».
        ("", ""),
        |_| {
            flash::see_other(
                &format!("/admin/t/{}/contrats/{id}", t.slug),
                "Contrat enregistré.",
            )
        },
        async |again| {
            // After a stale save: what was typed in the form, the stored
            // version beside it, and the next save starts from it.
            let (version, conflict, c) = if again.stale {
                let c = load(&st, &tc, id).await?;
                (c.version, Some(raw_of(&c)), c)
            } else {
                (version, None, c)
            };
            let raw = again.typed.raw;
            edit_page(
                &st,
                &ctx,
                &tc,
                &c,
                version,
                raw,
                again.errors,
                conflict,
                again.status,
            )
            .await
        },
    )
    .await
}

// ---------------------------------------------------------------- plan

#[derive(Deserialize)]
struct PlanForm {
    #[serde(default)]
    parent: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    lead_org: String,
}

async fn plan_error(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: &Contract,
    field: &'static str,
    msg: String,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    errors.push(field, msg);
    edit_page(
        st,
        ctx,
        tc,
        c,
        c.version,
        raw_of(c),
        errors,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn back(tc: &TerritoryCtx, id: i64) -> Response {
    Redirect::to(&format!(
        "/admin/t/{}/contrats/{id}#plan",
        tc.territory.slug
    ))
    .into_response()
}

async fn admin_add_axis(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<PlanForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    match parse_title(&f.title) {
        Ok(t) => {
            contract::add_axis(&st.db, &user.actor(), &c, &t).await?;
            Ok(back(&tc, id))
        }
        Err(e) => plan_error(&st, &ctx, &tc, &c, "axis_title", e.0).await,
    }
}

async fn admin_add_objective(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<PlanForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    match parse_title(&f.title) {
        Ok(t) => match contract::add_objective(
            &st.db,
            &user.actor(),
            &c,
            f.parent.trim().parse().unwrap_or(0),
            &t,
        )
        .await
        {
            Ok(_) => Ok(back(&tc, id)),
            Err(DbError::NotFound) => {
                plan_error(
                    &st,
                    &ctx,
                    &tc,
                    &c,
                    "objective_parent",
                    "Choisissez un axe de ce contrat".into(),
                )
                .await
            }
            Err(e) => Err(e.into()),
        },
        Err(e) => plan_error(&st, &ctx, &tc, &c, "objective_title", e.0).await,
    }
}

async fn admin_add_action(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<PlanForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    match ActionInput::parse(&f.title, &f.description, &f.status, &f.lead_org) {
        Ok(a) => match contract::add_action(
            &st.db,
            &user.actor(),
            &c,
            f.parent.trim().parse().unwrap_or(0),
            &a,
        )
        .await
        {
            Ok(_) => Ok(back(&tc, id)),
            Err(DbError::NotFound) => {
                plan_error(
                    &st,
                    &ctx,
                    &tc,
                    &c,
                    "action_parent",
                    "Choisissez un objectif de ce contrat".into(),
                )
                .await
            }
            Err(e) => Err(e.into()),
        },
        Err(errs) => {
            let (field, msg) = errs
                .into_iter()
                .next()
                .unwrap_or(("action_title", String::new()));
            let field = match field {
                "title" => "action_title",
                "description" => "action_description",
                "status" => "action_status",
                _ => "action_lead_org",
            };
            plan_error(&st, &ctx, &tc, &c, field, msg).await
        }
    }
}

#[derive(Deserialize)]
struct MilestoneForm {
    #[serde(default)]
    happened_on: String,
    #[serde(default)]
    label: String,
}

async fn admin_add_milestone(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let date = match parse_date(&f.happened_on, "Date de l'étape") {
        Ok(Some(d)) => d,
        Ok(None) => {
            let msg = "Date de l'étape : ce champ est obligatoire".to_owned();
            return plan_error(&st, &ctx, &tc, &c, "milestone_date", msg).await;
        }
        Err(e) => return plan_error(&st, &ctx, &tc, &c, "milestone_date", e.0).await,
    };
    match parse_title(&f.label) {
        Ok(label) => {
            contract::add_milestone(&st.db, &user.actor(), &c, date, &label).await?;
            Ok(Redirect::to(&format!(
                "/admin/t/{}/contrats/{id}#etapes",
                tc.territory.slug
            ))
            .into_response())
        }
        Err(e) => plan_error(&st, &ctx, &tc, &c, "milestone_label", e.0).await,
    }
}

// ---------------------------------------------------------------- public

#[derive(Template)]
#[template(path = "contract/public.html")]
struct PublicPage {
    l: Layout,
    slug: String,
    c: Contract,
    kind: &'static str,
    status: &'static str,
    signed_on: String,
    period_start: String,
    period_end: String,
    summary: Vec<String>,
    signatories: Vec<String>,
    milestones: Vec<(String, String)>,
    axes: Vec<AxisView>,
    indicators: Vec<fiche::IndicatorView>,
    documents: Vec<crate::storage::documents::Document>,
}

async fn public_contract(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let c = contract::get(&st.db, t.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let milestones = milestone_rows(&st, c.id).await?;
    let axes = tree(contract::plan(&st.db, c.id).await?);
    let indicators = contract_indicators(&st, &c).await?;
    let documents = crate::storage::documents::for_contract(&st.db, c.id)
        .await?
        .into_iter()
        .filter(|d| d.public && d.action_id.is_none())
        .collect();
    Ok(render(&PublicPage {
        l: ctx.public_layout(c.title.clone(), &t.slug, &t.name),
        slug: t.slug.clone(),
        kind: ContractKind::parse(&c.kind)
            .map(|k| k.label())
            .unwrap_or(""),
        status: ContractStatus::parse(&c.status)
            .map(|s| s.label())
            .unwrap_or(""),
        signed_on: fr_date(&c.signed_on),
        period_start: fr_date(&c.period_start),
        period_end: fr_date(&c.period_end),
        summary: paragraphs(&c.summary),
        signatories: c.signatory_list().into_iter().map(str::to_owned).collect(),
        milestones,
        axes,
        indicators,
        documents,
        c,
    }))
}

pub struct StepView {
    pub date: String,
    pub label: String,
    pub done: bool,
}

pub struct LeadPerson {
    pub name: String,
    pub job_title: String,
    pub email: String,
    pub phone: String,
}

#[derive(Template)]
#[template(path = "contract/action.html")]
struct ActionPage {
    l: Layout,
    slug: String,
    c: Contract,
    a: contract::Action,
    status: &'static str,
    description: Vec<String>,
    findings: Vec<String>,
    aims: Vec<String>,
    publics: Vec<String>,
    period: String,
    themes: Vec<String>,
    scope: Vec<String>,
    partners: Vec<String>,
    lead_person: Option<LeadPerson>,
    steps: Vec<StepView>,
    history: Vec<(String, String)>,
    budget: Vec<fiche::BudgetView>,
    budget_total: String,
    indicators: Vec<fiche::IndicatorView>,
    links: Vec<(String, String)>,
    documents: Vec<crate::storage::documents::Document>,
    /// Follow-ups decided in public meetings.
    follow_ups: Vec<crate::storage::participation::Decision>,
    /// Published ideas of inhabitants that led to the action.
    ideas: Vec<crate::storage::participation::Idea>,
    updated: String,
}

async fn public_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((slug, code)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let t = load_public_territory(&st, &slug).await?;
    let (c, a) = contract::action_by_code(&st.db, t.id, code.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    let rel = crate::storage::actions::related(&st.db, c.id).await?;
    let plan = contract::plan(&st.db, c.id).await?;
    let communes = crate::storage::territories::communes(&st.db, t.id).await?;
    let qpvs = crate::storage::territories::qpvs(&st.db, t.id).await?;
    let scope = rel
        .scope_of(a.id)
        .iter()
        .map(|(k, code)| {
            if k == "qpv" {
                let name = qpvs
                    .iter()
                    .find(|q| &q.code == code)
                    .map(|q| q.name.as_str())
                    .unwrap_or(code);
                format!("Quartier prioritaire {name}")
            } else {
                communes
                    .iter()
                    .find(|c| &c.insee_code == code)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| code.clone())
            }
        })
        .collect();
    // Contact data only with the person's consent to publish it.
    let lead_person = a
        .lead_person_id
        .and_then(|p| rel.people.get(&p))
        .filter(|p| p.public_contact)
        .map(|p| LeadPerson {
            name: p.full_name.clone(),
            job_title: p.job_title.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
        });
    let steps = rel
        .steps_of(a.id)
        .iter()
        .map(|s| StepView {
            date: s
                .due_on
                .as_deref()
                .map(crate::plan::fr_date)
                .unwrap_or_default(),
            label: s.label.clone(),
            done: s.done,
        })
        .collect();
    let history = crate::storage::actions::history(&st.db, a.id)
        .await?
        .into_iter()
        .map(|h| {
            (
                crate::domain::dates::paris_date(h.changed_at),
                format!("{} ({} %)", ActionStatus::label_of(&h.status), h.progress),
            )
        })
        .collect();
    let (budget, budget_total) = fiche::budget_view(rel.budget_of(a.id));
    let indicators = crate::storage::indicators::for_action(&st.db, a.id)
        .await?
        .iter()
        .map(|(i, ms)| fiche::indicator_view(i, ms))
        .collect();
    let links = rel
        .links_of(a.id)
        .iter()
        .filter_map(|id| plan.actions.iter().find(|x| x.id == *id))
        .map(|x| (x.code.clone(), x.title.clone()))
        .collect();
    let documents = crate::storage::documents::for_contract(&st.db, c.id)
        .await?
        .into_iter()
        .filter(|d| d.public && d.action_id == Some(a.id))
        .collect();
    let follow_ups =
        crate::storage::participation::public_follow_ups_for_action(&st.db, a.id).await?;
    let ideas = crate::storage::participation::published_ideas_for_action(&st.db, a.id).await?;
    let period = match (&a.period_start, &a.period_end) {
        (Some(s), Some(e)) => format!(
            "du {} au {}",
            crate::plan::fr_date(s),
            crate::plan::fr_date(e)
        ),
        (Some(s), None) => format!("à partir du {}", crate::plan::fr_date(s)),
        (None, Some(e)) => format!("jusqu'au {}", crate::plan::fr_date(e)),
        (None, None) => String::new(),
    };
    Ok(render(&ActionPage {
        l: ctx.public_layout(format!("Action {} : {}", a.code, a.title), &t.slug, &t.name),
        slug: t.slug.clone(),
        status: status_label(&a.status),
        description: paragraphs(&a.description),
        findings: paragraphs(&a.findings),
        aims: paragraphs(&a.aims),
        publics: paragraphs(&a.publics),
        period,
        themes: fiche::theme_labels(rel.themes_of(a.id)),
        scope,
        partners: rel
            .partners_of(a.id)
            .iter()
            .map(|(_, n)| n.clone())
            .collect(),
        lead_person,
        steps,
        history,
        budget,
        budget_total,
        indicators,
        links,
        documents,
        follow_ups,
        ideas,
        updated: crate::domain::dates::paris_date(a.updated_at),
        c,
        a,
    }))
}

// ---------------------------------------------------------------- order, indicators

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    direction: String,
}

async fn admin_move(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<MoveForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let level = match f.level.as_str() {
        "axis" => contract::Level::Axis,
        "objective" => contract::Level::Objective,
        "action" => contract::Level::Action,
        _ => return Err(AppError::BadRequest("Niveau du plan inconnu".into())),
    };
    let item: i64 = f.id.trim().parse().map_err(|_| AppError::NotFound)?;
    // Codes follow the order while the contract is being prepared; once it is
    // signed, they stay as published until the coordinator renumbers.
    let renumber = c.status == ContractStatus::InPreparation.as_str();
    contract::move_item(
        &st.db,
        &user.actor(),
        &c,
        level,
        item,
        f.direction == "up",
        renumber,
    )
    .await?;
    Ok(back(&tc, id))
}

#[derive(Deserialize)]
struct RenameForm {
    /// `axis:ID` or `objective:ID`
    #[serde(default)]
    item: String,
    #[serde(default)]
    title: String,
}

async fn admin_rename(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<RenameForm>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let (level, item) = f.item.split_once(':').unwrap_or(("", ""));
    let level = match level {
        "axis" => contract::Level::Axis,
        "objective" => contract::Level::Objective,
        _ => return Err(AppError::BadRequest("Niveau du plan inconnu".into())),
    };
    let item: i64 = item.trim().parse().map_err(|_| AppError::NotFound)?;
    match parse_title(&f.title) {
        Ok(t) => {
            contract::rename(&st.db, &user.actor(), &c, level, item, &t).await?;
            Ok(back(&tc, id))
        }
        Err(e) => plan_error(&st, &ctx, &tc, &c, "rename_title", e.0).await,
    }
}

#[derive(Deserialize)]
struct MilestoneId {
    #[serde(default)]
    milestone: String,
}

async fn admin_delete_milestone(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(f): Form<MilestoneId>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    let m: i64 = f.milestone.trim().parse().map_err(|_| AppError::NotFound)?;
    contract::delete_milestone(&st.db, &user.actor(), &c, m).await?;
    Ok(Redirect::to(&format!(
        "/admin/t/{}/contrats/{id}#etapes",
        tc.territory.slug
    ))
    .into_response())
}

async fn admin_renumber(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    contract::renumber(&st.db, &user.actor(), &c).await?;
    Ok(back(&tc, id))
}

async fn admin_add_indicator(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Form(raw): Form<IndicatorRaw>,
) -> Result<Response, AppError> {
    let c = load(&st, &tc, id).await?;
    form::submit(
        raw,
        |raw| {
            raw.parse().map_err(|errs| {
                let field = |f| match f {
                    "kind" => "i_kind",
                    "unit" => "i_unit",
                    "baseline" => "i_baseline",
                    "target" => "i_target",
                    "target_on" => "i_target_on",
                    _ => "i_label",
                };
                FormErrors(errs.into_iter().map(|(f, m)| (field(f), m)).collect())
            })
        },
        async |i| {
            Ok(crate::storage::indicators::create(&st.db, &user.actor(), &c, None, &i).await?)
        },
        form::UNVERSIONED,
        |_| {
            let to = format!("/admin/t/{}/contrats/{id}#indicateurs", tc.territory.slug);
            flash::see_other(&to, "Indicateur ajouté.")
        },
        async |again| {
            let forms = IndicatorForms {
                new: again.typed,
                ..Default::default()
            };
            let contract = (c.version, raw_of(&c), None);
            edit_page_with(
                &st,
                &ctx,
                &tc,
                &c,
                contract,
                again.errors,
                forms,
                again.status,
            )
            .await
        },
    )
    .await
}

/// « PDF », « ODT » or « DOCX » for a stored media type.
pub fn doc_kind_label(media_type: &str) -> &'static str {
    crate::domain::document::DocumentKind::from_media_type(media_type)
        .map(|k| k.label())
        .unwrap_or("fichier")
}
