//! The failures found when the release was attacked (issue 15), each one a
//! test, on SQLite and PostgreSQL where storage is involved.

use crate::common;

use common::{extract_csrf, Backend, TestApp};
use maillage::config::Config;

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn wrong_password(
    app: &TestApp,
    c: &reqwest::Client,
    token: &str,
    email: &str,
) -> reqwest::Response {
    c.post(app.url("/admin/connexion"))
        .form(&[
            ("_csrf", token),
            ("email", email),
            ("password", "mauvais mot de passe"),
        ])
        .send()
        .await
        .unwrap()
}

/// 40 wrong passwords sent at once for one account: only the limit's worth
/// are checked, the others are refused with 429 and `Retry-After`.
async fn parallel_logins_respect_the_limit(backend: Backend) {
    let app = TestApp::start(backend).await;
    let visitor = app.sign_in_as("anonymous").await;
    let token = visitor.csrf().await;
    let c = visitor.client.clone();
    let email = app.account("partner").email.clone();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (c, url, token, email) = (
            c.clone(),
            app.url("/admin/connexion"),
            token.clone(),
            email.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .form(&[
                    ("_csrf", token.as_str()),
                    ("email", email.as_str()),
                    ("password", "mauvais mot de passe"),
                ])
                .send()
                .await
                .unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), retry)
        }));
    }
    let mut checked = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (401, _) => checked += 1,
            (429, Some(secs)) => {
                let secs: i64 = secs.parse().unwrap();
                assert!(secs > 0 && secs <= 15 * 60, "Retry-After {secs}");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((checked, refused), (5, 35));
    app.stop().await;
}
both!(parallel_logins_respect_the_limit);

