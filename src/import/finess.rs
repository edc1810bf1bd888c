//! FINESS « etalab » extraction: establishments with their categories and
//! geolocation (see OPEN_DATA.md).
//!
//! Rules: the file must start with `finess;etalab;N;DATE`; it is read as
//! UTF-8 when it is valid UTF-8, else as Windows-1252 (the official
//! encoding). A malformed line is skipped and reported with its number; a
//! file cut in the middle of a line, or with more than 1 % of bad lines, is
//! refused whole. Coordinates in an unknown system or outside France are
//! dropped (the establishment is kept) and reported.

use std::collections::{HashMap, HashSet};

use encoding_rs::WINDOWS_1252;

use super::fields::FieldSplitter;
use super::{ImportError, LineError};
use crate::domain::codes::InseeCode;
use crate::domain::geo::{self, System};

pub use crate::domain::directory::Establishment;

/// The result of reading a file: what to import and what was skipped.
#[derive(Debug)]
pub struct Parsed {
    pub file_date: String,
    pub establishments: Vec<Establishment>,
    /// Lines skipped or partly kept, with the reason.
    pub warnings: Vec<LineError>,
}

/// UTF-8 when valid, else Windows-1252.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// `01` + `451` → `01451`; `9D` + `411` → `97411`; `2A` + `004` → `2A004`.
pub fn insee_from(departement: &str, commune: &str) -> Option<String> {
    let dep = departement.trim().to_ascii_uppercase();
    let com = commune.trim();
    if com.len() != 3 || !com.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code = match dep.as_str() {
        "9A" | "9B" | "9C" | "9D" | "9E" | "9F" => format!("97{com}"),
        _ => format!("{dep}{com}"),
    };
    InseeCode::parse(&code).ok().map(|c| c.as_str().to_owned())
}

fn iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.to_string())
}

