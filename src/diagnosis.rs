//! The territory's health diagnosis, computed from the registers the
//! instance holds: population, care supply per commune, densities compared
//! with the département, the région and France, and the E2SFCA
//! accessibility of every commune (method in ARCHITECTURE.md, « Diagnostic :
//! méthode »).
//!
//! Scores are computed nationally by [`refresh`] after each import (and when
//! the bands change) and stored; pages and the API read them ([`load`]).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::domain::areas::{departement_name, region_name};
use crate::domain::diagnosis::access::{e2sfca, Bands, Catchments, Place, TravelModel};
use crate::domain::diagnosis::figures::Figure;
use crate::domain::diagnosis::population::{AgeBands, AgeWeights};
use crate::domain::diagnosis::profession::Profession;
use crate::domain::diagnosis::stats::{density_per_10000, median};
use crate::storage::diagnosis::{
    self as store, AccessRow, AccessRun, CommuneInput, MapOutlines, Stored,
};
use crate::storage::{Db, DbResult};
use crate::web::maps::Outline;

/// Default minutes per kilometre of great-circle distance (a detour factor
/// of 1.3 at 60 km/h).
pub const MINUTES_PER_KM: f64 = 1.3;

/// What [`refresh`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshReport {
    pub communes: i64,
    pub scored: i64,
    pub standardised: bool,
    pub took: Duration,
}

impl RefreshReport {
    pub fn line(&self) -> String {
        format!(
            "Accessibilité recalculée : {} communes, {} avec un score ({}), en {:.1} s.",
            self.communes,
            self.scored,
            if self.standardised {
                "population standardisée par âge"
            } else {
                "population brute"
            },
            self.took.as_secs_f64()
        )
    }
}

/// The bands in force per profession: the stored ones, else the default.
pub async fn bands(db: &Db) -> DbResult<HashMap<Profession, Bands>> {
    Ok(bands_in_force(&store::bands(db).await?))
}

/// Whether the age file covers every commune with a population: then the
/// population is standardised by age, otherwise raw (never a mix).
fn standardised(inputs: &[CommuneInput]) -> bool {
    let mut any = false;
    for c in inputs.iter().filter(|c| c.population.is_some()) {
        if c.ages().is_none() {
            return false;
        }
        any = true;
    }
    any
}

/// Age weights normalised so that the national
/// population is unchanged by the standardisation.
fn weights_for(weights: AgeWeights, inputs: &[CommuneInput]) -> AgeWeights {
    let mut national = AgeBands::from_array([0.0; 6]);
    for a in inputs.iter().filter_map(CommuneInput::ages) {
        national.add(&AgeBands::from_array(a));
    }
    weights.normalised_to(&national)
}

/// The population that takes part in the catchments (standardised with
/// `weights`, else raw).
fn population_for(c: &CommuneInput, weights: Option<&AgeWeights>) -> Option<f64> {
    match weights {
        Some(w) => Some(AgeBands::from_array(c.ages()?).standardised(w)),
        None => c.population.map(|p| p as f64),
    }
}

/// Recompute every commune's score for the six professions and store them
/// with the national medians, in one transaction.
pub async fn refresh(db: &Db) -> anyhow::Result<RefreshReport> {
    let started = Instant::now();
    let inputs = store::access_inputs(db).await?;
    let supply = store::all_supply(db).await?;
    let overrides = store::all_travel_times(db).await?;
    let settings = settings(db).await?;
    let (rows, medians, run) =
        tokio::task::spawn_blocking(move || compute_all(&inputs, &supply, &overrides, &settings))
            .await?;
    store::replace_access(db, &rows, &medians, &run).await?;
    record_figures(db, Utc::now()).await?;
    Ok(RefreshReport {
        communes: run.communes,
        scored: run.scored,
        standardised: run.standardised,
        took: started.elapsed(),
    })
}

/// Refresh after an import, logging instead of failing it: the import
/// itself has landed.
pub async fn refresh_after_import(db: &Db) -> Option<RefreshReport> {
    match refresh(db).await {
        Ok(r) => {
            tracing::info!("{}", r.line());
            Some(r)
        }
        Err(e) => {
            tracing::error!("accessibility not recomputed: {e:#}");
            None
        }
    }
}

