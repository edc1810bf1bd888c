//! Accounts, their roles in territories, and password resets.

use chrono::{DateTime, Utc};

use super::audit::Actor;
use super::{Db, DbError, DbResult};
use crate::domain::roles::{InstanceRole, Role};
use crate::{audit, db_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub instance_role: String,
    pub disabled: bool,
}

impl User {
    pub fn instance_role(&self) -> InstanceRole {
        InstanceRole::parse(&self.instance_role).unwrap_or(InstanceRole::None)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    pub disabled: bool,
}

/// A user's role in one territory.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Membership {
    pub territory_id: i64,
    pub slug: String,
    pub name: String,
    pub role: String,
}

impl Membership {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }
}

/// A member of a territory, as the accounts page lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
}

const USER_COLS: &str = "id, email, display_name, instance_role, disabled";

pub async fn create(
    db: &Db,
    actor: &Actor,
    email: &str,
    display_name: &str,
    password_hash: &str,
    instance_role: InstanceRole,
) -> DbResult<User> {
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO users (email, display_name, password_hash, instance_role, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {USER_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let u = sqlx::query_as::<_, User>(&sql)
            .bind(email)
            .bind(display_name)
            .bind(password_hash)
            .bind(instance_role.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        audit!(tx, actor, None::<i64>, "user", u.id, "create", format!("Compte créé : {email}"))?;
        tx.commit().await?;
        u
    }))
}

pub async fn get(db: &Db, id: i64) -> DbResult<User> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, User>(&sql).bind(id).fetch_one(pool).await?))
}

pub async fn find_by_email(db: &Db, email: &str) -> DbResult<Option<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE email = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, User>(&sql).bind(email).fetch_optional(pool).await?))
}

pub async fn credentials(db: &Db, email: &str) -> DbResult<Option<Credentials>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Credentials>(
        "SELECT id, password_hash, disabled FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?))
}

pub async fn password_hash(db: &Db, id: i64) -> DbResult<String> {
    Ok(
        db_run!(db, pool => sqlx::query_scalar::<_, String>("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?),
    )
}

/// Set a new password and end every other session of the account.
pub async fn set_password(
    db: &Db,
    actor: &Actor,
    id: i64,
    hash: &str,
    keep_session: Option<&str>,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(id)
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, None::<i64>, "user", id, "password", "Mot de passe modifié".to_owned())?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn set_instance_role(
    db: &Db,
    actor: &Actor,
    id: i64,
    role: InstanceRole,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE users SET instance_role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, None::<i64>, "user", id, "instance_role", format!("Rôle d'instance : {}", role.label()))?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn memberships(db: &Db, user_id: i64) -> DbResult<Vec<Membership>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Membership>(
        "SELECT t.id AS territory_id, t.slug, t.name, m.role FROM memberships m \
         JOIN territories t ON t.id = m.territory_id WHERE m.user_id = $1 ORDER BY t.name",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?))
}

pub async fn territory_members(db: &Db, territory_id: i64) -> DbResult<Vec<Member>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Member>(
        "SELECT u.id AS user_id, u.email, u.display_name, m.role FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.territory_id = $1 ORDER BY m.role, u.display_name",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?))
}

/// Give a user a role in a territory (or change it).
pub async fn set_membership(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    user_id: i64,
    role: Role,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "INSERT INTO memberships (user_id, territory_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, territory_id) DO UPDATE SET role = excluded.role",
        )
        .bind(user_id)
        .bind(territory_id)
        .bind(role.as_str())
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "membership", user_id, "set", format!("Rôle : {}", role.label()))?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn remove_membership(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    user_id: i64,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let done = sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND territory_id = $2")
            .bind(user_id)
            .bind(territory_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(territory_id), "membership", user_id, "remove", "Accès retiré".to_owned())?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn create_reset(
    db: &Db,
    user_id: i64,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> DbResult<()> {
    db_run!(db, pool => {
        sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(Utc::now())
    .bind(expires_at)
    .execute(pool)
    .await?;
    });
    Ok(())
}

/// The account a reset token opens, if it is unused and not expired.
pub async fn reset_user(db: &Db, token_hash: &str) -> DbResult<Option<i64>> {
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, i64>(
        "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(Utc::now())
    .fetch_optional(pool)
    .await?))
}

/// Use a reset token: set the password, end every session, burn the token.
/// Returns false when the token was already used or has expired.
pub async fn consume_reset(db: &Db, token_hash: &str, new_hash: &str) -> DbResult<bool> {
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let user: Option<i64> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user else {
            return Ok(false);
        };
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(new_hash)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let actor = Actor { user_id: Some(user_id), label: "réinitialisation par jeton".to_owned() };
        audit!(tx, actor, None::<i64>, "user", user_id, "password_reset", "Mot de passe réinitialisé".to_owned())?;
        tx.commit().await?;
        true
    }))
}
