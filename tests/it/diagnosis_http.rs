//! The diagnosis over HTTP on SQLite and PostgreSQL: the public page with
//! its maps and tables, the API's exact shape and figures equal to the
//! stored scores, the XLSX export read back by openpyxl, and the back
//! office (findings linked to fiches action, 422 keeping what was typed,
//! 409 showing both versions, deletion through the confirmation page,
//! thresholds), with another territory's coordinator kept out.

use crate::common;

use common::{csrf_from, Backend, TestApp};
use maillage::domain::contract::{ActionInput, ContractRaw};
use maillage::storage::audit::Actor;
use maillage::storage::{contract, territories};
use serde_json::Value;

/// The test app plus the demo's outlines and points, scores computed.
async fn app_with_diagnosis(backend: Backend) -> TestApp {
    let app = TestApp::start(backend).await;
    maillage::demo::load_maps(&app.db)
        .await
        .expect("demo outlines");
    maillage::diagnosis::refresh(&app.db)
        .await
        .expect("refresh");
    app
}

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

async fn stored_supply(app: &TestApp, code: &str, profession: &str) -> f64 {
    let rows = maillage::storage::diagnosis::access_for(&app.db, profession, &[code.to_owned()])
        .await
        .unwrap();
    rows.first().map(|r| r.supply).unwrap_or(0.0)
}

