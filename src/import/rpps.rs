//! RPPS « PS_LibreAcces_Personne_activite » extraction of the Annuaire Santé:
//! one row per practitioner and practice situation, grouped here into
//! professionals with their practice places.
//!
//! `|`-separated, a header row, a trailing `|`, no quoting. Columns are found
//! by header name (accent-, case- and suffix-insensitive) because their order
//! and spelling drift between extracts. A malformed row is skipped and
//! reported; more than 1 % of bad rows, or a missing required column, refuses
//! the whole file.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};

use encoding_rs::WINDOWS_1252;

use super::{ImportError, LineError};
use crate::domain::codes::InseeCode;
use crate::domain::text::fold_accents;
use crate::storage::professionals_import::{Prepared, ProfessionalsImport};

pub use crate::domain::directory::{PracticePlace, Professional};

/// A whole file read into memory: for tests and small files (the importer
/// itself streams, see [`Reader`]).
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
    fn from_header(header: &str) -> (Columns, usize) {
        let headers: Vec<&str> = header
            .strip_suffix('|')
            .unwrap_or(header)
            .split('|')
            .collect();
        let mut map = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            map.entry(normalise(h)).or_insert(i);
        }
        (Columns { map }, headers.len())
    }

    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.map.get(*n).copied())
    }
}

/// An RPPS identifier (11 or 12 digits, as the parser accepts them) as a
/// number, its length kept in the high bits so that `0…1` and `…1` differ:
/// the importer keeps millions of them in memory.
pub fn id_key(id: &str) -> Option<u64> {
    if !(id.len() == 11 || id.len() == 12) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(((id.len() as u64) << 48) | id.parse::<u64>().ok()?)
}

/// The identifier an [`id_key`] was made from.
pub fn id_of_key(key: u64) -> String {
    let len = (key >> 48) as usize;
    format!("{:0len$}", key & ((1 << 48) - 1))
}

/// One line of the file decoded: UTF-8, else Windows-1252 (older extracts),
/// line ends and a byte-order mark removed.
fn decode_line(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => WINDOWS_1252.decode(bytes).0,
    }
}

/// Column positions of an activity file.
#[derive(Clone, Copy)]
struct Layout {
    fields: usize,
    id: usize,
    last: usize,
    profession: usize,
    first: Option<usize>,
    profession_label: Option<usize>,
    specialty: Option<usize>,
    specialty_label: Option<usize>,
    mode: Option<usize>,
    sector: Option<usize>,
    finess: Option<usize>,
    siret: Option<usize>,
    site: Option<usize>,
    number: Option<usize>,
    repetition: Option<usize>,
    street_type: Option<usize>,
    street: Option<usize>,
    extra: Option<usize>,
    postal_code: Option<usize>,
    insee: Option<usize>,
    city: Option<usize>,
    phone: Option<usize>,
}

impl Layout {
    fn from_header(header: &str) -> Result<Layout, ImportError> {
        let (cols, fields) = Columns::from_header(header);
        let required = |names: &[&str], label: &str| {
            cols.find(names).ok_or_else(|| {
                ImportError::Invalid(vec![LineError {
                    line: Some(1),
                    message: format!("colonne « {label} » introuvable : ce n'est pas une extraction RPPS « Personne activité »"),
                }])
            })
        };
        let opt = |names: &[&str]| cols.find(names);
        Ok(Layout {
            fields,
            id: required(
                &["identification nationale pp", "identifiant pp"],
                "Identification nationale PP",
            )?,
            last: required(&["nom d exercice"], "Nom d'exercice")?,
            profession: required(&["code profession"], "Code profession")?,
            first: opt(&["prenom d exercice"]),
            profession_label: opt(&["libelle profession"]),
            specialty: opt(&["code savoir faire"]),
            specialty_label: opt(&["libelle savoir faire"]),
            mode: opt(&["code mode exercice"]),
            sector: opt(&["code secteur d activite"]),
            finess: opt(&["numero finess site"]),
            siret: opt(&["numero siret site"]),
            site: opt(&["raison sociale site"]),
            number: opt(&["numero voie"]),
            repetition: opt(&["indice repetition voie"]),
            street_type: opt(&["libelle type de voie", "code type de voie"]),
            street: opt(&["libelle voie"]),
            extra: opt(&["mention distribution"]),
            postal_code: opt(&["code postal"]),
            insee: opt(&["code commune"]),
            city: opt(&["libelle commune"]),
            phone: opt(&["telephone"]),
        })
    }
}

