//! Consultations: questions, responses, panel tokens, grouped results.

use super::*;

// ---------------------------------------------------------------- consultations

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Consultation {
    pub id: i64,
    pub territory_id: i64,
    pub title: String,
    pub intro: String,
    /// First and last day answers are accepted (`YYYY-MM-DD`, Europe/Paris).
    pub opens_on: String,
    pub closes_on: String,
    /// Only invited people (a token in their link) may answer.
    pub panel_only: bool,
    pub results_published: bool,
    pub version: i64,
    pub response_count: i64,
}

impl Consultation {
    pub fn is_open(&self, today: &str) -> bool {
        self.opens_on.as_str() <= today && today <= self.closes_on.as_str()
    }
}

#[derive(Debug, Clone)]
pub struct ConsultationInput {
    pub title: String,
    pub intro: String,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub panel_only: bool,
    pub results_published: bool,
}

pub(super) const CONS_COLS: &str = "c.id, c.territory_id, c.title, c.intro, c.opens_on, c.closes_on, c.panel_only, c.results_published, c.version, \
    (SELECT COUNT(*) FROM responses r WHERE r.consultation_id = c.id) AS response_count";

pub async fn create_consultation(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    c: &ConsultationInput,
) -> DbResult<Consultation> {
    let now = Utc::now();
    let id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO consultations (territory_id, title, intro, opens_on, closes_on, panel_only, results_published, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(territory_id)
        .bind(&c.title)
        .bind(&c.intro)
        .bind(fmt_date(c.opens_on))
        .bind(fmt_date(c.closes_on))
        .bind(c.panel_only)
        .bind(c.results_published)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "consultation", id, "create", format!("Consultation « {} »", c.title))?;
        tx.commit().await?;
        id
    });
    get_consultation(db, territory_id, id).await
}

pub async fn update_consultation(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    version: i64,
    c: &ConsultationInput,
) -> DbResult<Consultation> {
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE consultations SET title = $1, intro = $2, opens_on = $3, closes_on = $4, panel_only = $5, \
             results_published = $6, version = version + 1, updated_at = $7 WHERE id = $8 AND territory_id = $9 AND version = $10",
        )
        .bind(&c.title)
        .bind(&c.intro)
        .bind(fmt_date(c.opens_on))
        .bind(fmt_date(c.closes_on))
        .bind(c.panel_only)
        .bind(c.results_published)
        .bind(now)
        .bind(id)
        .bind(territory_id)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM consultations WHERE id = $1 AND territory_id = $2")
                .bind(id).bind(territory_id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() { DbError::Stale } else { DbError::NotFound });
        }
        audit!(tx, actor, Some(territory_id), "consultation", id, "update", format!("Consultation « {} »", c.title))?;
        tx.commit().await?;
    });
    get_consultation(db, territory_id, id).await
}

pub async fn get_consultation(db: &Db, territory_id: i64, id: i64) -> DbResult<Consultation> {
    let sql =
        format!("SELECT {CONS_COLS} FROM consultations c WHERE c.id = $1 AND c.territory_id = $2");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Consultation>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

pub async fn list_consultations(db: &Db, territory_id: i64) -> DbResult<Vec<Consultation>> {
    let sql = format!("SELECT {CONS_COLS} FROM consultations c WHERE c.territory_id = $1 ORDER BY c.closes_on DESC, c.id DESC");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Consultation>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

pub(super) const Q_COLS: &str = "id, consultation_id, position, kind, label, help, required, options, scale_min, scale_max, cond_question_id, cond_option";

pub async fn questions(db: &Db, consultation_id: i64) -> DbResult<Vec<Question>> {
    let sql =
        format!("SELECT {Q_COLS} FROM questions WHERE consultation_id = $1 ORDER BY position, id");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Question>(&sql).bind(consultation_id).fetch_all(pool).await?),
    )
}

