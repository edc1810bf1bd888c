//! The directory of the health-care offer: establishments from FINESS and
//! the history of imports. A re-import is staged in temporary tables, then
//! applied in one short transaction: a killed import leaves the previous
//! data as it was, and other writers are not locked out meanwhile.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::care_supply::{professions_of, refresh_in};
use super::staging::{Cell, Rows, Stage};
use super::{Db, DbResult};
use crate::db_run;
use crate::domain::directory::{Establishment, Professional, Progress};
use crate::domain::parallel::map_slice;

mod candidates;
mod changes;
pub use candidates::{candidates, Batch, Candidates, Spelt, WordQuery};

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
pub(crate) use stage_tables;

/// Drop the temporary tables of [`stage_tables!`] once applied, so that the
/// pooled connection does not keep their rows.
macro_rules! drop_staged {
    ($conn:ident, [$($temp:expr),+ $(,)?]) => {
        $(
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", $temp)).execute(&mut *$conn).await?;
        )+
    };
}
pub(crate) use drop_staged;

/// Two directory imports applied at once (two server processes each
/// running a queued job) would each empty and refill the derived tables
/// (`commune_points`, facet counts, the search table) and collide on their
/// keys. SQLite's `BEGIN IMMEDIATE` already lets one writer in at a time;
/// on PostgreSQL the apply transactions take one transaction-scoped
/// advisory lock, so they run one after the other.
macro_rules! serialise_imports {
    ($tx:ident, $sqlite:expr) => {
        if !$sqlite {
            sqlx::query(
                "SELECT pg_advisory_xact_lock(hashtextextended('maillage-directory-import', 0))",
            )
            .execute(&mut *$tx)
            .await?;
        }
    };
}
pub(crate) use serialise_imports;

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
    let stored: Vec<(String, String, Option<String>)> = db_run!(db, pool => {
        sqlx::query_as("SELECT finess, content_hash, insee_code FROM establishments").fetch_all(pool).await?
    });
    let stored: Vec<changes::Stored> = stored
        .into_iter()
        .map(|(finess, content_hash, insee_code)| changes::Stored {
            finess,
            content_hash,
            insee_code,
        })
        .collect();
    // The row-by-row work (hashes, folded texts) on every core: 0.5 s on
    // one for a national file.
    let hashes: Vec<String> = map_slice(rows, Establishment::content_hash);
    let work = changes::Changes::work_out(rows, &hashes, &stored);
    let (write, gone, added, changed) = (&work.write, &work.gone, work.added, work.changed);
    let summary = ImportSummary {
        source: "finess".into(),
        file_date: file_date.to_owned(),
        total: rows.len() as i64,
        added,
        changed,
        removed: gone.len() as i64,
        skipped,
    };
    if write.is_empty() && gone.is_empty() {
        // The same file again: no row, count or supply to rewrite, only
        // the import to record.
        db_run!(db, pool => {
            let mut tx = pool.begin_write().await?;
            record_import!(tx, summary, started, report);
            tx.commit().await?;
        });
        return Ok(summary);
    }
    const COLS: &str = "finess, finess_ej, name, long_name, name_search, address, postal_code, city, \
         insee_code, phone, category_code, category_label, group_code, group_label, siret, opened_on, updated_on, \
         longitude, latitude, content_hash";
    // The rows to stage: the establishments, their search rows folded here
    // (as the RPPS import does: folding 100,000 names with the nested
    // `REPLACE`s of `search_rows_sql` took most of the apply transaction,
    // which holds SQLite's write lock), and the identifiers that go.
    let texts: Vec<(String, String)> =
        map_slice(write, |(e, _)| (e.name_search(), establishment_words(e)));
    let mut staged = Rows::new("import_establishments", COLS);
    let mut search = Rows::new("import_search", SEARCH_COLS);
    for ((e, hash), (name_search, _)) in write.iter().zip(&texts) {
        staged.cells.extend([
            Cell::from(e.finess.as_str()),
            e.finess_ej.as_str().into(),
            e.name.as_str().into(),
            e.long_name.as_str().into(),
            name_search.as_str().into(),
            e.address.as_str().into(),
            e.postal_code.as_str().into(),
            e.city.as_str().into(),
            e.insee_code.as_deref().into(),
            e.phone.as_str().into(),
            e.category_code.as_str().into(),
            e.category_label.as_str().into(),
            e.group_code.as_str().into(),
            e.group_label.as_str().into(),
            e.siret.as_str().into(),
            e.opened_on.as_deref().into(),
            e.updated_on.as_deref().into(),
            e.longitude.into(),
            e.latitude.into(),
            (*hash).into(),
        ]);
    }
    // The search rows in the order of their table's key (commune, kind,
    // number): written in file order, they fell on random pages of the
    // B-tree, 0.9 s of the apply at national size against 0.15 s.
    let key = |i: &usize| {
        let e = write[*i].0;
        (e.insee_code.as_deref().unwrap_or(""), e.finess.as_str())
    };
    let mut by_key: Vec<usize> = (0..write.len()).collect();
    by_key.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
    for i in by_key {
        search
            .cells
            .extend(establishment_search_row(write[i].0, &texts[i].1));
    }
    let mut gone_rows = Rows::new("import_gone", "key");
    gone_rows.cells.extend(gone.iter().map(|g| Cell::from(*g)));
    let mut touched = Rows::new("import_touched", "key");
    touched
        .cells
        .extend(work.touched.iter().map(|c| Cell::from(*c)));
    let mut points = Rows::new("import_points", "insee_code, longitude, latitude");
    for (insee, lon, lat) in &work.points {
        points
            .cells
            .extend([Cell::from(*insee), Cell::Float(*lon), Cell::Float(*lat)]);
    }
    let mut facets = Rows::new("import_facets", FACET_COLS);
    for f in &work.facets {
        facets.cells.extend([
            Cell::from(f.insee_code),
            Cell::from(CATEGORY),
            Cell::from(f.code),
            Cell::from(f.label),
            Cell::Int(f.n),
        ]);
    }
    let sqlite = matches!(db, Db::Sqlite(_));
    db_run!(db, pool => {
        // Staged first in temporary tables of one connection (no lock on
        // the real tables), then applied in one short transaction: see
        // `stage_tables`.
        let mut conn = pool.acquire().await?;
        stage_tables!(conn, [
            ("import_establishments", "establishments"),
            ("import_search", "directory_search"),
            ("import_gone", ""),
            ("import_touched", ""),
            ("import_points", "commune_points"),
            ("import_facets", "directory_facet_counts"),
        ]);
        progress("enregistrement", 0, write.len() as u64);
        for rows in [&gone_rows, &staged, &search, &touched, &points, &facets] {
            if rows.len() > 0 {
                conn.stage(rows).await?;
            }
        }
        progress("enregistrement", write.len() as u64, write.len() as u64);
        progress("application", write.len() as u64, write.len() as u64);
        let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        let mut tx = sqlx::Connection::begin_with(&mut *conn, begin).await?;
        serialise_imports!(tx, sqlite);
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
        // The touched communes' points and category counts, worked out
        // from the file (`changes`).
        sqlx::query("DELETE FROM commune_points WHERE insee_code IN (SELECT key FROM import_touched)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO commune_points (insee_code, longitude, latitude) \
             SELECT insee_code, longitude, latitude FROM import_points",
        )
        .execute(&mut *tx)
        .await?;
        // The pharmacies of the diagnosis follow the establishments.
        refresh_in!(tx, professions_of(false), true);
        sqlx::query(FACETS_DELETE).bind(CATEGORY).execute(&mut *tx).await?;
        sqlx::query(&format!(
            "INSERT INTO directory_facet_counts ({FACET_COLS}) SELECT {FACET_COLS} FROM import_facets"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM directory_search WHERE kind = 'establishment' \
             AND (id IN (SELECT key FROM import_gone) OR id IN (SELECT finess FROM import_establishments))",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO directory_search ({SEARCH_COLS}) SELECT {SEARCH_COLS} FROM import_search"
        ))
        .execute(&mut *tx)
        .await?;
        record_import!(tx, summary, started, report);
        tx.commit().await?;
        drop_staged!(conn, [
            "import_establishments",
            "import_search",
            "import_gone",
            "import_touched",
            "import_points",
            "import_facets",
        ]);
    });
    analyze(db, &[&["establishments"][..], &DERIVED_TABLES[..]].concat()).await?;
    Ok(summary)
}

