//! The official geography: communes, EPCI and their members, QPV.

use serde::Serialize;
use utoipa::ToSchema;

use super::{placeholders, Db, DbResult};
use crate::db_run;
use crate::domain::directory::Progress;
use crate::domain::text::fold_accents;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Commune {
    /// Five-character INSEE code.
    pub insee_code: String,
    pub name: String,
    /// `commune-actuelle`, `commune-associee`, `commune-deleguee`, `arrondissement-municipal`.
    pub kind: String,
    pub departement: Option<String>,
    pub region: Option<String>,
    /// Municipal population (current communes only).
    pub population: Option<i64>,
    /// Postal codes, space-separated.
    pub postal_codes: String,
    /// The current commune an associated or delegated one belongs to.
    pub parent_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Epci {
    pub siren: String,
    pub name: String,
    /// CC, CA, CU, METRO, MET69.
    pub kind: String,
    pub population: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpciWithMembers {
    pub epci: Epci,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Qpv {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QpvWithCommunes {
    pub qpv: Qpv,
    pub communes: Vec<String>,
}

/// What an import changed: rows identical to the stored ones count neither
/// as added nor as changed (they are not written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Entries in the file.
    pub total: i64,
    pub added: i64,
    pub changed: i64,
}

const BATCH: usize = 400;

async fn count(db: &Db, table: &str) -> DbResult<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?))
}

/// Insert or update communes, all in one transaction; a commune identical
/// to the stored one is left alone.
pub async fn upsert_communes(
    db: &Db,
    communes: &[Commune],
    progress: Progress<'_>,
) -> DbResult<Counts> {
    let before = count(db, "communes").await?;
    let mut written = 0u64;
    let total = communes.len() as u64;
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for (i, chunk) in communes.chunks(BATCH).enumerate() {
            progress("enregistrement", (i * BATCH) as u64, total);
            let sql = format!(
                "INSERT INTO communes (insee_code, name, name_search, kind, departement, region, population, postal_codes, parent_code) \
                 VALUES {} ON CONFLICT (insee_code) DO UPDATE SET name = excluded.name, name_search = excluded.name_search, kind = excluded.kind, \
                 departement = excluded.departement, region = excluded.region, population = excluded.population, \
                 postal_codes = excluded.postal_codes, parent_code = excluded.parent_code \
                 WHERE communes.name IS DISTINCT FROM excluded.name OR communes.kind IS DISTINCT FROM excluded.kind \
                 OR communes.departement IS DISTINCT FROM excluded.departement OR communes.region IS DISTINCT FROM excluded.region \
                 OR communes.population IS DISTINCT FROM excluded.population OR communes.postal_codes IS DISTINCT FROM excluded.postal_codes \
                 OR communes.parent_code IS DISTINCT FROM excluded.parent_code",
                placeholders(db.backend(), chunk.len(), 9)
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q
                    .bind(&c.insee_code)
                    .bind(&c.name)
                    .bind(fold_accents(&c.name))
                    .bind(&c.kind)
                    .bind(&c.departement)
                    .bind(&c.region)
                    .bind(c.population)
                    .bind(&c.postal_codes)
                    .bind(&c.parent_code);
            }
            written += q.execute(&mut *tx).await?.rows_affected();
        }
        progress("enregistrement", total, total);
        tx.commit().await?;
    });
    let added = count(db, "communes").await? - before;
    Ok(Counts {
        total: communes.len() as i64,
        added,
        changed: written as i64 - added,
    })
}

