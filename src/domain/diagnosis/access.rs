//! Accessibility: the enhanced two-step floating catchment area (E2SFCA,
//! Luo & Qi 2009) over communes, with travel times estimated from distances
//! unless imported.

use crate::domain::parallel::{in_parts, part_size};
use std::collections::HashMap;
use std::fmt;

/// Distance-decay weights by travel-time band: `(max_minutes, weight)`
/// steps, increasing minutes, weights in [0, 1] never increasing. A time
/// belongs to the first band whose maximum it does not exceed; beyond the
/// last band the weight is 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    steps: Vec<(f64, f64)>,
}

impl Default for Bands {
    /// Luo & Qi's bands: 1 up to 10 min, 0.68 up to 20, 0.22 up to 30.
    fn default() -> Self {
        Bands {
            steps: vec![(10.0, 1.0), (20.0, 0.68), (30.0, 0.22)],
        }
    }
}

impl Bands {
    /// Bands from steps, checked like [`Bands::parse`].
    pub fn new(steps: Vec<(f64, f64)>) -> Result<Bands, String> {
        if steps.is_empty() {
            return Err(
                "aucune tranche de temps : écrivez par exemple « 10:1;20:0.68;30:0.22 »".into(),
            );
        }
        let mut previous: Option<(f64, f64)> = None;
        for (n, &(minutes, weight)) in steps.iter().enumerate() {
            let n = n + 1;
            if !minutes.is_finite() || minutes <= 0.0 {
                return Err(format!(
                    "tranche {n} : la durée doit être un nombre de minutes positif"
                ));
            }
            if !weight.is_finite() || !(0.0..=1.0).contains(&weight) {
                return Err(format!(
                    "tranche {n} : le poids doit être compris entre 0 et 1"
                ));
            }
            if let Some((m, w)) = previous {
                if minutes <= m {
                    return Err(format!(
                        "tranche {n} : les durées doivent aller en croissant ({} min après {} min)",
                        number(minutes),
                        number(m)
                    ));
                }
                if weight > w {
                    return Err(format!(
                        "tranche {n} : les poids ne peuvent pas augmenter avec la durée ({} après {})",
                        number(weight),
                        number(w)
                    ));
                }
            }
            previous = Some((minutes, weight));
        }
        Ok(Bands { steps })
    }

    /// Read `10:1;20:0.68;30:0.22` (minutes:weight, `;`-separated; a
    /// decimal comma is accepted: `20:0,68`).
    pub fn parse(text: &str) -> Result<Bands, String> {
        let mut steps = Vec::new();
        for (n, part) in text
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let n = n + 1;
            let Some((m, w)) = part.split_once(':') else {
                return Err(format!(
                    "tranche {n} « {part} » : écrivez minutes:poids, par exemple « 10:1 »"
                ));
            };
            let read = |s: &str| s.trim().replace(',', ".").parse::<f64>().ok();
            let Some(minutes) = read(m) else {
                return Err(format!(
                    "tranche {n} : « {} » n'est pas un nombre de minutes",
                    m.trim()
                ));
            };
            let Some(weight) = read(w) else {
                return Err(format!("tranche {n} : « {} » n'est pas un poids", w.trim()));
            };
            steps.push((minutes, weight));
        }
        Bands::new(steps)
    }

    /// W(t): the weight of the first band whose maximum `t` does not
    /// exceed, 0 beyond the last (and for a time that is not a number).
    pub fn weight(&self, minutes: f64) -> f64 {
        if minutes.is_nan() {
            return 0.0;
        }
        for &(max, w) in &self.steps {
            if minutes <= max {
                return w;
            }
        }
        0.0
    }

    /// The longest time with a weight above 0: catchments need no pair
    /// beyond it.
    pub fn reach(&self) -> f64 {
        self.steps
            .iter()
            .rev()
            .find(|(_, w)| *w > 0.0)
            .map(|(m, _)| *m)
            .unwrap_or(0.0)
    }

    /// The steps, as the API shows them: `[[10, 1.0], [20, 0.68], …]`.
    pub fn pairs(&self) -> Vec<(f64, f64)> {
        self.steps.clone()
    }
}

fn number(x: f64) -> String {
    format!("{x}")
}

impl fmt::Display for Bands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .steps
            .iter()
            .map(|(m, w)| format!("{}:{}", number(*m), number(*w)))
            .collect();
        f.write_str(&parts.join(";"))
    }
}

