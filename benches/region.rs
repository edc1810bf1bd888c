//! Figures for issue 13, printed, never asserted (run with
//! `cargo bench --bench region`): an instance of 100 territories, each with
//! a contract of 15 actions (1,500 in all) with an ARS budget line, and
//! 2,000 indicators with a measurement each, then the time to render
//! `/region/` (anonymous and regional staff) and its weight, on SQLite and
//! PostgreSQL (`MAILLAGE_TEST_POSTGRES_URL`, a fresh database like the
//! tests). The map of issue 11 is not in these figures.

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

async fn run(backend: Backend) {
    // No micro-cache: every request renders the page.
    let config = maillage::config::Config {
        public_cache_ttl: Duration::ZERO,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    let t = Instant::now();
    large_region(&app).await;
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
