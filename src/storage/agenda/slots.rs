//! Bookable slots of drop-in series (issue 16): settings, the mediators
//! attached to a series, bookings (no overbooking), check-in, walk-ins and
//! no-show rates.
//!
//! Bookings are keyed by the date the rule gives (`occurrence_date`), which
//! stays when the occurrence moves; `slot_start` is the slot's local time
//! on the day the occurrence is held. Every booking change of an occurrence
//! first bumps `slot_occurrences.seats_version` (an upsert), which takes
//! SQLite's write lock or PostgreSQL's row lock, then reads the series, its
//! settings and the occurrence's exception: concurrent bookings of one
//! occurrence run one after the other and see each other, as `register`.
//! Bookings are never in the schedule cache (`web::agenda::world_cache`):
//! pages read them fresh.

use super::*;
use crate::domain::agenda::slots::{
    self as rules, BookingStatus, NewBooking, NoShow, Refusal, SlotSettings,
};
use chrono::NaiveDateTime;

/// A series' slot settings as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SlotConfig {
    pub series_id: i64,
    pub enabled: bool,
    pub slot_minutes: i64,
    pub per_slot: i64,
    pub open_days_before: i64,
    pub close_hours_before: i64,
    pub version: i64,
}

impl SlotConfig {
    pub fn settings(&self) -> SlotSettings {
        SlotSettings {
            slot_minutes: self.slot_minutes,
            per_slot: self.per_slot,
            open_days_before: self.open_days_before,
            close_hours_before: self.close_hours_before,
        }
    }
}

pub(super) const CONFIG_COLS: &str =
    "series_id, enabled, slot_minutes, per_slot, open_days_before, close_hours_before, version";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SlotBooking {
    pub id: i64,
    pub series_id: i64,
    /// The date the rule gives (`YYYY-MM-DD`), even when the occurrence moved.
    pub occurrence_date: String,
    /// `HH:MM`, local time on the day the occurrence is held.
    pub slot_start: String,
    pub name: String,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The staff account that booked by phone; `None` for self-service.
    pub booked_by: Option<i64>,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl SlotBooking {
    pub fn status(&self) -> BookingStatus {
        BookingStatus::parse(&self.status).unwrap_or(BookingStatus::Cancelled)
    }
}

pub(super) const BOOKING_COLS: &str =
    "id, series_id, occurrence_date, slot_start, name, phone, email, \
    booked_by, status, created_at";

/// The slot settings of a series (`None`: never set, slots off).
pub async fn slot_config(db: &Db, series_id: i64) -> DbResult<Option<SlotConfig>> {
    let sql = format!("SELECT {CONFIG_COLS} FROM dropin_slot_settings WHERE series_id = $1");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, SlotConfig>(&sql).bind(series_id).fetch_optional(pool).await?),
    )
}

/// The series of a territory whose slots are on.
pub async fn enabled_slot_configs(db: &Db, territory_id: i64) -> DbResult<Vec<SlotConfig>> {
    let sql = format!(
        "SELECT {} FROM dropin_slot_settings c JOIN dropin_series s ON s.id = c.series_id \
         WHERE s.territory_id = $1 AND c.enabled = $2 ORDER BY c.series_id",
        CONFIG_COLS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, SlotConfig>(&sql).bind(territory_id).bind(true).fetch_all(pool).await?),
    )
}

/// Save the slot settings of a series: `expected_version` 0 for the first
/// save, else the version the form was built from (`DbError::Stale` when
/// someone saved in between).
pub async fn save_slot_config(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    expected_version: i64,
    enabled: bool,
    s: &SlotSettings,
) -> DbResult<SlotConfig> {
    let series = get_series(db, territory_id, series_id).await?;
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = if expected_version == 0 {
            sqlx::query(
                "INSERT INTO dropin_slot_settings (series_id, enabled, slot_minutes, per_slot, open_days_before, \
                 close_hours_before, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7) \
                 ON CONFLICT (series_id) DO NOTHING",
            )
            .bind(series_id)
            .bind(enabled)
            .bind(s.slot_minutes)
            .bind(s.per_slot)
            .bind(s.open_days_before)
            .bind(s.close_hours_before)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE dropin_slot_settings SET enabled = $1, slot_minutes = $2, per_slot = $3, open_days_before = $4, \
                 close_hours_before = $5, version = version + 1, updated_at = $6 WHERE series_id = $7 AND version = $8",
            )
            .bind(enabled)
            .bind(s.slot_minutes)
            .bind(s.per_slot)
            .bind(s.open_days_before)
            .bind(s.close_hours_before)
            .bind(now)
            .bind(series_id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if n == 0 {
            return Err(DbError::Stale);
        }
        audit!(tx, actor, Some(territory_id), "dropin_series", series_id, "slots",
            format!("Créneaux de « {} » : {}", series.title, if enabled {
                format!("{} min, {} pers.", s.slot_minutes, s.per_slot)
            } else {
                "désactivés".into()
            }))?;
        tx.commit().await?;
    });
    slot_config(db, series_id).await?.ok_or(DbError::NotFound)
}

