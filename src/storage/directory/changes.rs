//! What a FINESS import writes, worked out in Rust before the apply
//! transaction: which establishments are added, changed or gone, which
//! communes that touches, and those communes' derived rows (the average
//! point of their establishments, their category counts).
//!
//! The file holds every establishment the table will hold once applied,
//! so these rows equal what `GROUP BY`s over `establishments` gave inside
//! the transaction (`tests/it/directory_storage.rs` compares them), without
//! reading the table back: at national size those aggregates, and the
//! search rows written in file order, took 1.4 s of SQLite's write lock.
//! Everything is sorted by the key of the table it goes to, so that the
//! B-trees grow at one end instead of at random pages.

use std::collections::{HashMap, HashSet};

use crate::domain::directory::Establishment;

/// One establishment stored, as the import compares it.
pub(crate) struct Stored {
    pub finess: String,
    pub content_hash: String,
    pub insee_code: Option<String>,
}

/// A commune's category count (`directory_facet_counts`).
#[derive(Debug, PartialEq)]
pub(crate) struct CategoryCount<'a> {
    pub insee_code: &'a str,
    pub code: &'a str,
    pub label: &'a str,
    pub n: i64,
}

/// The changes of one import, borrowed from the file's rows and the stored ones.
pub(crate) struct Changes<'a> {
    /// Added or changed, with their new hash, by FINESS number.
    pub write: Vec<(&'a Establishment, &'a str)>,
    /// FINESS numbers stored and absent from the file, sorted.
    pub gone: Vec<&'a str>,
    pub added: i64,
    pub changed: i64,
    /// The communes whose derived rows change: those of the rows written
    /// (their new commune) and of the rows changed or gone (their old one),
    /// sorted.
    pub touched: Vec<&'a str>,
    /// The average position of each touched commune's establishments
    /// that have one, by commune.
    pub points: Vec<(&'a str, f64, f64)>,
    /// The category counts of the touched communes, by commune and code.
    pub facets: Vec<CategoryCount<'a>>,
}

impl<'a> Changes<'a> {
    /// `rows` is the whole file (FINESS numbers unique), `hashes` their
    /// content hashes in the same order.
    pub(crate) fn work_out(
        rows: &'a [Establishment],
        hashes: &'a [String],
        stored: &'a [Stored],
    ) -> Self {
        let by_finess: HashMap<&str, &Stored> =
            stored.iter().map(|s| (s.finess.as_str(), s)).collect();
        // Hashed, then sorted once: ordered maps compared strings for
        // each of the 100,000 rows, a quarter of a second at national size.
        let mut touched = HashSet::new();
        let mut write = Vec::new();
        let (mut added, mut changed) = (0, 0);
        for (row, hash) in rows.iter().zip(hashes) {
            match by_finess.get(row.finess.as_str()) {
                None => added += 1,
                Some(s) if s.content_hash != *hash => {
                    changed += 1;
                    touched.extend(s.insee_code.as_deref());
                }
                Some(_) => continue,
            }
            touched.extend(row.insee_code.as_deref());
            write.push((row, hash.as_str()));
        }
        write.sort_unstable_by(|a, b| a.0.finess.cmp(&b.0.finess));
        let incoming: HashSet<&str> = rows.iter().map(|r| r.finess.as_str()).collect();
        let mut gone = Vec::new();
        for s in stored {
            if !incoming.contains(s.finess.as_str()) {
                gone.push(s.finess.as_str());
                touched.extend(s.insee_code.as_deref());
            }
        }
        gone.sort_unstable();

        // Sums in file order, as SQLite's AVG adds the rows it reads: the
        // same commune's establishments, whatever the order, give the
        // same point to within a unit in the last place.
        let mut sums: HashMap<&str, (f64, f64, u32)> = HashMap::new();
        let mut counts: HashMap<(&str, &str), (&str, i64)> = HashMap::new();
        for row in rows {
            let Some(insee) = row.insee_code.as_deref() else {
                continue;
            };
            if !touched.contains(insee) {
                continue;
            }
            if let (Some(lon), Some(lat)) = (row.longitude, row.latitude) {
                let s = sums.entry(insee).or_default();
                s.0 += lon;
                s.1 += lat;
                s.2 += 1;
            }
            let c = counts
                .entry((insee, row.category_code.as_str()))
                .or_insert((row.category_label.as_str(), 0));
            // The greatest label, as `MAX(category_label)` (labels of one
            // code are the same in a real file).
            c.0 = c.0.max(row.category_label.as_str());
            c.1 += 1;
        }
        let mut points: Vec<(&str, f64, f64)> = sums
            .into_iter()
            .map(|(insee, (lon, lat, n))| (insee, lon / f64::from(n), lat / f64::from(n)))
            .collect();
        points.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let facets = counts
            .into_iter()
            .map(|((insee_code, code), (label, n))| CategoryCount {
                insee_code,
                code,
                label,
                n,
            })
            .collect();
        let mut touched: Vec<&str> = touched.into_iter().collect();
        touched.sort_unstable();
        Changes {
            write,
            gone,
            added,
            changed,
            touched,
            points,
            facets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(finess: &str, insee: Option<&str>, cat: &str, at: Option<(f64, f64)>) -> Establishment {
        Establishment {
            finess: finess.into(),
            finess_ej: String::new(),
            name: format!("Nom {finess}"),
            long_name: String::new(),
            address: String::new(),
            postal_code: String::new(),
            city: String::new(),
            insee_code: insee.map(Into::into),
            phone: String::new(),
            category_code: cat.into(),
            category_label: format!("Catégorie {cat}"),
            group_code: String::new(),
            group_label: String::new(),
            siret: String::new(),
            opened_on: None,
            updated_on: None,
            longitude: at.map(|p| p.0),
            latitude: at.map(|p| p.1),
        }
    }

    fn stored(rows: &[Establishment]) -> Vec<Stored> {
        rows.iter()
            .map(|r| Stored {
                finess: r.finess.clone(),
                content_hash: r.content_hash(),
                insee_code: r.insee_code.clone(),
            })
            .collect()
    }

    /// The FINESS numbers written, in their order.
    fn written<'a>(c: &Changes<'a>) -> Vec<&'a str> {
        c.write.iter().map(|(e, _)| e.finess.as_str()).collect()
    }

