//! The directory import, on SQLite and PostgreSQL.

use crate::common;

use common::{fresh_db, Backend};
use maillage::directory::Query;
use maillage::import::finess;
use maillage::storage::directory;

fn line(finess: &str, name: &str, cat: &str) -> String {
    format!(
        "structureet;{finess};010008407;{name};{name};;;12;RUE;DE LA PAIX;;;451;01;AIN;01000 BOURG EN BRESSE;0474000000;;{cat};Libellé {cat};1102;Groupe;;8610Z;03;ARS;;;1979-02-13;1979-02-13;2024-01-10;\n"
    )
}

fn file(lines: &[String]) -> Vec<u8> {
    let mut f = b"finess;etalab;3;2024-01-17\n".to_vec();
    for l in lines {
        f.extend(l.as_bytes());
    }
    f.extend(b"geolocalisation;010000024;882408.3;6543019.6;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n");
    f
}

async fn finess_reimport_updates_in_place(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let first = file(&[
        line("010000024", "CH FLEYRIAT", "355"),
        line("010000032", "PHARMACIE", "620"),
        line("010000040", "EHPAD", "500"),
    ]);
    let (s, _) = finess::import(db, &first).await.unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 3, 0, 0));
    let ch = directory::get_establishment(db, "010000024")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ch.insee_code.as_deref(), Some("01451"));
    assert_eq!(
        (ch.longitude, ch.latitude),
        (Some(5.355651), Some(45.962402))
    );

    // Newer file: one renamed, one gone, one new.
    let second = file(&[
        line("010000024", "CH FLEYRIAT", "355"),
        line("010000032", "PHARMACIE DU CENTRE", "620"),
        line("010000057", "CMP", "156"),
    ]);
    let (s, _) = finess::import(db, &second).await.unwrap();
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

    // A refused file changes nothing and is not recorded.
    let mut bad = second.clone();
    bad.extend(b"structureet;010000065;CUT");
    assert!(finess::import(db, &bad).await.is_err());
    assert_eq!(directory::establishment_count(db).await.unwrap(), 3);
    let history = directory::imports(db, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].added, history[0].changed, history[0].removed),
        (1, 1, 1)
    );
    assert_eq!(history[0].file_date, "2024-01-17");
    t.cleanup().await;
}
both!(finess_reimport_updates_in_place);

const RPPS_HEADER: &str = "Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code savoir-faire|Libellé savoir-faire|Code commune (coord. structure)|Libellé commune (coord. structure)|";

async fn rpps_reimport_updates_in_place(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let first = format!(
        "{RPPS_HEADER}\n810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62498|Lens|\n\
         810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62510|Liévin|\n\
         810000000002|MARTIN|Paul|60|Infirmier|||62498|Lens|\n810000000003|PETIT|Léa|50|Sage-femme|||62510|Liévin|\n"
    );
    let (s, _) = maillage::import::rpps::import(db, first.as_bytes())
        .await
        .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 3, 0, 0));
    let lens = directory::professionals_in(db, "62498", 10).await.unwrap();
    assert_eq!(
        lens.iter()
            .map(|p| p.last_name.as_str())
            .collect::<Vec<_>>(),
        vec!["DUPONT", "MARTIN"]
    );

    let second = format!(
        "{RPPS_HEADER}\n810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62498|Lens|\n\
         810000000002|MARTIN|Paul|60|Infirmier|||62498|Lens|\n810000000004|ROUX|Jean|40|Chirurgien-dentiste|||62498|Lens|\n"
    );
    let (s, _) = maillage::import::rpps::import(db, second.as_bytes())
        .await
        .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 1, 1, 1));
    assert!(
        directory::professionals_in(db, "62510", 10)
            .await
            .unwrap()
            .is_empty(),
        "old places are gone"
    );
    assert_eq!(directory::imports(db, 5).await.unwrap()[0].source, "rpps");
    t.cleanup().await;
}
both!(rpps_reimport_updates_in_place);

fn line_in(finess: &str, name: &str, cat: &str, commune: &str) -> String {
    line(finess, name, cat).replace(";451;01;", &format!(";{commune};01;"))
}

fn codes(list: &[(String, String)]) -> Vec<&str> {
    list.iter().map(|(c, _)| c.as_str()).collect()
}

