//! Figures for the national-scale geography imports, printed, never
//! asserted (`cargo bench --bench geography`): a synthetic `communes.json`
//! of 37,006 entries and an `epci.json` of 1,255 EPCI in the format of
//! `@etalab/decoupage-administratif` (`maillage::import::synthetic`), read,
//! then imported into a fresh database (SQLite, then PostgreSQL at
//! `MAILLAGE_TEST_POSTGRES_URL` like the tests), then imported again (an
//! identical file: nothing is written).

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{fresh_db, Backend};
use maillage::import::{geography, synthetic};

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let communes = synthetic::communes_json(synthetic::NATIONAL_COMMUNES);
    let epci = synthetic::epci_json(synthetic::NATIONAL_EPCI);
    println!(
        "communes.json: {} entries, {:.1} MB; epci.json: {} EPCI, {:.1} MB",
        synthetic::NATIONAL_COMMUNES,
        communes.len() as f64 / 1e6,
        synthetic::NATIONAL_EPCI,
        epci.len() as f64 / 1e6
    );

    let t = Instant::now();
    let rows = geography::parse_communes(communes.as_bytes()).expect("communes");
    println!(
        "read communes.json          {:>9}  ({} communes)",
        secs(t.elapsed()),
        rows.len()
    );
    let t = Instant::now();
    let rows = geography::parse_epcis(epci.as_bytes()).expect("epci");
    println!(
        "read epci.json              {:>9}  ({} EPCI)",
        secs(t.elapsed()),
        rows.len()
    );

    for backend in [Backend::Sqlite, Backend::Postgres] {
        let tdb = fresh_db(backend).await;
        let db = &tdb.db;
        let name = format!("{backend:?}").to_lowercase();
        for round in ["import", "re-import"] {
            let t = Instant::now();
            let c = geography::import_communes(db, communes.as_bytes())
                .await
                .expect("import communes");
            println!(
                "{name:<8} {round:<9} communes {:>9}  ({} added, {} changed)",
                secs(t.elapsed()),
                c.added,
                c.changed
            );
            let t = Instant::now();
            let c = geography::import_epcis(db, epci.as_bytes())
                .await
                .expect("import epci");
            println!(
                "{name:<8} {round:<9} EPCI     {:>9}  ({} added, {} changed)",
                secs(t.elapsed()),
                c.added,
                c.changed
            );
        }
        tdb.cleanup().await;
    }
}
