//! Official codes: INSEE commune codes, SIREN of EPCI, QPV codes, slugs, e-mails.

use std::fmt;

use super::Invalid;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A commune's five-character INSEE code: `01053`, `2A004`, `97411`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InseeCode(String);
string_newtype!(InseeCode);

impl InseeCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        let err = || {
            Invalid::new(format!(
                "« {s} » n'est pas un code INSEE de commune (5 caractères, par exemple 62498 ou 2A004)"
            ))
        };
        if s.len() != 5 || !s.is_ascii() {
            return Err(err());
        }
        let b = s.as_bytes();
        let dep_ok = match (b[0], b[1]) {
            (b'2', b'A' | b'B' | b'a' | b'b') => true,
            (x, y) => x.is_ascii_digit() && y.is_ascii_digit() && !(x == b'0' && y == b'0'),
        };
        if !dep_ok || !b[2..].iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        Ok(InseeCode(s.to_ascii_uppercase()))
    }

    /// Open-data files sometimes drop the leading zero (`1053` for `01053`).
    pub fn parse_lenient(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
            return Self::parse(&format!("0{s}"));
        }
        Self::parse(s)
    }

    /// The département part: `62`, `2A`, or `974` overseas.
    pub fn departement(&self) -> &str {
        if self.0.starts_with("97") || self.0.starts_with("98") {
            &self.0[..3]
        } else {
            &self.0[..2]
        }
    }
}

/// The nine-digit SIREN that identifies an EPCI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Siren(String);
string_newtype!(Siren);

impl Siren {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Siren(s.to_owned()))
        } else {
            Err(Invalid::new(format!(
                "« {s} » n'est pas un numéro SIREN (9 chiffres)"
            )))
        }
    }
}

/// A QPV code, `QN` + three-character département + two digits + a letter,
/// e.g. `QN06201M`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QpvCode(String);
string_newtype!(QpvCode);

impl QpvCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let ok = b.len() == 8
            && &b[..2] == b"QN"
            && b[2..5].iter().all(|c| c.is_ascii_alphanumeric())
            && b[5..7].iter().all(u8::is_ascii_digit)
            && b[7].is_ascii_uppercase();
        if ok {
            Ok(QpvCode(s))
        } else {
            Err(Invalid::new(format!(
                "« {} » n'est pas un code de quartier prioritaire (QPV, par exemple QN06201M)",
                raw.trim()
            )))
        }
    }
}

/// A URL slug: lowercase ASCII letters, digits and single dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);
string_newtype!(Slug);

impl Slug {
    pub const MAX_LEN: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Slug(s.to_owned()))
        } else {
            Err(Invalid::new(format!(
                "l'identifiant d'adresse « {s} » doit contenir de 1 à {} lettres minuscules sans accent, chiffres ou tirets simples",
                Self::MAX_LEN
            )))
        }
    }

    /// Build a slug from a name: `Communauté d'agglomération de Lens-Liévin`
    /// → `communaute-d-agglomeration-de-lens-lievin`.
    pub fn from_name(name: &str) -> Result<Self, Invalid> {
        let mut out = String::new();
        for c in super::text::fold_accents(name).chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let mut s = out.trim_end_matches('-').to_owned();
        if s.len() > Self::MAX_LEN {
            s.truncate(Self::MAX_LEN);
            s = s.trim_end_matches('-').to_owned();
        }
        Self::parse(&s)
    }
}

/// An e-mail address, lowercased. Checked for shape only: the real test of an
/// address is a message that arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);
string_newtype!(Email);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_lowercase();
        let err = || {
            let shown: String = raw.trim().chars().take(80).collect();
            let more = if raw.trim().chars().nth(80).is_some() {
                "…"
            } else {
                ""
            };
            Invalid::new(format!(
                "« {shown}{more} » n'est pas une adresse e-mail valide"
            ))
        };
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err());
        }
        let (local, domain) = s.split_once('@').ok_or_else(err)?;
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains('@')
        {
            return Err(err());
        }
        Ok(Email(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insee_codes() {
        assert_eq!(InseeCode::parse("62498").unwrap().as_str(), "62498");
        assert_eq!(InseeCode::parse("2a004").unwrap().as_str(), "2A004");
        assert_eq!(InseeCode::parse("97411").unwrap().departement(), "974");
        assert_eq!(InseeCode::parse_lenient("1053").unwrap().as_str(), "01053");
        for bad in ["", "6249", "624980", "00123", "2C004", "62A98", "6249é"] {
            assert!(InseeCode::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn qpv_codes() {
        assert!(QpvCode::parse("QN06201M").is_ok());
        assert!(QpvCode::parse("qn0620 1m").is_err());
        assert!(QpvCode::parse("QP062001").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(
            Slug::from_name("Communauté d'agglomération de Lens-Liévin")
                .unwrap()
                .as_str(),
            "communaute-d-agglomeration-de-lens-lievin"
        );
        assert!(Slug::parse("Lens").is_err());
        assert!(Slug::parse("a--b").is_err());
        assert!(Slug::parse("lens-lievin").is_ok());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Marie@Exemple.FR ").unwrap().as_str(),
            "marie@exemple.fr"
        );
        for bad in [
            "marie",
            "marie@",
            "@exemple.fr",
            "ma rie@exemple.fr",
            "marie@exemple",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
