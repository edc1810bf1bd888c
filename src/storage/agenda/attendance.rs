//! Attendance at drop-in sessions (`dropin_attendance`, migration 0018):
//! one row per held session of a series, counts only. Written by the
//! mediators (version-checked, audited), summed per commune and per set of
//! series for the indicators and the yearly review.

use super::*;
use crate::domain::agenda::attendance::AttendanceInput;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Attendance {
    pub id: i64,
    pub series_id: i64,
    /// `YYYY-MM-DD`: the day the session was held (after any move).
    pub held_on: String,
    /// The commune where it was held (the series' place, or the place it
    /// moved to that day).
    pub insee_code: String,
    pub received: i64,
    pub women: Option<i64>,
    pub men: Option<i64>,
    pub age_under_26: Option<i64>,
    pub age_26_59: Option<i64>,
    pub age_60_plus: Option<i64>,
    pub qpv_residents: Option<i64>,
    pub first_visits: Option<i64>,
    pub note: String,
    pub version: i64,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

impl Attendance {
    pub fn held_on(&self) -> Option<NaiveDate> {
        parse_date(&self.held_on)
    }

    pub fn input(&self) -> AttendanceInput {
        AttendanceInput {
            received: self.received,
            women: self.women,
            men: self.men,
            age_under_26: self.age_under_26,
            age_26_59: self.age_26_59,
            age_60_plus: self.age_60_plus,
            qpv_residents: self.qpv_residents,
            first_visits: self.first_visits,
            note: self.note.clone(),
        }
    }
}

const ATT_COLS: &str = "a.id, a.series_id, a.held_on, a.insee_code, a.received, a.women, a.men, \
    a.age_under_26, a.age_26_59, a.age_60_plus, a.qpv_residents, a.first_visits, a.note, \
    a.version, a.recorded_at, a.recorded_by";

/// The attendance of one session of a territory's series, if recorded.
pub async fn get_attendance(
    db: &Db,
    territory_id: i64,
    series_id: i64,
    held_on: NaiveDate,
) -> DbResult<Option<Attendance>> {
    let sql = format!(
        "SELECT {ATT_COLS} FROM dropin_attendance a JOIN dropin_series s ON s.id = a.series_id \
         WHERE s.territory_id = $1 AND a.series_id = $2 AND a.held_on = $3"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Attendance>(&sql)
        .bind(territory_id)
        .bind(series_id)
        .bind(fmt_date(held_on))
        .fetch_optional(pool)
        .await?))
}

/// The attendance recorded for a series with `held_on` in `[from, to]`,
/// oldest first.
pub async fn series_attendance(
    db: &Db,
    territory_id: i64,
    series_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> DbResult<Vec<Attendance>> {
    let sql = format!(
        "SELECT {ATT_COLS} FROM dropin_attendance a JOIN dropin_series s ON s.id = a.series_id \
         WHERE s.territory_id = $1 AND a.series_id = $2 AND a.held_on >= $3 AND a.held_on <= $4 \
         ORDER BY a.held_on"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Attendance>(&sql)
        .bind(territory_id)
        .bind(series_id)
        .bind(fmt_date(from))
        .bind(fmt_date(to))
        .fetch_all(pool)
        .await?))
}

/// The most recent session recorded for a series.
pub async fn latest_attendance(
    db: &Db,
    territory_id: i64,
    series_id: i64,
) -> DbResult<Option<Attendance>> {
    let sql = format!(
        "SELECT {ATT_COLS} FROM dropin_attendance a JOIN dropin_series s ON s.id = a.series_id \
         WHERE s.territory_id = $1 AND a.series_id = $2 ORDER BY a.held_on DESC LIMIT 1"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Attendance>(&sql)
        .bind(territory_id)
        .bind(series_id)
        .fetch_optional(pool)
        .await?))
}

/// Record the attendance of the session held on `held_on` in `insee_code`,
/// or change it. `expected_version` is the version the form was built
/// from: 0 for a session not recorded yet. [`DbError::Stale`] when someone
/// recorded (or changed, or deleted) it in between; nothing is written then.
/// The caller checks that `held_on` is a held occurrence of the series.
#[allow(clippy::too_many_arguments)]
pub async fn save_attendance(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    held_on: NaiveDate,
    insee_code: &str,
    expected_version: i64,
    a: &AttendanceInput,
) -> DbResult<Attendance> {
    let series = get_series(db, territory_id, series_id).await?;
    let day = fmt_date(held_on);
    let insert = "INSERT INTO dropin_attendance (series_id, held_on, insee_code, received, women, men, \
         age_under_26, age_26_59, age_60_plus, qpv_residents, first_visits, note, version, recorded_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14) \
         ON CONFLICT (series_id, held_on) DO NOTHING RETURNING id";
    let update = "UPDATE dropin_attendance SET insee_code = $3, received = $4, women = $5, men = $6, \
         age_under_26 = $7, age_26_59 = $8, age_60_plus = $9, qpv_residents = $10, first_visits = $11, \
         note = $12, recorded_at = $13, recorded_by = $14, version = version + 1 \
         WHERE series_id = $1 AND held_on = $2 AND version = $15 RETURNING id";
    let saved = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let q = sqlx::query_scalar::<_, i64>(if expected_version == 0 { insert } else { update })
            .bind(series_id)
            .bind(&day)
            .bind(insee_code)
            .bind(a.received)
            .bind(a.women)
            .bind(a.men)
            .bind(a.age_under_26)
            .bind(a.age_26_59)
            .bind(a.age_60_plus)
            .bind(a.qpv_residents)
            .bind(a.first_visits)
            .bind(&a.note)
            .bind(Utc::now())
            .bind(&actor.label);
        let q = if expected_version == 0 { q } else { q.bind(expected_version) };
        let id = q.fetch_optional(&mut *tx).await?;
        if id.is_some() {
            let what = if expected_version == 0 { "attendance" } else { "attendance_update" };
            audit!(tx, actor, Some(territory_id), "dropin_series", series_id, what,
                format!("Fréquentation de « {} » le {} : {} personne(s) reçue(s)",
                    series.title, crate::domain::dates::short_date(held_on), a.received))?;
        }
        tx.commit().await?;
        id.is_some()
    });
    if !saved {
        return Err(DbError::Stale);
    }
    get_attendance(db, territory_id, series_id, held_on)
        .await?
        .ok_or(DbError::NotFound)
}