// ---------------------------------------------------------------- mediators

/// The accounts attached to a series as its mediators.
pub async fn series_mediators(db: &Db, series_id: i64) -> DbResult<Vec<i64>> {
    let rows: Vec<(i64,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT user_id FROM dropin_series_mediators WHERE series_id = $1 ORDER BY user_id",
    )
    .bind(series_id)
    .fetch_all(pool)
    .await?);
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

pub async fn is_series_mediator(db: &Db, series_id: i64, user_id: i64) -> DbResult<bool> {
    let row: Option<(i64,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT user_id FROM dropin_series_mediators WHERE series_id = $1 AND user_id = $2",
    )
    .bind(series_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?);
    Ok(row.is_some())
}

/// Replace the mediators of a series. Each must be a partner (or more) of
/// the territory: `DbError::Conflict("mediator")` otherwise.
pub async fn set_series_mediators(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    user_ids: &[i64],
) -> DbResult<()> {
    let series = get_series(db, territory_id, series_id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for uid in user_ids {
            let ok: Option<(String,)> = sqlx::query_as(
                "SELECT role FROM memberships WHERE territory_id = $1 AND user_id = $2",
            )
            .bind(territory_id)
            .bind(uid)
            .fetch_optional(&mut *tx)
            .await?;
            if !ok.is_some_and(|(r,)| r == "partner" || r == "coordinator") {
                return Err(DbError::Conflict("mediator".into()));
            }
        }
        sqlx::query("DELETE FROM dropin_series_mediators WHERE series_id = $1")
            .bind(series_id)
            .execute(&mut *tx)
            .await?;
        for uid in user_ids {
            sqlx::query("INSERT INTO dropin_series_mediators (series_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(series_id)
                .bind(uid)
                .execute(&mut *tx)
                .await?;
        }
        audit!(tx, actor, Some(territory_id), "dropin_series", series_id, "mediators",
            format!("Médiateurs de « {} » : {} compte(s)", series.title, user_ids.len()))?;
        tx.commit().await?;
    });
    Ok(())
}

// ---------------------------------------------------------------- bookings

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for BookError {
    fn from(e: sqlx::Error) -> Self {
        BookError::Db(e.into())
    }
}

/// Take the occurrence's lock: the first write of every transaction that
/// changes its bookings or walk-ins.
macro_rules! lock_occurrence {
    ($tx:expr, $series_id:expr, $date:expr) => {
        sqlx::query(
            "INSERT INTO slot_occurrences (series_id, occurrence_date, walk_ins, seats_version, updated_at) \
             VALUES ($1, $2, 0, 1, $3) ON CONFLICT (series_id, occurrence_date) \
             DO UPDATE SET seats_version = slot_occurrences.seats_version + 1, updated_at = $3",
        )
        .bind($series_id)
        .bind($date)
        .bind(Utc::now())
        .execute(&mut *$tx)
        .await
    };
}