/// Refresh the planner's statistics of `tables` after a bulk change, so
/// that searches keep using the indexes. Only the tables the import wrote:
/// a bare `ANALYZE` on PostgreSQL also sampled the two million
/// professionals after a FINESS import (1.1 s of its 9.6). On SQLite,
/// ANALYZE writes its statistics under the write lock: it samples
/// (`analysis_limit`) rather than reading millions of rows meanwhile.
pub(crate) async fn analyze(db: &Db, tables: &[&str]) -> DbResult<()> {
    match db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("PRAGMA analysis_limit = 1000")
                .execute(&mut *conn)
                .await?;
            for table in tables {
                sqlx::query(&format!("ANALYZE {table}"))
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query("PRAGMA analysis_limit = 0")
                .execute(&mut *conn)
                .await?;
        }
        Db::Postgres(pool) => {
            let tables: Vec<String> = tables
                .iter()
                .map(
                    |t| match ANALYZED_COLUMNS.iter().find(|(table, _)| table == t) {
                        Some((_, columns)) => format!("{t} ({columns})"),
                        None => (*t).to_owned(),
                    },
                )
                .collect();
            sqlx::query(&format!("ANALYZE {}", tables.join(", ")))
                .execute(pool)
                .await?;
            // Searches read `directory_search` by an index-only scan,
            // which needs the visibility map a vacuum writes.
            sqlx::raw_sql("VACUUM directory_search")
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// The columns whose statistics PostgreSQL's planner reads, for the
/// registers' tables: those that statements filter, join or group on.
/// Sampling every column cost more than the rest of the `ANALYZE`s (at
/// national size 392 ms for the establishments against 114 ms, 519 and
/// 748 ms for the professionals and their places against 152 and 296 ms),
/// for names and addresses that no statement compares.
const ANALYZED_COLUMNS: [(&str, &str); 3] = [
    ("establishments", "finess, insee_code, category_code"),
    ("professionals", "rpps, profession_code"),
    ("practice_places", "rpps, position, insee_code"),
];

/// The tables every directory import writes, besides its own.
pub(crate) const DERIVED_TABLES: [&str; 4] = [
    "directory_search",
    "directory_facet_counts",
    "commune_points",
    "commune_supply",
];

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

/// Read from a JSON array too, its fields in this order
/// (`candidates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
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

/// Replace the professionals (and their practice places) with these,
/// counting added, changed and removed ones: the rows given at once to the
/// streamed import (`professionals_import`), for callers that hold them.
pub async fn replace_professionals(
    db: &Db,
    rows: &[Professional],
    skipped: i64,
    report: &str,
    progress: Progress<'_>,
) -> DbResult<ImportSummary> {
    let mut import = super::professionals_import::ProfessionalsImport::begin(db).await?;
    for chunk in rows.chunks(2_000) {
        import.stage(chunk.to_vec()).await?;
    }
    import
        .finish(rows.len() as i64, skipped, report, progress)
        .await
}

/// Read from a JSON array too, its fields in this order
/// (`candidates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
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

/// How the database folds the searchable text (`directory_search.words`):
/// lower case, accents off, punctuation as spaces, as
/// `domain::text::fold_accents` does for what people type. Written as SQL
/// `REPLACE`s, the same text on both backends (SQLite's `LOWER` knows ASCII
/// only, hence the capitals).
const FOLD: &[(&str, &str)] = &[
    ("à", "a"),
    ("â", "a"),
    ("ä", "a"),
    ("á", "a"),
    ("ã", "a"),
    ("å", "a"),
    ("ç", "c"),
    ("é", "e"),
    ("è", "e"),
    ("ê", "e"),
    ("ë", "e"),
    ("î", "i"),
    ("ï", "i"),
    ("í", "i"),
    ("ì", "i"),
    ("ô", "o"),
    ("ö", "o"),
    ("ó", "o"),
    ("ò", "o"),
    ("õ", "o"),
    ("ù", "u"),
    ("û", "u"),
    ("ü", "u"),
    ("ú", "u"),
    ("ÿ", "y"),
    ("ý", "y"),
    ("ñ", "n"),
    ("À", "a"),
    ("Â", "a"),
    ("Ä", "a"),
    ("Á", "a"),
    ("Ã", "a"),
    ("Å", "a"),
    ("Ç", "c"),
    ("É", "e"),
    ("È", "e"),
    ("Ê", "e"),
    ("Ë", "e"),
    ("Î", "i"),
    ("Ï", "i"),
    ("Í", "i"),
    ("Ì", "i"),
    ("Ô", "o"),
    ("Ö", "o"),
    ("Ó", "o"),
    ("Ò", "o"),
    ("Õ", "o"),
    ("Ù", "u"),
    ("Û", "u"),
    ("Ü", "u"),
    ("Ú", "u"),
    ("Ÿ", "y"),
    ("Ý", "y"),
    ("Ñ", "n"),
    ("œ", "oe"),
    ("Œ", "oe"),
    ("æ", "ae"),
    ("Æ", "ae"),
    ("-", " "),
    ("'", " "),
    ("’", " "),
    ("(", " "),
    (")", " "),
    (".", " "),
    (",", " "),
    ("/", " "),
    (";", " "),
    (":", " "),
    ("\"", " "),
    ("&", " "),
];

/// `REPLACE`s per query level: SQLite's parser (before 3.46) overflows its
/// stack past some 35 nested calls, so the folding is spread over nested
/// `SELECT`s, which the planner flattens.
const FOLD_LEVEL: usize = 18;

/// Rows for `directory_search` from `rows`, a `SELECT` of `insee_code,
/// kind, id, position, code, name, w` where `w` is the raw text: `w` folded
/// as [`FOLD`] says (lower case first), with a space at both ends (so that
/// `LIKE '% cmp%'` finds a word's start and `'% ch %'` a whole word).
pub fn search_rows_sql(rows: &str) -> String {
    const KEPT: &str = "insee_code, kind, id, position, code, name";
    let mut sql = rows.to_owned();
    for (level, part) in FOLD.chunks(FOLD_LEVEL).enumerate() {
        let mut expr = if level == 0 {
            "LOWER(w)".to_owned()
        } else {
            "w".to_owned()
        };
        for (from, to) in part {
            expr = format!(
                "REPLACE({expr}, '{}', '{}')",
                from.replace('\'', "''"),
                to.replace('\'', "''")
            );
        }
        sql = format!("SELECT {KEPT}, {expr} AS w FROM ({sql}) f{level}");
    }
    format!("SELECT {KEPT}, ' ' || w || ' ' FROM ({sql}) f")
}

/// The searchable text as [`search_rows_sql`] folds it in the database, in
/// Rust (the RPPS import stages its search rows already folded): lower
/// case, then [`FOLD`], a space at both ends. The same text as the SQL for
/// every character of French; other capitals are lowered too (SQLite's
/// `LOWER` leaves them).
pub fn fold_words(raw: &str) -> String {
    /// The replacements of ASCII characters, by code.
    static ASCII: std::sync::LazyLock<[Option<&'static str>; 128]> =
        std::sync::LazyLock::new(|| {
            let mut t = [None; 128];
            for (from, to) in FOLD {
                if let [b] = from.as_bytes() {
                    t[*b as usize] = Some(*to);
                }
            }
            t
        });
    let mut out = String::with_capacity(raw.len() + 2);
    out.push(' ');
    let mut buf = [0u8; 4];
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii() {
            match ASCII[c as usize] {
                Some(to) => out.push_str(to),
                None => out.push(c),
            }
            continue;
        }
        let s: &str = c.encode_utf8(&mut buf);
        match FOLD.iter().find(|(from, _)| *from == s) {
            Some((_, to)) => out.push_str(to),
            // Beyond French: lower case as PostgreSQL's `LOWER` does (and
            // as what people type is folded), which SQLite's does not.
            None => out.extend(c.to_lowercase()),
        }
    }
    out.push(' ');
    out
}

/// The searchable rows of establishments: the category as code, the name
/// shown as sort key, and the text the scoring reads
/// (`crate::directory::search`). An unknown commune is stored as ''.
pub const ESTABLISHMENT_ROWS: &str = "SELECT COALESCE(e.insee_code, '') AS insee_code, 'establishment' AS kind, \
     e.finess AS id, 0 AS position, e.category_code AS code, \
     CASE WHEN e.long_name = '' THEN e.name ELSE e.long_name END AS name, \
     e.name || ' ' || e.long_name || ' ' || e.category_label || ' ' || e.city AS w FROM establishments e";
/// And of professionals at each practice place (the profession as code).
pub const PROFESSIONAL_ROWS: &str = "SELECT COALESCE(pl.insee_code, '') AS insee_code, 'professional' AS kind, \
     pl.rpps AS id, pl.position, p.profession_code AS code, p.first_name || ' ' || p.last_name AS name, \
     p.last_name || ' ' || p.first_name || ' ' || p.profession_label || ' ' || pl.specialty_label || ' ' || pl.city AS w \
     FROM practice_places pl JOIN professionals p ON p.rpps = pl.rpps";

/// The columns `directory_search` is filled in, in [`search_rows_sql`]'s order.
pub(crate) const SEARCH_COLS: &str = "insee_code, kind, id, position, code, name, words";

/// The search row of an establishment as [`ESTABLISHMENT_ROWS`] and
/// [`search_rows_sql`] make it in SQL (the migration's way), with `words`
/// folded here by [`establishment_words`].
pub(crate) fn establishment_search_row<'a>(e: &'a Establishment, words: &'a str) -> [Cell<'a>; 7] {
    [
        e.insee_code.as_deref().unwrap_or("").into(),
        "establishment".into(),
        e.finess.as_str().into(),
        Cell::Int(0),
        e.category_code.as_str().into(),
        if e.long_name.is_empty() {
            e.name.as_str()
        } else {
            e.long_name.as_str()
        }
        .into(),
        words.into(),
    ]
}

/// The folded text of an establishment's search row (`words`).
pub(crate) fn establishment_words(e: &Establishment) -> String {
    fold_words(&format!(
        "{} {} {} {}",
        e.name, e.long_name, e.category_label, e.city
    ))
}

/// Kinds of rows in `directory_facet_counts`.
const CATEGORY: &str = "category";
pub(crate) const PROFESSION: &str = "profession";

/// The facet rows of the communes an import touched (`import_touched`),
/// deleted before they are counted again; `$1` is the kind.
pub(crate) const FACETS_DELETE: &str =
    "DELETE FROM directory_facet_counts WHERE kind = $1 AND insee_code IN (SELECT key FROM import_touched)";
/// The columns of `directory_facet_counts`.
const FACET_COLS: &str = "insee_code, kind, code, label, n";
pub(crate) const PROFESSION_FACETS_INSERT: &str = "INSERT INTO directory_facet_counts (insee_code, kind, code, label, n) \
     SELECT pl.insee_code, 'profession', p.profession_code, MAX(p.profession_label), COUNT(DISTINCT p.rpps) \
     FROM practice_places pl JOIN professionals p ON p.rpps = pl.rpps \
     WHERE pl.insee_code IN (SELECT key FROM import_touched) GROUP BY pl.insee_code, p.profession_code";

/// Filters of a territory's directory: codes and labels, by label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub categories: Vec<(String, String)>,
    pub professions: Vec<(String, String)>,
}

