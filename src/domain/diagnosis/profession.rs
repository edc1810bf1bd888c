//! The six professions of the diagnosis and the rule that says, from the
//! registers, which practice places count as their supply.

/// A profession of first-line care whose supply and accessibility the
/// diagnosis reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profession {
    Generalistes,
    Infirmiers,
    Kinesitherapeutes,
    Dentistes,
    SagesFemmes,
    Pharmacies,
}

/// RPPS savoir-faire codes (nomenclature TRE_R38 « SpécialitéOrdinale ») of
/// general medicine: SM26 « Qualifié en Médecine générale », SM53
/// « Spécialiste en Médecine générale », SM54 « Médecine générale » (the one
/// the RPPS extract carries for most GPs, as in `data/demo/rpps.txt`).
pub const GENERAL_MEDICINE: [&str; 3] = ["SM26", "SM53", "SM54"];

/// RPPS activity sectors (nomenclature TRE_R02 « SecteurActivite ») that are
/// care outside hospital, open to the public of the commune:
/// SA05 « Centre de santé », SA07 « Cabinet individuel », SA08 « Cabinet de
/// groupe », SA09 « Exercice en société », SA52 « Maison de santé ou Pôle de
/// santé ».
pub const OUTSIDE_HOSPITAL_SECTORS: [&str; 5] = ["SA05", "SA07", "SA08", "SA09", "SA52"];

/// RPPS mode of practice (TRE_R23) « Libéral ».
pub const MODE_LIBERAL: &str = "L";

/// Where a profession's supply is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    /// RPPS practice places of this profession code; with savoir-faire codes
    /// when the profession needs one (general medicine for doctors).
    Rpps {
        profession_code: &'static str,
        specialty_codes: &'static [&'static str],
    },
    /// FINESS establishments of this category, each counting 1.
    Finess { category_code: &'static str },
}

impl Profession {
    pub const ALL: [Profession; 6] = [
        Profession::Generalistes,
        Profession::Infirmiers,
        Profession::Kinesitherapeutes,
        Profession::Dentistes,
        Profession::SagesFemmes,
        Profession::Pharmacies,
    ];

    /// The name in URLs, the API and the `commune_supply` table.
    pub fn slug(self) -> &'static str {
        match self {
            Profession::Generalistes => "generalistes",
            Profession::Infirmiers => "infirmiers",
            Profession::Kinesitherapeutes => "kinesitherapeutes",
            Profession::Dentistes => "dentistes",
            Profession::SagesFemmes => "sages-femmes",
            Profession::Pharmacies => "pharmacies",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Profession::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// The name shown on pages.
    pub fn label(self) -> &'static str {
        match self {
            Profession::Generalistes => "Médecins généralistes",
            Profession::Infirmiers => "Infirmiers",
            Profession::Kinesitherapeutes => "Masseurs-kinésithérapeutes",
            Profession::Dentistes => "Chirurgiens-dentistes",
            Profession::SagesFemmes => "Sages-femmes",
            Profession::Pharmacies => "Pharmacies",
        }
    }

    /// Where the supply of this profession comes from: RPPS profession 10
    /// with a general-medicine savoir-faire, 60, 70, 40, 50; FINESS category
    /// 620 (« Pharmacie d'Officine ») for pharmacies.
    pub fn register(self) -> Register {
        let rpps = |code| Register::Rpps {
            profession_code: code,
            specialty_codes: &[],
        };
        match self {
            Profession::Generalistes => Register::Rpps {
                profession_code: "10",
                specialty_codes: &GENERAL_MEDICINE,
            },
            Profession::Infirmiers => rpps("60"),
            Profession::Kinesitherapeutes => rpps("70"),
            Profession::Dentistes => rpps("40"),
            Profession::SagesFemmes => rpps("50"),
            Profession::Pharmacies => Register::Finess {
                category_code: "620",
            },
        }
    }

    /// Does an RPPS practice place count for this profession? See
    /// [`practises_outside_hospital`] for the place's sector.
    pub fn counts_place(
        self,
        profession_code: &str,
        specialty_code: &str,
        sector_code: &str,
        mode_code: &str,
    ) -> bool {
        match self.register() {
            Register::Rpps {
                profession_code: p,
                specialty_codes,
            } => {
                p == profession_code
                    && (specialty_codes.is_empty() || specialty_codes.contains(&specialty_code))
                    && practises_outside_hospital(sector_code, mode_code)
            }
            Register::Finess { .. } => false,
        }
    }
}