/// The occurrence of `original_date` as stored now (series, its exception
/// of that date), read inside the caller's transaction.
macro_rules! occurrence_in_tx {
    ($tx:expr, $series_id:expr, $date:expr) => {{
        let sql = format!("SELECT {SERIES_COLS} FROM dropin_series WHERE id = $1");
        let series = sqlx::query_as::<_, Series>(&sql)
            .bind($series_id)
            .fetch_one(&mut *$tx)
            .await?;
        let exc: Vec<Exception> = sqlx::query_as::<_, ExceptionRow>(
            "SELECT series_id, original_date, kind, new_date, start_time, end_time, place_id, note \
             FROM dropin_exceptions WHERE series_id = $1 AND original_date = $2",
        )
        .bind($series_id)
        .bind(fmt_date($date))
        .fetch_all(&mut *$tx)
        .await?
        .into_iter()
        .filter_map(ExceptionRow::into_domain)
        .map(|(_, e)| e)
        .collect();
        let config_sql = format!("SELECT {} FROM dropin_slot_settings WHERE series_id = $1", $crate::storage::agenda::slots::CONFIG_COLS);
        let config = sqlx::query_as::<_, $crate::storage::agenda::slots::SlotConfig>(&config_sql)
            .bind($series_id)
            .fetch_optional(&mut *$tx)
            .await?;
        (series, exc, config)
    }};
}

/// Book a slot of the occurrence the rule gives on `original_date` (slot
/// start `slot_start`, local time on the day it is held). Refused when
/// slots are off, the occurrence is cancelled or unknown, the slot is not
/// one of its slots, past, outside the booking window (self-service only:
/// staff booking by phone, `booked_by`, skip the window) or full. A repeated
/// `submission_key` returns the first booking, with no token. Returns the
/// booking and its cancel token.
#[allow(clippy::too_many_arguments)]
pub async fn book_slot(
    db: &Db,
    territory_id: i64,
    series_id: i64,
    original_date: NaiveDate,
    slot_start: NaiveTime,
    b: &NewBooking,
    submission_key: Option<&str>,
    booked_by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(SlotBooking, Option<String>), BookError> {
    // The territory's own series only (a forged id gets « not found »).
    get_series(db, territory_id, series_id).await?;
    let token = crate::tokens::random_token();
    let token_hash = crate::tokens::token_hash(&token);
    let date = fmt_date(original_date);
    let slot = fmt_time(slot_start);
    let sql_existing = format!(
        "SELECT {BOOKING_COLS} FROM slot_bookings WHERE series_id = $1 AND occurrence_date = $2 AND submission_key = $3"
    );
    let sql_insert = format!(
        "INSERT INTO slot_bookings (series_id, occurrence_date, slot_start, name, phone, email, consent_at, booked_by, \
         status, cancel_token_hash, submission_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'booked', $9, $10, $7, $7) RETURNING {BOOKING_COLS}"
    );
    let out = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        lock_occurrence!(tx, series_id, &date)?;
        if let Some(key) = submission_key {
            let prior = sqlx::query_as::<_, SlotBooking>(&sql_existing)
                .bind(series_id)
                .bind(&date)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(p) = prior {
                tx.rollback().await?;
                return Ok((p, None));
            }
        }
        let (series, exc, config) = occurrence_in_tx!(tx, series_id, original_date);
        let refuse = |r: Refusal| Err(BookError::Refused(r));
        let Some(config) = config.filter(|c| c.enabled) else {
            return refuse(Refusal::Off);
        };
        let settings = config.settings();
        let schedule = series
            .schedule()
            .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
        let Some(occ) = rules::occurrence_of(&schedule, &exc, original_date) else {
            return refuse(Refusal::NotASlot);
        };
        if occ.status == crate::domain::agenda::recurrence::OccurrenceStatus::Cancelled {
            return refuse(Refusal::Cancelled);
        }
        let at = occ.date.and_time(slot_start);
        if !rules::slots(&occ, &settings).contains(&at) {
            return refuse(Refusal::NotASlot);
        }
        if let Err(r) = rules::window_check(at, now, &settings, booked_by.is_some()) {
            return refuse(r);
        }
        let (taken,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM slot_bookings WHERE series_id = $1 AND occurrence_date = $2 \
             AND slot_start = $3 AND status <> 'cancelled'",
        )
        .bind(series_id)
        .bind(&date)
        .bind(&slot)
        .fetch_one(&mut *tx)
        .await?;
        if rules::remaining(&settings, taken) == 0 {
            return refuse(Refusal::Full);
        }
        let booking = sqlx::query_as::<_, SlotBooking>(&sql_insert)
            .bind(series_id)
            .bind(&date)
            .bind(&slot)
            .bind(&b.name)
            .bind(&b.phone)
            .bind(&b.email)
            .bind(now)
            .bind(booked_by)
            .bind(&token_hash)
            .bind(submission_key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        (booking, Some(token))
    });
    Ok(out)
}

