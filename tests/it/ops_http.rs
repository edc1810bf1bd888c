//! Operations over HTTP: `/healthz` and the Prometheus `/metrics`.

use crate::common;

use common::{Backend, TestApp};
use maillage::config::Config;

async fn healthz_is_ok_when_migrated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let resp = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    let carried = app.db.migrator().iter().count() as u64;
    assert_eq!(body["migrations"].as_u64(), Some(carried), "{body}");
    app.stop().await;
}
both!(healthz_is_ok_when_migrated);

async fn healthz_is_503_when_a_migration_is_missing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let last = app.db.migrator().iter().map(|m| m.version).max().unwrap();
    maillage::db_run!(&app.db, pool => sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
        .bind(last)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    let resp = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "error", "{body}");
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("{last:04}")), "{reason}");
    app.stop().await;
}
both!(healthz_is_503_when_a_migration_is_missing);

async fn metrics_are_off_by_default(backend: Backend) {
    let app = TestApp::start(backend).await;
    let resp = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(resp.status(), 404);
    app.stop().await;
}
both!(metrics_are_off_by_default);

/// The samples of an OpenMetrics text page: `name{labels}` → value.
fn samples(text: &str) -> Vec<(String, f64)> {
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("sample line");
            (series.to_owned(), value.parse::<f64>().expect("number"))
        })
        .collect()
}

fn value(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}

async fn metrics_count_requests_by_route(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        Config {
            metrics: true,
            ..Config::default()
        },
    )
    .await;
    let c = app.client();
    for _ in 0..2 {
        assert_eq!(
            c.get(app.url("/healthz")).send().await.unwrap().status(),
            200
        );
    }
    let page = c.get(app.url("/t/lens-lievin/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let missing = c.get(app.url("/nulle-part")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    maillage::storage::jobs::enqueue(
        &app.db,
        "finess",
        &maillage::storage::jobs::SavedFile {
            name: "f.csv".into(),
            path: "/nulle/part".into(),
        },
        None,
        "test",
        false,
    )
    .await
    .unwrap();

    let resp = c.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = resp.text().await.unwrap();
    let s = samples(&text);
    assert_eq!(
        value(
            &s,
            r#"maillage_http_requests_total{method="GET",route="/healthz",status="200"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &s,
            r#"maillage_http_request_duration_seconds_count{method="GET",route="/healthz"}"#
        ),
        Some(2.0),
        "{text}"
    );
    // Routes, never raw paths: one series per route whatever the URL.
    assert!(text.contains(r#"route="/t/{territory}/""#), "{text}");
    assert!(
        !text.contains("lens-lievin") && !text.contains("nulle-part"),
        "{text}"
    );
    assert_eq!(
        value(
            &s,
            r#"maillage_http_requests_total{method="GET",route="(none)",status="404"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&s, r#"maillage_import_jobs{state="queued"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&s, r#"maillage_import_jobs{state="failed"}"#),
        Some(0.0)
    );
    assert_eq!(value(&s, "maillage_mail_queue"), Some(0.0), "{text}");

    // A request relayed by a proxy is not a local caller.
    let proxied = c
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 403);
    app.stop().await;
}
both!(metrics_count_requests_by_route);

async fn metrics_token_is_required_when_set(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        Config {
            metrics: true,
            metrics_token: Some("jeton-de-supervision".into()),
            ..Config::default()
        },
    )
    .await;
    let c = app.client();
    let bare = c.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(bare.status(), 403, "loopback is not enough with a token");
    let wrong = c
        .get(app.url("/metrics"))
        .bearer_auth("jeton-de-supervisio")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let right = c
        .get(app.url("/metrics"))
        .bearer_auth("jeton-de-supervision")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right
        .text()
        .await
        .unwrap()
        .contains("maillage_http_requests_total"));
    app.stop().await;
}
both!(metrics_token_is_required_when_set);

async fn metrics_follow_the_mailer(backend: Backend) {
    // Nothing listens on port 1: every send fails, after being in flight.
    let app = TestApp::start_with(
        backend,
        Config {
            metrics: true,
            smtp_url: Some("smtp://127.0.0.1:1".into()),
            ..Config::default()
        },
    )
    .await;
    let mailer = app.state.mailer.clone().unwrap();
    assert!(mailer
        .send("a@exemple.test", "Objet", "Texte")
        .await
        .is_err());
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let s = samples(&text);
    assert_eq!(
        value(&s, "maillage_mails_failed_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&s, "maillage_mails_sent_total"), Some(0.0), "{text}");
    assert_eq!(value(&s, "maillage_mail_queue"), Some(0.0), "{text}");
    app.stop().await;
}
both!(metrics_follow_the_mailer);