    /// The category counts as (commune, code, count).
    fn counts<'a>(c: &Changes<'a>) -> Vec<(&'a str, &'a str, i64)> {
        c.facets
            .iter()
            .map(|f| (f.insee_code, f.code, f.n))
            .collect()
    }

    #[test]
    fn the_first_import_touches_every_commune() {
        let rows = vec![
            est("3", Some("62498"), "620", Some((2.0, 50.0))),
            est("1", Some("62498"), "620", Some((3.0, 51.0))),
            est("2", Some("62498"), "355", None),
            est("4", Some("01451"), "355", Some((5.0, 46.0))),
            est("5", None, "355", Some((1.0, 1.0))),
        ];
        let hashes: Vec<String> = rows.iter().map(Establishment::content_hash).collect();
        let c = Changes::work_out(&rows, &hashes, &[]);
        assert_eq!((c.added, c.changed, c.gone.len()), (5, 0, 0));
        assert_eq!(written(&c), ["1", "2", "3", "4", "5"], "by FINESS number");
        assert_eq!(c.touched, ["01451", "62498"]);
        assert_eq!(c.points, [("01451", 5.0, 46.0), ("62498", 2.5, 50.5)]);
        assert_eq!(
            counts(&c),
            [
                ("01451", "355", 1),
                ("62498", "355", 1),
                ("62498", "620", 2)
            ]
        );
        assert_eq!(c.facets[0].label, "Catégorie 355");
    }

    #[test]
    fn a_reimport_touches_the_old_and_new_communes_only() {
        let before = vec![
            est("1", Some("62498"), "620", Some((2.0, 50.0))),
            est("2", Some("62510"), "355", Some((3.0, 51.0))),
            est("3", Some("01451"), "500", None),
            est("4", Some("01053"), "124", None),
        ];
        let stored = stored(&before);
        // 1 moves to 01451, 3 closes, 4 is unchanged, 6 opens in 62510.
        let after = vec![
            est("1", Some("01451"), "620", Some((5.0, 46.0))),
            est("2", Some("62510"), "355", Some((3.0, 51.0))),
            est("4", Some("01053"), "124", None),
            est("6", Some("62510"), "620", Some((4.0, 52.0))),
        ];
        let hashes: Vec<String> = after.iter().map(Establishment::content_hash).collect();
        let c = Changes::work_out(&after, &hashes, &stored);
        assert_eq!((c.added, c.changed), (1, 1));
        assert_eq!(c.gone, ["3"]);
        assert_eq!(written(&c), ["1", "6"]);
        assert_eq!(
            c.touched,
            ["01451", "62498", "62510"],
            "01053 is left as it is"
        );
        // 62498 lost its only establishment: no point and no count, so
        // that the apply deletes what it had.
        assert_eq!(c.points, [("01451", 5.0, 46.0), ("62510", 3.5, 51.5)]);
        assert_eq!(
            counts(&c),
            [
                ("01451", "620", 1),
                ("62510", "355", 1),
                ("62510", "620", 1)
            ]
        );

        // The same file again changes nothing and touches nothing.
        let again = self::stored(&after);
        let c = Changes::work_out(&after, &hashes, &again);
        assert!(c.write.is_empty() && c.gone.is_empty() && c.touched.is_empty());
        assert!(c.points.is_empty() && c.facets.is_empty());
    }
}
