//! Reference data for maps and the health diagnosis: commune outlines and
//! points (`commune_geo`), population by age (`commune_population`) and
//! imported travel times (`travel_times`). Written by the importers of
//! `import::geo`, `import::population` and `import::travel_times`, each
//! import in one transaction with its row in the import history
//! (`directory_imports`, sources `geo`, `population`, `travel-times`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use serde::Serialize;

use super::directory::{record_import, ImportSummary};
use super::{placeholders, Db, DbResult};
use crate::db_run;

/// `point_source` of a point computed inside an imported outline.
pub const FROM_CONTOURS: &str = "contours";
/// `point_source` of a point imported as such (town hall, chef-lieu).
pub const FROM_POINTS: &str = "points";

/// A commune's outline and representative point, as the outline importer
/// gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct CommuneOutline {
    pub insee_code: String,
    pub latitude: f64,
    pub longitude: f64,
    /// GeoJSON geometry text (Polygon or MultiPolygon).
    pub outline: String,
}

/// A commune's point, as a point file gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommunePoint {
    pub insee_code: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// INSEE population of a commune by age band (fractional figures).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PopulationRow {
    pub insee_code: String,
    /// Census year (2021 for the `P21_` columns).
    pub year: i64,
    pub total: f64,
    pub age_0_14: f64,
    pub age_15_29: f64,
    pub age_30_44: f64,
    pub age_45_59: f64,
    pub age_60_74: f64,
    pub age_75_plus: f64,
}

/// An imported travel time, in minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelTime {
    pub origin: String,
    pub destination: String,
    pub minutes: f64,
}

const BATCH: usize = 300;

