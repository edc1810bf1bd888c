//! The public diagnosis page of a territory in one statement: the
//! territory, everything its diagnosis is computed from
//! (`storage::diagnosis::Stored`: communes, their inputs and QPV, national
//! supply and population by area, bands, thresholds, medians, scores, the
//! latest run and imports), what the coordination wrote (findings, their
//! fiches action, the questionnaires attached) and the version of the
//! maps' outlines, which the process parses once per version
//! (`web::diagnosis::outlines`).
//!
//! It replaces 21 statements: `territories::get_by_slug`, the 13 of
//! `storage::diagnosis::stored`, the two of `map_outlines` and the
//! findings, their actions, the attached questionnaires and the territory's
//! consultations. Every REAL goes through `exact(…)` (see `for_backend`),
//! so that the page computes from the very values the storage functions
//! read.

use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::Row;

use super::participation::{consultation, ConsultationRow, CONSULTATION};
use super::{commune, for_backend, list, one, territory_sql, timestamp, CommuneRow, Flag, Real};
use crate::storage::diagnosis::{
    AccessRow, AccessRun, CommuneInput, Finding, LinkedAction, Stored, GEO_VERSION, INPUT_COLUMNS,
    INPUT_JOINS, SOURCES,
};
use crate::storage::participation::Consultation;
use crate::storage::territories::Territory;
use crate::storage::{Backend, Db, DbResult};

/// What the public diagnosis page reads.
#[derive(Debug)]
pub struct DiagnosisPage {
    pub territory: Territory,
    pub stored: Stored,
    /// The version of the outlines (`storage::diagnosis::geo_version`).
    pub geo_version: Option<String>,
    /// As `storage::diagnosis::findings`.
    pub findings: Vec<Finding>,
    /// As `storage::diagnosis::finding_actions`.
    pub links: Vec<LinkedAction>,
    /// The questionnaires attached to the diagnosis, in
    /// `participation::list_consultations`' order.
    pub consultations: Vec<Consultation>,
}

/// `$1` the territory's slug. The territory's communes are read from
/// `territory_communes` outwards, never by scanning the country's.
/// `{IMPORTS}`: one column per source. The maps' outlines are not read here
/// but in a second statement when the process has not parsed them yet
/// (`web::diagnosis::outlines`), by `geo_version`.
const DIAGNOSIS_PAGE: &str = "
WITH t AS (
  {TERRITORY_ROW}
), inputs AS (
  SELECT {INPUT_COLUMNS}
  FROM t CROSS JOIN territory_communes tc JOIN communes c ON c.insee_code = tc.insee_code {INPUT_JOINS}
  WHERE tc.territory_id = t.id
)
SELECT
  {TERRITORY_COLUMNS},
  {COMMUNES} AS communes,
  (SELECT CAST(json_group_array(json_array(i.insee_code, i.population, exact(i.latitude), exact(i.longitude),
            exact(i.age_total), exact(i.age_0_14), exact(i.age_15_29), exact(i.age_30_44), exact(i.age_45_59),
            exact(i.age_60_74), exact(i.age_75_plus)) ORDER BY i.insee_code) AS TEXT)
     FROM inputs i) AS inputs,
  (SELECT CAST(json_group_array(json_array(qc.insee_code, q.name) ORDER BY q.name, qc.insee_code) AS TEXT)
     FROM territory_communes tc JOIN qpv_communes qc ON qc.insee_code = tc.insee_code
     JOIN qpvs q ON q.code = qc.qpv_code
     WHERE tc.territory_id = t.id) AS qpvs,
  ({GEO_VERSION}) AS geo_version,
  (SELECT CAST(json_group_array(json_array(a.profession, a.departement, a.region, exact(a.supply))
            ORDER BY a.profession, a.departement, a.region) AS TEXT)
     FROM area_supply a) AS supply_areas,
  (SELECT CAST(json_group_array(json_array(a.departement, a.region, a.population)
            ORDER BY a.departement, a.region) AS TEXT)
     FROM area_population a) AS population_areas,
  (SELECT CAST(json_group_array(json_array(b.profession, b.bands)) AS TEXT) FROM access_bands b) AS bands,
  (SELECT CAST(json_group_array(json_array(d.profession, exact(d.threshold))) AS TEXT)
     FROM diagnosis_thresholds d WHERE d.territory_id = t.id) AS thresholds,
  (SELECT CAST(json_group_array(json_array(m.profession, exact(m.median))) AS TEXT)
     FROM access_medians m WHERE m.median IS NOT NULL) AS medians,
  (SELECT CAST(json_group_array(json_array(a.insee_code, a.profession, exact(a.supply), exact(a.population),
            exact(a.score), a.no_score) ORDER BY a.profession, a.insee_code) AS TEXT)
     FROM territory_communes tc JOIN commune_access a ON a.insee_code = tc.insee_code
     WHERE tc.territory_id = t.id) AS access,
  (SELECT CAST(json_array(r.computed_at, CASE WHEN r.standardised THEN 1 ELSE 0 END, exact(r.minutes_per_km),
            r.communes, r.scored) AS TEXT)
     FROM access_runs r ORDER BY r.computed_at DESC LIMIT 1) AS run,
  {IMPORTS},
  (SELECT CAST(json_group_array(json_array(f.id, f.territory_id, f.chapter, f.title, f.body, f.position,
            f.version, f.created_at, f.updated_at)
          ORDER BY CASE f.chapter WHEN 'population' THEN 1 WHEN 'offre' THEN 2 WHEN 'accessibilite' THEN 3 ELSE 4 END,
            f.position, f.id) AS TEXT)
     FROM diagnosis_findings f WHERE f.territory_id = t.id) AS findings,
  (SELECT CAST(json_group_array(json_array(l.finding_id, l.action_id, a.code, a.title) ORDER BY a.code, a.id) AS TEXT)
     FROM diagnosis_finding_actions l JOIN diagnosis_findings f ON f.id = l.finding_id
     JOIN actions a ON a.id = l.action_id
     WHERE f.territory_id = t.id) AS links,
  (SELECT CAST(json_group_array({CONSULTATION} ORDER BY c.closes_on DESC, c.id DESC) AS TEXT)
     FROM consultations c WHERE c.territory_id = t.id
       AND c.id IN (SELECT dc.consultation_id FROM diagnosis_consultations dc WHERE dc.territory_id = t.id))
     AS consultations
