//! The agenda over HTTP, on SQLite and PostgreSQL: back-office forms,
//! public pages (permanences, agenda, event page with JSON-LD), registrations
//! (waiting list, cancel link, parallel requests for the last seat), exports,
//! the iCalendar feed checked against an independent reader (Python
//! `icalendar` + `recurring-ical-events`), and the API.

use crate::common;

use chrono::{NaiveDate, NaiveTime, Weekday};
use common::{csrf_from, extract_csrf, Backend, TestApp};
use maillage::domain::agenda::recurrence::{Exception, Pattern};
use maillage::storage::agenda::{self, NewPlace, SeriesInput};
use maillage::storage::audit::Actor;
use maillage::storage::territories;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}
fn t(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).unwrap()
}

async fn lens_id(app: &TestApp) -> i64 {
    territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Seed 000 entered as a coordinator would: ten « une semaine sur deux »
/// series until 31 December 2024, one moved and one cancelled occurrence.
async fn seed_000(app: &TestApp) -> Vec<i64> {
    let tid = lens_id(app).await;
    let actor = Actor::system("test");
    let mut places = Vec::new();
    for (name, insee) in [("Centre social", "62498"), ("Mairie annexe", "62510")] {
        places.push(
            agenda::create_place(
                &app.db,
                &actor,
                tid,
                &NewPlace {
                    name: name.into(),
                    address: "1 rue de la Paix".into(),
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
    use Weekday::*;
    let plan = [
        (d(2024, 10, 14), Mon, 14),
        (d(2024, 10, 11), Fri, 14),
        (d(2024, 10, 23), Wed, 10),
        (d(2024, 10, 7), Mon, 14),
        (d(2024, 10, 4), Fri, 14),
        (d(2024, 10, 29), Tue, 14),
        (d(2024, 10, 30), Wed, 14),
        (d(2024, 10, 25), Fri, 10),
        (d(2024, 10, 30), Wed, 10),
        (d(2024, 10, 8), Tue, 14),
    ];
    let mut ids = Vec::new();
    for (i, (first, wd, h)) in plan.into_iter().enumerate() {
        let s = agenda::create_series(
            &app.db,
            &actor,
            tid,
            &SeriesInput {
                title: format!("Permanence santé n° {}", i + 1),
                mediators: "Médiateurs santé de la CALL".into(),
                place_id: places[i % 2],
                first_date: first,
                end_date: Some(d(2024, 12, 31)),
                start_time: t(h),
                end_time: t(h + 2),
                rrule: Pattern::Biweekly(wd).to_rrule(),
                skip_holidays: true,
                access: "walk_in".into(),
                services: "Écoute, conseils, accompagnement administratif".into(),
                action_id: None,
            },
        )
        .await
        .unwrap();
        ids.push(s.id);
    }
    let moved = Exception::moved(
        d(2024, 12, 6),
        d(2024, 12, 6),
        t(14),
        t(16),
        None,
        "Exceptionnellement l’après-midi",
    )
    .unwrap();
    agenda::set_exception(&app.db, &actor, tid, ids[7], &moved)
        .await
        .unwrap();
    agenda::set_exception(
        &app.db,
        &actor,
        tid,
        ids[9],
        &Exception::cancelled(d(2024, 12, 3), "Médiateurs en formation"),
    )
    .await
    .unwrap();
    ids
}

async fn permanences_pages_and_feed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = seed_000(&app).await;
    let c = app.client();
    // By commune, for the quarter.
    let html = c
        .get(app.url("/t/lens-lievin/permanences?du=2024-10-01&au=2024-12-31"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("lundi 14 octobre 2024"), "first Monday");
    assert!(
        !html.contains("lundi 11 novembre 2024"),
        "Armistice skipped"
    );
    assert!(
        !html.contains("vendredi 1er novembre 2024"),
        "Toussaint skipped"
    );
    assert!(
        !html.contains("mercredi 25 décembre 2024"),
        "Christmas skipped"
    );
    assert!(
        html.contains("Médiateurs en formation"),
        "public note of the cancellation"
    );
    assert!(html.contains("Exceptionnellement l’après-midi"));
    // One commune only, printable month.
    let html = c
        .get(app.url("/t/lens-lievin/permanences?mois=2024-12&commune=62510"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("décembre 2024"));
    assert!(html.contains("Liévin") && !html.contains("<h2>Lens</h2>"));
    // Bad date: a clear message.
    let resp = c
        .get(app.url("/t/lens-lievin/permanences?du=demain"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Date de début illisible"));

    // API occurrences for the quarter: 5+6+5+7+6+5+4+5+4+7 = 54 with the cancelled one.
    let occ: Vec<serde_json::Value> = c
        .get(app.url("/api/v1/agenda/lens-lievin/occurrences?from=2024-10-01&to=2024-12-31"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(occ.len(), 54);
    assert_eq!(occ.iter().filter(|o| o["status"] == "cancelled").count(), 1);
    let ours: Vec<String> = {
        let mut v: Vec<String> = occ
            .iter()
            .filter(|o| o["status"] != "cancelled")
            .map(|o| {
                format!(
                    "{}|{}|{}",
                    o["series_id"],
                    &o["start"].as_str().unwrap()[..16],
                    &o["end"].as_str().unwrap()[..16]
                )
            })
            .collect();
        v.sort();
        v
    };
    assert!(ours.contains(&format!("{}|2024-12-06T14:00|2024-12-06T16:00", ids[7])));

    // The iCalendar feed, read by an independent implementation.
    let resp = c
        .get(app.url("/t/lens-lievin/permanences.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = resp.text().await.unwrap();
    assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Paris"));
    assert!(ics.contains("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;UNTIL=20241231T225959Z"));
    assert!(ics.contains("EXDATE;TZID=Europe/Paris:20241111T140000"));
    assert!(ics.contains("RECURRENCE-ID;TZID=Europe/Paris:20241206T100000"));
    let theirs = python_expand(&ics, "2024-10-01", "2025-01-01");
    assert_eq!(
        theirs, ours,
        "python icalendar + recurring-ical-events disagree with our expansion"
    );
    // Per commune.
    let lens_only = c
        .get(app.url("/t/lens-lievin/permanences.ics?commune=62498"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(lens_only.matches("RRULE:FREQ=WEEKLY").count(), 5);
    app.stop().await;
}
both!(permanences_pages_and_feed);

/// Expand a calendar with Python's `icalendar` and `recurring-ical-events`
/// (installed by scripts/test.sh): `series_id|start|end`, sorted.
/// The VEVENTs of a feed as Python's `icalendar` reads them:
/// `summary|status|tzid|categories`.
fn python_events(ics: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agenda.ics");
    std::fs::write(&path, ics).unwrap();
    let script = r#"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
for e in cal.walk('VEVENT'):
    cats = e.get('CATEGORIES')
    cats = ','.join(str(c) for c in cats.cats) if cats is not None else ''
    print('%s|%s|%s|%s' % (e['SUMMARY'], e['STATUS'], e['DTSTART'].dt.tzinfo, cats))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 (see scripts/test.sh)");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn python_expand(ics: &str, from: &str, to: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, ics).unwrap();
    let script = r#"
import sys, datetime, icalendar, recurring_ical_events
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
a = datetime.date.fromisoformat(sys.argv[2]); b = datetime.date.fromisoformat(sys.argv[3])
out = []
for e in recurring_ical_events.of(cal).between(a, b):
    uid = str(e['UID']).split('@')[0].split('-')[1]
    out.append('%s|%s|%s' % (uid, e['DTSTART'].dt.strftime('%Y-%m-%dT%H:%M'), e['DTEND'].dt.strftime('%Y-%m-%dT%H:%M')))
print('\n'.join(sorted(out)))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg(from)
        .arg(to)
        .output()
        .expect("python3 (see scripts/test.sh)");
    assert!(
        out.status.success(),
        "python: {} (pip install icalendar recurring-ical-events)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Create a place, an event and a session through the back-office forms.
pub(crate) async fn event_through_forms(
    app: &TestApp,
    title: &str,
    capacity: &str,
) -> (reqwest::Client, i64, i64) {
    let c = app.login("partner").await;
    let token = csrf_from(&c, &app.url("/admin/t/lens-lievin/agenda")).await;
    let r = c
        .post(app.url("/admin/t/lens-lievin/lieux"))
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "Maison de santé"),
            ("address", "2 place Jean Jaurès"),
            ("insee_code", "62498"),
            ("access_notes", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = c
        .post(app.url("/admin/t/lens-lievin/evenements"))
        .form(&[
            ("_csrf", token.as_str()),
            ("title", title),
            ("kind", "workshop"),
            ("status", "confirmed"),
            ("organiser", "CCAS"),
            ("themes", "Nutrition\nSeniors"),
            ("description", "Cuisiner simple."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let event_id: i64 = loc.rsplit('/').next().unwrap().parse().unwrap();
    let place_id = agenda::list_places(&app.db, lens_id(app).await)
        .await
        .unwrap()[0]
        .id
        .to_string();
    let date = (chrono::Utc::now() + chrono::Duration::days(20))
        .format("%Y-%m-%d")
        .to_string();
    // Capacity zero is refused, input kept.
    let r = c
        .post(app.url(&format!(
            "/admin/t/lens-lievin/evenements/{event_id}/seances"
        )))
        .form(&[
            ("_csrf", token.as_str()),
            ("date", &date),
            ("start", "10:00"),
            ("end", "12:00"),
            ("place_id", &place_id),
            ("capacity", "0"),
            ("audience", "public"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("nombre de places entre 1 et 100"));
    let r = c
        .post(app.url(&format!(
            "/admin/t/lens-lievin/evenements/{event_id}/seances"
        )))
        .form(&[
            ("_csrf", token.as_str()),
            ("date", &date),
            ("start", "10:00"),
            ("end", "12:00"),
            ("place_id", &place_id),
            ("capacity", capacity),
            ("audience", "public"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session_id = agenda::sessions(&app.db, event_id).await.unwrap()[0].id;
    (c, event_id, session_id)
}

/// The value of a hidden field of a page.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

/// Public forms may be sent at once (the anti-spam minimum fill time is off).
pub(crate) fn quick() -> maillage::config::Config {
    maillage::config::Config {
        form_min_fill_secs: 0,
        ..Default::default()
    }
}

async fn register_form(
    app: &TestApp,
    c: &reqwest::Client,
    event: i64,
    session: i64,
    name: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let url = app.url(&format!("/t/lens-lievin/evenements/{event}"));
    let html = c.get(&url).send().await.unwrap().text().await.unwrap();
    let token = extract_csrf(&html).unwrap();
    let marker = "name=\"key\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let page_key = html[start..start + html[start..].find('"').unwrap()].to_owned();
    let stamp = hidden(&html, "_t");
    c.post(format!("{url}/inscription"))
        .form(&[
            ("_csrf", token.as_str()),
            ("_t", stamp.as_str()),
            ("site_web", ""),
            ("session_id", &session.to_string()),
            ("name", name),
            ("email", &format!("{}@exemple.test", name.to_lowercase())),
            ("phone", ""),
            ("party_size", "1"),
            ("consent", "oui"),
            ("key", key.unwrap_or(&page_key)),
        ])
        .send()
        .await
        .unwrap()
}

async fn event_page_registration_and_cancel(backend: Backend) {
    let app = TestApp::start_with(backend, quick()).await;
    let (staff, event, session) =
        event_through_forms(&app, "Atelier </script><script>alert(1)</script> & co", "1").await;
    let c = app.client();
    let html = c
        .get(app.url(&format!("/t/lens-lievin/evenements/{event}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // JSON-LD: present, parseable, cannot be broken out of.
    let open = "<script type=\"application/ld+json\">";
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let ld: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(ld["@type"], "Event");
    assert_eq!(
        ld["name"],
        "Atelier </script><script>alert(1)</script> & co"
    );
    assert_eq!(ld["location"]["address"]["addressLocality"], "Lens");
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("mailto:?subject="));

    // Views: one per visitor and day, without cookies.
    for _ in 0..3 {
        c.get(app.url(&format!("/t/lens-lievin/evenements/{event}")))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(agenda::view_count(&app.db, event).await.unwrap(), 1);
    let other = reqwest::Client::builder()
        .user_agent("autre navigateur")
        .build()
        .unwrap();
    other
        .get(app.url(&format!("/t/lens-lievin/evenements/{event}")))
        .send()
        .await
        .unwrap();
    assert_eq!(agenda::view_count(&app.db, event).await.unwrap(), 2);

    // Neither e-mail nor phone: 422, typed name kept.
    let url = app.url(&format!("/t/lens-lievin/evenements/{event}"));
    let token = csrf_from(&c, &url).await;
    let r = c
        .post(format!("{url}/inscription"))
        .form(&[
            ("_csrf", token.as_str()),
            ("session_id", &session.to_string()),
            ("name", "Zoé Tartempion"),
            ("party_size", "1"),
            ("consent", "oui"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("value=\"Zoé Tartempion\"")
            && body.contains("adresse e-mail ou un numéro de téléphone")
    );

    // First takes the seat, second waits; a double submission counts once.
    let r = register_form(&app, &c, event, session, "Alice", Some("cle-alice")).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Inscription confirmée"));
    let href_start = body.find("/t/lens-lievin/inscriptions/").unwrap();
    let cancel_path =
        body[href_start..href_start + body[href_start..].find('"').unwrap()].to_owned();
    let again = register_form(&app, &c, event, session, "Alice", Some("cle-alice"))
        .await
        .text()
        .await
        .unwrap();
    assert!(again.contains("déjà été envoyé"));
    let r = register_form(&app, &c, event, session, "Bruno", None).await;
    assert!(r.text().await.unwrap().contains("liste d’attente"));

    // Cancel through the link: Bruno is promoted.
    let page = c
        .get(app.url(&cancel_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Annuler mon inscription"));
    let token = extract_csrf(&page).unwrap();
    let r = c
        .post(app.url(&cancel_path))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let regs = agenda::registrations(&app.db, session).await.unwrap();
    let st: Vec<(&str, &str)> = regs
        .iter()
        .map(|r| (r.name.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(st, vec![("Alice", "cancelled"), ("Bruno", "confirmed")]);
    assert_eq!(
        c.get(app.url("/t/lens-lievin/inscriptions/faux-jeton"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Staff: phone registration, attendance, exports. The partner reads the
    // registrations as the contact person of the organiser (CCAS).
    common::link_to_organisation(&app, "partner", "CCAS").await;
    let reg_url = app.url(&format!(
        "/admin/t/lens-lievin/seances/{session}/inscriptions"
    ));
    let token = csrf_from(&staff, &reg_url).await;
    let r = staff
        .post(&reg_url)
        .form(&[
            ("_csrf", token.as_str()),
            ("name", "Chloé Par Téléphone"),
            ("phone", "03 21 00 00 00"),
            ("party_size", "1"),
            ("consent", "oui"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("liste d’attente"));
    let bruno = regs[1].id;
    let r = staff
        .post(app.url(&format!(
            "/admin/t/lens-lievin/inscriptions/{bruno}/presence"
        )))
        .form(&[("_csrf", token.as_str()), ("attended", "oui")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let csv = staff.get(format!("{reg_url}.csv")).send().await.unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(
        csv.contains("Bruno;bruno@exemple.test;;1;Confirmée;présent"),
        "{csv}"
    );
    assert!(csv.contains("Chloé Par Téléphone"));
    let xlsx = staff
        .get(format!("{reg_url}.xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&xlsx[..2], b"PK");
    // The API shows registrations to partners only.
    let api = format!("/api/v1/agenda/lens-lievin/sessions/{session}/registrations");
    let list: Vec<serde_json::Value> = staff
        .get(app.url(&api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 3);
    let member = app.login("member").await;
    assert_eq!(
        member.get(app.url(&api)).send().await.unwrap().status(),
        403
    );
    assert_eq!(c.get(app.url(&api)).send().await.unwrap().status(), 401);

    // The agenda page and its filters; the feed.
    let agenda_html = c
        .get(app.url("/t/lens-lievin/agenda?theme=Nutrition&commune=62498&public=public"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(agenda_html.contains(&format!("/t/lens-lievin/evenements/{event}")));
    let none = c
        .get(app.url("/t/lens-lievin/agenda?theme=Inconnu"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!none.contains(&format!("/t/lens-lievin/evenements/{event}")));
    let ics = c
        .get(app.url("/t/lens-lievin/agenda.ics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ics.contains("STATUS:CONFIRMED") && ics.contains("CATEGORIES:Nutrition,Seniors"));
    // Read back by Python's icalendar: one event, local time in Europe/Paris.
    let events = python_events(&ics);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].ends_with("|CONFIRMED|Europe/Paris|Nutrition,Seniors"),
        "{events:?}"
    );
    // Cancelling the session closes registrations with a clear message
    // (to a form shown before the cancellation).
    let event_url = app.url(&format!("/t/lens-lievin/evenements/{event}"));
    let stale = staff
        .get(&event_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = staff
        .post(app.url(&format!(
            "/admin/t/lens-lievin/seances/{session}/annulation"
        )))
        .form(&[("confirme", "oui"), ("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let ics = c
        .get(app.url("/t/lens-lievin/agenda.ics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ics.contains("STATUS:CANCELLED"));
    let url = event_url;
    let token = extract_csrf(&stale).unwrap();
    let stamp = hidden(&stale, "_t");
    let r = staff
        .post(format!("{url}/inscription"))
        .form(&[
            ("_csrf", token.as_str()),
            ("_t", stamp.as_str()),
            ("site_web", ""),
            ("session_id", &session.to_string()),
            ("name", "Tardif"),
            ("phone", "0321000000"),
            ("party_size", "1"),
            ("consent", "oui"),
            ("key", "k"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("séance est annulée") && body.contains("value=\"Tardif\""),
        "{body}"
    );
    app.stop().await;
}
both!(event_page_registration_and_cancel);

async fn parallel_requests_for_the_last_seats(backend: Backend) {
    let app = TestApp::start_with(backend, quick()).await;
    let (_, event, session) = event_through_forms(&app, "Forum santé", "3").await;
    let app = std::sync::Arc::new(app);
    let mut handles = Vec::new();
    for i in 0..12 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            let c = app.client();
            let r = register_form(&app, &c, event, session, &format!("Personne{i}"), None).await;
            r.status()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 200);
    }
    let s = agenda::get_session(&app.db, session).await.unwrap();
    assert_eq!((s.taken, s.waiting), (3, 9));
    let app = std::sync::Arc::try_unwrap(app).ok().expect("single owner");
    app.stop().await;
}
both!(parallel_requests_for_the_last_seats);

async fn series_form_keeps_input_and_shows_the_rule(backend: Backend) {
    let app = TestApp::start(backend).await;
    seed_000(&app).await;
    let c = app.login("partner").await;
    let token = csrf_from(&c, &app.url("/admin/t/lens-lievin/permanences/nouvelle")).await;
    let place = agenda::list_places(&app.db, lens_id(&app).await)
        .await
        .unwrap()[0]
        .id
        .to_string();
    let form = |pattern: &'static str, rule: &'static str, end: &'static str| {
        vec![
            ("_csrf", token.clone()),
            ("title", "Permanence du marché".to_owned()),
            ("place_id", place.clone()),
            ("pattern", pattern.into()),
            ("weekday", "TH".into()),
            ("nth", "2".into()),
            ("rrule", rule.into()),
            ("first_date", "2025-01-01".into()),
            ("end_date", end.into()),
            ("start_time", "09:00".into()),
            ("end_time", "11:00".into()),
            ("skip_holidays", "oui".into()),
            ("access", "appointment".into()),
        ]
    };
    // Never ends: refused, typed values kept.
    let r = c
        .post(app.url("/admin/t/lens-lievin/permanences"))
        .form(&form("custom", "FREQ=WEEKLY;BYDAY=TH", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("ne s’arrête jamais"));
    assert!(
        body.contains("value=\"Permanence du marché\"")
            && body.contains("value=\"FREQ=WEEKLY;BYDAY=TH\"")
    );
    // Yields nothing.
    let r = c
        .post(app.url("/admin/t/lens-lievin/permanences"))
        .form(&form(
            "custom",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "2026-12-31",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // « Chaque mois le 2e jeudi » from a Wednesday: refused in words (the
    // first date must be a date of the series, issue 10).
    let r = c
        .post(app.url("/admin/t/lens-lievin/permanences"))
        .form(&form("monthly", "", "2025-06-30"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Le 01/01/2025 est un mercredi, pas un jeudi"));
    // From the second Thursday of January: saved; the edit page shows the
    // rule in words and the RRULE under « Avancé ».
    let mut f = form("monthly", "", "2025-06-30");
    f[7].1 = "2025-01-09".into();
    let r = c
        .post(app.url("/admin/t/lens-lievin/permanences"))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let edit = r.headers()["location"].to_str().unwrap().to_owned();
    let page = c
        .get(app.url(&edit))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("FREQ=MONTHLY;BYDAY=2TH;UNTIL=20250630T215959Z"),
        "{page}"
    );
    assert!(page.contains("le 2e jeudi du mois, de 9 h à 11 h, du 09/01/2025 au 30/06/2025"));
    assert!(page.contains("09/01/2025 (jeudi), 9 h"));
    // Cancel one occurrence through the form.
    let r = c
        .post(app.url(&format!("{edit}/exceptions")))
        .form(&[
            ("_csrf", token.as_str()),
            ("original_date", "2025-02-13"),
            ("action", "cancel"),
            ("note", "Vacances"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = c
        .get(app.url(&edit))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("annulée") && page.contains("Vacances"));
    // Members cannot edit; the API lists the series.
    let member = app.login("member").await;
    assert_eq!(
        member.get(app.url(&edit)).send().await.unwrap().status(),
        403
    );
    let series: Vec<serde_json::Value> = app
        .client()
        .get(app.url("/api/v1/agenda/lens-lievin/series"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(series.len(), 11);
    let doc: serde_json::Value = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/agenda/{territory}/occurrences"].is_object());
    app.stop().await;
}
both!(series_form_keeps_input_and_shows_the_rule);

/// A tiny SMTP server that accepts everything and keeps the messages.
pub(crate) async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(data.take().unwrap());
                            w.write_all(b"250 OK\r\n").await.unwrap();
                        } else {
                            buf.push_str(&line);
                            buf.push('\n');
                        }
                        continue;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if cmd.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go\r\n"
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

/// The message with its quoted-printable body decoded.
fn decode_qp(mail: &str) -> String {
    let joined = mail.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) async fn wait_for_mail(
    mails: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    n: usize,
) -> Vec<String> {
    for _ in 0..100 {
        if mails.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    mails.lock().unwrap().iter().map(|m| decode_qp(m)).collect()
}

async fn mails_confirmation_promotion_reminder_and_retention(backend: Backend) {
    let (port, mails) = smtp_sink().await;
    let config = maillage::config::Config {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        ..quick()
    };
    let app = TestApp::start_with(backend, config).await;
    let (_, event, session) = event_through_forms(&app, "Atelier mémoire", "1").await;
    let c = app.client();
    let r = register_form(&app, &c, event, session, "Alice", None).await;
    assert!(r.text().await.unwrap().contains("Inscription confirmée"));
    let got = wait_for_mail(&mails, 1).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("To: alice@exemple.test"));
    // It went through the outbox: its receipt says sent, by the relay.
    let tid = lens_id(&app).await;
    let mut sent = Vec::new();
    for _ in 0..50 {
        sent = maillage::storage::messages::for_territory(
            &app.db,
            tid,
            Some(maillage::domain::messages::Status::Sent),
            10,
        )
        .await
        .unwrap();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        sent.iter().any(|m| m.channel == "email"
            && m.recipient == "alice@exemple.test"
            && m.provider == "smtp"
            && m.purpose == "confirmation"),
        "{sent:?}"
    );
    let link_at = got[0]
        .find("/t/lens-lievin/inscriptions/")
        .unwrap_or_else(|| panic!("no cancel link in {}", got[0]));
    let cancel_path: String = got[0][link_at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    register_form(&app, &c, event, session, "Bruno", None).await;
    let got = wait_for_mail(&mails, 2).await;
    assert!(got[1].contains("To: bruno@exemple.test") && got[1].contains("liste d’attente"));
    // Alice cancels from the link of her e-mail: Bruno is told.
    let page = c
        .get(app.url(&cancel_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = extract_csrf(&page).unwrap();
    c.post(app.url(&cancel_path))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let got = wait_for_mail(&mails, 3).await;
    assert!(
        got[2].contains("To: bruno@exemple.test") && got[2].contains("Une place s’est libérée")
    );
    // The day before: one reminder, once.
    let s = agenda::get_session(&app.db, session).await.unwrap();
    let eve = s.starts_at - chrono::Duration::hours(20);
    assert_eq!(
        maillage::web::agenda::housekeeping(&app.state, eve)
            .await
            .unwrap(),
        (1, 0)
    );
    assert_eq!(
        maillage::web::agenda::housekeeping(&app.state, eve)
            .await
            .unwrap(),
        (0, 0)
    );
    let got = wait_for_mail(&mails, 4).await;
    assert!(got[3].contains("To: bruno@exemple.test") && got[3].contains("Petit rappel"));
    // The session is cancelled: Bruno is told, once.
    let staff = app.login("coordinator").await;
    let token = csrf_from(
        &staff,
        &app.url(&format!("/admin/t/lens-lievin/evenements/{event}")),
    )
    .await;
    let cancel = app.url(&format!(
        "/admin/t/lens-lievin/seances/{session}/annulation"
    ));
    for _ in 0..2 {
        let r = staff
            .post(&cancel)
            .form(&[("confirme", "oui"), ("_csrf", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
    let got = wait_for_mail(&mails, 5).await;
    assert!(
        got[4].contains("To: bruno@exemple.test")
            && got[4].contains("la séance suivante est annulée"),
        "{}",
        got[4]
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        mails.lock().unwrap().len(),
        5,
        "one message per cancellation"
    );
    // Retention: 90 days after the session, the list is purged.
    let later = s.ends_at + chrono::Duration::days(91);
    assert_eq!(
        maillage::web::agenda::housekeeping(&app.state, later)
            .await
            .unwrap(),
        (0, 2)
    );
    assert!(agenda::registrations(&app.db, session)
        .await
        .unwrap()
        .is_empty());
    app.stop().await;
}
both!(mails_confirmation_promotion_reminder_and_retention);
