//! Figures for issue 11, printed, never asserted (`cargo bench --bench
//! diagnosis`): the accessibility (E2SFCA) of every commune of a national
//! run, for the six professions, then the supply table's refresh after a
//! national RPPS import on SQLite.
//!
//! The communes are synthetic and deterministic: about 35,000 points inside
//! a rough outline of metropolitan France, denser in some regions than
//! others, with log-normal populations (median 450, mean about 1,900
//! inhabitants, as for French communes). The compute part draws each
//! profession's supply per commune directly (national totals of the order of
//! the registers'); the database part writes 2,000,000 practice places of
//! synthetic professionals (`DIAG_BENCH_RPPS_ROWS`, 0 to skip) into SQLite
//! through the importer's storage function, then times
//! `care_supply::refresh`.

use std::time::Instant;

use maillage::domain::diagnosis::{e2sfca, Bands, Catchments, Place, Profession, TravelModel};
use maillage::domain::directory::{PracticePlace, Professional};
use maillage::storage::{care_supply, directory, Db};

/// SplitMix64: deterministic, so that runs are comparable.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// A rough outline of metropolitan France (longitude, latitude).
const OUTLINE: [(f64, f64); 20] = [
    (-4.8, 48.4),
    (-1.8, 49.7),
    (0.2, 49.7),
    (1.6, 50.9),
    (2.5, 51.1),
    (4.2, 49.95),
    (6.2, 49.5),
    (8.2, 49.0),
    (7.6, 47.6),
    (6.0, 46.2),
    (7.0, 45.9),
    (7.0, 44.2),
    (7.5, 43.8),
    (6.0, 43.1),
    (3.1, 42.4),
    (-1.8, 43.3),
    (-1.3, 44.6),
    (-1.2, 46.2),
    (-2.5, 47.3),
    (-4.5, 47.8),
];

fn inside(lon: f64, lat: f64) -> bool {
    let mut inside = false;
    let n = OUTLINE.len();
    for i in 0..n {
        let (x1, y1) = OUTLINE[i];
        let (x2, y2) = OUTLINE[(i + 1) % n];
        if (y1 > lat) != (y2 > lat) && lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1 {
            inside = !inside;
        }
    }
    inside
}

fn communes(n: usize) -> Vec<Place> {
    let mut rng = Mix(11);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let lon = -4.8 + rng.unit() * 13.0;
        let lat = 42.3 + rng.unit() * 8.8;
        if !inside(lon, lat) {
            continue;
        }
        // Many small communes in the north and east, fewer in the
        // south-west and the Landes: keep a point with a varying chance.
        let keep = 0.35 + 0.3 * ((lat - 42.3) / 8.8) + 0.25 * ((lon + 4.8) / 13.0);
        if rng.unit() > keep {
            continue;
        }
        let population = (6.11 + 1.71 * rng.normal()).exp().round().clamp(0.0, 2.2e6);
        out.push(Place {
            code: format!("{:05}", out.len()),
            point: Some((lat, lon)),
            population: Some(population),
        });
    }
    out
}

