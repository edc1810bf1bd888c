//! The diagnosis' stored parts: the accessibility scores of every commune
//! (recomputed by `crate::diagnosis::refresh`), the distance-decay bands per
//! profession, and what the coordination writes: thresholds, findings per
//! chapter linked to fiches action, questionnaires attached.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::audit::Actor;

use super::communes::Commune;
use super::staging::{Cell, Rows, Stage};
use super::{directory, territories, Db, DbError, DbResult};
use crate::domain::diagnosis::chapter::FindingInput;
use crate::domain::diagnosis::figures::Figure;
use crate::{audit, db_run};

/// One commune's score for one profession.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AccessRow {
    pub insee_code: String,
    /// The profession's slug (`generalistes`…).
    pub profession: String,
    /// S_j: the supply located in the commune (professionals, 1/n each).
    pub supply: f64,
    /// The population used (standardised or raw), none when unknown.
    pub population: Option<f64>,
    /// A_i × 10 000, none when the commune could not be scored.
    pub score: Option<f64>,
    /// Why there is no score (in French), empty otherwise.
    pub no_score: String,
}

/// How the scores were last computed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AccessRun {
    pub computed_at: DateTime<Utc>,
    pub standardised: bool,
    pub minutes_per_km: f64,
    pub communes: i64,
    pub scored: i64,
}

/// Replace every score, the national medians and the run record in one
/// transaction: readers see the old scores or the new ones, never a mix.
pub async fn replace_access(
    db: &Db,
    rows: &[AccessRow],
    medians: &[(String, Option<f64>)],
    run: &AccessRun,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        // On PostgreSQL a `TRUNCATE`, which leaves no dead rows: after a
        // `DELETE`, the `COPY` of 210,900 rows took 0.9–1.4 s against
        // 0.4 s, into an index twice its size. It locks the table until the
        // commit: a diagnosis page waits for that (half a second at
        // national size) instead of reading the previous run.
        let clear = if matches!(db, Db::Postgres(_)) {
            "TRUNCATE commune_access"
        } else {
            "DELETE FROM commune_access"
        };
        sqlx::query(clear).execute(&mut *tx).await?;
        // In bulk (35,000 communes × 6 professions): one `COPY` on
        // PostgreSQL (0.97 s in 422 `INSERT`s before), prepared multi-row
        // `INSERT`s on SQLite.
        let mut cells = Rows::new(
            "commune_access",
            "insee_code, profession, supply, population, score, no_score",
        );
        for r in rows {
            cells.cells.extend([
                r.insee_code.as_str().into(),
                r.profession.as_str().into(),
                Cell::Float(r.supply),
                r.population.into(),
                r.score.into(),
                r.no_score.as_str().into(),
            ]);
        }
        (*tx).stage(&cells).await?;
        sqlx::query("DELETE FROM access_medians").execute(&mut *tx).await?;
        for (profession, median) in medians {
            sqlx::query("INSERT INTO access_medians (profession, median) VALUES ($1, $2)")
                .bind(profession).bind(median).execute(&mut *tx).await?;
        }
        // The totals per département and région the densities compare
        // with, as of this computation (migration 0030).
        for sql in AREA_TOTALS {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM access_runs").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO access_runs (computed_at, standardised, minutes_per_km, communes, scored) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run.computed_at).bind(run.standardised).bind(run.minutes_per_km)
        .bind(run.communes).bind(run.scored)
        .execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(())
}

/// The scores of `codes` for one profession.
pub async fn access_for(db: &Db, profession: &str, codes: &[String]) -> DbResult<Vec<AccessRow>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT insee_code, profession, supply, population, score, no_score FROM commune_access \
         WHERE profession = $1 AND insee_code IN ({}) ORDER BY insee_code",
        (2..codes.len() + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, AccessRow>(&sql).bind(profession);
        for c in codes {
            q = q.bind(c);
        }
        q.fetch_all(pool).await?
    }))
}

