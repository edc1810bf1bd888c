//! Agenda storage on SQLite and PostgreSQL: places, series and exceptions,
//! events and sessions, registrations with the waiting list (including
//! concurrent registrations for the last seat), daily view counts.

use crate::common;

use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use common::{fresh_db, Backend};
use maillage::domain::agenda::event::NewRegistration;
use maillage::domain::agenda::recurrence::{self, Exception, OccurrenceStatus, Pattern};
use maillage::domain::codes::Slug;
use maillage::domain::territory::{NewTerritory, TerritoryKind};
use maillage::storage::agenda::{
    self, EventInput, NewPlace, RegisterError, SeriesInput, SessionInput,
};
use maillage::storage::audit::{self, Actor};
use maillage::storage::{territories, Db, DbError};

fn actor() -> Actor {
    Actor::system("test")
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}
fn t(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).unwrap()
}

async fn world(db: &Db) -> (i64, i64) {
    maillage::demo::load_geography(db).await.unwrap();
    let tid = territories::create(
        db,
        &actor(),
        &NewTerritory {
            slug: Slug::parse("lens-lievin").unwrap(),
            name: "Lens-Liévin".into(),
            kind: TerritoryKind::Epci,
        },
    )
    .await
    .unwrap()
    .id;
    let place = agenda::create_place(
        db,
        &actor(),
        tid,
        &NewPlace {
            name: "Centre social Vachette".into(),
            address: "Rue de la Vachette".into(),
            insee_code: "62498".into(),
            access_notes: "Rez-de-chaussée, accessible en fauteuil".into(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    (tid, place.id)
}

fn series_input(place_id: i64) -> SeriesInput {
    SeriesInput {
        title: "Permanence des médiateurs santé".into(),
        mediators: "Awa Diallo\nJean Martin".into(),
        place_id,
        first_date: d(2024, 10, 14),
        end_date: Some(d(2024, 12, 31)),
        start_time: t(14),
        end_time: t(16),
        rrule: Pattern::Biweekly(chrono::Weekday::Mon).to_rrule(),
        skip_holidays: true,
        access: "walk_in".into(),
        services: "Ouverture de droits, complémentaire santé".into(),
        action_id: None,
    }
}

async fn series_and_exceptions(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, place) = world(db).await;
    assert_eq!(
        agenda::list_places(db, tid).await.unwrap()[0].commune_name,
        "Lens"
    );

    let s = agenda::create_series(db, &actor(), tid, &series_input(place))
        .await
        .unwrap();
    assert_eq!(s.first_date, "2024-10-14");
    assert_eq!(s.start_time, "14:00");
    let schedule = s.schedule().unwrap();
    assert_eq!(
        schedule.dates(),
        vec![
            d(2024, 10, 14),
            d(2024, 10, 28),
            d(2024, 11, 25),
            d(2024, 12, 9),
            d(2024, 12, 23)
        ]
    );

    // A rule that never ends is refused, nothing is written.
    let mut bad = series_input(place);
    bad.end_date = None;
    assert!(agenda::create_series(db, &actor(), tid, &bad)
        .await
        .is_err());
    assert_eq!(agenda::list_series(db, tid).await.unwrap().len(), 1);

    // Cancel one, move another; a date the series does not have is refused.
    agenda::set_exception(
        db,
        &actor(),
        tid,
        s.id,
        &Exception::cancelled(d(2024, 10, 28), "Formation"),
    )
    .await
    .unwrap();
    let moved = Exception::moved(
        d(2024, 12, 9),
        d(2024, 12, 10),
        t(10),
        t(12),
        None,
        "Reportée au mardi",
    )
    .unwrap();
    agenda::set_exception(db, &actor(), tid, s.id, &moved)
        .await
        .unwrap();
    let err = agenda::set_exception(
        db,
        &actor(),
        tid,
        s.id,
        &Exception::cancelled(d(2024, 10, 15), ""),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)));
    let exc: Vec<Exception> = agenda::exceptions(db, tid)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(exc.len(), 2);
    let occ = recurrence::expand(&schedule, &exc, d(2024, 10, 1), d(2024, 12, 31));
    let statuses: Vec<(NaiveDate, OccurrenceStatus)> =
        occ.iter().map(|o| (o.date, o.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (d(2024, 10, 14), OccurrenceStatus::Scheduled),
            (d(2024, 10, 28), OccurrenceStatus::Cancelled),
            (d(2024, 11, 25), OccurrenceStatus::Scheduled),
            (d(2024, 12, 10), OccurrenceStatus::Moved),
            (d(2024, 12, 23), OccurrenceStatus::Scheduled),
        ]
    );
    // Restoring removes the exception.
    agenda::remove_exception(db, &actor(), tid, s.id, d(2024, 10, 28))
        .await
        .unwrap();
    assert_eq!(agenda::exceptions(db, tid).await.unwrap().len(), 1);

    // Optimistic update.
    let mut changed = series_input(place);
    changed.rrule = Pattern::Weekly(chrono::Weekday::Mon).to_rrule();
    let s2 = agenda::update_series(db, &actor(), tid, s.id, s.version, &changed)
        .await
        .unwrap();
    assert_eq!(s2.version, s.version + 1);
    assert!(matches!(
        agenda::update_series(db, &actor(), tid, s.id, s.version, &changed).await,
        Err(DbError::Stale)
    ));
    // Another territory cannot see it.
    assert!(matches!(
        agenda::get_series(db, tid + 1000, s.id).await,
        Err(DbError::NotFound)
    ));
    let history = audit::for_entity(db, "dropin_series", &s.id.to_string(), 10)
        .await
        .unwrap();
    assert!(history.len() >= 4);
    tdb.cleanup().await;
}
both!(series_and_exceptions);

