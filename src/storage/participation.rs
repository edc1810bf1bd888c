//! Participation storage: bodies, members, join requests, meetings
//! (attendance, decisions), a group's documents; consultations (questions,
//! responses, panel tokens, grouped results); ideas and contact messages.
//!
//! Calendar dates are `YYYY-MM-DD` text on both backends; instants are
//! timestamps bound from Rust.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::audit::Actor;
use super::{Db, DbError, DbResult};
use crate::domain::participation::{
    BodyInput, ContactInput, IdeaInput, IdeaStatus, JoinRequestInput, MeetingInput, MemberInput,
    Question, QuestionInput,
};
use crate::{audit, db_run};

mod consultations;
mod demo;
mod ideas;
mod meetings;
pub use consultations::*;
pub use demo::*;
pub use ideas::*;
pub use meetings::*;

fn fmt_date(d: NaiveDate) -> String {
    crate::domain::dates::iso(d)
}

/// Today in Europe/Paris, as stored.
pub fn today() -> String {
    fmt_date(
        Utc::now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .date_naive(),
    )
}

/// Only the SHA-256 of a token is stored.
pub fn token_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- bodies

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Body {
    pub id: i64,
    pub territory_id: i64,
    /// `steering_committee`, `technical_committee` or `working_group`.
    pub kind: String,
    pub name: String,
    pub theme: String,
    pub purpose: String,
    /// Seats; none means no limit.
    pub capacity: Option<i64>,
    /// Open to new members (working groups).
    pub open: bool,
    pub version: i64,
    /// Members whose mandate runs today.
    pub member_count: i64,
}

impl Body {
    pub fn full(&self) -> bool {
        self.capacity.is_some_and(|c| self.member_count >= c)
    }
    /// The public may ask to join.
    pub fn joinable(&self) -> bool {
        self.kind == "working_group" && self.open && !self.full()
    }
}

const BODY_COLS: &str = "b.id, b.territory_id, b.kind, b.name, b.theme, b.purpose, b.capacity, b.open, b.version, \
    (SELECT COUNT(*) FROM body_members m WHERE m.body_id = b.id \
     AND (m.mandate_end IS NULL OR m.mandate_end >= $1) AND (m.mandate_start IS NULL OR m.mandate_start <= $1)) AS member_count";

pub async fn create_body(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    b: &BodyInput,
) -> DbResult<Body> {
    let now = Utc::now();
    let id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO bodies (territory_id, kind, name, theme, purpose, capacity, open, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(territory_id)
        .bind(b.kind.as_str())
        .bind(&b.name)
        .bind(&b.theme)
        .bind(&b.purpose)
        .bind(b.capacity)
        .bind(b.open)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "body", id, "create", format!("Instance « {} »", b.name))?;
        tx.commit().await?;
        id
    });
    get_body(db, territory_id, id).await
}

pub async fn update_body(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    version: i64,
    b: &BodyInput,
) -> DbResult<Body> {
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE bodies SET kind = $1, name = $2, theme = $3, purpose = $4, capacity = $5, open = $6, \
             version = version + 1, updated_at = $7 WHERE id = $8 AND territory_id = $9 AND version = $10",
        )
        .bind(b.kind.as_str())
        .bind(&b.name)
        .bind(&b.theme)
        .bind(&b.purpose)
        .bind(b.capacity)
        .bind(b.open)
        .bind(now)
        .bind(id)
        .bind(territory_id)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM bodies WHERE id = $1 AND territory_id = $2")
                .bind(id).bind(territory_id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() { DbError::Stale } else { DbError::NotFound });
        }
        audit!(tx, actor, Some(territory_id), "body", id, "update", format!("Instance « {} »", b.name))?;
        tx.commit().await?;
    });
    get_body(db, territory_id, id).await
}

pub async fn get_body(db: &Db, territory_id: i64, id: i64) -> DbResult<Body> {
    let sql = format!("SELECT {BODY_COLS} FROM bodies b WHERE b.id = $2 AND b.territory_id = $3");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Body>(&sql).bind(today()).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

pub async fn list_bodies(db: &Db, territory_id: i64) -> DbResult<Vec<Body>> {
    let sql = format!(
        "SELECT {BODY_COLS} FROM bodies b WHERE b.territory_id = $2 \
         ORDER BY CASE b.kind WHEN 'steering_committee' THEN 0 WHEN 'technical_committee' THEN 1 ELSE 2 END, b.name"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Body>(&sql).bind(today()).bind(territory_id).fetch_all(pool).await?),
    )
}

