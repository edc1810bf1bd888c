//! Contracts and their action plan: the coordinators' back office (list,
//! create, edit with conflict detection, add axes, objectives and actions)
//! and the public, printable pages of a contract and of an action.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::domain::contract::{
    parse_date, parse_title, ActionInput, ActionStatus, ContractKind, ContractRaw, ContractStatus,
};
use crate::domain::roles::Role;
use crate::storage::contract::{self, Contract, Plan};
use crate::storage::DbError;
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{paragraphs, render, Ctx, FormErrors, Layout};
use crate::web::public::load_public_territory;
use crate::web::session::SignedIn;
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    let coord = Access::Territory(Role::Coordinator);
    r.get("/admin/t/{territory}/contrats", coord, admin_list)
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
    Ok(contract::milestones(&st.db, id)
        .await?
        .into_iter()
        .map(|m| (fr_date(&Some(m.happened_on)), m.label))
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
    match form.parse() {
        Ok(input) => {
            let c = contract::create(&st.db, &user.actor(), tc.territory.id, &input).await?;
            Ok(
                Redirect::to(&format!("/admin/t/{}/contrats/{}", tc.territory.slug, c.id))
                    .into_response(),
            )
        }
        Err(errs) => list_page(&st, &ctx, &tc, form, FormErrors(errs)).await,
    }
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
    milestones: Vec<(String, String)>,
    axes: Vec<AxisView>,
    kinds: Choices,
    statuses: Choices,
    action_statuses: Choices,
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
    let axes = tree(contract::plan(&st.db, c.id).await?);
    let milestones = milestone_rows(st, c.id).await?;
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
    let c = load(&st, &tc, id).await?;
    let version: i64 = form.version.trim().parse().unwrap_or(0);
    let input = match form.raw.parse() {
        Ok(i) => i,
        Err(errs) => {
            return edit_page(
                &st,
                &ctx,
                &tc,
                &c,
                version,
                form.raw,
                FormErrors(errs),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    match contract::update(&st.db, &user.actor(), tc.territory.id, id, version, &input).await {
        Ok(_) => Ok(
            Redirect::to(&format!("/admin/t/{}/contrats/{id}", tc.territory.slug)).into_response(),
        ),
        Err(DbError::Stale) => {
            // Keep what was typed; the next save starts from the saved version.
            edit_page(
                &st,
                &ctx,
                &tc,
                &c,
                c.version,
                form.raw,
                FormErrors::default(),
                Some(raw_of(&c)),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
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
        c,
    }))
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
    Ok(render(&ActionPage {
        l: ctx.public_layout(format!("Action {} : {}", a.code, a.title), &t.slug, &t.name),
        slug: t.slug.clone(),
        status: status_label(&a.status),
        description: paragraphs(&a.description),
        c,
        a,
    }))
}
