//! Yearly review entries and the end-of-contract evaluation over HTTP, on
//! SQLite and PostgreSQL: the lead partner writes a draft and submits it,
//! the coordination returns it with a comment, the partner reads it and
//! submits again, the coordination validates; years outside the contract,
//! typed values kept, stale versions; evaluation questions (standard set
//! without duplicates, indicators of the contract only, the stakeholder
//! questionnaire made once); and who may use each new route.

use crate::common;

use common::{Backend, TestApp, Visitor};
use maillage::domain::contract::{ActionInput, ContractRaw, FicheRaw};
use maillage::domain::indicator::IndicatorRaw;
use maillage::storage::audit::Actor;
use maillage::storage::contract::Contract;
use maillage::storage::{actions, appraisal, contract, indicators, partners, reviews, territories};

struct World {
    c: Contract,
    /// 1.1.1 (led by the partner account) and 1.1.2 (led by nobody).
    a: [i64; 2],
    /// An indicator of the contract, and one of another contract.
    ind: i64,
    other_ind: i64,
}

async fn world(app: &TestApp) -> World {
    let db = &app.db;
    let actor = Actor::system("test");
    let t = territories::get_by_slug(db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let new_contract = |title: &str| ContractRaw {
        kind: "cls".into(),
        title: title.into(),
        status: "in_force".into(),
        signatories: "ARS Hauts-de-France".into(),
        period_start: "01/01/2024".into(),
        period_end: "31/12/2028".into(),
        ..Default::default()
    };
    let c = contract::create(
        db,
        &actor,
        t.id,
        &new_contract("CLS 2024-2028").parse().unwrap(),
    )
    .await
    .unwrap();
    let ax = contract::add_axis(db, &actor, &c, "Accès aux soins")
        .await
        .unwrap();
    let o = contract::add_objective(db, &actor, &c, ax.id, "Aller vers")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for title in ["Médiateurs santé", "Bus santé"] {
        let a = contract::add_action(
            db,
            &actor,
            &c,
            o.id,
            &ActionInput::parse(title, "", "in_progress", "CCAS de Lens").unwrap(),
        )
        .await
        .unwrap();
        ids.push(a.id);
    }
    // The partner account is the lead person of 1.1.1.
    let person = partners::create_person(
        db,
        &actor,
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
    let fiche = FicheRaw {
        version: "1".into(),
        title: "Médiateurs santé".into(),
        status: "in_progress".into(),
        progress: "40".into(),
        lead_person_id: person.id.to_string(),
        ..Default::default()
    };
    actions::save_fiche(db, &actor, &c, ids[0], 1, &fiche.parse().unwrap())
        .await
        .unwrap();
    let indicator = |label: &str| IndicatorRaw {
        kind: "result".into(),
        label: label.into(),
        unit: "personnes".into(),
        target: "600".into(),
        ..Default::default()
    };
    let ind = indicators::create(
        db,
        &actor,
        &c,
        Some(ids[0]),
        &indicator("Personnes accompagnées").parse().unwrap(),
    )
    .await
    .unwrap();
    let other = contract::create(db, &actor, t.id, &new_contract("ASV").parse().unwrap())
        .await
        .unwrap();
    let other_ind = indicators::create(
        db,
        &actor,
        &other,
        None,
        &indicator("Indicateur d'un autre contrat").parse().unwrap(),
    )
    .await
    .unwrap();
    World {
        c,
        a: [ids[0], ids[1]],
        ind: ind.id,
        other_ind: other_ind.id,
    }
}

async fn state(app: &TestApp, action: i64, year: i32) -> Option<(String, i64, String)> {
    reviews::get(&app.db, action, year)
        .await
        .unwrap()
        .map(|r| (r.state, r.version, r.review_comment))
}

fn entry(action: i64, year: i32) -> String {
    format!("/admin/t/lens-lievin/actions/{action}/bilan/{year}")
}

async fn post(v: &Visitor, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let r = v.post_form(path, fields).await;
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

async fn review_round_trip(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let partner = app.sign_in_as("partner").await;
    let coord = app.sign_in_as("coordinator").await;
    let url = entry(w.a[0], 2025);

    // The fiche's part lists the contract's years, nothing written yet.
    let html = partner
        .text(&format!("/admin/t/lens-lievin/actions/{}/bilan", w.a[0]))
        .await;
    for y in 2024..=2028 {
        assert!(html.contains(&format!("<th scope=\"row\">{y}</th>")), "{y}");
    }
    assert!(html.contains("à rédiger"));
    assert!(html.contains(&format!("href=\"{url}\"")));

    // A draft.
    let html = partner.text(&url).await;
    assert!(html.contains("Ce qui a été réalisé"));
    assert!(html.contains("<option value=\"in_progress\" selected>"));
    let (s, _) = post(
        &partner,
        &url,
        &[
            ("version", "0"),
            ("done", "Permanences dans quatre centres sociaux."),
            ("difficulties", ""),
            ("next_year", ""),
            ("year_end_status", "in_progress"),
            ("envoi", "brouillon"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        state(&app, w.a[0], 2025).await,
        Some(("draft".into(), 1, String::new()))
    );

    // Submitting without what was done: refused, what was typed is kept.
    let (s, html) = post(
        &partner,
        &url,
        &[
            ("version", "1"),
            ("done", ""),
            ("difficulties", "Un poste vacant <b>quatre mois</b>."),
            ("year_end_status", "paused"),
            ("envoi", "soumettre"),
        ],
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("à remplir avant de soumettre"), "{html}");
    assert!(html.contains("Un poste vacant &#60;b&#62;quatre mois&#60;/b&#62;."));
    assert!(html.contains("<option value=\"paused\" selected>"));
    assert!(html.contains("class=\"error-summary\""));

    // A stale version: 409, both versions, what was typed kept.
    let (s, html) = post(
        &partner,
        &url,
        &[
            ("version", "0"),
            ("done", "Ma version à moi"),
            ("year_end_status", "in_progress"),
            ("envoi", "brouillon"),
        ],
    )
    .await;
    assert_eq!(s, 409);
    assert!(
        html.contains("Quelqu&#39;un a enregistré une autre version")
            || html.contains("Quelqu'un a enregistré une autre version")
    );
    assert!(html.contains("Ma version à moi"));
    assert!(html.contains("Permanences dans quatre centres sociaux."));
    assert!(html.contains("name=\"version\" value=\"1\""));

    // Submitted.
    let (s, _) = post(
        &partner,
        &url,
        &[
            ("version", "1"),
            ("done", "Permanences dans quatre centres sociaux."),
            ("difficulties", "Un poste vacant."),
            ("next_year", "Une permanence le samedi."),
            ("year_end_status", "in_progress"),
            ("envoi", "soumettre"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(state(&app, w.a[0], 2025).await.unwrap().0, "submitted");
    // Read-only for the partner now.
    let html = partner.text(&url).await;
    assert!(!html.contains("name=\"envoi\""));
    assert!(html.contains("sauf si elle vous le renvoie"));
    let (s, html) = post(
        &partner,
        &url,
        &[
            ("version", "2"),
            ("done", "Changé en douce"),
            ("year_end_status", "in_progress"),
            ("envoi", "brouillon"),
        ],
    )
    .await;
    assert_eq!(s, 409);
    assert!(html.contains("soumis à la coordination"));
    assert_eq!(state(&app, w.a[0], 2025).await.unwrap().1, 2);
    // Nor may the partner decide.
    let (s, _) = post(&partner, &format!("{url}/valider"), &[("version", "2")]).await;
    assert_eq!(s, 403);

    // Another action's entry: not the partner's.
    let other = entry(w.a[1], 2025);
    assert_eq!(partner.get(&other).await.status(), 403);
    let (s, _) = post(
        &partner,
        &other,
        &[("version", "0"), ("done", "x"), ("year_end_status", "done")],
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(state(&app, w.a[1], 2025).await, None);

    // A year outside the contract: said plainly.
    for path in [entry(w.a[0], 2031), entry(w.a[0], 2023)] {
        let r = partner.get(&path).await;
        assert_eq!(r.status(), 400);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("hors de la période du contrat (2024 à 2028)"),
            "{html}"
        );
    }
    let (s, html) = post(
        &partner,
        &entry(w.a[0], 2031),
        &[("version", "0"), ("done", "x"), ("year_end_status", "done")],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("L&#39;année 2031") || html.contains("L'année 2031"));

    // The coordination's overview of 2025.
    let overview = format!("/admin/t/lens-lievin/contrats/{}/bilans/2025", w.c.id);
    let r = coord
        .get(&format!("/admin/t/lens-lievin/contrats/{}/bilans", w.c.id))
        .await;
    assert_eq!(r.status(), 303);
    let html = coord.text(&overview).await;
    assert!(html.contains("Bilans annuels 2025"));
    assert!(html.contains("soumis"));
    assert!(html.contains("à rédiger"));
    assert!(html.contains(&format!("{url}/valider")));

    // Returned without a comment: refused; with one: returned.
    let (s, html) = post(
        &coord,
        &format!("{url}/renvoyer"),
        &[("version", "2"), ("comment", " ")],
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("expliquez en une phrase"));
    let comment = "Précisez le nombre de personnes reçues.";
    let (s, _) = post(
        &coord,
        &format!("{url}/renvoyer"),
        &[("version", "2"), ("comment", comment)],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        state(&app, w.a[0], 2025).await,
        Some(("returned".into(), 3, comment.into()))
    );
    // A second decision on the old version: stale.
    let (s, html) = post(&coord, &format!("{url}/valider"), &[("version", "2")]).await;
    assert_eq!(s, 409);
    assert!(
        html.contains("n&#39;est pas soumis")
            || html.contains("n'est pas soumis")
            || html.contains("a changé depuis")
    );

    // The partner reads the outcome: the fiche, its part, the list.
    let fiche = partner
        .text(&format!("/admin/t/lens-lievin/actions/{}", w.a[0]))
        .await;
    assert!(fiche.contains("Bilan annuel 2025 renvoyé par la coordination"));
    assert!(fiche.contains(comment));
    let part = partner
        .text(&format!("/admin/t/lens-lievin/actions/{}/bilan", w.a[0]))
        .await;
    assert!(part.contains("renvoyé") && part.contains(comment));
    let mine = partner.text("/admin/t/lens-lievin/bilans").await;
    assert!(mine.contains("Médiateurs santé") && mine.contains(comment));
    assert!(!mine.contains("Bus santé"));
    let dash = partner.text("/admin/t/lens-lievin/").await;
    assert!(dash.contains("/admin/t/lens-lievin/bilans"));

    // Submitted again, then validated from the overview.
    let (s, _) = post(
        &partner,
        &url,
        &[
            ("version", "3"),
            (
                "done",
                "Permanences dans quatre centres sociaux : 410 personnes reçues.",
            ),
            ("year_end_status", "in_progress"),
            ("envoi", "soumettre"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let r = coord
        .post_form(
            &format!("{url}/valider"),
            &[("version", "4"), ("retour", "bilans")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], overview.as_str());
    assert_eq!(state(&app, w.a[0], 2025).await.unwrap().0, "validated");
    assert!(coord.text(&overview).await.contains("validé"));

    // Validated: read-only for everyone, until the coordination reopens it.
    for v in [&partner, &coord] {
        let (s, _) = post(
            v,
            &url,
            &[
                ("version", "5"),
                ("done", "Réécrit"),
                ("year_end_status", "done"),
                ("envoi", "brouillon"),
            ],
        )
        .await;
        assert_eq!(s, 409);
    }
    assert!(!coord.text(&url).await.contains("name=\"envoi\""));
    let (s, _) = post(
        &coord,
        &format!("{url}/rouvrir"),
        &[("version", "5"), ("comment", "")],
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &coord,
        &format!("{url}/rouvrir"),
        &[("version", "5"), ("comment", "Une correction de chiffres.")],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(state(&app, w.a[0], 2025).await.unwrap().0, "returned");
    assert!(partner.text(&url).await.contains("name=\"envoi\""));

    // Regional staff read, write nothing.
    let regional = app.sign_in_as("regional").await;
    let html = regional.text(&url).await;
    assert!(html.contains("410 personnes reçues") && !html.contains("name=\"envoi\""));
    let html = regional.text(&overview).await;
    assert!(html.contains("Médiateurs santé") && !html.contains("/valider"));
    let (s, _) = post(
        &regional,
        &url,
        &[("version", "6"), ("done", "x"), ("year_end_status", "done")],
    )
    .await;
    assert_eq!(s, 403);

    // What the report reads, and the audit trail.
    let year = reviews::for_contract_year(&app.db, w.c.id, 2025)
        .await
        .unwrap();
    assert_eq!(year.len(), 1);
    assert_eq!(year[&w.a[0]].state, "returned");
    assert!(reviews::for_contract_year(&app.db, w.c.id, 2024)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        reviews::for_contract(&app.db, w.c.id).await.unwrap().len(),
        1
    );
    let history = coord
        .text(&format!("/admin/t/lens-lievin/actions/{}/suivi", w.a[0]))
        .await;
    assert!(history.contains("Bilan annuel 2025 soumis à la coordination"));
    assert!(history.contains("Bilan annuel 2025 validé"));
    app.stop().await;
}
both!(review_round_trip);

async fn evaluation_questions(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let coord = app.sign_in_as("coordinator").await;
    let base = format!("/admin/t/lens-lievin/contrats/{}/evaluation", w.c.id);
    let html = coord.text(&base).await;
    for label in [
        "Pertinence",
        "Cohérence",
        "Efficacité",
        "Efficience",
        "Impact",
    ] {
        assert!(html.contains(&format!(">{label}</h2>")), "{label}");
    }
    assert!(html.contains("Personnes accompagnées (personnes)"));
    assert!(!html.contains("Indicateur d&#39;un autre contrat"));

    // A question retyped from the standard set, with an indicator.
    let ind = w.ind.to_string();
    let (s, _) = post(
        &coord,
        &format!("{base}/questions"),
        &[
            ("criterion", "relevance"),
            (
                "question",
                "les actions ont elles répondu aux besoins identifiés par le diagnostic local de santé",
            ),
            ("answer", ""),
            ("indicators", &ind),
        ],
    )
    .await;
    assert_eq!(s, 303);
    // Another contract's indicator: refused, what was typed kept.
    let other = w.other_ind.to_string();
    let (s, html) = post(
        &coord,
        &format!("{base}/questions"),
        &[
            ("criterion", "impact"),
            ("question", "Une question gardée"),
            ("indicators", &other),
        ],
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        html.contains("n&#39;est pas un indicateur de ce contrat")
            || html.contains("n'est pas un indicateur de ce contrat")
    );
    assert!(html.contains("Une question gardée"));
    assert!(html.contains("<option value=\"impact\" selected>"));
    let (s, html) = post(
        &coord,
        &format!("{base}/questions"),
        &[("criterion", "impact"), ("question", " ")],
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("Question évaluative : ce champ est obligatoire"));
    assert_eq!(
        appraisal::for_contract(&app.db, w.c.id)
            .await
            .unwrap()
            .len(),
        1
    );

    // The standard set, twice: no duplicates.
    let r = coord
        .post_form(&format!("{base}/questions-types"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let qs = appraisal::for_contract(&app.db, w.c.id).await.unwrap();
    assert_eq!(qs.len(), 10, "{qs:#?}");
    let r = coord
        .post_form(&format!("{base}/questions-types"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        appraisal::for_contract(&app.db, w.c.id)
            .await
            .unwrap()
            .len(),
        10
    );
    // Grouped by criterion, in the fixed order.
    let crits: Vec<String> = qs.iter().map(|q| q.criterion.clone()).collect();
    let mut sorted = crits.clone();
    sorted.dedup();
    assert_eq!(
        sorted,
        [
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact"
        ]
    );
    let first = &qs[0];
    assert_eq!(first.indicators, [w.ind]);

    // Answer a question; a stale version is a conflict that keeps the text.
    let q = qs.iter().find(|q| q.criterion == "efficiency").unwrap();
    let path = format!("{base}/questions/{}", q.id);
    let version = q.version.to_string();
    let (s, _) = post(
        &coord,
        &path,
        &[
            ("version", &version),
            ("criterion", "efficiency"),
            ("question", &q.question),
            ("answer", "Les moyens ont suivi."),
            ("indicators", &ind),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (s, html) = post(
        &coord,
        &path,
        &[
            ("version", &version),
            ("criterion", "efficiency"),
            ("question", &q.question),
            ("answer", "Ma réponse concurrente"),
        ],
    )
    .await;
    assert_eq!(s, 409);
    assert!(html.contains("Ma réponse concurrente"));
    assert!(html.contains("Les moyens ont suivi."));
    let (s, html) = post(
        &coord,
        &path,
        &[
            ("version", &(q.version + 1).to_string()),
            ("criterion", "efficiency"),
            ("question", &q.question),
            ("answer", "x"),
            ("indicators", &other),
        ],
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("id=\"e_indicators\""));
    let stored = appraisal::get(&app.db, w.c.id, q.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.answer.as_str(), stored.indicators.clone()),
        ("Les moyens ont suivi.", vec![w.ind])
    );

    // Reorder within a criterion.
    let impact: Vec<i64> = qs
        .iter()
        .filter(|q| q.criterion == "impact")
        .map(|q| q.id)
        .collect();
    let (s, _) = post(
        &coord,
        &format!("{base}/questions/{}/ordre", impact[1]),
        &[("sens", "haut")],
    )
    .await;
    assert_eq!(s, 303);
    let now: Vec<i64> = appraisal::for_contract(&app.db, w.c.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|q| q.criterion == "impact")
        .map(|q| q.id)
        .collect();
    assert_eq!(now, [impact[1], impact[0]]);

    // Delete: asked first, then done.
    let del = format!("{base}/questions/{}/supprimer", impact[0]);
    let (s, html) = post(&coord, &del, &[]).await;
    assert_eq!(s, 200);
    assert!(html.contains("Confirmer la suppression"));
    assert_eq!(
        appraisal::for_contract(&app.db, w.c.id)
            .await
            .unwrap()
            .len(),
        10
    );
    let (s, _) = post(&coord, &del, &[("confirme", "oui")]).await;
    assert_eq!(s, 303);
    assert_eq!(
        appraisal::for_contract(&app.db, w.c.id)
            .await
            .unwrap()
            .len(),
        9
    );

    // The stakeholder questionnaire: made once, then linked.
    let r = coord.post_form(&format!("{base}/questionnaire"), &[]).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/admin/t/lens-lievin/consultations/"),
        "{to}"
    );
    let id = appraisal::consultation_id(&app.db, w.c.id)
        .await
        .unwrap()
        .unwrap();
    assert!(to.ends_with(&format!("/{id}")));
    let t = territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let cons = maillage::storage::participation::get_consultation(&app.db, t.id, id)
        .await
        .unwrap();
    assert!(cons.panel_only && !cons.results_published);
    assert!(cons.title.contains("CLS 2024-2028"));
    let questions = maillage::storage::participation::questions(&app.db, id)
        .await
        .unwrap();
    let kinds: Vec<&str> = questions.iter().map(|q| q.kind.as_str()).collect();
    for k in ["single", "multiple", "scale", "long_text", "commune"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let r = coord.post_form(&format!("{base}/questionnaire"), &[]).await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), to);
    let all = maillage::storage::participation::list_consultations(&app.db, t.id)
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    let html = coord.text(&base).await;
    assert!(html.contains(&format!("href=\"{to}\"")));
    assert!(!html.contains("Créer le questionnaire des parties prenantes"));

    // Regional staff read the answers, without forms.
    let html = app.sign_in_as("regional").await.text(&base).await;
    assert!(html.contains("Les moyens ont suivi.") && !html.contains("<textarea"));
    app.stop().await;
}
both!(evaluation_questions);

/// Every new route, with real ids, for every kind of visitor.
async fn access_matrix(backend: Backend) {
    let app = TestApp::start(backend).await;
    let w = world(&app).await;
    let c = w.c.id;
    let a = w.a[0];
    appraisal::add_standard(&app.db, &Actor::system("test"), &w.c)
        .await
        .unwrap();
    let qid = appraisal::for_contract(&app.db, c).await.unwrap()[0].id;
    // (method, path, minimum: "partner" or "coordinator")
    let routes: Vec<(&str, String, &str)> = vec![
        ("GET", "/admin/t/lens-lievin/bilans".into(), "partner"),
        (
            "GET",
            format!("/admin/t/lens-lievin/actions/{a}/bilan"),
            "partner",
        ),
        ("GET", entry(a, 2025), "partner"),
        ("POST", entry(a, 2025), "partner"),
        ("POST", format!("{}/valider", entry(a, 2025)), "coordinator"),
        (
            "POST",
            format!("{}/renvoyer", entry(a, 2025)),
            "coordinator",
        ),
        ("POST", format!("{}/rouvrir", entry(a, 2025)), "coordinator"),
        (
            "GET",
            format!("/admin/t/lens-lievin/contrats/{c}/bilans"),
            "coordinator",
        ),
        (
            "GET",
            format!("/admin/t/lens-lievin/contrats/{c}/bilans/2025"),
            "coordinator",
        ),
        (
            "GET",
            format!("/admin/t/lens-lievin/contrats/{c}/evaluation"),
            "coordinator",
        ),
        (
            "POST",
            format!("/admin/t/lens-lievin/contrats/{c}/evaluation/questions"),
            "coordinator",
        ),
        (
            "POST",
            format!("/admin/t/lens-lievin/contrats/{c}/evaluation/questions/{qid}"),
            "coordinator",
        ),
        (
            "POST",
            format!("/admin/t/lens-lievin/contrats/{c}/evaluation/questions/{qid}/ordre"),
            "coordinator",
        ),
        (
            "POST",
            format!("/admin/t/lens-lievin/contrats/{c}/evaluation/questions-types"),
            "coordinator",
        ),
        (
            "POST",
            format!("/admin/t/lens-lievin/contrats/{c}/evaluation/questionnaire"),
            "coordinator",
        ),
        (
            "POST",
            format!("/admin/t/lens-lievin/contrats/{c}/evaluation/questions/{qid}/supprimer"),
            "coordinator",
        ),
    ];
    let mut failures = Vec::new();
    for role in [
        "anonymous",
        "inhabitant",
        "member",
        "partner",
        "coordinator",
        "regional",
        "admin",
        "other_coordinator",
    ] {
        let v = app.sign_in_as(role).await;
        for (method, path, min) in &routes {
            let reading = *method == "GET";
            let allowed = match role {
                "admin" | "coordinator" => true,
                "partner" => *min == "partner",
                "regional" => reading,
                _ => false,
            };
            let resp = if reading {
                v.get(path).await
            } else {
                v.post_form(
                    path,
                    &[("version", "1"), ("sens", "bas"), ("criterion", "impact")],
                )
                .await
            };
            let status = resp.status().as_u16();
            let to_login = status == 303
                && resp
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .is_some_and(|l| l.starts_with("/admin/connexion"));
            let ok = if allowed {
                !to_login && status != 403 && status != 404 && status < 500
            } else if role == "anonymous" {
                to_login
            } else {
                status == 403
            };
            if !ok {
                failures.push(format!("{method} {path} as {role}: {status}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The application's own list declares them all with their access.
    let specs = maillage::web::routes(app.state.clone()).specs;
    for (method, path) in [
        ("GET", "/admin/t/{territory}/actions/{id}/bilan/{year}"),
        (
            "POST",
            "/admin/t/{territory}/actions/{id}/bilan/{year}/valider",
        ),
        ("GET", "/admin/t/{territory}/contrats/{contract}/evaluation"),
        (
            "POST",
            "/admin/t/{territory}/contrats/{contract}/evaluation/questionnaire",
        ),
    ] {
        assert!(
            specs
                .iter()
                .any(|s| s.method.as_str() == method && s.path == path),
            "{method} {path}"
        );
    }
    app.stop().await;
}
both!(access_matrix);