/// The national median of each profession's score at the last computation.
pub async fn medians(db: &Db) -> DbResult<HashMap<String, f64>> {
    let rows: Vec<(String, Option<f64>)> = db_run!(db, pool =>
        sqlx::query_as("SELECT profession, median FROM access_medians").fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .filter_map(|(p, m)| m.map(|m| (p, m)))
        .collect())
}

/// The last computation, if any.
pub async fn latest_run(db: &Db) -> DbResult<Option<AccessRun>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, AccessRun>(
        "SELECT computed_at, standardised, minutes_per_km, communes, scored FROM access_runs \
         ORDER BY computed_at DESC LIMIT 1").fetch_optional(pool).await?))
}

/// The bands set per profession (`10:1;20:0.68;30:0.22`); professions
/// without a row use the default.
pub async fn bands(db: &Db) -> DbResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = db_run!(db, pool =>
        sqlx::query_as("SELECT profession, bands FROM access_bands").fetch_all(pool).await?);
    Ok(rows.into_iter().collect())
}

/// Set (or, with `None`, reset to the default) a profession's bands.
pub async fn set_bands(
    db: &Db,
    actor: &Actor,
    profession: &str,
    bands: Option<&str>,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM access_bands WHERE profession = $1")
            .bind(profession).execute(&mut *tx).await?;
        if let Some(b) = bands {
            sqlx::query("INSERT INTO access_bands (profession, bands) VALUES ($1, $2)")
                .bind(profession).bind(b).execute(&mut *tx).await?;
        }
        audit!(tx, actor, None::<i64>, "access_bands", profession, "update",
            format!("Paliers de distance : {}", bands.unwrap_or("valeurs par défaut")))?;
        tx.commit().await?;
    });
    Ok(())
}

/// The age weights set per profession (`1;1;1;1.2;1.5;2`).
pub async fn weights(db: &Db) -> DbResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = db_run!(db, pool =>
        sqlx::query_as("SELECT profession, weights FROM access_weights").fetch_all(pool).await?);
    Ok(rows.into_iter().collect())
}

/// Set (or, with `None`, reset to the default) a profession's age weights.
pub async fn set_weights(
    db: &Db,
    actor: &Actor,
    profession: &str,
    weights: Option<&str>,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM access_weights WHERE profession = $1")
            .bind(profession).execute(&mut *tx).await?;
        if let Some(w) = weights {
            sqlx::query("INSERT INTO access_weights (profession, weights) VALUES ($1, $2)")
                .bind(profession).bind(w).execute(&mut *tx).await?;
        }
        audit!(tx, actor, None::<i64>, "access_weights", profession, "update",
            format!("Poids par âge : {}", weights.unwrap_or("valeurs par défaut")))?;
        tx.commit().await?;
    });
    Ok(())
}

/// The territory's thresholds by profession slug.
pub async fn thresholds(db: &Db, territory_id: i64) -> DbResult<HashMap<String, f64>> {
    let rows: Vec<(String, f64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT profession, threshold FROM diagnosis_thresholds WHERE territory_id = $1")
        .bind(territory_id).fetch_all(pool).await?);
    Ok(rows.into_iter().collect())
}

