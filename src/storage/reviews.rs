//! Yearly review entries of the fiches action (`action_reviews`): one per
//! action and year, written by the lead partner, validated or returned by
//! the coordination. Every write checks the version the page was built
//! from and the state the entry is in (see `domain::review::transition`),
//! inside one transaction with its audit entry.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::Actor;
use super::contract::Contract;
use super::{Db, DbError, DbResult};
use crate::domain::review::{transition, Move, ReviewInput, ReviewState, Writer};
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Review {
    pub id: i64,
    pub action_id: i64,
    pub year: i64,
    /// « Ce qui a été réalisé ».
    pub done: String,
    /// « Difficultés rencontrées ».
    pub difficulties: String,
    /// « Ce qui change l'an prochain ».
    pub next_year: String,
    /// An action status code (`domain::contract::ActionStatus`).
    pub year_end_status: String,
    /// `draft`, `submitted`, `validated`, `returned` (`ReviewState`).
    pub state: String,
    /// The coordination's comment on its last decision.
    pub review_comment: String,
    pub written_by: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Review {
    pub fn state(&self) -> Option<ReviewState> {
        ReviewState::parse(&self.state)
    }
}

const COLS: &str = "id, action_id, year, done, difficulties, next_year, year_end_status, state, \
                    review_comment, written_by, submitted_at, decided_at, decided_by, version, \
                    created_at, updated_at";

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The entry's state forbids this move (the message says why).
    #[error("{0}")]
    State(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Db(e.into())
    }
}

/// The entry of an action for a year.
pub async fn get(db: &Db, action_id: i64, year: i32) -> DbResult<Option<Review>> {
    let sql = format!("SELECT {COLS} FROM action_reviews WHERE action_id = $1 AND year = $2");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Review>(&sql)
        .bind(action_id).bind(i64::from(year)).fetch_optional(pool).await?))
}

/// The entries of an action, by year.
pub async fn for_action(db: &Db, action_id: i64) -> DbResult<Vec<Review>> {
    let sql = format!("SELECT {COLS} FROM action_reviews WHERE action_id = $1 ORDER BY year");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Review>(&sql)
        .bind(action_id).fetch_all(pool).await?))
}

/// The entries of a contract's actions for one year, by action id.
pub async fn for_contract_year(
    db: &Db,
    contract_id: i64,
    year: i32,
) -> DbResult<HashMap<i64, Review>> {
    let sql = format!(
        "SELECT {COLS} FROM action_reviews WHERE year = $2 \
         AND action_id IN (SELECT id FROM actions WHERE contract_id = $1)"
    );
    let rows = db_run!(db, pool => sqlx::query_as::<_, Review>(&sql)
        .bind(contract_id).bind(i64::from(year)).fetch_all(pool).await?);
    Ok(rows.into_iter().map(|r| (r.action_id, r)).collect())
}

/// Every entry of a contract's actions, by year then action.
pub async fn for_contract(db: &Db, contract_id: i64) -> DbResult<Vec<Review>> {
    let sql = format!(
        "SELECT {COLS} FROM action_reviews \
         WHERE action_id IN (SELECT id FROM actions WHERE contract_id = $1) ORDER BY year, action_id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Review>(&sql)
        .bind(contract_id).fetch_all(pool).await?))
}

/// The entries of the given actions (a partner's list), by action.
pub async fn for_actions(db: &Db, action_ids: &[i64]) -> DbResult<HashMap<i64, Vec<Review>>> {
    let mut out: HashMap<i64, Vec<Review>> = HashMap::new();
    for id in action_ids {
        out.insert(*id, for_action(db, *id).await?);
    }
    Ok(out)
}

