//! The demo's directory: the named rows of `data/demo` (the establishments
//! and professionals the tests know by name) and, around them, a care
//! supply of the density France has, generated for every commune the demo
//! holds. With the named rows alone (two general practitioners for the
//! 2.3 million inhabitants of the demo's communes), the diagnosis read an
//! accessibility of 0.04 general practitioner for 10,000 inhabitants where
//! the country has about 8, and the regional map's bands ran from 0 to 0.
//!
//! The supply is written in the registers' own formats (an RPPS extraction
//! and a FINESS « etalab » file) and goes through the importers, as a real
//! instance's would. It is deterministic: the same names and places on
//! every first start. Names come from short lists of common French names;
//! the telephone numbers are in ARCEP's range reserved for fiction
//! (03 53 48 xx xx).

use std::collections::HashSet;

use crate::import::geography;
use crate::import::synthetic::Rng;
use crate::storage::Db;

/// A practice the generator places: RPPS profession code and label, the
/// savoir-faire (code, label) when the diagnosis counts by it, and how many
/// liberal practitioners France has for 10,000 inhabitants (orders of
/// magnitude of the DREES figures, rounded).
struct Practice {
    code: &'static str,
    label: &'static str,
    specialty: Option<(&'static str, &'static str)>,
    per_10_000: f64,
}

const PRACTICES: [Practice; 6] = [
    Practice {
        code: "10",
        label: "Médecin",
        specialty: Some(("SM54", "Médecine générale")),
        per_10_000: 8.0,
    },
    Practice {
        code: "60",
        label: "Infirmier",
        specialty: None,
        per_10_000: 14.0,
    },
    Practice {
        code: "70",
        label: "Masseur-Kinésithérapeute",
        specialty: None,
        per_10_000: 12.0,
    },
    Practice {
        code: "40",
        label: "Chirurgien-Dentiste",
        specialty: None,
        per_10_000: 5.0,
    },
    Practice {
        code: "50",
        label: "Sage-Femme",
        specialty: None,
        per_10_000: 1.5,
    },
    Practice {
        code: "91",
        label: "Orthophoniste",
        specialty: None,
        per_10_000: 3.0,
    },
];

/// Pharmacies (FINESS category 620) for 10,000 inhabitants: about 20,000
/// for 68 million.
const PHARMACIES_PER_10_000: f64 = 3.0;

/// General practitioners in the demo territory, as a share of the
/// country's density: its diagnosis finds fewer than in the rest of the
/// region (`demo_diagnosis`).
const TERRITORY_GP_SHARE: f64 = 0.8;

/// Common names of France and of the mining basin (Polish, Italian,
/// Maghrebi families among them).
const LAST_NAMES: [&str; 100] = [
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFEBVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
    "VINCENT",
    "MULLER",
    "LEFÈVRE",
    "FAURE",
    "ANDRÉ",
    "MERCIER",
    "BLANC",
    "GUÉRIN",
    "BOYER",
    "GARNIER",
    "CHEVALIER",
    "FRANÇOIS",
    "LEGRAND",
    "GAUTHIER",
    "DELATTRE",
    "DUHAMEL",
    "GARCIA",
    "PERRIN",
    "ROBIN",
    "CLÉMENT",
    "MORIN",
    "NICOLAS",
    "HENRY",
    "ROUSSEL",
    "MATHIEU",
    "GAUTIER",
    "MASSON",
    "MARCHAND",
    "DUVAL",
    "DENIS",
    "DUMONT",
    "MARIE",
    "LEMAIRE",
    "NOËL",
    "MEYER",
    "DUFOUR",
    "MEUNIER",
    "BRUN",
    "BLANCHARD",
    "GIRAUD",
    "JOLY",
    "RIVIÈRE",
    "LUCAS",
    "BRUNET",
    "GAILLARD",
    "BARBIER",
    "ARNAUD",
    "MARTINEZ",
    "GÉRARD",
    "ROCHE",
    "RENARD",
    "SCHMITT",
    "ROY",
    "LEROUX",
    "COLIN",
    "VIDAL",
    "CARON",
    "PICARD",
    "ROGER",
    "FABRE",
    "AUBERT",
    "LEMOINE",
    "RENAUD",
    "DUMAS",
    "KOWALSKI",
    "NOWAK",
    "WOJCIK",
    "LEWANDOWSKI",
    "KACZMAREK",
    "SZYMANSKI",
    "ROSSI",
    "BRUNO",
    "BENALI",
    "HADDAD",
    "MANSOURI",
    "CHERIF",
];
const FIRST_NAMES: [&str; 60] = [
    "Marie",
    "Jean",
    "Léa",
    "Hélène",
    "Karim",
    "Sophie",
    "Luc",
    "Nadia",
    "Zoé",
    "Éric",
    "Camille",
    "Thomas",
    "Julie",
    "Nicolas",
    "Sarah",
    "Antoine",
    "Inès",
    "Mehdi",
    "Claire",
    "Pierre",
    "Anne",
    "Yacine",
    "Chloé",
    "Olivier",
    "Manon",
    "Hugo",
    "Fatima",
    "Louis",
    "Emma",
    "Samir",
    "Isabelle",
    "Philippe",
    "Nathalie",
    "Christophe",
    "Valérie",
    "Stéphane",
    "Sandrine",
    "Sébastien",
    "Céline",
    "Julien",
    "Aurélie",
    "Maxime",
    "Élodie",
    "Romain",
    "Amandine",
    "Guillaume",
    "Laetitia",
    "Benoît",
    "Virginie",
    "Jérôme",
    "Agnieszka",
    "Marek",
    "Paola",
    "Leïla",
    "Rachid",
    "Sonia",
    "Bruno",
    "Delphine",
    "Franck",
    "Agathe",
];
/// Streets: FINESS type code, RPPS type label, name.
const STREETS: [(&str, &str, &str); 10] = [
    ("RUE", "RUE", "DE LA RÉPUBLIQUE"),
    ("RUE", "RUE", "JEAN JAURÈS"),
    ("PL", "PLACE", "DU MARCHÉ"),
    ("RUE", "RUE", "DE LA GARE"),
    ("RUE", "RUE", "VICTOR HUGO"),
    ("AV", "AVENUE", "PASTEUR"),
    ("RUE", "RUE", "DES ÉCOLES"),
    ("RUE", "RUE", "DU 8 MAI 1945"),
    ("BD", "BOULEVARD", "BASLY"),
    ("RUE", "RUE", "ÉMILE ZOLA"),
];