/// Delete the attendance of one session ([`DbError::NotFound`] when none
/// is recorded).
pub async fn delete_attendance(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    series_id: i64,
    held_on: NaiveDate,
) -> DbResult<()> {
    let series = get_series(db, territory_id, series_id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("DELETE FROM dropin_attendance WHERE series_id = $1 AND held_on = $2")
            .bind(series_id)
            .bind(fmt_date(held_on))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(territory_id), "dropin_series", series_id, "attendance_delete",
            format!("Fréquentation de « {} » le {} supprimée",
                series.title, crate::domain::dates::short_date(held_on)))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Attendance of a territory's drop-ins per commune where the sessions
/// were held, `held_on` in `[from, to]`: (INSEE code, commune name,
/// sessions with a count, people received), by commune name.
pub async fn totals_by_commune(
    db: &Db,
    territory_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> DbResult<Vec<(String, String, i64, i64)>> {
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, (String, String, i64, i64)>(
        "SELECT a.insee_code, COALESCE(MAX(c.name), a.insee_code) AS commune, COUNT(*) AS sessions, \
         CAST(COALESCE(SUM(a.received), 0) AS BIGINT) AS received \
         FROM dropin_attendance a JOIN dropin_series s ON s.id = a.series_id \
         LEFT JOIN communes c ON c.insee_code = a.insee_code \
         WHERE s.territory_id = $1 AND a.held_on >= $2 AND a.held_on <= $3 \
         GROUP BY a.insee_code ORDER BY commune, a.insee_code",
    )
    .bind(territory_id)
    .bind(fmt_date(from))
    .bind(fmt_date(to))
    .fetch_all(pool)
    .await?),
    )
}

/// Sums over some series' recorded sessions. A breakdown sums the sessions
/// where it was counted (`*_sessions` says how many).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct AttendanceTotals {
    /// Sessions with a count.
    pub sessions: i64,
    pub received: i64,
    pub women: i64,
    pub men: i64,
    /// Sessions where women and men were counted.
    pub sex_sessions: i64,
    pub age_under_26: i64,
    pub age_26_59: i64,
    pub age_60_plus: i64,
    /// Sessions where some age band was counted.
    pub age_sessions: i64,
    pub qpv_residents: i64,
    pub qpv_sessions: i64,
    pub first_visits: i64,
    pub first_visit_sessions: i64,
}

/// The attendance of the series `ids` (any territory: the caller chose
/// them) with `held_on` in `[from, to]`, summed.
pub async fn for_series_ids(
    db: &Db,
    ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> DbResult<AttendanceTotals> {
    if ids.is_empty() {
        return Ok(AttendanceTotals::default());
    }
    let sum = |c: &str| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}");
    let head = format!(
        "SELECT COUNT(*) AS sessions, {}, {}, {}, \
         CAST(COUNT(CASE WHEN women IS NOT NULL OR men IS NOT NULL THEN 1 END) AS BIGINT) AS sex_sessions, \
         {}, {}, {}, \
         CAST(COUNT(CASE WHEN age_under_26 IS NOT NULL OR age_26_59 IS NOT NULL OR age_60_plus IS NOT NULL THEN 1 END) AS BIGINT) AS age_sessions, \
         {}, CAST(COUNT(qpv_residents) AS BIGINT) AS qpv_sessions, \
         {}, CAST(COUNT(first_visits) AS BIGINT) AS first_visit_sessions \
         FROM dropin_attendance WHERE held_on >= ",
        sum("received"),
        sum("women"),
        sum("men"),
        sum("age_under_26"),
        sum("age_26_59"),
        sum("age_60_plus"),
        sum("qpv_residents"),
        sum("first_visits"),
    );
    Ok(db_run!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(head);
        qb.push_bind(fmt_date(from))
            .push(" AND held_on <= ")
            .push_bind(fmt_date(to))
            .push(" AND series_id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build_query_as::<AttendanceTotals>().fetch_one(pool).await?
    }))
}