async fn event_with_session(db: &Db, tid: i64, place: i64, capacity: Option<i64>) -> (i64, i64) {
    let e = agenda::create_event(
        db,
        &actor(),
        tid,
        &EventInput {
            title: "Atelier nutrition".into(),
            kind: "workshop".into(),
            status: "confirmed".into(),
            organiser: "CCAS de Lens".into(),
            themes: "Nutrition\nSeniors".into(),
            description: "Cuisiner simple et équilibré.".into(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
    )
    .await
    .unwrap();
    let start = Utc::now() + Duration::days(10);
    let s = agenda::add_session(
        db,
        &actor(),
        tid,
        e.id,
        &SessionInput {
            starts_at: start,
            ends_at: start + Duration::hours(2),
            place_id: Some(place),
            capacity,
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await
    .unwrap();
    (e.id, s.id)
}

fn person(name: &str, party: i64) -> NewRegistration {
    NewRegistration {
        name: name.into(),
        email: Some(format!("{}@exemple.test", name.to_lowercase())),
        phone: None,
        party_size: party,
        consent: true,
    }
}

async fn registrations_and_waiting_list(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, place) = world(db).await;
    let (event, session) = event_with_session(db, tid, place, Some(3)).await;
    assert_eq!(
        agenda::get_event(db, tid, event)
            .await
            .unwrap()
            .theme_list(),
        vec!["Nutrition", "Seniors"]
    );

    // Bad session input.
    let now = Utc::now();
    let bad = SessionInput {
        starts_at: now,
        ends_at: now - Duration::hours(1),
        place_id: None,
        capacity: Some(0),
        audience: "public".into(),
        audience_roles: String::new(),
    };
    assert!(agenda::add_session(db, &actor(), tid, event, &bad)
        .await
        .is_err());

    let (a, tok_a) = agenda::register(db, session, &person("Alice", 2), Some("k-a"), "public")
        .await
        .unwrap();
    assert_eq!(a.status, "confirmed");
    let tok_a = tok_a.unwrap();
    // Double submission: same key, same registration, no second seat.
    let (again, none) = agenda::register(db, session, &person("Alice", 2), Some("k-a"), "public")
        .await
        .unwrap();
    assert_eq!((again.id, none), (a.id, None));
    let (b, _) = agenda::register(db, session, &person("Bruno", 2), None, "public")
        .await
        .unwrap();
    assert_eq!(b.status, "waiting", "2 + 2 > 3");
    let (c, _) = agenda::register(db, session, &person("Chloé", 1), None, "coord@lens.test")
        .await
        .unwrap();
    assert_eq!(c.status, "waiting", "nobody jumps the queue");
    assert!(matches!(
        agenda::register(db, session, &person("Géant", 4), None, "public").await,
        Err(RegisterError::PartyTooLarge)
    ));
    let s = agenda::get_session(db, session).await.unwrap();
    assert_eq!((s.taken, s.waiting), (2, 3));

    // Alice cancels with her link: Bruno then Chloé are promoted in order.
    assert!(agenda::cancel_by_token(db, "not-a-token").await.is_err());
    let (cancelled, promoted) = agenda::cancel_by_token(db, &tok_a).await.unwrap();
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(promoted, vec![b.id, c.id]);
    let list = agenda::registrations(db, session).await.unwrap();
    let st: Vec<&str> = list.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(st, vec!["cancelled", "confirmed", "confirmed"]);

    agenda::mark_attendance(db, &actor(), tid, b.id, true)
        .await
        .unwrap();
    assert!(
        agenda::mark_attendance(db, &actor(), tid, a.id, true)
            .await
            .is_err(),
        "cancelled"
    );
    assert_eq!(
        agenda::registrations(db, session).await.unwrap()[1].attended,
        Some(true)
    );

    // A cancelled session takes no registration.
    agenda::cancel_session(db, &actor(), tid, session)
        .await
        .unwrap();
    assert!(matches!(
        agenda::register(db, session, &person("Denis", 1), None, "public").await,
        Err(RegisterError::SessionCancelled)
    ));
    // Retention: nothing ended before now yet.
    assert_eq!(
        agenda::purge_registrations(db, Utc::now()).await.unwrap(),
        0
    );
    assert_eq!(
        agenda::purge_registrations(db, Utc::now() + Duration::days(30))
            .await
            .unwrap(),
        3
    );
    tdb.cleanup().await;
}
both!(registrations_and_waiting_list);

async fn last_seat_is_given_once(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = tdb.db.clone();
    let (tid, place) = world(&db).await;
    let (_, session) = event_with_session(&db, tid, place, Some(5)).await;
    let db = Arc::new(db);
    let mut handles = Vec::new();
    for i in 0..24 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            agenda::register(&db, session, &person(&format!("P{i}"), 1), None, "public")
                .await
                .map(|(r, _)| r.status)
        }));
    }
    let mut confirmed = 0;
    for h in handles {
        let status = h.await.unwrap().expect("registration");
        if status == "confirmed" {
            confirmed += 1;
        }
    }
    assert_eq!(confirmed, 5);
    let s = agenda::get_session(&db, session).await.unwrap();
    assert_eq!((s.taken, s.waiting), (5, 19));
    tdb.cleanup().await;
}
both!(last_seat_is_given_once);

