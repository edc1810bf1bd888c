//! The professionals' network agenda (issue 13): regional staff publish
//! events for professionals across territories (`/region/agenda/gestion…`);
//! everyone reads `/region/agenda` (by month), the event page
//! (`/region/agenda/{id}`, the territory event page's template and JSON-LD)
//! and `/region/agenda.ics`; each territory's agenda and feed show the
//! regional events that concern it. Regional events are events of the
//! hidden regional owner (`storage::agenda::regional`).

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::{Datelike, Utc};
use chrono_tz::Europe::Paris;
use serde::Deserialize;

use super::admin::{id_of, not_found, EventForm, SessionForm};
use super::public::{event_page_response, session_view, EventHome, SessionView};
use crate::domain::agenda::event::{Audience, EventKind, EventStatus};
use crate::domain::dates;
use crate::storage::agenda::{self as store, Concerns, Event, Place};
use crate::storage::territories;
use crate::web::access::{Access, Routes};
use crate::web::error::AppError;
use crate::web::form::{self, Redisplay};
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::session::SignedIn;
use crate::web::{flash, AppState};

pub fn routes(r: Routes) -> Routes {
    use Access::*;
    r.get("/region/agenda", Public, agenda)
        .get("/region/agenda.ics", Public, super::feeds::region_ics)
        .get("/region/agenda/gestion", Regional, manage_list)
        .get("/region/agenda/gestion/nouveau", Regional, new_form)
        .post("/region/agenda/gestion", Regional, create)
        .get("/region/agenda/gestion/{id}", Regional, edit_form)
        .post("/region/agenda/gestion/{id}", Regional, update)
        .post("/region/agenda/gestion/{id}/seances", Regional, session_add)
        .post("/region/agenda/gestion/{id}/annulation", Regional, cancel)
        .get("/region/agenda/{id}", Public, event_page)
}

// ---------------------------------------------------------------- public

/// Sessions of one month, as the list shows them.
pub struct MonthGroup {
    pub label: String,
    pub sessions: Vec<SessionView>,
}

#[derive(Template)]
#[template(path = "region/agenda.html")]
struct AgendaPage {
    l: Layout,
    months: Vec<MonthGroup>,
    regional: bool,
}

/// The views of regional sessions with their events, linking the regional
/// event page and marked « Événement régional ».
async fn views_of(
    st: &AppState,
    sessions: &[store::Session],
) -> Result<Vec<SessionView>, AppError> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let mut sessions = sessions.to_vec();
    store::fill_seat_counts(&st.db, &mut sessions).await?;
    let events: BTreeMap<i64, Event> = store::regional_events(&st.db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let places: BTreeMap<i64, Place> = store::all_places(&st.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(sessions
        .iter()
        .filter_map(|s| Some(regional_view(events.get(&s.event_id)?, s, &places)))
        .collect())
}

/// A regional session with its event, linking the regional event page and
/// marked « Événement régional » (a save-the-date shows its date and title
/// only).
pub fn regional_view(e: &Event, s: &store::Session, places: &BTreeMap<i64, Place>) -> SessionView {
    let mut v = session_view(e, s, places);
    v.link = Some(format!("/region/agenda/{}", e.id));
    v.regional = true;
    if e.status == "save_the_date" {
        // A save-the-date: the date and the title, details to come.
        v.place = String::new();
        v.commune = String::new();
        v.time_label = "horaires à venir".into();
        v.status_label = "Date à retenir – programme à venir".into();
    }
    v
}

async fn agenda(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let today = super::today_paris();
    let from = today
        .and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_local_timezone(Paris).earliest())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let sessions = store::regional_sessions(&st.db, None, from).await?;
    let views = views_of(&st, &sessions).await?;
    let mut months: Vec<MonthGroup> = Vec::new();
    for (v, s) in views.into_iter().zip(sessions.iter()) {
        let d = s.starts_at.with_timezone(&Paris).date_naive();
        let name = dates::month_name(d.month());
        let mut label: String = name.chars().take(1).flat_map(char::to_uppercase).collect();
        label.push_str(&name.chars().skip(1).collect::<String>());
        let label = format!("{label} {}", d.year());
        match months.last_mut() {
            Some(m) if m.label == label => m.sessions.push(v),
            _ => months.push(MonthGroup {
                label,
                sessions: vec![v],
            }),
        }
    }
    Ok(render(&AgendaPage {
        l: ctx.layout("Agenda du réseau régional"),
        months,
        regional: ctx.user.as_ref().is_some_and(|u| u.reads_everything()),
    }))
}

