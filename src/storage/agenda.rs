//! Agenda storage: places, drop-in series and their exceptions, events,
//! sessions, registrations (with the waiting list) and daily view counts.
//!
//! Calendar dates are stored as `YYYY-MM-DD` text and wall-clock times as
//! `HH:MM` text on both backends; instants (session start/end) as timestamps.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit::Actor;
use super::{Db, DbError, DbResult};
use crate::domain::agenda::event::{open_seats, NewRegistration, RegistrationStatus};
use crate::domain::agenda::recurrence::{Exception, ExceptionKind, Schedule, ScheduleInput};
use crate::domain::Invalid;
use crate::{audit, db_run};

pub fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
pub fn fmt_time(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}
/// A date typed in a form or a query (years 1900 to 2100 only).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::parse_form_date(s)
}
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

// ---------------------------------------------------------------- places

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Place {
    pub id: i64,
    pub territory_id: i64,
    pub name: String,
    pub address: String,
    pub insee_code: String,
    /// Name of the commune (joined).
    pub commune_name: String,
    pub access_notes: String,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewPlace {
    pub name: String,
    pub address: String,
    pub insee_code: String,
    pub access_notes: String,
}

const PLACE_COLS: &str = "p.id, p.territory_id, p.name, p.address, p.insee_code, \
    COALESCE(c.name, p.insee_code) AS commune_name, p.access_notes, p.version";

pub async fn create_place(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    p: &NewPlace,
) -> DbResult<Place> {
    let now = Utc::now();
    let id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO places (territory_id, name, address, insee_code, access_notes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(territory_id)
        .bind(&p.name)
        .bind(&p.address)
        .bind(&p.insee_code)
        .bind(&p.access_notes)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "place", id, "create", format!("Lieu « {} »", p.name))?;
        tx.commit().await?;
        id
    });
    get_place(db, territory_id, id).await
}

pub async fn get_place(db: &Db, territory_id: i64, id: i64) -> DbResult<Place> {
    let sql = format!(
        "SELECT {PLACE_COLS} FROM places p LEFT JOIN communes c ON c.insee_code = p.insee_code \
         WHERE p.id = $1 AND p.territory_id = $2"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Place>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

pub async fn list_places(db: &Db, territory_id: i64) -> DbResult<Vec<Place>> {
    let sql = format!(
        "SELECT {PLACE_COLS} FROM places p LEFT JOIN communes c ON c.insee_code = p.insee_code \
         WHERE p.territory_id = $1 ORDER BY commune_name, p.name"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Place>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

/// Change a place (name, address, commune, access notes).
pub async fn update_place(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    expected_version: i64,
    p: &NewPlace,
) -> DbResult<Place> {
    let done = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE places SET name = $1, address = $2, insee_code = $3, access_notes = $4, \
             version = version + 1, updated_at = $5 WHERE id = $6 AND territory_id = $7 AND version = $8",
        )
        .bind(&p.name)
        .bind(&p.address)
        .bind(&p.insee_code)
        .bind(&p.access_notes)
        .bind(Utc::now())
        .bind(id)
        .bind(territory_id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            audit!(tx, actor, Some(territory_id), "place", id, "update", format!("Lieu « {} » modifié", p.name))?;
        }
        tx.commit().await?;
        n == 1
    });
    if !done {
        get_place(db, territory_id, id).await?;
        return Err(DbError::Stale);
    }
    get_place(db, territory_id, id).await
}

/// How many series, sessions and moved dates use a place.
pub async fn place_uses(db: &Db, territory_id: i64, id: i64) -> DbResult<i64> {
    get_place(db, territory_id, id).await?;
    let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM dropin_series WHERE place_id = $1) \
         + (SELECT COUNT(*) FROM event_sessions WHERE place_id = $1) \
         + (SELECT COUNT(*) FROM dropin_exceptions WHERE place_id = $1)",
    )
    .bind(id)
    .fetch_one(pool)
    .await?);
    Ok(n)
}

/// Remove a place nothing uses (`Conflict("place_used")` otherwise: the
/// history of the series and sessions held there is kept).
pub async fn delete_place(db: &Db, actor: &Actor, territory_id: i64, id: i64) -> DbResult<()> {
    let place = get_place(db, territory_id, id).await?;
    if place_uses(db, territory_id, id).await? > 0 {
        return Err(DbError::Conflict("place_used".into()));
    }
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM places WHERE id = $1 AND territory_id = $2")
            .bind(id)
            .bind(territory_id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "place", id, "delete", format!("Lieu « {} » supprimé", place.name))?;
        tx.commit().await?;
    });
    Ok(())
}

// ---------------------------------------------------------------- series

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Series {
    pub id: i64,
    pub territory_id: i64,
    pub title: String,
    /// Names of the mediators, one per line.
    pub mediators: String,
    pub place_id: i64,
    /// `YYYY-MM-DD`
    pub first_date: String,
    pub end_date: Option<String>,
    /// `HH:MM`, Europe/Paris
    pub start_time: String,
    pub end_time: String,
    /// RFC 5545 RRULE as entered (without `RRULE:`).
    pub rrule: String,
    pub skip_holidays: bool,
    /// `walk_in` or `appointment`.
    pub access: String,
    pub services: String,
    pub version: i64,
}