/// A booking from its cancel token.
pub async fn booking_by_token(db: &Db, token: &str) -> DbResult<SlotBooking> {
    let hash = crate::tokens::token_hash(token);
    let sql = format!("SELECT {BOOKING_COLS} FROM slot_bookings WHERE cancel_token_hash = $1");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, SlotBooking>(&sql).bind(&hash).fetch_one(pool).await?),
    )
}

pub async fn get_booking(db: &Db, series_id: i64, id: i64) -> DbResult<SlotBooking> {
    let sql = format!("SELECT {BOOKING_COLS} FROM slot_bookings WHERE id = $1 AND series_id = $2");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, SlotBooking>(&sql).bind(id).bind(series_id).fetch_one(pool).await?),
    )
}

/// Cancel with the link's token: only a booking still `booked` (one already
/// checked in stays as it is). Returns the booking as it now is.
pub async fn cancel_booking_by_token(db: &Db, token: &str) -> DbResult<SlotBooking> {
    let b = booking_by_token(db, token).await?;
    let sql = format!("SELECT {BOOKING_COLS} FROM slot_bookings WHERE id = $1");
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        lock_occurrence!(tx, b.series_id, &b.occurrence_date)?;
        sqlx::query("UPDATE slot_bookings SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = 'booked'")
            .bind(Utc::now())
            .bind(b.id)
            .execute(&mut *tx)
            .await?;
        let out = sqlx::query_as::<_, SlotBooking>(&sql).bind(b.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        out
    }))
}

/// The bookings of one occurrence, by slot then arrival.
pub async fn occurrence_bookings(
    db: &Db,
    series_id: i64,
    original_date: NaiveDate,
) -> DbResult<Vec<SlotBooking>> {
    let sql = format!(
        "SELECT {BOOKING_COLS} FROM slot_bookings WHERE series_id = $1 AND occurrence_date = $2 \
         ORDER BY slot_start, created_at, id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, SlotBooking>(&sql)
        .bind(series_id)
        .bind(fmt_date(original_date))
        .fetch_all(pool)
        .await?))
}

/// The bookings still `booked` of a series from `from` (dates the rule
/// gives): those a series' end cancels.
pub async fn booked_from(db: &Db, series_id: i64, from: NaiveDate) -> DbResult<Vec<SlotBooking>> {
    let sql = format!(
        "SELECT {BOOKING_COLS} FROM slot_bookings WHERE series_id = $1 AND occurrence_date >= $2 \
         AND status = 'booked' ORDER BY occurrence_date, slot_start, id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, SlotBooking>(&sql)
        .bind(series_id)
        .bind(fmt_date(from))
        .fetch_all(pool)
        .await?))
}

/// Territories with slots on in at least one series: (id, slug).
pub async fn territories_with_slots(db: &Db) -> DbResult<Vec<(i64, String)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT DISTINCT t.id, t.slug FROM dropin_slot_settings c \
         JOIN dropin_series s ON s.id = c.series_id JOIN territories t ON t.id = s.territory_id \
         WHERE c.enabled ORDER BY t.id",
    )
    .fetch_all(pool)
    .await?))
}

/// A territory's bookings still `booked` whose date (as the rule gives
/// it) is from `from` to `to`, both included.
pub async fn territory_booked_between(
    db: &Db,
    territory_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> DbResult<Vec<SlotBooking>> {
    let sql = format!(
        "SELECT {BOOKING_COLS} FROM slot_bookings WHERE status = 'booked' \
         AND occurrence_date >= $2 AND occurrence_date <= $3 \
         AND series_id IN (SELECT id FROM dropin_series WHERE territory_id = $1) \
         ORDER BY series_id, occurrence_date, slot_start, id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, SlotBooking>(&sql)
        .bind(territory_id)
        .bind(fmt_date(from))
        .bind(fmt_date(to))
        .fetch_all(pool)
        .await?))
}

