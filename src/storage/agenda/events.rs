//! Events and their sessions, and the public agenda's query.

use super::*;

// ---------------------------------------------------------------- events

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub territory_id: i64,
    pub title: String,
    /// `workshop`, `forum`, `public_meeting`, `training`, `professionals_day`.
    pub kind: String,
    /// `save_the_date`, `confirmed`, `postponed`, `cancelled`.
    pub status: String,
    pub organiser: String,
    /// Themes, one per line.
    pub themes: String,
    pub description: String,
    pub linked_actions: String,
    pub programme_to_come: bool,
    pub version: i64,
    /// The fiche action the event carries out, if any (a territory's).
    pub action_id: Option<i64>,
}

impl Event {
    pub fn theme_list(&self) -> Vec<&str> {
        self.themes
            .lines()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct EventInput {
    pub title: String,
    pub kind: String,
    pub status: String,
    pub organiser: String,
    pub themes: String,
    pub description: String,
    pub linked_actions: String,
    pub programme_to_come: bool,
    /// The fiche action carried out (checked against the territory).
    pub action_id: Option<i64>,
}

pub(super) const EVENT_COLS: &str =
    "id, territory_id, title, kind, status, organiser, themes, description, \
    linked_actions, programme_to_come, version, action_id";

// ------------------------------------------------ the territory's theme list

/// Add an event's themes to its territory's theme list
/// (`territory_event_themes`, which the public agenda reads) unless they are
/// there already: `$1` the territory, `$2` the themes, normalised (see
/// [`normalised_themes`]). One statement, so concurrent writers cannot lose
/// each other's themes.
pub(super) fn note_themes_sql(backend: crate::storage::Backend) -> &'static str {
    const SQLITE: &str = "INSERT INTO territory_event_themes (territory_id, themes) VALUES ($1, $2) \
        ON CONFLICT (territory_id) DO UPDATE SET themes = territory_event_themes.themes || char(10) || excluded.themes \
        WHERE instr(char(10) || territory_event_themes.themes || char(10), char(10) || excluded.themes || char(10)) = 0";
    const POSTGRES: &str = "INSERT INTO territory_event_themes (territory_id, themes) VALUES ($1, $2) \
        ON CONFLICT (territory_id) DO UPDATE SET themes = territory_event_themes.themes || chr(10) || excluded.themes \
        WHERE strpos(chr(10) || territory_event_themes.themes || chr(10), chr(10) || excluded.themes || chr(10)) = 0";
    match backend {
        crate::storage::Backend::Sqlite => SQLITE,
        crate::storage::Backend::Postgres => POSTGRES,
    }
}

/// Write the territory `$1`'s theme list again from its events (after an
/// event's themes changed: one may have left the list).
pub(super) fn refresh_themes_sql(backend: crate::storage::Backend) -> &'static str {
    const SQLITE: &str = "INSERT INTO territory_event_themes (territory_id, themes) \
        SELECT $1, COALESCE(group_concat(d.themes, char(10)), '') \
        FROM (SELECT DISTINCT themes FROM events WHERE territory_id = $1 AND themes <> '') d WHERE true \
        ON CONFLICT (territory_id) DO UPDATE SET themes = excluded.themes";
    const POSTGRES: &str = "INSERT INTO territory_event_themes (territory_id, themes) \
        SELECT $1, COALESCE(string_agg(d.themes, chr(10)), '') \
        FROM (SELECT DISTINCT themes FROM events WHERE territory_id = $1 AND themes <> '') d \
        ON CONFLICT (territory_id) DO UPDATE SET themes = excluded.themes";
    match backend {
        crate::storage::Backend::Sqlite => SQLITE,
        crate::storage::Backend::Postgres => POSTGRES,
    }
}

