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

// ------------------------------------------------- savoir-faire (specialties)

/// Specialties read from a « PS_LibreAcces_SavoirFaire » file, by RPPS
/// identifier: (code, label) of the savoir-faire kept for each person.
#[derive(Debug, Default)]
pub struct SavoirFaire {
    pub by_id: HashMap<String, (String, String)>,
    pub rows: usize,
}

/// Rank of a savoir-faire type: the ordinal specialty (`S`) first, then
/// exclusive competences (`CEX`), then any other (qualifications, DESC…).
fn type_rank(code: &str) -> u8 {
    match code.trim().to_ascii_uppercase().as_str() {
        "S" => 0,
        "CEX" => 1,
        _ => 2,
    }
}

/// Read a « PS_LibreAcces_SavoirFaire » file (newer extractions publish the
/// savoir-faire beside « Personne activité », one row per person and
/// savoir-faire): `|`-separated, header row, columns found by name like the
/// activity file (`Identification nationale PP`, `Code savoir-faire`,
/// `Libellé savoir-faire`, `Code type savoir-faire`). For each person the
/// ordinal specialty is kept, else the first savoir-faire of the best type.
pub fn parse_savoir_faire(bytes: &[u8]) -> Result<SavoirFaire, ImportError> {
    let text = decode(bytes);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let mut map = HashMap::new();
    for (i, h) in header
        .strip_suffix('|')
        .unwrap_or(header)
        .split('|')
        .enumerate()
    {
        map.entry(normalise(h)).or_insert(i);
    }
    let cols = Columns { map };
    let required = |names: &[&str], label: &str| {
        cols.find(names).ok_or_else(|| {
            ImportError::Invalid(vec![LineError {
                line: Some(1),
                message: format!(
                    "colonne « {label} » introuvable : ce n'est pas une extraction RPPS « Savoir-faire »"
                ),
            }])
        })
    };
    let c_id = required(
        &["identification nationale pp", "identifiant pp"],
        "Identification nationale PP",
    )?;
    let c_code = required(&["code savoir faire"], "Code savoir-faire")?;
    let c_label = cols.find(&["libelle savoir faire"]);
    let c_type = cols.find(&["code type savoir faire"]);
    let mut best: HashMap<String, (u8, String, String)> = HashMap::new();
    let mut out = SavoirFaire::default();
    for raw in lines {
        if raw.trim().is_empty() {
            continue;
        }
        out.rows += 1;
        let cells: Vec<&str> = raw.split('|').collect();
        let f = |c: Option<usize>| c.and_then(|c| cells.get(c)).map_or("", |s| s.trim());
        let (id, code) = (f(Some(c_id)), f(Some(c_code)));
        if id.is_empty() || code.is_empty() {
            continue;
        }
        let rank = type_rank(f(c_type));
        match best.get(id) {
            Some((r, _, _)) if *r <= rank => {}
            _ => {
                best.insert(
                    id.to_owned(),
                    (rank, code.to_owned(), f(c_label).to_owned()),
                );
            }
        }
    }
    if out.rows == 0 {
        return Err(ImportError::whole_file(
            "le fichier des savoir-faire ne contient aucune ligne",
        ));
    }
    out.by_id = best
        .into_iter()
        .map(|(id, (_, code, label))| (id, (code, label)))
        .collect();
    Ok(out)
}

/// Give each practice place without a specialty its professional's
/// savoir-faire; returns how many places were completed.
pub fn apply_savoir_faire(parsed: &mut Parsed, sf: &SavoirFaire) -> usize {
    let mut filled = 0;
    for p in &mut parsed.professionals {
        let Some((code, label)) = sf.by_id.get(&p.rpps) else {
            continue;
        };
        for place in p
            .places
            .iter_mut()
            .filter(|pl| pl.specialty_code.is_empty())
        {
            place.specialty_code = code.clone();
            place.specialty_label = label.clone();
            filled += 1;
        }
    }
    filled
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
    import_with_savoir_faire(db, bytes, None, progress, force).await
}

