//! Figures for issue 4, printed, never asserted (run with
//! `cargo bench --bench agenda`):
//! expanding 1,000 series over a year, and the public agenda and permanences
//! pages with 5,000 events and 500 series under 32 concurrent clients
//! (micro-cache off).

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, Utc, Weekday};
use common::{Backend, TestApp};
use maillage::domain::agenda::recurrence::{self, Pattern, Schedule, ScheduleInput};
use maillage::storage::agenda::{self, EventInput, NewPlace, SeriesInput, SessionInput};
use maillage::storage::audit::Actor;
use maillage::storage::territories;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn weekday(i: usize) -> Weekday {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ][i % 5]
}

fn expand_1000_series_over_a_year() {
    let started = Instant::now();
    let schedules: Vec<Schedule> = (0..1000)
        .map(|i| {
            let rule = match i % 3 {
                0 => Pattern::Weekly(weekday(i)).to_rrule(),
                1 => Pattern::Biweekly(weekday(i)).to_rrule(),
                _ => Pattern::MonthlyNth((i % 4 + 1) as i8, weekday(i)).to_rrule(),
            };
            Schedule::new(&ScheduleInput {
                first_date: d(2026, 1, 1),
                end_date: Some(d(2026, 12, 31)),
                start_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
                end_time: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
                rule: &rule,
                skip_holidays: true,
            })
            .unwrap()
        })
        .collect();
    let validated = started.elapsed();
    let started = Instant::now();
    let n: usize = schedules
        .iter()
        .map(|s| recurrence::expand(s, &[], d(2026, 1, 1), d(2026, 12, 31)).len())
        .sum();
    println!(
        "1,000 series over 2026: validated in {:?}, expanded to {n} occurrences in {:?}",
        validated,
        started.elapsed()
    );
}

async fn load(app: &TestApp) {
    let tid = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let actor = Actor::system("bench");
    let mut places = Vec::new();
    for (i, insee) in ["62498", "62510"].iter().enumerate() {
        places.push(
            agenda::create_place(
                &app.db,
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
    for i in 0..500 {
        agenda::create_series(
            &app.db,
            &actor,
            tid,
            &SeriesInput {
                title: format!("Permanence {i}"),
                mediators: String::new(),
                place_id: places[i % 2],
                first_date: Utc::now().date_naive(),
                end_date: Some(Utc::now().date_naive() + chrono::Duration::days(365)),
                start_time: NaiveTime::from_hms_opt(9 + (i % 6) as u32, 0, 0).unwrap(),
                end_time: NaiveTime::from_hms_opt(11 + (i % 6) as u32, 0, 0).unwrap(),
                rrule: Pattern::Biweekly(weekday(i)).to_rrule(),
                skip_holidays: true,
                access: "walk_in".into(),
                services: String::new(),
                action_id: None,
            },
        )
        .await
        .unwrap();
    }
    for i in 0..5000 {
        let e = agenda::create_event(
            &app.db,
            &actor,
            tid,
            &EventInput {
                title: format!("Atelier {i}"),
                kind: "workshop".into(),
                status: "confirmed".into(),
                organiser: "CCAS".into(),
                themes: ["Nutrition", "Santé mentale", "Seniors"][i % 3].into(),
                description: String::new(),
                linked_actions: String::new(),
                programme_to_come: false,
                action_id: None,
            },
        )
        .await
        .unwrap();
        let start = Utc::now() + chrono::Duration::hours(6 * i as i64 + 1);
        agenda::add_session(
            &app.db,
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
}

async fn measure(app: &TestApp, path: &str) {
    let client = reqwest::Client::new();
    let url = app.url(path);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "{path}: {} requests in 10 s ({:.0}/s), p50 {:?}, p99 {:?}",
        all.len(),
        all.len() as f64 / 10.0,
        p(0.5),
        p(0.99)
    );
}

async fn pages_under_load(backend: Backend) {
    // No micro-cache: every request renders the page (with the 2 s cache on,
    // nearly every request would be a cache hit and say nothing of the page).
    let config = maillage::config::Config {
        public_cache_ttl: Duration::ZERO,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    let t = Instant::now();
    load(&app).await;
    println!(
        "{backend:?}: 500 series and 5,000 events loaded in {:?}",
        t.elapsed()
    );
    // The planner's statistics, as a live base has them (PostgreSQL's
    // autovacuum, `maillage`'s imports and demo on SQLite): without them
    // PostgreSQL guesses 5 sessions where there are 5,000.
    match &app.db {
        maillage::storage::Db::Sqlite(pool) => {
            sqlx::query("ANALYZE").execute(pool).await.map(|_| ())
        }
        maillage::storage::Db::Postgres(pool) => {
            sqlx::query("ANALYZE").execute(pool).await.map(|_| ())
        }
    }
    .expect("ANALYZE");
    measure(&app, "/t/lens-lievin/agenda").await;
    measure(&app, "/t/lens-lievin/permanences").await;
    app.stop().await;
}

fn main() {
    expand_1000_series_over_a_year();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(pages_under_load(Backend::Sqlite));
    rt.block_on(pages_under_load(Backend::Postgres));
}
