//! Creating a territory and setting its perimeter: the checks that the
//! admin pages (`web::admin::territory`) and the command line (`maillage
//! territory create`) share, with their French messages.

use crate::domain::codes::{InseeCode, Siren, Slug};
use crate::domain::territory::{NewTerritory, TerritoryKind, NAME_MAX};
use crate::domain::text;
use crate::storage::Db;
use crate::storage::{communes, DbError};

/// A message for one field of the creation form (`name`, `slug`, `kind`).
pub type FieldError = (&'static str, String);

/// Check a new territory's name, address identifier (made from the name
/// when empty) and kind.
pub fn new_territory(name: &str, slug: &str, kind: &str) -> Result<NewTerritory, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = text::bounded(name, "Nom", true, NAME_MAX)
        .map_err(|e| errors.push(("name", e.0)))
        .ok();
    let slug = if slug.trim().is_empty() {
        name.as_deref().and_then(|n| {
            Slug::from_name(n)
                .map_err(|e| errors.push(("slug", e.0)))
                .ok()
        })
    } else {
        Slug::parse(slug)
            .map_err(|e| errors.push(("slug", capital(&e.0))))
            .ok()
    };
    let kind = TerritoryKind::parse(kind);
    if kind.is_none() {
        errors.push(("kind", "Choisissez la nature du territoire.".into()));
    }
    match (name, slug, kind) {
        (Some(name), Some(slug), Some(kind)) if errors.is_empty() => {
            Ok(NewTerritory { slug, name, kind })
        }
        _ => Err(errors),
    }
}

/// The message when `storage::territories::create` answers a conflict.
pub fn slug_taken(slug: &Slug) -> String {
    format!(
        "L'identifiant « {slug} » est déjà pris par un autre territoire : choisissez-en un autre."
    )
}

/// A perimeter as typed: an EPCI's SIREN, or a list of INSEE codes
/// separated by commas, semicolons or spaces.
#[derive(Debug, Clone)]
pub enum PerimeterInput<'a> {
    Epci(&'a str),
    Communes(&'a str),
}

/// A checked perimeter, ready for `storage::territories::set_communes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perimeter {
    pub epci_siren: Option<String>,
    pub codes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PerimeterError {
    #[error("{0}")]
    BadSiren(String),
    #[error("Aucun EPCI n'a le numéro SIREN {0} dans la liste officielle chargée.")]
    UnknownEpci(String),
    #[error("Les communes de cet EPCI ne sont pas encore chargées (maillage import communes).")]
    EpciWithoutCommunes,
    #[error("Codes INSEE mal formés : {}.", .0.join(", "))]
    BadCodes(Vec<String>),
    #[error("Saisissez au moins un code INSEE.")]
    NoCodes,
    #[error("Codes absents de la liste officielle des communes : {}.", .0.join(", "))]
    UnknownCodes(Vec<String>),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Check a perimeter against the official lists loaded.
pub async fn perimeter(db: &Db, input: &PerimeterInput<'_>) -> Result<Perimeter, PerimeterError> {
    match input {
        PerimeterInput::Epci(raw) => {
            let siren = Siren::parse(raw).map_err(|e| PerimeterError::BadSiren(capital(&e.0)))?;
            if communes::get_epci(db, siren.as_str()).await?.is_none() {
                return Err(PerimeterError::UnknownEpci(siren.as_str().to_owned()));
            }
            let members: Vec<String> = communes::epci_communes(db, siren.as_str())
                .await?
                .into_iter()
                .map(|c| c.insee_code)
                .collect();
            if members.is_empty() {
                return Err(PerimeterError::EpciWithoutCommunes);
            }
            Ok(Perimeter {
                epci_siren: Some(siren.as_str().to_owned()),
                codes: members,
            })
        }
        PerimeterInput::Communes(raw) => {
            let mut codes: Vec<String> = Vec::new();
            let mut bad = Vec::new();
            for part in raw
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|s| !s.is_empty())
            {
                match InseeCode::parse(part) {
                    Ok(c) if !codes.iter().any(|k| k == c.as_str()) => {
                        codes.push(c.as_str().to_owned())
                    }
                    Ok(_) => {}
                    Err(_) => bad.push(part.to_owned()),
                }
            }
            if !bad.is_empty() {
                return Err(PerimeterError::BadCodes(bad));
            }
            if codes.is_empty() {
                return Err(PerimeterError::NoCodes);
            }
            let known = communes::communes_by_codes(db, &codes).await?;
            let unknown: Vec<String> = codes
                .iter()
                .filter(|c| !known.iter().any(|k| &k.insee_code == *c))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(PerimeterError::UnknownCodes(unknown));
            }
            Ok(Perimeter {
                epci_siren: None,
                codes,
            })
        }
    }
}

/// `maillage territory create`: the same checks as the admin pages, the
/// perimeter checked before anything is created. Returns what to print.
pub async fn create_from_command_line(
    db: &Db,
    slug: &str,
    name: &str,
    epci: Option<&str>,
    communes: Option<&str>,
) -> anyhow::Result<String> {
    let (input, kind) = match (epci, communes) {
        (Some(siren), _) => (PerimeterInput::Epci(siren), "epci"),
        (None, Some(codes)) => {
            let one = codes
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|c| !c.is_empty())
                .count()
                == 1;
            (
                PerimeterInput::Communes(codes),
                if one { "commune" } else { "other" },
            )
        }
        (None, None) => anyhow::bail!("précisez --epci SIREN ou --communes CODE,CODE,…"),
    };
    let new = new_territory(name, slug, kind).map_err(|fields| {
        let words: Vec<String> = fields.into_iter().map(|(_, m)| m).collect();
        anyhow::anyhow!("{}", words.join(" "))
    })?;
    let checked = perimeter(db, &input).await?;
    let actor = crate::storage::audit::Actor::system("maillage territory");
    let t = match crate::storage::territories::create(db, &actor, &new).await {
        Ok(t) => t,
        Err(DbError::Conflict(_)) => {
            anyhow::bail!("{}", slug_taken(&new.slug))
        }
        Err(e) => return Err(e.into()),
    };
    crate::storage::territories::set_communes(
        db,
        &actor,
        t.id,
        checked.epci_siren.as_deref(),
        &checked.codes,
    )
    .await?;
    Ok(format!(
        "Territoire créé : {} ({}), {} commune(s). Back-office : /admin/t/{}",
        t.name,
        t.slug,
        checked.codes.len(),
        t.slug
    ))
}

/// The first letter in capitals (domain messages start in lower case).
pub fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