/// An event's themes as the theme list keeps them: one per line, trimmed,
/// without empty lines.
pub fn normalised_themes(themes: &str) -> String {
    themes
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// In the transaction `$tx`, add the themes `$themes` to the theme list of
/// the territory `$territory` (`$sql` from [`note_themes_sql`]).
macro_rules! note_themes {
    ($tx:expr, $sql:expr, $territory:expr, $themes:expr) => {{
        let themes = normalised_themes($themes);
        if themes.is_empty() {
            Ok(Default::default())
        } else {
            sqlx::query($sql)
                .bind($territory)
                .bind(themes)
                .execute(&mut *$tx)
                .await
        }
    }};
}
pub(super) use note_themes;

/// In the transaction `$tx`, write the theme list of the territory
/// `$territory` again (`$sql` from [`refresh_themes_sql`]).
macro_rules! refresh_themes {
    ($tx:expr, $sql:expr, $territory:expr) => {
        sqlx::query($sql).bind($territory).execute(&mut *$tx).await
    };
}
pub(super) use refresh_themes;

pub async fn create_event(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    e: &EventInput,
) -> DbResult<Event> {
    check_action(db, territory_id, e.action_id).await?;
    let sql = format!(
        "INSERT INTO events (territory_id, title, kind, status, organiser, themes, description, linked_actions, \
         programme_to_come, created_at, updated_at, action_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) \
         RETURNING {EVENT_COLS}"
    );
    let themes_sql = note_themes_sql(db.backend());
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Event>(&sql)
            .bind(territory_id)
            .bind(&e.title)
            .bind(&e.kind)
            .bind(&e.status)
            .bind(&e.organiser)
            .bind(&e.themes)
            .bind(&e.description)
            .bind(&e.linked_actions)
            .bind(e.programme_to_come)
            .bind(Utc::now())
            .bind(e.action_id)
            .fetch_one(&mut *tx)
            .await?;
        note_themes!(tx, themes_sql, territory_id, &row.themes)?;
        audit!(tx, actor, Some(territory_id), "event", row.id, "create", format!("Événement « {} »", row.title))?;
        tx.commit().await?;
        row
    }))
}

pub async fn update_event(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    expected_version: i64,
    e: &EventInput,
) -> DbResult<Event> {
    check_action(db, territory_id, e.action_id).await?;
    let sql = format!(
        "UPDATE events SET title = $1, kind = $2, status = $3, organiser = $4, themes = $5, description = $6, \
         linked_actions = $7, programme_to_come = $8, version = version + 1, updated_at = $9, action_id = $13 \
         WHERE id = $10 AND territory_id = $11 AND version = $12 RETURNING {EVENT_COLS}"
    );
    let themes_sql = refresh_themes_sql(db.backend());
    let row = db_run!(db, pool => {
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
            .bind(territory_id)
            .bind(expected_version)
            .bind(e.action_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = &row {
            refresh_themes!(tx, themes_sql, territory_id)?;
            audit!(tx, actor, Some(territory_id), "event", id, "update", format!("Événement « {} » modifié", r.title))?;
        }
        tx.commit().await?;
        row
    });
    match row {
        Some(r) => Ok(r),
        None => {
            get_event(db, territory_id, id).await?;
            Err(DbError::Stale)
        }
    }
}

pub async fn get_event(db: &Db, territory_id: i64, id: i64) -> DbResult<Event> {
    let sql = format!("SELECT {EVENT_COLS} FROM events WHERE id = $1 AND territory_id = $2");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Event>(&sql).bind(id).bind(territory_id).fetch_one(pool).await?),
    )
}

pub async fn list_events(db: &Db, territory_id: i64) -> DbResult<Vec<Event>> {
    let sql = format!("SELECT {EVENT_COLS} FROM events WHERE territory_id = $1 ORDER BY id");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Event>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    pub event_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub place_id: Option<i64>,
    /// Seats; no limit when absent.
    pub capacity: Option<i64>,
    /// `public`, `professionals` or `roles`.
    pub audience: String,
    /// Named professional roles when `audience` is `roles`, one per line.
    pub audience_roles: String,
    pub cancelled: bool,
    /// The place typed as free text (regional events), when there is no
    /// place row.
    pub place_text: String,
    /// Seats taken by confirmed registrations.
    pub taken: i64,
    /// People on the waiting list.
    pub waiting: i64,
}

