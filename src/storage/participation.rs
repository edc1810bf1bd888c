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

fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
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

// ---------------------------------------------------------------- meetings

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Meeting {
    pub id: i64,
    pub body_id: i64,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub place: String,
    pub online_link: String,
    pub agenda: String,
    pub minutes: String,
    /// Announced on the public page (a public meeting).
    pub public: bool,
    pub version: i64,
}

const MEETING_COLS: &str =
    "id, body_id, title, starts_at, place, online_link, agenda, minutes, public, version";

pub async fn create_meeting(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    body_id: i64,
    m: &MeetingInput,
) -> DbResult<Meeting> {
    get_body(db, territory_id, body_id).await?;
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO meetings (body_id, title, starts_at, place, online_link, agenda, minutes, public, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {MEETING_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let meeting = sqlx::query_as::<_, Meeting>(&sql)
            .bind(body_id)
            .bind(&m.title)
            .bind(m.starts_at)
            .bind(&m.place)
            .bind(&m.online_link)
            .bind(&m.agenda)
            .bind(&m.minutes)
            .bind(m.public)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        // Every current member is invited.
        sqlx::query(
            "INSERT INTO meeting_attendance (meeting_id, member_id, invited, present) \
             SELECT $1, id, $2, $3 FROM body_members WHERE body_id = $4 AND (mandate_end IS NULL OR mandate_end >= $5)",
        )
        .bind(meeting.id)
        .bind(true)
        .bind(false)
        .bind(body_id)
        .bind(today())
        .execute(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "meeting", meeting.id, "create", format!("Réunion « {} »", m.title))?;
        tx.commit().await?;
        meeting
    }))
}

pub async fn update_meeting(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    version: i64,
    m: &MeetingInput,
) -> DbResult<Meeting> {
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE meetings SET title = $1, starts_at = $2, place = $3, online_link = $4, agenda = $5, minutes = $6, \
             public = $7, version = version + 1, updated_at = $8 \
             WHERE id = $9 AND version = $10 AND body_id IN (SELECT id FROM bodies WHERE territory_id = $11)",
        )
        .bind(&m.title)
        .bind(m.starts_at)
        .bind(&m.place)
        .bind(&m.online_link)
        .bind(&m.agenda)
        .bind(&m.minutes)
        .bind(m.public)
        .bind(now)
        .bind(id)
        .bind(version)
        .bind(territory_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM meetings WHERE id = $1 AND body_id IN (SELECT id FROM bodies WHERE territory_id = $2)")
                .bind(id).bind(territory_id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() { DbError::Stale } else { DbError::NotFound });
        }
        audit!(tx, actor, Some(territory_id), "meeting", id, "update", format!("Réunion « {} »", m.title))?;
        tx.commit().await?;
    });
    get_meeting(db, territory_id, id).await
}

pub async fn get_meeting(db: &Db, territory_id: i64, id: i64) -> DbResult<Meeting> {
    let sql = format!(
        "SELECT {MEETING_COLS} FROM meetings WHERE id = $1 AND body_id IN (SELECT id FROM bodies WHERE territory_id = $2)"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Meeting>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

pub async fn meetings(db: &Db, body_id: i64) -> DbResult<Vec<Meeting>> {
    let sql = format!(
        "SELECT {MEETING_COLS} FROM meetings WHERE body_id = $1 ORDER BY starts_at DESC, id DESC"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Meeting>(&sql).bind(body_id).fetch_all(pool).await?))
}

type MeetingRow = (
    i64,
    i64,
    String,
    DateTime<Utc>,
    String,
    String,
    String,
    String,
    bool,
    i64,
    String,
);

/// Public meetings of the territory from `from` on, soonest first.
pub async fn upcoming_public_meetings(
    db: &Db,
    territory_id: i64,
    from: DateTime<Utc>,
) -> DbResult<Vec<(Meeting, String)>> {
    let sql = "SELECT m.id, m.body_id, m.title, m.starts_at, m.place, m.online_link, m.agenda, m.minutes, m.public, m.version, b.name \
         FROM meetings m JOIN bodies b ON b.id = m.body_id \
         WHERE b.territory_id = $1 AND m.public = $2 AND m.starts_at >= $3 ORDER BY m.starts_at LIMIT 50";
    let rows: Vec<MeetingRow> = db_run!(db, pool => sqlx::query_as(sql).bind(territory_id).bind(true).bind(from).fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                Meeting {
                    id: r.0,
                    body_id: r.1,
                    title: r.2,
                    starts_at: r.3,
                    place: r.4,
                    online_link: r.5,
                    agenda: r.6,
                    minutes: r.7,
                    public: r.8,
                    version: r.9,
                },
                r.10,
            )
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Attendance {
    pub member_id: i64,
    pub name: String,
    pub invited: bool,
    pub present: bool,
}

pub async fn attendance(db: &Db, meeting_id: i64) -> DbResult<Vec<Attendance>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Attendance>(
        "SELECT a.member_id, m.name, a.invited, a.present FROM meeting_attendance a \
         JOIN body_members m ON m.id = a.member_id WHERE a.meeting_id = $1 ORDER BY m.name",
    )
    .bind(meeting_id)
    .fetch_all(pool)
    .await?))
}

