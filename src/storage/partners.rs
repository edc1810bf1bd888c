//! The territory's partner directory: organisations and people. A person's
//! data can be exported (RGPD right of access) and deleted (right to erasure).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::Actor;
use super::contract::fmt_date;
use super::{Db, DbError, DbResult};
use crate::domain::partners::{OrganisationInput, PersonInput};
use crate::{audit, db_run};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Organisation {
    pub id: i64,
    pub territory_id: i64,
    pub name: String,
    pub kind: String,
    pub siret: Option<String>,
    pub finess: Option<String>,
    pub website: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Person {
    pub id: i64,
    pub territory_id: i64,
    pub organisation_id: Option<i64>,
    pub full_name: String,
    pub job_title: String,
    pub email: String,
    pub phone: String,
    pub consent_on: Option<String>,
    pub public_contact: bool,
    pub user_id: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ORG_COLS: &str =
    "id, territory_id, name, kind, siret, finess, website, version, created_at, updated_at";
const PERSON_COLS: &str = "id, territory_id, organisation_id, full_name, job_title, email, phone, \
                           consent_on, public_contact, user_id, version, created_at, updated_at";

pub async fn create_organisation(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    o: &OrganisationInput,
) -> DbResult<Organisation> {
    let sql = format!(
        "INSERT INTO organisations (territory_id, name, kind, siret, finess, website, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {ORG_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Organisation>(&sql)
            .bind(territory_id)
            .bind(&o.name)
            .bind(o.kind.as_str())
            .bind(&o.siret)
            .bind(&o.finess)
            .bind(&o.website)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "organisation", row.id, "create", format!("Structure « {} » ajoutée", row.name))?;
        tx.commit().await?;
        row
    }))
}

pub async fn update_organisation(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    expected_version: i64,
    o: &OrganisationInput,
) -> DbResult<Organisation> {
    let sql = format!(
        "UPDATE organisations SET name = $1, kind = $2, siret = $3, finess = $4, website = $5, \
         version = version + 1, updated_at = $6 WHERE id = $7 AND territory_id = $8 AND version = $9 \
         RETURNING {ORG_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as::<_, Organisation>(&sql)
            .bind(&o.name)
            .bind(o.kind.as_str())
            .bind(&o.siret)
            .bind(&o.finess)
            .bind(&o.website)
            .bind(Utc::now())
            .bind(id)
            .bind(territory_id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Err(DbError::Stale) };
        // Keep the action plan's denormalised lead name in step.
        sqlx::query("UPDATE actions SET lead_org = $1 WHERE lead_org_id = $2")
            .bind(&row.name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit!(tx, actor, Some(territory_id), "organisation", id, "update", format!("Structure « {} » modifiée", row.name))?;
        tx.commit().await?;
        row
    }))
}

pub async fn organisations(db: &Db, territory_id: i64) -> DbResult<Vec<Organisation>> {
    let sql = format!("SELECT {ORG_COLS} FROM organisations WHERE territory_id = $1 ORDER BY name");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Organisation>(&sql)
        .bind(territory_id)
        .fetch_all(pool)
        .await?))
}

pub async fn organisation(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<Organisation>> {
    let sql = format!("SELECT {ORG_COLS} FROM organisations WHERE id = $1 AND territory_id = $2");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Organisation>(&sql)
        .bind(id)
        .bind(territory_id)
        .fetch_optional(pool)
        .await?))
}

/// Refuse an organisation that is not the territory's, inside the open
/// transaction (`Conflict("people_organisation")`).
macro_rules! check_organisation {
    ($tx:expr, $territory_id:expr, $organisation_id:expr) => {
        if let Some(org) = $organisation_id {
            let ok: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM organisations WHERE id = $1 AND territory_id = $2",
            )
            .bind(org)
            .bind($territory_id)
            .fetch_optional(&mut *$tx)
            .await?;
            if ok.is_none() {
                return Err(DbError::Conflict("people_organisation".into()));
            }
        }
    };
}

async fn account_id(db: &Db, p: &PersonInput) -> DbResult<Option<i64>> {
    match &p.account_email {
        None => Ok(None),
        Some(e) => match super::users::find_by_email(db, e.as_str()).await? {
            Some(u) => Ok(Some(u.id)),
            None => Err(DbError::Conflict("people_account_unknown".into())),
        },
    }
}

