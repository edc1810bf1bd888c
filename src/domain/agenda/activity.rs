//! Anonymised activity records of the health mediators (issue 16): per
//! person helped at a drop-in, what was done (themes), age band, sex, home
//! commune, QPV or not, first visit or not, referral made. No name is kept
//! unless the person agreed to be called back (`follow_up`).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Theme {
    HealthInsurance,
    Complementary,
    FindGp,
    Screening,
    Vaccination,
    MentalHealth,
    Paperwork,
    Prevention,
    Other,
}

impl Theme {
    pub const ALL: [Theme; 9] = [
        Theme::HealthInsurance,
        Theme::Complementary,
        Theme::FindGp,
        Theme::Screening,
        Theme::Vaccination,
        Theme::MentalHealth,
        Theme::Paperwork,
        Theme::Prevention,
        Theme::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Theme::HealthInsurance => "assurance-maladie",
            Theme::Complementary => "complementaire",
            Theme::FindGp => "medecin-traitant",
            Theme::Screening => "depistage",
            Theme::Vaccination => "vaccination",
            Theme::MentalHealth => "sante-mentale",
            Theme::Paperwork => "demarches",
            Theme::Prevention => "prevention",
            Theme::Other => "autre",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::HealthInsurance => "Droits à l’assurance maladie",
            Theme::Complementary => "Complémentaire santé (C2S, mutuelle)",
            Theme::FindGp => "Trouver un médecin traitant",
            Theme::Screening => "Dépistage",
            Theme::Vaccination => "Vaccination",
            Theme::MentalHealth => "Santé mentale",
            Theme::Paperwork => "Démarches administratives de santé",
            Theme::Prevention => "Prévention, information santé",
            Theme::Other => "Autre",
        }
    }

    pub fn parse(code: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// Age bands, as funders ask for them.
pub const AGE_BANDS: [(&str, &str); 7] = [
    ("0-17", "moins de 18 ans"),
    ("18-25", "18 à 25 ans"),
    ("26-44", "26 à 44 ans"),
    ("45-64", "45 à 64 ans"),
    ("65-74", "65 à 74 ans"),
    ("75+", "75 ans et plus"),
    ("nd", "non précisé"),
];

pub const SEXES: [(&str, &str); 3] = [("f", "femme"), ("h", "homme"), ("nd", "non précisé")];

/// Lives in a quartier prioritaire: yes, no, not known.
pub const QPV: [(&str, &str); 3] = [("oui", "oui"), ("non", "non"), ("nd", "ne sait pas")];

fn label_of(table: &[(&'static str, &'static str)], code: &str) -> &'static str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("non précisé")
}

pub fn age_label(code: &str) -> &'static str {
    label_of(&AGE_BANDS, code)
}

pub fn sex_label(code: &str) -> &'static str {
    label_of(&SEXES, code)
}

pub fn qpv_label(code: &str) -> &'static str {
    label_of(&QPV, code)
}

/// A record as typed by the mediator, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityInput {
    pub themes: Vec<Theme>,
    pub age_band: String,
    pub sex: String,
    /// INSEE code of the home commune, or empty (not given, or outside).
    pub home_commune: String,
    pub qpv: String,
    pub first_visit: bool,
    pub referral: bool,
    /// Name and phone kept only when the person agreed to be called back.
    pub follow_up: Option<(String, String)>,
}

impl ActivityInput {
    /// `communes`: the INSEE codes the form offered (the territory's).
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        themes: &[String],
        age_band: &str,
        sex: &str,
        home_commune: &str,
        qpv: &str,
        first_visit: bool,
        referral: bool,
        follow_up_agreed: bool,
        follow_up_name: &str,
        follow_up_phone: &str,
        communes: &[String],
    ) -> Result<ActivityInput, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut parsed: Vec<Theme> = themes
            .iter()
            .filter_map(|c| Theme::parse(c.trim()))
            .collect();
        parsed.sort();
        parsed.dedup();
        if parsed.is_empty() {
            errors.push(("themes", "Cochez au moins un sujet abordé.".to_owned()));
        }
        let known = |table: &[(&str, &str)], v: &str| table.iter().any(|(c, _)| *c == v);
        if !known(&AGE_BANDS, age_band) {
            errors.push((
                "age_band",
                "Choisissez une tranche d’âge (ou « non précisé »).".to_owned(),
            ));
        }
        if !known(&SEXES, sex) {
            errors.push((
                "sex",
                "Choisissez femme, homme ou « non précisé ».".to_owned(),
            ));
        }
        if !known(&QPV, qpv) {
            errors.push((
                "qpv",
                "Indiquez si la personne habite un quartier prioritaire (ou « ne sait pas »)."
                    .to_owned(),
            ));
        }
        let home_commune = home_commune.trim();
        if !home_commune.is_empty() && !communes.iter().any(|c| c == home_commune) {
            errors.push((
                "home_commune",
                "Choisissez une commune de la liste (ou « hors territoire / non précisé »)."
                    .to_owned(),
            ));
        }
        let follow_up = if follow_up_agreed {
            let name = follow_up_name.trim();
            if name.is_empty() || name.chars().count() > 120 || name.contains(['\n', '\r']) {
                errors.push(("follow_up_name", "Indiquez le nom de la personne à rappeler (une ligne, 120 caractères au plus).".to_owned()));
            }
            let phone = match crate::domain::phone::parse(follow_up_phone) {
                Ok(p) => p,
                Err(e) => {
                    errors.push((
                        "follow_up_phone",
                        format!("Téléphone pour le rappel : {e}."),
                    ));
                    String::new()
                }
            };
            Some((name.to_owned(), phone))
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ActivityInput {
            themes: parsed,
            age_band: age_band.to_owned(),
            sex: sex.to_owned(),
            home_commune: home_commune.to_owned(),
            qpv: qpv.to_owned(),
            first_visit,
            referral,
            follow_up,
        })
    }

    pub fn theme_codes(&self) -> String {
        self.themes
            .iter()
            .map(|t| t.code())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One stored record, as the summary reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub themes: String,
    pub age_band: String,
    pub sex: String,
    pub home_commune: String,
    pub qpv: String,
    pub first_visit: bool,
    pub referral: bool,
}