/// A series as typed, parsed and validated.
#[derive(Debug, Clone)]
pub struct SeriesInput {
    pub title: String,
    pub mediators: String,
    pub place_id: i64,
    pub first_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub rrule: String,
    pub skip_holidays: bool,
    pub access: String,
    pub services: String,
}

impl SeriesInput {
    /// Check the recurrence (ends, yields something, slot in order).
    pub fn schedule(&self) -> Result<Schedule, Invalid> {
        Schedule::new(&ScheduleInput {
            first_date: self.first_date,
            end_date: self.end_date,
            start_time: self.start_time,
            end_time: self.end_time,
            rule: &self.rrule,
            skip_holidays: self.skip_holidays,
        })
    }
}

impl Series {
    pub fn schedule(&self) -> Result<Schedule, Invalid> {
        let bad = || Invalid::new("série enregistrée illisible");
        Schedule::new(&ScheduleInput {
            first_date: parse_date(&self.first_date).ok_or_else(bad)?,
            end_date: self.end_date.as_deref().and_then(parse_date),
            start_time: parse_time(&self.start_time).ok_or_else(bad)?,
            end_time: parse_time(&self.end_time).ok_or_else(bad)?,
            rule: &self.rrule,
            skip_holidays: self.skip_holidays,
        })
    }
}

const SERIES_COLS: &str = "id, territory_id, title, mediators, place_id, first_date, end_date, \
    start_time, end_time, rrule, skip_holidays, access, services, version";

async fn check_place(db: &Db, territory_id: i64, place_id: i64) -> DbResult<()> {
    match get_place(db, territory_id, place_id).await {
        Ok(_) => Ok(()),
        Err(DbError::NotFound) => Err(DbError::Conflict("place".into())),
        Err(e) => Err(e),
    }
}

pub async fn create_series(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    s: &SeriesInput,
) -> DbResult<Series> {
    let schedule = s
        .schedule()
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    check_place(db, territory_id, s.place_id).await?;
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO dropin_series (territory_id, title, mediators, place_id, first_date, end_date, start_time, \
         end_time, rrule, skip_holidays, access, services, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING {SERIES_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Series>(&sql)
            .bind(territory_id)
            .bind(&s.title)
            .bind(&s.mediators)
            .bind(s.place_id)
            .bind(fmt_date(s.first_date))
            .bind(s.end_date.map(fmt_date))
            .bind(fmt_time(s.start_time))
            .bind(fmt_time(s.end_time))
            .bind(&schedule.rule)
            .bind(s.skip_holidays)
            .bind(&s.access)
            .bind(&s.services)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "dropin_series", row.id, "create",
            format!("Permanence « {} » ({})", row.title, schedule.rule))?;
        tx.commit().await?;
        row
    }))
}

pub async fn update_series(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    expected_version: i64,
    s: &SeriesInput,
) -> DbResult<Series> {
    let schedule = s
        .schedule()
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    check_place(db, territory_id, s.place_id).await?;
    let sql = format!(
        "UPDATE dropin_series SET title = $1, mediators = $2, place_id = $3, first_date = $4, end_date = $5, \
         start_time = $6, end_time = $7, rrule = $8, skip_holidays = $9, access = $10, services = $11, \
         version = version + 1, updated_at = $12 \
         WHERE id = $13 AND territory_id = $14 AND version = $15 RETURNING {SERIES_COLS}"
    );
    let row = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Series>(&sql)
            .bind(&s.title)
            .bind(&s.mediators)
            .bind(s.place_id)
            .bind(fmt_date(s.first_date))
            .bind(s.end_date.map(fmt_date))
            .bind(fmt_time(s.start_time))
            .bind(fmt_time(s.end_time))
            .bind(&schedule.rule)
            .bind(s.skip_holidays)
            .bind(&s.access)
            .bind(&s.services)
            .bind(Utc::now())
            .bind(id)
            .bind(territory_id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = &row {
            audit!(tx, actor, Some(territory_id), "dropin_series", id, "update",
                format!("Permanence « {} » modifiée", r.title))?;
        }
        tx.commit().await?;
        row
    });
    match row {
        Some(r) => Ok(r),
        None => {
            get_series(db, territory_id, id).await?;
            Err(DbError::Stale)
        }
    }
}

