//! Searching the directory of the health-care offer for a territory: its own
//! communes first, then the communes nearby.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::geo::distance_km;
use crate::domain::search::{
    allowed_typos, like_patterns, score_terms, terms, typo_patterns, Term,
};
use crate::domain::service::kind_label;
use crate::storage::directory::{self, Batch, Point, Spelt, WordQuery};
use crate::storage::services::{self, Mark, ServiceRow};
use crate::storage::{Db, DbResult};

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    /// RPPS profession code (10 médecin, 60 infirmier…): professionals only.
    pub profession: String,
    /// FINESS category code (620 pharmacie…): establishments only.
    pub category: String,
    /// Centre the search on this commune (INSEE) instead of the territory.
    pub commune: String,
    /// Also search communes within this distance (km) of the centre.
    pub radius_km: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Establishment,
    Professional,
    /// A local service added by the coordination.
    Service,
}

impl HitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Establishment => "establishment",
            HitKind::Professional => "professional",
            HitKind::Service => "service",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    pub kind: HitKind,
    /// FINESS number or RPPS identifier.
    pub id: String,
    pub name: String,
    /// Category, or profession and specialty.
    pub detail: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
    pub phone: String,
    pub in_territory: bool,
    pub distance_km: Option<f64>,
    /// Flagged by the coordination as a maison de santé pluriprofessionnelle.
    pub msp: bool,
    /// Flagged as a member of a CPTS.
    pub cpts: bool,
    #[serde(skip)]
    pub score: u32,
}

/// The mean of reference points: a territory's centre.
pub fn centre(points: &[Point]) -> Option<Point> {
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    Some(Point {
        longitude: points.iter().map(|p| p.longitude).sum::<f64>() / n,
        latitude: points.iter().map(|p| p.latitude).sum::<f64>() / n,
    })
}

pub const MAX_RESULTS: usize = 200;

/// Rows of each kind (establishments, practice places) read from the
/// database for one search and scored here: the search filters them in SQL
/// (`storage::directory::search_establishments`), so these are the best
/// few, not a territory's every row. As many as a page shows: reading 500
/// with their details made a typo or a wide radius cost 23–35 ms at
/// national size (`scripts/bench-directory.sh`).
const CANDIDATES: usize = MAX_RESULTS;
/// Communes per query: the territory's in one (up to the storage batch),
/// nearby ones by small batches, nearest first, so that the candidates of
/// a wide radius are the nearest.
const COMMUNE_BATCH: usize = 300;
const NEAR_BATCH: usize = 50;

/// What a search knows of its territory besides the query: read with the
/// public page (`storage::public_pages::directory_page`) or by
/// [`Setting::load`].
#[derive(Debug, Clone, Default)]
pub struct Setting {
    /// The territory's communes (INSEE codes).
    pub communes: Vec<String>,
    /// Where distances are measured from: the commune asked for, else the
    /// mean of the territory's communes' reference points.
    pub centre: Option<Point>,
    /// The coordination's local services.
    pub services: Vec<ServiceRow>,
    /// The coordination's marks on entries (flags, hidden entries).
    pub marks: Vec<Mark>,
}

impl Setting {
    /// The setting of a search of the territory `territory_id` (its
    /// communes given), centred on the commune `commune` when not empty.
    pub async fn load(
        db: &Db,
        territory_id: i64,
        communes: &[String],
        commune: &str,
    ) -> DbResult<Setting> {
        Ok(Setting {
            communes: communes.to_vec(),
            centre: if commune.is_empty() {
                centre(&directory::commune_points(db, communes).await?)
            } else {
                directory::commune_point(db, commune).await?
            },
            services: services::list(db, territory_id).await?,
            marks: services::marks(db, territory_id).await?,
        })
    }
}

/// The words typed as the database matches them: each with its synonyms
/// (« généraliste » finds the savoir-faire « Médecine générale »,
/// « hôpital » a « Centre Hospitalier »); a word long enough to hold a
/// typo is probed first (`storage::directory::candidates`).
fn word_queries(words: &[Term]) -> Vec<WordQuery> {
    words
        .iter()
        .map(|t| WordQuery {
            patterns: like_patterns(t),
            typo_patterns: typo_patterns(&t.word),
            spelt: if allowed_typos(&t.word) == 0 {
                Spelt::Yes
            } else {
                Spelt::Unknown
            },
        })
        .collect()
}