/// Write the texts of an entry (draft or submission). `expected_version`
/// is the version the form was built from, 0 when it showed no entry:
/// [`DbError::Stale`] when it changed since; [`ReviewError::State`] when
/// the entry's state forbids `who` to write.
#[allow(clippy::too_many_arguments)]
pub async fn write(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    year: i32,
    expected_version: i64,
    who: Writer,
    input: &ReviewInput,
) -> Result<Review, ReviewError> {
    let mv = if input.submit {
        Move::Submit
    } else {
        Move::SaveDraft
    };
    let now = Utc::now();
    let select = format!(
        "SELECT {COLS} FROM action_reviews WHERE action_id = $1 AND year = $2 \
         AND action_id IN (SELECT id FROM actions WHERE contract_id = $3)"
    );
    let insert = format!(
        "INSERT INTO action_reviews (action_id, year, done, difficulties, next_year, year_end_status, state, \
         written_by, submitted_at, created_at, updated_at) \
         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10 FROM actions WHERE id = $1 AND contract_id = $11 \
         RETURNING {COLS}"
    );
    let update = format!(
        "UPDATE action_reviews SET done = $1, difficulties = $2, next_year = $3, year_end_status = $4, \
         state = $5, written_by = $6, submitted_at = COALESCE($7, submitted_at), updated_at = $8, \
         version = version + 1 WHERE id = $9 AND version = $10 AND state = $11 RETURNING {COLS}"
    );
    let what = if input.submit {
        "soumis à la coordination"
    } else {
        "enregistré en brouillon"
    };
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let current = sqlx::query_as::<_, Review>(&select)
            .bind(action_id).bind(i64::from(year)).bind(contract.id)
            .fetch_optional(&mut *tx).await?;
        let current_version = current.as_ref().map(|r| r.version).unwrap_or(0);
        if current_version != expected_version {
            return Err(DbError::Stale.into());
        }
        let from = current.as_ref().and_then(Review::state);
        let to = transition(from, who, mv).map_err(|e| ReviewError::State(e.0))?;
        let submitted_at = input.submit.then_some(now);
        let row = match &current {
            None => sqlx::query_as::<_, Review>(&insert)
                .bind(action_id).bind(i64::from(year)).bind(&input.done).bind(&input.difficulties)
                .bind(&input.next_year).bind(input.year_end_status.as_str()).bind(to.as_str())
                .bind(&actor.label).bind(submitted_at).bind(now).bind(contract.id)
                .fetch_optional(&mut *tx).await
                .map_err(|e| match DbError::from(e) {
                    // Someone wrote the first version meanwhile.
                    DbError::Conflict(_) => DbError::Stale,
                    e => e,
                })?,
            Some(r) => sqlx::query_as::<_, Review>(&update)
                .bind(&input.done).bind(&input.difficulties).bind(&input.next_year)
                .bind(input.year_end_status.as_str()).bind(to.as_str()).bind(&actor.label)
                .bind(submitted_at).bind(now).bind(r.id).bind(r.version).bind(&r.state)
                .fetch_optional(&mut *tx).await?,
        };
        let Some(row) = row else { return Err(DbError::Stale.into()) };
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "review",
            format!("Bilan annuel {year} {what}"))?;
        tx.commit().await?;
        row
    }))
}

/// The coordination's decision on an entry: validate or return a
/// submitted one, reopen a validated one (`mv`), with its comment.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    action_id: i64,
    year: i32,
    expected_version: i64,
    mv: Move,
    comment: &str,
) -> Result<Review, ReviewError> {
    let now = Utc::now();
    let select = format!(
        "SELECT {COLS} FROM action_reviews WHERE action_id = $1 AND year = $2 \
         AND action_id IN (SELECT id FROM actions WHERE contract_id = $3)"
    );
    let update = format!(
        "UPDATE action_reviews SET state = $1, review_comment = $2, decided_at = $3, decided_by = $4, \
         updated_at = $3, version = version + 1 WHERE id = $5 AND version = $6 AND state = $7 RETURNING {COLS}"
    );
    let what = match mv {
        Move::Validate => "validé",
        Move::Return => "renvoyé à la personne pilote",
        Move::Reopen => "rouvert et renvoyé à la personne pilote",
        _ => "modifié",
    };
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let current = sqlx::query_as::<_, Review>(&select)
            .bind(action_id).bind(i64::from(year)).bind(contract.id)
            .fetch_optional(&mut *tx).await?;
        let Some(r) = current else {
            return Err(ReviewError::State("Ce bilan n'a pas encore été rédigé.".into()));
        };
        if r.version != expected_version {
            return Err(DbError::Stale.into());
        }
        let to = transition(r.state(), Writer::Coordinator, mv).map_err(|e| ReviewError::State(e.0))?;
        let row = sqlx::query_as::<_, Review>(&update)
            .bind(to.as_str()).bind(comment).bind(now).bind(&actor.label)
            .bind(r.id).bind(r.version).bind(&r.state)
            .fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Err(DbError::Stale.into()) };
        let details = if comment.is_empty() {
            format!("Bilan annuel {year} {what}")
        } else {
            format!("Bilan annuel {year} {what} : « {comment} »")
        };
        audit!(tx, actor, Some(contract.territory_id), "action", action_id, "review", details)?;
        tx.commit().await?;
        row
    }))
}