async fn page_api_and_export(backend: Backend) {
    let app = app_with_diagnosis(backend).await;
    let c = app.client();

    let v: Value = c
        .get(app.url("/api/v1/diagnostic/lens-lievin/accessibility?profession=generalistes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["profession"], "generalistes");
    assert_eq!(v["unit"], "pour 10 000 habitants");
    assert_eq!(
        v["bands"],
        serde_json::json!([[10.0, 1.0], [20.0, 0.68], [30.0, 0.22]])
    );
    assert_eq!(v["minutes_per_km"], 1.3);
    assert_eq!(v["standardised"], false);
    let communes = v["communes"].as_array().unwrap();
    let codes: Vec<&str> = communes
        .iter()
        .map(|c| c["insee"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["62498", "62510"],
        "one entry per commune of the territory"
    );
    let stored = maillage::storage::diagnosis::access_for(
        &app.db,
        "generalistes",
        &["62498".into(), "62510".into()],
    )
    .await
    .unwrap();
    for (c, s) in communes.iter().zip(&stored) {
        assert!(c["name"].as_str().is_some());
        assert!(c["population"].as_i64().unwrap() > 10_000);
        assert_eq!(c["supply"].as_f64().unwrap(), s.supply);
        let a = c["accessibility"]
            .as_f64()
            .expect("scored: the demo has points");
        assert_eq!(Some(a), s.score);
        assert!(a > 0.0, "the demo has GPs around Lens");
        assert!((50.0..51.0).contains(&c["latitude"].as_f64().unwrap()));
        assert!((2.0..3.5).contains(&c["longitude"].as_f64().unwrap()));
    }
    assert!(stored_supply(&app, "62498", "generalistes").await > 0.0);

    let bad = c
        .get(app.url("/api/v1/diagnostic/lens-lievin/accessibility?profession=sorciers"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let missing = c
        .get(app.url("/api/v1/diagnostic/nulle-part/accessibility"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let d: Value = c
        .get(app.url("/api/v1/diagnostic/lens-lievin/densities"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["departement"]["code"], "62");
    assert_eq!(d["departement"]["name"], "Pas-de-Calais");
    assert_eq!(d["region"]["name"], "Hauts-de-France");
    let profs = d["professions"].as_array().unwrap();
    assert_eq!(profs.len(), 6);
    let gp = &profs[0];
    assert_eq!(gp["profession"], "generalistes");
    let pop = d["population"].as_f64().unwrap();
    let supply = gp["supply"].as_f64().unwrap();
    assert!((gp["territory"].as_f64().unwrap() - supply * 10_000.0 / pop).abs() < 1e-9);

    let html = c
        .get(app.url("/t/lens-lievin/diagnostic"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "<h1>Diagnostic local de santé</h1>",
        "1. Population et territoire",
        "<svg class=\"map\"",
        "<title>Lens : ",
        "Densité pour 10 000 habitants",
        "Pas-de-Calais (62)",
        "Accessibilité potentielle localisée",
        "population municipale brute",
        "E2SFCA",
    ] {
        assert!(html.contains(needle), "page lacks {needle}");
    }
    let sf = c
        .get(app.url("/t/lens-lievin/diagnostic?profession=sages-femmes"))
        .send()
        .await
        .unwrap();
    assert_eq!(sf.status(), 200);
    assert!(sf
        .text()
        .await
        .unwrap()
        .contains("Accessibilité aux sages-femmes"));
    let bad = c
        .get(app.url("/t/lens-lievin/diagnostic?profession=sorciers"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let xlsx = c
        .get(app.url("/t/lens-lievin/diagnostic/tableaux.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("diagnostic.xlsx");
    std::fs::write(&path, xlsx.bytes().await.unwrap()).unwrap();
    let out = python(
        "import openpyxl,sys\nwb=openpyxl.load_workbook(sys.argv[1])\nprint('|'.join(wb.sheetnames))\nws=wb['Accès généralistes']\nprint(ws['A3'].value, repr(ws['D3'].value))\nd=wb['Densités']\nprint(d['A3'].value, repr(d['B3'].value))",
        &path,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Population|Offre de soins|Densités|Accès généralistes|Accès infirmiers|Accès kinés|Accès dentistes|Accès sages-femmes|Accès pharmacies|Communes sous le seuil|Sources"
    );
    let lens = &communes[0];
    assert_eq!(
        lines[1],
        format!(
            "{} {}",
            lens["name"].as_str().unwrap(),
            python_repr(lens["accessibility"].as_f64().unwrap())
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "Médecins généralistes {}",
            python_repr(gp["territory"].as_f64().unwrap())
        )
    );
    app.stop().await;
}
both!(page_api_and_export);

/// How Python's `repr` writes a float (shortest round-trip, like Rust's
/// `Display`, with `.0` on integers).
fn python_repr(v: f64) -> String {
    let s = v.to_string();
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

async fn one_action(app: &TestApp) -> (i64, String) {
    let db = &app.db;
    let actor = Actor::system("test");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let c = contract::create(
        db,
        &actor,
        t.id,
        &ContractRaw {
            kind: "cls".into(),
            title: "CLS de Lens-Liévin".into(),
            status: "signed".into(),
            signatories: "ARS Hauts-de-France".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let ax = contract::add_axis(db, &actor, &c, "Accès aux soins")
        .await
        .unwrap();
    let o = contract::add_objective(db, &actor, &c, ax.id, "Aller vers")
        .await
        .unwrap();
    let a = contract::add_action(
        db,
        &actor,
        &c,
        o.id,
        &ActionInput::parse("Médiateurs santé", "", "planned", "CCAS de Lens").unwrap(),
    )
    .await
    .unwrap();
    (a.id, a.code)
}

async fn findings_back_office(backend: Backend) {
    let app = app_with_diagnosis(backend).await;
    let (action_id, code) = one_action(&app).await;
    let c = app.login("coordinator").await;
    let home = app.url("/admin/t/lens-lievin/diagnostic");
    let token = csrf_from(&c, &home).await;
    let action = action_id.to_string();

    // Refused: no title. What was typed comes back.
    let resp = c
        .post(app.url("/admin/t/lens-lievin/diagnostic/constats"))
        .form(&[
            ("_csrf", token.as_str()),
            ("chapter", "offre"),
            ("title", " "),
            ("body", "Trois communes sans <b>médecin</b>."),
            ("actions", action.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Donnez un titre au constat"));
    assert!(
        html.contains("Trois communes sans &#60;b&#62;médecin&#60;/b&#62;."),
        "typed body kept, escaped"
    );
    assert!(html.contains(&format!("value=\"{action_id}\" checked")));

    let resp = c
        .post(app.url("/admin/t/lens-lievin/diagnostic/constats"))
        .form(&[
            ("_csrf", token.as_str()),
            ("chapter", "offre"),
            ("title", "Peu de généralistes au sud"),
            ("body", "Trois communes sans médecin."),
            ("actions", action.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let f = maillage::storage::diagnosis::findings(&app.db, t.id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let public = app.client();
    let page = public
        .get(app.url("/t/lens-lievin/diagnostic"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Peu de généralistes au sud"));
    assert!(page.contains(&format!("/t/lens-lievin/actions/{code}")));
    let fiche = public
        .get(app.url(&format!("/t/lens-lievin/actions/{code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fiche.contains("Constats du diagnostic"));
    assert!(fiche.contains("Peu de généralistes au sud"));
    let editor = c
        .get(app.url(&format!("/admin/t/lens-lievin/actions/{action_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(editor.contains("Constats du diagnostic reliés à cette fiche"));
    assert!(editor.contains("Peu de généralistes au sud"));

    // Stale: saved from version 0 → 409, both versions shown.
    let edit = app.url(&format!(
        "/admin/t/lens-lievin/diagnostic/constats/{}",
        f.id
    ));
    let resp = c
        .post(&edit)
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "0"),
            ("chapter", "offre"),
            ("title", "Ma version"),
            ("body", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Votre saisie (non enregistrée)") && html.contains("Ma version"));
    assert!(html.contains("value=\"Peu de généralistes au sud\""));
    let resp = c
        .post(&edit)
        .form(&[
            ("_csrf", token.as_str()),
            ("version", &f.version.to_string()),
            ("chapter", "accessibilite"),
            ("title", "Peu de généralistes au sud du territoire"),
            ("body", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(
        maillage::storage::diagnosis::findings_for_action(&app.db, action_id)
            .await
            .unwrap()
            .is_empty(),
        "no action ticked: the link is gone"
    );

    // Another territory's coordinator sees nothing of it.
    let other = app.login("other_coordinator").await;
    for url in [&edit, &home] {
        let s = other.get(url.as_str()).send().await.unwrap().status();
        assert!(s == 403 || s == 404, "{url}: {s}");
    }

    // Deleting asks first.
    let del = format!("{edit}/supprimer");
    let resp = c
        .post(&del)
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Confirmer la suppression"));
    assert_eq!(
        maillage::storage::diagnosis::findings(&app.db, t.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let resp = c
        .post(&del)
        .form(&[("_csrf", token.as_str()), ("confirme", "oui")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(maillage::storage::diagnosis::findings(&app.db, t.id)
        .await
        .unwrap()
        .is_empty());

    // Thresholds: a word is refused and kept; a number flags the communes.
    let resp = c
        .post(app.url("/admin/t/lens-lievin/diagnostic/seuils"))
        .form(&[
            ("_csrf", token.as_str()),
            ("generalistes", "beaucoup"),
            ("infirmiers", "12,5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("n&#39;est pas un nombre") || html.contains("n'est pas un nombre"));
    assert!(html.contains("value=\"beaucoup\"") && html.contains("value=\"12,5\""));
    let resp = c
        .post(app.url("/admin/t/lens-lievin/diagnostic/seuils"))
        .form(&[("_csrf", token.as_str()), ("generalistes", "100 000")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let v: Value = public
        .get(app.url("/api/v1/diagnostic/lens-lievin/accessibility"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["threshold"], 100_000.0);
    assert_eq!(v["threshold_is_national_median"], false);
    assert!(v["communes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["below_threshold"] == true));
    app.stop().await;
}
both!(findings_back_office);

/// `/region/`: the territories coloured by their contract's state over the
/// région's other communes, one path per territory; the accessibility of
/// every commune with the territories outlined; a territory without
/// outlines is named, not drawn.
async fn region_maps(backend: Backend) {
    let app = app_with_diagnosis(backend).await;
    one_action(&app).await;
    let c = app.client();
    let resp = c.get(app.url("/region/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let start = html
        .find("aria-labelledby=\"carte-territoires-t\"")
        .expect("the map");
    let map = &html[start..start + html[start..].find("</svg>").unwrap()];
    assert_eq!(
        map.matches("<a href=\"/t/lens-lievin/\"").count(),
        1,
        "one link and one path per territory"
    );
    assert!(
        map.contains(
            "<title>Communauté d&#39;agglomération de Lens-Liévin : contrat signé</title>"
        ) || map
            .contains("<title>Communauté d'agglomération de Lens-Liévin : contrat signé</title>")
    );
    assert!(
        html.contains(
            "Sans contour importé, donc absents de la carte : Mond&#39;Arverne Communauté"
        ) || html
            .contains("Sans contour importé, donc absents de la carte : Mond'Arverne Communauté")
    );
    assert!(html.contains("id=\"carte-accessibilite-t\""));
    assert!(html.contains("href=\"/t/lens-lievin/diagnostic\""));
    let pharmacies = c
        .get(app.url("/region/?profession=pharmacies"))
        .send()
        .await
        .unwrap();
    assert_eq!(pharmacies.status(), 200);
    assert!(pharmacies
        .text()
        .await
        .unwrap()
        .contains("Accessibilité aux pharmacies"));
    let bad = c
        .get(app.url("/region/?profession=sorciers"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    app.stop().await;
}
both!(region_maps);
