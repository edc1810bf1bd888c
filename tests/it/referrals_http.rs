//! Referrals to services over HTTP (issue 16), on SQLite and PostgreSQL:
//! a partner refers a person from a directory entry (bad input re-rendered
//! with what was typed, an entry outside the instance refused, a form sent
//! twice recorded once); the service gets its link by e-mail and the person
//! an SMS; the service answers without an account (a refusal needs its
//! reason), its reminders are withdrawn, the person and the sender are
//! told; a second answer changes nothing; the coordination sees counts by
//! service and outcome but not the people; regional staff see aggregates
//! only; unanswered referrals expire, the people's details are erased with
//! the retention.

use crate::common;

use chrono::{Duration, Utc};
use common::fake_brevo::{fake_brevo, FakeBrevo};
use common::{Backend, TestApp, Visitor};
use maillage::messaging::sms::SmsSettings;
use maillage::storage::{messages, referrals, territories};

fn sms_settings(base: &str) -> SmsSettings {
    SmsSettings {
        provider: "brevo".into(),
        url: Some(base.to_owned()),
        api_key: Some("cle-de-test".into()),
        sender: "CLSLens".into(),
        callback_secret: Some("s3cret-de-test".into()),
        reminder_days: 1,
    }
}

const ENTRY: &str = "/t/lens-lievin/annuaire/etablissements/620000078";
const FORM: &str = "/admin/t/lens-lievin/orientations/nouvelle";