/// Structural changes are refused once answers exist.
#[derive(Debug, thiserror::Error)]
pub enum QuestionError {
    #[error("Des réponses ont déjà été reçues : on ne peut plus ajouter, supprimer ou changer la nature d’une question (type, nombre de choix, échelle, condition, caractère obligatoire). Seules les corrections de libellé sont possibles. Créez une nouvelle consultation si la structure doit changer.")]
    HasAnswers,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for QuestionError {
    fn from(e: sqlx::Error) -> Self {
        QuestionError::Db(e.into())
    }
}

pub(super) async fn response_count(db: &Db, consultation_id: i64) -> DbResult<i64> {
    Ok(
        db_run!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM responses WHERE consultation_id = $1")
        .bind(consultation_id).fetch_one(pool).await?),
    )
}

pub async fn add_question(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    consultation_id: i64,
    q: &QuestionInput,
) -> Result<i64, QuestionError> {
    get_consultation(db, territory_id, consultation_id).await?;
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let answered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM responses WHERE consultation_id = $1")
            .bind(consultation_id).fetch_one(&mut *tx).await?;
        if answered > 0 {
            return Err(QuestionError::HasAnswers);
        }
        let pos: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM questions WHERE consultation_id = $1")
            .bind(consultation_id).fetch_one(&mut *tx).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO questions (consultation_id, position, kind, label, help, required, options, scale_min, scale_max, cond_question_id, cond_option) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(consultation_id)
        .bind(pos)
        .bind(q.kind.as_str())
        .bind(&q.label)
        .bind(&q.help)
        .bind(q.required)
        .bind(q.options.join("\n"))
        .bind(q.scale_min)
        .bind(q.scale_max)
        .bind(q.cond_question_id)
        .bind(q.cond_option)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "question", id, "create", q.label.clone())?;
        tx.commit().await?;
        id
    }))
}

