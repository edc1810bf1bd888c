//! The process's cache of drop-in schedules (`web::agenda::world_cache`) on
//! SQLite and PostgreSQL: reused while nothing changes, and every change to
//! a series, an exception or a place shows on the next public page (micro-
//! cache off).

use crate::common;

use std::sync::Arc;

use chrono::{Duration, NaiveTime, Utc};
use common::{Backend, TestApp};
use maillage::domain::agenda::recurrence::{Exception, Pattern};
use maillage::storage::agenda::{self, NewPlace, SeriesInput};
use maillage::storage::audit::Actor;
use maillage::storage::territories;

fn input(title: &str, place_id: i64, first: chrono::NaiveDate) -> SeriesInput {
    SeriesInput {
        title: title.into(),
        mediators: "Médiatrice santé".into(),
        place_id,
        first_date: first,
        end_date: Some(first + Duration::days(70)),
        start_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end_time: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        rrule: Pattern::Weekly(chrono::Datelike::weekday(&first)).to_rrule(),
        skip_holidays: false,
        access: "walk_in".into(),
        services: "Droits".into(),
        action_id: None,
    }
}

async fn schedule_cache_follows_every_change(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        maillage::config::Config {
            public_cache_ttl: std::time::Duration::ZERO,
            ..Default::default()
        },
    )
    .await;
    let db = &app.db;
    let actor = Actor::system("test");
    let tid = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let place = agenda::create_place(
        db,
        &actor,
        tid,
        &NewPlace {
            name: "Centre social Dumas".into(),
            address: "1 rue Alexandre Dumas".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let first = today + Duration::days(1);
    let s = agenda::create_series(db, &actor, tid, &input("Permanence Alpha", place.id, first))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let page = |q: &'static str| {
        let client = client.clone();
        let url = app.url(&format!("/t/lens-lievin/permanences{q}"));
        async move {
            let r = client.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    assert!(page("").await.contains("Permanence Alpha"));

    // Unchanged: the same schedule is reused.
    let a = app.state.worlds.get(db, tid).await.unwrap();
    let b = app.state.worlds.get(db, tid).await.unwrap();
    assert!(Arc::ptr_eq(&a, &b));

    // A series edited.
    let s = agenda::update_series(
        db,
        &actor,
        tid,
        s.id,
        s.version,
        &input("Permanence Bravo", place.id, first),
    )
    .await
    .unwrap();
    let html = page("").await;
    assert!(html.contains("Permanence Bravo") && !html.contains("Permanence Alpha"));
    let c = app.state.worlds.get(db, tid).await.unwrap();
    assert!(!Arc::ptr_eq(&a, &c));

    // A session cancelled, then restored.
    agenda::set_exception(
        db,
        &actor,
        tid,
        s.id,
        &Exception::cancelled(first, "Formation"),
    )
    .await
    .unwrap();
    assert!(page("?vue=dates").await.contains("annulée"));
    agenda::remove_exception(db, &actor, tid, s.id, first)
        .await
        .unwrap();
    assert!(!page("?vue=dates").await.contains("annulée"));
    // Cancelled again: the exception is a new row with the same content.
    agenda::set_exception(
        db,
        &actor,
        tid,
        s.id,
        &Exception::cancelled(first, "Formation"),
    )
    .await
    .unwrap();
    assert!(page("?vue=dates").await.contains("annulée"));

    // The place renamed.
    agenda::update_place(
        db,
        &actor,
        tid,
        place.id,
        place.version,
        &NewPlace {
            name: "Maison des services Dumas".into(),
            address: "1 rue Alexandre Dumas".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    assert!(page("").await.contains("Maison des services Dumas"));

    // A second series, then the first one ended today: only the second shows.
    let charlie = agenda::create_series(
        db,
        &actor,
        tid,
        &input("Permanence Charlie", place.id, first),
    )
    .await
    .unwrap();
    assert!(page("").await.contains("Permanence Charlie"));
    agenda::end_series(db, &actor, tid, s.id, today)
        .await
        .unwrap();
    let html = page("").await;
    assert!(html.contains("Permanence Charlie") && !html.contains("Permanence Bravo"));

    // The place cards are built once per schedule, day, commune and what
    // else the page reads: online booking turned on or off (which leaves
    // the schedule's stamp alone) shows at once, and each commune has its
    // own cards.
    let booking = "Prendre rendez-vous en ligne";
    assert!(!page("").await.contains(booking));
    let settings = maillage::domain::agenda::slots::SlotSettings {
        slot_minutes: 30,
        per_slot: 1,
        open_days_before: 14,
        close_hours_before: 2,
    };
    let cfg = agenda::save_slot_config(db, &actor, tid, charlie.id, 0, true, &settings)
        .await
        .unwrap();
    assert!(page("").await.contains(booking));
    agenda::save_slot_config(db, &actor, tid, charlie.id, cfg.version, false, &settings)
        .await
        .unwrap();
    assert!(!page("").await.contains(booking));
    assert!(page("?commune=62498").await.contains("Permanence Charlie"));
    assert!(!page("?commune=62510").await.contains("Permanence Charlie"));
    assert!(page("").await.contains("Permanence Charlie"));
    app.stop().await;
}
both!(schedule_cache_follows_every_change);
