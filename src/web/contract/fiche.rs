//! The fiche action in the back office: the whole form (coordinators, and
//! partners for the actions they lead), its budget lines, indicators and
//! measurements, and its history.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;

use super::charts::Sparkline;
use super::proposals::{propose, ProposalView};
use crate::domain::budget::{amount_input, format_euros, parse_optional_amount, BudgetLineRaw};
use crate::domain::contract::{theme_label, ActionStatus, FicheInput, FicheRaw, THEMES};
use crate::domain::indicator::{format_number, IndicatorKind, IndicatorRaw, MeasurementRaw};
use crate::domain::roles::Role;
use crate::plan::fr_date;
use crate::storage::actions::{self, BudgetLine};
use crate::storage::contract::{Action, Contract};
use crate::storage::indicators::{self, Indicator, Measurement};
use crate::storage::proposals::Change;
use crate::storage::{audit, documents, partners, territories, DbError};
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::SignedIn;
use crate::web::AppState;
use crate::web::{flash, form};

mod action_indicators;
mod budget;
pub use action_indicators::*;
pub use budget::*;

pub fn routes(r: Routes) -> Routes {
    let partner = Access::Territory(Role::Partner);
    let mut r = r
        .get("/admin/t/{territory}/actions/{id}", partner, edit)
        .post("/admin/t/{territory}/actions/{id}", partner, save)
        .get("/static/multiselect.js", Access::Public, multiselect_js);
    for (section, handler) in SECTION_PAGES {
        r = r.get(
            &format!("/admin/t/{{territory}}/actions/{{id}}/{}", section.slug()),
            partner,
            handler,
        );
    }
    r.post(
        "/admin/t/{territory}/actions/{id}/budget",
        partner,
        add_budget,
    )
    .post(
        "/admin/t/{territory}/actions/{id}/budget/montants",
        partner,
        set_budget_execution,
    )
    .post(
        "/admin/t/{territory}/actions/{id}/budget/supprimer",
        partner,
        delete_budget,
    )
    .post(
        "/admin/t/{territory}/actions/{id}/indicateurs",
        partner,
        add_indicator,
    )
    .post(
        "/admin/t/{territory}/indicateurs/{id}/mesures",
        partner,
        add_measurement,
    )
    .post(
        "/admin/t/{territory}/indicateurs/{id}/mesures/supprimer",
        partner,
        delete_measurement,
    )
    .post(
        "/admin/t/{territory}/indicateurs/{id}/supprimer",
        partner,
        delete_indicator,
    )
    .post("/admin/t/{territory}/suites/{id}", partner, follow_up_done)
    .post(
        "/admin/t/{territory}/indicateurs/{id}",
        partner,
        update_indicator,
    )
}

/// The parts of the fiche editor. Each is its own page (a menu at the top
/// links them), and a part's form carries and saves only that part's
/// fields: what is typed in one part is never lost by submitting another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Section {
    #[default]
    Presentation,
    Pilotage,
    Themes,
    Territoire,
    Calendrier,
    Budget,
    Indicateurs,
    Documents,
    Suivi,
    /// The yearly review entries (`super::reviews`).
    Bilan,
}

