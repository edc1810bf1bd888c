//! The rows of the health directory (FINESS establishments, RPPS
//! professionals) as the importers read them and the storage layer writes
//! them: shared here so that neither depends on the other.

use sha2::{Digest, Sha256};

use super::text::fold_accents;

/// Where a long import says how far it is: `(stage, done, total)`.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Send + Sync);

#[derive(Debug, Clone, PartialEq)]
pub struct Establishment {
    pub finess: String,
    pub finess_ej: String,
    pub name: String,
    pub long_name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub insee_code: Option<String>,
    pub phone: String,
    pub category_code: String,
    pub category_label: String,
    pub group_code: String,
    pub group_label: String,
    pub siret: String,
    pub opened_on: Option<String>,
    pub updated_on: Option<String>,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
}

impl Establishment {
    pub fn name_search(&self) -> String {
        fold_accents(&format!("{} {}", self.name, self.long_name))
    }

    /// A fingerprint of everything imported, to tell changed rows from unchanged ones.
    pub fn content_hash(&self) -> String {
        let s = format!("{self:?}");
        crate::tokens::b64(&Sha256::digest(s.as_bytes())[..12])
    }
}

/// Labels of common FINESS establishment categories (the `categetab` codes
/// of the etalab extraction, the same codes as the NOS table TRE-R397 of
/// FiNESS+), for files that give a category code without its label.
pub const CATEGORY_LABELS: [(&str, &str); 11] = [
    ("355", "Centre Hospitalier (C.H.)"),
    ("124", "Centre de Santé"),
    ("603", "Maison de santé (L.6223-3)"),
    (
        "604",
        "Communauté Professionnelle Territoriale de Santé (CPTS)",
    ),
    ("620", "Pharmacie d'Officine"),
    ("611", "Laboratoire de Biologie Médicale"),
    (
        "500",
        "Etablissement d'hébergement pour personnes âgées dépendantes",
    ),
    ("156", "Centre Médico-Psychologique (C.M.P.)"),
    ("223", "Protection Maternelle et Infantile (P.M.I.)"),
    ("228", "Centre de planification ou d'éducation familiale"),
    (
        "197",
        "Centre de soins accompagnement prévention addictologie (CSAPA)",
    ),
];

/// The label of a category code from [`CATEGORY_LABELS`].
pub fn category_label(code: &str) -> Option<&'static str> {
    CATEGORY_LABELS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PracticePlace {
    pub specialty_code: String,
    pub specialty_label: String,
    pub mode_code: String,
    pub sector_code: String,
    pub finess_site: String,
    pub siret_site: String,
    pub site_name: String,
    pub address: String,
    pub postal_code: String,
    pub insee_code: Option<String>,
    pub city: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Professional {
    pub rpps: String,
    pub last_name: String,
    pub first_name: String,
    pub profession_code: String,
    pub profession_label: String,
    pub places: Vec<PracticePlace>,
}

impl Professional {
    pub fn name_search(&self) -> String {
        fold_accents(&format!("{} {}", self.last_name, self.first_name))
    }

    /// A fingerprint of everything imported: the SHA-256 of the `Debug`
    /// form (what the stored fingerprints were made from), written field by
    /// field into the hasher rather than formatted; 2 million of them per
    /// national import. `debug_form_hashes_as_formatted` checks that both
    /// give the same bytes.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"Professional { rpps: ");
        debug_str(&mut h, &self.rpps);
        h.update(b", last_name: ");
        debug_str(&mut h, &self.last_name);
        h.update(b", first_name: ");
        debug_str(&mut h, &self.first_name);
        h.update(b", profession_code: ");
        debug_str(&mut h, &self.profession_code);
        h.update(b", profession_label: ");
        debug_str(&mut h, &self.profession_label);
        h.update(b", places: [");
        for (i, p) in self.places.iter().enumerate() {
            if i > 0 {
                h.update(b", ");
            }
            p.debug_into(&mut h);
        }
        h.update(b"] }");
        crate::tokens::b64(&h.finalize()[..12])
    }
}