async fn views_are_counted_once_per_visitor_and_day(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, place) = world(db).await;
    let (event, _) = event_with_session(db, tid, place, None).await;
    let today = d(2026, 11, 23);
    for v in ["a", "b", "a", "a", "c"] {
        agenda::record_view(db, event, today, v).await.unwrap();
    }
    assert_eq!(agenda::view_count(db, event).await.unwrap(), 3);
    // Next day: the same visitor counts again, and yesterday's hashes are gone.
    agenda::record_view(db, event, today.succ_opt().unwrap(), "a")
        .await
        .unwrap();
    assert_eq!(agenda::view_count(db, event).await.unwrap(), 4);
    let left: (i64,) = maillage::db_run!(db, pool => sqlx::query_as("SELECT COUNT(*) FROM event_view_visitors")
        .fetch_one(pool).await.unwrap());
    assert_eq!(left.0, 1);
    tdb.cleanup().await;
}
both!(views_are_counted_once_per_visitor_and_day);

/// The public agenda's query: filters in SQL (dates, commune, audience, a
/// whole theme line, wildcards taken literally), a limit and the total.
async fn agenda_filters_run_in_sql(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, place) = world(db).await;
    let other_place = agenda::create_place(
        db,
        &actor(),
        tid,
        &NewPlace {
            name: "Maison des associations".into(),
            address: String::new(),
            insee_code: "62510".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let now = Utc::now();
    let mut expected_ids = Vec::new();
    for (i, (themes, place_id, audience)) in [
        ("Nutrition\nSeniors", place, "public"),
        ("Nutrition infantile", place, "public"),
        ("100%_santé", other_place.id, "professionals"),
        ("Nutrition", other_place.id, "public"),
    ]
    .into_iter()
    .enumerate()
    {
        let e = agenda::create_event(
            db,
            &actor(),
            tid,
            &EventInput {
                title: format!("Événement {i}"),
                kind: "workshop".into(),
                status: "confirmed".into(),
                organiser: String::new(),
                themes: themes.into(),
                description: String::new(),
                linked_actions: String::new(),
                programme_to_come: false,
                action_id: None,
            },
        )
        .await
        .unwrap();
        let start = now + Duration::days(i as i64 + 1);
        let s = agenda::add_session(
            db,
            &actor(),
            tid,
            e.id,
            &SessionInput {
                starts_at: start,
                ends_at: start + Duration::hours(2),
                place_id: Some(place_id),
                capacity: Some(10),
                audience: audience.into(),
                audience_roles: String::new(),
            },
        )
        .await
        .unwrap();
        expected_ids.push(s.id);
    }
    let run = |f: agenda::AgendaFilter, limit: i64| {
        let db = db.clone();
        async move {
            let (rows, total) = agenda::agenda_sessions(&db, tid, &f, limit).await.unwrap();
            (rows.iter().map(|s| s.id).collect::<Vec<_>>(), total)
        }
    };
    let base = agenda::AgendaFilter {
        from: now,
        ..Default::default()
    };
    let ids = &expected_ids;
    assert_eq!(run(base.clone(), 10).await, (ids.clone(), 4));
    assert_eq!(
        run(base.clone(), 2).await,
        (ids[..2].to_vec(), 4),
        "limit, total"
    );
    let theme = |t: &str| agenda::AgendaFilter {
        theme: Some(t.into()),
        ..base.clone()
    };
    assert_eq!(
        run(theme("Nutrition"), 10).await,
        (vec![ids[0], ids[3]], 2),
        "whole lines only"
    );
    assert_eq!(run(theme("Seniors"), 10).await.1, 1);
    assert_eq!(run(theme("100%_santé"), 10).await.1, 1);
    assert_eq!(run(theme("100%"), 10).await.1, 0, "% is not a wildcard");
    assert_eq!(
        run(theme("1__%_santé"), 10).await.1,
        0,
        "_ is not a wildcard"
    );
    let commune = agenda::AgendaFilter {
        insee_code: Some("62510".into()),
        ..base.clone()
    };
    assert_eq!(run(commune, 10).await, (vec![ids[2], ids[3]], 2));
    let pros = agenda::AgendaFilter {
        audience: Some("professionals".into()),
        ..base.clone()
    };
    assert_eq!(run(pros, 10).await, (vec![ids[2]], 1));
    let window = agenda::AgendaFilter {
        from: now + Duration::days(2) - Duration::hours(1),
        until: Some(now + Duration::days(3) + Duration::hours(1)),
        ..base.clone()
    };
    assert_eq!(run(window, 10).await, (vec![ids[1], ids[2]], 2));
    // Seat counts for the sessions shown, in one query.
    let (mut rows, _) = agenda::agenda_sessions(db, tid, &base, 10).await.unwrap();
    agenda::register(db, ids[0], &person("Alice", 2), Some("k1"), "test")
        .await
        .unwrap();
    agenda::fill_seat_counts(db, &mut rows).await.unwrap();
    assert_eq!((rows[0].taken, rows[0].waiting), (2, 0));
    assert_eq!(rows[1].taken, 0);
    tdb.cleanup().await;
}
both!(agenda_filters_run_in_sql);
