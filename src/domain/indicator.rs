//! Indicators of an action or a contract, and their measurements.

use chrono::NaiveDate;

use super::contract::{labelled_enum, parse_date};
use super::evaluation::{Source, SourceKind};
use super::partners::FieldErrors;
use super::{text, Invalid};

pub const LABEL_MAX: usize = 200;
pub const UNIT_MAX: usize = 40;

labelled_enum!(
    /// What an indicator measures.
    IndicatorKind {
        Process => "process", "Processus",
        Result => "result", "Résultat",
        Impact => "impact", "Impact",
    }
);

/// A number typed the French way (`12,5`, `1 234`) or the English way.
pub fn parse_number(raw: &str, label: &str) -> Result<Option<f64>, Invalid> {
    let s: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}' && *c != '\u{a0}')
        .collect();
    if s.is_empty() {
        return Ok(None);
    }
    let n: f64 = s
        .replace(',', ".")
        .parse()
        .map_err(|_| Invalid::new(format!("{label} : « {} » n'est pas un nombre", raw.trim())))?;
    if !n.is_finite() {
        return Err(Invalid::new(format!("{label} : nombre hors limites")));
    }
    Ok(Some(n))
}

/// `1234567` → `1 234 567` (narrow no-break spaces, as French typography wants).
pub fn group_digits(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A number for people: `1 234,5` (French separators, no useless decimals).
pub fn format_number(n: f64) -> String {
    let rounded = (n * 100.0).round() / 100.0;
    let neg = rounded < 0.0;
    let abs = rounded.abs();
    let int = abs.trunc() as u64;
    let frac = ((abs - abs.trunc()) * 100.0).round() as u64;
    let mut out = group_digits(&int.to_string());
    if frac > 0 {
        let f = format!("{frac:02}");
        out.push(',');
        out.push_str(f.trim_end_matches('0'));
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// `series:12` → (Series, 12).
pub fn parse_source_ref(s: &str) -> Option<(SourceKind, i64)> {
    let (kind, id) = s.split_once(':')?;
    let kind = match kind {
        "series" => SourceKind::Series,
        "event" => SourceKind::Event,
        "body" => SourceKind::Body,
        "consultation" => SourceKind::Consultation,
        _ => return None,
    };
    let id: i64 = id.parse().ok()?;
    (id > 0).then_some((kind, id))
}

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct IndicatorRaw {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub baseline: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub target_on: String,
    /// The id of the regional catalogue's indicator this one follows, or
    /// empty.
    #[serde(default)]
    pub shared: String,
    /// `manual`, or the code of a metric Maillage computes
    /// (`domain::evaluation::Metric`).
    #[serde(default)]
    pub source: String,
    /// What a computed indicator counts: `series:ID`, `event:ID`,
    /// `body:ID`, `consultation:ID`, or empty for those linked to the
    /// action (all of the territory for the contract's own indicators).
    #[serde(default)]
    pub source_ref: String,
    #[serde(default)]
    pub period_start: String,
    #[serde(default)]
    pub period_end: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorInput {
    pub source: Source,
    pub source_ref: Option<(SourceKind, i64)>,
    /// The period a computed indicator counts (default: the action's, then
    /// the contract's).
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    /// The regional catalogue's indicator it follows.
    pub shared_id: Option<i64>,
    pub kind: IndicatorKind,
    pub label: String,
    pub unit: String,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    pub target_on: Option<NaiveDate>,
}

impl IndicatorRaw {
    pub fn parse(&self) -> Result<IndicatorInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = IndicatorKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(("kind", "Choisissez le type d'indicateur".into()));
        }
        let label = text::bounded(&self.label, "Intitulé de l'indicateur", true, LABEL_MAX)
            .map_err(|e| errors.push(("label", e.0)))
            .ok();
        let unit = text::bounded(&self.unit, "Unité", false, UNIT_MAX)
            .map_err(|e| errors.push(("unit", e.0)))
            .ok();
        let baseline = parse_number(&self.baseline, "Valeur de départ")
            .map_err(|e| errors.push(("baseline", e.0)))
            .ok();
        let target = parse_number(&self.target, "Cible")
            .map_err(|e| errors.push(("target", e.0)))
            .ok();
        let target_on = parse_date(&self.target_on, "Échéance de la cible")
            .map_err(|e| errors.push(("target_on", e.0)))
            .ok();
        let shared_id = match self.shared.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    errors.push((
                        "shared",
                        "Indicateur du catalogue régional : choisissez-en un dans la liste".into(),
                    ));
                    None
                }
            },
        };
        let source = Source::parse(&self.source)
            .map_err(|e| errors.push(("source", e.0)))
            .ok();
        let source_ref = match (source.and_then(Source::metric), self.source_ref.trim()) {
            (_, "") => None,
            (None, _) => {
                errors.push((
                    "source_ref",
                    "Ce qui est compté : seulement pour un indicateur calculé par Maillage".into(),
                ));
                None
            }
            (Some(m), r) => match parse_source_ref(r) {
                Some((kind, id)) if kind == m.source_kind() => Some((kind, id)),
                _ => {
                    errors.push((
                        "source_ref",
                        format!(
                            "Ce qui est compté : choisissez-le dans la liste ({} ne se compte pas ainsi)",
                            m.label()
                        ),
                    ));
                    None
                }
            },
        };
        let period_start = parse_date(&self.period_start, "Début de la période comptée")
            .map_err(|e| errors.push(("period_start", e.0)))
            .ok();
        let period_end = parse_date(&self.period_end, "Fin de la période comptée")
            .map_err(|e| errors.push(("period_end", e.0)))
            .ok();
        if let (Some(Some(a)), Some(Some(b))) = (period_start, period_end) {
            if b < a {
                errors.push((
                    "period_end",
                    "Fin de la période comptée : elle précède le début".into(),
                ));
            }
        }
        // A computed indicator takes the metric's unit when none is typed.
        let unit = match (unit, source.and_then(Source::metric)) {
            (Some(u), Some(m)) if u.is_empty() => Some(m.unit().to_owned()),
            (u, _) => u,
        };
        if matches!(target, Some(Some(_))) && matches!(unit.as_deref(), Some("")) {
            errors.push((
                "unit",
                "Unité : obligatoire quand une cible est fixée (personnes, %, ateliers…)".into(),
            ));
        }
        if matches!(target_on, Some(Some(_))) && matches!(target, Some(None)) {
            errors.push((
                "target",
                "Cible : une échéance est donnée sans valeur cible".into(),
            ));
        }
        match (
            kind,
            label,
            unit,
            baseline,
            target,
            target_on,
            source,
            period_start,
            period_end,
        ) {
            (
                Some(kind),
                Some(label),
                Some(unit),
                Some(baseline),
                Some(target),
                Some(target_on),
                Some(source),
                Some(period_start),
                Some(period_end),
            ) if errors.is_empty() => Ok(IndicatorInput {
                source,
                source_ref,
                period_start,
                period_end,
                shared_id,
                kind,
                label,
                unit,
                baseline,
                target,
                target_on,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct MeasurementRaw {
    #[serde(default)]
    pub measured_on: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementInput {
    pub measured_on: NaiveDate,
    pub value: f64,
    pub source: String,
    pub comment: String,
}

impl MeasurementRaw {
    pub fn parse(&self) -> Result<MeasurementInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let measured_on = match parse_date(&self.measured_on, "Date de la mesure") {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                errors.push((
                    "measured_on",
                    "Date de la mesure : ce champ est obligatoire".into(),
                ));
                None
            }
            Err(e) => {
                errors.push(("measured_on", e.0));
                None
            }
        };
        let value = match parse_number(&self.value, "Valeur") {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                errors.push(("value", "Valeur : ce champ est obligatoire".into()));
                None
            }
            Err(e) => {
                errors.push(("value", e.0));
                None
            }
        };
        let source = text::bounded(&self.source, "Source", false, 200)
            .map_err(|e| errors.push(("source", e.0)))
            .ok();
        let comment = text::bounded(&self.comment, "Commentaire", false, 1000)
            .map_err(|e| errors.push(("comment", e.0)))
            .ok();
        match (measured_on, value, source, comment) {
            (Some(measured_on), Some(value), Some(source), Some(comment)) if errors.is_empty() => {
                Ok(MeasurementInput {
                    measured_on,
                    value,
                    source,
                    comment,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("12,5", "x").unwrap(), Some(12.5));
        assert_eq!(parse_number(" 1 234 ", "x").unwrap(), Some(1234.0));
        assert_eq!(parse_number("", "x").unwrap(), None);
        assert!(parse_number("douze", "x").is_err());
        assert!(parse_number("inf", "x").is_err());
        assert_eq!(format_number(1234.5), "1\u{202f}234,5");
        assert_eq!(format_number(40.0), "40");
        assert_eq!(format_number(-0.25), "-0,25");
    }

    #[test]
    fn target_needs_unit() {
        let mut r = IndicatorRaw {
            kind: "result".into(),
            label: "Personnes accompagnées".into(),
            target: "150".into(),
            ..Default::default()
        };
        assert_eq!(r.parse().unwrap_err()[0].0, "unit");
        r.unit = "personnes".into();
        assert_eq!(r.parse().unwrap().target, Some(150.0));
        r.target = String::new();
        r.target_on = "31/12/2027".into();
        assert_eq!(r.parse().unwrap_err()[0].0, "target");
    }

    #[test]
    fn measurement() {
        let mut m = MeasurementRaw {
            measured_on: "31/12/2025".into(),
            value: "42".into(),
            ..Default::default()
        };
        assert_eq!(m.parse().unwrap().value, 42.0);
        m.value = "beaucoup".into();
        m.measured_on = String::new();
        let f: Vec<_> = m.parse().unwrap_err().into_iter().map(|e| e.0).collect();
        assert_eq!(f, ["measured_on", "value"]);
    }
}

/// An indicator of the regional catalogue, as typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct SharedIndicatorRaw {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SharedIndicatorInput {
    pub kind: IndicatorKind,
    pub label: String,
    pub unit: String,
    pub definition: String,
}

/// A definition says how to count, so that territories count alike.
pub const DEFINITION_MAX: usize = 5_000;

impl SharedIndicatorRaw {
    pub fn parse(&self) -> Result<SharedIndicatorInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = IndicatorKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(("kind", "Choisissez le type d'indicateur".into()));
        }
        let label = text::bounded(&self.label, "Intitulé de l'indicateur", true, LABEL_MAX)
            .map_err(|e| errors.push(("label", e.0)))
            .ok();
        let unit = text::bounded(&self.unit, "Unité", true, UNIT_MAX)
            .map_err(|e| errors.push(("unit", e.0)))
            .ok();
        let definition = text::bounded(&self.definition, "Définition", true, DEFINITION_MAX)
            .map_err(|e| errors.push(("definition", e.0)))
            .ok();
        match (kind, label, unit, definition) {
            (Some(kind), Some(label), Some(unit), Some(definition)) if errors.is_empty() => {
                Ok(SharedIndicatorInput {
                    kind,
                    label,
                    unit,
                    definition,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod shared_tests {
    use super::*;

    #[test]
    fn a_catalogue_indicator_needs_a_unit_and_a_definition() {
        let raw = SharedIndicatorRaw {
            kind: "result".into(),
            label: "Personnes reçues en permanence".into(),
            ..Default::default()
        };
        let fields: Vec<_> = raw.parse().unwrap_err().into_iter().map(|e| e.0).collect();
        assert_eq!(fields, ["unit", "definition"]);
        let ok = SharedIndicatorRaw {
            unit: "personnes".into(),
            definition: "Personnes distinctes reçues dans l'année civile.".into(),
            ..raw
        }
        .parse()
        .unwrap();
        assert_eq!(ok.kind, IndicatorKind::Result);
    }

    #[test]
    fn a_territory_indicator_names_a_catalogue_entry_by_number() {
        let mut raw = IndicatorRaw {
            kind: "process".into(),
            label: "Ateliers".into(),
            shared: "3".into(),
            ..Default::default()
        };
        assert_eq!(raw.parse().unwrap().shared_id, Some(3));
        raw.shared = "trois".into();
        assert_eq!(raw.parse().unwrap_err()[0].0, "shared");
        raw.shared = String::new();
        assert_eq!(raw.parse().unwrap().shared_id, None);
    }
}
