//! RPPS « PS_LibreAcces_Personne_activite » extraction of the Annuaire Santé:
//! one row per practitioner and practice situation, grouped here into
//! professionals with their practice places.
//!
//! `|`-separated, a header row, a trailing `|`, no quoting. Columns are found
//! by header name (accent-, case- and suffix-insensitive) because their order
//! and spelling drift between extracts. A malformed row is skipped and
//! reported; more than 1 % of bad rows, or a missing required column, refuses
//! the whole file.

use std::collections::HashMap;

use super::finess::decode;
use super::{ImportError, LineError};
use crate::domain::codes::InseeCode;
use crate::domain::text::fold_accents;

pub use crate::domain::directory::{PracticePlace, Professional};

#[derive(Debug)]
pub struct Parsed {
    pub professionals: Vec<Professional>,
    pub rows: usize,
    pub warnings: Vec<LineError>,
}

/// `Code commune (coord. structure)` → `code commune`.
fn normalise(header: &str) -> String {
    let mut s = fold_accents(header);
    while let (Some(a), Some(b)) = (s.find('('), s.find(')')) {
        if b < a {
            break;
        }
        s.replace_range(a..=b, " ");
    }
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

struct Columns {
    map: HashMap<String, usize>,
}

impl Columns {
    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.map.get(*n).copied())
    }
}

pub fn parse(bytes: &[u8]) -> Result<Parsed, ImportError> {
    parse_with(bytes, &super::quiet)
}