/// The invited members of a meeting who left an e-mail address: (name, e-mail).
pub async fn invited_emails(db: &Db, meeting_id: i64) -> DbResult<Vec<(String, String)>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT m.name, m.email FROM meeting_attendance a JOIN body_members m ON m.id = a.member_id \
         WHERE a.meeting_id = $1 AND a.invited = $2 AND m.email IS NOT NULL AND m.email <> '' ORDER BY m.name",
    )
    .bind(meeting_id)
    .bind(true)
    .fetch_all(pool)
    .await?))
}

/// Note in the audit trail that a meeting's invitation went out.
pub async fn record_invitations_sent(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    meeting_id: i64,
    count: usize,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        audit!(tx, actor, Some(territory_id), "meeting", meeting_id, "invitation", format!("Invitation envoyée par e-mail à {count} membre(s)"))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Record who was invited and who was present (members of the meeting's
/// body only; someone present counts as invited).
pub async fn set_attendance(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    meeting_id: i64,
    invited: &[i64],
    present: &[i64],
) -> DbResult<()> {
    let meeting = get_meeting(db, territory_id, meeting_id).await?;
    let members: Vec<i64> = members(db, meeting.body_id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut rows: Vec<(i64, bool, bool)> = Vec::new();
    for id in members {
        let p = present.contains(&id);
        let i = p || invited.contains(&id);
        if i {
            rows.push((id, i, p));
        }
    }
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM meeting_attendance WHERE meeting_id = $1")
            .bind(meeting_id).execute(&mut *tx).await?;
        for (id, i, p) in &rows {
            sqlx::query("INSERT INTO meeting_attendance (meeting_id, member_id, invited, present) VALUES ($1, $2, $3, $4)")
                .bind(meeting_id).bind(id).bind(i).bind(p).execute(&mut *tx).await?;
        }
        audit!(tx, actor, Some(territory_id), "meeting", meeting_id, "attendance",
            format!("{} invité(s), {} présent(s)", rows.len(), rows.iter().filter(|r| r.2).count()))?;
        tx.commit().await?;
    });
    Ok(())
}

/// Record who was present among the invited (the others were absent).
pub async fn set_presence(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    meeting_id: i64,
    present: &[i64],
) -> DbResult<()> {
    let invited: Vec<i64> = attendance(db, meeting_id)
        .await?
        .into_iter()
        .filter(|a| a.invited)
        .map(|a| a.member_id)
        .collect();
    set_attendance(db, actor, territory_id, meeting_id, &invited, present).await
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Decision {
    pub id: i64,
    pub meeting_id: i64,
    pub text: String,
    /// The follow-up task, if the decision asks for one.
    pub follow_up: String,
    pub owner: String,
    pub due_on: Option<String>,
    /// The fiche action it follows up.
    pub action_id: Option<i64>,
    pub action_code: Option<String>,
    pub done: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DecisionInput {
    pub text: String,
    pub follow_up: String,
    pub owner: String,
    pub due_on: Option<NaiveDate>,
    pub action_id: Option<i64>,
}

pub async fn add_decision(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    meeting_id: i64,
    d: &DecisionInput,
) -> DbResult<i64> {
    get_meeting(db, territory_id, meeting_id).await?;
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO meeting_decisions (meeting_id, text, follow_up, owner, due_on, action_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(meeting_id)
        .bind(&d.text)
        .bind(&d.follow_up)
        .bind(&d.owner)
        .bind(d.due_on.map(fmt_date))
        .bind(d.action_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "meeting_decision", id, "create", d.text.chars().take(200).collect::<String>())?;
        tx.commit().await?;
        id
    }))
}

pub async fn decisions(db: &Db, meeting_id: i64) -> DbResult<Vec<Decision>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Decision>(
        "SELECT d.id, d.meeting_id, d.text, d.follow_up, d.owner, d.due_on, d.action_id, a.code AS action_code, d.done \
         FROM meeting_decisions d LEFT JOIN actions a ON a.id = d.action_id WHERE d.meeting_id = $1 ORDER BY d.id",
    )
    .bind(meeting_id)
    .fetch_all(pool)
    .await?))
}

