//! The FiNESS+ « finess-structures » import, on SQLite and PostgreSQL: a
//! re-import updates the directory in place, a refused file leaves it
//! intact, the 20 % guard holds unless forced, and labels already in the
//! directory (from an etalab import) are reused.

use crate::common;

use common::{fresh_db, Backend};
use maillage::domain::directory::Establishment;
use maillage::import::{finess, finess_plus, ImportError};
use maillage::storage::directory;

fn establishment(finess: &str, name: &str, category: &str) -> Establishment {
    Establishment {
        finess: finess.into(),
        finess_ej: "010008407".into(),
        name: name.into(),
        long_name: format!("{name} (nom long)"),
        address: "12 RUE DE LA PAIX".into(),
        postal_code: "01000".into(),
        city: "BOURG EN BRESSE".into(),
        insee_code: Some("01053".into()),
        phone: "04 74 00 00 00".into(),
        category_code: category.into(),
        category_label: String::new(),
        group_code: String::new(),
        group_label: String::new(),
        siret: String::new(),
        opened_on: Some("1979-02-13".into()),
        updated_on: Some("2024-01-10".into()),
        longitude: Some(5.254203),
        latitude: Some(46.211257),
    }
}

/// A gzip FiNESS+ file of these establishments; the first one with
/// longitude and latitude swapped, as some records are.
fn file(rows: &[Establishment]) -> Vec<u8> {
    let mut w = finess_plus::Writer::new(
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
        "2026-06-01T04:00:00Z",
    )
    .unwrap();
    for (i, e) in rows.iter().enumerate() {
        let mut e = e.clone();
        if i == 0 {
            (e.longitude, e.latitude) = (e.latitude, e.longitude);
        }
        w.push(&e, None).unwrap();
    }
    w.finish().unwrap().finish().unwrap()
}

async fn finess_plus_reimport_updates_in_place(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let first = file(&[
        establishment("010000024", "CH FLEYRIAT", "355"),
        establishment("010000032", "PHARMACIE", "620"),
        establishment("010000040", "EHPAD", "500"),
    ]);
    let (s, warnings) = finess_plus::import(db, &first).await.unwrap();
    assert_eq!(
        (s.total, s.added, s.changed, s.removed, s.skipped),
        (3, 3, 0, 0, 0)
    );
    assert_eq!(s.file_date, "2026-06-01");
    assert!(
        warnings.iter().any(|w| w
            .message
            .contains("1 établissements : longitude et latitude inversées")),
        "{warnings:?}"
    );
    let ch = directory::get_establishment(db, "010000024")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ch.longitude, ch.latitude),
        (Some(5.254203), Some(46.211257)),
        "swapped pair put back in order"
    );
    assert_eq!(ch.insee_code.as_deref(), Some("01053"));
    assert_eq!(ch.category_label, "Centre Hospitalier (C.H.)");

    // The same file again changes nothing.
    let (s, _) = finess_plus::import(db, &first).await.unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 0, 0, 0));

    // Newer file: one renamed, one gone, one new.
    let second = file(&[
        establishment("010000024", "CH FLEYRIAT", "355"),
        establishment("010000032", "PHARMACIE DU CENTRE", "620"),
        establishment("010000057", "CMP", "156"),
    ]);
    let (s, _) = finess_plus::import(db, &second).await.unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 1, 1, 1));
    assert!(directory::get_establishment(db, "010000040")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        directory::get_establishment(db, "010000032")
            .await
            .unwrap()
            .unwrap()
            .name,
        "PHARMACIE DU CENTRE"
    );

    // Refused files change nothing and are not recorded: a truncated
    // download, a plain JSON file.
    let third = file(&[establishment("010000065", "NOUVEAU", "124")]);
    for bad in [
        &third[..third.len() - 10],
        br#"{"schemaVersion":"v1.0.0","pmej":[]}"#.as_slice(),
    ] {
        let err = finess_plus::import(db, bad).await.unwrap_err();
        assert!(matches!(err, ImportError::Invalid(_)), "{err}");
    }
    assert_eq!(directory::establishment_count(db).await.unwrap(), 3);
    assert_eq!(directory::imports(db, 10).await.unwrap().len(), 3);

    // A file removing more than 20 % is refused unless forced.
    let err = finess_plus::import(db, &third).await.unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Shrinks {
                before: 3,
                after: 1
            }
        ),
        "{err}"
    );
    assert_eq!(directory::establishment_count(db).await.unwrap(), 3);
    let (s, _) = finess_plus::import_with(
        db,
        &third[..],
        third.len() as u64,
        &maillage::import::quiet,
        true,
    )
    .await
    .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (1, 1, 0, 3));
    let history = directory::imports(db, 10).await.unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(
        (history[0].source.as_str(), history[0].file_date.as_str()),
        ("finess", "2026-06-01")
    );
    t.cleanup().await;
}
both!(finess_plus_reimport_updates_in_place);

