//! Contracts and their action plan: the rules that hold whatever the storage
//! (kinds and statuses, a period in order, an ARS among the signatories of a
//! CLS, codes unique within a contract, bounded texts).

use std::collections::HashSet;

use chrono::NaiveDate;

use super::{text, Invalid};

pub const TITLE_MAX: usize = 200;
pub const SUMMARY_MAX: usize = 4000;
pub const SIGNATORY_MAX: usize = 200;
pub const SIGNATORIES_MAX: usize = 40;
pub const DESCRIPTION_MAX: usize = 8000;
pub const LEAD_MAX: usize = 200;

macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $code:literal, $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The code stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// The French label shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
            /// The label of a stored code (the code itself if unknown).
            pub fn label_of(code: &str) -> &str {
                match Self::parse(code) {
                    Some(v) => v.label(),
                    None => code,
                }
            }
        }
    };
}
pub(crate) use labelled_enum;

labelled_enum!(
    /// The kind of a contract.
    ContractKind {
        Cls => "cls", "Contrat local de santé",
        Asv => "asv", "Atelier santé ville",
        Clsm => "clsm", "Conseil local de santé mentale",
        Other => "other", "Autre",
    }
);

labelled_enum!(
    ContractStatus {
        InPreparation => "in_preparation", "En préparation",
        Signed => "signed", "Signé",
        InForce => "in_force", "En vigueur",
        Ended => "ended", "Terminé",
        Renewed => "renewed", "Renouvelé",
    }
);

labelled_enum!(
    ActionStatus {
        Planned => "planned", "Prévue",
        InProgress => "in_progress", "En cours",
        Done => "done", "Réalisée",
        Paused => "paused", "En pause",
        Abandoned => "abandoned", "Abandonnée",
    }
);

/// Parse an optional date typed in a form: `AAAA-MM-JJ` or `JJ/MM/AAAA`.
pub fn parse_date(s: &str, label: &str) -> Result<Option<NaiveDate>, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .map_err(|_| {
            Invalid::new(format!(
                "{label} : date non reconnue « {s} » (attendu JJ/MM/AAAA)"
            ))
        })?;
    if !crate::domain::dates::plausible(d) {
        return Err(Invalid::new(format!(
            "{label} : l'année doit être comprise entre {} et {}",
            crate::domain::dates::FIRST_YEAR,
            crate::domain::dates::LAST_YEAR
        )));
    }
    Ok(Some(d))
}

/// Does this name designate an ARS (« ARS Hauts-de-France », « Agence
/// régionale de santé »)? Signatories and budget funders are text.
pub fn names_ars(s: &str) -> bool {
    let folded = text::fold_accents(s);
    folded
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == "ars")
        || folded.contains("agence regionale de sante")
}

/// A CLS is signed by the ARS: one of its signatories must name it.
pub fn check_signatories(kind: ContractKind, signatories: &[String]) -> Result<(), Invalid> {
    if kind == ContractKind::Cls && !signatories.iter().any(|s| names_ars(s)) {
        return Err(Invalid::new(
            "Signataires : un contrat local de santé doit compter l'ARS parmi ses signataires",
        ));
    }
    Ok(())
}

/// The codes of a contract's axes, objectives and actions must not repeat.
pub fn check_codes_unique<'a>(codes: impl IntoIterator<Item = &'a str>) -> Result<(), Invalid> {
    let mut seen = HashSet::new();
    for c in codes {
        if !seen.insert(c) {
            return Err(Invalid::new(format!(
                "Le code « {c} » est déjà utilisé dans ce contrat"
            )));
        }
    }
    Ok(())
}

/// A contract as validated from a form.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractInput {
    pub kind: ContractKind,
    pub title: String,
    pub status: ContractStatus,
    pub signed_on: Option<NaiveDate>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub summary: String,
    pub signatories: Vec<String>,
}

/// What a person typed, kept as is to re-display the form.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct ContractRaw {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub signed_on: String,
    #[serde(default)]
    pub period_start: String,
    #[serde(default)]
    pub period_end: String,
    #[serde(default)]
    pub summary: String,
    /// One signatory per line.
    #[serde(default)]
    pub signatories: String,
}