FROM t
";

/// The latest import of each of `SOURCES`, one column each
/// (`import_rpps`…): `[file date, finished at]` or NULL.
fn imports_sql() -> String {
    SOURCES
        .iter()
        .map(|source| {
            format!(
                "(SELECT CAST(json_array(i.file_date, i.finished_at) AS TEXT) FROM directory_imports i
     WHERE i.source = '{source}' ORDER BY i.started_at DESC, i.id DESC LIMIT 1) AS {}",
                import_column(source)
            )
        })
        .collect::<Vec<_>>()
        .join(",\n  ")
}

fn import_column(source: &str) -> String {
    format!("import_{}", source.replace('-', "_"))
}

fn diagnosis_page_sql(backend: Backend) -> String {
    let sql = territory_sql(DIAGNOSIS_PAGE)
        .replace("{INPUT_COLUMNS}", INPUT_COLUMNS)
        .replace("{INPUT_JOINS}", INPUT_JOINS)
        .replace("{IMPORTS}", &imports_sql())
        .replace("{GEO_VERSION}", GEO_VERSION)
        .replace("{CONSULTATION}", CONSULTATION);
    for_backend(&sql, backend)
}

static DIAGNOSIS_PAGE_SQLITE: LazyLock<String> =
    LazyLock::new(|| diagnosis_page_sql(Backend::Sqlite));
static DIAGNOSIS_PAGE_POSTGRES: LazyLock<String> =
    LazyLock::new(|| diagnosis_page_sql(Backend::Postgres));

type InputRow = (
    String,
    Option<i64>,
    Option<Real>,
    Option<Real>,
    Option<Real>,
    Option<Real>,
    Option<Real>,
    Option<Real>,
    Option<Real>,
    Option<Real>,
    Option<Real>,
);

type AccessJson = (String, String, Real, Option<Real>, Option<Real>, String);

fn real(r: Option<Real>) -> Option<f64> {
    r.map(|r| r.0)
}

type FindingRow = (i64, i64, String, String, String, i64, i64, String, String);

