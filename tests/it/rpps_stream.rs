//! The streamed RPPS import (issue 14), on SQLite and PostgreSQL: rows of an
//! identifier met again further down are merged, the search rows folded in
//! Rust equal those the database folds, and an import stopped half-way
//! (the file failing, the task killed) leaves the directory as it was.

use crate::common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{fresh_db, Backend};
use maillage::import::rpps;
use maillage::storage::{directory, Db};

const HEADER: &str = "Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code savoir-faire|Libellé savoir-faire|Code commune (coord. structure)|Libellé commune (coord. structure)|";

fn row(id: u64, last: &str, commune: &str, city: &str) -> String {
    format!("8{id:011}|{last}|Marie|10|Médecin|SM54|Médecine générale|{commune}|{city}|\n")
}

fn file(rows: &[String]) -> Vec<u8> {
    let mut f = format!("{HEADER}\n");
    for r in rows {
        f += r;
    }
    f.into_bytes()
}

/// Places of a professional, by commune, in their order.
async fn places(db: &Db, rpps: &str) -> Vec<String> {
    let sql =
        "SELECT COALESCE(insee_code, '') FROM practice_places WHERE rpps = $1 ORDER BY position";
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(rpps).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(rpps).fetch_all(p).await,
    }
    .unwrap()
}

async fn counts(db: &Db) -> (i64, i64, i64) {
    let sql =
        "SELECT (SELECT COUNT(*) FROM professionals), (SELECT COUNT(*) FROM practice_places), \
               (SELECT COUNT(*) FROM directory_search WHERE kind = 'professional')";
    match db {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).fetch_one(p).await,
    }
    .unwrap()
}

async fn late_rows_are_merged(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let a = row(1, "DUPONT", "62498", "LENS");
    let b = row(2, "MARTIN", "62498", "LENS");
    let c = row(1, "DUPONT", "62510", "LIÉVIN");
    let d = row(3, "PETIT", "62510", "LIÉVIN");
    // Sorted: DUPONT's two places together.
    let sorted = file(&[a.clone(), c.clone(), b.clone(), d.clone()]);
    let (s, _) = rpps::import(db, &sorted).await.unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 3, 0, 0));
    assert_eq!(places(db, "800000000001").await, ["62498", "62510"]);

    // The same people with DUPONT's second place further down: nothing
    // changed (the first rows alone differ from what is stored; merged,
    // they do not).
    let unsorted = file(&[a.clone(), b.clone(), d.clone(), c.clone()]);
    let (s, w) = rpps::import(db, &unsorted).await.unwrap();
    assert_eq!(
        (s.total, s.added, s.changed, s.removed),
        (3, 0, 0, 0),
        "{w:?}"
    );
    assert_eq!(places(db, "800000000001").await, ["62498", "62510"]);

    // Stored with one place, the late row adds one: changed.
    let one = file(&[a.clone(), b.clone(), d.clone()]);
    rpps::import(db, &one).await.unwrap();
    assert_eq!(places(db, "800000000001").await, ["62498"]);
    let (s, _) = rpps::import(db, &unsorted).await.unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 0, 1, 0));
    assert_eq!(places(db, "800000000001").await, ["62498", "62510"]);

    // A new professional whose rows are apart, under another name: one
    // professional, two places, the name kept from the first row and the
    // other reported.
    let e1 = row(4, "ROUX", "62498", "LENS");
    let e2 = row(4, "ROUSSEAU", "62510", "LIÉVIN");
    let (s, w) = rpps::import(db, &file(&[a, c, e1, b, d, e2]))
        .await
        .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (4, 1, 0, 0));
    assert_eq!(places(db, "800000000004").await, ["62498", "62510"]);
    assert!(
        w.iter()
            .any(|w| w.line == Some(7) && w.message.contains("ROUSSEAU")),
        "{w:?}"
    );
    assert_eq!(counts(db).await, (4, 6, 6));
    t.cleanup().await;
}
both!(late_rows_are_merged);

