//! Slots of drop-in series (issue 16) on SQLite and PostgreSQL: capacity,
//! 50 parallel bookings of one slot, past and out-of-window slots refused,
//! cancel by token, moved and cancelled occurrences, check-in, walk-ins,
//! no-show rates, mediators.

use crate::common;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use common::{fresh_db, Backend};
use maillage::domain::agenda::recurrence::{Exception, Pattern};
use maillage::domain::agenda::slots::{BookingStatus, NewBooking, Refusal, SlotSettings};
use maillage::domain::codes::Slug;
use maillage::domain::roles::{InstanceRole, Role};
use maillage::domain::territory::{NewTerritory, TerritoryKind};
use maillage::storage::agenda::{self, BookError, NewPlace, SeriesInput};
use maillage::storage::audit::Actor;
use maillage::storage::{territories, users, Db, DbError};

fn actor() -> Actor {
    Actor::system("test")
}
fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}
fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}
/// An instant given in Paris time.
fn paris(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
    Paris
        .from_local_datetime(&d(y, m, day).and_time(hm(h, min)))
        .unwrap()
        .with_timezone(&Utc)
}
fn person(name: &str) -> NewBooking {
    NewBooking::parse(name, "06 12 34 56 78", "", true).unwrap()
}
fn settings(per_slot: i64) -> SlotSettings {
    SlotSettings {
        slot_minutes: 30,
        per_slot,
        open_days_before: 14,
        close_hours_before: 2,
    }
}

/// Lens-Liévin with a place in Lens and one in Liévin, and a series on
/// Mondays 14:00–16:00 from 2026-10-05 to 2026-12-28 in Lens, slots on.
async fn world(db: &Db, per_slot: i64) -> (i64, i64, i64) {
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
    let mut places = Vec::new();
    for (name, insee) in [
        ("Centre social Vachette", "62498"),
        ("Mairie de Liévin", "62510"),
    ] {
        places.push(
            agenda::create_place(
                db,
                &actor(),
                tid,
                &NewPlace {
                    name: name.into(),
                    address: String::new(),
                    insee_code: insee.into(),
                    access_notes: String::new(),
                    phone: String::new(),
                },
            )
            .await
            .unwrap()
            .id,
        );
    }
    let series = agenda::create_series(
        db,
        &actor(),
        tid,
        &SeriesInput {
            title: "Permanence santé".into(),
            mediators: "Awa".into(),
            place_id: places[0],
            first_date: d(2026, 10, 5),
            end_date: Some(d(2026, 12, 28)),
            start_time: hm(14, 0),
            end_time: hm(16, 0),
            rrule: Pattern::Weekly(chrono::Weekday::Mon).to_rrule(),
            skip_holidays: true,
            access: "appointment".into(),
            services: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap()
    .id;
    agenda::save_slot_config(db, &actor(), tid, series, 0, true, &settings(per_slot))
        .await
        .unwrap();
    (tid, series, places[1])
}

/// A week before the 2026-10-12 session: inside the window.
fn before_12() -> DateTime<Utc> {
    paris(2026, 10, 5, 12, 0)
}

async fn book(
    db: &Db,
    tid: i64,
    series: i64,
    date: NaiveDate,
    slot: NaiveTime,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(agenda::SlotBooking, Option<String>), BookError> {
    agenda::book_slot(db, tid, series, date, slot, &person(name), None, None, now).await
}

fn refusal<T: std::fmt::Debug>(r: Result<T, BookError>) -> Refusal {
    match r {
        Err(BookError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn capacity_and_double_submission(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, _) = world(db, 2).await;
    let date = d(2026, 10, 12);
    let (a, tok) = book(db, tid, series, date, hm(14, 0), "Awa", before_12())
        .await
        .unwrap();
    assert!(tok.is_some());
    assert_eq!(a.phone.as_deref(), Some("+33612345678"));
    assert_eq!(a.status, "booked");
    assert_eq!(a.booked_by, None);
    book(db, tid, series, date, hm(14, 0), "Bruno", before_12())
        .await
        .unwrap();
    assert_eq!(
        refusal(book(db, tid, series, date, hm(14, 0), "Chloé", before_12()).await),
        Refusal::Full
    );
    // Another slot of the same date still has room.
    book(db, tid, series, date, hm(14, 30), "Chloé", before_12())
        .await
        .unwrap();
    // A form sent twice books once.
    let first = agenda::book_slot(
        db,
        tid,
        series,
        date,
        hm(15, 0),
        &person("Denis"),
        Some("k1"),
        None,
        before_12(),
    )
    .await
    .unwrap();
    let again = agenda::book_slot(
        db,
        tid,
        series,
        date,
        hm(15, 0),
        &person("Denis"),
        Some("k1"),
        None,
        before_12(),
    )
    .await
    .unwrap();
    assert_eq!(first.0.id, again.0.id);
    assert!(again.1.is_none());
    let taken = agenda::taken_slots(db, series, d(2026, 10, 1))
        .await
        .unwrap();
    assert_eq!(taken.get(&("2026-10-12".into(), "14:00".into())), Some(&2));
    assert_eq!(taken.get(&("2026-10-12".into(), "15:00".into())), Some(&1));
    assert_eq!(
        agenda::occurrence_bookings(db, series, date)
            .await
            .unwrap()
            .len(),
        4
    );
    // Another territory's id does not reach this series.
    assert!(matches!(
        book(db, tid + 1000, series, date, hm(15, 30), "Eve", before_12()).await,
        Err(BookError::Db(DbError::NotFound))
    ));
    tdb.cleanup().await;
}
both!(capacity_and_double_submission);

async fn fifty_parallel_bookings_never_overbook(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = tdb.db.clone();
    let (tid, series, _) = world(&db, 3).await;
    let db = Arc::new(db);
    let mut handles = Vec::new();
    for i in 0..50 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            book(
                &db,
                tid,
                series,
                d(2026, 10, 12),
                hm(14, 0),
                &format!("P{i}"),
                before_12(),
            )
            .await
        }));
    }
    let (mut ok, mut full) = (0, 0);
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(BookError::Refused(Refusal::Full)) => full += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, full), (3, 47));
    let list = agenda::occurrence_bookings(&db, series, d(2026, 10, 12))
        .await
        .unwrap();
    assert_eq!(list.len(), 3);
    tdb.cleanup().await;
}
both!(fifty_parallel_bookings_never_overbook);

