//! Figures for issue 12, printed, never asserted (run with
//! `cargo bench --bench report`):
//!
//! - the yearly review of the large plan of `cargo bench --bench plan`
//!   (5 axes, 60 actions, 200 indicators × 20 measurements), in each
//!   format: time in process (read + lay out + render), then time and peak
//!   memory of `maillage report` run as its own process under
//!   `/usr/bin/time -v`;
//! - the time to recompute every computed indicator of a territory with
//!   500 drop-in series and 5,000 events (one indicator per metric, on the
//!   contract and on each action).
//!
//! On SQLite and PostgreSQL.

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "support/large_plan.rs"]
mod large_plan;

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, Utc};
use common::{Backend, TestApp};
use large_plan::large_plan;
use maillage::domain::agenda::recurrence::Pattern;
use maillage::domain::evaluation::Metric;
use maillage::domain::indicator::IndicatorRaw;
use maillage::report::{self, Format};
use maillage::storage::agenda::{self, EventInput, NewPlace, SeriesInput, SessionInput};
use maillage::storage::audit::Actor;
use maillage::storage::{contract, indicators, territories};

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "  {label}: {} runs, p50 {:?}, max {:?}",
        times.len(),
        p(0.5),
        times[times.len() - 1]
    );
}

/// `maillage report` as its own process: (wall time, peak RSS in kB, size).
fn cli(url: &str, id: i64, format: Format) -> Option<(String, String, u64)> {
    let exe = env!("CARGO_BIN_EXE_maillage");
    let out = std::env::temp_dir().join(format!("maillage-bench-report.{}", format.extension()));
    let run = std::process::Command::new("/usr/bin/time")
        .arg("-v")
        .arg(exe)
        .args(["report", "--contract", &id.to_string(), "--year", "2026"])
        .args(["--format", format.extension(), "--output"])
        .arg(&out)
        .env("MAILLAGE_DATABASE_URL", url)
        .output()
        .ok()?;
    if !run.status.success() {
        println!(
            "  maillage report failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        return None;
    }
    let err = String::from_utf8_lossy(&run.stderr);
    let field = |name: &str| {
        err.lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.rsplit(": ").next())
            .unwrap_or("?")
            .trim()
            .to_owned()
    };
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    Some((
        field("Elapsed (wall clock) time"),
        field("Maximum resident set size"),
        size,
    ))
}

async fn yearly_review(app: &TestApp, backend: Backend) {
    let t = Instant::now();
    let id = large_plan(app).await;
    println!("{backend:?}: large plan loaded in {:?}", t.elapsed());
    let tid = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let c = contract::get(&app.db, tid, id).await.unwrap().unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let mut times = Vec::new();
    let mut blocks = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let doc = report::build(&app.db, c.clone(), Some(2026), today)
            .await
            .unwrap();
        blocks = doc.blocks.len();
        times.push(t.elapsed());
    }
    summary(&format!("read and lay out ({blocks} blocks)"), times);
    let doc = report::build(&app.db, c.clone(), Some(2026), today)
        .await
        .unwrap();
    for format in [Format::Html, Format::Docx, Format::Odt, Format::Xlsx] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            size = report::render(&doc, format).unwrap().len();
            times.push(t.elapsed());
        }
        summary(
            &format!("render {} ({} kB)", format.extension(), size / 1024),
            times,
        );
    }
    for format in [Format::Html, Format::Docx, Format::Odt, Format::Xlsx] {
        if let Some((wall, rss, size)) = cli(&app.state.config.database_url, id, format) {
            println!(
                "  maillage report --format {}: wall {wall}, peak RSS {rss} kB, file {} kB",
                format.extension(),
                size / 1024
            );
        }
    }
}

fn weekday(i: usize) -> chrono::Weekday {
    use chrono::Weekday::*;
    [Mon, Tue, Wed, Thu, Fri][i % 5]
}