/// A commune as the computation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub code: String,
    /// (latitude, longitude), WGS84 degrees.
    pub point: Option<(f64, f64)>,
    /// Inhabitants (raw or standardised); `None` when unknown.
    pub population: Option<f64>,
}

/// How long it takes to go from one commune to another.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelModel {
    /// Minutes per kilometre of great-circle distance (1.3 = a detour
    /// factor of 1.3 at 60 km/h).
    pub minutes_per_km: f64,
    /// Imported times, `(origin, destination) → minutes`. An override for
    /// (a, b) also serves (b, a) unless (b, a) has its own: the distanciers
    /// (INSEE METRIC, OSRM tables) are often published one way per pair, and
    /// road times either way differ far less than the estimate's own error.
    pub overrides: HashMap<(String, String), f64>,
}

impl Default for TravelModel {
    fn default() -> Self {
        TravelModel {
            minutes_per_km: 1.3,
            overrides: HashMap::new(),
        }
    }
}

/// Earth's mean radius for the haversine formula.
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// Great-circle distance between two (latitude, longitude) points, km.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

impl TravelModel {
    /// The imported time from `a` to `b`, else from `b` to `a`.
    pub fn override_minutes(&self, a: &str, b: &str) -> Option<f64> {
        if self.overrides.is_empty() {
            return None;
        }
        let key = |x: &str, y: &str| (x.to_owned(), y.to_owned());
        self.overrides
            .get(&key(a, b))
            .or_else(|| self.overrides.get(&key(b, a)))
            .copied()
    }

    /// The estimate from the points alone: 0 within a commune, else
    /// minutes per km × haversine distance.
    pub fn estimate(&self, a: &Place, b: &Place) -> Option<f64> {
        if a.code == b.code {
            return Some(0.0);
        }
        Some(self.minutes_per_km * haversine_km(a.point?, b.point?))
    }

    /// Travel time from `a` to `b`: the imported one, else the estimate;
    /// `None` without a time or points.
    pub fn minutes(&self, a: &Place, b: &Place) -> Option<f64> {
        self.override_minutes(&a.code, &b.code)
            .or_else(|| self.estimate(a, b))
    }
}

/// The compressed rows of consecutive origins, as one thread builds them:
/// `ends[k]` is where the row of the part's `k`-th origin ends in `dest`.
#[derive(Debug, Clone, Default)]
struct Part {
    ends: Vec<usize>,
    dest: Vec<u32>,
    minutes: Vec<f64>,
}

/// The pairs of places within reach of each other, built once and used for
/// every profession: for each origin (where people live), the destinations
/// (where care is) with the travel time, in compressed rows.
#[derive(Debug, Clone)]
pub struct Catchments {
    /// Origins per part: the row of origin `i` is in `parts[i / size]`.
    size: usize,
    /// Built side by side, kept as built (joining them would hold the
    /// national pairs twice, about 80 MB more, at the import's peak).
    parts: Vec<Part>,
}