impl ContractRaw {
    /// Validate every field; errors come with the name of their field.
    pub fn parse(&self) -> Result<ContractInput, Vec<(&'static str, String)>> {
        let mut errors: Vec<(&'static str, String)> = Vec::new();
        let mut err = |f: &'static str, e: Invalid| errors.push((f, e.0));
        let kind = ContractKind::parse(&self.kind);
        if kind.is_none() {
            err("kind", Invalid::new("Choisissez le type de contrat"));
        }
        let title = text::bounded(&self.title, "Titre", true, TITLE_MAX)
            .map_err(|e| err("title", e))
            .ok();
        let status = ContractStatus::parse(&self.status);
        if status.is_none() {
            err("status", Invalid::new("Choisissez l'état du contrat"));
        }
        let signed_on = parse_date(&self.signed_on, "Date de signature")
            .map_err(|e| err("signed_on", e))
            .ok();
        let period_start = parse_date(&self.period_start, "Début de la période")
            .map_err(|e| err("period_start", e))
            .ok();
        let period_end = parse_date(&self.period_end, "Fin de la période")
            .map_err(|e| err("period_end", e))
            .ok();
        if let (Some(Some(s)), Some(Some(e))) = (period_start, period_end) {
            if e <= s {
                err(
                    "period_end",
                    Invalid::new("Fin de la période : elle doit suivre le début"),
                );
            }
        }
        let summary = text::bounded(&self.summary, "Résumé", false, SUMMARY_MAX)
            .map_err(|e| err("summary", e))
            .ok();
        let mut signatories = Vec::new();
        for line in self.signatories.lines() {
            match text::bounded(line, "Signataire", false, SIGNATORY_MAX) {
                Ok(s) if s.is_empty() => {}
                Ok(s) => signatories.push(s),
                Err(e) => err("signatories", e),
            }
        }
        if signatories.len() > SIGNATORIES_MAX {
            err(
                "signatories",
                Invalid::new(format!("Signataires : au plus {SIGNATORIES_MAX}")),
            );
        }
        if let Some(k) = kind {
            if let Err(e) = check_signatories(k, &signatories) {
                err("signatories", e);
            }
        }
        match (
            kind,
            title,
            status,
            signed_on,
            period_start,
            period_end,
            summary,
        ) {
            (
                Some(kind),
                Some(title),
                Some(status),
                Some(signed_on),
                Some(period_start),
                Some(period_end),
                Some(summary),
            ) if errors.is_empty() => Ok(ContractInput {
                kind,
                title,
                status,
                signed_on,
                period_start,
                period_end,
                summary,
                signatories,
            }),
            _ => Err(errors),
        }
    }
}

/// An action as validated from a form.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionInput {
    pub title: String,
    pub description: String,
    pub status: ActionStatus,
    pub lead_org: String,
}

impl ActionInput {
    pub fn parse(
        title: &str,
        description: &str,
        status: &str,
        lead_org: &str,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let title = text::bounded(title, "Intitulé", true, TITLE_MAX)
            .map_err(|e| errors.push(("title", e.0)))
            .ok();
        let description = text::bounded(description, "Description", false, DESCRIPTION_MAX)
            .map_err(|e| errors.push(("description", e.0)))
            .ok();
        let status = ActionStatus::parse(status);
        if status.is_none() {
            errors.push(("status", "Choisissez l'état de l'action".to_owned()));
        }
        let lead_org = text::bounded(lead_org, "Structure pilote", false, LEAD_MAX)
            .map_err(|e| errors.push(("lead_org", e.0)))
            .ok();
        match (title, description, status, lead_org) {
            (Some(title), Some(description), Some(status), Some(lead_org)) => Ok(ActionInput {
                title,
                description,
                status,
                lead_org,
            }),
            _ => Err(errors),
        }
    }
}

/// A title of an axis or objective.
pub fn parse_title(s: &str) -> Result<String, Invalid> {
    text::bounded(s, "Intitulé", true, TITLE_MAX)
}

