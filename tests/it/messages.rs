//! The outbox of SMS and e-mail notices on both backends: a notice queued
//! once, claims that never send twice (two dispatchers racing), bounded
//! retries, final refusals, a dead provider, delivery reports; against a
//! local server that speaks Brevo's documented transactional SMS API
//! (`POST /v3/transactionalSMS/sms`, `api-key` header, 201 with a
//! `messageId`; delivery events posted back with `messageId` and
//! `msg_status`). End to end: a registration with a mobile number gets its
//! confirmation by SMS and a reminder queued, the report marks it
//! delivered, the coordination reads the receipts.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;

use crate::common::fake_brevo::{fake_brevo, FakeBrevo};
use crate::common::{self, csrf_from, extract_csrf, Backend, TestApp};
use maillage::domain::messages::{Channel, MAX_ATTEMPTS};
use maillage::messaging::sms::SmsSettings;
use maillage::messaging::Outbox;
use maillage::storage::messages::{self as store, NewMessage, Queued};
use maillage::storage::Db;

fn settings(base: &str) -> SmsSettings {
    SmsSettings {
        provider: "brevo".into(),
        url: Some(base.to_owned()),
        api_key: Some("cle-de-test".into()),
        sender: "CLSLens".into(),
        callback_secret: Some("s3cret-de-test".into()),
        reminder_days: 1,
    }
}

fn outbox(db: &Db, base: &str) -> Outbox {
    let provider = settings(base).build("https://cls.exemple.fr").unwrap();
    Outbox::new(db.clone(), Some(Arc::from(provider)), None, 1)
}

fn sms(key: &str, to: &str) -> NewMessage {
    NewMessage {
        territory_id: None,
        channel: Channel::Sms,
        recipient: to.to_owned(),
        subject: String::new(),
        body: format!("Rappel : atelier, mercredi 9 décembre à 14 h 00 ({key})"),
        purpose: "reminder".into(),
        dedupe_key: key.to_owned(),
        not_before: Utc::now() - Duration::seconds(1),
    }
}

async fn queued_once_and_opt_outs_honoured(backend: Backend) {
    let t = common::fresh_db(backend).await;
    let db = &t.db;
    assert!(matches!(
        store::enqueue(db, &sms("a", "+33612345678")).await.unwrap(),
        Queued::Yes(_)
    ));
    assert_eq!(
        store::enqueue(db, &sms("a", "+33612345678")).await.unwrap(),
        Queued::Already
    );
    assert!(matches!(
        store::enqueue(db, &sms("b", "+33612345678")).await.unwrap(),
        Queued::Yes(_)
    ));
    // STOP: the queued texts to that number are withdrawn, new ones refused.
    assert_eq!(
        store::opt_out(db, "+33612345678", Utc::now())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store::enqueue(db, &sms("c", "+33612345678")).await.unwrap(),
        Queued::OptedOut
    );
    assert_eq!(
        store::by_key(db, "a").await.unwrap().unwrap().status,
        "cancelled"
    );
    // Another number still gets its texts; a reminder withdrawn by prefix.
    store::enqueue(db, &sms("reminder:sms:registration:7:100", "+33700000001"))
        .await
        .unwrap();
    store::enqueue(db, &sms("reminder:sms:registration:71:100", "+33700000001"))
        .await
        .unwrap();
    assert_eq!(
        store::cancel_queued_prefix(db, "reminder:sms:registration:7:")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store::by_key(db, "reminder:sms:registration:71:100")
            .await
            .unwrap()
            .unwrap()
            .status,
        "queued"
    );
    // Many at once: the same rules (a key queued before is kept, an
    // opted-out number gets nothing).
    let batch: Vec<NewMessage> = (0..900)
        .map(|i| sms(&format!("batch{i}"), &format!("+337{:08}", i)))
        .chain([sms("a", "+33699999999"), sms("batch-stop", "+33612345678")])
        .collect();
    assert_eq!(store::enqueue_many(db, &batch).await.unwrap(), 900);
    assert_eq!(
        store::by_key(db, "a").await.unwrap().unwrap().recipient,
        "+33612345678"
    );
    assert!(store::by_key(db, "batch-stop").await.unwrap().is_none());
    assert_eq!(
        store::by_key(db, "batch899").await.unwrap().unwrap().status,
        "queued"
    );
    t.cleanup().await;
}
both!(queued_once_and_opt_outs_honoured);

