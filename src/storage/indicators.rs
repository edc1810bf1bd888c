//! Indicators of a contract or of an action, and their measurements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::Actor;
use super::contract::{fmt_date, Contract};
use super::{Db, DbError, DbResult};
use crate::domain::evaluation::{Source, SourceKind};
use crate::domain::indicator::{IndicatorInput, MeasurementInput};
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Indicator {
    pub id: i64,
    pub contract_id: i64,
    pub action_id: Option<i64>,
    pub kind: String,
    pub label: String,
    pub unit: String,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    pub target_on: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The regional catalogue's indicator it follows.
    pub shared_indicator_id: Option<i64>,
    /// `manual`, or a metric code (`domain::evaluation::Metric`).
    pub source: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
}

impl Indicator {
    pub fn source(&self) -> Source {
        Source::parse(&self.source).unwrap_or(Source::Manual)
    }
    /// Computed by Maillage: measurements cannot be typed.
    pub fn is_computed(&self) -> bool {
        self.source().metric().is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Measurement {
    pub id: i64,
    pub indicator_id: i64,
    pub measured_on: String,
    pub value: f64,
    pub source: String,
    pub comment: String,
}

const COLS: &str =
    "id, contract_id, action_id, kind, label, unit, baseline, target, target_on, created_at, \
     shared_indicator_id, source, period_start, period_end";
const M_COLS: &str = "id, indicator_id, measured_on, value, source, comment";

/// A catalogue indicator that does not exist (deleted meanwhile, or a
/// forged form) is a [`DbError::Conflict`] on `shared`.
macro_rules! check_shared {
    ($tx:ident, $id:expr) => {
        if let Some(sid) = $id {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM shared_indicators WHERE id = $1")
                    .bind(sid)
                    .fetch_optional(&mut *$tx)
                    .await?;
            if found.is_none() {
                return Err(DbError::Conflict("shared".into()));
            }
        }
    };
}

/// What a computed indicator counts must be of the contract's territory
/// (a forged form naming another territory's series is a
/// [`DbError::Conflict`] on `source_ref`).
macro_rules! check_source_ref {
    ($tx:ident, $territory:expr, $r:expr) => {
        if let Some((kind, id)) = $r {
            let sql = match kind {
                SourceKind::Series => {
                    "SELECT id FROM dropin_series WHERE id = $1 AND territory_id = $2"
                }
                SourceKind::Event => "SELECT id FROM events WHERE id = $1 AND territory_id = $2",
                SourceKind::Body => "SELECT id FROM bodies WHERE id = $1 AND territory_id = $2",
                SourceKind::Consultation => {
                    "SELECT id FROM consultations WHERE id = $1 AND territory_id = $2"
                }
                SourceKind::Territory => "SELECT id FROM territories WHERE id = $1 AND id = $2",
            };
            let found: Option<i64> = sqlx::query_scalar(sql)
                .bind(id)
                .bind($territory)
                .fetch_optional(&mut *$tx)
                .await?;
            if found.is_none() {
                return Err(DbError::Conflict("source_ref".into()));
            }
        }
    };
}

/// Replace what an indicator counts (at most one source is chosen in forms).
macro_rules! set_source_ref {
    ($tx:ident, $id:expr, $r:expr) => {
        sqlx::query("DELETE FROM indicator_sources WHERE indicator_id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        if let Some((kind, rid)) = $r {
            sqlx::query(
                "INSERT INTO indicator_sources (indicator_id, kind, ref_id) VALUES ($1, $2, $3)",
            )
            .bind($id)
            .bind(kind.as_str())
            .bind(rid)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// The sources chosen for the computed indicators of a contract:
/// indicator id → (kind, referenced id).
pub async fn sources_of_contract(
    db: &Db,
    contract_id: i64,
) -> DbResult<HashMap<i64, Vec<(String, i64)>>> {
    let rows: Vec<(i64, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT s.indicator_id, s.kind, s.ref_id FROM indicator_sources s \
         JOIN indicators i ON i.id = s.indicator_id WHERE i.contract_id = $1 \
         ORDER BY s.indicator_id, s.kind, s.ref_id",
    )
    .bind(contract_id)
    .fetch_all(pool)
    .await?);
    let mut out: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    for (i, k, r) in rows {
        out.entry(i).or_default().push((k, r));
    }
    Ok(out)
}

/// What computed indicators of a territory may count, for a form's select:
/// (`series:12`, « Permanence — Titre »), by kind then title.
pub async fn source_ref_choices(db: &Db, territory_id: i64) -> DbResult<Vec<(String, String)>> {
    let rows: Vec<(String, i64, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT 'series', id, title FROM dropin_series WHERE territory_id = $1 \
         UNION ALL SELECT 'event', id, title FROM events WHERE territory_id = $1 \
         UNION ALL SELECT 'body', id, name FROM bodies WHERE territory_id = $1 \
         UNION ALL SELECT 'consultation', id, title FROM consultations WHERE territory_id = $1",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?);
    let mut out: Vec<(u8, String, String)> = rows
        .into_iter()
        .map(|(kind, id, title)| {
            let (rank, word) = match kind.as_str() {
                "series" => (0, "Permanence"),
                "event" => (1, "Événement"),
                "body" => (2, "Instance"),
                _ => (3, "Questionnaire"),
            };
            (rank, format!("{kind}:{id}"), format!("{word} — {title}"))
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
    Ok(out.into_iter().map(|(_, v, l)| (v, l)).collect())
}

/// Add an indicator to a contract, or to one of its actions.
pub async fn create(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: Option<i64>,
    i: &IndicatorInput,
) -> DbResult<Indicator> {
    let sql = format!(
        "INSERT INTO indicators (contract_id, action_id, kind, label, unit, baseline, target, target_on, created_at, \
         shared_indicator_id, source, period_start, period_end) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        if let Some(a) = action_id {
            let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM actions WHERE id = $1 AND contract_id = $2")
                .bind(a).bind(contract.id).fetch_optional(&mut *tx).await?;
            if ok.is_none() {
                return Err(DbError::NotFound);
            }
        }
        check_shared!(tx, i.shared_id);
        check_source_ref!(tx, contract.territory_id, i.source_ref);
        let row = sqlx::query_as::<_, Indicator>(&sql)
            .bind(contract.id)
            .bind(action_id)
            .bind(i.kind.as_str())
            .bind(&i.label)
            .bind(&i.unit)
            .bind(i.baseline)
            .bind(i.target)
            .bind(i.target_on.map(fmt_date))
            .bind(Utc::now())
            .bind(i.shared_id)
            .bind(i.source.code())
            .bind(i.period_start.map(fmt_date))
            .bind(i.period_end.map(fmt_date))
            .fetch_one(&mut *tx)
            .await?;
        set_source_ref!(tx, row.id, i.source_ref);
        let (entity, id) = match action_id { Some(a) => ("action", a), None => ("contract", contract.id) };
        audit!(tx, actor, Some(contract.territory_id), entity, id, "indicator", format!("Indicateur « {} » ajouté", i.label))?;
        tx.commit().await?;
        row
    }))
}

/// An indicator of a contract of the territory.
pub async fn get(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<(Contract, Indicator)>> {
    let sql = format!("SELECT {COLS} FROM indicators WHERE id = $1");
    let ind = db_run!(db, pool => sqlx::query_as::<_, Indicator>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    let Some(ind) = ind else { return Ok(None) };
    Ok(super::contract::get(db, territory_id, ind.contract_id)
        .await?
        .map(|c| (c, ind)))
}

pub async fn add_measurement(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    ind: &Indicator,
    m: &MeasurementInput,
) -> DbResult<Measurement> {
    let sql = format!(
        "INSERT INTO measurements (indicator_id, measured_on, value, source, comment) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {M_COLS}"
    );
    if ind.is_computed() {
        return Err(DbError::Conflict("computed".into()));
    }
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Measurement>(&sql)
            .bind(ind.id)
            .bind(fmt_date(m.measured_on))
            .bind(m.value)
            .bind(&m.source)
            .bind(&m.comment)
            .fetch_one(&mut *tx)
            .await?;
        let (entity, id) = match ind.action_id { Some(a) => ("action", a), None => ("contract", contract.id) };
        audit!(tx, actor, Some(contract.territory_id), entity, id, "measurement",
            format!("« {} » : {} au {}", ind.label, crate::domain::indicator::format_number(m.value), m.measured_on.format("%d/%m/%Y")))?;
        tx.commit().await?;
        row
    }))
}

pub async fn delete_measurement(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    ind: &Indicator,
    measurement_id: i64,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("DELETE FROM measurements WHERE id = $1 AND indicator_id = $2")
            .bind(measurement_id).bind(ind.id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        let (entity, id) = match ind.action_id { Some(a) => ("action", a), None => ("contract", contract.id) };
        audit!(tx, actor, Some(contract.territory_id), entity, id, "measurement", format!("« {} » : une mesure supprimée", ind.label))?;
        tx.commit().await?;
    });
    Ok(())
}

/// The indicators of a contract (all of its actions' too), by id.
pub async fn for_contract(db: &Db, contract_id: i64) -> DbResult<Vec<Indicator>> {
    let sql = format!("SELECT {COLS} FROM indicators WHERE contract_id = $1 ORDER BY id");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Indicator>(&sql)
        .bind(contract_id)
        .fetch_all(pool)
        .await?))
}

