//! Contracts and their action plan: the coordinators' back office (list,
//! create, edit with conflict detection, add axes, objectives and actions)
//! and the public, printable pages of a contract and of an action.

pub mod api;
pub mod appraisal;
pub mod charts;
pub mod documents;
pub mod fiche;
pub mod list;
pub mod partners;
pub mod proposals;
mod reports;
pub mod reviews;

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
use crate::web::session::SignedIn;
use crate::web::AppState;
use crate::web::{flash, form};

mod plan;
mod public;
use plan::*;
pub use public::*;

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
    let r = reports::routes(r);
    let r = reviews::routes(r);
    let r = appraisal::routes(r);
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
    /// What was typed in a refused plan form.
    draft: plan::PlanDraft,
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
    /// The regional catalogue (id, « label (unit) »).
    shared_choices: fiche::Choices,
    source_choices: fiche::Choices,
    source_ref_choices: fiche::Choices,
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
    let mut ms = crate::storage::indicators::measurements_of_contract_level(&st.db, c.id).await?;
    let own: Vec<_> = all
        .iter()
        .filter(|i| i.action_id.is_none())
        .cloned()
        .collect();
    ms.extend(crate::evaluation::computed_measurements(&st.db, c, &own, list::today()).await?);
    let sources = crate::storage::indicators::sources_of_contract(&st.db, c.id).await?;
    Ok(own
        .iter()
        .map(|i| {
            let mut v = fiche::indicator_view(i, ms.get(&i.id).map(Vec::as_slice).unwrap_or(&[]));
            v.raw.source_ref = crate::evaluation::source_ref_of(&sources, i.id);
            v
        })
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
    /// One of the plan's small forms (add an axis, an objective…).
    plan: plan::PlanDraft,
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
            shared_choices: crate::storage::shared_indicators::choices(&st.db).await?,
            source_choices: fiche::source_choices(),
            source_ref_choices: crate::storage::indicators::source_ref_choices(
                &st.db,
                c.territory_id,
            )
            .await?,
            measurement_form: forms.measurement,
            measurement_for: forms.measurement_for,
            edited_for: forms.edited_for,
            draft: forms.plan,
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
                    "shared" => "i_shared",
                    "source" => "i_source",
                    "source_ref" => "i_source_ref",
                    "period_start" => "i_period_start",
                    "period_end" => "i_period_end",
                    _ => "i_label",
                };
                FormErrors(errs.into_iter().map(|(f, m)| (field(f), m)).collect())
            })
        },
        async |i| {
            crate::storage::indicators::create(&st.db, &user.actor(), &c, None, &i)
                .await
                .map_err(|e| fiche::source_refusal(e, "i_source_ref"))
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