/// A commune the supply is placed in.
#[derive(Debug, Clone)]
pub struct Place {
    pub insee_code: String,
    pub name: String,
    pub postal_code: String,
    pub population: i64,
    /// In the demo territory.
    pub in_territory: bool,
}

/// Draws communes in proportion to a weight (their population, or less in
/// the territory for general practitioners): the small villages get no
/// practitioner more often than not, as in the country.
struct Draw {
    cumulative: Vec<u64>,
}

impl Draw {
    fn new(places: &[Place], weight: impl Fn(&Place) -> f64) -> Draw {
        let mut total = 0u64;
        let cumulative = places
            .iter()
            .map(|p| {
                total += weight(p).max(0.0).round() as u64;
                total
            })
            .collect();
        Draw { cumulative }
    }
    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }
    fn index(&self, rng: &mut Rng) -> usize {
        let at = rng.below(self.total());
        self.cumulative.partition_point(|&c| c <= at)
    }
}

/// The communes of the demo's files with their population; those of
/// `territory` marked.
pub fn places(territory: &HashSet<String>) -> anyhow::Result<Vec<Place>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for file in [
        crate::demo::COMMUNES_JSON,
        crate::demo::NEIGHBOUR_COMMUNES_JSON,
    ] {
        for c in geography::parse_communes(file)? {
            let Some(population) = c.population.filter(|p| *p > 0) else {
                continue;
            };
            if c.kind != "commune-actuelle" || !seen.insert(c.insee_code.clone()) {
                continue;
            }
            out.push(Place {
                in_territory: territory.contains(&c.insee_code),
                postal_code: c
                    .postal_codes
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                insee_code: c.insee_code,
                name: c.name,
                population,
            });
        }
    }
    out.sort_by(|a, b| a.insee_code.cmp(&b.insee_code));
    Ok(out)
}

fn fiction_phone(rng: &mut Rng) -> String {
    format!("035348{:04}", rng.below(10_000))
}

