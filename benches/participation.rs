//! Figures for issue 5, printed, never asserted (run with
//! `cargo bench --bench participation`):
//! (a) throughput of the public answer endpoint of a 20-question
//! questionnaire (real server, 32 concurrent clients for 10 s, each request a
//! distinct client address so the rate limiter lets them through);
//! (b) results of 10,000 answers to that questionnaire: grouped counts in the
//! database, percentages in Rust, and the public results page.
//! SQLite always, PostgreSQL when reachable.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use maillage::config::Config;
use maillage::domain::participation::{compute_results, Question, QuestionInput};
use maillage::storage::audit::Actor;
use maillage::storage::participation::{self as store, ConsultationInput};
use maillage::storage::territories;
use maillage::storage::Db;

async fn questionnaire(app: &TestApp) -> (i64, Vec<Question>) {
    let tid = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let actor = Actor::system("bench");
    let today = chrono::Utc::now().date_naive();
    let c = store::create_consultation(
        &app.db,
        &actor,
        tid,
        &ConsultationInput {
            title: "Banc d’essai".into(),
            intro: String::new(),
            opens_on: today - chrono::Duration::days(1),
            closes_on: today + chrono::Duration::days(30),
            panel_only: false,
            results_published: true,
        },
    )
    .await
    .unwrap();
    for i in 0..20 {
        let qs = store::questions(&app.db, c.id).await.unwrap();
        let (kind, options, cond) = match i {
            0..=7 => ("single", "Oui\nNon\nNe sait pas\nSans avis", String::new()),
            8..=11 => ("multiple", "A\nB\nC\nD\nE", String::new()),
            12..=15 => ("scale", "", String::new()),
            16 | 17 => ("commune", "", String::new()),
            18 => ("long_text", "", format!("{}:2", qs[0].id)),
            _ => ("long_text", "", String::new()),
        };
        let q = QuestionInput::parse(
            kind,
            &format!("Question {i}"),
            "",
            i == 0,
            options,
            "1",
            "5",
            &cond,
            &qs,
        )
        .unwrap();
        store::add_question(&app.db, &actor, tid, c.id, &q)
            .await
            .unwrap();
    }
    (c.id, store::questions(&app.db, c.id).await.unwrap())
}

/// One plausible answer per question, varied by `n`.
fn answers(qs: &[Question], n: u64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        let k = n.wrapping_mul(2654435761).wrapping_add(i as u64 * 97) >> 7;
        match q.kind.as_str() {
            "single" => out.push((q.id, (1 + k % 4).to_string())),
            "multiple" => {
                out.push((q.id, (1 + k % 5).to_string()));
                out.push((q.id, (1 + (k + 2) % 5).to_string()));
            }
            "scale" => out.push((q.id, (1 + k % 5).to_string())),
            "commune" => out.push((
                q.id,
                if k.is_multiple_of(2) {
                    "62498"
                } else {
                    "62510"
                }
                .into(),
            )),
            _ => {
                if q.cond_question_id.is_none()
                    || out
                        .iter()
                        .any(|(id, v)| Some(*id) == q.cond_question_id && v == "2")
                {
                    out.push((q.id, format!("Réponse libre numéro {n}")));
                }
            }
        }
    }
    out
}

async fn answer_throughput(app: &TestApp, cid: i64, qs: &[Question]) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let html = client
        .get(app.url("/t/lens-lievin/contact"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::extract_csrf(&html).unwrap();
    let stamp = maillage::web::participation::antispam::stamp_at(
        &app.state.secret,
        chrono::Utc::now().timestamp() - 60,
    );
    let url = app.url(&format!("/t/lens-lievin/consultations/{cid}"));
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (client, url, csrf, stamp, counter) = (
            client.clone(),
            url.clone(),
            csrf.clone(),
            stamp.clone(),
            counter.clone(),
        );
        let qs = qs.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let mut form: Vec<(String, String)> = vec![
                    ("_csrf".into(), csrf.clone()),
                    ("_t".into(), stamp.clone()),
                    ("site_web".into(), String::new()),
                    ("key".into(), format!("bench-{n}")),
                ];
                form.extend(
                    answers(&qs, n)
                        .into_iter()
                        .map(|(q, v)| (format!("q{q}"), v)),
                );
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header(
                        "x-forwarded-for",
                        format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
                    )
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body = r.text().await.unwrap();
                assert_eq!(status, 200, "{}", &body[..body.len().min(2000)]);
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "  POST answer (20 questions, 32 clients, 10 s): {} answers ({:.0}/s), p50 {:?}, p99 {:?}",
        all.len(),
        all.len() as f64 / 10.0,
        p(0.5),
        p(0.99)
    );
}