impl Catchments {
    /// Pairs of places with points whose travel time is at most
    /// `reach_minutes`, each place with itself (0 min) included.
    ///
    /// Near-linear: places are put in rows of latitude as tall as the
    /// longest distance within reach, sorted by longitude; each place looks
    /// at three rows and a longitude window (wider away from the equator),
    /// then checks the exact time. Overrides can only add pairs beyond that
    /// distance (they are looked up by code), or change a time within it.
    /// The window does not wrap at ±180° (no commune pair straddles it).
    pub fn build(places: &[Place], model: &TravelModel, reach_minutes: f64) -> Catchments {
        let n = places.len();
        let reach = if reach_minutes.is_finite() {
            reach_minutes.max(0.0)
        } else {
            0.0
        };
        let mpk = if model.minutes_per_km.is_finite() && model.minutes_per_km > 0.0 {
            model.minutes_per_km
        } else {
            f64::INFINITY
        };
        let points: Vec<Option<(f64, f64)>> = places
            .iter()
            .map(|p| {
                p.point.filter(|(lat, lon)| {
                    lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0
                })
            })
            .collect();
        // Imported times by place index, so that pairs look them up without
        // building keys.
        let index: HashMap<&str, u32> = places
            .iter()
            .enumerate()
            .filter(|(i, _)| points[*i].is_some())
            .map(|(i, p)| (p.code.as_str(), i as u32))
            .collect();
        let imported: HashMap<(u32, u32), f64> = model
            .overrides
            .iter()
            .filter_map(|((a, b), t)| {
                Some(((*index.get(a.as_str())?, *index.get(b.as_str())?), *t))
            })
            .collect();
        let time_of = |i: u32, j: u32| -> Option<f64> {
            if imported.is_empty() {
                return None;
            }
            imported
                .get(&(i, j))
                .or_else(|| imported.get(&(j, i)))
                .copied()
        };
        let max_km = reach / mpk;
        // Degrees of latitude per km on the sphere, a hair wider for safety.
        let dlat = (max_km / (EARTH_RADIUS_KM * std::f64::consts::PI / 180.0)) * 1.0001 + 1e-9;
        let row_of = |lat: f64| ((lat + 90.0) / dlat).floor() as i64;
        let mut grid: HashMap<i64, Vec<(f64, u32)>> = HashMap::new();
        for (i, p) in points.iter().enumerate() {
            if let Some((lat, lon)) = p {
                grid.entry(row_of(*lat)).or_default().push((*lon, i as u32));
            }
        }
        for row in grid.values_mut() {
            row.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        // The points in radians with the cosine of their latitude, worked
        // out once: [`haversine_km`]'s operations on them, in its order, give
        // the same bits.
        let radians: Vec<Option<(f64, f64, f64)>> = points
            .iter()
            .map(|p| {
                p.map(|(lat, lon)| {
                    let lat = lat.to_radians();
                    (lat, lon.to_radians(), lat.cos())
                })
            })
            .collect();
        let estimate = |i: u32, j: u32| -> f64 {
            if i == j {
                return 0.0;
            }
            match (radians[i as usize], radians[j as usize]) {
                (Some((lat1, lon1, cos1)), Some((lat2, lon2, cos2))) => {
                    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
                        + cos1 * cos2 * ((lon2 - lon1) / 2.0).sin().powi(2);
                    mpk * (2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin())
                }
                _ => f64::INFINITY,
            }
        };
        let keep = |t: f64| t.is_finite() && t >= 0.0 && t <= reach;
        // Imported times that bring in pairs the distance left out (the
        // grid looks at every pair within the distance, both ways), by
        // origin; they follow the grid's pairs in their row.
        let mut beyond: HashMap<u32, Vec<(u32, f64)>> = HashMap::new();
        for &(i, j) in imported.keys() {
            if i == j || estimate(i, j) <= reach {
                continue;
            }
            for (o, d) in [(i, j), (j, i)] {
                if let Some(t) = time_of(o, d) {
                    if keep(t) {
                        beyond.entry(o).or_default().push((d, t));
                    }
                }
            }
        }
        // The rows of the origins `first..first + count`, compressed: each
        // sorted by destination, the first time kept for a destination met
        // twice.
        let part = |first: usize, count: usize| -> Part {
            let mut part = Part::default();
            let mut row: Vec<(u32, f64)> = Vec::new();
            for i in first..first + count {
                row.clear();
                let i = i as u32;
                if let Some((lat, lon)) = points[i as usize] {
                    let top = (lat.abs() + dlat).min(90.0).to_radians().cos();
                    let dlon = if top > 1e-6 { dlat / top } else { 360.0 };
                    let r = row_of(lat);
                    for rr in r - 1..=r + 1 {
                        let Some(cells) = grid.get(&rr) else { continue };
                        let from = cells.partition_point(|(x, _)| *x < lon - dlon);
                        for &(x, j) in &cells[from..] {
                            if x > lon + dlon {
                                break;
                            }
                            let e = estimate(i, j);
                            if e > reach {
                                continue;
                            }
                            let t = time_of(i, j).unwrap_or(e);
                            if keep(t) {
                                row.push((j, t));
                            }
                        }
                    }
                }
                if let Some(more) = beyond.get(&i) {
                    row.extend_from_slice(more);
                }
                row.sort_by_key(|(j, _)| *j);
                row.dedup_by_key(|(j, _)| *j);
                for &(j, t) in &row {
                    part.dest.push(j);
                    part.minutes.push(t);
                }
                part.ends.push(part.dest.len());
            }
            part
        };
        let size = part_size(n);
        Catchments {
            size,
            parts: in_parts(n, size, part),
        }
    }

    /// How many places the catchments were built for.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.ends.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many (origin, destination) pairs are kept.
    pub fn pair_count(&self) -> usize {
        self.parts.iter().map(|p| p.dest.len()).sum()
    }

    /// The destinations within reach of place `i`, with the travel time.
    pub fn within_reach(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (part, k) = (i / self.size, i % self.size);
        let (p, a, b) = match self.parts.get(part) {
            Some(p) if k < p.ends.len() => (p, if k == 0 { 0 } else { p.ends[k - 1] }, p.ends[k]),
            _ => (&self.parts[0], 0, 0),
        };
        p.dest[a..b]
            .iter()
            .zip(&p.minutes[a..b])
            .map(|(&j, &t)| (j as usize, t))
    }

    /// Every pair: (origin index, destination index, minutes).
    pub fn pairs(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        (0..self.len()).flat_map(move |i| self.within_reach(i).map(move |(j, t)| (i, j, t)))
    }
}

/// Why a place has no accessibility score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoScore {
    NoPoint,
    NoPopulation,
}

