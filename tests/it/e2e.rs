//! End to end in a real browser: Debian's headless Chromium, driven by
//! `tests/e2e/run.mjs` (playwright-core), with an axe-core audit of every
//! public page and of the main back-office pages (WCAG 2.1 A and AA rules),
//! and checks on real page content.

use crate::common;

use std::process::Command;

use common::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_chromium_and_pass_axe() {
    let root = env!("CARGO_MANIFEST_DIR");
    let modules = format!("{root}/tests/e2e/node_modules");
    assert!(
        std::path::Path::new(&modules)
            .join("playwright-core")
            .exists(),
        "tests/e2e/node_modules is missing: run `bash scripts/test.sh` (it runs npm ci there)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Chromium is missing: run `bash scripts/test.sh`"
    );

    // A browser driven by a script fills forms faster than people: the
    // anti-spam minimum fill time (public registration included) is off.
    let app = TestApp::start_with(
        Backend::Sqlite,
        maillage::config::Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await;
    let event_id = seed_agenda(&app).await;
    let regional_event_id = seed_regional(&app).await;
    let contract_id = seed_contract(&app).await;
    let participation =
        maillage::storage::participation::seed_demo(&app.db, app_territory(&app).await)
            .await
            .expect("participation");
    let (action_id, series_id, held_on) = seed_evaluation(&app, contract_id).await;
    let year = held_on.format("%Y").to_string();
    let coordinator = app.account("coordinator").clone();
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(format!("{root}/tests/e2e/run.mjs"))
            .env("BASE_URL", base)
            .env("TERRITORY", "lens-lievin")
            .env("EVENT_ID", event_id.to_string())
            .env("REGIONAL_EVENT_ID", regional_event_id.to_string())
            .env("CONTRACT_ID", contract_id.to_string())
            .env("ACTION_ID", action_id.to_string())
            .env("SERIES_ID", series_id.to_string())
            .env("HELD_ON", held_on.to_string())
            .env("REVIEW_YEAR", year)
            .env("GROUP_ID", participation.group_id.to_string())
            .env("CONSULTATION_ID", participation.consultation_id.to_string())
            .env("E2E_EMAIL", &coordinator.email)
            .env("E2E_PASSWORD", &coordinator.password)
            .env("SCREENSHOTS", format!("{root}/target/e2e-screenshots"))
            .output()
            .expect("node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run.mjs failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");

    let pages = report["pages"].as_array().expect("pages");
    assert!(pages.len() >= 8, "too few pages audited: {}", pages.len());
    let mut problems = Vec::new();
    for p in pages {
        for v in p["violations"].as_array().unwrap() {
            problems.push(format!(
                "{} — {} ({}): {}",
                p["url"], v["id"], v["impact"], v["nodes"]
            ));
        }
    }
    for c in report["checks"].as_array().expect("checks") {
        if c["ok"] != true {
            problems.push(format!("check failed: {} — {}", c["name"], c["detail"]));
        }
    }
    assert!(report["checks"].as_array().unwrap().len() >= 6);

    // Issue 10's layout crawl: no page scrolls sideways, no control under
    // 24 × 24 px, no axe violation (WCAG 2.1 and 2.2 AA), at both sizes.
    let layout = report["layout"].as_array().expect("layout crawl");
    let public = layout
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").starts_with("/t/"))
        .count();
    assert!(public >= 40, "too few public pages crawled: {public}");
    for r in layout {
        let at = format!("{} px {}", r["size"], r["path"]);
        if r["status"] != 200 {
            problems.push(format!("{at}: status {}", r["status"]));
        }
        if r["overflow"].as_i64().unwrap_or(0) > 0 {
            problems.push(format!(
                "{at}: scrolls sideways by {} px ({})",
                r["overflow"], r["widest"]
            ));
        }
        if !r["small"].as_array().unwrap().is_empty() {
            problems.push(format!("{at}: targets under 24 px: {}", r["small"]));
        }
        for v in r["violations"].as_array().unwrap() {
            problems.push(format!("{at}: axe {} — {}", v["id"], v["nodes"]));
        }
    }
    println!("layout crawl: {}", report["layout_summary"]);
    assert!(
        problems.is_empty(),
        "end-to-end problems:\n{}",
        problems.join("\n")
    );

    // The browser's edit reached the database.
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.contact_phone, "03 21 99 88 77");
    app.stop().await;
}