/// A key that sorts `2.10` after `2.9`.
pub fn code_sort_key(code: &str) -> Vec<u32> {
    code.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> ContractRaw {
        ContractRaw {
            kind: "cls".into(),
            title: "CLS de Lens-Liévin 2024-2028".into(),
            status: "signed".into(),
            signed_on: "12/03/2024".into(),
            period_start: "2024-01-01".into(),
            period_end: "2028-12-31".into(),
            summary: "Trois axes.".into(),
            signatories: "ARS Hauts-de-France\n\nCommunauté d'agglomération\n".into(),
        }
    }

    #[test]
    fn enums_round_trip() {
        for s in ActionStatus::ALL {
            assert_eq!(ActionStatus::parse(s.as_str()), Some(*s));
        }
        assert!(ContractKind::parse("xyz").is_none());
        assert_eq!(ContractStatus::InForce.label(), "En vigueur");
        assert_eq!(ContractStatus::label_of("in_preparation"), "En préparation");
    }

    #[test]
    fn valid_contract() {
        let c = raw().parse().unwrap();
        assert_eq!(c.kind, ContractKind::Cls);
        assert_eq!(c.signatories.len(), 2);
        assert_eq!(c.signed_on, NaiveDate::from_ymd_opt(2024, 3, 12));
    }

    #[test]
    fn period_end_after_start() {
        let mut r = raw();
        r.period_end = "2023-12-31".into();
        let e = r.parse().unwrap_err();
        assert_eq!(e[0].0, "period_end");
        r.period_end = "2024-01-01".into();
        assert!(r.parse().is_err());
        r.period_end = "31/02/2029".into();
        assert!(r.parse().is_err());
        r.period_end = String::new();
        assert!(r.parse().is_ok());
    }

    #[test]
    fn cls_needs_ars() {
        let mut r = raw();
        r.signatories = "Commune de Lens\nCPAM de l'Artois".into();
        let e = r.parse().unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "signatories");
        assert!(e[0].1.contains("ARS"));
        r.signatories = "Agence régionale de santé Hauts-de-France".into();
        assert!(r.parse().is_ok());
        // A word merely containing « ars » is not the ARS.
        r.signatories = "Mairie de Mars".into();
        assert!(r.parse().is_err());
        r.kind = "asv".into();
        r.signatories = String::new();
        assert!(r.parse().is_ok());
    }

    #[test]
    fn bounded_texts() {
        let mut r = raw();
        r.title = "  ".into();
        r.summary = "x".repeat(SUMMARY_MAX + 1);
        let fields: Vec<_> = r.parse().unwrap_err().into_iter().map(|e| e.0).collect();
        assert_eq!(fields, ["title", "summary"]);
        assert!(ActionInput::parse("", "", "planned", "").is_err());
        assert!(ActionInput::parse("Action", "", "unknown", "").is_err());
        assert!(ActionInput::parse("Action", "", "done", &"x".repeat(LEAD_MAX + 1)).is_err());
        assert!(ActionInput::parse("Action", "", "done", "CCAS").is_ok());
    }

    #[test]
    fn codes_unique() {
        assert!(check_codes_unique(["1", "1.1", "1.1.1", "2"]).is_ok());
        assert!(check_codes_unique(["1", "1.1", "1.1"]).is_err());
        let mut v = vec!["2.10", "2.9", "1.1"];
        v.sort_by_key(|c| code_sort_key(c));
        assert_eq!(v, ["1.1", "2.9", "2.10"]);
    }
}

/// Determinants of health: the fixed list of themes (code, label). A
/// territory adds its own (stored by label).
pub const THEMES: &[(&str, &str)] = &[
    ("acces_soins", "Accès aux soins et aux droits"),
    ("prevention", "Prévention et promotion de la santé"),
    ("sante_mentale", "Santé mentale"),
    ("nutrition", "Alimentation et activité physique"),
    ("addictions", "Conduites addictives"),
    (
        "environnement",
        "Santé environnementale (habitat, air, bruit)",
    ),
    ("vie_affective", "Vie affective et sexuelle"),
    ("enfance", "Petite enfance et parentalité"),
    ("jeunes", "Santé des jeunes"),
    ("vieillissement", "Vieillissement et autonomie"),
    ("handicap", "Handicap"),
    ("precarite", "Précarité et isolement"),
    ("violences", "Violences intrafamiliales"),
    ("cancers", "Dépistage des cancers"),
];

/// The label of a theme: a fixed theme's code, or a territory theme's label.
pub fn theme_label(theme: &str) -> &str {
    THEMES
        .iter()
        .find(|(c, _)| *c == theme)
        .map(|(_, l)| *l)
        .unwrap_or(theme)
}

/// A timetable step of an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub due_on: Option<NaiveDate>,
    pub label: String,
    pub done: bool,
}

impl Step {
    /// One line of the steps field: `[x] 31/03/2026 Recrutement`.
    pub fn to_line(&self) -> String {
        let mut s = String::new();
        if self.done {
            s.push_str("[x] ");
        }
        if let Some(d) = self.due_on {
            s.push_str(&d.format("%d/%m/%Y ").to_string());
        }
        s.push_str(&self.label);
        s
    }
}

