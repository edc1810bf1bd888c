//! Figures for issue 13, printed, never asserted (run with
//! `cargo bench --bench region`): an instance of 100 territories, each with
//! a contract of 15 actions (1,500 in all) with an ARS budget line, and
//! 2,000 indicators with a measurement each, then the time to render
//! `/region/` (anonymous and regional staff) and its weight, on SQLite and
//! PostgreSQL (`MAILLAGE_TEST_POSTGRES_URL`, a fresh database like the
//! tests). The région's map has 5,000 synthetic communes (outlines of 12
//! points on a lattice over the Hauts-de-France), 50 per territory, with
//! their accessibility computed.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use maillage::domain::budget::BudgetLineRaw;
use maillage::domain::codes::Slug;
use maillage::domain::contract::{ActionInput, ContractRaw};
use maillage::domain::indicator::{IndicatorRaw, MeasurementRaw};
use maillage::domain::territory::{NewTerritory, TerritoryKind};
use maillage::storage::audit::Actor;
use maillage::storage::{actions, contract, indicators, territories};

const TERRITORIES: usize = 100;
const ACTIONS_EACH: usize = 15;
const INDICATORS_EACH: usize = 20;

async fn large_region(app: &TestApp) {
    let db = &app.db;
    let actor = Actor::system("bench");
    let statuses = ["in_force", "signed", "in_preparation", "ended"];
    let kinds = ["cls", "asv", "clsm"];
    // The test bench has two territories already: 98 more.
    let mut ids = Vec::new();
    for slug in ["lens-lievin", "mond-arverne"] {
        ids.push(
            territories::get_by_slug(db, slug)
                .await
                .unwrap()
                .unwrap()
                .id,
        );
    }
    for n in ids.len()..TERRITORIES {
        let t = territories::create(
            db,
            &actor,
            &NewTerritory {
                slug: Slug::parse(&format!("territoire-{n:03}")).unwrap(),
                name: format!("Communauté de communes n° {n:03}"),
                kind: TerritoryKind::Epci,
            },
        )
        .await
        .unwrap();
        ids.push(t.id);
    }
    for (n, tid) in ids.iter().enumerate() {
        let end = format!("{}-06-30", 2026 + n % 4);
        let c = contract::create(
            db,
            &actor,
            *tid,
            &ContractRaw {
                kind: kinds[n % 3].into(),
                title: format!("Contrat n° {n}"),
                status: statuses[n % 4].into(),
                period_start: "2023-01-01".into(),
                period_end: end,
                signatories: "ARS Hauts-de-France".into(),
                ..Default::default()
            }
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
        let axis = contract::add_axis(db, &actor, &c, "Accès aux soins")
            .await
            .unwrap();
        let o = contract::add_objective(db, &actor, &c, axis.id, "Aller vers")
            .await
            .unwrap();
        let mut action_ids = Vec::new();
        for x in 0..ACTIONS_EACH {
            let status = ["planned", "in_progress", "done", "paused"][x % 4];
            let a = contract::add_action(
                db,
                &actor,
                &c,
                o.id,
                &ActionInput::parse(&format!("Action {x}"), "", status, "CCAS").unwrap(),
            )
            .await
            .unwrap();
            let b = BudgetLineRaw {
                funder: "ARS Hauts-de-France".into(),
                year: "2026".into(),
                amount: "12 500".into(),
                committed: if x % 2 == 0 {
                    "10 000".into()
                } else {
                    String::new()
                },
                ..Default::default()
            };
            actions::add_budget_line(db, &actor, &c, a.id, &b.parse().unwrap())
                .await
                .unwrap();
            action_ids.push(a.id);
        }
        for i in 0..INDICATORS_EACH {
            let ind = indicators::create(
                db,
                &actor,
                &c,
                Some(action_ids[i % action_ids.len()]),
                &IndicatorRaw {
                    kind: "result".into(),
                    label: format!("Indicateur {i}"),
                    unit: "personnes".into(),
                    ..Default::default()
                }
                .parse()
                .unwrap(),
            )
            .await
            .unwrap();
            let m = MeasurementRaw {
                measured_on: "2026-03-31".into(),
                value: (i * 7).to_string(),
                ..Default::default()
            };
            indicators::add_measurement(db, &actor, &c, &ind, &m.parse().unwrap())
                .await
                .unwrap();
        }
    }
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "  {label}: {} runs, mean {mean:?}, p50 {:?}, p99 {:?}",
        times.len(),
        p(0.5),
        p(0.99)
    );
}

async fn measure(label: &str, client: &reqwest::Client, url: &str) {
    let mut times = Vec::new();
    let mut size = 0;
    for i in 0..60 {
        let t = Instant::now();
        let r = client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        size = r.bytes().await.unwrap().len();
        if i >= 10 {
            times.push(t.elapsed());
        }
    }
    summary(&format!("{label} ({} kB)", size / 1024), times);
}

