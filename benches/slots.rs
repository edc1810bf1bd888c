//! Figures for issue 16's slots, printed, never asserted (run with
//! `cargo bench --bench slots`), on a real server bound to a port:
//! (a) 50 people booking the same slot (3 places) at once over HTTP: the
//! time, the answers, and the check that exactly 3 were booked;
//! (b) the reminders of a territory with 500 drop-in series and 20,000
//! bookings queued by the housekeeping's batch
//! (`notify::queue_territory_booking_reminders`: one query for the
//! bookings, one batch into the outbox). SQLite always, PostgreSQL when
//! reachable. `PARALLEL=N`, `SERIES=N`, `PER_SERIES=N` change the sizes.
//! The sending rate against the local provider is `benches/messages.rs`.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::Instant;

use chrono::{Datelike, Duration, NaiveTime, Utc};
use common::fake_brevo::{fake_brevo, FakeBrevo};
use common::{Backend, TestApp};
use maillage::domain::agenda::recurrence::Pattern;
use maillage::domain::agenda::slots::SlotSettings;
use maillage::messaging::sms::SmsSettings;
use maillage::storage::agenda::{self, NewPlace, SeriesInput};
use maillage::storage::audit::Actor;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// A weekly series from `first`, 14:00–18:00, 10-minute slots of `per_slot`.
async fn series(
    app: &TestApp,
    tid: i64,
    place: i64,
    n: usize,
    first: chrono::NaiveDate,
    per_slot: i64,
) -> i64 {
    let actor = Actor::system("bench");
    let s = agenda::create_series(
        &app.db,
        &actor,
        tid,
        &SeriesInput {
            title: format!("Permanence santé {n}"),
            mediators: String::new(),
            place_id: place,
            first_date: first,
            end_date: Some(first + Duration::days(56)),
            start_time: hm(14, 0),
            end_time: hm(18, 0),
            rrule: Pattern::Weekly(first.weekday()).to_rrule(),
            skip_holidays: false,
            access: "appointment".into(),
            services: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap();
    agenda::save_slot_config(
        &app.db,
        &actor,
        tid,
        s.id,
        0,
        true,
        &SlotSettings {
            slot_minutes: 10,
            per_slot,
            open_days_before: 30,
            close_hours_before: 0,
        },
    )
    .await
    .unwrap();
    s.id
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect(name) + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn run(backend: Backend, parallel: usize, n_series: usize, per_series: usize) {
    let fake = FakeBrevo::default();
    let base = fake_brevo(fake.clone()).await;
    let config = maillage::config::Config {
        form_min_fill_secs: 0,
        // Each booker comes from its own address (X-Forwarded-For), so that
        // the per-address limit of public forms does not stop them.
        trust_proxy: true,
        // A relay nobody listens to: e-mails are queued, never sent here.
        smtp_url: Some("smtp://127.0.0.1:9".into()),
        sms: Some(SmsSettings {
            provider: "brevo".into(),
            url: Some(base),
            api_key: Some("cle-de-test".into()),
            sender: "Maillage".into(),
            callback_secret: Some("secret".into()),
            reminder_days: 2,
        }),
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let place = agenda::create_place(
        &app.db,
        &Actor::system("bench"),
        t.id,
        &NewPlace {
            name: "Centre social".into(),
            address: "1 rue de la Gare".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let today = maillage::web::agenda::today_paris();

    // (a) Many people, one slot of three places.
    let first = today + Duration::days(5);
    let id = series(&app, t.id, place.id, 0, first, 3).await;
    let path = format!("/t/lens-lievin/permanences/{id}/rendez-vous");
    let slot = format!("{first}_14:00");
    let mut forms = Vec::new();
    for i in 0..parallel {
        let c = app.client();
        let ip = format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256 + 1);
        let html = c
            .get(app.url(&path))
            .header("x-forwarded-for", &ip)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = vec![
            ("_csrf".to_owned(), common::extract_csrf(&html).unwrap()),
            ("_t".to_owned(), hidden(&html, "_t")),
            ("key".to_owned(), hidden(&html, "key")),
            ("slot".to_owned(), slot.clone()),
            ("name".to_owned(), format!("Personne {i}")),
            (
                "phone".to_owned(),
                format!(
                    "06 12 {:02} {:02} {:02}",
                    i / 10000 % 100,
                    i / 100 % 100,
                    i % 100
                ),
            ),
            ("consent".to_owned(), "oui".to_owned()),
        ];
        forms.push((c, ip, form));
    }
    let url = app.url(&path);
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (c, ip, form) in forms {
        let url = url.clone();
        tasks.spawn(async move {
            c.post(url)
                .header("x-forwarded-for", ip)
                .form(&form)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    let answers: Vec<u16> = tasks.join_all().await;
    let took = began.elapsed();
    let ok = answers.iter().filter(|s| **s == 200).count();
    let full = answers.iter().filter(|s| **s == 409).count();
    let other = answers.len() - ok - full;
    let booked = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.status == "booked")
        .count();
    println!(
        "{backend:?}: {parallel} bookings at once on one slot of 3: {:.2} s ({:.0} req/s); {ok} booked, {full} told it is full, {other} other; in the database {booked} ({})",
        took.as_secs_f64(),
        parallel as f64 / took.as_secs_f64(),
        if booked == 3 { "no overbooking" } else { "OVERBOOKED" }
    );

    // (b) 500 series, 20,000 bookings, reminders queued in one batch.
    let day = today + Duration::days(6);
    let began = Instant::now();
    let mut ids = Vec::new();
    for n in 0..n_series {
        ids.push(series(&app, t.id, place.id, n + 1, day, per_series as i64).await);
    }
    let now = Utc::now();
    let date = day.format("%Y-%m-%d").to_string();
    let rows: Vec<(i64, String, String, String)> = ids
        .iter()
        .flat_map(|sid| {
            (0..per_series).map(move |k| {
                let minutes = 14 * 60 + (k % 24) as u32 * 10;
                (
                    *sid,
                    format!("{:02}:{:02}", minutes / 60, minutes % 60),
                    format!("+3361{:07}", sid * 1000 + k as i64),
                    format!("p{sid}-{k}@exemple.test"),
                )
            })
        })
        .collect();
    for chunk in rows.chunks(500) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let b = r * 5;
                format!(
                    "(${}, '{date}', ${}, 'Personne', ${}, ${}, $1, 'booked', ${}, $1, $1)",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO slot_bookings (series_id, occurrence_date, slot_start, name, phone, email, consent_at, \
             status, cancel_token_hash, created_at, updated_at) VALUES {}",
            values.join(", ")
        );
        maillage::db_run!(&app.db, pool => {
            let mut q = sqlx::query(&sql).bind(now);
            for (sid, start, phone, email) in chunk {
                q = q
                    .bind(*sid)
                    .bind(start)
                    .bind(phone)
                    .bind(email)
                    .bind(format!("bench-{phone}"));
            }
            q.execute(pool).await.unwrap();
        });
    }
    let setup = began.elapsed();
    let starts = maillage::domain::dates::paris_offset(day.and_time(hm(14, 0))).with_timezone(&Utc);
    let remind = maillage::domain::messages::reminder_at(starts, 2);
    let began = Instant::now();
    let queued = maillage::web::agenda::notify::queue_territory_booking_reminders(
        &app.state,
        t.id,
        "lens-lievin",
        remind - Duration::hours(1),
    )
    .await
    .unwrap();
    let took = began.elapsed();
    let again = Instant::now();
    let queued_again = maillage::web::agenda::notify::queue_territory_booking_reminders(
        &app.state,
        t.id,
        "lens-lievin",
        remind - Duration::minutes(50),
    )
    .await
    .unwrap();
    let took_again = again.elapsed();
    println!(
        "{backend:?}: {n_series} series, {} bookings (set up in {:.1} s): reminders queued in {:.2} s ({queued} SMS and e-mails, {:.0}/s); run again {:.2} s ({queued_again} new)",
        rows.len(),
        setup.as_secs_f64(),
        took.as_secs_f64(),
        queued as f64 / took.as_secs_f64(),
        took_again.as_secs_f64()
    );
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let parallel = env("PARALLEL", 50);
    let n_series = env("SERIES", 500);
    let per_series = env("PER_SERIES", 40);
    run(Backend::Sqlite, parallel, n_series, per_series).await;
    if maillage::storage::Db::connect(&common::postgres_admin_url())
        .await
        .is_ok()
    {
        run(Backend::Postgres, parallel, n_series, per_series).await;
    } else {
        println!("PostgreSQL unreachable: skipped");
    }
}
