//! The rows of the health directory (FINESS establishments, RPPS
//! professionals) as the importers read them and the storage layer writes
//! them: shared here so that neither depends on the other.

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
        use sha2::{Digest, Sha256};
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

    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        crate::tokens::b64(&Sha256::digest(format!("{self:?}").as_bytes())[..12])
    }
}
