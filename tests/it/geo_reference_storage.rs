//! Reference data for maps and the diagnosis (outlines, points, population,
//! travel times), on SQLite and PostgreSQL.

use crate::common;

use common::{fresh_db, Backend};
use maillage::import::{geo, population, travel_times};
use maillage::storage::directory::{self, Point};
use maillage::storage::geo_reference;

/// Lens (62498) and Liévin (62510) as rough rectangles; Liévin with a hole.
const OUTLINES: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"62498","nom":"Lens"},"geometry":{"type":"Polygon","coordinates":[[[2.80,50.41],[2.85,50.41],[2.85,50.45],[2.80,50.45],[2.80,50.41]]]}},
{"type":"Feature","properties":{"code":"62510","nom":"Liévin"},"geometry":{"type":"Polygon","coordinates":[[[2.74,50.40],[2.80,50.40],[2.80,50.44],[2.74,50.44],[2.74,50.40]],[[2.76,50.41],[2.77,50.41],[2.77,50.42],[2.76,50.41]]]}}
]}"#;

const POPULATION: &str =
    "CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;P21_POP6074;P21_POP75P\n\
62498;32920,4;6500;7000;6000;5800;4700;2920,4\n\
62510;30500;6000;6000;6000;6000;4000;2500\n";

fn codes(c: &[&str]) -> Vec<String> {
    c.iter().map(|s| s.to_string()).collect()
}

async fn reference_data_import_and_read(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    maillage::demo::load_geography(db).await.unwrap();

    // Outlines: two communes, each with a point inside.
    let s = geo::import(db, OUTLINES.as_bytes()).await.unwrap();
    assert_eq!((s.total, s.added, s.changed), (2, 2, 0));
    let points = geo_reference::points(db, &codes(&["62498", "62510", "62001"]))
        .await
        .unwrap();
    assert_eq!(points.len(), 2);
    let (lat, lon) = points["62498"];
    assert!(
        (50.41..50.45).contains(&lat) && (2.80..2.85).contains(&lon),
        "{lat} {lon}"
    );
    let outlines = geo_reference::outlines(db, &codes(&["62510", "62498"]))
        .await
        .unwrap();
    assert_eq!(outlines[0].0, "62498");
    let lievin: serde_json::Value = serde_json::from_str(&outlines[1].1).unwrap();
    assert_eq!(lievin["type"], "Polygon");
    assert_eq!(
        lievin["coordinates"].as_array().unwrap().len(),
        2,
        "the hole stays"
    );
    // The same file again changes nothing.
    let s = geo::import(db, OUTLINES.as_bytes()).await.unwrap();
    assert_eq!((s.total, s.added, s.changed), (2, 0, 0));

    // A town-hall point replaces Lens's point, keeps its outline, and stays
    // when the outlines are imported again.
    let s = geo::import(
        db,
        b"code;latitude;longitude\n62498;50.4322;2.8317\n62001;50.3953;2.7133\n",
    )
    .await
    .unwrap();
    assert_eq!((s.total, s.added, s.changed), (2, 1, 1));
    geo::import(db, OUTLINES.as_bytes()).await.unwrap();
    let points = geo_reference::points(db, &codes(&["62498", "62001"]))
        .await
        .unwrap();
    assert_eq!(points["62498"], (50.4322, 2.8317));
    assert_eq!(points["62001"], (50.3953, 2.7133));
    let outlines = geo_reference::outlines(db, &codes(&["62498", "62001"]))
        .await
        .unwrap();
    assert_eq!(outlines.len(), 1, "62001 has a point only");

    // The directory's distance search takes the imported point first.
    let p = directory::commune_point(db, "62498")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.latitude, p.longitude), (50.4322, 2.8317));
    let near = directory::communes_near(
        db,
        Point {
            latitude: 50.4322,
            longitude: 2.8317,
        },
        8.0,
    )
    .await
    .unwrap();
    let near: Vec<&str> = near.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(near[0], "62498");
    assert!(near.contains(&"62510"), "{near:?}");
    assert!(!near.contains(&"62001"), "{near:?}");
    let within = geo_reference::communes_within(db, 50.4322, 2.8317, 15.0)
        .await
        .unwrap();
    assert_eq!(within, codes(&["62498", "62510", "62001"]));

    // Population by age.
    let s = population::import(db, POPULATION.as_bytes()).await.unwrap();
    assert_eq!((s.total, s.added, s.changed), (2, 2, 0));
    let pops = geo_reference::populations(db, &codes(&["62498", "62001"]))
        .await
        .unwrap();
    assert_eq!(pops.len(), 1);
    assert_eq!(pops["62498"].year, 2021);
    assert_eq!(pops["62498"].total, 32920.4);
    assert_eq!(pops["62498"].age_75_plus, 2920.4);

    // Travel times: a re-import replaces the table.
    let s = travel_times::import(
        db,
        b"origin;destination;minutes\n62498;62510;12.5\n62510;62498;13\n62001;62498;20\n",
    )
    .await
    .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (3, 3, 0, 0));
    let s = travel_times::import(
        db,
        b"origin;destination;minutes\n62498;62510;11\n62510;62001;25\n",
    )
    .await
    .unwrap();
    assert_eq!((s.total, s.added, s.changed, s.removed), (2, 1, 1, 2));
    let tt = geo_reference::travel_times(db, &codes(&["62001"]))
        .await
        .unwrap();
    assert_eq!(tt, vec![("62510".into(), "62001".into(), 25.0)]);
    let tt = geo_reference::travel_times(db, &codes(&["62498", "62510"]))
        .await
        .unwrap();
    assert_eq!(tt.len(), 2);

    // Each import is in the history, for « source and date » notes.
    for source in ["geo", "population", "travel-times"] {
        let last = directory::latest_import(db, source).await.unwrap();
        assert!(last.is_some(), "{source}");
    }
    assert_eq!(
        directory::latest_import(db, "travel-times")
            .await
            .unwrap()
            .unwrap()
            .removed,
        2
    );
    t.cleanup().await;
}
both!(reference_data_import_and_read);