/// The instance's method settings per profession: distance-decay bands and
/// age weights (both stored, else the defaults).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub bands: HashMap<Profession, Bands>,
    pub weights: HashMap<Profession, AgeWeights>,
}

impl Settings {
    pub fn bands(&self, p: Profession) -> Bands {
        self.bands.get(&p).cloned().unwrap_or_default()
    }
    pub fn weights(&self, p: Profession) -> AgeWeights {
        self.weights
            .get(&p)
            .copied()
            .unwrap_or_else(|| AgeWeights::default_for(p))
    }
}

/// The settings in force.
pub async fn settings(db: &Db) -> DbResult<Settings> {
    let weights = store::weights(db).await?;
    Ok(Settings {
        bands: bands(db).await?,
        weights: Profession::ALL
            .into_iter()
            .filter_map(|p| Some((p, parse_weights(weights.get(p.slug())?).ok()?)))
            .collect(),
    })
}

/// Age weights typed as six numbers `0-14;15-29;30-44;45-59;60-74;75+`
/// (decimal comma accepted).
pub fn parse_weights(s: &str) -> Result<AgeWeights, String> {
    let parts: Vec<&str> = s
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 6 {
        return Err(format!(
            "six poids attendus (0-14 ; 15-29 ; 30-44 ; 45-59 ; 60-74 ; 75 ans et plus), {} donné(s)",
            parts.len()
        ));
    }
    let mut w = [0.0; 6];
    for (slot, p) in w.iter_mut().zip(&parts) {
        *slot = p
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| format!("« {p} » n'est pas un nombre"))?;
    }
    AgeWeights::new(w)
}

/// Six weights as typed back (`1;1;1,2;…`).
pub fn weights_text(w: &AgeWeights) -> String {
    w.weights
        .iter()
        .map(|v| crate::domain::indicator::format_number(*v).replace('\u{202f}', ""))
        .collect::<Vec<_>>()
        .join(";")
}

/// One profession's inputs to the E2SFCA, as [`compute_all`] builds them.
pub struct ProfessionInputs {
    pub profession: Profession,
    /// Every current commune, in `inputs` order, with the population used.
    pub places: Vec<Place>,
    /// S_j, aligned with `places`.
    pub supply: Vec<f64>,
    pub bands: Bands,
}

/// Everything the scores are computed from: the catchments are built once
/// for the largest reach, then each profession applies its own bands.
pub struct Prepared {
    pub catchments: Catchments,
    pub standardised: bool,
    pub professions: Vec<ProfessionInputs>,
}

/// Build the inputs of every profession from the stored rows.
pub fn prepare(
    inputs: &[CommuneInput],
    supply: &[(String, String, f64)],
    overrides: &[(String, String, f64)],
    settings: &Settings,
) -> Prepared {
    let standardised = standardised(inputs);
    let model = TravelModel {
        minutes_per_km: MINUTES_PER_KM,
        overrides: overrides
            .iter()
            .map(|(o, d, m)| ((o.clone(), d.clone()), *m))
            .collect(),
    };
    let places: Vec<Place> = inputs
        .iter()
        .map(|c| Place {
            code: c.insee_code.clone(),
            point: c.latitude.zip(c.longitude),
            population: None,
        })
        .collect();
    let reach = Profession::ALL
        .into_iter()
        .map(|p| settings.bands(p).reach())
        .fold(0.0, f64::max);
    let catchments = Catchments::build(&places, &model, reach);
    let index: HashMap<&str, usize> = inputs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.insee_code.as_str(), i))
        .collect();
    let professions = Profession::ALL
        .into_iter()
        .map(|p| {
            let mut s = vec![0.0; inputs.len()];
            for (code, prof, v) in supply {
                if prof == p.slug() {
                    if let Some(&i) = index.get(code.as_str()) {
                        s[i] += v;
                    }
                }
            }
            let weights = standardised.then(|| weights_for(settings.weights(p), inputs));
            let places = places
                .iter()
                .zip(inputs)
                .map(|(place, c)| Place {
                    population: population_for(c, weights.as_ref()),
                    ..place.clone()
                })
                .collect();
            ProfessionInputs {
                profession: p,
                places,
                supply: s,
                bands: settings.bands(p),
            }
        })
        .collect();
    Prepared {
        catchments,
        standardised,
        professions,
    }
}