/// Parse the steps field: one step per line, an optional `[x]` (done), an
/// optional date, then the label.
pub fn parse_steps(raw: &str) -> Result<Vec<Step>, Invalid> {
    let mut steps = Vec::new();
    for (i, line) in raw.lines().enumerate() {
        let mut rest = line.trim();
        if rest.is_empty() {
            continue;
        }
        let mut done = false;
        for mark in ["[x]", "[X]", "✔", "✓"] {
            if let Some(r) = rest.strip_prefix(mark) {
                done = true;
                rest = r.trim_start();
            }
        }
        let first = rest.split_whitespace().next().unwrap_or("");
        let looks_like_date =
            first.chars().next().is_some_and(|c| c.is_ascii_digit()) && first.contains(['/', '-']);
        let due_on = if looks_like_date {
            let d = parse_date(first, &format!("Étape ligne {}", i + 1))?;
            rest = rest[first.len()..]
                .trim_start()
                .trim_start_matches([':', '–', '-'])
                .trim_start();
            d
        } else {
            None
        };
        let label = text::bounded(rest, &format!("Étape ligne {}", i + 1), true, TITLE_MAX)?;
        steps.push(Step {
            due_on,
            label,
            done,
        });
    }
    if steps.len() > 50 {
        return Err(Invalid::new("Calendrier : au plus 50 étapes"));
    }
    Ok(steps)
}

/// A fiche action as typed in its form (lists arrive as repeated fields).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct FicheRaw {
    /// The version of the action the form was built from (conflict check).
    #[serde(default)]
    pub version: String,
    /// A new code for the action (coordinators only); empty keeps it.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub findings: String,
    #[serde(default)]
    pub aims: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub publics: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub progress: String,
    #[serde(default)]
    pub period_start: String,
    #[serde(default)]
    pub period_end: String,
    #[serde(default)]
    pub lead_org_id: String,
    #[serde(default)]
    pub lead_person_id: String,
    #[serde(default)]
    pub partners: Vec<String>,
    #[serde(default)]
    pub themes: Vec<String>,
    /// The territory's own themes, typed: one per line.
    #[serde(default)]
    pub own_themes: String,
    /// `commune:62498` or `qpv:QN06201M`.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Codes of linked actions, separated by commas or spaces.
    #[serde(default)]
    pub links: String,
    #[serde(default)]
    pub steps: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FicheInput {
    pub code: Option<String>,
    pub title: String,
    pub findings: String,
    pub aims: String,
    pub description: String,
    pub publics: String,
    pub status: ActionStatus,
    pub progress: i64,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub lead_org_id: Option<i64>,
    pub lead_person_id: Option<i64>,
    pub partners: Vec<i64>,
    /// Theme codes of the fixed list and the territory's own labels.
    pub themes: Vec<String>,
    /// (kind, code) with kind `commune` or `qpv`.
    pub scope: Vec<(String, String)>,
    pub links: Vec<String>,
    pub steps: Vec<Step>,
}

/// Is `code` shaped like an action code (`2.1.3`)?
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 20
        && code
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn opt_id(s: &str) -> Option<i64> {
    s.trim().parse().ok().filter(|n: &i64| *n > 0)
}

