//! Figures for issue 16's messages, printed, never asserted (run with
//! `cargo bench --bench messages`): (a) queueing 20,000 reminders (a tenth
//! one by one with `enqueue`, as a registration does, the rest with
//! `enqueue_many`); (b) the sending rate of two
//! dispatchers racing on the same outbox against a local server speaking
//! Brevo's API (`tests/it/common/fake_brevo.rs`), with the check that each
//! message was handed over once. SQLite always, PostgreSQL when reachable.
//! `MESSAGES=N` changes the count.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use common::fake_brevo::{fake_brevo, FakeBrevo};
use common::Backend;
use maillage::domain::messages::Channel;
use maillage::messaging::sms::SmsSettings;
use maillage::messaging::Outbox;
use maillage::storage::messages::{self as store, NewMessage};

async fn run(backend: Backend, n: usize) {
    let t = common::fresh_db(backend).await;
    let fake = FakeBrevo::default();
    let base = fake_brevo(fake.clone()).await;
    let start = Utc::now() + Duration::days(2);
    let reminder = |i: usize| NewMessage {
        territory_id: None,
        channel: Channel::Sms,
        recipient: format!("+336{:08}", i),
        subject: String::new(),
        body: format!(
            "Rappel : permanence santé, jeudi 10 décembre à 14 h 00, Centre social ({i})"
        ),
        purpose: "reminder".into(),
        dedupe_key: format!("reminder:sms:registration:{i}:0"),
        not_before: start,
    };
    // One at a time (as a registration queues its own), on the first tenth.
    let one_by_one = n / 10;
    let began = Instant::now();
    for i in 0..one_by_one {
        store::enqueue(&t.db, &reminder(i)).await.unwrap();
    }
    let single = began.elapsed();
    // The rest in batches (a territory's reminders at once).
    let rest: Vec<NewMessage> = (one_by_one..n).map(reminder).collect();
    let began = Instant::now();
    let queued_many = store::enqueue_many(&t.db, &rest).await.unwrap();
    let batched = began.elapsed();
    assert_eq!(queued_many as usize, rest.len());
    println!(
        "{backend:?}: queue {one_by_one} reminders one by one {:.2} s ({:.0}/s); {} in batches {:.2} s ({:.0}/s)",
        single.as_secs_f64(),
        one_by_one as f64 / single.as_secs_f64(),
        rest.len(),
        batched.as_secs_f64(),
        rest.len() as f64 / batched.as_secs_f64(),
    );
    let settings = SmsSettings {
        provider: "brevo".into(),
        url: Some(base),
        api_key: Some("cle-de-test".into()),
        sender: "Maillage".into(),
        callback_secret: Some("secret".into()),
        reminder_days: 1,
    };
    let outbox = || {
        let p = settings.build("https://cls.exemple.fr").unwrap();
        Outbox::new(t.db.clone(), Some(Arc::from(p)), None, 1)
    };
    let (a, b) = (outbox(), outbox());
    let at = start + Duration::minutes(1);
    let began = Instant::now();
    let (ra, rb) = tokio::join!(a.run_once(at), b.run_once(at));
    let sending = began.elapsed();
    let sent = ra.unwrap().sent + rb.unwrap().sent;
    let handed = fake.received.lock().unwrap().len();
    println!(
        "{backend:?}: send {sent} by two dispatchers {:.2} s ({:.0} SMS/s); provider received {handed} ({})",
        sending.as_secs_f64(),
        sent as f64 / sending.as_secs_f64(),
        if handed == n { "each once" } else { "MISMATCH" }
    );
    t.cleanup().await;
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    run(Backend::Sqlite, n).await;
    if maillage::storage::Db::connect(&common::postgres_admin_url())
        .await
        .is_ok()
    {
        run(Backend::Postgres, n).await;
    } else {
        println!("PostgreSQL unreachable: skipped");
    }
}
