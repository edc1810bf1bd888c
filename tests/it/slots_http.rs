//! Slots over HTTP (issue 16), on SQLite and PostgreSQL: the public booking
//! form (bad input kept, confirmation, cancel link), check-in and phone
//! booking by the series' mediator, and who sees the bookings.

use crate::common;

use chrono::{Datelike, Duration, NaiveTime};
use common::{extract_csrf, text_of, Backend, TestApp};
use maillage::domain::agenda::recurrence::Pattern;
use maillage::domain::agenda::slots::{NewBooking, SlotSettings};
use maillage::storage::agenda::{self, NewPlace, SeriesInput};
use maillage::storage::audit::Actor;
use maillage::storage::territories;

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

async fn app(backend: Backend) -> TestApp {
    TestApp::start_with(
        backend,
        maillage::config::Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await
}

/// A weekly series starting in a week (14:00–16:00, 30-minute slots, one
/// person each, bookable 30 days ahead), in the demo territory; returns
/// (territory id, series id, first date).
async fn series(app: &TestApp, title: &str) -> (i64, i64, chrono::NaiveDate) {
    let actor = Actor::system("test");
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let place = agenda::create_place(
        &app.db,
        &actor,
        t.id,
        &NewPlace {
            name: format!("Lieu {title}"),
            address: "1 rue de la Gare".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let first = maillage::web::agenda::today_paris() + Duration::days(7);
    let s = agenda::create_series(
        &app.db,
        &actor,
        t.id,
        &SeriesInput {
            title: title.into(),
            mediators: String::new(),
            place_id: place.id,
            first_date: first,
            end_date: Some(first + Duration::days(56)),
            start_time: hm(14, 0),
            end_time: hm(16, 0),
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
        t.id,
        s.id,
        0,
        true,
        &SlotSettings {
            slot_minutes: 30,
            per_slot: 1,
            open_days_before: 30,
            close_hours_before: 0,
        },
    )
    .await
    .unwrap();
    (t.id, s.id, first)
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect(name) + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn post_booking(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let html = text_of(c, app.url(path)).await;
    let csrf = extract_csrf(&html).expect("csrf");
    let (stamp, key) = (field(&html, "_t"), field(&html, "key"));
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("_t", stamp.as_str()),
        ("key", key.as_str()),
    ];
    form.extend_from_slice(fields);
    let r = c.post(app.url(path)).form(&form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn public_booking_form(backend: Backend) {
    let app = app(backend).await;
    let (_, id, first) = series(&app, "Permanence de la gare").await;
    let c = app.client();
    let cards = text_of(&c, app.url("/t/lens-lievin/permanences")).await;
    assert!(cards.contains("Prendre rendez-vous en ligne"), "{cards}");
    let path = format!("/t/lens-lievin/permanences/{id}/rendez-vous");
    let page = text_of(&c, app.url(&path)).await;
    let slot = format!("{}_14:00", first.format("%Y-%m-%d"));
    assert!(page.contains(&format!("value=\"{slot}\"")), "{page}");
    // Bad phone, no consent: 422, everything typed is kept.
    let (status, body) = post_booking(
        &app,
        &c,
        &path,
        &[
            ("slot", slot.as_str()),
            ("name", "Awa Diallo"),
            ("phone", "06 12 34"),
            ("email", ""),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("n’est pas un numéro de téléphone"), "{body}");
    assert!(body.contains("Cochez la case"));
    assert!(body.contains("value=\"Awa Diallo\""));
    assert!(body.contains("value=\"06 12 34\""));
    assert!(
        body.contains(&format!("value=\"{slot}\" checked")),
        "slot kept"
    );
    // No slot chosen.
    let (status, body) = post_booking(
        &app,
        &c,
        &path,
        &[
            ("name", "Awa Diallo"),
            ("phone", "06 12 34 56 78"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("Choisissez un créneau"));
    // Right: booked, with a cancel link.
    let (status, body) = post_booking(
        &app,
        &c,
        &path,
        &[
            ("slot", slot.as_str()),
            ("name", "Awa Diallo"),
            ("phone", "06.12.34.56.78"),
            ("email", "awa@exemple.test"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Rendez-vous réservé"));
    let marker = "/t/lens-lievin/rendez-vous/";
    let start = body.find(marker).expect("cancel link");
    let link: String = body[start..].chars().take_while(|c| *c != '"').collect();
    let stored = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].phone.as_deref(), Some("+33612345678"));
    // The slot is gone from the page; taking it again is refused (409).
    let page = text_of(&c, app.url(&path)).await;
    assert!(!page.contains(&format!("value=\"{slot}\"")));
    let (status, body) = post_booking(
        &app,
        &c,
        &path,
        &[
            ("slot", slot.as_str()),
            ("name", "Bruno"),
            ("phone", "0612345679"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("vient d’être pris"));
    assert!(body.contains("value=\"Bruno\""));
    // The cancel link: a page, then the cancellation frees the slot.
    let cancel = text_of(&c, app.url(&link)).await;
    assert!(cancel.contains("Annuler mon rendez-vous"), "{cancel}");
    let csrf = extract_csrf(&cancel).unwrap();
    let r = c
        .post(app.url(&link))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("est annulé"));
    let page = text_of(&c, app.url(&path)).await;
    assert!(page.contains(&format!("value=\"{slot}\"")));
    // Unknown tokens and series without slots are not found.
    assert_eq!(
        c.get(app.url("/t/lens-lievin/rendez-vous/inconnu"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(app.url(&format!(
            "/t/lens-lievin/permanences/{}/rendez-vous",
            id + 100
        )))
        .send()
        .await
        .unwrap()
        .status(),
        404
    );
    app.stop().await;
}
both!(public_booking_form);

async fn mediator_checks_in_and_books_by_phone(backend: Backend) {
    let app = app(backend).await;
    let (tid, id, first) = series(&app, "Permanence de la gare").await;
    let (_, other, _) = series(&app, "Permanence du marché").await;
    let partner = app.account("partner").id;
    // The coordination names the partner mediator of the first series.
    let coord = app.sign_in_as("coordinator").await;
    let settings = coord
        .text(&format!("/admin/t/lens-lievin/permanences/{id}/creneaux"))
        .await;
    let version = field(&settings, "version");
    let partner_s = partner.to_string();
    let r = coord
        .post_form(
            &format!("/admin/t/lens-lievin/permanences/{id}/creneaux"),
            &[
                ("version", version.as_str()),
                ("enabled", "oui"),
                ("slot_minutes", "30"),
                ("per_slot", "1"),
                ("open_days_before", "30"),
                ("close_hours_before", "0"),
                ("mediator", partner_s.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(
        agenda::series_mediators(&app.db, id).await.unwrap(),
        [partner]
    );
    // Bad settings are refused with what was typed.
    let r = coord
        .post_form(
            &format!("/admin/t/lens-lievin/permanences/{id}/creneaux"),
            &[
                ("version", "2"),
                ("slot_minutes", "3"),
                ("per_slot", "1"),
                ("open_days_before", "30"),
                ("close_hours_before", "0"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("value=\"3\""));

    let (booking, _) = agenda::book_slot(
        &app.db,
        tid,
        id,
        first,
        hm(14, 30),
        &NewBooking::parse("Chloé Martin", "+32 2 555 12 34", "", true).unwrap(),
        None,
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let med = app.sign_in_as("partner").await;
    let day = format!("/admin/t/lens-lievin/permanences/{id}/rendez-vous/{first}");
    let overview = med
        .get(&format!(
            "/admin/t/lens-lievin/permanences/{id}/rendez-vous"
        ))
        .await;
    assert_eq!(overview.status(), 200);
    let page = med.text(&day).await;
    assert!(page.contains("Chloé Martin"), "{page}");
    assert!(page.contains("tel:+3225551234"));
    // Check-in.
    let r = med
        .post_form(
            &format!("{day}/pointage"),
            &[
                ("booking_id", &booking.id.to_string()),
                ("status", "present"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap();
    assert_eq!(list[0].status, "present");
    let r = med
        .post_form(
            &format!("{day}/pointage"),
            &[
                ("booking_id", &booking.id.to_string()),
                ("status", "n-importe"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    // Walk-ins are counted on the day, not before.
    let r = med
        .post_form(&format!("{day}/sans-rendez-vous"), &[("walk_ins", "4")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("le jour de la permanence"));
    // Booking by phone: booked_by is the mediator; bad input is kept.
    let slot = format!("{first}_15:00");
    let r = med
        .post_form(
            &day,
            &[
                ("slot", slot.as_str()),
                ("name", "Denis Petit"),
                ("phone", "12"),
                ("consent", "oui"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("value=\"Denis Petit\""));
    let r = med
        .post_form(
            &day,
            &[
                ("slot", slot.as_str()),
                ("name", "Denis Petit"),
                ("phone", "0033 3 21 00 00 00"),
                ("consent", "oui"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap();
    let denis = list.iter().find(|b| b.name == "Denis Petit").unwrap();
    assert_eq!(denis.booked_by, Some(partner));
    assert_eq!(denis.phone.as_deref(), Some("+33321000000"));
    // The series page and the coordination's page show no-show rates.
    let series_page = coord
        .text(&format!("/admin/t/lens-lievin/permanences/{id}"))
        .await;
    assert!(series_page.contains("Taux d’absence"), "{series_page}");
    assert!(series_page.contains("0 % (0 absence"), "{series_page}");
    let rates = coord.text("/admin/t/lens-lievin/taux-absence").await;
    assert!(
        rates.contains("<th scope=\"row\">Lens</th><td>0 %"),
        "{rates}"
    );

    // Who sees the bookings: not the mediator of another series, not a
    // member, nor another territory's coordinator, an inhabitant, regional
    // staff; anonymous visitors are sent to sign in.
    let other_day = format!("/admin/t/lens-lievin/permanences/{other}/rendez-vous/{first}");
    assert_eq!(med.get(&other_day).await.status(), 403);
    assert_eq!(
        med.post_form(
            &format!("{other_day}/pointage"),
            &[("booking_id", "1"), ("status", "absent")]
        )
        .await
        .status(),
        403
    );
    for role in ["member", "other_coordinator", "inhabitant", "regional"] {
        let v = app.sign_in_as(role).await;
        let r = v.get(&day).await;
        assert_eq!(r.status(), 403, "{role}");
        assert!(!r.text().await.unwrap().contains("Chloé Martin"), "{role}");
    }
    let anon = app.sign_in_as("anonymous").await;
    let r = anon.get(&day).await;
    assert_eq!(r.status(), 303);
    // A partner may not name mediators.
    assert_eq!(
        med.get(&format!("/admin/t/lens-lievin/permanences/{id}/creneaux"))
            .await
            .status(),
        403
    );
    app.stop().await;
}
both!(mediator_checks_in_and_books_by_phone);

/// The e-mail reminders of a booking in the outbox, once at least `n` are
/// there (they are queued in the background).
async fn email_reminders(
    app: &TestApp,
    booking: i64,
    n: usize,
) -> Vec<maillage::storage::messages::Message> {
    let tid = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let prefix = format!("reminder:email:booking:{booking}:");
    let mut found = Vec::new();
    for _ in 0..100 {
        found = maillage::storage::messages::for_territory(&app.db, tid, None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.dedupe_key.starts_with(&prefix))
            .collect();
        if found.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found.len() >= n, "{found:?}");
    found
}

/// E-mails: the confirmation carries the cancel link; when the date moves
/// or is cancelled through the exception form, the person is told and the
/// booking follows.
async fn mails_follow_the_booking(backend: Backend) {
    let (port, mails) = crate::agenda_http::smtp_sink().await;
    let app = TestApp::start_with(
        backend,
        maillage::config::Config {
            form_min_fill_secs: 0,
            smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
            ..Default::default()
        },
    )
    .await;
    let (_, id, first) = series(&app, "Permanence de la gare").await;
    let c = app.client();
    let path = format!("/t/lens-lievin/permanences/{id}/rendez-vous");
    let slot = format!("{first}_14:00");
    let (status, body) = post_booking(
        &app,
        &c,
        &path,
        &[
            ("slot", slot.as_str()),
            ("name", "Awa Diallo"),
            ("email", "awa@exemple.test"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Une confirmation part à l’adresse awa@exemple.test"));
    let got = crate::agenda_http::wait_for_mail(&mails, 1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("To: awa@exemple.test"));
    assert!(got[0].contains("/t/lens-lievin/rendez-vous/"), "{}", got[0]);
    // Her e-mail reminder waits for its day (two days before, at 10:00).
    let booking = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap()[0]
        .clone();
    let first_reminder = email_reminders(&app, booking.id, 1).await;
    assert_eq!(first_reminder[0].status, "queued");
    assert!(
        first_reminder[0].body.contains("à 14 h"),
        "{}",
        first_reminder[0].body
    );
    assert!(first_reminder[0].not_before > chrono::Utc::now());
    // Moved to 9:00–10:00 the same day: the booking follows, Awa is told.
    let coord = app.sign_in_as("coordinator").await;
    let exceptions = format!("/admin/t/lens-lievin/permanences/{id}/exceptions");
    let date = first.to_string();
    let r = coord
        .post_form(
            &exceptions,
            &[
                ("original_date", date.as_str()),
                ("action", "move"),
                ("new_date", ""),
                ("new_start", "09:00"),
                ("new_end", "10:00"),
                ("new_place_id", ""),
                ("note", "travaux"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap();
    assert_eq!(list[0].slot_start, "09:00");
    let got = crate::agenda_http::wait_for_mail(&mails, 2).await;
    assert!(
        got[1].contains("To: awa@exemple.test")
            && got[1].contains("votre rendez-vous est maintenant le"),
        "{}",
        got[1]
    );
    assert!(got[1].contains("à 9 h"), "{}", got[1]);
    // The reminder follows: the old one withdrawn, a new one at the new time.
    let reminders = email_reminders(&app, booking.id, 2).await;
    let status = |at: &str| {
        reminders
            .iter()
            .find(|m| m.body.contains(at))
            .map(|m| m.status.clone())
    };
    assert_eq!(status("à 14 h").as_deref(), Some("cancelled"));
    assert_eq!(status("à 9 h").as_deref(), Some("queued"));
    // Cancelled: the booking is cancelled and Awa is told.
    let r = coord
        .post_form(
            &exceptions,
            &[
                ("original_date", date.as_str()),
                ("action", "cancel"),
                ("note", "grève"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap();
    assert_eq!(list[0].status, "cancelled");
    let got = crate::agenda_http::wait_for_mail(&mails, 3).await;
    assert!(
        got[2].contains("To: awa@exemple.test")
            && got[2].contains("de votre rendez-vous est annulée"),
        "{}",
        got[2]
    );
    // No reminder left for a cancelled booking.
    for _ in 0..50 {
        let left = email_reminders(&app, booking.id, 2).await;
        if left.iter().all(|m| m.status == "cancelled") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(email_reminders(&app, booking.id, 2)
        .await
        .iter()
        .all(|m| m.status == "cancelled"));
    // The series is ended: the people of the coming bookings are told.
    let next = first + Duration::days(7);
    let tid = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    agenda::book_slot(
        &app.db,
        tid,
        id,
        next,
        hm(14, 0),
        &NewBooking::parse("Bruno", "", "bruno@exemple.test", true).unwrap(),
        None,
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let r = coord
        .post_form(
            &format!("/admin/t/lens-lievin/permanences/{id}/arreter"),
            &[("confirme", "oui")],
        )
        .await;
    assert_eq!(r.status(), 303);
    // It had no past date: it is removed, with its bookings.
    assert!(agenda::get_series(&app.db, tid, id).await.is_err());
    assert!(agenda::occurrence_bookings(&app.db, id, next)
        .await
        .unwrap()
        .is_empty());
    let got = crate::agenda_http::wait_for_mail(&mails, 4).await;
    assert!(
        got[3].contains("To: bruno@exemple.test")
            && got[3].contains("de votre rendez-vous est annulée"),
        "{}",
        got[3]
    );
    app.stop().await;
}
both!(mails_follow_the_booking);

/// With SMS on: the booking's confirmation and reminder by text, then the
/// move and the cancellation, each reminder following or withdrawn.
async fn texts_follow_the_booking(backend: Backend) {
    use crate::common::fake_brevo::{fake_brevo, FakeBrevo};
    use maillage::storage::messages as outbox;
    let fake = FakeBrevo::default();
    let base = fake_brevo(fake.clone()).await;
    let app = TestApp::start_with(
        backend,
        maillage::config::Config {
            form_min_fill_secs: 0,
            sms: Some(maillage::messaging::sms::SmsSettings {
                provider: "brevo".into(),
                url: Some(base),
                api_key: Some("cle-de-test".into()),
                sender: "CLSLens".into(),
                callback_secret: None,
                reminder_days: 2,
            }),
            ..Default::default()
        },
    )
    .await;
    let (_, id, first) = series(&app, "Permanence du marché").await;
    let c = app.client();
    let path = format!("/t/lens-lievin/permanences/{id}/rendez-vous");
    let slot = format!("{first}_14:30");
    let (status, body) = post_booking(
        &app,
        &c,
        &path,
        &[
            ("slot", slot.as_str()),
            ("name", "Awa Diallo"),
            ("phone", "06 12 34 56 78"),
            ("consent", "oui"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let texts = |n: usize| {
        let fake = fake.clone();
        async move {
            for _ in 0..100 {
                if fake.received.lock().unwrap().len() >= n {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            fake.received
                .lock()
                .unwrap()
                .iter()
                .map(|v| v["content"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let got = texts(1).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("Rendez-vous réservé : Permanence du marché, "),
        "{}",
        got[0]
    );
    assert!(
        got[0].contains("14 h 30") && got[0].contains("/t/lens-lievin/rendez-vous/"),
        "{}",
        got[0]
    );
    let booking = agenda::occurrence_bookings(&app.db, id, first)
        .await
        .unwrap()
        .remove(0);
    let start = maillage::domain::dates::paris_offset(first.and_time(hm(14, 30)))
        .with_timezone(&chrono::Utc);
    let reminder_key = |at: chrono::DateTime<chrono::Utc>| {
        format!("reminder:sms:booking:{}:{}", booking.id, at.timestamp())
    };
    let reminder = outbox::by_key(&app.db, &reminder_key(start))
        .await
        .unwrap()
        .expect("reminder queued");
    assert_eq!(reminder.status, "queued");
    assert_eq!(
        reminder.not_before,
        maillage::domain::messages::reminder_at(start, 2)
    );
    // Moved to 9:00: a text, the reminder follows.
    let coord = app.sign_in_as("coordinator").await;
    let exceptions = format!("/admin/t/lens-lievin/permanences/{id}/exceptions");
    let date = first.to_string();
    let r = coord
        .post_form(
            &exceptions,
            &[
                ("original_date", date.as_str()),
                ("action", "move"),
                ("new_date", ""),
                ("new_start", "09:00"),
                ("new_end", "10:00"),
                ("new_place_id", ""),
                ("note", "travaux"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let got = texts(2).await;
    assert!(
        got[1].starts_with("Rendez-vous déplacé : Permanence du marché, maintenant "),
        "{}",
        got[1]
    );
    assert!(got[1].contains("9 h 30"), "{}", got[1]);
    for _ in 0..50 {
        if outbox::by_key(&app.db, &reminder_key(start))
            .await
            .unwrap()
            .unwrap()
            .status
            == "cancelled"
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        outbox::by_key(&app.db, &reminder_key(start))
            .await
            .unwrap()
            .unwrap()
            .status,
        "cancelled"
    );
    let moved = maillage::domain::dates::paris_offset(first.and_time(hm(9, 30)))
        .with_timezone(&chrono::Utc);
    assert_eq!(
        outbox::by_key(&app.db, &reminder_key(moved))
            .await
            .unwrap()
            .unwrap()
            .status,
        "queued"
    );
    // Cancelled: a text, no reminder left.
    let r = coord
        .post_form(
            &exceptions,
            &[
                ("original_date", date.as_str()),
                ("action", "cancel"),
                ("note", "grève"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let got = texts(3).await;
    assert!(
        got[2].starts_with("Rendez-vous annulé : Permanence du marché, "),
        "{}",
        got[2]
    );
    for _ in 0..50 {
        if outbox::by_key(&app.db, &reminder_key(moved))
            .await
            .unwrap()
            .unwrap()
            .status
            == "cancelled"
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        outbox::by_key(&app.db, &reminder_key(moved))
            .await
            .unwrap()
            .unwrap()
            .status,
        "cancelled"
    );
    app.stop().await;
}
both!(texts_follow_the_booking);

/// The housekeeping's safety net: a booking made without its notices (as
/// before e-mail or SMS were on) gets its reminder when its time comes
/// within a day, once; a cancelled booking gets none.
async fn missed_reminders_are_caught_up(backend: Backend) {
    let (port, _mails) = crate::agenda_http::smtp_sink().await;
    let app = TestApp::start_with(
        backend,
        maillage::config::Config {
            form_min_fill_secs: 0,
            smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
            ..Default::default()
        },
    )
    .await;
    let (tid, id, first) = series(&app, "Permanence du marché").await;
    // Booked straight in storage: no notice queued.
    let who = NewBooking::parse("Awa Diallo", "", "awa@exemple.test", true).unwrap();
    let (booking, _) = agenda::book_slot(
        &app.db,
        tid,
        id,
        first,
        hm(14, 30),
        &who,
        None,
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let starts = maillage::domain::dates::paris_offset(first.and_time(hm(14, 30)))
        .with_timezone(&chrono::Utc);
    let remind = maillage::domain::messages::reminder_at(starts, app.state.outbox.reminder_days);
    let sweep = |now| {
        maillage::web::agenda::notify::queue_territory_booking_reminders(
            &app.state,
            tid,
            "lens-lievin",
            now,
        )
    };
    // More than a day before: not yet.
    assert_eq!(sweep(remind - Duration::hours(30)).await.unwrap(), 0);
    // Within the day: queued for its time, once.
    assert_eq!(sweep(remind - Duration::hours(2)).await.unwrap(), 1);
    assert_eq!(sweep(remind - Duration::hours(1)).await.unwrap(), 0);
    let key = format!(
        "reminder:email:booking:{}:{}",
        booking.id,
        starts.timestamp()
    );
    let m = maillage::storage::messages::by_key(&app.db, &key)
        .await
        .unwrap()
        .expect("reminder queued");
    assert_eq!(m.not_before, remind);
    assert!(m.body.contains("à 14 h 30"), "{}", m.body);
    // A cancelled booking: nothing more.
    maillage::storage::messages::cancel_queued_prefix(&app.db, "reminder:email:booking:")
        .await
        .unwrap();
    agenda::set_booking_status(
        &app.db,
        &Actor::system("test"),
        tid,
        id,
        booking.id,
        maillage::domain::agenda::slots::BookingStatus::Cancelled,
    )
    .await
    .unwrap();
    assert_eq!(sweep(remind - Duration::hours(2)).await.unwrap(), 0);
    app.stop().await;
}
both!(missed_reminders_are_caught_up);
