//! The end-of-contract evaluation: evaluative questions of a contract
//! (`evaluation_questions`), ordered within their criterion, answered in
//! text and linked to the contract's own indicators
//! (`evaluation_question_indicators`); and the stakeholder questionnaire
//! made from a template (`contracts.evaluation_consultation_id`).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::audit::Actor;
use super::contract::Contract;
use super::participation::{self, Consultation, ConsultationInput};
use super::{Db, DbError, DbResult};
use crate::domain::appraisal::{same_question, Criterion, QuestionInput, STAKEHOLDER_QUESTIONS};
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Question {
    pub id: i64,
    pub contract_id: i64,
    /// A criterion code (`domain::appraisal::Criterion`).
    pub criterion: String,
    /// Order within the criterion, from 1.
    pub position: i64,
    pub question: String,
    pub answer: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Ids of the contract's indicators the answer relies on.
    #[sqlx(skip)]
    pub indicators: Vec<i64>,
}

impl Question {
    pub fn criterion(&self) -> Option<Criterion> {
        Criterion::parse(&self.criterion)
    }
}

const COLS: &str =
    "id, contract_id, criterion, position, question, answer, version, created_at, updated_at";

/// Where a criterion sorts (the fixed list's order; unknown codes last).
fn criterion_rank(code: &str) -> usize {
    Criterion::ALL
        .iter()
        .position(|c| c.as_str() == code)
        .unwrap_or(usize::MAX)
}

/// The questions of a contract with their indicators, criterion by
/// criterion (relevance, coherence, effectiveness, efficiency, impact),
/// each in its order.
pub async fn for_contract(db: &Db, contract_id: i64) -> DbResult<Vec<Question>> {
    let sql = format!("SELECT {COLS} FROM evaluation_questions WHERE contract_id = $1");
    let (mut questions, links) = db_run!(db, pool => {
        let q = sqlx::query_as::<_, Question>(&sql).bind(contract_id).fetch_all(pool).await?;
        let l: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT l.question_id, l.indicator_id FROM evaluation_question_indicators l \
             JOIN evaluation_questions q ON q.id = l.question_id WHERE q.contract_id = $1 \
             ORDER BY l.indicator_id",
        ).bind(contract_id).fetch_all(pool).await?;
        (q, l)
    });
    for (q, i) in links {
        if let Some(x) = questions.iter_mut().find(|x| x.id == q) {
            x.indicators.push(i);
        }
    }
    questions.sort_by_key(|q| (criterion_rank(&q.criterion), q.position, q.id));
    Ok(questions)
}

/// One question of a contract.
pub async fn get(db: &Db, contract_id: i64, id: i64) -> DbResult<Option<Question>> {
    Ok(for_contract(db, contract_id)
        .await?
        .into_iter()
        .find(|q| q.id == id))
}