pub async fn get_series(db: &Db, territory_id: i64, id: i64) -> DbResult<Series> {
    let sql =
        format!("SELECT {SERIES_COLS} FROM dropin_series WHERE id = $1 AND territory_id = $2");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Series>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

pub async fn list_series(db: &Db, territory_id: i64) -> DbResult<Vec<Series>> {
    let sql = format!(
        "SELECT {SERIES_COLS} FROM dropin_series WHERE territory_id = $1 ORDER BY title, id"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Series>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

/// What ending a series did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesEnd {
    /// The series now ends on this day; its earlier dates stay.
    EndedOn(NaiveDate),
    /// It had no date up to that day: removed.
    Removed,
}

/// End a series after `last_day` (the dates up to it stay, as history), or
/// remove it when it had none yet.
pub async fn end_series(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    last_day: NaiveDate,
) -> DbResult<SeriesEnd> {
    let s = get_series(db, territory_id, id).await?;
    let ended = Schedule::new(&ScheduleInput {
        first_date: parse_date(&s.first_date).ok_or(DbError::NotFound)?,
        end_date: Some(
            s.end_date
                .as_deref()
                .and_then(parse_date)
                .map_or(last_day, |e| e.min(last_day)),
        ),
        start_time: parse_time(&s.start_time).ok_or(DbError::NotFound)?,
        end_time: parse_time(&s.end_time).ok_or(DbError::NotFound)?,
        rule: &s.rrule,
        skip_holidays: s.skip_holidays,
    })
    .ok()
    .filter(|sc| sc.first_date() <= last_day);
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let out = match &ended {
            Some(sc) => {
                let end = sc.last_date().min(last_day);
                sqlx::query(
                    "UPDATE dropin_series SET end_date = $1, version = version + 1, updated_at = $2 \
                     WHERE id = $3 AND territory_id = $4",
                )
                .bind(fmt_date(end))
                .bind(Utc::now())
                .bind(id)
                .bind(territory_id)
                .execute(&mut *tx)
                .await?;
                audit!(tx, actor, Some(territory_id), "dropin_series", id, "end",
                    format!("Permanence « {} » arrêtée après le {}", s.title, crate::domain::dates::short_date(end)))?;
                SeriesEnd::EndedOn(end)
            }
            None => {
                sqlx::query("DELETE FROM dropin_exceptions WHERE series_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM dropin_series WHERE id = $1 AND territory_id = $2")
                    .bind(id)
                    .bind(territory_id)
                    .execute(&mut *tx)
                    .await?;
                audit!(tx, actor, Some(territory_id), "dropin_series", id, "delete",
                    format!("Permanence « {} » supprimée (aucune date passée)", s.title))?;
                SeriesEnd::Removed
            }
        };
        tx.commit().await?;
        out
    }))
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ExceptionRow {
    series_id: i64,
    original_date: String,
    kind: String,
    new_date: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    place_id: Option<i64>,
    note: String,
}

impl ExceptionRow {
    fn into_domain(self) -> Option<(i64, Exception)> {
        let original_date = parse_date(&self.original_date)?;
        let kind = match self.kind.as_str() {
            "cancelled" => ExceptionKind::Cancelled,
            "held" => ExceptionKind::Held,
            _ => ExceptionKind::Moved {
                date: parse_date(self.new_date.as_deref()?)?,
                start_time: parse_time(self.start_time.as_deref()?)?,
                end_time: parse_time(self.end_time.as_deref()?)?,
                place_id: self.place_id,
            },
        };
        Some((
            self.series_id,
            Exception {
                original_date,
                kind,
                note: self.note,
            },
        ))
    }
}

