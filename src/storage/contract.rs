//! Contracts and their action plan: contracts with their signatories and
//! milestones, axes, objectives and actions. Codes are given automatically
//! from positions (axis `1`, objective `1.1`, action `1.1.1`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::audit::Actor;
use super::{Db, DbError, DbResult};
use crate::domain::contract::{code_sort_key, ActionInput, ContractInput};
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Contract {
    pub id: i64,
    pub territory_id: i64,
    pub kind: String,
    pub title: String,
    pub status: String,
    /// Calendar dates as `YYYY-MM-DD`.
    pub signed_on: Option<String>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub summary: String,
    /// One signatory per line.
    pub signatories: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contract {
    pub fn signatory_list(&self) -> Vec<&str> {
        self.signatories
            .lines()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Milestone {
    pub id: i64,
    pub contract_id: i64,
    pub happened_on: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Axis {
    pub id: i64,
    pub contract_id: i64,
    pub position: i64,
    pub code: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Objective {
    pub id: i64,
    pub contract_id: i64,
    pub axis_id: i64,
    pub position: i64,
    pub code: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Action {
    pub id: i64,
    pub contract_id: i64,
    pub objective_id: i64,
    pub position: i64,
    pub code: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub lead_org: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub findings: String,
    pub aims: String,
    pub publics: String,
    /// 0 to 100.
    pub progress: i64,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub lead_org_id: Option<i64>,
    pub lead_person_id: Option<i64>,
}

/// The whole action plan of a contract, sorted by code.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub axes: Vec<Axis>,
    pub objectives: Vec<Objective>,
    pub actions: Vec<Action>,
}

pub fn fmt_date(d: NaiveDate) -> String {
    crate::domain::dates::iso(d)
}

const COLS: &str = "id, territory_id, kind, title, status, signed_on, period_start, period_end, \
                    summary, signatories, version, created_at, updated_at";
pub(crate) const ACTION_COLS: &str =
    "id, contract_id, objective_id, position, code, title, description, status, lead_org, version, \
     created_at, updated_at, findings, aims, publics, progress, period_start, period_end, lead_org_id, \
     lead_person_id";

/// Every signatory is an organisation of the territory's partner directory:
/// add the missing ones (the ARS as such), inside the open transaction.
macro_rules! signatories_join_directory {
    ($tx:expr, $territory_id:expr, $signatories:expr) => {
        for name in $signatories.iter() {
            let kind = if crate::domain::contract::check_signatories(
                crate::domain::contract::ContractKind::Cls,
                std::slice::from_ref(name),
            )
            .is_ok()
            {
                "ars"
            } else {
                "other"
            };
            sqlx::query(
                "INSERT INTO organisations (territory_id, name, kind, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
            )
            .bind($territory_id)
            .bind(name)
            .bind(kind)
            .bind(Utc::now())
            .execute(&mut *$tx)
            .await?;
        }
    };
}

pub async fn create(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    c: &ContractInput,
) -> DbResult<Contract> {
    let sql = format!(
        "INSERT INTO contracts (territory_id, kind, title, status, signed_on, period_start, period_end, \
         summary, signatories, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Contract>(&sql)
            .bind(territory_id)
            .bind(c.kind.as_str())
            .bind(&c.title)
            .bind(c.status.as_str())
            .bind(c.signed_on.map(fmt_date))
            .bind(c.period_start.map(fmt_date))
            .bind(c.period_end.map(fmt_date))
            .bind(&c.summary)
            .bind(c.signatories.join("\n"))
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
        signatories_join_directory!(tx, territory_id, &c.signatories);
        audit!(tx, actor, Some(territory_id), "contract", row.id, "create", format!("Création du contrat « {} »", row.title))?;
        tx.commit().await?;
        row
    }))
}

/// Save a contract edited from `expected_version`; [`DbError::Stale`] if
/// someone saved in between (nothing is written then).
pub async fn update(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    expected_version: i64,
    c: &ContractInput,
) -> DbResult<Contract> {
    let sql = format!(
        "UPDATE contracts SET kind = $1, title = $2, status = $3, signed_on = $4, period_start = $5, \
         period_end = $6, summary = $7, signatories = $8, version = version + 1, updated_at = $9 \
         WHERE id = $10 AND territory_id = $11 AND version = $12 RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Contract>(&sql)
            .bind(c.kind.as_str())
            .bind(&c.title)
            .bind(c.status.as_str())
            .bind(c.signed_on.map(fmt_date))
            .bind(c.period_start.map(fmt_date))
            .bind(c.period_end.map(fmt_date))
            .bind(&c.summary)
            .bind(c.signatories.join("\n"))
            .bind(Utc::now())
            .bind(id)
            .bind(territory_id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(DbError::Stale);
        };
        signatories_join_directory!(tx, territory_id, &c.signatories);
        audit!(tx, actor, Some(territory_id), "contract", id, "update", format!("Contrat « {} » modifié", row.title))?;
        tx.commit().await?;
        row
    }))
}

/// A contract of a territory.
pub async fn get(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<Contract>> {
    let sql = format!("SELECT {COLS} FROM contracts WHERE id = $1 AND territory_id = $2");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Contract>(&sql)
        .bind(id)
        .bind(territory_id)
        .fetch_optional(pool)
        .await?))
}