impl Section {
    pub const ALL: [Section; 10] = [
        Section::Presentation,
        Section::Pilotage,
        Section::Themes,
        Section::Territoire,
        Section::Calendrier,
        Section::Budget,
        Section::Indicateurs,
        Section::Documents,
        Section::Suivi,
        Section::Bilan,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Section::Presentation => "presentation",
            Section::Pilotage => "pilotage",
            Section::Themes => "themes",
            Section::Territoire => "territoire",
            Section::Calendrier => "calendrier",
            Section::Budget => "budget",
            Section::Indicateurs => "indicateurs",
            Section::Documents => "documents",
            Section::Suivi => "suivi",
            Section::Bilan => "bilan",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Section::Presentation => "Présentation",
            Section::Pilotage => "Pilotage et partenaires",
            Section::Themes => "Thèmes et publics",
            Section::Territoire => "Territoire",
            Section::Calendrier => "Calendrier",
            Section::Budget => "Budget",
            Section::Indicateurs => "Indicateurs",
            Section::Documents => "Documents",
            Section::Suivi => "Suivi et historique",
            Section::Bilan => "Bilan annuel",
        }
    }

    pub fn parse(s: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|x| x.slug() == s)
    }

    /// Whether this part holds fields of the fiche form itself.
    pub fn is_fiche(self) -> bool {
        matches!(
            self,
            Section::Presentation
                | Section::Pilotage
                | Section::Themes
                | Section::Territoire
                | Section::Calendrier
        )
    }

    /// The page of this part (the first part is the fiche's own address).
    pub fn url(self, slug: &str, id: i64) -> String {
        match self {
            Section::Presentation => format!("/admin/t/{slug}/actions/{id}"),
            s => format!("/admin/t/{slug}/actions/{id}/{}", s.slug()),
        }
    }

    /// The whole fiche: this part's fields as typed, the others as stored.
    pub fn merge(self, stored: FicheRaw, typed: FicheRaw) -> FicheRaw {
        if !self.is_fiche() {
            return typed;
        }
        let mut f = stored;
        f.version = typed.version;
        match self {
            Section::Presentation => {
                f.code = typed.code;
                f.title = typed.title;
                f.findings = typed.findings;
                f.aims = typed.aims;
                f.description = typed.description;
                f.status = typed.status;
                f.progress = typed.progress;
                f.links = typed.links;
            }
            Section::Pilotage => {
                f.lead_org_id = typed.lead_org_id;
                f.lead_person_id = typed.lead_person_id;
                f.partners = typed.partners;
            }
            Section::Themes => {
                f.publics = typed.publics;
                f.themes = typed.themes;
                f.own_themes = typed.own_themes;
            }
            Section::Territoire => f.scope = typed.scope,
            Section::Calendrier => {
                f.period_start = typed.period_start;
                f.period_end = typed.period_end;
                f.steps = typed.steps;
            }
            _ => {}
        }
        f
    }
}