/// Link `indicators` to the question inside the open transaction `$tx`,
/// replacing its links; an indicator of another contract is refused
/// (`DbError::Conflict("indicators")`).
macro_rules! link_indicators {
    ($tx:expr, $contract_id:expr, $question_id:expr, $indicators:expr) => {{
        sqlx::query("DELETE FROM evaluation_question_indicators WHERE question_id = $1")
            .bind($question_id)
            .execute(&mut *$tx)
            .await?;
        for ind in $indicators.iter() {
            let ok: Option<i64> =
                sqlx::query_scalar("SELECT id FROM indicators WHERE id = $1 AND contract_id = $2")
                    .bind(*ind)
                    .bind($contract_id)
                    .fetch_optional(&mut *$tx)
                    .await?;
            if ok.is_none() {
                return Err(DbError::Conflict("indicators".into()));
            }
            sqlx::query(
                "INSERT INTO evaluation_question_indicators (question_id, indicator_id) VALUES ($1, $2)",
            )
            .bind($question_id)
            .bind(*ind)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Add a question at the end of its criterion.
pub async fn create(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    input: &QuestionInput,
) -> DbResult<Question> {
    let now = Utc::now();
    let id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let pos: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM evaluation_questions WHERE contract_id = $1 AND criterion = $2",
        ).bind(contract.id).bind(input.criterion.as_str()).fetch_one(&mut *tx).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO evaluation_questions (contract_id, criterion, position, question, answer, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(contract.id).bind(input.criterion.as_str()).bind(pos).bind(&input.question)
        .bind(&input.answer).bind(now)
        .fetch_one(&mut *tx).await?;
        link_indicators!(tx, contract.id, id, input.indicators);
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "evaluation",
            format!("Question évaluative ajoutée ({}) : {}", input.criterion.label(), input.question))?;
        tx.commit().await?;
        id
    });
    get(db, contract.id, id).await?.ok_or(DbError::NotFound)
}

/// Change a question (its wording, answer, criterion, indicators).
/// [`DbError::Stale`] when it changed since the form was built; a question
/// moved to another criterion goes to its end.
pub async fn update(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    id: i64,
    expected_version: i64,
    input: &QuestionInput,
) -> DbResult<Question> {
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let current: Option<(String, i64)> = sqlx::query_as(
            "SELECT criterion, version FROM evaluation_questions WHERE id = $1 AND contract_id = $2",
        ).bind(id).bind(contract.id).fetch_optional(&mut *tx).await?;
        let Some((criterion, version)) = current else { return Err(DbError::NotFound) };
        if version != expected_version {
            return Err(DbError::Stale);
        }
        let position: Option<i64> = if criterion != input.criterion.as_str() {
            Some(sqlx::query_scalar(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM evaluation_questions WHERE contract_id = $1 AND criterion = $2",
            ).bind(contract.id).bind(input.criterion.as_str()).fetch_one(&mut *tx).await?)
        } else {
            None
        };
        let n = sqlx::query(
            "UPDATE evaluation_questions SET criterion = $1, question = $2, answer = $3, \
             position = COALESCE($4, position), updated_at = $5, version = version + 1 \
             WHERE id = $6 AND contract_id = $7 AND version = $8",
        )
        .bind(input.criterion.as_str()).bind(&input.question).bind(&input.answer).bind(position)
        .bind(now).bind(id).bind(contract.id).bind(expected_version)
        .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(DbError::Stale);
        }
        link_indicators!(tx, contract.id, id, input.indicators);
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "evaluation",
            format!("Question évaluative modifiée : {}", input.question))?;
        tx.commit().await?;
    });
    get(db, contract.id, id).await?.ok_or(DbError::NotFound)
}

/// Delete a question (its indicator links go with it).
pub async fn delete(db: &Db, actor: &Actor, contract: &Contract, id: i64) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let q: Option<String> = sqlx::query_scalar(
            "DELETE FROM evaluation_questions WHERE id = $1 AND contract_id = $2 RETURNING question",
        ).bind(id).bind(contract.id).fetch_optional(&mut *tx).await?;
        let Some(q) = q else { return Err(DbError::NotFound) };
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "evaluation",
            format!("Question évaluative supprimée : {q}"))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Move a question one place up (`up`) or down within its criterion.
/// Nothing happens at either end. Its version is kept: the order is not
/// what a form being typed elsewhere would overwrite.
pub async fn move_question(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
    id: i64,
    up: bool,
) -> DbResult<()> {
    let mut list: Vec<Question> = Vec::new();
    let mut criterion = None;
    for q in for_contract(db, contract.id).await? {
        if q.id == id {
            criterion = Some(q.criterion.clone());
        }
        list.push(q);
    }
    let Some(criterion) = criterion else {
        return Err(DbError::NotFound);
    };
    list.retain(|q| q.criterion == criterion);
    let i = list.iter().position(|q| q.id == id).unwrap_or(0);
    let j = if up {
        i.checked_sub(1)
    } else {
        Some(i + 1).filter(|j| *j < list.len())
    };
    let Some(j) = j else { return Ok(()) };
    list.swap(i, j);
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for (n, q) in list.iter().enumerate() {
            sqlx::query("UPDATE evaluation_questions SET position = $1 WHERE id = $2 AND contract_id = $3")
                .bind(n as i64 + 1).bind(q.id).bind(contract.id).execute(&mut *tx).await?;
        }
        audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "evaluation",
            format!("Question évaluative déplacée : {}", list[j].question))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Add the standard questions of every criterion that the contract does not
/// have yet (compared as people read them); returns how many were added.
pub async fn add_standard(db: &Db, actor: &Actor, contract: &Contract) -> DbResult<usize> {
    let existing = for_contract(db, contract.id).await?;
    let now = Utc::now();
    let mut added = 0;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for c in Criterion::ALL {
            let mut pos = existing
                .iter()
                .filter(|q| q.criterion == c.as_str())
                .map(|q| q.position)
                .max()
                .unwrap_or(0);
            for text in c.standard_questions() {
                if existing.iter().any(|q| same_question(&q.question, text)) {
                    continue;
                }
                pos += 1;
                sqlx::query(
                    "INSERT INTO evaluation_questions (contract_id, criterion, position, question, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(contract.id).bind(c.as_str()).bind(pos).bind(*text).bind(now)
                .execute(&mut *tx).await?;
                added += 1;
            }
        }
        if added > 0 {
            audit!(tx, actor, Some(contract.territory_id), "contract", contract.id, "evaluation",
                format!("{added} questions évaluatives types ajoutées"))?;
        }
        tx.commit().await?;
    });
    Ok(added)
}