async fn event_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let e = store::regional_event(&st.db, id_of(&id)?)
        .await
        .map_err(not_found)?;
    event_page_response(
        &st,
        &ctx,
        EventHome::Region,
        e,
        Default::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

// ---------------------------------------------------------------- back office

/// The event form and the territories it concerns, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct RegionalForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    organiser: String,
    #[serde(default)]
    themes: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    programme_to_come: Option<String>,
    #[serde(default)]
    version: String,
    /// Territory ids ticked.
    #[serde(default)]
    territoires: Vec<String>,
    /// « Toute la région ».
    #[serde(default)]
    toute_region: Option<String>,
}

impl RegionalForm {
    fn event(&self) -> EventForm {
        EventForm {
            title: self.title.clone(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            organiser: self.organiser.clone(),
            themes: self.themes.clone(),
            description: self.description.clone(),
            linked_actions: String::new(),
            programme_to_come: self.programme_to_come.clone(),
            action_id: String::new(),
            version: self.version.clone(),
        }
    }

    fn of(e: &Event, c: &Concerns) -> RegionalForm {
        RegionalForm {
            title: e.title.clone(),
            kind: e.kind.clone(),
            status: e.status.clone(),
            organiser: e.organiser.clone(),
            themes: e.themes.clone(),
            description: e.description.clone(),
            programme_to_come: e.programme_to_come.then(|| "oui".into()),
            version: e.version.to_string(),
            territoires: c.territory_ids.iter().map(i64::to_string).collect(),
            toute_region: c.whole_region.then(|| "oui".into()),
        }
    }

    fn parse(&self, known: &BTreeSet<i64>) -> Result<(store::EventInput, Concerns), FormErrors> {
        let parsed = self.event().parse(&[]);
        let mut errors = match &parsed {
            Ok(_) => FormErrors::default(),
            Err(e) => e.clone(),
        };
        let mut ids = Vec::new();
        for t in &self.territoires {
            match t.trim().parse::<i64>().ok().filter(|i| known.contains(i)) {
                Some(i) => ids.push(i),
                None => errors.push("territoires", "Choisissez des territoires de la liste."),
            }
        }
        let whole_region = self.toute_region.is_some();
        if ids.is_empty() && !whole_region {
            errors.push(
                "territoires",
                "Cochez les territoires concernés, ou « toute la région ».",
            );
        }
        match parsed {
            Ok(input) if errors.is_empty() => Ok((
                input,
                Concerns {
                    whole_region,
                    territory_ids: ids,
                },
            )),
            _ => Err(errors),
        }
    }
}

pub struct TerritoryChoice {
    pub id: String,
    pub name: String,
}

pub struct EventLine {
    pub id: i64,
    pub title: String,
    pub status_label: String,
    pub first: String,
}

#[derive(Template)]
#[template(path = "region/agenda_manage.html")]
struct ManagePage {
    l: Layout,
    events: Vec<EventLine>,
}

async fn manage_list(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let mut events = Vec::new();
    for e in store::regional_events(&st.db).await? {
        let sessions = store::sessions(&st.db, e.id).await?;
        events.push(EventLine {
            id: e.id,
            status_label: EventStatus::parse(&e.status)
                .map(|s| s.label())
                .unwrap_or("")
                .to_owned(),
            first: sessions
                .first()
                .map(|s| {
                    dates::long_date_with_weekday(s.starts_at.with_timezone(&Paris).date_naive())
                })
                .unwrap_or_else(|| "sans séance".into()),
            title: e.title,
        });
    }
    Ok(render(&ManagePage {
        l: ctx.layout("Gérer l’agenda régional"),
        events,
    }))
}

#[derive(Template)]
#[template(path = "region/agenda_form.html")]
struct FormPage {
    l: Layout,
    csrf: String,
    id: Option<i64>,
    form: RegionalForm,
    errors: FormErrors,
    /// After a stale save: the stored version.
    stored: Option<RegionalForm>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    audiences: Vec<(&'static str, &'static str)>,
    territories: Vec<TerritoryChoice>,
    places: Vec<Place>,
    sessions: Vec<SessionView>,
    session_form: RegionalSessionForm,
    session_errors: FormErrors,
    cancelled: bool,
}

/// A session of a regional event as typed: the territory session form, and
/// a place typed as text when none of the list fits.
#[derive(Deserialize, Default, Clone)]
pub struct RegionalSessionForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    place_id: String,
    #[serde(default)]
    place_text: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    audience_roles: String,
}

