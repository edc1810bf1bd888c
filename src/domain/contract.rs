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
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .map(Some)
        .map_err(|_| {
            Invalid::new(format!(
                "{label} : date non reconnue « {s} » (attendu JJ/MM/AAAA)"
            ))
        })
}

/// A CLS is signed by the ARS: one of its signatories must name it.
pub fn check_signatories(kind: ContractKind, signatories: &[String]) -> Result<(), Invalid> {
    let names_ars = |s: &String| {
        let folded = text::fold_accents(s);
        folded
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == "ars")
            || folded.contains("agence regionale de sante")
    };
    if kind == ContractKind::Cls && !signatories.iter().any(names_ars) {
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