/// Rows of an identifier met again after other identifiers (the extracts
/// are sorted by identifier, so this is rare): its professional has already
/// been handed over, the importer merges these places into it at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct LateRow {
    pub line: usize,
    pub rpps: String,
    pub last_name: String,
    pub first_name: String,
    pub place: PracticePlace,
}

/// What the whole reading found, once the last professional is handed over.
#[derive(Debug, Default)]
pub struct ReadEnd {
    /// Data rows of the file (blank lines left out).
    pub rows: usize,
    /// Professionals handed over.
    pub professionals: usize,
    pub bad: usize,
    /// The first [`KEPT_WARNINGS`] warnings; the others are counted.
    pub warnings: Vec<LineError>,
    pub late: Vec<LateRow>,
}

/// Warnings kept for the report (the file is refused past 1 % of bad rows).
pub const KEPT_WARNINGS: usize = 1_000;

/// Reads an activity file line by line and hands over one professional at a
/// time, grouping the consecutive rows of an identifier. Memory stays
/// bounded whatever the file size: the current professional, the set of
/// identifiers already handed over (8 bytes each) and the few late rows.
pub struct Reader<R> {
    input: R,
    layout: Layout,
    /// The line number of the last line read.
    line: usize,
    buf: Vec<u8>,
    /// Bytes read so far, for the progress.
    pub bytes_read: u64,
    /// The professional being grouped and the line it started on.
    current: Option<(Professional, usize)>,
    seen: HashSet<u64>,
    savoir_faire: Option<SavoirFaire>,
    end: ReadEnd,
    other_warnings: usize,
    finished: bool,
}

impl<R: BufRead> Reader<R> {
    /// Read the header; a file without the required columns is refused.
    pub fn new(mut input: R, savoir_faire: Option<SavoirFaire>) -> Result<Self, ImportError> {
        let mut buf = Vec::new();
        let n = input.read_until(b'\n', &mut buf)?;
        let header = decode_line(&buf).into_owned();
        let layout = Layout::from_header(&header)?;
        Ok(Reader {
            input,
            layout,
            line: 1,
            buf,
            bytes_read: n as u64,
            current: None,
            seen: HashSet::new(),
            savoir_faire,
            end: ReadEnd::default(),
            other_warnings: 0,
            finished: false,
        })
    }

    fn warn(&mut self, line: usize, message: String) {
        if self.end.warnings.len() < KEPT_WARNINGS {
            self.end.warnings.push(LineError {
                line: Some(line),
                message,
            });
        } else {
            self.other_warnings += 1;
        }
    }

    fn bad(&mut self, line: usize, message: String) {
        self.end.bad += 1;
        self.warn(line, message);
    }

    /// Give a professional its savoir-faire when the file had none.
    fn hand_over(&mut self, mut p: Professional) -> Professional {
        if let Some(sf) = &self.savoir_faire {
            sf.complete(&p.rpps, &mut p.places);
        }
        self.end.professionals += 1;
        p
    }

