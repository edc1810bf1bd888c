//! The JSON API against its own OpenAPI document, by Schemathesis.
//!
//! The real server runs on SQLite with the demo loaded; Schemathesis
//! (`st`, installed by `scripts/test.sh` at a pinned version) reads
//! `/api/openapi.json` and sends generated requests, valid and invalid,
//! twice: anonymously, then as the demo coordinator (session cookie, CSRF
//! token and Origin, as the API's writes require). Any server error, status,
//! content type, header or body the document does not announce, or valid
//! input refused, fails the test. The run is bounded (`--max-examples`, a
//! fixed seed, two workers) and reports how many requests it sent.
//!
//! Checks: all of Schemathesis's, with one setting
//! (`tests/schemathesis.toml`): a well-formed body that a rule refuses (a
//! date outside 1900-2100, « douze » as a number) is answered 422, which
//! the document announces, and that is accepted for valid-looking input.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{extract_csrf, fresh_db, Backend};
use maillage::config::Config;
use maillage::web::AppState;

/// Requests in a HAR report.
fn har_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("har"))
        .map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            v["log"]["entries"].as_array().map_or(0, Vec::len)
        })
        .sum()
}

fn schemathesis(base: &str, label: &str, headers: &[String]) -> (bool, usize, String) {
    let (ok, requests, text) = schemathesis_once(base, label, headers);
    // Hypothesis, under Schemathesis, sometimes stops on an error of its
    // own while describing a strategy (CPython 3.11's `ast` module: « AST
    // constructor recursion depth mismatch »; seen once in 3 December's
    // CI, then not in two runs). That is no finding about the API: run
    // once more. A check that fails (a « FAILURES » section) is never
    // retried.
    if !ok
        && text.contains("AST constructor recursion depth mismatch")
        && !text.contains("FAILURES")
    {
        println!("== Schemathesis, {label}: internal error of Hypothesis, run again");
        return schemathesis_once(base, label, headers);
    }
    (ok, requests, text)
}