/// The RPPS extraction: `fixture` (header and named rows) followed by one
/// row for each generated practitioner, in one practice place.
pub fn rpps_file(fixture: &[u8], places: &[Place]) -> anyhow::Result<Vec<u8>> {
    let text = std::str::from_utf8(fixture)?;
    let header = text
        .lines()
        .next()
        .ok_or_else(|| anyhow::anyhow!("RPPS de démonstration vide"))?;
    let names: Vec<&str> = header
        .strip_suffix('|')
        .unwrap_or(header)
        .split('|')
        .collect();
    let column = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| anyhow::anyhow!("colonne RPPS absente : {name}"))
    };
    let cols = [
        column("Type d'identifiant PP")?,
        column("Identifiant PP")?,
        column("Identification nationale PP")?,
        column("Nom d'exercice")?,
        column("Prénom d'exercice")?,
        column("Code profession")?,
        column("Libellé profession")?,
        column("Code savoir-faire")?,
        column("Libellé savoir-faire")?,
        column("Code mode exercice")?,
        column("Libellé mode exercice")?,
        column("Numéro Voie (coord. structure)")?,
        column("Libellé type de voie (coord. structure)")?,
        column("Libellé Voie (coord. structure)")?,
        column("Code postal (coord. structure)")?,
        column("Code commune (coord. structure)")?,
        column("Libellé commune (coord. structure)")?,
        column("Téléphone (coord. structure)")?,
        column("Code secteur d'activité")?,
        column("Libellé secteur d'activité")?,
    ];
    let mut out = String::with_capacity(fixture.len() + places.len() * 4_000);
    out.push_str(text);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let mut rng = Rng(0x6c65_6e73_6c69_6576);
    let mut person = 0u64;
    let mut fields = vec![String::new(); names.len()];
    for practice in &PRACTICES {
        let gp = practice.specialty.is_some();
        let share = |p: &Place| {
            if gp && p.in_territory {
                TERRITORY_GP_SHARE
            } else {
                1.0
            }
        };
        let draw = Draw::new(places, |p| p.population as f64 * share(p));
        let count = (draw.total() as f64 * practice.per_10_000 / 10_000.0).round() as u64;
        for _ in 0..count {
            person += 1;
            let place = &places[draw.index(&mut rng)];
            let id = format!("19{person:09}");
            let (_, kind, street) = rng.pick(&STREETS);
            let (sector, sector_label) = if rng.below(3) == 0 {
                ("SA08", "Cabinet de groupe")
            } else {
                ("SA07", "Cabinet individuel")
            };
            let (specialty, specialty_label) = practice.specialty.unwrap_or(("", ""));
            let values = [
                "8".to_owned(),
                id.clone(),
                format!("8{id}"),
                rng.pick(&LAST_NAMES).to_owned(),
                rng.pick(&FIRST_NAMES).to_owned(),
                practice.code.to_owned(),
                practice.label.to_owned(),
                specialty.to_owned(),
                specialty_label.to_owned(),
                "L".to_owned(),
                "Libéral".to_owned(),
                (1 + rng.below(150)).to_string(),
                kind.to_owned(),
                street.to_owned(),
                place.postal_code.clone(),
                place.insee_code.clone(),
                place.name.clone(),
                fiction_phone(&mut rng),
                sector.to_owned(),
                sector_label.to_owned(),
            ];
            for f in fields.iter_mut() {
                f.clear();
            }
            for (i, v) in cols.iter().zip(values) {
                fields[*i] = v;
            }
            out.push_str(&fields.join("|"));
            out.push_str("|\n");
        }
    }
    Ok(out.into_bytes())
}

/// The FINESS file: `fixture` (Windows-1252, its header counting its
/// establishments) with generated pharmacies added before its
/// geolocation lines (they have none: the commune locates them).
pub fn finess_file(fixture: &[u8], places: &[Place]) -> anyhow::Result<Vec<u8>> {
    let text = crate::import::finess::decode(fixture);
    let mut lines = text.lines();
    let header = lines
        .next()
        .ok_or_else(|| anyhow::anyhow!("FINESS de démonstration vide"))?;
    let parts: Vec<&str> = header.split(';').collect();
    let [kind, source, count, date] = parts[..] else {
        anyhow::bail!("en-tête FINESS de démonstration inattendu : {header}");
    };
    let count: u64 = count.parse()?;
    let body: Vec<&str> = lines.collect();
    let (structures, rest): (Vec<&str>, Vec<&str>) = body
        .into_iter()
        .partition(|l| l.starts_with("structureet;"));
    let mut rng = Rng(0x7068_6172_6d61_6369);
    let draw = Draw::new(places, |p| p.population as f64);
    let pharmacies = (draw.total() as f64 * PHARMACIES_PER_10_000 / 10_000.0).round() as u64;
    let mut generated = Vec::with_capacity(pharmacies as usize);
    for i in 0..pharmacies {
        let place = &places[draw.index(&mut rng)];
        let (dep, com) = place.insee_code.split_at(2);
        let (kind, _, street) = rng.pick(&STREETS);
        let number = 1 + rng.below(150);
        let name = format!("PHARMACIE {street}");
        // The « ligne d'acheminement »: postal code and city (the
        // neighbouring communes' file has no postal code).
        let city = format!("{} {}", place.postal_code, place.name.to_uppercase());
        generated.push(format!(
            "structureet;{dep}9{i:06};;{name};\"{name}\";;;{number};{kind};{street};;;{com};{dep};;{};{};;620;Pharmacie d'Officine;3301;Pharmacies d'Officine;;;;;;;2001-01-01;2001-01-01;2026-04-01;",
            city.trim(),
            fiction_phone(&mut rng),
        ));
    }
    let mut out = format!("{kind};{source};{};{date}\r\n", count + pharmacies);
    for line in structures
        .iter()
        .copied()
        .chain(generated.iter().map(String::as_str))
        .chain(rest.iter().copied())
    {
        out.push_str(line);
        out.push_str("\r\n");
    }
    Ok(encoding_rs::WINDOWS_1252.encode(&out).0.into_owned())
}

