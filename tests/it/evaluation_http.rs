//! Issue 12 on SQLite and PostgreSQL, through the real server: computed
//! indicators follow what was recorded (drop-ins held, people received,
//! registrations, presence) and cannot be typed into; the yearly review and
//! the evaluation come out in HTML, DOCX, ODT and XLSX, read back by
//! independent readers (python-docx, odfpy, openpyxl) with the figures of
//! the database; a year outside the contract is refused; rights.

use crate::common;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc};
use common::{Backend, TestApp};
use maillage::domain::agenda::attendance::AttendanceInput;
use maillage::domain::agenda::event::NewRegistration;
use maillage::domain::agenda::recurrence::Pattern;
use maillage::domain::contract::{ActionInput, ContractRaw};
use maillage::domain::indicator::IndicatorRaw;
use maillage::storage::agenda::{self, EventInput, NewPlace, SeriesInput, SessionInput};
use maillage::storage::audit::Actor;
use maillage::storage::contract::{self, Contract};
use maillage::storage::{indicators, territories, Db};
use reqwest::StatusCode;

fn actor() -> Actor {
    Actor::system("test")
}

fn paris_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

struct World {
    tid: i64,
    c: Contract,
    action: i64,
    series: i64,
    first: NaiveDate,
    /// Computed indicators: sessions held, people received,
    /// registrations, present.
    inds: [i64; 4],
}