/// Cancel or move one occurrence (replacing any earlier change to it).
/// The date must be one the series really has.
pub async fn set_exception(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    e: &Exception,
) -> DbResult<()> {
    let series = get_series(db, territory_id, series_id).await?;
    let schedule = series
        .schedule()
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    let known = match e.kind {
        ExceptionKind::Held => schedule.holiday_dates().contains(&e.original_date),
        _ => schedule.dates().contains(&e.original_date),
    };
    if !known {
        return Err(DbError::Conflict("occurrence".into()));
    }
    let (kind, new_date, st, et, place) = match &e.kind {
        ExceptionKind::Cancelled => ("cancelled", None, None, None, None),
        ExceptionKind::Held => ("held", None, None, None, None),
        ExceptionKind::Moved {
            date,
            start_time,
            end_time,
            place_id,
        } => {
            if let Some(p) = place_id {
                check_place(db, territory_id, *p).await?;
            }
            (
                "moved",
                Some(fmt_date(*date)),
                Some(fmt_time(*start_time)),
                Some(fmt_time(*end_time)),
                *place_id,
            )
        }
    };
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM dropin_exceptions WHERE series_id = $1 AND original_date = $2")
            .bind(series_id)
            .bind(fmt_date(e.original_date))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO dropin_exceptions (series_id, original_date, kind, new_date, start_time, end_time, place_id, note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(series_id)
        .bind(fmt_date(e.original_date))
        .bind(kind)
        .bind(new_date)
        .bind(st)
        .bind(et)
        .bind(place)
        .bind(&e.note)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        let what = match kind {
            "cancelled" => "annulée",
            "held" => "maintenue malgré le jour férié",
            _ => "déplacée",
        };
        audit!(tx, actor, Some(territory_id), "dropin_series", series_id, kind,
            format!("Permanence du {} : {what}", crate::domain::dates::short_date(e.original_date)))?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn remove_exception(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    original_date: NaiveDate,
) -> DbResult<()> {
    get_series(db, territory_id, series_id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM dropin_exceptions WHERE series_id = $1 AND original_date = $2")
            .bind(series_id)
            .bind(fmt_date(original_date))
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "dropin_series", series_id, "restore",
            format!("Permanence du {} rétablie", crate::domain::dates::short_date(original_date)))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Exceptions of every series of a territory, by series id.
pub async fn exceptions(db: &Db, territory_id: i64) -> DbResult<Vec<(i64, Exception)>> {
    let rows = db_run!(db, pool => sqlx::query_as::<_, ExceptionRow>(
        "SELECT e.series_id, e.original_date, e.kind, e.new_date, e.start_time, e.end_time, e.place_id, e.note \
         FROM dropin_exceptions e JOIN dropin_series s ON s.id = e.series_id \
         WHERE s.territory_id = $1 ORDER BY e.series_id, e.original_date",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?);
    Ok(rows
        .into_iter()
        .filter_map(ExceptionRow::into_domain)
        .collect())
}

// ---------------------------------------------------------------- events

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub territory_id: i64,
    pub title: String,
    /// `workshop`, `forum`, `public_meeting`, `training`, `professionals_day`.
    pub kind: String,
    /// `save_the_date`, `confirmed`, `postponed`, `cancelled`.
    pub status: String,
    pub organiser: String,
    /// Themes, one per line.
    pub themes: String,
    pub description: String,
    pub linked_actions: String,
    pub programme_to_come: bool,
    pub version: i64,
}

impl Event {
    pub fn theme_list(&self) -> Vec<&str> {
        self.themes
            .lines()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct EventInput {
    pub title: String,
    pub kind: String,
    pub status: String,
    pub organiser: String,
    pub themes: String,
    pub description: String,
    pub linked_actions: String,
    pub programme_to_come: bool,
}

const EVENT_COLS: &str = "id, territory_id, title, kind, status, organiser, themes, description, \
    linked_actions, programme_to_come, version";

pub async fn create_event(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    e: &EventInput,
) -> DbResult<Event> {
    let sql = format!(
        "INSERT INTO events (territory_id, title, kind, status, organiser, themes, description, linked_actions, \
         programme_to_come, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         RETURNING {EVENT_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Event>(&sql)
            .bind(territory_id)
            .bind(&e.title)
            .bind(&e.kind)
            .bind(&e.status)
            .bind(&e.organiser)
            .bind(&e.themes)
            .bind(&e.description)
            .bind(&e.linked_actions)
            .bind(e.programme_to_come)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "event", row.id, "create", format!("Événement « {} »", row.title))?;
        tx.commit().await?;
        row
    }))
}

pub async fn update_event(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    expected_version: i64,
    e: &EventInput,
) -> DbResult<Event> {
    let sql = format!(
        "UPDATE events SET title = $1, kind = $2, status = $3, organiser = $4, themes = $5, description = $6, \
         linked_actions = $7, programme_to_come = $8, version = version + 1, updated_at = $9 \
         WHERE id = $10 AND territory_id = $11 AND version = $12 RETURNING {EVENT_COLS}"
    );
    let row = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Event>(&sql)
            .bind(&e.title)
            .bind(&e.kind)
            .bind(&e.status)
            .bind(&e.organiser)
            .bind(&e.themes)
            .bind(&e.description)
            .bind(&e.linked_actions)
            .bind(e.programme_to_come)
            .bind(Utc::now())
            .bind(id)
            .bind(territory_id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = &row {
            audit!(tx, actor, Some(territory_id), "event", id, "update", format!("Événement « {} » modifié", r.title))?;
        }
        tx.commit().await?;
        row
    });
    match row {
        Some(r) => Ok(r),
        None => {
            get_event(db, territory_id, id).await?;
            Err(DbError::Stale)
        }
    }
}

pub async fn get_event(db: &Db, territory_id: i64, id: i64) -> DbResult<Event> {
    let sql = format!("SELECT {EVENT_COLS} FROM events WHERE id = $1 AND territory_id = $2");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Event>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

pub async fn list_events(db: &Db, territory_id: i64) -> DbResult<Vec<Event>> {
    let sql = format!("SELECT {EVENT_COLS} FROM events WHERE territory_id = $1 ORDER BY id");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Event>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    pub event_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub place_id: Option<i64>,
    /// Seats; no limit when absent.
    pub capacity: Option<i64>,
    /// `public`, `professionals` or `roles`.
    pub audience: String,
    /// Named professional roles when `audience` is `roles`, one per line.
    pub audience_roles: String,
    pub cancelled: bool,
    /// Seats taken by confirmed registrations.
    pub taken: i64,
    /// People on the waiting list.
    pub waiting: i64,
}

#[derive(Debug, Clone)]
pub struct SessionInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub place_id: Option<i64>,
    pub capacity: Option<i64>,
    pub audience: String,
    pub audience_roles: String,
}

const SESSION_SELECT: &str = "SELECT s.id, s.event_id, s.starts_at, s.ends_at, s.place_id, s.capacity, s.audience, \
    s.audience_roles, s.cancelled, \
    CAST(COALESCE((SELECT SUM(r.party_size) FROM registrations r WHERE r.session_id = s.id AND r.status = 'confirmed'), 0) AS BIGINT) AS taken, \
    CAST(COALESCE((SELECT SUM(r.party_size) FROM registrations r WHERE r.session_id = s.id AND r.status = 'waiting'), 0) AS BIGINT) AS waiting \
    FROM event_sessions s";

pub async fn add_session(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    event_id: i64,
    s: &SessionInput,
) -> DbResult<Session> {
    crate::domain::agenda::event::check_session(s.starts_at, s.ends_at, s.capacity)
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    get_event(db, territory_id, event_id).await?;
    if let Some(p) = s.place_id {
        check_place(db, territory_id, p).await?;
    }
    let id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO event_sessions (event_id, starts_at, ends_at, place_id, capacity, audience, audience_roles, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(event_id)
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(s.place_id)
        .bind(s.capacity)
        .bind(&s.audience)
        .bind(&s.audience_roles)
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "event", event_id, "session", format!("Séance du {}", s.starts_at))?;
        tx.commit().await?;
        id
    });
    get_session(db, id).await
}

