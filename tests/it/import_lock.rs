//! A back-office RPPS import no longer locks everyone else out of the
//! database (issue 15, item 7): public registrations made while a large
//! import runs all succeed, quickly, on SQLite and PostgreSQL.

use crate::common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use maillage::domain::agenda::event::NewRegistration;
use maillage::import::rpps::{PracticePlace, Professional};
use maillage::storage::agenda::{self, EventInput, SessionInput};
use maillage::storage::audit::Actor;

/// Rows enough for the import's writing to last several seconds.
const ROWS: usize = 60_000;

fn professionals(n: usize) -> Vec<Professional> {
    (0..n)
        .map(|i| Professional {
            rpps: format!("81{i:09}"),
            last_name: format!("NOM{i}"),
            first_name: "Marie".into(),
            profession_code: "10".into(),
            profession_label: "Médecin".into(),
            places: vec![PracticePlace {
                specialty_code: "SM54".into(),
                specialty_label: "Médecine générale".into(),
                address: format!("{i} rue du Marché"),
                postal_code: "62300".into(),
                insee_code: Some("62498".into()),
                city: "LENS".into(),
                ..Default::default()
            }],
        })
        .collect()
}

async fn registrations_during_an_import(backend: Backend) {
    let app = TestApp::start(backend).await;
    let actor = Actor::system("test");
    let lens = maillage::storage::territories::get_by_slug(&app.db, "lens-lievin")
        .await
        .unwrap()
        .unwrap();
    let e = agenda::create_event(
        &app.db,
        &actor,
        lens.id,
        &EventInput {
            title: "Forum".into(),
            kind: "forum".into(),
            status: "confirmed".into(),
            organiser: String::new(),
            themes: String::new(),
            description: String::new(),
            linked_actions: String::new(),
            programme_to_come: false,
            action_id: None,
        },
    )
    .await
    .unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(5);
    let s = agenda::add_session(
        &app.db,
        &actor,
        lens.id,
        e.id,
        &SessionInput {
            starts_at: start,
            ends_at: start + chrono::Duration::hours(2),
            place_id: None,
            capacity: None,
            audience: "public".into(),
            audience_roles: String::new(),
        },
    )
    .await
    .unwrap();

    let rows = professionals(ROWS);
    let db = app.db.clone();
    let import = tokio::spawn(async move {
        let started = Instant::now();
        let summary =
            maillage::storage::directory::replace_professionals(&db, &rows, 0, "", &|_, _, _| {})
                .await
                .expect("import");
        (summary, started.elapsed())
    });
    let mut slowest = Duration::ZERO;
    let mut during = 0;
    let mut n = 0;
    while !import.is_finished() {
        let t = Instant::now();
        let r = agenda::register(
            &app.db,
            s.id,
            &NewRegistration {
                name: format!("Personne {n}"),
                email: Some(format!("p{n}@exemple.test")),
                phone: None,
                party_size: 1,
                consent: true,
            },
            None,
            "public",
        )
        .await;
        assert!(
            r.is_ok(),
            "registration {n} failed during the import: {r:?}"
        );
        slowest = slowest.max(t.elapsed());
        n += 1;
        if !import.is_finished() {
            during += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (summary, took) = import.await.unwrap();
    assert_eq!(summary.added, ROWS as i64);
    assert!(
        during >= 3,
        "the import ran too fast ({took:?}) to overlap registrations"
    );
    assert!(
        slowest < Duration::from_secs(3),
        "a registration waited {slowest:?} for an import of {took:?}"
    );
    assert_eq!(
        maillage::storage::agenda::registrations(&app.db, s.id)
            .await
            .unwrap()
            .len(),
        n
    );
    app.stop().await;
}
both!(registrations_during_an_import);

const RPPS_HEADER: &str = "Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code savoir-faire|Libellé savoir-faire|Code commune (coord. structure)|Libellé commune (coord. structure)|";

fn rpps_file(ids: std::ops::Range<usize>) -> String {
    let mut s = format!("{RPPS_HEADER}\n");
    for i in ids {
        s.push_str(&format!(
            "81000000{i:04}|NOM{i}|Marie|10|Médecin|||62498|Lens|\n"
        ));
    }
    s
}

/// A re-import that would remove more than 20 % of the directory is refused
/// unless forced; nothing changes meanwhile.
async fn shrinking_reimports_need_force(backend: Backend) {
    use maillage::import::{quiet, rpps, ImportError};
    let t = common::fresh_db(backend).await;
    let db = &t.db;
    rpps::import(db, rpps_file(0..100).as_bytes())
        .await
        .unwrap();
    // 85 of 100: fine.
    let (s, _) = rpps::import(db, rpps_file(0..85).as_bytes()).await.unwrap();
    assert_eq!(s.removed, 15);
    // 7 of 85: refused, with a message saying how to force it.
    let e = rpps::import(db, rpps_file(0..7).as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::Shrinks {
                before: 85,
                after: 7
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("--force"), "{e}");
    assert_eq!(
        maillage::storage::directory::professional_count(db)
            .await
            .unwrap(),
        85
    );
    // Forced: done.
    let (s, _) = rpps::import_with(db, rpps_file(0..7).as_bytes(), &quiet, true)
        .await
        .unwrap();
    assert_eq!(s.removed, 78);
    t.cleanup().await;
}
both!(shrinking_reimports_need_force);

/// One RPPS identifier with two different names is reported.
#[tokio::test]
async fn duplicate_rpps_identifiers_with_other_names_are_reported() {
    let t = common::fresh_db(Backend::Sqlite).await;
    let file = format!(
        "{RPPS_HEADER}\n810000000001|DUPONT|Marie|10|Médecin|||62498|Lens|\n\
         810000000001|Dupont|Marie|10|Médecin|||62510|Liévin|\n\
         810000000001|MARTIN|Paul|10|Médecin|||62510|Liévin|\n"
    );
    let (s, warnings) = maillage::import::rpps::import(&t.db, file.as_bytes())
        .await
        .unwrap();
    assert_eq!(s.total, 1);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, Some(4));
    assert!(
        warnings[0].message.contains("autre nom") && warnings[0].message.contains("MARTIN Paul")
    );
    let history = maillage::storage::directory::imports(&t.db, 1)
        .await
        .unwrap();
    assert!(history[0].report.contains("autre nom"));
    t.cleanup().await;
}
