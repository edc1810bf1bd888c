//! Drop-in series and their exceptions.

use super::*;

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
    /// The fiche action the series carries out, if any (a territory's).
    pub action_id: Option<i64>,
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
    /// The fiche action carried out (checked against the territory).
    pub action_id: Option<i64>,
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

pub(super) const SERIES_COLS: &str =
    "id, territory_id, title, mediators, place_id, first_date, end_date, \
    start_time, end_time, rrule, skip_holidays, access, services, version, action_id";

pub(super) async fn check_place(db: &Db, territory_id: i64, place_id: i64) -> DbResult<()> {
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
    check_action(db, territory_id, s.action_id).await?;
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO dropin_series (territory_id, title, mediators, place_id, first_date, end_date, start_time, \
         end_time, rrule, skip_holidays, access, services, created_at, updated_at, action_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING {SERIES_COLS}"
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
            .bind(s.action_id)
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
    check_action(db, territory_id, s.action_id).await?;
    let sql = format!(
        "UPDATE dropin_series SET title = $1, mediators = $2, place_id = $3, first_date = $4, end_date = $5, \
         start_time = $6, end_time = $7, rrule = $8, skip_holidays = $9, access = $10, services = $11, \
         version = version + 1, updated_at = $12, action_id = $16 \
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
            .bind(s.action_id)
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
                // Slot bookings after the new end are cancelled.
                sqlx::query(
                    "UPDATE slot_bookings SET status = 'cancelled', updated_at = $1 \
                     WHERE series_id = $2 AND occurrence_date > $3 AND status = 'booked'",
                )
                .bind(Utc::now())
                .bind(id)
                .bind(fmt_date(end))
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
pub(crate) struct ExceptionRow {
    pub(crate) series_id: i64,
    pub(crate) original_date: String,
    pub(crate) kind: String,
    pub(crate) new_date: Option<String>,
    pub(crate) start_time: Option<String>,
    pub(crate) end_time: Option<String>,
    pub(crate) place_id: Option<i64>,
    pub(crate) note: String,
}

impl ExceptionRow {
    pub(crate) fn into_domain(self) -> Option<(i64, Exception)> {
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
    set_exception_with_bookings(db, actor, territory_id, series_id, e)
        .await
        .map(|_| ())
}

/// [`set_exception`], returning the slot bookings it moved or cancelled
/// (in the same transaction), to warn the people.
pub async fn set_exception_with_bookings(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    e: &Exception,
) -> DbResult<Vec<ChangedBooking>> {
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
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        // The occurrence's booking lock first, as `book_slot` takes it.
        slots::lock_occurrence!(tx, series_id, &fmt_date(e.original_date))?;
        let (_, old_exc, config) = slots::occurrence_in_tx!(tx, series_id, e.original_date);
        let before = crate::domain::agenda::slots::occurrence_of(&schedule, &old_exc, e.original_date);
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
        let after = crate::domain::agenda::slots::occurrence_of(&schedule, std::slice::from_ref(e), e.original_date);
        let changed = slots::reschedule_bookings!(tx, series_id, e.original_date, before, after, config);
        tx.commit().await?;
        changed
    }))
}

pub async fn remove_exception(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    original_date: NaiveDate,
) -> DbResult<()> {
    remove_exception_with_bookings(db, actor, territory_id, series_id, original_date)
        .await
        .map(|_| ())
}

/// [`remove_exception`], returning the slot bookings it moved back or
/// cancelled.
pub async fn remove_exception_with_bookings(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    original_date: NaiveDate,
) -> DbResult<Vec<ChangedBooking>> {
    let series = get_series(db, territory_id, series_id).await?;
    let schedule = series
        .schedule()
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        slots::lock_occurrence!(tx, series_id, &fmt_date(original_date))?;
        let (_, old_exc, config) = slots::occurrence_in_tx!(tx, series_id, original_date);
        let before = crate::domain::agenda::slots::occurrence_of(&schedule, &old_exc, original_date);
        sqlx::query("DELETE FROM dropin_exceptions WHERE series_id = $1 AND original_date = $2")
            .bind(series_id)
            .bind(fmt_date(original_date))
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "dropin_series", series_id, "restore",
            format!("Permanence du {} rétablie", crate::domain::dates::short_date(original_date)))?;
        let after = crate::domain::agenda::slots::occurrence_of(&schedule, &[], original_date);
        let changed = slots::reschedule_bookings!(tx, series_id, original_date, before, after, config);
        tx.commit().await?;
        changed
    }))
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

/// Every drop-in series of the instance (the regional roll-up).
pub async fn all_series(db: &Db) -> DbResult<Vec<Series>> {
    let sql = format!("SELECT {SERIES_COLS} FROM dropin_series ORDER BY territory_id, id");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Series>(&sql).fetch_all(pool).await?))
}

/// Exceptions of every series of the instance, by series id.
pub async fn all_exceptions(db: &Db) -> DbResult<Vec<(i64, Exception)>> {
    let rows = db_run!(db, pool => sqlx::query_as::<_, ExceptionRow>(
        "SELECT e.series_id, e.original_date, e.kind, e.new_date, e.start_time, e.end_time, e.place_id, e.note \
         FROM dropin_exceptions e ORDER BY e.series_id, e.original_date",
    )
    .fetch_all(pool)
    .await?);
    Ok(rows
        .into_iter()
        .filter_map(ExceptionRow::into_domain)
        .collect())
}

/// What a territory's drop-in schedule was built from, in one cheap query:
/// count, sum of versions and last change of its series and places, and
/// count, sum of ids and last creation of their exceptions. Any insert,
/// update or delete changes it (updates bump `version`, exceptions are
/// replaced, never updated in place), so a cached schedule with the same
/// stamp is current.
pub async fn schedule_stamp(db: &Db, territory_id: i64) -> DbResult<String> {
    let sql = format!("SELECT {}", schedule_stamp_sql("$1"));
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, String>(&sql)
        .bind(territory_id)
        .fetch_one(pool)
        .await?))
}

/// [`schedule_stamp`] as one SQL text expression of `t`, the territory id
/// (a placeholder or a column), so that a page's own statement can read it.
pub fn schedule_stamp_sql(t: &str) -> String {
    let part = |agg: &str, from: &str| format!("CAST((SELECT {agg} FROM {from}) AS TEXT)");
    let last = |col: &str, from: &str| {
        format!("COALESCE(CAST((SELECT MAX({col}) FROM {from}) AS TEXT), '')")
    };
    let series = format!("dropin_series WHERE territory_id = {t}");
    let places = format!("places WHERE territory_id = {t}");
    let exceptions = format!(
        "dropin_exceptions e JOIN dropin_series s ON s.id = e.series_id WHERE s.territory_id = {t}"
    );
    [
        part("COUNT(*)", &series),
        part("CAST(COALESCE(SUM(version), 0) AS BIGINT)", &series),
        last("updated_at", &series),
        part("COUNT(*)", &places),
        part("CAST(COALESCE(SUM(version), 0) AS BIGINT)", &places),
        last("updated_at", &places),
        part("COUNT(*)", &exceptions),
        part("CAST(COALESCE(SUM(e.id), 0) AS BIGINT)", &exceptions),
        last("e.created_at", &exceptions),
    ]
    .join(" || '/' || ")
}