/// A file refused at its last entry writes nothing and leaves no history.
async fn a_file_refused_halfway_writes_nothing(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    maillage::demo::load_geography(db).await.unwrap();
    geo::import(db, OUTLINES.as_bytes()).await.unwrap();
    travel_times::import(db, b"origin;destination;minutes\n62498;62510;12\n")
        .await
        .unwrap();
    let history = directory::imports(db, 50).await.unwrap().len();

    let bad_outlines = OUTLINES.replace("\n]}", ",\n{\"type\":\"Feature\",\"properties\":{\"code\":\"62001\",\"nom\":\"Ablain\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[]}}\n]}")
        .replace("[2.80,50.41],[2.85,50.41]", "[2.80,50.41],[2.86,50.41]");
    let err = geo::import(db, bad_outlines.as_bytes()).await.unwrap_err();
    assert!(err.to_string().contains("entité 3 : "), "{err}");
    let err = travel_times::import(
        db,
        b"origin;destination;minutes\n62510;62498;9\n62498;62510;-1\n",
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("ligne 3 : durée négative"),
        "{err}"
    );
    let err = population::import(db, format!("{POPULATION}62999;1;1;1;1;1;1;1\n").as_bytes())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ligne 4 : commune inconnue 62999"),
        "{err}"
    );

    let outlines = geo_reference::outlines(db, &codes(&["62498", "62001"]))
        .await
        .unwrap();
    assert_eq!(outlines.len(), 1);
    assert!(!outlines[0].1.contains("2.86"));
    let tt = geo_reference::travel_times(db, &codes(&["62498"]))
        .await
        .unwrap();
    assert_eq!(tt, vec![("62498".into(), "62510".into(), 12.0)]);
    assert!(geo_reference::populations(db, &codes(&["62498"]))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(directory::imports(db, 50).await.unwrap().len(), history);
    t.cleanup().await;
}
both!(a_file_refused_halfway_writes_nothing);

/// The demo ships outlines for its territory and the communes within 30
/// km, which exist as communes with their population.
async fn the_demo_has_maps_across_its_border(backend: Backend) {
    let t = fresh_db(backend).await;
    let db = &t.db;
    maillage::demo::load_geography(db).await.unwrap();
    maillage::demo::load_maps(db).await.unwrap();
    let members: Vec<String> = maillage::storage::communes::epci_communes(db, "246200364")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.insee_code)
        .collect();
    let outlines = geo_reference::outlines(db, &members).await.unwrap();
    assert_eq!(outlines.len(), members.len());
    // Douai (59178) is about 20 km from Lens: a neighbour with a population.
    let within = geo_reference::communes_within(db, 50.4322, 2.8317, 30.0)
        .await
        .unwrap();
    assert!(within.contains(&"59178".to_owned()), "{}", within.len());
    let douai = maillage::storage::communes::get_commune(db, "59178")
        .await
        .unwrap()
        .unwrap();
    assert!(douai.population.unwrap_or(0) > 30_000);
    t.cleanup().await;
}
both!(the_demo_has_maps_across_its_border);