fn marks(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The codes of every commune in `communes` (current, associated,
/// delegated, arrondissements), for the importers' checks.
pub async fn commune_codes(db: &Db) -> DbResult<HashSet<String>> {
    let codes: Vec<String> = db_run!(db, pool => {
        sqlx::query_scalar("SELECT insee_code FROM communes").fetch_all(pool).await?
    });
    Ok(codes.into_iter().collect())
}

type StoredGeo = (String, f64, f64, Option<String>, String);

/// Write the rows `plan` gives from the stored ones (code, latitude,
/// longitude, outline, source), counting added and changed ones, and record
/// the import, in one transaction.
async fn write_geo(
    db: &Db,
    total: usize,
    plan: impl FnOnce(&HashMap<String, StoredGeo>) -> Vec<StoredGeo>,
) -> DbResult<ImportSummary> {
    let started = Utc::now();
    let mut summary = ImportSummary {
        source: "geo".into(),
        total: total as i64,
        ..ImportSummary::default()
    };
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let stored: Vec<StoredGeo> = sqlx::query_as(
            "SELECT insee_code, latitude, longitude, outline, point_source FROM commune_geo",
        )
        .fetch_all(&mut *tx)
        .await?;
        let stored: HashMap<String, StoredGeo> =
            stored.into_iter().map(|r| (r.0.clone(), r)).collect();
        let mut write = Vec::new();
        for row in plan(&stored) {
            match stored.get(&row.0) {
                None => summary.added += 1,
                Some(old) if *old != row => summary.changed += 1,
                Some(_) => continue,
            }
            write.push(row);
        }
        for chunk in write.chunks(BATCH) {
            let sql = format!(
                "INSERT INTO commune_geo (insee_code, latitude, longitude, outline, point_source) VALUES {} \
                 ON CONFLICT (insee_code) DO UPDATE SET latitude = excluded.latitude, \
                 longitude = excluded.longitude, outline = excluded.outline, point_source = excluded.point_source",
                placeholders(db.backend(), chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for (code, lat, lon, outline, source) in chunk {
                q = q.bind(code).bind(lat).bind(lon).bind(outline).bind(source);
            }
            q.execute(&mut *tx).await?;
        }
        record_import!(tx, summary, started, "");
        tx.commit().await?;
    });
    Ok(summary)
}

/// Store the outlines of an outline file (upsert). A commune whose point
/// was imported from a point file keeps that point (a town hall says more
/// about where people live than the middle of the outline); the others
/// take the outline's interior point.
pub async fn save_outlines(db: &Db, rows: &[CommuneOutline]) -> DbResult<ImportSummary> {
    write_geo(db, rows.len(), |stored| {
        rows.iter()
            .map(|r| match stored.get(&r.insee_code) {
                Some((_, lat, lon, _, source)) if source == FROM_POINTS => (
                    r.insee_code.clone(),
                    *lat,
                    *lon,
                    Some(r.outline.clone()),
                    FROM_POINTS.to_owned(),
                ),
                _ => (
                    r.insee_code.clone(),
                    r.latitude,
                    r.longitude,
                    Some(r.outline.clone()),
                    FROM_CONTOURS.to_owned(),
                ),
            })
            .collect()
    })
    .await
}

/// Store the points of a point file (upsert): the point replaces any
/// previous one, the outline stays.
pub async fn save_points(db: &Db, rows: &[CommunePoint]) -> DbResult<ImportSummary> {
    write_geo(db, rows.len(), |stored| {
        rows.iter()
            .map(|r| {
                let outline = stored.get(&r.insee_code).and_then(|s| s.3.clone());
                (
                    r.insee_code.clone(),
                    r.latitude,
                    r.longitude,
                    outline,
                    FROM_POINTS.to_owned(),
                )
            })
            .collect()
    })
    .await
}

const POPULATION_COLS: &str =
    "insee_code, year, total, age_0_14, age_15_29, age_30_44, age_45_59, age_60_74, age_75_plus";

/// Store the population figures of an INSEE file (upsert: communes the file
/// lacks keep their figures).
pub async fn save_populations(db: &Db, rows: &[PopulationRow]) -> DbResult<ImportSummary> {
    let started = Utc::now();
    let mut summary = ImportSummary {
        source: "population".into(),
        file_date: String::new(),
        total: rows.len() as i64,
        ..ImportSummary::default()
    };
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let stored: Vec<PopulationRow> =
            sqlx::query_as(&format!("SELECT {POPULATION_COLS} FROM commune_population"))
                .fetch_all(&mut *tx)
                .await?;
        let stored: HashMap<&str, &PopulationRow> =
            stored.iter().map(|r| (r.insee_code.as_str(), r)).collect();
        let mut write = Vec::new();
        for row in rows {
            match stored.get(row.insee_code.as_str()) {
                None => summary.added += 1,
                Some(old) if *old != row => summary.changed += 1,
                Some(_) => continue,
            }
            write.push(row);
        }
        for chunk in write.chunks(BATCH) {
            let sql = format!(
                "INSERT INTO commune_population ({POPULATION_COLS}) VALUES {} \
                 ON CONFLICT (insee_code) DO UPDATE SET year = excluded.year, total = excluded.total, \
                 age_0_14 = excluded.age_0_14, age_15_29 = excluded.age_15_29, age_30_44 = excluded.age_30_44, \
                 age_45_59 = excluded.age_45_59, age_60_74 = excluded.age_60_74, age_75_plus = excluded.age_75_plus",
                placeholders(db.backend(), chunk.len(), 9)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(&r.insee_code)
                    .bind(r.year)
                    .bind(r.total)
                    .bind(r.age_0_14)
                    .bind(r.age_15_29)
                    .bind(r.age_30_44)
                    .bind(r.age_45_59)
                    .bind(r.age_60_74)
                    .bind(r.age_75_plus);
            }
            q.execute(&mut *tx).await?;
        }
        record_import!(tx, summary, started, "");
        tx.commit().await?;
    });
    Ok(summary)
}

/// Replace every travel time with those of a new file: a distancier is
/// computed as a whole (one engine, one road network, one date), so pairs
/// from an older file are not kept beside a newer one.
pub async fn replace_travel_times(db: &Db, rows: &[TravelTime]) -> DbResult<ImportSummary> {
    let started = Utc::now();
    let mut summary = ImportSummary {
        source: "travel-times".into(),
        total: rows.len() as i64,
        ..ImportSummary::default()
    };
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let stored: Vec<(String, String, f64)> =
            sqlx::query_as("SELECT origin, destination, minutes FROM travel_times")
                .fetch_all(&mut *tx)
                .await?;
        let mut stored: HashMap<(String, String), f64> =
            stored.into_iter().map(|(o, d, m)| ((o, d), m)).collect();
        for r in rows {
            match stored.remove(&(r.origin.clone(), r.destination.clone())) {
                None => summary.added += 1,
                Some(m) if m != r.minutes => summary.changed += 1,
                Some(_) => {}
            }
        }
        summary.removed = stored.len() as i64;
        sqlx::query("DELETE FROM travel_times").execute(&mut *tx).await?;
        for chunk in rows.chunks(BATCH) {
            let sql = format!(
                "INSERT INTO travel_times (origin, destination, minutes) VALUES {}",
                placeholders(db.backend(), chunk.len(), 3)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(&r.origin).bind(&r.destination).bind(r.minutes);
            }
            q.execute(&mut *tx).await?;
        }
        record_import!(tx, summary, started, "");
        tx.commit().await?;
    });
    Ok(summary)
}