/// Follow-up tasks linked to an action (for the action plan's pages).
pub async fn follow_ups_for_action(db: &Db, action_id: i64) -> DbResult<Vec<Decision>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Decision>(
        "SELECT d.id, d.meeting_id, d.text, d.follow_up, d.owner, d.due_on, d.action_id, a.code AS action_code, d.done \
         FROM meeting_decisions d LEFT JOIN actions a ON a.id = d.action_id WHERE d.action_id = $1 ORDER BY d.id",
    )
    .bind(action_id)
    .fetch_all(pool)
    .await?))
}

/// The id of the action with this code in the territory's most recent contract holding it.
pub async fn action_id_by_code(db: &Db, territory_id: i64, code: &str) -> DbResult<Option<i64>> {
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, i64>(
        "SELECT a.id FROM actions a JOIN contracts c ON c.id = a.contract_id \
         WHERE c.territory_id = $1 AND a.code = $2 ORDER BY c.id DESC LIMIT 1",
    )
    .bind(territory_id)
    .bind(code.trim())
    .fetch_optional(pool)
    .await?))
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Document {
    pub id: i64,
    pub body_id: i64,
    pub title: String,
    /// A link; empty for a file kept here.
    pub url: String,
    /// For a file: its name, type and size in bytes.
    pub file_name: Option<String>,
    pub media_type: Option<String>,
    pub size: Option<i64>,
    #[serde(skip)]
    pub storage_key: Option<String>,
}

const DOC_COLS: &str = "id, body_id, title, url, file_name, media_type, size, storage_key";

pub async fn add_document(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    body_id: i64,
    title: &str,
    url: &str,
) -> DbResult<i64> {
    get_body(db, territory_id, body_id).await?;
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as("INSERT INTO body_documents (body_id, title, url, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(body_id).bind(title).bind(url).bind(now).fetch_one(&mut *tx).await?;
        audit!(tx, actor, Some(territory_id), "body_document", id, "create", title.to_owned())?;
        tx.commit().await?;
        id
    }))
}

pub async fn documents(db: &Db, body_id: i64) -> DbResult<Vec<Document>> {
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Document>(&format!("SELECT {DOC_COLS} FROM body_documents WHERE body_id = $1 ORDER BY id DESC"))
        .bind(body_id).fetch_all(pool).await?),
    )
}

/// Keep a checked file (PDF, ODT, DOCX) in a body's members' space.
#[allow(clippy::too_many_arguments)]
pub async fn add_file(
    db: &Db,
    store: &super::documents::Store,
    actor: &Actor,
    territory_id: i64,
    body_id: i64,
    title: &str,
    file_name: &str,
    kind: crate::domain::document::DocumentKind,
    bytes: Vec<u8>,
) -> DbResult<i64> {
    get_body(db, territory_id, body_id).await?;
    let key = super::documents::new_key();
    let size = bytes.len() as i64;
    let content = store.put(&key, bytes).await?;
    let now = Utc::now();
    let result: DbResult<i64> = async {
        Ok(db_run!(db, pool => {
            let mut tx = pool.begin_write().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO body_documents (body_id, title, url, file_name, media_type, size, storage_key, content, created_at) \
                 VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(body_id).bind(title).bind(file_name).bind(kind.media_type()).bind(size).bind(&key)
            .bind(content.as_deref()).bind(now)
            .fetch_one(&mut *tx).await?;
            audit!(tx, actor, Some(territory_id), "body_document", id, "create", title.to_owned())?;
            tx.commit().await?;
            id
        }))
    }
    .await;
    if result.is_err() {
        store.remove(&key).await;
    }
    result
}