    /// The next professional, or `None` at the end of the file.
    pub fn next_professional(&mut self) -> Result<Option<Professional>, ImportError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            self.buf.clear();
            let n = self.input.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                self.finished = true;
                let last = self.current.take().map(|(p, _)| self.hand_over(p));
                return Ok(last);
            }
            self.bytes_read += n as u64;
            self.line += 1;
            let complete = self.buf.ends_with(b"\n");
            let buf = std::mem::take(&mut self.buf);
            let out = self.row(&decode_line(&buf), complete);
            self.buf = buf;
            if let Some(p) = out? {
                return Ok(Some(p));
            }
        }
    }

    /// Read one line: a professional is handed over when this line starts
    /// another one.
    fn row(&mut self, raw: &str, complete: bool) -> Result<Option<Professional>, ImportError> {
        let n = self.line;
        if raw.trim().is_empty() {
            return Ok(None);
        }
        self.end.rows += 1;
        let l = self.layout;
        // Exactly one trailing `|` ends a row: empty last fields are still fields.
        let fields: Vec<&str> = raw.strip_suffix('|').unwrap_or(raw).split('|').collect();
        if fields.len() < l.fields {
            if !complete {
                return Err(ImportError::Invalid(vec![LineError {
                    line: Some(n),
                    message: "le fichier est tronqué : sa dernière ligne est incomplète".into(),
                }]));
            }
            let message = format!(
                "{} champs au lieu de {} : ligne ignorée",
                fields.len(),
                l.fields
            );
            self.bad(n, message);
            return Ok(None);
        }
        let f = |c: Option<usize>| c.and_then(|c| fields.get(c)).map_or("", |s| s.trim());
        let id = f(Some(l.id));
        let Some(key) = id_key(id) else {
            self.bad(
                n,
                format!("identifiant RPPS « {id} » invalide : ligne ignorée"),
            );
            return Ok(None);
        };
        let profession = f(Some(l.profession));
        if profession.is_empty() {
            self.bad(
                n,
                format!("{id} : code profession manquant : ligne ignorée"),
            );
            return Ok(None);
        }
        let insee_raw = f(l.insee);
        let insee = if insee_raw.is_empty() {
            None
        } else {
            match InseeCode::parse(insee_raw) {
                Ok(c) => Some(c.as_str().to_owned()),
                Err(_) => {
                    self.warn(
                        n,
                        format!(
                            "{id} : code commune « {insee_raw} » invalide, lieu gardé sans commune"
                        ),
                    );
                    None
                }
            }
        };
        let street = [f(l.number), f(l.repetition), f(l.street_type), f(l.street)]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let address = [street.as_str(), f(l.extra)]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let place = PracticePlace {
            specialty_code: f(l.specialty).to_owned(),
            specialty_label: f(l.specialty_label).to_owned(),
            mode_code: f(l.mode).to_owned(),
            sector_code: f(l.sector).to_owned(),
            finess_site: f(l.finess).to_owned(),
            siret_site: f(l.siret).to_owned(),
            site_name: f(l.site).to_owned(),
            address,
            postal_code: f(l.postal_code).to_owned(),
            insee_code: insee,
            city: f(l.city).to_owned(),
            phone: crate::domain::territory::parse_phone(f(l.phone)).unwrap_or_default(),
        };
        let (last, first) = (f(Some(l.last)), f(l.first));
        let profession_label = f(l.profession_label);
        // The same professional as the line before: one more place.
        if let Some((p, first_line)) = &mut self.current {
            if p.rpps == id {
                // Most lines repeat the name as it was: compared as written
                // first, folded only when they differ.
                let same = |a: &str, b: &str| a == b || fold_accents(a) == fold_accents(b);
                let other_name = !same(last, &p.last_name) || !same(first, &p.first_name);
                let message = other_name.then(|| {
                    format!(
                        "{id} : même identifiant RPPS qu'à la ligne {} mais un autre nom (« {} {} » au lieu de « {} {} ») ; \
                         fiches réunies sous le premier nom, à vérifier",
                        first_line, last, first, p.last_name, p.first_name
                    )
                });
                // A situation without any place adds nothing.
                if place != PracticePlace::default() && !p.places.contains(&place) {
                    p.places.push(place);
                }
                if let Some(message) = message {
                    self.warn(n, message);
                }
                return Ok(None);
            }
        }
        if self.seen.contains(&key) {
            // Met again after others: merged at the end.
            self.end.late.push(LateRow {
                line: n,
                rpps: id.to_owned(),
                last_name: last.to_owned(),
                first_name: first.to_owned(),
                place,
            });
            return Ok(None);
        }
        self.seen.insert(key);
        let next = Professional {
            rpps: id.to_owned(),
            last_name: last.to_owned(),
            first_name: first.to_owned(),
            profession_code: profession.to_owned(),
            profession_label: profession_label.to_owned(),
            places: if place == PracticePlace::default() {
                Vec::new()
            } else {
                vec![place]
            },
        };
        let done = self.current.replace((next, n)).map(|(p, _)| p);
        Ok(done.map(|p| self.hand_over(p)))
    }

    /// What the reading found. A file with no professional, or with more
    /// than 1 % of bad rows, is refused here, before anything is applied.
    pub fn finish(mut self) -> Result<ReadEnd, ImportError> {
        while self.next_professional()?.is_some() {}
        if let Some(sf) = &self.savoir_faire {
            for late in &mut self.end.late {
                sf.complete(&late.rpps, std::slice::from_mut(&mut late.place));
            }
        }
        let mut end = self.end;
        if self.other_warnings > 0 {
            end.warnings.push(LineError {
                line: None,
                message: format!("… et {} autres avertissements", self.other_warnings),
            });
        }
        if end.professionals == 0 {
            return Err(ImportError::whole_file(
                "le fichier ne contient aucun professionnel",
            ));
        }
        if end.bad * 100 > end.rows.max(1) {
            let mut shown = end.warnings;
            shown.truncate(super::MAX_REPORTED);
            shown.insert(
                0,
                LineError {
                    line: None,
                    message: format!(
                        "{} lignes sur {} sont invalides (plus de 1 %)",
                        end.bad, end.rows
                    ),
                },
            );
            return Err(ImportError::Invalid(shown));
        }
        Ok(end)
    }
}