/// Every commune's scores, the national medians per profession, and the
/// run's record.
pub type Computed = (Vec<AccessRow>, Vec<(String, Option<f64>)>, AccessRun);

/// The whole computation, without I/O.
pub fn compute_all(
    inputs: &[CommuneInput],
    supply: &[(String, String, f64)],
    overrides: &[(String, String, f64)],
    settings: &Settings,
) -> Computed {
    let prepared = prepare(inputs, supply, overrides, settings);
    let mut rows = Vec::with_capacity(inputs.len() * Profession::ALL.len());
    let mut medians = Vec::new();
    let mut scored = 0;
    // The professions are independent: each in its own thread.
    let all_scores = crate::domain::parallel::in_parts(prepared.professions.len(), 1, |i, _| {
        // `in_parts` calls once even for none: then nothing is scored.
        prepared.professions.get(i).map_or_else(Vec::new, |p| {
            e2sfca(&prepared.catchments, &p.places, &p.supply, &p.bands)
        })
    });
    for (p, scores) in prepared.professions.iter().zip(all_scores) {
        let values: Vec<f64> = scores
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .copied()
            .collect();
        if p.profession == Profession::Generalistes {
            scored = values.len() as i64;
        }
        medians.push((p.profession.slug().to_owned(), median(&values)));
        for ((place, score), supply) in p.places.iter().zip(scores).zip(&p.supply) {
            let (score, no_score) = match score {
                Ok(v) => (Some(v), String::new()),
                Err(why) => (None, why.reason().to_owned()),
            };
            rows.push(AccessRow {
                insee_code: place.code.clone(),
                profession: p.profession.slug().to_owned(),
                supply: *supply,
                population: place.population,
                score,
                no_score,
            });
        }
    }
    let run = AccessRun {
        computed_at: Utc::now(),
        standardised: prepared.standardised,
        minutes_per_km: MINUTES_PER_KM,
        communes: inputs.len() as i64,
        scored,
    };
    (rows, medians, run)
}

// ------------------------------------------------------------------ page

/// One commune of the territory, as the diagnosis shows it.
#[derive(Debug, Clone)]
pub struct CommuneFacts {
    pub code: String,
    pub name: String,
    pub population: Option<i64>,
    /// Shares of the population by age band, when the age file was imported.
    pub ages: Option<[f64; 6]>,
    pub qpvs: Vec<String>,
    pub point: Option<(f64, f64)>,
    pub outline: Option<Outline>,
}

impl CommuneFacts {
    /// Share of people aged 75 and over, in percent.
    pub fn share_75(&self) -> Option<f64> {
        let a = self.ages?;
        let total: f64 = a.iter().sum();
        (total > 0.0).then(|| a[5] * 100.0 / total)
    }
}

/// Densities per 10 000 inhabitants: territory, département, région, France.
#[derive(Debug, Clone, Default)]
pub struct Densities {
    pub territory: Option<f64>,
    pub departement: Option<f64>,
    pub region: Option<f64>,
    pub france: Option<f64>,
    /// Supply of the territory (professionals, 1/n per practice place).
    pub supply: f64,
}

/// One profession's figures on the territory.
#[derive(Debug, Clone)]
pub struct ProfessionFacts {
    pub profession: Profession,
    pub bands: Bands,
    /// One row per commune of the territory, in the territory's order.
    pub rows: Vec<AccessRow>,
    pub threshold: Option<f64>,
    /// The threshold is the national median (none set by the coordination).
    pub threshold_is_median: bool,
    pub median: Option<f64>,
    pub densities: Densities,
}

