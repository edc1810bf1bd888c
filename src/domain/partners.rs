//! The territory's partner directory: organisations and the people who work
//! with the coordination. Contact data is kept only with a consent date.

use chrono::NaiveDate;

use super::codes::Email;
use super::contract::{labelled_enum, parse_date};
use super::territory::parse_phone;
use super::{text, Invalid};

pub const NAME_MAX: usize = 200;

labelled_enum!(
    /// The type of an organisation.
    OrganisationKind {
        Ars => "ars", "ARS",
        Prefecture => "prefecture", "Préfecture",
        Commune => "commune", "Commune",
        Epci => "epci", "EPCI",
        Cpam => "cpam", "CPAM",
        Ccas => "ccas", "CCAS",
        Association => "association", "Association",
        Hospital => "hospital", "Établissement hospitalier",
        Msp => "msp", "Maison de santé (MSP)",
        Cpts => "cpts", "CPTS",
        School => "school", "Établissement scolaire",
        Other => "other", "Autre",
    }
);

pub type FieldErrors = Vec<(&'static str, String)>;

/// An organisation as typed in the form.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct OrganisationRaw {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub siret: String,
    #[serde(default)]
    pub finess: String,
    #[serde(default)]
    pub website: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationInput {
    pub name: String,
    pub kind: OrganisationKind,
    pub siret: Option<String>,
    pub finess: Option<String>,
    pub website: String,
}

fn digits(raw: &str, n: usize, label: &str) -> Result<Option<String>, Invalid> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() != n || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Invalid::new(format!(
            "{label} : {n} caractères attendus, « {} » reçu",
            raw.trim()
        )));
    }
    Ok(Some(s.to_uppercase()))
}

