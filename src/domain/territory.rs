//! A territory's own description: what its public home shows.

use super::codes::{Email, Slug};
use super::text::bounded;
use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerritoryKind {
    Commune,
    Epci,
    Other,
}

impl TerritoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TerritoryKind::Commune => "commune",
            TerritoryKind::Epci => "epci",
            TerritoryKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "commune" => Some(Self::Commune),
            "epci" => Some(Self::Epci),
            "other" => Some(Self::Other),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TerritoryKind::Commune => "Commune",
            TerritoryKind::Epci => "Intercommunalité (EPCI)",
            TerritoryKind::Other => "Autre (département, pays…)",
        }
    }
}

pub const NAME_MAX: usize = 150;
pub const PRESENTATION_MAX: usize = 20_000;

/// Presentation and contact, as a coordinator edits them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub presentation: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub contact_address: String,
}

/// The raw form, kept as typed so that a refused form re-renders unchanged.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ProfileInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub presentation: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_email: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub contact_address: String,
}

/// Field name → message, for forms.
pub type FieldErrors = Vec<(&'static str, String)>;

impl ProfileInput {
    pub fn parse(&self) -> Result<Profile, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut check = |field: &'static str, r: Result<String, Invalid>| match r {
            Ok(v) => v,
            Err(e) => {
                errors.push((field, e.0));
                String::new()
            }
        };
        let name = check("name", bounded(&self.name, "Nom", true, NAME_MAX));
        let presentation = check(
            "presentation",
            bounded(&self.presentation, "Présentation", false, PRESENTATION_MAX),
        );
        let contact_name = check(
            "contact_name",
            bounded(&self.contact_name, "Contact", false, 150),
        );
        let contact_email = check(
            "contact_email",
            if self.contact_email.trim().is_empty() {
                Ok(String::new())
            } else {
                Email::parse(&self.contact_email).map(|e| e.as_str().to_owned())
            },
        );
        let contact_phone = check("contact_phone", parse_phone(&self.contact_phone));
        let contact_address = check(
            "contact_address",
            bounded(&self.contact_address, "Adresse", false, 500),
        );
        if errors.is_empty() {
            Ok(Profile {
                name,
                presentation,
                contact_name,
                contact_email,
                contact_phone,
                contact_address,
            })
        } else {
            Err(errors)
        }
    }
}

/// A French phone number as people type it (`01 49 80 88 91`, `+33 1…`),
/// stored in the usual grouped form.
pub fn parse_phone(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let bad = || {
        Invalid::new(format!(
            "« {s} » n'est pas un numéro de téléphone (10 chiffres, ou +33…)"
        ))
    };
    if s.chars()
        .any(|c| !(c.is_ascii_digit() || " .-+()".contains(c)))
    {
        return Err(bad());
    }
    let national = if s.starts_with('+') {
        match digits.strip_prefix("33") {
            Some(rest) if rest.len() == 9 => format!("0{rest}"),
            _ if (8..=15).contains(&digits.len()) => return Ok(format!("+{digits}")),
            _ => return Err(bad()),
        }
    } else {
        digits
    };
    if national.len() == 10 && national.starts_with('0') {
        let b = national.as_bytes();
        Ok(b.chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" "))
    } else if national.len() == 4 && national.starts_with('3')
        || national.len() == 2
        || national.len() == 3
    {
        // Short numbers: 15, 112, 3919…
        Ok(national)
    } else {
        Err(bad())
    }
}

/// A new territory as an admin creates it.
#[derive(Debug, Clone)]
pub struct NewTerritory {
    pub slug: Slug,
    pub name: String,
    pub kind: TerritoryKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(parse_phone("01.49.80.88.91").unwrap(), "01 49 80 88 91");
        assert_eq!(parse_phone("+33 1 49 80 88 91").unwrap(), "01 49 80 88 91");
        assert_eq!(parse_phone("112").unwrap(), "112");
        assert!(parse_phone("01 49 80").is_err());
        assert!(parse_phone("<script>").is_err());
    }

    #[test]
    fn profile_keeps_every_error() {
        let input = ProfileInput {
            name: " ".into(),
            contact_email: "pas-un-mail".into(),
            contact_phone: "12".into(),
            ..Default::default()
        };
        let errors = input.parse().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["name", "contact_email"]);
    }
}