/// [`parse`], saying every 10,000 lines how far it is.
pub fn parse_with(bytes: &[u8], progress: super::Progress) -> Result<Parsed, ImportError> {
    let text = decode(bytes);
    let truncated = !text.is_empty() && !text.ends_with('\n');
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let headers: Vec<&str> = header
        .strip_suffix('|')
        .unwrap_or(header)
        .split('|')
        .collect();
    let mut map = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        map.entry(normalise(h)).or_insert(i);
    }
    let cols = Columns { map };
    let required = |names: &[&str], label: &str| {
        cols.find(names).ok_or_else(|| {
            ImportError::Invalid(vec![LineError {
                line: Some(1),
                message: format!("colonne « {label} » introuvable : ce n'est pas une extraction RPPS « Personne activité »"),
            }])
        })
    };
    let c_id = required(
        &["identification nationale pp", "identifiant pp"],
        "Identification nationale PP",
    )?;
    let c_last = required(&["nom d exercice"], "Nom d'exercice")?;
    let c_prof = required(&["code profession"], "Code profession")?;
    let opt = |names: &[&str]| cols.find(names);
    let c_first = opt(&["prenom d exercice"]);
    let c_prof_label = opt(&["libelle profession"]);
    let c_spec = opt(&["code savoir faire"]);
    let c_spec_label = opt(&["libelle savoir faire"]);
    let c_mode = opt(&["code mode exercice"]);
    let c_sector = opt(&["code secteur d activite"]);
    let c_finess = opt(&["numero finess site"]);
    let c_siret = opt(&["numero siret site"]);
    let c_site = opt(&["raison sociale site"]);
    let c_num = opt(&["numero voie"]);
    let c_rep = opt(&["indice repetition voie"]);
    let c_type = opt(&["libelle type de voie", "code type de voie"]);
    let c_street = opt(&["libelle voie"]);
    let c_extra = opt(&["mention distribution"]);
    let c_cp = opt(&["code postal"]);
    let c_insee = opt(&["code commune"]);
    let c_city = opt(&["libelle commune"]);
    let c_phone = opt(&["telephone"]);

    let mut warnings = Vec::new();
    let mut bad = 0usize;
    let mut rows = 0usize;
    let mut by_id: HashMap<String, usize> = HashMap::new();
    // The line where each professional was first read, to name it when the
    // same identifier comes back with another name.
    let mut first_line: Vec<usize> = Vec::new();
    let mut out: Vec<Professional> = Vec::new();
    let line_count = text.lines().count();
    for (i, raw) in lines.enumerate() {
        let n = i + 2;
        if n % 10_000 == 0 {
            progress("lecture du fichier", n as u64, line_count as u64);
        }
        if raw.trim().is_empty() {
            continue;
        }
        rows += 1;
        // Exactly one trailing `|` ends a row: empty last fields are still fields.
        let raw = raw.trim_end_matches('\r');
        let fields: Vec<&str> = raw.strip_suffix('|').unwrap_or(raw).split('|').collect();
        if fields.len() < headers.len() {
            if truncated && n == line_count {
                return Err(ImportError::Invalid(vec![LineError {
                    line: Some(n),
                    message: "le fichier est tronqué : sa dernière ligne est incomplète".into(),
                }]));
            }
            bad += 1;
            warnings.push(LineError {
                line: Some(n),
                message: format!(
                    "{} champs au lieu de {} : ligne ignorée",
                    fields.len(),
                    headers.len()
                ),
            });
            continue;
        }
        let f = |c: Option<usize>| {
            c.and_then(|c| fields.get(c))
                .map(|s| s.trim())
                .unwrap_or("")
        };
        let id = f(Some(c_id));
        if !(id.len() == 11 || id.len() == 12) || !id.bytes().all(|b| b.is_ascii_digit()) {
            bad += 1;
            warnings.push(LineError {
                line: Some(n),
                message: format!("identifiant RPPS « {id} » invalide : ligne ignorée"),
            });
            continue;
        }
        let profession = f(Some(c_prof));
        if profession.is_empty() {
            bad += 1;
            warnings.push(LineError {
                line: Some(n),
                message: format!("{id} : code profession manquant : ligne ignorée"),
            });
            continue;
        }
        let insee_raw = f(c_insee);
        let insee = if insee_raw.is_empty() {
            None
        } else {
            match InseeCode::parse(insee_raw) {
                Ok(c) => Some(c.as_str().to_owned()),
                Err(_) => {
                    warnings.push(LineError {
                        line: Some(n),
                        message: format!(
                            "{id} : code commune « {insee_raw} » invalide, lieu gardé sans commune"
                        ),
                    });
                    None
                }
            }
        };
        let street = [f(c_num), f(c_rep), f(c_type), f(c_street)]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let address = [street.as_str(), f(c_extra)]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let place = PracticePlace {
            specialty_code: f(c_spec).to_owned(),
            specialty_label: f(c_spec_label).to_owned(),
            mode_code: f(c_mode).to_owned(),
            sector_code: f(c_sector).to_owned(),
            finess_site: f(c_finess).to_owned(),
            siret_site: f(c_siret).to_owned(),
            site_name: f(c_site).to_owned(),
            address,
            postal_code: f(c_cp).to_owned(),
            insee_code: insee,
            city: f(c_city).to_owned(),
            phone: crate::domain::territory::parse_phone(f(c_phone)).unwrap_or_default(),
        };
        let at = *by_id.entry(id.to_owned()).or_insert_with(|| {
            out.push(Professional {
                rpps: id.to_owned(),
                last_name: f(Some(c_last)).to_owned(),
                first_name: f(c_first).to_owned(),
                profession_code: profession.to_owned(),
                profession_label: f(c_prof_label).to_owned(),
                places: Vec::new(),
            });
            first_line.push(n);
            out.len() - 1
        });
        // One identifier, two people? The rows are still merged (the RPPS
        // identifier is the key), but the report says so.
        let (last, first) = (f(Some(c_last)), f(c_first));
        let same = |a: &str, b: &str| fold_accents(a) == fold_accents(b);
        if !same(last, &out[at].last_name) || !same(first, &out[at].first_name) {
            warnings.push(LineError {
                line: Some(n),
                message: format!(
                    "{id} : même identifiant RPPS qu'à la ligne {} mais un autre nom (« {} {} » au lieu de « {} {} ») ; \
                     fiches réunies sous le premier nom, à vérifier",
                    first_line[at],
                    last,
                    first,
                    out[at].last_name,
                    out[at].first_name
                ),
            });
        }
        // A situation without any place (no address, no site) adds nothing.
        if place != PracticePlace::default() && !out[at].places.contains(&place) {
            out[at].places.push(place);
        }
    }
    if out.is_empty() {
        return Err(ImportError::whole_file(
            "le fichier ne contient aucun professionnel",
        ));
    }
    if bad * 100 > rows.max(1) {
        let mut shown = warnings;
        shown.truncate(super::MAX_REPORTED);
        shown.insert(
            0,
            LineError {
                line: None,
                message: format!("{bad} lignes sur {rows} sont invalides (plus de 1 %)"),
            },
        );
        return Err(ImportError::Invalid(shown));
    }
    Ok(Parsed {
        professionals: out,
        rows,
        warnings,
    })
}