impl NoScore {
    /// Said on the page and in the API.
    pub fn reason(self) -> &'static str {
        match self {
            NoScore::NoPoint => {
                "pas de score : la position de la commune n'est pas connue (importez les contours ou les points des communes)"
            }
            NoScore::NoPopulation => "pas de score : la population de la commune n'est pas connue",
        }
    }
}

impl fmt::Display for NoScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// Why a place takes no part, if it does not.
pub fn excluded(place: &Place) -> Option<NoScore> {
    match (place.point, place.population) {
        (None, _) => Some(NoScore::NoPoint),
        (Some((lat, lon)), _) if !(lat.is_finite() && lon.is_finite()) => Some(NoScore::NoPoint),
        (_, None) => Some(NoScore::NoPopulation),
        (_, Some(p)) if !p.is_finite() || p < 0.0 => Some(NoScore::NoPopulation),
        _ => None,
    }
}

/// Enhanced two-step floating catchment area (Luo & Qi 2009):
///
/// 1. for each supply place j, R_j = S_j / Σ_k W(t_kj)·P_k over the places
///    k within reach of j (j itself included, t = 0);
/// 2. for each place i, A_i = Σ_j W(t_ij)·R_j.
///
/// Returns A_i × 10 000 (supply per 10,000 inhabitants) per place, in the
/// order of `places` (the same slice the catchments were built from, and
/// `supply` in that order too). A place without a point or a population
/// takes no part, neither as demand nor as supply, and gets [`NoScore`].
/// A supply place with no demand within reach (only empty communes around)
/// serves nobody: R_j is undefined and taken as 0, its supply adds nothing.
/// A supply that is not a finite positive number counts as 0.
pub fn e2sfca(
    c: &Catchments,
    places: &[Place],
    supply: &[f64],
    bands: &Bands,
) -> Vec<Result<f64, NoScore>> {
    let n = places.len().min(c.len());
    let status: Vec<Option<NoScore>> = places.iter().map(excluded).collect();
    let takes_part = |i: usize| matches!(status.get(i), Some(None));
    let population = |i: usize| places[i].population.unwrap_or(0.0);
    // Step 1: the demand each supply place sees.
    let mut demand = vec![0.0f64; n];
    for (k, _) in places.iter().enumerate().take(n) {
        if !takes_part(k) {
            continue;
        }
        let p = population(k);
        if p == 0.0 {
            continue;
        }
        for (j, t) in c.within_reach(k) {
            if j < n {
                demand[j] += bands.weight(t) * p;
            }
        }
    }
    let ratio: Vec<f64> = (0..n)
        .map(|j| {
            let s = supply.get(j).copied().unwrap_or(0.0);
            let s = if s.is_finite() && s > 0.0 { s } else { 0.0 };
            if takes_part(j) && demand[j] > 0.0 {
                s / demand[j]
            } else {
                0.0
            }
        })
        .collect();
    // Step 2: what each place reaches.
    places
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if let Some(Some(why)) = status.get(i) {
                return Err(*why);
            }
            if i >= n {
                return Err(NoScore::NoPoint);
            }
            let a: f64 = c
                .within_reach(i)
                .filter(|(j, _)| *j < n && ratio[*j] != 0.0)
                .map(|(j, t)| bands.weight(t) * ratio[j])
                .sum();
            Ok(a * 10_000.0)
        })
        .collect()
}