/// A contract by its number, whatever its territory (the command line).
pub async fn by_id(db: &Db, id: i64) -> DbResult<Option<Contract>> {
    let sql = format!("SELECT {COLS} FROM contracts WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Contract>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// Every contract of the instance with its territory's slug and name, by
/// territory name then id (the open-data export).
pub async fn all_with_territory(db: &Db) -> DbResult<Vec<(String, String, Contract)>> {
    let sql =
        "SELECT t.slug, t.name, c.id FROM contracts c JOIN territories t ON t.id = c.territory_id \
               ORDER BY t.name, c.id";
    let ids: Vec<(String, String, i64)> =
        db_run!(db, pool => sqlx::query_as(sql).fetch_all(pool).await?);
    let all_sql = format!("SELECT {COLS} FROM contracts");
    let contracts: Vec<Contract> =
        db_run!(db, pool => sqlx::query_as::<_, Contract>(&all_sql).fetch_all(pool).await?);
    let mut by_id: std::collections::HashMap<i64, Contract> =
        contracts.into_iter().map(|c| (c.id, c)).collect();
    Ok(ids
        .into_iter()
        .filter_map(|(slug, name, id)| by_id.remove(&id).map(|c| (slug, name, c)))
        .collect())
}

/// The contracts of a territory, newest first.
pub async fn list(db: &Db, territory_id: i64) -> DbResult<Vec<Contract>> {
    let sql = format!("SELECT {COLS} FROM contracts WHERE territory_id = $1 ORDER BY id DESC");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Contract>(&sql)
        .bind(territory_id)
        .fetch_all(pool)
        .await?))
}

pub async fn add_milestone(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    happened_on: NaiveDate,
    label: &str,
) -> DbResult<Milestone> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let m = sqlx::query_as::<_, Milestone>(
            "INSERT INTO contract_milestones (contract_id, happened_on, label) VALUES ($1, $2, $3) \
             RETURNING id, contract_id, happened_on, label",
        )
        .bind(contract.id)
        .bind(fmt_date(happened_on))
        .bind(label)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "milestone", format!("Étape « {label} » ajoutée"))?;
        tx.commit().await?;
        m
    }))
}

pub async fn milestones(db: &Db, contract_id: i64) -> DbResult<Vec<Milestone>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Milestone>(
        "SELECT id, contract_id, happened_on, label FROM contract_milestones \
         WHERE contract_id = $1 ORDER BY happened_on, id",
    )
    .bind(contract_id)
    .fetch_all(pool)
    .await?))
}

/// Add an axis at the end of the plan; its code is its position (`3`).
pub async fn add_axis(db: &Db, actor: &Actor, contract: &Contract, title: &str) -> DbResult<Axis> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let position: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS BIGINT) FROM axes WHERE contract_id = $1",
        )
        .bind(contract.id)
        .fetch_one(&mut *tx)
        .await?;
        let code = position.to_string();
        let a = sqlx::query_as::<_, Axis>(
            "INSERT INTO axes (contract_id, position, code, title) VALUES ($1, $2, $3, $4) \
             RETURNING id, contract_id, position, code, title",
        )
        .bind(contract.id)
        .bind(position)
        .bind(&code)
        .bind(title)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "axis", format!("Axe {code} « {title} » ajouté"))?;
        tx.commit().await?;
        a
    }))
}

