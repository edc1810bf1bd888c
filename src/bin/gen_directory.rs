//! Writes national-size FINESS and RPPS files in the real formats, for the
//! directory benchmark (`scripts/bench-directory.sh`). The data is synthetic;
//! the files are never committed.
//!
//! `gen_directory OUT_DIR [ESTABLISHMENTS] [RPPS_ROWS]` writes
//! `finess.csv` (Windows-1252), the same establishments in FiNESS+
//! (`finess-structures.json.gz`), `rpps.txt` (UTF-8, `|`), `communes.json`
//! (the communes used and delegated ones, 37,006 entries as in the official
//! file) and `epci.json` (1,255 EPCI), in the decoupage-administratif format
//! (`maillage::import::synthetic`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use flate2::write::GzEncoder;
use flate2::Compression;
use maillage::domain::directory::Establishment;
use maillage::domain::geo;
use maillage::import::synthetic::Rng;
use maillage::import::{finess, finess_plus, synthetic};

use maillage::domain::directory::CATEGORY_LABELS as CATEGORIES;
const PROFESSIONS: [(&str, &str); 7] = [
    ("10", "Médecin"),
    ("21", "Pharmacien"),
    ("40", "Chirurgien-Dentiste"),
    ("50", "Sage-Femme"),
    ("60", "Infirmier"),
    ("70", "Masseur-Kinésithérapeute"),
    ("91", "Orthophoniste"),
];
const LAST: [&str; 12] = [
    "MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU",
    "LAURENT", "LEFÈVRE", "GARNIER",
];
const FIRST: [&str; 10] = [
    "Marie", "Jean", "Léa", "Hélène", "Karim", "Sophie", "Luc", "Nadia", "Zoé", "Éric",
];
const STREETS: [&str; 8] = [
    "DE LA RÉPUBLIQUE",
    "JEAN JAURÈS",
    "DU MARCHÉ",
    "DE LA GARE",
    "VICTOR HUGO",
    "PASTEUR",
    "DES ÉCOLES",
    "DU 8 MAI 1945",
];