#[derive(Debug, Clone)]
pub struct SessionInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub place_id: Option<i64>,
    pub capacity: Option<i64>,
    pub audience: String,
    pub audience_roles: String,
}

pub(super) const SESSION_SELECT: &str = "SELECT s.id, s.event_id, s.starts_at, s.ends_at, s.place_id, s.capacity, s.audience, \
    s.audience_roles, s.cancelled, s.place_text, \
    CAST(COALESCE((SELECT SUM(r.party_size) FROM registrations r WHERE r.session_id = s.id AND r.status = 'confirmed'), 0) AS BIGINT) AS taken, \
    CAST(COALESCE((SELECT SUM(r.party_size) FROM registrations r WHERE r.session_id = s.id AND r.status = 'waiting'), 0) AS BIGINT) AS waiting \
    FROM event_sessions s";

pub async fn add_session(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    event_id: i64,
    s: &SessionInput,
) -> DbResult<Session> {
    crate::domain::agenda::event::check_session(s.starts_at, s.ends_at, s.capacity)
        .map_err(|e| DbError::Other(anyhow::anyhow!(e)))?;
    get_event(db, territory_id, event_id).await?;
    if let Some(p) = s.place_id {
        check_place(db, territory_id, p).await?;
    }
    let id = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO event_sessions (event_id, starts_at, ends_at, place_id, capacity, audience, audience_roles, created_at, territory_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT territory_id FROM events WHERE id = $1)) RETURNING id",
        )
        .bind(event_id)
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(s.place_id)
        .bind(s.capacity)
        .bind(&s.audience)
        .bind(&s.audience_roles)
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "event", event_id, "session", format!("Séance du {}", s.starts_at))?;
        tx.commit().await?;
        id
    });
    get_session(db, id).await
}

pub async fn get_session(db: &Db, id: i64) -> DbResult<Session> {
    let sql = format!("{SESSION_SELECT} WHERE s.id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Session>(&sql).bind(id).fetch_one(pool).await?))
}

pub async fn sessions(db: &Db, event_id: i64) -> DbResult<Vec<Session>> {
    let sql = format!("{SESSION_SELECT} WHERE s.event_id = $1 ORDER BY s.starts_at, s.id");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Session>(&sql).bind(event_id).fetch_all(pool).await?),
    )
}

/// Every session of a territory's events (for the agenda), in time order.
pub async fn territory_sessions(db: &Db, territory_id: i64) -> DbResult<Vec<Session>> {
    let sql = format!(
        "{SESSION_SELECT} JOIN events e ON e.id = s.event_id WHERE e.territory_id = $1 ORDER BY s.starts_at, s.id"
    );
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Session>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

/// What the public agenda asks for.
#[derive(Debug, Clone, Default)]
pub struct AgendaFilter {
    pub from: DateTime<Utc>,
    /// Sessions starting before this instant (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// Sessions at a place of this commune.
    pub insee_code: Option<String>,
    /// `public`, `professionals` or `roles`.
    pub audience: Option<String>,
    /// Events with this theme among their lines.
    pub theme: Option<String>,
}

/// Push the WHERE clause of [`agenda_sessions`] (same text on both backends).
macro_rules! agenda_where {
    ($qb:expr, $territory_id:expr, $f:expr) => {{
        $qb.push(" WHERE s.territory_id = ")
            .push_bind($territory_id);
        $qb.push(" AND s.starts_at >= ").push_bind($f.from);
        if let Some(until) = $f.until {
            $qb.push(" AND s.starts_at < ").push_bind(until);
        }
        if let Some(code) = &$f.insee_code {
            $qb.push(" AND s.place_id IN (SELECT id FROM places WHERE insee_code = ")
                .push_bind(code.clone())
                .push(")");
        }
        if let Some(a) = &$f.audience {
            $qb.push(" AND s.audience = ").push_bind(a.clone());
        }
        if let Some(theme) = &$f.theme {
            // Themes are stored one per line: match a whole line.
            let pattern = format!(
                "%\n{}\n%",
                theme
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            $qb.push(" AND (")
                .push_bind("\n")
                .push(" || e.themes || ")
                .push_bind("\n")
                .push(") LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\'");
        }
    }};
}

/// The sessions of the public agenda, filtered in SQL, in date order, at
/// most `limit` (without seat counts, see [`fill_seat_counts`]), and how many
/// match in all.
pub async fn agenda_sessions(
    db: &Db,
    territory_id: i64,
    f: &AgendaFilter,
    limit: i64,
) -> DbResult<(Vec<Session>, i64)> {
    Ok(db_run!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT s.id, s.event_id, s.starts_at, s.ends_at, s.place_id, s.capacity, s.audience, \
             s.audience_roles, s.cancelled, s.place_text, CAST(0 AS BIGINT) AS taken, CAST(0 AS BIGINT) AS waiting \
             FROM event_sessions s JOIN events e ON e.id = s.event_id",
        );
        agenda_where!(qb, territory_id, f);
        qb.push(" ORDER BY s.starts_at, s.id LIMIT ").push_bind(limit);
        let sessions: Vec<Session> = qb.build_query_as().fetch_all(pool).await?;
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT COUNT(*) FROM event_sessions s JOIN events e ON e.id = s.event_id",
        );
        agenda_where!(qb, territory_id, f);
        let (total,): (i64,) = qb.build_query_as().fetch_one(pool).await?;
        (sessions, total)
    }))
}

