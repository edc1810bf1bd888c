//! Bugs met while using the agenda as a newcomer (issue 10), each reproduced
//! here on SQLite and PostgreSQL.

use crate::common;

use chrono::{Duration, Utc};
use common::{extract_csrf, text_of, Backend, TestApp};
use maillage::domain::agenda::event::NewRegistration;
use maillage::storage::agenda::{self, EventInput, NewPlace, SessionInput};
use maillage::storage::audit::Actor;
use maillage::storage::territories;

async fn lens_id(app: &TestApp) -> i64 {
    territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A confirmed workshop organised by the CCAS.
fn workshop(title: &str, themes: &str, description: &str) -> EventInput {
    EventInput {
        title: title.into(),
        kind: "workshop".into(),
        status: "confirmed".into(),
        organiser: "CCAS".into(),
        themes: themes.into(),
        description: description.into(),
        linked_actions: String::new(),
        programme_to_come: false,
        action_id: None,
    }
}

/// An event with one session of `capacity` seats for `audience`.
async fn event_with_session(app: &TestApp, capacity: Option<i64>, audience: &str) -> (i64, i64) {
    let tid = lens_id(app).await;
    let actor = Actor::system("test");
    let place = agenda::create_place(
        &app.db,
        &actor,
        tid,
        &NewPlace {
            name: "Centre social".into(),
            address: "1 rue de la Paix".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let e = agenda::create_event(
        &app.db,
        &actor,
        tid,
        &workshop("Atelier cuisine", "Nutrition", "Cuisiner simple."),
    )
    .await
    .unwrap();
    let start = Utc::now() + Duration::days(10);
    let s = agenda::add_session(
        &app.db,
        &actor,
        tid,
        e.id,
        &SessionInput {
            starts_at: start,
            ends_at: start + Duration::hours(2),
            place_id: Some(place.id),
            capacity,
            audience: audience.into(),
            audience_roles: String::new(),
        },
    )
    .await
    .unwrap();
    (e.id, s.id)
}

async fn reg(app: &TestApp, session: i64, name: &str, party: &str) -> String {
    let r = NewRegistration::parse(name, "", "06 00 00 00 00", party, true).unwrap();
    agenda::register(&app.db, session, &r, None, "test")
        .await
        .unwrap()
        .0
        .status
}

/// Fill in and send the public registration form; returns (status, body).
async fn register_public(
    app: &TestApp,
    c: &reqwest::Client,
    event: i64,
    session: i64,
    party: &str,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let url = app.url(&format!("/t/lens-lievin/evenements/{event}"));
    let html = text_of(c, &url).await;
    let token = extract_csrf(&html).unwrap();
    let marker = "name=\"key\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let key = html[start..start + html[start..].find('"').unwrap()].to_owned();
    let session = session.to_string();
    // The anti-spam time stamp the page signed (the fill time is checked
    // against it; these tests start the server with no minimum).
    let stamp_marker = "name=\"_t\" value=\"";
    let stamp = html.find(stamp_marker).map(|i| {
        let v = &html[i + stamp_marker.len()..];
        v[..v.find('"').unwrap()].to_owned()
    });
    let stamp = stamp.unwrap_or_default();
    let mut form = vec![
        ("_t", stamp.as_str()),
        ("_csrf", token.as_str()),
        ("session_id", session.as_str()),
        ("name", "Awa Diallo"),
        ("email", "awa@exemple.test"),
        ("phone", ""),
        ("party_size", party),
        ("consent", "oui"),
        ("key", key.as_str()),
    ];
    form.extend_from_slice(extra);
    let r = c
        .post(format!("{url}/inscription"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// « 1 place restante » on the page, then « La séance est complète » for one
/// person: a party waits (it did not fit), so newcomers wait too, and the
/// page must say the session is full.
async fn seats_shown_match_registration(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        maillage::config::Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await;
    let (event, session) = event_with_session(&app, Some(3), "public").await;
    assert_eq!(reg(&app, session, "Alice", "2").await, "confirmed");
    assert_eq!(reg(&app, session, "Bruno et Chloé", "2").await, "waiting");
    let c = app.client();
    let page = text_of(&c, app.url(&format!("/t/lens-lievin/evenements/{event}"))).await;
    let says_one_left = page.contains("1 place restante");
    let (status, body) = register_public(&app, &c, event, session, "1", &[]).await;
    assert_eq!(status, 200);
    let waited = body.contains("La séance est complète");
    assert!(
        !(says_one_left && waited),
        "the page promised a seat that the registration refused"
    );
    assert!(waited, "nobody jumps the waiting list");
    assert!(
        page.contains("complet"),
        "the page says the session is full"
    );
    app.stop().await;
}
both!(seats_shown_match_registration);

/// A professionals' session says so on the event page and in the form, and
/// a registration for it needs the « Je suis un·e professionnel·le » box.
async fn professionals_session_is_announced_and_confirmed(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        maillage::config::Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await;
    let (event, session) = event_with_session(&app, Some(20), "professionals").await;
    let c = app.client();
    let page = text_of(&c, app.url(&format!("/t/lens-lievin/evenements/{event}"))).await;
    assert!(page.contains("Réservé aux professionnels"), "{page}");
    assert!(page.contains("Je suis un·e professionnel·le"));
    let (status, body) = register_public(&app, &c, event, session, "1", &[]).await;
    assert_eq!(status, 422, "an inhabitant is told first");
    assert!(body.contains("réservée aux professionnels"));
    assert!(body.contains("value=\"Awa Diallo\""), "input kept");
    let (status, body) =
        register_public(&app, &c, event, session, "1", &[("professional", "oui")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Inscription confirmée"));
    app.stop().await;
}
both!(professionals_session_is_announced_and_confirmed);

/// The directory understands what people type: « médecin généraliste »,
/// « generaliste », « docteur » find the GPs (savoir-faire « Médecine
/// générale »), « hopital » the Centre Hospitalier; phones are `tel:` links.
async fn directory_understands_people_words(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.client();
    for q in [
        "m%C3%A9decin+g%C3%A9n%C3%A9raliste",
        "generaliste",
        "docteur",
        "m%C3%A9decin+traitant",
    ] {
        let page = text_of(&c, app.url(&format!("/t/lens-lievin/annuaire?q={q}"))).await;
        assert!(page.contains("DURAND") || page.contains("Durand"), "{q}");
        assert!(!page.contains("PHARMACIE DU CENTRE"), "{q}");
    }
    for q in ["hopital", "h%C3%B4pital"] {
        let page = text_of(&c, app.url(&format!("/t/lens-lievin/annuaire?q={q}"))).await;
        assert!(page.contains("CENTRE HOSPITALIER DE LENS"), "{q}");
        assert!(page.contains("href=\"tel:0321691212\""), "{q}");
        assert!(page.contains("03 21 69 12 12"), "{q}");
    }
    // Professionals' phones too.
    let page = text_of(&c, app.url("/t/lens-lievin/annuaire?q=kin%C3%A9")).await;
    assert!(page.contains("href=\"tel:0321040404\""), "{page}");
    app.stop().await;
}
both!(directory_understands_people_words);

async fn a_place(app: &TestApp, name: &str) -> i64 {
    agenda::create_place(
        &app.db,
        &Actor::system("test"),
        lens_id(app).await,
        &NewPlace {
            name: name.into(),
            address: "1 rue de la Paix".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap()
    .id
}

async fn post_form(
    app: &TestApp,
    c: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let html = text_of(c, app.url(page)).await;
    let token = extract_csrf(&html).unwrap_or_else(|| panic!("no form in {page}: {html}"));
    let mut form = vec![("_csrf", token.as_str())];
    form.extend_from_slice(fields);
    let r = c.post(app.url(action)).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, r.text().await.unwrap(), location)
}

/// A Friday first date with « lundi » selected is refused in words (422,
/// input kept) instead of publishing Mondays from the following week; left
/// on its default, the weekday comes from the first date; the rule is shown
/// in words, the RRULE only under « Avancé ».
async fn series_weekday_comes_from_first_date(backend: Backend) {
    let app = TestApp::start(backend).await;
    let place = a_place(&app, "Centre social").await.to_string();
    let c = app.login("partner").await;
    let new = "/admin/t/lens-lievin/permanences/nouvelle";
    let post = "/admin/t/lens-lievin/permanences";
    let fields = |weekday: &'static str| {
        vec![
            ("title", "Permanence de Lens"),
            ("mediators", ""),
            ("place_id", ""),
            ("first_date", "2026-12-04"), // a Friday
            ("end_date", "2027-02-26"),
            ("start_time", "14:00"),
            ("end_time", "16:00"),
            ("pattern", "biweekly"),
            ("weekday", weekday),
            ("nth", "1"),
            ("rrule", ""),
            ("skip_holidays", "oui"),
            ("access", "walk_in"),
            ("services", "Écoute"),
            ("version", ""),
        ]
    };
    let mut f = fields("MO");
    f[2].1 = &place;
    let (status, body, _) = post_form(&app, &c, new, post, &f).await;
    assert_eq!(status, 422, "a Monday rule from a Friday is refused");
    assert!(
        body.contains("Le 04/12/2026 est un vendredi, pas un lundi"),
        "{body}"
    );
    assert!(body.contains("value=\"Permanence de Lens\""), "input kept");
    assert!(agenda::list_series(&app.db, lens_id(&app).await)
        .await
        .unwrap()
        .is_empty());

    let mut f = fields("");
    f[2].1 = &place;
    let (status, _, location) = post_form(&app, &c, new, post, &f).await;
    assert_eq!(status, 303);
    let series = agenda::list_series(&app.db, lens_id(&app).await)
        .await
        .unwrap();
    assert_eq!(series[0].rrule, "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR");
    let page = text_of(&c, app.url(&location)).await;
    assert!(
        page.contains("un vendredi sur deux, de 14 h à 16 h, du 04/12/2026 au 26/02/2027"),
        "{page}"
    );
    let advanced = page.find("<summary>Avancé</summary>").unwrap();
    let until = page.find("UNTIL=").unwrap();
    assert!(until > advanced, "the RRULE only under « Avancé »");
    // 1 January 2027 is a Friday of the series: listed, and can be held.
    assert!(
        page.contains("01/01/2027, férié (Jour de l’an) : pas de permanence"),
        "{page}"
    );
    let id = series[0].id;
    let (status, _, _) = post_form(
        &app,
        &c,
        &location,
        &format!("/admin/t/lens-lievin/permanences/{id}/exceptions"),
        &[("original_date", "2027-01-01"), ("action", "hold")],
    )
    .await;
    assert_eq!(status, 303);
    let page = text_of(&c, app.url(&location)).await;
    assert!(page.contains("férié, permanence maintenue"));
    let feed = text_of(&c, app.url("/t/lens-lievin/permanences.ics")).await;
    assert!(!feed.contains("EXDATE"), "a held holiday is not excluded");
    let public = text_of(
        &c,
        app.url("/t/lens-lievin/permanences?du=28/12/2026&au=05/01/2027"),
    )
    .await;
    assert!(public.contains("vendredi 1er janvier 2027"), "{public}");
    app.stop().await;
}
both!(series_weekday_comes_from_first_date);

/// A place is created from the series form without leaving it: what was
/// typed stays, the new place is selected.
async fn place_created_inline(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("partner").await;
    let new = "/admin/t/lens-lievin/permanences/nouvelle";
    let (status, body, _) = post_form(
        &app,
        &c,
        new,
        "/admin/t/lens-lievin/permanences",
        &[
            ("title", "Permanence de Liévin"),
            ("first_date", "2026-12-04"),
            ("end_date", "2027-02-26"),
            ("start_time", "14:00"),
            ("end_time", "16:00"),
            ("pattern", "weekly"),
            ("weekday", ""),
            ("nth", "1"),
            ("skip_holidays", "oui"),
            ("access", "walk_in"),
            ("new_place_name", "Maison de quartier Calonne"),
            ("new_place_address", "Rue de la Marne"),
            ("new_place_insee", "62510"),
            ("action", "place"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Lieu « Maison de quartier Calonne » créé"));
    assert!(
        body.contains("value=\"Permanence de Liévin\""),
        "input kept"
    );
    let places = agenda::list_places(&app.db, lens_id(&app).await)
        .await
        .unwrap();
    assert_eq!(places.len(), 1);
    assert!(body.contains(&format!("<option value=\"{}\" selected>", places[0].id)));
    app.stop().await;
}
both!(place_created_inline);

/// Ending a series keeps its past dates; places and sessions are edited;
/// removals go through a confirmation page.
async fn edit_and_end(backend: Backend) {
    let app = TestApp::start(backend).await;
    let tid = lens_id(&app).await;
    let place = a_place(&app, "Centre social").await;
    let actor = Actor::system("test");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let s = agenda::create_series(
        &app.db,
        &actor,
        tid,
        &agenda::SeriesInput {
            title: "Permanence hebdomadaire".into(),
            mediators: String::new(),
            place_id: place,
            first_date: today - Duration::days(28),
            end_date: Some(today + Duration::days(60)),
            start_time: chrono::NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            end_time: chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            rrule: "FREQ=DAILY".into(),
            skip_holidays: false,
            access: "walk_in".into(),
            services: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap();
    let c = app.login("partner").await;
    let confirm = text_of(
        &c,
        app.url(&format!(
            "/admin/t/lens-lievin/permanences/{}/arreter",
            s.id
        )),
    )
    .await;
    assert!(confirm.contains("Arrêter cette permanence ?"));
    assert!(confirm.contains("class=\"danger\""));
    let (status, _, _) = post_form(
        &app,
        &c,
        &format!("/admin/t/lens-lievin/permanences/{}/arreter", s.id),
        &format!("/admin/t/lens-lievin/permanences/{}/arreter", s.id),
        &[("confirme", "oui")],
    )
    .await;
    assert_eq!(status, 303);
    let ended = agenda::get_series(&app.db, tid, s.id).await.unwrap();
    let yesterday = today - Duration::days(1);
    assert_eq!(
        ended.end_date,
        Some(yesterday.format("%Y-%m-%d").to_string())
    );
    let dates = ended.schedule().unwrap().dates();
    assert_eq!(dates.len(), 28, "past dates kept");

    // The place is used: it is edited, not removed.
    let (status, _, _) = post_form(
        &app,
        &c,
        &format!("/admin/t/lens-lievin/lieux/{place}"),
        &format!("/admin/t/lens-lievin/lieux/{place}"),
        &[
            ("name", "Centre social Dumas"),
            ("address", "Rue Alexandre Dumas"),
            ("insee_code", "62498"),
            ("access_notes", ""),
            ("version", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        agenda::get_place(&app.db, tid, place).await.unwrap().name,
        "Centre social Dumas"
    );
    let (status, body, _) = post_form(
        &app,
        &c,
        &format!("/admin/t/lens-lievin/lieux/{place}/supprimer"),
        &format!("/admin/t/lens-lievin/lieux/{place}/supprimer"),
        &[("confirme", "oui")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("sert encore"));

    // Sessions: more seats promote the waiting list; a session with
    // registrations is cancelled, not removed.
    let (event, session) = event_with_session(&app, Some(1), "public").await;
    assert_eq!(reg(&app, session, "Alice", "1").await, "confirmed");
    assert_eq!(reg(&app, session, "Bruno", "1").await, "waiting");
    let page = format!("/admin/t/lens-lievin/seances/{session}");
    let html = text_of(&c, app.url(&page)).await;
    let date = {
        let m = "name=\"date\" value=\"";
        let i = html.find(m).unwrap() + m.len();
        html[i..i + 10].to_owned()
    };
    let (status, body, _) = post_form(
        &app,
        &c,
        &page,
        &page,
        &[
            ("date", &date),
            ("start", "10:00"),
            ("end", "12:00"),
            ("place_id", ""),
            ("capacity", "2"),
            ("audience", "public"),
            ("audience_roles", ""),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let s2 = agenda::get_session(&app.db, session).await.unwrap();
    assert_eq!((s2.capacity, s2.taken, s2.waiting), (Some(2), 2, 0));
    let confirm = text_of(&c, app.url(&format!("{page}/supprimer"))).await;
    assert!(confirm.contains("ne peut pas être supprimée"));
    let (status, _, _) = post_form(
        &app,
        &c,
        &format!("{page}/supprimer"),
        &format!("{page}/supprimer"),
        &[("confirme", "oui")],
    )
    .await;
    assert_eq!(status, 409);
    let confirm = text_of(&c, app.url(&format!("{page}/annulation"))).await;
    assert!(confirm.contains("Annuler cette séance ?"));
    let event_page = text_of(
        &c,
        app.url(&format!("/admin/t/lens-lievin/evenements/{event}")),
    )
    .await;
    assert!(
        event_page.contains("2 places, 0 personne en attente"),
        "{event_page}"
    );
    app.stop().await;
}
both!(edit_and_end);

/// Editing a session keeps the bounds of adding one: a capacity of 2^63 − 1
/// or a date in year 0 is refused, not stored.
async fn session_edit_is_bounded_like_session_add(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, session) = event_with_session(&app, Some(10), "public").await;
    let c = app.login("coordinator").await;
    let page = format!("/admin/t/lens-lievin/seances/{session}");
    for (date, capacity) in [("2030-01-01", "9223372036854775807"), ("0000-01-01", "10")] {
        let (status, body, _) = post_form(
            &app,
            &c,
            &page,
            &page,
            &[
                ("date", date),
                ("start", "10:00"),
                ("end", "12:00"),
                ("place_id", ""),
                ("capacity", capacity),
                ("audience", "public"),
                ("audience_roles", ""),
            ],
        )
        .await;
        assert_eq!(status, 422, "{date} {capacity}: {body}");
    }
    let s = agenda::get_session(&app.db, session).await.unwrap();
    assert_eq!(s.capacity, Some(10));
    app.stop().await;
}
both!(session_edit_is_bounded_like_session_add);

/// Issue 10: the registration confirmation repeats the place and offers the
/// session's own calendar file; it never promises an e-mail the site cannot
/// send (no mail server here).
async fn confirmation_gives_place_and_calendar(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        maillage::config::Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await;
    let (event, session) = event_with_session(&app, Some(10), "public").await;
    let c = app.client();
    let (status, body) = register_public(&app, &c, event, session, "1", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Lieu : "), "{body}");
    let ics_path = format!("/t/lens-lievin/seances/{session}/calendrier.ics");
    assert!(body.contains(&ics_path), "{body}");
    assert!(body.contains("n’envoie pas de courriel"), "{body}");
    let r = c.get(app.url(&ics_path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = r.text().await.unwrap();
    assert!(ics.contains(&format!("UID:seance-{session}@")), "{ics}");
    assert!(ics.contains("DTSTART;TZID=Europe/Paris:"));
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
    // Another territory does not serve this session.
    let r = c
        .get(app.url(&format!("/t/mond-arverne/seances/{session}/calendrier.ics")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}
both!(confirmation_gives_place_and_calendar);

/// A stale edit of a series or an event (someone saved in between): 409,
/// the stored version shown beside what was typed (kept in the form), and
/// the form now carries the stored version, so saving again goes through,
/// with « enregistré » shown on the next page (issue 10, one form flow).
async fn stale_series_and_event_edits_show_both_versions(backend: Backend) {
    let app = TestApp::start(backend).await;
    let place = a_place(&app, "Centre social").await.to_string();
    let c = app.login("partner").await;
    let new = "/admin/t/lens-lievin/permanences/nouvelle";
    let fields = |title: &'static str, version: &'static str| {
        vec![
            ("title", title),
            ("mediators", ""),
            ("place_id", place.as_str()),
            ("first_date", "2026-12-04"),
            ("end_date", "2027-02-26"),
            ("start_time", "14:00"),
            ("end_time", "16:00"),
            ("pattern", "biweekly"),
            ("weekday", ""),
            ("nth", "1"),
            ("rrule", ""),
            ("skip_holidays", "oui"),
            ("access", "walk_in"),
            ("services", ""),
            ("version", version),
        ]
    };
    let (status, _, location) = post_form(
        &app,
        &c,
        new,
        "/admin/t/lens-lievin/permanences",
        &fields("Permanence de Lens", ""),
    )
    .await;
    assert_eq!(status, 303);
    let page = location;
    // Someone saves first (from version 1).
    let (status, _, _) = post_form(
        &app,
        &c,
        &page,
        &page,
        &fields("Permanence enregistrée ailleurs", "1"),
    )
    .await;
    assert_eq!(status, 303);
    // A form built from version 1 is stale now.
    let (status, body, _) = post_form(
        &app,
        &c,
        &page,
        &page,
        &fields("Ma saisie de permanence", "1"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("Version enregistrée entre-temps"), "{body}");
    assert!(
        body.contains("Permanence enregistrée ailleurs"),
        "stored shown"
    );
    assert!(
        body.contains("value=\"Ma saisie de permanence\""),
        "typed kept"
    );
    assert!(
        body.contains("name=\"version\" value=\"2\""),
        "next save from the stored"
    );
    let (status, _, location) = post_form(
        &app,
        &c,
        &page,
        &page,
        &fields("Ma saisie de permanence", "2"),
    )
    .await;
    assert_eq!(status, 303);
    let next = text_of(&c, app.url(&location)).await;
    assert!(next.contains("Permanence enregistrée."), "flash: {next}");
    assert!(next.contains("value=\"Ma saisie de permanence\""));

    // The same for an event.
    let (event, _) = event_with_session(&app, Some(10), "public").await;
    let page = format!("/admin/t/lens-lievin/evenements/{event}");
    let fields = |title: &'static str, version: &'static str| {
        vec![
            ("title", title),
            ("kind", "workshop"),
            ("status", "confirmed"),
            ("organiser", "CCAS"),
            ("themes", ""),
            ("description", ""),
            ("linked_actions", ""),
            ("version", version),
        ]
    };
    let (status, _, _) =
        post_form(&app, &c, &page, &page, &fields("Atelier enregistré", "1")).await;
    assert_eq!(status, 303);
    let (status, body, _) = post_form(&app, &c, &page, &page, &fields("Mon atelier", "1")).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("Version enregistrée entre-temps"), "{body}");
    assert!(body.contains("Atelier enregistré"), "stored shown");
    assert!(body.contains("value=\"Mon atelier\""), "typed kept");
    let (status, _, _) = post_form(&app, &c, &page, &page, &fields("Mon atelier", "2")).await;
    assert_eq!(status, 303);
    app.stop().await;
}
both!(stale_series_and_event_edits_show_both_versions);

/// A place has its own phone number: checked like the coordination's, kept
/// as typed when refused, shown on the place's public card with a `tel:`
/// link instead of the coordination's.
async fn a_place_has_its_own_phone(backend: Backend) {
    let app = TestApp::start(backend).await;
    let coord = app.sign_in_as("coordinator").await;
    let fields = |phone: &'static str| {
        vec![
            ("name", "CCAS de Lens"),
            ("address", "Place Jean Jaurès"),
            ("insee_code", "62498"),
            ("access_notes", ""),
            ("phone", phone),
        ]
    };
    let resp = coord
        .post_form("/admin/t/lens-lievin/lieux", &fields("03 21 ab"))
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Téléphone : « 03 21 ab » n&#39;est pas un numéro"),
        "{html}"
    );
    assert!(html.contains("value=\"03 21 ab\"") && html.contains("value=\"CCAS de Lens\""));

    let resp = coord
        .post_form("/admin/t/lens-lievin/lieux", &fields("03.21.69.86.00"))
        .await;
    assert_eq!(resp.status(), 303);
    let tid = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let places = agenda::list_places(&app.db, tid).await.unwrap();
    let p = places.iter().find(|p| p.name == "CCAS de Lens").unwrap();
    assert_eq!(p.phone, "03 21 69 86 00", "stored in one shape");
    let edit = coord
        .text(&format!("/admin/t/lens-lievin/lieux/{}", p.id))
        .await;
    assert!(edit.contains("value=\"03 21 69 86 00\""), "{edit}");
    app.stop().await;
}
both!(a_place_has_its_own_phone);

/// Past the first page (it listed 200 sessions and said « choose a period »
/// for the rest), every session is reached through « Séances suivantes »
/// links, each exactly once: pages end with a whole day, the filters and
/// the end date are kept, and the last page has no link.
async fn every_session_is_reached_page_after_page(backend: Backend) {
    let app = TestApp::start(backend).await;
    let tid = lens_id(&app).await;
    let actor = Actor::system("test");
    let e = agenda::create_event(
        &app.db,
        &actor,
        tid,
        &workshop("Marche bleue", "Marche nordique", ""),
    )
    .await
    .unwrap();
    // Two sessions a day (09:00 and 13:00 UTC, the same day in Paris) for
    // 70 days, then 60 on one day: more than a page in a day.
    let first = (Utc::now() + Duration::days(2))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    let mut starts: Vec<_> = (0..140)
        .map(|i| first + Duration::days(i / 2) + Duration::hours(4 * (i % 2)))
        .collect();
    let crowded = first + Duration::days(80);
    starts.extend((0..60).map(|i| crowded + Duration::minutes(i)));
    for start in &starts {
        agenda::add_session(
            &app.db,
            &actor,
            tid,
            e.id,
            &SessionInput {
                starts_at: *start,
                ends_at: *start + Duration::hours(1),
                place_id: None,
                capacity: None,
                audience: "public".into(),
                audience_roles: String::new(),
            },
        )
        .await
        .unwrap();
    }
    let c = app.client();
    let until = (crowded + Duration::days(30)).date_naive();
    let mut next = Some(format!(
        "/t/lens-lievin/agenda?au={until}&theme=Marche+nordique"
    ));
    let mut seen: Vec<String> = Vec::new();
    let (mut pages, mut crowded_pages) = (0, 0);
    while let Some(path) = next.take() {
        pages += 1;
        assert!(pages < 20, "no end to the pages");
        let page = text_of(&c, app.url(&path)).await;
        let list = page
            .split("<ul class=\"events\">")
            .nth(1)
            .and_then(|l| l.split("</ul>").next())
            .unwrap_or("");
        let shown: Vec<String> = list
            .split("datetime=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .collect();
        assert!(shown.len() <= 50, "{} sessions on one page", shown.len());
        if page.contains("Ce jour compte plus de séances") {
            crowded_pages += 1;
            assert_eq!(shown.len(), 50);
        }
        seen.extend(shown);
        next = page
            .split("<nav aria-label=\"Séances suivantes\">")
            .nth(1)
            .and_then(|n| n.split("href=\"").nth(1))
            .map(|h| {
                h.split('"')
                    .next()
                    .unwrap()
                    .replace("&amp;", "&")
                    .replace("&#38;", "&")
            });
        if let Some(link) = &next {
            assert!(
                link.contains(&format!("au={until}")) && link.contains("theme=Marche"),
                "{link}"
            );
        }
    }
    // The crowded day shows 50 of its 60 sessions; the next page starts
    // the day after.
    assert_eq!(seen.len(), 140 + 50, "{pages} pages");
    assert_eq!(crowded_pages, 1);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a session on two pages");
    assert!(pages >= 4);
    app.stop().await;
}
both!(every_session_is_reached_page_after_page);
