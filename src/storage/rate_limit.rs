//! Rate limits kept in the database, so that every server process behind a
//! load balancer counts the same events.

use chrono::{Duration, Utc};

use super::{Db, DbResult};
use crate::db_run;

/// Count the events of `bucket` for `key_hash` in the last `window`.
pub async fn count_recent(
    db: &Db,
    bucket: &str,
    key_hash: &str,
    window: Duration,
) -> DbResult<i64> {
    let since = Utc::now() - window;
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM rate_events WHERE bucket = $1 AND key_hash = $2 AND at > $3",
    )
    .bind(bucket)
    .bind(key_hash)
    .bind(since)
    .fetch_one(pool)
    .await?))
}

/// Record one event. Old events (over a day) are swept now and then.
pub async fn record(db: &Db, bucket: &str, key_hash: &str) -> DbResult<()> {
    let now = Utc::now();
    db_run!(db, pool => {
        sqlx::query("INSERT INTO rate_events (bucket, key_hash, at) VALUES ($1, $2, $3)")
            .bind(bucket)
            .bind(key_hash)
            .bind(now)
            .execute(pool)
            .await?;
        if rand::random::<u8>() < 4 {
            sqlx::query("DELETE FROM rate_events WHERE at < $1")
                .bind(now - Duration::days(1))
                .execute(pool)
                .await?;
        }
    });
    Ok(())
}

/// Forget the events of a key (after a successful login, say).
pub async fn clear(db: &Db, bucket: &str, key_hash: &str) -> DbResult<()> {
    db_run!(db, pool => {
        sqlx::query("DELETE FROM rate_events WHERE bucket = $1 AND key_hash = $2")
        .bind(bucket)
        .bind(key_hash)
        .execute(pool)
        .await?;
    });
    Ok(())
}
