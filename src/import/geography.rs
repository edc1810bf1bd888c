//! Communes and EPCI in the format of `@etalab/decoupage-administratif`
//! (`communes.json`, `epci.json`), and QPV in the ANCT list format.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    line_count, quiet, reading, utf8, CsvFile, ImportError, LineCounter, Progress, Report,
};
use crate::domain::codes::{InseeCode, QpvCode, Siren};
use crate::storage::communes::{
    self, Commune, Counts, Epci, EpciWithMembers, Qpv, QpvWithCommunes,
};
use crate::storage::Db;

/// Populations come as numbers or, in some exports, as strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Number {
    fn value(&self) -> Option<i64> {
        match self {
            Number::Int(n) => Some(*n),
            Number::Float(f) if f.is_finite() && *f >= 0.0 => Some(f.round() as i64),
            Number::Float(_) => None,
            Number::Text(s) => s.trim().replace([' ', '\u{a0}'], "").parse().ok(),
        }
    }
}

/// Parse a JSON array and give each element with the line it starts on.
fn elements(text: &str) -> Result<Vec<(usize, &RawValue)>, ImportError> {
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        let what = if e.is_eof() {
            "le fichier est tronqué (il s'arrête au milieu d'une entrée)".to_owned()
        } else if e.is_data() {
            "le fichier doit contenir une liste JSON [ … ]".to_owned()
        } else {
            format!("JSON invalide, colonne {} : {e}", e.column())
        };
        ImportError::Invalid(vec![super::LineError {
            line: Some(e.line()),
            message: what,
        }])
    })?;
    // The elements come in file order: their lines are counted from one
    // element to the next, once over the whole file.
    let base = text.as_ptr() as usize;
    let mut lines = LineCounter::new(text);
    Ok(items
        .into_iter()
        .map(|raw| (lines.line_at(raw.get().as_ptr() as usize - base), raw))
        .collect())
}

#[derive(Deserialize)]
struct RawCommune {
    code: String,
    nom: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    departement: Option<String>,
    region: Option<String>,
    #[serde(rename = "codesPostaux", default)]
    postal_codes: Vec<String>,
    population: Option<Number>,
    #[serde(rename = "chefLieu")]
    chef_lieu: Option<String>,
    commune: Option<String>,
}

const COMMUNE_KINDS: [&str; 4] = [
    "commune-actuelle",
    "commune-associee",
    "commune-deleguee",
    "arrondissement-municipal",
];

/// Entries read between two progress reports.
const REPORT_EVERY: usize = 1_000;

pub fn parse_communes(bytes: &[u8]) -> Result<Vec<Commune>, ImportError> {
    parse_communes_with(bytes, &quiet)
}

