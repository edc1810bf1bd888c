//! Attendance at a drop-in session: how many people the mediators received
//! at one held occurrence of a series, with optional breakdowns (counts
//! only, nobody is named). The rules here: the numbers typed and how they
//! fit together, and which dates may be recorded (a held occurrence of the
//! series, not cancelled, not in the future).

use chrono::NaiveDate;
use serde::Deserialize;

use super::recurrence::{expand, Exception, Occurrence, OccurrenceStatus, Schedule};
use crate::domain::dates;
use crate::domain::text;
use crate::domain::Invalid;

/// Messages per form field.
pub type FieldErrors = Vec<(&'static str, String)>;

/// More than this at one drop-in session is a typing mistake.
pub const MAX_COUNT: i64 = 10_000;

/// The attendance form as typed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AttendanceRaw {
    #[serde(default)]
    pub received: String,
    #[serde(default)]
    pub women: String,
    #[serde(default)]
    pub men: String,
    #[serde(default)]
    pub age_under_26: String,
    #[serde(default)]
    pub age_26_59: String,
    #[serde(default)]
    pub age_60_plus: String,
    #[serde(default)]
    pub qpv_residents: String,
    #[serde(default)]
    pub first_visits: String,
    #[serde(default)]
    pub note: String,
}

/// Attendance checked: every breakdown fits in `received`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttendanceInput {
    pub received: i64,
    pub women: Option<i64>,
    pub men: Option<i64>,
    pub age_under_26: Option<i64>,
    pub age_26_59: Option<i64>,
    pub age_60_plus: Option<i64>,
    pub qpv_residents: Option<i64>,
    pub first_visits: Option<i64>,
    pub note: String,
}

/// The optional breakdowns: (field, label in messages).
pub const BREAKDOWNS: [(&str, &str); 7] = [
    ("women", "Femmes"),
    ("men", "Hommes"),
    ("age_under_26", "Moins de 26 ans"),
    ("age_26_59", "26 à 59 ans"),
    ("age_60_plus", "60 ans et plus"),
    ("qpv_residents", "Habitants d’un quartier prioritaire"),
    ("first_visits", "Première venue"),
];

/// A count typed: empty is `None`; else a whole number from 0 to
/// [`MAX_COUNT`] (spaces between thousands allowed).
pub fn parse_count(raw: &str, label: &str) -> Result<Option<i64>, Invalid> {
    let s: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<i64>() {
        Ok(n) if (0..=MAX_COUNT).contains(&n) => Ok(Some(n)),
        Ok(n) if n < 0 => Err(Invalid::new(format!(
            "{label} : un nombre positif ou zéro est attendu"
        ))),
        Ok(_) => Err(Invalid::new(format!(
            "{label} : au plus {MAX_COUNT} personnes pour une permanence"
        ))),
        Err(_) => Err(Invalid::new(format!(
            "{label} : un nombre entier est attendu (par exemple 12)"
        ))),
    }
}

impl AttendanceRaw {
    fn breakdown(&self, field: &str) -> &str {
        match field {
            "women" => &self.women,
            "men" => &self.men,
            "age_under_26" => &self.age_under_26,
            "age_26_59" => &self.age_26_59,
            "age_60_plus" => &self.age_60_plus,
            "qpv_residents" => &self.qpv_residents,
            _ => &self.first_visits,
        }
    }

    pub fn of(a: &AttendanceInput) -> AttendanceRaw {
        let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        AttendanceRaw {
            received: a.received.to_string(),
            women: n(a.women),
            men: n(a.men),
            age_under_26: n(a.age_under_26),
            age_26_59: n(a.age_26_59),
            age_60_plus: n(a.age_60_plus),
            qpv_residents: n(a.qpv_residents),
            first_visits: n(a.first_visits),
            note: a.note.clone(),
        }
    }

    pub fn parse(&self) -> Result<AttendanceInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let received = match parse_count(&self.received, "Personnes reçues") {
            Ok(Some(n)) => Some(n),
            Ok(None) => {
                errors.push((
                    "received",
                    "Personnes reçues : indiquez le nombre de personnes reçues (0 si personne n’est venu)"
                        .into(),
                ));
                None
            }
            Err(e) => {
                errors.push(("received", e.0));
                None
            }
        };
        let mut parts = [None; 7];
        for (i, (field, label)) in BREAKDOWNS.iter().enumerate() {
            match parse_count(self.breakdown(field), label) {
                Ok(v) => parts[i] = v,
                Err(e) => errors.push((*field, e.0)),
            }
        }
        let note = text::bounded(&self.note, "Note", false, 1_000)
            .map_err(|e| errors.push(("note", e.0)))
            .unwrap_or_default();
        let Some(received) = received else {
            return Err(errors);
        };
        let [women, men, age_under_26, age_26_59, age_60_plus, qpv_residents, first_visits] = parts;
        let input = AttendanceInput {
            received,
            women,
            men,
            age_under_26,
            age_26_59,
            age_60_plus,
            qpv_residents,
            first_visits,
            note,
        };
        errors.extend(input.inconsistencies());
        if errors.is_empty() {
            Ok(input)
        } else {
            Err(errors)
        }
    }
}