/// National totals of the order of the registers' (first-line, outside
/// hospital): where the supply goes follows population.
fn supply(places: &[Place], profession: Profession) -> Vec<f64> {
    let total = match profession {
        Profession::Generalistes => 95_000.0,
        Profession::Infirmiers => 130_000.0,
        Profession::Kinesitherapeutes => 90_000.0,
        Profession::Dentistes => 38_000.0,
        Profession::SagesFemmes => 9_000.0,
        Profession::Pharmacies => 20_000.0,
    };
    let mut rng = Mix(profession as u64 + 100);
    let raw: Vec<f64> = places
        .iter()
        .map(|p| {
            let pop = p.population.unwrap_or(0.0);
            if rng.unit() < (pop / 2_000.0).min(1.0) {
                pop.powf(1.1)
            } else {
                0.0
            }
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|r| r * total / sum).collect()
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

fn professionals(places: &[Place], rows: usize) -> Vec<Professional> {
    // Like the register: doctors (half of them GPs), nurses, physios,
    // dentists, midwives, pharmacists, speech therapists; most with one
    // place, some with two or three; one place in ten at a hospital.
    const PROFESSIONS: [(&str, u64); 7] = [
        ("10", 23),
        ("60", 35),
        ("70", 12),
        ("40", 5),
        ("50", 3),
        ("21", 12),
        ("91", 10),
    ];
    let weights: Vec<f64> = places.iter().map(|p| p.population.unwrap_or(0.0)).collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cumulative.push(acc);
    }
    let mut rng = Mix(7);
    let mut out = Vec::new();
    let mut written = 0usize;
    let mut id = 10_000_000_000u64;
    while written < rows {
        id += 1;
        let mut pick = rng.next() % 100;
        let mut code = "10";
        for (c, share) in PROFESSIONS {
            if pick < share {
                code = c;
                break;
            }
            pick -= share;
        }
        let n = match rng.next() % 10 {
            0 => 3,
            1 | 2 => 2,
            _ => 1,
        };
        let places_of = (0..n)
            .map(|k| {
                let u = rng.unit();
                let at = cumulative.partition_point(|c| *c < u).min(places.len() - 1);
                let hospital = rng.next().is_multiple_of(10);
                PracticePlace {
                    specialty_code: if code == "10" && rng.next().is_multiple_of(2) {
                        "SM54".into()
                    } else {
                        String::new()
                    },
                    mode_code: if hospital { "S" } else { "L" }.into(),
                    sector_code: if hospital { "SA01" } else { "SA07" }.into(),
                    address: format!("{} RUE DE LA PAIX", k + 1),
                    insee_code: Some(places[at].code.clone()),
                    ..Default::default()
                }
            })
            .collect();
        written += n;
        out.push(Professional {
            rpps: id.to_string(),
            last_name: format!("NOM{id}"),
            first_name: "Prénom".into(),
            profession_code: code.into(),
            profession_label: String::new(),
            places: places_of,
        });
    }
    out
}

fn main() {
    let n: usize = std::env::var("DIAG_BENCH_COMMUNES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(35_000);
    let places = communes(n);
    let people: f64 = places.iter().filter_map(|p| p.population).sum();
    println!(
        "{} synthetic communes, {:.1} million inhabitants",
        places.len(),
        people / 1e6
    );
    let supplies: Vec<(Profession, Vec<f64>)> = Profession::ALL
        .into_iter()
        .map(|p| (p, supply(&places, p)))
        .collect();
    let bands = Bands::default();
    let model = TravelModel::default();
    let all = Instant::now();
    let t = Instant::now();
    let c = Catchments::build(&places, &model, bands.reach());
    println!(
        "catchments (30 min at 1.3 min/km): {} pairs, {:.0} ms",
        c.pair_count(),
        t.elapsed().as_secs_f64() * 1e3
    );
    for (p, s) in &supplies {
        let t = Instant::now();
        let a = e2sfca(&c, &places, s, &bands);
        let scored: Vec<f64> = a.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        let median = maillage::domain::diagnosis::median(&scored).unwrap_or(0.0);
        println!(
            "  {:<28} {:>6.0} ms  (median {:.2} per 10,000)",
            p.label(),
            t.elapsed().as_secs_f64() * 1e3,
            median
        );
    }
    println!(
        "total (catchments + six professions): {:.0} ms; peak memory (VmHWM) {}",
        all.elapsed().as_secs_f64() * 1e3,
        peak_memory()
    );

    let rows: usize = std::env::var("DIAG_BENCH_RPPS_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    if rows == 0 {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let db = Db::connect(&url).await.expect("sqlite");
        db.migrate().await.expect("migrate");
        let pros = professionals(&places, rows);
        let t = Instant::now();
        directory::replace_professionals(&db, &pros, 0, "", &|_, _, _| {})
            .await
            .expect("import");
        println!(
            "SQLite: national RPPS import of {} practice places ({} professionals), supply refresh included: {:.1} s",
            rows,
            pros.len(),
            t.elapsed().as_secs_f64()
        );
        drop(pros);
        let t = Instant::now();
        care_supply::refresh(&db).await.expect("refresh");
        println!(
            "SQLite: care_supply::refresh alone (six professions): {:.2} s",
            t.elapsed().as_secs_f64()
        );
        let n: i64 = maillage::db_run!(&db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM commune_supply")
            .fetch_one(pool)
            .await
            .expect("count"));
        println!("SQLite: commune_supply rows: {n}");
        db.close().await;
    });
}