impl FicheRaw {
    /// Check each field on its own; references (organisations, communes,
    /// codes) are checked against the territory by the storage.
    pub fn parse(&self) -> Result<FicheInput, Vec<(&'static str, String)>> {
        let mut errors: Vec<(&'static str, String)> = Vec::new();
        fn field(
            errors: &mut Vec<(&'static str, String)>,
            f: &'static str,
            v: &str,
            label: &str,
            req: bool,
            max: usize,
        ) -> String {
            text::bounded(v, label, req, max)
                .map_err(|e| errors.push((f, e.0)))
                .unwrap_or_default()
        }
        let title = field(
            &mut errors,
            "title",
            &self.title,
            "Intitulé",
            true,
            TITLE_MAX,
        );
        let code = match self.code.trim() {
            "" => None,
            c if is_code(c) => Some(c.to_owned()),
            c => {
                errors.push((
                    "code",
                    format!("Code : « {c} » n'est pas un code d'action (exemple : 2.1.3)"),
                ));
                None
            }
        };
        let e = &mut errors;
        let findings = field(
            e,
            "findings",
            &self.findings,
            "Constats du diagnostic",
            false,
            DESCRIPTION_MAX,
        );
        let aims = field(e, "aims", &self.aims, "Objectifs", false, DESCRIPTION_MAX);
        let description = field(
            e,
            "description",
            &self.description,
            "Description",
            false,
            DESCRIPTION_MAX,
        );
        let publics = field(e, "publics", &self.publics, "Publics visés", false, 1000);
        let own_themes: Vec<String> = self
            .own_themes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| field(e, "own_themes", l, "Thème du territoire", false, 80))
            .collect();
        let status = ActionStatus::parse(&self.status);
        if status.is_none() {
            errors.push(("status", "Choisissez l'état de l'action".into()));
        }
        let progress = match self.progress.trim().trim_end_matches('%').trim() {
            "" => 0,
            s => match s.parse::<i64>() {
                Ok(p) if (0..=100).contains(&p) => p,
                _ => {
                    errors.push((
                        "progress",
                        format!(
                            "Avancement : « {} » n'est pas un pourcentage entre 0 et 100",
                            self.progress.trim()
                        ),
                    ));
                    0
                }
            },
        };
        let period_start = parse_date(&self.period_start, "Début de l'action")
            .map_err(|e| errors.push(("period_start", e.0)))
            .unwrap_or(None);
        let period_end = parse_date(&self.period_end, "Fin de l'action")
            .map_err(|e| errors.push(("period_end", e.0)))
            .unwrap_or(None);
        if let (Some(s), Some(e)) = (period_start, period_end) {
            if e < s {
                errors.push((
                    "period_end",
                    "Fin de l'action : elle doit suivre le début".into(),
                ));
            }
        }
        let steps = parse_steps(&self.steps)
            .map_err(|e| errors.push(("steps", e.0)))
            .unwrap_or_default();
        let mut themes: Vec<String> = Vec::new();
        for t in self
            .themes
            .iter()
            .map(|t| t.trim().to_owned())
            .chain(own_themes)
        {
            if !t.is_empty() && !themes.contains(&t) {
                themes.push(t);
            }
        }
        let mut scope = Vec::new();
        for s in &self.scope {
            match s.split_once(':') {
                Some((k @ ("commune" | "qpv"), code)) if !code.trim().is_empty() => {
                    scope.push((k.to_owned(), code.trim().to_owned()))
                }
                _ => errors.push(("scope", format!("Territoire de l'action : « {s} » inconnu"))),
            }
        }
        let links: Vec<String> = self
            .links
            .split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        for l in &links {
            if !is_code(l) {
                errors.push((
                    "links",
                    format!("Actions liées : « {l} » n'est pas un code d'action (exemple : 2.1.3)"),
                ));
            }
        }
        let mut partners: Vec<i64> = self.partners.iter().filter_map(|p| opt_id(p)).collect();
        partners.sort_unstable();
        partners.dedup();
        match status {
            Some(status) if errors.is_empty() => Ok(FicheInput {
                code,
                title,
                findings,
                aims,
                description,
                publics,
                status,
                progress,
                period_start,
                period_end,
                lead_org_id: opt_id(&self.lead_org_id),
                lead_person_id: opt_id(&self.lead_person_id),
                partners,
                themes,
                scope,
                links,
                steps,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod fiche_tests {
    use super::*;

    fn raw() -> FicheRaw {
        FicheRaw {
            title: "Médiation santé dans les quartiers".into(),
            status: "in_progress".into(),
            progress: "40 %".into(),
            period_start: "01/01/2025".into(),
            period_end: "31/12/2027".into(),
            partners: vec!["3".into(), "2".into(), "3".into(), "".into()],
            themes: vec!["acces_soins".into()],
            own_themes: "Mobilité\n\n".into(),
            scope: vec!["commune:62498".into(), "qpv:QN06201M".into()],
            links: "1.1.2, 2.1.1".into(),
            steps: "[x] 15/01/2025 Recrutement\n2026-06-30 : Bilan\nÉvaluation finale".into(),
            ..Default::default()
        }
    }

    #[test]
    fn fiche() {
        let f = raw().parse().unwrap();
        assert_eq!(f.progress, 40);
        assert_eq!(f.partners, [2, 3]);
        assert_eq!(f.themes, ["acces_soins", "Mobilité"]);
        assert_eq!(f.scope[1], ("qpv".into(), "QN06201M".into()));
        assert_eq!(f.links, ["1.1.2", "2.1.1"]);
        assert_eq!(f.steps.len(), 3);
        assert!(f.steps[0].done);
        assert_eq!(f.steps[1].due_on, NaiveDate::from_ymd_opt(2026, 6, 30));
        assert_eq!(f.steps[1].label, "Bilan");
        assert_eq!(f.steps[2].due_on, None);
        assert_eq!(f.steps[0].to_line(), "[x] 15/01/2025 Recrutement");
        assert_eq!(theme_label("sante_mentale"), "Santé mentale");
        assert_eq!(theme_label("Mobilité"), "Mobilité");
    }

    #[test]
    fn fiche_errors() {
        let mut r = raw();
        r.period_end = "31/12/2024".into();
        r.progress = "140".into();
        r.links = "1.1.x".into();
        r.steps = "32/13/2025 Bilan".into();
        r.scope = vec!["region:32".into()];
        let fields: Vec<_> = r.parse().unwrap_err().into_iter().map(|e| e.0).collect();
        assert_eq!(
            fields,
            ["progress", "period_end", "steps", "scope", "links"]
        );
    }
}
