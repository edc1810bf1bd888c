//! Invitations to a territory role. A coordinator names an e-mail and a
//! role; the role is given only when the account of that e-mail accepts
//! (signed in, or creating its account through the invitation link). Adding
//! someone never reveals whether the e-mail has an account, and never
//! attaches an existing account without its consent.

use chrono::{DateTime, Duration, Utc};

use super::audit::Actor;
use super::{Db, DbResult};
use crate::domain::roles::Role;
use crate::{audit, db_run};

/// How long an invitation stays valid.
pub const VALID_DAYS: i64 = 14;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    pub id: i64,
    pub territory_id: i64,
    pub territory_slug: String,
    pub territory_name: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub expires_at: DateTime<Utc>,
}

impl Invitation {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }
}

const COLS: &str =
    "i.id, i.territory_id, t.slug AS territory_slug, t.name AS territory_name, i.email, i.role, \
                    i.invited_by, i.expires_at";

/// Invite `email` (already normalised) to `role`: returns the link's token.
/// A new invitation to the same e-mail and territory replaces the old one.
pub async fn create(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    email: &str,
    role: Role,
) -> DbResult<String> {
    let token = crate::tokens::random_token();
    let hash = crate::tokens::token_hash(&token);
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM invitations WHERE territory_id = $1 AND email = $2")
            .bind(territory_id)
            .bind(email)
            .execute(&mut *tx)
            .await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO invitations (territory_id, email, role, token_hash, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(territory_id)
        .bind(email)
        .bind(role.as_str())
        .bind(&hash)
        .bind(&actor.label)
        .bind(now)
        .bind(now + Duration::days(VALID_DAYS))
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "invitation", id, "create", format!("{email} : {}", role.label()))?;
        tx.commit().await?;
    });
    Ok(token)
}

/// The live invitation of a link, if any.
pub async fn by_token(db: &Db, token: &str) -> DbResult<Option<Invitation>> {
    let sql = format!(
        "SELECT {COLS} FROM invitations i JOIN territories t ON t.id = i.territory_id \
         WHERE i.token_hash = $1 AND i.expires_at > $2"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Invitation>(&sql)
        .bind(crate::tokens::token_hash(token))
        .bind(Utc::now())
        .fetch_optional(pool)
        .await?))
}

/// The live invitations addressed to `email`.
pub async fn for_email(db: &Db, email: &str) -> DbResult<Vec<Invitation>> {
    let sql = format!(
        "SELECT {COLS} FROM invitations i JOIN territories t ON t.id = i.territory_id \
         WHERE i.email = $1 AND i.expires_at > $2 ORDER BY i.id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Invitation>(&sql)
        .bind(email)
        .bind(Utc::now())
        .fetch_all(pool)
        .await?))
}

/// The live invitations of a territory (for its accounts page).
pub async fn of_territory(db: &Db, territory_id: i64) -> DbResult<Vec<Invitation>> {
    let sql = format!(
        "SELECT {COLS} FROM invitations i JOIN territories t ON t.id = i.territory_id \
         WHERE i.territory_id = $1 AND i.expires_at > $2 ORDER BY i.id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Invitation>(&sql)
        .bind(territory_id)
        .bind(Utc::now())
        .fetch_all(pool)
        .await?))
}

/// Accept invitation `id` as account `user_id` whose e-mail is `email`:
/// the role is given and the invitation used up, in one transaction.
/// `false` when there is no live invitation `id` for that e-mail.
pub async fn accept(db: &Db, actor: &Actor, id: i64, user_id: i64, email: &str) -> DbResult<bool> {
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "DELETE FROM invitations WHERE id = $1 AND email = $2 AND expires_at > $3 RETURNING territory_id, role",
        )
        .bind(id)
        .bind(email)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        match row {
            None => false,
            Some((territory_id, role)) => {
                sqlx::query(
                    "INSERT INTO memberships (user_id, territory_id, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, territory_id) DO UPDATE SET role = excluded.role",
                )
                .bind(user_id)
                .bind(territory_id)
                .bind(&role)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                audit!(tx, actor, Some(territory_id), "membership", user_id, "accept", format!("Invitation acceptée : {role}"))?;
                tx.commit().await?;
                true
            }
        }
    }))
}