const COMMUNES: usize = 5_000;

/// 5,000 communes in région 32 with outlines, shared out among the
/// territories (50 each), and the diagnosis computed.
async fn large_map(app: &TestApp) {
    use maillage::storage::communes::{upsert_communes, Commune};
    use maillage::storage::geo_reference::{save_outlines, CommuneOutline};
    let db = &app.db;
    let side = (COMMUNES as f64).sqrt().ceil() as usize;
    let (lat0, lon0, step_lat, step_lon) = (49.0, 1.6, 2.0 / side as f64, 2.6 / side as f64);
    let mut communes = Vec::new();
    let mut outlines = Vec::new();
    for i in 0..COMMUNES {
        let code = format!("9{i:04}");
        let (r, c) = ((i / side) as f64, (i % side) as f64);
        let (lat, lon) = (lat0 + r * step_lat, lon0 + c * step_lon);
        // A twelve-point ring, a little irregular, filling its lattice cell.
        let ring: Vec<String> = (0..=12)
            .map(|k| {
                let a = (k % 12) as f64 * std::f64::consts::TAU / 12.0;
                let wobble = 1.0 + 0.08 * ((i * 7 + k * 3) % 5) as f64 / 4.0;
                let x = lon + step_lon / 2.0 + a.cos() * step_lon * 0.62 * wobble;
                let y = lat + step_lat / 2.0 + a.sin() * step_lat * 0.62 * wobble;
                format!("[{x:.5},{y:.5}]")
            })
            .collect();
        communes.push(Commune {
            insee_code: code.clone(),
            name: format!("Commune {i}"),
            kind: "commune-actuelle".into(),
            departement: Some(["59", "62", "80", "60", "02"][i % 5].into()),
            region: Some("32".into()),
            population: Some(200 + ((i * 7919) % 9000) as i64),
            postal_codes: String::new(),
            parent_code: None,
        });
        outlines.push(CommuneOutline {
            insee_code: code,
            latitude: lat + step_lat / 2.0,
            longitude: lon + step_lon / 2.0,
            outline: format!(
                "{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}",
                ring.join(",")
            ),
        });
    }
    upsert_communes(db, &communes, &maillage::import::quiet)
        .await
        .unwrap();
    save_outlines(db, &outlines).await.unwrap();
    let actor = Actor::system("bench");
    let all = territories::list(db).await.unwrap();
    for (n, summary) in all.iter().enumerate() {
        let t = territories::get_by_slug(db, &summary.slug)
            .await
            .unwrap()
            .unwrap();
        let codes: Vec<String> = (n * 50..(n + 1) * 50)
            .filter(|i| *i < COMMUNES)
            .map(|i| format!("9{i:04}"))
            .collect();
        territories::set_communes(db, &actor, t.id, None, &codes)
            .await
            .unwrap();
    }
    let r = maillage::diagnosis::refresh(db).await.unwrap();
    println!("  {}", r.line());
}

async fn run(backend: Backend) {
    // No micro-cache: every request renders the page.
    let config = maillage::config::Config {
        public_cache_ttl: Duration::ZERO,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    let t = Instant::now();
    large_region(&app).await;
    large_map(&app).await;
    println!(
        "{backend:?}: {TERRITORIES} territories, {} actions, {} indicators loaded in {:?}",
        TERRITORIES * ACTIONS_EACH,
        TERRITORIES * INDICATORS_EACH,
        t.elapsed()
    );
    let url = app.url("/region/");
    measure("/region/ anonymous", &app.client(), &url).await;
    let regional = app.login("regional").await;
    measure("/region/ regional staff", &regional, &url).await;
    measure(
        "/region/?tri=prevu&ordre=desc regional staff",
        &regional,
        &app.url("/region/?tri=prevu&ordre=desc"),
    )
    .await;
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let r = regional
            .get(app.url("/region/territoires.xlsx"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    summary("/region/territoires.xlsx", times);
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let r = app
            .client()
            .get(app.url("/donnees/plans.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        size = r.bytes().await.unwrap().len();
        times.push(t.elapsed());
    }
    summary(&format!("/donnees/plans.csv ({} kB)", size / 1024), times);
    let t = Instant::now();
    let rollup = maillage::region::load(&app.db, chrono::Utc::now().date_naive())
        .await
        .unwrap();
    println!(
        "  roll-up load alone: {:?} for {} rows",
        t.elapsed(),
        rollup.rows.len()
    );
    app.stop().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(Backend::Sqlite));
    rt.block_on(run(Backend::Postgres));
}
