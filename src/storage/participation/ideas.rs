//! Ideas (moderation), contact messages, and the retention of personal data.

use super::*;

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

pub(super) const IDEA_COLS: &str = "i.id, i.territory_id, i.kind, i.text, i.theme, i.insee_code, i.contact_name, i.contact_email, i.status, \
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
        audit!(tx, actor, Some(territory_id), "idea", id, "moderate", format!("Idée : {}", m.status.label().to_lowercase()))?;
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
