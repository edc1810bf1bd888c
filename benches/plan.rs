//! Figures for issue 3, printed, never asserted (run with
//! `cargo bench --bench plan`): a large plan (5 axes, 60 actions, 200
//! indicators with 20 measurements each), then the time to render the public
//! contract page and to export the plan as XLSX, on SQLite and PostgreSQL.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use maillage::domain::budget::BudgetLineRaw;
use maillage::domain::contract::{ActionInput, ContractRaw, FicheRaw};
use maillage::domain::indicator::{IndicatorRaw, MeasurementRaw};
use maillage::storage::audit::Actor;
use maillage::storage::{actions, contract, indicators, territories};

async fn large_plan(app: &TestApp) -> i64 {
    let db = &app.db;
    let actor = Actor::system("bench");
    let tid = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let c = contract::create(
        db,
        &actor,
        tid,
        &ContractRaw {
            kind: "cls".into(),
            title: "Grand contrat".into(),
            status: "in_force".into(),
            signatories: "ARS Hauts-de-France".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let mut action_ids = Vec::new();
    for ax in 0..5 {
        let axis = contract::add_axis(db, &actor, &c, &format!("Axe stratégique {}", ax + 1))
            .await
            .unwrap();
        for ob in 0..3 {
            let o = contract::add_objective(
                db,
                &actor,
                &c,
                axis.id,
                &format!("Objectif opérationnel {}", ob + 1),
            )
            .await
            .unwrap();
            for x in 0..4 {
                let lead = format!("Structure pilote {}", (ax * 12 + ob * 4 + x) % 15);
                let a = contract::add_action(
                    db,
                    &actor,
                    &c,
                    o.id,
                    &ActionInput::parse(&format!("Action {}", x + 1), "", "planned", &lead)
                        .unwrap(),
                )
                .await
                .unwrap();
                let f = FicheRaw {
                    title: format!("Action n° {} de l'objectif {}", x + 1, o.code),
                    findings: "Constat du diagnostic local de santé. ".repeat(8),
                    description: "Description de l'action, de ses étapes et de ses moyens. ".repeat(10),
                    status: ["planned", "in_progress", "done"][x % 3].into(),
                    progress: ((x * 30) % 101).to_string(),
                    period_start: "01/01/2025".into(),
                    period_end: "31/12/2027".into(),
                    lead_org_id: a.lead_org_id.unwrap().to_string(),
                    themes: vec!["acces_soins".into(), "prevention".into()],
                    scope: vec!["commune:62498".into()],
                    steps: "15/01/2025 Lancement\n30/06/2026 Bilan intermédiaire\n31/12/2027 Évaluation".into(),
                    ..Default::default()
                };
                actions::save_fiche(db, &actor, &c, a.id, a.version, &f.parse().unwrap())
                    .await
                    .unwrap();
                for year in ["2025", "2026"] {
                    let b = BudgetLineRaw {
                        funder: "ARS Hauts-de-France".into(),
                        year: year.into(),
                        amount: "12 500".into(),
                        ..Default::default()
                    };
                    actions::add_budget_line(db, &actor, &c, a.id, &b.parse().unwrap())
                        .await
                        .unwrap();
                }
                action_ids.push(a.id);
            }
        }
    }
    for i in 0..200 {
        let ind = indicators::create(
            db,
            &actor,
            &c,
            Some(action_ids[i % action_ids.len()]),
            &IndicatorRaw {
                kind: "result".into(),
                label: format!("Indicateur {}", i + 1),
                unit: "personnes".into(),
                baseline: "0".into(),
                target: "200".into(),
                target_on: "31/12/2027".into(),
                ..Default::default()
            }
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
        for m in 0..20u32 {
            let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
                + chrono::Days::new(u64::from(m) * 30);
            let raw = MeasurementRaw {
                measured_on: date.format("%Y-%m-%d").to_string(),
                value: (m * 9 + i as u32 % 7).to_string(),
                ..Default::default()
            };
            indicators::add_measurement(db, &actor, &c, &ind, &raw.parse().unwrap())
                .await
                .unwrap();
        }
    }
    c.id
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

async fn run(backend: Backend) {
    // No micro-cache: every request renders the page.
    let config = maillage::config::Config {
        public_cache_ttl: Duration::ZERO,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    let t = Instant::now();
    let id = large_plan(&app).await;
    println!(
        "{backend:?}: plan of 5 axes, 60 actions, 200 indicators × 20 measurements loaded in {:?}",
        t.elapsed()
    );

    let client = reqwest::Client::new();
    let url = app.url(&format!("/t/lens-lievin/contrat/{id}"));
    let mut times = Vec::new();
    let mut size = 0;
    for i in 0..110 {
        let t = Instant::now();
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        size = r.bytes().await.unwrap().len();
        if i >= 10 {
            times.push(t.elapsed());
        }
    }
    summary(
        &format!("public contract page ({} kB), one client", size / 1024),
        times,
    );
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let r = client
            .get(app.url("/t/lens-lievin/actions/1.1.1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    summary("public action page (4 indicators with charts)", times);

    let staff = app.login("coordinator").await;
    let xurl = app.url(&format!("/admin/t/lens-lievin/contrats/{id}/plan.xlsx"));
    let mut times = Vec::new();
    for _ in 0..12 {
        let t = Instant::now();
        let r = staff.get(&xurl).send().await.unwrap();
        assert_eq!(r.status(), 200);
        size = r.bytes().await.unwrap().len();
        times.push(t.elapsed());
    }
    summary(
        &format!("XLSX export over HTTP ({} kB)", size / 1024),
        times,
    );

    // Where the export's time goes.
    let c = contract::get(
        &app.db,
        territories::get_by_slug(&app.db, "lens-lievin")
            .await
            .unwrap()
            .unwrap()
            .id,
        id,
    )
    .await
    .unwrap()
    .unwrap();
    let t = Instant::now();
    let p = maillage::plan::FullPlan::load(&app.db, c).await.unwrap();
    let loaded = t.elapsed();
    let t = Instant::now();
    let all = p.filtered(&Default::default(), chrono::Utc::now().date_naive());
    let bytes = maillage::plan::to_xlsx(&p, &all).unwrap();
    println!(
        "  export breakdown: load {loaded:?}, workbook {:?} ({} bytes)",
        t.elapsed(),
        bytes.len()
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