/// The import folds the search text in Rust; the migration and the FINESS
/// import fold it in SQL (`search_rows_sql`): the same rows either way.
async fn search_rows_fold_as_the_database(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let rows = [
        "810000000001|LEFÈVRE-DUPRÉ|Zoé|10|Médecin|SM54|Médecine générale (SM)|62498|LENS|\n"
            .to_owned(),
        "810000000002|D'ALEMBERT|Jean-Noël|60|Infirmier|||62510|LIÉVIN|\n".to_owned(),
        "810000000003|ŒUVRE & CIE|Ægir|40|Chirurgien-dentiste|||2A004|AJACCIO; CORSE: SUD/\"X\"|\n"
            .to_owned(),
        "810000000004|ÇA VA. BIEN,|Ÿves|50|Sage-femme|||62498|Saint-Étienne’s|\n".to_owned(),
        "810000000005|NGUYEN|Åsa|10|Médecin|SM26|Cardiologie|||\n".to_owned(),
    ];
    rpps::import(db, &file(&rows)).await.unwrap();
    let stored = "SELECT insee_code, kind, id, position, code, name, words FROM directory_search \
                  WHERE kind = 'professional' ORDER BY id, position";
    let built = format!(
        "SELECT * FROM ({}) s ORDER BY 3, 4",
        directory::search_rows_sql(directory::PROFESSIONAL_ROWS)
    );
    type SearchRow = (String, String, String, i64, String, String, String);
    let (a, b): (Vec<SearchRow>, Vec<SearchRow>) = match db {
        Db::Sqlite(p) => (
            sqlx::query_as(stored).fetch_all(p).await.unwrap(),
            sqlx::query_as(&built).fetch_all(p).await.unwrap(),
        ),
        Db::Postgres(p) => (
            sqlx::query_as(stored).fetch_all(p).await.unwrap(),
            sqlx::query_as(&built).fetch_all(p).await.unwrap(),
        ),
    };
    assert_eq!(a.len(), 5);
    assert_eq!(a, b);
    assert_eq!(
        a[0].6,
        " lefevre dupre zoe medecin medecine generale  sm  lens "
    );
    t.cleanup().await;
}
both!(search_rows_fold_as_the_database);

/// A file that reads `limit` bytes then fails, or that sets `reached` once
/// past `limit` and goes on slowly (so that a test can kill the import
/// while it stages).
struct Stopping {
    data: std::io::Cursor<Vec<u8>>,
    limit: u64,
    fail: bool,
    reached: Arc<AtomicBool>,
}

impl Read for Stopping {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.position() >= self.limit {
            if self.fail {
                return Err(std::io::Error::other("disque débranché"));
            }
            self.reached.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
        }
        let n = buf.len().min(4096);
        self.data.read(&mut buf[..n])
    }
}

fn big_file(n: u64) -> Vec<u8> {
    let rows: Vec<String> = (10..10 + n)
        .map(|i| row(i, &format!("NOM{i}"), "62498", "LENS"))
        .collect();
    file(&rows)
}

