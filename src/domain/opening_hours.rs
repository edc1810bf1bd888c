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

    /// Property tests: no text panics the check or the French rendering,
    /// and hours written in OSM syntax read back as the same days and hours.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const CODES: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
        const NAMES: [&str; 7] = [
            "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
        ];

        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(vec![
                    "Mo",
                    "Tu-Th",
                    "Sa,Su",
                    "PH",
                    "SH",
                    "off",
                    "closed",
                    "open",
                    "24/7",
                    "Jan",
                    "Mar-Oct",
                    "week",
                    "01-53/2",
                    "sunrise",
                    "sunset",
                    "dawn",
                    "(",
                    ")",
                    "+",
                    "-",
                    ",",
                    ";",
                    "||",
                    ":",
                    "\"",
                    "[1]",
                    "[-1]",
                    "[5]",
                    "2026",
                    "Dec 25",
                    "easter",
                    "09:00",
                    "24:00",
                    "48:00",
                    "99:99",
                    "12:00-14:00",
                    "10:00+",
                    "/",
                    " ",
                    "\n",
                    "é",
                ])
                .prop_map(str::to_owned),
                "[0-9:]{1,6}",
                any::<String>(),
            ]
        }

        /// (first day, last day) → [(start, end)] in minutes.
        type Week = Vec<((usize, usize), Vec<(u32, u32)>)>;

        /// A simple week.
        fn week() -> impl Strategy<Value = Week> {
            let span = (0u32..48, 1u32..48).prop_map(|(a, l)| (a * 30, ((a + l).min(48)) * 30));
            proptest::collection::vec(
                (
                    (0usize..7, 0usize..7).prop_map(|(a, b)| (a.min(b), a.max(b))),
                    proptest::collection::vec(span, 1..3),
                ),
                1..4,
            )
        }

        fn hhmm(m: u32) -> String {
            format!("{:02}:{:02}", m / 60, m % 60)
        }

        fn french_hour(m: u32) -> String {
            if m.is_multiple_of(60) {
                format!("{} h", m / 60)
            } else {
                format!("{} h {:02}", m / 60, m % 60)
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_text_is_answered_not_panicked(
                text in proptest::collection::vec(piece(), 0..10).prop_map(|v| v.concat())
            ) {
                let checked = parse(&text);
                let _ = to_french(&text);
                if let Ok(kept) = checked {
                    prop_assert_eq!(kept.as_str(), text.trim());
                    // The library's own writing of an accepted expression
                    // is accepted again and written the same.
                    if !kept.is_empty() {
                        let printed = opening_hours_syntax::parse(&kept).unwrap().to_string();
                        let again = opening_hours_syntax::parse(&printed);
                        prop_assert!(again.is_ok(), "{:?} printed as {:?}", kept, printed);
                        prop_assert_eq!(again.unwrap().to_string(), printed);
                    }
                }
            }

            /// Days and hours written in OSM syntax parse, and the French
            /// text names the same days and hours.
            #[test]
            fn written_hours_read_back(week in week()) {
                let expr = week
                    .iter()
                    .map(|((a, b), spans)| {
                        let days = if a == b {
                            CODES[*a].to_owned()
                        } else {
                            format!("{}-{}", CODES[*a], CODES[*b])
                        };
                        let hours = spans
                            .iter()
                            .map(|(s, e)| format!("{}-{}", hhmm(*s), hhmm(*e)))
                            .collect::<Vec<_>>()
                            .join(",");
                        format!("{days} {hours}")
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                prop_assert_eq!(parse(&expr).map_err(|e| e.0), Ok(expr.clone()));
                let expected = week
                    .iter()
                    .map(|((a, b), spans)| {
                        let days = if a == b {
                            format!("le {}", NAMES[*a])
                        } else {
                            format!("du {} au {}", NAMES[*a], NAMES[*b])
                        };
                        let hours = if spans == &[(0, 24 * 60)] {
                            "toute la journée".to_owned()
                        } else {
                            spans
                                .iter()
                                .map(|(s, e)| format!("{} – {}", french_hour(*s), french_hour(*e)))
                                .collect::<Vec<_>>()
                                .join(" et ")
                        };
                        format!("{days} : {hours}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ; ");
                let mut expected_cap = expected.clone();
                expected_cap.replace_range(..1, &expected[..1].to_uppercase());
                prop_assert_eq!(to_french(&expr), expected_cap);
            }
        }
    }
}