async fn past_window_and_unknown_slots_are_refused(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, _) = world(db, 1).await;
    let date = d(2026, 10, 26);
    // Past.
    assert_eq!(
        refusal(
            book(
                db,
                tid,
                series,
                date,
                hm(14, 0),
                "A",
                paris(2026, 10, 26, 14, 5)
            )
            .await
        ),
        Refusal::Past
    );
    // Not open yet (14 days before), closed 2 hours before.
    assert!(matches!(
        refusal(
            book(
                db,
                tid,
                series,
                date,
                hm(14, 0),
                "A",
                paris(2026, 10, 1, 9, 0)
            )
            .await
        ),
        Refusal::NotYetOpen(_)
    ));
    assert_eq!(
        refusal(
            book(
                db,
                tid,
                series,
                date,
                hm(14, 0),
                "A",
                paris(2026, 10, 26, 12, 30)
            )
            .await
        ),
        Refusal::Closed
    );
    // Not a slot: off the grid, a Tuesday, a date outside the series.
    assert_eq!(
        refusal(
            book(
                db,
                tid,
                series,
                d(2026, 10, 12),
                hm(14, 10),
                "A",
                before_12()
            )
            .await
        ),
        Refusal::NotASlot
    );
    assert_eq!(
        refusal(
            book(
                db,
                tid,
                series,
                d(2026, 10, 13),
                hm(14, 0),
                "A",
                before_12()
            )
            .await
        ),
        Refusal::NotASlot
    );
    assert_eq!(
        refusal(
            book(
                db,
                tid,
                series,
                d(2026, 10, 12),
                hm(16, 0),
                "A",
                before_12()
            )
            .await
        ),
        Refusal::NotASlot
    );
    // Slots off: nothing is booked.
    agenda::save_slot_config(db, &actor(), tid, series, 1, false, &settings(1))
        .await
        .unwrap();
    assert_eq!(
        refusal(
            book(
                db,
                tid,
                series,
                d(2026, 10, 12),
                hm(14, 0),
                "A",
                before_12()
            )
            .await
        ),
        Refusal::Off
    );
    // A stale settings form is refused.
    assert!(matches!(
        agenda::save_slot_config(db, &actor(), tid, series, 1, true, &settings(1)).await,
        Err(DbError::Stale)
    ));
    tdb.cleanup().await;
}
both!(past_window_and_unknown_slots_are_refused);

