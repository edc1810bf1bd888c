//! Rate limits kept in the database, so that every server process behind a
//! load balancer counts the same events.

use chrono::{DateTime, Duration, Utc};

use super::{Db, DbResult};
use crate::db_run;

/// Count the events of `bucket` for `key_hash` in the last `window`.
/// Counting then [`record`]ing races with concurrent requests: limits use
/// [`acquire`].
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

/// The answer of [`acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// The event was recorded at this instant (pass it to [`release`] to
    /// give it back).
    Yes(DateTime<Utc>),
    /// The limit is reached: the oldest counted event leaves the window in
    /// this many seconds (at least 1).
    No { retry_after_secs: i64 },
}

/// Check and record in one step: record one event of `bucket` for
/// `key_hash` unless `limit` events already happened in the last `window`.
///
/// Counting first and recording later lets concurrent requests all pass the
/// count (40 parallel logins all saw « 0 attempts »). Here the count and the
/// insert run in one write transaction that is serialised per key: SQLite's
/// `BEGIN IMMEDIATE` takes the write lock before the count, PostgreSQL takes
/// a transaction-scoped advisory lock on the (bucket, key) pair.
pub async fn acquire(
    db: &Db,
    bucket: &str,
    key_hash: &str,
    window: Duration,
    limit: i64,
) -> DbResult<Acquired> {
    let now = Utc::now();
    let since = now - window;
    let oldest: Option<DateTime<Utc>> = db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        if matches!(db, Db::Postgres(_)) {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("rate|{bucket}|{key_hash}"))
                .execute(&mut *tx)
                .await?;
        }
        let (n, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(at) FROM rate_events WHERE bucket = $1 AND key_hash = $2 AND at > $3",
        )
        .bind(bucket)
        .bind(key_hash)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        if n >= limit {
            tx.rollback().await?;
            Some(oldest.unwrap_or(now))
        } else {
            sqlx::query("INSERT INTO rate_events (bucket, key_hash, at) VALUES ($1, $2, $3)")
                .bind(bucket)
                .bind(key_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if rand::random::<u8>() < 4 {
                sqlx::query("DELETE FROM rate_events WHERE at < $1")
                    .bind(now - Duration::days(1))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            None
        }
    });
    Ok(match oldest {
        None => Acquired::Yes(now),
        Some(oldest) => Acquired::No {
            retry_after_secs: ((oldest + window) - now).num_seconds().max(1),
        },
    })
}

/// Give back one event recorded by [`acquire`] (a login that turned out
/// right, say).
pub async fn release(db: &Db, bucket: &str, key_hash: &str, at: DateTime<Utc>) -> DbResult<()> {
    db_run!(db, pool => {
        sqlx::query("DELETE FROM rate_events WHERE bucket = $1 AND key_hash = $2 AND at = $3")
            .bind(bucket)
            .bind(key_hash)
            .bind(at)
            .execute(pool)
            .await?;
    });
    Ok(())
}
