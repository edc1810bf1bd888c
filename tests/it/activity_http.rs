//! The mediators' anonymised activity records over HTTP (issue 16), on
//! SQLite and PostgreSQL: the series' mediator fills a record per person on
//! the day (bad input re-rendered with what was typed, no name without
//! agreement), coming dates refused, another partner refused; the
//! coordination and regional staff read the yearly counts; the follow-up
//! contacts are erased with the retention, the counts stay.

use crate::common;

use chrono::{Datelike, Duration, NaiveTime};
use common::{Backend, TestApp};
use maillage::domain::agenda::recurrence::Pattern;
use maillage::storage::agenda::{self, NewPlace, SeriesInput};
use maillage::storage::audit::Actor;
use maillage::storage::territories;

/// A weekly drop-in that started three weeks ago, the demo partner its
/// mediator; returns (series id, a past date it was held).
async fn held_series(app: &TestApp) -> (i64, chrono::NaiveDate) {
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
            name: "Centre social Dumas".into(),
            address: "1 rue Dumas".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let first = maillage::web::agenda::today_paris() - Duration::days(21);
    let s = agenda::create_series(
        &app.db,
        &actor,
        t.id,
        &SeriesInput {
            title: "Permanence santé".into(),
            mediators: String::new(),
            place_id: place.id,
            first_date: first,
            end_date: Some(first + Duration::days(84)),
            start_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            end_time: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            rrule: Pattern::Weekly(first.weekday()).to_rrule(),
            skip_holidays: false,
            access: "walk_in".into(),
            services: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap();
    let partner = app.account("partner").id;
    agenda::set_series_mediators(&app.db, &actor, t.id, s.id, &[partner])
        .await
        .unwrap();
    (s.id, first + Duration::days(7))
}

async fn mediators_record_and_the_coordination_counts(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (id, held) = held_series(&app).await;
    let path = format!("/admin/t/lens-lievin/permanences/{id}/activite/{held}");
    let mediator = app.sign_in_as("partner").await;
    let page = mediator.text(&path).await;
    assert!(
        page.contains("Nouvelle fiche") && page.contains("Aucune fiche pour ce jour"),
        "{page}"
    );
    // Nothing chosen, a phone for a call-back that is not one: refused, kept.
    let r = mediator
        .post_form(
            &path,
            &[
                ("age_band", "45-64"),
                ("follow_up", "oui"),
                ("follow_up_name", "Mme Martin"),
                ("follow_up_phone", "06 12"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Cochez au moins un sujet"), "{html}");
    assert!(html.contains("value=\"Mme Martin\"") && html.contains("value=\"06 12\""));
    assert!(html.contains("value=\"45-64\" selected"));
    // Two people helped; the second agreed to be called back.
    for fields in [
        vec![
            ("themes", "assurance-maladie"),
            ("themes", "medecin-traitant"),
            ("age_band", "45-64"),
            ("sex", "f"),
            ("home_commune", "62498"),
            ("qpv", "oui"),
            ("first_visit", "oui"),
            ("follow_up_name", "ne doit pas rester"),
        ],
        vec![
            ("themes", "depistage"),
            ("age_band", "75+"),
            ("sex", "h"),
            ("home_commune", ""),
            ("qpv", "nd"),
            ("referral", "oui"),
            ("follow_up", "oui"),
            ("follow_up_name", "M. Durand"),
            ("follow_up_phone", "03 21 00 00 00"),
        ],
    ] {
        let r = mediator.post_form(&path, &fields).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    }
    let rows = maillage::storage::activity::for_day(&app.db, id, held)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].themes, "assurance-maladie medecin-traitant");
    assert_eq!(rows[0].follow_up_name, None, "no agreement, no name kept");
    assert_eq!(rows[1].follow_up_phone.as_deref(), Some("+33321000000"));
    let page = mediator.text(&path).await;
    assert!(
        page.contains("Fiches de ce jour (2)")
            && page.contains("à rappeler : M. Durand, 03 21 00 00 00"),
        "{page}"
    );
    // A coming date cannot be filled.
    let coming = maillage::web::agenda::today_paris() + Duration::days(35);
    let coming = (0..7)
        .map(|d| coming + Duration::days(d))
        .find(|d| d.weekday() == held.weekday())
        .unwrap();
    let r = mediator
        .post_form(
            &format!("/admin/t/lens-lievin/permanences/{id}/activite/{coming}"),
            &[
                ("themes", "depistage"),
                ("age_band", "nd"),
                ("sex", "nd"),
                ("qpv", "nd"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    // Another partner (not this series' mediator), a member: refused.
    let other = app.sign_in_as("member").await;
    assert_eq!(other.get(&path).await.status(), 403);
    // The coordination reads the year's counts; regional staff too; no name.
    let coord = app.sign_in_as("coordinator").await;
    let summary = coord.text("/admin/t/lens-lievin/activite").await;
    assert!(
        summary.contains("<strong>2</strong> personnes aidées"),
        "{summary}"
    );
    assert!(summary.contains("Trouver un médecin traitant"));
    assert!(!summary.contains("Durand"));
    let regional = app.sign_in_as("regional").await;
    let page = regional
        .text(&format!(
            "/admin/t/lens-lievin/activite?annee={}",
            held.year()
        ))
        .await;
    assert!(page.contains("personnes aidées"), "{page}");
    assert_eq!(
        regional.get(&path).await.status(),
        403,
        "records of a day: not for regional staff"
    );
    assert_eq!(
        coord
            .get("/admin/t/lens-lievin/activite?annee=1850")
            .await
            .status(),
        422
    );
    // The computed indicators of the evaluation count them (#9).
    let tid = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let facts =
        maillage::evaluation::Facts::load(&app.db, tid, maillage::web::agenda::today_paris())
            .await
            .unwrap();
    use maillage::domain::evaluation::Metric;
    let sum = |m: Metric| facts.of(m, None, &[]).iter().map(|f| f.value).sum::<f64>();
    assert_eq!(sum(Metric::MediatedPeople), 2.0);
    assert_eq!(sum(Metric::MediationReferrals), 1.0);
    // The retention erases the call-back contact, the counts stay.
    let erased = maillage::storage::activity::purge_follow_ups(&app.db, held + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(erased, 1);
    let rows = maillage::storage::activity::for_day(&app.db, id, held)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r.follow_up_name.is_none() && r.follow_up_phone.is_none()));
    // A record made by mistake is removed from its day.
    let r = mediator
        .post_form(
            &format!("{path}/suppression"),
            &[("record", &rows[0].id.to_string()), ("confirme", "oui")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        maillage::storage::activity::for_day(&app.db, id, held)
            .await
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}
both!(mediators_record_and_the_coordination_counts);