pub async fn get_session(db: &Db, id: i64) -> DbResult<Session> {
    let sql = format!("{SESSION_SELECT} WHERE s.id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Session>(&sql).bind(id).fetch_one(pool).await?))
}

pub async fn sessions(db: &Db, event_id: i64) -> DbResult<Vec<Session>> {
    let sql = format!("{SESSION_SELECT} WHERE s.event_id = $1 ORDER BY s.starts_at, s.id");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Session>(&sql).bind(event_id).fetch_all(pool).await?),
    )
}

/// Every session of a territory's events (for the agenda), in time order.
pub async fn territory_sessions(db: &Db, territory_id: i64) -> DbResult<Vec<Session>> {
    let sql = format!(
        "{SESSION_SELECT} JOIN events e ON e.id = s.event_id WHERE e.territory_id = $1 ORDER BY s.starts_at, s.id"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Session>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

/// What the public agenda asks for.
#[derive(Debug, Clone, Default)]
pub struct AgendaFilter {
    pub from: DateTime<Utc>,
    /// Sessions starting before this instant (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// Sessions at a place of this commune.
    pub insee_code: Option<String>,
    /// `public`, `professionals` or `roles`.
    pub audience: Option<String>,
    /// Events with this theme among their lines.
    pub theme: Option<String>,
}

/// Push the WHERE clause of [`agenda_sessions`] (same text on both backends).
macro_rules! agenda_where {
    ($qb:expr, $territory_id:expr, $f:expr) => {{
        $qb.push(" WHERE e.territory_id = ")
            .push_bind($territory_id);
        $qb.push(" AND s.starts_at >= ").push_bind($f.from);
        if let Some(until) = $f.until {
            $qb.push(" AND s.starts_at < ").push_bind(until);
        }
        if let Some(code) = &$f.insee_code {
            $qb.push(" AND s.place_id IN (SELECT id FROM places WHERE insee_code = ")
                .push_bind(code.clone())
                .push(")");
        }
        if let Some(a) = &$f.audience {
            $qb.push(" AND s.audience = ").push_bind(a.clone());
        }
        if let Some(theme) = &$f.theme {
            // Themes are stored one per line: match a whole line.
            let pattern = format!(
                "%\n{}\n%",
                theme
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            $qb.push(" AND (")
                .push_bind("\n")
                .push(" || e.themes || ")
                .push_bind("\n")
                .push(") LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\'");
        }
    }};
}

/// The sessions of the public agenda, filtered in SQL, in date order, at
/// most `limit` (without seat counts, see [`fill_seat_counts`]), and how many
/// match in all.
pub async fn agenda_sessions(
    db: &Db,
    territory_id: i64,
    f: &AgendaFilter,
    limit: i64,
) -> DbResult<(Vec<Session>, i64)> {
    Ok(db_run!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT s.id, s.event_id, s.starts_at, s.ends_at, s.place_id, s.capacity, s.audience, \
             s.audience_roles, s.cancelled, CAST(0 AS BIGINT) AS taken, CAST(0 AS BIGINT) AS waiting \
             FROM event_sessions s JOIN events e ON e.id = s.event_id",
        );
        agenda_where!(qb, territory_id, f);
        qb.push(" ORDER BY s.starts_at, s.id LIMIT ").push_bind(limit);
        let sessions: Vec<Session> = qb.build_query_as().fetch_all(pool).await?;
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT COUNT(*) FROM event_sessions s JOIN events e ON e.id = s.event_id",
        );
        agenda_where!(qb, territory_id, f);
        let (total,): (i64,) = qb.build_query_as().fetch_one(pool).await?;
        (sessions, total)
    }))
}

/// Some events of a territory, by id.
pub async fn events_by_ids(db: &Db, territory_id: i64, ids: &[i64]) -> DbResult<Vec<Event>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(db_run!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {EVENT_COLS} FROM events WHERE territory_id = "
        ));
        qb.push_bind(territory_id).push(" AND id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build_query_as().fetch_all(pool).await?
    }))
}