/// Merge late rows into the professionals they belong to (in memory; the
/// importer does the same against its staged rows). A different name is
/// reported, the first one kept.
pub fn merge_late(p: &mut Professional, late: &LateRow, warnings: &mut Vec<LineError>) {
    let same = |a: &str, b: &str| fold_accents(a) == fold_accents(b);
    if !same(&late.last_name, &p.last_name) || !same(&late.first_name, &p.first_name) {
        warnings.push(LineError {
            line: Some(late.line),
            message: format!(
                "{} : même identifiant RPPS que plus haut mais un autre nom (« {} {} » au lieu de « {} {} ») ; \
                 fiches réunies sous le premier nom, à vérifier",
                p.rpps, late.last_name, late.first_name, p.last_name, p.first_name
            ),
        });
    }
    if late.place != PracticePlace::default() && !p.places.contains(&late.place) {
        p.places.push(late.place.clone());
    }
}

pub fn parse(bytes: &[u8]) -> Result<Parsed, ImportError> {
    parse_with(bytes, &super::quiet)
}

/// The whole file in memory ([`Reader`] collected), saying every 10,000
/// professionals how far it is.
pub fn parse_with(bytes: &[u8], progress: super::Progress<'_>) -> Result<Parsed, ImportError> {
    let mut reader = Reader::new(bytes, None)?;
    let mut out = Vec::new();
    while let Some(p) = reader.next_professional()? {
        out.push(p);
        if out.len().is_multiple_of(10_000) {
            progress("lecture du fichier", reader.bytes_read, bytes.len() as u64);
        }
    }
    let mut end = reader.finish()?;
    let at: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, p)| (p.rpps.clone(), i))
        .collect();
    for late in &end.late {
        if let Some(&i) = at.get(&late.rpps) {
            merge_late(&mut out[i], late, &mut end.warnings);
        }
    }
    Ok(Parsed {
        professionals: out,
        rows: end.rows,
        warnings: end.warnings,
    })
}

// ------------------------------------------------- savoir-faire (specialties)

/// Specialties read from a « PS_LibreAcces_SavoirFaire » file, by RPPS
/// identifier: the (code, label) of the savoir-faire kept for each person.
/// Identifiers are kept as numbers and each distinct pair once, so that a
/// national file (millions of rows, a few hundred savoir-faire) stays small.
#[derive(Debug, Default)]
pub struct SavoirFaire {
    by_id: HashMap<u64, (u8, u32)>,
    values: Vec<(String, String)>,
    pub rows: usize,
}

impl SavoirFaire {
    /// The savoir-faire kept for this identifier.
    pub fn get(&self, rpps: &str) -> Option<&(String, String)> {
        let (_, at) = self.by_id.get(&id_key(rpps)?)?;
        self.values.get(*at as usize)
    }

    /// How many people have one.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Give the places without a specialty this person's savoir-faire;
    /// returns how many were completed.
    pub fn complete(&self, rpps: &str, places: &mut [PracticePlace]) -> usize {
        let Some((code, label)) = self.get(rpps) else {
            return 0;
        };
        let mut filled = 0;
        for place in places.iter_mut().filter(|pl| pl.specialty_code.is_empty()) {
            place.specialty_code = code.clone();
            place.specialty_label = label.clone();
            filled += 1;
        }
        filled
    }
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
    read_savoir_faire(bytes)
}