/// Search the directory for the territory `setting` describes: one
/// statement per batch of communes (one in all for a territory of up to
/// 300 communes and no radius), one more for the communes within a radius.
pub async fn search(db: &Db, setting: &Setting, q: &Query) -> DbResult<Vec<Hit>> {
    let territory_communes = &setting.communes;
    let own: HashSet<&str> = territory_communes.iter().map(String::as_str).collect();
    let centre_point = setting.centre;
    let own_scope: Vec<String> = if q.commune.is_empty() {
        territory_communes.to_vec()
    } else {
        vec![q.commune.clone()]
    };
    let mut scope = own_scope.clone();
    let mut commune_distance: HashMap<String, f64> = HashMap::new();
    if let (Some(c), true) = (centre_point, q.radius_km > 0.0) {
        // Nearest first: the candidates are read commune batch by batch.
        for (code, d) in directory::communes_near(db, c, q.radius_km).await? {
            commune_distance.insert(code.clone(), d);
            if !scope.contains(&code) {
                scope.push(code);
            }
        }
    }
    // The communes searched, in the order their rows are read: the
    // territory (or the chosen commune) first, then the nearest ones.
    let batches: Vec<&[String]> = own_scope
        .chunks(COMMUNE_BATCH)
        .chain(scope[own_scope.len()..].chunks(NEAR_BATCH))
        .collect();
    let words = terms(&q.text);
    let mut queries = word_queries(&words);
    let mut establishment_rows = Vec::new();
    let mut professional_rows = Vec::new();
    for communes in batches {
        let room = |taken: usize, wanted: bool| {
            if wanted {
                CANDIDATES.saturating_sub(taken) as i64
            } else {
                0
            }
        };
        let batch = Batch {
            communes,
            scope: &scope,
            category: (!q.category.is_empty()).then_some(q.category.as_str()),
            profession: (!q.profession.is_empty()).then_some(q.profession.as_str()),
            establishments: room(establishment_rows.len(), q.profession.is_empty()),
            professionals: room(professional_rows.len(), q.category.is_empty()),
        };
        if batch.establishments == 0 && batch.professionals == 0 {
            break;
        }
        let found = directory::candidates(db, &batch, &queries).await?;
        // What the probe found holds for the next batches (it read them all).
        let mut spelt = found.spelt.into_iter();
        for w in queries.iter_mut().filter(|w| w.spelt == Spelt::Unknown) {
            if let Some(yes) = spelt.next() {
                w.spelt = if yes { Spelt::Yes } else { Spelt::No };
            }
        }
        establishment_rows.extend(found.establishments);
        professional_rows.extend(found.professionals);
    }
    let mut hits = Vec::new();
    if q.profession.is_empty() {
        for e in establishment_rows {
            let text = format!("{} {} {} {}", e.name, e.long_name, e.category_label, e.city);
            let Some(s) = score_terms(&words, &text) else {
                continue;
            };
            let distance = match (centre_point, e.longitude, e.latitude) {
                (Some(c), Some(lon), Some(lat)) => {
                    Some(distance_km((c.longitude, c.latitude), (lon, lat)))
                }
                _ => e
                    .insee_code
                    .as_ref()
                    .and_then(|i| commune_distance.get(i).copied()),
            };
            hits.push(Hit {
                kind: HitKind::Establishment,
                in_territory: e.insee_code.as_deref().is_some_and(|i| own.contains(i)),
                id: e.finess,
                name: if e.long_name.is_empty() {
                    e.name
                } else {
                    e.long_name
                },
                detail: e.category_label,
                address: e.address,
                postal_code: e.postal_code,
                city: e.city,
                insee_code: e.insee_code,
                phone: e.phone,
                distance_km: distance,
                msp: e.category_code == "603",
                cpts: e.category_code == "604",
                score: s,
            });
        }
    }
    if q.category.is_empty() {
        for p in professional_rows {
            let text = format!(
                "{} {} {} {} {}",
                p.last_name, p.first_name, p.profession_label, p.specialty_label, p.city
            );
            let Some(s) = score_terms(&words, &text) else {
                continue;
            };
            let detail = if p.specialty_label.is_empty() {
                p.profession_label
            } else {
                format!("{} — {}", p.profession_label, p.specialty_label)
            };
            hits.push(Hit {
                kind: HitKind::Professional,
                in_territory: p.insee_code.as_deref().is_some_and(|i| own.contains(i)),
                distance_km: p
                    .insee_code
                    .as_ref()
                    .and_then(|i| commune_distance.get(i).copied()),
                id: p.rpps,
                name: format!("{} {}", p.first_name, p.last_name)
                    .trim()
                    .to_owned(),
                detail,
                address: p.address,
                postal_code: p.postal_code,
                city: p.city,
                insee_code: p.insee_code,
                phone: p.phone,
                msp: false,
                cpts: false,
                score: s,
            });
        }
        for sv in &setting.services {
            let area: Vec<&str> = sv.area.split_whitespace().collect();
            let reaches = match (&sv.insee_code, area.is_empty()) {
                (None, true) => q.commune.is_empty() || own.contains(q.commune.as_str()),
                (Some(c), true) => scope.contains(c),
                (_, false) => area.iter().any(|a| scope.iter().any(|s| s == a)),
            };
            if !reaches || !q.profession.is_empty() {
                continue;
            }
            let text = format!(
                "{} {} {} {}",
                sv.name,
                kind_label(&sv.kind),
                sv.publics,
                sv.city
            );
            let Some(s) = score_terms(&words, &text) else {
                continue;
            };
            hits.push(Hit {
                kind: HitKind::Service,
                id: sv.id.to_string(),
                detail: kind_label(&sv.kind).to_owned(),
                name: sv.name.clone(),
                address: sv.address.clone(),
                postal_code: sv.postal_code.clone(),
                in_territory: true,
                distance_km: None,
                city: sv.city.clone(),
                insee_code: sv.insee_code.clone(),
                phone: sv.phone.clone(),
                msp: sv.msp,
                cpts: sv.cpts,
                score: s + 1,
            });
        }
    }
    // The territory's own marks: flags, and entries it hides from its public directory.
    let marks: HashMap<(&str, &str), &Mark> = setting
        .marks
        .iter()
        .map(|m| ((m.entry_kind.as_str(), m.entry_id.as_str()), m))
        .collect();
    hits.retain_mut(|h| match marks.get(&(h.kind.as_str(), h.id.as_str())) {
        Some(m) if m.hidden => false,
        Some(m) => {
            h.msp |= m.msp;
            h.cpts |= m.cpts;
            true
        }
        None => true,
    });
    hits.sort_by(|a, b| {
        b.in_territory
            .cmp(&a.in_territory)
            .then(b.score.cmp(&a.score))
            .then(
                a.distance_km
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.distance_km.unwrap_or(f64::MAX)),
            )
            .then(a.name.cmp(&b.name))
    });
    hits.truncate(MAX_RESULTS);
    Ok(hits)
}