pub async fn get_question(db: &Db, territory_id: i64, id: i64) -> DbResult<Question> {
    let sql = format!(
        "SELECT {Q_COLS} FROM questions WHERE id = $1 AND consultation_id IN (SELECT id FROM consultations WHERE territory_id = $2)"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Question>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

/// Wording is always editable; structure only while no answer exists.
pub async fn update_question(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    q: &QuestionInput,
) -> Result<(), QuestionError> {
    let old = get_question(db, territory_id, id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let answered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM responses WHERE consultation_id = $1")
            .bind(old.consultation_id).fetch_one(&mut *tx).await?;
        if answered > 0 && q.structural_change(&old) {
            return Err(QuestionError::HasAnswers);
        }
        sqlx::query(
            "UPDATE questions SET kind = $1, label = $2, help = $3, required = $4, options = $5, scale_min = $6, scale_max = $7, \
             cond_question_id = $8, cond_option = $9 WHERE id = $10",
        )
        .bind(q.kind.as_str())
        .bind(&q.label)
        .bind(&q.help)
        .bind(q.required)
        .bind(q.options.join("\n"))
        .bind(q.scale_min)
        .bind(q.scale_max)
        .bind(q.cond_question_id)
        .bind(q.cond_option)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "question", id, "update", q.label.clone())?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn delete_question(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
) -> Result<(), QuestionError> {
    let old = get_question(db, territory_id, id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let answered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM responses WHERE consultation_id = $1")
            .bind(old.consultation_id).fetch_one(&mut *tx).await?;
        if answered > 0 {
            return Err(QuestionError::HasAnswers);
        }
        sqlx::query("DELETE FROM questions WHERE id = $1").bind(id).execute(&mut *tx).await?;
        audit!(tx, actor, Some(territory_id), "question", id, "delete", old.label.clone())?;
        tx.commit().await?;
    });
    Ok(())
}

/// A new version of a questionnaire: same settings and questions (conditions
/// remapped), no answers, closed results, a title marked as a new version.
/// This is how the structure changes once answers exist.
pub async fn duplicate_consultation(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
) -> DbResult<Consultation> {
    let c = get_consultation(db, territory_id, id).await?;
    let qs = questions(db, id).await?;
    let now = Utc::now();
    let new_id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (new_id,): (i64,) = sqlx::query_as(
            "INSERT INTO consultations (territory_id, title, intro, opens_on, closes_on, panel_only, results_published, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(territory_id)
        .bind(format!("{} (nouvelle version)", c.title))
        .bind(&c.intro)
        .bind(&c.opens_on)
        .bind(&c.closes_on)
        .bind(c.panel_only)
        .bind(false)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let mut map: HashMap<i64, i64> = HashMap::new();
        for q in &qs {
            let (qid,): (i64,) = sqlx::query_as(
                "INSERT INTO questions (consultation_id, position, kind, label, help, required, options, scale_min, scale_max, cond_question_id, cond_option) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(new_id)
            .bind(q.position)
            .bind(&q.kind)
            .bind(&q.label)
            .bind(&q.help)
            .bind(q.required)
            .bind(&q.options)
            .bind(q.scale_min)
            .bind(q.scale_max)
            .bind(q.cond_question_id.and_then(|c| map.get(&c).copied()))
            .bind(q.cond_option)
            .fetch_one(&mut *tx)
            .await?;
            map.insert(q.id, qid);
        }
        audit!(tx, actor, Some(territory_id), "consultation", new_id, "create", format!("Nouvelle version de la consultation {id}"))?;
        tx.commit().await?;
        new_id
    });
    get_consultation(db, territory_id, new_id).await
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("Ce lien d’invitation n’est pas valable ou a déjà servi à répondre.")]
    BadToken,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for SubmitError {
    fn from(e: sqlx::Error) -> Self {
        SubmitError::Db(e.into())
    }
}

/// Store one response. A second submission with the same `key` (a double
/// click, a reload) is recognised and stored once (`Ok(false)`). An
/// invitation token is used up by the response.
pub async fn submit_response(
    db: &Db,
    consultation_id: i64,
    key: &str,
    token: Option<&str>,
    answers: &[(i64, String)],
) -> Result<bool, SubmitError> {
    match submit_inner(db, consultation_id, key, token, answers).await {
        // Two identical submissions raced: the other one was stored.
        Err(SubmitError::Db(DbError::Conflict(_))) => Ok(false),
        other => other,
    }
}

pub(super) async fn submit_inner(
    db: &Db,
    consultation_id: i64,
    key: &str,
    token: Option<&str>,
    answers: &[(i64, String)],
) -> Result<bool, SubmitError> {
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let dup: Option<i64> = sqlx::query_scalar("SELECT id FROM responses WHERE consultation_id = $1 AND submission_key = $2")
            .bind(consultation_id).bind(key).fetch_optional(&mut *tx).await?;
        if dup.is_some() {
            return Ok(false);
        }
        if let Some(t) = token {
            let n = sqlx::query("UPDATE panel_tokens SET used_at = $1 WHERE consultation_id = $2 AND token_hash = $3 AND used_at IS NULL")
                .bind(now).bind(consultation_id).bind(token_hash(t)).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(SubmitError::BadToken);
            }
        }
        let (rid,): (i64,) = sqlx::query_as(
            "INSERT INTO responses (consultation_id, submission_key, submitted_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(consultation_id).bind(key).bind(now).fetch_one(&mut *tx).await?;
        for (qid, v) in answers {
            sqlx::query("INSERT INTO answers (response_id, consultation_id, question_id, value) VALUES ($1, $2, $3, $4)")
                .bind(rid).bind(consultation_id).bind(qid).bind(v).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// Create `n` invitation tokens; the plain tokens are returned once, only their hashes kept.
pub async fn create_tokens(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    consultation_id: i64,
    n: usize,
) -> DbResult<Vec<String>> {
    get_consultation(db, territory_id, consultation_id).await?;
    let now = Utc::now();
    let tokens: Vec<String> = (0..n).map(|_| crate::tokens::random_token()).collect();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for t in &tokens {
            sqlx::query("INSERT INTO panel_tokens (consultation_id, token_hash, created_at) VALUES ($1, $2, $3)")
                .bind(consultation_id).bind(token_hash(t)).bind(now).execute(&mut *tx).await?;
        }
        audit!(tx, actor, Some(territory_id), "consultation", consultation_id, "tokens", format!("{n} invitation(s)"))?;
        tx.commit().await?;
    });
    Ok(tokens)
}

/// `(unused, used)` invitation tokens.
pub async fn token_counts(db: &Db, consultation_id: i64) -> DbResult<(i64, i64)> {
    let (total, used): (i64, i64) = db_run!(db, pool => sqlx::query_as(
        "SELECT COUNT(*), COUNT(used_at) FROM panel_tokens WHERE consultation_id = $1",
    ).bind(consultation_id).fetch_one(pool).await?);
    Ok((total - used, used))
}

pub async fn token_usable(db: &Db, consultation_id: i64, token: &str) -> DbResult<bool> {
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM panel_tokens WHERE consultation_id = $1 AND token_hash = $2 AND used_at IS NULL",
    ).bind(consultation_id).bind(token_hash(token)).fetch_one(pool).await?);
    Ok(n > 0)
}