/// Every measurement of a contract's indicators, by indicator then date.
pub async fn measurements_of_contract(
    db: &Db,
    contract_id: i64,
) -> DbResult<HashMap<i64, Vec<Measurement>>> {
    let rows = db_run!(db, pool => sqlx::query_as::<_, Measurement>(
        "SELECT m.id, m.indicator_id, m.measured_on, m.value, m.source, m.comment FROM measurements m \
         JOIN indicators i ON i.id = m.indicator_id WHERE i.contract_id = $1 \
         ORDER BY m.indicator_id, m.measured_on, m.id",
    )
    .bind(contract_id)
    .fetch_all(pool)
    .await?);
    let mut out: HashMap<i64, Vec<Measurement>> = HashMap::new();
    for m in rows {
        out.entry(m.indicator_id).or_default().push(m);
    }
    Ok(out)
}

/// The measurements of a contract's own indicators (not its actions').
pub async fn measurements_of_contract_level(
    db: &Db,
    contract_id: i64,
) -> DbResult<HashMap<i64, Vec<Measurement>>> {
    let rows = db_run!(db, pool => sqlx::query_as::<_, Measurement>(
        "SELECT m.id, m.indicator_id, m.measured_on, m.value, m.source, m.comment FROM measurements m \
         JOIN indicators i ON i.id = m.indicator_id WHERE i.contract_id = $1 AND i.action_id IS NULL \
         ORDER BY m.indicator_id, m.measured_on, m.id",
    )
    .bind(contract_id)
    .fetch_all(pool)
    .await?);
    let mut out: HashMap<i64, Vec<Measurement>> = HashMap::new();
    for m in rows {
        out.entry(m.indicator_id).or_default().push(m);
    }
    Ok(out)
}

