//! Travel times between communes: `maillage import travel-times FILE`, a CSV
//! `origin;destination;minutes` (header required) from OSRM or the INSEE
//! METRIC distancier. They override the estimate from the distance for the
//! pairs they list. A re-import replaces the whole table: a distancier is
//! one computation (engine, network, date), and pairs of an older one are
//! not mixed with a newer one.

use std::collections::HashSet;

use super::{decimal, line_count, quiet, reading, utf8, CsvFile, ImportError, Progress, Report};
use crate::domain::codes::InseeCode;
use crate::storage::directory::ImportSummary;
use crate::storage::geo_reference::{self, TravelTime};
use crate::storage::Db;

/// Read a travel-time file; `known` holds the codes of the communes loaded.
pub fn parse(bytes: &[u8], known: &HashSet<String>) -> Result<Vec<TravelTime>, ImportError> {
    parse_with(bytes, known, &quiet)
}

/// [`parse`], saying how far it is (in lines).
pub fn parse_with(
    bytes: &[u8],
    known: &HashSet<String>,
    progress: Progress<'_>,
) -> Result<Vec<TravelTime>, ImportError> {
    let text = utf8(bytes)?;
    let lines = line_count(text);
    let csv = CsvFile::open(text)?;
    let col = |name: &str| csv.column(name);
    let (Some(o_col), Some(d_col), Some(m_col)) =
        (col("origin"), col("destination"), col("minutes"))
    else {
        return Err(ImportError::whole_file(
            "en-tête attendu : origin;destination;minutes (codes INSEE et durée en minutes)",
        ));
    };
    let mut report = Report::default();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in csv.rows() {
        let (line, record) = match row {
            Ok(r) => r,
            Err((line, message)) => {
                report.push(line, message);
                continue;
            }
        };
        reading(progress, line, lines, 10_000);
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let mut codes = Vec::with_capacity(2);
        for (what, c) in [("origine", o_col), ("destination", d_col)] {
            match InseeCode::parse_lenient(field(c)) {
                Ok(code) if known.contains(code.as_str()) => codes.push(code.as_str().to_owned()),
                Ok(code) => report.push(
                    line,
                    format!("{what} : commune inconnue {code} (absente de la liste des communes chargée)"),
                ),
                Err(e) => report.push(line, format!("{what} : {}", e.0)),
            }
        }
        let minutes = match decimal(field(m_col)) {
            Some(m) if m >= 0.0 => Some(m),
            Some(m) => {
                report.push(line, format!("durée négative ({m} minutes)"));
                None
            }
            None => {
                report.push(
                    line,
                    format!(
                        "durée non numérique « {} » (minutes attendues)",
                        field(m_col)
                    ),
                );
                None
            }
        };
        let (Some(minutes), [origin, destination]) = (minutes, &codes[..]) else {
            continue;
        };
        if !seen.insert((origin.clone(), destination.clone())) {
            report.push(
                line,
                format!("le trajet {origin} → {destination} apparaît deux fois"),
            );
            continue;
        }
        out.push(TravelTime {
            origin: origin.clone(),
            destination: destination.clone(),
            minutes,
        });
    }
    report.finish()?;
    if out.is_empty() {
        return Err(ImportError::whole_file(
            "le fichier ne contient aucun trajet",
        ));
    }
    Ok(out)
}

/// Import a travel-time file (replacing the previous one) and record it.
pub async fn import(db: &Db, bytes: &[u8]) -> Result<ImportSummary, ImportError> {
    import_with(db, bytes, &quiet).await
}

/// [`import`], saying how far the reading is.
pub async fn import_with(
    db: &Db,
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<ImportSummary, ImportError> {
    let known = geo_reference::commune_codes(db).await?;
    let rows = parse_with(bytes, &known, progress)?;
    Ok(geo_reference::replace_travel_times(db, &rows).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> HashSet<String> {
        ["62498", "62510"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_pairs() {
        let rows = parse(
            b"origin;destination;minutes\n62498;62510;12,5\n62510;62498;13\n62498;62498;0\n",
            &known(),
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].minutes, 12.5);
        assert_eq!(rows[1].origin, "62510");
    }

    #[test]
    fn bad_lines_are_named() {
        let file = "origin;destination;minutes\n62498;62510;12\n62498;62999;5\n62510;62498;-3\n62510;62498;vite\n62498;62510;12\n";
        let err = parse(file.as_bytes(), &known()).unwrap_err();
        let m: Vec<String> = err.lines().iter().map(ToString::to_string).collect();
        assert_eq!(m.len(), 4, "{m:#?}");
        assert!(
            m[0].starts_with("ligne 3 : destination : commune inconnue 62999"),
            "{}",
            m[0]
        );
        assert!(m[1].starts_with("ligne 4 : durée négative"), "{}", m[1]);
        assert!(
            m[2].starts_with("ligne 5 : durée non numérique « vite »"),
            "{}",
            m[2]
        );
        assert!(
            m[3].starts_with("ligne 6 : ") && m[3].contains("deux fois"),
            "{}",
            m[3]
        );
        let err = parse(b"de;vers;duree\n62498;62510;1\n", &known()).unwrap_err();
        assert!(
            err.to_string().contains("origin;destination;minutes"),
            "{err}"
        );
    }
}
