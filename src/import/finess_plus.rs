//! FiNESS+ « finess-structures »: the gzip-compressed JSON that replaced the
//! FINESS etalab extraction (see docs/finess-plus.md for the format, the
//! field mapping and the sources).
//!
//! The file is one JSON object, `{"schemaVersion", "generatedAt", "gcc",
//! "gco", "pmej": [...]}` (official schema `schema-structures-v1.json` of
//! github.com/ansforge/finess). Each legal entity of `pmej` holds its
//! geographic establishments in `ege`; every open `ege` becomes one
//! establishment of the directory.
//!
//! Reading: streamed, gzip then JSON, one legal entity in memory at a time
//! (a national file is about 50 MB compressed, 750 MB of JSON).
//!
//! Rules: a file that is not gzip, not JSON, cut short, or not shaped as
//! above is refused whole, as is one with more than 1 % of bad records; an
//! isolated bad record (no FINESS number, no category, a number seen twice)
//! is skipped and reported with its number in the file. Closed
//! establishments (`etatObjet` « I », or a closing date reached) are left
//! out and counted. Coordinates: WGS84 first, put back in order when the
//! file swapped longitude and latitude; else the projected X/Y (Lambert-93
//! in metropolitan France); a point outside France is dropped and the
//! establishment kept.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{ImportError, LineError};
use crate::domain::codes::InseeCode;
use crate::domain::geo::{self, System};

pub use crate::domain::directory::Establishment;

/// Category labels known beforehand, by code: `(label, group code, group
/// label)` (from the directory, see `storage::directory::category_labels`).
pub type Labels = HashMap<String, (String, String, String)>;

/// What a read of the file gives.
#[derive(Debug)]
pub struct Parsed {
    /// The date of `generatedAt` (`AAAA-MM-JJ`).
    pub file_date: String,
    pub schema_version: String,
    pub establishments: Vec<Establishment>,
    /// Records skipped or partly kept, and the counts below in words.
    pub warnings: Vec<LineError>,
    /// `ege` records read (open, closed and bad ones).
    pub records: usize,
    /// Closed establishments, left out.
    pub closed: usize,
    /// Longitude and latitude swapped in the file, put back in order.
    pub swapped: usize,
    /// Coordinates computed from the projected X/Y (no usable WGS84 pair).
    pub projected: usize,
    /// Coordinates outside France, dropped.
    pub dropped: usize,
}

/// Report progress every this many records.
const EVERY: usize = 2_000;

/// Normalised field name: ASCII letters and digits, lower-cased
/// (`numFinessEge`, `num_finess_ege` and `NUMFINESSEGE` are one name).
fn norm(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A field of an object, by its exact name, else by normalised name.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    if let Some(f) = obj.get(name) {
        return Some(f).filter(|f| !f.is_null());
    }
    let wanted = norm(name);
    obj.iter()
        .find(|(k, _)| norm(k) == wanted)
        .map(|(_, f)| f)
        .filter(|f| !f.is_null())
}

/// A scalar as trimmed text, inner runs of spaces collapsed (FINESS pads
/// its names); numbers are written as JSON writes them.
fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.split_whitespace().collect::<Vec<_>>().join(" "),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => super::decimal(s),
        _ => None,
    }
    .filter(|x| x.is_finite())
}

/// `2021-10-18 00:00:00`, `2026-03-09T15:49:37Z` or `2021-10-18` → `2021-10-18`.
fn iso_date(s: &str) -> Option<String> {
    let day = s.trim().get(..10)?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .map(|d| d.to_string())
}

fn finess_number(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_uppercase();
    (s.len() == 9 && s.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(s)
}

/// The projected system of a commune's X/Y: the UTM zone of an overseas
/// département, Lambert-93 elsewhere.
fn system_of(insee: Option<&str>) -> System {
    match insee.and_then(|c| c.get(..3)) {
        Some("971") | Some("972") | Some("977") | Some("978") => System::Antilles,
        Some("973") => System::Guyane,
        Some("974") => System::Reunion,
        Some("975") => System::SaintPierre,
        Some("976") => System::Mayotte,
        _ => System::Lambert93,
    }
}

/// Where the coordinates of one establishment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    Wgs84,
    /// WGS84 with longitude and latitude swapped in the file.
    Swapped,
    /// From the projected X/Y.
    Projected,
}

/// The WGS84 point of an address's `coordonneesGeographique`: the WGS84
/// pair when it lies in France as given or swapped, else the projected
/// pair (in either order: the official sample writes the northing in
/// `coordonneeX`). `Err` holds the values when none lies in France.
pub fn locate(coords: &Value, insee: Option<&str>) -> Result<Option<(f64, f64, Located)>, String> {
    let lon = number(field(coords, "directionLongitude"));
    let lat = number(field(coords, "directionLatitude"));
    if let (Some(lon), Some(lat)) = (lon, lat) {
        if geo::in_france(lon, lat) {
            return Ok(Some((lon, lat, Located::Wgs84)));
        }
        if geo::in_france(lat, lon) {
            return Ok(Some((lat, lon, Located::Swapped)));
        }
    }
    let x = number(field(coords, "coordonneeX"));
    let y = number(field(coords, "coordonneeY"));
    if let (Some(x), Some(y)) = (x, y) {
        let system = system_of(insee);
        for (e, n) in [(x, y), (y, x)] {
            if let Some((lon, lat)) = geo::to_wgs84(system, e, n) {
                if geo::in_france(lon, lat) {
                    return Ok(Some((lon, lat, Located::Projected)));
                }
            }
        }
    }
    match (lon, lat, x, y) {
        (None, None, None, None) => Ok(None),
        _ => {
            let show = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "—".into());
            Err(format!(
                "longitude {} ; latitude {} ; X {} ; Y {}",
                show(lon),
                show(lat),
                show(x),
                show(y)
            ))
        }
    }
}