/// Every theme used by a territory's events, sorted, once each.
pub async fn event_themes(db: &Db, territory_id: i64) -> DbResult<Vec<String>> {
    let rows: Vec<String> = db_run!(db, pool => sqlx::query_scalar(
        "SELECT themes FROM events WHERE territory_id = $1 AND themes <> ''",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?);
    let mut themes: Vec<String> = rows
        .iter()
        .flat_map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty()))
        .map(str::to_owned)
        .collect();
    themes.sort();
    themes.dedup();
    Ok(themes)
}

/// Set `taken` and `waiting` of these sessions, in one grouped query.
pub async fn fill_seat_counts(db: &Db, sessions: &mut [Session]) -> DbResult<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, String, i64)> = db_run!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT session_id, status, CAST(SUM(party_size) AS BIGINT) FROM registrations \
             WHERE status IN ('confirmed', 'waiting') AND session_id IN (",
        );
        let mut ids = qb.separated(", ");
        for s in sessions.iter() {
            ids.push_bind(s.id);
        }
        qb.push(") GROUP BY session_id, status");
        qb.build_query_as().fetch_all(pool).await?
    });
    let mut counts: HashMap<i64, (i64, i64)> = HashMap::new();
    for (id, status, n) in rows {
        let c = counts.entry(id).or_default();
        if status == "confirmed" {
            c.0 = n;
        } else {
            c.1 = n;
        }
    }
    for s in sessions {
        let (taken, waiting) = counts.get(&s.id).copied().unwrap_or_default();
        s.taken = taken;
        s.waiting = waiting;
    }
    Ok(())
}

pub async fn cancel_session(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    session_id: i64,
) -> DbResult<()> {
    let s = get_session(db, session_id).await?;
    get_event(db, territory_id, s.event_id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE event_sessions SET cancelled = $1, seats_version = seats_version + 1 WHERE id = $2")
            .bind(true)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "event", s.event_id, "session_cancel", format!("Séance {session_id} annulée"))?;
        tx.commit().await?;
    });
    Ok(())
}

// ---------------------------------------------------------------- registrations

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Registration {
    pub id: i64,
    pub session_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub party_size: i64,
    /// `confirmed`, `waiting` or `cancelled`.
    pub status: String,
    /// `public` or the staff member who took it by phone.
    pub registered_by: String,
    pub attended: Option<bool>,
    pub created_at: DateTime<Utc>,
}

impl Registration {
    pub fn status(&self) -> RegistrationStatus {
        RegistrationStatus::parse(&self.status).unwrap_or(RegistrationStatus::Cancelled)
    }
}

const REG_COLS: &str =
    "id, session_id, name, email, phone, party_size, status, registered_by, attended, created_at";

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("Cette séance est annulée : les inscriptions sont fermées.")]
    SessionCancelled,
    #[error("Cette séance est passée.")]
    SessionPast,
    #[error("Le groupe dépasse le nombre total de places de la séance.")]
    PartyTooLarge,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for RegisterError {
    fn from(e: sqlx::Error) -> Self {
        RegisterError::Db(e.into())
    }
}

/// Register for a session: confirmed while seats remain, else on the waiting
/// list. The first statement of the transaction bumps the session's
/// `seats_version`, which takes the write lock (SQLite) or the row lock
/// (PostgreSQL): concurrent registrations for one session run one after the
/// other, so the last seat is given once. A repeated `submission_key` (double
/// submission of one form) returns the first registration, with no token.
/// Returns the registration and the cancel token (to put in the link).
pub async fn register(
    db: &Db,
    session_id: i64,
    r: &NewRegistration,
    submission_key: Option<&str>,
    registered_by: &str,
) -> Result<(Registration, Option<String>), RegisterError> {
    let token = crate::tokens::random_token();
    let token_hash = crate::tokens::token_hash(&token);
    let now = Utc::now();
    let sql_insert = format!(
        "INSERT INTO registrations (session_id, name, email, phone, party_size, consent, status, cancel_token_hash, \
         submission_key, registered_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {REG_COLS}"
    );
    let sql_existing = format!(
        "SELECT {REG_COLS} FROM registrations WHERE session_id = $1 AND submission_key = $2"
    );
    let out = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let locked: Option<(Option<i64>, bool, DateTime<Utc>)> = sqlx::query_as(
            "UPDATE event_sessions SET seats_version = seats_version + 1 WHERE id = $1 RETURNING capacity, cancelled, ends_at",
        )
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((capacity, cancelled, ends_at)) = locked else {
            return Err(RegisterError::Db(DbError::NotFound));
        };
        if let Some(key) = submission_key {
            let prior = sqlx::query_as::<_, Registration>(&sql_existing)
                .bind(session_id)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(p) = prior {
                tx.rollback().await?;
                return Ok((p, None));
            }
        }
        if cancelled {
            return Err(RegisterError::SessionCancelled);
        }
        if ends_at < now {
            return Err(RegisterError::SessionPast);
        }
        let (taken,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(party_size), 0) AS BIGINT) FROM registrations WHERE session_id = $1 AND status = 'confirmed'",
        )
        .bind(session_id)
        .fetch_one(&mut *tx)
        .await?;
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM registrations WHERE session_id = $1 AND status = 'waiting'",
        )
        .bind(session_id)
        .fetch_one(&mut *tx)
        .await?;
        let status = match (capacity, open_seats(capacity, taken, waiting)) {
            (Some(c), _) if r.party_size > c => return Err(RegisterError::PartyTooLarge),
            // Nobody jumps the queue: once people wait, newcomers wait too.
            (None, _) => "confirmed",
            (_, Some(open)) if r.party_size <= open => "confirmed",
            _ => "waiting",
        };
        let reg = sqlx::query_as::<_, Registration>(&sql_insert)
            .bind(session_id)
            .bind(&r.name)
            .bind(&r.email)
            .bind(&r.phone)
            .bind(r.party_size)
            .bind(r.consent)
            .bind(status)
            .bind(&token_hash)
            .bind(submission_key)
            .bind(registered_by)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        (reg, Some(token))
    });
    Ok(out)
}