/// About 35,000 communes: 95 metropolitan départements × 370 codes.
fn commune(rng: &mut Rng) -> (String, String, String) {
    let dep = 1 + rng.below(95);
    let dep = if dep == 20 {
        "2A".to_owned()
    } else {
        format!("{dep:02}")
    };
    let com = 1 + rng.below(370);
    (dep.clone(), format!("{com:03}"), format!("{dep}{com:03}"))
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "bench-out".into()));
    let establishments: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let rpps_rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    std::fs::create_dir_all(&out)?;
    let mut rng = Rng(0x5eed_1234_abcd_ef01);

    // Communes (every code the files may use, and delegated communes: as
    // many entries as the official file) and their EPCI.
    std::fs::write(
        out.join("communes.json"),
        synthetic::communes_json(synthetic::NATIONAL_COMMUNES),
    )?;
    std::fs::write(
        out.join("epci.json"),
        synthetic::epci_json(synthetic::NATIONAL_EPCI),
    )?;

    // FINESS: structureet lines, then geolocalisation lines, in Windows-1252;
    // and the same establishments in FiNESS+ (gzip JSON).
    let mut finess = BufWriter::new(File::create(out.join("finess.csv"))?);
    let mut plus = finess_plus::Writer::new(
        GzEncoder::new(
            BufWriter::new(File::create(out.join("finess-structures.json.gz"))?),
            Compression::default(),
        ),
        "2026-05-01T03:00:00Z",
    )?;
    let mut text = format!("finess;etalab;{establishments};2026-05-01\r\n");
    let mut geo = String::new();
    for i in 0..establishments {
        let (dep, com, _) = commune(&mut rng);
        let (cat, label) = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
        let id = format!("{}{:07}", &dep[..2], i);
        let street = rng.pick(&STREETS);
        let number = 1 + rng.below(200);
        let phone = rng.below(100_000_000);
        text.push_str(&format!(
            "structureet;{id};{id};{label} {i};\"{label} n° {i}\";;;{number};RUE;{street};;;{com};{dep};DÉPARTEMENT;{dep}{com} VILLE;03{phone:08};;{cat};{label};1102;Groupe;;8610Z;03;ARS;;;2001-01-01;2001-01-01;2026-04-01;\r\n",
        ));
        let x = 150_000 + rng.below(1_000_000);
        let y = 6_150_000 + rng.below(900_000);
        let point = geo::to_wgs84(geo::System::Lambert93, x as f64, y as f64);
        plus.push(
            &Establishment {
                finess: id.clone(),
                finess_ej: id.clone(),
                name: format!("{label} {i}"),
                long_name: format!("{label} n° {i}"),
                address: format!("{number} RUE {street}"),
                postal_code: format!("{dep}{com}"),
                city: "VILLE".into(),
                insee_code: finess::insee_from(&dep, &com),
                phone: format!("03{phone:08}"),
                category_code: cat.into(),
                category_label: label.into(),
                group_code: "1102".into(),
                group_label: "Groupe".into(),
                siret: String::new(),
                opened_on: Some("2001-01-01".into()),
                updated_on: Some("2026-04-01".into()),
                longitude: point.map(|p| p.0),
                latitude: point.map(|p| p.1),
            },
            Some((x as f64, y as f64)),
        )?;
        geo.push_str(&format!("geolocalisation;{id};{x}.0;{y}.0;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2026-04-01\r\n"));
        if text.len() > 1 << 20 {
            finess.write_all(&encoding_rs::WINDOWS_1252.encode(&text).0)?;
            text.clear();
        }
    }
    text.push_str(&geo);
    finess.write_all(&encoding_rs::WINDOWS_1252.encode(&text).0)?;
    finess.flush()?;
    plus.finish()?.finish()?.flush()?;

    // RPPS: one row per practitioner and practice place, 56 columns.
    let header = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|Complément destinataire (coord. structure)|Complément point géographique (coord. structure)|Numéro Voie (coord. structure)|Indice répétition voie (coord. structure)|Code type de voie (coord. structure)|Libellé type de voie (coord. structure)|Libellé Voie (coord. structure)|Mention distribution (coord. structure)|Bureau cedex (coord. structure)|Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|Code pays (coord. structure)|Libellé pays (coord. structure)|Téléphone (coord. structure)|Téléphone 2 (coord. structure)|Télécopie (coord. structure)|Adresse e-mail (coord. structure)|Code Département (structure)|Libellé Département (structure)|Ancien identifiant de la structure|Autorité d'enregistrement|Code secteur d'activité|Libellé secteur d'activité|Code section tableau pharmaciens|Libellé section tableau pharmaciens|Code rôle|Libellé rôle|Code genre activité|Libellé genre activité|";
    let mut rpps = BufWriter::new(File::create(out.join("rpps.txt"))?);
    writeln!(rpps, "{header}")?;
    let names: Vec<&str> = header
        .strip_suffix('|')
        .unwrap_or(header)
        .split('|')
        .collect();
    let columns = names.len();
    let mut row = 0u64;
    let mut person = 0u64;
    while row < rpps_rows {
        person += 1;
        let id = format!("1{person:010}");
        let (code, label) = PROFESSIONS[rng.below(PROFESSIONS.len() as u64) as usize];
        let (last, first) = (rng.pick(&LAST), rng.pick(&FIRST));
        let places = 1 + rng.below(3).saturating_sub(1);
        for _ in 0..places.min(rpps_rows - row) {
            let (dep, _, insee) = commune(&mut rng);
            let mut f = vec![String::new(); columns];
            let set = |f: &mut Vec<String>, name: &str, v: String| {
                if let Some(i) = names.iter().position(|n| *n == name) {
                    f[i] = v;
                }
            };
            set(&mut f, "Type d'identifiant PP", "8".into());
            set(&mut f, "Identifiant PP", id.clone());
            set(&mut f, "Identification nationale PP", format!("8{id}"));
            set(&mut f, "Nom d'exercice", last.into());
            set(&mut f, "Prénom d'exercice", first.into());
            set(&mut f, "Code profession", code.into());
            set(&mut f, "Libellé profession", label.into());
            if code == "10" {
                set(&mut f, "Code savoir-faire", "SM54".into());
                set(&mut f, "Libellé savoir-faire", "Médecine générale".into());
            }
            set(&mut f, "Code mode exercice", "L".into());
            set(
                &mut f,
                "Numéro Voie (coord. structure)",
                (1 + rng.below(200)).to_string(),
            );
            set(
                &mut f,
                "Libellé type de voie (coord. structure)",
                "RUE".into(),
            );
            set(
                &mut f,
                "Libellé Voie (coord. structure)",
                rng.pick(&STREETS).into(),
            );
            set(
                &mut f,
                "Code postal (coord. structure)",
                format!("{dep}000"),
            );
            set(&mut f, "Code commune (coord. structure)", insee.clone());
            set(
                &mut f,
                "Libellé commune (coord. structure)",
                format!("Commune {insee}"),
            );
            set(
                &mut f,
                "Téléphone (coord. structure)",
                format!("03{:08}", rng.below(100_000_000)),
            );
            set(&mut f, "Code secteur d'activité", "SA07".into());
            writeln!(rpps, "{}|", f.join("|"))?;
            row += 1;
        }
    }
    rpps.flush()?;
    println!(
        "{} : {establishments} établissements, {rpps_rows} lignes RPPS ({person} professionnels)",
        out.display()
    );
    Ok(())
}
