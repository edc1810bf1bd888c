//! The public directory over HTTP, on SQLite and PostgreSQL.

use crate::common;

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
    // Filters: only what the territory holds (the only health centre is in
    // Sallaumines, outside), plus the one chosen.
    assert!(page.contains("<option value=\"620\"") && page.contains("<option value=\"10\""));
    assert!(
        !page.contains("<option value=\"124\""),
        "no health centre in the territory"
    );
    let page = c
        .get(url("?categorie=124&rayon=10"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<option value=\"124\" selected>Centre de Santé</option>"));
    assert!(page.contains("CENTRE DE SANTE FILIERIS SALLAUMINES"));

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

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn coordinators_add_services_and_mark_entries(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.login("coordinator").await;
    let admin = app.url("/admin/t/lens-lievin/annuaire");
    let page = c.get(&admin).send().await.unwrap().text().await.unwrap();
    let token = common::extract_csrf(&page).unwrap();
    let service = |hours: &str, commune: &str| {
        vec![
            ("_csrf", token.clone()),
            ("name", "Point d'accueil santé".to_owned()),
            ("kind", "mediation".to_owned()),
            ("publics", "Tout public".to_owned()),
            ("fees", "Gratuit".to_owned()),
            ("opening_hours", hours.to_owned()),
            ("commune", commune.to_owned()),
            ("area", "62498 62510".to_owned()),
            ("phone", "03 21 11 22 33".to_owned()),
            ("msp", "on".to_owned()),
        ]
    };
    // Bad hours and a commune outside the territory: refused, all kept.
    let r = c
        .post(app.url("/admin/t/lens-lievin/annuaire/services"))
        .form(&service("lundi 9h", "63457"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("syntaxe OpenStreetMap") && body.contains("pas dans le territoire"));
    assert!(body.contains("value=\"lundi 9h\""));
    let r = c
        .post(app.url("/admin/t/lens-lievin/annuaire/services"))
        .form(&service("Mo-Fr 09:00-12:00; PH off", "62498"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // The public finds it, with its hours in plain French.
    let anon = app.client();
    let found = anon
        .get(app.url("/t/lens-lievin/annuaire?q=accueil+sante"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        found.contains("Point d&#39;accueil santé")
            && found.contains("Maison de santé pluriprofessionnelle")
    );
    let start = found.find("/annuaire/services/").unwrap();
    let path: String = found[start..].chars().take_while(|c| *c != '"').collect();
    let entry = anon
        .get(app.url(&format!("/t/lens-lievin{path}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        entry.contains("Du lundi au vendredi : 9 h – 12 h ; les jours fériés : fermé"),
        "{entry}"
    );
    assert!(entry.contains("Lens, Liévin"));

    // Two coordinators edit at once: the second is told, nothing is lost.
    let edit_url = app.url(&format!("/admin/t/lens-lievin{path}"));
    let form = c.get(&edit_url).send().await.unwrap().text().await.unwrap();
    let version = field(&form, "version");
    let mut first = service("Mo-Fr 09:00-12:00", "62498");
    first.push(("version", version.clone()));
    assert_eq!(
        c.post(&edit_url)
            .form(&first)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let mut second = service("Sa 10:00-12:00", "62498");
    second.push(("version", version));
    let r = c.post(&edit_url).form(&second).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("value=\"Sa 10:00-12:00\""));

    // Hiding an establishment needs a reason; then the public no longer sees it.
    let hide = |reason: &str| {
        vec![
            ("_csrf", token.clone()),
            ("entry_kind", "establishment".to_owned()),
            ("entry_id", "620000029".to_owned()),
            ("hidden", "on".to_owned()),
            ("hidden_reason", reason.to_owned()),
        ]
    };
    let r = c
        .post(app.url("/admin/t/lens-lievin/annuaire/reperes"))
        .form(&hide(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = c
        .post(app.url("/admin/t/lens-lievin/annuaire/reperes"))
        .form(&hide("Fermée définitivement"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let list = anon
        .get(app.url("/t/lens-lievin/annuaire?categorie=620"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("PHARMACIE DU CENTRE") && list.contains("PHARMACIE DE LA GARE"));
    assert_eq!(
        anon.get(app.url("/t/lens-lievin/annuaire/etablissements/620000029"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let admin_page = c.get(&admin).send().await.unwrap().text().await.unwrap();
    assert!(
        admin_page.contains("Fermée définitivement"),
        "the coordination still sees why"
    );
    app.stop().await;
}
both!(coordinators_add_services_and_mark_entries);

async fn admins_import_from_the_back_office(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.login("admin").await;
    let page = common::text_of(&admin, app.url("/admin/annuaire/imports")).await;
    let token = common::extract_csrf(&page).unwrap();
    let upload = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("source", "finess")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("etalab-cs1100507-stock.csv"),
            );
        admin
            .post(app.url(&format!("/admin/annuaire/imports?_csrf={token}")))
            .multipart(form)
    };
    // A newer extraction: one establishment renamed.
    let newer = encoding_rs::WINDOWS_1252
        .decode(maillage::demo::FINESS)
        .0
        .replace("PHARMACIE DE LA GARE;", "PHARMACIE DE LA GARE SNCF;");
    let r = upload(encoding_rs::WINDOWS_1252.encode(&newer).0.into_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = common::text_of(&admin, app.url("/admin/annuaire/imports")).await;
    assert!(page.contains("En attente"));
    assert_eq!(
        maillage::jobs::run_pending(&app.db, "test").await.unwrap(),
        1
    );
    let job: serde_json::Value = common::json_of(&admin, app.url("/api/v1/imports/1")).await;
    assert_eq!(job["status"], "done", "{job}");
    assert!(
        job["message"]
            .as_str()
            .unwrap()
            .contains("0 ajoutées, 1 modifiées, 0 supprimées"),
        "{job}"
    );
    let e = maillage::storage::directory::get_establishment(&app.db, "620000037")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.name, "PHARMACIE DE LA GARE SNCF");
    assert!(
        job["message"]
            .as_str()
            .unwrap()
            .contains("Accessibilité recalculée"),
        "{job}"
    );

    // The same file again changes nothing, and the diagnosis is left alone.
    let again = encoding_rs::WINDOWS_1252.encode(&newer).0.into_owned();
    assert_eq!(upload(again).send().await.unwrap().status(), 303);
    maillage::jobs::run_pending(&app.db, "test").await.unwrap();
    let job: serde_json::Value = common::json_of(&admin, app.url("/api/v1/imports/2")).await;
    let message = job["message"].as_str().unwrap();
    assert!(
        message.contains("0 ajoutées, 0 modifiées, 0 supprimées")
            && message.contains(maillage::jobs::UNCHANGED_DIRECTORY)
            && !message.contains("Accessibilité recalculée"),
        "{job}"
    );

    // A truncated file is refused with its line; the directory is unchanged.
    let mut cut = maillage::demo::FINESS.to_vec();
    cut.truncate(cut.len() - 30);
    assert_eq!(upload(cut).send().await.unwrap().status(), 303);
    maillage::jobs::run_pending(&app.db, "test").await.unwrap();
    let job: serde_json::Value = common::json_of(&admin, app.url("/api/v1/imports/3")).await;
    assert_eq!(job["status"], "failed");
    assert!(
        job["message"].as_str().unwrap().contains("tronqué"),
        "{job}"
    );
    assert_eq!(
        maillage::storage::directory::establishment_count(&app.db)
            .await
            .unwrap(),
        11
    );

    // No file: the form says so.
    let form = reqwest::multipart::Form::new().text("source", "finess");
    let r = admin
        .post(app.url(&format!("/admin/annuaire/imports?_csrf={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Choisissez un fichier"));
    app.stop().await;
}
both!(admins_import_from_the_back_office);

/// An RPPS extraction comes with its « Savoir-faire » file from the back
/// office too: the specialties the activity file lacks are read from it;
/// sent with another kind of file, the form refuses it and keeps nothing.
async fn admins_import_rpps_with_its_savoir_faire(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.login("admin").await;
    let page = common::text_of(&admin, app.url("/admin/annuaire/imports")).await;
    assert!(page.contains(r#"name="savoir_faire""#), "{page}");
    let token = common::extract_csrf(&page).unwrap();
    let activity = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code mode exercice|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code secteur d'activité|\n\
         8|0000000001|80000000001|DUPONT|Marie|10|Médecin|L|62300|62498|LENS|SA07|\n\
         8|0000000002|80000000002|MARTIN|Paul|60|Infirmier|L|62300|62498|LENS|SA07|\n";
    let savoir_faire = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|\n\
         8|0000000001|80000000001|DUPONT|Marie|10|Médecin|C|Civil|S|Spécialité ordinale|SM54|Médecine générale|\n";
    let upload = |source: &str| {
        let form = reqwest::multipart::Form::new()
            .text("source", source.to_owned())
            // The demo's professionals are not in this small extraction.
            .text("forcer", "oui")
            .part(
                "file",
                reqwest::multipart::Part::bytes(activity.as_bytes().to_vec())
                    .file_name("PS_LibreAcces_Personne_activite.txt"),
            )
            .part(
                "savoir_faire",
                reqwest::multipart::Part::bytes(savoir_faire.as_bytes().to_vec())
                    .file_name("PS_LibreAcces_SavoirFaire.txt"),
            );
        admin
            .post(app.url(&format!("/admin/annuaire/imports?_csrf={token}")))
            .multipart(form)
    };
    // With a FINESS file: refused, nothing queued, nothing kept.
    let r = upload("finess").send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("accompagne une extraction RPPS"));
    assert_eq!(
        maillage::jobs::run_pending(&app.db, "test").await.unwrap(),
        0
    );

    let r = upload("rpps").send().await.unwrap();
    assert_eq!(r.status(), 303);
    let queued = maillage::storage::jobs::get(&app.db, 1)
        .await
        .unwrap()
        .expect("queued");
    let files = [queued.file_path, queued.savoir_faire_path];
    assert!(files.iter().all(|f| std::path::Path::new(f).is_file()));
    let page = common::text_of(&admin, app.url("/admin/annuaire/imports")).await;
    assert!(
        page.contains("avec PS_LibreAcces_SavoirFaire.txt"),
        "{page}"
    );
    assert_eq!(
        maillage::jobs::run_pending(&app.db, "test").await.unwrap(),
        1
    );
    let job: serde_json::Value = common::json_of(&admin, app.url("/api/v1/imports/1")).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["savoir_faire_name"], "PS_LibreAcces_SavoirFaire.txt");
    // Both files are gone once imported.
    assert!(files.iter().all(|f| !std::path::Path::new(f).exists()));
    let specialty = |rpps: &'static str| {
        let db = app.db.clone();
        async move {
            let (_, places) = maillage::storage::directory::get_professional(&db, rpps)
                .await
                .unwrap()
                .expect("imported");
            places
                .iter()
                .map(|p| p.specialty_label.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        specialty("80000000001").await,
        vec!["Médecine générale".to_owned()]
    );
    assert_eq!(specialty("80000000002").await, vec![String::new()]);
    app.stop().await;
}
both!(admins_import_rpps_with_its_savoir_faire);

/// The back office takes the reference data of the diagnosis too.
async fn admins_import_reference_data_from_the_back_office(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.login("admin").await;
    let page = common::text_of(&admin, app.url("/admin/annuaire/imports")).await;
    assert!(page.contains("value=\"travel-times\""), "{page}");
    let token = common::extract_csrf(&page).unwrap();
    let files: [(&str, &[u8]); 3] = [
        ("geo", b"code;latitude;longitude\n62498;50.4322;2.8317\n"),
        (
            "population",
            b"CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;P21_POP6074;P21_POP75P\n62498;32920;6500;7000;6000;5800;4700;2920\n",
        ),
        ("travel-times", b"origin;destination;minutes\n62498;62510;12\n"),
    ];
    for (i, (source, bytes)) in files.iter().enumerate() {
        let form = reqwest::multipart::Form::new()
            .text("source", *source)
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("fichier.csv"),
            );
        let r = admin
            .post(app.url(&format!("/admin/annuaire/imports?_csrf={token}")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{source}");
        maillage::jobs::run_pending(&app.db, "test").await.unwrap();
        let job: serde_json::Value = admin
            .get(app.url(&format!("/api/v1/imports/{}", i + 1)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(job["status"], "done", "{job}");
        assert!(
            job["message"]
                .as_str()
                .unwrap()
                .contains("1 entrées, 1 ajoutées"),
            "{job}"
        );
    }
    let p = maillage::storage::directory::commune_point(&app.db, "62498")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.latitude, p.longitude), (50.4322, 2.8317));
    app.stop().await;
}
both!(admins_import_reference_data_from_the_back_office);