/// A document of a body of the territory.
pub async fn get_document(db: &Db, territory_id: i64, body_id: i64, id: i64) -> DbResult<Document> {
    get_body(db, territory_id, body_id).await?;
    let sql = format!("SELECT {DOC_COLS} FROM body_documents WHERE id = $1 AND body_id = $2");
    db_run!(db, pool => sqlx::query_as::<_, Document>(&sql)
        .bind(id).bind(body_id).fetch_optional(pool).await?)
    .ok_or(DbError::NotFound)
}

/// The bytes of a file of a body's space.
pub async fn document_content(
    db: &Db,
    store: &super::documents::Store,
    doc: &Document,
) -> DbResult<Vec<u8>> {
    let key = doc.storage_key.clone().ok_or(DbError::NotFound)?;
    let in_row: Option<Vec<u8>> = db_run!(db, pool => sqlx::query_scalar(
        "SELECT content FROM body_documents WHERE id = $1",
    )
    .bind(doc.id)
    .fetch_optional(pool)
    .await?)
    .flatten();
    store.get(&key, in_row).await
}

/// Remove a link or a file from a body's space.
pub async fn delete_document(
    db: &Db,
    store: &super::documents::Store,
    actor: &Actor,
    territory_id: i64,
    body_id: i64,
    id: i64,
) -> DbResult<()> {
    let doc = get_document(db, territory_id, body_id, id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM body_documents WHERE id = $1").bind(id).execute(&mut *tx).await?;
        audit!(tx, actor, Some(territory_id), "body_document", id, "delete", doc.title.clone())?;
        tx.commit().await?;
    });
    if let Some(key) = &doc.storage_key {
        store.remove(key).await;
    }
    Ok(())
}

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

const CONS_COLS: &str = "c.id, c.territory_id, c.title, c.intro, c.opens_on, c.closes_on, c.panel_only, c.results_published, c.version, \
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

const Q_COLS: &str = "id, consultation_id, position, kind, label, help, required, options, scale_min, scale_max, cond_question_id, cond_option";

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

async fn response_count(db: &Db, consultation_id: i64) -> DbResult<i64> {
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

async fn submit_inner(
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
    let tokens: Vec<String> = (0..n).map(|_| crate::accounts::random_token()).collect();
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

// ---------------------------------------------------------------- ideas

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Idea {
    pub id: i64,
    pub territory_id: i64,
    /// `idea` or `need`.
    pub kind: String,
    pub text: String,
    pub theme: String,
    pub insee_code: String,
    #[serde(skip)]
    pub contact_name: String,
    #[serde(skip)]
    pub contact_email: String,
    /// `pending`, `published`, `merged` or `declined`.
    pub status: String,
    #[serde(skip)]
    pub reason: String,
    pub merged_into: Option<i64>,
    /// The coordination's public answer.
    pub answer: String,
    pub action_id: Option<i64>,
    pub action_code: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

const IDEA_COLS: &str = "i.id, i.territory_id, i.kind, i.text, i.theme, i.insee_code, i.contact_name, i.contact_email, i.status, \
    i.reason, i.merged_into, i.answer, i.action_id, a.code AS action_code, i.version, i.created_at";

pub async fn create_idea(db: &Db, territory_id: i64, i: &IdeaInput) -> DbResult<i64> {
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO ideas (territory_id, kind, text, theme, insee_code, contact_name, contact_email, consent, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(territory_id)
        .bind(&i.kind)
        .bind(&i.text)
        .bind(&i.theme)
        .bind(&i.insee_code)
        .bind(&i.contact_name)
        .bind(&i.contact_email)
        .bind(i.consent)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, Actor::system("public"), Some(territory_id), "idea", id, "create", i.text.chars().take(100).collect::<String>())?;
        tx.commit().await?;
        id
    }))
}

pub async fn get_idea(db: &Db, territory_id: i64, id: i64) -> DbResult<Idea> {
    let sql = format!("SELECT {IDEA_COLS} FROM ideas i LEFT JOIN actions a ON a.id = i.action_id WHERE i.id = $1 AND i.territory_id = $2");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Idea>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

/// All ideas (`published_only` for the public), newest first.
pub async fn list_ideas(db: &Db, territory_id: i64, published_only: bool) -> DbResult<Vec<Idea>> {
    let sql = format!(
        "SELECT {IDEA_COLS} FROM ideas i LEFT JOIN actions a ON a.id = i.action_id WHERE i.territory_id = $1 \
         AND (i.status = 'published' OR $2) ORDER BY i.created_at DESC, i.id DESC"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Idea>(&sql).bind(territory_id).bind(!published_only).fetch_all(pool).await?),
    )
}