// ---------------------------------------------------------------- members

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Member {
    pub id: i64,
    pub body_id: i64,
    pub name: String,
    pub organisation: String,
    pub role: String,
    pub inhabitant: bool,
    pub email: Option<String>,
    pub user_id: Option<i64>,
    pub mandate_start: Option<String>,
    pub mandate_end: Option<String>,
}

impl Member {
    pub fn current(&self, today: &str) -> bool {
        self.mandate_end.as_deref().is_none_or(|e| e >= today)
            && self.mandate_start.as_deref().is_none_or(|s| s <= today)
    }
}

const MEMBER_COLS: &str =
    "id, body_id, name, organisation, role, inhabitant, email, user_id, mandate_start, mandate_end";

pub async fn add_member(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    body_id: i64,
    m: &MemberInput,
    user_id: Option<i64>,
) -> DbResult<Member> {
    get_body(db, territory_id, body_id).await?;
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO body_members (body_id, name, organisation, role, inhabitant, email, user_id, mandate_start, mandate_end, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {MEMBER_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let member = sqlx::query_as::<_, Member>(&sql)
            .bind(body_id)
            .bind(&m.name)
            .bind(&m.organisation)
            .bind(&m.role)
            .bind(m.inhabitant)
            .bind(&m.email)
            .bind(user_id)
            .bind(m.mandate_start.map(fmt_date))
            .bind(m.mandate_end.map(fmt_date))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "body_member", member.id, "create", format!("Membre « {} » (instance {body_id})", m.name))?;
        tx.commit().await?;
        member
    }))
}

pub async fn members(db: &Db, body_id: i64) -> DbResult<Vec<Member>> {
    let sql =
        format!("SELECT {MEMBER_COLS} FROM body_members WHERE body_id = $1 ORDER BY name, id");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Member>(&sql).bind(body_id).fetch_all(pool).await?))
}

/// End a mandate today (the member stays in the history). Returns the body.
pub async fn end_mandate(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    member_id: i64,
) -> DbResult<i64> {
    let today = today();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let body_id: Option<i64> = sqlx::query_scalar(
            "UPDATE body_members SET mandate_end = $1 WHERE id = $2 \
             AND body_id IN (SELECT id FROM bodies WHERE territory_id = $3) RETURNING body_id",
        )
        .bind(&today)
        .bind(member_id)
        .bind(territory_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(body_id) = body_id else {
            return Err(DbError::NotFound);
        };
        audit!(tx, actor, Some(territory_id), "body_member", member_id, "end_mandate", "Fin de mandat".to_owned())?;
        tx.commit().await?;
        body_id
    }))
}

/// Is this account a current member of the body (its space opens)?
pub async fn is_member(db: &Db, body_id: i64, user_id: i64) -> DbResult<bool> {
    let today = today();
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM body_members WHERE body_id = $1 AND user_id = $2 \
         AND (mandate_end IS NULL OR mandate_end >= $3)",
    )
    .bind(body_id)
    .bind(user_id)
    .bind(&today)
    .fetch_one(pool)
    .await?);
    Ok(n > 0)
}

/// The bodies whose space this account opens.
pub async fn bodies_of_user(db: &Db, user_id: i64) -> DbResult<Vec<(i64, String, String)>> {
    let today = today();
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, (i64, String, String)>(
        "SELECT DISTINCT b.id, b.name, t.slug FROM body_members m JOIN bodies b ON b.id = m.body_id \
         JOIN territories t ON t.id = b.territory_id \
         WHERE m.user_id = $1 AND (m.mandate_end IS NULL OR m.mandate_end >= $2) ORDER BY b.name",
    )
    .bind(user_id)
    .bind(&today)
    .fetch_all(pool)
    .await?),
    )
}

// ---------------------------------------------------------------- join requests

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct JoinRequest {
    pub id: i64,
    pub body_id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub organisation: String,
    pub profile: String,
    pub message: String,
    /// `pending`, `accepted` or `declined`.
    pub status: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

const JR_COLS: &str =
    "id, body_id, name, email, phone, organisation, profile, message, status, reason, created_at";

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("Ce groupe n’accueille pas de nouveaux membres pour le moment.")]
    Closed,
    #[error("Ce groupe est complet : toutes les places sont prises.")]
    Full,
    #[error("Cette demande a déjà été traitée.")]
    AlreadyDecided,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for JoinError {
    fn from(e: sqlx::Error) -> Self {
        JoinError::Db(e.into())
    }
}