impl ProfessionFacts {
    /// Communes below the threshold, lowest first.
    pub fn flagged(&self) -> Vec<&AccessRow> {
        let Some(t) = self.threshold else {
            return Vec::new();
        };
        let mut v: Vec<&AccessRow> = self
            .rows
            .iter()
            .filter(|r| r.score.is_some_and(|s| s < t))
            .collect();
        v.sort_by(|a, b| a.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)));
        v
    }

    pub fn row(&self, code: &str) -> Option<&AccessRow> {
        self.rows.iter().find(|r| r.insee_code == code)
    }
}

/// Where a figure comes from and when it was loaded.
#[derive(Debug, Clone)]
pub struct Source {
    pub label: &'static str,
    pub detail: String,
}

/// The computed part of a territory's diagnosis.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub communes: Vec<CommuneFacts>,
    /// Outlines of the communes around, drawn in grey.
    pub context: Vec<Outline>,
    pub departement: Option<(String, String)>,
    pub region: Option<(String, String)>,
    pub professions: Vec<ProfessionFacts>,
    pub run: Option<AccessRun>,
    pub sources: Vec<Source>,
}

impl Diagnosis {
    pub fn population(&self) -> i64 {
        self.communes.iter().filter_map(|c| c.population).sum()
    }

    pub fn profession(&self, p: Profession) -> Option<&ProfessionFacts> {
        self.professions.iter().find(|f| f.profession == p)
    }

    pub fn standardised(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.standardised)
    }

    pub fn commune_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.communes
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.name.as_str())
            .unwrap_or(code)
    }

    pub fn has_maps(&self) -> bool {
        self.communes.iter().any(|c| c.outline.is_some())
    }
}

fn most_common<'a>(values: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(v, _)| v.to_owned())
}

/// Load a territory's computed diagnosis. `with_maps`: also read the
/// outlines (pages), not needed by the API or the exports.
pub async fn load(db: &Db, territory_id: i64, with_maps: bool) -> DbResult<Diagnosis> {
    let stored = store::stored(db, territory_id).await?;
    let outlines = if with_maps {
        let codes: Vec<String> = stored
            .communes
            .iter()
            .map(|c| c.insee_code.clone())
            .collect();
        let bounds = store::map_box(&stored.inputs);
        Some(Outlines::parse(
            store::map_outlines(db, &codes, bounds).await?,
            &codes,
        ))
    } else {
        None
    };
    Ok(assemble(stored, outlines.as_ref()))
}

/// The outlines of a diagnosis' maps, parsed: the territory's communes' by
/// code, and those around, drawn in grey.
#[derive(Debug, Clone, Default)]
pub struct Outlines {
    pub own: HashMap<String, Outline>,
    pub context: Vec<Outline>,
}

impl Outlines {
    /// `m` parsed; `codes` are the territory's communes (left out of the
    /// context). Outlines that do not parse are left out.
    pub fn parse(m: MapOutlines, codes: &[String]) -> Outlines {
        let own: HashSet<&str> = codes.iter().map(String::as_str).collect();
        Outlines {
            context: m
                .around
                .iter()
                .filter(|(code, _)| !own.contains(code.as_str()))
                .filter_map(|(_, text)| Outline::from_geojson(text))
                .collect(),
            own: m
                .own
                .into_iter()
                .filter_map(|(code, text)| Some((code, Outline::from_geojson(&text)?)))
                .collect(),
        }
    }
}

/// The bands in force per profession from those stored: the stored ones,
/// else the default.
fn bands_in_force(stored: &HashMap<String, String>) -> HashMap<Profession, Bands> {
    Profession::ALL
        .into_iter()
        .map(|p| {
            let b = stored
                .get(p.slug())
                .and_then(|s| Bands::parse(s).ok())
                .unwrap_or_default();
            (p, b)
        })
        .collect()
}