/// Everything the reading keeps between legal entities.
struct State<'a> {
    labels: &'a Labels,
    progress: super::Progress<'a>,
    /// Compressed bytes read so far, and the file's size.
    read: Rc<Cell<u64>>,
    size: u64,
    /// Establishments closed on or before this date are left out.
    today: String,
    file_date: String,
    schema_version: String,
    seen_pmej: bool,
    seen: HashSet<String>,
    out: Vec<Establishment>,
    warnings: Vec<LineError>,
    /// Legal entities and `ege` records read.
    entities: usize,
    records: usize,
    bad: usize,
    closed: usize,
    swapped: Vec<String>,
    projected: usize,
    dropped: usize,
    /// A structural problem found by the visitors, in words.
    structure: Option<String>,
}

impl State<'_> {
    fn warn(&mut self, message: String) {
        self.warnings.push(LineError {
            line: None,
            message,
        });
    }

    /// A record skipped: counted as bad.
    fn reject(&mut self, at: &str, message: impl fmt::Display) {
        self.bad += 1;
        self.warn(format!("{at} : {message} : fiche ignorée"));
    }

    fn tick(&self) {
        if self.records.is_multiple_of(EVERY) {
            (self.progress)(
                "lecture du fichier (Ko compressés)",
                self.read.get() / 1024,
                self.size / 1024,
            );
        }
    }

    /// One legal entity: each of its `ege` records.
    fn entity(&mut self, pmej: Value) {
        self.entities += 1;
        let n = self.entities;
        if !pmej.is_object() {
            self.records += 1;
            self.reject(
                &format!("entité juridique {n}"),
                "un objet JSON est attendu",
            );
            return;
        }
        let ej = field(&pmej, "informationsGeneralesPMEJ")
            .map(|i| text(field(i, "numFinessPm")))
            .and_then(|s| finess_number(&s))
            .unwrap_or_default();
        let eges = match field(&pmej, "ege") {
            None => return,
            Some(Value::Array(a)) => a,
            Some(_) => {
                self.records += 1;
                self.reject(
                    &format!("entité juridique {n}"),
                    "le champ « ege » n'est pas un tableau",
                );
                return;
            }
        };
        for ege in eges {
            self.records += 1;
            self.tick();
            self.establishment(ege, n, &ej);
        }
    }

    fn establishment(&mut self, ege: &Value, entity: usize, ej: &str) {
        let record = self.records;
        let mut at = format!("enregistrement {record} (entité juridique {entity})");
        if !ege.is_object() {
            return self.reject(&at, "un objet JSON est attendu");
        }
        let Some(info) = field(ege, "informationsGeneralesEGE") else {
            return self.reject(&at, "champ « informationsGeneralesEGE » absent");
        };
        let raw_number = text(field(info, "numFinessEge"));
        if raw_number.is_empty() {
            return self.reject(
                &at,
                "champ « informationsGeneralesEGE.numFinessEge » absent",
            );
        }
        let Some(finess) = finess_number(&raw_number) else {
            return self.reject(
                &at,
                format!("numéro FINESS « {raw_number} » invalide (9 caractères)"),
            );
        };
        at = format!("enregistrement {record} (FINESS {finess})");
        let closed_on = iso_date(&text(field(info, "dateFermeture")));
        let state = text(field(ege, "etatObjet"));
        if state.eq_ignore_ascii_case("I") || closed_on.is_some_and(|d| d <= self.today) {
            self.closed += 1;
            return;
        }
        if !self.seen.insert(finess.clone()) {
            return self.reject(&at, "l'établissement apparaît deux fois");
        }
        let (category, record_label) = match field(ege, "categorieentiteGeographiqueExercice") {
            // A coded value written as an object: `{code, libelle}`.
            Some(v @ Value::Object(_)) => (
                text(field(v, "code")),
                text(field(v, "libelle").or_else(|| field(v, "display"))),
            ),
            v => (
                text(v),
                text(field(ege, "libelleCategorieentiteGeographiqueExercice")),
            ),
        };
        if category.is_empty() {
            return self.reject(&at, "champ « categorieentiteGeographiqueExercice » absent");
        }
        if !category.bytes().all(|b| b.is_ascii_digit()) {
            return self.reject(&at, format!("catégorie « {category} » inconnue"));
        }
        let name = text(field(info, "nomEgeCourt"));
        let long_name = text(field(info, "nomEgeLong"));
        if name.is_empty() && long_name.is_empty() {
            return self.reject(&at, "champs « nomEgeCourt » et « nomEgeLong » absents");
        }
        let (label, group_code, group_label) = match self.labels.get(&category) {
            Some((l, g, gl)) => (l.clone(), g.clone(), gl.clone()),
            None => (
                crate::domain::directory::category_label(&category)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{UNKNOWN_CATEGORY}{category}")),
                String::new(),
                String::new(),
            ),
        };
        let label = if record_label.is_empty() {
            label
        } else {
            record_label
        };

        // The geographic address (usage « 03 ») when there is one.
        let addresses = field(ege, "adresse")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let address = addresses
            .iter()
            .find(|a| text(field(a, "usageAdresse")) == "03")
            .or_else(|| addresses.first());
        let a = |name: &str| address.map(|a| text(field(a, name))).unwrap_or_default();
        let insee = InseeCode::parse(&a("cogCommune"))
            .ok()
            .map(|c| c.as_str().to_owned());
        if insee.is_none() {
            self.warn(format!(
                "{at} : commune « {} » absente ou invalide, établissement gardé sans commune",
                a("cogCommune")
            ));
        }
        let street = match a("ligneQuatre") {
            s if !s.is_empty() => s,
            _ => [
                a("numeroVoie"),
                a("typeVoie"),
                a("libelleVoie"),
                a("complementVoie"),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        };
        let full_address = [
            text(field(info, "complementDenominationEg")),
            a("complementPointGeographique"),
            street,
            a("lieuDit"),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
        let postal = a("codePostal");
        let routing = a("ligneAcheminement");
        let (postal_code, city) = match routing.split_once(' ') {
            Some((cp, city)) if cp.len() == 5 && cp.bytes().all(|b| b.is_ascii_digit()) => {
                (cp.to_owned(), city.trim().to_owned())
            }
            _ => (postal, routing),
        };
        let phone = field(ege, "contact")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| field(c, "telecom"))
            .map(|t| text(field(t, "telephone")))
            .find(|t| !t.is_empty())
            .and_then(|t| crate::domain::territory::parse_phone(&t).ok())
            .unwrap_or_default();

        let mut point = None;
        if let Some(coords) = address.and_then(|a| field(a, "coordonneesGeographique")) {
            match locate(coords, insee.as_deref()) {
                Ok(Some((lon, lat, how))) => {
                    match how {
                        Located::Swapped => self.swapped.push(finess.clone()),
                        Located::Projected => self.projected += 1,
                        Located::Wgs84 => {}
                    }
                    point = Some(((lon * 1e6).round() / 1e6, (lat * 1e6).round() / 1e6));
                }
                Ok(None) => {}
                Err(values) => {
                    self.dropped += 1;
                    self.warn(format!(
                        "{at} : coordonnées hors de France ({values}), établissement gardé sans coordonnées"
                    ));
                }
            }
        }
        self.out.push(Establishment {
            finess_ej: ej.to_owned(),
            name: if name.is_empty() {
                long_name.clone()
            } else {
                name
            },
            long_name,
            address: full_address,
            postal_code,
            city,
            insee_code: insee,
            phone,
            category_code: category,
            category_label: label,
            group_code,
            group_label,
            // In `informationsGeneralesEGE` (schema v1 of 2026); on the
            // `ege` itself in the draft of December 2025.
            siret: match text(field(info, "siret")) {
                s if s.is_empty() => text(field(ege, "siret")),
                s => s,
            },
            opened_on: iso_date(&text(field(info, "dateOuverture"))),
            // A string, or (draft) an object `{ "dateEvenement" }`.
            updated_on: match field(ege, "dateDerniereMaj") {
                Some(d @ Value::Object(_)) => iso_date(&text(field(d, "dateEvenement"))),
                d => iso_date(&text(d)),
            },
            longitude: point.map(|p| p.0),
            latitude: point.map(|p| p.1),
            finess,
        });
    }
}