#[derive(Debug, Clone)]
pub struct Moderation {
    pub status: IdeaStatus,
    pub reason: String,
    pub merged_into: Option<i64>,
    pub answer: String,
    pub action_id: Option<i64>,
}

pub async fn moderate_idea(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    version: i64,
    m: &Moderation,
) -> DbResult<Idea> {
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE ideas SET status = $1, reason = $2, merged_into = $3, answer = $4, action_id = $5, version = version + 1, updated_at = $6 \
             WHERE id = $7 AND territory_id = $8 AND version = $9",
        )
        .bind(m.status.as_str())
        .bind(&m.reason)
        .bind(m.merged_into)
        .bind(&m.answer)
        .bind(m.action_id)
        .bind(now)
        .bind(id)
        .bind(territory_id)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM ideas WHERE id = $1 AND territory_id = $2")
                .bind(id).bind(territory_id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() { DbError::Stale } else { DbError::NotFound });
        }
        audit!(tx, actor, Some(territory_id), "idea", id, "moderate", m.status.as_str().to_owned())?;
        tx.commit().await?;
    });
    get_idea(db, territory_id, id).await
}

pub async fn delete_idea(db: &Db, actor: &Actor, territory_id: i64, id: i64) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE ideas SET merged_into = NULL WHERE merged_into = $1 AND territory_id = $2")
            .bind(id).bind(territory_id).execute(&mut *tx).await?;
        let n = sqlx::query("DELETE FROM ideas WHERE id = $1 AND territory_id = $2")
            .bind(id).bind(territory_id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(territory_id), "idea", id, "delete", "Idée supprimée".to_owned())?;
        tx.commit().await?;
    });
    Ok(())
}

// ---------------------------------------------------------------- contact

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ContactMessage {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

pub async fn create_contact_message(db: &Db, territory_id: i64, c: &ContactInput) -> DbResult<i64> {
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO contact_messages (territory_id, name, email, subject, message, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(territory_id).bind(&c.name).bind(&c.email).bind(&c.subject).bind(&c.message).bind(now)
        .fetch_one(&mut *tx).await?;
        audit!(tx, Actor::system("public"), Some(territory_id), "contact_message", id, "create", c.subject.chars().take(100).collect::<String>())?;
        tx.commit().await?;
        id
    }))
}

pub async fn contact_messages(db: &Db, territory_id: i64) -> DbResult<Vec<ContactMessage>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, ContactMessage>(
        "SELECT id, name, email, subject, message, created_at FROM contact_messages WHERE territory_id = $1 ORDER BY created_at DESC, id DESC",
    ).bind(territory_id).fetch_all(pool).await?))
}

pub async fn delete_contact_message(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("DELETE FROM contact_messages WHERE id = $1 AND territory_id = $2")
            .bind(id).bind(territory_id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(territory_id), "contact_message", id, "delete", "Message supprimé".to_owned())?;
        tx.commit().await?;
    });
    Ok(())
}

// ---------------------------------------------------------------- retention

/// Personal data is kept at most this long: join requests and contact
/// messages are deleted, contact details left with an idea are erased.
pub const RETENTION_DAYS: i64 = 365;

/// Apply the retention rule as of `now`. Returns (join requests deleted,
/// messages deleted, ideas whose contact was erased).
pub async fn purge_personal_data(db: &Db, now: DateTime<Utc>) -> DbResult<(u64, u64, u64)> {
    let before = now - chrono::Duration::days(RETENTION_DAYS);
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let a = sqlx::query("DELETE FROM join_requests WHERE created_at < $1")
            .bind(before).execute(&mut *tx).await?.rows_affected();
        let b = sqlx::query("DELETE FROM contact_messages WHERE created_at < $1")
            .bind(before).execute(&mut *tx).await?.rows_affected();
        let c = sqlx::query(
            "UPDATE ideas SET contact_name = '', contact_email = '', consent = $1 \
             WHERE created_at < $2 AND (contact_name <> '' OR contact_email <> '')",
        )
        .bind(false).bind(before).execute(&mut *tx).await?.rows_affected();
        if a + b + c > 0 {
            audit!(tx, Actor::system("rétention"), None::<i64>, "participation", 0, "purge",
                format!("{a} demande(s), {b} message(s), {c} contact(s) d’idée effacés"))?;
        }
        tx.commit().await?;
        (a, b, c)
    }))
}

