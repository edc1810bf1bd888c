//! Agenda API: series, occurrences expanded for a date range, events and
//! their sessions (public); registrations of a session (partners and
//! coordinators of the territory).

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::today_paris;
use crate::domain::dates::paris_offset;
use crate::domain::roles::Role;
use crate::storage::agenda::{self as store, Event, Registration, Series, Session};
use crate::storage::territories::Territory;
use crate::storage::DbError;
use crate::web::access::{Access, Routes, TerritoryCtx};
use crate::web::error::{ApiError, ApiErrorBody, AppError};
use crate::web::AppState;

pub fn routes(r: Routes) -> Routes {
    r.api(Access::Public, routes!(list_series))
        .api(Access::Public, routes!(occurrences))
        .api(Access::Public, routes!(list_events))
        .api(Access::Public, routes!(event_sessions))
        .api(
            Access::Personal(Role::Partner),
            routes!(session_registrations),
        )
}

async fn territory(st: &AppState, slug: &str) -> Result<Territory, ApiError> {
    Ok(crate::storage::territories::get_by_slug(&st.db, slug)
        .await?
        .ok_or(AppError::NotFound)?)
}

/// A drop-in series with its normalised recurrence.
#[derive(Serialize, ToSchema)]
pub struct SeriesOut {
    #[serde(flatten)]
    pub series: Series,
    /// The rule as used: UNTIL (UTC) always present.
    pub effective_rrule: String,
    /// First occurrence, Europe/Paris time with its UTC offset (RFC 3339).
    pub dtstart: DateTime<FixedOffset>,
    pub description: String,
}