async fn staff_book_inside_the_closing_window(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, _) = world(db, 1).await;
    let u = maillage::accounts::create_user(
        db,
        &actor(),
        "med@lens.test",
        "Médiatrice",
        common::PASSWORD,
        InstanceRole::None,
    )
    .await
    .unwrap();
    let date = d(2026, 10, 26);
    let (b, _) = agenda::book_slot(
        db,
        tid,
        series,
        date,
        hm(14, 0),
        &person("Par téléphone"),
        None,
        Some(u.id),
        paris(2026, 10, 26, 13, 0),
    )
    .await
    .unwrap();
    assert_eq!(b.booked_by, Some(u.id));
    assert_eq!(
        refusal(
            agenda::book_slot(
                db,
                tid,
                series,
                date,
                hm(14, 30),
                &person("Trop tard"),
                None,
                Some(u.id),
                paris(2026, 10, 26, 14, 45),
            )
            .await
        ),
        Refusal::Past
    );
    tdb.cleanup().await;
}
both!(staff_book_inside_the_closing_window);

async fn cancel_by_token_frees_the_slot(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, _) = world(db, 1).await;
    let date = d(2026, 10, 12);
    let (b, tok) = book(db, tid, series, date, hm(14, 0), "Awa", before_12())
        .await
        .unwrap();
    let tok = tok.unwrap();
    assert_eq!(
        refusal(book(db, tid, series, date, hm(14, 0), "Bruno", before_12()).await),
        Refusal::Full
    );
    let found = agenda::booking_by_token(db, &tok).await.unwrap();
    assert_eq!(found.id, b.id);
    let c = agenda::cancel_booking_by_token(db, &tok).await.unwrap();
    assert_eq!(c.status(), BookingStatus::Cancelled);
    // Twice is harmless; an unknown token finds nothing.
    assert_eq!(
        agenda::cancel_booking_by_token(db, &tok)
            .await
            .unwrap()
            .status(),
        BookingStatus::Cancelled
    );
    assert!(matches!(
        agenda::cancel_booking_by_token(db, "inconnu").await,
        Err(DbError::NotFound)
    ));
    book(db, tid, series, date, hm(14, 0), "Bruno", before_12())
        .await
        .unwrap();
    // Only the hash is stored.
    let stored: (String,) = maillage::db_run!(db, pool => sqlx::query_as("SELECT cancel_token_hash FROM slot_bookings WHERE id = $1")
        .bind(b.id).fetch_one(pool).await.unwrap());
    assert_ne!(stored.0, tok);
    tdb.cleanup().await;
}
both!(cancel_by_token_frees_the_slot);