/// Set the territory's thresholds in one transaction (`None`: the national
/// median).
pub async fn set_thresholds(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    values: &[(String, Option<f64>)],
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for (profession, value) in values {
            sqlx::query("DELETE FROM diagnosis_thresholds WHERE territory_id = $1 AND profession = $2")
                .bind(territory_id).bind(profession).execute(&mut *tx).await?;
            if let Some(v) = value {
                sqlx::query("INSERT INTO diagnosis_thresholds (territory_id, profession, threshold) VALUES ($1, $2, $3)")
                    .bind(territory_id).bind(profession).bind(v).execute(&mut *tx).await?;
            }
        }
        audit!(tx, actor, Some(territory_id), "diagnosis", territory_id, "thresholds",
            "Seuils d'accessibilité".to_owned())?;
        tx.commit().await?;
    });
    Ok(())
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Finding {
    pub id: i64,
    pub territory_id: i64,
    pub chapter: String,
    pub title: String,
    pub body: String,
    pub position: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const FINDING_COLS: &str =
    "id, territory_id, chapter, title, body, position, version, created_at, updated_at";

/// The territory's findings in chapter order, then position.
pub async fn findings(db: &Db, territory_id: i64) -> DbResult<Vec<Finding>> {
    let sql = format!(
        "SELECT {FINDING_COLS} FROM diagnosis_findings WHERE territory_id = $1 \
         ORDER BY CASE chapter WHEN 'population' THEN 1 WHEN 'offre' THEN 2 \
         WHEN 'accessibilite' THEN 3 ELSE 4 END, position, id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Finding>(&sql)
        .bind(territory_id).fetch_all(pool).await?))
}

pub async fn finding(db: &Db, territory_id: i64, id: i64) -> DbResult<Option<Finding>> {
    let sql = format!(
        "SELECT {FINDING_COLS} FROM diagnosis_findings WHERE id = $1 AND territory_id = $2"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Finding>(&sql)
        .bind(id).bind(territory_id).fetch_optional(pool).await?))
}

/// A fiche action a finding leads to.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LinkedAction {
    pub finding_id: i64,
    pub action_id: i64,
    pub code: String,
    pub title: String,
}

/// The fiches action the territory's findings lead to.
pub async fn finding_actions(db: &Db, territory_id: i64) -> DbResult<Vec<LinkedAction>> {
    Ok(db_run!(db, pool => sqlx::query_as::<_, LinkedAction>(
        "SELECT l.finding_id, l.action_id, a.code, a.title FROM diagnosis_finding_actions l \
         JOIN diagnosis_findings f ON f.id = l.finding_id JOIN actions a ON a.id = l.action_id \
         WHERE f.territory_id = $1 ORDER BY a.code, a.id")
        .bind(territory_id).fetch_all(pool).await?))
}

/// The findings that lead to an action (its « constats du diagnostic »).
pub async fn findings_for_action(db: &Db, action_id: i64) -> DbResult<Vec<Finding>> {
    let cols = FINDING_COLS
        .split(", ")
        .map(|c| format!("f.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols} FROM diagnosis_findings f JOIN diagnosis_finding_actions l ON l.finding_id = f.id \
         WHERE l.action_id = $1 ORDER BY f.chapter, f.position, f.id"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, Finding>(&sql)
        .bind(action_id).fetch_all(pool).await?))
}

