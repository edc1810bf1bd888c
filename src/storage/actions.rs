//! A fiche action in full: its partners, themes, scope, links, timetable,
//! status history and budget lines, saved together in one transaction.
//! Also the bulk loader used by the filtered lists and the exports.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::Actor;
use super::contract::{fmt_date, Action, Contract, ACTION_COLS};
use super::partners::Person;
use super::{Db, DbError, DbResult};
use crate::domain::budget::BudgetLineInput;
use crate::domain::contract::{FicheInput, Step};
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StepRow {
    pub id: i64,
    pub action_id: i64,
    pub position: i64,
    pub due_on: Option<String>,
    pub label: String,
    pub done: bool,
}

impl StepRow {
    pub fn step(&self) -> Step {
        Step {
            due_on: self
                .due_on
                .as_deref()
                .and_then(crate::domain::dates::iso_date),
            label: self.label.clone(),
            done: self.done,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StatusChange {
    pub id: i64,
    pub action_id: i64,
    pub status: String,
    pub progress: i64,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct BudgetLine {
    pub id: i64,
    pub action_id: i64,
    pub funder_id: Option<i64>,
    pub funder: String,
    pub year: i64,
    pub amount_cents: i64,
    pub note: String,
    /// Committed (« engagé »), `None` while not entered.
    pub committed_cents: Option<i64>,
    /// Spent (« réalisé »), `None` while not entered.
    pub spent_cents: Option<i64>,
}

/// The related rows of a set of actions, keyed by action id.
#[derive(Debug, Clone, Default)]
pub struct Related {
    /// (organisation id, name)
    pub partners: HashMap<i64, Vec<(i64, String)>>,
    pub themes: HashMap<i64, Vec<String>>,
    /// (kind, code)
    pub scope: HashMap<i64, Vec<(String, String)>>,
    /// Linked action ids (both directions).
    pub links: HashMap<i64, Vec<i64>>,
    pub steps: HashMap<i64, Vec<StepRow>>,
    pub budget: HashMap<i64, Vec<BudgetLine>>,
    /// Lead people by person id.
    pub people: HashMap<i64, Person>,
    /// The communes of each QPV named in a scope.
    pub qpv_communes: HashMap<String, Vec<String>>,
}

impl Related {
    pub fn partners_of(&self, id: i64) -> &[(i64, String)] {
        self.partners.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn themes_of(&self, id: i64) -> &[String] {
        self.themes.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn scope_of(&self, id: i64) -> &[(String, String)] {
        self.scope.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn links_of(&self, id: i64) -> &[i64] {
        self.links.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn steps_of(&self, id: i64) -> &[StepRow] {
        self.steps.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn budget_of(&self, id: i64) -> &[BudgetLine] {
        self.budget.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn budget_total(&self, id: i64) -> i64 {
        self.budget_of(id).iter().map(|b| b.amount_cents).sum()
    }
}

fn group<T>(rows: Vec<(i64, T)>) -> HashMap<i64, Vec<T>> {
    let mut m: HashMap<i64, Vec<T>> = HashMap::new();
    for (k, v) in rows {
        m.entry(k).or_default().push(v);
    }
    m
}

/// The related rows of every action of a contract (a fixed number of queries,
/// whatever the size of the plan).
pub async fn related(db: &Db, contract_id: i64) -> DbResult<Related> {
    let (partners, themes, scope, links, steps, budget, people, qpv) = db_run!(db, pool => {
        let partners: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT ap.action_id, o.id, o.name FROM action_partners ap \
             JOIN organisations o ON o.id = ap.organisation_id \
             JOIN actions a ON a.id = ap.action_id WHERE a.contract_id = $1 ORDER BY o.name",
        ).bind(contract_id).fetch_all(pool).await?;
        let themes: Vec<(i64, String)> = sqlx::query_as(
            "SELECT t.action_id, t.theme FROM action_themes t JOIN actions a ON a.id = t.action_id \
             WHERE a.contract_id = $1 ORDER BY t.theme",
        ).bind(contract_id).fetch_all(pool).await?;
        let scope: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT s.action_id, s.kind, s.code FROM action_scope s JOIN actions a ON a.id = s.action_id \
             WHERE a.contract_id = $1 ORDER BY s.kind, s.code",
        ).bind(contract_id).fetch_all(pool).await?;
        let links: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT l.action_id, l.linked_id FROM action_links l JOIN actions a ON a.id = l.action_id \
             WHERE a.contract_id = $1",
        ).bind(contract_id).fetch_all(pool).await?;
        let steps: Vec<StepRow> = sqlx::query_as(
            "SELECT s.id, s.action_id, s.position, s.due_on, s.label, s.done FROM action_steps s \
             JOIN actions a ON a.id = s.action_id WHERE a.contract_id = $1 ORDER BY s.position",
        ).bind(contract_id).fetch_all(pool).await?;
        let budget: Vec<BudgetLine> = sqlx::query_as(
            "SELECT b.id, b.action_id, b.funder_id, b.funder, b.year, b.amount_cents, b.note, b.committed_cents, b.spent_cents FROM budget_lines b \
             JOIN actions a ON a.id = b.action_id WHERE a.contract_id = $1 ORDER BY b.year, b.funder, b.id",
        ).bind(contract_id).fetch_all(pool).await?;
        let people: Vec<Person> = sqlx::query_as(
            "SELECT p.id, p.territory_id, p.organisation_id, p.full_name, p.job_title, p.email, p.phone, \
             p.consent_on, p.public_contact, p.user_id, p.version, p.created_at, p.updated_at FROM people p \
             WHERE p.id IN (SELECT lead_person_id FROM actions WHERE contract_id = $1)",
        ).bind(contract_id).fetch_all(pool).await?;
        let qpv: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT q.qpv_code, q.insee_code FROM qpv_communes q \
             JOIN action_scope s ON s.kind = 'qpv' AND s.code = q.qpv_code \
             JOIN actions a ON a.id = s.action_id WHERE a.contract_id = $1",
        ).bind(contract_id).fetch_all(pool).await?;
        (partners, themes, scope, links, steps, budget, people, qpv)
    });
    let mut link_pairs = Vec::with_capacity(links.len() * 2);
    for (a, b) in links {
        link_pairs.push((a, b));
        link_pairs.push((b, a));
    }
    Ok(Related {
        partners: group(partners.into_iter().map(|(a, o, n)| (a, (o, n))).collect()),
        themes: group(themes),
        scope: group(scope.into_iter().map(|(a, k, c)| (a, (k, c))).collect()),
        links: group(link_pairs),
        steps: group(steps.into_iter().map(|s| (s.action_id, s)).collect()),
        budget: group(budget.into_iter().map(|b| (b.action_id, b)).collect()),
        people: people.into_iter().map(|p| (p.id, p)).collect(),
        qpv_communes: {
            let mut m: HashMap<String, Vec<String>> = HashMap::new();
            for (q, c) in qpv {
                m.entry(q).or_default().push(c);
            }
            m
        },
    })
}

/// The status history of an action, oldest first.
pub async fn history(db: &Db, action_id: i64) -> DbResult<Vec<StatusChange>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, StatusChange>(
        "SELECT id, action_id, status, progress, changed_at, changed_by FROM action_status_history \
         WHERE action_id = $1 ORDER BY changed_at, id",
    )
    .bind(action_id)
    .fetch_all(pool)
    .await?))
}

/// An action of a territory by id, with its contract.
pub async fn get(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<(Contract, Action)>> {
    let sql = format!("SELECT {ACTION_COLS} FROM actions WHERE id = $1");
    let action = db_run!(db, pool => sqlx::query_as::<_, Action>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    let Some(action) = action else {
        return Ok(None);
    };
    match super::contract::get(db, territory_id, action.contract_id).await? {
        Some(c) => Ok(Some((c, action))),
        None => Ok(None),
    }
}

/// May this account edit the action? Yes when the action's lead person is
/// linked to the account (coordinators are checked by the caller).
pub async fn leads(db: &Db, user_id: i64, action_id: i64) -> DbResult<bool> {
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM actions a JOIN people p ON p.id = a.lead_person_id \
         WHERE a.id = $1 AND p.user_id = $2",
    )
    .bind(action_id)
    .bind(user_id)
    .fetch_one(pool)
    .await?);
    Ok(n > 0)
}

/// The ids of the actions an account leads in a territory.
pub async fn led_by(db: &Db, territory_id: i64, user_id: i64) -> DbResult<Vec<i64>> {
    Ok(db_run!(db, pool => sqlx::query_scalar(
        "SELECT a.id FROM actions a JOIN people p ON p.id = a.lead_person_id \
         WHERE p.user_id = $1 AND p.territory_id = $2",
    )
    .bind(user_id)
    .bind(territory_id)
    .fetch_all(pool)
    .await?))
}

/// A territory's own themes.
pub async fn territory_themes(db: &Db, territory_id: i64) -> DbResult<Vec<String>> {
    Ok(db_run!(db, pool => sqlx::query_scalar(
        "SELECT label FROM territory_themes WHERE territory_id = $1 ORDER BY label",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?))
}

/// Save a whole fiche action edited from `expected_version`. References are
/// checked against the territory; a bad one is [`DbError::Conflict`] naming
/// the form field (`lead_org_id`, `lead_person_id`, `partners`, `scope`,
/// `links`, `code` when the new code is another's); [`DbError::Stale`] if
/// someone saved in between. A change of
/// status or progress is added to the action's history.
pub async fn save_fiche(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    expected_version: i64,
    f: &FicheInput,
) -> DbResult<Action> {
    let t = contract.territory_id;
    let sql = format!(
        "UPDATE actions SET title = $1, findings = $2, aims = $3, description = $4, publics = $5, status = $6, \
         progress = $7, period_start = $8, period_end = $9, lead_org_id = $10, lead_person_id = $11, \
         lead_org = COALESCE((SELECT name FROM organisations WHERE id = $10), ''), \
         code = COALESCE($16, code), version = version + 1, updated_at = $12 \
         WHERE id = $13 AND contract_id = $14 AND version = $15 RETURNING {ACTION_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let before: Option<(String, i64)> = sqlx::query_as("SELECT status, progress FROM actions WHERE id = $1 AND contract_id = $2")
            .bind(action_id).bind(contract.id).fetch_optional(&mut *tx).await?;
        let Some((old_status, old_progress)) = before else { return Err(DbError::NotFound) };
        let mut orgs: Vec<i64> = f.partners.clone();
        orgs.extend(f.lead_org_id);
        for o in &orgs {
            let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1 AND territory_id = $2")
                .bind(o).bind(t).fetch_optional(&mut *tx).await?;
            if ok.is_none() {
                let field = if Some(*o) == f.lead_org_id { "lead_org_id" } else { "partners" };
                return Err(DbError::Conflict(field.into()));
            }
        }
        if let Some(p) = f.lead_person_id {
            let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE id = $1 AND territory_id = $2")
                .bind(p).bind(t).fetch_optional(&mut *tx).await?;
            if ok.is_none() {
                return Err(DbError::Conflict("lead_person_id".into()));
            }
        }
        for (kind, code) in &f.scope {
            let sql = if kind == "commune" {
                "SELECT COUNT(*) FROM territory_communes WHERE territory_id = $1 AND insee_code = $2"
            } else {
                "SELECT COUNT(*) FROM qpv_communes q JOIN territory_communes tc ON tc.insee_code = q.insee_code \
                 WHERE tc.territory_id = $1 AND q.qpv_code = $2"
            };
            let n: i64 = sqlx::query_scalar(sql).bind(t).bind(code).fetch_one(&mut *tx).await?;
            if n == 0 {
                return Err(DbError::Conflict("scope".into()));
            }
        }
        if let Some(code) = &f.code {
            let clash: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM actions WHERE contract_id = $1 AND code = $2 AND id <> $3 \
                 UNION SELECT id FROM objectives WHERE contract_id = $1 AND code = $2 \
                 UNION SELECT id FROM axes WHERE contract_id = $1 AND code = $2",
            )
            .bind(contract.id).bind(code).bind(action_id).fetch_optional(&mut *tx).await?;
            if clash.is_some() {
                return Err(DbError::Conflict("code".into()));
            }
        }
        let mut link_ids = Vec::new();
        for code in &f.links {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM actions WHERE contract_id = $1 AND code = $2")
                .bind(contract.id).bind(code).fetch_optional(&mut *tx).await?;
            match id {
                Some(id) if id != action_id => link_ids.push(id),
                _ => return Err(DbError::Conflict(format!("links:{code}"))),
            }
        }
        let now = Utc::now();
        let row = sqlx::query_as::<_, Action>(&sql)
            .bind(&f.title)
            .bind(&f.findings)
            .bind(&f.aims)
            .bind(&f.description)
            .bind(&f.publics)
            .bind(f.status.as_str())
            .bind(f.progress)
            .bind(f.period_start.map(fmt_date))
            .bind(f.period_end.map(fmt_date))
            .bind(f.lead_org_id)
            .bind(f.lead_person_id)
            .bind(now)
            .bind(action_id)
            .bind(contract.id)
            .bind(expected_version)
            .bind(f.code.as_deref())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Err(DbError::Stale) };
        for table in ["action_partners", "action_themes", "action_scope", "action_steps"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE action_id = $1")).bind(action_id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM action_links WHERE action_id = $1 OR linked_id = $1").bind(action_id).execute(&mut *tx).await?;
        for o in &f.partners {
            sqlx::query("INSERT INTO action_partners (action_id, organisation_id) VALUES ($1, $2)")
                .bind(action_id).bind(o).execute(&mut *tx).await?;
        }
        let fixed: Vec<&str> = crate::domain::contract::THEMES.iter().map(|(c, _)| *c).collect();
        for theme in &f.themes {
            sqlx::query("INSERT INTO action_themes (action_id, theme) VALUES ($1, $2)")
                .bind(action_id).bind(theme).execute(&mut *tx).await?;
            if !fixed.contains(&theme.as_str()) {
                sqlx::query("INSERT INTO territory_themes (territory_id, label) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(t).bind(theme).execute(&mut *tx).await?;
            }
        }
        for (kind, code) in &f.scope {
            sqlx::query("INSERT INTO action_scope (action_id, kind, code) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(action_id).bind(kind).bind(code).execute(&mut *tx).await?;
        }
        for other in &link_ids {
            let (a, b) = if action_id < *other { (action_id, *other) } else { (*other, action_id) };
            sqlx::query("INSERT INTO action_links (action_id, linked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(a).bind(b).execute(&mut *tx).await?;
        }
        for (i, s) in f.steps.iter().enumerate() {
            sqlx::query("INSERT INTO action_steps (action_id, position, due_on, label, done) VALUES ($1, $2, $3, $4, $5)")
                .bind(action_id).bind(i as i64 + 1).bind(s.due_on.map(fmt_date)).bind(&s.label).bind(s.done)
                .execute(&mut *tx).await?;
        }
        if old_status != f.status.as_str() || old_progress != f.progress {
            sqlx::query(
                "INSERT INTO action_status_history (action_id, status, progress, changed_at, changed_by) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(action_id).bind(f.status.as_str()).bind(f.progress).bind(now).bind(&actor.label)
            .execute(&mut *tx).await?;
        }
        audit!(tx, actor, Some(t), "action", action_id, "update", format!("Fiche {} modifiée : {}, {} %", row.code, f.status.label(), f.progress))?;
        tx.commit().await?;
        row
    }))
}

/// Add a budget line to an action; the funder chosen from the directory
/// must be the territory's ([`DbError::Conflict`] `funder_id`).
pub async fn add_budget_line(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    b: &BudgetLineInput,
) -> DbResult<BudgetLine> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let funder = match b.funder_id {
            Some(id) => {
                let name: Option<String> = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1 AND territory_id = $2")
                    .bind(id).bind(contract.territory_id).fetch_optional(&mut *tx).await?;
                match name {
                    Some(n) => n,
                    None => return Err(DbError::Conflict("funder_id".into())),
                }
            }
            None => b.funder.clone(),
        };
        let code: Option<String> = sqlx::query_scalar("SELECT code FROM actions WHERE id = $1 AND contract_id = $2")
            .bind(action_id).bind(contract.id).fetch_optional(&mut *tx).await?;
        let Some(code) = code else { return Err(DbError::NotFound) };
        let row = sqlx::query_as::<_, BudgetLine>(
            "INSERT INTO budget_lines (action_id, funder_id, funder, year, amount_cents, note, committed_cents, spent_cents) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id, action_id, funder_id, funder, year, amount_cents, note, committed_cents, spent_cents",
        )
        .bind(action_id).bind(b.funder_id).bind(&funder).bind(i64::from(b.year)).bind(b.amount_cents).bind(&b.note)
        .bind(b.committed_cents).bind(b.spent_cents)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "budget",
            format!("Action {code} : financement {funder} {} ajouté ({})", b.year, crate::domain::budget::format_euros(b.amount_cents)))?;
        tx.commit().await?;
        row
    }))
}

