//! The professionals' network agenda (issue 13) over HTTP, on SQLite and
//! PostgreSQL: regional staff publish a save-the-date, then a regional day
//! in two sessions for different audiences; coordinators cannot write
//! regional events and regional staff cannot write a territory's; forms keep
//! what was typed (422) and show both versions (409); `/region/agenda`, the
//! event page (JSON-LD), `/region/agenda.ics` read by Python's `icalendar`,
//! and the agendas of the territories it concerns (and not the others).

use crate::common;

use common::{Backend, TestApp};
use maillage::storage::territories;

/// The VEVENTs of a feed as Python's `icalendar` reads them:
/// `summary|status|categories|url`.
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
    print('%s|%s|%s|%s|%s' % (e['SUMMARY'], e['STATUS'], cats, e.get('URL', ''), e.get('LOCATION', '')))
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

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A date some weeks ahead, as the date field sends it.
fn ahead(days: i64) -> String {
    (chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        + chrono::Duration::days(days))
    .format("%Y-%m-%d")
    .to_string()
}

async fn regional_staff_publish_a_professionals_day(backend: Backend) {
    let app = TestApp::start(backend).await;
    let lens = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let anonymous = app.sign_in_as("anonymous").await;
    let body = anonymous.text("/region/agenda").await;
    assert!(body.contains("Aucun événement régional à venir"), "{body}");
    // The hidden owner is no territory.
    assert_eq!(anonymous.get("/t/_region/agenda").await.status(), 404);
    assert_eq!(anonymous.get("/t/_region/").await.status(), 404);
    assert!(!anonymous.text("/").await.contains("Réseau régional"));
    assert!(!anonymous.text("/region/").await.contains("Réseau régional"));

    let event = [
        ("title", "Santé et contrat de ville"),
        ("kind", "professionals_day"),
        ("status", "save_the_date"),
        ("organiser", "Centre de ressources régional"),
        ("programme_to_come", "oui"),
        ("territoires", lens.as_str()),
    ];
    // A coordinator does not write regional events.
    let coordinator = app.sign_in_as("coordinator").await;
    let r = coordinator
        .post_form("/region/agenda/gestion", &event)
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        coordinator
            .get("/region/agenda/gestion/nouveau")
            .await
            .status(),
        403
    );
    // Regional staff do not write a territory's events.
    let regional = app.sign_in_as("regional").await;
    let r = regional
        .post_form(
            "/admin/t/lens-lievin/evenements",
            &[
                ("title", "Intrus"),
                ("kind", "workshop"),
                ("status", "confirmed"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);

    // 422: no title, no territory; what was typed stays.
    let r = regional
        .post_form(
            "/region/agenda/gestion",
            &[
                ("title", ""),
                ("kind", "professionals_day"),
                ("status", "save_the_date"),
                ("organiser", "Centre de ressources « IREV »"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("Indiquez un titre."), "{body}");
    assert!(body.contains("Cochez les territoires concernés"), "{body}");
    assert!(body.contains("Centre de ressources « IREV »"), "{body}");

    // The save-the-date, concerning Lens-Liévin.
    let r = regional.post_form("/region/agenda/gestion", &event).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let edit = location(&r);
    let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();
    // Two sessions for different audiences; a bad one keeps what was typed.
    let day = ahead(40);
    let r = regional
        .post_form(
            &format!("{edit}/seances"),
            &[
                ("date", day.as_str()),
                ("start", "12:30"),
                ("end", "09:00"),
                ("place_text", "Lille, Grand Palais"),
                ("audience", "roles"),
                ("audience_roles", "Professionnels de santé"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("La fin doit être après le début."), "{body}");
    assert!(body.contains("value=\"Lille, Grand Palais\""), "{body}");
    for (start, end, roles) in [
        ("09:00", "12:30", "Professionnels de santé"),
        ("14:00", "17:00", "Élus et coordinateurs"),
    ] {
        let r = regional
            .post_form(
                &format!("{edit}/seances"),
                &[
                    ("date", day.as_str()),
                    ("start", start),
                    ("end", end),
                    ("place_text", "Lille, Grand Palais"),
                    ("capacity", "100"),
                    ("audience", "roles"),
                    ("audience_roles", roles),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    }

    // 409: two saves from the same version; the second shows both.
    let confirmed = |title: &'static str| {
        vec![
            ("title", title),
            ("kind", "professionals_day"),
            ("status", "confirmed"),
            ("organiser", "Centre de ressources régional"),
            ("description", "Le matin pour les professionnels de santé, l’après-midi pour les élus et les coordinateurs."),
            ("territoires", lens.as_str()),
            ("version", "1"),
        ]
    };
    let r = regional
        .post_form(
            &edit,
            &confirmed("Journée régionale santé et contrat de ville"),
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = regional
        .post_form(&edit, &confirmed("Titre d’une autre main"))
        .await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(body.contains("Version enregistrée entre-temps"), "{body}");
    assert!(
        body.contains("Journée régionale santé et contrat de ville"),
        "{body}"
    );
    assert!(body.contains("value=\"Titre d’une autre main\""), "{body}");
    assert!(body.contains("name=\"version\" value=\"2\""), "{body}");

    // The public regional agenda and the event page.
    let body = anonymous.text("/region/agenda").await;
    assert!(
        body.contains("Journée régionale santé et contrat de ville"),
        "{body}"
    );
    assert!(
        body.contains("Réservé à : Professionnels de santé"),
        "{body}"
    );
    assert!(body.contains("Réservé à : Élus et coordinateurs"), "{body}");
    assert!(body.contains(&format!("/region/agenda/{id}")), "{body}");
    let page = anonymous.text(&format!("/region/agenda/{id}")).await;
    assert!(page.contains("Événement régional"), "{page}");
    assert!(page.contains("\"@type\":\"Event\""), "{page}");
    assert!(page.contains("\"subEvent\""), "{page}");
    assert!(page.contains("Lille, Grand Palais"), "{page}");

    // The territory it concerns shows it; another does not.
    let body = anonymous.text("/t/lens-lievin/agenda").await;
    assert!(
        body.contains("Journée régionale santé et contrat de ville"),
        "{body}"
    );
    assert!(body.contains("Événement régional"), "{body}");
    assert!(
        body.contains(&format!("href=\"/region/agenda/{id}\"")),
        "{body}"
    );
    let other = anonymous.text("/t/mond-arverne/agenda").await;
    assert!(!other.contains("Journée régionale"), "{other}");

    // The feeds, read by Python's icalendar.
    let ics = anonymous.text("/region/agenda.ics").await;
    let events = python_events(&ics);
    assert_eq!(events.len(), 2, "{ics}");
    for e in &events {
        assert!(
            e.starts_with(
                "Journée régionale santé et contrat de ville|CONFIRMED|Événement régional|"
            ),
            "{e}"
        );
        assert!(
            e.contains(&format!("/region/agenda/{id}|Lille, Grand Palais")),
            "{e}"
        );
    }
    let ics = anonymous.text("/t/lens-lievin/agenda.ics").await;
    let events = python_events(&ics);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.contains("|Événement régional|"))
            .count(),
        2,
        "{ics}"
    );
    let ics = anonymous.text("/t/mond-arverne/agenda.ics").await;
    assert!(!ics.contains("Journée régionale"), "{ics}");

    // « Toute la région » reaches every territory.
    let mut whole = confirmed("Journée régionale santé et contrat de ville");
    whole.retain(|(k, _)| *k != "territoires" && *k != "version");
    whole.push(("toute_region", "oui"));
    whole.push(("version", "2"));
    let r = regional.post_form(&edit, &whole).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let other = anonymous.text("/t/mond-arverne/agenda").await;
    assert!(other.contains("Journée régionale"), "{other}");

    // Cancelling asks first, then cancels every session.
    let r = regional.post_form(&format!("{edit}/annulation"), &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("confirme"));
    let r = regional
        .post_form(&format!("{edit}/annulation"), &[("confirme", "oui")])
        .await;
    assert_eq!(r.status(), 303);
    let page = anonymous.text(&format!("/region/agenda/{id}")).await;
    assert!(page.contains("Annulé"), "{page}");
    assert!(page.contains("EventCancelled"), "{page}");
    app.stop().await;
}
both!(regional_staff_publish_a_professionals_day);
