//! Population by age: `maillage import population FILE`, the INSEE « base
//! communale, évolution et structure de la population » CSV
//! (`CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;
//! P21_POP6074;P21_POP75P;…`, `;`-separated). The columns are found by name
//! for any census year `Pnn_` (20nn); when a file carries several years
//! (the « évolution » columns), the latest complete one is read. Other
//! columns are ignored; decimals may have a comma. Communes the file lacks
//! keep their figures (upsert).

use std::collections::HashSet;

use super::{decimal, line_count, quiet, reading, utf8, CsvFile, ImportError, Progress, Report};
use crate::domain::codes::InseeCode;
use crate::storage::directory::ImportSummary;
use crate::storage::geo_reference::{self, PopulationRow};
use crate::storage::Db;

/// The age columns after `Pnn_`, in the order of [`PopulationRow`].
const COLUMNS: [&str; 7] = [
    "POP", "POP0014", "POP1529", "POP3044", "POP4559", "POP6074", "POP75P",
];

/// Read an INSEE population file; `known` holds the codes of the communes loaded.
pub fn parse(bytes: &[u8], known: &HashSet<String>) -> Result<Vec<PopulationRow>, ImportError> {
    parse_with(bytes, known, &quiet)
}

/// [`parse`], saying how far it is (in lines).
pub fn parse_with(
    bytes: &[u8],
    known: &HashSet<String>,
    progress: Progress<'_>,
) -> Result<Vec<PopulationRow>, ImportError> {
    let text = utf8(bytes)?;
    let lines = line_count(text);
    let csv = CsvFile::open(text)?;
    let headers: Vec<String> = csv
        .headers()
        .iter()
        .map(|h| h.trim().to_ascii_uppercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    // Census years present: `Pnn_POP` columns.
    let mut years: Vec<u32> = headers
        .iter()
        .filter_map(|h| h.strip_prefix('P')?.strip_suffix("_POP")?.parse().ok())
        .filter(|nn| *nn < 100)
        .collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    let code_col = col("CODGEO");
    let complete = years.iter().find_map(|nn| {
        let cols: Option<Vec<usize>> = COLUMNS
            .iter()
            .map(|c| col(&format!("P{nn:02}_{c}")))
            .collect();
        cols.map(|c| (*nn, c))
    });
    let (Some(code_col), Some((nn, cols))) = (code_col, complete) else {
        let nn = years.first().copied();
        let mut missing: Vec<String> = Vec::new();
        if code_col.is_none() {
            missing.push("CODGEO".into());
        }
        match nn {
            Some(nn) => missing.extend(
                COLUMNS
                    .iter()
                    .map(|c| format!("P{nn:02}_{c}"))
                    .filter(|c| col(c).is_none()),
            ),
            None => missing.extend(COLUMNS.iter().map(|c| format!("Pnn_{c}"))),
        }
        return Err(ImportError::whole_file(format!(
            "colonnes manquantes : {} (fichier INSEE « base communale, évolution et structure \
             de la population » attendu, séparé par des points-virgules)",
            missing.join(", ")
        )));
    };
    let year = 2000 + i64::from(nn);
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
        reading(progress, line, lines, 1_000);
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let code = match InseeCode::parse_lenient(field(code_col)) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => {
                report.push(line, e.0);
                continue;
            }
        };
        if !known.contains(&code) {
            report.push(
                line,
                format!("commune inconnue {code} : absente de la liste des communes chargée"),
            );
            continue;
        }
        let mut values = [0f64; 7];
        let mut bad = Vec::new();
        for (v, (&c, name)) in values.iter_mut().zip(cols.iter().zip(COLUMNS)) {
            match decimal(field(c)) {
                Some(x) if x >= 0.0 => *v = x,
                _ => bad.push(format!("P{nn:02}_{name} « {} »", field(c))),
            }
        }
        if !bad.is_empty() {
            report.push(
                line,
                format!("commune {code} : valeurs invalides {}", bad.join(", ")),
            );
            continue;
        }
        if !seen.insert(code.clone()) {
            report.push(line, format!("la commune {code} apparaît deux fois"));
            continue;
        }
        let [total, age_0_14, age_15_29, age_30_44, age_45_59, age_60_74, age_75_plus] = values;
        out.push(PopulationRow {
            insee_code: code,
            year,
            total,
            age_0_14,
            age_15_29,
            age_30_44,
            age_45_59,
            age_60_74,
            age_75_plus,
        });
    }
    report.finish()?;
    if out.is_empty() {
        return Err(ImportError::whole_file(
            "le fichier ne contient aucune commune",
        ));
    }
    Ok(out)
}

/// Import an INSEE population file and record it in the history.
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
    Ok(geo_reference::save_populations(db, &rows).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> HashSet<String> {
        ["62498", "62510", "01001"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn reads_the_latest_complete_year() {
        let file = "\u{feff}CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;P21_POP6074;P21_POP75P;P15_POP;C21_MEN\n\
                    62498;32920;6512,3;7001.5;6000;5800;4700;2906.2;33000;15000\n\
                    1001;860;150;120;160;180;150;100;800;300\n";
        let rows = parse(file.as_bytes(), &known()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].year, 2021);
        assert_eq!(rows[0].age_0_14, 6512.3);
        assert_eq!(rows[0].age_75_plus, 2906.2);
        assert_eq!(rows[1].insee_code, "01001");
    }

    #[test]
    fn an_older_year_prefix_is_read_too() {
        let file = "CODGEO;P19_POP;P19_POP0014;P19_POP1529;P19_POP3044;P19_POP4559;P19_POP6074;P19_POP75P\n\
                    62510;31000;6000;6000;6000;6000;4000;3000\n";
        assert_eq!(parse(file.as_bytes(), &known()).unwrap()[0].year, 2019);
    }

    #[test]
    fn missing_columns_are_named() {
        let file = "CODGEO;P21_POP;P21_POP0014;P21_POP1529\n62498;1;2;3\n";
        let err = parse(file.as_bytes(), &known()).unwrap_err();
        let t = err.to_string();
        assert!(
            t.contains("P21_POP3044, P21_POP4559, P21_POP6074, P21_POP75P"),
            "{t}"
        );
        let err = parse(b"COM;POP\n62498;1\n", &known()).unwrap_err();
        assert!(err.to_string().contains("CODGEO, Pnn_POP"), "{err}");
    }

    #[test]
    fn bad_lines_are_named() {
        let file = "CODGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;P21_POP6074;P21_POP75P\n\
                    62498;1;1;1;1;1;1;1\n\
                    62999;1;1;1;1;1;1;1\n\
                    62510;1;x;1;1;1;-1;1\n";
        let err = parse(file.as_bytes(), &known()).unwrap_err();
        let m: Vec<String> = err.lines().iter().map(ToString::to_string).collect();
        assert_eq!(m.len(), 2, "{m:#?}");
        assert!(
            m[0].starts_with("ligne 3 : commune inconnue 62999"),
            "{}",
            m[0]
        );
        assert!(
            m[1].starts_with("ligne 4 : ")
                && m[1].contains("P21_POP0014 « x »")
                && m[1].contains("P21_POP6074 « -1 »"),
            "{}",
            m[1]
        );
    }
}
