//! Local services and a territory's marks on directory entries.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit::Actor;
use super::{Db, DbError, DbResult};
use crate::domain::service::Service;
use crate::domain::text::fold_accents;
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct ServiceRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub description: String,
    pub publics: String,
    pub fees: String,
    pub opening_hours: String,
    pub address: String,
    pub postal_code: String,
    pub insee_code: Option<String>,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub website: String,
    /// INSEE codes of the communes served, space-separated (empty: the whole territory).
    pub area: String,
    pub accessibility: String,
    pub msp: bool,
    pub cpts: bool,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "id, name, kind, description, publics, fees, opening_hours, address, postal_code, insee_code, \
                    city, phone, email, website, area, accessibility, msp, cpts, version, updated_at";

async fn city_of(db: &Db, insee: &Option<String>) -> DbResult<String> {
    Ok(match insee {
        Some(c) => super::communes::get_commune(db, c)
            .await?
            .map(|c| c.name)
            .unwrap_or_default(),
        None => String::new(),
    })
}

pub async fn create(db: &Db, actor: &Actor, territory_id: i64, s: &Service) -> DbResult<i64> {
    let city = city_of(db, &s.insee_code).await?;
    let now = Utc::now();
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO local_services (territory_id, name, name_search, kind, description, publics, fees, opening_hours, \
             address, postal_code, insee_code, city, phone, email, website, area, accessibility, msp, cpts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) RETURNING id",
        )
        .bind(territory_id)
        .bind(&s.name)
        .bind(fold_accents(&s.name))
        .bind(&s.kind)
        .bind(&s.description)
        .bind(&s.publics)
        .bind(&s.fees)
        .bind(&s.opening_hours)
        .bind(&s.address)
        .bind(&s.postal_code)
        .bind(&s.insee_code)
        .bind(&city)
        .bind(&s.phone)
        .bind(&s.email)
        .bind(&s.website)
        .bind(s.area.join(" "))
        .bind(&s.accessibility)
        .bind(s.msp)
        .bind(s.cpts)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        audit!(tx, actor, Some(territory_id), "service", id, "create", format!("Service ajouté à l'annuaire : {}", s.name))?;
        tx.commit().await?;
        id
    }))
}

/// Save a service edited from `version`; [`DbError::Stale`] if someone saved first.
pub async fn update(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    version: i64,
    s: &Service,
) -> DbResult<()> {
    let city = city_of(db, &s.insee_code).await?;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let done = sqlx::query(
            "UPDATE local_services SET name = $1, name_search = $2, kind = $3, description = $4, publics = $5, fees = $6, \
             opening_hours = $7, address = $8, postal_code = $9, insee_code = $10, city = $11, phone = $12, email = $13, \
             website = $14, area = $15, accessibility = $16, msp = $17, cpts = $18, version = version + 1, updated_at = $19 \
             WHERE id = $20 AND territory_id = $21 AND version = $22",
        )
        .bind(&s.name)
        .bind(fold_accents(&s.name))
        .bind(&s.kind)
        .bind(&s.description)
        .bind(&s.publics)
        .bind(&s.fees)
        .bind(&s.opening_hours)
        .bind(&s.address)
        .bind(&s.postal_code)
        .bind(&s.insee_code)
        .bind(&city)
        .bind(&s.phone)
        .bind(&s.email)
        .bind(&s.website)
        .bind(s.area.join(" "))
        .bind(&s.accessibility)
        .bind(s.msp)
        .bind(s.cpts)
        .bind(Utc::now())
        .bind(id)
        .bind(territory_id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM local_services WHERE id = $1 AND territory_id = $2")
                .bind(id)
                .bind(territory_id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(if exists.is_some() { DbError::Stale } else { DbError::NotFound });
        }
        audit!(tx, actor, Some(territory_id), "service", id, "update", format!("Service modifié : {}", s.name))?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn get(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<ServiceRow>> {
    let sql = format!("SELECT {COLS} FROM local_services WHERE id = $1 AND territory_id = $2");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, ServiceRow>(&sql).bind(id).bind(territory_id).fetch_optional(pool).await?),
    )
}

pub async fn list(db: &Db, territory_id: i64) -> DbResult<Vec<ServiceRow>> {
    let sql =
        format!("SELECT {COLS} FROM local_services WHERE territory_id = $1 ORDER BY name_search");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, ServiceRow>(&sql).bind(territory_id).fetch_all(pool).await?),
    )
}

/// A territory's marks on one directory entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Mark {
    /// `establishment`, `professional` or `service`.
    pub entry_kind: String,
    pub entry_id: String,
    pub msp: bool,
    pub cpts: bool,
    pub hidden: bool,
    pub hidden_reason: String,
    pub accessibility: String,
}

pub async fn set_mark(db: &Db, actor: &Actor, territory_id: i64, m: &Mark) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "INSERT INTO directory_marks (territory_id, entry_kind, entry_id, msp, cpts, hidden, hidden_reason, accessibility, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (territory_id, entry_kind, entry_id) DO UPDATE SET \
             msp = excluded.msp, cpts = excluded.cpts, hidden = excluded.hidden, hidden_reason = excluded.hidden_reason, \
             accessibility = excluded.accessibility, updated_at = excluded.updated_at",
        )
        .bind(territory_id)
        .bind(&m.entry_kind)
        .bind(&m.entry_id)
        .bind(m.msp)
        .bind(m.cpts)
        .bind(m.hidden)
        .bind(&m.hidden_reason)
        .bind(&m.accessibility)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
        let what = if m.hidden {
            format!("Fiche {} {} masquée : {}", m.entry_kind, m.entry_id, m.hidden_reason)
        } else {
            format!("Fiche {} {} : repères mis à jour", m.entry_kind, m.entry_id)
        };
        audit!(tx, actor, Some(territory_id), "directory_mark", format!("{}:{}", m.entry_kind, m.entry_id), "set", what)?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn marks(db: &Db, territory_id: i64) -> DbResult<Vec<Mark>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Mark>(
        "SELECT entry_kind, entry_id, msp, cpts, hidden, hidden_reason, accessibility FROM directory_marks \
         WHERE territory_id = $1 ORDER BY entry_kind, entry_id",
    )
    .bind(territory_id)
    .fetch_all(pool)
    .await?))
}
