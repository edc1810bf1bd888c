//! Our E2SFCA against an independent implementation: PySAL's `access`
//! package (`tests/pysal_e2sfca.py`, installed by `scripts/test.sh`), with
//! the same places, supply, cost matrix (our catchments, self pairs
//! included) and bands. Equal to 1e-9 relative.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use maillage::domain::diagnosis::access::excluded;
use maillage::domain::diagnosis::{e2sfca, Bands, Catchments, NoScore, Place, TravelModel};

/// Run PySAL's `access` on what our computation saw and assert that its
/// scores equal `ours` (A_i × 10,000) to 1e-9 relative. Places without a
/// point or population must have no score on our side and are not sent.
/// Our documented rule for a supply place with no demand within reach
/// (R_j = 0, `access` would divide by 0) is applied to what is sent: such
/// supply is sent as 0, which changes nothing on our side.
pub fn compare_with_pysal(
    places: &[Place],
    supply: &[f64],
    catchments: &Catchments,
    bands: &Bands,
    ours: &[Result<f64, NoScore>],
) {
    assert_eq!(ours.len(), places.len(), "one score per place");
    let part: Vec<bool> = places.iter().map(|p| excluded(p).is_none()).collect();
    for (i, p) in places.iter().enumerate() {
        if !part[i] {
            assert_eq!(ours[i], Err(excluded(p).unwrap()), "{}", p.code);
        }
    }
    let mut has_demand = vec![false; places.len()];
    let mut cost = Vec::new();
    for (k, j, t) in catchments.pairs() {
        if part[k] && part[j] {
            cost.push(serde_json::json!([places[k].code, places[j].code, t]));
            if places[k].population.unwrap_or(0.0) > 0.0 && bands.weight(t) > 0.0 {
                has_demand[j] = true;
            }
        }
    }
    let mut supply_map = serde_json::Map::new();
    let mut sent = Vec::new();
    for (i, p) in places.iter().enumerate() {
        if !part[i] {
            continue;
        }
        sent.push(serde_json::json!({"code": p.code, "population": p.population}));
        let s = supply.get(i).copied().unwrap_or(0.0);
        if has_demand[i] && s.is_finite() && s > 0.0 {
            supply_map.insert(p.code.clone(), serde_json::json!(s));
        }
    }
    let bands_json: Vec<serde_json::Value> = bands
        .pairs()
        .into_iter()
        .map(|(m, w)| serde_json::json!([m, w]))
        .collect();
    let input = serde_json::json!({
        "places": sent,
        "supply": supply_map,
        "cost": cost,
        "bands": bands_json,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pysal_e2sfca.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (see scripts/test.sh)");
    let body = serde_json::to_vec(&input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "python: {} (pip install access, see scripts/test.sh)",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: HashMap<String, Option<f64>> = serde_json::from_slice(&out.stdout).unwrap();
    let mut compared = 0;
    for (i, p) in places.iter().enumerate() {
        if !part[i] {
            continue;
        }
        let mine = *ours[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", p.code));
        let other = theirs
            .get(&p.code)
            .copied()
            .flatten()
            .unwrap_or_else(|| panic!("{}: no score from access", p.code));
        let scale = mine.abs().max(other.abs());
        assert!(
            (mine - other).abs() <= 1e-9 * scale || (mine - other).abs() < 1e-300,
            "{}: ours {mine}, access {other}",
            p.code
        );
        compared += 1;
    }
    assert_eq!(compared, theirs.len());
}

/// A small deterministic generator (SplitMix64), so that the case is the
/// same on every run.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Fifty communes scattered over 40 × 40 km around Arras, populations from
/// 50 to 20,000, half of them with supply (some with fractions, as when a
/// professional has several places), one without a point, one without a
/// population, one empty commune, and two imported times (one bringing in
/// a pair beyond the distance cut).
#[test]
fn fifty_places_agree_with_pysal_access() {
    let mut rng = Mix(20_260_611);
    let mut places: Vec<Place> = (0..50)
        .map(|i| Place {
            code: format!("62{:03}", i + 1),
            point: Some((50.1 + rng.unit() * 0.36, 2.5 + rng.unit() * 0.56)),
            population: Some((50.0 + rng.unit().powi(3) * 20_000.0).round()),
        })
        .collect();
    places[7].point = None;
    places[11].population = None;
    places[13].population = Some(0.0);
    let supply: Vec<f64> = (0..50)
        .map(|_| {
            if rng.unit() < 0.5 {
                (rng.unit() * 12.0 * 2.0).round() / 2.0 + 1.0 / 3.0
            } else {
                0.0
            }
        })
        .collect();
    let mut model = TravelModel::default();
    model
        .overrides
        .insert((places[0].code.clone(), places[1].code.clone()), 12.5);
    // A far pair made near, and one way only.
    places[49].point = Some((51.5, 4.0));
    model
        .overrides
        .insert((places[49].code.clone(), places[2].code.clone()), 18.0);
    let bands = Bands::default();
    let c = Catchments::build(&places, &model, bands.reach());
    assert!(c.within_reach(2).any(|(j, _)| j == 49));
    let ours = e2sfca(&c, &places, &supply, &bands);
    assert!(
        ours.iter()
            .filter(|a| matches!(a, Ok(x) if *x > 0.0))
            .count()
            > 30
    );
    compare_with_pysal(&places, &supply, &c, &bands, &ours);

    // Other bands, same agreement.
    let wide = Bands::parse("15:1;30:0.5;45:0.1").unwrap();
    let c = Catchments::build(&places, &model, wide.reach());
    let ours = e2sfca(&c, &places, &supply, &wide);
    compare_with_pysal(&places, &supply, &c, &wide, &ours);
}

/// The scores stored for the demo data (the territory, the 616 communes
/// within 30 km with their outlines, the demo registers) equal what PySAL's
/// `access` computes from the same inputs, for a profession of the RPPS and
/// one of FINESS; and our stored scores are the ones recomputed here.
async fn demo_scores_agree_with_pysal(backend: crate::common::Backend) {
    use maillage::domain::diagnosis::Profession;
    use maillage::storage::diagnosis as store;

    let app = crate::common::TestApp::start(backend).await;
    maillage::demo::load_maps(&app.db).await.expect("outlines");
    maillage::diagnosis::refresh(&app.db)
        .await
        .expect("refresh");
    let inputs = store::access_inputs(&app.db).await.unwrap();
    let supply = store::all_supply(&app.db).await.unwrap();
    let times = store::all_travel_times(&app.db).await.unwrap();
    let settings = maillage::diagnosis::settings(&app.db).await.unwrap();
    let prepared = maillage::diagnosis::prepare(&inputs, &supply, &times, &settings);
    assert!(prepared.catchments.len() > 600, "the communes around count");
    for p in prepared.professions.iter().filter(|p| {
        matches!(
            p.profession,
            Profession::Generalistes | Profession::Pharmacies
        )
    }) {
        assert!(
            p.supply.iter().sum::<f64>() > 0.0,
            "{:?} has supply",
            p.profession
        );
        let ours = e2sfca(&prepared.catchments, &p.places, &p.supply, &p.bands);
        let codes: Vec<String> = p.places.iter().map(|x| x.code.clone()).collect();
        let stored: HashMap<String, Option<f64>> =
            store::access_for(&app.db, p.profession.slug(), &codes)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.insee_code, r.score))
                .collect();
        for (place, score) in p.places.iter().zip(&ours) {
            assert_eq!(
                stored[&place.code],
                score.as_ref().ok().copied(),
                "{}",
                place.code
            );
        }
        compare_with_pysal(&p.places, &p.supply, &prepared.catchments, &p.bands, &ours);
    }
    app.stop().await;
}
both!(demo_scores_agree_with_pysal);