/// Insert or update EPCI and replace their member lists, in one
/// transaction; an EPCI identical to the stored one (members included) is
/// left alone.
pub async fn upsert_epcis(
    db: &Db,
    epcis: &[EpciWithMembers],
    progress: Progress<'_>,
) -> DbResult<Counts> {
    let mut counts = Counts {
        total: epcis.len() as i64,
        ..Counts::default()
    };
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for (i, e) in epcis.iter().enumerate() {
            if i % 100 == 0 {
                progress("enregistrement", i as u64, counts.total as u64);
            }
            let stored: Option<(String, String, Option<i64>)> =
                sqlx::query_as("SELECT name, kind, population FROM epcis WHERE siren = $1")
                    .bind(&e.epci.siren)
                    .fetch_optional(&mut *tx)
                    .await?;
            let row = (e.epci.name.clone(), e.epci.kind.clone(), e.epci.population);
            if stored.as_ref() != Some(&row) {
                sqlx::query(
                    "INSERT INTO epcis (siren, name, name_search, kind, population) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (siren) DO UPDATE SET name = excluded.name, name_search = excluded.name_search, \
                     kind = excluded.kind, population = excluded.population",
                )
                .bind(&e.epci.siren)
                .bind(&e.epci.name)
                .bind(fold_accents(&e.epci.name))
                .bind(&e.epci.kind)
                .bind(e.epci.population)
                .execute(&mut *tx)
                .await?;
            }
            let mut members: Vec<String> =
                sqlx::query_scalar("SELECT insee_code FROM epci_members WHERE epci_siren = $1")
                    .bind(&e.epci.siren)
                    .fetch_all(&mut *tx)
                    .await?;
            members.sort();
            let mut wanted = e.members.clone();
            wanted.sort();
            wanted.dedup();
            let members_differ = members != wanted;
            if members_differ {
                sqlx::query("DELETE FROM epci_members WHERE epci_siren = $1")
                    .bind(&e.epci.siren)
                    .execute(&mut *tx)
                    .await?;
                for chunk in wanted.chunks(BATCH) {
                    let sql = format!(
                        "INSERT INTO epci_members (epci_siren, insee_code) VALUES {} ON CONFLICT DO NOTHING",
                        placeholders(db.backend(), chunk.len(), 2)
                    );
                    let mut q = sqlx::query(&sql);
                    for m in chunk {
                        q = q.bind(&e.epci.siren).bind(m);
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            if stored.is_none() {
                counts.added += 1;
            } else if stored.as_ref() != Some(&row) || members_differ {
                counts.changed += 1;
            }
        }
        progress("enregistrement", counts.total as u64, counts.total as u64);
        tx.commit().await?;
    });
    Ok(counts)
}

/// Insert or update QPV and replace their communes, in one transaction; a
/// QPV identical to the stored one (communes included) is left alone.
pub async fn upsert_qpvs(
    db: &Db,
    qpvs: &[QpvWithCommunes],
    progress: Progress<'_>,
) -> DbResult<Counts> {
    let mut counts = Counts {
        total: qpvs.len() as i64,
        ..Counts::default()
    };
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for (i, q) in qpvs.iter().enumerate() {
            if i % 100 == 0 {
                progress("enregistrement", i as u64, counts.total as u64);
            }
            let stored: Option<String> = sqlx::query_scalar("SELECT name FROM qpvs WHERE code = $1")
                .bind(&q.qpv.code)
                .fetch_optional(&mut *tx)
                .await?;
            if stored.as_deref() != Some(q.qpv.name.as_str()) {
                sqlx::query(
                    "INSERT INTO qpvs (code, name) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET name = excluded.name",
                )
                .bind(&q.qpv.code)
                .bind(&q.qpv.name)
                .execute(&mut *tx)
                .await?;
            }
            let mut communes: Vec<String> =
                sqlx::query_scalar("SELECT insee_code FROM qpv_communes WHERE qpv_code = $1")
                    .bind(&q.qpv.code)
                    .fetch_all(&mut *tx)
                    .await?;
            communes.sort();
            let mut wanted = q.communes.clone();
            wanted.sort();
            wanted.dedup();
            let communes_differ = communes != wanted;
            if communes_differ {
                sqlx::query("DELETE FROM qpv_communes WHERE qpv_code = $1")
                    .bind(&q.qpv.code)
                    .execute(&mut *tx)
                    .await?;
                for c in &wanted {
                    sqlx::query("INSERT INTO qpv_communes (qpv_code, insee_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(&q.qpv.code)
                        .bind(c)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            match stored {
                None => counts.added += 1,
                Some(name) if name != q.qpv.name || communes_differ => counts.changed += 1,
                Some(_) => {}
            }
        }
        progress("enregistrement", counts.total as u64, counts.total as u64);
        tx.commit().await?;
    });
    Ok(counts)
}

const COMMUNE_COLS: &str =
    "c.insee_code, c.name, c.kind, c.departement, c.region, c.population, c.postal_codes, c.parent_code";

pub async fn get_commune(db: &Db, insee_code: &str) -> DbResult<Option<Commune>> {
    let sql = format!("SELECT {COMMUNE_COLS} FROM communes c WHERE c.insee_code = $1");
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, Commune>(&sql).bind(insee_code).fetch_optional(pool).await?),
    )
}