impl PracticePlace {
    /// This place's `Debug` form, into `h` (see [`Professional::content_hash`]).
    fn debug_into(&self, h: &mut Sha256) {
        let fields: [(&[u8], &str); 9] = [
            (b"PracticePlace { specialty_code: ", &self.specialty_code),
            (b", specialty_label: ", &self.specialty_label),
            (b", mode_code: ", &self.mode_code),
            (b", sector_code: ", &self.sector_code),
            (b", finess_site: ", &self.finess_site),
            (b", siret_site: ", &self.siret_site),
            (b", site_name: ", &self.site_name),
            (b", address: ", &self.address),
            (b", postal_code: ", &self.postal_code),
        ];
        for (name, value) in fields {
            h.update(name);
            debug_str(h, value);
        }
        h.update(b", insee_code: ");
        match &self.insee_code {
            Some(code) => {
                h.update(b"Some(");
                debug_str(h, code);
                h.update(b")");
            }
            None => h.update(b"None"),
        }
        h.update(b", city: ");
        debug_str(h, &self.city);
        h.update(b", phone: ");
        debug_str(h, &self.phone);
        h.update(b" }");
    }
}

/// `s` as `{:?}` writes it, into `h`: quoted as it is when it holds only
/// printable ASCII without a quote or a backslash, else through the formatter (escapes).
fn debug_str(h: &mut Sha256, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        h.update(b"\"");
        h.update(s.as_bytes());
        h.update(b"\"");
    } else {
        use std::fmt::Write;
        struct Into<'a>(&'a mut Sha256);
        impl Write for Into<'_> {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0.update(s.as_bytes());
                Ok(())
            }
        }
        // Writing into a hasher cannot fail.
        let _ = write!(Into(h), "{s:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(p: &Professional) -> String {
        crate::tokens::b64(&Sha256::digest(format!("{p:?}").as_bytes())[..12])
    }

    /// The fingerprints stored by earlier versions hashed `format!("{p:?}")`:
    /// the field-by-field writer must give the same bytes, escapes included.
    #[test]
    fn debug_form_hashes_as_formatted() {
        let place = PracticePlace {
            specialty_code: "SM54".into(),
            specialty_label: "Médecine générale".into(),
            mode_code: "L".into(),
            sector_code: String::new(),
            finess_site: "620000001".into(),
            siret_site: String::new(),
            site_name: "Cabinet \"Les Tilleuls\"".into(),
            address: "12 rue d'Arras, bât. B\\2".into(),
            postal_code: "62300".into(),
            insee_code: Some("62498".into()),
            city: "LENS".into(),
            phone: "03 21 00 00 00\t".into(),
        };
        let mut p = Professional {
            rpps: "10001234567".into(),
            last_name: "Lefèvre".into(),
            first_name: "Zoé\u{301}\n".into(),
            profession_code: "10".into(),
            profession_label: "Médecin".into(),
            places: Vec::new(),
        };
        assert_eq!(p.content_hash(), formatted(&p));
        p.places.push(place.clone());
        assert_eq!(p.content_hash(), formatted(&p));
        p.places.push(PracticePlace {
            insee_code: None,
            city: "\u{7f}\u{0}€ – ✓".into(),
            ..PracticePlace::default()
        });
        assert_eq!(p.content_hash(), formatted(&p));
        let plain = Professional {
            rpps: "10009999999".into(),
            last_name: "MARTIN".into(),
            first_name: "Paul".into(),
            profession_code: "40".into(),
            profession_label: "Chirurgien-Dentiste".into(),
            places: vec![place],
        };
        assert_eq!(plain.content_hash(), formatted(&plain));
        // Any field changes it.
        let mut other = plain.clone();
        other.places[0].phone.push('1');
        assert_ne!(other.content_hash(), plain.content_hash());
    }
}