/// The Luhn check of SIREN and SIRET numbers.
fn luhn(s: &str) -> bool {
    let mut sum = 0;
    for (i, c) in s.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

impl OrganisationRaw {
    pub fn parse(&self) -> Result<OrganisationInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = text::bounded(&self.name, "Nom", true, NAME_MAX)
            .map_err(|e| errors.push(("name", e.0)))
            .ok();
        let kind = OrganisationKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(("kind", "Choisissez le type de structure".into()));
        }
        let siret = match digits(&self.siret, 14, "SIRET") {
            Ok(Some(s)) if !luhn(&s) => {
                errors.push((
                    "siret",
                    format!("SIRET : « {s} » n'est pas un numéro valide (clé de contrôle)"),
                ));
                None
            }
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(("siret", e.0));
                None
            }
        };
        let finess = digits(&self.finess, 9, "FINESS")
            .map_err(|e| errors.push(("finess", e.0)))
            .ok();
        let website = text::bounded(&self.website, "Site web", false, 300)
            .map_err(|e| errors.push(("website", e.0)))
            .ok();
        if let Some(w) = &website {
            if !(w.is_empty() || w.starts_with("https://") || w.starts_with("http://")) {
                errors.push((
                    "website",
                    "Site web : l'adresse doit commencer par https://".into(),
                ));
            }
        }
        match (name, kind, siret, finess, website) {
            (Some(name), Some(kind), Some(siret), Some(finess), Some(website))
                if errors.is_empty() =>
            {
                Ok(OrganisationInput {
                    name,
                    kind,
                    siret,
                    finess,
                    website,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A person as typed in the form.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct PersonRaw {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub organisation_id: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// The date the person agreed to have their contact data kept.
    #[serde(default)]
    pub consent_on: String,
    /// « on » when the person agreed to show their contact on public pages.
    #[serde(default)]
    pub public_contact: String,
    /// The e-mail of the person's account, if any (links a partner account).
    #[serde(default)]
    pub account_email: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonInput {
    pub full_name: String,
    pub organisation_id: Option<i64>,
    pub job_title: String,
    pub email: String,
    pub phone: String,
    pub consent_on: Option<NaiveDate>,
    pub public_contact: bool,
    pub account_email: Option<Email>,
}

impl PersonRaw {
    pub fn parse(&self) -> Result<PersonInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let full_name = text::bounded(&self.full_name, "Nom et prénom", true, NAME_MAX)
            .map_err(|e| errors.push(("full_name", e.0)))
            .ok();
        let organisation_id = match self.organisation_id.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(("organisation_id", "Choisissez une structure".into()));
                    None
                }
            },
        };
        let job_title = text::bounded(&self.job_title, "Fonction", false, NAME_MAX)
            .map_err(|e| errors.push(("job_title", e.0)))
            .ok();
        let email = if self.email.trim().is_empty() {
            Some(String::new())
        } else {
            Email::parse(&self.email)
                .map(|e| e.as_str().to_owned())
                .map_err(|e| errors.push(("email", e.0)))
                .ok()
        };
        let phone = parse_phone(&self.phone)
            .map_err(|e| errors.push(("phone", e.0)))
            .ok();
        let consent_on = parse_date(&self.consent_on, "Date du consentement")
            .map_err(|e| errors.push(("consent_on", e.0)))
            .ok();
        let has_contact = !self.email.trim().is_empty() || !self.phone.trim().is_empty();
        if has_contact && matches!(consent_on, Some(None)) {
            errors.push((
                "consent_on",
                "Date du consentement : obligatoire pour garder une adresse ou un téléphone (RGPD)"
                    .into(),
            ));
        }
        let public_contact = !self.public_contact.is_empty();
        if public_contact && !has_contact {
            errors.push((
                "public_contact",
                "Publication : il n'y a ni adresse ni téléphone à publier".into(),
            ));
        }
        let account_email = if self.account_email.trim().is_empty() {
            Some(None)
        } else {
            Email::parse(&self.account_email)
                .map(Some)
                .map_err(|e| errors.push(("account_email", e.0)))
                .ok()
        };
        match (
            full_name,
            job_title,
            email,
            phone,
            consent_on,
            account_email,
        ) {
            (
                Some(full_name),
                Some(job_title),
                Some(email),
                Some(phone),
                Some(consent_on),
                Some(account_email),
            ) if errors.is_empty() => Ok(PersonInput {
                full_name,
                organisation_id,
                job_title,
                email,
                phone,
                consent_on,
                public_contact,
                account_email,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation() {
        let mut r = OrganisationRaw {
            name: "CCAS de Lens".into(),
            kind: "ccas".into(),
            siret: "732 829 320 00074".into(),
            ..Default::default()
        };
        let o = r.parse().unwrap();
        assert_eq!(o.siret.as_deref(), Some("73282932000074"));
        r.siret = "73282932000075".into();
        assert_eq!(r.parse().unwrap_err()[0].0, "siret");
        r.siret = String::new();
        r.kind = "bank".into();
        r.finess = "12".into();
        let f: Vec<_> = r.parse().unwrap_err().into_iter().map(|e| e.0).collect();
        assert_eq!(f, ["kind", "finess"]);
    }

    #[test]
    fn contact_needs_consent() {
        let mut p = PersonRaw {
            full_name: "Awa Diallo".into(),
            email: "awa@example.org".into(),
            ..Default::default()
        };
        assert_eq!(p.parse().unwrap_err()[0].0, "consent_on");
        p.consent_on = "02/09/2025".into();
        let ok = p.parse().unwrap();
        assert_eq!(ok.consent_on, NaiveDate::from_ymd_opt(2025, 9, 2));
        assert!(!ok.public_contact);
        p.email = "pas une adresse".into();
        assert_eq!(p.parse().unwrap_err()[0].0, "email");
        // Without contact data, no consent is needed.
        let bare = PersonRaw {
            full_name: "Jean Martin".into(),
            public_contact: "on".into(),
            ..Default::default()
        };
        assert_eq!(bare.parse().unwrap_err()[0].0, "public_contact");
    }
}
