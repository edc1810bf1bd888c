//! The public directory over HTTP, on SQLite and PostgreSQL.

mod common;

use common::{Backend, TestApp};

async fn inhabitants_search_the_directory(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.client();
    let url = |q: &str| app.url(&format!("/t/lens-lievin/annuaire{q}"));
    // The test territory is Lens and Liévin.
    let page = c.get(url("")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("CENTRE HOSPITALIER DE LENS"),
        "territory entries listed: {}",
        &page[page.find("resultats").unwrap_or(0)..][..600.min(page.len())]
    );
    assert!(page.contains("Claire DURAND"));
    assert!(
        !page.contains("PHARMACIE DE VIC"),
        "another département is not listed"
    );
    assert!(
        page.contains("extraction du 1er mai 2026"),
        "source and date shown"
    );

    // Typos and accents are forgiven.
    let page = c
        .get(url("?q=pharmacei+lievin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("PHARMACIE DE LA GARE"), "{page}");
    assert!(
        !page.contains("PHARMACIE DU CENTRE"),
        "Lens does not match « lievin »"
    );
    let page = c
        .get(url("?q=m%C3%A9decine+g%C3%A9n%C3%A9rale"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Jean LEFEBVRE") && page.contains("Claire DURAND"));

    // Profession and commune; then nearby communes, marked as outside.
    let page = c
        .get(url("?profession=60"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sophie MARTIN") && !page.contains("Claire DURAND"));
    let page = c
        .get(url("?categorie=620&commune=62498"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("PHARMACIE DU CENTRE") && !page.contains("PHARMACIE DE LA GARE"));
    let near = c
        .get(url("?q=centre+sante&rayon=10"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        near.contains("CENTRE DE SANTE FILIERIS SALLAUMINES"),
        "Sallaumines is 3 km away"
    );
    assert!(near.contains("Hors du territoire, à "));

    // Bad input: a clear message, what was typed kept, a 4xx.
    let r = c
        .get(url("?q=%3Cscript%3E&commune=99999&rayon=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("pas dans le territoire"));
    assert!(
        body.contains("value=\"&#60;script&#62;\""),
        "escaped and kept"
    );

    // Entry pages and 404s.
    let e = c
        .get(url("/etablissements/620000052"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(e.contains("CENTRE MEDICO-PSYCHOLOGIQUE ADULTES") && e.contains("03 21 69 00 00"));
    assert!(e.contains("Numéro FINESS 620000052"));
    let p = c
        .get(url("/professionnels/810100000001"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        p.contains("Lieu d&#39;exercice 2") || p.contains("Lieu d'exercice 2"),
        "two practice places"
    );
    assert!(p.contains("Libéral") && p.contains("Salarié"));
    assert_eq!(
        c.get(url("/professionnels/000"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // The same search as JSON.
    let hits: serde_json::Value = c
        .get(app.url("/api/v1/territories/lens-lievin/directory?q=kine"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits[0]["name"], "Karim PETIT");
    assert_eq!(hits[0]["kind"], "professional");
    let bad = c
        .get(app.url("/api/v1/territories/lens-lievin/directory?radius_km=500"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let e: serde_json::Value = c
        .get(app.url("/api/v1/establishments/620000011"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!((e["longitude"].as_f64().unwrap() - 2.8169).abs() < 1e-4);
    app.stop().await;
}
both!(inhabitants_search_the_directory);