/// Read an RPPS file and update the directory in place.
pub async fn import(
    db: &crate::storage::Db,
    bytes: &[u8],
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    import_with(db, bytes, &super::quiet, false).await
}

/// [`import`], saying how far it is.
/// Read an RPPS file and update the directory, reporting progress. Refused
/// when the file would remove more than [`super::MAX_SHRINK_PERCENT`] of the
/// professionals, unless `force`.
pub async fn import_with(
    db: &crate::storage::Db,
    bytes: &[u8],
    progress: super::Progress<'_>,
    force: bool,
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    let parsed = parse_with(bytes, progress)?;
    let before = crate::storage::directory::professional_count(db).await?;
    super::check_shrink(before, parsed.professionals.len() as i64, force)?;
    let (report, skipped) = super::warnings_report(&parsed.warnings);
    let summary = crate::storage::directory::replace_professionals(
        db,
        &parsed.professionals,
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

    const HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|Libellé civilité d'exercice|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Numéro SIRET site|Numéro FINESS site|Raison sociale site|Numéro Voie (coord. structure)|Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Téléphone (coord. structure)|Code secteur d'activité|";

    fn row(id: &str, name: &str, prof: &str, commune: &str) -> String {
        format!("8|{id}|8{id}|DR|Docteur|{name}|Marie|{prof}|Médecin|SM54|Médecine générale|L||||12|RUE|DU MARCHÉ|62300|{commune}|LENS|0321000000|SA07|\n")
    }

    #[test]
    fn groups_rows_into_professionals() {
        let mut file = format!("{HEADER}\n");
        file += &row("10000000001", "DUPONT", "10", "62498");
        file += &row("10000000001", "DUPONT", "10", "62510");
        file += &row("10000000001", "DUPONT", "10", "62510");
        file += &row("10000000002", "MARTIN", "60", "62498");
        let p = parse(file.as_bytes()).unwrap();
        assert_eq!(p.rows, 4);
        assert_eq!(p.professionals.len(), 2);
        let d = &p.professionals[0];
        assert_eq!(d.rpps, "810000000001");
        assert_eq!(d.places.len(), 2, "duplicate situations are merged");
        assert_eq!(d.places[0].insee_code.as_deref(), Some("62498"));
        assert_eq!(d.places[0].address, "12 RUE DU MARCHÉ");
        assert_eq!(d.places[0].specialty_label, "Médecine générale");
        assert_eq!(d.places[0].phone, "03 21 00 00 00");
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let file = "Code profession|Nom d'exercice|Identification nationale PP|\n60|MARTIN|810000000002|\n";
        let p = parse(file.as_bytes()).unwrap();
        assert_eq!(p.professionals[0].last_name, "MARTIN");
        let err = parse(b"Nom|Profession|\nX|Y|\n").unwrap_err();
        assert!(err.to_string().contains("Identification nationale PP"));
    }

    #[test]
    fn bad_rows_are_reported_and_truncation_refused() {
        let mut file = format!("{HEADER}\n");
        for i in 0..200 {
            file += &row(&format!("1000000{i:04}"), "X", "10", "62498");
        }
        file += &row("123", "Y", "10", "62498");
        let p = parse(file.as_bytes()).unwrap();
        assert_eq!(p.warnings[0].line, Some(202));
        assert!(p.warnings[0].message.contains("identifiant RPPS"));
        let cut = format!("{file}8|10000000999|810000000999|DR");
        let err = parse(cut.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("tronqué"));
    }

    /// Property tests: no file panics the reader, and professionals written
    /// in the RPPS format read back as written.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn cell() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(vec![
                    "",
                    "|",
                    "||",
                    "10000000001",
                    "810000000001",
                    "123",
                    "10",
                    "62498",
                    "2A004",
                    "0321000000",
                    "(",
                    ")",
                    ")(",
                    "((a)",
                    "Nom d'exercice",
                    "Code profession",
                    "Identification nationale PP",
                    "\r",
                    "é",
                    "\u{FEFF}",
                    " ",
                ])
                .prop_map(str::to_owned),
                "[0-9A-Za-z ()'-]{0,12}",
                any::<String>(),
            ]
        }

        fn file() -> impl Strategy<Value = Vec<u8>> {
            (
                prop_oneof![
                    Just(format!("{HEADER}\n")),
                    Just(
                        "Code profession|Nom d'exercice|Identification nationale PP|\n".to_owned()
                    ),
                    proptest::collection::vec(cell(), 0..8).prop_map(|v| v.join("|") + "\n"),
                ],
                proptest::collection::vec(
                    proptest::collection::vec(cell(), 0..26).prop_map(|v| v.join("|")),
                    0..12,
                ),
                any::<bool>(),
            )
                .prop_map(|(head, lines, ends)| {
                    let mut text = head + &lines.join("\n");
                    if ends {
                        text.push('\n');
                    }
                    text.into_bytes()
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1500))]

            #[test]
            fn any_file_is_answered_not_panicked(bytes in file()) {
                match parse(&bytes) {
                    Ok(p) => prop_assert!(!p.professionals.is_empty()),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }

            #[test]
            fn any_bytes_are_answered_not_panicked(
                bytes in proptest::collection::vec(any::<u8>(), 0..400)
            ) {
                let _ = parse(&bytes);
                let mut file = format!("{HEADER}\n").into_bytes();
                file.extend(bytes);
                let _ = parse(&file);
            }

            #[test]
            fn written_professionals_read_back(
                people in proptest::collection::btree_map(
                    10_000_000_000u64..100_000_000_000,
                    ("[A-ZÉ' -]{1,20}", "[A-Za-zé -]{0,15}", "[0-9]{2}", proptest::sample::select(vec!["62498", "62510", "2A004", ""])),
                    1..30,
                )
            ) {
                let mut text = format!("{HEADER}\n");
                for (id, (last, first, prof, commune)) in &people {
                    text += &format!(
                        "8|{id}|8{id}|DR|Docteur|{last}|{first}|{prof}|Libellé|SM54|Spécialité|L||||12|RUE|DU MARCHÉ|62300|{commune}|LENS||SA07|\n"
                    );
                }
                let p = parse(text.as_bytes()).unwrap();
                prop_assert_eq!(p.rows, people.len());
                prop_assert_eq!(p.professionals.len(), people.len());
                for (pro, (id, (last, first, prof, commune))) in p.professionals.iter().zip(&people) {
                    prop_assert_eq!(pro.rpps.clone(), format!("8{id}"));
                    prop_assert_eq!(pro.last_name.as_str(), last.trim());
                    prop_assert_eq!(pro.first_name.as_str(), first.trim());
                    prop_assert_eq!(&pro.profession_code, prof);
                    prop_assert_eq!(pro.places.len(), 1);
                    prop_assert_eq!(
                        pro.places[0].insee_code.as_deref(),
                        (!commune.is_empty()).then_some(*commune)
                    );
                }
            }
        }
    }
}