/// Places taken per (occurrence date, slot start) of a series, for the
/// occurrences from `from` (dates the rule gives).
pub async fn taken_slots(
    db: &Db,
    series_id: i64,
    from: NaiveDate,
) -> DbResult<HashMap<(String, String), i64>> {
    let rows: Vec<(String, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT occurrence_date, slot_start, COUNT(*) FROM slot_bookings \
         WHERE series_id = $1 AND occurrence_date >= $2 AND status <> 'cancelled' \
         GROUP BY occurrence_date, slot_start",
    )
    .bind(series_id)
    .bind(fmt_date(from))
    .fetch_all(pool)
    .await?);
    Ok(rows.into_iter().map(|(d, s, n)| ((d, s), n)).collect())
}

/// Booking counts per occurrence date (not cancelled), from `from`.
pub async fn booking_counts(
    db: &Db,
    series_id: i64,
    from: NaiveDate,
) -> DbResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT occurrence_date, COUNT(*) FROM slot_bookings \
         WHERE series_id = $1 AND occurrence_date >= $2 AND status <> 'cancelled' \
         GROUP BY occurrence_date",
    )
    .bind(series_id)
    .bind(fmt_date(from))
    .fetch_all(pool)
    .await?);
    Ok(rows.into_iter().collect())
}

/// Check-in: mark a booking present, absent, excused or cancelled (or back
/// to booked).
pub async fn set_booking_status(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    booking_id: i64,
    status: BookingStatus,
) -> DbResult<SlotBooking> {
    get_series(db, territory_id, series_id).await?;
    let b = get_booking(db, series_id, booking_id).await?;
    let sql = format!("SELECT {BOOKING_COLS} FROM slot_bookings WHERE id = $1");
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        lock_occurrence!(tx, series_id, &b.occurrence_date)?;
        sqlx::query("UPDATE slot_bookings SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(Utc::now())
            .bind(booking_id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "slot_booking", booking_id, "status",
            format!("Rendez-vous du {} à {} : {}", b.occurrence_date, b.slot_start, status.label()))?;
        let out = sqlx::query_as::<_, SlotBooking>(&sql).bind(booking_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        out
    }))
}

/// People received without a booking at one occurrence.
pub async fn walk_ins(db: &Db, series_id: i64, original_date: NaiveDate) -> DbResult<i64> {
    let row: Option<(i64,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT walk_ins FROM slot_occurrences WHERE series_id = $1 AND occurrence_date = $2",
    )
    .bind(series_id)
    .bind(fmt_date(original_date))
    .fetch_optional(pool)
    .await?);
    Ok(row.map(|(n,)| n).unwrap_or(0))
}

pub async fn set_walk_ins(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    original_date: NaiveDate,
    count: i64,
) -> DbResult<()> {
    get_series(db, territory_id, series_id).await?;
    let date = fmt_date(original_date);
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        lock_occurrence!(tx, series_id, &date)?;
        sqlx::query("UPDATE slot_occurrences SET walk_ins = $1 WHERE series_id = $2 AND occurrence_date = $3")
            .bind(count)
            .bind(series_id)
            .bind(&date)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "dropin_series", series_id, "walk_ins",
            format!("Permanence du {date} : {count} personne(s) sans rendez-vous"))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Retention: the names, phones and e-mails of bookings of dates before
/// `before` are erased (the statuses stay, for the no-show rates). Returns
/// how many bookings were erased.
pub async fn purge_slot_bookings(db: &Db, before: NaiveDate) -> DbResult<u64> {
    Ok(db_run!(db, pool => sqlx::query(
        "UPDATE slot_bookings SET name = '', phone = NULL, email = NULL, updated_at = $1 \
         WHERE occurrence_date < $2 AND (name <> '' OR phone IS NOT NULL OR email IS NOT NULL)",
    )
    .bind(Utc::now())
    .bind(fmt_date(before))
    .execute(pool)
    .await?
    .rows_affected()))
}

fn fold_no_show(rows: Vec<(String, String, i64)>) -> Vec<(String, NoShow)> {
    let mut out: Vec<(String, NoShow)> = Vec::new();
    for (key, status, n) in rows {
        let i = match out.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                out.push((key, NoShow::default()));
                out.len() - 1
            }
        };
        let e = &mut out[i].1;
        match status.as_str() {
            "present" => e.present += n,
            "absent" => e.absent += n,
            "excused" => e.excused += n,
            _ => {}
        }
    }
    out
}