/// Promote waiting registrations in order while their whole party fits.
macro_rules! promote {
    ($tx:expr, $session_id:expr) => {{
        let cap: (Option<i64>,) = sqlx::query_as("SELECT capacity FROM event_sessions WHERE id = $1")
            .bind($session_id)
            .fetch_one(&mut *$tx)
            .await?;
        let mut promoted: Vec<i64> = Vec::new();
        if let Some(capacity) = cap.0 {
            let (mut taken,): (i64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(party_size), 0) AS BIGINT) FROM registrations WHERE session_id = $1 AND status = 'confirmed'",
            )
            .bind($session_id)
            .fetch_one(&mut *$tx)
            .await?;
            let waiting: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT id, party_size FROM registrations WHERE session_id = $1 AND status = 'waiting' ORDER BY created_at, id",
            )
            .bind($session_id)
            .fetch_all(&mut *$tx)
            .await?;
            for (id, size) in waiting {
                if taken + size > capacity {
                    break;
                }
                sqlx::query("UPDATE registrations SET status = 'confirmed' WHERE id = $1")
                    .bind(id)
                    .execute(&mut *$tx)
                    .await?;
                taken += size;
                promoted.push(id);
            }
        }
        promoted
    }};
}

/// Cancel with the token of the link sent at registration. Returns the
/// cancelled registration and the ids promoted from the waiting list.
pub async fn cancel_by_token(db: &Db, token: &str) -> DbResult<(Registration, Vec<i64>)> {
    let hash = crate::tokens::token_hash(token);
    let sql = format!("SELECT {REG_COLS} FROM registrations WHERE cancel_token_hash = $1");
    let reg = db_run!(db, pool => sqlx::query_as::<_, Registration>(&sql).bind(&hash).fetch_optional(pool).await?)
        .ok_or(DbError::NotFound)?;
    cancel_registration(db, reg.id).await
}

/// Find a registration from its cancel token (to show it before cancelling).
pub async fn registration_by_token(db: &Db, token: &str) -> DbResult<Registration> {
    let hash = crate::tokens::token_hash(token);
    let sql = format!("SELECT {REG_COLS} FROM registrations WHERE cancel_token_hash = $1");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Registration>(&sql).bind(&hash).fetch_one(pool).await?),
    )
}

pub async fn cancel_registration(db: &Db, id: i64) -> DbResult<(Registration, Vec<i64>)> {
    let sql = format!("SELECT {REG_COLS} FROM registrations WHERE id = $1");
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (session_id,): (i64,) = sqlx::query_as("SELECT session_id FROM registrations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        // Lock the session first, as `register` does.
        sqlx::query("UPDATE event_sessions SET seats_version = seats_version + 1 WHERE id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE registrations SET status = 'cancelled', cancelled_at = $1 WHERE id = $2 AND status <> 'cancelled'")
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let promoted = promote!(tx, session_id);
        let reg = sqlx::query_as::<_, Registration>(&sql).bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        (reg, promoted)
    }))
}

pub async fn registrations(db: &Db, session_id: i64) -> DbResult<Vec<Registration>> {
    let sql = format!(
        "SELECT {REG_COLS} FROM registrations WHERE session_id = $1 ORDER BY created_at, id"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Registration>(&sql).bind(session_id).fetch_all(pool).await?),
    )
}

pub async fn mark_attendance(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    attended: bool,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let done = sqlx::query("UPDATE registrations SET attended = $1 WHERE id = $2 AND status = 'confirmed'")
            .bind(attended)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(territory_id), "registration", id, "attendance",
            if attended { "Présent".to_owned() } else { "Absent".to_owned() })?;
        tx.commit().await?;
    });
    Ok(())
}