/// The public diagnosis page of the territory `slug` (never the regional
/// owner), but its maps' outlines, in one statement (see [`DIAGNOSIS_PAGE`]).
pub async fn diagnosis_page(db: &Db, slug: &str) -> DbResult<Option<DiagnosisPage>> {
    let read = territory_page!(
        db,
        DIAGNOSIS_PAGE_SQLITE,
        DIAGNOSIS_PAGE_POSTGRES,
        [slug],
        [
            "communes",
            "inputs",
            "qpvs",
            "geo_version",
            "supply_areas",
            "population_areas",
            "bands",
            "thresholds",
            "medians",
            "access",
            "run",
            "import_rpps",
            "import_finess",
            "import_population",
            "import_geo",
            "import_travel_times",
            "findings",
            "links",
            "consultations"
        ]
    );
    let Some((
        territory,
        [communes, inputs, qpvs, geo_version, supply_areas, population_areas, bands, thresholds, medians, access, run, i_rpps, i_finess, i_population, i_geo, i_travel, findings, links, consultations],
    )) = read
    else {
        return Ok(None);
    };
    let communes: Vec<CommuneRow> = list(communes)?;
    let inputs: Vec<InputRow> = list(inputs)?;
    let access: Vec<AccessJson> = list(access)?;
    let run: Option<(String, Flag, Real, i64, i64)> = one(run)?;
    let supply_areas: Vec<(String, Option<String>, Option<String>, Real)> = list(supply_areas)?;
    let mut imports = Vec::new();
    for (source, column) in SOURCES
        .iter()
        .zip([i_rpps, i_finess, i_population, i_geo, i_travel])
    {
        if let Some((file_date, finished_at)) = one::<(String, String)>(column)? {
            imports.push(((*source).to_owned(), file_date, timestamp(&finished_at)?));
        }
    }
    let findings: Vec<FindingRow> = list(findings)?;
    let links: Vec<(i64, i64, String, String)> = list(links)?;
    let consultations: Vec<ConsultationRow> = list(consultations)?;
    let stored = Stored {
        communes: communes.into_iter().map(commune).collect(),
        inputs: inputs
            .into_iter()
            .map(|i| CommuneInput {
                insee_code: i.0,
                population: i.1,
                latitude: real(i.2),
                longitude: real(i.3),
                age_total: real(i.4),
                age_0_14: real(i.5),
                age_15_29: real(i.6),
                age_30_44: real(i.7),
                age_45_59: real(i.8),
                age_60_74: real(i.9),
                age_75_plus: real(i.10),
            })
            .collect(),
        qpvs: list(qpvs)?,
        supply_areas: supply_areas
            .into_iter()
            .map(|(p, d, r, s)| (p, d, r, s.0))
            .collect(),
        population_areas: list(population_areas)?,
        bands: list::<(String, String)>(bands)?.into_iter().collect(),
        thresholds: list::<(String, Real)>(thresholds)?
            .into_iter()
            .map(|(p, t)| (p, t.0))
            .collect(),
        medians: list::<(String, Real)>(medians)?
            .into_iter()
            .map(|(p, m)| (p, m.0))
            .collect::<HashMap<_, _>>(),
        access: access
            .into_iter()
            .map(|a| AccessRow {
                insee_code: a.0,
                profession: a.1,
                supply: a.2 .0,
                population: real(a.3),
                score: real(a.4),
                no_score: a.5,
            })
            .collect(),
        run: match run {
            Some(r) => Some(AccessRun {
                computed_at: timestamp(&r.0)?,
                standardised: r.1 != 0,
                minutes_per_km: r.2 .0,
                communes: r.3,
                scored: r.4,
            }),
            None => None,
        },
        imports,
    };
    Ok(Some(DiagnosisPage {
        territory,
        stored,
        geo_version,
        findings: findings
            .into_iter()
            .map(|f| {
                Ok(Finding {
                    id: f.0,
                    territory_id: f.1,
                    chapter: f.2,
                    title: f.3,
                    body: f.4,
                    position: f.5,
                    version: f.6,
                    created_at: timestamp(&f.7)?,
                    updated_at: timestamp(&f.8)?,
                })
            })
            .collect::<DbResult<_>>()?,
        links: links
            .into_iter()
            .map(|l| LinkedAction {
                finding_id: l.0,
                action_id: l.1,
                code: l.2,
                title: l.3,
            })
            .collect(),
        consultations: consultations.into_iter().map(consultation).collect(),
    }))
}