async fn computed_indicators(app: &TestApp, backend: Backend) {
    let db = &app.db;
    let actor = Actor::system("bench");
    let tid = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let cs = contract::list(db, tid).await.unwrap();
    let c = cs.into_iter().next().expect("the large plan's contract");
    let plan = contract::plan(db, c.id).await.unwrap();
    let actions: Vec<i64> = plan.actions.iter().map(|a| a.id).collect();
    let mut places = Vec::new();
    for (i, insee) in ["62498", "62510"].iter().enumerate() {
        places.push(
            agenda::create_place(
                db,
                &actor,
                tid,
                &NewPlace {
                    name: format!("Lieu {i}"),
                    address: "1 rue".into(),
                    insee_code: (*insee).into(),
                    access_notes: String::new(),
                    phone: String::new(),
                },
            )
            .await
            .unwrap()
            .id,
        );
    }
    let t = Instant::now();
    let first = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
    for i in 0..500 {
        agenda::create_series(
            db,
            &actor,
            tid,
            &SeriesInput {
                title: format!("Permanence {i}"),
                mediators: String::new(),
                place_id: places[i % 2],
                first_date: first + chrono::Duration::days((i % 5) as i64),
                end_date: Some(NaiveDate::from_ymd_opt(2027, 12, 31).unwrap()),
                start_time: NaiveTime::from_hms_opt(9 + (i % 6) as u32, 0, 0).unwrap(),
                end_time: NaiveTime::from_hms_opt(11 + (i % 6) as u32, 0, 0).unwrap(),
                rrule: Pattern::Biweekly(weekday(i)).to_rrule(),
                skip_holidays: true,
                access: "walk_in".into(),
                services: String::new(),
                action_id: Some(actions[i % actions.len()]),
            },
        )
        .await
        .unwrap();
    }
    let start0 = Utc::now() - chrono::Duration::days(700);
    for i in 0..5000 {
        let e = agenda::create_event(
            db,
            &actor,
            tid,
            &EventInput {
                title: format!("Atelier {i}"),
                kind: "workshop".into(),
                status: "confirmed".into(),
                organiser: "CCAS".into(),
                themes: "Nutrition".into(),
                description: String::new(),
                linked_actions: String::new(),
                programme_to_come: false,
                action_id: Some(actions[i % actions.len()]),
            },
        )
        .await
        .unwrap();
        let start = start0 + chrono::Duration::hours(6 * i as i64);
        agenda::add_session(
            db,
            &actor,
            tid,
            e.id,
            &SessionInput {
                starts_at: start,
                ends_at: start + chrono::Duration::hours(2),
                place_id: Some(places[i % 2]),
                capacity: Some(20),
                audience: "public".into(),
                audience_roles: String::new(),
            },
        )
        .await
        .unwrap();
    }
    println!(
        "{backend:?}: 500 series and 5,000 events loaded in {:?}",
        t.elapsed()
    );
    // One computed indicator per metric on the contract, and one on each
    // action (the metrics in turn).
    let mut n = 0;
    for (i, target) in std::iter::once(None)
        .chain(actions.iter().map(|a| Some(*a)))
        .enumerate()
    {
        let metrics: Vec<Metric> = match target {
            None => Metric::ALL.to_vec(),
            Some(_) => vec![Metric::ALL[i % Metric::ALL.len()]],
        };
        for m in metrics {
            let raw = IndicatorRaw {
                kind: "process".into(),
                label: m.label().into(),
                source: m.code().into(),
                ..Default::default()
            };
            indicators::create(db, &actor, &c, target, &raw.parse().unwrap())
                .await
                .unwrap();
            n += 1;
        }
    }
    let inds = indicators::for_contract(db, c.id).await.unwrap();
    let today = Utc::now().date_naive();
    let mut times = Vec::new();
    let mut values = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let ms = maillage::evaluation::computed_measurements(db, &c, &inds, today)
            .await
            .unwrap();
        values = ms.values().map(Vec::len).sum();
        times.push(t.elapsed());
    }
    summary(
        &format!("recompute {n} computed indicators ({values} values)"),
        times,
    );
    let t = Instant::now();
    let facts = maillage::evaluation::Facts::load(db, c.territory_id, today)
        .await
        .unwrap();
    println!(
        "  of which reading the territory's facts: {:?}",
        t.elapsed()
    );
    drop(facts);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        rt.block_on(async {
            let config = maillage::config::Config::default();
            let app = TestApp::start_with(backend, config).await;
            yearly_review(&app, backend).await;
            computed_indicators(&app, backend).await;
            app.stop().await;
        });
    }
}
