//! Figures for issue 11, printed, never asserted (run with
//! `cargo bench --bench diagnosis_page`): the demo's outlines and registers,
//! the territory widened to the 36 communes of CA de Lens - Liévin, then the
//! time to recompute every commune's scores and to render the diagnosis
//! page, its API and its XLSX export, on SQLite and PostgreSQL, uncached.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use maillage::storage::audit::Actor;
use maillage::storage::{communes, territories};

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "  {label}: {} runs, p50 {:?}, p99 {:?}",
        times.len(),
        p(0.5),
        p(0.99)
    );
}

async fn run(backend: Backend) {
    let config = maillage::config::Config {
        public_cache_ttl: Duration::ZERO,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    maillage::demo::load_maps(&app.db).await.unwrap();
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let codes: Vec<String> = communes::epci_communes(&app.db, "246200364")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.insee_code)
        .collect();
    territories::set_communes(
        &app.db,
        &Actor::system("bench"),
        t.id,
        Some("246200364"),
        &codes,
    )
    .await
    .unwrap();
    let r = maillage::diagnosis::refresh(&app.db).await.unwrap();
    println!(
        "{backend:?}: {} ({} communes on the territory)",
        r.line(),
        codes.len()
    );
    let client = reqwest::Client::new();
    for (label, path, runs) in [
        ("diagnosis page", "/t/lens-lievin/diagnostic", 60),
        (
            "accessibility API",
            "/api/v1/diagnostic/lens-lievin/accessibility",
            60,
        ),
        ("XLSX export", "/t/lens-lievin/diagnostic/tableaux.xlsx", 20),
    ] {
        let url = app.url(path);
        let mut times = Vec::new();
        let mut size = 0;
        for i in 0..runs + 5 {
            let t = Instant::now();
            let r = client.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            size = r.bytes().await.unwrap().len();
            if i >= 5 {
                times.push(t.elapsed());
            }
        }
        summary(&format!("{label} ({} kB)", size / 1024), times);
    }
    app.stop().await;
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run(Backend::Sqlite));
    rt.block_on(run(Backend::Postgres));
}