/// [`parse_communes`], saying how far it is.
pub fn parse_communes_with(
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<Vec<Commune>, ImportError> {
    let text = utf8(bytes)?;
    let mut report = Report::default();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let entries = elements(text)?;
    let total = entries.len();
    for (i, (line, raw)) in entries.into_iter().enumerate() {
        reading(progress, i + 1, total, REPORT_EVERY);
        let c: RawCommune = match serde_json::from_str(raw.get()) {
            Ok(c) => c,
            Err(e) => {
                report.push(line, format!("entrée illisible : {e}"));
                continue;
            }
        };
        let code = match InseeCode::parse(&c.code) {
            Ok(code) => code,
            Err(e) => {
                report.push(line, e.0);
                continue;
            }
        };
        let kind = c.kind.unwrap_or_else(|| "commune-actuelle".to_owned());
        if !COMMUNE_KINDS.contains(&kind.as_str()) {
            report.push(line, format!("type de commune inconnu « {kind} »"));
            continue;
        }
        if c.nom.trim().is_empty() {
            report.push(line, format!("la commune {code} n'a pas de nom"));
            continue;
        }
        // Associated and delegated communes may share the code of their
        // current commune: the current one wins (see the `retain` below).
        let is_current = kind == "commune-actuelle";
        if !seen.insert((code.clone(), is_current)) {
            if is_current {
                report.push(line, format!("le code {code} apparaît deux fois"));
            }
            continue;
        }
        let parent = c.chef_lieu.or(c.commune);
        out.push(Commune {
            insee_code: code.as_str().to_owned(),
            name: c.nom.trim().to_owned(),
            kind,
            departement: c.departement,
            region: c.region,
            population: c.population.and_then(|p| p.value()),
            postal_codes: c.postal_codes.join(" "),
            parent_code: parent,
        });
    }
    report.finish()?;
    let current: HashSet<String> = out
        .iter()
        .filter(|c| c.kind == "commune-actuelle")
        .map(|c| c.insee_code.clone())
        .collect();
    out.retain(|c| c.kind == "commune-actuelle" || !current.contains(&c.insee_code));
    if out.is_empty() {
        return Err(ImportError::whole_file(
            "le fichier ne contient aucune commune",
        ));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct RawMember {
    code: String,
}

#[derive(Deserialize)]
struct RawEpci {
    code: String,
    nom: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "populationMunicipale")]
    population_municipale: Option<Number>,
    #[serde(rename = "populationTotale")]
    population_totale: Option<Number>,
    membres: Vec<RawMember>,
}

const EPCI_KINDS: [&str; 5] = ["CC", "CA", "CU", "METRO", "MET69"];

pub fn parse_epcis(bytes: &[u8]) -> Result<Vec<EpciWithMembers>, ImportError> {
    parse_epcis_with(bytes, &quiet)
}

/// [`parse_epcis`], saying how far it is.
pub fn parse_epcis_with(
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<Vec<EpciWithMembers>, ImportError> {
    let text = utf8(bytes)?;
    let mut report = Report::default();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let entries = elements(text)?;
    let total = entries.len();
    for (i, (line, raw)) in entries.into_iter().enumerate() {
        reading(progress, i + 1, total, REPORT_EVERY);
        let e: RawEpci = match serde_json::from_str(raw.get()) {
            Ok(e) => e,
            Err(err) => {
                report.push(line, format!("entrée illisible : {err}"));
                continue;
            }
        };
        let siren = match Siren::parse(&e.code) {
            Ok(s) => s,
            Err(err) => {
                report.push(line, err.0);
                continue;
            }
        };
        if !EPCI_KINDS.contains(&e.kind.as_str()) {
            report.push(
                line,
                format!(
                    "type d'EPCI inconnu « {} » (CC, CA, CU, METRO, MET69)",
                    e.kind
                ),
            );
            continue;
        }
        if !seen.insert(siren.clone()) {
            report.push(line, format!("l'EPCI {siren} apparaît deux fois"));
            continue;
        }
        let mut members = Vec::with_capacity(e.membres.len());
        let mut bad = false;
        for m in &e.membres {
            match InseeCode::parse(&m.code) {
                Ok(c) => members.push(c.as_str().to_owned()),
                Err(err) => {
                    report.push(line, format!("EPCI {siren} : membre refusé, {}", err.0));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let population = e
            .population_municipale
            .and_then(|p| p.value())
            .or_else(|| e.population_totale.and_then(|p| p.value()));
        out.push(EpciWithMembers {
            epci: Epci {
                siren: siren.as_str().to_owned(),
                name: e.nom.trim().to_owned(),
                kind: e.kind,
                population,
            },
            members,
        });
    }
    report.finish()?;
    if out.is_empty() {
        return Err(ImportError::whole_file("le fichier ne contient aucun EPCI"));
    }
    Ok(out)
}

/// `"02571; 02691"`, `="02571; 02691"` (spreadsheet-protected), `1053`.
fn commune_list(raw: &str) -> Vec<&str> {
    let s = raw.trim().trim_start_matches('=').trim_matches('"');
    s.split([';', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

pub fn parse_qpvs(bytes: &[u8]) -> Result<Vec<QpvWithCommunes>, ImportError> {
    parse_qpvs_with(bytes, &quiet)
}

/// [`parse_qpvs`], saying how far it is (in lines).
pub fn parse_qpvs_with(
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<Vec<QpvWithCommunes>, ImportError> {
    let text = utf8(bytes)?;
    let lines = line_count(text);
    let csv = CsvFile::with_delimiter(text, b';')?;
    let col = |name: &str| csv.column(name);
    let (Some(code_col), Some(name_col), Some(com_col)) =
        (col("code_qp"), col("lib_qp"), col("insee_com"))
    else {
        return Err(ImportError::whole_file(
            "en-tête attendu : code_qp;lib_qp;…;insee_com;… (liste des QPV de l'ANCT)",
        ));
    };
    let mut report = Report::default();
    let mut by_code: BTreeMap<String, QpvWithCommunes> = BTreeMap::new();
    for row in csv.rows() {
        let (line, record) = match row {
            Ok(r) => r,
            Err((line, message)) => {
                report.push(line, message);
                continue;
            }
        };
        reading(progress, line, lines, REPORT_EVERY);
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let code = match QpvCode::parse(field(code_col)) {
            Ok(c) => c,
            Err(e) => {
                report.push(line, e.0);
                continue;
            }
        };
        let name = field(name_col);
        if name.is_empty() {
            report.push(line, format!("le QPV {code} n'a pas de nom (lib_qp)"));
            continue;
        }
        let mut communes = Vec::new();
        for raw in commune_list(field(com_col)) {
            match InseeCode::parse_lenient(raw) {
                Ok(c) => communes.push(c.as_str().to_owned()),
                Err(e) => report.push(line, format!("QPV {code} : {}", e.0)),
            }
        }
        if communes.is_empty() {
            report.push(
                line,
                format!("le QPV {code} n'a pas de commune (insee_com)"),
            );
            continue;
        }
        let entry = by_code
            .entry(code.as_str().to_owned())
            .or_insert_with(|| QpvWithCommunes {
                qpv: Qpv {
                    code: code.as_str().to_owned(),
                    name: name.to_owned(),
                },
                communes: Vec::new(),
            });
        for c in communes {
            if !entry.communes.contains(&c) {
                entry.communes.push(c);
            }
        }
    }
    report.finish()?;
    if by_code.is_empty() {
        return Err(ImportError::whole_file("le fichier ne contient aucun QPV"));
    }
    Ok(by_code.into_values().collect())
}

pub async fn import_communes(db: &Db, bytes: &[u8]) -> Result<Counts, ImportError> {
    import_communes_with(db, bytes, &quiet).await
}

/// [`import_communes`], saying how far it is.
pub async fn import_communes_with(
    db: &Db,
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<Counts, ImportError> {
    let rows = parse_communes_with(bytes, progress)?;
    Ok(communes::upsert_communes(db, &rows, progress).await?)
}

pub async fn import_epcis(db: &Db, bytes: &[u8]) -> Result<Counts, ImportError> {
    import_epcis_with(db, bytes, &quiet).await
}

/// [`import_epcis`], saying how far it is.
pub async fn import_epcis_with(
    db: &Db,
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<Counts, ImportError> {
    let rows = parse_epcis_with(bytes, progress)?;
    Ok(communes::upsert_epcis(db, &rows, progress).await?)
}

pub async fn import_qpvs(db: &Db, bytes: &[u8]) -> Result<Counts, ImportError> {
    import_qpvs_with(db, bytes, &quiet).await
}

/// [`import_qpvs`], saying how far it is.
pub async fn import_qpvs_with(
    db: &Db,
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<Counts, ImportError> {
    let rows = parse_qpvs_with(bytes, progress)?;
    Ok(communes::upsert_qpvs(db, &rows, progress).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communes_report_lines() {
        let file = "[\n{\"code\":\"62498\",\"nom\":\"Lens\",\"type\":\"commune-actuelle\",\"population\":\"32 000\"},\n{\"code\":\"6249\",\"nom\":\"X\"},\n{\"code\":\"62510\",\"nom\":\"Liévin\",\"type\":\"bidon\"}\n]";
        let err = parse_communes(file.as_bytes()).unwrap_err();
        let lines: Vec<_> = err.lines().iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![Some(3), Some(4)]);
        assert!(err.to_string().contains("ligne 3"));
    }

    /// A broken entry near the end of a national-size file is named by its
    /// own line (counted incrementally, not from the start each time).
    #[test]
    fn a_broken_entry_deep_in_a_big_file_names_its_line() {
        let text =
            crate::import::synthetic::communes_json(crate::import::synthetic::NATIONAL_COMMUNES);
        let mut lines: Vec<&str> = text.lines().collect();
        // Line 36,001 holds entry 35,999: a bad code; the last entry (line
        // 37,007) an unknown type.
        let bad_code = lines[36_000].replacen("\"code\":\"", "\"code\":\"X", 1);
        lines[36_000] = &bad_code;
        let bad_kind = lines[37_006].replace("commune-deleguee", "commune-fantome");
        lines[37_006] = &bad_kind;
        let err = parse_communes(lines.join("\n").as_bytes()).unwrap_err();
        let found: Vec<_> = err.lines().iter().map(|e| e.line).collect();
        assert_eq!(found, vec![Some(36_001), Some(37_007)], "{err}");
        assert!(
            err.to_string()
                .contains("ligne 37007 : type de commune inconnu « commune-fantome »"),
            "{err}"
        );
    }

    #[test]
    fn progress_is_reported_while_reading() {
        let text = crate::import::synthetic::communes_json(2_500);
        let seen = std::sync::Mutex::new(Vec::new());
        let progress = |stage: &str, done: u64, total: u64| {
            seen.lock().unwrap().push((stage.to_owned(), done, total));
        };
        assert_eq!(
            parse_communes_with(text.as_bytes(), &progress)
                .unwrap()
                .len(),
            2_500
        );
        let seen = seen.into_inner().unwrap();
        let done: Vec<u64> = seen.iter().map(|s| s.1).collect();
        assert_eq!(done, vec![1_000, 2_000, 2_500]);
        assert!(seen
            .iter()
            .all(|s| s.0 == "lecture du fichier" && s.2 == 2_500));
    }

    #[test]
    fn truncated_json() {
        let err = parse_communes(b"[\n{\"code\":\"62498\",\"nom\":\"Lens\"},\n{\"code\":\"625")
            .unwrap_err();
        assert!(err.to_string().contains("tronqué"), "{err}");
        assert_eq!(err.lines()[0].line, Some(3));
    }

    #[test]
    fn latin1_file_is_refused_with_its_line() {
        let err = parse_communes(b"[\n{\"code\":\"62510\",\"nom\":\"Li\xe9vin\"}\n]").unwrap_err();
        assert_eq!(err.lines()[0].line, Some(2));
        assert!(err.to_string().contains("UTF-8"));
    }

    #[test]
    fn qpv_list_format() {
        let file = "\u{feff}code_qp;lib_qp;insee_reg;lib_reg;insee_dep;lib_dep;insee_com;lib_com;siren_epci;lib_epci;;\n\
                    QN00101M;Quartier A;84;ARA;01;Ain;1053;Bourg;200071751;CA;;\n\
                    QN00202M;Quartier B;32;HDF;02;Aisne;\"02571; 02691\";\"X; Y\";200000000;CA;;\n\
                    QN06201M;Quartier C;32;HDF;62;PdC;\"=\"\"62498\"\"\";Lens;246200364;CA;;\n";
        let q = parse_qpvs(file.as_bytes()).unwrap();
        assert_eq!(q.len(), 3);
        assert_eq!(q[0].communes, vec!["01053"]);
        assert_eq!(q[1].communes, vec!["02571", "02691"]);
        assert_eq!(q[2].communes, vec!["62498"]);
    }

    #[test]
    fn qpv_bad_rows() {
        let file = "code_qp;lib_qp;insee_com\nQN00101M;;1053\nXX;Y;1053\nQN00102M;Z;ABCDE\n";
        let err = parse_qpvs(file.as_bytes()).unwrap_err();
        let lines: Vec<_> = err.lines().iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![Some(2), Some(3), Some(4), Some(4)]);
    }
}