/// The label given to a category no table knows (never reused as a label).
pub const UNKNOWN_CATEGORY: &str = "Catégorie FINESS ";

/// The top-level object.
struct Document<'s, 'a>(&'s mut State<'a>);

impl<'de> Visitor<'de> for Document<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("un objet JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match norm(&key).as_str() {
                "pmej" => {
                    if st.seen_pmej {
                        st.structure = Some("le champ « pmej » apparaît deux fois".into());
                        return Err(serde::de::Error::custom("pmej"));
                    }
                    st.seen_pmej = true;
                    map.next_value_seed(LegalEntities(&mut *st))?;
                }
                "generatedat" => {
                    let v: Value = map.next_value()?;
                    st.file_date = iso_date(&text(Some(&v))).unwrap_or_default();
                    if !st.file_date.is_empty() {
                        st.today = st.file_date.clone();
                    }
                }
                "schemaversion" => {
                    let v: Value = map.next_value()?;
                    st.schema_version = text(Some(&v));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.0.structure = Some(
            "le fichier est un tableau JSON ; un objet { \"schemaVersion\", \"generatedAt\", \"pmej\": [...] } est attendu"
                .into(),
        );
        Err(serde::de::Error::custom("tableau"))
    }
}

/// The `pmej` array, one legal entity at a time.
struct LegalEntities<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for LegalEntities<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LegalEntities<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("un tableau d'entités juridiques")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(pmej) = seq.next_element::<Value>()? {
            self.0.entity(pmej);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_array()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_an_array()
    }
}

impl LegalEntities<'_, '_> {
    fn not_an_array<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.structure = Some("le champ « pmej » n'est pas un tableau".into());
        Err(E::custom("pmej"))
    }
}

/// Counts compressed bytes as the decoder reads them, for the progress.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn refuse(line: Option<usize>, message: impl Into<String>) -> ImportError {
    ImportError::Invalid(vec![LineError {
        line,
        message: message.into(),
    }])
}

/// Read a FiNESS+ structures file from its gzip bytes (tests, small files).
pub fn parse(bytes: &[u8]) -> Result<Parsed, ImportError> {
    parse_reader(bytes, bytes.len() as u64, &Labels::new(), &super::quiet)
}