async fn moved_and_cancelled_occurrences_carry_their_bookings(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, lievin) = world(db, 1).await;
    let date = d(2026, 10, 12);
    let (early, _) = book(db, tid, series, date, hm(14, 0), "Awa", before_12())
        .await
        .unwrap();
    let (late, _) = book(db, tid, series, date, hm(15, 30), "Bruno", before_12())
        .await
        .unwrap();
    // Moved to Tuesday 9:00–10:00 in Liévin: 14:00 → 9:00; 15:30 no longer fits.
    let moved = Exception::moved(
        date,
        d(2026, 10, 13),
        hm(9, 0),
        hm(10, 0),
        Some(lievin),
        "travaux",
    )
    .unwrap();
    let changed = agenda::set_exception_with_bookings(db, &actor(), tid, series, &moved)
        .await
        .unwrap();
    assert_eq!(changed.len(), 2);
    let a = changed.iter().find(|c| c.booking.id == early.id).unwrap();
    assert_eq!(a.now_at, Some(d(2026, 10, 13).and_time(hm(9, 0))));
    assert_eq!(a.place_id, Some(lievin));
    let b = changed.iter().find(|c| c.booking.id == late.id).unwrap();
    assert_eq!(b.now_at, None);
    let list = agenda::occurrence_bookings(db, series, date).await.unwrap();
    let a = list.iter().find(|x| x.id == early.id).unwrap();
    assert_eq!(
        (a.slot_start.as_str(), a.status.as_str()),
        ("09:00", "booked")
    );
    let b = list.iter().find(|x| x.id == late.id).unwrap();
    assert_eq!(b.status, "cancelled");
    // The moved occurrence books at its new times only.
    assert_eq!(
        refusal(book(db, tid, series, date, hm(14, 30), "C", before_12()).await),
        Refusal::NotASlot
    );
    book(db, tid, series, date, hm(9, 30), "C", before_12())
        .await
        .unwrap();
    // Restored: back to 14:00 and 14:30.
    let back = agenda::remove_exception_with_bookings(db, &actor(), tid, series, date)
        .await
        .unwrap();
    assert_eq!(back.len(), 2);
    let times: Vec<String> = agenda::occurrence_bookings(db, series, date)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.status == "booked")
        .map(|x| x.slot_start)
        .collect();
    assert_eq!(times, ["14:00", "14:30"]);
    // Cancelled: every booking is cancelled, and none can be taken.
    let changed = agenda::set_exception_with_bookings(
        db,
        &actor(),
        tid,
        series,
        &Exception::cancelled(date, "grève"),
    )
    .await
    .unwrap();
    assert_eq!(changed.len(), 2);
    assert!(changed.iter().all(|c| c.now_at.is_none()));
    assert!(agenda::occurrence_bookings(db, series, date)
        .await
        .unwrap()
        .iter()
        .all(|x| x.status == "cancelled"));
    assert_eq!(
        refusal(book(db, tid, series, date, hm(15, 0), "D", before_12()).await),
        Refusal::Cancelled
    );
    // Other dates are untouched by these exceptions.
    book(
        db,
        tid,
        series,
        d(2026, 10, 19),
        hm(14, 0),
        "E",
        paris(2026, 10, 12, 12, 0),
    )
    .await
    .unwrap();
    tdb.cleanup().await;
}
both!(moved_and_cancelled_occurrences_carry_their_bookings);

async fn check_in_walk_ins_and_no_show_rates(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, lievin) = world(db, 1).await;
    let date = d(2026, 10, 12);
    let mut ids = Vec::new();
    for (i, slot) in [hm(14, 0), hm(14, 30), hm(15, 0), hm(15, 30)]
        .into_iter()
        .enumerate()
    {
        ids.push(
            book(db, tid, series, date, slot, &format!("P{i}"), before_12())
                .await
                .unwrap()
                .0
                .id,
        );
    }
    // The next Monday is held in Liévin.
    let moved = Exception::moved(
        d(2026, 10, 19),
        d(2026, 10, 19),
        hm(14, 0),
        hm(16, 0),
        Some(lievin),
        "",
    )
    .unwrap();
    agenda::set_exception(db, &actor(), tid, series, &moved)
        .await
        .unwrap();
    let (other, _) = book(
        db,
        tid,
        series,
        d(2026, 10, 19),
        hm(14, 0),
        "Q",
        paris(2026, 10, 12, 12, 0),
    )
    .await
    .unwrap();
    for (id, s) in [
        (ids[0], BookingStatus::Present),
        (ids[1], BookingStatus::Present),
        (ids[2], BookingStatus::Absent),
        (ids[3], BookingStatus::Excused),
        (other.id, BookingStatus::Absent),
    ] {
        let b = agenda::set_booking_status(db, &actor(), tid, series, id, s)
            .await
            .unwrap();
        assert_eq!(b.status(), s);
    }
    // A booking of another series is not reached through this one.
    assert!(matches!(
        agenda::set_booking_status(db, &actor(), tid, series + 1, ids[0], BookingStatus::Absent)
            .await,
        Err(DbError::NotFound)
    ));
    assert_eq!(agenda::walk_ins(db, series, date).await.unwrap(), 0);
    agenda::set_walk_ins(db, &actor(), tid, series, date, 7)
        .await
        .unwrap();
    agenda::set_walk_ins(db, &actor(), tid, series, date, 5)
        .await
        .unwrap();
    assert_eq!(agenda::walk_ins(db, series, date).await.unwrap(), 5);
    let by_series = agenda::no_show_by_series(db, tid).await.unwrap();
    let n = by_series[&series];
    assert_eq!((n.present, n.absent, n.excused), (2, 2, 1));
    assert_eq!(n.rate(), Some(0.4));
    let by_commune = agenda::no_show_by_commune(db, tid).await.unwrap();
    let names: Vec<&str> = by_commune.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["Lens", "Liévin"]);
    assert_eq!(by_commune[0].1.absent, 1);
    assert_eq!(by_commune[0].1.present, 2);
    assert_eq!(by_commune[1].1.absent, 1);
    assert_eq!(by_commune[1].1.rate(), Some(1.0));
    // Retention: the people of the 12th are erased, not their outcomes nor
    // the later date's bookings; twice erases nothing more.
    assert_eq!(
        agenda::purge_slot_bookings(db, d(2026, 10, 13))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        agenda::purge_slot_bookings(db, d(2026, 10, 13))
            .await
            .unwrap(),
        0
    );
    let erased = agenda::occurrence_bookings(db, series, date).await.unwrap();
    assert!(erased
        .iter()
        .all(|b| b.name.is_empty() && b.phone.is_none() && b.email.is_none()));
    let later = agenda::get_booking(db, series, other.id).await.unwrap();
    assert_eq!(later.name, "Q");
    assert_eq!(
        agenda::no_show_by_series(db, tid).await.unwrap()[&series],
        n
    );
    tdb.cleanup().await;
}
both!(check_in_walk_ins_and_no_show_rates);

