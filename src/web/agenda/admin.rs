//! Back office of the agenda: places, drop-in series (with the RRULE they
//! generate and their exceptions), events and sessions, registrations
//! (by phone, attendance, CSV/XLSX export). Partners and coordinators edit;
//! members read the overview.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::Deserialize;

use super::public::{places_map, session_view, SessionView};
use super::today_paris;
use crate::domain::agenda::event::{
    Access as Walk, Audience, EventKind, EventStatus, NewRegistration,
};
use crate::domain::agenda::recurrence::{
    self, describe, weekday_code, weekday_from_code, Exception, OccurrenceStatus, Pattern,
};
use crate::domain::dates;
use crate::domain::text::bounded;
use crate::storage::agenda::{
    self as store, parse_date, parse_time, ActionChoice, Event, EventInput, NewPlace, Place,
    RegisterError, Registration, Series, SeriesInput, SessionInput,
};
use crate::storage::territories;
use crate::storage::DbError;
use crate::web::access::TerritoryCtx;
use crate::web::error::AppError;
use crate::web::pages::{render, Ctx, FormErrors, Layout};
use crate::web::AppState;
use crate::web::{flash, form};

mod activity;
pub mod attendance;
mod events;
mod registrations;
mod series;
mod slots;
pub use activity::*;
pub use attendance::*;
pub use events::*;
pub use registrations::*;
pub use series::*;
pub use slots::*;

pub(super) fn not_found(e: DbError) -> AppError {
    match e {
        DbError::NotFound => AppError::NotFound,
        e => e.into(),
    }
}

pub(super) fn id_of(s: &str) -> Result<i64, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

// ---------------------------------------------------------------- home

pub struct SeriesLine {
    pub id: i64,
    pub title: String,
    pub place: String,
    pub description: String,
    pub next: String,
}

pub struct EventLine {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub first: String,
}

#[derive(Template)]
#[template(path = "agenda/admin_home.html")]
struct HomePage {
    l: Layout,
    slug: String,
    csrf: String,
    can_edit: bool,
    /// Attendance pages: those who edit, and regional staff (reading).
    sees_attendance: bool,
    /// The receipts of SMS and e-mails: the coordination.
    sees_messages: bool,
    /// No-show rates per commune: the coordination (and regional staff).
    sees_rates: bool,
    places: Vec<Place>,
    series: Vec<SeriesLine>,
    events: Vec<EventLine>,
    communes: Vec<crate::storage::communes::Commune>,
    place_form: PlaceForm,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
pub struct PlaceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    insee_code: String,
    #[serde(default)]
    access_notes: String,
    #[serde(default)]
    phone: String,
}

async fn home_page(
    st: &AppState,
    ctx: &Ctx,
    tc: &TerritoryCtx,
    place_form: PlaceForm,
    errors: FormErrors,
) -> Result<HomePage, AppError> {
    let t = &tc.territory;
    let world = super::series_world(&st.db, t.id).await?;
    let today = today_paris();
    let series = world
        .items
        .iter()
        .map(|(s, schedule, exc)| {
            let next =
                recurrence::expand(schedule, exc, today, today + chrono::Duration::days(366))
                    .into_iter()
                    .find(|o| o.status != OccurrenceStatus::Cancelled)
                    .map(|o| dates::long_date_with_weekday(o.date))
                    .unwrap_or_else(|| "aucune à venir".into());
            SeriesLine {
                id: s.id,
                title: s.title.clone(),
                place: world
                    .places
                    .get(&s.place_id)
                    .map(|p| format!("{} ({})", p.name, p.commune_name))
                    .unwrap_or_default(),
                description: format!(
                    "{}, {}",
                    describe(schedule),
                    recurrence::describe_period(schedule)
                ),
                next,
            }
        })
        .collect();
    let sessions = store::territory_sessions(&st.db, t.id).await?;
    let events = store::list_events(&st.db, t.id)
        .await?
        .into_iter()
        .map(|e| EventLine {
            id: e.id,
            first: sessions
                .iter()
                .find(|s| s.event_id == e.id)
                .map(|s| dates::paris_datetime(s.starts_at))
                .unwrap_or_else(|| "pas encore de séance".into()),
            status: EventStatus::parse(&e.status)
                .map(|s| s.label())
                .unwrap_or("")
                .into(),
            title: e.title,
        })
        .collect();
    Ok(HomePage {
        l: ctx.admin_layout("Agenda et permanences"),
        slug: t.slug.clone(),
        csrf: ctx.csrf(),
        can_edit: tc
            .role
            .is_some_and(|r| r >= crate::domain::roles::Role::Partner)
            || tc.user.is_admin(),
        sees_attendance: tc
            .role
            .is_some_and(|r| r >= crate::domain::roles::Role::Partner)
            || tc.user.is_admin()
            || tc.user.reads_everything(),
        sees_messages: tc.is_coordinator(),
        sees_rates: tc.is_coordinator() || tc.user.reads_everything(),
        places: store::list_places(&st.db, t.id).await?,
        series,
        events,
        communes: territories::communes(&st.db, t.id).await?,
        place_form,
        errors,
    })
}

pub async fn home(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
) -> Result<Response, AppError> {
    Ok(render(
        &home_page(&st, &ctx, &tc, PlaceForm::default(), FormErrors::default()).await?,
    ))
}

pub async fn place_create(
    State(st): State<AppState>,
    ctx: Ctx,
    tc: TerritoryCtx,
    Form(form): Form<PlaceForm>,
) -> Result<Response, AppError> {
    let t = &tc.territory;
    let communes = territories::communes(&st.db, t.id).await?;
    form::submit(
        form,
        |f| {
            place_input(
                &f.name,
                &f.address,
                &f.insee_code,
                &f.access_notes,
                &f.phone,
                &communes,
            )
        },
        async |input| Ok(store::create_place(&st.db, &tc.user.actor(), t.id, &input).await?),
        form::UNVERSIONED,
        |p| {
            flash::see_other(
                &format!("/admin/t/{}/agenda", t.slug),
                &format!("Lieu « {} » créé.", p.name),
            )
        },
        async |again| {
            let page = home_page(&st, &ctx, &tc, again.typed, again.errors).await?;
            Ok((again.status, render(&page)).into_response())
        },
    )
    .await
}

/// A place as typed (the « Lieux » form here, its edit page in `manage.rs`).
pub(super) fn place_input(
    name: &str,
    address: &str,
    insee_code: &str,
    access_notes: &str,
    phone: &str,
    communes: &[crate::storage::communes::Commune],
) -> Result<NewPlace, FormErrors> {
    let mut errors = FormErrors::default();
    if name.trim().is_empty() {
        errors.push("place_name", "Indiquez le nom du lieu.");
    }
    let phone = crate::domain::territory::parse_phone(phone).unwrap_or_else(|e| {
        errors.push("place_phone", format!("Téléphone : {}", e.0));
        String::new()
    });
    if !communes.iter().any(|c| c.insee_code == insee_code) {
        errors.push("insee_code", "Choisissez une commune du territoire.");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewPlace {
        name: name.trim().to_owned(),
        address: address.trim().to_owned(),
        insee_code: insee_code.to_owned(),
        access_notes: access_notes.trim().to_owned(),
        phone,
    })
}
