//! Changes a lead partner proposes to what the coordination decides: a
//! budget line added or removed, an indicator's baseline or target, the lead
//! organisation or person. The coordinator accepts (the change is applied in
//! the same transaction as the decision, with the audit trail) or refuses
//! with a reason that the partner reads on the fiche.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::audit::Actor;
use super::contract::{fmt_date, Contract};
use super::{Db, DbError, DbResult};
use crate::domain::budget::{format_euros, BudgetLineRaw};
use crate::domain::indicator::IndicatorRaw;
use crate::{audit, db_run};

/// What a proposal would change, stored as JSON (`change_proposals.payload`).
/// Forms are kept as typed and parsed again when the change is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    BudgetAdd {
        line: BudgetLineRaw,
    },
    BudgetDelete {
        line_id: i64,
    },
    /// A new indicator (`indicator_id` none) or a new definition of one,
    /// whose baseline or target differs.
    Indicator {
        indicator_id: Option<i64>,
        definition: IndicatorRaw,
    },
    Lead {
        lead_org_id: Option<i64>,
        lead_person_id: Option<i64>,
    },
}

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::BudgetAdd { .. } => "budget_add",
            Change::BudgetDelete { .. } => "budget_delete",
            Change::Indicator { .. } => "indicator",
            Change::Lead { .. } => "lead",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalStatus {
    Pending,
    Accepted,
    Refused,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Accepted => "accepted",
            ProposalStatus::Refused => "refused",
        }
    }
    pub fn label_of(code: &str) -> &'static str {
        match code {
            "accepted" => "acceptée",
            "refused" => "refusée",
            _ => "en attente de la coordination",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Proposal {
    pub id: i64,
    pub territory_id: i64,
    pub action_id: i64,
    pub author_id: Option<i64>,
    pub author: String,
    pub kind: String,
    /// The change in words (« Ligne de budget : ARS 2025, 1 500,00 € »).
    pub summary: String,
    pub payload: String,
    pub status: String,
    pub reason: String,
    pub decided_by: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl Proposal {
    pub fn change(&self) -> DbResult<Change> {
        serde_json::from_str(&self.payload)
            .map_err(|e| DbError::Other(anyhow::anyhow!("proposal {}: {e}", self.id)))
    }
    pub fn is_pending(&self) -> bool {
        self.status == ProposalStatus::Pending.as_str()
    }
}

const COLS: &str =
    "id, territory_id, action_id, author_id, author, kind, summary, payload, status, reason, \
                    decided_by, created_at, decided_at, version";

/// Record a proposal on an action of `contract` (the caller has checked
/// that the actor leads it).
pub async fn propose(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    change: &Change,
    summary: &str,
) -> DbResult<Proposal> {
    let payload = serde_json::to_string(change).map_err(|e| DbError::Other(e.into()))?;
    let sql = format!(
        "INSERT INTO change_proposals (territory_id, action_id, author_id, author, kind, summary, payload, created_at) \
         SELECT $1, id, $3, $4, $5, $6, $7, $8 FROM actions WHERE id = $2 AND contract_id = $9 RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Proposal>(&sql)
            .bind(contract.territory_id)
            .bind(action_id)
            .bind(actor.user_id)
            .bind(&actor.label)
            .bind(change.kind())
            .bind(summary)
            .bind(&payload)
            .bind(Utc::now())
            .bind(contract.id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Err(DbError::NotFound) };
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "proposal",
            format!("Proposition n° {} : {summary}", row.id))?;
        tx.commit().await?;
        row
    }))
}

/// A proposal of the territory.
pub async fn get(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<Proposal>> {
    let sql = format!("SELECT {COLS} FROM change_proposals WHERE id = $1 AND territory_id = $2");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Proposal>(&sql)
        .bind(id).bind(territory_id).fetch_optional(pool).await?))
}

/// The proposals on an action: pending first, then the latest decisions.
pub async fn for_action(db: &Db, action_id: i64) -> DbResult<Vec<Proposal>> {
    let sql = format!(
        "SELECT {COLS} FROM change_proposals WHERE action_id = $1 \
         ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, created_at DESC, id DESC"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Proposal>(&sql)
        .bind(action_id).fetch_all(pool).await?))
}

