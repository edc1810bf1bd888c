//! The directory import, on SQLite and PostgreSQL.

use crate::common;

use common::{fresh_db, Backend};
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