/// The demo territory's communes, from the EPCI file the demo loads.
fn territory() -> anyhow::Result<HashSet<String>> {
    Ok(geography::parse_epcis(crate::demo::EPCI_JSON)?
        .into_iter()
        .find(|e| e.epci.siren == crate::demo::EPCI_SIREN)
        .map(|e| e.members.into_iter().collect())
        .unwrap_or_default())
}

/// The demo's FINESS file: the named establishments and the pharmacies.
pub fn finess() -> anyhow::Result<Vec<u8>> {
    finess_file(crate::demo::FINESS, &places(&territory()?)?)
}

/// The demo's RPPS extraction: the named professionals and the others.
pub fn rpps() -> anyhow::Result<Vec<u8>> {
    rpps_file(crate::demo::RPPS, &places(&territory()?)?)
}

/// Import the demo's directory ([`finess`], [`rpps`]; the communes read once).
pub async fn load(db: &Db) -> anyhow::Result<()> {
    let places = places(&territory()?)?;
    crate::import::finess::import(db, &finess_file(crate::demo::FINESS, &places)?).await?;
    crate::import::rpps::import(db, &rpps_file(crate::demo::RPPS, &places)?).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn territory() -> HashSet<String> {
        super::territory().unwrap()
    }

    #[test]
    fn the_supply_has_the_countrys_density() {
        let places = places(&territory()).unwrap();
        let population: i64 = places.iter().map(|p| p.population).sum();
        assert!(places.iter().filter(|p| p.in_territory).count() >= 30);
        let rpps = String::from_utf8(rpps_file(crate::demo::RPPS, &places).unwrap()).unwrap();
        let fixture_rows = std::str::from_utf8(crate::demo::RPPS)
            .unwrap()
            .lines()
            .count();
        assert!(rpps.starts_with(std::str::from_utf8(crate::demo::RPPS).unwrap()));
        let gps = rpps
            .lines()
            .skip(fixture_rows)
            .filter(|l| l.contains("|SM54|"))
            .count() as f64;
        let density = gps / population as f64 * 10_000.0;
        assert!((7.0..8.5).contains(&density), "{density}");
        // Fewer in the territory than elsewhere, in proportion.
        let in_territory: HashSet<&str> = places
            .iter()
            .filter(|p| p.in_territory)
            .map(|p| p.insee_code.as_str())
            .collect();
        let pop_in: i64 = places
            .iter()
            .filter(|p| p.in_territory)
            .map(|p| p.population)
            .sum();
        let gps_in = rpps
            .lines()
            .skip(fixture_rows)
            .filter(|l| {
                l.contains("|SM54|") && in_territory.iter().any(|c| l.contains(&format!("|{c}|")))
            })
            .count() as f64;
        let density_in = gps_in / pop_in as f64 * 10_000.0;
        assert!(density_in < density, "{density_in} < {density}");
        // Deterministic.
        assert_eq!(
            rpps,
            String::from_utf8(rpps_file(crate::demo::RPPS, &places).unwrap()).unwrap()
        );
    }

    #[test]
    fn the_files_parse_in_the_registers_formats() {
        let places = places(&territory()).unwrap();
        let finess = finess_file(crate::demo::FINESS, &places).unwrap();
        let parsed = crate::import::finess::parse(&finess).unwrap();
        let pharmacies = parsed
            .establishments
            .iter()
            .filter(|e| e.category_code == "620")
            .count();
        assert!(pharmacies > 500, "{pharmacies}");
        assert!(parsed.establishments.iter().any(|e| e.name == "CH LENS"));
        assert!(parsed
            .establishments
            .iter()
            .all(|e| !e.city.is_empty() && e.city.trim() == e.city));
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let rpps = rpps_file(crate::demo::RPPS, &places).unwrap();
        let parsed = crate::import::rpps::parse(&rpps).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert!(
            parsed.professionals.len() > 9_000,
            "{}",
            parsed.professionals.len()
        );
        assert!(parsed.professionals.iter().any(|p| p.last_name == "DURAND"));
        // Addresses as the register writes them: number, type, name.
        for p in parsed
            .professionals
            .iter()
            .filter(|p| p.rpps.starts_with("19"))
        {
            let address = &p.places[0].address;
            assert!(
                STREETS
                    .iter()
                    .any(|(_, kind, street)| address.ends_with(&format!("{kind} {street}"))),
                "{address}"
            );
        }
    }
}