fn schemathesis_once(base: &str, label: &str, headers: &[String]) -> (bool, usize, String) {
    let report = tempfile::tempdir().unwrap();
    // More for a deeper run by hand: MAILLAGE_SCHEMATHESIS_EXAMPLES=100.
    let examples =
        std::env::var("MAILLAGE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "60".to_owned());
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let mut cmd = Command::new("st");
    cmd.args(["--config-file", config, "run"])
        .arg(format!("{base}/api/openapi.json"))
        .args([
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            &examples,
            "--workers",
            "2",
            "--seed",
            "20261202",
            "--request-timeout",
            "20",
            "--report",
            "har",
            "--report-dir",
        ])
        .arg(report.path());
    for h in headers {
        cmd.arg("-H").arg(h);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("Schemathesis (`st`) is needed: run scripts/test.sh, which installs it ({e})")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = har_entries(report.path());
    println!("== Schemathesis, {label}: {requests} requests\n{text}");
    (out.status.success(), requests, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_to_its_openapi_document() {
    let tdb = fresh_db(Backend::Sqlite).await;
    let accounts = maillage::demo::load(&tdb.db)
        .await
        .expect("demo")
        .expect("demo accounts");
    let coordinator = accounts
        .iter()
        .find(|a| a.email.starts_with("coordination@"))
        .unwrap()
        .clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let config = Config {
        database_url: tdb.url.clone(),
        addr,
        public_url: base.clone(),
        upload_dir: std::env::temp_dir().join("maillage-test-uploads"),
        // Generated requests come fast from one address.
        login_attempts: 1_000,
        login_address_attempts: 100_000,
        ..Config::default()
    };
    let state = AppState::new(tdb.db.clone(), config).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(maillage::web::serve(listener, state, async {
        let _ = rx.await;
    }));

    // The coordinator's session, and a CSRF token bound to it (cookies
    // kept by hand: they are handed to Schemathesis as one header).
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut jar: std::collections::BTreeMap<String, String> = Default::default();
    let keep = |jar: &mut std::collections::BTreeMap<String, String>, r: &reqwest::Response| {
        for h in r.headers().get_all("set-cookie") {
            let pair = h.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                jar.insert(k.to_owned(), v.to_owned());
            }
        }
    };
    let header = |jar: &std::collections::BTreeMap<String, String>| {
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let login = c
        .get(format!("{base}/admin/connexion"))
        .send()
        .await
        .unwrap();
    keep(&mut jar, &login);
    let token = extract_csrf(&login.text().await.unwrap()).unwrap();
    let r = c
        .post(format!("{base}/admin/connexion"))
        .header("cookie", header(&jar))
        .form(&[
            ("_csrf", token.as_str()),
            ("email", coordinator.email.as_str()),
            ("password", coordinator.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    keep(&mut jar, &r);
    jar.remove("maillage_message");
    let page = c
        .get(format!("{base}/admin/t/lens-lievin/presentation"))
        .header("cookie", header(&jar))
        .send()
        .await
        .unwrap();
    keep(&mut jar, &page);
    let token = extract_csrf(&page.text().await.unwrap()).unwrap();
    let base2 = base.clone();
    let signed_in = vec![
        format!("Cookie: {}", header(&jar)),
        format!("X-CSRF-Token: {token}"),
        format!("Origin: {base}"),
    ];
    let (anon_ok, anon_requests, anon_text, coord_ok, coord_requests, coord_text) =
        tokio::task::spawn_blocking(move || {
            let (a, n, t) = schemathesis(&base2, "anonymous", &[]);
            let (b, m, u) = schemathesis(&base2, "coordinator", &signed_in);
            (a, n, t, b, m, u)
        })
        .await
        .unwrap();
    let _ = tx.send(());
    let _ = server.await;
    tdb.cleanup().await;
    println!(
        "Schemathesis: {anon_requests} requests anonymous, {coord_requests} as the coordinator"
    );
    assert!(
        anon_requests > 100 && coord_requests > 100,
        "too few requests"
    );
    assert!(anon_ok, "Schemathesis failed (anonymous):\n{anon_text}");
    assert!(coord_ok, "Schemathesis failed (coordinator):\n{coord_text}");
}

/// What Schemathesis found, kept as plain checks (no `st` needed): the
/// document now says what the server does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cases_schemathesis_found() {
    let app = common::TestApp::start(Backend::Sqlite).await;
    let anon = app.client();
    let status = |path: &'static str| {
        let (anon, url) = (anon.clone(), app.url(path));
        async move { anon.get(url).send().await.unwrap().status().as_u16() }
    };
    // Shorter than the documented minLength: 400; two characters: searched.
    assert_eq!(status("/api/v1/communes?q=a").await, 400);
    assert_eq!(status("/api/v1/epcis?q=a").await, 400);
    assert_eq!(status("/api/v1/communes?q=%20a").await, 200);
    // A code that cannot exist in a path: not found, like an unknown one.
    assert_eq!(status("/api/v1/communes/%C2%82").await, 404);
    assert_eq!(status("/api/v1/epcis/abc").await, 404);
    // A commune outside the territory.
    assert_eq!(
        status("/api/v1/territories/lens-lievin/directory?commune=75056").await,
        404
    );
    assert_eq!(
        status("/api/v1/territories/lens-lievin/directory?radius_km=__dict__").await,
        400
    );
    assert_eq!(
        status("/api/v1/territories/lens-lievin/directory?radius_km=%09").await,
        400
    );
    assert_eq!(
        status("/api/v1/territories/lens-lievin/directory?radius_km=5").await,
        200
    );
    // Present but empty is not a date; a date out of range is refused by a rule.
    assert_eq!(
        status("/api/v1/agenda/lens-lievin/occurrences?to=").await,
        400
    );
    assert_eq!(
        status("/api/v1/agenda/lens-lievin/occurrences?from=0001-01-01").await,
        422
    );
    assert_eq!(
        status("/api/v1/agenda/lens-lievin/occurrences?from=2030-01-02&to=2030-01-01").await,
        422
    );

    let doc: serde_json::Value = anon
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    let status_op = op("/api/v1/contracts/{territory}/actions/{id}/status", "post");
    assert!(status_op["responses"]["415"].is_object(), "{status_op}");
    let status_in = &doc["components"]["schemas"]["StatusIn"]["properties"];
    assert_eq!(status_in["progress"]["maximum"], 100, "{status_in}");
    let names = &doc["components"]["schemas"]["ActionStatusName"]["enum"];
    assert_eq!(
        names,
        &serde_json::json!(["planned", "in_progress", "done", "paused", "abandoned"])
    );
    let occurrences = op("/api/v1/agenda/{territory}/occurrences", "get");
    assert!(occurrences["responses"]["422"].is_object());
    let from = occurrences["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "from")
        .unwrap();
    assert_eq!(from["schema"]["format"], "date", "{from}");

    // A write without a JSON body: 415, now documented (the 422 of a
    // refused measurement is checked in tests/plan_http.rs).
    let coordinator = app.login("coordinator").await;
    let token =
        common::csrf_from(&coordinator, &app.url("/admin/t/lens-lievin/presentation")).await;
    let r = coordinator
        .post(app.url("/api/v1/contracts/lens-lievin/actions/1/status"))
        .header("X-CSRF-Token", &token)
        .send()
        .await
        .unwrap();
    assert!(
        r.status() == 415 || r.status() == 404,
        "no JSON body: {}",
        r.status()
    );
    app.stop().await;
}