/// The establishment categories and professions present in these communes,
/// for the search filters, read from the per-commune counts that the
/// imports keep (`directory_facet_counts`), not from the registers.
pub async fn facets(db: &Db, communes: &[String]) -> DbResult<Facets> {
    let mut found: HashMap<(String, String), String> = HashMap::new();
    for chunk in communes.chunks(BATCH) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT kind, code, MAX(label) FROM directory_facet_counts WHERE insee_code IN ({}) GROUP BY kind, code",
            marks.join(", ")
        );
        let rows: Vec<(String, String, String)> = db_run!(db, pool => {
            let mut q = sqlx::query_as(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        for (kind, code, label) in rows {
            found.entry((kind, code)).or_insert(label);
        }
    }
    let mut out = Facets::default();
    for ((kind, code), label) in found {
        match kind.as_str() {
            CATEGORY => out.categories.push((code, label)),
            PROFESSION => out.professions.push((code, label)),
            _ => {}
        }
    }
    for list in [&mut out.categories, &mut out.professions] {
        list.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    }
    Ok(out)
}

/// The label of a category (`professional` false) or profession code
/// present anywhere, for a filter chosen outside the territory's own.
pub async fn facet_label(db: &Db, professional: bool, code: &str) -> DbResult<Option<String>> {
    let kind = if professional { PROFESSION } else { CATEGORY };
    Ok(db_run!(db, pool => sqlx::query_scalar::<_, String>(
        "SELECT label FROM directory_facet_counts WHERE kind = $1 AND code = $2 ORDER BY insee_code LIMIT 1",
    )
    .bind(kind)
    .bind(code)
    .fetch_optional(pool)
    .await?))
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

/// Read from a JSON array too, its fields in this order
/// (`public_pages::entry_page`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
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

/// Read from a JSON array too, its fields in this order
/// (`public_pages::entry_page`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The migration fills `directory_search` with the very expression the
    /// imports use, on both backends.
    #[test]
    fn migrations_fold_as_the_imports() {
        for migration in [
            include_str!("../../migrations/sqlite/0020_directory_search.sql"),
            include_str!("../../migrations/postgres/0020_directory_search.sql"),
        ] {
            assert!(migration.contains(&search_rows_sql(ESTABLISHMENT_ROWS)));
            assert!(migration.contains(&search_rows_sql(PROFESSIONAL_ROWS)));
        }
    }
}