/// Keep only the actions of the territory among `action_ids`.
macro_rules! link_actions {
    ($tx:expr, $territory_id:expr, $finding_id:expr, $action_ids:expr) => {{
        sqlx::query("DELETE FROM diagnosis_finding_actions WHERE finding_id = $1")
            .bind($finding_id)
            .execute(&mut *$tx)
            .await?;
        for action_id in $action_ids {
            sqlx::query(
                "INSERT INTO diagnosis_finding_actions (finding_id, action_id) \
                 SELECT $1, a.id FROM actions a JOIN contracts c ON c.id = a.contract_id \
                 WHERE a.id = $2 AND c.territory_id = $3",
            )
            .bind($finding_id)
            .bind(*action_id)
            .bind($territory_id)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Add a finding at the end of its chapter, with the actions it leads to
/// (actions of other territories are ignored).
pub async fn create_finding(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    input: &FindingInput,
    action_ids: &[i64],
) -> DbResult<Finding> {
    let sql = format!(
        "INSERT INTO diagnosis_findings (territory_id, chapter, title, body, position, created_at, updated_at) \
         SELECT $1, $2, $3, $4, COALESCE(MAX(position), 0) + 1, $5, $5 FROM diagnosis_findings \
         WHERE territory_id = $1 AND chapter = $2 RETURNING {FINDING_COLS}"
    );
    Ok(db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let f = sqlx::query_as::<_, Finding>(&sql)
            .bind(territory_id).bind(input.chapter.as_str()).bind(&input.title).bind(&input.body)
            .bind(Utc::now())
            .fetch_one(&mut *tx).await?;
        link_actions!(tx, territory_id, f.id, action_ids);
        audit!(tx, actor, Some(territory_id), "diagnosis_finding", f.id, "create", f.title.clone())?;
        tx.commit().await?;
        f
    }))
}

/// Save a finding edited from `version` ([`DbError::Stale`] if someone
/// saved it in between).
pub async fn update_finding(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    id: i64,
    version: i64,
    input: &FindingInput,
    action_ids: &[i64],
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let done = sqlx::query(
            "UPDATE diagnosis_findings SET chapter = $1, title = $2, body = $3, version = version + 1, \
             updated_at = $4 WHERE id = $5 AND territory_id = $6 AND version = $7")
            .bind(input.chapter.as_str()).bind(&input.title).bind(&input.body).bind(Utc::now())
            .bind(id).bind(territory_id).bind(version)
            .execute(&mut *tx).await?.rows_affected();
        if done == 0 {
            let exists: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM diagnosis_findings WHERE id = $1 AND territory_id = $2")
                .bind(id).bind(territory_id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() { DbError::Stale } else { DbError::NotFound });
        }
        link_actions!(tx, territory_id, id, action_ids);
        audit!(tx, actor, Some(territory_id), "diagnosis_finding", id, "update", input.title.clone())?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn delete_finding(db: &Db, actor: &Actor, territory_id: i64, id: i64) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let title: Option<(String,)> = sqlx::query_as(
            "DELETE FROM diagnosis_findings WHERE id = $1 AND territory_id = $2 RETURNING title")
            .bind(id).bind(territory_id).fetch_optional(&mut *tx).await?;
        let Some((title,)) = title else { return Err(DbError::NotFound) };
        audit!(tx, actor, Some(territory_id), "diagnosis_finding", id, "delete", title)?;
        tx.commit().await?;
    });
    Ok(())
}

/// The questionnaires attached as the participatory part.
pub async fn consultations(db: &Db, territory_id: i64) -> DbResult<Vec<i64>> {
    let rows: Vec<(i64,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT consultation_id FROM diagnosis_consultations WHERE territory_id = $1 ORDER BY consultation_id")
        .bind(territory_id).fetch_all(pool).await?);
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Attach exactly `ids` (questionnaires of other territories are ignored).
pub async fn set_consultations(
    db: &Db,
    actor: &Actor,
    territory_id: i64,
    ids: &[i64],
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM diagnosis_consultations WHERE territory_id = $1")
            .bind(territory_id).execute(&mut *tx).await?;
        for id in ids {
            sqlx::query(
                "INSERT INTO diagnosis_consultations (territory_id, consultation_id) \
                 SELECT territory_id, id FROM consultations WHERE id = $1 AND territory_id = $2")
                .bind(id).bind(territory_id).execute(&mut *tx).await?;
        }
        audit!(tx, actor, Some(territory_id), "diagnosis", territory_id, "consultations",
            format!("{} questionnaire(s) joint(s) au diagnostic", ids.len()))?;
        tx.commit().await?;
    });
    Ok(())
}

/// What the accessibility computation needs of one current commune: its
/// population (raw, and by age when the INSEE file was imported) and its
/// point (imported, else averaged from the establishments' positions).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommuneInput {
    pub insee_code: String,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub age_total: Option<f64>,
    pub age_0_14: Option<f64>,
    pub age_15_29: Option<f64>,
    pub age_30_44: Option<f64>,
    pub age_45_59: Option<f64>,
    pub age_60_74: Option<f64>,
    pub age_75_plus: Option<f64>,
}