/// Set what was committed and spent on a budget line (`None`: not
/// entered); the planned amount, funder and year are unchanged.
pub async fn set_budget_execution(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    line_id: i64,
    committed_cents: Option<i64>,
    spent_cents: Option<i64>,
) -> DbResult<()> {
    let show = |c: Option<i64>| {
        c.map(crate::domain::budget::format_euros)
            .unwrap_or_else(|| "non saisi".into())
    };
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE budget_lines SET committed_cents = $1, spent_cents = $2 WHERE id = $3 AND action_id = $4 \
             AND action_id IN (SELECT id FROM actions WHERE contract_id = $5)",
        )
        .bind(committed_cents).bind(spent_cents).bind(line_id).bind(action_id).bind(contract.id)
        .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "budget",
            format!("Ligne de budget n° {line_id} : engagé {}, réalisé {}", show(committed_cents), show(spent_cents)))?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn delete_budget_line(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    line_id: i64,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "DELETE FROM budget_lines WHERE id = $1 AND action_id = $2 \
             AND action_id IN (SELECT id FROM actions WHERE contract_id = $3)",
        )
        .bind(line_id).bind(action_id).bind(contract.id)
        .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "budget", format!("Ligne de budget n° {line_id} supprimée"))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Change only the status and progress of an action (from the API), with
/// the same version check and history as a full save.
pub async fn set_status(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    expected_version: i64,
    status: crate::domain::contract::ActionStatus,
    progress: i64,
) -> DbResult<Action> {
    let sql = format!(
        "UPDATE actions SET status = $1, progress = $2, version = version + 1, updated_at = $3 \
         WHERE id = $4 AND contract_id = $5 AND version = $6 RETURNING {ACTION_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let now = Utc::now();
        let row = sqlx::query_as::<_, Action>(&sql)
            .bind(status.as_str()).bind(progress).bind(now).bind(action_id).bind(contract.id).bind(expected_version)
            .fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Err(DbError::Stale) };
        sqlx::query(
            "INSERT INTO action_status_history (action_id, status, progress, changed_at, changed_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(action_id).bind(status.as_str()).bind(progress).bind(now).bind(&actor.label)
        .execute(&mut *tx).await?;
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "update", format!("Action {} : {}, {} %", row.code, status.label(), progress))?;
        tx.commit().await?;
        row
    }))
}
