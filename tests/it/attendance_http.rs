//! Attendance at drop-ins and the link of series and events to a fiche
//! action, over HTTP on SQLite and PostgreSQL: a mediator records the people
//! received at a held session from the back office, corrects it, meets a
//! colleague's concurrent save, is refused future, cancelled and unknown
//! dates and inconsistent breakdowns (what was typed stays); the totals per
//! commune follow a session moved to another commune; the « Fiche action »
//! select refuses another territory's action; the public pages show the
//! links both ways; and who may use the new routes.

use crate::common;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use common::{Backend, TestApp};
use maillage::domain::agenda::recurrence::{Exception, Pattern};
use maillage::domain::contract::{ActionInput, ContractRaw};
use maillage::storage::agenda::{self, NewPlace, SeriesInput};
use maillage::storage::audit::{self, Actor};
use maillage::storage::{contract, territories};
use maillage::web::agenda::today_paris;

fn t(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).unwrap()
}

async fn territory_id(app: &TestApp, slug: &str) -> i64 {
    territories::get_by_slug(&app.db, slug)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn place(app: &TestApp, tid: i64, name: &str, insee: &str) -> i64 {
    agenda::create_place(
        &app.db,
        &Actor::system("test"),
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
    .id
}

/// A weekly drop-in in Lens from ten weeks ago to ten weeks ahead (today is
/// one of its dates); two weeks ago cancelled, three weeks ago moved to
/// Liévin. Returns (series id, today).
async fn weekly_series(app: &TestApp) -> (i64, NaiveDate) {
    let tid = territory_id(app, "lens-lievin").await;
    let lens = place(app, tid, "Centre social Dumas", "62498").await;
    let lievin = place(app, tid, "Maison de quartier Calonne", "62510").await;
    let today = today_paris();
    let first = today - Duration::weeks(10);
    let actor = Actor::system("test");
    let s = agenda::create_series(
        &app.db,
        &actor,
        tid,
        &SeriesInput {
            title: "Permanence santé de Lens".into(),
            mediators: "Nadia".into(),
            place_id: lens,
            first_date: first,
            end_date: Some(today + Duration::weeks(10)),
            start_time: t(14),
            end_time: t(16),
            rrule: Pattern::Weekly(first.weekday()).to_rrule(),
            skip_holidays: false,
            access: "walk_in".into(),
            services: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap();
    let two = today - Duration::weeks(2);
    agenda::set_exception(
        &app.db,
        &actor,
        tid,
        s.id,
        &Exception::cancelled(two, "Formation"),
    )
    .await
    .unwrap();
    let three = today - Duration::weeks(3);
    let moved = Exception::moved(three, three, t(10), t(12), Some(lievin), "À Liévin").unwrap();
    agenda::set_exception(&app.db, &actor, tid, s.id, &moved)
        .await
        .unwrap();
    (s.id, today)
}

fn value_of(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + "value=\"".len();
    Some(rest[v..].chars().take_while(|c| *c != '"').collect())
}

async fn recording_attendance(backend: Backend) {
    let app = TestApp::start(backend).await;
    let tid = territory_id(&app, "lens-lievin").await;
    let (sid, today) = weekly_series(&app).await;
    let partner = app.sign_in_as("partner").await;
    let list = format!("/admin/t/lens-lievin/permanences/{sid}/frequentation");
    let at = |d: NaiveDate| format!("{list}/{d}");
    let last_week = today - Duration::weeks(1);

    // The list: held dates to record, the cancelled one said so, no future.
    let html = partner.text(&list).await;
    assert!(html.contains(&format!("{list}/{last_week}")), "{html}");
    assert!(html.contains("annulée"));
    assert!(!html.contains(&at(today + Duration::weeks(1))));
    assert!(!html.contains(&format!("{list}/{}", today - Duration::weeks(2))));

    // The form: one big numeric field, the detail optional.
    let html = partner.text(&at(last_week)).await;
    assert!(html.contains("inputmode=\"numeric\""));
    assert!(html.contains("Personnes reçues") && html.contains("Détail (facultatif)"));
    assert_eq!(value_of(&html, "version").as_deref(), Some("0"));

    // Recorded.
    let r = partner
        .post_form(
            &at(last_week),
            &[
                ("version", "0"),
                ("received", "12"),
                ("women", "7"),
                ("men", "5"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"].to_str().unwrap(), list);
    let html = partner.text(&list).await;
    assert!(html.contains("12 personnes reçues"), "{html}");
    let a = agenda::get_attendance(&app.db, tid, sid, last_week)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.received, a.women, a.men, a.version),
        (12, Some(7), Some(5), 1)
    );
    assert_eq!(a.insee_code, "62498");
    assert_eq!(a.qpv_residents, None, "not counted stays empty");

    // Corrected from the form as stored.
    let html = partner.text(&at(last_week)).await;
    assert_eq!(value_of(&html, "received").as_deref(), Some("12"));
    assert_eq!(value_of(&html, "version").as_deref(), Some("1"));
    let r = partner
        .post_form(
            &at(last_week),
            &[
                ("version", "1"),
                ("received", "15"),
                ("women", "8"),
                ("men", "7"),
                ("first_visits", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // A colleague still on version 1: refused, both shown.
    let r = partner
        .post_form(&at(last_week), &[("version", "1"), ("received", "20")])
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("Saisie enregistrée entre-temps"), "{html}");
    assert_eq!(value_of(&html, "received").as_deref(), Some("20"));
    assert_eq!(value_of(&html, "version").as_deref(), Some("2"));
    let a = agenda::get_attendance(&app.db, tid, sid, last_week)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.received, a.first_visits, a.version), (15, Some(3), 2));
    // Two people recording the same session for the first time.
    let r = partner
        .post_form(&at(last_week), &[("version", "0"), ("received", "1")])
        .await;
    assert_eq!(r.status(), 409);

    // Dates that cannot be recorded: said plainly, what was typed kept.
    for (d, says) in [
        (today + Duration::weeks(1), "n’a pas encore eu lieu"),
        (today - Duration::weeks(2), "a été annulée"),
        (
            today - Duration::days(3),
            "ce n’est pas une date de la série",
        ),
    ] {
        let r = partner
            .post_form(&at(d), &[("version", "0"), ("received", "9")])
            .await;
        assert_eq!(r.status(), 422, "{d}");
        let html = r.text().await.unwrap();
        assert!(html.contains(says), "{d}: {html}");
        assert_eq!(value_of(&html, "received").as_deref(), Some("9"), "{d}");
        assert!(agenda::get_attendance(&app.db, tid, sid, d)
            .await
            .unwrap()
            .is_none());
        let r = partner.get(&at(d)).await;
        assert_eq!(r.status(), 422, "{d}");
        assert!(r.text().await.unwrap().contains(says));
    }

    // Breakdowns that do not fit: refused, typed values kept.
    let four = today - Duration::weeks(4);
    for (fields, says) in [
        (
            vec![("women", "4"), ("men", "3")],
            "Femmes et hommes : 7 en tout",
        ),
        (
            vec![("age_under_26", "3"), ("age_60_plus", "3")],
            "Tranches d’âge : 6 en tout",
        ),
        (vec![("qpv_residents", "6")], "plus que les 5 personnes"),
        (vec![("received", "-2")], "nombre positif"),
    ] {
        let mut form = vec![("version", "0")];
        if !fields.iter().any(|(k, _)| *k == "received") {
            form.push(("received", "5"));
        }
        form.extend(fields.iter().copied());
        let r = partner.post_form(&at(four), &form).await;
        assert_eq!(r.status(), 422, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains("error-summary"));
        for (name, v) in &fields {
            assert_eq!(value_of(&html, name).as_deref(), Some(*v), "{name}");
        }
    }
    assert!(agenda::get_attendance(&app.db, tid, sid, four)
        .await
        .unwrap()
        .is_none());

    // Today's session may be recorded; so may the one moved to Liévin, on
    // the day it was held, in Liévin.
    let three = today - Duration::weeks(3);
    for (d, n) in [(today, "6"), (three, "4")] {
        let r = partner
            .post_form(&at(d), &[("version", "0"), ("received", n)])
            .await;
        assert_eq!(r.status(), 303, "{d}");
    }
    let moved = agenda::get_attendance(&app.db, tid, sid, three)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.insee_code, "62510");

    // Totals per commune where the sessions were held.
    let totals = agenda::totals_by_commune(&app.db, tid, today - Duration::weeks(8), today)
        .await
        .unwrap();
    let by_code: Vec<(&str, i64, i64)> = totals
        .iter()
        .map(|(c, _, n, r)| (c.as_str(), *n, *r))
        .collect();
    assert_eq!(
        by_code,
        vec![("62498", 2, 21), ("62510", 1, 4)],
        "{totals:?}"
    );
    assert!(totals
        .iter()
        .all(|(c, name, _, _)| !name.is_empty() && name != c));
    let earlier = agenda::totals_by_commune(&app.db, tid, three, three)
        .await
        .unwrap();
    assert_eq!(earlier.len(), 1);
    assert_eq!((earlier[0].2, earlier[0].3), (1, 4));
    let other = territory_id(&app, "mond-arverne").await;
    assert!(agenda::totals_by_commune(&app.db, other, three, today)
        .await
        .unwrap()
        .is_empty());
    let sums = agenda::for_series_ids(&app.db, &[sid], three, today)
        .await
        .unwrap();
    assert_eq!(
        (
            sums.sessions,
            sums.received,
            sums.women,
            sums.men,
            sums.sex_sessions
        ),
        (3, 25, 8, 7, 1)
    );
    assert_eq!((sums.first_visits, sums.first_visit_sessions), (3, 1));
    assert_eq!(
        agenda::for_series_ids(&app.db, &[], three, today)
            .await
            .unwrap()
            .sessions,
        0
    );

    // The series page says when attendance was last recorded.
    let html = partner
        .text(&format!("/admin/t/lens-lievin/permanences/{sid}"))
        .await;
    assert!(
        html.contains("Dernière fréquentation saisie : 6 personnes reçues"),
        "{html}"
    );
    assert!(html.contains(&list));

    // Deleted after a confirmation.
    let r = partner
        .post_form(&format!("{}/supprimer", at(last_week)), &[])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Confirmer la suppression"));
    assert!(agenda::get_attendance(&app.db, tid, sid, last_week)
        .await
        .unwrap()
        .is_some());
    let r = partner
        .post_form(
            &format!("{}/supprimer", at(last_week)),
            &[("confirme", "oui")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(agenda::get_attendance(&app.db, tid, sid, last_week)
        .await
        .unwrap()
        .is_none());

    // Every write is in the audit log.
    let log = audit::for_entity(&app.db, "dropin_series", &sid.to_string(), 100)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for a in ["attendance", "attendance_update", "attendance_delete"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    app.stop().await;
}
both!(recording_attendance);

/// Who may use the attendance pages: partners and coordinators record,
/// regional staff read, nobody else.
async fn attendance_access(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (sid, today) = weekly_series(&app).await;
    let list = format!("/admin/t/lens-lievin/permanences/{sid}/frequentation");
    let one = format!("{list}/{}", today - Duration::weeks(1));
    let delete = format!("{one}/supprimer");
    for role in [
        "anonymous",
        "inhabitant",
        "member",
        "other_coordinator",
        "partner",
        "coordinator",
        "regional",
        "admin",
    ] {
        let v = app.sign_in_as(role).await;
        let writes = matches!(role, "partner" | "coordinator" | "admin");
        let reads = writes || role == "regional";
        for path in [&list, &one] {
            let r = v.get(path).await;
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let body = r.text().await.unwrap();
            match role {
                "anonymous" => {
                    assert_eq!(status, 303, "{role} {path}");
                    assert!(location.starts_with("/admin/connexion?suite="));
                }
                _ if reads => {
                    assert_eq!(status, 200, "{role} {path}");
                    // Regional staff see the counts, not the form.
                    if path == &one {
                        assert_eq!(body.contains("name=\"received\""), writes, "{role}");
                    }
                }
                _ => assert_eq!(status, 403, "{role} {path}"),
            }
        }
        let r = v
            .post_form(&one, &[("version", "0"), ("received", "3")])
            .await;
        let expected = if role == "anonymous" { 303 } else { 403 };
        if writes {
            // The first writer records, the others find it recorded.
            assert!(
                [303, 409].contains(&r.status().as_u16()),
                "{role}: {}",
                r.status()
            );
        } else {
            assert_eq!(r.status().as_u16(), expected, "{role} POST");
        }
        let r = v.post_form(&delete, &[("confirme", "oui")]).await;
        if writes {
            assert!([303, 404].contains(&r.status().as_u16()), "{role}");
        } else {
            assert_eq!(r.status().as_u16(), expected, "{role} delete");
        }
    }
    app.stop().await;
}
both!(attendance_access);

/// A contract with one axis, one objective and the given actions; returns
/// the actions' ids.
async fn plan(app: &TestApp, slug: &str, title: &str, actions: &[&str]) -> Vec<i64> {
    let tid = territory_id(app, slug).await;
    let actor = Actor::system("test");
    let c = contract::create(
        &app.db,
        &actor,
        tid,
        &ContractRaw {
            kind: "cls".into(),
            title: title.into(),
            status: "signed".into(),
            signed_on: "2024-03-12".into(),
            period_start: "2024-01-01".into(),
            period_end: "2028-12-31".into(),
            summary: String::new(),
            signatories: "ARS Hauts-de-France".into(),
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let axis = contract::add_axis(&app.db, &actor, &c, "Accès aux soins")
        .await
        .unwrap();
    let o = contract::add_objective(&app.db, &actor, &c, axis.id, "Aller vers")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for a in actions {
        let input = ActionInput::parse(a, "", "planned", "CCAS").unwrap();
        ids.push(
            contract::add_action(&app.db, &actor, &c, o.id, &input)
                .await
                .unwrap()
                .id,
        );
    }
    ids
}

async fn linking_to_a_fiche_action(backend: Backend) {
    let app = TestApp::start(backend).await;
    let tid = territory_id(&app, "lens-lievin").await;
    let mediation = plan(
        &app,
        "lens-lievin",
        "CLS de Lens-Liévin",
        &["Médiateurs santé", "Ateliers nutrition"],
    )
    .await;
    let theirs = plan(&app, "mond-arverne", "CLS de Mond'Arverne", &["Bus santé"]).await;
    let place = place(&app, tid, "Centre social Dumas", "62498")
        .await
        .to_string();
    let coord = app.sign_in_as("coordinator").await;

    // One contract: a plain list.
    let html = coord
        .text("/admin/t/lens-lievin/permanences/nouvelle")
        .await;
    assert!(html.contains("Fiche action"));
    assert!(html.contains("1.1.1 — Médiateurs santé"), "{html}");
    assert!(!html.contains("<optgroup"));
    assert!(
        !html.contains("Bus santé"),
        "another territory's actions are not offered"
    );

    let today = today_paris();
    let first = today + Duration::days(1);
    let series_form = |action: String| {
        vec![
            ("title", "Permanence du marché".to_owned()),
            ("place_id", place.clone()),
            ("pattern", "weekly".into()),
            ("weekday", String::new()),
            ("nth", "1".into()),
            ("first_date", first.to_string()),
            ("end_date", (first + Duration::weeks(8)).to_string()),
            ("start_time", "09:00".into()),
            ("end_time", "11:00".into()),
            ("access", "walk_in".into()),
            ("action_id", action),
        ]
    };
    // A forged form naming another territory's action: refused, input kept.
    let forged = series_form(theirs[0].to_string());
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = coord
        .post_form("/admin/t/lens-lievin/permanences", &forged)
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Choisissez une fiche action du territoire"),
        "{html}"
    );
    assert!(html.contains("value=\"Permanence du marché\""));
    assert!(agenda::list_series(&app.db, tid).await.unwrap().is_empty());
    // Its own action.
    let ok = series_form(mediation[0].to_string());
    let ok: Vec<(&str, &str)> = ok.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = coord
        .post_form("/admin/t/lens-lievin/permanences", &ok)
        .await;
    assert_eq!(r.status(), 303);
    let series = agenda::list_series(&app.db, tid).await.unwrap();
    assert_eq!(series[0].action_id, Some(mediation[0]));
    let html = coord
        .text(&format!(
            "/admin/t/lens-lievin/permanences/{}",
            series[0].id
        ))
        .await;
    assert!(html.contains(&format!("<option value=\"{}\" selected>", mediation[0])));

    // The event form too; the free-text field stays.
    let event = |action: String| {
        vec![
            ("title", "Atelier « Bien manger »".to_owned()),
            ("kind", "workshop".into()),
            ("status", "confirmed".into()),
            ("organiser", "CCAS".into()),
            ("linked_actions", "Voir aussi l’axe 3".into()),
            ("action_id", action),
        ]
    };
    let forged = event(theirs[0].to_string());
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = coord
        .post_form("/admin/t/lens-lievin/evenements", &forged)
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("value=\"Atelier « Bien manger »\""));
    let ok = event(mediation[1].to_string());
    let ok: Vec<(&str, &str)> = ok.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = coord
        .post_form("/admin/t/lens-lievin/evenements", &ok)
        .await;
    assert_eq!(r.status(), 303);
    let e = agenda::list_events(&app.db, tid).await.unwrap().remove(0);
    assert_eq!(e.action_id, Some(mediation[1]));
    assert_eq!(e.linked_actions, "Voir aussi l’axe 3");
    // Storage refuses it too.
    let input = agenda::EventInput {
        title: e.title.clone(),
        kind: e.kind.clone(),
        status: e.status.clone(),
        organiser: e.organiser.clone(),
        themes: e.themes.clone(),
        description: e.description.clone(),
        linked_actions: e.linked_actions.clone(),
        programme_to_come: false,
        action_id: Some(theirs[0]),
    };
    let refused = agenda::update_event(
        &app.db,
        &Actor::system("test"),
        tid,
        e.id,
        e.version,
        &input,
    )
    .await;
    assert!(
        matches!(refused, Err(maillage::storage::DbError::Conflict(ref c)) if c == "action_id"),
        "{refused:?}"
    );

    // Both sides on the public pages.
    let public = app.sign_in_as("anonymous").await;
    let html = public.text("/t/lens-lievin/permanences").await;
    assert!(
        html.contains("Cette permanence met en œuvre la fiche action <a href=\"/t/lens-lievin/actions/1.1.1\">1.1.1 — Médiateurs santé</a>"),
        "{html}"
    );
    let html = public
        .text(&format!("/t/lens-lievin/evenements/{}", e.id))
        .await;
    assert!(
        html.contains("Cet atelier met en œuvre la fiche action <a href=\"/t/lens-lievin/actions/1.1.2\">1.1.2 — Ateliers nutrition</a>"),
        "{html}"
    );
    assert!(html.contains("Voir aussi l’axe 3"));
    let html = public.text("/t/lens-lievin/actions/1.1.1").await;
    assert!(html.contains("Permanences et événements liés"), "{html}");
    assert!(html.contains("Permanence du marché"));
    assert!(!html.contains("Bien manger"));
    let html = public.text("/t/lens-lievin/actions/1.1.2").await;
    assert!(html.contains(&format!("/t/lens-lievin/evenements/{}", e.id)));
    // The API says it.
    let json: serde_json::Value = public
        .get("/api/v1/agenda/lens-lievin/series")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json[0]["action_id"], mediation[0]);

    // Several contracts: grouped by contract.
    plan(&app, "lens-lievin", "CLS 2029-2033", &["Prévention"]).await;
    let html = coord
        .text("/admin/t/lens-lievin/permanences/nouvelle")
        .await;
    assert!(
        html.contains("<optgroup label=\"CLS 2029-2033\">"),
        "{html}"
    );
    assert!(html.contains("<optgroup label=\"CLS de Lens-Liévin\">"));
    app.stop().await;
}
both!(linking_to_a_fiche_action);