/// After an etalab import, FiNESS+ (which gives only the category code)
/// keeps the labels and groups the directory has; the switch from one
/// format to the other changes only what differs.
async fn finess_plus_after_etalab_keeps_the_labels(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let csv = "finess;etalab;1;2024-01-17\n\
        structureet;010000057;010008407;CMP;CMP (nom long);;;12;RUE;DE LA PAIX;;;053;01;AIN;01000 BOURG EN BRESSE;0474000000;;156;Centre Médico-Psychologique (C.M.P.);1102;Groupe psy;;8610Z;03;ARS;;;1979-02-13;1979-02-13;2024-01-10;\n\
        structureet;010000099;010008407;LABO;LABO;;;12;RUE;DE LA PAIX;;;053;01;AIN;01000 BOURG EN BRESSE;0474000000;;999;Catégorie rare;4401;Groupe rare;;8610Z;03;ARS;;;1979-02-13;1979-02-13;2024-01-10;\n";
    finess::import(db, csv.as_bytes()).await.unwrap();
    let (s, _) = finess_plus::import(
        db,
        &file(&[
            establishment("010000001", "AUTRE", "124"),
            establishment("010000057", "CMP", "156"),
            establishment("010000099", "LABO", "999"),
        ]),
    )
    .await
    .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 1, 2, 0));
    let label = |f: &'static str| async move {
        directory::get_establishment(db, f)
            .await
            .unwrap()
            .unwrap()
            .category_label
    };
    assert_eq!(
        label("010000057").await,
        "Centre Médico-Psychologique (C.M.P.)"
    );
    assert_eq!(
        label("010000099").await,
        "Catégorie rare",
        "from the directory"
    );
    assert_eq!(
        label("010000001").await,
        "Centre de Santé",
        "from the built-in table"
    );
    t.cleanup().await;
}
both!(finess_plus_after_etalab_keeps_the_labels);

/// The back office offers FiNESS+ beside the etalab CSV, and its job
/// imports the uploaded file like the command line: the demo's
/// establishments written as FiNESS+, one renamed, change one row only.
async fn admins_import_finess_plus_from_the_back_office(backend: Backend) {
    use common::TestApp;
    let app = TestApp::start(backend).await;
    let admin = app.login("admin").await;
    let page = admin
        .get(app.url("/admin/annuaire/imports"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<option value="finess-plus">FiNESS+"#)
            && page.contains(r#"<option value="finess">"#),
        "{page}"
    );
    let token = common::extract_csrf(&page).unwrap();
    let demo = finess::parse(maillage::demo::FINESS)
        .unwrap()
        .establishments;
    let mut w = finess_plus::Writer::new(
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
        "2026-06-01T04:00:00Z",
    )
    .unwrap();
    for e in &demo {
        let mut e = e.clone();
        if e.finess == "620000037" {
            e.name = "PHARMACIE DE LA GARE SNCF".into();
        }
        w.push(&e, None).unwrap();
    }
    let bytes = w.finish().unwrap().finish().unwrap();
    let form = reqwest::multipart::Form::new()
        .text("source", "finess-plus")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("finess-structures-mensuel-202606.json.gz"),
        );
    let r = admin
        .post(app.url(&format!("/admin/annuaire/imports?_csrf={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        maillage::jobs::run_pending(&app.db, "test").await.unwrap(),
        1
    );
    let job: serde_json::Value = admin
        .get(app.url("/api/v1/imports/1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(job["status"], "done", "{job}");
    assert!(
        job["message"].as_str().unwrap().contains(&format!(
            "{} entrées, 0 ajoutées, 1 modifiées, 0 supprimées",
            demo.len()
        )),
        "{job}"
    );
    let e = directory::get_establishment(&app.db, "620000037")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.name, "PHARMACIE DE LA GARE SNCF");
    app.stop().await;
}
both!(admins_import_finess_plus_from_the_back_office);