/// Bring the questionnaire to exactly 10,000 responses with batched inserts.
async fn fill_to(db: &Db, cid: i64, qs: &[Question], total: i64) {
    let have = store::raw_results(db, cid).await.unwrap().responses;
    let now = chrono::Utc::now();
    let mut n = have;
    while n < total {
        let batch = (total - n).min(500);
        maillage::db_run!(db, pool => {
            let mut tx = pool.begin().await.unwrap();
            for i in 0..batch {
                let (rid,): (i64,) = sqlx::query_as("INSERT INTO responses (consultation_id, submission_key, submitted_at) VALUES ($1, $2, $3) RETURNING id")
                    .bind(cid).bind(format!("fill-{}", n + i)).bind(now).fetch_one(&mut *tx).await.unwrap();
                let rows = answers(qs, (n + i) as u64 + 1_000_000);
                let mut sql = String::from("INSERT INTO answers (response_id, consultation_id, question_id, value) VALUES ");
                for j in 0..rows.len() {
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("(${}, ${}, ${}, ${})", 4 * j + 1, 4 * j + 2, 4 * j + 3, 4 * j + 4));
                }
                let mut q = sqlx::query(&sql);
                for (qid, v) in &rows {
                    q = q.bind(rid).bind(cid).bind(*qid).bind(v.clone());
                }
                q.execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        });
        n += batch;
    }
}

async fn results_of_10000(app: &TestApp, cid: i64, qs: &[Question]) {
    let t = Instant::now();
    fill_to(&app.db, cid, qs, 10_000).await;
    println!("  filled to 10,000 responses in {:?}", t.elapsed());
    let communes = vec![
        ("62498".to_owned(), "Lens".to_owned()),
        ("62510".to_owned(), "Liévin".to_owned()),
    ];
    let mut best = Duration::MAX;
    let mut answers_count = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let raw = store::raw_results(&app.db, cid).await.unwrap();
        let res = compute_results(qs, &raw.counts, &raw.respondents, &communes);
        best = best.min(t.elapsed());
        answers_count = raw.responses;
        assert_eq!(res.len(), 20);
    }
    println!("  results of {answers_count} responses × 20 questions (grouped SQL + percentages): best of 5 {best:?}");
    let client = reqwest::Client::new();
    let url = app.url(&format!("/t/lens-lievin/consultations/{cid}/resultats"));
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        best = best.min(t.elapsed());
    }
    println!("  public results page (20 SVG charts and tables): best of 5 {best:?}");
}

async fn run(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        Config {
            form_min_fill_secs: 0,
            trust_proxy: true,
            public_cache_ttl: Duration::ZERO,
            ..Default::default()
        },
    )
    .await;
    println!("{backend:?}:");
    let (cid, qs) = questionnaire(&app).await;
    answer_throughput(&app, cid, &qs).await;
    results_of_10000(&app, cid, &qs).await;
    app.stop().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(Backend::Sqlite));
    let pg = rt.block_on(async { Db::connect(&common::postgres_admin_url()).await.is_ok() });
    if pg {
        rt.block_on(run(Backend::Postgres));
    } else {
        println!(
            "PostgreSQL unreachable ({}): skipped",
            common::postgres_admin_url()
        );
    }
}
