//! Meetings of a body: attendance, invitations, decisions, and the body's documents.

use super::*;

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

pub(super) const MEETING_COLS: &str =
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

pub(super) type MeetingRow = (
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
         WHERE b.territory_id = $1 AND m.public = $2 AND m.starts_at >= $3 ORDER BY m.starts_at, m.id LIMIT 50";
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

pub(super) const DOC_COLS: &str =
    "id, body_id, title, url, file_name, media_type, size, storage_key";

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
    store: &super::super::documents::Store,
    actor: &Actor,
    territory_id: i64,
    body_id: i64,
    title: &str,
    file_name: &str,
    kind: crate::domain::document::DocumentKind,
    bytes: Vec<u8>,
) -> DbResult<i64> {
    get_body(db, territory_id, body_id).await?;
    let key = super::super::documents::new_key();
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
    store: &super::super::documents::Store,
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
    store: &super::super::documents::Store,
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