/// Add an objective at the end of an axis of `contract` (code `2.3`).
pub async fn add_objective(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    axis_id: i64,
    title: &str,
) -> DbResult<Objective> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let axis_code: Option<String> = sqlx::query_scalar("SELECT code FROM axes WHERE id = $1 AND contract_id = $2")
            .bind(axis_id)
            .bind(contract.id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(axis_code) = axis_code else {
            return Err(DbError::NotFound);
        };
        let position: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS BIGINT) FROM objectives WHERE axis_id = $1",
        )
        .bind(axis_id)
        .fetch_one(&mut *tx)
        .await?;
        let code = format!("{axis_code}.{position}");
        let o = sqlx::query_as::<_, Objective>(
            "INSERT INTO objectives (contract_id, axis_id, position, code, title) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, contract_id, axis_id, position, code, title",
        )
        .bind(contract.id)
        .bind(axis_id)
        .bind(position)
        .bind(&code)
        .bind(title)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "objective", format!("Objectif {code} « {title} » ajouté"))?;
        tx.commit().await?;
        o
    }))
}

/// Add an action at the end of an objective of `contract` (code `2.3.1`).
pub async fn add_action(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    objective_id: i64,
    a: &ActionInput,
) -> DbResult<Action> {
    let sql = format!(
        "INSERT INTO actions (contract_id, objective_id, position, code, title, description, status, lead_org, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {ACTION_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let objective_code: Option<String> = sqlx::query_scalar("SELECT code FROM objectives WHERE id = $1 AND contract_id = $2")
            .bind(objective_id)
            .bind(contract.id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(objective_code) = objective_code else {
            return Err(DbError::NotFound);
        };
        let position: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS BIGINT) FROM actions WHERE objective_id = $1",
        )
        .bind(objective_id)
        .fetch_one(&mut *tx)
        .await?;
        let code = format!("{objective_code}.{position}");
        let row = sqlx::query_as::<_, Action>(&sql)
            .bind(contract.id)
            .bind(objective_id)
            .bind(position)
            .bind(&code)
            .bind(&a.title)
            .bind(&a.description)
            .bind(a.status.as_str())
            .bind(&a.lead_org)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
        // The lead organisation typed by name joins the partner directory.
        let mut row = row;
        if !a.lead_org.is_empty() {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM organisations WHERE territory_id = $1 AND name = $2",
            )
            .bind(contract.territory_id)
            .bind(&a.lead_org)
            .fetch_optional(&mut *tx)
            .await?;
            let org_id: i64 = match existing {
                Some(id) => id,
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO organisations (territory_id, name, kind, created_at, updated_at) \
                         VALUES ($1, $2, 'other', $3, $3) RETURNING id",
                    )
                    .bind(contract.territory_id)
                    .bind(&a.lead_org)
                    .bind(Utc::now())
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            sqlx::query("UPDATE actions SET lead_org_id = $1 WHERE id = $2")
                .bind(org_id)
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
            row.lead_org_id = Some(org_id);
        }
        sqlx::query(
            "INSERT INTO action_status_history (action_id, status, progress, changed_at, changed_by) \
             VALUES ($1, $2, 0, $3, $4)",
        )
        .bind(row.id)
        .bind(a.status.as_str())
        .bind(Utc::now())
        .bind(&actor.label)
        .execute(&mut *tx)
        .await?;
        audit!(tx, actor, Some(contract.territory_id), "action", row.id, "create", format!("Action {code} « {} » ajoutée", a.title))?;
        tx.commit().await?;
        row
    }))
}

/// Save an action edited from `expected_version` ([`DbError::Stale`] if
/// someone saved in between).
pub async fn update_action(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    expected_version: i64,
    a: &ActionInput,
) -> DbResult<Action> {
    let sql = format!(
        "UPDATE actions SET title = $1, description = $2, status = $3, lead_org = $4, version = version + 1, \
         updated_at = $5 WHERE id = $6 AND contract_id = $7 AND version = $8 RETURNING {ACTION_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Action>(&sql)
            .bind(&a.title)
            .bind(&a.description)
            .bind(a.status.as_str())
            .bind(&a.lead_org)
            .bind(Utc::now())
            .bind(action_id)
            .bind(contract.id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(DbError::Stale);
        };
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "update", format!("Action {} modifiée ({})", row.code, a.status.label()))?;
        tx.commit().await?;
        row
    }))
}

