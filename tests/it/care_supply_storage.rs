//! The diagnosis' supply table (`commune_supply`), on SQLite and PostgreSQL:
//! filled by the imports themselves, the 1/n rule and the hospital rule in
//! SQL agreeing with the rule in Rust, densities' sums.

use std::collections::BTreeMap;

use crate::common;

use common::{fresh_db, Backend};
use maillage::demo;
use maillage::domain::diagnosis::{rpps_supply, Profession};
use maillage::import::rpps;
use maillage::storage::care_supply;

async fn table(db: &maillage::storage::Db, p: Profession) -> BTreeMap<String, f64> {
    care_supply::supply_all(db, p)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn map(rows: &[(&str, f64)]) -> BTreeMap<String, f64> {
    rows.iter().map(|(c, s)| (c.to_string(), *s)).collect()
}

/// After the demo import: Dr Durand practises in Lens (her own practice)
/// and at the Sallaumines health centre, ½ in each; Dr Lefebvre in Liévin;
/// one nurse, physiotherapist, dentist and midwife; the speech therapist
/// is none of the six; pharmacies come from FINESS (two around Lens, one
/// in Vic-le-Comte).
async fn demo_counts(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    demo::load_geography(db).await.unwrap();
    demo::load_directory(db).await.unwrap();
    assert_eq!(
        table(db, Profession::Generalistes).await,
        map(&[("62498", 0.5), ("62510", 1.0), ("62771", 0.5)])
    );
    assert_eq!(
        table(db, Profession::Infirmiers).await,
        map(&[("62510", 1.0)])
    );
    assert_eq!(
        table(db, Profession::Kinesitherapeutes).await,
        map(&[("62498", 1.0)])
    );
    assert_eq!(
        table(db, Profession::Dentistes).await,
        map(&[("62498", 1.0)])
    );
    assert_eq!(
        table(db, Profession::SagesFemmes).await,
        map(&[("62065", 1.0)])
    );
    assert_eq!(
        table(db, Profession::Pharmacies).await,
        map(&[("62498", 1.0), ("62510", 1.0), ("63457", 1.0)])
    );
    // The SQL agrees with the rule written in Rust.
    let parsed = rpps::parse(demo::RPPS).unwrap();
    for p in Profession::ALL {
        if p != Profession::Pharmacies {
            assert_eq!(
                table(db, p).await,
                rpps_supply(p, &parsed.professionals),
                "{p:?}"
            );
        }
    }

    // Asked for some communes: those without supply are absent (0).
    let codes = vec!["62498".to_owned(), "62771".to_owned(), "62065".to_owned()];
    let s = care_supply::supply(db, Profession::Generalistes, &codes)
        .await
        .unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s["62771"], 0.5);

    // Sums for densities: the Pas-de-Calais, the Hauts-de-France, France.
    let totals = care_supply::totals_by(db, Profession::Generalistes)
        .await
        .unwrap();
    let pdc = totals.departements["62"];
    assert_eq!(pdc.supply, 2.0);
    let pop: Vec<(String, Option<i64>)> = maillage::db_run!(db, pool => sqlx::query_as(
        "SELECT departement, CAST(SUM(population) AS BIGINT) FROM communes \
         WHERE kind = 'commune-actuelle' GROUP BY departement ORDER BY departement",
    )
    .fetch_all(pool)
    .await
    .unwrap());
    let pdc_pop = pop.iter().find(|(d, _)| d == "62").unwrap().1.unwrap();
    assert!(pdc_pop > 200_000, "{pdc_pop}");
    assert_eq!(pdc.population, pdc_pop);
    assert_eq!(totals.regions["32"].supply, 2.0);
    assert_eq!(totals.france.supply, 2.0);
    let all: i64 = pop.iter().filter_map(|(_, p)| *p).sum();
    assert_eq!(totals.france.population, all);
    let d = pdc.density().unwrap();
    assert!((d - 2.0 * 10_000.0 / pdc_pop as f64).abs() < 1e-12);
    let pharmacies = care_supply::totals_by(db, Profession::Pharmacies)
        .await
        .unwrap();
    assert_eq!(pharmacies.departements["63"].supply, 1.0);
    assert_eq!(pharmacies.france.supply, 3.0);
    let lens = care_supply::totals_for(db, Profession::Generalistes, &codes)
        .await
        .unwrap();
    assert_eq!(lens.supply, 1.0);
    assert!(lens.population > 30_000);
    t.cleanup().await;
}
both!(demo_counts);

/// A re-import changes the table in the same transaction: Dr Durand leaves
/// the health centre (1 in Lens now), Dr Lefebvre moves to the hospital
/// (counts nowhere), and a nurse with no sector but liberal counts.
async fn reimport_keeps_it_current(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    demo::load_geography(db).await.unwrap();
    demo::load_directory(db).await.unwrap();
    let text = std::str::from_utf8(demo::RPPS).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !(l.contains("|DURAND|") && l.contains("|Sallaumines|")))
        .map(|l| {
            if l.contains("|LEFEBVRE|") {
                l.replace(
                    "|SA08|Cabinet de groupe|",
                    "|SA01|Etablissement public de santé|",
                )
            } else if l.contains("|MARTIN|") {
                l.replace("|SA08|Cabinet de groupe|", "|||")
            } else {
                l.to_owned()
            }
        })
        .collect();
    lines.push(String::new());
    let (s, _) = rpps::import(db, lines.join("\n").as_bytes()).await.unwrap();
    assert_eq!(s.changed, 3);
    assert_eq!(
        table(db, Profession::Generalistes).await,
        map(&[("62498", 1.0)])
    );
    assert_eq!(
        table(db, Profession::Infirmiers).await,
        map(&[("62510", 1.0)])
    );
    // Pharmacies untouched by an RPPS import; a whole refresh gives the same.
    assert_eq!(table(db, Profession::Pharmacies).await.len(), 3);
    care_supply::refresh(db).await.unwrap();
    assert_eq!(
        table(db, Profession::Generalistes).await,
        map(&[("62498", 1.0)])
    );
    assert_eq!(table(db, Profession::Pharmacies).await.len(), 3);
    t.cleanup().await;
}
both!(reimport_keeps_it_current);
