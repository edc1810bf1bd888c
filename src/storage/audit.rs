//! The audit trail: who changed what, and when. Entries are written in the
//! same transaction as the change they describe.

use chrono::{DateTime, Utc};

use super::{Db, DbResult};
use crate::db_run;

/// The person (or command) behind a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
}

impl Actor {
    pub fn system(what: &str) -> Self {
        Actor {
            user_id: None,
            label: what.to_owned(),
        }
    }
}

pub const INSERT: &str =
    "INSERT INTO audit_log (at, user_id, actor, territory_id, entity, entity_id, action, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Write one audit entry inside an open transaction `$tx`.
#[macro_export]
macro_rules! audit {
    ($tx:expr, $actor:expr, $territory:expr, $entity:expr, $entity_id:expr, $action:expr, $details:expr) => {
        sqlx::query($crate::storage::audit::INSERT)
            .bind(chrono::Utc::now())
            .bind($actor.user_id)
            .bind(&$actor.label)
            .bind($territory)
            .bind($entity)
            .bind($entity_id.to_string())
            .bind($action)
            .bind($details)
            .execute(&mut *$tx)
            .await
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub details: String,
}

/// The history of one object, newest first.
pub async fn for_entity(
    db: &Db,
    entity: &str,
    entity_id: &str,
    limit: i64,
) -> DbResult<Vec<Entry>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Entry>(
        "SELECT at, actor, entity, entity_id, action, details FROM audit_log \
         WHERE entity = $1 AND entity_id = $2 ORDER BY at DESC, id DESC LIMIT $3",
    )
    .bind(entity)
    .bind(entity_id)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// Everything that changed in a territory, newest first.
pub async fn for_territory(db: &Db, territory_id: i64, limit: i64) -> DbResult<Vec<Entry>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Entry>(
        "SELECT at, actor, entity, entity_id, action, details FROM audit_log \
         WHERE territory_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(territory_id)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}
