//! Territories: the unit every page, account and contract belongs to.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::audit::Actor;
use super::communes::{Commune, Qpv};
use super::{Db, DbError, DbResult};
use crate::domain::territory::{NewTerritory, Profile};
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Territory {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// `commune`, `epci` or `other`.
    pub kind: String,
    pub epci_siren: Option<String>,
    pub presentation: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub contact_address: String,
    /// Incremented on each change: forms send it back to detect conflicts.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of the instance's list of territories.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct TerritorySummary {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub commune_count: i64,
    pub population: i64,
}

const COLS: &str = "id, slug, name, kind, epci_siren, presentation, contact_name, contact_email, \
                    contact_phone, contact_address, version, created_at, updated_at";

pub async fn create(db: &Db, actor: &Actor, new: &NewTerritory) -> DbResult<Territory> {
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO territories (slug, name, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let t = sqlx::query_as::<_, Territory>(&sql)
            .bind(new.slug.as_str())
            .bind(&new.name)
            .bind(new.kind.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        audit!(tx, actor, Some(t.id), "territory", t.id, "create", format!("Création du territoire « {} »", t.name))?;
        tx.commit().await?;
        t
    }))
}

/// The hidden owner of regional events (migration 0017): a territory row
/// of this kind, left out of [`list`] and [`get_by_slug`] (so no
/// `/t/{territory}` page or list shows it) and of the regional roll-up.
pub const REGION_KIND: &str = "region";

/// A territory by its slug (never the regional owner).
pub async fn get_by_slug(db: &Db, slug: &str) -> DbResult<Option<Territory>> {
    let sql = format!("SELECT {COLS} FROM territories WHERE slug = $1 AND kind <> 'region'");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Territory>(&sql).bind(slug).fetch_optional(pool).await?),
    )
}

pub async fn get(db: &Db, id: i64) -> DbResult<Territory> {
    let sql = format!("SELECT {COLS} FROM territories WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Territory>(&sql).bind(id).fetch_one(pool).await?))
}

pub async fn list(db: &Db) -> DbResult<Vec<TerritorySummary>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, TerritorySummary>(
        "SELECT t.slug, t.name, t.kind, COUNT(c.insee_code) AS commune_count, \
                CAST(COALESCE(SUM(c.population), 0) AS BIGINT) AS population \
         FROM territories t \
         LEFT JOIN territory_communes tc ON tc.territory_id = t.id \
         LEFT JOIN communes c ON c.insee_code = tc.insee_code \
         WHERE t.kind <> 'region' \
         GROUP BY t.id, t.slug, t.name, t.kind ORDER BY t.name",
    )
    .fetch_all(pool)
    .await?))
}

/// Save a new presentation and contact. `expected_version` is the version the
/// form was built from: if someone saved in between, nothing is written and
/// [`DbError::Stale`] tells the caller to show both versions.
pub async fn update_profile(
    db: &Db,
    actor: &Actor,
    id: i64,
    expected_version: i64,
    p: &Profile,
) -> DbResult<Territory> {
    let sql = format!(
        "UPDATE territories SET name = $1, presentation = $2, contact_name = $3, contact_email = $4, \
         contact_phone = $5, contact_address = $6, version = version + 1, updated_at = $7 \
         WHERE id = $8 AND version = $9 RETURNING {COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Territory>(&sql)
            .bind(&p.name)
            .bind(&p.presentation)
            .bind(&p.contact_name)
            .bind(&p.contact_email)
            .bind(&p.contact_phone)
            .bind(&p.contact_address)
            .bind(Utc::now())
            .bind(id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(t) = row else {
            return Err(DbError::Stale);
        };
        audit!(tx, actor, Some(id), "territory", id, "update", "Présentation et contact modifiés".to_owned())?;
        tx.commit().await?;
        t
    }))
}

/// Replace the communes of a territory (and remember the EPCI it was built
/// from, if any). Unknown INSEE codes are refused by the foreign key.
pub async fn set_communes(
    db: &Db,
    actor: &Actor,
    id: i64,
    epci_siren: Option<&str>,
    codes: &[String],
) -> DbResult<()> {
    let now = Utc::now();
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM territory_communes WHERE territory_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for code in codes {
            sqlx::query("INSERT INTO territory_communes (territory_id, insee_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(code)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE territories SET epci_siren = $1, version = version + 1, updated_at = $2 WHERE id = $3")
            .bind(epci_siren)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let what = match epci_siren {
            Some(s) => format!("Périmètre : EPCI {s}, {} communes", codes.len()),
            None => format!("Périmètre : {} communes", codes.len()),
        };
        audit!(tx, actor, Some(id), "territory", id, "communes", what)?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn communes(db: &Db, id: i64) -> DbResult<Vec<Commune>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Commune>(
        "SELECT c.insee_code, c.name, c.kind, c.departement, c.region, c.population, c.postal_codes, c.parent_code \
         FROM communes c JOIN territory_communes tc ON tc.insee_code = c.insee_code \
         WHERE tc.territory_id = $1 ORDER BY c.name_search",
    )
    .bind(id)
    .fetch_all(pool)
    .await?))
}

/// The QPV that lie (at least partly) in the territory's communes.
pub async fn qpvs(db: &Db, id: i64) -> DbResult<Vec<Qpv>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Qpv>(
        "SELECT DISTINCT q.code, q.name FROM qpvs q \
         JOIN qpv_communes qc ON qc.qpv_code = q.code \
         JOIN territory_communes tc ON tc.insee_code = qc.insee_code \
         WHERE tc.territory_id = $1 ORDER BY q.name",
    )
    .bind(id)
    .fetch_all(pool)
    .await?))
}
