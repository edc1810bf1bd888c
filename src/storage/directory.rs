//! The directory of the health-care offer: establishments from FINESS and
//! the history of imports. A re-import is staged in temporary tables, then
//! applied in one short transaction: a killed import leaves the previous
//! data as it was, and other writers are not locked out meanwhile.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::care_supply::{professions_of, refresh_in};
use super::{Db, DbResult};
use crate::db_run;
use crate::domain::directory::{Establishment, PracticePlace, Professional, Progress};

/// What an import changed, as kept in the history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct ImportSummary {
    pub source: String,
    pub file_date: String,
    pub total: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub skipped: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ImportRecord {
    pub source: String,
    pub file_date: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub total: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub skipped: i64,
    pub report: String,
}

const BATCH: usize = 300;

/// Write the history row of an import inside its transaction.
macro_rules! record_import {
    ($tx:expr, $summary:expr, $started:expr, $report:expr) => {
        sqlx::query(
            "INSERT INTO directory_imports (source, file_date, started_at, finished_at, total, added, changed, \
             removed, skipped, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&$summary.source)
        .bind(&$summary.file_date)
        .bind($started)
        .bind(Utc::now())
        .bind($summary.total)
        .bind($summary.added)
        .bind($summary.changed)
        .bind($summary.removed)
        .bind($summary.skipped)
        .bind($report)
        .execute(&mut *$tx)
        .await?
    };
}
/// Also used by `storage::geo_reference` (the reference-data imports share
/// the history).
pub(crate) use record_import;

const EST_COLS: usize = 20;

/// Why imports are staged: a national RPPS file is millions of rows. Written
/// inside one transaction on the real tables, it held SQLite's only write
/// lock for minutes, and every other write (a public registration, a job's
/// progress) failed with « database is locked » after the busy timeout. The
/// rows now go first into temporary tables of the import's own connection
/// (SQLite keeps them in a separate temporary database, PostgreSQL in the
/// session), batch by batch, locking nothing that others use; then one
/// transaction applies them with `INSERT … SELECT` and `DELETE … IN (SELECT)`,
/// which runs inside the database in a fraction of the time. A killed
/// import still leaves the previous data as it was: temporary tables go
/// with their connection, and the real tables change only in that last
/// transaction.
///
/// `stage_tables!(conn, [(temp, like), …])` (re)creates each temporary table
/// with the columns of `like` (or a single `key` column when `like` is
/// empty), with the same SQL on both backends.
macro_rules! stage_tables {
    ($conn:ident, [$(($temp:expr, $like:expr)),+ $(,)?]) => {
        $(
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", $temp)).execute(&mut *$conn).await?;
            let sql = if $like.is_empty() {
                format!("CREATE TEMPORARY TABLE {} (key TEXT NOT NULL)", $temp)
            } else {
                format!("CREATE TEMPORARY TABLE {} AS SELECT * FROM {} WHERE 1 = 0", $temp, $like)
            };
            sqlx::query(&sql).execute(&mut *$conn).await?;
        )+
    };
}

/// Drop the temporary tables of [`stage_tables!`] once applied, so that the
/// pooled connection does not keep their rows.
macro_rules! drop_staged {
    ($conn:ident, [$($temp:expr),+ $(,)?]) => {
        $(
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", $temp)).execute(&mut *$conn).await?;
        )+
    };
}

fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            format!(
                "({})",
                (1..=cols)
                    .map(|c| format!("${}", r * cols + c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replace the establishments with those of a new file: added, changed and
/// removed rows are counted and the import is recorded, all in one transaction.
pub async fn replace_establishments(
    db: &Db,
    rows: &[Establishment],
    file_date: &str,
    skipped: i64,
    report: &str,
    progress: Progress<'_>,
) -> DbResult<ImportSummary> {
    let started = Utc::now();
    let existing: Vec<(String, String)> = db_run!(db, pool => {
        sqlx::query_as("SELECT finess, content_hash FROM establishments").fetch_all(pool).await?
    });
    let existing: HashMap<String, String> = existing.into_iter().collect();
    let hashes: Vec<String> = rows.iter().map(Establishment::content_hash).collect();
    let incoming: HashSet<&str> = rows.iter().map(|r| r.finess.as_str()).collect();
    let mut write = Vec::new();
    let (mut added, mut changed) = (0i64, 0i64);
    for (row, hash) in rows.iter().zip(&hashes) {
        match existing.get(&row.finess) {
            None => {
                added += 1;
                write.push((row, hash));
            }
            Some(h) if h != hash => {
                changed += 1;
                write.push((row, hash));
            }
            Some(_) => {}
        }
    }
    let gone: Vec<&String> = existing
        .keys()
        .filter(|k| !incoming.contains(k.as_str()))
        .collect();
    let summary = ImportSummary {
        source: "finess".into(),
        file_date: file_date.to_owned(),
        total: rows.len() as i64,
        added,
        changed,
        removed: gone.len() as i64,
        skipped,
    };
    const COLS: &str = "finess, finess_ej, name, long_name, name_search, address, postal_code, city, \
         insee_code, phone, category_code, category_label, group_code, group_label, siret, opened_on, updated_on, \
         longitude, latitude, content_hash";
    let sqlite = matches!(db, Db::Sqlite(_));
    db_run!(db, pool => {
        // Staged first in temporary tables of one connection (no lock on
        // the real tables), then applied in one short transaction: see
        // `stage_tables`.
        let mut conn = pool.acquire().await?;
        stage_tables!(conn, [("import_establishments", "establishments"), ("import_gone", "")]);
        for chunk in gone.chunks(BATCH) {
            let sql = format!("INSERT INTO import_gone (key) VALUES {}", placeholders(chunk.len(), 1));
            let mut q = sqlx::query(&sql);
            for f in chunk {
                q = q.bind(*f);
            }
            q.execute(&mut *conn).await?;
        }
        for (i, chunk) in write.chunks(BATCH).enumerate() {
            progress("enregistrement", (i * BATCH) as u64, write.len() as u64);
            let sql = format!(
                "INSERT INTO import_establishments ({COLS}) VALUES {}",
                placeholders(chunk.len(), EST_COLS)
            );
            let mut q = sqlx::query(&sql);
            for (e, hash) in chunk {
                q = q
                    .bind(&e.finess)
                    .bind(&e.finess_ej)
                    .bind(&e.name)
                    .bind(&e.long_name)
                    .bind(e.name_search())
                    .bind(&e.address)
                    .bind(&e.postal_code)
                    .bind(&e.city)
                    .bind(&e.insee_code)
                    .bind(&e.phone)
                    .bind(&e.category_code)
                    .bind(&e.category_label)
                    .bind(&e.group_code)
                    .bind(&e.group_label)
                    .bind(&e.siret)
                    .bind(&e.opened_on)
                    .bind(&e.updated_on)
                    .bind(e.longitude)
                    .bind(e.latitude)
                    .bind(*hash);
            }
            q.execute(&mut *conn).await?;
        }
        progress("application", write.len() as u64, write.len() as u64);
        let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        let mut tx = sqlx::Connection::begin_with(&mut *conn, begin).await?;
        sqlx::query("DELETE FROM establishments WHERE finess IN (SELECT key FROM import_gone)")
            .execute(&mut *tx)
            .await?;
        // `WHERE true`: SQLite needs it to read ON CONFLICT after a SELECT.
        sqlx::query(&format!(
            "INSERT INTO establishments ({COLS}) SELECT {COLS} FROM import_establishments WHERE true \
             ON CONFLICT (finess) DO UPDATE SET finess_ej = excluded.finess_ej, name = excluded.name, \
             long_name = excluded.long_name, name_search = excluded.name_search, address = excluded.address, \
             postal_code = excluded.postal_code, city = excluded.city, insee_code = excluded.insee_code, \
             phone = excluded.phone, category_code = excluded.category_code, category_label = excluded.category_label, \
             group_code = excluded.group_code, group_label = excluded.group_label, siret = excluded.siret, \
             opened_on = excluded.opened_on, updated_on = excluded.updated_on, longitude = excluded.longitude, \
             latitude = excluded.latitude, content_hash = excluded.content_hash"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM commune_points").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO commune_points (insee_code, longitude, latitude) \
             SELECT insee_code, AVG(longitude), AVG(latitude) FROM establishments \
             WHERE insee_code IS NOT NULL AND longitude IS NOT NULL AND latitude IS NOT NULL GROUP BY insee_code",
        )
        .execute(&mut *tx)
        .await?;
        // The pharmacies of the diagnosis follow the establishments.
        refresh_in!(tx, professions_of(false));
        record_import!(tx, summary, started, report);
        tx.commit().await?;
        drop_staged!(conn, ["import_establishments", "import_gone"]);
    });
    analyze(db).await?;
    Ok(summary)
}

/// Refresh the planner's statistics after a bulk change (both dialects
/// accept a bare `ANALYZE`), so that searches keep using the indexes. On
/// SQLite, ANALYZE writes its statistics under the write lock: it samples
/// (`analysis_limit`) rather than reading millions of rows meanwhile.
async fn analyze(db: &Db) -> DbResult<()> {
    match db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("PRAGMA analysis_limit = 1000")
                .execute(&mut *conn)
                .await?;
            sqlx::query("ANALYZE").execute(&mut *conn).await?;
            sqlx::query("PRAGMA analysis_limit = 0")
                .execute(&mut *conn)
                .await?;
        }
        Db::Postgres(pool) => {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
    }
    Ok(())
}

/// The import history, newest first.
pub async fn imports(db: &Db, limit: i64) -> DbResult<Vec<ImportRecord>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, ImportRecord>(
        "SELECT source, file_date, started_at, finished_at, total, added, changed, removed, skipped, report \
         FROM directory_imports ORDER BY started_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct EstablishmentRow {
    pub finess: String,
    pub name: String,
    pub long_name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
    pub phone: String,
    pub category_code: String,
    pub category_label: String,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
}

pub async fn get_establishment(db: &Db, finess: &str) -> DbResult<Option<EstablishmentRow>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, EstablishmentRow>(
        "SELECT finess, name, long_name, address, postal_code, city, insee_code, phone, category_code, \
         category_label, longitude, latitude FROM establishments WHERE finess = $1",
    )
    .bind(finess)
    .fetch_optional(pool)
    .await?))
}

pub async fn professional_count(db: &Db) -> DbResult<i64> {
    Ok(
        db_run!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM professionals").fetch_one(pool).await?),
    )
}

pub async fn establishment_count(db: &Db) -> DbResult<i64> {
    Ok(
        db_run!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM establishments").fetch_one(pool).await?),
    )
}

/// Replace the professionals (and their practice places) with those of a new
/// RPPS file, counting added, changed and removed ones, in one transaction.
pub async fn replace_professionals(
    db: &Db,
    rows: &[Professional],
    skipped: i64,
    report: &str,
    progress: Progress<'_>,
) -> DbResult<ImportSummary> {
    let started = Utc::now();
    let existing: Vec<(String, String)> = db_run!(db, pool => {
        sqlx::query_as("SELECT rpps, content_hash FROM professionals").fetch_all(pool).await?
    });
    let existing: HashMap<String, String> = existing.into_iter().collect();
    let incoming: HashSet<&str> = rows.iter().map(|r| r.rpps.as_str()).collect();
    let mut write = Vec::new();
    let mut replace: Vec<&str> = Vec::new();
    let mut added = 0i64;
    for row in rows {
        let hash = row.content_hash();
        match existing.get(&row.rpps) {
            None => {
                added += 1;
                write.push((row, hash));
            }
            Some(h) if *h != hash => {
                replace.push(&row.rpps);
                write.push((row, hash));
            }
            Some(_) => {}
        }
    }
    let mut gone: Vec<&str> = existing
        .keys()
        .map(String::as_str)
        .filter(|k| !incoming.contains(k))
        .collect();
    let summary = ImportSummary {
        source: "rpps".into(),
        file_date: String::new(),
        total: rows.len() as i64,
        added,
        changed: replace.len() as i64,
        removed: gone.len() as i64,
        skipped,
    };
    gone.extend(replace);
    const PRO_COLS: &str =
        "rpps, last_name, first_name, name_search, profession_code, profession_label, content_hash";
    const PLACE_COLS: &str =
        "rpps, position, specialty_code, specialty_label, mode_code, sector_code, \
         finess_site, siret_site, site_name, address, postal_code, insee_code, city, phone";
    let sqlite = matches!(db, Db::Sqlite(_));
    db_run!(db, pool => {
        // Staged first in temporary tables of one connection (no lock on
        // the real tables), then applied in one short transaction: see
        // `stage_tables`.
        let mut conn = pool.acquire().await?;
        stage_tables!(conn, [
            ("import_professionals", "professionals"),
            ("import_places", "practice_places"),
            ("import_gone", ""),
        ]);
        for chunk in gone.chunks(BATCH) {
            let sql = format!("INSERT INTO import_gone (key) VALUES {}", placeholders(chunk.len(), 1));
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(*r);
            }
            q.execute(&mut *conn).await?;
        }
        for (i, chunk) in write.chunks(BATCH).enumerate() {
            progress("enregistrement des professionnels", (i * BATCH) as u64, write.len() as u64);
            let sql = format!(
                "INSERT INTO import_professionals ({PRO_COLS}) VALUES {}",
                placeholders(chunk.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for (p, hash) in chunk {
                q = q
                    .bind(&p.rpps)
                    .bind(&p.last_name)
                    .bind(&p.first_name)
                    .bind(p.name_search())
                    .bind(&p.profession_code)
                    .bind(&p.profession_label)
                    .bind(hash);
            }
            q.execute(&mut *conn).await?;
        }
        let places: Vec<(&str, usize, &PracticePlace)> = write
            .iter()
            .flat_map(|(p, _)| p.places.iter().enumerate().map(move |(i, pl)| (p.rpps.as_str(), i, pl)))
            .collect();
        for (i, chunk) in places.chunks(BATCH).enumerate() {
            progress("enregistrement des lieux d'exercice", (i * BATCH) as u64, places.len() as u64);
            let sql = format!(
                "INSERT INTO import_places ({PLACE_COLS}) VALUES {}",
                placeholders(chunk.len(), 14)
            );
            let mut q = sqlx::query(&sql);
            for (rpps, i, pl) in chunk {
                q = q
                    .bind(*rpps)
                    .bind(*i as i64)
                    .bind(&pl.specialty_code)
                    .bind(&pl.specialty_label)
                    .bind(&pl.mode_code)
                    .bind(&pl.sector_code)
                    .bind(&pl.finess_site)
                    .bind(&pl.siret_site)
                    .bind(&pl.site_name)
                    .bind(&pl.address)
                    .bind(&pl.postal_code)
                    .bind(&pl.insee_code)
                    .bind(&pl.city)
                    .bind(&pl.phone);
            }
            q.execute(&mut *conn).await?;
        }
        progress("application", write.len() as u64, write.len() as u64);
        let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        let mut tx = sqlx::Connection::begin_with(&mut *conn, begin).await?;
        sqlx::query("DELETE FROM professionals WHERE rpps IN (SELECT key FROM import_gone)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO professionals ({PRO_COLS}) SELECT {PRO_COLS} FROM import_professionals"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO practice_places ({PLACE_COLS}) SELECT {PLACE_COLS} FROM import_places"
        ))
        .execute(&mut *tx)
        .await?;
        // The diagnosis' supply per commune follows the professionals.
        refresh_in!(tx, professions_of(true));
        record_import!(tx, summary, started, report);
        tx.commit().await?;
        drop_staged!(conn, ["import_professionals", "import_places", "import_gone"]);
    });
    analyze(db).await?;
    Ok(summary)
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ProfessionalPlaceRow {
    pub rpps: String,
    pub last_name: String,
    pub first_name: String,
    pub profession_label: String,
    pub specialty_label: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
    pub phone: String,
}

/// Professionals practising in a commune, by name.
pub async fn professionals_in(
    db: &Db,
    insee_code: &str,
    limit: i64,
) -> DbResult<Vec<ProfessionalPlaceRow>> {
    Ok(
        db_run!(db, pool => sqlx::query_as::<_, ProfessionalPlaceRow>(
        "SELECT p.rpps, p.last_name, p.first_name, p.profession_label, pl.specialty_label, pl.address, \
         pl.postal_code, pl.city, pl.insee_code, pl.phone FROM practice_places pl JOIN professionals p ON p.rpps = pl.rpps \
         WHERE pl.insee_code = $1 ORDER BY p.name_search LIMIT $2",
    )
    .bind(insee_code)
    .bind(limit)
    .fetch_all(pool)
    .await?),
    )
}

/// Establishments of these communes, optionally of one category.
pub async fn establishments_in(
    db: &Db,
    communes: &[String],
    category: Option<&str>,
) -> DbResult<Vec<EstablishmentRow>> {
    let mut out = Vec::new();
    for chunk in communes.chunks(BATCH) {
        // The filter is written only when there is one: a `$1 = '' OR …`
        // condition would keep PostgreSQL's generic plans off the indexes.
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let filter = if category.is_some() {
            format!(" AND category_code = ${}", chunk.len() + 1)
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT finess, name, long_name, address, postal_code, city, insee_code, phone, category_code, \
             category_label, longitude, latitude FROM establishments WHERE insee_code IN ({}){filter}",
            marks.join(", ")
        );
        let rows: Vec<EstablishmentRow> = db_run!(db, pool => {
            let mut q = sqlx::query_as::<_, EstablishmentRow>(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            if let Some(cat) = category {
                q = q.bind(cat);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// Practice places in these communes, optionally of one profession.
pub async fn professionals_in_communes(
    db: &Db,
    communes: &[String],
    profession: Option<&str>,
) -> DbResult<Vec<ProfessionalPlaceRow>> {
    let mut out = Vec::new();
    for chunk in communes.chunks(BATCH) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let filter = if profession.is_some() {
            format!(" AND p.profession_code = ${}", chunk.len() + 1)
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT p.rpps, p.last_name, p.first_name, p.profession_label, pl.specialty_label, pl.address, \
             pl.postal_code, pl.city, pl.insee_code, pl.phone FROM practice_places pl JOIN professionals p ON p.rpps = pl.rpps \
             WHERE pl.insee_code IN ({}){filter}",
            marks.join(", ")
        );
        let rows: Vec<ProfessionalPlaceRow> = db_run!(db, pool => {
            let mut q = sqlx::query_as::<_, ProfessionalPlaceRow>(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            if let Some(p) = profession {
                q = q.bind(p);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct Point {
    pub longitude: f64,
    pub latitude: f64,
}

/// Reference points of communes: the imported ones (`commune_geo`, from
/// outlines or town-hall points) first, else the mean position of the
/// commune's establishments (`commune_points`, refreshed at each FINESS
/// import).
pub async fn commune_point(db: &Db, insee_code: &str) -> DbResult<Option<Point>> {
    let imported: Option<Point> = db_run!(db, pool => sqlx::query_as::<_, Point>(
        "SELECT longitude, latitude FROM commune_geo WHERE insee_code = $1",
    )
    .bind(insee_code)
    .fetch_optional(pool)
    .await?);
    if imported.is_some() {
        return Ok(imported);
    }
    Ok(db_run!(db, pool => sqlx::query_as::<_, Point>(
        "SELECT longitude, latitude FROM commune_points WHERE insee_code = $1",
    )
    .bind(insee_code)
    .fetch_optional(pool)
    .await?))
}

/// Reference points of several communes (as [`commune_point`]), in one
/// query per batch.
pub async fn commune_points(db: &Db, codes: &[String]) -> DbResult<Vec<Point>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(BATCH) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let list = marks.join(", ");
        let sql = format!(
            "SELECT longitude, latitude FROM commune_geo WHERE insee_code IN ({list}) \
             UNION ALL SELECT p.longitude, p.latitude FROM commune_points p WHERE p.insee_code IN ({list}) \
             AND NOT EXISTS (SELECT 1 FROM commune_geo g WHERE g.insee_code = p.insee_code)"
        );
        let rows: Vec<Point> = db_run!(db, pool => {
            let mut q = sqlx::query_as::<_, Point>(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// Communes whose reference point (as [`commune_point`]) lies within
/// `radius_km` of `center`, with their distance, nearest first.
pub async fn communes_near(db: &Db, center: Point, radius_km: f64) -> DbResult<Vec<(String, f64)>> {
    // A bounding box in degrees first (an index-friendly prefilter), then the
    // exact great-circle distance.
    let dlat = radius_km / 111.0;
    let dlon = radius_km / (111.0 * center.latitude.to_radians().cos().max(0.1));
    let rows: Vec<(String, f64, f64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT insee_code, longitude, latitude FROM commune_geo \
         WHERE longitude BETWEEN $1 AND $2 AND latitude BETWEEN $3 AND $4 \
         UNION ALL SELECT p.insee_code, p.longitude, p.latitude FROM commune_points p \
         WHERE p.longitude BETWEEN $1 AND $2 AND p.latitude BETWEEN $3 AND $4 \
         AND NOT EXISTS (SELECT 1 FROM commune_geo g WHERE g.insee_code = p.insee_code)",
    )
    .bind(center.longitude - dlon)
    .bind(center.longitude + dlon)
    .bind(center.latitude - dlat)
    .bind(center.latitude + dlat)
    .fetch_all(pool)
    .await?);
    let mut out: Vec<(String, f64)> = rows
        .into_iter()
        .map(|(code, lon, lat)| {
            let d =
                crate::domain::geo::distance_km((center.longitude, center.latitude), (lon, lat));
            (code, d)
        })
        .filter(|(_, d)| *d <= radius_km)
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(out)
}

/// The categories and professions present, for search filters.
pub async fn facets(db: &Db) -> DbResult<(Vec<(String, String)>, Vec<(String, String)>)> {
    Ok(db_run!(db, pool => {
        let cats = sqlx::query_as(
            "SELECT category_code, MAX(category_label) FROM establishments GROUP BY category_code ORDER BY MAX(category_label)",
        )
        .fetch_all(pool)
        .await?;
        let profs = sqlx::query_as(
            "SELECT profession_code, MAX(profession_label) FROM professionals GROUP BY profession_code ORDER BY MAX(profession_label)",
        )
        .fetch_all(pool)
        .await?;
        (cats, profs)
    }))
}

/// The category labels and groups the directory already holds, by category
/// code: `(label, group code, group label)`. An etalab import wrote them;
/// a FiNESS+ file, which gives only the code, reuses them.
pub async fn category_labels(db: &Db) -> DbResult<HashMap<String, (String, String, String)>> {
    let rows: Vec<(String, String, String, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT category_code, MAX(category_label), MAX(group_code), MAX(group_label) FROM establishments \
         WHERE category_label <> '' AND category_label NOT LIKE 'Catégorie FINESS %' GROUP BY category_code",
    )
    .fetch_all(pool)
    .await?);
    Ok(rows
        .into_iter()
        .map(|(code, label, group, group_label)| (code, (label, group, group_label)))
        .collect())
}

/// The latest import of a source, for « source and date » notes.
pub async fn latest_import(db: &Db, source: &str) -> DbResult<Option<ImportRecord>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, ImportRecord>(
        "SELECT source, file_date, started_at, finished_at, total, added, changed, removed, skipped, report \
         FROM directory_imports WHERE source = $1 ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(source)
    .fetch_optional(pool)
    .await?))
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PracticePlaceRow {
    pub specialty_label: String,
    pub mode_code: String,
    pub sector_code: String,
    pub finess_site: String,
    pub siret_site: String,
    pub site_name: String,
    pub address: String,
    pub postal_code: String,
    pub insee_code: Option<String>,
    pub city: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ProfessionalRow {
    pub rpps: String,
    pub last_name: String,
    pub first_name: String,
    pub profession_code: String,
    pub profession_label: String,
}

pub async fn get_professional(
    db: &Db,
    rpps: &str,
) -> DbResult<Option<(ProfessionalRow, Vec<PracticePlaceRow>)>> {
    let p: Option<ProfessionalRow> = db_run!(db, pool => sqlx::query_as::<_, ProfessionalRow>(
        "SELECT rpps, last_name, first_name, profession_code, profession_label FROM professionals WHERE rpps = $1",
    )
    .bind(rpps)
    .fetch_optional(pool)
    .await?);
    let Some(p) = p else { return Ok(None) };
    let places = db_run!(db, pool => sqlx::query_as::<_, PracticePlaceRow>(
        "SELECT specialty_label, mode_code, sector_code, finess_site, siret_site, site_name, address, postal_code, \
         insee_code, city, phone FROM practice_places WHERE rpps = $1 ORDER BY position",
    )
    .bind(rpps)
    .fetch_all(pool)
    .await?);
    Ok(Some((p, places)))
}