/// A territory's proposals with their action's code and title: pending
/// first (oldest first), then up to `decided` latest decisions.
pub async fn for_territory(
    db: &Db,
    territory_id: i64,
    decided: i64,
) -> DbResult<Vec<(Proposal, String, String)>> {
    let cols = COLS
        .split(", ")
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let pending = format!(
        "SELECT {cols}, a.code, a.title FROM change_proposals p JOIN actions a ON a.id = p.action_id \
         WHERE p.territory_id = $1 AND p.status = 'pending' ORDER BY p.created_at, p.id"
    );
    let done = format!(
        "SELECT {cols}, a.code, a.title FROM change_proposals p JOIN actions a ON a.id = p.action_id \
         WHERE p.territory_id = $1 AND p.status <> 'pending' ORDER BY p.decided_at DESC, p.id DESC LIMIT $2"
    );
    Ok(db_run!(db, pool => {
        let mut out = Vec::new();
        for (sql, limit) in [(&pending, None), (&done, Some(decided))] {
            let mut q = sqlx::query(sql).bind(territory_id);
            if let Some(l) = limit {
                q = q.bind(l);
            }
            for row in q.fetch_all(pool).await? {
                use sqlx::{FromRow, Row};
                let p = Proposal::from_row(&row)?;
                let code: String = row.try_get("code")?;
                let title: String = row.try_get("title")?;
                out.push((p, code, title));
            }
        }
        out
    }))
}

/// Accept a pending proposal: the change is applied in the same
/// transaction. [`DbError::Stale`] when it was decided or changed since the
/// page was shown; [`DbError::Conflict`] when the change no longer fits
/// (`budget_line` removed since, `funder_id`, `lead_org_id`,
/// `lead_person_id` no longer in the directory, `indicator` removed,
/// `payload` unreadable).
pub async fn accept(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    id: i64,
    expected_version: i64,
) -> DbResult<Proposal> {
    decide(
        db,
        actor,
        contract,
        id,
        expected_version,
        ProposalStatus::Accepted,
        "",
    )
    .await
}

/// Refuse a pending proposal with a reason the partner will read.
pub async fn refuse(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    id: i64,
    expected_version: i64,
    reason: &str,
) -> DbResult<Proposal> {
    decide(
        db,
        actor,
        contract,
        id,
        expected_version,
        ProposalStatus::Refused,
        reason,
    )
    .await
}

