//! Opening hours in OpenStreetMap `opening_hours` syntax (the data·inclusion
//! convention), checked with the `opening-hours-syntax` parser and shown in
//! plain French.

use opening_hours_syntax::rules::day::WeekDayRange;
use opening_hours_syntax::rules::time::Time;
use opening_hours_syntax::rules::RuleKind;

use super::Invalid;

/// Check an expression; the message says where it went wrong.
pub fn parse(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    opening_hours_syntax::parse(s).map(|_| s.to_owned()).map_err(|e| {
        Invalid::new(format!(
            "horaires illisibles (syntaxe OpenStreetMap attendue, par exemple « Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00 ») : {e}"
        ))
    })
}

fn day(d: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match d {
        Mon => "lundi",
        Tue => "mardi",
        Wed => "mercredi",
        Thu => "jeudi",
        Fri => "vendredi",
        Sat => "samedi",
        Sun => "dimanche",
    }
}

fn hour(t: &Time) -> Option<String> {
    match t {
        Time::Fixed(t) if t.minute() == 0 => Some(format!("{} h", t.hour())),
        Time::Fixed(t) => Some(format!("{} h {:02}", t.hour(), t.minute())),
        Time::Variable(_) => None,
    }
}

/// `Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00; PH off` →
/// `du lundi au vendredi : 9 h – 12 h et 14 h – 17 h ; le samedi : 9 h – 12 h ;
/// les jours fériés : fermé`. Expressions beyond days and hours (months,
/// weeks, sunrise…) are shown as written.
pub fn to_french(expr: &str) -> String {
    let Ok(parsed) = opening_hours_syntax::parse(expr.trim()) else {
        return expr.to_owned();
    };
    let mut parts = Vec::new();
    for rule in &parsed.rules {
        let ds = &rule.day_selector;
        if !(ds.year.is_empty()
            && ds.monthday.is_empty()
            && ds.week.is_empty()
            && rule.comment.is_empty())
        {
            return expr.to_owned();
        }
        let mut days = Vec::new();
        for w in &ds.weekday {
            match w {
                WeekDayRange::Fixed {
                    range,
                    offset: 0,
                    nth_from_start,
                    nth_from_end,
                } if nth_from_start.iter().all(|b| *b) && nth_from_end.iter().all(|b| *b) => {
                    let (a, b) = (*range.start(), *range.end());
                    days.push(if a == b {
                        format!("le {}", day(a))
                    } else {
                        format!("du {} au {}", day(a), day(b))
                    });
                }
                WeekDayRange::Holiday { offset: 0, .. } => days.push("les jours fériés".to_owned()),
                _ => return expr.to_owned(),
            }
        }
        let when = if days.is_empty() {
            "tous les jours".to_owned()
        } else {
            days.join(", ")
        };
        let what = if matches!(rule.kind, RuleKind::Closed) {
            "fermé".to_owned()
        } else {
            let mut spans = Vec::new();
            for span in &rule.time_selector.spans {
                match (hour(&span.range.start), hour(&span.range.end)) {
                    (Some(a), Some(b)) if span.repeats.is_none() => {
                        spans.push(format!("{a} – {b}"))
                    }
                    _ => return expr.to_owned(),
                }
            }
            if spans.is_empty() || spans == ["0 h – 24 h"] {
                "toute la journée".to_owned()
            } else {
                spans.join(" et ")
            }
        };
        parts.push(format!("{when} : {what}"));
    }
    let mut s = parts.join(" ; ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_french() {
        assert_eq!(
            to_french("Mo-Fr 09:00-12:00,14:00-17:30; Sa 09:00-12:00; PH off"),
            "Du lundi au vendredi : 9 h – 12 h et 14 h – 17 h 30 ; le samedi : 9 h – 12 h ; les jours fériés : fermé"
        );
        assert_eq!(to_french("24/7"), "Tous les jours : toute la journée");
        // Beyond days and hours: shown as written.
        assert_eq!(
            to_french("Jan-Mar Mo 10:00-12:00"),
            "Jan-Mar Mo 10:00-12:00"
        );
    }

    #[test]
    fn errors_are_explained() {
        assert!(parse("Mo-Fr 9h-12h")
            .unwrap_err()
            .0
            .contains("syntaxe OpenStreetMap"));
        assert_eq!(parse(" Mo 10:00-12:00 ").unwrap(), "Mo 10:00-12:00");
        assert_eq!(parse("").unwrap(), "");
    }
}