impl CommuneInput {
    /// The six age bands, when the age file gave them.
    pub fn ages(&self) -> Option<[f64; 6]> {
        Some([
            self.age_0_14?,
            self.age_15_29?,
            self.age_30_44?,
            self.age_45_59?,
            self.age_60_74?,
            self.age_75_plus?,
        ])
    }
}

/// A [`CommuneInput`]'s columns, from the commune `c` and [`INPUT_JOINS`].
pub(crate) const INPUT_COLUMNS: &str =
    "c.insee_code, c.population, COALESCE(g.latitude, p.latitude) AS latitude, \
     COALESCE(g.longitude, p.longitude) AS longitude, pop.total AS age_total, pop.age_0_14, \
     pop.age_15_29, pop.age_30_44, pop.age_45_59, pop.age_60_74, pop.age_75_plus";

/// What a [`CommuneInput`] reads besides the commune `c`.
pub(crate) const INPUT_JOINS: &str = "LEFT JOIN commune_geo g ON g.insee_code = c.insee_code \
     LEFT JOIN commune_points p ON p.insee_code = c.insee_code \
     LEFT JOIN commune_population pop ON pop.insee_code = c.insee_code";

/// Every current commune of the instance (the computation is national:
/// catchments cross territories' borders).
pub async fn access_inputs(db: &Db) -> DbResult<Vec<CommuneInput>> {
    let sql = format!(
        "SELECT {INPUT_COLUMNS} FROM communes c {INPUT_JOINS} \
         WHERE c.kind = 'commune-actuelle' ORDER BY c.insee_code"
    );
    Ok(db_run!(db, pool => sqlx::query_as::<_, CommuneInput>(&sql).fetch_all(pool).await?))
}

/// The same for some communes.
pub async fn inputs_for(db: &Db, codes: &[String]) -> DbResult<Vec<CommuneInput>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {INPUT_COLUMNS} FROM communes c {INPUT_JOINS} \
         WHERE c.insee_code IN ({}) ORDER BY c.insee_code",
        (1..=codes.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, CommuneInput>(&sql);
        for c in codes {
            q = q.bind(c);
        }
        q.fetch_all(pool).await?
    }))
}

/// Every commune's supply per profession (`commune_supply`).
pub async fn all_supply(db: &Db) -> DbResult<Vec<(String, String, f64)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT insee_code, profession, supply FROM commune_supply").fetch_all(pool).await?))
}

/// Every imported travel time (origin, destination, minutes).
pub async fn all_travel_times(db: &Db) -> DbResult<Vec<(String, String, f64)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT origin, destination, minutes FROM travel_times").fetch_all(pool).await?))
}

/// Supply summed per profession, département and région (densities), as of
/// the latest computation of the scores.
pub async fn supply_by_area(
    db: &Db,
) -> DbResult<Vec<(String, Option<String>, Option<String>, f64)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT profession, departement, region, supply FROM area_supply ORDER BY 1, 2, 3")
        .fetch_all(pool).await?))
}

/// Rewrite the care supply and the population per département and région
/// from `commune_supply` and `communes` (in [`replace_access`]'s
/// transaction).
const AREA_TOTALS: [&str; 4] = [
    "DELETE FROM area_supply",
    "INSERT INTO area_supply (profession, departement, region, supply) \
     SELECT s.profession, c.departement, c.region, SUM(s.supply) FROM commune_supply s \
     JOIN communes c ON c.insee_code = s.insee_code GROUP BY s.profession, c.departement, c.region",
    "DELETE FROM area_population",
    "INSERT INTO area_population (departement, region, population) \
     SELECT departement, region, CAST(COALESCE(SUM(population), 0) AS BIGINT) FROM communes \
     WHERE kind = 'commune-actuelle' GROUP BY departement, region",
];

/// Population of current communes summed per département and région, as
/// of the latest computation of the scores.
pub async fn population_by_area(db: &Db) -> DbResult<Vec<(Option<String>, Option<String>, i64)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT departement, region, population FROM area_population ORDER BY 1, 2")
        .fetch_all(pool).await?))
}