// ---------------------------------------------------------------- demo data

/// What [`seed_demo`] created, for the end-to-end test.
#[derive(Debug, Clone, Copy)]
pub struct DemoIds {
    pub group_id: i64,
    pub consultation_id: i64,
}

/// A little participation data for a demo territory: a steering committee, an
/// open working group with a public meeting, an open questionnaire (with a
/// condition and a few answers, results published) and moderated ideas.
pub async fn seed_demo(db: &Db, territory_id: i64) -> anyhow::Result<DemoIds> {
    use crate::domain::participation::{MeetingInput, QuestionInput};
    let actor = Actor::system("maillage demo");
    let copil = create_body(
        db,
        &actor,
        territory_id,
        &BodyInput::parse(
            "steering_committee",
            "Comité de pilotage du CLS",
            "",
            "Décide des orientations du contrat et valide le plan d’actions.",
            "",
            false,
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )
    .await?;
    for (name, org, role) in [
        (
            "Direction de la délégation départementale",
            "Agence régionale de santé",
            "Co-présidence",
        ),
        (
            "Vice-présidence santé",
            "Communauté d'agglomération",
            "Co-présidence",
        ),
        ("Direction", "CPAM de l'Artois", "Membre"),
    ] {
        let m = MemberInput::parse(name, org, role, false, "", "2024-01-01", "2028-12-31")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        add_member(db, &actor, territory_id, copil.id, &m, None).await?;
    }
    let group = create_body(
        db,
        &actor,
        territory_id,
        &BodyInput::parse(
            "working_group",
            "Groupe de travail santé mentale",
            "Santé mentale",
            "Réunit professionnels, élus et habitants (8 à 15 personnes) pour repérer les besoins en santé mentale et proposer des actions communes.",
            "15",
            true,
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    )
    .await?;
    for (name, org, inhabitant) in [
        ("Infirmière du CMP", "Centre médico-psychologique", false),
        ("Habitante de Liévin", "", true),
    ] {
        let m = MemberInput::parse(name, org, "Membre", inhabitant, "", "", "")
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        add_member(db, &actor, territory_id, group.id, &m, None).await?;
    }
    let next = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        + chrono::Duration::days(21);
    let meeting = MeetingInput::parse(
        "Rencontre publique : santé mentale des jeunes",
        &fmt_date(next),
        "18:00",
        "Salle des fêtes, Liévin",
        "",
        "Présentation du diagnostic, échanges avec les habitants.",
        "",
        true,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    create_meeting(db, &actor, territory_id, group.id, &meeting).await?;

    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let c = create_consultation(
        db,
        &actor,
        territory_id,
        &ConsultationInput {
            title: "Votre accès aux soins".into(),
            intro: "Aidez-nous à mieux connaître vos besoins : cinq minutes, anonyme, sans compte."
                .into(),
            opens_on: today - chrono::Duration::days(7),
            closes_on: today + chrono::Duration::days(60),
            panel_only: false,
            results_published: true,
        },
    )
    .await?;
    let bad = |e: Vec<(&'static str, String)>| anyhow::anyhow!("{e:?}");
    let q1 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "single",
            "Avez-vous un médecin traitant ?",
            "",
            true,
            "Oui\nNon",
            "",
            "",
            "",
            &[],
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let qs = questions(db, c.id).await?;
    let q2 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "long_text",
            "Qu’est-ce qui vous en empêche ?",
            "Par exemple : délais, distance, refus de nouveaux patients.",
            false,
            "",
            "",
            "",
            &format!("{q1}:2"),
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let q3 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "multiple",
            "Où vous soignez-vous ?",
            "Plusieurs réponses possibles.",
            false,
            "Cabinet médical\nMaison de santé\nUrgences\nPharmacie",
            "",
            "",
            "",
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let q4 = add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "scale",
            "Diriez-vous qu’il est facile de consulter près de chez vous ?",
            "",
            false,
            "",
            "1",
            "5",
            "",
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    add_question(
        db,
        &actor,
        territory_id,
        c.id,
        &QuestionInput::parse(
            "commune",
            "Votre commune de résidence",
            "",
            false,
            "",
            "",
            "",
            "",
            &qs,
        )
        .map_err(bad)?,
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    for i in 0..12 {
        let mut a = vec![
            (q1, if i % 3 == 0 { "2" } else { "1" }.to_owned()),
            (q3, (1 + i % 4).to_string()),
            (q4, (1 + i % 5).to_string()),
        ];
        if i % 3 == 0 {
            a.push((
                q2,
                "Plus de médecin qui accepte de nouveaux patients".into(),
            ));
        }
        submit_response(db, c.id, &format!("demo-{i}"), None, &a)
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    }

    for (kind, text, theme, status, answer) in [
        ("idea", "Un atelier « bien dormir » pour les ados au collège.", "Jeunesse", IdeaStatus::Published, "Merci ! Le groupe de travail santé mentale étudiera cette idée à sa prochaine réunion."),
        ("need", "Il manque un kiné qui se déplace à domicile à Éleu-dit-Leauwette.", "Accès aux soins", IdeaStatus::Published, ""),
        ("idea", "Des bancs le long du chemin vers la maison de santé.", "Mobilité", IdeaStatus::Pending, ""),
    ] {
        let input = IdeaInput {
            kind: kind.into(),
            text: text.into(),
            theme: theme.into(),
            insee_code: String::new(),
            contact_name: String::new(),
            contact_email: String::new(),
            consent: false,
        };
        let id = create_idea(db, territory_id, &input).await?;
        if status != IdeaStatus::Pending {
            moderate_idea(db, &actor, territory_id, id, 1, &Moderation { status, reason: String::new(), merged_into: None, answer: answer.into(), action_id: None }).await?;
        }
    }
    Ok(DemoIds {
        group_id: group.id,
        consultation_id: c.id,
    })
}

/// The follow-ups of an action decided in public meetings (for the public
/// fiche; decisions of closed meetings stay in the back office).
pub async fn public_follow_ups_for_action(db: &Db, action_id: i64) -> DbResult<Vec<Decision>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Decision>(
        "SELECT d.id, d.meeting_id, d.text, d.follow_up, d.owner, d.due_on, d.action_id, a.code AS action_code, d.done \
         FROM meeting_decisions d JOIN meetings m ON m.id = d.meeting_id LEFT JOIN actions a ON a.id = d.action_id \
         WHERE d.action_id = $1 AND m.public = $2 ORDER BY d.id",
    )
    .bind(action_id)
    .bind(true)
    .fetch_all(pool)
    .await?))
}

/// The published ideas that led to an action.
pub async fn published_ideas_for_action(db: &Db, action_id: i64) -> DbResult<Vec<Idea>> {
    let sql = format!(
        "SELECT {IDEA_COLS} FROM ideas i LEFT JOIN actions a ON a.id = i.action_id \
         WHERE i.action_id = $1 AND i.status = 'published' ORDER BY i.created_at, i.id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Idea>(&sql)
        .bind(action_id)
        .fetch_all(pool)
        .await?))
}

/// Mark a follow-up done or not. The decision must belong to a body of the
/// territory; returns the action it follows up.
pub async fn set_follow_up_done(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    decision_id: i64,
    done: bool,
) -> DbResult<Option<i64>> {
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE meeting_decisions SET done = $1 WHERE id = $2 AND meeting_id IN \
             (SELECT m.id FROM meetings m JOIN bodies b ON b.id = m.body_id WHERE b.territory_id = $3) \
             RETURNING action_id",
        )
        .bind(done)
        .bind(decision_id)
        .bind(territory_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((action_id,)) = row else { return Err(DbError::NotFound) };
        let what = if done { "faite" } else { "à faire" };
        match action_id {
            Some(a) => audit!(tx, actor, Some(territory_id), "action", a, "follow_up", format!("Suite n° {decision_id} : {what}"))?,
            None => audit!(tx, actor, Some(territory_id), "decision", decision_id, "follow_up", format!("Suite : {what}"))?,
        };
        tx.commit().await?;
        action_id
    }))
}

/// The action a decision of the territory follows up (`None`: no such
/// decision in the territory; `Some(None)`: a decision with no action).
pub async fn decision_action(
    db: &Db,
    territory_id: i64,
    decision_id: i64,
) -> DbResult<Option<Option<i64>>> {
    let row: Option<(Option<i64>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT d.action_id FROM meeting_decisions d JOIN meetings m ON m.id = d.meeting_id \
         JOIN bodies b ON b.id = m.body_id WHERE d.id = $1 AND b.territory_id = $2",
    )
    .bind(decision_id)
    .bind(territory_id)
    .fetch_optional(pool)
    .await?);
    Ok(row.map(|(a,)| a))
}