#[utoipa::path(get, path = "/api/v1/agenda/{territory}/series", tag = "agenda",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = [SeriesOut]), (status = 404, body = ApiErrorBody)))]
pub async fn list_series(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<SeriesOut>>, ApiError> {
    let t = territory(&st, &slug).await?;
    let world = super::cached_world(&st, t.id).await?;
    Ok(Json(
        world
            .items
            .iter()
            .map(|(s, schedule, _)| SeriesOut {
                effective_rrule: schedule.effective_rule.clone(),
                dtstart: paris_offset(schedule.dtstart),
                description: crate::domain::agenda::recurrence::describe(schedule),
                series: s.clone(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct RangeQuery {
    /// First day (YYYY-MM-DD), today by default; 1900 to 2100 (422 otherwise).
    #[param(value_type = Option<NaiveDate>)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD), 8 weeks after `from` by default; at most 366
    /// days after `from` (422 otherwise).
    #[param(value_type = Option<NaiveDate>)]
    to: Option<String>,
    /// Only this commune (INSEE code).
    commune: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OccurrenceOut {
    pub series_id: i64,
    pub title: String,
    /// The date the rule gives.
    pub original_date: NaiveDate,
    /// Europe/Paris times with their UTC offset (RFC 3339).
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    /// `scheduled`, `moved` or `cancelled`.
    pub status: String,
    pub note: String,
    pub place_id: i64,
    pub place_name: String,
    pub insee_code: String,
}

#[utoipa::path(get, path = "/api/v1/agenda/{territory}/occurrences", tag = "agenda",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"), RangeQuery),
    responses((status = 200, body = [OccurrenceOut]), (status = 400, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
              (status = 422, body = ApiErrorBody, description = "Date hors de 1900-2100, ou période à l'envers ou de plus de 366 jours")))]
pub async fn occurrences(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Vec<OccurrenceOut>>, ApiError> {
    let t = territory(&st, &slug).await?;
    // Not a date: 400. A date, but outside what the agenda covers: 422.
    let bad = |name: &str, raw: &Option<String>| {
        let is_date = raw
            .as_deref()
            .is_some_and(|v| chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").is_ok());
        ApiError(if is_date {
            AppError::Unprocessable(format!("{name} : date entre 1900 et 2100 attendue"))
        } else {
            AppError::BadRequest(format!("{name} : date attendue AAAA-MM-JJ"))
        })
    };
    // Absent is the default; present but empty is not a date.
    let date = |name: &str, raw: &Option<String>| match raw {
        None => Ok(None),
        Some(v) => crate::domain::dates::parse_input_date(v.trim())
            .map(Some)
            .ok_or_else(|| bad(name, raw)),
    };
    let from = date("from", &q.from)?.unwrap_or_else(today_paris);
    let to = date("to", &q.to)?.unwrap_or(from + Duration::weeks(8));
    if to < from || to - from > Duration::days(366) {
        return Err(ApiError(AppError::Unprocessable(
            "La période doit aller de from à to, sur 366 jours au plus.".into(),
        )));
    }
    let world = super::cached_world(&st, t.id).await?;
    Ok(Json(
        world
            .occurrences(from, to, q.commune.as_deref().filter(|c| !c.is_empty()))
            .into_iter()
            .map(|r| OccurrenceOut {
                series_id: r.series.id,
                title: r.series.title.clone(),
                original_date: r.occ.original_date,
                start: paris_offset(r.occ.start),
                end: paris_offset(r.occ.end),
                status: serde_json::to_value(r.occ.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                note: r.occ.note.clone(),
                place_id: r.place.id,
                place_name: r.place.name.clone(),
                insee_code: r.place.insee_code.clone(),
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    #[serde(flatten)]
    pub event: Event,
    pub sessions: Vec<Session>,
}

#[utoipa::path(get, path = "/api/v1/agenda/{territory}/events", tag = "agenda",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire")),
    responses((status = 200, body = [EventOut]), (status = 404, body = ApiErrorBody)))]
pub async fn list_events(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<EventOut>>, ApiError> {
    let t = territory(&st, &slug).await?;
    let sessions = store::territory_sessions(&st.db, t.id).await?;
    let events = store::list_events(&st.db, t.id).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| EventOut {
                sessions: sessions
                    .iter()
                    .filter(|s| s.event_id == e.id)
                    .cloned()
                    .collect(),
                event: e,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/agenda/{territory}/events/{id}/sessions", tag = "agenda",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("id" = i64, Path, description = "Événement")),
    responses((status = 200, body = [Session]), (status = 404, body = ApiErrorBody)))]
pub async fn event_sessions(
    State(st): State<AppState>,
    Path(params): Path<(String, String)>,
) -> Result<Json<Vec<Session>>, ApiError> {
    let t = territory(&st, &params.0).await?;
    let id: i64 = params.1.parse().map_err(|_| AppError::NotFound)?;
    match store::get_event(&st.db, t.id, id).await {
        Ok(_) => {}
        Err(DbError::NotFound) => return Err(AppError::NotFound.into()),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(store::sessions(&st.db, id).await?))
}

#[utoipa::path(get, path = "/api/v1/agenda/{territory}/sessions/{id}/registrations", tag = "agenda",
    params(("territory" = String, Path, description = "Identifiant d'adresse du territoire"),
           ("id" = i64, Path, description = "Séance")),
    responses((status = 200, body = [Registration]), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn session_registrations(
    State(st): State<AppState>,
    tc: TerritoryCtx,
    Path(params): Path<(String, String)>,
) -> Result<Json<Vec<Registration>>, ApiError> {
    let id: i64 = params.1.parse().map_err(|_| AppError::NotFound)?;
    let s = match store::get_session(&st.db, id).await {
        Ok(s) => s,
        Err(DbError::NotFound) => return Err(AppError::NotFound.into()),
        Err(e) => return Err(e.into()),
    };
    let Ok(e) = store::get_event(&st.db, tc.territory.id, s.event_id).await else {
        return Err(AppError::NotFound.into());
    };
    if !super::admin::reads_registrations(&st, &tc, &e).await? {
        return Err(AppError::Forbidden.into());
    }
    Ok(Json(store::registrations(&st.db, id).await?))
}