/// Some events of a territory, by id.
pub async fn events_by_ids(db: &Db, territory_id: i64, ids: &[i64]) -> DbResult<Vec<Event>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(db_run!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {EVENT_COLS} FROM events WHERE territory_id = "
        ));
        qb.push_bind(territory_id).push(" AND id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build_query_as().fetch_all(pool).await?
    }))
}

/// Every theme used by a territory's events, sorted, once each.
pub async fn event_themes(db: &Db, territory_id: i64) -> DbResult<Vec<String>> {
    let rows: Vec<String> = db_run!(db, pool => sqlx::query_scalar(
        "SELECT DISTINCT themes FROM events WHERE territory_id = $1 AND themes <> ''",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?);
    Ok(themes_of(&rows))
}

/// The themes of events' `themes` columns (one theme per line), sorted,
/// once each.
pub fn themes_of(rows: &[String]) -> Vec<String> {
    let mut themes: Vec<String> = rows
        .iter()
        .flat_map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty()))
        .map(str::to_owned)
        .collect();
    themes.sort();
    themes.dedup();
    themes
}

/// Set `taken` and `waiting` of these sessions, in one grouped query.
pub async fn fill_seat_counts(db: &Db, sessions: &mut [Session]) -> DbResult<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, String, i64)> = db_run!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT session_id, status, CAST(SUM(party_size) AS BIGINT) FROM registrations \
             WHERE status IN ('confirmed', 'waiting') AND session_id IN (",
        );
        let mut ids = qb.separated(", ");
        for s in sessions.iter() {
            ids.push_bind(s.id);
        }
        qb.push(") GROUP BY session_id, status");
        qb.build_query_as().fetch_all(pool).await?
    });
    let mut counts: HashMap<i64, (i64, i64)> = HashMap::new();
    for (id, status, n) in rows {
        let c = counts.entry(id).or_default();
        if status == "confirmed" {
            c.0 = n;
        } else {
            c.1 = n;
        }
    }
    for s in sessions {
        let (taken, waiting) = counts.get(&s.id).copied().unwrap_or_default();
        s.taken = taken;
        s.waiting = waiting;
    }
    Ok(())
}

pub async fn cancel_session(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    session_id: i64,
) -> DbResult<()> {
    let s = get_session(db, session_id).await?;
    get_event(db, territory_id, s.event_id).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE event_sessions SET cancelled = $1, seats_version = seats_version + 1 WHERE id = $2")
            .bind(true)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "event", s.event_id, "session_cancel", format!("Séance {session_id} annulée"))?;
        tx.commit().await?;
    });
    Ok(())
}
