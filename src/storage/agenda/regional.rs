//! Regional events (the professionals' network agenda, issue 13): events of
//! the hidden regional owner (a territory row of kind `region`, migration
//! 0017), the territories each one concerns (`event_territories`; the
//! owner's own id there means « toute la région »), and sessions whose place
//! is any territory's place or free text.

use super::*;

/// The id of the regional owner (the migration creates it).
pub async fn region_owner(db: &Db) -> DbResult<i64> {
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, i64>(
        "SELECT id FROM territories WHERE kind = 'region' ORDER BY id LIMIT 1",
    )
    .fetch_one(pool)
    .await?))
}

/// Which territories a regional event concerns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Concerns {
    /// « Toute la région »: every territory, those created later included.
    pub whole_region: bool,
    pub territory_ids: Vec<i64>,
}

/// Create a regional event and say which territories it concerns, in one
/// transaction.
pub async fn create_regional_event(
    db: &Db,
    actor: &Actor,
    e: &EventInput,
    concerns: &Concerns,
) -> DbResult<Event> {
    let owner = region_owner(db).await?;
    let sql = format!(
        "INSERT INTO events (territory_id, title, kind, status, organiser, themes, description, linked_actions, \
         programme_to_come, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         RETURNING {EVENT_COLS}"
    );
    let themes_sql = note_themes_sql(db.backend());
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Event>(&sql)
            .bind(owner)
            .bind(&e.title)
            .bind(&e.kind)
            .bind(&e.status)
            .bind(&e.organiser)
            .bind(&e.themes)
            .bind(&e.description)
            .bind(&e.linked_actions)
            .bind(e.programme_to_come)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
        for t in concern_rows(owner, concerns) {
            sqlx::query("INSERT INTO event_territories (event_id, territory_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(row.id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        note_themes!(tx, themes_sql, owner, &row.themes)?;
        audit!(tx, actor, None::<i64>, "event", row.id, "create", format!("Événement régional « {} »", row.title))?;
        tx.commit().await?;
        row
    }))
}

fn concern_rows(owner: i64, c: &Concerns) -> Vec<i64> {
    if c.whole_region {
        vec![owner]
    } else {
        c.territory_ids.clone()
    }
}

/// Save a regional event and the territories it concerns, in one
/// transaction; [`DbError::Stale`] when `expected_version` is not the
/// stored one (nothing written).
pub async fn update_regional_event(
    db: &Db,
    actor: &Actor,
    id: i64,
    expected_version: i64,
    e: &EventInput,
    concerns: &Concerns,
) -> DbResult<Event> {
    let owner = region_owner(db).await?;
    get_event(db, owner, id).await?;
    let sql = format!(
        "UPDATE events SET title = $1, kind = $2, status = $3, organiser = $4, themes = $5, description = $6, \
         linked_actions = $7, programme_to_come = $8, version = version + 1, updated_at = $9 \
         WHERE id = $10 AND territory_id = $11 AND version = $12 RETURNING {EVENT_COLS}"
    );
    let themes_sql = refresh_themes_sql(db.backend());
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Event>(&sql)
            .bind(&e.title)
            .bind(&e.kind)
            .bind(&e.status)
            .bind(&e.organiser)
            .bind(&e.themes)
            .bind(&e.description)
            .bind(&e.linked_actions)
            .bind(e.programme_to_come)
            .bind(Utc::now())
            .bind(id)
            .bind(owner)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(DbError::Stale);
        };
        sqlx::query("DELETE FROM event_territories WHERE event_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for t in concern_rows(owner, concerns) {
            sqlx::query("INSERT INTO event_territories (event_id, territory_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        refresh_themes!(tx, themes_sql, owner)?;
        audit!(tx, actor, None::<i64>, "event", id, "update", format!("Événement régional « {} » modifié", row.title))?;
        tx.commit().await?;
        Ok(row)
    })
}