/// Checked-in outcomes per series of a territory.
pub async fn no_show_by_series(db: &Db, territory_id: i64) -> DbResult<HashMap<i64, NoShow>> {
    let rows: Vec<(String, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT CAST(b.series_id AS TEXT), b.status, COUNT(*) FROM slot_bookings b \
         JOIN dropin_series s ON s.id = b.series_id \
         WHERE s.territory_id = $1 AND b.status IN ('present', 'absent', 'excused') \
         GROUP BY b.series_id, b.status",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?);
    Ok(fold_no_show(rows)
        .into_iter()
        .filter_map(|(k, n)| Some((k.parse().ok()?, n)))
        .collect())
}

/// Checked-in outcomes per commune where the occurrences were held (a
/// moved occurrence counts in its new place's commune): (commune name,
/// outcomes), by name.
pub async fn no_show_by_commune(db: &Db, territory_id: i64) -> DbResult<Vec<(String, NoShow)>> {
    let rows: Vec<(String, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT COALESCE(c.name, p.insee_code), b.status, COUNT(*) FROM slot_bookings b \
         JOIN dropin_series s ON s.id = b.series_id \
         LEFT JOIN dropin_exceptions e ON e.series_id = b.series_id AND e.original_date = b.occurrence_date \
           AND e.kind = 'moved' \
         JOIN places p ON p.id = COALESCE(e.place_id, s.place_id) \
         LEFT JOIN communes c ON c.insee_code = p.insee_code \
         WHERE s.territory_id = $1 AND b.status IN ('present', 'absent', 'excused') \
         GROUP BY COALESCE(c.name, p.insee_code), b.status",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?);
    let mut out = fold_no_show(rows);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

// ------------------------------------------------- occurrence changes

/// A booking whose occurrence was cancelled or moved.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedBooking {
    pub booking: SlotBooking,
    /// The slot's new start (Paris), or `None` when the booking was cancelled.
    pub now_at: Option<NaiveDateTime>,
    /// The place of the occurrence after the change (`None`: the series').
    pub place_id: Option<i64>,
}

/// Inside an exception's transaction: the bookings still `booked` follow
/// the occurrence from `before` to `after` (same offset from the start), or
/// are cancelled when it is cancelled or the slot no longer fits. Returns
/// the bookings changed, to warn the people.
macro_rules! reschedule_bookings {
    ($tx:expr, $series_id:expr, $date:expr, $before:expr, $after:expr, $config:expr) => {{
        let mut changed: Vec<$crate::storage::agenda::slots::ChangedBooking> = Vec::new();
        let before: Option<$crate::domain::agenda::recurrence::Occurrence> = $before;
        let after: Option<$crate::domain::agenda::recurrence::Occurrence> = $after;
        if let (Some(config), Some(before)) = ($config, before) {
            if after.as_ref() != Some(&before) {
                let settings = config.settings();
                let sql = format!(
                    "SELECT {} FROM slot_bookings WHERE series_id = $1 AND occurrence_date = $2 AND status = 'booked'",
                    $crate::storage::agenda::slots::BOOKING_COLS
                );
                let booked = sqlx::query_as::<_, $crate::storage::agenda::slots::SlotBooking>(&sql)
                    .bind($series_id)
                    .bind(fmt_date($date))
                    .fetch_all(&mut *$tx)
                    .await?;
                for mut b in booked {
                    let Some(start) = parse_time(&b.slot_start) else { continue };
                    let now_at = after
                        .as_ref()
                        .and_then(|a| $crate::domain::agenda::slots::moved_slot(&before, a, start, &settings));
                    match now_at {
                        Some(at) => {
                            b.slot_start = fmt_time(at.time());
                            sqlx::query("UPDATE slot_bookings SET slot_start = $1, updated_at = $2 WHERE id = $3")
                                .bind(&b.slot_start)
                                .bind(Utc::now())
                                .bind(b.id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        None => {
                            b.status = "cancelled".into();
                            sqlx::query("UPDATE slot_bookings SET status = 'cancelled', updated_at = $1 WHERE id = $2")
                                .bind(Utc::now())
                                .bind(b.id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                    }
                    changed.push($crate::storage::agenda::slots::ChangedBooking {
                        booking: b,
                        now_at,
                        place_id: after.as_ref().and_then(|a| a.place_id),
                    });
                }
            }
        }
        changed
    }};
}
pub(super) use reschedule_bookings;
pub(super) use {lock_occurrence, occurrence_in_tx};
