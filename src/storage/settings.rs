//! Instance-wide settings shared by every server process (kept in the
//! database, never in one process's memory).

use rand::RngCore;

use super::{Db, DbResult};
use crate::db_run;

/// The key that signs CSRF tokens and hashes IP addresses for rate limits.
/// Created once; every process of the instance reads the same value.
pub async fn secret(db: &Db) -> DbResult<Vec<u8>> {
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    let fresh = crate::tokens::b64(&fresh);
    let value: String = db_run!(db, pool => {
        sqlx::query(
            "INSERT INTO instance_settings (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&fresh)
        .execute(pool)
        .await?;
        sqlx::query_scalar("SELECT value FROM instance_settings WHERE key = 'secret'")
            .fetch_one(pool)
            .await?
    });
    crate::tokens::unb64(&value)
        .ok_or_else(|| super::DbError::Other(anyhow::anyhow!("instance secret is corrupt")))
}

/// A cheap round trip, for the health check.
pub async fn ping(db: &Db) -> DbResult<()> {
    db_run!(db, pool => {
        sqlx::query("SELECT 1").execute(pool).await?;
    });
    Ok(())
}