/// A weekly drop-in series from today and a workshop next week, so that the
/// agenda pages are audited with content.
async fn seed_agenda(app: &TestApp) -> i64 {
    use chrono::{Duration, NaiveTime, Utc, Weekday};
    use maillage::domain::agenda::recurrence::Pattern;
    use maillage::storage::agenda::{self, EventInput, NewPlace, SeriesInput, SessionInput};
    let actor = maillage::storage::audit::Actor::system("test");
    let tid = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let place = NewPlace {
        name: "Centre social Dumas".into(),
        address: "1 rue Alexandre Dumas".into(),
        insee_code: "62498".into(),
        access_notes: "Accès de plain-pied, bus ligne 3".into(),
        phone: String::new(),
    };
    let place = agenda::create_place(&app.db, &actor, tid, &place)
        .await
        .unwrap()
        .id;
    let today = Utc::now().date_naive();
    let series = SeriesInput {
        title: "Permanence des médiateurs santé".into(),
        mediators: "Médiateurs santé".into(),
        place_id: place,
        first_date: today,
        end_date: Some(today + Duration::days(70)),
        start_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
        rrule: Pattern::Weekly(Weekday::Mon).to_rrule(),
        skip_holidays: true,
        access: "walk_in".into(),
        services: "Écoute, conseils, accompagnement".into(),
        action_id: None,
    };
    // The series starts on the next Monday the rule gives.
    agenda::create_series(&app.db, &actor, tid, &series)
        .await
        .unwrap();
    let event = EventInput {
        title: "Atelier « Bien vieillir »".into(),
        kind: "workshop".into(),
        status: "confirmed".into(),
        organiser: "CCAS de Lens".into(),
        themes: "vieillissement".into(),
        description: "Un atelier pour les plus de 60 ans.".into(),
        linked_actions: String::new(),
        programme_to_come: false,
        action_id: None,
    };
    let event = agenda::create_event(&app.db, &actor, tid, &event)
        .await
        .unwrap();
    let start = Utc::now() + Duration::days(7);
    let session = SessionInput {
        starts_at: start,
        ends_at: start + Duration::hours(2),
        place_id: Some(place),
        capacity: Some(12),
        audience: "public".into(),
        audience_roles: String::new(),
    };
    agenda::add_session(&app.db, &actor, tid, event.id, &session)
        .await
        .unwrap();
    event.id
}

/// A regional professionals' day concerning the territory (issue 13): a
/// morning and an afternoon for different audiences, at a place typed as
/// text.
async fn seed_regional(app: &TestApp) -> i64 {
    use chrono::{Duration, Utc};
    use maillage::storage::agenda::{self, Concerns, EventInput, SessionInput};
    let actor = maillage::storage::audit::Actor::system("test");
    let tid = app_territory(app).await;
    let e = agenda::create_regional_event(
        &app.db,
        &actor,
        &EventInput {
            title: "Journée régionale des contrats locaux de santé".into(),
            kind: "professionals_day".into(),
            status: "confirmed".into(),
            organiser: "Centre de ressources régional".into(),
            themes: "Coordination".into(),
            description: "Le matin pour les professionnels de santé, l’après-midi pour les élus et les coordinateurs.".into(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
        &Concerns {
            whole_region: false,
            territory_ids: vec![tid],
        },
    )
    .await
    .unwrap();
    let start = Utc::now() + Duration::days(9);
    for (h, roles) in [(0, "Professionnels de santé"), (5, "Élus\nCoordinateurs")] {
        let s = SessionInput {
            starts_at: start + Duration::hours(h),
            ends_at: start + Duration::hours(h + 3),
            place_id: None,
            capacity: Some(100),
            audience: "roles".into(),
            audience_roles: roles.into(),
        };
        agenda::add_regional_session(
            &app.db,
            &actor,
            e.id,
            &s,
            "Arras, Maison régionale des sports",
        )
        .await
        .unwrap();
    }
    e.id
}

/// The evaluation pages with content (issue 12): the demo's meetings,
/// forum and computed indicators, and a weekly drop-in held for four weeks,
/// linked to the first fiche action. Returns (action, series, a day held).
async fn seed_evaluation(app: &TestApp, contract_id: i64) -> (i64, i64, chrono::NaiveDate) {
    use chrono::{Datelike, Duration, NaiveTime, Utc};
    use maillage::domain::agenda::recurrence::Pattern;
    use maillage::storage::agenda::{self, SeriesInput};
    let actor = maillage::storage::audit::Actor::system("test");
    let tid = app_territory(app).await;
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    maillage::demo_evaluation::load(&app.db, tid, today)
        .await
        .expect("demo evaluation");
    let plan = maillage::storage::contract::plan(&app.db, contract_id)
        .await
        .unwrap();
    let action = plan.actions[0].id;
    let first = today - Duration::days(28);
    let place = agenda::list_places(&app.db, tid).await.unwrap()[0].id;
    let series = agenda::create_series(
        &app.db,
        &actor,
        tid,
        &SeriesInput {
            title: "Permanence d'accès aux droits".into(),
            mediators: "Médiatrice santé".into(),
            place_id: place,
            first_date: first,
            end_date: Some(today + Duration::days(56)),
            start_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end_time: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            rrule: Pattern::Weekly(first.weekday()).to_rrule(),
            skip_holidays: false,
            access: "walk_in".into(),
            services: "Droits à l'assurance maladie".into(),
            action_id: Some(action),
        },
    )
    .await
    .unwrap();
    (action, series.id, today - Duration::days(7))
}

async fn app_territory(app: &TestApp) -> i64 {
    maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The demo contract (three axes, fiches with partners, budget and
/// indicators), for the contract pages; the partner account leads 2.1.1.
async fn seed_contract(app: &TestApp) -> i64 {
    let tid = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    maillage::demo_contract::load(&app.db, tid, Some("partner@lens.test"))
        .await
        .unwrap();
    maillage::storage::contract::list(&app.db, tid)
        .await
        .unwrap()[0]
        .id
}