/// Read a FiNESS+ structures file of `size` compressed bytes from
/// `reader`, streamed, saying how far it is.
pub fn parse_reader(
    reader: impl Read,
    size: u64,
    labels: &Labels,
    progress: super::Progress<'_>,
) -> Result<Parsed, ImportError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let head = reader.fill_buf()?;
    if head.is_empty() {
        return Err(refuse(None, "le fichier est vide"));
    }
    if !head.starts_with(&[0x1f, 0x8b]) {
        let hint = if head.trim_ascii_start().starts_with(b"{") {
            " (c'est du JSON non compressé : importez le fichier .json.gz tel que publié)"
        } else if head.starts_with(b"finess;etalab") {
            " (c'est une extraction etalab : choisissez l'import « finess »)"
        } else {
            ""
        };
        return Err(refuse(
            None,
            format!(
                "le fichier n'est pas compressé en gzip : un fichier FiNESS+ « finess-structures » (.json.gz) est attendu{hint}"
            ),
        ));
    }
    let read = Rc::new(Cell::new(0));
    let decoder = flate2::read::MultiGzDecoder::new(Counting {
        inner: reader,
        read: read.clone(),
    });
    let mut state = State {
        labels,
        progress,
        read,
        size,
        today: chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .date_naive()
            .to_string(),
        file_date: String::new(),
        schema_version: String::new(),
        seen_pmej: false,
        seen: HashSet::new(),
        out: Vec::new(),
        warnings: Vec::new(),
        entities: 0,
        records: 0,
        bad: 0,
        closed: 0,
        swapped: Vec::new(),
        projected: 0,
        dropped: 0,
        structure: None,
    };
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, decoder));
    let result = de
        .deserialize_any(Document(&mut state))
        .and_then(|()| de.end());
    if let Err(e) = result {
        let (line, column) = (e.line(), e.column());
        let at = format!("ligne {line}, colonne {column} du JSON décompressé");
        return Err(match (state.structure.take(), e.classify()) {
            (Some(s), _) => refuse(None, format!("{s} ({at})")),
            (None, serde_json::error::Category::Io) => refuse(
                None,
                format!(
                    "le fichier compressé est tronqué ou abîmé ({}) : téléchargez-le à nouveau",
                    io_reason(&e)
                ),
            ),
            (None, serde_json::error::Category::Eof) => refuse(
                Some(line),
                "le JSON s'arrête avant la fin du document : fichier tronqué",
            ),
            (None, serde_json::error::Category::Syntax) => refuse(
                Some(line),
                format!("le contenu décompressé n'est pas du JSON valide (colonne {column})"),
            ),
            (None, serde_json::error::Category::Data) => refuse(
                Some(line),
                "le document n'a pas la forme FiNESS+ attendue : un objet JSON dont le champ « pmej » est un tableau",
            ),
        });
    }
    if !state.seen_pmej {
        return Err(refuse(
            None,
            "champ « pmej » absent : ce n'est pas un fichier FiNESS+ « finess-structures »",
        ));
    }
    (state.progress)(
        "lecture du fichier (Ko compressés)",
        state.size / 1024,
        state.size / 1024,
    );
    let total = state.records;
    if state.bad * 100 > total.max(1) {
        let mut shown = state.warnings;
        shown.retain(|w| w.message.ends_with("fiche ignorée"));
        shown.truncate(super::MAX_REPORTED);
        shown.insert(
            0,
            LineError {
                line: None,
                message: format!(
                    "{} enregistrements sur {total} sont invalides (plus de 1 %)",
                    state.bad
                ),
            },
        );
        return Err(ImportError::Invalid(shown));
    }
    if state.out.is_empty() {
        return Err(refuse(
            None,
            format!(
                "le fichier ne contient aucun établissement ouvert ({total} enregistrements « ege », dont {} fermés)",
                state.closed
            ),
        ));
    }
    let mut notes = Vec::new();
    if !state.schema_version.is_empty() && !state.schema_version.starts_with("v1") {
        notes.push(format!(
            "version de schéma « {} » : ce lecteur suit la version v1, vérifiez le résultat",
            state.schema_version
        ));
    }
    if state.closed > 0 {
        notes.push(format!(
            "{} établissements fermés (état « I » ou date de fermeture passée) : non repris dans l'annuaire",
            state.closed
        ));
    }
    if !state.swapped.is_empty() {
        let mut first: Vec<&str> = state.swapped.iter().take(5).map(String::as_str).collect();
        if state.swapped.len() > 5 {
            first.push("…");
        }
        notes.push(format!(
            "{} établissements : longitude et latitude inversées dans le fichier, remises dans l'ordre ({})",
            state.swapped.len(),
            first.join(", ")
        ));
    }
    if state.projected > 0 {
        notes.push(format!(
            "{} établissements : coordonnées calculées depuis X/Y (Lambert-93 ou UTM outre-mer), sans latitude/longitude utilisables",
            state.projected
        ));
    }
    let mut warnings: Vec<LineError> = notes
        .into_iter()
        .map(|message| LineError {
            line: None,
            message,
        })
        .collect();
    warnings.extend(state.warnings);
    Ok(Parsed {
        file_date: state.file_date,
        schema_version: state.schema_version,
        establishments: state.out,
        warnings,
        records: total,
        closed: state.closed,
        swapped: state.swapped.len(),
        projected: state.projected,
        dropped: state.dropped,
    })
}

/// The reason of an I/O error inside the JSON reader, in French.
fn io_reason(e: &serde_json::Error) -> &'static str {
    match e.io_error_kind() {
        Some(std::io::ErrorKind::UnexpectedEof) => "fin de fichier inattendue",
        Some(std::io::ErrorKind::InvalidInput) | Some(std::io::ErrorKind::InvalidData) => {
            "données compressées invalides"
        }
        _ => "erreur de lecture",
    }
}