/// Cancel a regional event: its status and every session (registrations
/// stay listed).
pub async fn cancel_regional_event(db: &Db, actor: &Actor, id: i64) -> DbResult<Event> {
    let owner = region_owner(db).await?;
    let e = get_event(db, owner, id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE events SET status = 'cancelled', version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE event_sessions SET cancelled = $1, seats_version = seats_version + 1 WHERE event_id = $2")
            .bind(true)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, None::<i64>, "event", id, "cancel", format!("Événement régional « {} » annulé", e.title))?;
        tx.commit().await?;
    });
    get_event(db, owner, id).await
}

/// The territories a regional event concerns.
pub async fn concerns(db: &Db, event_id: i64) -> DbResult<Concerns> {
    let owner = region_owner(db).await?;
    let ids: Vec<i64> = db_run!(db, pool => sqlx::query_scalar(
        "SELECT territory_id FROM event_territories WHERE event_id = $1 ORDER BY territory_id",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await?);
    Ok(Concerns {
        whole_region: ids.contains(&owner),
        territory_ids: ids.into_iter().filter(|t| *t != owner).collect(),
    })
}

/// Every regional event, newest first.
pub async fn regional_events(db: &Db) -> DbResult<Vec<Event>> {
    let owner = region_owner(db).await?;
    let mut list = list_events(db, owner).await?;
    list.reverse();
    Ok(list)
}

/// A regional event by id.
pub async fn regional_event(db: &Db, id: i64) -> DbResult<Event> {
    get_event(db, region_owner(db).await?, id).await
}

/// The sessions of regional events from `from` on, in time order; only those
/// of events concerning `territory_id` (or the whole region) when given.
pub async fn regional_sessions(
    db: &Db,
    territory_id: Option<i64>,
    from: DateTime<Utc>,
) -> DbResult<Vec<Session>> {
    let owner = region_owner(db).await?;
    let sql = format!(
        "{SESSION_SELECT} JOIN events e ON e.id = s.event_id \
         WHERE e.territory_id = $1 AND s.ends_at >= $2 AND ($3 = 0 OR EXISTS (\
           SELECT 1 FROM event_territories et WHERE et.event_id = e.id \
           AND (et.territory_id = $4 OR et.territory_id = $1))) \
         ORDER BY s.starts_at, s.id"
    );
    let only = i64::from(territory_id.is_some());
    Ok(db_run!(db, pool => sqlx::query_as::<_, Session>(&sql)
        .bind(owner)
        .bind(from)
        .bind(only)
        .bind(territory_id.unwrap_or(owner))
        .fetch_all(pool)
        .await?))
}

/// Every place of every territory (a regional session may be held at any
/// of them), by commune and name.
pub async fn all_places(db: &Db) -> DbResult<Vec<Place>> {
    let sql = format!(
        "SELECT {PLACE_COLS} FROM places p LEFT JOIN communes c ON c.insee_code = p.insee_code \
         ORDER BY commune_name, p.name"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Place>(&sql).fetch_all(pool).await?))
}

/// Add a session to a regional event: at a place of any territory, or at a
/// place typed as text.
pub async fn add_regional_session(
    db: &Db,
    actor: &Actor,
    event_id: i64,
    s: &SessionInput,
    place_text: &str,
) -> DbResult<Session> {
    crate::domain::agenda::event::check_session(s.starts_at, s.ends_at, s.capacity)
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    regional_event(db, event_id).await?;
    let id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO event_sessions (event_id, starts_at, ends_at, place_id, capacity, audience, audience_roles, \
             place_text, created_at, territory_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT territory_id FROM events WHERE id = $1)) RETURNING id",
        )
        .bind(event_id)
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(s.place_id)
        .bind(s.capacity)
        .bind(&s.audience)
        .bind(&s.audience_roles)
        .bind(place_text)
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, None::<i64>, "event", event_id, "session", format!("Séance du {}", s.starts_at))?;
        tx.commit().await?;
        id
    });
    get_session(db, id).await
}