async fn two_dispatchers_never_send_twice(backend: Backend) {
    let t = common::fresh_db(backend).await;
    let fake = FakeBrevo::default();
    let base = fake_brevo(fake.clone()).await;
    for i in 0..60 {
        store::enqueue(&t.db, &sms(&format!("m{i}"), &format!("+336{:08}", i)))
            .await
            .unwrap();
    }
    let (a, b) = (outbox(&t.db, &base), outbox(&t.db, &base));
    let now = Utc::now();
    let (ra, rb) = tokio::join!(a.run_once(now), b.run_once(now));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 60, "{ra:?} {rb:?}");
    let got = fake.received.lock().unwrap().clone();
    assert_eq!(got.len(), 60, "each message handed over once");
    let mut recipients: Vec<&str> = got
        .iter()
        .map(|v| v["recipient"].as_str().unwrap())
        .collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 60);
    assert!(got
        .iter()
        .all(|v| v["sender"] == "CLSLens" && v["type"] == "transactional"));
    assert_eq!(
        got[0]["webUrl"],
        "https://cls.exemple.fr/hooks/sms/brevo/s3cret-de-test"
    );
    let m = store::by_key(&t.db, "m0").await.unwrap().unwrap();
    assert_eq!(m.status, "sent");
    assert_eq!(m.provider, "brevo");
    assert!(m.provider_ref.unwrap().starts_with("15118829"));
    // Nothing left to send.
    assert_eq!(a.run_once(Utc::now()).await.unwrap().sent, 0);
    t.cleanup().await;
}
both!(two_dispatchers_never_send_twice);