/// The filters of a territory's directory name only what its communes
/// hold, and follow each import (issue 14: counted per commune at import,
/// not over every professional of the country at each page).
async fn facets_follow_the_communes_and_the_imports(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let first = file(&[
        line_in("010000024", "CH FLEYRIAT", "355", "451"),
        line_in("010000032", "PHARMACIE", "620", "451"),
        line_in("010000040", "EHPAD", "500", "053"),
    ]);
    finess::import(db, &first).await.unwrap();
    let rpps = format!(
        "{RPPS_HEADER}\n810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62498|Lens|\n\
         810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62510|Liévin|\n\
         810000000002|MARTIN|Paul|60|Infirmier|||62498|Lens|\n810000000003|PETIT|Léa|50|Sage-femme|||62510|Liévin|\n"
    );
    maillage::import::rpps::import(db, rpps.as_bytes())
        .await
        .unwrap();
    let f = directory::facets(db, &["01451".to_owned()]).await.unwrap();
    assert_eq!(codes(&f.categories), vec!["355", "620"]);
    assert!(f.professions.is_empty());
    let f = directory::facets(db, &["62498".to_owned()]).await.unwrap();
    assert!(f.categories.is_empty());
    assert_eq!(
        f.professions,
        vec![
            ("60".to_owned(), "Infirmier".to_owned()),
            ("10".to_owned(), "Médecin".to_owned())
        ],
        "by label"
    );
    let f = directory::facets(
        db,
        &["62498".to_owned(), "62510".to_owned(), "01053".to_owned()],
    )
    .await
    .unwrap();
    assert_eq!(codes(&f.professions), vec!["60", "10", "50"]);
    assert_eq!(codes(&f.categories), vec!["500"]);
    assert!(directory::facets(db, &["99999".to_owned()])
        .await
        .unwrap()
        .categories
        .is_empty());

    // Re-imports: the pharmacy moves, the EHPAD closes, the midwife leaves
    // and a dentist comes; untouched communes keep their counts.
    let second = file(&[
        line_in("010000024", "CH FLEYRIAT", "355", "451"),
        line_in("010000032", "PHARMACIE", "620", "053"),
    ]);
    finess::import_with(db, &second, &maillage::import::quiet, true)
        .await
        .unwrap();
    let f = directory::facets(db, &["01451".to_owned()]).await.unwrap();
    assert_eq!(codes(&f.categories), vec!["355"]);
    let f = directory::facets(db, &["01053".to_owned()]).await.unwrap();
    assert_eq!(codes(&f.categories), vec!["620"]);
    let rpps = format!(
        "{RPPS_HEADER}\n810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62498|Lens|\n\
         810000000002|MARTIN|Paul|60|Infirmier|||62498|Lens|\n810000000004|ROUX|Jean|40|Chirurgien-dentiste|||62510|Liévin|\n"
    );
    maillage::import::rpps::import_with(db, rpps.as_bytes(), &maillage::import::quiet, true)
        .await
        .unwrap();
    let f = directory::facets(db, &["62510".to_owned()]).await.unwrap();
    assert_eq!(codes(&f.professions), vec!["40"]);
    let f = directory::facets(db, &["62498".to_owned()]).await.unwrap();
    assert_eq!(codes(&f.professions), vec!["60", "10"]);
    assert_eq!(
        directory::facet_label(db, true, "40")
            .await
            .unwrap()
            .as_deref(),
        Some("Chirurgien-dentiste")
    );
    assert_eq!(directory::facet_label(db, true, "50").await.unwrap(), None);
    t.cleanup().await;
}
both!(facets_follow_the_communes_and_the_imports);

