//! End to end in a real browser: Debian's headless Chromium, driven by
//! `tests/e2e/run.mjs` (playwright-core), with an axe-core audit of every
//! public page and of the main back-office pages (WCAG 2.1 A and AA rules),
//! and checks on real page content.

mod common;

use std::process::Command;

use common::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_chromium_and_pass_axe() {
    let root = env!("CARGO_MANIFEST_DIR");
    let modules = format!("{root}/tests/e2e/node_modules");
    assert!(
        std::path::Path::new(&modules)
            .join("playwright-core")
            .exists(),
        "tests/e2e/node_modules is missing: run `bash scripts/test.sh` (it runs npm ci there)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Chromium is missing: run `bash scripts/test.sh`"
    );

    let app = TestApp::start(Backend::Sqlite).await;
    let coordinator = app.account("coordinator").clone();
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(format!("{root}/tests/e2e/run.mjs"))
            .env("BASE_URL", base)
            .env("TERRITORY", "lens-lievin")
            .env("E2E_EMAIL", &coordinator.email)
            .env("E2E_PASSWORD", &coordinator.password)
            .output()
            .expect("node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run.mjs failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");

    let pages = report["pages"].as_array().expect("pages");
    assert!(pages.len() >= 8, "too few pages audited: {}", pages.len());
    let mut problems = Vec::new();
    for p in pages {
        for v in p["violations"].as_array().unwrap() {
            problems.push(format!(
                "{} — {} ({}): {}",
                p["url"], v["id"], v["impact"], v["nodes"]
            ));
        }
    }
    for c in report["checks"].as_array().expect("checks") {
        if c["ok"] != true {
            problems.push(format!("check failed: {} — {}", c["name"], c["detail"]));
        }
    }
    assert!(report["checks"].as_array().unwrap().len() >= 6);
    assert!(
        problems.is_empty(),
        "end-to-end problems:\n{}",
        problems.join("\n")
    );

    // The browser's edit reached the database.
    let t = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.contact_phone, "03 21 99 88 77");
    app.stop().await;
}
