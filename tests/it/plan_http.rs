//! The action plan over HTTP on SQLite and PostgreSQL: the whole fiche form
//! (422 keeping what was typed, 409 showing both versions), partners editing
//! only what they lead, budget and indicators with their charts, documents
//! (type and size checked), the partner directory's RGPD export and erasure,
//! exports read by Python (csv, openpyxl) and the API.

use crate::common;

use common::{csrf_from, Backend, TestApp};
use maillage::domain::contract::{ActionInput, ContractRaw};
use maillage::storage::audit::Actor;
use maillage::storage::contract::Contract;
use maillage::storage::{contract, partners, territories};

struct Plan {
    c: Contract,
    /// 1.1.1 and 1.1.2
    a: [i64; 2],
    /// The lead organisation of both (CCAS de Lens) and another one.
    orgs: [i64; 2],
}

async fn plan(app: &TestApp) -> Plan {
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
    let a1 = contract::add_action(
        db,
        &actor,
        &c,
        o.id,
        &ActionInput::parse("Médiateurs santé", "", "planned", "CCAS de Lens").unwrap(),
    )
    .await
    .unwrap();
    let a2 = contract::add_action(
        db,
        &actor,
        &c,
        o.id,
        &ActionInput::parse("Bus santé", "", "planned", "CCAS de Lens").unwrap(),
    )
    .await
    .unwrap();
    let other = partners::create_organisation(
        db,
        &actor,
        t.id,
        &maillage::domain::partners::OrganisationRaw {
            name: "Association Espoir".into(),
            kind: "association".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    Plan {
        c,
        a: [a1.id, a2.id],
        orgs: [a1.lead_org_id.unwrap(), other.id],
    }
}

fn fiche<'a>(token: &'a str, version: &'a str, p: &'a [String; 2]) -> Vec<(&'static str, &'a str)> {
    vec![
        ("_csrf", token),
        ("version", version),
        ("title", "Médiateurs santé <script>alert(1)</script>"),
        ("findings", "Un habitant sur quatre renonce à des soins."),
        ("aims", "Accompagner 150 personnes."),
        ("description", "Permanences dans les centres sociaux."),
        ("publics", "Habitants des quartiers prioritaires"),
        ("status", "in_progress"),
        ("progress", "40"),
        ("period_start", "01/01/2025"),
        ("period_end", "31/12/2026"),
        ("lead_org_id", &p[0]),
        ("partners", &p[1]),
        ("themes", "acces_soins"),
        ("themes", "precarite"),
        ("own_themes", "Mobilité"),
        ("scope", "commune:62498"),
        ("scope", "qpv:QN06202M"),
        ("links", "1.1.2"),
        ("steps", "[x] 15/01/2025 Recrutement\n30/06/2026 Bilan"),
    ]
}

async fn the_whole_fiche(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let token = csrf_from(&c, &url).await;
    let ids = [p.orgs[0].to_string(), p.orgs[1].to_string()];

    // Dates out of order and a progress of 140 %: refused, everything kept.
    let mut bad = fiche(&token, "1", &ids);
    bad.retain(|(k, _)| *k != "period_end" && *k != "progress");
    bad.push(("period_end", "31/12/2024"));
    bad.push(("progress", "140"));
    let resp = c.post(&url).form(&bad).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Fin de l&#39;action : elle doit suivre le début")
            || html.contains("Fin de l'action : elle doit suivre le début"),
        "{html}"
    );
    assert!(html.contains("pourcentage entre 0 et 100"));
    assert!(html.contains("value=\"31/12/2024\""));
    assert!(html.contains("Un habitant sur quatre renonce à des soins."));
    assert!(html.contains("[x] 15/01/2025 Recrutement"));
    assert!(html.contains(&format!(
        "name=\"partners\" value=\"{}\" checked",
        p.orgs[1]
    )));
    assert!(html.contains("value=\"qpv:QN06202M\" checked"));
    assert!(!html.contains("<script>alert(1)</script>"));

    // A link to an action that does not exist: named in the message.
    let mut bad = fiche(&token, "1", &ids);
    bad.retain(|(k, _)| *k != "links");
    bad.push(("links", "4.4.4"));
    let resp = c.post(&url).form(&bad).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("« 4.4.4 »"));

    // Good.
    let resp = c
        .post(&url)
        .form(&fiche(&token, "1", &ids))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());

    // Someone saved first (version 1 is stale now): 409, both versions shown.
    let mut stale = fiche(&token, "1", &ids);
    stale.retain(|(k, _)| *k != "title");
    stale.push(("title", "Ma version à moi"));
    let resp = c.post(&url).form(&stale).send().await.unwrap();
    assert_eq!(resp.status(), 409);
    let html = resp.text().await.unwrap();
    assert!(html.contains("value=\"Ma version à moi\""));
    assert!(html.contains("Médiateurs santé &#60;script&#62;"));

    // The public page: everything, escaped, printable, no personal data.
    let html = app
        .client()
        .get(app.url("/t/lens-lievin/actions/1.1.1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for s in [
        "Médiateurs santé &#60;script&#62;alert(1)&#60;/script&#62;",
        "Un habitant sur quatre renonce à des soins.",
        "<span class=\"tag tag-in_progress\">En cours</span> · avancement 40 %",
        "du 01/01/2025 au 31/12/2026",
        "CCAS de Lens",
        "Association Espoir",
        "Accès aux soins et aux droits, Précarité et isolement, Mobilité",
        "Lens, Quartier prioritaire Résidence Calonne - Marichelles",
        "15/01/2025 : Recrutement <strong>(fait)</strong>",
        "href=\"/t/lens-lievin/actions/1.1.2\"",
        "Prévue (0 %)",
        "En cours (40 %)",
    ] {
        assert!(html.contains(s), "public page lacks {s}");
    }
    assert!(!html.contains("<script>alert(1)"));
    // The linked action links back.
    let html = app
        .client()
        .get(app.url("/t/lens-lievin/actions/1.1.2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("href=\"/t/lens-lievin/actions/1.1.1\""));

    // The history shows on the back-office page too.
    let html = common::text_of(&c, format!("{url}/suivi")).await;
    assert!(html.contains("Fiche 1.1.1 modifiée : En cours, 40 %"));

    // The filtered list.
    let list = app.url(&format!(
        "/admin/t/lens-lievin/contrats/{}/plan?theme=precarite",
        p.c.id
    ));
    let html = common::text_of(&c, &list).await;
    assert!(html.contains("1 action sur 2"), "{html}");
    let html = common::text_of(&c, format!("{list}&status=done")).await;
    assert!(html.contains("0 action sur 2"));
    app.stop().await;
}
both!(the_whole_fiche);