/// Add a person. [`DbError::Conflict`] `people_account_unknown` when the
/// account e-mail matches no account, `people_organisation` when the
/// organisation is not the territory's.
pub async fn create_person(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    p: &PersonInput,
) -> DbResult<Person> {
    let user_id = account_id(db, p).await?;
    let sql = format!(
        "INSERT INTO people (territory_id, organisation_id, full_name, job_title, email, phone, consent_on, \
         public_contact, user_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {PERSON_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        check_organisation!(tx, territory_id, p.organisation_id);
        let row = sqlx::query_as::<_, Person>(&sql)
            .bind(territory_id)
            .bind(p.organisation_id)
            .bind(&p.full_name)
            .bind(&p.job_title)
            .bind(&p.email)
            .bind(&p.phone)
            .bind(p.consent_on.map(fmt_date))
            .bind(p.public_contact)
            .bind(user_id)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
        // The audit trail names the entry, not the person (erasable data stays in one table).
        audit!(tx, actor, Some(territory_id), "person", row.id, "create", format!("Contact n° {} ajouté", row.id))?;
        tx.commit().await?;
        row
    }))
}

pub async fn update_person(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    expected_version: i64,
    p: &PersonInput,
) -> DbResult<Person> {
    let user_id = account_id(db, p).await?;
    let sql = format!(
        "UPDATE people SET organisation_id = $1, full_name = $2, job_title = $3, email = $4, phone = $5, \
         consent_on = $6, public_contact = $7, user_id = $8, version = version + 1, updated_at = $9 \
         WHERE id = $10 AND territory_id = $11 AND version = $12 RETURNING {PERSON_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        check_organisation!(tx, territory_id, p.organisation_id);
        let row = sqlx::query_as::<_, Person>(&sql)
            .bind(p.organisation_id)
            .bind(&p.full_name)
            .bind(&p.job_title)
            .bind(&p.email)
            .bind(&p.phone)
            .bind(p.consent_on.map(fmt_date))
            .bind(p.public_contact)
            .bind(user_id)
            .bind(Utc::now())
            .bind(id)
            .bind(territory_id)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Err(DbError::Stale) };
        audit!(tx, actor, Some(territory_id), "person", id, "update", format!("Contact n° {id} modifié"))?;
        tx.commit().await?;
        row
    }))
}

/// The names of the territory's organisations that `user_id` is a contact
/// person of (`people.user_id`): what links a partner account to the events
/// its organisation runs.
pub async fn organisation_names_of_user(
    db: &Db,
    territory_id: i64,
    user_id: i64,
) -> DbResult<Vec<String>> {
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT o.name FROM people p JOIN organisations o ON o.id = p.organisation_id \
         WHERE p.territory_id = $1 AND p.user_id = $2",
    )
    .bind(territory_id)
    .bind(user_id)
    .fetch_all(pool)
    .await?))
}

pub async fn people(db: &Db, territory_id: i64) -> DbResult<Vec<Person>> {
    let sql =
        format!("SELECT {PERSON_COLS} FROM people WHERE territory_id = $1 ORDER BY full_name, id");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Person>(&sql)
        .bind(territory_id)
        .fetch_all(pool)
        .await?))
}

pub async fn person(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<Person>> {
    let sql = format!("SELECT {PERSON_COLS} FROM people WHERE id = $1 AND territory_id = $2");
    Ok(db_run!(db, pool => sqlx::query_as::<_, Person>(&sql)
        .bind(id)
        .bind(territory_id)
        .fetch_optional(pool)
        .await?))
}

/// Everything stored about a person (RGPD right of access), as JSON.
#[derive(Debug, Serialize)]
pub struct PersonExport {
    pub exported_at: DateTime<Utc>,
    pub person: Person,
    pub organisation: Option<String>,
    /// Codes and titles of the actions this person leads.
    pub leads: Vec<(String, String)>,
}

pub async fn export_person(db: &Db, territory_id: i64, id: i64) -> DbResult<PersonExport> {
    let person = person(db, territory_id, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let organisation = match person.organisation_id {
        Some(o) => organisation(db, territory_id, o).await?.map(|o| o.name),
        None => None,
    };
    let leads = db_run!(db, pool => sqlx::query_as::<_, (String, String)>(
        "SELECT code, title FROM actions WHERE lead_person_id = $1 ORDER BY code",
    )
    .bind(id)
    .fetch_all(pool)
    .await?);
    Ok(PersonExport {
        exported_at: Utc::now(),
        person,
        organisation,
        leads,
    })
}

/// Erase a person (RGPD right to erasure): the row goes; the actions they
/// led keep their lead organisation; the audit trail keeps only the entry's
/// number.
pub async fn delete_person(db: &Db, actor: &Actor, territory_id: i64, id: i64) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("DELETE FROM people WHERE id = $1 AND territory_id = $2")
            .bind(id)
            .bind(territory_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit!(tx, actor, Some(territory_id), "person", id, "delete", format!("Contact n° {id} effacé (RGPD)"))?;
        tx.commit().await?;
    });
    Ok(())
}