/// [`parse_savoir_faire`] from a reader, line by line.
pub fn read_savoir_faire(mut input: impl BufRead) -> Result<SavoirFaire, ImportError> {
    let mut buf = Vec::new();
    input.read_until(b'\n', &mut buf)?;
    let (cols, _) = Columns::from_header(&decode_line(&buf));
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
    let mut out = SavoirFaire::default();
    let mut index: HashMap<(String, String), u32> = HashMap::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let raw = decode_line(&buf);
        if raw.trim().is_empty() {
            continue;
        }
        out.rows += 1;
        let cells: Vec<&str> = raw.split('|').collect();
        let f = |c: Option<usize>| c.and_then(|c| cells.get(c)).map_or("", |s| s.trim());
        let (id, code) = (f(Some(c_id)), f(Some(c_code)));
        let Some(key) = id_key(id) else { continue };
        if code.is_empty() {
            continue;
        }
        let rank = type_rank(f(c_type));
        if matches!(out.by_id.get(&key), Some((r, _)) if *r <= rank) {
            continue;
        }
        let pair = (code.to_owned(), f(c_label).to_owned());
        let at = match index.get(&pair) {
            Some(at) => *at,
            None => {
                let at = out.values.len() as u32;
                out.values.push(pair.clone());
                index.insert(pair, at);
                at
            }
        };
        out.by_id.insert(key, (rank, at));
    }
    if out.rows == 0 {
        return Err(ImportError::whole_file(
            "le fichier des savoir-faire ne contient aucune ligne",
        ));
    }
    Ok(out)
}

/// Give each practice place without a specialty its professional's
/// savoir-faire; returns how many places were completed.
pub fn apply_savoir_faire(parsed: &mut Parsed, sf: &SavoirFaire) -> usize {
    parsed
        .professionals
        .iter_mut()
        .map(|p| sf.complete(&p.rpps, &mut p.places))
        .sum()
}

/// Read an RPPS file held in memory and update the directory in place.
pub async fn import(
    db: &crate::storage::Db,
    bytes: &[u8],
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    import_with(db, bytes, &super::quiet, false).await
}

/// [`import`], saying how far it is. Refused when the file would remove
/// more than [`super::MAX_SHRINK_PERCENT`] of the professionals, unless
/// `force`.
pub async fn import_with(
    db: &crate::storage::Db,
    bytes: &[u8],
    progress: super::Progress<'_>,
    force: bool,
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    let size = bytes.len() as u64;
    import_reader(
        db,
        std::io::Cursor::new(bytes.to_vec()),
        size,
        None,
        progress,
        force,
    )
    .await
}

/// Open an RPPS file (and its savoir-faire file when given, read first: a
/// bad one refuses the import before anything is written) and import it,
/// streamed.
pub async fn import_file(
    db: &crate::storage::Db,
    path: &std::path::Path,
    savoir_faire: Option<&std::path::Path>,
    progress: super::Progress<'_>,
    force: bool,
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    let sf = match savoir_faire {
        Some(p) => {
            let sf = read_savoir_faire(BufReader::new(std::fs::File::open(p)?))?;
            tracing::info!("savoir-faire : {} lignes, {} personnes", sf.rows, sf.len());
            Some(sf)
        }
        None => None,
    };
    let file = std::fs::File::open(path)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    import_reader(
        db,
        BufReader::with_capacity(1 << 16, file),
        size,
        sf,
        progress,
        force,
    )
    .await
}

/// Professionals handed from the reading thread to the writing, at a time.
const HANDOVER: usize = 2_000;

enum Handover {
    Batch(Vec<Prepared>, u64),
    End(Box<Result<ReadEnd, ImportError>>),
}