/// A territory's diagnosis computed from what is stored (no I/O), with
/// its maps when `outlines` are given.
pub fn assemble(s: Stored, outlines: Option<&Outlines>) -> Diagnosis {
    let Stored {
        communes,
        inputs,
        qpvs,
        supply_areas,
        population_areas,
        bands: stored_bands,
        thresholds,
        medians,
        access,
        run,
        imports,
    } = s;
    let codes: Vec<String> = communes.iter().map(|c| c.insee_code.clone()).collect();
    let inputs: HashMap<String, CommuneInput> = inputs
        .into_iter()
        .map(|c| (c.insee_code.clone(), c))
        .collect();
    let mut qpv_of: HashMap<String, Vec<String>> = HashMap::new();
    for (code, name) in qpvs {
        qpv_of.entry(code).or_default().push(name);
    }
    let context = outlines.map(|o| o.context.clone()).unwrap_or_default();
    let facts: Vec<CommuneFacts> = communes
        .iter()
        .map(|c| {
            let input = inputs.get(&c.insee_code);
            CommuneFacts {
                code: c.insee_code.clone(),
                name: c.name.clone(),
                population: c.population,
                ages: input.and_then(CommuneInput::ages),
                qpvs: qpv_of.remove(&c.insee_code).unwrap_or_default(),
                point: input.and_then(|i| i.latitude.zip(i.longitude)),
                outline: outlines.and_then(|o| o.own.get(&c.insee_code).cloned()),
            }
        })
        .collect();

    let departement = most_common(communes.iter().filter_map(|c| c.departement.as_deref()));
    let region = most_common(communes.iter().filter_map(|c| c.region.as_deref()));
    let pop_of = |f: &dyn Fn(&Option<String>, &Option<String>) -> bool| -> i64 {
        population_areas
            .iter()
            .filter(|(d, r, _)| f(d, r))
            .map(|a| a.2)
            .sum()
    };
    let in_dep = |d: &Option<String>, _: &Option<String>| d.is_some() && *d == departement;
    let in_reg = |_: &Option<String>, r: &Option<String>| r.is_some() && *r == region;
    let anywhere = |_: &Option<String>, _: &Option<String>| true;
    let (pop_dep, pop_reg, pop_fr) = (pop_of(&in_dep), pop_of(&in_reg), pop_of(&anywhere));
    let pop_territory: i64 = communes.iter().filter_map(|c| c.population).sum();

    let bands = bands_in_force(&stored_bands);
    let mut by_profession: HashMap<String, HashMap<String, AccessRow>> = HashMap::new();
    for r in access {
        by_profession
            .entry(r.profession.clone())
            .or_default()
            .insert(r.insee_code.clone(), r);
    }
    let mut professions = Vec::new();
    for p in Profession::ALL {
        let stored = by_profession.remove(p.slug()).unwrap_or_default();
        let rows: Vec<AccessRow> = codes
            .iter()
            .map(|code| {
                stored.get(code).cloned().unwrap_or_else(|| AccessRow {
                    insee_code: code.clone(),
                    profession: p.slug().to_owned(),
                    supply: 0.0,
                    population: None,
                    score: None,
                    no_score: "pas encore calculé (importez les données de l'annuaire)".into(),
                })
            })
            .collect();
        let sum_of = |f: &dyn Fn(&Option<String>, &Option<String>) -> bool| -> f64 {
            supply_areas
                .iter()
                .filter(|(prof, d, r, _)| prof == p.slug() && f(d, r))
                .map(|a| a.3)
                .sum()
        };
        let supply: f64 = rows.iter().map(|r| r.supply).sum();
        let densities = Densities {
            territory: density_per_10000(supply, pop_territory as f64),
            departement: density_per_10000(sum_of(&in_dep), pop_dep as f64),
            region: density_per_10000(sum_of(&in_reg), pop_reg as f64),
            france: density_per_10000(sum_of(&anywhere), pop_fr as f64),
            supply,
        };
        let median = medians.get(p.slug()).copied();
        let set = thresholds.get(p.slug()).copied();
        professions.push(ProfessionFacts {
            profession: p,
            bands: bands.get(&p).cloned().unwrap_or_default(),
            rows,
            threshold: set.or(median),
            threshold_is_median: set.is_none(),
            median,
            densities,
        });
    }

    let mut sources = vec![Source {
        label: "Communes et population municipale",
        detail: "INSEE, Code officiel géographique (découpage administratif Etalab)".into(),
    }];
    for (source, file_date, finished_at) in &imports {
        let file = if file_date.trim().is_empty() {
            String::new()
        } else {
            format!(", fichier du {}", file_date.trim())
        };
        sources.push(Source {
            label: source_label(source),
            detail: format!(
                "{}{file}, importé le {}",
                source_name(source),
                crate::domain::dates::paris_date(*finished_at)
            ),
        });
    }
    Diagnosis {
        communes: facts,
        context,
        departement: departement.map(|d| (d.clone(), departement_name(&d))),
        region: region.map(|r| (r.clone(), region_name(&r))),
        professions,
        run,
        sources,
    }
}