async fn lens_id(app: &TestApp) -> i64 {
    territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The form of `fiche` filled for Mme Durand, with the key the page gave.
async fn filled(v: &Visitor, fiche: &str) -> Vec<(String, String)> {
    let html = v.text(&format!("{FORM}?fiche={fiche}")).await;
    let key = crate::agenda_http::hidden(&html, "key");
    [
        ("fiche", fiche),
        ("name", "Mme Durand"),
        ("phone", "06 12 34 56 78"),
        ("email", ""),
        ("theme", "medecin-traitant"),
        ("note", "Disponible le matin."),
        ("service_email", "accueil@centre-sante.test"),
        ("consent", "oui"),
        ("key", key.as_str()),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect()
}

async fn post(v: &Visitor, path: &str, fields: &[(String, String)]) -> reqwest::Response {
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    v.post_form(path, &f).await
}

/// `/t/lens-lievin/orientation/<token>` out of a page.
fn answer_path(html: &str) -> String {
    let marker = "/t/lens-lievin/orientation/";
    let start = html.find(marker).expect("answer link");
    html[start..]
        .chars()
        .take_while(|c| *c != '"' && *c != '<')
        .collect()
}

async fn a_referral_is_sent_answered_and_counted(backend: Backend) {
    let (port, mails) = crate::agenda_http::smtp_sink().await;
    let fake = FakeBrevo::default();
    let base = fake_brevo(fake.clone()).await;
    let config = maillage::config::Config {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        sms: Some(sms_settings(&base)),
        ..crate::agenda_http::quick()
    };
    let app = TestApp::start_with(backend, config).await;
    let tid = lens_id(&app).await;

    // The entry's page offers the referral to the territory's partners only.
    let anonymous = app.client();
    let page = common::text_of(&anonymous, app.url(ENTRY)).await;
    assert!(page.contains("CENTRE DE SANTE FILIERIS"), "{page}");
    assert!(!page.contains("Orienter une personne"), "{page}");
    let partner = app.sign_in_as("partner").await;
    let page = partner.text(ENTRY).await;
    assert!(
        page.contains("/admin/t/lens-lievin/orientations/nouvelle?fiche=etablissement:620000078"),
        "{page}"
    );

    // An entry the instance does not have: refused with a clear message.
    let r = partner
        .get(&format!("{FORM}?fiche=etablissement:999999999"))
        .await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("pas dans l’annuaire"));

    // Bad input: every problem named, what was typed kept, nothing sent.
    let mut fields = filled(&partner, "etablissement:620000078").await;
    let good = fields.clone();
    for (k, v) in fields.iter_mut() {
        match k.as_str() {
            "phone" => *v = "12 34".into(),
            "theme" | "service_email" => v.clear(),
            "consent" => *v = String::new(),
            _ => {}
        }
    }
    fields.retain(|(k, _)| k != "consent");
    let r = post(&partner, FORM, &fields).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for text in [
        "value=\"12 34\"",
        "value=\"Mme Durand\"",
        "Disponible le matin.",
        "Choisissez le motif",
        "adresse e-mail du service",
        "accepté que ses coordonnées",
    ] {
        assert!(html.contains(text), "{text} missing in {html}");
    }
    assert!(referrals::list(&app.db, tid, None, 10)
        .await
        .unwrap()
        .is_empty());

    // Sent: the service's link is shown once to the sender.
    let r = post(&partner, FORM, &good).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Orientation envoyée"), "{html}");
    let path = answer_path(&html);
    // The same form sent again: one referral.
    let again = post(&partner, FORM, &good).await.text().await.unwrap();
    assert!(again.contains("n’a été enregistrée qu’une fois"), "{again}");
    let list = referrals::list(&app.db, tid, None, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    let id = list[0].id;
    assert_eq!(list[0].person_phone.as_deref(), Some("+33612345678"));

    // The service's e-mail now, two reminders later, the person's SMS.
    let got = crate::agenda_http::wait_for_mail(&mails, 1).await;
    assert!(
        got[0].contains("To: accueil@centre-sante.test"),
        "{}",
        got[0]
    );
    assert!(got[0].contains(&path), "{}", got[0]);
    for n in 1..=2 {
        let m = messages::by_key(&app.db, &format!("referral:{id}:reminder:{n}"))
            .await
            .unwrap()
            .expect("reminder queued");
        assert_eq!(m.status, "queued");
        assert!(m.not_before > Utc::now() + Duration::days(4));
    }
    let sms = messages::by_key(&app.db, &format!("referral:{id}:person:sent:sms"))
        .await
        .unwrap()
        .expect("person told");
    assert_eq!(sms.recipient, "+33612345678");
    assert!(
        sms.body.contains("CENTRE DE SANTE FILIERIS"),
        "{}",
        sms.body
    );

    // The service, without an account: the person's details, then a
    // refusal without its reason is refused.
    let service = Visitor {
        client: app.client(),
        base: app.url(""),
    };
    let r = service.get(&path).await;
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "a page with a person's details is never cached"
    );
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Mme Durand") && page.contains("06 12 34 56 78"),
        "{page}"
    );
    let r = service
        .post_form(&path, &[("decision", "refuser"), ("text", "  ")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Indiquez la raison du refus"));
    let r = service
        .post_form(
            &path,
            &[("decision", "accepter"), ("text", "Rappel demain matin.")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = referrals::get(&app.db, tid, id).await.unwrap();
    assert_eq!(r.status, "accepted");
    assert_eq!(r.answer, "Rappel demain matin.");
    for n in 1..=2 {
        let m = messages::by_key(&app.db, &format!("referral:{id}:reminder:{n}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.status, "cancelled", "reminders withdrawn");
    }
    let told = messages::by_key(&app.db, &format!("referral:{id}:person:accepted:sms"))
        .await
        .unwrap()
        .expect("person told of the answer");
    assert!(told.body.contains("accepte"), "{}", told.body);
    let sender = messages::by_key(&app.db, &format!("referral:{id}:sender:accepted"))
        .await
        .unwrap()
        .expect("sender told");
    assert_eq!(sender.recipient, "partner@lens.test");
    // A second answer changes nothing.
    let r = service
        .post_form(
            &path,
            &[("decision", "refuser"), ("text", "Finalement non")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        referrals::get(&app.db, tid, id).await.unwrap().status,
        "accepted"
    );
    // An unknown token: not found.
    assert_eq!(
        service
            .get("/t/lens-lievin/orientation/jeton-inconnu")
            .await
            .status(),
        404
    );

    // The sender sees the person; the coordination the counts, not the person.
    let mine = partner.text("/admin/t/lens-lievin/orientations").await;
    assert!(
        mine.contains("Mme Durand") && mine.contains("acceptée"),
        "{mine}"
    );
    let coordination = app.sign_in_as("coordinator").await;
    let page = coordination.text("/admin/t/lens-lievin/orientations").await;
    assert!(page.contains("CENTRE DE SANTE FILIERIS"), "{page}");
    assert!(page.contains("Par service en"), "{page}");
    assert!(!page.contains("Mme Durand"), "{page}");
    let csv = coordination
        .text("/admin/t/lens-lievin/orientations/services.csv")
        .await;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("CENTRE DE SANTE FILIERIS;établissement;0;1;0;0;0;1;100 %")),
        "{csv}"
    );
    // Regional staff: no list, the aggregates.
    let regional = app.sign_in_as("regional").await;
    assert_eq!(
        regional
            .get("/admin/t/lens-lievin/orientations")
            .await
            .status(),
        403
    );
    let agg = regional.text("/region/mediation").await;
    assert!(agg.contains("Lens-Liévin"), "{agg}");
    assert!(!agg.contains("Mme Durand"));
    let agg_csv = regional.text("/region/mediation.csv").await;
    let line = agg_csv
        .lines()
        .find(|l| l.contains("Lens-Liévin"))
        .expect("territory line");
    assert!(line.ends_with(";1;0;1;0;0;0"), "{line}");
    // Another territory's coordinator sees nothing of it.
    let other = app.sign_in_as("other_coordinator").await;
    assert_eq!(
        other
            .get("/admin/t/lens-lievin/orientations")
            .await
            .status(),
        403
    );
    app.stop().await;
}
both!(a_referral_is_sent_answered_and_counted);

async fn unanswered_referrals_expire_and_are_erased(backend: Backend) {
    // No relay, no SMS: the sender hands the link over.
    let app = TestApp::start_with(backend, crate::agenda_http::quick()).await;
    let tid = lens_id(&app).await;
    let partner = app.sign_in_as("partner").await;
    let fields = filled(&partner, "professionnel:810100000001").await;
    let html = post(&partner, FORM, &fields).await.text().await.unwrap();
    assert!(html.contains("n’envoie pas de courriel"), "{html}");
    let path = answer_path(&html);
    let id = referrals::list(&app.db, tid, None, 1).await.unwrap()[0].id;
    assert!(
        messages::for_territory(&app.db, tid, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing queued without a relay or SMS"
    );

    // Not yet due: nothing expires; past the delay, once.
    let now = Utc::now();
    assert_eq!(
        maillage::web::referrals::expire_due(&app.state, now)
            .await
            .unwrap(),
        0
    );
    let later = now + Duration::days(30);
    assert_eq!(
        maillage::web::referrals::expire_due(&app.state, later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        maillage::web::referrals::expire_due(&app.state, later)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        referrals::get(&app.db, tid, id).await.unwrap().status,
        "expired"
    );
    // The service's link: closed, without the person's details.
    let service = Visitor {
        client: app.client(),
        base: app.url(""),
    };
    let page = service.text(&path).await;
    assert!(
        page.contains("a expiré") && !page.contains("Mme Durand"),
        "{page}"
    );
    let r = service.post_form(&path, &[("decision", "accepter")]).await;
    assert_eq!(r.status(), 409);

    // A local service of another territory is outside this one's reach.
    let other = territories::get_by_slug(&app.db, "mond-arverne")
        .await
        .unwrap()
        .unwrap();
    let svc = maillage::domain::service::ServiceInput {
        name: "Point santé d'ailleurs".into(),
        kind: "mediation".into(),
        ..Default::default()
    }
    .parse(&[])
    .unwrap();
    let sid = maillage::storage::services::create(
        &app.db,
        &maillage::storage::audit::Actor::system("test"),
        other.id,
        &svc,
    )
    .await
    .unwrap();
    let mut fields = filled(&partner, "professionnel:810100000001").await;
    for (k, v) in fields.iter_mut() {
        if k == "fiche" {
            *v = format!("service:{sid}");
        }
    }
    let r = post(&partner, FORM, &fields).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("pas dans l’annuaire"));

    // The coordination withdraws an open one (after the confirmation step).
    let fields = filled(&partner, "etablissement:620000052").await;
    post(&partner, FORM, &fields).await;
    let open = referrals::list(&app.db, tid, None, 1).await.unwrap()[0].id;
    let coordination = app.sign_in_as("coordinator").await;
    let cancel = format!("/admin/t/lens-lievin/orientations/{open}/annulation");
    let r = coordination.post_form(&cancel, &[]).await;
    assert!(r.text().await.unwrap().contains("Confirmer l"));
    assert_eq!(
        referrals::get(&app.db, tid, open).await.unwrap().status,
        "sent"
    );
    let r = coordination
        .post_form(&cancel, &[("confirme", "oui")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        referrals::get(&app.db, tid, open).await.unwrap().status,
        "cancelled"
    );

    // Retention: the closed ones lose the person's details, keep the counts.
    let erased = referrals::purge_people(&app.db, later + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(erased, 2);
    let r = referrals::get(&app.db, tid, id).await.unwrap();
    assert!(r.person_name.is_none() && r.person_phone.is_none());
    assert_eq!(r.status, "expired");
    app.stop().await;
}
both!(unanswered_referrals_expire_and_are_erased);
