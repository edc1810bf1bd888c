//! The regional catalogue of indicators (`SharedIndicator`): definitions
//! that regional staff write once and territories' indicators follow
//! (`indicators.shared_indicator_id`), so that the regional view can
//! compare territories on the same measure.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::Actor;
use super::{Db, DbError, DbResult};
use crate::domain::indicator::SharedIndicatorInput;
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SharedIndicator {
    pub id: i64,
    pub label: String,
    pub unit: String,
    pub kind: String,
    pub definition: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "id, label, unit, kind, definition, version, created_at, updated_at";

/// The catalogue with how many territories' indicators follow each entry.
pub async fn list(db: &Db) -> DbResult<Vec<(SharedIndicator, i64)>> {
    let rows: Vec<SharedIndicator> = db_run!(db, pool => sqlx::query_as::<_, SharedIndicator>(
        &format!("SELECT {COLS} FROM shared_indicators ORDER BY label, id")
    ).fetch_all(pool).await?);
    let uses: Vec<(i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT shared_indicator_id, CAST(COUNT(*) AS BIGINT) FROM indicators \
         WHERE shared_indicator_id IS NOT NULL GROUP BY shared_indicator_id"
    ).fetch_all(pool).await?);
    let uses: std::collections::HashMap<i64, i64> = uses.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = uses.get(&r.id).copied().unwrap_or(0);
            (r, n)
        })
        .collect())
}

/// The choices of the indicator forms: (id, « label (unit) »).
pub async fn choices(db: &Db) -> DbResult<Vec<(String, String)>> {
    let rows: Vec<(i64, String, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, label, unit FROM shared_indicators ORDER BY label, id"
    ).fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .map(|(id, label, unit)| (id.to_string(), format!("{label} ({unit})")))
        .collect())
}

pub async fn get(db: &Db, id: i64) -> DbResult<Option<SharedIndicator>> {
    let sql = format!("SELECT {COLS} FROM shared_indicators WHERE id = $1");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, SharedIndicator>(&sql)
        .bind(id).fetch_optional(pool).await?),
    )
}

pub async fn create(db: &Db, actor: &Actor, i: &SharedIndicatorInput) -> DbResult<SharedIndicator> {
    let sql = format!(
        "INSERT INTO shared_indicators (label, unit, kind, definition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, SharedIndicator>(&sql)
            .bind(&i.label).bind(&i.unit).bind(i.kind.as_str()).bind(&i.definition).bind(Utc::now())
            .fetch_one(&mut *tx).await?;
        audit!(tx, actor, None::<i64>, "shared_indicator", row.id, "create",
            format!("Indicateur régional « {} » créé", i.label))?;
        tx.commit().await?;
        row
    }))
}

/// Change a definition; [`DbError::Stale`] when `version` is not the
/// stored one.
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: i64,
    version: i64,
    i: &SharedIndicatorInput,
) -> DbResult<SharedIndicator> {
    let sql = format!(
        "UPDATE shared_indicators SET label = $1, unit = $2, kind = $3, definition = $4, \
         version = version + 1, updated_at = $5 WHERE id = $6 AND version = $7 RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, SharedIndicator>(&sql)
            .bind(&i.label).bind(&i.unit).bind(i.kind.as_str()).bind(&i.definition).bind(Utc::now())
            .bind(id).bind(version)
            .fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM shared_indicators WHERE id = $1")
                .bind(id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() { DbError::Stale } else { DbError::NotFound });
        };
        audit!(tx, actor, None::<i64>, "shared_indicator", id, "update",
            format!("Indicateur régional « {} » modifié", i.label))?;
        tx.commit().await?;
        row
    }))
}

/// Remove an entry; the territories' indicators that followed it stay,
/// unlinked (`ON DELETE SET NULL`).
pub async fn delete(db: &Db, actor: &Actor, id: i64) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        // SQLite applies ON DELETE SET NULL only with foreign keys on;
        // unlinking first says the same on both backends.
        sqlx::query("UPDATE indicators SET shared_indicator_id = NULL WHERE shared_indicator_id = $1")
            .bind(id).execute(&mut *tx).await?;
        let label: Option<String> = sqlx::query_scalar("DELETE FROM shared_indicators WHERE id = $1 RETURNING label")
            .bind(id).fetch_optional(&mut *tx).await?;
        let Some(label) = label else { return Err(DbError::NotFound) };
        audit!(tx, actor, None::<i64>, "shared_indicator", id, "delete",
            format!("Indicateur régional « {label} » supprimé"))?;
        tx.commit().await?;
    });
    Ok(())
}

/// One territory on a catalogue indicator: its last measurement within
/// the period, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TerritoryValue {
    pub territory_slug: String,
    pub territory_name: String,
    /// How many of the territory's indicators follow the entry.
    pub indicators: i64,
    /// (date `YYYY-MM-DD`, value, the territory indicator's label).
    pub last: Option<(String, f64, String)>,
}

/// Every territory with an indicator that follows `shared_id`, with the
/// last measurement dated within `[from, to]` (`YYYY-MM-DD`, inclusive)
/// among those indicators: the same period for every territory.
pub async fn compare(
    db: &Db,
    shared_id: i64,
    from: &str,
    to: &str,
) -> DbResult<Vec<TerritoryValue>> {
    let followers: Vec<(String, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT t.slug, t.name, CAST(COUNT(*) AS BIGINT) FROM indicators i \
         JOIN contracts c ON c.id = i.contract_id JOIN territories t ON t.id = c.territory_id \
         WHERE i.shared_indicator_id = $1 GROUP BY t.slug, t.name ORDER BY t.name"
    ).bind(shared_id).fetch_all(pool).await?);
    let measured: Vec<(String, String, f64, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT t.slug, m.measured_on, m.value, i.label, m.id FROM measurements m \
         JOIN indicators i ON i.id = m.indicator_id \
         JOIN contracts c ON c.id = i.contract_id JOIN territories t ON t.id = c.territory_id \
         WHERE i.shared_indicator_id = $1 AND m.measured_on >= $2 AND m.measured_on <= $3 \
         ORDER BY m.measured_on, m.id"
    ).bind(shared_id).bind(from).bind(to).fetch_all(pool).await?);
    let mut last: std::collections::HashMap<String, (String, f64, String)> = Default::default();
    for (slug, on, value, label, _) in measured {
        // Ordered by date: the later one wins.
        last.insert(slug, (on, value, label));
    }
    Ok(followers
        .into_iter()
        .map(|(slug, name, n)| TerritoryValue {
            last: last.remove(&slug),
            territory_slug: slug,
            territory_name: name,
            indicators: n,
        })
        .collect())
}

/// The latest year with a measurement of an indicator following
/// `shared_id` (the comparison's default period).
pub async fn latest_year(db: &Db, shared_id: i64) -> DbResult<Option<i32>> {
    let last: Option<String> = db_run!(db, pool => sqlx::query_scalar(
        "SELECT MAX(m.measured_on) FROM measurements m JOIN indicators i ON i.id = m.indicator_id \
         WHERE i.shared_indicator_id = $1"
    ).bind(shared_id).fetch_one(pool).await?);
    Ok(last.and_then(|d| d.get(..4).and_then(|y| y.parse().ok())))
}