/// « Professionals practising outside hospital », decided per practice place
/// from its RPPS activity sector (TRE_R02): the place counts when its sector
/// is one of [`OUTSIDE_HOSPITAL_SECTORS`] (health centre, individual or group
/// practice, practice company, « maison de santé »), or when the sector is
/// not given and the mode is « Libéral » (a private practice the extract did
/// not classify). Everything else is left out: hospitals (SA01 public, SA02
/// military, SA03/SA04 private, SA36 cancer centres), homes for the elderly
/// or disabled (SA16, SA17), schools, occupational health, PMI, laboratories,
/// the administration…: their professionals do not receive the commune's
/// inhabitants as first-line care. This follows the DREES APL field
/// (« professionnels exerçant hors hôpital, à titre libéral ou salariés d'un
/// centre de santé »), read from the register rather than from billing data.
pub fn practises_outside_hospital(sector_code: &str, mode_code: &str) -> bool {
    let sector = sector_code.trim();
    if sector.is_empty() {
        mode_code.trim() == MODE_LIBERAL
    } else {
        OUTSIDE_HOSPITAL_SECTORS.contains(&sector)
    }
}

/// Supply per commune of an RPPS profession, the rule in Rust (the storage
/// computes the same in SQL, `storage::care_supply`): each professional's
/// eligible places (the profession's codes, outside hospital, in a known
/// commune) count 1/n each, n being how many such places that professional
/// has. FINESS professions give an empty map (see the storage).
pub fn rpps_supply(
    profession: Profession,
    professionals: &[crate::domain::directory::Professional],
) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for p in professionals {
        for (code, share) in rpps_shares(profession, p) {
            *out.entry(code.to_owned()).or_insert(0.0) += share;
        }
    }
    out
}

/// One professional's part of [`rpps_supply`]: the commune of each of its
/// eligible places with 1/n (an import filling an empty directory sums
/// these as it reads, `storage::professionals_import`).
pub fn rpps_shares(
    profession: Profession,
    p: &crate::domain::directory::Professional,
) -> Vec<(&str, f64)> {
    let places: Vec<&str> = p
        .places
        .iter()
        .filter(|pl| {
            profession.counts_place(
                &p.profession_code,
                &pl.specialty_code,
                &pl.sector_code,
                &pl.mode_code,
            )
        })
        .filter_map(|pl| pl.insee_code.as_deref())
        .collect();
    let share = 1.0 / places.len() as f64;
    places.into_iter().map(|code| (code, share)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for p in Profession::ALL {
            assert_eq!(Profession::from_slug(p.slug()), Some(p));
        }
        assert_eq!(Profession::from_slug("medecins"), None);
        assert_eq!(Profession::from_slug(""), None);
        assert_eq!(Profession::SagesFemmes.slug(), "sages-femmes");
        assert_eq!(Profession::Generalistes.label(), "Médecins généralistes");
    }

    #[test]
    fn the_register_rule() {
        let gp = Profession::Generalistes;
        assert!(gp.counts_place("10", "SM54", "SA07", "L"));
        assert!(gp.counts_place("10", "SM26", "SA05", "S"));
        // A cardiologist, a GP at the hospital, a GP in an EHPAD: no.
        assert!(!gp.counts_place("10", "SM04", "SA07", "L"));
        assert!(!gp.counts_place("10", "SM54", "SA01", "S"));
        assert!(!gp.counts_place("10", "SM54", "SA17", "S"));
        // No sector: liberal counts, salaried does not.
        assert!(gp.counts_place("10", "SM54", "", "L"));
        assert!(!gp.counts_place("10", "SM54", "", "S"));
        assert!(Profession::Infirmiers.counts_place("60", "", "SA08", "L"));
        assert!(!Profession::Infirmiers.counts_place("10", "", "SA08", "L"));
        assert!(!Profession::Pharmacies.counts_place("21", "", "SA33", "L"));
        assert_eq!(
            Profession::Pharmacies.register(),
            Register::Finess {
                category_code: "620"
            }
        );
    }
}