/// Delete registrations of sessions that ended before `before` (retention).
pub async fn purge_registrations(db: &Db, before: DateTime<Utc>) -> DbResult<u64> {
    Ok(db_run!(db, pool => sqlx::query(
        "DELETE FROM registrations WHERE session_id IN (SELECT id FROM event_sessions WHERE ends_at < $1)",
    )
    .bind(before)
    .execute(pool)
    .await?
    .rows_affected()))
}

// ---------------------------------------------------------------- views

/// Count a visitor once per day. `visitor` is already a keyed hash (see
/// `web::agenda::visitor_hash`); rows of earlier days are deleted here, so
/// only today's hashes ever exist.
pub async fn record_view(db: &Db, event_id: i64, day: NaiveDate, visitor: &str) -> DbResult<()> {
    let day = fmt_date(day);
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM event_view_visitors WHERE day < $1")
            .bind(&day)
            .execute(&mut *tx)
            .await?;
        let new = sqlx::query(
            "INSERT INTO event_view_visitors (event_id, day, visitor) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(&day)
        .bind(visitor)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if new > 0 {
            sqlx::query(
                "INSERT INTO event_view_counts (event_id, day, views) VALUES ($1, $2, 1) \
                 ON CONFLICT (event_id, day) DO UPDATE SET views = event_view_counts.views + 1",
            )
            .bind(event_id)
            .bind(&day)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

pub async fn view_count(db: &Db, event_id: i64) -> DbResult<i64> {
    let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(views), 0) AS BIGINT) FROM event_view_counts WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(pool)
    .await?);
    Ok(n)
}

// ---------------------------------------------------------------- reminders

/// A confirmed registration with an e-mail whose session starts in
/// `(now, until]` and who has not been reminded yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueReminder {
    pub registration_id: i64,
    pub name: String,
    pub email: String,
    pub starts_at: DateTime<Utc>,
    pub event_id: i64,
    pub title: String,
    pub territory_slug: String,
}

pub async fn due_reminders(
    db: &Db,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DbResult<Vec<DueReminder>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, DueReminder>(
        "SELECT r.id AS registration_id, r.name, r.email, s.starts_at, e.id AS event_id, e.title, t.slug AS territory_slug \
         FROM registrations r JOIN event_sessions s ON s.id = r.session_id JOIN events e ON e.id = s.event_id \
         JOIN territories t ON t.id = e.territory_id \
         WHERE r.status = 'confirmed' AND r.email IS NOT NULL AND r.reminded_at IS NULL AND s.cancelled = $1 \
         AND s.starts_at > $2 AND s.starts_at <= $3 ORDER BY s.starts_at, r.id",
    )
    .bind(false)
    .bind(now)
    .bind(until)
    .fetch_all(pool)
    .await?))
}

/// Mark a reminder as sent; false when another process already did.
pub async fn mark_reminded(db: &Db, registration_id: i64, at: DateTime<Utc>) -> DbResult<bool> {
    Ok(
        db_run!(db, pool => sqlx::query("UPDATE registrations SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL")
        .bind(at)
        .bind(registration_id)
        .execute(pool)
        .await?
        .rows_affected())
            == 1,
    )
}

pub async fn get_registration(db: &Db, id: i64) -> DbResult<Registration> {
    let sql = format!("SELECT {REG_COLS} FROM registrations WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Registration>(&sql).bind(id).fetch_one(pool).await?))
}

// ---------------------------------------------------------------- session changes

/// Change a session's date, times, place, capacity or audience. More seats
/// promote the waiting list; returns the registrations promoted.
pub async fn update_session(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    session_id: i64,
    s: &SessionInput,
) -> DbResult<Vec<i64>> {
    crate::domain::agenda::event::check_session(s.starts_at, s.ends_at, s.capacity)
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    let current = get_session(db, session_id).await?;
    get_event(db, territory_id, current.event_id).await?;
    if let Some(p) = s.place_id {
        check_place(db, territory_id, p).await?;
    }
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "UPDATE event_sessions SET starts_at = $1, ends_at = $2, place_id = $3, capacity = $4, audience = $5, \
             audience_roles = $6, seats_version = seats_version + 1 WHERE id = $7",
        )
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(s.place_id)
        .bind(s.capacity)
        .bind(&s.audience)
        .bind(&s.audience_roles)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        let promoted = promote!(tx, session_id);
        audit!(tx, actor, Some(territory_id), "event", current.event_id, "session_update",
            format!("Séance {session_id} modifiée"))?;
        tx.commit().await?;
        promoted
    }))
}

/// Remove a session nobody registered for (`Conflict("registrations")`
/// otherwise: cancel it instead, the list stays).
pub async fn delete_session(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    session_id: i64,
) -> DbResult<()> {
    let current = get_session(db, session_id).await?;
    get_event(db, territory_id, current.event_id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM registrations WHERE session_id = $1")
            .bind(session_id)
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Err(DbError::Conflict("registrations".into()));
        }
        sqlx::query("DELETE FROM event_sessions WHERE id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "event", current.event_id, "session_delete",
            format!("Séance {session_id} supprimée"))?;
        tx.commit().await?;
    });
    Ok(())
}