/// [`import_with`], the specialties completed from a « Savoir-faire » file
/// when one is given (read first: a bad file refuses the import before
/// anything is written).
pub async fn import_with_savoir_faire(
    db: &crate::storage::Db,
    bytes: &[u8],
    savoir_faire: Option<&[u8]>,
    progress: super::Progress<'_>,
    force: bool,
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    let sf = savoir_faire.map(parse_savoir_faire).transpose()?;
    let mut parsed = parse_with(bytes, progress)?;
    if let Some(sf) = &sf {
        let filled = apply_savoir_faire(&mut parsed, sf);
        tracing::info!(
            "savoir-faire : {} lignes, spécialité complétée pour {filled} lieux d'exercice",
            sf.rows
        );
    }
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

    /// The activity file of newer extractions, without savoir-faire columns.
    const HEADER_NO_SF: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code mode exercice|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code secteur d'activité|";
    const SF_HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|";

    fn sf_row(id: &str, kind: &str, code: &str, label: &str) -> String {
        format!("8|{id}|8{id}|DUPONT|Marie|10|Médecin|C|Civil|{kind}|type|{code}|{label}|\n")
    }

    #[test]
    fn savoir_faire_completes_missing_specialties() {
        let mut activity = format!("{HEADER_NO_SF}\n");
        activity += "8|1|80000000001|DUPONT|Marie|10|Médecin|L|62300|62498|LENS|SA07|\n";
        activity += "8|1|80000000001|DUPONT|Marie|10|Médecin|L|62800|62510|LIÉVIN|SA07|\n";
        activity += "8|2|80000000002|MARTIN|Paul|10|Médecin|L|62300|62498|LENS|SA07|\n";
        activity += "8|3|80000000003|DURAND|Léa|60|Infirmier|L|62300|62498|LENS|SA07|\n";
        let mut parsed = parse(activity.as_bytes()).unwrap();
        assert!(parsed.professionals[0].places[0].specialty_code.is_empty());

        let mut sf = format!("{SF_HEADER}\n");
        // A qualification before the ordinal specialty: the specialty wins.
        sf += &sf_row("0000000001", "DSM", "DSM03", "Gériatrie");
        sf += &sf_row("0000000001", "S", "SM54", "Médecine générale");
        sf += &sf_row("0000000002", "CEX", "CEX12", "Médecine du sport");
        sf += &sf_row("0000000002", "", "XX1", "Autre");
        let sf = parse_savoir_faire(sf.as_bytes()).unwrap();
        assert_eq!(sf.rows, 4);
        assert_eq!(apply_savoir_faire(&mut parsed, &sf), 3);
        let by = |rpps: &str| {
            parsed
                .professionals
                .iter()
                .find(|p| p.rpps == rpps)
                .unwrap()
                .places
                .iter()
                .map(|p| (p.specialty_code.as_str(), p.specialty_label.as_str()))
                .collect::<Vec<_>>()
        };
        assert_eq!(by("80000000001"), [("SM54", "Médecine générale"); 2]);
        assert_eq!(by("80000000002"), [("CEX12", "Médecine du sport")]);
        assert_eq!(by("80000000003"), [("", "")]);

        // A specialty already in the activity file is kept.
        let mut with =
            parse(format!("{HEADER}\n{}", row("0000000007", "DUPONT", "10", "62498")).as_bytes())
                .unwrap();
        let mut other = format!("{SF_HEADER}\n");
        other += &sf_row("0000000007", "S", "SM26", "Cardiologie");
        assert_eq!(
            apply_savoir_faire(&mut with, &parse_savoir_faire(other.as_bytes()).unwrap()),
            0
        );
        assert_eq!(with.professionals[0].places[0].specialty_code, "SM54");
    }

    #[test]
    fn a_file_that_is_not_savoir_faire_is_refused() {
        let e = parse_savoir_faire(format!("{HEADER_NO_SF}\n8|1|80000000001|DUPONT|Marie|10|Médecin|L|62300|62498|LENS|SA07|\n").as_bytes())
            .unwrap_err();
        assert!(
            e.to_string().contains("Code savoir-faire")
                || format!("{e:?}").contains("Code savoir-faire"),
            "{e:?}"
        );
        assert!(parse_savoir_faire(format!("{SF_HEADER}\n").as_bytes()).is_err());
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