async fn partners_edit_only_what_they_lead(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let url0 = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let url1 = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[1]));
    let partner = app.login("partner").await;
    assert_eq!(partner.get(&url0).send().await.unwrap().status(), 403);

    // The coordinator names the partner's person as lead of 1.1.1.
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let person = partners::create_person(
        &app.db,
        &Actor::system("test"),
        t.id,
        &maillage::domain::partners::PersonRaw {
            full_name: "Nadia Partenaire".into(),
            account_email: "partner@lens.test".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let coord = app.login("coordinator").await;
    let token = csrf_from(&coord, &url0).await;
    let ids = [p.orgs[0].to_string(), p.orgs[1].to_string()];
    let pid = person.id.to_string();
    let mut f = fiche(&token, "1", &ids);
    f.push(("lead_person_id", &pid));
    assert_eq!(
        coord.post(&url0).form(&f).send().await.unwrap().status(),
        303
    );

    // The partner's dashboard lists what it leads.
    let dash = common::text_of(&partner, app.url("/admin/t/lens-lievin/")).await;
    assert!(dash.contains("Les actions que vous pilotez"));
    assert!(dash.contains(&format!("/admin/t/lens-lievin/actions/{}", p.a[0])));
    assert!(!dash.contains(&format!("/admin/t/lens-lievin/actions/{}\"", p.a[1])));

    // Now the partner edits 1.1.1 (but cannot renumber it), not 1.1.2.
    let token = csrf_from(&partner, &url0).await;
    let mut f = fiche(&token, "2", &ids);
    f.push(("lead_person_id", &pid));
    f.push(("code", "7.7.7"));
    f.retain(|(k, _)| *k != "progress");
    f.push(("progress", "60"));
    let resp = partner.post(&url0).form(&f).send().await.unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let (_, a) = maillage::storage::actions::get(&app.db, t.id, p.a[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.code.as_str(), a.progress), ("1.1.1", 60));
    assert_eq!(partner.get(&url1).send().await.unwrap().status(), 403);
    let resp = partner
        .post(&url1)
        .form(&fiche(&token, "1", &ids))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = partner
        .post(format!("{url1}/budget"))
        .form(&[
            ("_csrf", token.as_str()),
            ("funder", "X"),
            ("year", "2025"),
            ("amount", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // The change is in the history, under the partner's name.
    let trail = maillage::storage::audit::for_entity(&app.db, "action", &p.a[0].to_string(), 10)
        .await
        .unwrap();
    assert!(
        trail[0].actor.contains("partner@lens.test"),
        "{:?}",
        trail[0]
    );

    // Regional staff read a fiche, and write nothing.
    let regional = app.login("regional").await;
    assert_eq!(regional.get(&url0).send().await.unwrap().status(), 200);
    let rtoken = csrf_from(&regional, &url0).await;
    let resp = regional
        .post(&url0)
        .form(&fiche(&rtoken, "3", &ids))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Another territory's coordinator sees nothing of it.
    let other = app.login("other_coordinator").await;
    for path in [
        format!("/admin/t/lens-lievin/actions/{}", p.a[0]),
        format!("/admin/t/lens-lievin/contrats/{}/plan", p.c.id),
        format!("/admin/t/lens-lievin/contrats/{}/plan.csv", p.c.id),
        "/admin/t/lens-lievin/partenaires".to_owned(),
        format!(
            "/admin/t/lens-lievin/partenaires/personnes/{}/export",
            person.id
        ),
    ] {
        let resp = other.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 403, "{path}");
        assert!(!resp.text().await.unwrap().contains("Nadia"));
    }
    // And its own territory has no such action.
    let resp = other
        .get(app.url(&format!("/admin/t/mond-arverne/actions/{}", p.a[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    app.stop().await;
}
both!(partners_edit_only_what_they_lead);

async fn budget_and_indicators(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let token = csrf_from(&c, &url).await;
    for (amount, msg) in [
        ("-1500", "négatif"),
        ("mille euros", "n&#39;est pas un montant"),
    ] {
        let resp = c
            .post(format!("{url}/budget"))
            .form(&[
                ("_csrf", token.as_str()),
                ("funder", "ARS Hauts-de-France"),
                ("year", "2025"),
                ("amount", amount),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(msg) || html.contains(&msg.replace("&#39;", "'")),
            "{amount}: {html}"
        );
        assert!(
            html.contains(&format!("value=\"{amount}\"")),
            "typed amount kept"
        );
        assert!(html.contains("value=\"ARS Hauts-de-France\""));
    }
    for (funder, amount) in [
        ("ARS Hauts-de-France", "12 000"),
        ("Ville de Lens", "3 500,50"),
    ] {
        let resp = c
            .post(format!("{url}/budget"))
            .form(&[
                ("_csrf", token.as_str()),
                ("funder", funder),
                ("year", "2025"),
                ("amount", amount),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
    }

    // A target without a unit.
    let ind = |unit: &'static str| {
        vec![
            ("_csrf", token.clone()),
            ("kind", "result".to_owned()),
            ("label", "Personnes accompagnées".to_owned()),
            ("unit", unit.to_owned()),
            ("baseline", "0".to_owned()),
            ("target", "150".to_owned()),
            ("target_on", "31/12/2026".to_owned()),
        ]
    };
    let resp = c
        .post(format!("{url}/indicateurs"))
        .form(&ind(""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Unité : obligatoire quand une cible est fixée"));
    assert!(html.contains("value=\"Personnes accompagnées\""));
    assert_eq!(
        c.post(format!("{url}/indicateurs"))
            .form(&ind("personnes"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let inds = maillage::storage::indicators::for_action(&app.db, p.a[0])
        .await
        .unwrap();
    let mid = app.url(&format!(
        "/admin/t/lens-lievin/indicateurs/{}/mesures",
        inds[0].0.id
    ));
    let resp = c
        .post(&mid)
        .form(&[
            ("_csrf", token.as_str()),
            ("measured_on", "31/12/2025"),
            ("value", "beaucoup"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("value=\"beaucoup\""));
    for (d, v) in [("30/06/2025", "35"), ("31/12/2025", "80,5")] {
        let resp = c
            .post(&mid)
            .form(&[
                ("_csrf", token.as_str()),
                ("measured_on", d),
                ("value", v),
                ("source", "Bilan <b>CCAS</b>"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
    }

    let html = app
        .client()
        .get(app.url("/t/lens-lievin/actions/1.1.1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Financements (total 15\u{202f}500,50\u{a0}€)"),
        "{html}"
    );
    assert!(html.contains("<svg"));
    assert!(html.contains("stroke-dasharray"), "target line");
    assert!(html.contains("role=\"img\""));
    assert!(html.contains(
        "35 personnes au 30/06/2025, 80,5 personnes au 31/12/2025 ; cible 150 personnes"
    ));
    assert!(html.contains("Bilan &#60;b&#62;CCAS&#60;/b&#62;"));
    assert!(!html.contains("<b>CCAS"));

    // A contract-level indicator from the contract page.
    let curl = app.url(&format!("/admin/t/lens-lievin/contrats/{}", p.c.id));
    let resp = c
        .post(format!("{curl}/indicateurs"))
        .form(&ind("%"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = app
        .client()
        .get(app.url(&format!("/t/lens-lievin/contrat/{}", p.c.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Indicateurs du contrat"));
    app.stop().await;
}
both!(budget_and_indicators);

async fn documents(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = maillage::config::Config {
        document_limit: 4096,
        document_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let curl = app.url(&format!("/admin/t/lens-lievin/contrats/{}", p.c.id));
    let token = csrf_from(&c, &curl).await;
    let upload = |name: &'static str, bytes: Vec<u8>, public: bool| {
        let mut form = reqwest::multipart::Form::new()
            .text("title", "Contrat signé")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        if public {
            form = form.text("public", "on");
        }
        c.post(format!("{curl}/documents?_csrf={token}"))
            .multipart(form)
    };
    // A web page renamed .pdf, a program, a file too big, a PDF named .docx.
    for (name, bytes, msg) in [
        (
            "contrat.pdf",
            b"<html><script>alert(1)</script>".to_vec(),
            "n&#39;est ni un PDF",
        ),
        ("setup.exe", b"MZ\x90\x00".to_vec(), "n&#39;est ni un PDF"),
        (
            "gros.pdf",
            [b"%PDF-1.4\n".to_vec(), vec![b'x'; 5000]].concat(),
            "trop volumineux",
        ),
        (
            "contrat.docx",
            b"%PDF-1.4\n".to_vec(),
            "ne finit pas par .pdf",
        ),
    ] {
        let resp = upload(name, bytes, true).send().await.unwrap();
        assert_eq!(resp.status(), 422, "{name}");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(msg) || html.contains(&msg.replace("&#39;", "'")),
            "{name}: {html}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let pdf = b"%PDF-1.4\n% contrat\n".to_vec();
    assert_eq!(
        upload("contrat.pdf", pdf.clone(), true)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        upload("brouillon.pdf", pdf.clone(), false)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    let docs = maillage::storage::documents::for_contract(&app.db, p.c.id)
        .await
        .unwrap();
    let (public, private) = (docs[0].id, docs[1].id);
    let anon = app.client();
    let resp = anon
        .get(app.url(&format!("/t/lens-lievin/documents/{public}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(
        anon.get(app.url(&format!("/t/lens-lievin/documents/{private}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(app.url(&format!("/admin/t/lens-lievin/documents/{private}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let html = common::text_of(
        &anon,
        app.url(&format!("/t/lens-lievin/contrat/{}", p.c.id)),
    )
    .await;
    assert!(html.contains(&format!("/t/lens-lievin/documents/{public}")));
    assert!(!html.contains(&format!("/t/lens-lievin/documents/{private}")));
    // Without the token: refused.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf).file_name("x.pdf"),
    );
    assert_eq!(
        c.post(format!("{curl}/documents"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let resp = c
        .post(app.url(&format!(
            "/admin/t/lens-lievin/documents/{private}/supprimer"
        )))
        .form(&[("confirme", "oui"), ("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    app.stop().await;
}
both!(documents);

async fn people_and_rgpd(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let url = app.url("/admin/t/lens-lievin/partenaires/personnes");
    let token = csrf_from(&c, &app.url("/admin/t/lens-lievin/partenaires")).await;
    let form = |consent: &'static str| {
        vec![
            ("_csrf", token.clone()),
            ("full_name", "Awa Diallo".to_owned()),
            ("job_title", "Médiatrice santé".to_owned()),
            ("email", "awa@example.org".to_owned()),
            ("phone", "03 21 00 00 00".to_owned()),
            ("consent_on", consent.to_owned()),
        ]
    };
    let resp = c.post(&url).form(&form("")).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("obligatoire pour garder une adresse"));
    assert!(html.contains("value=\"awa@example.org\""));
    assert_eq!(
        c.post(&url)
            .form(&form("02/09/2025"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let person = &partners::people(&app.db, t.id).await.unwrap()[0];
    let resp = c
        .get(format!("{url}/{}/export", person.id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".json"));
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["person"]["email"], "awa@example.org");
    assert_eq!(json["person"]["consent_on"], "2025-09-02");
    // Organisations: a duplicate name is refused with the typed values kept.
    let orgs = app.url("/admin/t/lens-lievin/partenaires");
    let org = [
        ("_csrf", token.as_str()),
        ("name", "CPAM de l'Artois"),
        ("kind", "cpam"),
        ("siret", ""),
    ];
    assert_eq!(c.post(&orgs).form(&org).send().await.unwrap().status(), 303);
    let resp = c.post(&orgs).form(&org).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("existe déjà"));
    // Erasure.
    let resp = c
        .post(format!("{url}/{}/effacer", person.id))
        .form(&[("confirme", "oui"), ("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(partners::people(&app.db, t.id).await.unwrap().is_empty());
    assert_eq!(
        c.get(format!("{url}/{}/export", person.id))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}
both!(people_and_rgpd);

/// Run Python's csv and openpyxl on the exports: an independent reader.
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

async fn exports_read_by_python(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let token = csrf_from(&c, &url).await;
    let resp = c
        .post(format!("{url}/budget"))
        .form(&[
            ("_csrf", token.as_str()),
            ("funder", "ARS"),
            ("year", "2025"),
            ("amount", "1 234,5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let dir = tempfile::tempdir().unwrap();
    let base = format!("/admin/t/lens-lievin/contrats/{}/plan", p.c.id);

    let csv = c.get(app.url(&format!("{base}.csv"))).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let path = dir.path().join("plan.csv");
    std::fs::write(&path, csv.bytes().await.unwrap()).unwrap();
    let out = python(
        "import csv,sys\nrows=list(csv.reader(open(sys.argv[1],encoding='utf-8-sig'),delimiter=';'))\nprint(len(rows)); print('|'.join(rows[0][:4])); print('|'.join(rows[1][2:5])+'|'+rows[1][13])",
        &path,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "3",
            "Axe|Objectif|Code|Action",
            "1.1.1|Médiateurs santé|Prévue|1234,50"
        ]
    );

    let xlsx = c
        .get(app.url(&format!("{base}.xlsx?status=planned")))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    let path = dir.path().join("plan.xlsx");
    std::fs::write(&path, xlsx.bytes().await.unwrap()).unwrap();
    let out = python(
        "import openpyxl,sys\nwb=openpyxl.load_workbook(sys.argv[1])\nprint(wb.sheetnames)\nws=wb['Plan d\\'action']\nprint(ws.max_row, ws['C2'].value, ws['D3'].value, ws['N2'].value, ws['F2'].value)\nb=wb['Budget']\nprint(b['A2'].value, b['B2'].value, b['C2'].value, b['D2'].value)",
        &path,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "[\"Plan d'action\", 'Indicateurs', 'Budget']");
    assert_eq!(lines[1], "3 1.1.1 Bus santé 1234.5 0");
    assert_eq!(lines[2], "1.1.1 ARS 2025 1234.5");
    app.stop().await;
}
both!(exports_read_by_python);

async fn api(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let anon = app.client();
    let list: serde_json::Value = anon
        .get(app.url("/api/v1/contracts/lens-lievin"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["title"], "CLS de Lens-Liévin");
    let plan_json: serde_json::Value = anon
        .get(app.url(&format!("/api/v1/contracts/lens-lievin/{}", p.c.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        plan_json["axes"][0]["objectives"][0]["actions"][1]["code"],
        "1.1.2"
    );

    // A lead person without consent to publish: no contact in the API.
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let person = partners::create_person(
        &app.db,
        &Actor::system("test"),
        t.id,
        &maillage::domain::partners::PersonRaw {
            full_name: "Nadia Partenaire".into(),
            email: "nadia@example.org".into(),
            consent_on: "01/01/2025".into(),
            account_email: "partner@lens.test".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let f = maillage::domain::contract::FicheRaw {
        title: "Médiateurs santé".into(),
        status: "planned".into(),
        lead_person_id: person.id.to_string(),
        lead_org_id: p.orgs[0].to_string(),
        ..Default::default()
    };
    maillage::storage::actions::save_fiche(
        &app.db,
        &Actor::system("test"),
        &p.c,
        p.a[0],
        1,
        &f.parse().unwrap(),
    )
    .await
    .unwrap();
    let body = common::text_of(
        &anon,
        app.url("/api/v1/contracts/lens-lievin/actions/1.1.1"),
    )
    .await;
    let action: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(action["lead_contact"], serde_json::Value::Null);
    assert!(!body.contains("nadia@example.org"));
    assert_eq!(action["version"], 2);
    let html = common::text_of(&anon, app.url("/t/lens-lievin/actions/1.1.1")).await;
    assert!(!html.contains("Nadia"));
    // Once she agrees to publish it, her contact shows (another URL: the
    // anonymous page above may sit in the 2 s micro-cache).
    let mut consented = maillage::domain::partners::PersonRaw {
        full_name: "Nadia Partenaire".into(),
        email: "nadia@example.org".into(),
        consent_on: "01/01/2025".into(),
        account_email: "partner@lens.test".into(),
        public_contact: "on".into(),
        ..Default::default()
    }
    .parse()
    .unwrap();
    consented.job_title = "Médiatrice".into();
    partners::update_person(
        &app.db,
        &Actor::system("test"),
        t.id,
        person.id,
        person.version,
        &consented,
    )
    .await
    .unwrap();
    let html = common::text_of(
        &anon,
        app.url("/t/lens-lievin/actions/1.1.1?apres-consentement"),
    )
    .await;
    assert!(html.contains("Nadia Partenaire, Médiatrice"));
    assert!(html.contains("mailto:nadia@example.org"));
    let action: serde_json::Value = anon
        .get(app.url("/api/v1/contracts/lens-lievin/actions/1.1.1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(action["lead_contact"]["email"], "nadia@example.org");

    // Writes: the lead partner records a measurement and a status.
    let ind = maillage::storage::indicators::create(
        &app.db,
        &Actor::system("test"),
        &p.c,
        Some(p.a[0]),
        &maillage::domain::indicator::IndicatorRaw {
            kind: "process".into(),
            label: "Permanences tenues".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let partner = app.login("partner").await;
    let token = csrf_from(
        &partner,
        &app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0])),
    )
    .await;
    let murl = app.url(&format!(
        "/api/v1/contracts/lens-lievin/indicators/{}/measurements",
        ind.id
    ));
    let resp = partner
        .post(&murl)
        .header("X-CSRF-Token", &token)
        .json(&serde_json::json!({"measured_on": "2025-12-31", "value": "12,5", "source": "registre"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = partner
        .post(&murl)
        .header("X-CSRF-Token", &token)
        .json(&serde_json::json!({"measured_on": "demain", "value": "x"}))
        .send()
        .await
        .unwrap();
    // Well-formed JSON, refused values: 422, as documented.
    assert_eq!(resp.status(), 422);
    // Without the CSRF token: refused.
    let resp = partner
        .post(&murl)
        .json(&serde_json::json!({"measured_on": "2025-12-31", "value": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let surl = app.url(&format!(
        "/api/v1/contracts/lens-lievin/actions/{}/status",
        p.a[0]
    ));
    let resp = partner
        .post(&surl)
        .header("X-CSRF-Token", &token)
        .json(&serde_json::json!({"status": "in_progress", "progress": 20, "version": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = partner
        .post(&surl)
        .header("X-CSRF-Token", &token)
        .json(&serde_json::json!({"status": "done", "progress": 100, "version": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    // Not the lead of 1.1.2.
    let resp = partner
        .post(app.url(&format!(
            "/api/v1/contracts/lens-lievin/actions/{}/status",
            p.a[1]
        )))
        .header("X-CSRF-Token", &token)
        .json(&serde_json::json!({"status": "done", "progress": 100, "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let inds: serde_json::Value = anon
        .get(app.url(&format!(
            "/api/v1/contracts/lens-lievin/{}/indicators",
            p.c.id
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inds[0]["measurements"][0]["value"], 12.5);
    assert_eq!(inds[0]["action"], "1.1.1");
    app.stop().await;
}
both!(api);

async fn plan_editing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let curl = app.url(&format!("/admin/t/lens-lievin/contrats/{}", p.c.id));
    let token = csrf_from(&c, &curl).await;
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    // The signatories joined the partner directory, the ARS as such.
    let orgs = partners::organisations(&app.db, t.id).await.unwrap();
    let ars = orgs
        .iter()
        .find(|o| o.name == "ARS Hauts-de-France")
        .expect("ARS in the directory");
    assert_eq!(ars.kind, "ars");

    // A code that clashes with another action's: 422 naming it, nothing saved.
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let ids = [p.orgs[0].to_string(), p.orgs[1].to_string()];
    let mut f = fiche(&token, "1", &ids);
    f.retain(|(k, _)| *k != "links");
    f.push(("code", "1.1.2"));
    let resp = c.post(&url).form(&f).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Code : « 1.1.2 » est déjà utilisé dans ce contrat"),
        "{html}"
    );
    assert!(html.contains("value=\"1.1.2\""));
    let (_, a) = maillage::storage::actions::get(&app.db, t.id, p.a[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.code.as_str(), a.version), ("1.1.1", 1));

    // Rename an axis; an empty title is refused.
    let plan_now = contract::plan(&app.db, p.c.id).await.unwrap();
    let item = format!("axis:{}", plan_now.axes[0].id);
    let resp = c
        .post(format!("{curl}/renommer"))
        .form(&[("_csrf", token.as_str()), ("item", &item), ("title", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = c
        .post(format!("{curl}/renommer"))
        .form(&[
            ("_csrf", token.as_str()),
            ("item", &item),
            ("title", "Accès aux droits et aux soins"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = app
        .client()
        .get(app.url(&format!("/t/lens-lievin/contrat/{}", p.c.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Axe 1 : Accès aux droits et aux soins"));

    // Move 1.1.2 up on a signed contract: the order changes, the codes stay.
    let resp = c
        .post(format!("{curl}/ordre"))
        .form(&[
            ("_csrf", token.as_str()),
            ("level", "action"),
            ("id", &p.a[1].to_string()),
            ("direction", "up"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = app
        .client()
        .get(app.url(&format!("/t/lens-lievin/contrat/{}", p.c.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (bus, med) = (
        html.find("Bus santé").unwrap(),
        html.find("Médiateurs santé").unwrap(),
    );
    assert!(bus < med, "moved up");
    assert!(html.contains("<td data-label=\"Code\">1.1.2</td><td data-label=\"Action\"><a href=\"/t/lens-lievin/actions/1.1.2\">Bus santé"));
    assert_eq!(
        c.post(format!("{curl}/renumeroter"))
            .form(&[("_csrf", token.as_str())])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let html = app
        .client()
        .get(app.url("/t/lens-lievin/actions/1.1.1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Action 1.1.1 : Bus santé"));

    // Milestones: add, refuse a bad date, remove.
    let resp = c
        .post(format!("{curl}/etapes"))
        .form(&[
            ("_csrf", token.as_str()),
            ("happened_on", "31/02/2024"),
            ("label", "Comité de pilotage"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = c
        .post(format!("{curl}/etapes"))
        .form(&[
            ("_csrf", token.as_str()),
            ("happened_on", "20/06/2024"),
            ("label", "Comité de pilotage"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let m = contract::milestones(&app.db, p.c.id).await.unwrap();
    let resp = c
        .post(format!("{curl}/etapes/supprimer"))
        .form(&[
            ("confirme", "oui"),
            ("_csrf", token.as_str()),
            ("milestone", &m[0].id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(contract::milestones(&app.db, p.c.id)
        .await
        .unwrap()
        .is_empty());

    // An indicator removed with its measurements.
    let resp = c
        .post(format!("{curl}/indicateurs"))
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "impact"),
            ("label", "Renoncement aux soins"),
            ("unit", "%"),
            ("target", "15"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let ind = maillage::storage::indicators::for_contract(&app.db, p.c.id)
        .await
        .unwrap()[0]
        .id;
    let resp = c
        .post(app.url(&format!("/admin/t/lens-lievin/indicateurs/{ind}/supprimer")))
        .form(&[("confirme", "oui"), ("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(maillage::storage::indicators::for_contract(&app.db, p.c.id)
        .await
        .unwrap()
        .is_empty());
    // A partner who leads nothing cannot remove an indicator.
    let partner = app.login("partner").await;
    let ptoken = csrf_from(&partner, &app.url("/admin/mot-de-passe")).await;
    let resp = c
        .post(format!("{curl}/indicateurs"))
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "impact"),
            ("label", "Autre"),
            ("unit", "%"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let ind = maillage::storage::indicators::for_contract(&app.db, p.c.id)
        .await
        .unwrap()[0]
        .id;
    let resp = partner
        .post(app.url(&format!("/admin/t/lens-lievin/indicateurs/{ind}/supprimer")))
        .form(&[("confirme", "oui"), ("_csrf", ptoken.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    app.stop().await;
}
both!(plan_editing);

/// What the bodies decided and the ideas that led to an action show on its
/// fiche; a follow-up is marked done by the lead partner or the coordinator.
async fn participation_on_the_fiche(backend: Backend) {
    use maillage::domain::participation::{
        BodyInput, BodyKind, IdeaInput, IdeaStatus, MeetingInput,
    };
    use maillage::storage::participation as part;
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let actor = Actor::system("test");
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let body = part::create_body(
        &app.db,
        &actor,
        t.id,
        &BodyInput {
            kind: BodyKind::SteeringCommittee,
            name: "Comité de pilotage".into(),
            theme: String::new(),
            purpose: String::new(),
            capacity: None,
            open: false,
        },
    )
    .await
    .unwrap();
    let meeting = |public: bool| MeetingInput {
        title: if public {
            "Réunion publique".into()
        } else {
            "Comité restreint".into()
        },
        starts_at: chrono::Utc::now(),
        place: "Mairie".into(),
        online_link: String::new(),
        agenda: String::new(),
        minutes: String::new(),
        public,
    };
    let open_meeting = part::create_meeting(&app.db, &actor, t.id, body.id, &meeting(true))
        .await
        .unwrap();
    let closed_meeting = part::create_meeting(&app.db, &actor, t.id, body.id, &meeting(false))
        .await
        .unwrap();
    let decision = |text: &str| part::DecisionInput {
        text: text.into(),
        follow_up: "Trouver une salle".into(),
        owner: "CCAS".into(),
        due_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 31),
        action_id: Some(p.a[0]),
    };
    let public_decision = part::add_decision(
        &app.db,
        &actor,
        t.id,
        open_meeting.id,
        &decision("Ouvrir une permanence le samedi"),
    )
    .await
    .unwrap();
    part::add_decision(
        &app.db,
        &actor,
        t.id,
        closed_meeting.id,
        &decision("Budget confidentiel"),
    )
    .await
    .unwrap();
    let idea = part::create_idea(
        &app.db,
        t.id,
        &IdeaInput {
            kind: "idea".into(),
            text: "Une permanence au marché".into(),
            theme: String::new(),
            insee_code: String::new(),
            contact_name: String::new(),
            contact_email: String::new(),
            consent: false,
        },
    )
    .await
    .unwrap();
    part::moderate_idea(
        &app.db,
        &actor,
        t.id,
        idea,
        1,
        &part::Moderation {
            status: IdeaStatus::Published,
            reason: String::new(),
            merged_into: None,
            answer: "Merci, c'est lancé.".into(),
            action_id: Some(p.a[0]),
        },
    )
    .await
    .unwrap();

    let html = app
        .client()
        .get(app.url("/t/lens-lievin/actions/1.1.1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Une permanence au marché"));
    assert!(
        html.contains("Ouvrir une permanence le samedi : Trouver une salle (pour le 31/03/2026)")
    );
    assert!(
        !html.contains("Budget confidentiel"),
        "closed meetings stay in the back office"
    );

    // The back office shows both; the partner who does not lead cannot tick.
    let c = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let html = common::text_of(&c, format!("{url}/suivi")).await;
    assert!(html.contains("Budget confidentiel"));
    let partner = app.login("partner").await;
    let ptoken = csrf_from(&partner, &app.url("/admin/mot-de-passe")).await;
    let done = app.url(&format!("/admin/t/lens-lievin/suites/{public_decision}"));
    let r = partner
        .post(&done)
        .form(&[("_csrf", ptoken.as_str()), ("done", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let other = app.login("other_coordinator").await;
    let otoken = csrf_from(&other, &app.url("/admin/mot-de-passe")).await;
    let r = other
        .post(app.url(&format!("/admin/t/mond-arverne/suites/{public_decision}")))
        .form(&[("_csrf", otoken.as_str()), ("done", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another territory's decision");
    let token = csrf_from(&c, &url).await;
    let r = c
        .post(&done)
        .form(&[("_csrf", token.as_str()), ("done", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = app
        .client()
        .get(app.url("/t/lens-lievin/actions/1.1.1?apres"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("(pour le 31/03/2026) <strong>(fait)</strong>"),
        "{html}"
    );
    let trail = maillage::storage::audit::for_entity(&app.db, "action", &p.a[0].to_string(), 5)
        .await
        .unwrap();
    assert!(trail[0].details.contains("faite"));
    app.stop().await;
}
both!(participation_on_the_fiche);

async fn indicator_definition_edited(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let token = csrf_from(&c, &url).await;
    let resp = c
        .post(format!("{url}/indicateurs"))
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "result"),
            ("label", "Personnes vues"),
            ("unit", "personnes"),
            ("target", "1 500"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let ind = maillage::storage::indicators::for_action(&app.db, p.a[0])
        .await
        .unwrap()[0]
        .0
        .clone();
    let eurl = app.url(&format!("/admin/t/lens-lievin/indicateurs/{}", ind.id));
    // The form shows the stored definition, French numbers included.
    let html = common::text_of(&c, format!("{url}/indicateurs")).await;
    assert!(
        html.contains(&format!(
            "id=\"e{}_target\" name=\"target\" value=\"1\u{202f}500\"",
            ind.id
        )),
        "{html}"
    );
    // A target without a unit: refused on this indicator's form, typed values kept.
    let resp = c
        .post(&eurl)
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "result"),
            ("label", "Personnes reçues"),
            ("unit", ""),
            ("target", "2000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Unité : obligatoire quand une cible est fixée"));
    assert!(html.contains(&format!(
        "id=\"e{}_label\" name=\"label\" value=\"Personnes reçues\"",
        ind.id
    )));
    assert!(html.contains("<details open>"));
    let resp = c
        .post(&eurl)
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "impact"),
            ("label", "Personnes reçues"),
            ("unit", "personnes"),
            ("target", "2000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let after = maillage::storage::indicators::for_action(&app.db, p.a[0])
        .await
        .unwrap()[0]
        .0
        .clone();
    assert_eq!(
        (after.kind.as_str(), after.label.as_str(), after.target),
        ("impact", "Personnes reçues", Some(2000.0))
    );
    // A partner who does not lead the action cannot change it.
    let partner = app.login("partner").await;
    let ptoken = csrf_from(&partner, &app.url("/admin/mot-de-passe")).await;
    let resp = partner
        .post(&eurl)
        .form(&[
            ("_csrf", ptoken.as_str()),
            ("kind", "result"),
            ("label", "Piraté"),
            ("unit", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    app.stop().await;
}
both!(indicator_definition_edited);

/// The forms of a page (`<form …>…</form>`), in order.
fn forms_of(html: &str) -> Vec<&str> {
    html.split("<form")
        .skip(1)
        .map(|f| f.split("</form>").next().unwrap_or(f))
        .collect()
}

/// The fiche's section pages linked from its first page (the page itself
/// first).
fn section_pages(html: &str, base: &str, path: &str) -> Vec<String> {
    let mut pages = vec![base.to_owned()];
    let marker = format!("href=\"{path}/");
    for part in html.split(&marker).skip(1) {
        let section = part.split('"').next().unwrap_or("");
        let page = format!("{base}/{section}");
        if !section.is_empty() && !section.contains('#') && !pages.contains(&page) {
            pages.push(page);
        }
    }
    pages
}

/// Issue 10: the title was edited, then « Ajouter la mesure » clicked: a
/// browser sends only the clicked form, so the title was silently lost.
/// Now no page holds the fiche's own fields beside the measurement form,
/// each section saves only its fields, and the other sections are kept.
async fn a_typed_title_is_never_lost(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let path = format!("/admin/t/lens-lievin/actions/{}", p.a[0]);
    let url = app.url(&path);
    let token = csrf_from(&c, &url).await;
    let ids = [p.orgs[0].to_string(), p.orgs[1].to_string()];
    let resp = c
        .post(&url)
        .form(&fiche(&token, "1", &ids))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let resp = c
        .post(format!("{url}/indicateurs"))
        .form(&[
            ("_csrf", token.as_str()),
            ("kind", "result"),
            ("label", "Personnes vues"),
            ("unit", "personnes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // Every page of the fiche: the measurement form never shares a page
    // with the fiche's title field.
    let first = common::text_of(&c, &url).await;
    let mut measured_on_page = None;
    for page in section_pages(&first, &url, &path) {
        let html = common::text_of(&c, &page).await;
        let forms = forms_of(&html);
        let measure = forms.iter().any(|f| f.contains("Ajouter la mesure"));
        let title = forms
            .iter()
            .any(|f| f.contains("id=\"title\" name=\"title\""));
        assert!(
            !(measure && title),
            "{page}: the title would be lost by « Ajouter la mesure »"
        );
        if measure {
            measured_on_page = Some(page);
        }
    }
    assert!(measured_on_page.is_some(), "no page to add a measurement");

    // The title alone, from its section: saved, the other sections kept.
    let resp = c
        .post(format!("{url}?partie=presentation"))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "2"),
            ("title", "Médiateurs santé de proximité"),
            ("findings", "Un habitant sur quatre renonce à des soins."),
            ("aims", "Accompagner 150 personnes."),
            ("description", "Permanences dans les centres sociaux."),
            ("status", "in_progress"),
            ("progress", "50"),
            ("links", "1.1.2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let ind = maillage::storage::indicators::for_action(&app.db, p.a[0])
        .await
        .unwrap()[0]
        .0
        .clone();
    let resp = c
        .post(app.url(&format!(
            "/admin/t/lens-lievin/indicateurs/{}/mesures",
            ind.id
        )))
        .form(&[
            ("_csrf", token.as_str()),
            ("measured_on", "01/06/2025"),
            ("value", "12"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let (_, a) = maillage::storage::actions::get(&app.db, t.id, p.a[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.title.as_str(), a.progress, a.lead_org_id),
        ("Médiateurs santé de proximité", 50, Some(p.orgs[0]))
    );
    assert_eq!(a.publics, "Habitants des quartiers prioritaires");
    assert_eq!(a.period_end.as_deref(), Some("2026-12-31"));
    let rel = maillage::storage::actions::related(&app.db, p.c.id)
        .await
        .unwrap();
    assert_eq!(rel.partners_of(a.id).len(), 1);
    assert_eq!(rel.themes_of(a.id).len(), 3);
    assert_eq!(rel.scope_of(a.id).len(), 2);
    assert_eq!(rel.steps_of(a.id).len(), 2);
    assert_eq!(rel.links_of(a.id).len(), 1);

    // A section refused keeps what was typed there, 422.
    let resp = c
        .post(format!("{url}?partie=calendrier"))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "3"),
            ("period_start", "01/01/2026"),
            ("period_end", "31/12/2025"),
            ("steps", "30/06/2026 Bilan"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("value=\"31/12/2025\""));
    // A stale section: 409, what was typed kept.
    let resp = c
        .post(format!("{url}?partie=presentation"))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "2"),
            ("title", "Une version périmée"),
            ("status", "in_progress"),
            ("progress", "50"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("value=\"Une version périmée\""));
    app.stop().await;
}
both!(a_typed_title_is_never_lost);

/// Issue 10: in the fiche editor a checkbox could land in another column
/// than its label (partners, themes, communes). Each checkbox is now inside
/// its label, tied to its first word.
async fn checkboxes_stay_with_their_labels(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    for part in ["pilotage", "themes", "territoire"] {
        let html = common::text_of(&c, format!("{url}/{part}")).await;
        let boxes = html.matches("<input type=\"checkbox\"").count();
        assert!(boxes > 1, "{part}: {boxes} checkboxes");
        assert_eq!(
            html.matches("<label class=\"check\"><input type=\"checkbox\"")
                .count(),
            boxes,
            "{part}: a checkbox outside its label"
        );
        assert!(!html.contains(">\n<label") && !html.contains("> <label for="));
    }
    app.stop().await;
}
both!(checkboxes_stay_with_their_labels);

/// Issue 10, item 4: a lead partner's change to budget lines, targets or
/// the lead is a proposal; the coordinator accepts (applied) or refuses
/// with a reason the partner reads; nobody else decides.
async fn partners_propose_coordinators_decide(backend: Backend) {
    use maillage::storage::{actions, indicators, proposals};
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let person = partners::create_person(
        &app.db,
        &Actor::system("test"),
        t.id,
        &maillage::domain::partners::PersonRaw {
            full_name: "Nadia Partenaire".into(),
            account_email: "partner@lens.test".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap();
    let coord = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let token = csrf_from(&coord, &url).await;
    let ids = [p.orgs[0].to_string(), p.orgs[1].to_string()];
    let pid = person.id.to_string();
    let mut f = fiche(&token, "1", &ids);
    f.push(("lead_person_id", &pid));
    assert_eq!(
        coord.post(&url).form(&f).send().await.unwrap().status(),
        303
    );
    let partner = app.login("partner").await;
    let ptoken = csrf_from(&partner, &url).await;
    let decide =
        |id: i64, what: &str| app.url(&format!("/admin/t/lens-lievin/propositions/{id}/{what}"));

    // A budget line from the partner: proposed, not applied.
    let resp = partner
        .post(format!("{url}/budget"))
        .form(&[
            ("_csrf", ptoken.as_str()),
            ("funder", "ARS Hauts-de-France"),
            ("year", "2025"),
            ("amount", "12 000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let budget = |rel: &actions::Related| rel.budget_of(p.a[0]).to_vec();
    let rel = actions::related(&app.db, p.c.id).await.unwrap();
    assert!(budget(&rel).is_empty(), "a proposal is not applied");
    let props = proposals::for_action(&app.db, p.a[0]).await.unwrap();
    assert_eq!(props.len(), 1);
    assert!(props[0].is_pending());
    let first = props[0].id;
    let html = common::text_of(&partner, format!("{url}/budget")).await;
    assert!(html.contains("Ajouter le financement ARS Hauts-de-France 2025"));
    assert!(html.contains("en attente de la coordination"));

    // The partner cannot accept its own proposal.
    let resp = partner
        .post(decide(first, "accepter"))
        .form(&[("_csrf", ptoken.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // Another territory's coordinator sees nothing of it.
    let other = app.login("other_coordinator").await;
    let otoken = csrf_from(&other, &app.url("/admin/mot-de-passe")).await;
    let resp = other
        .post(app.url(&format!(
            "/admin/t/mond-arverne/propositions/{first}/accepter"
        )))
        .form(&[("_csrf", otoken.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let html = common::text_of(&other, app.url("/admin/t/mond-arverne/propositions")).await;
    assert!(html.contains("Aucune proposition en attente"));
    assert!(!html.contains("ARS Hauts-de-France"));
    let resp = other
        .get(app.url("/admin/t/lens-lievin/propositions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let rel = actions::related(&app.db, p.c.id).await.unwrap();
    assert!(budget(&rel).is_empty());

    // The coordinator sees it on the list and on the fiche, and accepts.
    let list = common::text_of(&coord, app.url("/admin/t/lens-lievin/propositions")).await;
    assert!(list.contains("Ajouter le financement ARS Hauts-de-France 2025"));
    let html = common::text_of(&coord, &url).await;
    assert!(html.contains(&format!("/propositions/{first}/accepter")));
    let resp = coord
        .post(decide(first, "accepter"))
        .form(&[("_csrf", token.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let rel = actions::related(&app.db, p.c.id).await.unwrap();
    let lines = budget(&rel);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].funder.as_str(), lines[0].amount_cents),
        ("ARS Hauts-de-France", 1_200_000)
    );
    // Decided once: a second click is refused, nothing applied twice.
    let resp = coord
        .post(decide(first, "accepter"))
        .form(&[("_csrf", token.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let rel = actions::related(&app.db, p.c.id).await.unwrap();
    assert_eq!(budget(&rel).len(), 1);
    let trail = maillage::storage::audit::for_entity(&app.db, "action", &p.a[0].to_string(), 20)
        .await
        .unwrap();
    assert!(trail.iter().any(|e| e
        .details
        .contains(&format!("Proposition n° {first} acceptée"))));

    // A target: an indicator without one is the partner's; its target is proposed.
    let resp = partner
        .post(format!("{url}/indicateurs"))
        .form(&[
            ("_csrf", ptoken.as_str()),
            ("kind", "result"),
            ("label", "Personnes vues"),
            ("unit", "personnes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let ind = indicators::for_action(&app.db, p.a[0]).await.unwrap()[0]
        .0
        .clone();
    let resp = partner
        .post(app.url(&format!("/admin/t/lens-lievin/indicateurs/{}", ind.id)))
        .form(&[
            ("_csrf", ptoken.as_str()),
            ("kind", "result"),
            ("label", "Personnes vues"),
            ("unit", "personnes"),
            ("target", "150"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let target = indicators::for_action(&app.db, p.a[0]).await.unwrap()[0]
        .0
        .target;
    assert_eq!(target, None, "a proposed target is not applied");
    let second = proposals::for_action(&app.db, p.a[0]).await.unwrap()[0].clone();
    assert!(second.is_pending() && second.kind == "indicator");
    // A refusal needs a reason; then nothing changes and the partner reads it.
    let resp = coord
        .post(decide(second.id, "refuser"))
        .form(&[("_csrf", token.as_str()), ("version", "1"), ("reason", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let reason = "La cible est fixée par le comité de pilotage.";
    let resp = coord
        .post(decide(second.id, "refuser"))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "1"),
            ("reason", reason),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let target = indicators::for_action(&app.db, p.a[0]).await.unwrap()[0]
        .0
        .target;
    assert_eq!(target, None);
    let html = common::text_of(&partner, &url).await;
    assert!(html.contains(reason), "{html}");
    assert!(html.contains("refusée"));

    // The lead organisation: proposed, the rest of the part saved.
    let (_, a) = actions::get(&app.db, t.id, p.a[0]).await.unwrap().unwrap();
    let version = a.version.to_string();
    let other_org = p.orgs[1].to_string();
    let resp = partner
        .post(format!("{url}?partie=pilotage"))
        .form(&[
            ("_csrf", ptoken.as_str()),
            ("version", version.as_str()),
            ("lead_org_id", other_org.as_str()),
            ("lead_person_id", pid.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let (_, a) = actions::get(&app.db, t.id, p.a[0]).await.unwrap().unwrap();
    assert_eq!(a.lead_org_id, Some(p.orgs[0]));
    let rel = actions::related(&app.db, p.c.id).await.unwrap();
    assert!(
        rel.partners_of(a.id).is_empty(),
        "the partners list is the partner's"
    );
    let third = proposals::for_action(&app.db, p.a[0]).await.unwrap()[0].clone();
    assert_eq!(third.kind, "lead");
    assert!(
        third.summary.contains("Association Espoir"),
        "{}",
        third.summary
    );
    let resp = coord
        .post(decide(third.id, "accepter"))
        .form(&[("_csrf", token.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let (_, a) = actions::get(&app.db, t.id, p.a[0]).await.unwrap().unwrap();
    assert_eq!(a.lead_org_id, Some(p.orgs[1]));
    assert_eq!(a.lead_org, "Association Espoir");
    app.stop().await;
}
both!(partners_propose_coordinators_decide);

/// Issue 10: the scope's shortcuts « tout le territoire » and « tous les
/// quartiers prioritaires » work without JavaScript (the server expands
/// them); the filter script is served and loaded only where lists are long.
async fn scope_shortcuts_and_filter_script(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let c = app.login("coordinator").await;
    let url = app.url(&format!("/admin/t/lens-lievin/actions/{}", p.a[0]));
    let token = csrf_from(&c, &url).await;
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let communes = territories::communes(&app.db, t.id).await.unwrap().len();
    let qpvs = territories::qpvs(&app.db, t.id).await.unwrap().len();
    assert!(communes > 1 && qpvs > 1);
    let resp = c
        .post(format!("{url}?partie=territoire"))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "1"),
            ("scope", "all_qpv"),
            ("scope", "commune:62498"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let rel = maillage::storage::actions::related(&app.db, p.c.id)
        .await
        .unwrap();
    let scope = rel.scope_of(p.a[0]);
    assert_eq!(scope.len(), qpvs + 1, "{scope:?}");
    assert_eq!(scope.iter().filter(|(k, _)| k == "commune").count(), 1);
    let resp = c
        .post(format!("{url}?partie=territoire"))
        .form(&[
            ("_csrf", token.as_str()),
            ("version", "2"),
            ("scope", "all"),
            ("scope", "commune:62498"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let rel = maillage::storage::actions::related(&app.db, p.c.id)
        .await
        .unwrap();
    assert_eq!(rel.scope_of(p.a[0]).len(), communes);

    for (part, loaded) in [("territoire", true), ("pilotage", true), ("budget", false)] {
        let html = common::text_of(&c, format!("{url}/{part}")).await;
        assert_eq!(html.contains("/static/multiselect.js"), loaded, "{part}");
    }
    let html = common::text_of(&c, format!("{url}/territoire")).await;
    assert!(html.contains("value=\"all\""));
    assert!(html.contains("value=\"all_qpv\""));
    let resp = app
        .client()
        .get(app.url("/static/multiselect.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(resp.text().await.unwrap().contains("data-multiselect"));
    app.stop().await;
}
both!(scope_shortcuts_and_filter_script);

/// The plan's small forms (add an action, an objective, an axis, a
/// milestone; rename) keep what was typed when they are refused: before,
/// a missing objective sent the coordinator back to empty fields.
async fn refused_plan_forms_keep_what_was_typed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = plan(&app).await;
    let coord = app.sign_in_as("coordinator").await;
    let base = format!("/admin/t/lens-lievin/contrats/{}", p.c.id);

    // An action whose objective is not of this contract.
    let resp = coord
        .post_form(
            &format!("{base}/actions"),
            &[
                ("parent", "987654"),
                ("title", "Navette vers la maison de santé"),
                ("description", "Deux allers-retours par semaine"),
                ("status", "in_progress"),
                ("lead_org", "CCAS de Harnes"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Choisissez un objectif de ce contrat"),
        "{html}"
    );
    assert!(html.contains("value=\"Navette vers la maison de santé\""));
    assert!(html.contains(">Deux allers-retours par semaine</textarea>"));
    assert!(html.contains("value=\"CCAS de Harnes\""));
    assert!(html.contains("<option value=\"in_progress\" selected>"));

    // An objective under an axis of another contract.
    let resp = coord
        .post_form(
            &format!("{base}/objectifs"),
            &[("parent", "987654"), ("title", "Réduire les délais")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("value=\"Réduire les délais\""), "{html}");

    // A milestone without its date keeps its label; another form's fields
    // stay empty.
    let resp = coord
        .post_form(
            &format!("{base}/etapes"),
            &[("happened_on", ""), ("label", "Comité de pilotage")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("value=\"Comité de pilotage\""), "{html}");
    assert!(html.contains("id=\"axis_title\" name=\"title\" value=\"\""));
    app.stop().await;
}
both!(refused_plan_forms_keep_what_was_typed);