// ------------------------------------------------------- figures per year

/// The headline figures of a territory's diagnosis, in the order the
/// review shows them: population, people aged 75 and over, priority
/// neighbourhoods, then per profession the supply, the density and the
/// communes under the threshold. Figures that cannot be computed (no
/// population, no age file, no threshold) are left out.
pub fn headline_figures(d: &Diagnosis) -> Vec<Figure> {
    let mut out = Vec::new();
    if d.communes.iter().any(|c| c.population.is_some()) {
        out.push(Figure::new(
            "population",
            "Population municipale",
            d.population() as f64,
            0,
        ));
    }
    let (old, all) = d
        .communes
        .iter()
        .filter_map(|c| c.ages)
        .fold((0.0, 0.0), |(o, t), a| {
            (o + a[5], t + a.iter().sum::<f64>())
        });
    if all > 0.0 {
        out.push(Figure::new(
            "share_75",
            "Part des 75 ans ou plus (%)",
            old * 100.0 / all,
            1,
        ));
    }
    let qpvs: HashSet<&str> = d
        .communes
        .iter()
        .flat_map(|c| c.qpvs.iter().map(String::as_str))
        .collect();
    out.push(Figure::new(
        "qpv",
        "Quartiers prioritaires de la politique de la ville",
        qpvs.len() as f64,
        0,
    ));
    for f in &d.professions {
        let (slug, label) = (f.profession.slug(), f.profession.label());
        out.push(Figure::new(
            format!("supply:{slug}"),
            format!("{label} : professionnels installés"),
            f.densities.supply,
            1,
        ));
        if let Some(density) = f.densities.territory {
            out.push(Figure::new(
                format!("density:{slug}"),
                format!("{label} : densité pour 10 000 habitants"),
                density,
                2,
            ));
        }
        if f.threshold.is_some() {
            out.push(Figure::new(
                format!("flagged:{slug}"),
                format!("{label} : communes sous le seuil d'accessibilité"),
                f.flagged().len() as f64,
                0,
            ));
        }
    }
    out
}

/// Keep every territory's headline figures for the year of `at` (Paris
/// time), replacing those recorded earlier that year. Called after each
/// computation of the scores.
pub async fn record_figures(db: &Db, at: chrono::DateTime<Utc>) -> DbResult<usize> {
    use chrono::Datelike;
    let year = at.with_timezone(&chrono_tz::Europe::Paris).year();
    let mut n = 0;
    for tid in store::territory_ids(db).await? {
        let d = load(db, tid, false).await?;
        if d.communes.is_empty() {
            continue;
        }
        store::save_figures(db, tid, year, &headline_figures(&d), at).await?;
        n += 1;
    }
    Ok(n)
}

/// What an import of `source` (one of `storage::diagnosis::SOURCES`) gave
/// the diagnosis.
fn source_label(source: &str) -> &'static str {
    match source {
        "rpps" => "Professionnels de santé",
        "finess" => "Établissements (pharmacies)",
        "population" => "Population par âge",
        "geo" => "Contours et points des communes",
        _ => "Temps de trajet importés",
    }
}

fn source_name(source: &str) -> &'static str {
    match source {
        "rpps" => "Annuaire Santé, extraction RPPS « Personne activité »",
        "finess" => "FINESS, extraction des établissements",
        "population" => "INSEE, base communale de la population par âge",
        "geo" => "IGN Admin Express, contours administratifs (Etalab)",
        _ => "fichier origine;destination;minutes",
    }
}