async fn names(db: &maillage::storage::Db, communes: &[&str], q: Query) -> Vec<String> {
    let communes: Vec<String> = communes.iter().map(|c| (*c).to_owned()).collect();
    let setting = maillage::directory::Setting::load(db, 0, &communes, &q.commune)
        .await
        .unwrap();
    maillage::directory::search(db, &setting, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect()
}

fn text(q: &str) -> Query {
    Query {
        text: q.to_owned(),
        ..Query::default()
    }
}

/// Searches read the words index kept by the imports (issue 14): typos,
/// accents, synonyms and specialties still found; a re-import removes and
/// renames in the index too; « near » reaches the communes around.
async fn search_reads_the_index_kept_by_imports(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let rpps = format!(
        "{RPPS_HEADER}\n810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62498|Lens|\n\
         810000000002|LEFÈVRE|Jean|10|Médecin|||62498|Lens|\n\
         810000000003|MARTIN|Paul|60|Infirmier|||62498|Lens|\n810000000004|PETIT|Léa|50|Sage-femme|||62510|Liévin|\n\
         810000000005|DUPONT|Hélène|70|Masseur-Kinésithérapeute|||59350|Lille|\n"
    );
    maillage::import::rpps::import(db, rpps.as_bytes())
        .await
        .unwrap();
    let ours = ["62498", "62510"];
    assert_eq!(
        names(db, &ours, text("dupnot")).await,
        vec!["Marie DUPONT"],
        "typo"
    );
    assert_eq!(
        names(db, &ours, text("DUPONT")).await,
        vec!["Marie DUPONT"],
        "territory only"
    );
    assert_eq!(
        names(db, &ours, text("lefevre")).await,
        vec!["Jean LEFÈVRE"]
    );
    assert_eq!(
        names(db, &ours, text("Lefèvre jean")).await,
        vec!["Jean LEFÈVRE"]
    );
    assert_eq!(
        names(db, &ours, text("lefebvre")).await,
        vec!["Jean LEFÈVRE"],
        "typo"
    );
    // « généraliste » names the savoir-faire and (a little less) any doctor.
    assert_eq!(
        names(db, &ours, text("généraliste")).await,
        vec!["Jean LEFÈVRE", "Marie DUPONT"],
        "synonyms"
    );
    assert_eq!(
        names(db, &ours, text("medecine generale")).await,
        vec!["Marie DUPONT"],
        "specialty"
    );
    assert_eq!(
        names(db, &ours, text("sage-femme liévin")).await,
        vec!["Léa PETIT"]
    );
    assert_eq!(names(db, &ours, text("kiné")).await, Vec::<String>::new());
    assert_eq!(
        names(db, &["59350"], text("kiné")).await,
        vec!["Hélène DUPONT"]
    );
    assert_eq!(
        names(db, &ours, text("")).await.len(),
        4,
        "everything when nothing is typed"
    );
    let nurses = Query {
        profession: "60".into(),
        ..Query::default()
    };
    assert_eq!(names(db, &ours, nurses).await, vec!["Paul MARTIN"]);

    // Léa PETIT leaves, Jean LEFÈVRE is now Jean LEROY.
    let rpps = format!(
        "{RPPS_HEADER}\n810000000001|DUPONT|Marie|10|Médecin|SM54|Médecine générale|62498|Lens|\n\
         810000000002|LEROY|Jean|10|Médecin|||62498|Lens|\n\
         810000000003|MARTIN|Paul|60|Infirmier|||62498|Lens|\n"
    );
    maillage::import::rpps::import_with(db, rpps.as_bytes(), &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!(names(db, &ours, text("leroy")).await, vec!["Jean LEROY"]);
    assert!(names(db, &ours, text("lefevre")).await.is_empty());
    assert!(names(db, &ours, text("petit")).await.is_empty());
    assert!(names(db, &ours, text("sage femme")).await.is_empty());
    assert_eq!(names(db, &ours, text("")).await.len(), 3);

    // Establishments: 8 km apart, in two communes.
    let mut finess = file(&[
        line_in("010000024", "CH FLEYRIAT", "355", "451"),
        line_in("010000032", "PHARMACIE DES ÉCOLES", "620", "053"),
    ]);
    finess.extend(b"geolocalisation;010000032;890408.3;6543019.6;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n");
    finess::import(db, &finess).await.unwrap();
    assert_eq!(
        names(db, &["01451"], text("hôpital")).await,
        vec!["CH FLEYRIAT"],
        "synonym"
    );
    assert_eq!(
        names(db, &["01053"], text("pharmacie ecoles")).await,
        vec!["PHARMACIE DES ÉCOLES"]
    );
    assert!(names(db, &["01451"], text("pharmacie")).await.is_empty());
    let near = Query {
        text: "pharmacei".into(),
        radius_km: 20.0,
        ..Query::default()
    };
    let communes = vec!["01451".to_owned()];
    let setting = maillage::directory::Setting::load(db, 0, &communes, "")
        .await
        .unwrap();
    let hits = maillage::directory::search(db, &setting, &near)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "typo, nearby");
    assert_eq!(hits[0].name, "PHARMACIE DES ÉCOLES");
    assert!(!hits[0].in_territory);
    let d = hits[0].distance_km.unwrap();
    assert!((7.0..9.0).contains(&d), "{d}");
    t.cleanup().await;
}
both!(search_reads_the_index_kept_by_imports);

/// The FINESS import stages its search rows folded in Rust
/// (`directory::establishment_search_row`); the migration folds them in SQL
/// (`search_rows_sql(ESTABLISHMENT_ROWS)`): the same rows either way, and a
/// re-import rewrites only the changed establishment's row.
async fn establishment_search_rows_fold_as_the_database(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let rows = |renamed: &str| {
        file(&[
            line("010000024", "CH FLEYRIAT", "355"),
            line("010000032", renamed, "620"),
            line_in("2A0000014", "ŒUVRE D'ÉTÉ & CIE", "124", "004"),
            line_in("010000057", "Saint-Étienne’s (C.M.P.)", "156", "XYZ"),
        ])
    };
    let stored = "SELECT insee_code, kind, id, position, code, name, words \
                  FROM directory_search WHERE kind = 'establishment' ORDER BY id";
    let built = format!(
        "SELECT * FROM ({}) s ORDER BY 3",
        directory::search_rows_sql(directory::ESTABLISHMENT_ROWS)
    );
    // The built `0 AS position` is a 32-bit integer on PostgreSQL.
    type SearchRow = (String, String, String, i64, String, String, String);
    type PgRow = (String, String, String, i32, String, String, String);
    let widen = |rows: Vec<PgRow>| -> Vec<SearchRow> {
        rows.into_iter()
            .map(|r| (r.0, r.1, r.2, i64::from(r.3), r.4, r.5, r.6))
            .collect()
    };
    let both = || async {
        let (a, b): (Vec<SearchRow>, Vec<SearchRow>) = match db {
            maillage::storage::Db::Sqlite(p) => (
                sqlx::query_as(stored).fetch_all(p).await.unwrap(),
                sqlx::query_as(&built).fetch_all(p).await.unwrap(),
            ),
            maillage::storage::Db::Postgres(p) => (
                sqlx::query_as(stored).fetch_all(p).await.unwrap(),
                widen(sqlx::query_as(&built).fetch_all(p).await.unwrap()),
            ),
        };
        (a, b)
    };
    finess::import(db, &rows("PHARMACIE")).await.unwrap();
    let (a, b) = both().await;
    assert_eq!(a.len(), 4);
    assert_eq!(a, b);
    let oeuvre = a.iter().find(|r| r.2 == "2A0000014").unwrap();
    assert_eq!(
        oeuvre.6,
        " oeuvre d ete   cie oeuvre d ete   cie libelle 124 bourg en bresse "
    );
    let (s, _) = finess::import(db, &rows("PHARMACIE DU BEFFROI"))
        .await
        .unwrap();
    assert_eq!((s.added, s.changed, s.removed), (0, 1, 0));
    let (a, b) = both().await;
    assert_eq!(a.len(), 4, "the changed row replaced, not added");
    assert_eq!(a, b);
    assert!(a.iter().any(|r| r.6.contains(" beffroi ")));
    t.cleanup().await;
}
both!(establishment_search_rows_fold_as_the_database);

/// Communes' points and category counts are worked out from the file
/// before the apply transaction (`storage::directory::changes`): after a
/// first import and a re-import that moves, closes, opens and leaves
/// establishments alone, they equal the `GROUP BY`s over the stored
/// establishments that the import used to run.
async fn derived_rows_equal_the_stored_establishments(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let geo = |finess: &str, x: f64, y: f64| {
        format!("geolocalisation;{finess};{x};{y};1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n")
    };
    let build = |lines: &[String], points: &[String]| {
        let mut f = b"finess;etalab;9;2024-01-17\n".to_vec();
        for l in lines.iter().chain(points) {
            f.extend(l.as_bytes());
        }
        f
    };
    let first = build(
        &[
            line_in("010000024", "CH", "355", "451"),
            line_in("010000032", "PHARMACIE A", "620", "451"),
            line_in("010000040", "PHARMACIE B", "620", "451"),
            line_in("010000057", "EHPAD", "500", "053"),
            line_in("010000065", "CMP", "156", "053"),
        ],
        &[
            geo("010000024", 882408.3, 6543019.6),
            geo("010000032", 882508.7, 6543119.1),
            geo("010000057", 872408.3, 6533019.6),
        ],
    );
    type Point = (String, f64, f64);
    type Count = (String, String, String, i64);
    const POINTS: &str = "SELECT insee_code, longitude, latitude FROM commune_points ORDER BY 1";
    const POINTS_SQL: &str = "SELECT insee_code, AVG(longitude), AVG(latitude) FROM establishments \
         WHERE insee_code IS NOT NULL AND longitude IS NOT NULL AND latitude IS NOT NULL GROUP BY insee_code ORDER BY 1";
    const COUNTS: &str = "SELECT insee_code, code, label, n FROM directory_facet_counts \
         WHERE kind = 'category' ORDER BY 1, 2";
    const COUNTS_SQL: &str =
        "SELECT insee_code, category_code, MAX(category_label), COUNT(*) FROM establishments \
         WHERE insee_code IS NOT NULL GROUP BY insee_code, category_code ORDER BY 1, 2";
    let check = || async {
        let (points, points_sql, counts, counts_sql): (
            Vec<Point>,
            Vec<Point>,
            Vec<Count>,
            Vec<Count>,
        ) = match db {
            maillage::storage::Db::Sqlite(p) => (
                sqlx::query_as(POINTS).fetch_all(p).await.unwrap(),
                sqlx::query_as(POINTS_SQL).fetch_all(p).await.unwrap(),
                sqlx::query_as(COUNTS).fetch_all(p).await.unwrap(),
                sqlx::query_as(COUNTS_SQL).fetch_all(p).await.unwrap(),
            ),
            maillage::storage::Db::Postgres(p) => (
                sqlx::query_as(POINTS).fetch_all(p).await.unwrap(),
                sqlx::query_as(POINTS_SQL).fetch_all(p).await.unwrap(),
                sqlx::query_as(COUNTS).fetch_all(p).await.unwrap(),
                sqlx::query_as(COUNTS_SQL).fetch_all(p).await.unwrap(),
            ),
        };
        assert_eq!(counts, counts_sql);
        assert_eq!(points.len(), points_sql.len(), "{points:?} {points_sql:?}");
        for (a, b) in points.iter().zip(&points_sql) {
            assert_eq!(a.0, b.0);
            assert!(
                (a.1 - b.1).abs() < 1e-12 && (a.2 - b.2).abs() < 1e-12,
                "{a:?} {b:?}"
            );
        }
        (points, counts)
    };
    finess::import(db, &first).await.unwrap();
    let (points, counts) = check().await;
    assert_eq!(
        points.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        ["01053", "01451"]
    );
    assert_eq!(counts.len(), 4);
    assert_eq!(
        counts[3],
        ("01451".into(), "620".into(), "Libellé 620".into(), 2)
    );

    // 010000032 moves to 01053, 010000057 closes (01053 keeps the CMP, with
    // no position: no point left there but the pharmacy's), 010000073
    // opens in 01004 without a position, the others stay as they were.
    let second = build(
        &[
            line_in("010000024", "CH", "355", "451"),
            line_in("010000032", "PHARMACIE A", "620", "053"),
            line_in("010000040", "PHARMACIE B", "620", "451"),
            line_in("010000065", "CMP", "156", "053"),
            line_in("010000073", "CENTRE DE SANTÉ", "124", "004"),
        ],
        &[
            geo("010000024", 882408.3, 6543019.6),
            geo("010000032", 882508.7, 6543119.1),
        ],
    );
    let (s, _) = finess::import_with(db, &second, &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!((s.added, s.changed, s.removed), (1, 1, 1));
    let (points, counts) = check().await;
    assert_eq!(
        points.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        ["01053", "01451"]
    );
    assert!(counts.contains(&("01004".into(), "124".into(), "Libellé 124".into(), 1)));
    assert!(!counts.iter().any(|c| c.1 == "500"), "{counts:?}");

    // Everything gone from a commune: its point and counts go too.
    let third = build(
        &[
            line_in("010000024", "CH", "355", "451"),
            line_in("010000040", "PHARMACIE B", "620", "451"),
        ],
        &[geo("010000024", 882408.3, 6543019.6)],
    );
    finess::import_with(db, &third, &maillage::import::quiet, true)
        .await
        .unwrap();
    let (points, counts) = check().await;
    assert_eq!(points.len(), 1);
    assert_eq!(counts.len(), 2);

    // The same file again: nothing rewritten, the import recorded.
    let before = directory::imports(db, 10).await.unwrap().len();
    let (s, _) = finess::import_with(db, &third, &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (2, 0, 0, 0));
    assert_eq!(directory::imports(db, 10).await.unwrap().len(), before + 1);
    assert_eq!(check().await, (points, counts));
    t.cleanup().await;
}
both!(derived_rows_equal_the_stored_establishments);