/// Outlines of `codes` (GeoJSON geometry text), for the maps.
pub async fn outlines(db: &Db, codes: &[String]) -> DbResult<Vec<(String, String)>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT insee_code, outline FROM commune_geo WHERE outline IS NOT NULL AND insee_code IN ({}) \
         ORDER BY insee_code",
        (1..=codes.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for c in codes {
            q = q.bind(c);
        }
        q.fetch_all(pool).await?
    }))
}

/// Outlines of the communes whose point lies in a box (the context drawn
/// around a territory), at most `limit`.
pub async fn outlines_in_box(
    db: &Db,
    (lat0, lon0, lat1, lon1): (f64, f64, f64, f64),
    limit: i64,
) -> DbResult<Vec<(String, String)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT insee_code, outline FROM commune_geo WHERE outline IS NOT NULL \
         AND latitude BETWEEN $1 AND $2 AND longitude BETWEEN $3 AND $4 ORDER BY insee_code LIMIT $5")
        .bind(lat0).bind(lat1).bind(lon0).bind(lon1).bind(limit).fetch_all(pool).await?))
}

/// The fiches action of the territory's contracts (id, code, title), for
/// the choice of what a finding leads to.
pub async fn territory_actions(db: &Db, territory_id: i64) -> DbResult<Vec<(i64, String, String)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT a.id, a.code, a.title FROM actions a JOIN contracts c ON c.id = a.contract_id \
         WHERE c.territory_id = $1 ORDER BY c.id, a.code, a.id")
        .bind(territory_id).fetch_all(pool).await?))
}

fn in_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every (territory, commune) of the instance.
pub async fn territory_memberships(db: &Db) -> DbResult<Vec<(i64, String)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT territory_id, insee_code FROM territory_communes ORDER BY territory_id, insee_code")
        .fetch_all(pool).await?))
}

/// The régions the territories' communes belong to.
pub async fn territory_regions(db: &Db) -> DbResult<Vec<String>> {
    let rows: Vec<(String,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT DISTINCT c.region FROM territory_communes tc JOIN communes c ON c.insee_code = tc.insee_code \
         WHERE c.region IS NOT NULL ORDER BY c.region")
        .fetch_all(pool).await?);
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Outlines of every commune of these régions (code, name, GeoJSON).
pub async fn region_outlines(
    db: &Db,
    regions: &[String],
) -> DbResult<Vec<(String, String, String)>> {
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT g.insee_code, c.name, g.outline FROM commune_geo g JOIN communes c ON c.insee_code = g.insee_code \
         WHERE g.outline IS NOT NULL AND c.region IN ({}) ORDER BY g.insee_code",
        in_list(1, regions.len())
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for r in regions {
            q = q.bind(r);
        }
        q.fetch_all(pool).await?
    }))
}

/// One profession's scores for every commune of these régions (code,
/// name, score).
pub async fn region_scores(
    db: &Db,
    profession: &str,
    regions: &[String],
) -> DbResult<Vec<(String, String, Option<f64>)>> {
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT a.insee_code, c.name, a.score FROM commune_access a JOIN communes c ON c.insee_code = a.insee_code \
         WHERE a.profession = $1 AND c.region IN ({}) ORDER BY a.insee_code",
        in_list(2, regions.len())
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, (String, String, Option<f64>)>(&sql).bind(profession);
        for r in regions {
            q = q.bind(r);
        }
        q.fetch_all(pool).await?
    }))
}

/// How many communes have an outline (part of what the regional maps are
/// drawn from).
pub async fn outline_count(db: &Db) -> DbResult<i64> {
    let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(
        "SELECT COUNT(*) FROM commune_geo WHERE outline IS NOT NULL").fetch_one(pool).await?);
    Ok(n)
}