type SectionHandler = fn(
    State<AppState>,
    Ctx,
    TerritoryCtx,
    Path<(String, i64)>,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response, AppError>> + Send>,
>;

macro_rules! section_page {
    ($name:ident, $section:expr) => {
        fn $name(
            st: State<AppState>,
            ctx: Ctx,
            tc: TerritoryCtx,
            id: Path<(String, i64)>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, AppError>> + Send>>
        {
            Box::pin(show(st, ctx, tc, id, $section))
        }
    };
}
section_page!(show_pilotage, Section::Pilotage);
section_page!(show_themes, Section::Themes);
section_page!(show_territoire, Section::Territoire);
section_page!(show_calendrier, Section::Calendrier);
section_page!(show_budget, Section::Budget);
section_page!(show_indicateurs, Section::Indicateurs);
section_page!(show_documents, Section::Documents);
section_page!(show_suivi, Section::Suivi);
section_page!(show_bilan, Section::Bilan);

/// The parts with their own address (the first is the fiche's).
const SECTION_PAGES: [(Section, SectionHandler); 9] = [
    (Section::Pilotage, show_pilotage),
    (Section::Themes, show_themes),
    (Section::Territoire, show_territoire),
    (Section::Calendrier, show_calendrier),
    (Section::Budget, show_budget),
    (Section::Indicateurs, show_indicateurs),
    (Section::Documents, show_documents),
    (Section::Suivi, show_suivi),
    (Section::Bilan, show_bilan),
];

/// Coordinators edit every action of their territory; a partner account
/// edits the actions whose lead person it is.
pub async fn may_edit(st: &AppState, tc: &TerritoryCtx, action_id: i64) -> Result<bool, AppError> {
    if tc.is_coordinator() {
        return Ok(true);
    }
    if tc.role == Some(Role::Partner) {
        return Ok(actions::leads(&st.db, tc.user.user.id, action_id).await?);
    }
    Ok(false)
}

pub(super) async fn load(
    st: &AppState,
    tc: &TerritoryCtx,
    id: i64,
    writing: bool,
) -> Result<(Contract, Action), AppError> {
    let (c, a) = actions::get(&st.db, tc.territory.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reads_all = tc.user.reads_everything() && !writing;
    if !reads_all && !may_edit(st, tc, a.id).await? {
        return Err(AppError::Forbidden);
    }
    Ok((c, a))
}

pub type Choices = Vec<(String, String)>;

#[derive(Template)]
#[template(path = "contract/fiche_edit.html")]
struct EditPage {
    l: Layout,
    slug: String,
    /// The part shown (`Section::slug`).
    section: &'static str,
    /// The menu of parts: (address, label, shown).
    sections: Vec<(String, &'static str, bool)>,
    /// Where this part's fiche form is sent.
    form_action: String,
    /// Every part's fields in one form: a whole fiche was sent (not from
    /// these pages) and refused, and all that was typed is shown again.
    whole: bool,
    csrf: String,
    c: Contract,
    a: Action,
    version: i64,
    coordinator: bool,
    can_edit: bool,
    form: FicheRaw,
    conflict: Option<FicheRaw>,
    errors: FormErrors,
    statuses: Choices,
    organisations: Choices,
    people: Choices,
    themes: Choices,
    communes: Choices,
    qpvs: Choices,
    budget: Vec<BudgetView>,
    budget_total: String,
    budget_form: BudgetLineRaw,
    execution_form: ExecutionRaw,
    execution_for: i64,
    indicators: Vec<IndicatorView>,
    indicator_kinds: Choices,
    indicator_form: IndicatorRaw,
    /// The regional catalogue (id, « label (unit) »).
    shared_choices: Choices,
    source_choices: Choices,
    source_ref_choices: Choices,
    measurement_form: MeasurementRaw,
    measurement_for: i64,
    edited_for: i64,
    history: Vec<(String, String, String)>,
    /// Titles of the diagnosis findings linked to the action.
    diagnosis: Vec<String>,
    audit: Vec<(String, String, String)>,
    documents: Vec<documents::Document>,
    /// Follow-ups decided by the bodies (all meetings).
    follow_ups: Vec<crate::storage::participation::Decision>,
    /// Published ideas that led to this action.
    ideas: Vec<crate::storage::participation::Idea>,
    /// Changes proposed by the lead partner: pending, then the latest
    /// decisions (with the coordinator's reason).
    proposals: Vec<ProposalView>,
    /// The yearly review entries, a row per year of the contract.
    reviews: super::reviews::ActionYears,
    /// Not used on the fiche (the list page re-shows a refused refusal).
    refused_for: i64,
    reason: String,
    indicator_action: String,
    upload_action: String,
    updated: String,
}

/// The form values of a stored action.
async fn raw_of(st: &AppState, a: &Action) -> Result<FicheRaw, AppError> {
    let rel = actions::related(&st.db, a.contract_id).await?;
    raw_from(st, a, &rel).await
}

/// The form values of a stored action, its lists taken from `rel`.
async fn raw_from(st: &AppState, a: &Action, rel: &actions::Related) -> Result<FicheRaw, AppError> {
    let plan_codes: Vec<(i64, String)> = crate::storage::contract::plan(&st.db, a.contract_id)
        .await?
        .actions
        .into_iter()
        .map(|x| (x.id, x.code))
        .collect();
    let links = rel
        .links_of(a.id)
        .iter()
        .filter_map(|id| {
            plan_codes
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, c)| c.clone())
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(FicheRaw {
        version: a.version.to_string(),
        code: String::new(),
        title: a.title.clone(),
        findings: a.findings.clone(),
        aims: a.aims.clone(),
        description: a.description.clone(),
        publics: a.publics.clone(),
        status: a.status.clone(),
        progress: a.progress.to_string(),
        period_start: a.period_start.as_deref().map(fr_date).unwrap_or_default(),
        period_end: a.period_end.as_deref().map(fr_date).unwrap_or_default(),
        lead_org_id: a.lead_org_id.map(|i| i.to_string()).unwrap_or_default(),
        lead_person_id: a.lead_person_id.map(|i| i.to_string()).unwrap_or_default(),
        partners: rel
            .partners_of(a.id)
            .iter()
            .map(|(i, _)| i.to_string())
            .collect(),
        themes: rel
            .themes_of(a.id)
            .iter()
            .filter(|t| THEMES.iter().any(|(c, _)| c == t))
            .cloned()
            .collect(),
        own_themes: rel
            .themes_of(a.id)
            .iter()
            .filter(|t| !THEMES.iter().any(|(c, _)| c == t))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        scope: rel
            .scope_of(a.id)
            .iter()
            .map(|(k, c)| format!("{k}:{c}"))
            .collect(),
        links,
        steps: rel
            .steps_of(a.id)
            .iter()
            .map(|s| s.step().to_line())
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// How to show the fiche page: what was typed where, and the errors.
#[derive(Default)]
pub(super) struct View {
    /// The part of the fiche to show.
    pub(super) section: Section,
    /// A whole fiche was sent: show every part's fields.
    whole: bool,
    /// The fiche form as typed (`None`: the stored values).
    form: Option<FicheRaw>,
    /// The version the form was built from (`None`: the stored one).
    version: Option<i64>,
    /// The saved version, shown beside the typed one after a conflict.
    conflict: Option<FicheRaw>,
    errors: FormErrors,
    budget: BudgetLineRaw,
    indicator: IndicatorRaw,
    measurement: MeasurementRaw,
    /// The indicator whose measurement form was refused.
    measurement_for: i64,
    /// An indicator's definition as typed, and which one, after a refusal.
    edited: IndicatorRaw,
    edited_for: i64,
    /// A budget line's committed and spent amounts as typed, and which
    /// line, after a refusal.
    execution: ExecutionRaw,
    execution_for: i64,
}

impl View {
    /// A refused form: these errors, status 422.
    pub(super) fn refused(section: Section, errors: FormErrors) -> Self {
        View {
            section,
            errors,
            ..Default::default()
        }
    }
}

pub(super) async fn page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    c: Contract,
    a: Action,
    view: View,
) -> Result<Response, AppError> {
    let t = tc.territory.id;
    let status = if view.conflict.is_some() {
        StatusCode::CONFLICT
    } else if view.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let version = view.version.unwrap_or(a.version);
    let rel = actions::related(&st.db, c.id).await?;
    let form = match view.form {
        Some(f) => f,
        None => raw_from(st, &a, &rel).await?,
    };
    let (conflict, errors) = (view.conflict, view.errors);
    let section = view.section;
    let slug = &tc.territory.slug;
    let orgs = partners::organisations(&st.db, t).await?;
    let people = partners::people(&st.db, t).await?;
    let mut themes: Choices = THEMES
        .iter()
        .map(|(c, l)| (c.to_string(), l.to_string()))
        .collect();
    for own in actions::territory_themes(&st.db, t).await? {
        themes.push((own.clone(), own));
    }
    let (budget, budget_total) = budget_view(rel.budget_of(a.id));
    let sources = indicators::sources_of_contract(&st.db, c.id).await?;
    let mut indicators: Vec<IndicatorView> =
        crate::evaluation::for_action(&st.db, &c, a.id, super::list::today())
            .await?
            .iter()
            .map(|(i, ms)| {
                let mut v = indicator_view(i, ms);
                v.raw.source_ref = crate::evaluation::source_ref_of(&sources, i.id);
                v
            })
            .collect();
    // A refused change of definition shows what was typed.
    if let Some(v) = indicators.iter_mut().find(|v| v.id == view.edited_for) {
        v.raw = view.edited.clone();
    }
    let history = actions::history(&st.db, a.id)
        .await?
        .into_iter()
        .map(|h| {
            (
                crate::domain::dates::paris_datetime(h.changed_at),
                format!("{} ({} %)", ActionStatus::label_of(&h.status), h.progress),
                h.changed_by,
            )
        })
        .collect();
    let audit = audit::for_entity(&st.db, "action", &a.id.to_string(), 50)
        .await?
        .into_iter()
        .map(|e| {
            (
                crate::domain::dates::paris_datetime(e.at),
                e.actor,
                e.details,
            )
        })
        .collect();
    let docs = documents::for_contract(&st.db, c.id)
        .await?
        .into_iter()
        .filter(|d| d.action_id == Some(a.id))
        .collect();
    let can_edit = may_edit(st, tc, a.id).await?;
    let mut decided = 0;
    let proposals = crate::storage::proposals::for_action(&st.db, a.id)
        .await?
        .iter()
        .filter(|p| {
            if p.is_pending() {
                return true;
            }
            decided += 1;
            decided <= 5
        })
        .map(|p| super::proposals::view(p, String::new()))
        .collect();
    let reviews = super::reviews::action_years(st, tc, &c, &a).await?;
    let follow_ups = crate::storage::participation::follow_ups_for_action(&st.db, a.id).await?;
    let ideas = crate::storage::participation::published_ideas_for_action(&st.db, a.id).await?;
    let diagnosis = crate::storage::diagnosis::findings_for_action(&st.db, a.id)
        .await?
        .into_iter()
        .map(|f| f.title)
        .collect();
    Ok((
        status,
        render(&EditPage {
            diagnosis,
            l: ctx.admin_layout(format!(
                "Action {} : {} – {}",
                a.code,
                a.title,
                section.label()
            )),
            slug: tc.territory.slug.clone(),
            section: section.slug(),
            sections: Section::ALL
                .iter()
                .map(|s| (s.url(slug, a.id), s.label(), *s == section))
                .collect(),
            form_action: if view.whole {
                format!("/admin/t/{slug}/actions/{}", a.id)
            } else {
                format!("/admin/t/{slug}/actions/{}?partie={}", a.id, section.slug())
            },
            whole: view.whole,
            csrf: ctx.csrf(),
            version,
            coordinator: tc.is_coordinator(),
            can_edit,
            form,
            conflict,
            errors,
            statuses: ActionStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
                .collect(),
            organisations: orgs
                .iter()
                .map(|o| (o.id.to_string(), o.name.clone()))
                .collect(),
            people: people
                .iter()
                .map(|p| (p.id.to_string(), p.full_name.clone()))
                .collect(),
            themes,
            communes: territories::communes(&st.db, t)
                .await?
                .into_iter()
                .map(|c| (c.insee_code, c.name))
                .collect(),
            qpvs: territories::qpvs(&st.db, t)
                .await?
                .into_iter()
                .map(|q| (q.code, q.name))
                .collect(),
            budget,
            budget_total,
            budget_form: view.budget,
            execution_form: view.execution,
            execution_for: view.execution_for,
            indicators,
            indicator_kinds: IndicatorKind::ALL
                .iter()
                .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
                .collect(),
            indicator_form: view.indicator,
            shared_choices: crate::storage::shared_indicators::choices(&st.db).await?,
            source_choices: source_choices(),
            source_ref_choices: indicators::source_ref_choices(&st.db, t).await?,
            measurement_form: view.measurement,
            measurement_for: view.measurement_for,
            edited_for: view.edited_for,
            history,
            audit,
            documents: docs,
            follow_ups,
            ideas,
            proposals,
            reviews,
            refused_for: 0,
            reason: String::new(),
            indicator_action: format!(
                "/admin/t/{}/actions/{}/indicateurs",
                tc.territory.slug, a.id
            ),
            upload_action: format!("/admin/t/{}/actions/{}/documents", tc.territory.slug, a.id),
            updated: crate::domain::dates::paris_datetime(a.updated_at),
            c,
            a,
        }),
    )
        .into_response())
}

async fn edit(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let (c, a) = load(&st, &tc, id, false).await?;
    page(&st, &ctx, &tc, c, a, View::default()).await
}

async fn show(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Path((_, id)): Path<(String, i64)>,
    section: Section,
) -> Result<Response, AppError> {
    let (c, a) = load(&st, &tc, id, false).await?;
    let view = View {
        section,
        ..Default::default()
    };
    page(&st, &ctx, &tc, c, a, view).await
}

const MULTISELECT_JS: &str = include_str!("../../../static/multiselect.js");

/// The filter box of long checkbox lists (partners, communes), loaded only
/// by the pages that have such lists.
async fn multiselect_js() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        MULTISELECT_JS,
    )
}

/// The scope's shortcuts, expanded: « all » ticks every commune of the
/// territory, « all_qpv » every priority neighbourhood (QPV).
async fn expand_scope(
    st: &AppState,
    territory_id: i64,
    scope: &mut Vec<String>,
) -> Result<(), AppError> {
    let all = scope.iter().any(|s| s == "all");
    let all_qpv = scope.iter().any(|s| s == "all_qpv");
    scope.retain(|s| s != "all" && s != "all_qpv");
    if all {
        for c in territories::communes(&st.db, territory_id).await? {
            scope.push(format!("commune:{}", c.insee_code));
        }
    }
    if all_qpv {
        for q in territories::qpvs(&st.db, territory_id).await? {
            scope.push(format!("qpv:{}", q.code));
        }
    }
    let mut seen = std::collections::HashSet::new();
    scope.retain(|s| seen.insert(s.clone()));
    Ok(())
}

/// Back to a part of the fiche, at `anchor` (`#…` or empty).
fn back(tc: &TerritoryCtx, id: i64, section: Section, anchor: &str) -> Response {
    Redirect::to(&format!("{}{anchor}", section.url(&tc.territory.slug, id))).into_response()
}

#[derive(Deserialize, Default)]
struct PartQuery {
    /// The part of the fiche the form holds (`Section::slug`); none: the
    /// whole fiche.
    #[serde(default)]
    partie: String,
}

async fn save(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    SignedIn(user): SignedIn,
    Path((_, id)): Path<(String, i64)>,
    Query(part): Query<PartQuery>,
    Form(raw): Form<FicheRaw>,
) -> Result<Response, AppError> {
    let (c, a) = load(&st, &tc, id, true).await?;
    let version = form::version(&raw.version);
    // A part's form carries only its fields: the others are the stored ones.
    let part = Section::parse(&part.partie).filter(|s| s.is_fiche());
    let section = part.unwrap_or_default();
    let whole = part.is_none();
    let mut raw = match part {
        Some(s) => s.merge(raw_of(&st, &a).await?, raw),
        None => raw,
    };
    expand_scope(&st, tc.territory.id, &mut raw.scope).await?;
    if !tc.is_coordinator() {
        // Only coordinators renumber.
        raw.code.clear();
    }
    form::submit(
        raw,
        |raw| raw.parse().map_err(FormErrors),
        async |mut input| {
            let lead_proposal = lead_change(&st, &tc, &a, &mut input).await?;
            match actions::save_fiche(&st.db, &user.actor(), &c, id, version, &input).await {
                Ok(_) => {}
                Err(DbError::Conflict(field)) => {
                    let errors = FormErrors(vec![fiche_conflict(&field, &input)]);
                    return Err(form::Failed::Refused(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        errors,
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            if let Some((change, summary)) = lead_proposal {
                propose(&st, &tc, &user, &c, id, change, summary).await?;
            }
            Ok(())
        },
        // The page says it: « Quelqu'un a enregistré une autre version ».
        ("", ""),
        |()| flash::with_message(back(&tc, id, section, ""), "Fiche enregistrée."),
        async |again| {
            let (c, a) = load(&st, &tc, id, true).await?;
            let view = if again.stale {
                // Keep what was typed; the next save starts from the saved version.
                View {
                    section,
                    whole,
                    form: Some(again.typed),
                    conflict: Some(raw_of(&st, &a).await?),
                    ..Default::default()
                }
            } else {
                View {
                    form: Some(again.typed),
                    version: Some(version),
                    whole,
                    ..View::refused(section, again.errors)
                }
            };
            page(&st, &ctx, &tc, c, a, view).await
        },
    )
    .await
}

/// A lead partner's change of lead organisation or person is proposed to
/// the coordination (the change and its summary); the rest of the fiche is
/// saved, so `input` keeps the stored lead. Coordinators change it at once.
async fn lead_change(
    st: &AppState,
    tc: &TerritoryCtx,
    a: &Action,
    input: &mut FicheInput,
) -> Result<Option<(Change, String)>, form::Failed> {
    if tc.is_coordinator()
        || (input.lead_org_id == a.lead_org_id && input.lead_person_id == a.lead_person_id)
    {
        return Ok(None);
    }
    let t = tc.territory.id;
    let orgs = partners::organisations(&st.db, t).await?;
    let people = partners::people(&st.db, t).await?;
    let org_name = |id: Option<i64>| match id {
        None => Some("(aucune)".to_owned()),
        Some(i) => orgs.iter().find(|o| o.id == i).map(|o| o.name.clone()),
    };
    let person_name = |id: Option<i64>| match id {
        None => Some("(aucune)".to_owned()),
        Some(i) => people
            .iter()
            .find(|p| p.id == i)
            .map(|p| p.full_name.clone()),
    };
    let (Some(org), Some(person)) = (
        org_name(input.lead_org_id),
        person_name(input.lead_person_id),
    ) else {
        let (f, msg) = if org_name(input.lead_org_id).is_none() {
            (
                "lead_org_id",
                "Structure pilote : choisissez une structure de l'annuaire des partenaires",
            )
        } else {
            (
                "lead_person_id",
                "Personne pilote : choisissez une personne de l'annuaire des partenaires",
            )
        };
        let errors = FormErrors(vec![(f, msg.to_owned())]);
        return Err(form::Failed::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ));
    };
    let mut words = Vec::new();
    if input.lead_org_id != a.lead_org_id {
        words.push(format!(
            "structure pilote « {org} » au lieu de « {} »",
            org_name(a.lead_org_id).unwrap_or_default()
        ));
    }
    if input.lead_person_id != a.lead_person_id {
        words.push(format!(
            "personne pilote « {person} » au lieu de « {} »",
            person_name(a.lead_person_id).unwrap_or_default()
        ));
    }
    let proposal = (
        Change::Lead {
            lead_org_id: input.lead_org_id,
            lead_person_id: input.lead_person_id,
        },
        format!("Pilotage : {}", words.join(" ; ")),
    );
    input.lead_org_id = a.lead_org_id;
    input.lead_person_id = a.lead_person_id;
    Ok(Some(proposal))
}

/// The message for a reference the storage refused (`DbError::Conflict`).
fn fiche_conflict(field: &str, input: &FicheInput) -> (&'static str, String) {
    match field {
        "lead_org_id" => (
            "lead_org_id",
            "Structure pilote : choisissez une structure de l'annuaire des partenaires".into(),
        ),
        "lead_person_id" => (
            "lead_person_id",
            "Personne pilote : choisissez une personne de l'annuaire des partenaires".into(),
        ),
        "partners" => (
            "partners",
            "Partenaires : une structure choisie n'est pas dans l'annuaire du territoire".into(),
        ),
        "scope" => (
            "scope",
            "Territoire de l'action : une commune ou un QPV n'est pas dans le territoire".into(),
        ),
        "code" => (
            "code",
            format!(
                "Code : « {} » est déjà utilisé dans ce contrat",
                input.code.clone().unwrap_or_default()
            ),
        ),
        l if l.starts_with("links:") => (
            "links",
            format!(
                "Actions liées : aucune autre action ne porte le code « {} » dans ce contrat",
                &l[6..]
            ),
        ),
        _ => (
            "title",
            "Enregistrement refusé : une valeur entre en conflit avec une autre".into(),
        ),
    }
}

/// « départ 10, cible 150 personnes au 31/12/2026 » (or « sans cible »).
fn target_words(
    baseline: Option<f64>,
    target: Option<f64>,
    on: Option<String>,
    unit: &str,
) -> String {
    let mut parts = Vec::new();
    if let Some(b) = baseline {
        parts.push(format!("départ {}", format_number(b)));
    }
    match target {
        Some(t) => parts.push(format!(
            "cible {}{}{}",
            format_number(t),
            if unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            },
            on.map(|d| format!(" au {d}")).unwrap_or_default()
        )),
        None => parts.push("sans cible".to_owned()),
    }
    parts.join(", ")
}

fn prefixed(prefix: &str, field: &str) -> &'static str {
    match (prefix, field) {
        ("b", "funder") => "b_funder",
        ("b", "year") => "b_year",
        ("b", "amount") => "b_amount",
        ("b", "note") => "b_note",
        ("b", "committed") => "b_committed",
        ("b", "spent") => "b_spent",
        ("x", "committed") => "x_committed",
        ("x", _) => "x_spent",
        ("b", _) => "b_funder_id",
        ("i", "kind") => "i_kind",
        ("i", "unit") => "i_unit",
        ("i", "baseline") => "i_baseline",
        ("i", "target") => "i_target",
        ("i", "target_on") => "i_target_on",
        ("i", "shared") => "i_shared",
        ("e", "shared") => "e_shared",
        ("i", "source") => "i_source",
        ("e", "source") => "e_source",
        ("i", "source_ref") => "i_source_ref",
        ("e", "source_ref") => "e_source_ref",
        ("i", "period_start") => "i_period_start",
        ("e", "period_start") => "e_period_start",
        ("i", "period_end") => "i_period_end",
        ("e", "period_end") => "e_period_end",
        ("i", _) => "i_label",
        ("e", "kind") => "e_kind",
        ("e", "unit") => "e_unit",
        ("e", "baseline") => "e_baseline",
        ("e", "target") => "e_target",
        ("e", "target_on") => "e_target_on",
        ("e", _) => "e_label",
        ("m", "measured_on") => "m_measured_on",
        ("m", "source") => "m_source",
        ("m", "comment") => "m_comment",
        _ => "m_value",
    }
}

/// Labels of an action's themes (for public pages): the fixed list in its
/// order, then the territory's own themes.
pub fn theme_labels(themes: &[String]) -> Vec<String> {
    let mut sorted: Vec<&String> = themes.iter().collect();
    sorted.sort_by_key(|t| {
        THEMES
            .iter()
            .position(|(c, _)| c == t)
            .unwrap_or(usize::MAX)
    });
    sorted
        .into_iter()
        .map(|t| theme_label(t).to_owned())
        .collect()
}
