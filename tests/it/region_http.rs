//! The regional view over HTTP on SQLite and PostgreSQL: the roll-up of
//! every territory (what anonymous visitors, a coordinator and regional
//! staff each see; filters, sorting, CSV and XLSX read back by Python),
//! committed and spent amounts on the fiche's budget lines, the shared
//! catalogue of indicators and the comparison of territories, and the
//! open-data export of every plan.

use crate::common;

use chrono::{Datelike, Months};
use common::{csrf_from, Backend, TestApp};
use maillage::domain::budget::BudgetLineRaw;
use maillage::domain::contract::{ActionInput, ContractRaw};
use maillage::domain::indicator::{IndicatorRaw, MeasurementRaw};
use maillage::storage::audit::Actor;
use maillage::storage::contract::Contract;
use maillage::storage::{actions, contract, indicators, territories, Db};

fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

async fn exec(db: &Db, sql: &str, id: i64) {
    match db {
        Db::Sqlite(p) => {
            sqlx::query(sql).bind(id).execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(sql).bind(id).execute(p).await.unwrap();
        }
    }
}

struct World {
    lens: Contract,
    /// Lens: 1.1.1 (late, in progress) and 1.1.2 (planned).
    lens_actions: [i64; 2],
    arverne: Contract,
}

/// Lens-Liévin: a CLS in force ending in six months, two actions (one
/// late), ARS funding 12 000 € planned, 10 000 € committed, 4 000,50 €
/// spent. Mond'Arverne: an ASV in preparation, one action, ARS 5 000 €
/// planned and nothing entered since.
async fn world(app: &TestApp) -> World {
    let db = &app.db;
    let actor = Actor::system("test");
    let t = |slug: &'static str| async move {
        territories::get_by_slug(db, slug).await.unwrap().unwrap()
    };
    let ends = today().checked_add_months(Months::new(6)).unwrap();
    let lens = contract::create(
        db,
        &actor,
        t("lens-lievin").await.id,
        &ContractRaw {
            kind: "cls".into(),
            title: "CLS de Lens-Liévin".into(),
            status: "in_force".into(),
            period_start: "2023-01-01".into(),
            period_end: ends.format("%Y-%m-%d").to_string(),
            signatories: "ARS Hauts-de-France".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let ax = contract::add_axis(db, &actor, &lens, "Accès aux soins")
        .await
        .unwrap();
    let o = contract::add_objective(db, &actor, &lens, ax.id, "Aller vers")
        .await
        .unwrap();
    let mut ids = [0; 2];
    for (i, title) in ["Médiateurs santé", "Bus santé"].iter().enumerate() {
        let a = contract::add_action(
            db,
            &actor,
            &lens,
            o.id,
            &ActionInput::parse(title, "", "planned", "CCAS de Lens").unwrap(),
        )
        .await
        .unwrap();
        ids[i] = a.id;
    }
    exec(
        db,
        "UPDATE actions SET status = 'in_progress', period_end = '2020-06-30' WHERE id = $1",
        ids[0],
    )
    .await;
    let line = BudgetLineRaw {
        funder: "ARS Hauts-de-France".into(),
        year: "2026".into(),
        amount: "12 000".into(),
        committed: "10 000".into(),
        spent: "4 000,50".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    actions::add_budget_line(db, &actor, &lens, ids[0], &line)
        .await
        .unwrap();
    // Another funder: not counted as ARS funding.
    let city = BudgetLineRaw {
        funder: "Ville de Lens".into(),
        year: "2026".into(),
        amount: "999".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    actions::add_budget_line(db, &actor, &lens, ids[1], &city)
        .await
        .unwrap();

    let arverne = contract::create(
        db,
        &actor,
        t("mond-arverne").await.id,
        &ContractRaw {
            kind: "asv".into(),
            title: "ASV de Mond'Arverne".into(),
            status: "in_preparation".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let ax = contract::add_axis(db, &actor, &arverne, "Prévention")
        .await
        .unwrap();
    let o = contract::add_objective(db, &actor, &arverne, ax.id, "Dépister")
        .await
        .unwrap();
    let a = contract::add_action(
        db,
        &actor,
        &arverne,
        o.id,
        &ActionInput::parse("Dépistage itinérant", "", "planned", "Maison de santé").unwrap(),
    )
    .await
    .unwrap();
    let ars = BudgetLineRaw {
        funder: "Agence régionale de santé".into(),
        year: "2026".into(),
        amount: "5 000".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    actions::add_budget_line(db, &actor, &arverne, a.id, &ars)
        .await
        .unwrap();
    World {
        lens,
        lens_actions: ids,
        arverne,
    }
}

/// Run Python on a downloaded file: an independent reader.
fn python(script: &str, bytes: &[u8], ext: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("export.{ext}"));
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 (see scripts/test.sh)");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Everyone sees the public roll-up; funding only where they may.
async fn rollup_columns_follow_the_viewer(backend: Backend) {
    let app = TestApp::start(backend).await;
    let _w = world(&app).await;
    let year = today().year();

    let anon = app.sign_in_as("anonymous").await;
    let resp = anon.get("/region/").await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("Communauté d&#39;agglomération de Lens-Liévin</a>"),
        "{page}"
    );
    assert!(page.contains("Mond"));
    assert!(page.contains(r#"<section id="carte""#));
    assert!(
        page.contains("Se termine dans moins de 12 mois"),
        "ending soon said in words"
    );
    assert!(
        page.contains("En retard : <strong>1 sur 2 (50 %)</strong>"),
        "{page}"
    );
    assert!(page.contains("2 actions : 1 prévue, 1 en cours"), "{page}");
    assert!(page.contains("Personnes reçues : non saisi"));
    assert!(page.contains(&format!("0 tenue en {year}")));
    assert!(
        !page.contains("12\u{202f}000,00"),
        "no funding for the public"
    );
    assert!(!page.contains("Prévu :"));
    assert!(page.contains("Vue publique"));

    let regional = app.sign_in_as("regional").await;
    let page = regional.text("/region/").await;
    assert!(page.contains("Prévu : 12\u{202f}000,00\u{a0}€"), "{page}");
    assert!(page.contains("Engagé : 10\u{202f}000,00\u{a0}€"));
    assert!(page.contains("Réalisé : 4\u{202f}000,50\u{a0}€"));
    // Mond'Arverne: an ARS named in full; nothing committed yet.
    assert!(page.contains("Prévu : 5\u{202f}000,00\u{a0}€"));
    assert!(page.contains("Engagé : non saisi"));
    assert!(!page.contains("999"), "the city's line is not ARS funding");

    // A coordinator: their own territory in full, the others public.
    let coord = app.sign_in_as("coordinator").await;
    let page = coord.text("/region/").await;
    assert!(page.contains("Prévu : 12\u{202f}000,00\u{a0}€"));
    assert!(!page.contains("5\u{202f}000,00"), "{page}");
    assert!(page.contains("non communiqué"));
    let other = app.sign_in_as("other_coordinator").await;
    let page = other.text("/region/").await;
    assert!(page.contains("Prévu : 5\u{202f}000,00\u{a0}€"));
    assert!(!page.contains("12\u{202f}000,00"));

    // Filters: kind, status, département (only Lens has communes, in 62).
    let page = regional.text("/region/?type=asv").await;
    assert!(page.contains("ASV de") || page.contains("Atelier santé ville"));
    assert!(!page.contains("Se termine dans moins de 12 mois"));
    assert!(page.contains("1 territoire affiché sur 2"), "{page}");
    let page = regional.text("/region/?etat=in_force").await;
    assert!(page.contains("1 territoire affiché sur 2"));
    assert!(page.contains("Lens-Liévin"));
    let page = regional.text("/region/?departement=62").await;
    assert!(page.contains("1 territoire affiché sur 2"));
    assert!(page.contains("Département 62"));

    // Sorting by a column: links carry the filters, and the order changes.
    let page = regional.text("/region/?tri=retard&ordre=desc").await;
    let (l, m) = (
        page.find("Lens-Liévin</a>").unwrap(),
        page.find("Mond&#39;Arverne Communauté</a>").unwrap(),
    );
    assert!(l < m, "most late first");
    let page = regional.text("/region/?tri=prevu").await;
    let (l, m) = (
        page.find("Lens-Liévin</a>").unwrap(),
        page.find("Mond&#39;Arverne Communauté</a>").unwrap(),
    );
    assert!(m < l, "smallest ARS funding first");
    assert!(
        page.contains(r#"href="/region/?tri=prevu&#38;ordre=desc""#),
        "{page}"
    );
    // The public cannot sort on funding (it would reveal the order).
    let page = anon.text("/region/?tri=prevu").await;
    assert!(!page.contains("tri=prevu&#38;ordre=desc"));

    // CSV: the public columns for everyone, funding only for those who see it.
    let resp = anon.get("/region/territoires.csv").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let out = python(
        "import csv,sys\nrows=list(csv.reader(open(sys.argv[1],encoding='utf-8-sig'),delimiter=';'))\nprint(len(rows), len(rows[0]), rows[0][-1])\nfor r in rows[1:]: print(r[0], '|', r[4], '|', r[7], '|', r[10], '|', r[11], '|', r[13])",
        &bytes,
        "csv",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "3 16 Dernière mise à jour", "{out}");
    assert!(
        lines.contains(
            &"Communauté d'agglomération de Lens-Liévin | En vigueur | oui | 1 | 50 | non saisi"
        ),
        "{out}"
    );
    let resp = regional.get("/region/territoires.csv?type=cls").await;
    let out = python(
        "import csv,sys\nrows=list(csv.reader(open(sys.argv[1],encoding='utf-8-sig'),delimiter=';'))\nprint(len(rows), rows[0][16:])\nprint(rows[1][16:])",
        &resp.bytes().await.unwrap(),
        "csv",
    );
    assert_eq!(
        out,
        "2 ['ARS prévu (€)', 'ARS engagé (€)', 'ARS réalisé (€)']\n['12000,00', '10000,00', '4000,50']\n"
    );
    let resp = coord.get("/region/territoires.xlsx?tri=territoire").await;
    assert_eq!(resp.status(), 200);
    let out = python(
        "import openpyxl,sys\nws=openpyxl.load_workbook(sys.argv[1])['Territoires']\nfor r in ws.iter_rows(min_row=2, values_only=True): print(r[0][:4], r[8], r[11], r[16], r[17])",
        &resp.bytes().await.unwrap(),
        "xlsx",
    );
    assert_eq!(
        out,
        "Comm 2 50 12000 10000\nMond 1 0 non communiqué non communiqué\n"
    );
    app.stop().await;
}
both!(rollup_columns_follow_the_viewer);

/// Committed and spent amounts beside the planned one, on the fiche.
async fn budget_lines_carry_committed_and_spent(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let a = w.lens_actions[1];
    let c = app.login("coordinator").await;
    let page_url = app.url(&format!("/admin/t/lens-lievin/actions/{a}/budget"));
    let token = csrf_from(&c, &page_url).await;
    // A wrong amount is refused with what was typed kept.
    let resp = c
        .post(app.url(&format!("/admin/t/lens-lievin/actions/{a}/budget")))
        .form(&[
            ("_csrf", token.as_str()),
            ("funder", "ARS Hauts-de-France"),
            ("year", "2026"),
            ("amount", "3 000"),
            ("committed", "-20"),
            ("spent", "mille"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("Montant engagé : « -20 » est négatif"),
        "{page}"
    );
    assert!(
        page.contains("Montant réalisé : « mille » n&#39;est pas un montant")
            || page.contains("Montant réalisé : « mille » n'est pas un montant"),
        "{page}"
    );
    assert!(page.contains(r#"value="mille""#));
    let resp = c
        .post(app.url(&format!("/admin/t/lens-lievin/actions/{a}/budget")))
        .form(&[
            ("_csrf", token.as_str()),
            ("funder", "ARS Hauts-de-France"),
            ("year", "2026"),
            ("amount", "3 000"),
            ("committed", "2 500"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let page = common::text_of(&c, &page_url).await;
    assert!(page.contains("<th scope=\"col\">Engagé</th>"));
    assert!(page.contains("2\u{202f}500,00\u{a0}€"), "{page}");
    assert!(page.contains("non saisi"), "spent not entered yet");
    let rel = actions::related(&app.db, w.lens.id).await.unwrap();
    let line = rel
        .budget_of(a)
        .iter()
        .find(|b| b.amount_cents == 300_000)
        .unwrap()
        .clone();
    assert_eq!(
        (line.committed_cents, line.spent_cents),
        (Some(250_000), None)
    );

    // Amounts of an existing line: refused, then saved.
    let set = |committed: &'static str, spent: &'static str| {
        let c = c.clone();
        let token = token.clone();
        let url = app.url(&format!("/admin/t/lens-lievin/actions/{a}/budget/montants"));
        let id = line.id.to_string();
        async move {
            c.post(url)
                .form(&[
                    ("_csrf", token.as_str()),
                    ("line", id.as_str()),
                    ("committed", committed),
                    ("spent", spent),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let resp = set("2 500", "12,345").await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Montant réalisé"), "{page}");
    assert!(page.contains(r#"value="12,345""#), "typed value kept");
    let resp = set("2 800", "1 200,10").await;
    assert_eq!(resp.status(), 303);
    let rel = actions::related(&app.db, w.lens.id).await.unwrap();
    let saved = rel.budget_of(a).iter().find(|b| b.id == line.id).unwrap();
    assert_eq!(
        (saved.committed_cents, saved.spent_cents),
        (Some(280_000), Some(120_010))
    );
    // Emptied again: not entered.
    assert_eq!(set("", "").await.status(), 303);
    let rel = actions::related(&app.db, w.lens.id).await.unwrap();
    let saved = rel.budget_of(a).iter().find(|b| b.id == line.id).unwrap();
    assert_eq!((saved.committed_cents, saved.spent_cents), (None, None));

    // Another territory's coordinator may not touch it; regional staff read only.
    for who in ["other_coordinator", "regional"] {
        let o = app.login(who).await;
        let t = csrf_from(&o, &app.url("/admin/mot-de-passe")).await;
        let resp = o
            .post(app.url(&format!("/admin/t/lens-lievin/actions/{a}/budget/montants")))
            .form(&[
                ("_csrf", t.as_str()),
                ("line", &line.id.to_string()),
                ("committed", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{who}");
    }
    // A line of another contract through this action's address: not found.
    let arverne_line = actions::related(&app.db, w.arverne.id).await.unwrap();
    let foreign = arverne_line.budget.values().flatten().next().unwrap().id;
    let resp = c
        .post(app.url(&format!("/admin/t/lens-lievin/actions/{a}/budget/montants")))
        .form(&[
            ("_csrf", token.as_str()),
            ("line", &foreign.to_string()),
            ("committed", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    app.stop().await;
}
both!(budget_lines_carry_committed_and_spent);

/// Regional staff keep the catalogue; a territory's indicator follows an
/// entry; the region compares territories on it, year by year.
async fn shared_catalogue_and_comparison(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let regional = app.login("regional").await;
    let token = csrf_from(&regional, &app.url("/region/indicateurs/nouveau")).await;
    let resp = regional
        .post(app.url("/region/indicateurs"))
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "result"),
            ("label", "Personnes accompagnées"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains(r#"value="Personnes accompagnées""#));
    assert!(page.contains("Unité"));
    let resp = regional
        .post(app.url("/region/indicateurs"))
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "result"),
            ("label", "Personnes accompagnées"),
            ("unit", "personnes"),
            (
                "definition",
                "Personnes distinctes accompagnées dans l'année civile.",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let to = resp.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = to.rsplit('/').next().unwrap().parse().unwrap();

    // Coordinators read the catalogue but do not write it.
    let coord = app.login("coordinator").await;
    let ct = csrf_from(&coord, &app.url("/admin/mot-de-passe")).await;
    let resp = coord
        .post(app.url("/region/indicateurs"))
        .form(&[
            ("_csrf", ct.as_str()),
            ("kind", "result"),
            ("label", "X"),
            ("unit", "x"),
            ("definition", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let list = common::text_of(&app.client(), app.url("/region/indicateurs")).await;
    assert!(list.contains("Personnes accompagnées"));
    assert!(list.contains("0 indicateur de territoire"));

    // Edit with a stale version: 409 with both versions.
    let resp = regional
        .post(app.url(&format!("/region/indicateurs/{id}")))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "1"),
            ("kind", "result"),
            ("label", "Personnes accompagnées (file active)"),
            ("unit", "personnes"),
            ("definition", "File active."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let resp = regional
        .post(app.url(&format!("/region/indicateurs/{id}")))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "1"),
            ("kind", "result"),
            ("label", "Autre intitulé"),
            ("unit", "personnes"),
            ("definition", "Autre."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Version enregistrée entre-temps"));
    assert!(page.contains("Personnes accompagnées (file active)"));
    assert!(page.contains(r#"value="Autre intitulé""#));
    assert!(page.contains(r#"name="version" value="2""#));

    // A territory indicator follows it, through the contract's indicator form.
    let form = common::text_of(
        &coord,
        app.url(&format!("/admin/t/lens-lievin/contrats/{}", w.lens.id)),
    )
    .await;
    assert!(
        form.contains(&format!(
            r#"<option value="{id}">Personnes accompagnées (file active) (personnes)</option>"#
        )),
        "{form}"
    );
    let resp = coord
        .post(app.url(&format!(
            "/admin/t/lens-lievin/contrats/{}/indicateurs",
            w.lens.id
        )))
        .form(&[
            ("_csrf", ct.as_str()),
            ("kind", "result"),
            ("label", "File active des médiateurs"),
            ("unit", "personnes"),
            ("shared", &id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let resp = coord
        .post(app.url(&format!(
            "/admin/t/lens-lievin/contrats/{}/indicateurs",
            w.lens.id
        )))
        .form(&[
            ("_csrf", ct.as_str()),
            ("kind", "result"),
            ("label", "Mauvais"),
            ("shared", "n'importe"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let actor = Actor::system("test");
    let inds = indicators::for_contract(&app.db, w.lens.id).await.unwrap();
    let lens_ind = inds
        .iter()
        .find(|i| i.shared_indicator_id == Some(id))
        .unwrap()
        .clone();
    let year = today().year();
    for (on, v) in [
        (format!("{year}-02-01"), "40"),
        (format!("{year}-03-01"), "52"),
        (format!("{}-12-31", year - 1), "30"),
    ] {
        let m = MeasurementRaw {
            measured_on: on,
            value: v.into(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        indicators::add_measurement(&app.db, &actor, &w.lens, &lens_ind, &m)
            .await
            .unwrap();
    }
    // Mond'Arverne follows it too, through an action's indicator.
    let arverne_action = contract::plan(&app.db, w.arverne.id).await.unwrap().actions[0].id;
    let input = IndicatorRaw {
        kind: "result".into(),
        label: "Personnes dépistées".into(),
        unit: "personnes".into(),
        shared: id.to_string(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    let ai = indicators::create(&app.db, &actor, &w.arverne, Some(arverne_action), &input)
        .await
        .unwrap();
    let m = MeasurementRaw {
        measured_on: format!("{year}-01-15"),
        value: "17".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    indicators::add_measurement(&app.db, &actor, &w.arverne, &ai, &m)
        .await
        .unwrap();

    let anon = app.client();
    let page = common::text_of(&anon, app.url(&format!("/region/indicateurs/{id}"))).await;
    assert!(page.contains(&format!("Les territoires en {year}")));
    assert!(
        page.contains("52 personnes"),
        "the last measurement of the year: {page}"
    );
    assert!(!page.contains("40 personnes"));
    assert!(page.contains("17 personnes"));
    assert!(page.contains(r#"role="img""#));
    assert!(page.contains("<title id=\"comparaison-t\">"));
    let page = common::text_of(
        &anon,
        app.url(&format!("/region/indicateurs/{id}?annee={}", year - 1)),
    )
    .await;
    assert!(page.contains("30 personnes"));
    assert!(page.contains(&format!("pas de mesure en {}", year - 1)));
    let resp = anon
        .get(app.url(&format!("/region/indicateurs/{id}?annee=1850")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);

    // Deleting asks first, then unlinks the territories' indicators.
    let resp = regional
        .post(app.url(&format!("/region/indicateurs/{id}/supprimer")))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("confirme"));
    let resp = regional
        .post(app.url(&format!("/region/indicateurs/{id}/supprimer")))
        .form(&[("_csrf", token.as_str()), ("confirme", "oui")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let inds = indicators::for_contract(&app.db, w.lens.id).await.unwrap();
    let kept = inds.iter().find(|i| i.id == lens_ind.id).unwrap();
    assert_eq!(kept.shared_indicator_id, None);
    assert_eq!(
        anon.get(app.url(&format!("/region/indicateurs/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}
both!(shared_catalogue_and_comparison);

/// Every plan in one file, public fields only, in three formats.
async fn open_data_exports(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    // A lead person: never exported.
    exec(
        &app.db,
        "UPDATE actions SET publics = 'Habitants des QPV' WHERE id = $1",
        w.lens_actions[0],
    )
    .await;
    let anon = app.client();
    let resp = anon
        .get(app.url("/donnees/plans.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let json: serde_json::Value = resp.json().await.unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let first = &rows[0];
    assert_eq!(first["territory_slug"], "lens-lievin");
    assert_eq!(first["action_code"], "1.1.1");
    assert_eq!(first["contract_kind"], "cls");
    assert_eq!(first["status"], "in_progress");
    assert_eq!(first["budget_cents"], 1_200_000);
    assert_eq!(first["publics"], "Habitants des QPV");
    assert_eq!(first["lead"], "CCAS de Lens");
    assert!(first.get("lead_person").is_none());
    let text = serde_json::to_string(&json).unwrap();
    assert!(!text.contains("committed"), "no execution amounts");
    assert_eq!(rows[2]["territory_slug"], "mond-arverne");

    let resp = anon
        .get(app.url("/donnees/plans.csv"))
        .send()
        .await
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let out = python(
        "import csv,sys\nrows=list(csv.reader(open(sys.argv[1],encoding='utf-8-sig'),delimiter=';'))\nprint(len(rows), len(rows[0]), rows[0][0], rows[0][-1])\nprint(rows[1][10], rows[1][18], rows[1][19], rows[1][4])",
        &bytes,
        "csv",
    );
    assert_eq!(
        out,
        "4 25 territoire_id mise_a_jour\n1.1.1 12000,00 En cours Contrat local de santé\n"
    );
    let resp = anon
        .get(app.url("/donnees/plans.xlsx"))
        .send()
        .await
        .unwrap();
    let out = python(
        "import openpyxl,sys\nws=openpyxl.load_workbook(sys.argv[1])[\"Plans d'action\"]\nprint(ws.max_row, ws['K2'].value, ws['S2'].value, ws['U2'].value)",
        &resp.bytes().await.unwrap(),
        "xlsx",
    );
    assert_eq!(out, "4 1.1.1 12000 0\n");

    // Documented in the OpenAPI document and in docs/open-data.md.
    let doc: serde_json::Value = anon
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/donnees/plans.json"]["get"].is_object());
    assert!(doc["components"]["schemas"]["OpenPlanRow"].is_object());
    let md =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/open-data.md")).unwrap();
    for h in maillage::web::region::opendata::HEADERS {
        assert!(
            md.contains(&format!("`{h}`")),
            "docs/open-data.md describes {h}"
        );
    }
    app.stop().await;
}
both!(open_data_exports);

/// Drop-ins held this year: the series' dates from January 1st to today,
/// cancelled ones left out, future ones not counted.
async fn dropins_held_are_this_years_past_dates(backend: Backend) {
    use maillage::domain::agenda::recurrence::Exception;
    use maillage::storage::agenda::{self, NewPlace, SeriesInput};
    let app = TestApp::start(backend).await;
    let actor = Actor::system("test");
    let tid = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let place = agenda::create_place(
        &app.db,
        &actor,
        tid,
        &NewPlace {
            name: "Maison de quartier".into(),
            address: String::new(),
            insee_code: "62498".into(),
            access_notes: String::new(),
            phone: String::new(),
        },
    )
    .await
    .unwrap();
    let today = today();
    let series = agenda::create_series(
        &app.db,
        &actor,
        tid,
        &SeriesInput {
            title: "Permanence quotidienne".into(),
            mediators: String::new(),
            place_id: place.id,
            first_date: chrono::NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap(),
            end_date: Some(today + chrono::Days::new(30)),
            start_time: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end_time: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
            rrule: "FREQ=DAILY".into(),
            skip_holidays: false,
            access: "walk_in".into(),
            services: String::new(),
            action_id: None,
        },
    )
    .await
    .unwrap();
    let mut cancelled = 0;
    for d in [
        chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(),
        today + chrono::Days::new(3),
    ] {
        agenda::set_exception(
            &app.db,
            &actor,
            tid,
            series.id,
            &Exception::cancelled(d, "Fermé"),
        )
        .await
        .unwrap();
        if d <= today {
            cancelled += 1;
        }
    }
    let rollup = maillage::region::load(&app.db, today).await.unwrap();
    let lens = rollup
        .rows
        .iter()
        .find(|r| r.slug == "lens-lievin")
        .unwrap();
    assert_eq!(lens.dropins_held, today.ordinal() as usize - cancelled);
    let page = app.sign_in_as("anonymous").await.text("/region/").await;
    assert!(page.contains(&format!("{} tenue", lens.dropins_held)));
    app.stop().await;
}
both!(dropins_held_are_this_years_past_dates);

/// The new routes are in the registry the authorization matrix walks, with
/// the access this issue gives them.
async fn region_routes_declare_their_access(backend: Backend) {
    use maillage::domain::roles::Role;
    use maillage::web::access::Access;
    let app = TestApp::start(backend).await;
    let specs = maillage::web::routes(app.state.clone()).specs;
    let access = |method: &str, path: &str| {
        specs
            .iter()
            .find(|s| s.method.as_str() == method && s.path == path)
            .map(|s| s.access)
            .unwrap_or_else(|| panic!("{method} {path} not declared"))
    };
    for p in [
        "/region/",
        "/region/territoires.csv",
        "/region/territoires.xlsx",
        "/region/indicateurs",
        "/region/indicateurs/{id}",
        "/donnees/plans.csv",
        "/donnees/plans.xlsx",
        "/donnees/plans.json",
    ] {
        assert_eq!(access("GET", p), Access::Public, "{p}");
    }
    for (m, p) in [
        ("GET", "/region/indicateurs/nouveau"),
        ("POST", "/region/indicateurs"),
        ("GET", "/region/indicateurs/{id}/modifier"),
        ("POST", "/region/indicateurs/{id}"),
        ("POST", "/region/indicateurs/{id}/supprimer"),
    ] {
        assert_eq!(access(m, p), Access::Regional, "{m} {p}");
    }
    assert_eq!(
        access("POST", "/admin/t/{territory}/actions/{id}/budget/montants"),
        Access::Territory(Role::Partner)
    );
    app.stop().await;
}
both!(region_routes_declare_their_access);
