//! Several server processes on one PostgreSQL database behind a reverse
//! proxy behave as one server.
//!
//! The test migrates a new PostgreSQL database with the `maillage` binary,
//! loads the demo, starts two real `maillage serve --trust-proxy` processes
//! sharing an upload directory, and puts a small round-robin reverse proxy in
//! front of them (it adds `X-Forwarded-For` like nginx's
//! `$proxy_add_x_forwarded_for`, and says in `x-test-backend` which process
//! answered). Everything then goes through the proxy: a session, a CSRF token,
//! the login rate limit, import jobs and the micro-cache of public pages.
//!
//! Skipped, with a message, only when PostgreSQL cannot be reached.

use crate::common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use common::extract_csrf;
use maillage::storage::Db;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BACKEND_HEADER: &str = "x-test-backend";

/// The round-robin reverse proxy.
struct Proxy {
    backends: Vec<String>,
    next: AtomicUsize,
    client: reqwest::Client,
}

async fn forward(
    State(p): State<Arc<Proxy>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let i = p.next.fetch_add(1, Ordering::SeqCst) % p.backends.len();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let url = format!(
        "{}{}",
        p.backends[i],
        parts.uri.path_and_query().map_or("/", |x| x.as_str())
    );
    let mut headers = parts.headers;
    for h in ["host", "connection", "content-length", "transfer-encoding"] {
        headers.remove(h);
    }
    // Like nginx's `$proxy_add_x_forwarded_for`: what the client sent, then
    // the address the proxy saw.
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    headers.insert("x-forwarded-for", HeaderValue::from_str(&xff).unwrap());
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    let answer = p
        .client
        .request(parts.method, url)
        .headers(headers)
        .body(bytes)
        .send()
        .await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    for h in ["connection", "content-length", "transfer-encoding"] {
        headers.remove(h);
    }
    let body = answer.bytes().await.unwrap_or_default();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp.headers_mut()
        .insert(BACKEND_HEADER, HeaderValue::from(i as u32));
    resp
}

/// A `maillage serve` process; killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

async fn start_server(db_url: &str, public_url: &str, uploads: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--trust-proxy",
            "--public-cache-ms",
            "300",
        ])
        .arg("--public-url")
        .arg(public_url)
        .arg("--upload-dir")
        .arg(uploads)
        .env("MAILLAGE_DATABASE_URL", db_url)
        .env("MAILLAGE_LOG", "maillage=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start maillage serve");
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let mut tx = Some(tx);
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let out_log = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = out.next_line().await {
            if let Some(addr) = line.split("écoute sur ").nth(1) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
            out_log.lock().unwrap().push(line);
        }
    });
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let err_log = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = err.next_line().await {
            err_log.lock().unwrap().push(line);
        }
    });
    let base = match tokio::time::timeout(Duration::from_secs(120), rx).await {
        Ok(Ok(base)) => base,
        _ => panic!(
            "maillage serve did not start:\n{}",
            log.lock().unwrap().join("\n")
        ),
    };
    Server { child, base, log }
}

async fn connect_admin(url: &str) -> Option<Db> {
    match tokio::time::timeout(Duration::from_secs(10), Db::connect(url)).await {
        Ok(Ok(db)) => Some(db),
        Ok(Err(e)) => {
            eprintln!("SKIPPED multi_process: PostgreSQL is unreachable at {url}: {e}");
            None
        }
        Err(_) => {
            eprintln!("SKIPPED multi_process: PostgreSQL did not answer at {url} within 10 s");
            None
        }
    }
}

fn backend_of(r: &reqwest::Response) -> u32 {
    r.headers()
        .get(BACKEND_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "not answered by a process: {} {:?}",
                r.status(),
                r.headers()
            )
        })
}

fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_behind_a_proxy_behave_as_one_server() {
    let admin_url = common::postgres_admin_url();
    let Some(admin) = connect_admin(&admin_url).await else {
        return;
    };
    let name = format!(
        "maillage_t_mp{}",
        maillage::accounts::random_token()
            .to_lowercase()
            .replace(['-', '_'], "")[..12]
            .to_owned()
    );
    if let Db::Postgres(pool) = &admin {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(pool)
            .await
            .expect("create database");
    }
    let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
    let db_url = format!("{base}/{name}");

    let outcome = tokio::spawn(scenario(db_url.clone())).await;

    if let Db::Postgres(pool) = &admin {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(pool)
            .await;
    }
    admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn scenario(db_url: String) {
    // One database, migrated by the binary, with the demo loaded.
    let status = Command::new(env!("CARGO_BIN_EXE_maillage"))
        .arg("migrate")
        .env("MAILLAGE_DATABASE_URL", &db_url)
        .status()
        .await
        .expect("maillage migrate");
    assert!(status.success(), "maillage migrate failed");
    let db = Db::connect(&db_url).await.expect("connect");
    let accounts = maillage::demo::load(&db)
        .await
        .expect("demo")
        .expect("demo accounts");
    let account = |email: &str| {
        accounts
            .iter()
            .find(|a| a.email == email)
            .unwrap_or_else(|| panic!("demo account {email}"))
            .clone()
    };
    let coordinator = account("coordination@lens-lievin.maillage.test");
    let admin = account("admin@maillage.test");
    let partner = account("mediation@lens-lievin.maillage.test");

    // The proxy's port first: both processes are told it is the public URL.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    let public = format!("http://{proxy_addr}");
    let uploads = tempfile::tempdir().unwrap();
    let a = start_server(&db_url, &public, uploads.path()).await;
    let b = start_server(&db_url, &public, uploads.path()).await;
    assert_ne!(a.base, b.base);
    let proxy = Arc::new(Proxy {
        backends: vec![a.base.clone(), b.base.clone()],
        next: AtomicUsize::new(0),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    });
    let router = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let url = {
        let public = public.clone();
        move |path: &str| format!("{public}{path}")
    };
    let browser = || {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };

    let result = tokio::spawn({
        let url = url.clone();
        let db = db.clone();
        async move {
            // 1. A CSRF token issued by one process is accepted by the
            //    other, and the session it opens is valid on both.
            let sign_in = |who: maillage::demo::DemoAccount| {
                let url = url.clone();
                async move {
                    let c = browser();
                    let form = c.get(url("/admin/connexion")).send().await.unwrap();
                    let from = backend_of(&form);
                    let token = extract_csrf(&form.text().await.unwrap()).unwrap();
                    let r = c
                        .post(url("/admin/connexion"))
                        .form(&[
                            ("_csrf", token.as_str()),
                            ("email", &who.email),
                            ("password", &who.password),
                        ])
                        .send()
                        .await
                        .unwrap();
                    assert_ne!(backend_of(&r), from, "round robin");
                    assert_eq!(r.status(), 303, "sign-in through the other process");
                    c
                }
            };
            let coord = sign_in(coordinator.clone()).await;
            let mut seen = [false; 2];
            for _ in 0..4 {
                let r = coord
                    .get(url("/admin/t/lens-lievin/"))
                    .send()
                    .await
                    .unwrap();
                seen[backend_of(&r) as usize] = true;
                assert_eq!(r.status(), 200, "the session is valid on both processes");
            }
            assert_eq!(seen, [true, true]);

            // 2. Micro-cache: both processes have the public home cached;
            //    an edit through one shows on the other within the TTL.
            let anonymous = browser();
            for _ in 0..2 {
                let r = anonymous.get(url("/t/lens-lievin/")).send().await.unwrap();
                assert_eq!(r.status(), 200);
                assert!(r.text().await.unwrap().contains("Atelier Santé Ville"));
            }
            let form_url = url("/admin/t/lens-lievin/presentation");
            let page = coord.get(&form_url).send().await.unwrap();
            let issued_by = backend_of(&page);
            let page = page.text().await.unwrap();
            let marker = "Nouvelle permanence multi-processus";
            let r = coord
                .post(&form_url)
                .form(&[
                    ("_csrf", extract_csrf(&page).unwrap()),
                    ("version", field_value(&page, "version")),
                    ("name", "Communauté d'agglomération de Lens-Liévin".into()),
                    ("presentation", marker.into()),
                    ("contact_email", "cls@lens-lievin.maillage.test".into()),
                ])
                .send()
                .await
                .unwrap();
            assert_ne!(backend_of(&r), issued_by);
            assert_eq!(
                r.status(),
                303,
                "a signed-in CSRF token from one process is accepted by the other"
            );
            let mut fresh = [false; 2];
            for _ in 0..200 {
                let r = anonymous.get(url("/t/lens-lievin/")).send().await.unwrap();
                let from = backend_of(&r) as usize;
                if r.text().await.unwrap().contains(marker) {
                    fresh[from] = true;
                }
                if fresh == [true, true] {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(fresh, [true, true], "the edit shows on both processes");

            // 3. The login rate limit counts attempts on both processes.
            let attacker = browser();
            let mut hit = [0; 2];
            let form = attacker.get(url("/admin/connexion")).send().await.unwrap();
            let token = extract_csrf(&form.text().await.unwrap()).unwrap();
            for attempt in 1..=6 {
                let r = attacker
                    .post(url("/admin/connexion"))
                    // A forged first hop changes nothing: the address is the
                    // one the proxy saw.
                    .header("x-forwarded-for", format!("203.0.113.{attempt}"))
                    .form(&[
                        ("_csrf", token.as_str()),
                        ("email", partner.email.as_str()),
                        ("password", "pas le bon mot de passe"),
                    ])
                    .send()
                    .await
                    .unwrap();
                hit[backend_of(&r) as usize] += 1;
                if attempt <= 5 {
                    assert_eq!(r.status(), 401, "attempt {attempt}");
                } else {
                    assert_eq!(r.status(), 429, "the 6th attempt is over the limit");
                    assert!(r.headers().contains_key("retry-after"));
                }
            }
            assert!(hit[0] >= 2 && hit[1] >= 2, "spread over both: {hit:?}");
            // Even the right password now waits, whichever process answers.
            for _ in 0..2 {
                let r = attacker
                    .post(url("/admin/connexion"))
                    .form(&[
                        ("_csrf", token.as_str()),
                        ("email", partner.email.as_str()),
                        ("password", partner.password.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 429);
            }

            // 4. Import jobs queued through either process run once each.
            let admin_c = sign_in(admin.clone()).await;
            let imports_before = history_count(&db).await;
            let jobs = 4;
            let mut queued_on = [0; 2];
            let page = admin_c
                .get(url("/admin/annuaire/imports"))
                .send()
                .await
                .unwrap();
            let token = extract_csrf(&page.text().await.unwrap()).unwrap();
            // The file the demo loaded: an unchanged re-import.
            let finess = maillage::demo_directory::finess().unwrap();
            for _ in 0..jobs {
                let form = reqwest::multipart::Form::new()
                    .text("source", "finess")
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(finess.clone())
                            .file_name("etalab-cs1100507-stock.csv"),
                    );
                let r = admin_c
                    .post(url(&format!("/admin/annuaire/imports?_csrf={token}")))
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                queued_on[backend_of(&r) as usize] += 1;
                assert_eq!(r.status(), 303);
            }
            assert_eq!(queued_on, [2, 2], "uploads went to both processes");
            let mut finished = Vec::new();
            for _ in 0..600 {
                finished.clear();
                for id in 1..=jobs {
                    let job: serde_json::Value = admin_c
                        .get(url(&format!("/api/v1/imports/{id}")))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    if job["status"] == "done" || job["status"] == "failed" {
                        finished.push(job);
                    }
                }
                if finished.len() == jobs {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert_eq!(finished.len(), jobs, "every job finished: {finished:?}");
            for job in &finished {
                assert_eq!(job["status"], "done", "{job}");
            }
            assert_eq!(
                history_count(&db).await - imports_before,
                jobs as i64,
                "each job imported once, not twice"
            );
            let workers: Vec<String> = match &db {
                Db::Postgres(pool) => {
                    sqlx::query_scalar("SELECT worker FROM import_jobs ORDER BY id")
                        .fetch_all(pool)
                        .await
                        .unwrap()
                }
                Db::Sqlite(_) => unreachable!(),
            };
            assert!(workers.iter().all(|w| !w.is_empty()), "{workers:?}");
            println!("import jobs claimed by {workers:?}");
        }
    })
    .await;

    let logs = |s: &Server| s.log.lock().unwrap().join("\n");
    if let Err(e) = result {
        eprintln!("process A:\n{}\n\nprocess B:\n{}", logs(&a), logs(&b));
        std::panic::resume_unwind(e.into_panic());
    }
    for mut s in [a, b] {
        let _ = s.child.start_kill();
        let _ = s.child.wait().await;
    }
    db.close().await;
}

/// Rows of the directory's import history (one per import that ran).
async fn history_count(db: &Db) -> i64 {
    maillage::db_run!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM directory_imports")
        .fetch_one(pool)
        .await
        .unwrap())
}
