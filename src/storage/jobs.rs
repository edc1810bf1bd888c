//! Import jobs started from the back office. Jobs are claimed through the
//! database, so whichever server process is free runs the next one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Db, DbResult};
use crate::db_run;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    /// `finess` or `rpps`.
    pub source: String,
    pub file_name: String,
    #[serde(skip)]
    pub file_path: String,
    /// The RPPS « Savoir-faire » file sent with the activity file, or
    /// empty.
    pub savoir_faire_name: String,
    #[serde(skip)]
    pub savoir_faire_path: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// What it is doing now (reading, saving…).
    pub stage: String,
    pub done: i64,
    pub total: i64,
    /// The summary, or why it failed (line numbers included).
    pub message: String,
    pub created_by: String,
    /// Run past the shrink check (see `import::check_shrink`).
    pub forced: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLS: &str =
    "id, source, file_name, file_path, savoir_faire_name, savoir_faire_path, status, stage, done, \
     total, message, created_by, forced, created_at, started_at, finished_at";

/// A file saved for a job: its name as uploaded and where it is.
#[derive(Debug, Clone, Default)]
pub struct SavedFile {
    pub name: String,
    pub path: String,
}

/// Queue an import of `file` (with the RPPS savoir-faire file, if any).
pub async fn enqueue(
    db: &Db,
    source: &str,
    file: &SavedFile,
    savoir_faire: Option<&SavedFile>,
    created_by: &str,
    forced: bool,
) -> DbResult<i64> {
    let sf = savoir_faire.cloned().unwrap_or_default();
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, i64>(
        "INSERT INTO import_jobs (source, file_name, file_path, savoir_faire_name, savoir_faire_path, \
         status, created_by, created_at, forced) \
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8) RETURNING id",
    )
    .bind(source)
    .bind(&file.name)
    .bind(&file.path)
    .bind(&sf.name)
    .bind(&sf.path)
    .bind(created_by)
    .bind(Utc::now())
    .bind(forced)
    .fetch_one(pool)
    .await?))
}

/// Take the oldest queued job, if any. The `status = 'queued'` check in the
/// UPDATE makes the claim safe when several processes race for it.
pub async fn claim(db: &Db, worker: &str) -> DbResult<Option<Job>> {
    let sql = format!(
        "UPDATE import_jobs SET status = 'running', worker = $1, started_at = $2 \
         WHERE id = (SELECT id FROM import_jobs WHERE status = 'queued' ORDER BY id LIMIT 1) AND status = 'queued' \
         RETURNING {COLS}"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Job>(&sql).bind(worker).bind(Utc::now()).fetch_optional(pool).await?),
    )
}

pub async fn progress(db: &Db, id: i64, stage: &str, done: i64, total: i64) -> DbResult<()> {
    db_run!(db, pool => {
        sqlx::query("UPDATE import_jobs SET stage = $1, done = $2, total = $3 WHERE id = $4")
            .bind(stage)
            .bind(done)
            .bind(total)
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn finish(db: &Db, id: i64, ok: bool, message: &str) -> DbResult<()> {
    db_run!(db, pool => {
        sqlx::query("UPDATE import_jobs SET status = $1, message = $2, finished_at = $3, stage = '' WHERE id = $4")
            .bind(if ok { "done" } else { "failed" })
            .bind(message)
            .bind(Utc::now())
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn get(db: &Db, id: i64) -> DbResult<Option<Job>> {
    let sql = format!("SELECT {COLS} FROM import_jobs WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Job>(&sql).bind(id).fetch_optional(pool).await?))
}

pub async fn recent(db: &Db, limit: i64) -> DbResult<Vec<Job>> {
    let sql = format!("SELECT {COLS} FROM import_jobs ORDER BY id DESC LIMIT $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Job>(&sql).bind(limit).fetch_all(pool).await?))
}

/// How many jobs are in each state (for `/metrics`).
pub async fn count_by_status(db: &Db) -> DbResult<Vec<(String, i64)>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM import_jobs GROUP BY status ORDER BY status",
    )
    .fetch_all(pool)
    .await?))
}