/// Every profession's scores for `codes`.
pub async fn access_all_for(db: &Db, codes: &[String]) -> DbResult<Vec<AccessRow>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT insee_code, profession, supply, population, score, no_score FROM commune_access \
         WHERE insee_code IN ({}) ORDER BY profession, insee_code",
        in_list(1, codes.len())
    );
    Ok(db_run!(db, pool => {
        let mut q = sqlx::query_as::<_, AccessRow>(&sql);
        for c in codes {
            q = q.bind(c);
        }
        q.fetch_all(pool).await?
    }))
}

/// The imports whose dates a diagnosis names as its sources, in the order
/// it lists them.
pub const SOURCES: [&str; 5] = ["rpps", "finess", "population", "geo", "travel-times"];

/// How far around the territory's communes the map draws its neighbours,
/// in degrees of latitude and of longitude.
const MAP_MARGIN: (f64, f64) = (0.15, 0.15 * 1.5);

/// The most outlines drawn around the territory.
const MAP_NEIGHBOURS: i64 = 2000;

/// Everything a territory's diagnosis is computed from, as stored, but its
/// maps' outlines ([`MapOutlines`]): read part by part by [`stored`], or
/// with the public page in one statement
/// (`storage::public_pages::diagnosis_page`); `crate::diagnosis::assemble`
/// computes the diagnosis from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// The territory's communes, by name.
    pub communes: Vec<Commune>,
    /// Their inputs, by code.
    pub inputs: Vec<CommuneInput>,
    /// (commune, QPV name), by name.
    pub qpvs: Vec<(String, String)>,
    /// National supply per profession, département and région, as of the
    /// latest computation (`area_supply`).
    pub supply_areas: Vec<(String, Option<String>, Option<String>, f64)>,
    /// National population per département and région, as of the latest
    /// computation (`area_population`).
    pub population_areas: Vec<(Option<String>, Option<String>, i64)>,
    /// The bands set per profession (text, as stored).
    pub bands: HashMap<String, String>,
    pub thresholds: HashMap<String, f64>,
    pub medians: HashMap<String, f64>,
    /// The scores of the territory's communes, by profession and code.
    pub access: Vec<AccessRow>,
    pub run: Option<AccessRun>,
    /// The latest import of each of [`SOURCES`] there is: (source, file
    /// date, finished at), in that order.
    pub imports: Vec<(String, String, DateTime<Utc>)>,
}

/// The outlines a diagnosis' maps draw (GeoJSON text), by code: the
/// territory's communes' and those in the box around them ([`map_box`]),
/// the territory's own among them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapOutlines {
    pub own: Vec<(String, String)>,
    pub around: Vec<(String, String)>,
}

/// The box around the points of `inputs` where the map draws neighbours:
/// (south, west, north, east), none without a point.
pub fn map_box(inputs: &[CommuneInput]) -> Option<(f64, f64, f64, f64)> {
    let points: Vec<(f64, f64)> = inputs
        .iter()
        .filter_map(|c| c.latitude.zip(c.longitude))
        .collect();
    if points.is_empty() {
        return None;
    }
    let (lat, lon) = MAP_MARGIN;
    Some((
        points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min) - lat,
        points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) - lon,
        points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max) + lat,
        points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max) + lon,
    ))
}

/// What the territory's diagnosis is computed from, one storage function
/// per part.
pub async fn stored(db: &Db, territory_id: i64) -> DbResult<Stored> {
    let communes = territories::communes(db, territory_id).await?;
    let codes: Vec<String> = communes.iter().map(|c| c.insee_code.clone()).collect();
    let mut imports = Vec::new();
    for source in SOURCES {
        if let Some(i) = directory::latest_import(db, source).await? {
            imports.push((i.source, i.file_date, i.finished_at));
        }
    }
    Ok(Stored {
        inputs: inputs_for(db, &codes).await?,
        qpvs: territory_qpvs(db, territory_id).await?,
        supply_areas: supply_by_area(db).await?,
        population_areas: population_by_area(db).await?,
        bands: bands(db).await?,
        thresholds: thresholds(db, territory_id).await?,
        medians: medians(db).await?,
        access: access_all_for(db, &codes).await?,
        run: latest_run(db).await?,
        imports,
        communes,
    })
}