/// Import an activity file of `size` bytes from `input`, in one pass: a
/// thread reads and groups the rows while the database stages them
/// (`storage::professionals_import`), then the changes are applied in one
/// transaction. The structural checks (columns, truncation, bad rows, the
/// shrink guard) all come before that transaction: a refused or
/// interrupted import leaves the directory as it was.
pub async fn import_reader(
    db: &crate::storage::Db,
    input: impl BufRead + Send + 'static,
    size: u64,
    savoir_faire: Option<SavoirFaire>,
    progress: super::Progress<'_>,
    force: bool,
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Handover>(4);
    // Batches written come back to the reading thread, which empties them
    // and fills them again: their texts are freed where they were made
    // (freeing them on the writing side took a tenth of its time).
    let (recycle, written) = std::sync::mpsc::channel::<Vec<Prepared>>();
    let reading = tokio::task::spawn_blocking(move || {
        let mut reader = match Reader::new(input, savoir_faire) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Handover::End(Box::new(Err(e))));
                return;
            }
        };
        let mut batch = Vec::with_capacity(HANDOVER);
        loop {
            match reader.next_professional() {
                // Fingerprint and search words computed here, while the
                // writing task binds the previous batch.
                Ok(Some(p)) => {
                    batch.push(Prepared::new(p));
                    if batch.len() == HANDOVER {
                        let next = match written.try_recv() {
                            Ok(mut old) => {
                                old.clear();
                                old
                            }
                            Err(_) => Vec::with_capacity(HANDOVER),
                        };
                        let full = std::mem::replace(&mut batch, next);
                        if tx
                            .blocking_send(Handover::Batch(full, reader.bytes_read))
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.blocking_send(Handover::End(Box::new(Err(e))));
                    return;
                }
            }
        }
        let read = reader.bytes_read;
        if !batch.is_empty() && tx.blocking_send(Handover::Batch(batch, read)).is_err() {
            return;
        }
        let _ = tx.blocking_send(Handover::End(Box::new(reader.finish())));
    });
    let mut import = ProfessionalsImport::begin(db).await?;
    let end = loop {
        match rx.recv().await {
            Some(Handover::Batch(batch, read)) => {
                import.stage_prepared(&batch).await?;
                let _ = recycle.send(batch);
                progress("lecture et enregistrement (Ko)", read / 1024, size / 1024);
            }
            Some(Handover::End(end)) => break *end,
            None => {
                return Err(ImportError::Io(std::io::Error::other(
                    "la lecture du fichier s'est arrêtée",
                )))
            }
        }
    };
    let _ = reading.await;
    let mut end = end?;
    if !end.late.is_empty() {
        let warnings = import.merge_late(&end.late).await?;
        end.warnings.extend(warnings);
    }
    super::check_shrink(import.before(), end.professionals as i64, force)?;
    let (report, _) = super::warnings_report(&end.warnings);
    let summary = import
        .finish(end.professionals as i64, end.bad as i64, &report, progress)
        .await?;
    Ok((summary, end.warnings))
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
    fn late_rows_join_their_professional() {
        let mut file = format!("{HEADER}\n");
        file += &row("10000000001", "DUPONT", "10", "62498");
        file += &row("10000000002", "MARTIN", "60", "62498");
        file += &row("10000000001", "DUPONT", "10", "62510");
        let p = parse(file.as_bytes()).unwrap();
        assert_eq!(p.rows, 3);
        assert_eq!(p.professionals.len(), 2);
        let codes: Vec<_> = p.professionals[0]
            .places
            .iter()
            .map(|pl| pl.insee_code.as_deref().unwrap())
            .collect();
        assert_eq!(codes, ["62498", "62510"]);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn the_reader_streams_one_professional_at_a_time() {
        let mut file = format!("{HEADER}\n").into_bytes();
        // An older extract in Windows-1252: « LIÉVIN » with É as 0xC9.
        file.extend(row("10000000001", "DUPONT", "10", "62498").as_bytes());
        file.extend(
            row("10000000001", "DUPONT", "10", "62510")
                .replace("LENS", "LI\u{c9}VIN")
                .as_bytes()
                .iter()
                .flat_map(|&b| {
                    if b == 0xC3 {
                        None
                    } else if b == 0x89 {
                        Some(0xC9)
                    } else {
                        Some(b)
                    }
                }),
        );
        file.extend(b"\n");
        file.extend(row("10000000002", "MARTIN", "60", "62498").as_bytes());
        let mut reader = Reader::new(std::io::Cursor::new(file), None).unwrap();
        let first = reader.next_professional().unwrap().unwrap();
        assert_eq!(first.rpps, "810000000001");
        assert_eq!(first.places.len(), 2);
        assert_eq!(first.places[1].city, "LIÉVIN");
        assert_eq!(
            reader.next_professional().unwrap().unwrap().rpps,
            "810000000002"
        );
        assert!(reader.next_professional().unwrap().is_none());
        let end = reader.finish().unwrap();
        assert_eq!((end.rows, end.professionals, end.bad), (3, 2, 0));
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