async fn mediators_are_partners_of_the_territory(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, _) = world(db, 1).await;
    let mut ids = Vec::new();
    for (email, role) in [
        ("med@lens.test", Some(Role::Partner)),
        ("membre@lens.test", Some(Role::Member)),
        ("personne@exemple.test", None),
    ] {
        let u = maillage::accounts::create_user(
            db,
            &actor(),
            email,
            email,
            common::PASSWORD,
            InstanceRole::None,
        )
        .await
        .unwrap();
        if let Some(r) = role {
            users::set_membership(db, &actor(), tid, u.id, r)
                .await
                .unwrap();
        }
        ids.push(u.id);
    }
    agenda::set_series_mediators(db, &actor(), tid, series, &[ids[0]])
        .await
        .unwrap();
    assert_eq!(
        agenda::series_mediators(db, series).await.unwrap(),
        [ids[0]]
    );
    assert!(agenda::is_series_mediator(db, series, ids[0])
        .await
        .unwrap());
    for bad in [ids[1], ids[2]] {
        assert!(matches!(
            agenda::set_series_mediators(db, &actor(), tid, series, &[ids[0], bad]).await,
            Err(DbError::Conflict(_))
        ));
    }
    // A refused change keeps the former list.
    assert_eq!(
        agenda::series_mediators(db, series).await.unwrap(),
        [ids[0]]
    );
    agenda::set_series_mediators(db, &actor(), tid, series, &[])
        .await
        .unwrap();
    assert!(!agenda::is_series_mediator(db, series, ids[0])
        .await
        .unwrap());
    tdb.cleanup().await;
}
both!(mediators_are_partners_of_the_territory);

async fn ending_a_series_cancels_later_bookings(backend: Backend) {
    let tdb = fresh_db(backend).await;
    let db = &tdb.db;
    let (tid, series, _) = world(db, 1).await;
    let (kept, _) = book(
        db,
        tid,
        series,
        d(2026, 10, 12),
        hm(14, 0),
        "A",
        before_12(),
    )
    .await
    .unwrap();
    let (gone, _) = book(
        db,
        tid,
        series,
        d(2026, 10, 19),
        hm(14, 0),
        "B",
        paris(2026, 10, 12, 12, 0),
    )
    .await
    .unwrap();
    agenda::end_series(db, &actor(), tid, series, d(2026, 10, 13))
        .await
        .unwrap();
    let kept = agenda::get_booking(db, series, kept.id).await.unwrap();
    let gone = agenda::get_booking(db, series, gone.id).await.unwrap();
    assert_eq!(kept.status(), BookingStatus::Booked);
    assert_eq!(gone.status(), BookingStatus::Cancelled);
    tdb.cleanup().await;
}
both!(ending_a_series_cancels_later_bookings);