/// An address that tried many accounts is held back, but a browser that
/// signed into its own account before still signs in with the right password.
async fn an_address_over_its_limit_does_not_lock_out_known_browsers(backend: Backend) {
    let config = Config {
        login_address_attempts: 6,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    // The coordinator signed in from this browser last week.
    let known = app.sign_in_as("coordinator").await;
    let r = known.post_form("/admin/deconnexion", &[]).await;
    assert_eq!(r.status(), 303);
    // Someone at the same address sprays wrong passwords over accounts.
    let attacker = app.sign_in_as("anonymous").await;
    let token = attacker.csrf().await;
    let attacker = attacker.client;
    for key in ["partner", "member", "inhabitant"] {
        let email = app.account(key).email.clone();
        for _ in 0..2 {
            assert_eq!(
                wrong_password(&app, &attacker, &token, &email)
                    .await
                    .status(),
                401
            );
        }
    }
    let r = wrong_password(&app, &attacker, &token, &app.account("admin").email).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // A new browser at that address waits, right password or not...
    let fresh = app.sign_in_as("anonymous").await;
    let r = fresh
        .post_form(
            "/admin/connexion",
            &[
                ("email", app.account("regional").email.as_str()),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 429);
    // ...but the coordinator's own browser signs in.
    let r = known
        .post_form(
            "/admin/connexion",
            &[
                ("email", app.account("coordinator").email.as_str()),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.stop().await;
}
both!(an_address_over_its_limit_does_not_lock_out_known_browsers);

/// The idea box allows 10 proposals per address in ten minutes, even when
/// 40 arrive at once.
async fn parallel_ideas_respect_the_limit(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await;
    let c = app.sign_in_as("anonymous").await.client;
    let html = c
        .get(app.url("/t/lens-lievin/idees"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_csrf(&html).unwrap();
    let stamp = field(&html, "_t");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (c, url, csrf, stamp) = (
            c.clone(),
            app.url("/t/lens-lievin/idees"),
            csrf.clone(),
            stamp.clone(),
        );
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("_t", stamp.as_str()),
                    ("site_web", ""),
                    ("kind", "idea"),
                    ("text", &format!("Idée numéro {i}")),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 200 || s == 429, "status {s}");
        accepted += usize::from(s == 200);
    }
    assert_eq!(accepted, 10);
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let ideas = maillage::storage::participation::list_ideas(&app.db, lens.id, false)
        .await
        .unwrap();
    assert_eq!(ideas.len(), 10);
    app.stop().await;
}
both!(parallel_ideas_respect_the_limit);

/// `retour=` of the display preferences: a tab, a CR/LF or a backslash
/// never turns into another host nor a server error.
#[tokio::test]
async fn preference_redirects_stay_on_the_site() {
    let app = TestApp::start(Backend::Sqlite).await;
    let c = app.sign_in_as("anonymous").await.client;
    for (target, expected) in [
        ("/%09/evil.example", "/"),
        ("/%0d/x", "/"),
        ("/%0d%0aSet-Cookie:%20x=1", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/t/lens-lievin/agenda", "/t/lens-lievin/agenda"),
    ] {
        let r = c
            .get(app.url(&format!("/preferences?contraste=oui&retour={target}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{target}");
        assert_eq!(r.headers()["location"], expected, "{target}");
    }
    app.stop().await;
}

/// `suite=` of the login form: the same check, and a refused target goes to
/// the dashboard with the session cookie sent.
async fn login_redirects_stay_on_the_site(backend: Backend) {
    let app = TestApp::start(backend).await;
    for suite in [
        "/\t/evil.example",
        "/\r/x",
        "/\r\nX: y",
        "//evil.example",
        "/\\evil",
    ] {
        let visitor = app.sign_in_as("anonymous").await;
        let r = visitor
            .post_form(
                "/admin/connexion",
                &[
                    ("email", app.account("partner").email.as_str()),
                    ("password", common::PASSWORD),
                    ("suite", suite),
                ],
            )
            .await;
        let c = &visitor.client;
        assert_eq!(r.status(), 303, "{suite:?}");
        assert_eq!(r.headers()["location"], "/admin/", "{suite:?}");
        assert!(r
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("maillage_session=")));
        // Already signed in: the login page sends on, to the same place.
        let r = c
            .get(app.url("/admin/connexion"))
            .query(&[("suite", suite)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/admin/", "{suite:?}");
    }
    // Shown on the form: a refused target is not carried in the hidden field.
    let c = app.sign_in_as("anonymous").await.client;
    let html = c
        .get(app.url("/admin/connexion?suite=/%09/evil.example"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"suite\" value=\"/admin/\""));
    app.stop().await;
}
both!(login_redirects_stay_on_the_site);

/// An anonymous page over the micro-cache's size cap is served whole (it
/// came back empty), the second time too.
#[tokio::test]
async fn large_anonymous_pages_are_served_whole() {
    let config = Config {
        public_cache_ttl: std::time::Duration::from_secs(600),
        ..Default::default()
    };
    let app = TestApp::start_with(Backend::Sqlite, config).await;
    let long = format!(
        "{}Fin de la présentation.",
        "Une présentation très longue. ".repeat(25_000)
    );
    maillage::db_run!(&app.db, pool => sqlx::query("UPDATE territories SET presentation = $1 WHERE slug = $2")
        .bind(&long).bind("lens-lievin").execute(pool).await.map(|_| ()).unwrap());
    let anon = app.sign_in_as("anonymous").await.client;
    for _ in 0..2 {
        let r = anon.get(app.url("/t/lens-lievin/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        assert!(body.len() > 700 * 1024, "{} bytes", body.len());
        assert!(body.contains("Fin de la présentation."));
    }
    app.stop().await;
}

fn python_csv(bytes: &[u8], delimiter: char) -> Vec<Vec<String>> {
    use std::io::Write;
    let script = format!(
        "import csv,io,sys,json\nrows=list(csv.reader(io.StringIO(sys.stdin.buffer.read().decode('utf-8-sig')), delimiter='{delimiter}'))\nprint(json.dumps(rows))"
    );
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An event of the demo territory with one session: (event, session).
async fn event_session(app: &TestApp, title: &str) -> (i64, i64) {
    use maillage::storage::agenda::{self, EventInput, SessionInput};
    let actor = maillage::storage::audit::Actor::system("test");
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let e = agenda::create_event(
        &app.db,
        &actor,
        lens.id,
        &EventInput {
            title: title.into(),
            kind: "workshop".into(),
            status: "confirmed".into(),
            organiser: "CCAS de Lens".into(),
            themes: String::new(),
            description: String::new(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
    )
    .await
    .unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(10);
    let s = agenda::add_session(
        &app.db,
        &actor,
        lens.id,
        e.id,
        &SessionInput {
            starts_at: start,
            ends_at: start + chrono::Duration::hours(2),
            place_id: None,
            capacity: Some(20),
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await
    .unwrap();
    (e.id, s.id)
}

/// Names and answers that a spreadsheet would run as formulas are exported
/// as text.
async fn csv_exports_neutralise_formulas(backend: Backend) {
    use maillage::domain::agenda::event::NewRegistration;
    let app = TestApp::start(backend).await;
    let (_, session) = event_session(&app, "Atelier").await;
    for name in [
        "=HYPERLINK(\"http://evil.example\";\"clic\")",
        "@SUM(1+1)",
        "Alice",
    ] {
        maillage::storage::agenda::register(
            &app.db,
            session,
            &NewRegistration {
                name: name.into(),
                email: None,
                phone: Some("+33 6 00 00 00 00".into()),
                party_size: 1,
                consent: true,
            },
            None,
            "test",
        )
        .await
        .unwrap();
    }
    let staff = app.sign_in_as("coordinator").await;
    let r = staff
        .get(&format!(
            "/admin/t/lens-lievin/seances/{session}/inscriptions.csv"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let rows = python_csv(&r.bytes().await.unwrap(), ';');
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        vec![
            "'=HYPERLINK(\"http://evil.example\";\"clic\")",
            "'@SUM(1+1)",
            "Alice"
        ]
    );
    assert!(rows[1..].iter().all(|r| r[2] == "'+33 6 00 00 00 00"));

    // A questionnaire's free answers.
    use maillage::domain::participation::{QuestionInput, QuestionKind};
    use maillage::storage::participation as part;
    let actor = maillage::storage::audit::Actor::system("test");
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    let c = part::create_consultation(
        &app.db,
        &actor,
        lens.id,
        &part::ConsultationInput {
            title: "Votre quartier".into(),
            intro: String::new(),
            opens_on: today,
            closes_on: today + chrono::Duration::days(30),
            panel_only: false,
            results_published: false,
        },
    )
    .await
    .unwrap();
    let q = part::add_question(
        &app.db,
        &actor,
        lens.id,
        c.id,
        &QuestionInput {
            kind: QuestionKind::ShortText,
            label: "Une idée ?".into(),
            help: String::new(),
            required: false,
            options: Vec::new(),
            scale_min: 1,
            scale_max: 5,
            cond_question_id: None,
            cond_option: None,
        },
    )
    .await
    .unwrap();
    part::submit_response(
        &app.db,
        c.id,
        "cle-1",
        None,
        &[(q, "-1+cmd|' /C calc'!A0".into())],
    )
    .await
    .unwrap();
    let r = staff
        .get(&format!(
            "/admin/t/lens-lievin/consultations/{}/reponses.csv",
            c.id
        ))
        .await;
    assert_eq!(r.status(), 200);
    let rows = python_csv(&r.bytes().await.unwrap(), ',');
    assert_eq!(rows[1].last().unwrap(), "'-1+cmd|' /C calc'!A0");
    app.stop().await;
}
both!(csv_exports_neutralise_formulas);

/// Post the public registration form of `event` with its hidden fields.
async fn register(
    app: &TestApp,
    c: &reqwest::Client,
    event: i64,
    session: i64,
    fields: &[(&str, &str)],
    with_stamp: bool,
) -> reqwest::Response {
    let url = app.url(&format!("/t/lens-lievin/evenements/{event}"));
    let html = c.get(&url).send().await.unwrap().text().await.unwrap();
    let mut all: Vec<(String, String)> = vec![
        ("_csrf".into(), extract_csrf(&html).unwrap()),
        ("key".into(), field(&html, "key")),
        ("session_id".into(), session.to_string()),
        ("party_size".into(), "1".into()),
        ("consent".into(), "oui".into()),
    ];
    if with_stamp {
        all.push(("_t".into(), field(&html, "_t")));
    }
    for (k, v) in fields {
        all.push(((*k).into(), (*v).into()));
    }
    c.post(format!("{url}/inscription"))
        .form(&all)
        .send()
        .await
        .unwrap()
}

/// A registration name of 200,000 characters is refused with a clear
/// message, the text typed kept; the form has the anti-spam checks and the
/// rate limit of the other public forms.
async fn public_registration_is_bounded_and_protected(backend: Backend) {
    let app = TestApp::start_with(
        backend,
        Config {
            form_min_fill_secs: 0,
            ..Default::default()
        },
    )
    .await;
    let (event, session) = event_session(&app, "Atelier mémoire").await;
    let c = app.sign_in_as("anonymous").await.client;
    let long = "Marie-".repeat(20_000);
    let r = register(
        &app,
        &c,
        event,
        session,
        &[("name", &long), ("email", "m@exemple.test")],
        true,
    )
    .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Nom : 120000 caractères, c&#39;est trop (au plus 150)")
            || body.contains("Nom : 120000 caractères, c'est trop (au plus 150)"),
        "message"
    );
    assert!(body.contains(&long), "the name typed is kept");
    // A phone number of a megabyte is not a phone number.
    let phone = "0".repeat(1_000_000);
    let r = register(
        &app,
        &c,
        event,
        session,
        &[("name", "Marie"), ("phone", &phone)],
        true,
    )
    .await;
    assert_eq!(r.status(), 422);
    // No stamp, or the honeypot filled: refused as automatic, input kept.
    let r = register(
        &app,
        &c,
        event,
        session,
        &[("name", "Robot"), ("email", "r@exemple.test")],
        false,
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("value=\"Robot\""));
    let r = register(
        &app,
        &c,
        event,
        session,
        &[
            ("name", "Robot"),
            ("email", "r@exemple.test"),
            ("site_web", "http://spam"),
        ],
        true,
    )
    .await;
    assert_eq!(r.status(), 422);
    // The rate limit per address.
    let mut statuses = Vec::new();
    for i in 0..31 {
        let name = format!("Personne {i}");
        let r = register(
            &app,
            &c,
            event,
            session,
            &[("name", &name), ("email", "p@exemple.test")],
            true,
        )
        .await;
        statuses.push(r.status().as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[30], 429);
    let regs = maillage::storage::agenda::registrations(&app.db, session)
        .await
        .unwrap();
    assert_eq!(regs.len(), 30);
    assert!(regs.iter().all(|r| r.name.chars().count() <= 150));
    app.stop().await;
}
both!(public_registration_is_bounded_and_protected);

/// Event titles are bounded in the back office too, the input kept.
#[tokio::test]
async fn event_titles_are_bounded() {
    let app = TestApp::start(Backend::Sqlite).await;
    let c = app.sign_in_as("coordinator").await;
    let title = "Atelier ".repeat(100);
    let r = c
        .post_form(
            "/admin/t/lens-lievin/evenements",
            &[
                ("title", title.as_str()),
                ("kind", "workshop"),
                ("status", "confirmed"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("(au plus 200)"), "message");
    assert!(body.contains(title.trim()), "the title typed is kept");
    app.stop().await;
}

/// The API keeps its contract: unsupported methods get 405, every error is
/// JSON with a documented status, agenda times carry their UTC offset.
#[tokio::test]
async fn api_contract() {
    let app = TestApp::start(Backend::Sqlite).await;
    let c = app.sign_in_as("anonymous").await.client;
    for (method, path) in [
        ("TRACE", "/api/v1/territories"),
        ("DELETE", "/api/v1/territories"),
        ("PUT", "/api/v1/agenda/lens-lievin/series"),
        ("TRACE", "/t/lens-lievin/"),
    ] {
        let r = c
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert!(r.headers().contains_key("allow"), "{method} {path}");
        if path.starts_with("/api/") {
            assert_eq!(r.headers()["content-type"], "application/json");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "method_not_allowed");
        }
    }
    // Rejections of the extractors and of the router are JSON too.
    for (path, status) in [
        ("/api/v1/agenda/lens-lievin/occurrences?from=a&from=b", 400),
        ("/api/v1/nothing-here", 404),
        ("/api/v1/me", 401),
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{path}"
        );
    }
    // A write without a CSRF token: a JSON 403.
    let r = c
        .post(app.url("/api/v1/contracts/lens-lievin/actions/1/status"))
        .json(&serde_json::json!({"status": "done"}))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 403 || r.status() == 401, "{}", r.status());
    assert_eq!(r.headers()["content-type"], "application/json");

    // The document lists those statuses.
    let doc: serde_json::Value = c
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = &doc["paths"]["/api/v1/me"]["get"]["responses"];
    assert!(me["401"].is_object(), "{me}");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path}");
            }
            if method == "post" {
                for s in ["400", "403", "422"] {
                    assert!(responses.contains_key(s), "{method} {path} {s}");
                }
            }
        }
    }

    // Agenda times: RFC 3339 with an offset.
    use maillage::storage::agenda::{self, NewPlace, SeriesInput};
    let actor = maillage::storage::audit::Actor::system("test");
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let place = agenda::create_place(
        &app.db,
        &actor,
        lens.id,
        &NewPlace {
            name: "Centre social".into(),
            address: "Rue".into(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let first = chrono::NaiveDate::from_ymd_opt(2030, 1, 7).unwrap();
    agenda::create_series(
        &app.db,
        &actor,
        lens.id,
        &SeriesInput {
            title: "Permanence".into(),
            mediators: String::new(),
            place_id: place.id,
            first_date: first,
            end_date: Some(chrono::NaiveDate::from_ymd_opt(2030, 8, 1).unwrap()),
            start_time: chrono::NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            end_time: chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            rrule: "FREQ=WEEKLY;BYDAY=MO".into(),
            skip_holidays: true,
            access: "walk_in".into(),
            services: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap();
    let series: serde_json::Value = c
        .get(app.url("/api/v1/agenda/lens-lievin/series"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(series[0]["dtstart"], "2030-01-07T14:00:00+01:00");
    let occ: serde_json::Value = c
        .get(app.url("/api/v1/agenda/lens-lievin/occurrences?from=2030-07-01&to=2030-07-08"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(occ[0]["start"], "2030-07-01T14:00:00+02:00");
    assert_eq!(occ[0]["end"], "2030-07-01T16:00:00+02:00");
    app.stop().await;
}

/// Registration lists go to the event's organisers and the coordinators;
/// regional staff get aggregates only.
async fn personal_data_reaches_only_who_needs_it(backend: Backend) {
    use maillage::domain::agenda::event::NewRegistration;
    let app = TestApp::start(backend).await;
    let (_, session) = event_session(&app, "Atelier").await; // organiser: CCAS de Lens
    maillage::storage::agenda::register(
        &app.db,
        session,
        &NewRegistration {
            name: "Alice".into(),
            email: Some("alice@exemple.test".into()),
            phone: None,
            party_size: 1,
            consent: true,
        },
        None,
        "test",
    )
    .await
    .unwrap();
    let pages = [
        format!("/admin/t/lens-lievin/seances/{session}/inscriptions"),
        format!("/admin/t/lens-lievin/seances/{session}/inscriptions.csv"),
        format!("/admin/t/lens-lievin/seances/{session}/inscriptions.xlsx"),
        format!("/api/v1/agenda/lens-lievin/sessions/{session}/registrations"),
    ];
    // A partner of the territory who does not organise it: refused.
    let partner = app.sign_in_as("partner").await;
    for p in &pages {
        let r = partner.get(p).await;
        assert_eq!(r.status(), 403, "partner {p}");
    }
    // Regional staff: refused, for lists and for other personal exports.
    let regional = app.sign_in_as("regional").await;
    for p in pages.iter().cloned().chain([
        "/admin/t/lens-lievin/consultations/1/reponses.csv".to_owned(),
        "/admin/t/lens-lievin/consultations/1/reponses.xlsx".to_owned(),
        "/admin/t/lens-lievin/partenaires/personnes/1/export".to_owned(),
    ]) {
        let r = regional.get(&p).await;
        assert_eq!(r.status(), 403, "regional {p}");
    }
    // Regional staff still read the territory's back office (aggregates).
    assert_eq!(
        regional.get("/admin/t/lens-lievin/agenda").await.status(),
        200
    );
    // Once the partner is the organiser's contact person, and for the
    // coordinator: the list with the e-mail.
    common::link_to_organisation(&app, "partner", "CCAS de Lens").await;
    let coordinator = app.sign_in_as("coordinator").await;
    for c in [&partner, &coordinator] {
        let r = c.get(&pages[0]).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("alice@exemple.test"));
        let r = c.get(&pages[3]).await;
        assert_eq!(r.status(), 200);
    }
    app.stop().await;
}
both!(personal_data_reaches_only_who_needs_it);

/// A token obtained in one session is refused in another, and an `Origin`
/// is compared with its scheme.
async fn csrf_tokens_are_bound_to_the_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    let visitor = app.sign_in_as("coordinator").await;
    let c = visitor.client.clone();
    let old = visitor.csrf().await;
    let r = c
        .post(app.url("/admin/deconnexion"))
        .form(&[("_csrf", old.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Signed in again in the same browser (same CSRF cookie): the token of
    // the previous session no longer works, a fresh one does.
    let r = visitor
        .post_form(
            "/admin/connexion",
            &[
                ("email", app.account("coordinator").email.as_str()),
                ("password", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let perimeter = |t: String| {
        c.post(app.url("/admin/t/lens-lievin/perimetre")).form(&[
            ("_csrf", t),
            ("mode", "communes".to_owned()),
            ("codes", "62498".to_owned()),
        ])
    };
    assert_eq!(perimeter(old.clone()).send().await.unwrap().status(), 403);
    let fresh = visitor.csrf().await;
    assert_ne!(fresh, old);
    // Same host, other scheme: refused; same origin: accepted.
    let host = app.addr.to_string();
    let r = perimeter(fresh.clone())
        .header("origin", format!("https://{host}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = perimeter(fresh)
        .header("origin", format!("http://{host}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.stop().await;
}
both!(csrf_tokens_are_bound_to_the_session);

/// Adding someone sends an invitation: the answer does not tell whether the
/// e-mail has an account, and an existing account (an admin's included)
/// gets the role only once it accepts.
async fn adding_a_person_invites_without_revealing_accounts(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.sign_in_as("coordinator").await;
    let mut answers = Vec::new();
    for email in ["admin@instance.test", "personne@nulle-part.test"] {
        let r = c
            .post_form(
                "/admin/t/lens-lievin/comptes",
                &[
                    ("email", email),
                    ("display_name", ""),
                    ("role", "coordinator"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        let start = body.find("/admin/invitation/").expect("a link");
        let link: String = body[start..].chars().take_while(|c| *c != '<').collect();
        // The page says the same thing, apart from the address and link.
        answers.push(
            body.replace(email, "X")
                .replace(&link, "L")
                .replace(&extract_csrf(&body).unwrap(), "T"),
        );
    }
    assert_eq!(
        answers[0], answers[1],
        "the answer reveals whether an account exists"
    );
    assert!(answers[0].contains("Invitation enregistrée"));
    // No account was created, no role given.
    assert!(
        maillage::storage::users::find_by_email(&app.db, "personne@nulle-part.test")
            .await
            .unwrap()
            .is_none()
    );
    let admin_id = app.account("admin").id;
    assert!(maillage::storage::users::memberships(&app.db, admin_id)
        .await
        .unwrap()
        .is_empty());
    // The admin sees the invitation on signing in, and accepts it.
    let admin = app.sign_in_as("admin").await;
    let dash = admin.text("/admin/").await;
    assert!(dash.contains("vous invite avec le rôle"));
    let start = dash.find("/admin/invitations/").unwrap();
    let action: String = dash[start..].chars().take_while(|c| *c != '"').collect();
    let r = admin.post_form(&action, &[]).await;
    assert_eq!(r.status(), 303);
    let m = maillage::storage::users::memberships(&app.db, admin_id)
        .await
        .unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].role, "coordinator");
    // Someone else cannot accept it for them.
    let other = app.sign_in_as("partner").await;
    let r = other.post_form(&action, &[]).await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}
both!(adding_a_person_invites_without_revealing_accounts);

/// Dates outside 1900–2100 and capacities over 100,000 are refused.
#[tokio::test]
async fn dates_and_capacities_are_bounded() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (event, _) = event_session(&app, "Atelier").await;
    let c = app.sign_in_as("coordinator").await;
    for (date, capacity) in [
        ("0000-01-01", "10"),
        ("9999-12-31", "10"),
        ("2030-01-01", "9223372036854775807"),
    ] {
        let r = c
            .post_form(
                &format!("/admin/t/lens-lievin/evenements/{event}/seances"),
                &[
                    ("date", date),
                    ("start", "10:00"),
                    ("end", "12:00"),
                    ("capacity", capacity),
                    ("audience", "public"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422, "{date} {capacity}");
    }
    assert!(maillage::domain::contract::parse_date("01/01/0001", "Date").is_err());
    assert!(maillage::domain::contract::parse_date("31/12/2099", "Date").is_ok());
    app.stop().await;
}
