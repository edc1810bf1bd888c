//! Sessions live in the database so that every server process shares them.
//! Only a hash of the cookie's token is stored.

use chrono::{DateTime, Utc};

use super::users::User;
use super::{Db, DbResult};
use crate::db_run;

pub async fn create(
    db: &Db,
    token_hash: &str,
    user_id: i64,
    expires_at: DateTime<Utc>,
) -> DbResult<()> {
    let now = Utc::now();
    db_run!(db, pool => {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        if rand::random::<u8>() < 8 {
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(pool).await?;
        }
    });
    Ok(())
}

/// The account behind a live session.
pub async fn user(db: &Db, token_hash: &str) -> DbResult<Option<User>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, User>(
        "SELECT u.id, u.email, u.display_name, u.instance_role, u.disabled FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = FALSE",
    )
    .bind(token_hash)
    .bind(Utc::now())
    .fetch_optional(pool)
    .await?))
}

pub async fn delete(db: &Db, token_hash: &str) -> DbResult<()> {
    db_run!(db, pool => {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    });
    Ok(())
}