/// Counts for funders and the yearly review: people helped, by theme
/// (a person may count in several), age band, sex, commune and QPV; first
/// visits and referrals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub people: usize,
    pub first_visits: usize,
    pub referrals: usize,
    pub themes: Vec<(Theme, usize)>,
    pub age_bands: Vec<(&'static str, usize)>,
    pub sexes: Vec<(&'static str, usize)>,
    pub qpv: Vec<(&'static str, usize)>,
    /// INSEE code (or empty) → count.
    pub communes: BTreeMap<String, usize>,
}

pub fn summarise(records: &[Record]) -> Summary {
    let mut s = Summary {
        people: records.len(),
        ..Default::default()
    };
    let mut themes: BTreeMap<Theme, usize> = BTreeMap::new();
    for r in records {
        s.first_visits += usize::from(r.first_visit);
        s.referrals += usize::from(r.referral);
        for code in r.themes.split_whitespace() {
            if let Some(t) = Theme::parse(code) {
                *themes.entry(t).or_default() += 1;
            }
        }
        *s.communes.entry(r.home_commune.clone()).or_default() += 1;
    }
    s.themes = Theme::ALL
        .into_iter()
        .map(|t| (t, themes.get(&t).copied().unwrap_or(0)))
        .collect();
    let count = |table: &[(&'static str, &'static str)], get: &dyn Fn(&Record) -> &str| {
        table
            .iter()
            .map(|(code, label)| (*label, records.iter().filter(|r| get(r) == *code).count()))
            .collect::<Vec<_>>()
    };
    s.age_bands = count(&AGE_BANDS, &|r| r.age_band.as_str());
    s.sexes = count(&SEXES, &|r| r.sex.as_str());
    s.qpv = count(&QPV, &|r| r.qpv.as_str());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn communes() -> Vec<String> {
        vec!["62498".into(), "62510".into()]
    }

    #[test]
    fn a_record_is_checked_and_keeps_no_name_without_agreement() {
        let ok = ActivityInput::parse(
            &[
                "depistage".into(),
                "assurance-maladie".into(),
                "depistage".into(),
            ],
            "45-64",
            "f",
            "62498",
            "oui",
            true,
            false,
            false,
            "Awa Diallo",
            "06 12 34 56 78",
            &communes(),
        )
        .unwrap();
        assert_eq!(ok.themes, vec![Theme::HealthInsurance, Theme::Screening]);
        assert_eq!(ok.theme_codes(), "assurance-maladie depistage");
        assert_eq!(ok.follow_up, None, "no agreement, no name");
        let with = ActivityInput::parse(
            &["demarches".into()],
            "75+",
            "h",
            "",
            "nd",
            false,
            true,
            true,
            "M. Martin",
            "03 21 00 00 00",
            &communes(),
        )
        .unwrap();
        assert_eq!(
            with.follow_up,
            Some(("M. Martin".into(), "+33321000000".into()))
        );
        let errs = ActivityInput::parse(
            &[],
            "99",
            "x",
            "75056",
            "peut-être",
            false,
            false,
            true,
            "",
            "12",
            &communes(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "themes",
                "age_band",
                "sex",
                "qpv",
                "home_commune",
                "follow_up_name",
                "follow_up_phone"
            ]
        );
    }

    #[test]
    fn summary_counts() {
        let r = |themes: &str,
                 age: &str,
                 sex: &str,
                 commune: &str,
                 qpv: &str,
                 first: bool,
                 referral: bool| Record {
            themes: themes.into(),
            age_band: age.into(),
            sex: sex.into(),
            home_commune: commune.into(),
            qpv: qpv.into(),
            first_visit: first,
            referral,
        };
        let s = summarise(&[
            r(
                "assurance-maladie depistage",
                "45-64",
                "f",
                "62498",
                "oui",
                true,
                false,
            ),
            r("depistage", "75+", "h", "", "non", false, true),
            r("sante-mentale", "45-64", "f", "62498", "oui", true, true),
        ]);
        assert_eq!((s.people, s.first_visits, s.referrals), (3, 2, 2));
        assert!(s.themes.contains(&(Theme::Screening, 2)));
        assert!(s.themes.contains(&(Theme::Vaccination, 0)));
        assert!(s.age_bands.contains(&("45 à 64 ans", 2)));
        assert!(s.qpv.contains(&("oui", 2)));
        assert_eq!(s.communes.get("62498"), Some(&2));
        assert_eq!(s.communes.get(""), Some(&1));
    }
}
