//! Figures for issue 3, printed, never asserted (run with
//! `cargo bench --bench plan`): a large plan (5 axes, 60 actions, 200
//! indicators with 20 measurements each), then the time to render the public
//! contract page and to export the plan as XLSX, on SQLite and PostgreSQL.

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "support/large_plan.rs"]
mod large_plan;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use large_plan::large_plan;
use maillage::storage::{contract, territories};

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