/// The outlines of the communes `codes` and of those in `bounds` (see
/// [`map_box`]).
pub async fn map_outlines(
    db: &Db,
    codes: &[String],
    bounds: Option<(f64, f64, f64, f64)>,
) -> DbResult<MapOutlines> {
    Ok(MapOutlines {
        own: outlines(db, codes).await?,
        around: match bounds {
            Some(b) => outlines_in_box(db, b, MAP_NEIGHBOURS).await?,
            None => Vec::new(),
        },
    })
}

/// The version of the communes' outlines and points: the latest geo
/// import, by id and time (every write to `commune_geo` records one, in the
/// same transaction).
pub const GEO_VERSION: &str = "SELECT CAST(i.id AS TEXT) || '@' || CAST(i.finished_at AS TEXT) \
     FROM directory_imports i WHERE i.source = 'geo' ORDER BY i.id DESC LIMIT 1";

pub async fn geo_version(db: &Db) -> DbResult<Option<String>> {
    Ok(db_run!(db, pool => sqlx::query_scalar(GEO_VERSION).fetch_optional(pool).await?))
}

/// The QPV of the territory's communes: (commune, QPV name), in one query.
pub async fn territory_qpvs(db: &Db, territory_id: i64) -> DbResult<Vec<(String, String)>> {
    Ok(db_run!(db, pool => sqlx::query_as(
        "SELECT qc.insee_code, q.name FROM qpv_communes qc JOIN qpvs q ON q.code = qc.qpv_code \
         JOIN territory_communes tc ON tc.insee_code = qc.insee_code \
         WHERE tc.territory_id = $1 ORDER BY q.name, qc.insee_code")
        .bind(territory_id).fetch_all(pool).await?))
}

// ------------------------------------------------------- figures per year

/// Replace the territory's figures of `year` (the last computation of a
/// year wins), in one transaction.
pub async fn save_figures(
    db: &Db,
    territory_id: i64,
    year: i32,
    figures: &[Figure],
    at: DateTime<Utc>,
) -> DbResult<()> {
    db_run!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM diagnosis_figures WHERE territory_id = $1 AND year = $2")
            .bind(territory_id).bind(i64::from(year)).execute(&mut *tx).await?;
        for (position, f) in figures.iter().enumerate() {
            sqlx::query(
                "INSERT INTO diagnosis_figures (territory_id, year, key, label, value, decimals, position, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(territory_id).bind(i64::from(year)).bind(&f.key).bind(&f.label).bind(f.value)
            .bind(i64::from(f.decimals)).bind(position as i64).bind(at)
            .execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// The territory's figures by year, each year in its recorded order.
pub async fn figures_by_year(db: &Db, territory_id: i64) -> DbResult<BTreeMap<i32, Vec<Figure>>> {
    let rows: Vec<(i64, String, String, f64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT year, key, label, value, decimals FROM diagnosis_figures \
         WHERE territory_id = $1 ORDER BY year, position")
        .bind(territory_id).fetch_all(pool).await?);
    let mut out: BTreeMap<i32, Vec<Figure>> = BTreeMap::new();
    for (year, key, label, value, decimals) in rows {
        out.entry(year as i32).or_default().push(Figure {
            key,
            label,
            value,
            decimals: decimals.clamp(0, 6) as u8,
        });
    }
    Ok(out)
}

/// Every territory's id (regions excepted), for the figures of the year.
pub async fn territory_ids(db: &Db) -> DbResult<Vec<i64>> {
    Ok(db_run!(db, pool => sqlx::query_scalar(
        "SELECT id FROM territories WHERE kind <> 'region' ORDER BY id")
        .fetch_all(pool).await?))
}