/// Points of these communes: code → (latitude, longitude).
pub async fn points(db: &Db, codes: &[String]) -> DbResult<HashMap<String, (f64, f64)>> {
    let mut out = HashMap::with_capacity(codes.len());
    for chunk in codes.chunks(BATCH) {
        let sql = format!(
            "SELECT insee_code, latitude, longitude FROM commune_geo WHERE insee_code IN ({})",
            marks(1, chunk.len())
        );
        let rows: Vec<(String, f64, f64)> = db_run!(db, pool => {
            let mut q = sqlx::query_as(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows.into_iter().map(|(c, lat, lon)| (c, (lat, lon))));
    }
    Ok(out)
}

/// Outlines of these communes (those that have one), by code: (code,
/// GeoJSON geometry text).
pub async fn outlines(db: &Db, codes: &[String]) -> DbResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(BATCH) {
        let sql = format!(
            "SELECT insee_code, outline FROM commune_geo WHERE outline IS NOT NULL AND insee_code IN ({})",
            marks(1, chunk.len())
        );
        let rows: Vec<(String, String)> = db_run!(db, pool => {
            let mut q = sqlx::query_as(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows);
    }
    out.sort();
    Ok(out)
}

/// Population by age of these communes (those the INSEE file gave).
pub async fn populations(db: &Db, codes: &[String]) -> DbResult<HashMap<String, PopulationRow>> {
    let mut out = HashMap::with_capacity(codes.len());
    for chunk in codes.chunks(BATCH) {
        let sql = format!(
            "SELECT {POPULATION_COLS} FROM commune_population WHERE insee_code IN ({})",
            marks(1, chunk.len())
        );
        let rows: Vec<PopulationRow> = db_run!(db, pool => {
            let mut q = sqlx::query_as(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows.into_iter().map(|r| (r.insee_code.clone(), r)));
    }
    Ok(out)
}

/// Imported travel times whose origin or destination is one of these
/// communes: (origin, destination, minutes), sorted.
pub async fn travel_times(db: &Db, codes: &[String]) -> DbResult<Vec<(String, String, f64)>> {
    let mut found: BTreeMap<(String, String), f64> = BTreeMap::new();
    for chunk in codes.chunks(BATCH) {
        let list = marks(1, chunk.len());
        let sql = format!(
            "SELECT origin, destination, minutes FROM travel_times \
             WHERE origin IN ({list}) OR destination IN ({list})"
        );
        let rows: Vec<(String, String, f64)> = db_run!(db, pool => {
            let mut q = sqlx::query_as(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(pool).await?
        });
        found.extend(rows.into_iter().map(|(o, d, m)| ((o, d), m)));
    }
    Ok(found.into_iter().map(|((o, d), m)| (o, d, m)).collect())
}

/// Communes whose point (`commune_geo`) lies within `radius_km` of
/// (`latitude`, `longitude`), nearest first.
pub async fn communes_within(
    db: &Db,
    latitude: f64,
    longitude: f64,
    radius_km: f64,
) -> DbResult<Vec<String>> {
    // A bounding box in degrees first (index-friendly), then the exact
    // great-circle distance.
    let dlat = radius_km / 111.0;
    let dlon = radius_km / (111.0 * latitude.to_radians().cos().max(0.1));
    let rows: Vec<(String, f64, f64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT insee_code, latitude, longitude FROM commune_geo \
         WHERE latitude BETWEEN $1 AND $2 AND longitude BETWEEN $3 AND $4",
    )
    .bind(latitude - dlat)
    .bind(latitude + dlat)
    .bind(longitude - dlon)
    .bind(longitude + dlon)
    .fetch_all(pool)
    .await?);
    let mut near: Vec<(f64, String)> = rows
        .into_iter()
        .map(|(code, lat, lon)| {
            let d = crate::domain::geo::distance_km((longitude, latitude), (lon, lat));
            (d, code)
        })
        .filter(|(d, _)| *d <= radius_km)
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    Ok(near.into_iter().map(|(_, c)| c).collect())
}
