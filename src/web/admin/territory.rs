//! Creating a territory (admin), its back-office home, presentation and
//! contact, and its perimeter built from the official commune list.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{history_rows, HistoryRow};
use crate::domain::dates;
use crate::domain::roles::Role;
use crate::domain::territory::ProfileInput;
use crate::storage::communes::{self, Epci, Qpv};
use crate::storage::territories::{self, Territory};
use crate::storage::{audit, DbError};
use crate::territory_setup::{self, capital, PerimeterError, PerimeterInput};
use crate::web::access::TerritoryCtx;
use crate::web::error::AppError;
use crate::web::pages::{render, thousands, Ctx, FormErrors, Layout};
use crate::web::public::commune_detail;
use crate::web::session::SignedIn;
use crate::web::AppState;

const KINDS: [(&str, &str); 3] = [
    ("epci", "Intercommunalité (EPCI)"),
    ("commune", "Commune"),
    ("other", "Autre (département, pays…)"),
];

#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    kind: String,
}

#[derive(Template)]
#[template(path = "admin/territory_new.html")]
struct NewPage {
    l: Layout,
    csrf: String,
    form: NewForm,
    kinds: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
}

pub async fn new_form(ctx: Ctx) -> Response {
    render(&NewPage {
        l: ctx.admin_layout("Créer un territoire"),
        csrf: ctx.csrf(),
        form: NewForm {
            kind: "epci".into(),
            ..Default::default()
        },
        kinds: KINDS.to_vec(),
        errors: FormErrors::default(),
    })
}

pub async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Form(form): Form<NewForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    match territory_setup::new_territory(&form.name, &form.slug, &form.kind) {
        Ok(new) => match territories::create(&st.db, &user.actor(), &new).await {
            Ok(t) => {
                return Ok(Redirect::to(&format!("/admin/t/{}/perimetre", t.slug)).into_response())
            }
            Err(DbError::Conflict(_)) => {
                errors.push("slug", territory_setup::slug_taken(&new.slug))
            }
            Err(e) => return Err(e.into()),
        },
        Err(fields) => {
            for (field, message) in fields {
                errors.push(field, message);
            }
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&NewPage {
            l: ctx.admin_layout("Créer un territoire"),
            csrf: ctx.csrf(),
            form,
            kinds: KINDS.to_vec(),
            errors,
        }),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin/territory.html")]
struct DashboardPage {
    l: Layout,
    t: Territory,
    role_label: Option<&'static str>,
    read_only: bool,
    coordinator: bool,
    detail: String,
    updated: String,
    history: Vec<HistoryRow>,
    /// (id, title) of the territory's contracts, for their plan lists.
    contracts: Vec<(i64, String)>,
    /// (id, code, title) of the actions this account leads.
    led: Vec<(i64, String, String)>,
    partner_or_more: bool,
    /// For coordinators.
    todo: Option<Todo>,
}

/// The « À faire » of a coordinator: what waits, this week, what is late.
pub struct Todo {
    pub waiting: crate::storage::todo::Waiting,
    /// Event sessions of the next seven days: event id, title, when.
    pub sessions: Vec<(i64, String, String)>,
    /// Drop-ins of the next seven days: when, where.
    pub permanences: Vec<(String, String)>,
    /// Late actions: id, code, title.
    pub late: Vec<(i64, String, String)>,
    /// Indicators without a measurement this year: label, action id and code.
    pub stale: Vec<(String, Option<i64>, String)>,
    pub year: i32,
}

impl Todo {
    pub fn nothing(&self) -> bool {
        self.waiting == Default::default()
            && self.sessions.is_empty()
            && self.permanences.is_empty()
            && self.late.is_empty()
            && self.stale.is_empty()
    }
}

async fn todo(st: &AppState, t: &Territory) -> Result<Todo, AppError> {
    use chrono::Datelike;
    let now = chrono::Utc::now();
    let today = crate::web::agenda::today_paris();
    let waiting = crate::storage::todo::waiting(&st.db, t.id, now).await?;
    let sessions =
        crate::storage::todo::sessions_between(&st.db, t.id, now, now + chrono::Duration::days(7))
            .await?
            .into_iter()
            .map(|s| (s.event_id, s.title, dates::paris_datetime(s.starts_at)))
            .collect();
    let world = crate::web::agenda::series_world(&st.db, t.id).await?;
    let permanences = world
        .occurrences(today, today + chrono::Duration::days(6), None)
        .iter()
        .filter(|r| !r.cancelled())
        .map(|r| {
            (
                format!(
                    "{}, {}",
                    dates::long_date_with_weekday(r.occ.date),
                    crate::domain::agenda::recurrence::short_time(r.occ.start.time())
                ),
                format!("{} – {}", r.place.commune_name, r.place.name),
            )
        })
        .collect();
    let mut late = Vec::new();
    for c in crate::storage::contract::list(&st.db, t.id).await? {
        let plan = crate::plan::FullPlan::load(&st.db, c).await?;
        for a in &plan.plan.actions {
            if crate::plan::is_late(a, &plan.related, today) {
                late.push((a.id, a.code.clone(), a.title.clone()));
            }
        }
    }
    let since = format!("{}-01-01", today.year());
    let stale = crate::storage::todo::indicators_without_measurement(&st.db, t.id, &since)
        .await?
        .into_iter()
        .map(|i| (i.label, i.action_id, i.action_code.unwrap_or_default()))
        .collect();
    Ok(Todo {
        waiting,
        sessions,
        permanences,
        late,
        stale,
        year: today.year(),
    })
}

pub async fn dashboard(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    let t = tc.territory.clone();
    let communes = territories::communes(&st.db, t.id).await?;
    let population = communes.iter().filter_map(|c| c.population).sum();
    let sees_history = tc.is_coordinator() || tc.user.reads_everything();
    let history = if sees_history {
        history_rows(audit::for_territory(&st.db, t.id, 10).await?)
    } else {
        Vec::new()
    };
    let contracts: Vec<(i64, String)> = crate::storage::contract::list(&st.db, t.id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.title))
        .collect();
    let mut led = Vec::new();
    for id in crate::storage::actions::led_by(&st.db, t.id, tc.user.user.id).await? {
        if let Some((_, a)) = crate::storage::actions::get(&st.db, t.id, id).await? {
            led.push((a.id, a.code, a.title));
        }
    }
    let todo = if tc.is_coordinator() {
        Some(todo(&st, &t).await?)
    } else {
        None
    };
    Ok(render(&DashboardPage {
        todo,
        contracts,
        led,
        partner_or_more: tc.role.is_some_and(|r| r >= Role::Partner) || tc.user.reads_everything(),
        l: ctx.admin_layout(t.name.clone()),
        role_label: tc.role.map(Role::label),
        read_only: tc.role.is_none() && !tc.user.is_admin(),
        coordinator: tc.is_coordinator(),
        detail: commune_detail(communes.len() as i64, population),
        updated: dates::paris_datetime(t.updated_at),
        history,
        t,
    }))
}