/// Read a FiNESS+ file from its bytes and update the directory in place.
pub async fn import(
    db: &crate::storage::Db,
    bytes: &[u8],
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    import_with(db, bytes, bytes.len() as u64, &super::quiet, false).await
}

/// [`import`] from a reader of `size` bytes (a file, streamed), saying how
/// far it is; `force` lets a file remove more than 20 % of the directory.
pub async fn import_with(
    db: &crate::storage::Db,
    reader: impl Read + Send,
    size: u64,
    progress: super::Progress<'_>,
    force: bool,
) -> Result<(crate::storage::directory::ImportSummary, Vec<LineError>), ImportError> {
    let labels = crate::storage::directory::category_labels(db).await?;
    let parsed = parse_reader(reader, size, &labels, progress)?;
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

/// Writes establishments in the FiNESS+ structures format (one legal entity
/// per establishment), for the directory benchmark's generator and the
/// tests. Wrap the output in a `flate2::write::GzEncoder` for a `.json.gz`.
pub struct Writer<W: std::io::Write> {
    out: W,
    count: usize,
}

impl<W: std::io::Write> Writer<W> {
    /// Starts the document, generated at `generated_at` (ISO 8601).
    pub fn new(mut out: W, generated_at: &str) -> std::io::Result<Self> {
        write!(
            out,
            "{{\"schemaVersion\":\"v1.0.0\",\"generatedAt\":{},\"gcc\":[],\"gco\":[],\"pmej\":[",
            Value::from(generated_at)
        )?;
        Ok(Writer { out, count: 0 })
    }

    /// One establishment; `projected` is its Lambert-93 (easting,
    /// northing), written as the official files do (northing in
    /// `coordonneeX`).
    pub fn push(
        &mut self,
        e: &Establishment,
        projected: Option<(f64, f64)>,
    ) -> std::io::Result<()> {
        self.count += 1;
        let mut coords = serde_json::Map::new();
        if let Some((x, y)) = projected {
            coords.insert("coordonneeX".into(), format!("{y:.2}").into());
            coords.insert("coordonneeY".into(), format!("{x:.2}").into());
        }
        if let (Some(lon), Some(lat)) = (e.longitude, e.latitude) {
            coords.insert("directionLatitude".into(), format!("{lat:.6}").into());
            coords.insert("directionLongitude".into(), format!("{lon:.6}").into());
        }
        let mut address = serde_json::json!({
            "usageAdresse": "03",
            "ligneQuatre": e.address,
            "cogCommune": e.insee_code.clone().unwrap_or_default(),
            "ligneAcheminement": e.city,
            "codePostal": e.postal_code,
        });
        if !coords.is_empty() {
            address["coordonneesGeographique"] = Value::Object(coords);
        }
        let updated = e.updated_on.clone().map(|d| format!("{d} 00:00:00"));
        let pmej = serde_json::json!({
            "informationsGeneralesPMEJ": {
                "pmSmsseId": self.count.to_string(),
                "numFinessPm": e.finess_ej,
                "denominationPm": e.name,
                "denominationLonguePmSmsse": e.long_name,
                "dateCreation": e.opened_on,
                "statutJuridique": "00",
                "typePersonneMorale": "01",
            },
            "adresse": [],
            "evenement": [],
            "ege": [{
                "informationsGeneralesEGE": {
                    "egeId": self.count.to_string(),
                    "numFinessEge": e.finess,
                    "nomEgeCourt": e.name,
                    "nomEgeLong": e.long_name,
                    "dateOuverture": e.opened_on,
                    "datePremiereAutorisation": e.opened_on,
                    "siret": e.siret,
                },
                "categorieentiteGeographiqueExercice": e.category_code,
                "adresse": [address],
                "contact": [{
                    "typeContact": {"roleContact": "01"},
                    "telecom": {"telephone": e.phone.replace(' ', "")},
                }],
                "etatObjet": "A",
                "dateDerniereMaj": updated,
            }],
            "etatObjet": "A",
            "dateDerniereMaj": updated,
        });
        if self.count > 1 {
            self.out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut self.out, &pmej)?;
        Ok(())
    }

    /// Ends the document and gives the output back.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(b"]}\n")?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        gz.finish().unwrap()
    }

    fn document(pmej: Vec<Value>) -> Vec<u8> {
        // `gcc` before `pmej`, as in the official files.
        let doc = json!({
            "schemaVersion": "v1.0.0",
            "generatedAt": "2026-03-09T15:49:37.615611300Z",
            "gcc": [{"gccId": "1", "nomGcc": "21-52", "pmejDuGcc": [{"pmSmsseId": "2"}]}],
            "pmej": pmej,
        });
        gzip(serde_json::to_string_pretty(&doc).unwrap().as_bytes())
    }

    /// An `ege` record as the official sample writes it (Clinique Convert,
    /// Bourg-en-Bresse), with `coords` as its `coordonneesGeographique`.
    fn ege(finess: &str, coords: Value) -> Value {
        json!({
            "informationsGeneralesEGE": {
                "egeId": "799",
                "dateOuverture": "1956-11-16",
                "datePremiereAutorisation": "1956-11-16",
                "nomEgeCourt": "CLINIQUE   CONVERT  ",
                "nomEgeLong": "CLINIQUE DOCTEUR CONVERT",
                "numFinessEge": finess,
                "espic": ["0"],
                "siret": "77220148900022"
            },
            "categorieentiteGeographiqueExercice": "365",
            "adresse": [{
                "usageAdresse": "03",
                "numeroVoie": "62",
                "typeVoie": "AV",
                "libelleVoie": "DE JASSERON",
                "lieuDit": "BP 132",
                "cogCommune": "01053",
                "ligneAcheminement": "BOURG EN BRESSE",
                "ligneQuatre": "62 AVENUE DE JASSERON",
                "codePostal": "01000",
                "coordonneesGeographique": coords
            }],
            "contact": [{"typeContact": {"roleContact": "01"}, "telecom": {"telephone": "0428631234"}}],
            "etatObjet": "A",
            "dateDerniereMaj": "2021-10-18 00:00:00"
        })
    }

    fn official_coords() -> Value {
        json!({
            "coordonneeX": "6570414.61",
            "coordonneeY": "873766.07",
            "directionLatitude": "46.211257",
            "directionLongitude": "5.254203",
            "scoreBAN": "0.97"
        })
    }

    fn pmej(ej: &str, eges: Vec<Value>) -> Value {
        json!({
            "informationsGeneralesPMEJ": {"pmSmsseId": "2", "numFinessPm": ej, "denominationPm": "CLINIQUE CONVERT"},
            "adresse": [],
            "evenement": [],
            "ege": eges,
            "etatObjet": "A",
            "dateDerniereMaj": "2021-10-18 00:00:00"
        })
    }

    fn refused(bytes: &[u8]) -> String {
        let e = parse(bytes).unwrap_err();
        assert!(matches!(e, ImportError::Invalid(_)), "{e}");
        e.to_string()
    }

    #[test]
    fn reads_the_official_shape() {
        let mut closed = ege("010787190", json!({}));
        closed["etatObjet"] = json!("I");
        let mut closing = ege("010787191", json!({}));
        closing["informationsGeneralesEGE"]["dateFermeture"] = json!("2025-12-31");
        let p = parse(&document(vec![
            pmej("010000016", vec![]),
            pmej(
                "010000156",
                vec![ege("010780195", official_coords()), closed, closing],
            ),
        ]))
        .unwrap();
        assert_eq!(p.file_date, "2026-03-09");
        assert_eq!(p.schema_version, "v1.0.0");
        assert_eq!((p.records, p.closed), (3, 2));
        assert_eq!(p.establishments.len(), 1);
        let e = &p.establishments[0];
        assert_eq!(e.finess, "010780195");
        assert_eq!(e.finess_ej, "010000156");
        assert_eq!(e.name, "CLINIQUE CONVERT", "padding collapsed");
        assert_eq!(e.long_name, "CLINIQUE DOCTEUR CONVERT");
        assert_eq!(e.address, "62 AVENUE DE JASSERON, BP 132");
        assert_eq!(
            (e.postal_code.as_str(), e.city.as_str()),
            ("01000", "BOURG EN BRESSE")
        );
        assert_eq!(e.insee_code.as_deref(), Some("01053"));
        assert_eq!(e.phone, "04 28 63 12 34");
        assert_eq!(e.category_code, "365");
        assert_eq!(e.category_label, "Catégorie FINESS 365", "no label known");
        assert_eq!(e.siret, "77220148900022");
        assert_eq!(e.opened_on.as_deref(), Some("1956-11-16"));
        assert_eq!(e.updated_on.as_deref(), Some("2021-10-18"));
        assert_eq!((e.longitude, e.latitude), (Some(5.254203), Some(46.211257)));
        assert_eq!((p.swapped, p.projected, p.dropped), (0, 0, 0));
        assert!(
            p.warnings[0].message.contains("2 établissements fermés"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn swapped_longitude_and_latitude_are_put_back() {
        let coords = json!({"directionLatitude": "5.254203", "directionLongitude": "46.211257"});
        let p = parse(&document(vec![pmej(
            "010000156",
            vec![ege("010780195", coords)],
        )]))
        .unwrap();
        let e = &p.establishments[0];
        assert_eq!((e.longitude, e.latitude), (Some(5.254203), Some(46.211257)));
        assert_eq!(p.swapped, 1);
        assert!(
            p.warnings.iter().any(|w| w
                .message
                .contains("1 établissements : longitude et latitude inversées")
                && w.message.contains("010780195")),
            "{:?}",
            p.warnings
        );
        // A pair that lies in France as given is never swapped.
        let p = parse(&document(vec![pmej(
            "010000156",
            vec![ege("010780195", official_coords())],
        )]))
        .unwrap();
        assert_eq!(p.swapped, 0);
    }

    #[test]
    fn lambert_93_when_there_is_no_usable_wgs84_pair() {
        for coords in [
            // The official order: the northing in `coordonneeX`.
            json!({"coordonneeX": "6570414.61", "coordonneeY": "873766.07"}),
            json!({"coordonneeX": 873766.07, "coordonneeY": 6570414.61}),
            // WGS84 outside France even swapped: X/Y are used.
            json!({"coordonneeX": "873766.07", "coordonneeY": "6570414.61",
                   "directionLatitude": "0", "directionLongitude": "0"}),
        ] {
            let p = parse(&document(vec![pmej(
                "010000156",
                vec![ege("010780195", coords.clone())],
            )]))
            .unwrap();
            let e = &p.establishments[0];
            let (lon, lat) = (e.longitude.unwrap(), e.latitude.unwrap());
            assert!(
                (lon - 5.254203).abs() < 1e-3 && (lat - 46.211257).abs() < 1e-3,
                "{coords}: {lon} {lat}"
            );
            assert_eq!(p.projected, 1);
        }
    }

    #[test]
    fn coordinates_outside_france_are_dropped_and_the_establishment_kept() {
        let coords = json!({"directionLatitude": "-40.5", "directionLongitude": "2.35"});
        let p = parse(&document(vec![pmej(
            "010000156",
            vec![ege("010780195", coords)],
        )]))
        .unwrap();
        assert_eq!(p.establishments.len(), 1);
        assert_eq!(p.establishments[0].longitude, None);
        assert_eq!(p.dropped, 1);
        let w = p
            .warnings
            .iter()
            .find(|w| w.message.contains("hors de France"))
            .unwrap();
        assert!(
            w.message.starts_with("enregistrement 1 (FINESS 010780195)"),
            "{w}"
        );
        // Kept: not counted as a skipped line.
        assert_eq!(super::super::warnings_report(&p.warnings).1, 0);
    }

    #[test]
    fn a_bad_record_is_skipped_with_its_number_and_too_many_refuse_the_file() {
        let good = |i: usize| ege(&format!("01{i:07}"), official_coords());
        let mut eges: Vec<Value> = (0..150).map(good).collect();
        let mut no_number = good(999);
        no_number["informationsGeneralesEGE"]
            .as_object_mut()
            .unwrap()
            .remove("numFinessEge");
        eges.insert(41, no_number);
        let p = parse(&document(vec![pmej("010000156", eges.clone())])).unwrap();
        assert_eq!(p.establishments.len(), 150);
        let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.iter()
                .any(|w| w.contains("enregistrement 42 (entité juridique 1)")
                    && w.contains("« informationsGeneralesEGE.numFinessEge » absent")
                    && w.contains("fiche ignorée")),
            "{w:?}"
        );
        assert_eq!(super::super::warnings_report(&p.warnings).1, 1);

        // Two bad records in 152 is over 1 %: refused, with the reasons.
        let mut dup = eges.clone();
        dup.push(good(3));
        let err = refused(&document(vec![pmej("010000156", dup)]));
        assert!(
            err.contains("2 enregistrements sur 152 sont invalides (plus de 1 %)")
                && err.contains(
                    "enregistrement 152 (FINESS 010000003) : l'établissement apparaît deux fois"
                ),
            "{err}"
        );
    }

    #[test]
    fn labels_from_the_record_then_the_directory_then_the_table() {
        let mut own = ege("010780195", json!({}));
        own["categorieentiteGeographiqueExercice"] =
            json!({"code": "365", "libelle": "Etablissement de Soins Pluridisciplinaire"});
        let mut pharmacy = ege("010780196", json!({}));
        pharmacy["categorieentiteGeographiqueExercice"] = json!("620");
        let mut known = ege("010780197", json!({}));
        known["categorieentiteGeographiqueExercice"] = json!("124");
        let labels: Labels = [(
            "124".to_owned(),
            (
                "Centre de Santé".to_owned(),
                "1110".to_owned(),
                "Centres de santé".to_owned(),
            ),
        )]
        .into_iter()
        .collect();
        let bytes = document(vec![pmej("010000156", vec![own, pharmacy, known])]);
        let p = parse_reader(
            &bytes[..],
            bytes.len() as u64,
            &labels,
            &super::super::quiet,
        )
        .unwrap();
        let got: Vec<(&str, &str, &str)> = p
            .establishments
            .iter()
            .map(|e| {
                (
                    e.category_code.as_str(),
                    e.category_label.as_str(),
                    e.group_code.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("365", "Etablissement de Soins Pluridisciplinaire", ""),
                ("620", "Pharmacie d'Officine", ""),
                ("124", "Centre de Santé", "1110"),
            ]
        );
    }

    #[test]
    fn field_names_are_matched_when_spelled_differently() {
        let mut e = ege("010780195", official_coords());
        let cat = e
            .as_object_mut()
            .unwrap()
            .remove("categorieentiteGeographiqueExercice")
            .unwrap();
        e["categorie_entite_geographique_exercice"] = cat;
        let p = parse(&document(vec![pmej("010000156", vec![e])])).unwrap();
        assert_eq!(p.establishments[0].category_code, "365");
    }

    /// The draft schema of December 2025 (first commit of ansforge/finess)
    /// spelled some names and placed some fields differently: still read.
    #[test]
    fn the_draft_schema_spellings_are_read_too() {
        let mut e = ege("010780195", official_coords());
        let o = e.as_object_mut().unwrap();
        o.remove("categorieentiteGeographiqueExercice");
        o.insert(
            "categorieEntiteGeographiqueExercice".into(),
            json!({"code": "620", "libelle": "Pharmacie d'Officine"}),
        );
        o.insert(
            "dateDerniereMaj".into(),
            json!({"dateEvenement": "2025-11-30"}),
        );
        let siret = e["informationsGeneralesEGE"]
            .as_object_mut()
            .unwrap()
            .remove("siret")
            .unwrap();
        e["siret"] = siret;
        let mut entity = pmej("010000156", vec![e]);
        let info = entity
            .as_object_mut()
            .unwrap()
            .remove("informationsGeneralesPMEJ")
            .unwrap();
        entity["informationsGeneralesPmej"] = info;
        let p = parse(&document(vec![entity])).unwrap();
        let e = &p.establishments[0];
        assert_eq!(
            (
                e.category_code.as_str(),
                e.category_label.as_str(),
                e.finess_ej.as_str()
            ),
            ("620", "Pharmacie d'Officine", "010000156")
        );
        assert_eq!(e.siret, "77220148900022");
        assert_eq!(e.updated_on.as_deref(), Some("2025-11-30"));
    }

    #[test]
    fn refuses_what_is_not_a_finess_plus_file() {
        let plain = serde_json::to_vec(&json!({"pmej": []})).unwrap();
        let err = refused(&plain);
        assert!(
            err.contains("pas compressé en gzip") && err.contains("JSON non compressé"),
            "{err}"
        );
        assert!(refused(b"finess;etalab;1;2024-01-17\n").contains("import « finess »"));
        assert!(refused(b"").contains("vide"));

        let full = document(vec![pmej(
            "010000156",
            vec![ege("010780195", official_coords())],
        )]);
        let err = refused(&full[..full.len() / 2]);
        assert!(err.contains("tronqué"), "{err}");
        // Only the gzip trailer missing: the JSON is whole, the file is not.
        let err = refused(&full[..full.len() - 4]);
        assert!(err.contains("tronqué"), "{err}");

        let err = refused(&gzip(b"[{\"pmej\": []}]"));
        assert!(err.contains("tableau JSON"), "{err}");
        let err = refused(&gzip(b"{\"schemaVersion\": \"v1.0.0\", \"gcc\": []}"));
        assert!(err.contains("« pmej » absent"), "{err}");
        let err = refused(&gzip(b"{\"pmej\": {\"ege\": []}}"));
        assert!(err.contains("« pmej » n'est pas un tableau"), "{err}");
        let err = refused(&gzip(b"{\n\"pmej\": [\n{\"ege\": [}\n]}"));
        assert!(
            err.contains("ligne 3") && err.contains("pas du JSON valide"),
            "{err}"
        );
        let err = refused(&gzip(b"{\"pmej\": [{\"ege\": []}"));
        assert!(err.contains("tronqué"), "{err}");
        let err = refused(&document(vec![pmej("010000156", vec![])]));
        assert!(err.contains("aucun établissement ouvert"), "{err}");
    }

    /// No input panics the reader: arbitrary bytes, gzipped or not, and
    /// valid documents with a slice of their JSON replaced.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn valid() -> String {
            let mut eges: Vec<Value> = (0..3)
                .map(|i| ege(&format!("01078019{i}"), official_coords()))
                .collect();
            eges[1]["categorieentiteGeographiqueExercice"] = json!({"code": "620"});
            serde_json::to_string(
                &json!({"generatedAt": "2026-03-09", "pmej": [pmej("010000156", eges)]}),
            )
            .unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            #[test]
            fn any_bytes_are_answered_not_panicked(bytes in proptest::collection::vec(any::<u8>(), 0..300), zip in any::<bool>()) {
                let input = if zip { gzip(&bytes) } else { bytes };
                match parse(&input) {
                    Ok(p) => prop_assert!(!p.establishments.is_empty()),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }

            #[test]
            fn damaged_documents_are_answered_not_panicked(
                at in 0usize..4000,
                len in 0usize..40,
                with in prop_oneof![
                    Just(String::new()), Just("null".to_owned()), Just("[]".to_owned()), Just("{}".to_owned()),
                    Just("\"\"".to_owned()), Just("1e999".to_owned()), Just("-0".to_owned()), "[ -~]{0,12}".prop_map(|s| s),
                ],
            ) {
                let text = valid();
                let at = at.min(text.len());
                let end = (at + len).min(text.len());
                if text.is_char_boundary(at) && text.is_char_boundary(end) {
                    let damaged = format!("{}{with}{}", &text[..at], &text[end..]);
                    let _ = parse(&gzip(damaged.as_bytes()));
                }
            }
        }
    }

    /// Establishments written by [`Writer`] read back as written.
    #[test]
    fn written_establishments_read_back() {
        let rows: Vec<Establishment> = (0..40)
            .map(|i| Establishment {
                finess: format!("62{i:07}"),
                finess_ej: format!("62{:07}", 1000 + i),
                name: format!("PHARMACIE {i}"),
                long_name: format!("PHARMACIE DU CENTRE n° {i}"),
                address: format!("{i} RUE DE LA GARE"),
                postal_code: "62300".into(),
                city: "LENS".into(),
                insee_code: Some("62498".into()),
                phone: "03 21 00 00 00".into(),
                category_code: "620".into(),
                category_label: "Pharmacie d'Officine".into(),
                group_code: String::new(),
                group_label: String::new(),
                siret: "12345678900012".into(),
                opened_on: Some("2001-01-01".into()),
                updated_on: Some("2026-04-01".into()),
                longitude: (i % 2 == 0).then_some(2.831_5),
                latitude: (i % 2 == 0).then_some(50.432_1),
            })
            .collect();
        let mut w = Writer::new(
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
            "2026-05-01T00:00:00Z",
        )
        .unwrap();
        for (i, e) in rows.iter().enumerate() {
            // Odd rows: Lambert-93 only (Lens).
            let projected = (i % 2 == 1).then_some((686_000.0, 7_034_000.0));
            w.push(e, projected).unwrap();
        }
        let bytes = w.finish().unwrap().finish().unwrap();
        let p = parse(&bytes).unwrap();
        assert_eq!(p.file_date, "2026-05-01");
        assert_eq!(p.projected, 20);
        assert_eq!(p.establishments.len(), rows.len());
        for (got, want) in p.establishments.iter().zip(&rows) {
            if want.longitude.is_some() {
                assert_eq!(got, want);
            } else {
                let (lon, lat) = (got.longitude.unwrap(), got.latitude.unwrap());
                assert!(
                    (lon - 2.83).abs() < 0.1 && (lat - 50.43).abs() < 0.1,
                    "{lon} {lat}"
                );
                let mut got = got.clone();
                (got.longitude, got.latitude) = (None, None);
                assert_eq!(&got, want);
            }
        }
    }
}