impl RegionalSessionForm {
    fn parse(&self, places: &[Place]) -> Result<(store::SessionInput, String), FormErrors> {
        let base = SessionForm {
            date: self.date.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
            place_id: self.place_id.clone(),
            capacity: self.capacity.clone(),
            audience: self.audience.clone(),
            audience_roles: self.audience_roles.clone(),
        };
        let text = self.place_text.trim().to_owned();
        let mut errors = FormErrors::default();
        if text.chars().count() > 300 {
            errors.push("place_text", "Lieu : 300 caractères au plus.");
        }
        if !text.is_empty() && !self.place_id.trim().is_empty() {
            errors.push(
                "place_text",
                "Choisissez un lieu de la liste ou tapez-le, pas les deux.",
            );
        }
        match base.parse(places) {
            Ok(input) if errors.is_empty() => Ok((input, text)),
            Ok(_) => Err(errors),
            Err(mut e) => {
                for (f, m) in errors.all() {
                    e.push(f, m);
                }
                Err(e)
            }
        }
    }
}

async fn territory_choices(
    st: &AppState,
) -> Result<(Vec<TerritoryChoice>, BTreeSet<i64>), AppError> {
    let mut list = Vec::new();
    let mut ids = BTreeSet::new();
    for t in territories::list(&st.db).await? {
        if let Some(t) = territories::get_by_slug(&st.db, &t.slug).await? {
            ids.insert(t.id);
            list.push(TerritoryChoice {
                id: t.id.to_string(),
                name: t.name,
            });
        }
    }
    Ok((list, ids))
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    st: &AppState,
    ctx: &Ctx,
    id: Option<i64>,
    form: RegionalForm,
    errors: FormErrors,
    session_form: RegionalSessionForm,
    session_errors: FormErrors,
    status: StatusCode,
    stored: Option<RegionalForm>,
) -> Result<Response, AppError> {
    let places = store::all_places(&st.db).await?;
    let by_id: BTreeMap<i64, Place> = places.iter().map(|p| (p.id, p.clone())).collect();
    let (sessions, cancelled) = match id {
        Some(id) => {
            let e = store::regional_event(&st.db, id).await.map_err(not_found)?;
            let list = store::sessions(&st.db, id)
                .await?
                .iter()
                .map(|s| session_view(&e, s, &by_id))
                .collect();
            (list, e.status == "cancelled")
        }
        None => (Vec::new(), false),
    };
    let (territories, _) = territory_choices(st).await?;
    let page = FormPage {
        l: ctx.layout(if id.is_some() {
            "Modifier l’événement régional"
        } else {
            "Nouvel événement régional"
        }),
        csrf: ctx.csrf(),
        id,
        form,
        errors,
        stored,
        kinds: EventKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        statuses: EventStatus::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        audiences: Audience::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        territories,
        places,
        sessions,
        session_form: RegionalSessionForm {
            audience: if session_form.audience.is_empty() {
                "professionals".into()
            } else {
                session_form.audience.clone()
            },
            ..session_form
        },
        session_errors,
        cancelled,
    };
    Ok((status, render(&page)).into_response())
}

