//! What waits for the coordination of a territory (the « À faire » of its
//! dashboard): counts and short lists, each one query.

use chrono::{DateTime, Utc};

use super::{Db, DbResult};
use crate::db_run;

/// Counts of what waits for someone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Ideas not yet published, merged or declined.
    pub ideas: i64,
    /// Requests to join a group, not yet decided.
    pub join_requests: i64,
    /// People on a waiting list for a session still to come.
    pub waiting_list: i64,
}

pub async fn waiting(db: &Db, territory_id: i64, now: DateTime<Utc>) -> DbResult<Waiting> {
    Ok(db_run!(db, pool => {
        let (ideas,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM ideas WHERE territory_id = $1 AND status = 'pending'",
        )
        .bind(territory_id)
        .fetch_one(pool)
        .await?;
        let (join_requests,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM join_requests r JOIN bodies b ON b.id = r.body_id \
             WHERE b.territory_id = $1 AND r.status = 'pending'",
        )
        .bind(territory_id)
        .fetch_one(pool)
        .await?;
        let (waiting_list,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM registrations r \
             JOIN event_sessions s ON s.id = r.session_id \
             JOIN events e ON e.id = s.event_id \
             WHERE e.territory_id = $1 AND r.status = 'waiting' AND s.starts_at >= $2",
        )
        .bind(territory_id)
        .bind(now)
        .fetch_one(pool)
        .await?;
        Waiting { ideas, join_requests, waiting_list }
    }))
}

/// A session of an event between two instants.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UpcomingSession {
    pub event_id: i64,
    pub session_id: i64,
    pub title: String,
    pub starts_at: DateTime<Utc>,
}

/// The event sessions of a territory in `[from, until)`, not cancelled.
pub async fn sessions_between(
    db: &Db,
    territory_id: i64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DbResult<Vec<UpcomingSession>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, UpcomingSession>(
        "SELECT e.id AS event_id, s.id AS session_id, e.title, s.starts_at \
         FROM event_sessions s JOIN events e ON e.id = s.event_id \
         WHERE e.territory_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3 \
         AND NOT s.cancelled AND e.status <> 'cancelled' \
         ORDER BY s.starts_at, s.id LIMIT 50",
    )
    .bind(territory_id)
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await?))
}

/// An indicator with no measurement since a date.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaleIndicator {
    pub indicator_id: i64,
    pub label: String,
    pub action_id: Option<i64>,
    pub action_code: Option<String>,
}

/// The indicators of the territory's contracts with no measurement on or
/// after `since` (`YYYY-MM-DD`, a calendar date like `measured_on`).
pub async fn indicators_without_measurement(
    db: &Db,
    territory_id: i64,
    since: &str,
) -> DbResult<Vec<StaleIndicator>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, StaleIndicator>(
        "SELECT i.id AS indicator_id, i.label, a.id AS action_id, a.code AS action_code \
         FROM indicators i \
         JOIN contracts c ON c.id = i.contract_id \
         LEFT JOIN actions a ON a.id = i.action_id \
         WHERE c.territory_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM measurements m \
                         WHERE m.indicator_id = i.id AND m.measured_on >= $2) \
         ORDER BY a.code, i.id LIMIT 100",
    )
    .bind(territory_id)
    .bind(since)
    .fetch_all(pool)
    .await?))
}
