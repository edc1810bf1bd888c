//! A local service a coordinator adds to the directory, checked field by
//! field so that a refused form says what to fix and keeps what was typed.

use super::codes::{Email, InseeCode};
use super::opening_hours;
use super::territory::{parse_phone, FieldErrors};
use super::text::bounded;

pub const KINDS: [(&str, &str); 5] = [
    ("association", "Association"),
    ("social", "Service social (CCAS, maison France services…)"),
    ("mediation", "Médiation en santé"),
    ("prevention", "Prévention, dépistage"),
    ("other", "Autre"),
];

pub fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("Autre")
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ServiceInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub publics: String,
    #[serde(default)]
    pub fees: String,
    #[serde(default)]
    pub opening_hours: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub website: String,
    /// INSEE codes of the communes served, separated by spaces or commas.
    #[serde(default)]
    pub area: String,
    #[serde(default)]
    pub accessibility: String,
    pub msp: Option<String>,
    pub cpts: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub kind: String,
    pub description: String,
    pub publics: String,
    pub fees: String,
    pub opening_hours: String,
    pub address: String,
    pub postal_code: String,
    pub insee_code: Option<String>,
    pub phone: String,
    pub email: String,
    pub website: String,
    pub area: Vec<String>,
    pub accessibility: String,
    pub msp: bool,
    pub cpts: bool,
}

impl ServiceInput {
    /// `communes`: the territory's INSEE codes (a service belongs to it).
    pub fn parse(&self, communes: &[String]) -> Result<Service, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut take = |field: &'static str, r: Result<String, super::Invalid>| {
            r.map_err(|e| errors.push((field, e.0))).unwrap_or_default()
        };
        let name = take("name", bounded(&self.name, "Nom", true, 150));
        let kind = take(
            "kind",
            KINDS
                .iter()
                .find(|(k, _)| *k == self.kind)
                .map(|(k, _)| (*k).to_owned())
                .ok_or_else(|| super::Invalid::new("Type : choisissez dans la liste")),
        );
        let description = take(
            "description",
            bounded(&self.description, "Description", false, 4000),
        );
        let publics = take("publics", bounded(&self.publics, "Publics", false, 500));
        let fees = take("fees", bounded(&self.fees, "Tarifs", false, 300));
        let opening_hours = take("opening_hours", opening_hours::parse(&self.opening_hours));
        let address = take("address", bounded(&self.address, "Adresse", false, 300));
        let postal_code = take("postal_code", {
            let p = self.postal_code.trim();
            if p.is_empty() || (p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit())) {
                Ok(p.to_owned())
            } else {
                Err(super::Invalid::new(format!(
                    "« {p} » n'est pas un code postal (5 chiffres)"
                )))
            }
        });
        let in_territory = |raw: &str| -> Result<String, super::Invalid> {
            let c = InseeCode::parse(raw)?;
            if communes.iter().any(|t| t == c.as_str()) {
                Ok(c.as_str().to_owned())
            } else {
                Err(super::Invalid::new(format!(
                    "la commune {c} n'est pas dans le territoire"
                )))
            }
        };
        let insee = take(
            "commune",
            if self.commune.trim().is_empty() {
                Ok(String::new())
            } else {
                in_territory(&self.commune)
            },
        );
        let phone = take("phone", parse_phone(&self.phone));
        let email = take(
            "email",
            if self.email.trim().is_empty() {
                Ok(String::new())
            } else {
                Email::parse(&self.email).map(|e| e.as_str().to_owned())
            },
        );
        let website = take("website", {
            let w = self.website.trim();
            if w.is_empty()
                || ((w.starts_with("https://") || w.starts_with("http://"))
                    && w.len() <= 300
                    && !w.contains(char::is_whitespace))
            {
                Ok(w.to_owned())
            } else {
                Err(super::Invalid::new(
                    "le site doit être une adresse complète commençant par https://",
                ))
            }
        });
        let mut area = Vec::new();
        let mut area_error = None;
        for raw in self
            .area
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            match in_territory(raw) {
                Ok(c) if !area.contains(&c) => area.push(c),
                Ok(_) => {}
                Err(e) => {
                    area_error = Some(e.0);
                    break;
                }
            }
        }
        take(
            "area",
            area_error.map_or(Ok(String::new()), |e| {
                Err(super::Invalid::new(format!("Zone desservie : {e}")))
            }),
        );
        let accessibility = take(
            "accessibility",
            bounded(&self.accessibility, "Accessibilité", false, 500),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Service {
            name,
            kind,
            description,
            publics,
            fees,
            opening_hours,
            address,
            postal_code,
            insee_code: (!insee.is_empty()).then_some(insee),
            phone,
            email,
            website,
            area,
            accessibility,
            msp: self.msp.is_some(),
            cpts: self.cpts.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_checked() {
        let territory = vec!["62498".to_owned(), "62510".to_owned()];
        let input = ServiceInput {
            name: "Point santé".into(),
            kind: "mediation".into(),
            opening_hours: "Mo-Fr 9h-12h".into(),
            commune: "63457".into(),
            website: "javascript:alert(1)".into(),
            area: "62498 99999".into(),
            ..Default::default()
        };
        let errors = input.parse(&territory).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["opening_hours", "commune", "website", "area"]);
        let ok = ServiceInput {
            name: "Point santé".into(),
            kind: "mediation".into(),
            opening_hours: "Mo 14:00-16:00".into(),
            commune: "62498".into(),
            area: "62498, 62510".into(),
            msp: Some("on".into()),
            ..Default::default()
        }
        .parse(&territory)
        .unwrap();
        assert_eq!(ok.area, vec!["62498", "62510"]);
        assert!(ok.msp && !ok.cpts);
    }
}
