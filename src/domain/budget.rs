//! Budget lines of an action: an amount per funder and year, in euro cents.

use super::partners::FieldErrors;
use super::{text, Invalid};

/// An amount in euros typed in a form (`1 500`, `1 500,50 €`, `1500.5`) →
/// cents. Negative and non-numeric amounts are refused.
pub fn parse_amount(raw: &str) -> Result<i64, Invalid> {
    let s: String = raw
        .trim()
        .trim_end_matches('€')
        .trim_end_matches("EUR")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}' && *c != '\u{a0}')
        .collect();
    if s.is_empty() {
        return Err(Invalid::new("Montant : ce champ est obligatoire"));
    }
    if s.starts_with('-') {
        return Err(Invalid::new(format!(
            "Montant : « {} » est négatif ; un financement est positif ou nul",
            raw.trim()
        )));
    }
    let s = s.replace(',', ".");
    let (euros, cents) = match s.split_once('.') {
        Some((e, c)) => (e, c),
        None => (s.as_str(), ""),
    };
    let bad = || {
        Invalid::new(format!(
            "Montant : « {} » n'est pas un montant en euros (exemple : 1 500,50)",
            raw.trim()
        ))
    };
    if euros.is_empty()
        || !euros.chars().all(|c| c.is_ascii_digit())
        || cents.len() > 2
        || !cents.chars().all(|c| c.is_ascii_digit())
        || euros.len() > 12
    {
        return Err(bad());
    }
    let euros: i64 = euros.parse().map_err(|_| bad())?;
    let cents: i64 = if cents.is_empty() {
        0
    } else {
        format!("{cents:0<2}").parse().map_err(|_| bad())?
    };
    Ok(euros * 100 + cents)
}

/// A committed or spent amount: empty means « not entered yet » (`None`);
/// otherwise checked like the planned amount, its messages naming `label`.
pub fn parse_optional_amount(raw: &str, label: &str) -> Result<Option<i64>, Invalid> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    parse_amount(raw)
        .map(Some)
        .map_err(|e| Invalid::new(e.0.replacen("Montant", label, 1)))
}

/// The amounts a form shows for a stored value (`1500,50`, empty for none).
pub fn amount_input(cents: Option<i64>) -> String {
    match cents {
        Some(c) if c % 100 == 0 => (c / 100).to_string(),
        Some(c) => format!("{},{:02}", c / 100, c % 100),
        None => String::new(),
    }
}

/// `150000` cents → `1 500,00 €`.
pub fn format_euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let out = super::indicator::group_digits(&(abs / 100).to_string());
    format!("{sign}{out},{:02}\u{a0}€", abs % 100)
}

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct BudgetLineRaw {
    /// An organisation of the directory, or empty with `funder` typed.
    #[serde(default)]
    pub funder_id: String,
    #[serde(default)]
    pub funder: String,
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub amount: String,
    /// Committed (« engagé »), empty while unknown.
    #[serde(default)]
    pub committed: String,
    /// Spent (« réalisé »), empty while unknown.
    #[serde(default)]
    pub spent: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetLineInput {
    pub funder_id: Option<i64>,
    pub funder: String,
    pub year: i32,
    pub amount_cents: i64,
    pub committed_cents: Option<i64>,
    pub spent_cents: Option<i64>,
    pub note: String,
}

impl BudgetLineRaw {
    pub fn parse(&self) -> Result<BudgetLineInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let funder_id = self.funder_id.trim().parse::<i64>().ok();
        let funder = text::bounded(&self.funder, "Financeur", false, 200)
            .map_err(|e| errors.push(("funder", e.0)))
            .ok();
        if funder_id.is_none() && matches!(funder.as_deref(), Some("")) {
            errors.push((
                "funder",
                "Financeur : choisissez une structure ou écrivez son nom".into(),
            ));
        }
        let year = match self.year.trim().parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => Some(y),
            _ => {
                errors.push((
                    "year",
                    format!(
                        "Année : « {} » n'est pas une année (exemple : 2026)",
                        self.year.trim()
                    ),
                ));
                None
            }
        };
        let amount_cents = parse_amount(&self.amount)
            .map_err(|e| errors.push(("amount", e.0)))
            .ok();
        let committed_cents = parse_optional_amount(&self.committed, "Montant engagé")
            .map_err(|e| errors.push(("committed", e.0)))
            .ok();
        let spent_cents = parse_optional_amount(&self.spent, "Montant réalisé")
            .map_err(|e| errors.push(("spent", e.0)))
            .ok();
        let note = text::bounded(&self.note, "Précision", false, 300)
            .map_err(|e| errors.push(("note", e.0)))
            .ok();
        match (
            funder,
            year,
            amount_cents,
            committed_cents,
            spent_cents,
            note,
        ) {
            (
                Some(funder),
                Some(year),
                Some(amount_cents),
                Some(committed_cents),
                Some(spent_cents),
                Some(note),
            ) if errors.is_empty() => Ok(BudgetLineInput {
                funder_id,
                funder,
                year,
                amount_cents,
                committed_cents,
                spent_cents,
                note,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("1 500").unwrap(), 150_000);
        assert_eq!(parse_amount("1 500,5 €").unwrap(), 150_050);
        assert_eq!(parse_amount("0").unwrap(), 0);
        assert_eq!(parse_amount("12.34").unwrap(), 1234);
        assert!(parse_amount("-10").unwrap_err().0.contains("négatif"));
        assert!(parse_amount("mille").is_err());
        assert!(parse_amount("1,234").is_err());
        assert!(parse_amount("").is_err());
        assert_eq!(format_euros(150_050), "1\u{202f}500,50\u{a0}€");
        assert_eq!(format_euros(-5), "-0,05\u{a0}€");
        assert_eq!(format_euros(-150_050), "-1\u{202f}500,50\u{a0}€");
    }

    #[test]
    fn line() {
        let mut r = BudgetLineRaw {
            funder: "ARS".into(),
            year: "2026".into(),
            amount: "12 000".into(),
            ..Default::default()
        };
        assert_eq!(r.parse().unwrap().amount_cents, 1_200_000);
        r.amount = "-5".into();
        r.year = "26".into();
        let f: Vec<_> = r.parse().unwrap_err().into_iter().map(|e| e.0).collect();
        assert_eq!(f, ["year", "amount"]);
    }

    #[test]
    fn committed_and_spent_are_optional_and_checked_like_the_plan() {
        let mut r = BudgetLineRaw {
            funder: "ARS".into(),
            year: "2026".into(),
            amount: "12 000".into(),
            ..Default::default()
        };
        let b = r.parse().unwrap();
        assert_eq!((b.committed_cents, b.spent_cents), (None, None));
        r.committed = "10 000,50".into();
        r.spent = "0".into();
        let b = r.parse().unwrap();
        assert_eq!(
            (b.committed_cents, b.spent_cents),
            (Some(1_000_050), Some(0))
        );
        r.committed = "-3".into();
        r.spent = "beaucoup".into();
        let e = r.parse().unwrap_err();
        assert_eq!(e[0].0, "committed");
        assert!(e[0].1.starts_with("Montant engagé"), "{}", e[0].1);
        assert!(e[0].1.contains("négatif"));
        assert_eq!(e[1].0, "spent");
        assert!(e[1].1.starts_with("Montant réalisé"));
        assert_eq!(amount_input(Some(1_000_050)), "10000,50");
        assert_eq!(amount_input(Some(500)), "5");
        assert_eq!(amount_input(None), "");
    }
}