pub async fn create_join_request(
    db: &Db,
    territory_id: i64,
    body_id: i64,
    r: &JoinRequestInput,
) -> Result<JoinRequest, JoinError> {
    let now = Utc::now();
    let today = today();
    let sql = format!(
        "INSERT INTO join_requests (body_id, name, email, phone, organisation, profile, message, consent, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {JR_COLS}"
    );
    let body_sql =
        format!("SELECT {BODY_COLS} FROM bodies b WHERE b.id = $2 AND b.territory_id = $3");
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let body = sqlx::query_as::<_, Body>(&body_sql)
            .bind(&today).bind(body_id).bind(territory_id)
            .fetch_optional(&mut *tx).await?
            .ok_or(JoinError::Db(DbError::NotFound))?;
        if body.kind != "working_group" || !body.open {
            return Err(JoinError::Closed);
        }
        if body.full() {
            return Err(JoinError::Full);
        }
        let jr = sqlx::query_as::<_, JoinRequest>(&sql)
            .bind(body_id)
            .bind(&r.name)
            .bind(&r.email)
            .bind(&r.phone)
            .bind(&r.organisation)
            .bind(r.profile.as_str())
            .bind(&r.message)
            .bind(true)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        audit!(tx, Actor::system("public"), Some(territory_id), "join_request", jr.id, "create", format!("Demande pour « {} »", body.name))?;
        tx.commit().await?;
        jr
    }))
}

pub async fn join_requests(
    db: &Db,
    territory_id: i64,
    pending_only: bool,
) -> DbResult<Vec<JoinRequest>> {
    let sql = format!(
        "SELECT {JR_COLS} FROM join_requests WHERE body_id IN (SELECT id FROM bodies WHERE territory_id = $1) \
         AND (status = 'pending' OR $2) ORDER BY created_at DESC, id DESC"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, JoinRequest>(&sql).bind(territory_id).bind(!pending_only).fetch_all(pool).await?),
    )
}

pub async fn get_join_request(db: &Db, territory_id: i64, id: i64) -> DbResult<JoinRequest> {
    let sql = format!(
        "SELECT {JR_COLS} FROM join_requests WHERE id = $1 AND body_id IN (SELECT id FROM bodies WHERE territory_id = $2)"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, JoinRequest>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

/// Accept (the person becomes a member today, if a seat is left) or decline.
pub async fn decide_join_request(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    accept: bool,
    reason: &str,
) -> Result<JoinRequest, JoinError> {
    let now = Utc::now();
    let today = today();
    let jr = get_join_request(db, territory_id, id).await?;
    if jr.status != "pending" {
        return Err(JoinError::AlreadyDecided);
    }
    let body_sql =
        format!("SELECT {BODY_COLS} FROM bodies b WHERE b.id = $2 AND b.territory_id = $3");
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("UPDATE join_requests SET status = $1, reason = $2, decided_at = $3 WHERE id = $4 AND status = 'pending'")
            .bind(if accept { "accepted" } else { "declined" })
            .bind(reason)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(JoinError::AlreadyDecided);
        }
        if accept {
            let body = sqlx::query_as::<_, Body>(&body_sql)
                .bind(&today).bind(jr.body_id).bind(territory_id)
                .fetch_one(&mut *tx).await?;
            if body.full() {
                return Err(JoinError::Full);
            }
            sqlx::query(
                "INSERT INTO body_members (body_id, name, organisation, role, inhabitant, email, mandate_start, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(jr.body_id)
            .bind(&jr.name)
            .bind(&jr.organisation)
            .bind("Membre")
            .bind(jr.profile == "inhabitant")
            .bind(&jr.email)
            .bind(&today)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit!(tx, actor, Some(territory_id), "join_request", id, if accept { "accept" } else { "decline" }, reason.to_owned())?;
        tx.commit().await?;
    });
    Ok(get_join_request(db, territory_id, id).await?)
}

/// RGPD: the coordinator erases a request.
pub async fn delete_join_request(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("DELETE FROM join_requests WHERE id = $1 AND body_id IN (SELECT id FROM bodies WHERE territory_id = $2)")
            .bind(id).bind(territory_id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(territory_id), "join_request", id, "delete", "Demande supprimée".to_owned())?;
        tx.commit().await?;
    });
    Ok(())
}