/// Current communes whose name or code matches, by name.
pub async fn search_communes(db: &Db, query: &str, limit: i64) -> DbResult<Vec<Commune>> {
    let sql = format!(
        "SELECT {COMMUNE_COLS} FROM communes c WHERE c.kind = 'commune-actuelle' \
         AND (c.name_search LIKE $1 OR c.insee_code LIKE $2 OR c.postal_codes LIKE $2) \
         ORDER BY c.population DESC, c.name LIMIT $3"
    );
    let name_pat = format!("%{}%", escape_like(&fold_accents(query.trim())));
    let code_pat = format!("{}%", escape_like(query.trim()));
    Ok(db_run!(db, pool => sqlx::query_as::<_, Commune>(&sql)
        .bind(&name_pat)
        .bind(&code_pat)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// LIKE patterns: neutralise the wildcards a person may type.
fn escape_like(s: &str) -> String {
    s.replace(['%', '_'], "")
}

pub async fn communes_by_codes(db: &Db, codes: &[String]) -> DbResult<Vec<Commune>> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(BATCH) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COMMUNE_COLS} FROM communes c WHERE c.insee_code IN ({}) ORDER BY c.name_search",
            marks.join(", ")
        );
        let rows: Vec<Commune> = db_run!(db, pool => {
            let mut q = sqlx::query_as::<_, Commune>(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows);
    }
    out.sort_by_cached_key(|c| fold_accents(&c.name));
    Ok(out)
}

pub async fn get_epci(db: &Db, siren: &str) -> DbResult<Option<Epci>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Epci>(
        "SELECT siren, name, kind, population FROM epcis WHERE siren = $1",
    )
    .bind(siren)
    .fetch_optional(pool)
    .await?))
}

pub async fn search_epcis(db: &Db, query: &str, limit: i64) -> DbResult<Vec<Epci>> {
    let pat = format!("%{}%", escape_like(&fold_accents(query.trim())));
    Ok(db_run!(db, pool => sqlx::query_as::<_, Epci>(
        "SELECT siren, name, kind, population FROM epcis WHERE name_search LIKE $1 OR siren LIKE $1 \
         ORDER BY name LIMIT $2",
    )
    .bind(&pat)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// The member communes of an EPCI, with their populations.
pub async fn epci_communes(db: &Db, siren: &str) -> DbResult<Vec<Commune>> {
    let sql = format!(
        "SELECT {COMMUNE_COLS} FROM communes c JOIN epci_members m ON m.insee_code = c.insee_code \
         WHERE m.epci_siren = $1 ORDER BY c.name_search"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Commune>(&sql).bind(siren).fetch_all(pool).await?))
}

/// The EPCI a commune belongs to, if any.
pub async fn epci_of_commune(db: &Db, insee_code: &str) -> DbResult<Option<Epci>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, Epci>(
        "SELECT e.siren, e.name, e.kind, e.population FROM epcis e \
         JOIN epci_members m ON m.epci_siren = e.siren WHERE m.insee_code = $1 LIMIT 1",
    )
    .bind(insee_code)
    .fetch_optional(pool)
    .await?))
}

pub async fn counts(db: &Db) -> DbResult<(i64, i64, i64)> {
    Ok((
        count(db, "communes").await?,
        count(db, "epcis").await?,
        count(db, "qpvs").await?,
    ))
}

pub async fn qpv_communes(db: &Db, code: &str) -> DbResult<Vec<String>> {
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT insee_code FROM qpv_communes WHERE qpv_code = $1 ORDER BY insee_code",
    )
    .bind(code)
    .fetch_all(pool)
    .await?))
}