/// The axes, objectives and actions of a contract, in the plan's order.
pub async fn plan(db: &Db, contract_id: i64) -> DbResult<Plan> {
    let sql = format!("SELECT {ACTION_COLS} FROM actions WHERE contract_id = $1");
    let mut p = db_run!(db, pool => Plan {
        axes: sqlx::query_as::<_, Axis>(
            "SELECT id, contract_id, position, code, title FROM axes WHERE contract_id = $1",
        )
        .bind(contract_id)
        .fetch_all(pool)
        .await?,
        objectives: sqlx::query_as::<_, Objective>(
            "SELECT id, contract_id, axis_id, position, code, title FROM objectives WHERE contract_id = $1",
        )
        .bind(contract_id)
        .fetch_all(pool)
        .await?,
        actions: sqlx::query_as::<_, Action>(&sql)
            .bind(contract_id)
            .fetch_all(pool)
            .await?,
    });
    p.sort();
    Ok(p)
}

impl Plan {
    /// The plan's order is the positions' (codes may lag behind after a
    /// move in a published contract), codes breaking ties.
    pub fn sort(&mut self) {
        let p = self;
        p.axes.sort_by_key(|a| (a.position, code_sort_key(&a.code)));
        let axis_pos: std::collections::HashMap<i64, i64> =
            p.axes.iter().map(|a| (a.id, a.position)).collect();
        p.objectives.sort_by_key(|o| {
            (
                axis_pos.get(&o.axis_id).copied().unwrap_or(i64::MAX),
                o.position,
                code_sort_key(&o.code),
            )
        });
        let objective_pos: std::collections::HashMap<i64, (i64, i64)> = p
            .objectives
            .iter()
            .map(|o| {
                let axis = axis_pos.get(&o.axis_id).copied().unwrap_or(i64::MAX);
                (o.id, (axis, o.position))
            })
            .collect();
        p.actions.sort_by_key(|a| {
            let (axis, objective) = objective_pos
                .get(&a.objective_id)
                .copied()
                .unwrap_or((i64::MAX, i64::MAX));
            (axis, objective, a.position, code_sort_key(&a.code))
        });
    }
}

/// The action with `code` in the territory's most recent contract that has one.
pub async fn action_by_code(
    db: &Db,
    territory_id: i64,
    code: &str,
) -> DbResult<Option<(Contract, Action)>> {
    let cols = ACTION_COLS
        .split(", ")
        .map(|c| format!("a.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols} FROM actions a JOIN contracts c ON c.id = a.contract_id \
         WHERE c.territory_id = $1 AND a.code = $2 ORDER BY c.id DESC LIMIT 1"
    );
    let action = db_run!(db, pool => sqlx::query_as::<_, Action>(&sql)
        .bind(territory_id)
        .bind(code)
        .fetch_optional(pool)
        .await?);
    let Some(action) = action else {
        return Ok(None);
    };
    let contract = get(db, territory_id, action.contract_id)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(Some((contract, action)))
}

/// Renumber inside an open transaction: codes first move out of the way
/// (`~id`), then take their positions' values, so the unique constraint
/// holds at every step.
macro_rules! renumber_body {
    ($tx:expr, $contract_id:expr) => {{
        for table in ["axes", "objectives", "actions"] {
            sqlx::query(&format!(
                "UPDATE {table} SET code = '~' || CAST(id AS TEXT) WHERE contract_id = $1"
            ))
            .bind($contract_id)
            .execute(&mut **$tx)
            .await?;
        }
        let axes: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM axes WHERE contract_id = $1 ORDER BY position, id")
                .bind($contract_id)
                .fetch_all(&mut **$tx)
                .await?;
        for (ai, (axis_id,)) in axes.iter().enumerate() {
            let axis_code = (ai + 1).to_string();
            sqlx::query("UPDATE axes SET code = $1, position = $2 WHERE id = $3")
                .bind(&axis_code)
                .bind(ai as i64 + 1)
                .bind(axis_id)
                .execute(&mut **$tx)
                .await?;
            let objectives: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM objectives WHERE axis_id = $1 ORDER BY position, id",
            )
            .bind(axis_id)
            .fetch_all(&mut **$tx)
            .await?;
            for (oi, (objective_id,)) in objectives.iter().enumerate() {
                let objective_code = format!("{axis_code}.{}", oi + 1);
                sqlx::query("UPDATE objectives SET code = $1, position = $2 WHERE id = $3")
                    .bind(&objective_code)
                    .bind(oi as i64 + 1)
                    .bind(objective_id)
                    .execute(&mut **$tx)
                    .await?;
                let actions: Vec<(i64,)> = sqlx::query_as(
                    "SELECT id FROM actions WHERE objective_id = $1 ORDER BY position, id",
                )
                .bind(objective_id)
                .fetch_all(&mut **$tx)
                .await?;
                for (xi, (action_id,)) in actions.iter().enumerate() {
                    sqlx::query("UPDATE actions SET code = $1, position = $2 WHERE id = $3")
                        .bind(format!("{objective_code}.{}", xi + 1))
                        .bind(xi as i64 + 1)
                        .bind(action_id)
                        .execute(&mut **$tx)
                        .await?;
                }
            }
        }
        Ok::<(), DbError>(())
    }};
}

