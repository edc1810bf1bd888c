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

mod attendance;
mod events;
mod links;
mod regional;
mod series;
mod slots;
pub use attendance::*;
pub use events::*;
pub use links::*;
pub use regional::*;
pub use series::*;
pub use slots::*;

pub fn fmt_date(d: NaiveDate) -> String {
    d.to_string()
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
    /// The place's own number (a CCAS, a social centre), or empty.
    pub phone: String,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewPlace {
    pub name: String,
    pub address: String,
    pub insee_code: String,
    pub access_notes: String,
    pub phone: String,
}

const PLACE_COLS: &str = "p.id, p.territory_id, p.name, p.address, p.insee_code, \
    COALESCE(c.name, p.insee_code) AS commune_name, p.access_notes, p.phone, p.version";

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
            "INSERT INTO places (territory_id, name, address, insee_code, access_notes, phone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(territory_id)
        .bind(&p.name)
        .bind(&p.address)
        .bind(&p.insee_code)
        .bind(&p.access_notes)
        .bind(&p.phone)
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

/// Change a place (name, address, commune, access notes, phone).
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
            "UPDATE places SET name = $1, address = $2, insee_code = $3, access_notes = $4, phone = $5, \
             version = version + 1, updated_at = $6 WHERE id = $7 AND territory_id = $8 AND version = $9",
        )
        .bind(&p.name)
        .bind(&p.address)
        .bind(&p.insee_code)
        .bind(&p.access_notes)
        .bind(&p.phone)
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

    /// The phone as French people read it (stored in E.164; registrations
    /// taken before December 2026 kept the typed form, shown as it is).
    pub fn phone_display(&self) -> Option<String> {
        self.phone.as_deref().map(crate::domain::phone::display)
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
/// only today's hashes ever exist. True when the visit was counted (the
/// visitor's first of the day).
pub async fn record_view(db: &Db, event_id: i64, day: NaiveDate, visitor: &str) -> DbResult<bool> {
    let day = fmt_date(day);
    Ok(db_run!(db, pool => {
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
        new > 0
    }))
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