async fn place(db: &Db, tid: i64, insee: &str) -> i64 {
    agenda::create_place(
        db,
        &actor(),
        tid,
        &NewPlace {
            name: format!("Maison des services {insee}"),
            address: "1 place de la mairie".into(),
            insee_code: insee.into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap()
    .id
}

async fn series(db: &Db, tid: i64, place_id: i64, first: NaiveDate, action: Option<i64>) -> i64 {
    agenda::create_series(
        db,
        &actor(),
        tid,
        &SeriesInput {
            title: "Permanence de la médiatrice".into(),
            mediators: "Nadia".into(),
            place_id,
            first_date: first,
            end_date: Some(first + Duration::days(365)),
            start_time: NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
            end_time: NaiveTime::from_hms_opt(0, 30, 0).unwrap(),
            rrule: Pattern::Weekly(first.weekday()).to_rrule(),
            skip_holidays: false,
            access: "walk_in".into(),
            services: String::new(),
            action_id: action,
        },
    )
    .await
    .unwrap()
    .id
}

async fn received(db: &Db, tid: i64, series: i64, on: NaiveDate, n: i64) {
    let version = agenda::get_attendance(db, tid, series, on)
        .await
        .unwrap()
        .map(|a| a.version)
        .unwrap_or(0);
    agenda::save_attendance(
        db,
        &actor(),
        tid,
        series,
        on,
        "62498",
        version,
        &AttendanceInput {
            received: n,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

async fn world(app: &TestApp) -> World {
    let db = &app.db;
    let tid = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let today = paris_today();
    let raw = ContractRaw {
        kind: "cls".into(),
        title: "CLS de Lens-Liévin".into(),
        status: "in_force".into(),
        period_start: format!("01/01/{}", today.year() - 1),
        period_end: format!("31/12/{}", today.year() + 1),
        signatories: "ARS Hauts-de-France\nCommunauté d'agglomération".into(),
        ..Default::default()
    };
    let c = contract::create(db, &actor(), tid, &raw.parse().unwrap())
        .await
        .unwrap();
    let axis = contract::add_axis(db, &actor(), &c, "Accès aux soins")
        .await
        .unwrap();
    let o = contract::add_objective(db, &actor(), &c, axis.id, "Aller vers")
        .await
        .unwrap();
    let a = contract::add_action(
        db,
        &actor(),
        &c,
        o.id,
        &ActionInput::parse("Médiation santé", "", "in_progress", "CCAS de Lens").unwrap(),
    )
    .await
    .unwrap();
    // Weekly, from four weeks ago to today: five sessions held.
    let first = today - Duration::days(28);
    let p = place(db, tid, "62498").await;
    let s = series(db, tid, p, first, Some(a.id)).await;
    received(db, tid, s, first, 4).await;
    received(db, tid, s, first + Duration::days(7), 6).await;

    // An event of the action held yesterday: 3 registered, 2 present.
    let e = agenda::create_event(
        db,
        &actor(),
        tid,
        &EventInput {
            title: "Atelier droits santé".into(),
            kind: "workshop".into(),
            status: "confirmed".into(),
            organiser: "CCAS".into(),
            themes: String::new(),
            description: String::new(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: Some(a.id),
        },
    )
    .await
    .unwrap();
    let ahead = Utc::now() + Duration::hours(2);
    let session = agenda::add_session(
        db,
        &actor(),
        tid,
        e.id,
        &SessionInput {
            starts_at: ahead,
            ends_at: ahead + Duration::hours(2),
            place_id: Some(p),
            capacity: Some(20),
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await
    .unwrap();
    for (name, party, present) in [("Amel", 2, true), ("Bruno", 1, false)] {
        let (r, _) = agenda::register(
            db,
            session.id,
            &NewRegistration {
                name: name.into(),
                email: None,
                phone: None,
                party_size: party,
                consent: true,
            },
            None,
            "test",
        )
        .await
        .unwrap();
        agenda::mark_attendance(db, &actor(), tid, r.id, present)
            .await
            .unwrap();
    }
    // Held yesterday (registrations are only taken ahead).
    let held = Utc::now() - Duration::days(1);
    maillage::db_run!(db, pool => {
        sqlx::query("UPDATE event_sessions SET starts_at = $1, ends_at = $2 WHERE id = $3")
            .bind(held)
            .bind(held + Duration::hours(2))
            .bind(session.id)
            .execute(pool)
            .await
            .unwrap();
    });

    let mut inds = [0; 4];
    for (k, metric) in [
        "dropin_sessions",
        "dropin_people",
        "registrations",
        "people_present",
    ]
    .iter()
    .enumerate()
    {
        let raw = IndicatorRaw {
            kind: "process".into(),
            label: format!("Calculé {metric}"),
            source: (*metric).into(),
            target: "100".into(),
            period_start: (first - Duration::days(1)).format("%d/%m/%Y").to_string(),
            ..Default::default()
        };
        inds[k] = indicators::create(db, &actor(), &c, Some(a.id), &raw.parse().unwrap())
            .await
            .unwrap()
            .id;
    }
    World {
        tid,
        c,
        action: a.id,
        series: s,
        first,
        inds,
    }
}

/// The last computed value of each indicator.
async fn latest(app: &TestApp, w: &World) -> Vec<f64> {
    let all = maillage::evaluation::for_action(&app.db, &w.c, w.action, paris_today())
        .await
        .unwrap();
    w.inds
        .iter()
        .map(|id| {
            let (i, ms) = all.iter().find(|(i, _)| i.id == *id).unwrap();
            assert!(i.is_computed());
            let m = ms.last().expect("a computed value");
            assert_eq!(m.source, "Maillage");
            assert_eq!(m.measured_on, paris_today().format("%Y-%m-%d").to_string());
            m.value
        })
        .collect()
}

async fn computed_indicators(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    assert_eq!(latest(&app, &w).await, vec![5.0, 10.0, 3.0, 2.0]);

    // They follow the data: a third count, a cancelled session.
    received(&app.db, w.tid, w.series, w.first + Duration::days(14), 5).await;
    agenda::set_exception(
        &app.db,
        &actor(),
        w.tid,
        w.series,
        &maillage::domain::agenda::recurrence::Exception::cancelled(
            w.first + Duration::days(21),
            "Médiatrice en formation",
        ),
    )
    .await
    .unwrap();
    assert_eq!(latest(&app, &w).await, vec![4.0, 15.0, 3.0, 2.0]);

    // Nobody types into a computed indicator: not in the form, not in the API.
    let coord = app.login("coordinator").await;
    let page = common::text_of(
        &coord,
        app.url(&format!(
            "/admin/t/lens-lievin/actions/{}/indicateurs",
            w.action
        )),
    )
    .await;
    assert!(
        page.contains("ne se saisissent pas"),
        "computed indicators say so"
    );
    assert!(
        !page.contains(&format!("/indicateurs/{}/mesures\"", w.inds[1])),
        "no measurement form for a computed indicator"
    );
    let token = common::csrf_from(&coord, &app.url("/admin/mot-de-passe")).await;
    let r = coord
        .post(app.url(&format!(
            "/admin/t/lens-lievin/indicateurs/{}/mesures",
            w.inds[1]
        )))
        .form(&[
            ("_csrf", token.as_str()),
            ("measured_on", "01/01/2026"),
            ("value", "999"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("calculé par Maillage"), "{body}");
    assert_eq!(latest(&app, &w).await[1], 15.0, "nothing typed was stored");

    // What is counted must be of the territory (a forged form).
    let other = territories::get_by_slug(&app.db, "mond-arverne")
        .await
        .unwrap()
        .unwrap()
        .id;
    let their_place = place(&app.db, other, "62510").await;
    let theirs = series(&app.db, other, their_place, w.first, None).await;
    let r = coord
        .post(app.url(&format!(
            "/admin/t/lens-lievin/actions/{}/indicateurs",
            w.action
        )))
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "process"),
            ("label", "Leurs permanences"),
            ("source", "dropin_sessions"),
            ("source_ref", &format!("series:{theirs}")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("Ce qui est compté"), "{body}");
    assert!(body.contains("Leurs permanences"), "typed values kept");
    app.stop().await;
}
both!(computed_indicators);

/// Run a Python reader on a file; its standard output.
fn python(script: &str, file: &std::path::Path) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .expect("python3 (see scripts/test.sh)");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn download(
    c: &reqwest::Client,
    url: String,
    dir: &std::path::Path,
    name: &str,
) -> std::path::PathBuf {
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    let path = dir.join(name);
    std::fs::write(&path, r.bytes().await.unwrap()).unwrap();
    path
}

async fn yearly_review_files(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let year = paris_today().year();
    let db = &app.db;
    // The database's own figures for the year.
    let (people, planned): (i64, i64) = maillage::db_run!(db, pool => {
        let people: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(received), 0) AS BIGINT) FROM dropin_attendance WHERE held_on LIKE $1",
        )
        .bind(format!("{year}-%"))
        .fetch_one(pool)
        .await
        .unwrap();
        (people, 0)
    });
    let _ = planned;
    assert!(people > 0);
    let c = app.login("coordinator").await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("/admin/t/lens-lievin/contrats/{}/rapports", w.c.id);
    let page = common::text_of(&c, app.url(&base)).await;
    assert!(page.contains(&format!("bilan-{year}.docx")), "{page}");

    let docx = download(
        &c,
        app.url(&format!("{base}/bilan-{year}.docx")),
        dir.path(),
        "b.docx",
    )
    .await;
    let out = python(
        "import sys, docx\n\
         d = docx.Document(sys.argv[1])\n\
         for p in d.paragraphs:\n\
         \x20   if p.style is not None and p.style.name.startswith('Heading'): print(p.style.name, '|', p.text)\n\
         for t in d.tables:\n\
         \x20   cells = [c.text for c in t.rows[0].cells]\n\
         \x20   print('TABLE', '|', ' / '.join(cells))\n\
         \x20   for r in t.rows:\n\
         \x20       if r.cells[0].text == 'Total': print('TOTAL', '|', ' / '.join(c.text for c in r.cells))\n",
        &docx,
    );
    assert!(out.contains("Heading 1 | Synthèse"), "{out}");
    assert!(out.contains("Heading 1 | Axe 1 — Accès aux soins"), "{out}");
    assert!(out.contains("Heading 2 | 1.1.1 — Médiation santé"), "{out}");
    assert!(out.contains("Heading 1 | Agenda et permanences"), "{out}");
    let axis_tables = out
        .lines()
        .filter(|l| l.starts_with("TABLE | Code / Fiche action"))
        .count();
    assert_eq!(axis_tables, 1, "a table per axis: {out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("TOTAL") && l.ends_with(&format!("/ {people}"))),
        "people received as in the database ({people}): {out}"
    );

    let odt = download(
        &c,
        app.url(&format!("{base}/bilan-{year}.odt")),
        dir.path(),
        "b.odt",
    )
    .await;
    let out = python(
        "import sys\n\
         from odf.opendocument import load\n\
         from odf import text, table, teletype\n\
         d = load(sys.argv[1])\n\
         for h in d.getElementsByType(text.H):\n\
         \x20   print(h.getAttribute('outlinelevel'), '|', teletype.extractText(h))\n\
         print('TABLES', len(d.getElementsByType(table.Table)))\n",
        &odt,
    );
    assert!(out.contains("1 | Synthèse"), "{out}");
    assert!(out.contains("1 | Axe 1 — Accès aux soins"), "{out}");
    assert!(out.contains("2 | 1.1.1 — Médiation santé"), "{out}");

    let xlsx = download(
        &c,
        app.url(&format!("{base}/bilan-{year}.xlsx")),
        dir.path(),
        "b.xlsx",
    )
    .await;
    let out = python(
        "import sys, openpyxl\n\
         wb = openpyxl.load_workbook(sys.argv[1])\n\
         print('SHEETS', '|', ' / '.join(wb.sheetnames))\n\
         for row in wb['Agenda'].iter_rows(values_only=True):\n\
         \x20   if row and row[0] == 'Total': print('TOTAL', '|', row[1], '|', row[2])\n",
        &xlsx,
    );
    assert!(out.contains("Synthèse"), "{out}");
    assert!(out.contains("Axe 1"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("TOTAL") && l.trim_end().ends_with(&format!("| {people}"))),
        "people received as in the database ({people}), as a number: {out}"
    );

    let r = c
        .get(app.url(&format!("{base}/bilan-{year}.html")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = r.text().await.unwrap();
    assert!(html.contains("Synthèse") && html.contains("Médiation santé"));
    assert!(html.contains("@page"), "prints on A4");

    // The evaluation covers every year.
    let ev = download(
        &c,
        app.url(&format!("{base}/evaluation.docx")),
        dir.path(),
        "e.docx",
    )
    .await;
    let out = python(
        "import sys, docx\n\
         d = docx.Document(sys.argv[1])\n\
         print([p.text for p in d.paragraphs if p.style is not None and p.style.name == 'Heading 1'])\n",
        &ev,
    );
    assert!(out.contains("Année par année"), "{out}");

    // A year outside the contract: a clear refusal.
    let r = c
        .get(app.url(&format!("{base}/bilan-{}.docx", year - 5)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("hors de la période du contrat"));

    // Rights: regional staff read, partners and another territory do not.
    for (who, expected) in [
        ("regional", StatusCode::OK),
        ("admin", StatusCode::OK),
        ("partner", StatusCode::FORBIDDEN),
        ("other_coordinator", StatusCode::FORBIDDEN),
        ("inhabitant", StatusCode::FORBIDDEN),
    ] {
        let client = app.login(who).await;
        let r = client
            .get(app.url(&format!("{base}/bilan-{year}.xlsx")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected, "{who}");
    }

    // The command line writes the same report.
    let out_file = dir.path().join("cli.xlsx");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args([
            "report",
            "--contract",
            &w.c.id.to_string(),
            "--year",
            &year.to_string(),
        ])
        .args(["--format", "xlsx", "--output"])
        .arg(&out_file)
        .env("MAILLAGE_DATABASE_URL", &app.state.config.database_url)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(std::fs::metadata(&out_file).unwrap().len() > 1000);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args([
            "report",
            "--contract",
            &w.c.id.to_string(),
            "--year",
            "1999",
        ])
        .args(["--format", "docx", "--output"])
        .arg(dir.path().join("never.docx"))
        .env("MAILLAGE_DATABASE_URL", &app.state.config.database_url)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("hors de la période"));
    assert!(!dir.path().join("never.docx").exists());
    app.stop().await;
}
both!(yearly_review_files);

/// The diagnosis' headline figures are kept per year at each computation,
/// and the yearly review shows those that changed since the previous year
/// (XLSX read by openpyxl, numbers equal to the database's); the evaluation
/// shows them year by year; the coordinator's diagnosis page lists them.
async fn diagnosis_figures_year_on_year(backend: Backend) {
    use maillage::domain::diagnosis::figures::Figure;
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let db = &app.db;
    let year = paris_today().year();

    // A computation keeps this year's figures, equal to the live ones.
    maillage::diagnosis::refresh(db).await.unwrap();
    let kept = maillage::storage::diagnosis::figures_by_year(db, w.tid)
        .await
        .unwrap();
    let live = maillage::diagnosis::headline_figures(
        &maillage::diagnosis::load(db, w.tid, false).await.unwrap(),
    );
    assert_eq!(kept.keys().copied().collect::<Vec<_>>(), [year]);
    assert_eq!(kept[&year], live);
    let population = live.iter().find(|f| f.key == "population").unwrap().value;
    assert!(population > 0.0, "{live:?}");
    let value = |key: &str| live.iter().find(|f| f.key == key).unwrap().value;
    let supply = value("supply:generalistes");

    // Last year: 120 more inhabitants and 3 more GPs; the rest unchanged.
    let mut before: Vec<Figure> = live.clone();
    for f in &mut before {
        match f.key.as_str() {
            "population" => f.value += 120.0,
            "supply:generalistes" => f.value += 3.0,
            _ => {}
        }
    }
    before.retain(|f| !f.key.starts_with("density:"));
    maillage::storage::diagnosis::save_figures(db, w.tid, year - 1, &before, Utc::now())
        .await
        .unwrap();
    // Saving a year again replaces it.
    maillage::storage::diagnosis::save_figures(db, w.tid, year - 1, &before, Utc::now())
        .await
        .unwrap();

    let c = app.login("coordinator").await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("/admin/t/lens-lievin/contrats/{}/rapports", w.c.id);
    let xlsx = download(
        &c,
        app.url(&format!("{base}/bilan-{year}.xlsx")),
        dir.path(),
        "b.xlsx",
    )
    .await;
    let out = python(
        "import sys, openpyxl\n\
         wb = openpyxl.load_workbook(sys.argv[1])\n\
         for row in wb['Diagnostic'].iter_rows(values_only=True):\n\
         \x20   print(' | '.join('' if v is None else repr(v) for v in row))\n",
        &xlsx,
    );
    let rows: Vec<&str> = out.lines().collect();
    let pop_row = format!(
        "'Population municipale' | {} | {} | '−120'",
        py_num(population + 120.0),
        py_num(population)
    );
    assert!(rows.contains(&pop_row.as_str()), "{pop_row} in:\n{out}");
    let gp = rows
        .iter()
        .find(|r| r.starts_with("'Médecins généralistes : professionnels installés'"))
        .unwrap_or_else(|| panic!("GP supply row in:\n{out}"));
    assert!(gp.ends_with("'−3'"), "{gp}");
    let expected_before = ((supply + 3.0) * 10.0).round() / 10.0;
    assert!(
        gp.contains(&py_num(expected_before)),
        "{gp} / {expected_before}"
    );
    // Densities were not kept last year: they are new this year.
    assert!(
        rows.iter()
            .any(|r| r.contains("densité pour 10 000 habitants") && r.ends_with("'nouveau'")),
        "{out}"
    );
    // Figures that did not move are not listed.
    assert!(!out.contains("Quartiers prioritaires"), "{out}");

    // The HTML review says it in words too.
    let html = common::text_of(&c, app.url(&format!("{base}/bilan-{year}.html"))).await;
    assert!(html.contains(&format!("Chiffres qui ont changé depuis {}", year - 1)));

    // The evaluation: every figure, a column per year.
    let ev = download(
        &c,
        app.url(&format!("{base}/evaluation.xlsx")),
        dir.path(),
        "e.xlsx",
    )
    .await;
    let out = python(
        "import sys, openpyxl\n\
         wb = openpyxl.load_workbook(sys.argv[1])\n\
         for row in wb['Diagnostic'].iter_rows(values_only=True):\n\
         \x20   print(' | '.join('' if v is None else repr(v) for v in row))\n",
        &ev,
    );
    assert!(
        out.contains(&format!("'Chiffre' | '{}' | '{year}'", year - 1)),
        "{out}"
    );
    assert!(out.contains("Quartiers prioritaires"), "{out}");

    // The coordinator's diagnosis page shows the years kept.
    let page = common::text_of(&c, app.url("/admin/t/lens-lievin/diagnostic")).await;
    assert!(
        page.contains("Les chiffres d&#39;une année sur l&#39;autre")
            || page.contains("Les chiffres d'une année sur l'autre")
    );
    assert!(
        page.contains(&format!(
            "<th scope=\"col\" class=\"num\">{}</th>",
            year - 1
        )),
        "{page}"
    );

    // A year without last year's figures says so instead of comparing.
    let html = common::text_of(&c, app.url(&format!("{base}/bilan-{}.html", year - 1))).await;
    assert!(
        html.contains("n&#39;ont pas été conservés") || html.contains("n'ont pas été conservés"),
        "{html}"
    );
    app.stop().await;
}
both!(diagnosis_figures_year_on_year);

/// A number as Python's `repr` prints what openpyxl read (whole numbers are
/// stored without a decimal point and read back as `int`).
fn py_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}