/// A level of the action plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Axis,
    Objective,
    Action,
}

impl Level {
    fn table(self) -> &'static str {
        match self {
            Level::Axis => "axes",
            Level::Objective => "objectives",
            Level::Action => "actions",
        }
    }
    fn parent(self) -> &'static str {
        match self {
            Level::Axis => "contract_id",
            Level::Objective => "axis_id",
            Level::Action => "objective_id",
        }
    }
}

/// Move an axis, objective or action one place up or down among its
/// siblings. Codes change only when `renumber` is true (a contract in
/// preparation; a published contract keeps its codes until the coordinator
/// renumbers explicitly). Returns false when there is nothing to swap with.
pub async fn move_item(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    level: Level,
    id: i64,
    up: bool,
    renumber: bool,
) -> DbResult<bool> {
    let (table, parent) = (level.table(), level.parent());
    let moved = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row: Option<(i64, i64, String)> = sqlx::query_as(&format!(
            "SELECT position, {parent}, code FROM {table} WHERE id = $1 AND contract_id = $2"
        ))
        .bind(id).bind(contract.id).fetch_optional(&mut *tx).await?;
        let Some((position, parent_id, code)) = row else { return Err(DbError::NotFound) };
        let (cmp, order) = if up { ("<", "DESC") } else { (">", "ASC") };
        let other: Option<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT id, position FROM {table} WHERE {parent} = $1 AND contract_id = $2 AND position {cmp} $3 \
             ORDER BY position {order} LIMIT 1"
        ))
        .bind(parent_id).bind(contract.id).bind(position).fetch_optional(&mut *tx).await?;
        let Some((other_id, other_position)) = other else {
            return Ok(false);
        };
        sqlx::query(&format!("UPDATE {table} SET position = $1 WHERE id = $2"))
            .bind(other_position).bind(id).execute(&mut *tx).await?;
        sqlx::query(&format!("UPDATE {table} SET position = $1 WHERE id = $2"))
            .bind(position).bind(other_id).execute(&mut *tx).await?;
        if renumber {
            renumber_body!(&mut tx, contract.id)?;
        }
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "reorder",
            format!("{code} déplacé vers le {}{}", if up { "haut" } else { "bas" }, if renumber { ", codes renumérotés" } else { "" }))?;
        tx.commit().await?;
        true
    });
    Ok(moved)
}

/// Give every axis, objective and action the code of its position.
pub async fn renumber(db: &Db, actor: &Actor, contract: &Contract) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        renumber_body!(&mut tx, contract.id)?;
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "renumber", "Codes du plan renumérotés".to_owned())?;
        tx.commit().await?;
    });
    Ok(())
}

/// Remove a milestone of the contract's history.
pub async fn delete_milestone(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    milestone_id: i64,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let label: Option<String> = sqlx::query_scalar(
            "DELETE FROM contract_milestones WHERE id = $1 AND contract_id = $2 RETURNING label",
        )
        .bind(milestone_id).bind(contract.id).fetch_optional(&mut *tx).await?;
        let Some(label) = label else { return Err(DbError::NotFound) };
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "milestone", format!("Étape « {label} » supprimée"))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Rename an axis or an objective (an action is renamed from its fiche).
pub async fn rename(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    level: Level,
    id: i64,
    title: &str,
) -> DbResult<()> {
    let table = level.table();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let code: Option<String> = sqlx::query_scalar(&format!(
            "UPDATE {table} SET title = $1 WHERE id = $2 AND contract_id = $3 RETURNING code"
        ))
        .bind(title).bind(id).bind(contract.id).fetch_optional(&mut *tx).await?;
        let Some(code) = code else { return Err(DbError::NotFound) };
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "rename", format!("{code} renommé « {title} »"))?;
        tx.commit().await?;
    });
    Ok(())
}