fn finess_number(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_uppercase();
    (s.len() == 9 && s.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(s)
}

const FIELDS: usize = 32;

pub fn parse(bytes: &[u8]) -> Result<Parsed, ImportError> {
    parse_with(bytes, &super::quiet)
}

/// [`parse`], saying every 10,000 lines how far it is.
pub fn parse_with(bytes: &[u8], progress: super::Progress) -> Result<Parsed, ImportError> {
    let text = decode(bytes);
    let truncated = !text.is_empty() && !text.ends_with('\n');
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let head: Vec<&str> = header.split(';').collect();
    if head.len() < 4 || head[0] != "finess" || head[1] != "etalab" {
        return Err(ImportError::Invalid(vec![LineError {
            line: Some(1),
            message: "première ligne attendue « finess;etalab;N;AAAA-MM-JJ » : ce n'est pas une extraction FINESS etalab"
                .into(),
        }]));
    }
    let file_date = iso_date(head[3]).unwrap_or_default();

    let mut warnings = Vec::new();
    let mut errors = 0usize;
    let mut total = 0usize;
    let mut seen = HashSet::new();
    let mut out: Vec<Establishment> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let line_count = text.lines().count();
    let mut splitter = FieldSplitter::new(b';');

    for (i, raw) in lines.enumerate() {
        let n = i + 2;
        if n % 10_000 == 0 {
            progress("lecture du fichier", n as u64, line_count as u64);
        }
        if raw.trim().is_empty() {
            continue;
        }
        total += 1;
        let mut warn = |msg: String| {
            warnings.push(LineError {
                line: Some(n),
                message: msg,
            })
        };
        let record = splitter.split(raw);
        let f = |k: usize| record.get(k).unwrap_or("").trim();
        match f(0) {
            "structureet" => {
                if record.len() != FIELDS {
                    if truncated && n == line_count {
                        return Err(ImportError::Invalid(vec![LineError {
                            line: Some(n),
                            message: "le fichier est tronqué : sa dernière ligne est incomplète"
                                .into(),
                        }]));
                    }
                    errors += 1;
                    warn(format!(
                        "{} champs au lieu de {FIELDS} : ligne ignorée",
                        record.len()
                    ));
                    continue;
                }
                let Some(finess) = finess_number(f(1)) else {
                    errors += 1;
                    warn(format!(
                        "numéro FINESS « {} » invalide (9 caractères) : ligne ignorée",
                        f(1)
                    ));
                    continue;
                };
                if !seen.insert(finess.clone()) {
                    errors += 1;
                    warn(format!(
                        "l'établissement {finess} apparaît deux fois : seconde ligne ignorée"
                    ));
                    continue;
                }
                let category = f(18);
                if category.is_empty() || !category.bytes().all(|b| b.is_ascii_digit()) {
                    errors += 1;
                    warn(format!(
                        "catégorie « {category} » inconnue pour {finess} : ligne ignorée"
                    ));
                    continue;
                }
                let insee = insee_from(f(13), f(12));
                if insee.is_none() {
                    warn(format!(
                        "{finess} : commune « {}{} » invalide, établissement gardé sans commune",
                        f(13),
                        f(12)
                    ));
                }
                let street = [f(7), f(8), f(9), f(10)]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ");
                let address = [f(5), f(6), &street, f(11)]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                let (postal_code, city) = match f(15).split_once(' ') {
                    Some((cp, city)) if cp.len() == 5 && cp.bytes().all(|b| b.is_ascii_digit()) => {
                        (cp.to_owned(), city.trim().to_owned())
                    }
                    _ => (String::new(), f(15).to_owned()),
                };
                index.insert(finess.clone(), out.len());
                out.push(Establishment {
                    finess_ej: finess_number(f(2)).unwrap_or_default(),
                    name: f(3).to_owned(),
                    long_name: f(4).to_owned(),
                    address,
                    postal_code,
                    city,
                    insee_code: insee,
                    phone: crate::domain::territory::parse_phone(f(16)).unwrap_or_default(),
                    category_code: category.to_owned(),
                    category_label: f(19).to_owned(),
                    group_code: f(20).to_owned(),
                    group_label: f(21).to_owned(),
                    siret: f(22).to_owned(),
                    opened_on: iso_date(f(28)),
                    updated_on: iso_date(f(30)),
                    longitude: None,
                    latitude: None,
                    finess,
                });
            }
            "geolocalisation" => {
                if record.len() < 6 {
                    if truncated && n == line_count {
                        return Err(ImportError::Invalid(vec![LineError {
                            line: Some(n),
                            message: "le fichier est tronqué : sa dernière ligne est incomplète"
                                .into(),
                        }]));
                    }
                    errors += 1;
                    warn(format!(
                        "géolocalisation : {} champs au lieu de 6 : ligne ignorée",
                        record.len()
                    ));
                    continue;
                }
                let Some(finess) = finess_number(f(1)) else {
                    errors += 1;
                    warn(format!(
                        "géolocalisation : numéro FINESS « {} » invalide",
                        f(1)
                    ));
                    continue;
                };
                let Some(&at) = index.get(&finess) else {
                    warn(format!(
                        "géolocalisation de {finess}, établissement absent du fichier : ignorée"
                    ));
                    continue;
                };
                let (x, y) = (
                    f(2).replace(',', ".").parse::<f64>(),
                    f(3).replace(',', ".").parse::<f64>(),
                );
                let (Ok(x), Ok(y)) = (x, y) else {
                    if truncated && n == line_count {
                        return Err(ImportError::Invalid(vec![LineError {
                            line: Some(n),
                            message: "le fichier est tronqué : sa dernière ligne est incomplète"
                                .into(),
                        }]));
                    }
                    errors += 1;
                    warn(format!(
                        "{finess} : coordonnées « {} ; {} » illisibles",
                        f(2),
                        f(3)
                    ));
                    continue;
                };
                let Some(system) = System::from_source(f(4)) else {
                    warn(format!(
                        "{finess} : système de coordonnées inconnu « {} »",
                        f(4)
                    ));
                    continue;
                };
                match geo::to_wgs84(system, x, y) {
                    Some((lon, lat)) if geo::in_france(lon, lat) => {
                        out[at].longitude = Some((lon * 1e6).round() / 1e6);
                        out[at].latitude = Some((lat * 1e6).round() / 1e6);
                    }
                    _ => warn(format!(
                        "{finess} : coordonnées hors de France ({x} ; {y}), ignorées"
                    )),
                }
            }
            other => {
                errors += 1;
                warn(format!("type de ligne inconnu « {other} »"));
            }
        }
    }
    if out.is_empty() {
        return Err(ImportError::whole_file(
            "le fichier ne contient aucun établissement (lignes structureet)",
        ));
    }
    if errors * 100 > total.max(1) {
        let mut shown = warnings;
        shown.truncate(super::MAX_REPORTED);
        shown.insert(
            0,
            LineError {
                line: None,
                message: format!("{errors} lignes sur {total} sont invalides (plus de 1 %)"),
            },
        );
        return Err(ImportError::Invalid(shown));
    }
    Ok(Parsed {
        file_date,
        establishments: out,
        warnings,
    })
}

/// Read a FINESS file and update the directory in place.
pub async fn import(
    db: &crate::storage::Db,
    bytes: &[u8],
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    import_with(db, bytes, &super::quiet, false).await
}

/// [`import`], saying how far it is.
pub async fn import_with(
    db: &crate::storage::Db,
    bytes: &[u8],
    progress: super::Progress<'_>,
    force: bool,
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    let parsed = parse_with(bytes, progress)?;
    let before = crate::storage::directory::establishment_count(db).await?;
    super::check_shrink(before, parsed.establishments.len() as i64, force)?;
    let (report, skipped) = super::warnings_report(&parsed.warnings);
    let summary = crate::storage::directory::replace_establishments(
        db,
        &parsed.establishments,
        &parsed.file_date,
        skipped,
        &report,
        progress,
    )
    .await?;
    Ok((summary, parsed.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(finess: &str, name: &str, dep: &str, com: &str, cat: &str) -> String {
        format!(
            "structureet;{finess};010008407;{name};\"{name} LONG; avec point-virgule\";;;12;RUE;DE LA PAIX;;;{com};{dep};AIN;01000 BOURG EN BRESSE;0474000000;;{cat};Centre Hospitalier (C.H.);1102;Centres Hospitaliers;26010004500012;8610Z;03;ARS;;;1979-02-13;1979-02-13;2024-01-10;\n"
        )
    }

    #[test]
    fn reads_windows_1252_with_geolocation() {
        let mut file = b"finess;etalab;100;2024-01-17\n".to_vec();
        file.extend(line("010000024", "CH FLEYRIAT", "01", "451", "355").as_bytes());
        file.extend(
            WINDOWS_1252
                .encode(&line("9D0000011", "CENTRE DE SANTÉ", "9D", "411", "124"))
                .0
                .iter(),
        );
        file.extend(b"geolocalisation;010000024;882408.3;6543019.6;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n");
        file.extend(b"geolocalisation;9D0000011;1000.0;1000.0;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n");
        let p = parse(&file).unwrap();
        assert_eq!(p.file_date, "2024-01-17");
        assert_eq!(p.establishments.len(), 2);
        let ch = &p.establishments[0];
        assert_eq!(ch.insee_code.as_deref(), Some("01451"));
        assert_eq!(ch.long_name, "CH FLEYRIAT LONG; avec point-virgule");
        assert_eq!(
            (ch.longitude, ch.latitude),
            (Some(5.355651), Some(45.962402))
        );
        assert_eq!(ch.postal_code, "01000");
        assert_eq!(ch.phone, "04 74 00 00 00");
        let cds = &p.establishments[1];
        assert_eq!(cds.name, "CENTRE DE SANTÉ");
        assert_eq!(cds.insee_code.as_deref(), Some("97411"));
        assert_eq!(cds.longitude, None, "a point outside France is dropped");
        assert!(p.warnings[0].message.contains("hors de France"));
        assert_eq!(p.warnings[0].line, Some(5));
    }

    /// A long file: the reports keep their line numbers and their order
    /// (warnings before and after the points, a duplicate past the
    /// establishments).
    #[test]
    fn a_long_file_reports_each_line_where_it_is() {
        let mut file = b"finess;etalab;12000;2024-01-17\n".to_vec();
        let number = |i: usize| format!("01{i:07}");
        for i in 0..12_000 {
            let commune = if i == 9_000 { "45X" } else { "451" };
            file.extend(line(&number(i), "CH", "01", commune, "355").as_bytes());
        }
        // Line 12,002: a second line for an establishment already read.
        file.extend(line(&number(3), "CH BIS", "01", "451", "355").as_bytes());
        for i in (0..12_000).step_by(1_000) {
            file.extend(
                format!("geolocalisation;{};882408.3;6543019.6;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n", number(i))
                    .as_bytes(),
            );
        }
        // Lines 12,015 and 12,016: an unknown establishment, a point in the sea.
        file.extend(b"geolocalisation;019999999;882408.3;6543019.6;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n");
        file.extend(b"geolocalisation;010000005;1000.0;1000.0;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-01-10\n");
        let p = parse(&file).unwrap();
        assert_eq!(p.establishments.len(), 12_000);
        assert!(p
            .establishments
            .windows(2)
            .all(|w| w[0].finess < w[1].finess));
        let located = p
            .establishments
            .iter()
            .filter(|e| e.longitude.is_some())
            .count();
        assert_eq!(located, 12);
        assert_eq!(p.establishments[9_000].insee_code, None);
        let reported: Vec<(Option<usize>, &str)> = p
            .warnings
            .iter()
            .map(|w| (w.line, &w.message[..20]))
            .collect();
        assert_eq!(
            reported,
            [
                (Some(9_002), "010009000 : commune "),
                (Some(12_002), "l'établissement 010"),
                (Some(12_015), "géolocalisation de "),
                (Some(12_016), "010000005 : coordonn"),
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_trust() {
        assert!(parse(b"code;nom\n")
            .unwrap_err()
            .to_string()
            .contains("finess;etalab"));
        let mut cut = b"finess;etalab;1;2024-01-17\n".to_vec();
        cut.extend(line("010000024", "CH", "01", "451", "355").as_bytes());
        cut.extend(b"structureet;010000032;CH BIS;;;;");
        let err = parse(&cut).unwrap_err();
        assert!(
            err.to_string().contains("tronqué") && err.lines()[0].line == Some(3),
            "{err}"
        );
        // One bad line in two is over 1 %: refused whole, with the reasons.
        let mut bad = b"finess;etalab;2;2024-01-17\n".to_vec();
        bad.extend(line("010000024", "CH", "01", "451", "355").as_bytes());
        bad.extend(line("010000024", "DOUBLON", "01", "451", "355").as_bytes());
        let err = parse(&bad).unwrap_err().to_string();
        assert!(
            err.contains("plus de 1 %") && err.contains("ligne 3") && err.contains("deux fois"),
            "{err}"
        );
    }

    #[test]
    fn insee_codes() {
        assert_eq!(insee_from("01", "451").as_deref(), Some("01451"));
        assert_eq!(insee_from("2A", "004").as_deref(), Some("2A004"));
        assert_eq!(insee_from("9F", "611").as_deref(), Some("97611"));
        assert_eq!(insee_from("01", "45"), None);
    }

    /// Property tests: no file panics the reader, and establishments
    /// written in the etalab format read back as written.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(vec![
                    "",
                    ";",
                    "\"",
                    "\"\"",
                    "\"a;b\"",
                    "structureet",
                    "geolocalisation",
                    "010000024",
                    "9D0000011",
                    "2A",
                    "9F",
                    "451",
                    "355",
                    "01000 BOURG",
                    "0474000000",
                    "2024-01-10",
                    "2024-13-45",
                    "NaN",
                    "inf",
                    "-inf",
                    "1e308",
                    "882408.3",
                    "6543019,6",
                    "LAMBERT_93",
                    "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93",
                    "WGS84",
                    "UTM_N20",
                    "UTM_N21",
                    "UTM_N22",
                    "UTM_S38",
                    "UTM_S40",
                    "\r",
                    "é",
                    "\u{FEFF}",
                ])
                .prop_map(str::to_owned),
                "[0-9A-Za-z .,-]{0,12}",
                any::<String>(),
            ]
        }

        fn line() -> impl Strategy<Value = String> {
            prop_oneof![
                (
                    proptest::sample::select(vec!["structureet", "geolocalisation", "autre"]),
                    proptest::collection::vec(field(), 0..36)
                )
                    .prop_map(|(kind, fields)| format!("{kind};{}", fields.join(";"))),
                proptest::collection::vec(field(), 0..8).prop_map(|f| f.concat()),
            ]
        }

        fn file() -> impl Strategy<Value = Vec<u8>> {
            (
                prop_oneof![
                    Just("finess;etalab;100;2024-01-17\n".to_owned()),
                    Just("finess;etalab\n".to_owned()),
                    field(),
                ],
                proptest::collection::vec(line(), 0..12),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(head, lines, ends, win)| {
                    let mut text = head + &lines.join("\n");
                    if ends {
                        text.push('\n');
                    }
                    if win {
                        WINDOWS_1252.encode(&text).0.into_owned()
                    } else {
                        text.into_bytes()
                    }
                })
        }

        /// One establishment as the etalab file writes it.
        #[derive(Debug, Clone)]
        struct Row {
            finess: String,
            name: String,
            long_name: String,
            dep: String,
            com: String,
            category: String,
        }

        fn rows() -> impl Strategy<Value = Vec<Row>> {
            proptest::collection::btree_set(0u32..1_000_000_000, 1..30).prop_flat_map(|ids| {
                let n = ids.len();
                (
                    Just(ids),
                    proptest::collection::vec(
                        (
                            "[A-Z0-9ÉÈ' -]{0,30}",
                            "[A-Za-z0-9éàç;' -]{0,40}",
                            proptest::sample::select(vec!["01", "2A", "62", "9D", "75"]),
                            "[0-9]{3}",
                            "[0-9]{1,3}",
                        ),
                        n,
                    ),
                )
                    .prop_map(|(ids, data)| {
                        ids.into_iter()
                            .zip(data)
                            .map(|(id, (name, long_name, dep, com, category))| Row {
                                finess: format!("{id:09}"),
                                name,
                                long_name,
                                dep: dep.to_owned(),
                                com,
                                category,
                            })
                            .collect()
                    })
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1500))]

            #[test]
            fn any_file_is_answered_not_panicked(bytes in file()) {
                match parse(&bytes) {
                    Ok(p) => prop_assert!(!p.establishments.is_empty()),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }

            #[test]
            fn any_bytes_are_answered_not_panicked(
                bytes in proptest::collection::vec(any::<u8>(), 0..400)
            ) {
                let mut file = b"finess;etalab;1;2024-01-17\n".to_vec();
                file.extend(bytes);
                let _ = parse(&file);
            }

            #[test]
            fn written_establishments_read_back(rows in rows(), win in any::<bool>()) {
                let mut text = "finess;etalab;100;2024-01-17\n".to_owned();
                for r in &rows {
                    text += &format!(
                        "structureet;{};;{};\"{}\";;;12;RUE;DE LA PAIX;;;{};{};X;01000 BOURG;;;{};Libellé;1102;Groupe;;;;;;;2001-01-01;2001-01-01;2024-01-10;\n",
                        r.finess, r.name, r.long_name, r.com, r.dep, r.category
                    );
                }
                let bytes = if win {
                    WINDOWS_1252.encode(&text).0.into_owned()
                } else {
                    text.into_bytes()
                };
                let p = parse(&bytes).unwrap();
                prop_assert_eq!(p.establishments.len(), rows.len());
                for (e, r) in p.establishments.iter().zip(&rows) {
                    prop_assert_eq!(&e.finess, &r.finess);
                    prop_assert_eq!(e.name.as_str(), r.name.trim());
                    prop_assert_eq!(e.long_name.as_str(), r.long_name.trim());
                    prop_assert_eq!(&e.category_code, &r.category);
                    prop_assert_eq!(&e.insee_code, &insee_from(&r.dep, &r.com));
                    prop_assert_eq!(e.opened_on.as_deref(), Some("2001-01-01"));
                }
            }
        }
    }
}