/// The latest measurement of each indicator of a contract.
pub async fn latest_of_contract(db: &Db, contract_id: i64) -> DbResult<HashMap<i64, Measurement>> {
    let rows = db_run!(db, pool => sqlx::query_as::<_, Measurement>(
        "SELECT m.id, m.indicator_id, m.measured_on, m.value, m.source, m.comment FROM measurements m \
         JOIN indicators i ON i.id = m.indicator_id WHERE i.contract_id = $1 \
         AND m.measured_on = (SELECT MAX(m2.measured_on) FROM measurements m2 WHERE m2.indicator_id = m.indicator_id) \
         ORDER BY m.id",
    )
    .bind(contract_id)
    .fetch_all(pool)
    .await?);
    Ok(rows.into_iter().map(|m| (m.indicator_id, m)).collect())
}

/// The indicators of one action with their measurements.
pub async fn for_action(db: &Db, action_id: i64) -> DbResult<Vec<(Indicator, Vec<Measurement>)>> {
    let sql = format!("SELECT {COLS} FROM indicators WHERE action_id = $1 ORDER BY id");
    let (inds, ms) = db_run!(db, pool => {
        let inds = sqlx::query_as::<_, Indicator>(&sql).bind(action_id).fetch_all(pool).await?;
        let ms = sqlx::query_as::<_, Measurement>(
            "SELECT m.id, m.indicator_id, m.measured_on, m.value, m.source, m.comment FROM measurements m \
             JOIN indicators i ON i.id = m.indicator_id WHERE i.action_id = $1 ORDER BY m.measured_on, m.id",
        ).bind(action_id).fetch_all(pool).await?;
        (inds, ms)
    });
    Ok(inds
        .into_iter()
        .map(|i| {
            let mine = ms
                .iter()
                .filter(|m| m.indicator_id == i.id)
                .cloned()
                .collect();
            (i, mine)
        })
        .collect())
}

/// Remove an indicator and its measurements.
pub async fn delete(db: &Db, actor: &Actor, contract: &Contract, ind: &Indicator) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM indicators WHERE id = $1 AND contract_id = $2")
            .bind(ind.id).bind(contract.id).execute(&mut *tx).await?;
        let (entity, id) = match ind.action_id { Some(a) => ("action", a), None => ("contract", contract.id) };
        audit!(tx, actor, Some(contract.territory_id), entity, id, "indicator", format!("Indicateur « {} » supprimé", ind.label))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Change an indicator's definition (its measurements stay).
pub async fn update(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    ind: &Indicator,
    i: &IndicatorInput,
) -> DbResult<Indicator> {
    let sql = format!(
        "UPDATE indicators SET kind = $1, label = $2, unit = $3, baseline = $4, target = $5, target_on = $6, \
         shared_indicator_id = $9, source = $10, period_start = $11, period_end = $12 \
         WHERE id = $7 AND contract_id = $8 RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        check_shared!(tx, i.shared_id);
        check_source_ref!(tx, contract.territory_id, i.source_ref);
        let row = sqlx::query_as::<_, Indicator>(&sql)
            .bind(i.kind.as_str())
            .bind(&i.label)
            .bind(&i.unit)
            .bind(i.baseline)
            .bind(i.target)
            .bind(i.target_on.map(fmt_date))
            .bind(ind.id)
            .bind(contract.id)
            .bind(i.shared_id)
            .bind(i.source.code())
            .bind(i.period_start.map(fmt_date))
            .bind(i.period_end.map(fmt_date))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Err(DbError::NotFound) };
        set_source_ref!(tx, row.id, i.source_ref);
        let (entity, id) = match ind.action_id { Some(a) => ("action", a), None => ("contract", contract.id) };
        audit!(tx, actor, Some(contract.territory_id), entity, id, "indicator", format!("Indicateur « {} » modifié", i.label))?;
        tx.commit().await?;
        row
    }))
}