/// Grouped counts of the counted questions and respondents per question.
pub struct RawResults {
    pub responses: i64,
    pub counts: Vec<(i64, String, i64)>,
    pub respondents: HashMap<i64, i64>,
}

pub async fn raw_results(db: &Db, consultation_id: i64) -> DbResult<RawResults> {
    let responses = response_count(db, consultation_id).await?;
    let counts: Vec<(i64, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT a.question_id, a.value, COUNT(*) FROM answers a JOIN questions q ON q.id = a.question_id \
         WHERE a.consultation_id = $1 AND q.kind <> 'short_text' AND q.kind <> 'long_text' \
         GROUP BY a.question_id, a.value",
    ).bind(consultation_id).fetch_all(pool).await?);
    let resp: Vec<(i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT question_id, COUNT(DISTINCT response_id) FROM answers WHERE consultation_id = $1 GROUP BY question_id",
    ).bind(consultation_id).fetch_all(pool).await?);
    Ok(RawResults {
        responses,
        counts,
        respondents: resp.into_iter().collect(),
    })
}

/// Free-text answers, by question, newest response first (for the coordinator).
pub async fn text_answers(
    db: &Db,
    consultation_id: i64,
    limit: i64,
) -> DbResult<Vec<(i64, String)>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, (i64, String)>(
        "SELECT a.question_id, a.value FROM answers a JOIN questions q ON q.id = a.question_id \
         WHERE a.consultation_id = $1 AND (q.kind = 'short_text' OR q.kind = 'long_text') \
         ORDER BY a.response_id DESC LIMIT $2",
    ).bind(consultation_id).bind(limit).fetch_all(pool).await?))
}

/// Every response with its answers, for the exports: `(response id, submitted at, [(question id, value)])`.
pub async fn all_responses(
    db: &Db,
    consultation_id: i64,
) -> DbResult<Vec<(i64, DateTime<Utc>, Vec<(i64, String)>)>> {
    let resp: Vec<(i64, DateTime<Utc>)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, submitted_at FROM responses WHERE consultation_id = $1 ORDER BY id",
    ).bind(consultation_id).fetch_all(pool).await?);
    let answers: Vec<(i64, i64, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT response_id, question_id, value FROM answers WHERE consultation_id = $1 ORDER BY response_id",
    ).bind(consultation_id).fetch_all(pool).await?);
    let mut by: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for (r, q, v) in answers {
        by.entry(r).or_default().push((q, v));
    }
    Ok(resp
        .into_iter()
        .map(|(id, at)| (id, at, by.remove(&id).unwrap_or_default()))
        .collect())
}