async fn a_stopped_import_changes_nothing(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let first = file(&[
        row(1, "DUPONT", "62498", "LENS"),
        row(2, "MARTIN", "62510", "LIÉVIN"),
    ]);
    rpps::import(db, &first).await.unwrap();
    let before = counts(db).await;
    let facets_before = directory::facets(db, &["62498".into(), "62510".into()])
        .await
        .unwrap();
    let big = big_file(30_000);
    let size = big.len() as u64;

    // The file fails two thirds of the way: refused, nothing applied.
    let failing = Stopping {
        data: std::io::Cursor::new(big.clone()),
        limit: size * 2 / 3,
        fail: true,
        reached: Arc::new(AtomicBool::new(false)),
    };
    let e = rpps::import_reader(
        db,
        std::io::BufReader::new(failing),
        size,
        None,
        &maillage::import::quiet,
        true,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("disque débranché"), "{e}");
    assert_eq!(counts(db).await, before);

    // The import killed while it stages: nothing applied either.
    let reached = Arc::new(AtomicBool::new(false));
    let slow = Stopping {
        data: std::io::Cursor::new(big.clone()),
        limit: size / 2,
        fail: false,
        reached: reached.clone(),
    };
    let task = {
        let db = db.clone();
        tokio::spawn(async move {
            rpps::import_reader(
                &db,
                std::io::BufReader::new(slow),
                size,
                None,
                &maillage::import::quiet,
                true,
            )
            .await
        })
    };
    while !reached.load(Ordering::SeqCst) {
        assert!(!task.is_finished(), "the import ended before it was killed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(counts(db).await, before);
    assert_eq!(
        directory::facets(db, &["62498".into(), "62510".into()])
            .await
            .unwrap(),
        facets_before
    );
    assert_eq!(directory::imports(db, 10).await.unwrap().len(), 1);

    // And the next import runs whole.
    let (s, _) = rpps::import_with(db, &big, &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!((s.total, s.added, s.removed), (30_000, 30_000, 2));
    assert_eq!(counts(db).await, (30_000, 30_000, 30_000));
    t.cleanup().await;
}
both!(a_stopped_import_changes_nothing);

/// The `maillage import rpps` process killed (SIGKILL) while it reads and
/// stages a large file: the directory keeps what it had, and the next
/// import runs whole.
async fn a_killed_import_process_changes_nothing(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    rpps::import(
        db,
        &file(&[
            row(1, "DUPONT", "62498", "LENS"),
            row(2, "MARTIN", "62510", "LIÉVIN"),
        ]),
    )
    .await
    .unwrap();
    let before = counts(db).await;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("rpps.txt");
    std::fs::write(&big, big_file(300_000)).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_maillage"))
        .args(["import", "rpps", big.to_str().unwrap(), "--force"])
        .env("MAILLAGE_DATABASE_URL", &t.url)
        .env("MAILLAGE_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run maillage");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the import ended before it was killed: make the file larger"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(counts(db).await, before);
    assert_eq!(directory::imports(db, 10).await.unwrap().len(), 1);
    let (s, _) = rpps::import_with(db, &big_file(1_000), &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!((s.total, s.added, s.removed), (1_000, 1_000, 2));
    assert_eq!(counts(db).await, (1_000, 1_000, 1_000));
    t.cleanup().await;
}
both!(a_killed_import_process_changes_nothing);

/// The indexes and constraints of the directory's tables, as the database
/// describes them.
async fn schema(db: &Db) -> Vec<String> {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(
            "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master \
             WHERE tbl_name IN ('professionals', 'practice_places', 'directory_search') ORDER BY name",
        )
        .fetch_all(p)
        .await
        .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(
            "SELECT indexname || ' ' || indexdef FROM pg_indexes \
             WHERE tablename IN ('professionals', 'practice_places', 'directory_search') \
             UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid IN ('professionals'::regclass, 'practice_places'::regclass, 'directory_search'::regclass) \
             ORDER BY 1",
        )
        .fetch_all(p)
        .await
        .unwrap(),
    }
}

/// A first import into an empty directory makes the indexes and the
/// foreign key after the rows: the schema it leaves is the migrations' own,
/// and removing a professional still takes their places with them.
async fn a_first_import_leaves_the_migrations_schema(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    let migrated = schema(db).await;
    assert!(migrated.len() >= 5, "{migrated:?}");
    let n = maillage::storage::professionals_import::BULK_FROM as u64 + 10;
    let (s, _) = rpps::import_with(db, &big_file(n), &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!(s.added, n as i64);
    assert_eq!(schema(db).await, migrated);
    // The foreign key holds: a professional gone takes their place.
    let fewer: Vec<String> = (10..10 + n - 1)
        .map(|i| row(i, &format!("NOM{i}"), "62498", "LENS"))
        .collect();
    let (s, _) = rpps::import_with(db, &file(&fewer), &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!(s.removed, 1);
    assert_eq!(counts(db).await, (n as i64 - 1, n as i64 - 1, n as i64 - 1));
    let orphans = "SELECT COUNT(*) FROM practice_places pl WHERE NOT EXISTS \
                   (SELECT 1 FROM professionals p WHERE p.rpps = pl.rpps)";
    let orphans: i64 = match db {
        Db::Sqlite(p) => sqlx::query_scalar(orphans).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(orphans).fetch_one(p).await,
    }
    .unwrap();
    assert_eq!(orphans, 0);
    let search = directory::facets(db, &["62498".into()]).await.unwrap();
    assert_eq!(search.professions.len(), 1);
    t.cleanup().await;
}
both!(a_first_import_leaves_the_migrations_schema);

/// A varied activity file: professionals of the five RPPS professions and
/// others, one to three places each over five communes (one place without
/// a commune), in and out of hospital, and labels that differ within a
/// profession (the facets keep the largest).
fn varied_file() -> Vec<u8> {
    const VARIED: &str = "Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Code commune (coord. structure)|Libellé commune (coord. structure)|Code secteur d'activité|";
    let professions = [
        ("10", "Médecin"),
        ("60", "Infirmier"),
        ("70", "Masseur-Kinésithérapeute"),
        ("40", "Chirurgien-Dentiste"),
        ("50", "Sage-Femme"),
        ("91", "Orthophoniste"),
    ];
    let communes = ["62498", "62510", "62771", "62065", "63457", ""];
    let sectors = [
        ("SA07", "L"),
        ("SA01", "S"),
        ("", "L"),
        ("SA05", "S"),
        ("", "S"),
    ];
    let specialties = ["SM54", "SM02", "SM53", ""];
    let mut f = format!("{VARIED}\n");
    // Spread by a multiplicative hash, so that every combination occurs.
    let pick =
        |i: u64, salt: u64, n: usize| ((i * 2_654_435_761 + salt * 40_503) >> 7) as usize % n;
    for i in 0..300u64 {
        let (code, label) = professions[pick(i, 1, professions.len())];
        let label = if i % 31 == 0 {
            format!("{label} (ancien)")
        } else {
            label.to_owned()
        };
        for k in 0..1 + pick(i, 2, 3) as u64 {
            let commune = communes[pick(i, 3 + k, communes.len())];
            let (sector, mode) = sectors[pick(i, 7 + k, sectors.len())];
            let sf = specialties[pick(i, 11 + k, specialties.len())];
            f += &format!(
                "8{i:011}|NOM{i}|Prénom|{code}|{label}|{sf}||{mode}|{commune}|VILLE|{sector}|\n"
            );
        }
    }
    f.into_bytes()
}

/// The profession facets and the supply, as the tables hold them.
async fn derived(
    db: &Db,
) -> (
    Vec<(String, String, String, i64)>,
    Vec<(String, String, f64)>,
) {
    let facets = "SELECT insee_code, code, label, CAST(n AS BIGINT) FROM directory_facet_counts \
                  WHERE kind = 'profession' ORDER BY insee_code, code";
    let supply = "SELECT insee_code, profession, supply FROM commune_supply \
                  WHERE profession <> 'pharmacies' ORDER BY insee_code, profession";
    match db {
        Db::Sqlite(p) => (
            sqlx::query_as(facets).fetch_all(p).await.unwrap(),
            sqlx::query_as(supply).fetch_all(p).await.unwrap(),
        ),
        Db::Postgres(p) => (
            sqlx::query_as(facets).fetch_all(p).await.unwrap(),
            sqlx::query_as(supply).fetch_all(p).await.unwrap(),
        ),
    }
}

/// Into an empty directory the import sums the profession facets and the
/// supply as it reads (`professionals_import::Sums`); otherwise the apply
/// transaction computes them in SQL. Both give the same rows.
async fn summed_facets_and_supply_equal_the_sql(backend: Backend) {
    let varied = varied_file();
    // Summed: the file into an empty directory.
    let a = fresh_db(backend).await;
    let (s, _) = rpps::import(&a.db, &varied).await.unwrap();
    assert_eq!(s.added, 300);
    let summed = derived(&a.db).await;
    a.cleanup().await;
    // In SQL: the same file into a directory that held someone else.
    let b = fresh_db(backend).await;
    rpps::import(&b.db, &file(&[row(999_999, "AUTRE", "62498", "LENS")]))
        .await
        .unwrap();
    let (s, _) = rpps::import_with(&b.db, &varied, &maillage::import::quiet, true)
        .await
        .unwrap();
    assert_eq!((s.added, s.removed), (300, 1));
    let computed = derived(&b.db).await;
    b.cleanup().await;

    assert_eq!(summed.0, computed.0);
    assert!(summed.0.len() > 20, "{:?}", summed.0);
    assert!(summed.0.iter().any(|(_, _, l, _)| l.ends_with("(ancien)")));
    assert!(summed.0.iter().any(|(_, _, _, n)| *n > 1));
    assert_eq!(summed.1.len(), computed.1.len(), "{summed:?} {computed:?}");
    assert!(summed.1.len() > 10, "{:?}", summed.1);
    assert!(summed.1.iter().any(|(_, _, x)| x.fract() != 0.0));
    for (x, y) in summed.1.iter().zip(&computed.1) {
        assert_eq!((&x.0, &x.1), (&y.0, &y.1));
        assert!((x.2 - y.2).abs() < 1e-9, "{x:?} {y:?}");
    }
}
both!(summed_facets_and_supply_equal_the_sql);