impl AttendanceInput {
    /// The breakdowns that do not fit in `received`, as messages.
    pub fn inconsistencies(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let r = self.received;
        let values = [
            self.women,
            self.men,
            self.age_under_26,
            self.age_26_59,
            self.age_60_plus,
            self.qpv_residents,
            self.first_visits,
        ];
        for ((field, label), v) in BREAKDOWNS.iter().zip(values) {
            if v.is_some_and(|v| v > r) {
                errors.push((
                    *field,
                    format!("{label} : plus que les {r} personnes reçues"),
                ));
            }
        }
        let sum = |vs: &[Option<i64>]| vs.iter().flatten().sum::<i64>();
        let sexes = sum(&[self.women, self.men]);
        if sexes > r && !errors.iter().any(|(f, _)| *f == "women" || *f == "men") {
            errors.push((
                "women",
                format!("Femmes et hommes : {sexes} en tout, plus que les {r} personnes reçues"),
            ));
        }
        let ages = sum(&[self.age_under_26, self.age_26_59, self.age_60_plus]);
        if ages > r && !errors.iter().any(|(f, _)| f.starts_with("age_")) {
            errors.push((
                "age_under_26",
                format!("Tranches d’âge : {ages} en tout, plus que les {r} personnes reçues"),
            ));
        }
        errors
    }
}

/// Why a date cannot be recorded for a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRecordable {
    /// After today (Europe/Paris).
    Future,
    /// The session of that day was cancelled.
    Cancelled,
    /// The series has no session that day.
    NotAnOccurrence,
}

impl NotRecordable {
    pub fn message(self, date: NaiveDate) -> String {
        let d = dates::long_date_with_weekday(date);
        match self {
            NotRecordable::Future => format!(
                "La permanence du {d} n’a pas encore eu lieu : la fréquentation se saisit une fois la permanence tenue."
            ),
            NotRecordable::Cancelled => format!(
                "La permanence du {d} a été annulée : il n’y a pas de fréquentation à saisir."
            ),
            NotRecordable::NotAnOccurrence => format!(
                "Cette permanence n’a pas eu lieu le {d} (ce n’est pas une date de la série)."
            ),
        }
    }
}

