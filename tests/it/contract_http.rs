//! Contract pages over HTTP on SQLite and PostgreSQL: the coordinator's forms
//! (422 with the typed values kept, 409 on a stale version), the public pages
//! of a contract and of an action, a partner refused.

use crate::common;

use common::{csrf_from, Backend, TestApp};

const ADMIN: &str = "/admin/t/lens-lievin/contrats";

fn fields<'a>(token: &'a str, signatories: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("_csrf", token),
        ("kind", "cls"),
        ("title", "Contrat local de santé Lens-Liévin 2024-2028"),
        ("status", "signed"),
        ("signed_on", "12/03/2024"),
        ("period_start", "01/01/2024"),
        ("period_end", "31/12/2028"),
        ("summary", "Trois axes prioritaires."),
        ("signatories", signatories),
    ]
}

async fn coordinator_creates_a_contract(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let token = csrf_from(&c, &app.url(ADMIN)).await;

    // A CLS without the ARS: refused, what was typed is kept.
    let resp = c
        .post(app.url(ADMIN))
        .form(&fields(&token, "Commune de Lens\nCPAM Artois"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("error-summary"), "{html}");
    assert!(html.contains("doit compter l&#39;ARS") || html.contains("doit compter l'ARS"));
    assert!(html.contains("Commune de Lens\nCPAM Artois"));
    assert!(html.contains("value=\"Contrat local de santé Lens-Liévin 2024-2028\""));
    assert!(html.contains("value=\"31/12/2028\""));

    // Right this time.
    let resp = c
        .post(app.url(ADMIN))
        .form(&fields(&token, "ARS Hauts-de-France\nCommune de Lens"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let edit = resp.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();

    // Plan: axis 1, objective 1.1, action 1.1.1.
    let resp = c
        .post(app.url(&format!("{edit}/axes")))
        .form(&[("_csrf", token.as_str()), ("title", "Accès aux soins")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = c
        .get(app.url(&edit))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let axis_id = between(
        &html,
        "<select id=\"objective_parent\" name=\"parent\"><option value=\"",
        "\"",
    );
    let resp = c
        .post(app.url(&format!("{edit}/objectifs")))
        .form(&[
            ("_csrf", token.as_str()),
            ("parent", axis_id.as_str()),
            ("title", "Aller vers"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = c
        .get(app.url(&edit))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let objective_id = between(
        &html,
        "<select id=\"action_parent\" name=\"parent\"><option value=\"",
        "\"",
    );
    let resp = c
        .post(app.url(&format!("{edit}/actions")))
        .form(&[
            ("_csrf", token.as_str()),
            ("parent", objective_id.as_str()),
            ("title", "Bus santé"),
            ("status", "in_progress"),
            ("lead_org", "CCAS de Lens"),
            ("description", "Une tournée par semaine."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // A milestone: a bad date is refused (422), a good one lands.
    let resp = c
        .post(app.url(&format!("{edit}/etapes")))
        .form(&[
            ("_csrf", token.as_str()),
            ("happened_on", "31/02/2024"),
            ("label", "Signature"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = c
        .post(app.url(&format!("{edit}/etapes")))
        .form(&[
            ("_csrf", token.as_str()),
            ("happened_on", "12/03/2024"),
            ("label", "Signature du contrat"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // A stale version: 409, nothing overwritten, the typed input kept.
    let mut stale = fields(&token, "ARS Hauts-de-France\nCommune de Lens");
    stale[2].1 = "Titre tapé pendant un conflit";
    stale.push(("version", "0"));
    let resp = c.post(app.url(&edit)).form(&stale).send().await.unwrap();
    assert_eq!(resp.status(), 409);
    let html = resp.text().await.unwrap();
    assert!(html.contains("value=\"Titre tapé pendant un conflit\""));
    assert!(html.contains("une autre version"));
    assert!(
        html.contains("<dd>Signé</dd>"),
        "saved status shown by its label"
    );

    // The public pages, read anonymously.
    let anon = app.client();
    let resp = anon
        .get(app.url(&format!("/t/lens-lievin/contrat/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    for needle in [
        "Contrat local de santé Lens-Liévin 2024-2028",
        "ARS Hauts-de-France",
        "du 01/01/2024 au 31/12/2028",
        "12/03/2024 : Signature du contrat",
        "Axe 1 : Accès aux soins",
        "Objectif 1.1 : Aller vers",
        "Bus santé",
        "En cours",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    let home = anon
        .get(app.url("/t/lens-lievin/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains(&format!("href=\"/t/lens-lievin/contrat/{id}\"")));
    let resp = anon
        .get(app.url("/t/lens-lievin/actions/1.1.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Action 1.1.1 : Bus santé") && html.contains("CCAS de Lens"));
    assert_eq!(
        anon.get(app.url("/t/lens-lievin/actions/9.9.9"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}
both!(coordinator_creates_a_contract);

async fn partner_cannot_post_contracts(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("partner").await;
    let token = csrf_from(&c, &app.url("/admin/mot-de-passe")).await;
    let resp = c
        .post(app.url(ADMIN))
        .form(&fields(&token, "ARS Hauts-de-France"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(c.get(app.url(ADMIN)).send().await.unwrap().status(), 403);
    app.stop().await;
}
both!(partner_cannot_post_contracts);

fn between(html: &str, start: &str, end: &str) -> String {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"))
        + start.len();
    let j = html[i..].find(end).unwrap() + i;
    html[i..j].to_owned()
}