#[derive(Template)]
#[template(path = "admin/presentation.html")]
struct PresentationPage {
    l: Layout,
    slug: String,
    csrf: String,
    version: i64,
    form: ProfileInput,
    errors: FormErrors,
    saved: bool,
    /// The saved version, shown beside the user's when both edited at once.
    conflict: Option<ProfileInput>,
    history: Vec<HistoryRow>,
}

fn input_of(t: &Territory) -> ProfileInput {
    ProfileInput {
        name: t.name.clone(),
        presentation: t.presentation.clone(),
        contact_name: t.contact_name.clone(),
        contact_email: t.contact_email.clone(),
        contact_phone: t.contact_phone.clone(),
        contact_address: t.contact_address.clone(),
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    enregistre: Option<String>,
}

pub async fn presentation_form(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let history =
        history_rows(audit::for_entity(&st.db, "territory", &t.id.to_string(), 20).await?);
    Ok(render(&PresentationPage {
        l: ctx.admin_layout("Présentation et contact"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        version: t.version,
        form: input_of(t),
        errors: FormErrors::default(),
        saved: q.enregistre.is_some(),
        conflict: None,
        history,
    }))
}

#[derive(Deserialize)]
pub struct PresentationForm {
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    profile: ProfileInput,
}

pub async fn presentation_save(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<PresentationForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let version: i64 = f
        .version
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("version manquante".into()))?;
    let mut errors = FormErrors::default();
    let mut conflict = None;
    let mut shown_version = version;
    match f.profile.parse() {
        Ok(profile) => {
            match territories::update_profile(&st.db, &tc.user.actor(), t.id, version, &profile)
                .await
            {
                Ok(_) => {
                    return Ok(Redirect::to(&format!(
                        "/admin/t/{}/presentation?enregistre=1",
                        t.slug
                    ))
                    .into_response())
                }
                Err(DbError::Stale) => {
                    let current = territories::get(&st.db, t.id).await?;
                    shown_version = current.version;
                    conflict = Some(input_of(&current));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(field_errors) => {
            for (field, msg) in field_errors {
                errors.push(field, capital(&msg));
            }
        }
    }
    let history =
        history_rows(audit::for_entity(&st.db, "territory", &t.id.to_string(), 20).await?);
    let status = if conflict.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&PresentationPage {
            l: ctx.admin_layout("Présentation et contact"),
            slug: t.slug.clone(),
            csrf: ctx.csrf(),
            version: shown_version,
            form: f.profile,
            errors,
            saved: false,
            conflict,
            history,
        }),
    )
        .into_response())
}

pub struct CommuneRow {
    pub name: String,
    pub code: String,
    pub population: String,
}

#[derive(Template)]
#[template(path = "admin/perimeter.html")]
struct PerimeterPage {
    l: Layout,
    slug: String,
    csrf: String,
    communes: Vec<CommuneRow>,
    qpvs: Vec<Qpv>,
    detail: String,
    epci_name: Option<String>,
    q: String,
    epcis: Vec<Epci>,
    codes: String,
    errors: FormErrors,
    saved: bool,
}

#[derive(Deserialize)]
pub struct PerimeterQuery {
    q: Option<String>,
    enregistre: Option<String>,
}

async fn perimeter_page(
    st: &AppState,
    ctx: &Ctx,
    t: &Territory,
    q: String,
    codes: String,
    errors: FormErrors,
    saved: bool,
) -> Result<Response, AppError> {
    let communes = territories::communes(&st.db, t.id).await?;
    let qpvs = territories::qpvs(&st.db, t.id).await?;
    let population = communes.iter().filter_map(|c| c.population).sum();
    let epci_name = match &t.epci_siren {
        Some(s) => communes::get_epci(&st.db, s).await?.map(|e| e.name),
        None => None,
    };
    let epcis = if q.trim().is_empty() {
        Vec::new()
    } else {
        communes::search_epcis(&st.db, &q, 20).await?
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PerimeterPage {
        l: ctx.admin_layout("Périmètre"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        detail: commune_detail(communes.len() as i64, population),
        communes: communes
            .into_iter()
            .map(|c| CommuneRow {
                population: c.population.map(thousands).unwrap_or_default(),
                name: c.name,
                code: c.insee_code,
            })
            .collect(),
        qpvs,
        epci_name,
        q,
        epcis,
        codes,
        errors,
        saved,
    };
    Ok((status, render(&page)).into_response())
}

pub async fn perimeter_form(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Query(q): Query<PerimeterQuery>,
) -> Result<Response, AppError> {
    let saved = q.enregistre.is_some();
    perimeter_page(
        &st,
        &ctx,
        &tc.territory,
        q.q.unwrap_or_default(),
        String::new(),
        FormErrors::default(),
        saved,
    )
    .await
}

#[derive(Deserialize)]
pub struct PerimeterForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    siren: String,
    #[serde(default)]
    codes: String,
}

pub async fn perimeter_save(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(f): Form<PerimeterForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let mut errors = FormErrors::default();
    let actor = tc.user.actor();
    let input = if f.mode == "epci" {
        PerimeterInput::Epci(&f.siren)
    } else {
        PerimeterInput::Communes(&f.codes)
    };
    match territory_setup::perimeter(&st.db, &input).await {
        Ok(p) => {
            territories::set_communes(&st.db, &actor, t.id, p.epci_siren.as_deref(), &p.codes)
                .await?
        }
        Err(PerimeterError::Db(e)) => return Err(e.into()),
        Err(e) => {
            let (field, typed) = match input {
                PerimeterInput::Epci(_) => ("q", String::new()),
                PerimeterInput::Communes(_) => ("codes", f.codes.clone()),
            };
            errors.push(field, e.to_string());
            return perimeter_page(&st, &ctx, t, String::new(), typed, errors, false).await;
        }
    }
    Ok(Redirect::to(&format!("/admin/t/{}/perimetre?enregistre=1", t.slug)).into_response())
}