/// The occurrence held on `date` (after any move), if attendance may be
/// recorded for it on `today`: a date of the series, not cancelled, not
/// after today.
pub fn held_occurrence(
    schedule: &Schedule,
    exceptions: &[Exception],
    date: NaiveDate,
    today: NaiveDate,
) -> Result<Occurrence, NotRecordable> {
    let found = expand(schedule, exceptions, date, date);
    if let Some(o) = found
        .iter()
        .find(|o| o.status != OccurrenceStatus::Cancelled)
    {
        return if date > today {
            Err(NotRecordable::Future)
        } else {
            Ok(o.clone())
        };
    }
    if found.is_empty() {
        Err(NotRecordable::NotAnOccurrence)
    } else if date > today {
        Err(NotRecordable::Future)
    } else {
        Err(NotRecordable::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agenda::recurrence::{Pattern, ScheduleInput};
    use chrono::{NaiveTime, Weekday};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn h(x: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(x, 0, 0).unwrap()
    }

    fn raw(received: &str) -> AttendanceRaw {
        AttendanceRaw {
            received: received.into(),
            ..Default::default()
        }
    }

    fn fields(r: &AttendanceRaw) -> Vec<&'static str> {
        r.parse().unwrap_err().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn received_is_required_and_a_whole_number() {
        assert_eq!(raw("12").parse().unwrap().received, 12);
        assert_eq!(raw(" 0 ").parse().unwrap().received, 0);
        assert_eq!(raw("1 200").parse().unwrap().received, 1200);
        assert_eq!(fields(&raw("")), ["received"]);
        assert_eq!(fields(&raw("-1")), ["received"]);
        assert_eq!(fields(&raw("3,5")), ["received"]);
        assert_eq!(fields(&raw("douze")), ["received"]);
        assert_eq!(fields(&raw("20000")), ["received"]);
    }

    #[test]
    fn breakdowns_are_optional() {
        let a = raw("7").parse().unwrap();
        assert_eq!(a.women, None);
        assert_eq!(a.first_visits, None);
        let a = AttendanceRaw {
            women: "4".into(),
            men: "3".into(),
            age_under_26: "1".into(),
            age_26_59: "5".into(),
            age_60_plus: "1".into(),
            qpv_residents: "6".into(),
            first_visits: "2".into(),
            note: "  Beaucoup de questions sur la C2S. ".into(),
            ..raw("7")
        }
        .parse()
        .unwrap();
        assert_eq!(
            (a.women, a.men, a.age_26_59, a.qpv_residents, a.first_visits),
            (Some(4), Some(3), Some(5), Some(6), Some(2))
        );
        assert_eq!(a.note, "Beaucoup de questions sur la C2S.");
        assert_eq!(AttendanceRaw::of(&a).parse().unwrap(), a);
    }

    #[test]
    fn each_breakdown_fits_in_the_people_received() {
        let r = AttendanceRaw {
            qpv_residents: "8".into(),
            ..raw("7")
        };
        assert_eq!(fields(&r), ["qpv_residents"]);
        let r = AttendanceRaw {
            first_visits: "7".into(),
            ..raw("7")
        };
        assert!(r.parse().is_ok(), "equal is fine");
        let r = AttendanceRaw {
            women: "x".into(),
            ..raw("7")
        };
        assert_eq!(fields(&r), ["women"]);
    }

    #[test]
    fn women_and_men_together_fit_in_the_people_received() {
        let r = AttendanceRaw {
            women: "4".into(),
            men: "4".into(),
            ..raw("7")
        };
        let e = r.parse().unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "women");
        assert!(e[0].1.contains("8 en tout"), "{e:?}");
        let r = AttendanceRaw {
            women: "4".into(),
            men: "3".into(),
            ..raw("7")
        };
        assert!(r.parse().is_ok());
    }

    #[test]
    fn age_bands_together_fit_in_the_people_received() {
        let r = AttendanceRaw {
            age_under_26: "2".into(),
            age_26_59: "4".into(),
            age_60_plus: "2".into(),
            ..raw("7")
        };
        let e = r.parse().unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, "age_under_26");
        assert!(e[0].1.contains("Tranches d’âge : 8"), "{e:?}");
        let r = AttendanceRaw {
            age_under_26: "2".into(),
            age_26_59: "3".into(),
            ..raw("7")
        };
        assert!(r.parse().is_ok(), "bands may be left out");
    }

    /// Mondays, every other week, from 5 January 2026 (25 May, Whit
    /// Monday, is skipped).
    fn schedule() -> Schedule {
        Schedule::new(&ScheduleInput {
            first_date: d(2026, 1, 5),
            end_date: Some(d(2026, 6, 30)),
            start_time: h(14),
            end_time: h(16),
            rule: &Pattern::Biweekly(Weekday::Mon).to_rrule(),
            skip_holidays: true,
        })
        .unwrap()
    }

    #[test]
    fn only_held_past_occurrences_are_recordable() {
        let s = schedule();
        let today = d(2026, 3, 4);
        let exc = vec![
            Exception::cancelled(d(2026, 2, 2), "Formation"),
            Exception::moved(d(2026, 2, 16), d(2026, 2, 17), h(10), h(12), Some(9), "").unwrap(),
        ];
        let ok = held_occurrence(&s, &exc, d(2026, 1, 19), today).unwrap();
        assert_eq!(ok.date, d(2026, 1, 19));
        assert_eq!(
            held_occurrence(&s, &exc, d(2026, 1, 12), today),
            Err(NotRecordable::NotAnOccurrence),
            "the week off"
        );
        assert_eq!(
            held_occurrence(&s, &exc, d(2026, 2, 2), today),
            Err(NotRecordable::Cancelled)
        );
        // A moved session is recorded on the day it was held.
        assert_eq!(
            held_occurrence(&s, &exc, d(2026, 2, 16), today),
            Err(NotRecordable::NotAnOccurrence)
        );
        let moved = held_occurrence(&s, &exc, d(2026, 2, 17), today).unwrap();
        assert_eq!(moved.place_id, Some(9));
        assert_eq!(moved.original_date, d(2026, 2, 16));
        // Today may be recorded, not tomorrow's.
        assert!(held_occurrence(&s, &exc, d(2026, 3, 2), d(2026, 3, 2)).is_ok());
        assert_eq!(
            held_occurrence(&s, &exc, d(2026, 3, 16), today),
            Err(NotRecordable::Future)
        );
        assert_eq!(
            held_occurrence(&s, &exc, d(2026, 5, 25), d(2026, 6, 1)),
            Err(NotRecordable::NotAnOccurrence),
            "a public holiday skipped"
        );
        assert!(NotRecordable::Cancelled
            .message(d(2026, 2, 2))
            .contains("lundi 2 février 2026"));
    }
}
