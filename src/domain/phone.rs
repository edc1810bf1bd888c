//! Phone numbers as people type them, stored in E.164 (`+33612345678`).
//!
//! French numbers are accepted in their usual spellings (`06 12 34 56 78`,
//! `06.12.34.56.78`, `+33 6 12 34 56 78`, `+33 (0)6…`, `0033 6…`), including
//! the overseas departments, whose national numbers carry their own country
//! code in E.164 (`0692 12 34 56` → `+262692123456`). Other countries are
//! accepted in international form only (`+32 …`, `0032 …`): without the
//! country code a number cannot be told from a French one.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    /// Letters or signs that are not part of a number.
    BadCharacters,
    /// A French number must have ten digits (`06 12 34 56 78`).
    FrenchLength,
    /// An international number has 8 to 15 digits after its `+`.
    InternationalLength,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PhoneError::Empty => "indiquez un numéro de téléphone",
            PhoneError::BadCharacters => {
                "ce numéro contient des caractères qui ne sont pas des chiffres"
            }
            PhoneError::FrenchLength => {
                "un numéro français a dix chiffres, par exemple 06 12 34 56 78"
            }
            PhoneError::InternationalLength => {
                "un numéro étranger s'écrit avec l'indicatif du pays, par exemple +32 470 12 34 56"
            }
        })
    }
}

impl std::error::Error for PhoneError {}

/// Overseas departments and communities: the first four digits of the
/// national number → the E.164 country code that replaces `+33`.
const OVERSEAS: &[(&str, &str)] = &[
    ("0262", "262"), // La Réunion (fixe)
    ("0263", "262"),
    ("0692", "262"), // La Réunion (mobile)
    ("0693", "262"),
    ("0269", "262"), // Mayotte (fixe)
    ("0639", "262"), // Mayotte (mobile)
    ("0590", "590"), // Guadeloupe, Saint-Martin, Saint-Barthélemy
    ("0690", "590"),
    ("0691", "590"),
    ("0594", "594"), // Guyane
    ("0694", "594"),
    ("0596", "596"), // Martinique
    ("0696", "596"),
    ("0697", "596"),
    ("0508", "508"), // Saint-Pierre-et-Miquelon
];

/// Parse a typed phone number into E.164.
pub fn parse(input: &str) -> Result<String, PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    // `+33 (0)6 …`: the national trunk zero written in brackets goes.
    let without_trunk = trimmed.replace("(0)", "");
    let mut digits = String::new();
    let mut plus = false;
    for (i, c) in without_trunk.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '.' | '-' | '/' | '(' | ')' | '\u{a0}' | '\u{202f}' => {}
            _ => return Err(PhoneError::BadCharacters),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    let international = if plus {
        Some(digits.clone())
    } else {
        digits.strip_prefix("00").map(str::to_owned)
    };
    match international {
        Some(intl) => {
            if let Some(national) = intl.strip_prefix("33") {
                // `+33 6…` is the French number `06…`; overseas numbers
                // written with +33 get their own code.
                let national = national.trim_start_matches('0');
                return french(&format!("0{national}"));
            }
            if !(8..=15).contains(&intl.len()) || intl.starts_with('0') {
                return Err(PhoneError::InternationalLength);
            }
            Ok(format!("+{intl}"))
        }
        None => french(&digits),
    }
}

fn french(national: &str) -> Result<String, PhoneError> {
    if national.len() != 10 || !national.starts_with('0') || national[1..2] == *"0" {
        return Err(PhoneError::FrenchLength);
    }
    let rest = &national[1..];
    if let Some((_, code)) = OVERSEAS.iter().find(|(p, _)| national.starts_with(p)) {
        return Ok(format!("+{code}{rest}"));
    }
    Ok(format!("+33{rest}"))
}

/// Whether an E.164 number can receive a text message: French and overseas
/// mobiles (`+336…`, `+337…`, `+262692…`…); foreign numbers are given the
/// benefit of the doubt.
pub fn is_mobile(e164: &str) -> bool {
    let Some(n) = e164.strip_prefix('+') else {
        return false;
    };
    if let Some(fr) = n.strip_prefix("33") {
        return fr.starts_with('6') || fr.starts_with('7');
    }
    for code in ["262", "590", "594", "596", "508"] {
        if let Some(rest) = n.strip_prefix(code) {
            return ["692", "693", "639", "690", "691", "694", "696", "697", "55"]
                .iter()
                .any(|p| rest.starts_with(p));
        }
    }
    true
}

/// A number as French people read it: `+33612345678` → `06 12 34 56 78`;
/// other countries keep their `+` form, grouped by two after the code.
pub fn display(e164: &str) -> String {
    if let Some(fr) = e164.strip_prefix("+33") {
        if fr.len() == 9 {
            let national = format!("0{fr}");
            return pairs(&national);
        }
    }
    e164.to_owned()
}

/// For lists the coordination reads: only the last two digits shown
/// (`06 •• •• •• 78`).
pub fn masked(e164: &str) -> String {
    let shown = display(e164);
    let digits: usize = shown.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    shown
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen > 2 && seen + 2 <= digits {
                    return '•';
                }
            }
            c
        })
        .collect()
}

fn pairs(national: &str) -> String {
    national
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_spellings() {
        for typed in [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33612345678",
            "0033 6 12 34 56 78",
            " 06\u{a0}12 34 56 78 ",
        ] {
            assert_eq!(parse(typed).as_deref(), Ok("+33612345678"), "{typed}");
        }
        assert_eq!(parse("03 21 00 00 00").as_deref(), Ok("+33321000000"));
    }

    #[test]
    fn overseas_numbers_get_their_own_code() {
        assert_eq!(parse("0692 12 34 56").as_deref(), Ok("+262692123456"));
        assert_eq!(parse("0596 61 00 00").as_deref(), Ok("+596596610000"));
        assert_eq!(parse("+33 692 12 34 56").as_deref(), Ok("+262692123456"));
        assert!(is_mobile("+262692123456"));
        assert!(!is_mobile("+596596610000"));
    }

    #[test]
    fn international_numbers() {
        assert_eq!(parse("+32 470 12 34 56").as_deref(), Ok("+32470123456"));
        assert_eq!(parse("0032 470 12 34 56").as_deref(), Ok("+32470123456"));
        assert_eq!(parse("+1 (514) 555-0199").as_deref(), Ok("+15145550199"));
    }

    #[test]
    fn refused_with_a_reason() {
        assert_eq!(parse(""), Err(PhoneError::Empty));
        assert_eq!(parse("06 12 34 56"), Err(PhoneError::FrenchLength));
        assert_eq!(parse("06 12 34 56 78 9"), Err(PhoneError::FrenchLength));
        assert_eq!(parse("00 12 34"), Err(PhoneError::InternationalLength));
        assert_eq!(parse("06 12 AB 56 78"), Err(PhoneError::BadCharacters));
        assert_eq!(parse("+32 12"), Err(PhoneError::InternationalLength));
        assert_eq!(parse("12 34"), Err(PhoneError::FrenchLength));
        assert_eq!(parse("6+12345678"), Err(PhoneError::BadCharacters));
        assert!(parse("06 12 34 56 78").is_ok());
    }

    #[test]
    fn mobiles_and_display() {
        assert!(is_mobile("+33612345678"));
        assert!(is_mobile("+33712345678"));
        assert!(!is_mobile("+33321000000"));
        assert_eq!(display("+33612345678"), "06 12 34 56 78");
        assert_eq!(masked("+33612345678"), "06 •• •• •• 78");
        assert_eq!(display("+32470123456"), "+32470123456");
    }
}