/// The stakeholder questionnaire of a contract's evaluation, if made.
pub async fn consultation_id(db: &Db, contract_id: i64) -> DbResult<Option<i64>> {
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, Option<i64>>(
        "SELECT evaluation_consultation_id FROM contracts WHERE id = $1",
    ).bind(contract_id).fetch_optional(pool).await?)
    .flatten())
}

/// The stakeholder questionnaire of the evaluation: the existing one, or a
/// new consultation of the territory from the template (`true`). It is
/// reserved to an invited panel, opens today, closes in 30 days and its
/// results are not published: the coordination reviews it, then invites
/// or opens it.
pub async fn stakeholder_consultation(
    db: &Db,
    actor: &Actor,
    contract: &Contract,
) -> DbResult<(Consultation, bool)> {
    let t = contract.territory_id;
    if let Some(id) = consultation_id(db, contract.id).await? {
        match participation::get_consultation(db, t, id).await {
            Ok(c) => return Ok((c, false)),
            Err(DbError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let (title, intro) = crate::domain::appraisal::stakeholder_questionnaire(&contract.title);
    let today = chrono::NaiveDate::parse_from_str(&participation::today(), "%Y-%m-%d")
        .map_err(|e| DbError::Other(e.into()))?;
    let created = participation::create_consultation(
        db,
        actor,
        t,
        &ConsultationInput {
            title: title.chars().take(200).collect(),
            intro,
            opens_on: today,
            closes_on: today + Duration::days(30),
            panel_only: true,
            results_published: false,
        },
    )
    .await?;
    let filled = fill_and_claim(db, actor, contract, created.id).await;
    match filled {
        Ok(true) => Ok((
            participation::get_consultation(db, t, created.id).await?,
            true,
        )),
        // Made twice at once: keep the one the contract names.
        Ok(false) => {
            drop_consultation(db, created.id).await?;
            let id = consultation_id(db, contract.id)
                .await?
                .ok_or(DbError::NotFound)?;
            Ok((participation::get_consultation(db, t, id).await?, false))
        }
        Err(e) => {
            let _ = drop_consultation(db, created.id).await;
            Err(e)
        }
    }
}

/// Add the template's questions to consultation `id`, then name it on the
/// contract unless another one was named meanwhile (`false`).
async fn fill_and_claim(db: &Db, actor: &Actor, contract: &Contract, id: i64) -> DbResult<bool> {
    let t = contract.territory_id;
    for q in STAKEHOLDER_QUESTIONS {
        let input = crate::domain::participation::QuestionInput::parse(
            q.kind.as_str(),
            q.label,
            q.help,
            q.required,
            q.options,
            "1",
            "5",
            "",
            &[],
        )
        .map_err(|e| DbError::Other(anyhow::anyhow!("stakeholder template: {e:?}")))?;
        participation::add_question(db, actor, t, id, &input)
            .await
            .map_err(|e| match e {
                participation::QuestionError::Db(e) => e,
                e => DbError::Other(anyhow::anyhow!("{e}")),
            })?;
    }
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE contracts SET evaluation_consultation_id = $1 WHERE id = $2 AND territory_id = $3 \
             AND (evaluation_consultation_id IS NULL \
                  OR evaluation_consultation_id NOT IN (SELECT id FROM consultations))",
        )
        .bind(id).bind(contract.id).bind(t).execute(&mut *tx).await?.rows_affected();
        if n == 1 {
            audit!(tx, actor, Some(t), "contract", contract.id, "evaluation",
                format!("Questionnaire des parties prenantes créé (consultation n° {id})"))?;
        }
        tx.commit().await?;
        n == 1
    }))
}

async fn drop_consultation(db: &Db, id: i64) -> DbResult<()> {
    db_run!(db, pool => sqlx::query("DELETE FROM consultations WHERE id = $1")
        .bind(id).execute(pool).await.map(|_| ())?);
    Ok(())
}
