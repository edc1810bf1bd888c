//! The territory's health diagnosis: care supply per commune, densities,
//! and accessibility by the enhanced two-step floating catchment area
//! (E2SFCA), and the chapters and findings of the diagnosis page. No I/O: the storage gives supply and populations, the pages
//! and the API show what these functions compute. The method is written
//! in ARCHITECTURE.md (« Diagnostic : méthode »).

pub mod access;
pub mod chapter;
pub mod figures;
pub mod population;
pub mod profession;
pub mod stats;

pub use access::{e2sfca, haversine_km, Bands, Catchments, NoScore, Place, TravelModel};
pub use population::{standardised, AgeBands, AgeWeights};
pub use profession::{practises_outside_hospital, rpps_shares, rpps_supply, Profession, Register};
pub use stats::{density_per_10000, median};

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::directory::{PracticePlace, Professional};

    fn place(code: &str, lon: f64, population: f64) -> Place {
        Place {
            code: code.into(),
            point: Some((45.0, lon)),
            population: Some(population),
        }
    }

    fn practice(commune: &str, sector: &str, mode: &str) -> PracticePlace {
        PracticePlace {
            specialty_code: "SM54".into(),
            specialty_label: "Médecine générale".into(),
            mode_code: mode.into(),
            sector_code: sector.into(),
            insee_code: Some(commune.into()),
            ..Default::default()
        }
    }

    fn gp(rpps: &str, places: Vec<PracticePlace>) -> Professional {
        Professional {
            rpps: rpps.into(),
            last_name: "NOM".into(),
            profession_code: "10".into(),
            places,
            ..Default::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// Worked by hand. The territory holds communes A (1,000 inhabitants)
    /// and B (2,000); D (1,000), just over the border, is not in it but its
    /// people use B's doctors. Times (imported, the points being 78 km apart
    /// so that the estimate would put them out of reach): A–B 15 min
    /// (W = 0.68), D→B 8 min (W = 1, given one way, serves both), A–D 25 min
    /// (W = 0.22); each commune to itself 0 min (W = 1).
    ///
    /// Supply: doctor X practises in A only (1 in A); doctor Y has three
    /// places: a group practice in A, a health centre in B and the hospital
    /// in D. The hospital does not count, so Y has n = 2 places: 1/2 in A
    /// and 1/2 in B. S_A = 1.5, S_B = 0.5, S_D = 0.
    ///
    /// Step 1 (demand seen by each supply commune):
    ///   D_A = 1·1000 + 0.68·2000 + 0.22·1000 = 2580,  R_A = 1.5 / 2580
    ///   D_B = 0.68·1000 + 1·2000 + 1·1000   = 3680,  R_B = 0.5 / 3680
    /// Step 2 (× 10,000):
    ///   A_A = 1·R_A + 0.68·R_B = 1.5/2580 + 0.34/3680 = 6.737866531…e-4 → 6.737866531…
    ///   A_B = 0.68·R_A + 1·R_B = 1.02/2580 + 0.5/3680 = 5.312184024…e-4 → 5.312184024…
    ///   A_D = 0.22·R_A + 1·R_B = 0.33/2580 + 0.5/3680 = 2.637765419…e-4 → 2.637765419…
    /// Without D (the border ignored), B would score 1.02/2360 + 0.5/2680
    /// = 6.19 instead of 5.31: D's people share B's doctors.
    #[test]
    fn worked_case_with_a_border_commune_and_a_shared_doctor() {
        let pros = vec![
            gp("10000000001", vec![practice("A", "SA07", "L")]),
            gp(
                "10000000002",
                vec![
                    practice("A", "SA08", "L"),
                    practice("B", "SA05", "S"),
                    practice("D", "SA01", "S"),
                ],
            ),
        ];
        let supply_map = rpps_supply(Profession::Generalistes, &pros);
        assert_eq!(supply_map.get("A"), Some(&1.5));
        assert_eq!(supply_map.get("B"), Some(&0.5));
        assert_eq!(supply_map.get("D"), None);
        assert_eq!(rpps_supply(Profession::Infirmiers, &pros).len(), 0);

        let places = vec![
            place("A", 0.0, 1000.0),
            place("B", 1.0, 2000.0),
            place("D", 2.0, 1000.0),
        ];
        let supply: Vec<f64> = places
            .iter()
            .map(|p| supply_map.get(&p.code).copied().unwrap_or(0.0))
            .collect();
        let mut overrides = HashMap::new();
        overrides.insert(("A".to_owned(), "B".to_owned()), 15.0);
        overrides.insert(("D".to_owned(), "B".to_owned()), 8.0);
        overrides.insert(("A".to_owned(), "D".to_owned()), 25.0);
        let model = TravelModel {
            overrides,
            ..Default::default()
        };
        let bands = Bands::default();
        let c = Catchments::build(&places, &model, bands.reach());
        assert_eq!(c.pair_count(), 9);
        let a = e2sfca(&c, &places, &supply, &bands);
        let expect = [
            (1.5 / 2580.0 + 0.34 / 3680.0) * 1e4,
            (1.02 / 2580.0 + 0.5 / 3680.0) * 1e4,
            (0.33 / 2580.0 + 0.5 / 3680.0) * 1e4,
        ];
        for (got, want) in a.iter().zip(expect) {
            assert!(close(*got.as_ref().unwrap(), want), "{got:?} != {want}");
        }
        assert!(close(*a[0].as_ref().unwrap(), 6.737866531));
        // 6.7378665319… to ten digits, as worked above.
        assert!((a[1].as_ref().unwrap() - 5.312184024).abs() < 1e-8);
        assert!((a[2].as_ref().unwrap() - 2.637765419).abs() < 1e-8);

        // The border ignored: B looks better than it is.
        let inside = &places[..2];
        let c2 = Catchments::build(inside, &model, bands.reach());
        let a2 = e2sfca(&c2, inside, &supply[..2], &bands);
        assert!(close(
            *a2[1].as_ref().unwrap(),
            (1.02 / 2360.0 + 0.5 / 2680.0) * 1e4
        ));
    }

    #[test]
    fn places_without_point_or_population_take_no_part() {
        let places = vec![
            Place {
                code: "A".into(),
                point: Some((50.0, 2.0)),
                population: Some(1000.0),
            },
            Place {
                code: "E".into(),
                point: None,
                population: Some(5000.0),
            },
            Place {
                code: "F".into(),
                point: Some((50.0, 2.01)),
                population: None,
            },
            // An empty commune with a doctor and nobody within reach.
            Place {
                code: "G".into(),
                point: Some((44.0, 4.0)),
                population: Some(0.0),
            },
        ];
        let supply = [1.0, 3.0, 2.0, 1.0];
        let bands = Bands::default();
        let c = Catchments::build(&places, &TravelModel::default(), bands.reach());
        let a = e2sfca(&c, &places, &supply, &bands);
        // A alone: 1 doctor for 1,000 people; F's doctors and E's are not counted.
        assert!(close(*a[0].as_ref().unwrap(), 10.0));
        assert_eq!(a[1], Err(NoScore::NoPoint));
        assert_eq!(a[2], Err(NoScore::NoPopulation));
        // G: R_G undefined (no demand) → 0; G reaches nothing else.
        assert_eq!(a[3], Ok(0.0));
        assert!(NoScore::NoPoint.reason().contains("position"));
        assert!(NoScore::NoPopulation.reason().contains("population"));
        // Mismatched inputs do not panic.
        assert_eq!(e2sfca(&c, &places, &[], &bands)[0], Ok(0.0));
        let empty = Catchments::build(&[], &TravelModel::default(), 30.0);
        assert!(empty.is_empty());
        assert_eq!(e2sfca(&empty, &[], &[], &bands), vec![]);
    }

    #[test]
    fn estimated_times_and_the_grid_find_the_same_pairs_as_all_pairs() {
        // 400 places on a 20 × 20 lattice of 0.1° around Lens: the grid's
        // pairs must be exactly those an all-pairs loop finds.
        let mut places = Vec::new();
        for a in 0..20 {
            for b in 0..20 {
                places.push(Place {
                    code: format!("{a:02}{b:02}"),
                    point: Some((49.5 + a as f64 * 0.1, 2.0 + b as f64 * 0.1)),
                    population: Some(100.0 + (a * 20 + b) as f64),
                });
            }
        }
        let model = TravelModel::default();
        let c = Catchments::build(&places, &model, 30.0);
        let mut brute = 0;
        for (i, p) in places.iter().enumerate() {
            let mine: Vec<(usize, f64)> = c.within_reach(i).collect();
            let mut all = Vec::new();
            for (j, q) in places.iter().enumerate() {
                let t = model.minutes(p, q).unwrap();
                if t <= 30.0 {
                    all.push((j, t));
                }
            }
            brute += all.len();
            assert_eq!(mine, all, "place {i}");
        }
        assert_eq!(c.pair_count(), brute);
        // 1.3 min per km: 0.1° of latitude is 11.12 km, 14.46 min.
        let t = model.minutes(&places[0], &places[20]).unwrap();
        assert!((t - 1.3 * 6371.0 * 0.1f64.to_radians()).abs() < 1e-9);
    }

    #[test]
    fn an_override_can_push_a_pair_out_of_reach() {
        let places = vec![place("A", 0.0, 100.0), place("B", 0.1, 100.0)];
        let bands = Bands::default();
        // 7.9 km apart: 10.3 min by the estimate.
        let c = Catchments::build(&places, &TravelModel::default(), 30.0);
        assert_eq!(c.pair_count(), 4);
        let mut model = TravelModel::default();
        model.overrides.insert(("B".into(), "A".into()), 45.0);
        let c = Catchments::build(&places, &model, bands.reach());
        assert_eq!(c.pair_count(), 2);
        // One way given, the other way its own: each keeps its time.
        model.overrides.insert(("A".into(), "B".into()), 5.0);
        let c = Catchments::build(&places, &model, bands.reach());
        assert_eq!(
            c.within_reach(0).collect::<Vec<_>>(),
            vec![(0, 0.0), (1, 5.0)]
        );
        assert_eq!(c.within_reach(1).collect::<Vec<_>>(), vec![(1, 0.0)]);
    }

    #[test]
    fn bands_parse_display_and_weights() {
        let b = Bands::parse("10:1;20:0.68;30:0.22").unwrap();
        assert_eq!(b, Bands::default());
        assert_eq!(b.to_string(), "10:1;20:0.68;30:0.22");
        assert_eq!(Bands::parse(&b.to_string()).unwrap(), b);
        assert_eq!(b.pairs(), vec![(10.0, 1.0), (20.0, 0.68), (30.0, 0.22)]);
        assert_eq!(b.reach(), 30.0);
        for (t, w) in [
            (0.0, 1.0),
            (10.0, 1.0),
            (10.000001, 0.68),
            (20.0, 0.68),
            (25.0, 0.22),
            (30.0, 0.22),
            (30.01, 0.0),
            (f64::NAN, 0.0),
            (f64::INFINITY, 0.0),
        ] {
            assert_eq!(b.weight(t), w, "W({t})");
        }
        // A decimal comma, spaces, a trailing separator.
        assert_eq!(
            Bands::parse(" 15 : 1 ; 45 : 0,5 ;").unwrap().pairs(),
            vec![(15.0, 1.0), (45.0, 0.5)]
        );
        // The last band at 0 does not extend the reach.
        assert_eq!(Bands::parse("10:1;20:0").unwrap().reach(), 10.0);
        let err = |s: &str| Bands::parse(s).unwrap_err();
        assert!(err("").contains("aucune tranche"));
        assert!(err("10").contains("minutes:poids"));
        assert!(err("dix:1").contains("n'est pas un nombre de minutes"));
        assert!(err("10:un").contains("n'est pas un poids"));
        assert!(err("20:1;10:0.5").contains("croissant"));
        assert!(err("10:1;10:0.5").contains("croissant"));
        assert!(err("10:0.5;20:0.7").contains("ne peuvent pas augmenter"));
        assert!(err("10:1.5").contains("entre 0 et 1"));
        assert!(err("10:-0.1").contains("entre 0 et 1"));
        assert!(err("0:1").contains("positif"));
        assert!(err("-5:1").contains("positif"));
        assert!(err("NaN:1").contains("positif"));
    }
}