async fn decide(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    id: i64,
    expected_version: i64,
    status: ProposalStatus,
    reason: &str,
) -> DbResult<Proposal> {
    let t = contract.territory_id;
    let sql = format!(
        "UPDATE change_proposals SET status = $1, reason = $2, decided_by = $3, decided_at = $4, version = version + 1 \
         WHERE id = $5 AND territory_id = $6 AND status = 'pending' AND version = $7 \
         AND action_id IN (SELECT id FROM actions WHERE contract_id = $8) RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let now = Utc::now();
        let row = sqlx::query_as::<_, Proposal>(&sql)
            .bind(status.as_str()).bind(reason).bind(&actor.label).bind(now)
            .bind(id).bind(t).bind(expected_version).bind(contract.id)
            .fetch_optional(&mut *tx).await?;
        let Some(p) = row else { return Err(DbError::Stale) };
        let action_id = p.action_id;
        if status == ProposalStatus::Accepted {
            let change: Change = serde_json::from_str(&p.payload)
                .map_err(|_| DbError::Conflict("payload".into()))?;
            match change {
                Change::BudgetAdd { line } => {
                    let b = line.parse().map_err(|_| DbError::Conflict("payload".into()))?;
                    let funder = match b.funder_id {
                        Some(fid) => {
                            let name: Option<String> = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1 AND territory_id = $2")
                                .bind(fid).bind(t).fetch_optional(&mut *tx).await?;
                            match name {
                                Some(n) => n,
                                None => return Err(DbError::Conflict("funder_id".into())),
                            }
                        }
                        None => b.funder.clone(),
                    };
                    sqlx::query(
                        "INSERT INTO budget_lines (action_id, funder_id, funder, year, amount_cents, note, committed_cents, spent_cents) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(action_id).bind(b.funder_id).bind(&funder).bind(i64::from(b.year)).bind(b.amount_cents).bind(&b.note)
                    .bind(b.committed_cents).bind(b.spent_cents)
                    .execute(&mut *tx).await?;
                    audit!(tx, actor, Some(t), "action", action_id, "budget",
                        format!("Financement {funder} {} ajouté ({}), proposition n° {id}", b.year, format_euros(b.amount_cents)))?;
                }
                Change::BudgetDelete { line_id } => {
                    let n = sqlx::query("DELETE FROM budget_lines WHERE id = $1 AND action_id = $2")
                        .bind(line_id).bind(action_id).execute(&mut *tx).await?.rows_affected();
                    if n == 0 {
                        return Err(DbError::Conflict("budget_line".into()));
                    }
                    audit!(tx, actor, Some(t), "action", action_id, "budget",
                        format!("Ligne de budget n° {line_id} supprimée, proposition n° {id}"))?;
                }
                Change::Indicator { indicator_id, definition } => {
                    let i = definition.parse().map_err(|_| DbError::Conflict("payload".into()))?;
                    match indicator_id {
                        Some(ind) => {
                            let n = sqlx::query(
                                "UPDATE indicators SET kind = $1, label = $2, unit = $3, baseline = $4, target = $5, target_on = $6 \
                                 WHERE id = $7 AND action_id = $8",
                            )
                            .bind(i.kind.as_str()).bind(&i.label).bind(&i.unit).bind(i.baseline).bind(i.target)
                            .bind(i.target_on.map(fmt_date)).bind(ind).bind(action_id)
                            .execute(&mut *tx).await?.rows_affected();
                            if n == 0 {
                                return Err(DbError::Conflict("indicator".into()));
                            }
                        }
                        None => {
                            sqlx::query(
                                "INSERT INTO indicators (contract_id, action_id, kind, label, unit, baseline, target, target_on, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            )
                            .bind(contract.id).bind(action_id).bind(i.kind.as_str()).bind(&i.label).bind(&i.unit)
                            .bind(i.baseline).bind(i.target).bind(i.target_on.map(fmt_date)).bind(now)
                            .execute(&mut *tx).await?;
                        }
                    }
                    audit!(tx, actor, Some(t), "action", action_id, "indicator",
                        format!("Indicateur « {} » : cible fixée, proposition n° {id}", i.label))?;
                }
                Change::Lead { lead_org_id, lead_person_id } => {
                    if let Some(o) = lead_org_id {
                        let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1 AND territory_id = $2")
                            .bind(o).bind(t).fetch_optional(&mut *tx).await?;
                        if ok.is_none() {
                            return Err(DbError::Conflict("lead_org_id".into()));
                        }
                    }
                    if let Some(pid) = lead_person_id {
                        let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE id = $1 AND territory_id = $2")
                            .bind(pid).bind(t).fetch_optional(&mut *tx).await?;
                        if ok.is_none() {
                            return Err(DbError::Conflict("lead_person_id".into()));
                        }
                    }
                    sqlx::query(
                        "UPDATE actions SET lead_org_id = $1, lead_person_id = $2, \
                         lead_org = COALESCE((SELECT name FROM organisations WHERE id = $1), ''), \
                         version = version + 1, updated_at = $3 WHERE id = $4",
                    )
                    .bind(lead_org_id).bind(lead_person_id).bind(now).bind(action_id)
                    .execute(&mut *tx).await?;
                    audit!(tx, actor, Some(t), "action", action_id, "update",
                        format!("Pilotage changé, proposition n° {id}"))?;
                }
            }
        }
        let what = if status == ProposalStatus::Accepted { "acceptée" } else { "refusée" };
        audit!(tx, actor, Some(t), "action", action_id, "proposal",
            format!("Proposition n° {id} {what} : {}", p.summary))?;
        tx.commit().await?;
        p
    }))
}