async fn new_form(State(st): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let form = RegionalForm {
        kind: "professionals_day".into(),
        status: "save_the_date".into(),
        ..Default::default()
    };
    let (sf, se) = (RegionalSessionForm::default(), FormErrors::default());
    form_page(
        &st,
        &ctx,
        None,
        form,
        FormErrors::default(),
        sf,
        se,
        StatusCode::OK,
        None,
    )
    .await
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Form(f): Form<RegionalForm>,
) -> Result<Response, AppError> {
    let (_, known) = territory_choices(&st).await?;
    form::submit(
        f,
        |f| f.parse(&known),
        async |(input, concerns)| {
            Ok(store::create_regional_event(&st.db, &user.actor(), &input, &concerns).await?)
        },
        form::UNVERSIONED,
        |e| {
            flash::see_other(
                &format!("/region/agenda/gestion/{}", e.id),
                "Événement régional créé : ajoutez ses séances.",
            )
        },
        async |again| {
            let (sf, se) = (RegionalSessionForm::default(), FormErrors::default());
            form_page(
                &st,
                &ctx,
                None,
                again.typed,
                again.errors,
                sf,
                se,
                again.status,
                None,
            )
            .await
        },
    )
    .await
}

async fn edit_form(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let e = store::regional_event(&st.db, id).await.map_err(not_found)?;
    let c = store::concerns(&st.db, id).await?;
    let (sf, se) = (RegionalSessionForm::default(), FormErrors::default());
    form_page(
        &st,
        &ctx,
        Some(id),
        RegionalForm::of(&e, &c),
        FormErrors::default(),
        sf,
        se,
        StatusCode::OK,
        None,
    )
    .await
}

async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Form(f): Form<RegionalForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    store::regional_event(&st.db, id).await.map_err(not_found)?;
    let (_, known) = territory_choices(&st).await?;
    let version = form::version(&f.version);
    form::submit(
        f,
        |f| f.parse(&known),
        async |(input, concerns)| {
            Ok(store::update_regional_event(&st.db, &user.actor(), id, version, &input, &concerns).await?)
        },
        ("title", "Quelqu’un a modifié cet événement pendant que vous le modifiiez : la version enregistrée est résumée ci-dessous, votre saisie est conservée dans le formulaire. Enregistrez à nouveau pour garder la vôtre."),
        |_| flash::see_other(&format!("/region/agenda/gestion/{id}"), "Événement régional enregistré."),
        async |again: Redisplay<RegionalForm>| {
            let mut typed = again.typed;
            let stored = if again.stale {
                let e = store::regional_event(&st.db, id).await.map_err(not_found)?;
                let c = store::concerns(&st.db, id).await?;
                typed.version = e.version.to_string();
                Some(RegionalForm::of(&e, &c))
            } else {
                None
            };
            let (sf, se) = (RegionalSessionForm::default(), FormErrors::default());
            form_page(&st, &ctx, Some(id), typed, again.errors, sf, se, again.status, stored).await
        },
    )
    .await
}

async fn session_add(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Form(f): Form<RegionalSessionForm>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let e = store::regional_event(&st.db, id).await.map_err(not_found)?;
    let places = store::all_places(&st.db).await?;
    form::submit(
        f,
        |f| f.parse(&places),
        async |(input, text)| {
            Ok(store::add_regional_session(&st.db, &user.actor(), id, &input, &text).await?)
        },
        form::UNVERSIONED,
        |_| flash::see_other(&format!("/region/agenda/gestion/{id}"), "Séance ajoutée."),
        async |again| {
            let c = store::concerns(&st.db, id).await?;
            form_page(
                &st,
                &ctx,
                Some(id),
                RegionalForm::of(&e, &c),
                FormErrors::default(),
                again.typed,
                again.errors,
                again.status,
                None,
            )
            .await
        },
    )
    .await
}

/// Cancel a regional event (the confirmation step comes from the route's
/// `/annulation`).
async fn cancel(
    State(st): State<AppState>,
    Path(id): Path<String>,
    SignedIn(user): SignedIn,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    store::cancel_regional_event(&st.db, &user.actor(), id)
        .await
        .map_err(not_found)?;
    Ok(flash::see_other(
        &format!("/region/agenda/gestion/{id}"),
        "Événement annulé.",
    ))
}