async fn retries_are_bounded_and_refusals_final(backend: Backend) {
    let t = common::fresh_db(backend).await;
    let fake = FakeBrevo::default();
    fake.fail_first.store(1, Ordering::SeqCst);
    let base = fake_brevo(fake.clone()).await;
    let ob = outbox(&t.db, &base);
    store::enqueue(&t.db, &sms("flaky", "+33612345678"))
        .await
        .unwrap();
    let now = Utc::now();
    let p = ob.run_once(now).await.unwrap();
    assert_eq!((p.sent, p.retried), (0, 1));
    let m = store::by_key(&t.db, "flaky").await.unwrap().unwrap();
    assert_eq!(m.status, "queued");
    assert!(m.last_error.contains("500"), "{}", m.last_error);
    assert!(m.not_before > now, "waits before trying again");
    assert_eq!(
        ob.run_once(now).await.unwrap().sent,
        0,
        "not before its time"
    );
    assert_eq!(
        ob.run_once(now + Duration::minutes(2)).await.unwrap().sent,
        1
    );
    assert_eq!(
        store::by_key(&t.db, "flaky")
            .await
            .unwrap()
            .unwrap()
            .attempts,
        2
    );

    // The provider refuses the number: failed at once, with its reason.
    store::enqueue(&t.db, &sms("bad", "+0")).await.unwrap();
    let p = ob.run_once(Utc::now()).await.unwrap();
    assert_eq!(p.failed, 1);
    let m = store::by_key(&t.db, "bad").await.unwrap().unwrap();
    assert_eq!(m.status, "failed");
    assert!(
        m.last_error.contains("Invalid phone number"),
        "{}",
        m.last_error
    );

    // A provider that is not there: retried, then given up.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dead = outbox(&t.db, &format!("http://{closed}/v3"));
    store::enqueue(&t.db, &sms("dead", "+33612345679"))
        .await
        .unwrap();
    let mut at = Utc::now();
    for _ in 0..MAX_ATTEMPTS {
        dead.run_once(at).await.unwrap();
        at += Duration::hours(3);
    }
    let m = store::by_key(&t.db, "dead").await.unwrap().unwrap();
    assert_eq!(m.status, "failed");
    assert_eq!(m.attempts, MAX_ATTEMPTS);
    assert!(
        m.last_error.contains("injoignable") && m.last_error.contains("abandonné"),
        "{}",
        m.last_error
    );

    // A process that died while sending: never sent again, marked failed.
    store::enqueue(&t.db, &sms("crash", "+33612345670"))
        .await
        .unwrap();
    let claimed = store::claim_due(&t.db, "mort", Utc::now(), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let sent_before = fake.received.lock().unwrap().len();
    ob.run_once(Utc::now() + Duration::minutes(11))
        .await
        .unwrap();
    assert_eq!(fake.received.lock().unwrap().len(), sent_before);
    let m = store::by_key(&t.db, "crash").await.unwrap().unwrap();
    assert_eq!(m.status, "failed");
    assert!(m.last_error.contains("non renvoyé"));
    t.cleanup().await;
}
both!(retries_are_bounded_and_refusals_final);

async fn registration_texts_receipts_and_the_coordination_view(backend: Backend) {
    let fake = FakeBrevo::default();
    let base = fake_brevo(fake.clone()).await;
    let config = maillage::config::Config {
        sms: Some(settings(&base)),
        ..crate::agenda_http::quick()
    };
    let app = TestApp::start_with(backend, config).await;
    let (_, event, session) =
        crate::agenda_http::event_through_forms(&app, "Atelier mémoire", "5").await;
    let c = app.client();
    let url = app.url(&format!("/t/lens-lievin/evenements/{event}"));
    let html = c.get(&url).send().await.unwrap().text().await.unwrap();
    let form = |html: &str, name: &str, phone: &str| {
        let token = extract_csrf(html).unwrap();
        let key = crate::agenda_http::hidden(html, "key");
        let stamp = crate::agenda_http::hidden(html, "_t");
        vec![
            ("_csrf".to_owned(), token),
            ("_t".to_owned(), stamp),
            ("site_web".to_owned(), String::new()),
            ("session_id".to_owned(), session.to_string()),
            ("name".to_owned(), name.to_owned()),
            ("email".to_owned(), String::new()),
            ("phone".to_owned(), phone.to_owned()),
            ("party_size".to_owned(), "1".to_owned()),
            ("consent".to_owned(), "oui".to_owned()),
            ("key".to_owned(), key),
        ]
    };
    // A number that is neither French nor international: refused, kept.
    let r = c
        .post(format!("{url}/inscription"))
        .form(&form(&html, "Alice", "12 34"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("un numéro français a dix chiffres")
            || page.contains("Un numéro français a dix chiffres"),
        "{page}"
    );
    assert!(page.contains("value=\"12 34\""));
    // A mobile number: the confirmation goes out by SMS.
    let r = c
        .post(format!("{url}/inscription"))
        .form(&form(&html, "Alice", "06 12 34 56 78"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let mut got = Vec::new();
    for _ in 0..100 {
        got = fake.received.lock().unwrap().clone();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got.len(), 1, "one confirmation");
    let text = got[0]["content"].as_str().unwrap();
    assert_eq!(got[0]["recipient"], "33612345678");
    assert!(
        text.starts_with("Inscription confirmée : Atelier mémoire, "),
        "{text}"
    );
    assert!(text.contains("Maison de santé"), "the place: {text}");
    assert!(
        text.contains("/t/lens-lievin/inscriptions/"),
        "how to cancel: {text}"
    );
    assert!(maillage::domain::messages::sms_parts(text).0 <= 2, "{text}");
    let callback = got[0]["webUrl"].as_str().unwrap();
    assert!(
        callback.ends_with("/hooks/sms/brevo/s3cret-de-test"),
        "{callback}"
    );
    // The reminder waits for its day.
    let regs = maillage::storage::agenda::registrations(&app.db, session)
        .await
        .unwrap();
    let reg = regs.iter().find(|r| r.name == "Alice").unwrap();
    // Stored in E.164, shown as French people read it.
    assert_eq!(reg.phone.as_deref(), Some("+33612345678"));
    assert_eq!(reg.phone_display().as_deref(), Some("06 12 34 56 78"));
    let reminder_prefix = format!("reminder:sms:registration:{}:", reg.id);
    let s = maillage::storage::agenda::get_session(&app.db, session)
        .await
        .unwrap();
    let reminder = store::by_key(
        &app.db,
        &format!("{reminder_prefix}{}", s.starts_at.timestamp()),
    )
    .await
    .unwrap()
    .expect("reminder queued");
    assert_eq!(reminder.status, "queued");
    assert!(reminder.not_before < s.starts_at && reminder.not_before > Utc::now());

    // Brevo reports the delivery; a wrong secret or a broken body is refused.
    let confirmation = store::by_key(
        &app.db,
        &format!("confirmation:sms:registration:{}", reg.id),
    )
    .await
    .unwrap()
    .unwrap();
    let provider_ref = confirmation.provider_ref.clone().unwrap();
    let report = json!({"id": 26570, "to": "33612345678", "sms_count": 1, "credits_used": 1.0,
        "messageId": provider_ref.parse::<i64>().unwrap(), "msg_status": "delivered",
        "date": "2026-12-03 10:00:00", "type": "transactional", "reference": "ab1"});
    let wrong = c
        .post(app.url("/hooks/sms/brevo/pas-le-secret"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let broken = c
        .post(app.url("/hooks/sms/brevo/s3cret-de-test"))
        .body("pas du json")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let ok = c
        .post(app.url("/hooks/sms/brevo/s3cret-de-test"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        store::get(&app.db, confirmation.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "delivered"
    );

    // The coordination reads the receipts, numbers masked.
    let staff = app.login("coordinator").await;
    let page = staff
        .get(app.url("/admin/t/lens-lievin/envois"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("remis") && page.contains("06 •• •• •• 78"),
        "{page}"
    );
    assert!(!page.contains("06 12 34 56 78"));
    let page = staff
        .get(app.url("/admin/t/lens-lievin/envois?statut=queued"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("rappel") && !page.contains(">confirmation<"),
        "{page}"
    );
    // Alice cancels from her link: the reminder is withdrawn.
    let link_at = text.find("/t/lens-lievin/inscriptions/").unwrap();
    let cancel_path: String = text[link_at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let token = csrf_from(&c, &app.url(&cancel_path)).await;
    let r = c
        .post(app.url(&cancel_path))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(
        store::get(&app.db, reminder.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "cancelled"
    );
    // Someone calls to say stop: a typo keeps what was typed, then it works.
    let token = csrf_from(&staff, &app.url("/admin/t/lens-lievin/envois")).await;
    let r = staff
        .post(app.url("/admin/t/lens-lievin/envois/desinscription"))
        .form(&[("_csrf", token.as_str()), ("phone", "06 12 34")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("value=\"06 12 34\""));
    let r = staff
        .post(app.url("/admin/t/lens-lievin/envois/desinscription"))
        .form(&[("_csrf", token.as_str()), ("phone", "06 12 34 56 78")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(store::is_opted_out(&app.db, "+33612345678").await.unwrap());
    // Another territory's coordinator sees nothing of it.
    let other = app.login("other_coordinator").await;
    assert_eq!(
        other
            .get(app.url("/admin/t/lens-lievin/envois"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    app.stop().await;
}
both!(registration_texts_receipts_and_the_coordination_view);
