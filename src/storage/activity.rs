//! The mediators' anonymised activity records (migration 0024).

use chrono::{DateTime, NaiveDate, Utc};

use super::{Db, DbResult};
use crate::db_run;
use crate::domain::agenda::activity::{ActivityInput, Record};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRecord {
    pub id: i64,
    pub series_id: i64,
    pub held_on: String,
    pub themes: String,
    pub age_band: String,
    pub sex: String,
    pub home_commune: String,
    pub qpv: String,
    pub first_visit: bool,
    pub referral: bool,
    pub follow_up_name: Option<String>,
    pub follow_up_phone: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl StoredRecord {
    pub fn record(&self) -> Record {
        Record {
            themes: self.themes.clone(),
            age_band: self.age_band.clone(),
            sex: self.sex.clone(),
            home_commune: self.home_commune.clone(),
            qpv: self.qpv.clone(),
            first_visit: self.first_visit,
            referral: self.referral,
        }
    }
}

const COLS: &str =
    "id, series_id, held_on, themes, age_band, sex, home_commune, qpv, first_visit, \
     referral, follow_up_name, follow_up_phone, created_at";

fn day(d: NaiveDate) -> String {
    crate::domain::dates::iso(d)
}

pub async fn add(
    db: &Db,
    territory_id: i64,
    series_id: i64,
    held_on: NaiveDate,
    input: &ActivityInput,
    recorded_by: Option<i64>,
) -> DbResult<i64> {
    let (name, phone) = match &input.follow_up {
        Some((n, p)) => (Some(n.clone()), Some(p.clone())),
        None => (None, None),
    };
    Ok(db_run!(db, pool => sqlx::query_scalar(
        "INSERT INTO activity_records (territory_id, series_id, held_on, themes, age_band, sex, home_commune, qpv, \
         first_visit, referral, follow_up_name, follow_up_phone, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(territory_id)
    .bind(series_id)
    .bind(day(held_on))
    .bind(input.theme_codes())
    .bind(&input.age_band)
    .bind(&input.sex)
    .bind(&input.home_commune)
    .bind(&input.qpv)
    .bind(input.first_visit)
    .bind(input.referral)
    .bind(name)
    .bind(phone)
    .bind(recorded_by)
    .bind(Utc::now())
    .fetch_one(pool)
    .await?))
}

/// The records of one drop-in date, in the order they were made.
pub async fn for_day(db: &Db, series_id: i64, held_on: NaiveDate) -> DbResult<Vec<StoredRecord>> {
    let sql = format!(
        "SELECT {COLS} FROM activity_records WHERE series_id = $1 AND held_on = $2 ORDER BY id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, StoredRecord>(&sql)
        .bind(series_id)
        .bind(day(held_on))
        .fetch_all(pool)
        .await?))
}

/// Remove a record made by mistake (only from its own date's page).
pub async fn delete(db: &Db, series_id: i64, id: i64) -> DbResult<bool> {
    Ok(
        db_run!(db, pool => sqlx::query("DELETE FROM activity_records WHERE id = $1 AND series_id = $2")
        .bind(id)
        .bind(series_id)
        .execute(pool)
        .await?
        .rows_affected())
            > 0,
    )
}

/// A territory's records between two dates (inclusive), for the summary;
/// optionally one series.
pub async fn for_territory(
    db: &Db,
    territory_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    series_id: Option<i64>,
) -> DbResult<Vec<StoredRecord>> {
    let filter = if series_id.is_some() {
        " AND series_id = $4"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLS} FROM activity_records WHERE territory_id = $1 AND held_on >= $2 AND held_on <= $3{filter} \
         ORDER BY held_on, id"
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, StoredRecord>(&sql)
            .bind(territory_id)
            .bind(day(from))
            .bind(day(to));
        if let Some(s) = series_id {
            q = q.bind(s);
        }
        q.fetch_all(pool).await?
    }))
}

/// Follow-up contacts are erased after `before` (the registrations'
/// retention); the anonymous part stays. Returns how many were erased.
pub async fn purge_follow_ups(db: &Db, before: NaiveDate) -> DbResult<u64> {
    Ok(db_run!(db, pool => sqlx::query(
        "UPDATE activity_records SET follow_up_name = NULL, follow_up_phone = NULL \
         WHERE held_on < $1 AND (follow_up_name IS NOT NULL OR follow_up_phone IS NOT NULL)",
    )
    .bind(day(before))
    .execute(pool)
    .await?
    .rows_affected()))
}
